/* pay-http-framing.h: the HTTP/1.x request framing a client sends, checked before
 * libsoup 3.2.3 parses any of it, in one pass of constant work per byte.
 *
 * libsoup 3.2.3 is lax where laxness costs the process:
 * - it interns every request method it parses (g_intern_string in
 *   soup_server_message_set_method): a client sending distinct methods grows the
 *   process's memory for good, up to 64 KiB per request, and GLib's quark table drops
 *   its old index each time it grows (LeakSanitizer sees those blocks leak);
 * - it leaks the request path of a request whose Transfer-Encoding or Content-Length it
 *   does not recognize (parse_headers in soup-server-message-io-http1.c; fixed upstream
 *   in 3.5.2).
 * So every request is framed here first, strictly (RFC 9112), and the stream is refused
 * at the first byte that leaves this grammar; libsoup never sees that byte or any after:
 *   request   = [ CRLF ] method SP target SP ( "HTTP/1.1" / "HTTP/1.0" ) CRLF
 *               *( field CRLF ) CRLF body
 *   method    = "GET" / "HEAD" / "POST" / "PUT" / "DELETE" / "CONNECT" / "OPTIONS" /
 *               "TRACE" / "PATCH" / "QUERY"   (the routes answer 405 to those they do not
 *               take; any other method is refused here, 400)
 *   target    = 1*( %x21-7E )
 *   field     = name ":" OWS value OWS    (no folding; name a token; value VCHAR, SP,
 *               HT or obs-text; no NUL or other control)
 *   Transfer-Encoding: "chunked" or "identity" (any case), once; Content-Length: 1 to 18
 *   significant digits, repeated only with the same value; not both chunked and a length
 *   body      = a Content-Length's bytes, or chunks (1-16 hex digits, an optional
 *               extension, CRLF, data, CRLF), then "0" CRLF CRLF (no trailer fields)
 * CRLF may be a bare LF (libsoup reads both); a CR elsewhere is refused. Every request
 * this grammar takes libsoup reads the same way (the same body length, the same next
 * request), so the framing here stays in step with libsoup's for as long as libsoup
 * reads the connection. A request answered before its body is read ("Expect:
 * 100-continue") is the one case where libsoup would not read the body: the server then
 * closes the connection after that answer (pay-http-server.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Where the framing is (pay-http-framing.c); all zero before a connection's first byte. */
typedef struct {
  guint8   state;      /* the part of the request the next byte belongs to */
  guint8   at;         /* bytes of the current token, or digits of a number, read */
  guint16  word;       /* the methods, field names or codings still matched (bits) */
  guint8   field;      /* which field's value is being read */
  guint8   value;      /* before, in, or after that value */
  gboolean cr;         /* a CR was read: only LF may follow */
  gboolean blank;      /* an empty line came before this request line */
  gboolean chunked;    /* the head declared Transfer-Encoding: chunked */
  gboolean coded;      /* the head had a Transfer-Encoding field */
  gboolean has_length; /* the head had a Content-Length field */
  guint64  length;     /* its value */
  guint64  number;     /* the Content-Length or chunk size being read */
  guint64  remaining;  /* body or chunk bytes still to come */
} PayHttpFraming;

#define PAY_HTTP_FRAMING_INIT { 0 }

/* Scans the next @length bytes; returns the offset of the first byte that refuses the
 * stream, or @length when none does. Once refused, call it no more. */
gsize pay_http_framing_scan (PayHttpFraming *self, const guint8 *data, gsize length);

G_END_DECLS
