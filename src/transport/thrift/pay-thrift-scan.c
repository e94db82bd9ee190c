/* pay-thrift-scan.c: bounds-checked strict-binary message walker that resumes where
 * the bytes ran out.
 *
 * The walk is depth-first with its stack in the scanner (PayThriftScanFrame), not on the
 * C stack, so that it can stop at any token and go on later. A token (a field header, a
 * scalar, a string, a container header, a run of scalar elements) is taken whole or not
 * at all: a call that stops leaves the offset at the start of the token it could not
 * take, and only a constant number of bytes (a length) are looked at again by the next
 * call. A string's text is examined once, when it is all there. */
#include "transport/thrift/pay-thrift-scan.h"

#include <string.h>

enum {
  T_STOP = 0, T_BOOL = 2, T_BYTE = 3, T_DOUBLE = 4, T_I16 = 6, T_I32 = 8, T_I64 = 10,
  T_STRING = 11, T_STRUCT = 12, T_MAP = 13, T_SET = 14, T_LIST = 15,
};

enum { OPEN_VALUE, OPEN_STRUCT, OPEN_LIST, OPEN_MAP };

/* What one step of the walk did. */
typedef enum {
  STEP_ON,          /* took a token or opened/closed a frame: go on */
  STEP_MORE,        /* the next token is not all there */
  STEP_MALFORMED,   /* a value is impossible, not merely cut short */
} Step;

#define HEADER_FIXED_BYTES 12   /* version, name length, seqid */

/* The bytes being scanned: the message's first byte and how many there are. */
typedef struct {
  const guint8 *buf;
  gsize         len;
} Input;

static gint32
read_i32 (const guint8 *b)
{
  return (gint32) (((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3]);
}

static gsize
available (const PayThriftScanner *s, const Input *in)
{
  return in->len - s->offset;
}

static const guint8 *
here (const PayThriftScanner *s, const Input *in)
{
  return in->buf + s->offset;
}

static void
take (PayThriftScanner *s, gsize n)
{
  s->offset += n;
  s->work += n;
}

/* Fixed wire size of a scalar type, or 0 for variable-size and unknown types. */
static gsize
fixed_size (guint8 type)
{
  switch (type)
    {
    case T_BOOL: case T_BYTE: return 1;
    case T_I16: return 2;
    case T_I32: return 4;
    case T_DOUBLE: case T_I64: return 8;
    default: return 0;
    }
}

/* A type id that may appear on the wire (T_STOP ends a struct, it is not a value type). */
static gboolean
is_value_type (guint8 type)
{
  return fixed_size (type) > 0 || type == T_STRING || type == T_STRUCT ||
         type == T_MAP || type == T_SET || type == T_LIST;
}

static PayThriftScanFrame *
top (PayThriftScanner *s)
{
  return &s->open[s->n_open - 1];
}

static Step
close_top (PayThriftScanner *s)
{
  s->n_open--;
  return STEP_ON;
}

static Step
open_value (PayThriftScanner *s, guint8 type, guint depth)
{
  /* Never full: below the value on top, the open structs and containers are each one
   * deeper than the one under it, and none is deeper than PAY_THRIFT_MAX_DEPTH + 1 (a
   * value deeper than the limit is refused before it opens anything). */
  if (s->n_open == PAY_THRIFT_SCAN_STACK)
    return STEP_MALFORMED;
  s->open[s->n_open++] = (PayThriftScanFrame) { .kind = OPEN_VALUE, .type = type,
                                                .depth = (guint8) MIN (depth, G_MAXUINT8) };
  return STEP_ON;
}

/* A string: a length, then that many bytes of text, taken together. */
static Step
step_string (PayThriftScanner *s, const Input *in)
{
  const guint8 *p = here (s, in);
  gint32 len;

  if (available (s, in) < 4)
    return STEP_MORE;
  len = read_i32 (p);
  if (len < 0)
    return STEP_MALFORMED;
  if (available (s, in) - 4 < (gsize) len)
    return STEP_MORE;
  /* Well-formed Thrift, but not text this service can hold: C strings end at a NUL, so
   * "4111…\0junk" would be read as a shorter value than was sent. */
  if (!s->bad_text && (memchr (p + 4, 0, (gsize) len) != NULL ||
                       !g_utf8_validate_len ((const gchar *) p + 4, (gsize) len, NULL)))
    s->bad_text = TRUE;
  take (s, 4 + (gsize) len);
  return close_top (s);
}

/* A list or set header; scalar elements are taken with it, in one bounds check. */
static Step
step_list (PayThriftScanner *s, const Input *in, PayThriftScanFrame *f)
{
  const guint8 *p = here (s, in);
  gint32 count;
  gsize size;

  if (available (s, in) < 5)
    return STEP_MORE;
  count = read_i32 (p + 1);
  /* checked even for an empty container: Thrift C GLib's readers reject an unknown
   * element type (setting their GError twice), so the scan must say BAD_BODY */
  if (count < 0 || !is_value_type (p[0]))
    return STEP_MALFORMED;
  size = fixed_size (p[0]);
  if (size > 0)
    {
      /* no overflow on the product */
      if ((guint64) count * size > (guint64) (available (s, in) - 5))
        return STEP_MORE;
      take (s, 5 + (gsize) count * size);
      return close_top (s);
    }
  *f = (PayThriftScanFrame) { .kind = OPEN_LIST, .type = p[0], .depth = f->depth + 1,
                              .left = (guint32) count };
  take (s, 5);
  return STEP_ON;
}

static Step
step_map (PayThriftScanner *s, const Input *in, PayThriftScanFrame *f)
{
  const guint8 *p = here (s, in);
  gint32 count;

  if (available (s, in) < 6)
    return STEP_MORE;
  count = read_i32 (p + 2);
  if (count < 0 || !is_value_type (p[0]) || !is_value_type (p[1]))
    return STEP_MALFORMED;
  *f = (PayThriftScanFrame) { .kind = OPEN_MAP, .type = p[0], .value_type = p[1],
                              .depth = f->depth + 1, .left = 2 * (guint32) count };
  take (s, 6);
  return STEP_ON;
}

/* The value the top frame says comes next. */
static Step
step_value (PayThriftScanner *s, const Input *in, PayThriftScanFrame *f)
{
  gsize size = fixed_size (f->type);

  if (f->depth > PAY_THRIFT_MAX_DEPTH)
    return STEP_MALFORMED;
  if (size > 0)
    {
      if (available (s, in) < size)
        return STEP_MORE;
      take (s, size);
      return close_top (s);
    }
  switch (f->type)
    {
    case T_STRING:
      return step_string (s, in);
    case T_STRUCT:
      *f = (PayThriftScanFrame) { .kind = OPEN_STRUCT, .depth = f->depth + 1 };
      return STEP_ON;
    case T_MAP:
      return step_map (s, in, f);
    case T_SET: case T_LIST:
      return step_list (s, in, f);
    default:
      return STEP_MALFORMED;
    }
}

/* A struct's next field header (type, id) or its STOP. */
static Step
step_struct (PayThriftScanner *s, const Input *in, PayThriftScanFrame *f)
{
  const guint8 *p = here (s, in);

  if (f->depth > PAY_THRIFT_MAX_DEPTH)
    return STEP_MALFORMED;
  if (available (s, in) < 1)
    return STEP_MORE;
  if (p[0] == T_STOP)
    {
      take (s, 1);
      return close_top (s);
    }
  if (available (s, in) < 3)
    return STEP_MORE;
  take (s, 3);
  return open_value (s, p[0], f->depth + 1u);
}

/* A container's next element (a map's keys and values alternate), or its end. */
static Step
step_elements (PayThriftScanner *s, PayThriftScanFrame *f)
{
  guint8 type;

  if (f->left == 0)
    return close_top (s);
  type = f->kind == OPEN_MAP && f->left % 2 == 1 ? f->value_type : f->type;
  f->left--;
  return open_value (s, type, f->depth);
}

static Step
step (PayThriftScanner *s, const Input *in)
{
  PayThriftScanFrame *f = top (s);

  s->work++;
  switch (f->kind)
    {
    case OPEN_VALUE:
      return step_value (s, in, f);
    case OPEN_STRUCT:
      return step_struct (s, in, f);
    default:
      return step_elements (s, f);
    }
}

/* The message header, taken whole once it is all there; then the arguments struct is
 * open. INCOMPLETE: wait; anything else is final. */
static PayThriftScanResult
scan_header (PayThriftScanner *s, const Input *in)
{
  gint32 name_len;

  if (in->len < 4)
    return in->len > 0 && in->buf[0] != 0x80 ? PAY_THRIFT_SCAN_BAD_HEADER : PAY_THRIFT_SCAN_INCOMPLETE;
  if (((guint32) read_i32 (in->buf) & 0xffffff00u) != PAY_THRIFT_VERSION_1 ||
      (in->buf[3] != PAY_THRIFT_MSG_CALL && in->buf[3] != PAY_THRIFT_MSG_ONEWAY))
    return PAY_THRIFT_SCAN_BAD_HEADER;
  if (in->len < 8)
    return PAY_THRIFT_SCAN_INCOMPLETE;
  name_len = read_i32 (in->buf + 4);
  if (name_len <= 0 || name_len > PAY_THRIFT_MAX_NAME_BYTES)
    return PAY_THRIFT_SCAN_BAD_HEADER;
  if (in->len < HEADER_FIXED_BYTES + (gsize) name_len)
    return PAY_THRIFT_SCAN_INCOMPLETE;
  take (s, HEADER_FIXED_BYTES + (gsize) name_len);
  s->open[0] = (PayThriftScanFrame) { .kind = OPEN_STRUCT, .depth = 0 };
  s->n_open = 1;
  return PAY_THRIFT_SCAN_INCOMPLETE;
}

/* What the header says, as far as it is in; the length once COMPLETE. */
static void
describe (const PayThriftScanner *s, const Input *in, PayThriftMessageInfo *info)
{
  memset (info, 0, sizeof *info);
  if (in->len < 4 || ((guint32) read_i32 (in->buf) & 0xffffff00u) != PAY_THRIFT_VERSION_1)
    return;
  info->type = in->buf[3];
  if (s->offset == 0)
    return;
  info->name_len = (gsize) read_i32 (in->buf + 4);
  info->name = in->buf + 8;
  info->seqid = read_i32 (in->buf + 8 + info->name_len);
  if (s->done && s->result == PAY_THRIFT_SCAN_COMPLETE)
    {
      info->length = s->offset;
      info->bad_text = s->bad_text;
    }
}

static PayThriftScanResult
walk (PayThriftScanner *s, const Input *in)
{
  if (s->offset == 0)
    {
      PayThriftScanResult header = scan_header (s, in);

      if (s->offset == 0)
        return header;
    }
  while (s->n_open > 0)
    switch (step (s, in))
      {
      case STEP_MORE:
        return PAY_THRIFT_SCAN_INCOMPLETE;
      case STEP_MALFORMED:
        return PAY_THRIFT_SCAN_BAD_BODY;
      case STEP_ON:
      default:
        break;
      }
  return PAY_THRIFT_SCAN_COMPLETE;
}

void
pay_thrift_scanner_reset (PayThriftScanner *scanner)
{
  guint64 work = scanner->work;

  memset (scanner, 0, sizeof *scanner);
  scanner->work = work;
}

PayThriftScanResult
pay_thrift_scanner_feed (PayThriftScanner     *scanner,
                         const guint8         *buf,
                         gsize                 len,
                         PayThriftMessageInfo *info)
{
  Input in = { buf, len };

  scanner->work++;
  if (!scanner->done)
    {
      scanner->result = walk (scanner, &in);
      scanner->done = scanner->result != PAY_THRIFT_SCAN_INCOMPLETE;
    }
  describe (scanner, &in, info);
  return scanner->result;
}

PayThriftScanResult
pay_thrift_scan_message (const guint8 *buf, gsize len, PayThriftMessageInfo *info)
{
  PayThriftScanner scanner = { 0 };

  return pay_thrift_scanner_feed (&scanner, buf, len, info);
}
