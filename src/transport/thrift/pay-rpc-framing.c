/* pay-rpc-framing.c: framing detection and the Framed framing (u32 length + message). */
#include "transport/thrift/pay-rpc-framing.h"

#define FRAMED_HEADER_BYTES 4

static guint32
read_u32 (const guint8 *b)
{
  return ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
}

static void
append_u32 (GByteArray *out, guint32 v)
{
  const guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (out, b, sizeof b);
}

/* ---- Framed ---------------------------------------------------------------------- */

static gboolean
framed_detect (const guint8 *buf, gsize len)
{
  return len >= PAY_FRAMING_SNIFF_BYTES && buf[4] == 0x80 && buf[5] == 0x01;
}

static PayFrameStatus
framed_unwrap (const guint8 *buf, gsize len, gsize max_bytes, PayFrame *frame)
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
  frame->framing = &pay_framing_framed;
  frame->consumed = FRAMED_HEADER_BYTES + (gsize) size;
  frame->message = buf + FRAMED_HEADER_BYTES;
  frame->message_len = size;
  return PAY_FRAME_READY;
}

static void
framed_wrap (const PayFrame *request, const guint8 *reply, gsize reply_len, GByteArray *out)
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

/* ---- detection ------------------------------------------------------------------- */

static const PayFraming *const framings[] = {
  &pay_framing_framed,
};

PayFrameStatus
pay_framing_next (const guint8 *buf, gsize len, gsize max_bytes, PayFrame *frame)
{
  for (gsize i = 0; i < G_N_ELEMENTS (framings); i++)
    if (framings[i]->detect (buf, len))
      return framings[i]->unwrap (buf, len, max_bytes, frame);
  return len < PAY_FRAMING_SNIFF_BYTES ? PAY_FRAME_NEED_MORE : PAY_FRAME_INVALID;
}
