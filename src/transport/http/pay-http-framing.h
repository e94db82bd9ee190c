/* pay-http-framing.h: finds, in the bytes an HTTP client sends, a Transfer-Encoding or
 * Content-Length header libsoup 3.2.3 would not recognize, before libsoup parses it.
 *
 * libsoup 3.2.3 leaks the request path of a request whose body encoding it does not
 * recognize (parse_headers in soup-server-message-io-http1.c returns before freeing it;
 * fixed upstream in 3.5.2), up to the 64 KiB header limit per connection. Such a request
 * is refused before libsoup sees the end of its headers, so libsoup never parses it.
 *
 * The scan needs no framing: it looks at every line of the stream, bodies included, in
 * one pass of constant work per byte. A line is refused when, NUL bytes skipped (libsoup
 * deletes them), it starts with "Transfer-Encoding:" (any case) and its value, SP, HT and
 * CR around it trimmed, is not "chunked" or "identity" (any case); or with
 * "Content-Length:" and its value is not one or more digits, or has more than 18 significant
 * digits (libsoup keeps a length in a gint64, and 19 digits can overflow it); or when such a line is
 * followed by a continuation line (one starting with SP or HT). That covers every header
 * libsoup 3.2.3 turns into SOUP_ENCODING_UNRECOGNIZED (it reads the same name and value,
 * and folds continuation lines into the value), and refuses a little more: a sign before
 * a length, several lengths or codings on separate lines, folded ones. A JSON body never
 * holds such a line; a chunked body could only by splitting a JSON string right before
 * such text, and that request is refused. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Where the scan is in the current line (pay-http-framing.c); all zero at a line start. */
typedef struct {
  guint8   name;      /* the line's kind: start, name being matched, other, or a header */
  guint8   at;        /* characters of the name, or of the coding, matched (NUL skipped) */
  guint8   value;     /* before, in, or after the matched header's value */
  guint8   word;      /* the names, then the codings, still matched (bits) */
  gboolean fold;      /* the line before was a matched header: no continuation allowed */
} PayHttpFraming;

#define PAY_HTTP_FRAMING_INIT { 0 }

/* Scans the next @length bytes; returns the offset of the first byte that refuses the
 * stream, or @length when none does. Once refused, call it no more. */
gsize pay_http_framing_scan (PayHttpFraming *self, const guint8 *data, gsize length);

G_END_DECLS
