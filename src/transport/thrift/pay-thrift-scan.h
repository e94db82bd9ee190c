/* pay-thrift-scan.h: a bounds-checked walk over one strict-binary Thrift message. It
 * finds where a message ends and proves every length in it fits, before the generated
 * code (which trusts lengths) ever reads it. The walk can stop where the bytes run out
 * and go on from there once more have arrived: a bare (buffered) message, whose end
 * only the walk finds, costs time proportional to its size however it is split. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_THRIFT_MAX_DEPTH       32   /* nested structs/containers */
#define PAY_THRIFT_MAX_NAME_BYTES 256   /* method name */

#define PAY_THRIFT_VERSION_1   0x80010000u
#define PAY_THRIFT_MSG_CALL    1
#define PAY_THRIFT_MSG_REPLY   2
#define PAY_THRIFT_MSG_EXCEPTION 3
#define PAY_THRIFT_MSG_ONEWAY  4

typedef enum {
  PAY_THRIFT_SCAN_COMPLETE,       /* a whole, well-formed message */
  PAY_THRIFT_SCAN_INCOMPLETE,     /* well-formed so far, more bytes needed */
  PAY_THRIFT_SCAN_BAD_HEADER,     /* not a strict-binary CALL/ONEWAY: close the connection */
  PAY_THRIFT_SCAN_BAD_BODY,       /* header fine (name and seqid valid), arguments malformed */
} PayThriftScanResult;

typedef struct {
  guint8       type;              /* PAY_THRIFT_MSG_* */
  const guint8 *name;             /* points into the scanned buffer, not NUL-terminated */
  gsize        name_len;
  gint32       seqid;
  gsize        length;            /* whole message, when COMPLETE */
  gboolean     bad_text;          /* COMPLETE: a string value holds a NUL or is not UTF-8 */
} PayThriftMessageInfo;

/* Scans the message at the start of @buf. The header fields of @info are valid for
 * COMPLETE and BAD_BODY, and for INCOMPLETE once the header itself was complete
 * (@info->name != NULL). */
PayThriftScanResult pay_thrift_scan_message (const guint8         *buf,
                                             gsize                 len,
                                             PayThriftMessageInfo *info);

/* What the walk has open where it stopped: the stack of an explicit depth-first walk
 * (a struct, list or map being walked, or one value about to be), bounded by the depth
 * limit. */
#define PAY_THRIFT_SCAN_STACK (PAY_THRIFT_MAX_DEPTH + 4)

typedef struct {
  guint8  kind;          /* a value, a struct, a list or set, a map */
  guint8  type;          /* value: its type; list: the elements'; map: the keys' */
  guint8  value_type;    /* map: the values' type */
  guint8  depth;         /* the recursion depth the limit is checked against */
  guint32 left;          /* list: elements not walked yet; map: keys plus values */
} PayThriftScanFrame;

/* A scan kept between reads. Fed the same message again each time more of it has
 * arrived, it goes on where it stopped: every byte is taken once. Only offsets are
 * kept, so the buffer may move between calls. */
typedef struct {
  gsize               offset;     /* bytes taken so far, every one of them well-formed */
  guint               n_open;     /* frames in open; 0 with offset 0: the header is not in */
  PayThriftScanFrame  open[PAY_THRIFT_SCAN_STACK];
  gboolean            bad_text;   /* a string taken so far holds a NUL or is not UTF-8 */
  gboolean            done;       /* result is final (anything but INCOMPLETE) */
  PayThriftScanResult result;
  guint64             work;       /* bytes examined plus steps taken, over the scanner's
                                   * life: what tests bound per byte (a count, not a time) */
} PayThriftScanner;

/* Starts a new message; the work count is kept. */
void pay_thrift_scanner_reset (PayThriftScanner *scanner);

/* Scans the message at the start of @buf, of which the calls since the reset saw a
 * prefix (the same bytes, wherever they are now). It says, in the result and @info,
 * what pay_thrift_scan_message() would say of @buf, @len, having examined only the
 * bytes new since the last call. */
PayThriftScanResult pay_thrift_scanner_feed (PayThriftScanner     *scanner,
                                             const guint8         *buf,
                                             gsize                 len,
                                             PayThriftMessageInfo *info);

G_END_DECLS
