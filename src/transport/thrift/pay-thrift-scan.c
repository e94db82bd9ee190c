/* pay-thrift-scan.c: bounds-checked strict-binary message walker. */
#include "transport/thrift/pay-thrift-scan.h"

#include <string.h>

enum {
  T_STOP = 0, T_BOOL = 2, T_BYTE = 3, T_DOUBLE = 4, T_I16 = 6, T_I32 = 8, T_I64 = 10,
  T_STRING = 11, T_STRUCT = 12, T_MAP = 13, T_SET = 14, T_LIST = 15,
};

typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean      malformed;   /* set when a value is impossible, not merely cut short */
  gboolean      bad_text;    /* a string value holds a NUL or is not UTF-8 */
} Cursor;

static gboolean
take (Cursor *c, gsize n, const guint8 **out)
{
  if ((gsize) (c->end - c->p) < n)
    return FALSE;
  if (out != NULL)
    *out = c->p;
  c->p += n;
  return TRUE;
}

static gboolean
take_i32 (Cursor *c, gint32 *value)
{
  const guint8 *b;

  if (!take (c, 4, &b))
    return FALSE;
  *value = (gint32) (((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3]);
  return TRUE;
}

static gboolean
take_u8 (Cursor *c, guint8 *value)
{
  const guint8 *b;

  if (!take (c, 1, &b))
    return FALSE;
  *value = b[0];
  return TRUE;
}

static gboolean
fail_malformed (Cursor *c)
{
  c->malformed = TRUE;
  return FALSE;
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

static gboolean skip_value (Cursor *c, guint8 type, guint depth);

static gboolean
skip_count (Cursor *c, gint32 *count)
{
  if (!take_i32 (c, count))
    return FALSE;
  if (*count < 0)
    return fail_malformed (c);
  return TRUE;
}

static gboolean
skip_struct (Cursor *c, guint depth)
{
  if (depth > PAY_THRIFT_MAX_DEPTH)
    return fail_malformed (c);
  for (;;)
    {
      guint8 type;

      if (!take_u8 (c, &type))
        return FALSE;
      if (type == T_STOP)
        return TRUE;
      if (!take (c, 2, NULL) || !skip_value (c, type, depth + 1))
        return FALSE;
    }
}

static gboolean
skip_elements (Cursor *c, guint8 type, gint32 count, guint depth)
{
  gsize size = fixed_size (type);

  if (size > 0)
    {
      /* Scalars: one bounds check instead of a loop, and no overflow on the product. */
      if ((guint64) count * size > (guint64) (c->end - c->p))
        {
          c->p = c->end;
          return FALSE;
        }
      c->p += (gsize) count * size;
      return TRUE;
    }
  for (gint32 i = 0; i < count; i++)
    if (!skip_value (c, type, depth))
      return FALSE;
  return TRUE;
}

static gboolean
skip_value (Cursor *c, guint8 type, guint depth)
{
  gint32 len;
  guint8 ktype, vtype;

  if (depth > PAY_THRIFT_MAX_DEPTH)
    return fail_malformed (c);

  switch (type)
    {
    case T_BOOL: case T_BYTE: case T_I16: case T_I32: case T_DOUBLE: case T_I64:
      return take (c, fixed_size (type), NULL);
    case T_STRING:
      {
        const guint8 *text;

        if (!take_i32 (c, &len))
          return FALSE;
        if (len < 0)
          return fail_malformed (c);
        if (!take (c, (gsize) len, &text))
          return FALSE;
        /* Well-formed Thrift, but not text this service can hold: C strings end at a
         * NUL, so "4111…\0junk" would be read as a shorter value than was sent. */
        if (!c->bad_text && (memchr (text, 0, (gsize) len) != NULL ||
                             !g_utf8_validate_len ((const gchar *) text, (gsize) len, NULL)))
          c->bad_text = TRUE;
        return TRUE;
      }
    case T_STRUCT:
      return skip_struct (c, depth + 1);
    case T_MAP:
      if (!take_u8 (c, &ktype) || !take_u8 (c, &vtype) || !skip_count (c, &len))
        return FALSE;
      /* checked even for an empty container: Thrift C GLib's readers reject an unknown
       * element type (setting their GError twice), so the scan must say BAD_BODY */
      if (!is_value_type (ktype) || !is_value_type (vtype))
        return fail_malformed (c);
      for (gint32 i = 0; i < len; i++)
        if (!skip_value (c, ktype, depth + 1) || !skip_value (c, vtype, depth + 1))
          return FALSE;
      return TRUE;
    case T_SET: case T_LIST:
      if (!take_u8 (c, &ktype) || !skip_count (c, &len))
        return FALSE;
      if (!is_value_type (ktype))
        return fail_malformed (c);
      return skip_elements (c, ktype, len, depth + 1);
    default:
      return fail_malformed (c);
    }
}

PayThriftScanResult
pay_thrift_scan_message (const guint8 *buf, gsize len, PayThriftMessageInfo *info)
{
  Cursor c = { buf, buf + len, FALSE, FALSE };
  gint32 version, name_len, seqid;
  const guint8 *name;

  info->name = NULL;
  info->name_len = 0;
  info->seqid = 0;
  info->length = 0;
  info->type = 0;
  info->bad_text = FALSE;

  if (!take_i32 (&c, &version))
    return len > 0 && buf[0] != 0x80 ? PAY_THRIFT_SCAN_BAD_HEADER : PAY_THRIFT_SCAN_INCOMPLETE;
  if (((guint32) version & 0xffffff00u) != PAY_THRIFT_VERSION_1)
    return PAY_THRIFT_SCAN_BAD_HEADER;
  info->type = (guint8) (version & 0xff);
  if (info->type != PAY_THRIFT_MSG_CALL && info->type != PAY_THRIFT_MSG_ONEWAY)
    return PAY_THRIFT_SCAN_BAD_HEADER;
  if (!take_i32 (&c, &name_len))
    return PAY_THRIFT_SCAN_INCOMPLETE;
  if (name_len <= 0 || name_len > PAY_THRIFT_MAX_NAME_BYTES)
    return PAY_THRIFT_SCAN_BAD_HEADER;
  if (!take (&c, (gsize) name_len, &name) || !take_i32 (&c, &seqid))
    return PAY_THRIFT_SCAN_INCOMPLETE;

  info->name = name;
  info->name_len = (gsize) name_len;
  info->seqid = seqid;

  if (!skip_struct (&c, 0))
    return c.malformed ? PAY_THRIFT_SCAN_BAD_BODY : PAY_THRIFT_SCAN_INCOMPLETE;

  info->length = (gsize) (c.p - buf);
  info->bad_text = c.bad_text;
  return PAY_THRIFT_SCAN_COMPLETE;
}
