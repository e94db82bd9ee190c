/* test-http-framing.c: the Transfer-Encoding / Content-Length screen libsoup 3.2.3 needs
 * (pay-http-framing.h): which lines it refuses, and where, however the bytes are split. */
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
  /* accepted: what libsoup 3.2.3 reads as chunked, identity or a length */
  CASE ("plain", HEAD "Content-Type: application/json\r\n\r\n{}"),
  CASE ("chunked", HEAD "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
  CASE ("chunked-any-case", HEAD "transfer-ENCODING:ChUnKeD\r\n\r\n"),
  CASE ("chunked-blanks", HEAD "Transfer-Encoding: \t chunked \t\r\r\n\r\n"),
  CASE ("identity", HEAD "Transfer-Encoding: identity\r\n\r\n"),
  CASE ("length", HEAD "Content-Length: 0012\r\n\r\n{}"),
  CASE ("length-18-digits", HEAD "Content-Length: 000000000999999999999999999\r\n\r\n"),
  CASE ("bare-lf", HEAD "Content-Length: 2\n\n{}"),
  CASE ("nul-in-value", HEAD "Transfer-Encoding: chun\0ked\r\n\r\n"),
  CASE ("other-names", HEAD "X-Transfer-Encoding: gzip\r\nContent-Lengths: x\r\n\r\n"),
  CASE ("blank-before-colon", HEAD "Transfer-Encoding : gzip\r\n\r\n"),   /* libsoup skips it */
  CASE ("json-body-lines", HEAD "Content-Length: 40\r\n\r\n{\"a\":\n\"Transfer-Encoding: x\"\n}"),
  CASE ("continuation-of-other", HEAD "X-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\n{}"),
  /* refused */
  CASE ("gzip", HEAD "Transfer-Encoding: ^gzip\r\n\r\n"),
  CASE ("list", HEAD "Transfer-Encoding: chunked^, gzip\r\n\r\n"),
  CASE ("list-without-blank", HEAD "Transfer-Encoding: ^gzip,chunked\r\n\r\n"),
  CASE ("prefix-of-chunked", HEAD "Transfer-Encoding: chunk^\r\n\r\n"),
  CASE ("longer-than-chunked", HEAD "Transfer-Encoding: chunked^s\r\n\r\n"),
  CASE ("empty-coding", HEAD "Transfer-Encoding:\r^\n\r\n"),
  CASE ("cr-inside", HEAD "Transfer-Encoding: chun^\rked\r\n\r\n"),
  CASE ("folded-coding", HEAD "Transfer-Encoding: chunked\r\n^ gzip\r\n\r\n"),
  CASE ("folded-length", HEAD "Content-Length: 2\r\n^\t3\r\n\r\n{}"),
  CASE ("nul-in-name", HEAD "Transfer-Enc\0oding: ^gzip\r\n\r\n"),
  CASE ("length-letters", HEAD "Content-Length: 12^a\r\n\r\n"),
  CASE ("length-sign", HEAD "Content-Length: ^+5\r\n\r\n"),
  CASE ("length-19-digits", HEAD "Content-Length: 000143474676128629845^91\r\n\r\n"),
  CASE ("length-empty", HEAD "Content-Length: \r^\n\r\n"),
  CASE ("length-two-numbers", HEAD "Content-Length: 1 ^2\r\n\r\n"),
  CASE ("second-request", "GET / HTTP/1.1\r\n\r\n" HEAD "Transfer-Encoding: ^x\r\n\r\n"),
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
