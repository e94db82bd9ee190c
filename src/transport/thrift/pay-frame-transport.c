/* pay-frame-transport.c: a bounded in-memory ThriftTransport for the generated structs. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-frame-transport.h"

#include <string.h>

/* Output room reserved at a time (see frame_write()). */
#define OUTPUT_RESERVE_BYTES 512

struct _PayFrameTransport
{
  ThriftTransport parent_instance;

  const guint8 *input;
  gsize         input_len;
  gsize         offset;
  GByteArray   *output;
  guint         output_room;   /* output's allocation reaches at least this far */
};

G_DEFINE_FINAL_TYPE (PayFrameTransport, pay_frame_transport, THRIFT_TYPE_TRANSPORT)

static void
pay_frame_transport_init (PayFrameTransport *self)
{
}

static gboolean
frame_is_open (ThriftTransport *transport)
{
  return TRUE;
}

static gboolean
frame_noop (ThriftTransport *transport, GError **error)
{
  return TRUE;
}

/* Copies @len bytes: the protocol reads and writes mostly 1, 2, 4 or 8 at a time, which
 * the compiler copies with one move each instead of a call to memcpy. */
static inline void
copy_bytes (guint8 *dest, const guint8 *src, gsize len)
{
  switch (len)
    {
    case 0: break;   /* @dest may be NULL then (an output with nothing allocated) */
    case 1: dest[0] = src[0]; break;
    case 2: memcpy (dest, src, 2); break;
    case 4: memcpy (dest, src, 4); break;
    case 8: memcpy (dest, src, 8); break;
    default: memcpy (dest, src, len); break;
    }
}

static G_GNUC_NO_INLINE gint32
read_past_end (PayFrameTransport *self, guint32 len, GError **error)
{
  g_set_error (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_RECEIVE,
               "read of %u bytes past the end of the message (%" G_GSIZE_FORMAT " left)",
               len, self->input_len - self->offset);
  return -1;
}

/* Reads exactly @len bytes or fails: a short read means the message lied about a length.
 * The vfuncs run for every field of every message: the rare paths are out of line, so
 * the common one needs no stack frame. */
static gint32
frame_read (ThriftTransport *transport, gpointer buf, guint32 len, GError **error)
{
  PayFrameTransport *self = (PayFrameTransport *) transport;

  if (G_UNLIKELY (len > self->input_len - self->offset))
    return read_past_end (self, len, error);
  copy_bytes (buf, self->input + self->offset, len);
  self->offset += len;
  return (gint32) len;
}

/* frame_write() when output has no room reserved for @len more bytes (or is missing). */
static G_GNUC_NO_INLINE gboolean
write_reserving (PayFrameTransport *self, const guint8 *buf, guint32 len, GError **error)
{
  GByteArray *output = self->output;
  guint used;

  if (output == NULL)
    {
      g_set_error_literal (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_SEND,
                           "transport has no output");
      return FALSE;
    }
  used = output->len;
  if (len > G_MAXUINT - used - OUTPUT_RESERVE_BYTES)
    {
      g_set_error_literal (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_SEND,
                           "output too large");
      return FALSE;
    }
  g_byte_array_set_size (output, used + len + OUTPUT_RESERVE_BYTES);
  self->output_room = output->len;
  copy_bytes (output->data + used, buf, len);
  g_byte_array_set_size (output, used + len);
  return TRUE;
}

/* Appends to output. GByteArray's capacity is private, and g_byte_array_append() costs
 * several times the copy of the few bytes each protocol write brings, so the transport
 * reserves room itself: g_byte_array_set_size() grows the allocation, which never
 * shrinks while the array lives, so bytes up to output_room can be put down and counted
 * in its public len directly. */
static gboolean
frame_write (ThriftTransport *transport, const gpointer buf, const guint32 len, GError **error)
{
  PayFrameTransport *self = (PayFrameTransport *) transport;
  GByteArray *output = self->output;

  if (G_UNLIKELY (output == NULL || (guint64) output->len + len > self->output_room))
    return write_reserving (self, buf, len, error);
  copy_bytes (output->data + output->len, buf, len);
  output->len += len;
  return TRUE;
}

/* Called by the binary protocol before it allocates a string: refuse any length larger
 * than what is left, so one length field cannot ask for 2 GiB (defect 3). */
static gboolean
frame_check_read_bytes_available (ThriftTransport *transport, glong num_bytes, GError **error)
{
  PayFrameTransport *self = (PayFrameTransport *) transport;

  if (num_bytes < 0 || (gsize) num_bytes > self->input_len - self->offset)
    {
      g_set_error (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_MAX_MESSAGE_SIZE_REACHED,
                   "length %ld exceeds the %" G_GSIZE_FORMAT " bytes left in the message",
                   num_bytes, self->input_len - self->offset);
      return FALSE;
    }
  return TRUE;
}

static gboolean
frame_size_noop (ThriftTransport *transport, glong size, GError **error)
{
  return TRUE;
}

static void
pay_frame_transport_class_init (PayFrameTransportClass *klass)
{
  ThriftTransportClass *transport_class = THRIFT_TRANSPORT_CLASS (klass);

  transport_class->is_open = frame_is_open;
  transport_class->peek = frame_noop;
  transport_class->open = frame_noop;
  transport_class->close = frame_noop;
  transport_class->read = frame_read;
  transport_class->read_all = frame_read;
  transport_class->read_end = frame_noop;
  transport_class->write = frame_write;
  transport_class->write_end = frame_noop;
  transport_class->flush = frame_noop;
  transport_class->checkReadBytesAvailable = frame_check_read_bytes_available;
  transport_class->updateKnownMessageSize = frame_size_noop;
  transport_class->resetConsumedMessageSize = frame_size_noop;
  transport_class->countConsumedMessageBytes = frame_size_noop;
}

void
pay_frame_transport_reset (PayFrameTransport *self,
                           const guint8      *input,
                           gsize              input_len,
                           GByteArray        *output)
{
  g_return_if_fail (PAY_IS_FRAME_TRANSPORT (self));

  self->input = input;
  self->input_len = input != NULL ? input_len : 0;
  self->offset = 0;
  self->output = output;
  self->output_room = 0;
}

PayFrameTransport *
pay_frame_transport_new (const guint8 *input, gsize input_len, GByteArray *output)
{
  PayFrameTransport *self = g_object_new (PAY_TYPE_FRAME_TRANSPORT, NULL);

  pay_frame_transport_reset (self, input, input_len, output);
  return self;
}

gsize
pay_frame_transport_remaining (PayFrameTransport *self)
{
  g_return_val_if_fail (PAY_IS_FRAME_TRANSPORT (self), 0);
  return self->input_len - self->offset;
}
