/* pay-rpc-process.c: drives the generated processor over in-memory transports. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-process.h"

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>

#include "transport/thrift/pay-frame-transport.h"

static ThriftProtocol *
binary_protocol_new (PayFrameTransport *transport)
{
  return g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
}

gboolean
pay_rpc_process (ThriftProcessor *processor,
                 const guint8    *msg,
                 gsize            msg_len,
                 GByteArray      *reply,
                 GError         **error)
{
  g_autoptr(PayFrameTransport) in_transport = pay_frame_transport_new (msg, msg_len, NULL);
  g_autoptr(PayFrameTransport) out_transport = pay_frame_transport_new (NULL, 0, reply);
  g_autoptr(ThriftProtocol) in_protocol = binary_protocol_new (in_transport);
  g_autoptr(ThriftProtocol) out_protocol = binary_protocol_new (out_transport);
  guint before = reply->len;

  if (thrift_processor_process (processor, in_protocol, out_protocol, error))
    return TRUE;
  /* A processor failure after part of a reply was written leaves no usable reply. */
  g_byte_array_set_size (reply, before);
  if (error != NULL && *error == NULL)
    g_set_error_literal (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_UNKNOWN,
                         "processor failed");
  return FALSE;
}

void
pay_rpc_write_exception (const PayThriftMessageInfo *info,
                         gint                        type,
                         const gchar                *message,
                         GByteArray                 *reply)
{
  g_autoptr(PayFrameTransport) transport = pay_frame_transport_new (NULL, 0, reply);
  g_autoptr(ThriftProtocol) protocol = binary_protocol_new (transport);
  g_autoptr(ThriftApplicationException) xception =
    g_object_new (THRIFT_TYPE_APPLICATION_EXCEPTION, "type", type, "message", message, NULL);
  g_autofree gchar *name = g_strndup ((const gchar *) info->name, info->name_len);

  /* Writes to memory cannot fail; the results are checked only to satisfy the API. */
  if (thrift_protocol_write_message_begin (protocol, name, T_EXCEPTION, info->seqid, NULL) < 0 ||
      thrift_struct_write (THRIFT_STRUCT (xception), protocol, NULL) < 0 ||
      thrift_protocol_write_message_end (protocol, NULL) < 0)
    g_warn_if_reached ();
}
