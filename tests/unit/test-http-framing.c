/* test-http-framing.c: the strict request framing checked before libsoup 3.2.3 parses
 * anything (pay-http-framing.h): what it takes, what it refuses and at which byte, however
 * the bytes are split. */
#include <glib.h>
#include <string.h>

#include "transport/http/pay-http-framing.h"

typedef struct {
  const gchar *name;
  const gchar *input;    /* '^' marks the byte refused (and is not part of the input) */
  gsize        length;   /* of @input with its '^' */
} FramingCase;

#define CASE(name, text) { name, text, sizeof (text) - 1 }
#define HEAD "POST /payment/charge HTTP/1.1\r\nHost: x\r\n"

static const FramingCase cases[] = {
  /* accepted */
  CASE ("length", HEAD "Content-Length: 2\r\n\r\n{}"),
  CASE ("no-body", HEAD "Content-Type: application/json\r\n\r\n"),
  CASE ("pipelined", "GET /a HTTP/1.1\r\n\r\n" HEAD "Content-Length: 2\r\n\r\n{}"
                     "GET /b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
  CASE ("every-method", "GET / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n"
                        "POST / HTTP/1.1\r\n\r\nPUT / HTTP/1.1\r\n\r\n"
                        "DELETE / HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\n"
                        "PATCH / HTTP/1.0\r\n\r\nTRACE / HTTP/1.1\r\n\r\n"
                        "CONNECT x:443 HTTP/1.1\r\n\r\nQUERY / HTTP/1.1\r\n\r\n"),
  CASE ("chunked", HEAD "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                   "GET / HTTP/1.1\r\n\r\n"),
  CASE ("chunked-any-case", HEAD "transfer-ENCODING:ChUnKeD\r\n\r\n0\r\n\r\n"),
  CASE ("chunked-blanks", HEAD "Transfer-Encoding: \t chunked \t\r\n\r\n0\r\n\r\n"),
  CASE ("chunk-hex-and-extension", HEAD "Transfer-Encoding: chunked\r\n\r\n"
                                   "a;name=value\r\n0123456789\r\n0000000000000001\r\nx\r\n"
                                   "0\r\n\r\n"),
  CASE ("identity", HEAD "Transfer-Encoding: identity\r\n\r\n"),
  CASE ("length-leading-zeros", HEAD "Content-Length: 0002\r\n\r\n{}"),
  CASE ("length-18-digits", HEAD "Content-Length: 000000000999999999999999999\r\n\r\n{"),
  CASE ("same-length-twice", HEAD "Content-Length: 2\r\nContent-Length: 02\r\n\r\n{}"),
  CASE ("bare-lf", "POST /x HTTP/1.1\nContent-Length: 2\n\n{}GET / HTTP/1.1\n\n"),
  CASE ("one-empty-line-first", "\r\nGET / HTTP/1.1\r\n\r\n\nGET / HTTP/1.1\r\n\r\n"),
  CASE ("absolute-target", "GET http://x/health?a=%20 HTTP/1.1\r\n\r\n"),
  CASE ("obs-text-value", HEAD "X-A: \x80\xff b\r\nX-B:\r\n\r\n"),
  CASE ("other-names", HEAD "X-Transfer-Encoding: gzip\r\nContent-Lengths: x\r\n\r\n"),
  CASE ("body-lines-skipped", HEAD "Content-Length: 29\r\n\r\n{\"a\":\n\"Transfer-Encoding: x\"}"),
  /* refused: the request line */
  CASE ("unknown-method", "^MKCOL / HTTP/1.1\r\n\r\n"),
  CASE ("longer-method", "GET^S / HTTP/1.1\r\n\r\n"),
  CASE ("method-prefix", "PO^ / HTTP/1.1\r\n\r\n"),
  CASE ("lower-case-method", "^get / HTTP/1.1\r\n\r\n"),
  CASE ("webdav-method", "P^ROPFIND / HTTP/1.1\r\n\r\n"),
  CASE ("two-spaces", "GET ^ / HTTP/1.1\r\n\r\n"),
  CASE ("tab-separator", "GET^\t/ HTTP/1.1\r\n\r\n"),
  CASE ("http-2", "GET / HTTP/^2.0\r\n\r\n"),
  CASE ("http-1.2", "GET / HTTP/1.^2\r\n\r\n"),
  CASE ("no-version", "GET /^\r\n\r\n"),
  CASE ("nul-in-target", "GET /a^\0b HTTP/1.1\r\n\r\n"),
  CASE ("utf8-in-target", "GET /^\xc3\xa9 HTTP/1.1\r\n\r\n"),
  CASE ("after-version", "GET / HTTP/1.1^ \r\n\r\n"),
  CASE ("cr-without-lf", "GET / HTTP/1.1\r^X\r\n\r\n"),
  CASE ("two-empty-lines-first", "\r\n\r^\nGET / HTTP/1.1\r\n\r\n"),
  CASE ("body-past-its-length", HEAD "Content-Length: 2\r\n\r\n{}^{}"),
  /* refused: fields */
  CASE ("folded", HEAD "X-A: 1\r\n^ 2\r\n\r\n"),
  CASE ("blank-before-colon", HEAD "Transfer-Encoding^ : gzip\r\n\r\n"),
  CASE ("name-not-a-token", HEAD "X^(A: 1\r\n\r\n"),
  CASE ("no-colon", HEAD "XA^\r\n\r\n"),
  CASE ("nul-in-name", HEAD "Transfer-Enc^\0oding: gzip\r\n\r\n"),
  CASE ("nul-in-value", HEAD "X-A: a^\0b\r\n\r\n"),
  CASE ("control-in-value", HEAD "X-A: a^\x01\r\n\r\n"),
  CASE ("gzip", HEAD "Transfer-Encoding: ^gzip\r\n\r\n"),
  CASE ("coding-list", HEAD "Transfer-Encoding: chunked^, gzip\r\n\r\n"),
  CASE ("coding-list-blank", HEAD "Transfer-Encoding: chunked ^gzip\r\n\r\n"),
  CASE ("prefix-of-chunked", HEAD "Transfer-Encoding: chunk\r^\n\r\n"),
  CASE ("empty-coding", HEAD "Transfer-Encoding:\r^\n\r\n"),
  CASE ("cr-inside-coding", HEAD "Transfer-Encoding: chun\r^ked\r\n\r\n"),
  CASE ("two-codings", HEAD "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r^\n\r\n"),
  CASE ("chunked-and-length", HEAD "Transfer-Encoding: chunked\r\nContent-Length: 2\r^\n\r\n"),
  CASE ("length-and-chunked", HEAD "Content-Length: 2\r\nTransfer-Encoding: chunked\r^\n\r\n"),
  CASE ("lengths-differ", HEAD "Content-Length: 2\r\nContent-Length: 3\r^\n\r\n{}"),
  CASE ("length-letters", HEAD "Content-Length: 12^a\r\n\r\n"),
  CASE ("length-sign", HEAD "Content-Length: ^+5\r\n\r\n"),
  CASE ("length-19-digits", HEAD "Content-Length: 000143474676128629845^91\r\n\r\n"),
  CASE ("length-empty", HEAD "Content-Length: \r^\n\r\n"),
  CASE ("length-two-numbers", HEAD "Content-Length: 1 ^2\r\n\r\n"),
  CASE ("second-request", "GET / HTTP/1.1\r\n\r\n" HEAD "Transfer-Encoding: ^x\r\n\r\n"),
  /* refused: chunks */
  CASE ("chunk-size-not-hex", HEAD "Transfer-Encoding: chunked\r\n\r\n^g\r\n"),
  CASE ("chunk-size-0x", HEAD "Transfer-Encoding: chunked\r\n\r\n0^x5\r\n"),
  CASE ("chunk-size-17-digits", HEAD "Transfer-Encoding: chunked\r\n\r\n0000000000000000^1\r\n"),
  CASE ("chunk-size-empty", HEAD "Transfer-Encoding: chunked\r\n\r\n\r^\n"),
  CASE ("chunk-without-line-end", HEAD "Transfer-Encoding: chunked\r\n\r\n2\r\n{}^X0\r\n\r\n"),
  CASE ("trailer-field", HEAD "Transfer-Encoding: chunked\r\n\r\n0\r\n^X-T: 1\r\n\r\n"),
};

/* @c's input without its marker, and the marker's offset (@length when none). */
static GByteArray *
case_input (const FramingCase *c, gsize *refused)
{
  GByteArray *input = g_byte_array_new ();

  *refused = G_MAXSIZE;
  for (gsize i = 0; i < c->length; i++)
    {
      if (c->input[i] == '^')
        *refused = input->len;
      else
        g_byte_array_append (input, (const guint8 *) c->input + i, 1);
    }
  if (*refused == G_MAXSIZE)
    *refused = input->len;
  return input;
}

/* Scans @input in pieces of @piece bytes (0: split once at @split); returns the offset
 * refused, or the length. */
static gsize
scan (const GByteArray *input, gsize piece, gsize split)
{
  PayHttpFraming framing = PAY_HTTP_FRAMING_INIT;
  gsize at = 0;

  while (at < input->len)
    {
      gsize n = piece > 0 ? MIN (piece, input->len - at) : (at < split ? split - at : input->len - at);
      gsize taken = pay_http_framing_scan (&framing, input->data + at, n);

      if (taken < n)
        return at + taken;
      at += n;
    }
  return input->len;
}

static void
test_case (gconstpointer data)
{
  const FramingCase *c = data;
  gsize refused;
  g_autoptr(GByteArray) input = case_input (c, &refused);

  g_assert_cmpuint (scan (input, input->len, 0), ==, refused);
  g_assert_cmpuint (scan (input, 1, 0), ==, refused);
  for (gsize split = 1; split < input->len; split++)
    g_assert_cmpuint (scan (input, 0, split), ==, refused);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/framing/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  return g_test_run ();
}
