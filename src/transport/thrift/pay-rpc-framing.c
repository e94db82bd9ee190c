/* pay-rpc-framing.c: framing detection and the three framings a Kitex client may use:
 * Framed (u32 length + message), buffered (the bare message) and TTHeader (a header,
 * then a framed or bare message). docs/KITEX.md has the wire facts. */
#include "transport/thrift/pay-rpc-framing.h"

#include <string.h>

#include "transport/thrift/pay-thrift-scan.h"

#define FRAMED_HEADER_BYTES    4
#define TTHEADER_MAGIC         0x1000
#define TTHEADER_FIXED_BYTES   14     /* LENGTH, magic, flags, seqid, header size */
#define TTHEADER_PROTOCOL_BINARY 0

static guint32
read_u32 (const guint8 *b)
{
  return ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
}

static guint16
read_u16 (const guint8 *b)
{
  return (guint16) ((b[0] << 8) | b[1]);
}

static void
append_u32 (GByteArray *out, guint32 v)
{
  const guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (out, b, sizeof b);
}

static void
append_u16 (GByteArray *out, guint16 v)
{
  const guint8 b[2] = { v >> 8, v & 0xff };
  g_byte_array_append (out, b, sizeof b);
}

static void
append_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u32 (guint8 *b, guint32 v)
{
  b[0] = v >> 24;
  b[1] = (v >> 16) & 0xff;
  b[2] = (v >> 8) & 0xff;
  b[3] = v & 0xff;
}

static gboolean
is_strict_binary (const guint8 *b, gsize len)
{
  return len >= 2 && b[0] == 0x80 && b[1] == 0x01;
}

/* ---- Framed ---------------------------------------------------------------------- */

static gboolean
framed_detect (const guint8 *buf, gsize len)
{
  return len >= PAY_FRAMING_SNIFF_BYTES && is_strict_binary (buf + 4, len - 4);
}

static PayFrameStatus
framed_unwrap (PayFrameReader *reader, const guint8 *buf, gsize len, gsize max_bytes,
               PayFrame *frame)
{
  guint32 size;

  if (len < FRAMED_HEADER_BYTES)
    return PAY_FRAME_NEED_MORE;
  size = read_u32 (buf);
  if (size == 0)
    return PAY_FRAME_INVALID;
  if (size > max_bytes)
    return PAY_FRAME_TOO_LARGE;
  if (len - FRAMED_HEADER_BYTES < size)
    return PAY_FRAME_NEED_MORE;
  memset (frame, 0, sizeof *frame);
  frame->framing = &pay_framing_framed;
  frame->consumed = FRAMED_HEADER_BYTES + (gsize) size;
  frame->message = buf + FRAMED_HEADER_BYTES;
  frame->message_len = size;
  return PAY_FRAME_READY;
}

static void
framed_wrap (const PayFrame *request, const PayReplyStatus *status, const guint8 *reply,
             gsize reply_len, gboolean closing, GByteArray *out)
{
  append_u32 (out, (guint32) reply_len);
  g_byte_array_append (out, reply, (guint) reply_len);
}

const PayFraming pay_framing_framed = {
  .name = "framed",
  .detect = framed_detect,
  .unwrap = framed_unwrap,
  .wrap = framed_wrap,
};

/* ---- buffered (bare message) ----------------------------------------------------- */

static gboolean
buffered_detect (const guint8 *buf, gsize len)
{
  return is_strict_binary (buf, len);
}

/* No length prefix: the message ends where parsing it ends. The scan goes on from
 * where the last read left it, so a message trickled in costs no more than one sent
 * whole. */
static PayFrameStatus
buffered_unwrap (PayFrameReader *reader, const guint8 *buf, gsize len, gsize max_bytes,
                 PayFrame *frame)
{
  PayThriftMessageInfo info;
  PayThriftScanResult scan;
  guint64 before = reader->scanner.work;

  scan = pay_thrift_scanner_feed (&reader->scanner, buf, MIN (len, max_bytes), &info);
  reader->work += reader->scanner.work - before;
  switch (scan)
    {
    case PAY_THRIFT_SCAN_COMPLETE:
      memset (frame, 0, sizeof *frame);
      frame->framing = &pay_framing_buffered;
      frame->consumed = info.length;
      frame->message = buf;
      frame->message_len = info.length;
      return PAY_FRAME_READY;
    case PAY_THRIFT_SCAN_INCOMPLETE:
      return len >= max_bytes ? PAY_FRAME_TOO_LARGE : PAY_FRAME_NEED_MORE;
    case PAY_THRIFT_SCAN_BAD_HEADER:
    case PAY_THRIFT_SCAN_BAD_BODY:
    default:
      /* Without a length there is no telling where a malformed message ends. */
      return PAY_FRAME_INVALID;
    }
}

static void
buffered_wrap (const PayFrame *request, const PayReplyStatus *status, const guint8 *reply,
               gsize reply_len, gboolean closing, GByteArray *out)
{
  g_byte_array_append (out, reply, (guint) reply_len);
}

const PayFraming pay_framing_buffered = {
  .name = "buffered",
  .detect = buffered_detect,
  .unwrap = buffered_unwrap,
  .wrap = buffered_wrap,
};

/* ---- TTHeader -------------------------------------------------------------------- */

static gboolean
ttheader_detect (const guint8 *buf, gsize len)
{
  return len >= PAY_FRAMING_SNIFF_BYTES && read_u16 (buf + 4) == TTHEADER_MAGIC;
}

/* Walks the info blocks of a header; FALSE on an unknown id or anything out of bounds.
 * For each key/value pair calls @visit (when not NULL) until it returns TRUE. */
typedef gboolean (*InfoVisit) (const guint8 *key, gsize key_len, guint16 int_key,
                               const guint8 *value, gsize value_len, gpointer data);

static gboolean
walk_info (const guint8 *p, gsize len, InfoVisit visit, gpointer data)
{
  const guint8 *end = p + len;

  while (p < end)
    {
      guint8 id = *p++;
      guint16 count;

      if (id == PAY_TTHEADER_INFO_PADDING)
        continue;
      if (id == PAY_TTHEADER_INFO_ACLTOKEN)
        {
          if (end - p < 2 || (gsize) (end - p - 2) < read_u16 (p))
            return FALSE;
          p += 2 + read_u16 (p);
          continue;
        }
      if (id != PAY_TTHEADER_INFO_KEYVALUE && id != PAY_TTHEADER_INFO_INTKEY)
        return FALSE;
      if (end - p < 2)
        return FALSE;
      count = read_u16 (p);
      p += 2;
      for (guint i = 0; i < count; i++)
        {
          const guint8 *key = NULL;
          gsize key_len = 0;
          guint16 int_key = 0, value_len;

          if (end - p < 2)
            return FALSE;
          if (id == PAY_TTHEADER_INFO_KEYVALUE)
            {
              key_len = read_u16 (p);
              p += 2;
              if ((gsize) (end - p) < key_len)
                return FALSE;
              key = p;
              p += key_len;
            }
          else
            {
              int_key = read_u16 (p);
              p += 2;
            }
          if (end - p < 2)
            return FALSE;
          value_len = read_u16 (p);
          p += 2;
          if ((gsize) (end - p) < value_len)
            return FALSE;
          if (visit != NULL && visit (key, key_len, int_key, p, value_len, data))
            return TRUE;
          p += value_len;
        }
    }
  return TRUE;
}

static PayFrameStatus
ttheader_unwrap (PayFrameReader *reader, const guint8 *buf, gsize len, gsize max_bytes,
                 PayFrame *frame)
{
  guint32 length;
  gsize header_bytes, total;
  const guint8 *header, *payload;
  gsize payload_len;

  if (len < FRAMED_HEADER_BYTES)
    return PAY_FRAME_NEED_MORE;
  length = read_u32 (buf);
  if (length > max_bytes)
    return PAY_FRAME_TOO_LARGE;
  if (length < TTHEADER_FIXED_BYTES - FRAMED_HEADER_BYTES)
    return PAY_FRAME_INVALID;
  total = FRAMED_HEADER_BYTES + (gsize) length;
  if (len < total)
    return PAY_FRAME_NEED_MORE;

  /* magic (checked by detect), flags must be 0: streaming is not served here */
  if (read_u16 (buf + 6) != 0)
    return PAY_FRAME_INVALID;
  header_bytes = (gsize) read_u16 (buf + 12) * 4;
  if (header_bytes < 2 || TTHEADER_FIXED_BYTES + header_bytes >= total)
    return PAY_FRAME_INVALID;
  header = buf + TTHEADER_FIXED_BYTES;
  /* protocol id: binary only; no transforms (Kitex writes none) */
  if (header[0] != TTHEADER_PROTOCOL_BINARY || header[1] != 0)
    return PAY_FRAME_INVALID;
  if (!walk_info (header + 2, header_bytes - 2, NULL, NULL))
    return PAY_FRAME_INVALID;

  memset (frame, 0, sizeof *frame);
  frame->framing = &pay_framing_ttheader;
  frame->consumed = total;
  frame->header_seqid = (gint32) read_u32 (buf + 8);
  frame->info = header + 2;
  frame->info_len = header_bytes - 2;

  payload = header + header_bytes;
  payload_len = total - TTHEADER_FIXED_BYTES - header_bytes;
  if (is_strict_binary (payload, payload_len))
    {
      frame->message = payload;
      frame->message_len = payload_len;
      return PAY_FRAME_READY;
    }
  if (payload_len > FRAMED_HEADER_BYTES && is_strict_binary (payload + 4, payload_len - 4) &&
      read_u32 (payload) == payload_len - FRAMED_HEADER_BYTES)
    {
      frame->inner_framed = TRUE;
      frame->message = payload + FRAMED_HEADER_BYTES;
      frame->message_len = payload_len - FRAMED_HEADER_BYTES;
      return PAY_FRAME_READY;
    }
  return PAY_FRAME_INVALID;
}

static void
append_string_pair (GByteArray *out, const gchar *key, const guint8 *value, gsize value_len)
{
  append_u16 (out, (guint16) strlen (key));
  g_byte_array_append (out, (const guint8 *) key, (guint) strlen (key));
  append_u16 (out, (guint16) value_len);
  g_byte_array_append (out, value, (guint) value_len);
}

/* The reply header a Kitex server with ServerTTHeaderHandler writes: string keys for a
 * business error (biz-status, biz-message) and for closing (crrst), then int key 22
 * MsgType, then zero padding to a multiple of four. */
static void
ttheader_wrap (const PayFrame *request, const PayReplyStatus *status, const guint8 *reply,
               gsize reply_len, gboolean closing, GByteArray *out)
{
  guint start = out->len;
  guint header_start;
  gboolean biz = status->message != NULL;
  gchar msg_type_text[4];
  gsize header_len;

  append_u32 (out, 0);                              /* LENGTH, patched below */
  append_u16 (out, TTHEADER_MAGIC);
  append_u16 (out, 0);                              /* flags */
  append_u32 (out, (guint32) request->header_seqid);
  append_u16 (out, 0);                              /* header size, patched below */
  header_start = out->len;
  append_u8 (out, TTHEADER_PROTOCOL_BINARY);
  append_u8 (out, 0);                               /* no transforms */

  if (biz || closing)
    {
      append_u8 (out, PAY_TTHEADER_INFO_KEYVALUE);
      append_u16 (out, (guint16) ((biz ? 2 : 0) + (closing ? 1 : 0)));
      if (biz)
        {
          gchar code_text[16];
          gint n = g_snprintf (code_text, sizeof code_text, "%" G_GINT32_FORMAT, status->code);

          append_string_pair (out, "biz-status", (const guint8 *) code_text, (gsize) n);
          append_string_pair (out, "biz-message", (const guint8 *) status->message,
                              MIN (strlen (status->message), G_MAXUINT16));
        }
      if (closing)
        append_string_pair (out, "crrst", (const guint8 *) "1", 1);
    }

  g_snprintf (msg_type_text, sizeof msg_type_text, "%u", status->msg_type);
  append_u8 (out, PAY_TTHEADER_INFO_INTKEY);
  append_u16 (out, 1);
  append_u16 (out, PAY_TTHEADER_KEY_MSG_TYPE);
  append_u16 (out, (guint16) strlen (msg_type_text));
  g_byte_array_append (out, (const guint8 *) msg_type_text, (guint) strlen (msg_type_text));
  while ((out->len - header_start) % 4 != 0)
    append_u8 (out, PAY_TTHEADER_INFO_PADDING);
  header_len = out->len - header_start;

  if (request->inner_framed)
    append_u32 (out, (guint32) reply_len);
  g_byte_array_append (out, reply, (guint) reply_len);

  put_u32 (out->data + start, out->len - start - FRAMED_HEADER_BYTES);
  out->data[start + 12] = (guint8) ((header_len / 4) >> 8);
  out->data[start + 13] = (guint8) ((header_len / 4) & 0xff);
}

const PayFraming pay_framing_ttheader = {
  .name = "ttheader",
  .detect = ttheader_detect,
  .unwrap = ttheader_unwrap,
  .wrap = ttheader_wrap,
};

typedef struct {
  const gchar   *key;
  guint16        int_key;
  const guint8 **value;
  gsize         *value_len;
} Lookup;

static gboolean
lookup_visit (const guint8 *key, gsize key_len, guint16 int_key,
              const guint8 *value, gsize value_len, gpointer data)
{
  Lookup *l = data;
  gboolean hit = l->key != NULL
    ? key != NULL && key_len == strlen (l->key) && memcmp (key, l->key, key_len) == 0
    : key == NULL && int_key == l->int_key;

  if (hit)
    {
      *l->value = value;
      *l->value_len = value_len;
    }
  return hit;
}

gboolean
pay_frame_header_value (const PayFrame *frame,
                        const gchar    *key,
                        guint16         int_key,
                        const guint8  **value,
                        gsize          *value_len)
{
  Lookup l = { key, int_key, value, value_len };

  *value = NULL;
  *value_len = 0;
  if (frame->info == NULL)
    return FALSE;
  walk_info (frame->info, frame->info_len, lookup_visit, &l);
  return *value != NULL;
}

/* ---- detection ------------------------------------------------------------------- */

static const PayFraming *const framings[] = {
  &pay_framing_buffered,
  &pay_framing_framed,
  &pay_framing_ttheader,
};

/* The framing of the request at the start of @buf, or NULL with what to answer. */
static const PayFraming *
detect (const guint8 *buf, gsize len, PayFrameStatus *status)
{
  /* No framing starts with a zero word (an empty Framed or TTHeader request; a bare
   * message starts with 0x80), so four zero bytes are decisive before the sniff. */
  *status = PAY_FRAME_INVALID;
  if (len >= FRAMED_HEADER_BYTES && read_u32 (buf) == 0)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (framings); i++)
    if (framings[i]->detect (buf, len))
      return framings[i];
  if (len < PAY_FRAMING_SNIFF_BYTES)
    *status = PAY_FRAME_NEED_MORE;
  return NULL;
}

void
pay_frame_reader_init (PayFrameReader *reader)
{
  memset (reader, 0, sizeof *reader);
  pay_thrift_scanner_reset (&reader->scanner);
}

/* Detection looks at the first PAY_FRAMING_SNIFF_BYTES bytes only, and the framed and
 * TTHeader unwraps at their fixed header until the whole request is in (then once at
 * the rest): each call costs a constant, plus, for a buffered request, the scan of the
 * bytes new since the last. */
PayFrameStatus
pay_frame_reader_next (PayFrameReader *reader, const guint8 *buf, gsize len, gsize max_bytes,
                       PayFrame *frame)
{
  PayFrameStatus status;

  reader->work++;
  if (reader->framing == NULL)
    reader->framing = detect (buf, len, &status);
  if (reader->framing == NULL)
    return status;
  status = reader->framing->unwrap (reader, buf, len, max_bytes, frame);
  if (status == PAY_FRAME_NEED_MORE)
    return status;
  if (status == PAY_FRAME_READY && reader->framing != &pay_framing_buffered)
    reader->work += frame->consumed - frame->message_len;   /* the header, walked once */
  reader->framing = NULL;
  pay_thrift_scanner_reset (&reader->scanner);
  return status;
}

PayFrameStatus
pay_framing_next (const guint8 *buf, gsize len, gsize max_bytes, PayFrame *frame)
{
  PayFrameReader reader;

  pay_frame_reader_init (&reader);
  return pay_frame_reader_next (&reader, buf, len, max_bytes, frame);
}

PayThriftScanResult
pay_frame_reader_scan (PayFrameReader *reader, const PayFrame *frame, PayThriftMessageInfo *info)
{
  PayThriftScanner scanner = { 0 };
  PayThriftScanResult scan;

  pay_thrift_scanner_reset (&scanner);
  scan = pay_thrift_scanner_feed (&scanner, frame->message, frame->message_len, info);
  reader->work += scanner.work;
  return scan;
}
