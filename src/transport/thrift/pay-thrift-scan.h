/* pay-thrift-scan.h: a bounds-checked walk over one strict-binary Thrift message. It
 * finds where a message ends and proves every length in it fits, before the generated
 * code (which trusts lengths) ever reads it. */
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

G_END_DECLS
