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

/* The transports and protocols one request runs over. */
typedef struct {
  PayFrameTransport *in;
  PayFrameTransport *out;
  ThriftProtocol    *in_protocol;
  ThriftProtocol    *out_protocol;
} Codec;

static Codec *
codec_new (void)
{
  Codec *codec = g_new0 (Codec, 1);

  codec->in = pay_frame_transport_new (NULL, 0, NULL);
  codec->out = pay_frame_transport_new (NULL, 0, NULL);
  codec->in_protocol = binary_protocol_new (codec->in);
  codec->out_protocol = binary_protocol_new (codec->out);
  return codec;
}

static void
codec_free (gpointer data)
{
  Codec *codec = data;

  g_object_unref (codec->in_protocol);
  g_object_unref (codec->out_protocol);
  g_object_unref (codec->in);
  g_object_unref (codec->out);
  g_free (codec);
}

static gboolean
codec_run (Codec           *codec,
           ThriftProcessor *processor,
           const guint8    *msg,
           gsize            msg_len,
           GByteArray      *reply,
           GError         **error)
{
  guint before = reply->len;
  gboolean ok;

  pay_frame_transport_reset (codec->in, msg, msg_len, NULL);
  pay_frame_transport_reset (codec->out, NULL, 0, reply);
  ok = thrift_processor_process (processor, codec->in_protocol, codec->out_protocol, error);
  /* Keep no pointer to the caller's buffers once the call is over. */
  pay_frame_transport_reset (codec->in, NULL, 0, NULL);
  pay_frame_transport_reset (codec->out, NULL, 0, NULL);
  if (ok)
    return TRUE;
  /* A processor failure after part of a reply was written leaves no usable reply. */
  g_byte_array_set_size (reply, before);
  if (error != NULL && *error == NULL)
    g_set_error_literal (error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_UNKNOWN,
                         "processor failed");
  return FALSE;
}

gboolean
pay_rpc_process (ThriftProcessor *processor,
                 const guint8    *msg,
                 gsize            msg_len,
                 GByteArray      *reply,
                 GError         **error)
{
  Codec *codec = codec_new ();
  gboolean ok = codec_run (codec, processor, msg, msg_len, reply, error);

  codec_free (codec);
  return ok;
}

struct _PayRpcEngine
{
  ThriftProcessor *processor;
  Codec           *codec;       /* reused by every call: the engine runs on one thread */
};

static void
engine_clear (gpointer data)
{
  PayRpcEngine *engine = data;

  g_object_unref (engine->processor);
  codec_free (engine->codec);
}

PayRpcEngine *
pay_rpc_engine_new (ThriftProcessor *processor)
{
  PayRpcEngine *engine = g_rc_box_new0 (PayRpcEngine);

  engine->processor = g_object_ref (processor);
  engine->codec = codec_new ();
  return engine;
}

PayRpcEngine *
pay_rpc_engine_ref (PayRpcEngine *engine)
{
  return g_rc_box_acquire (engine);
}

void
pay_rpc_engine_unref (PayRpcEngine *engine)
{
  g_rc_box_release_full (engine, engine_clear);
}

gboolean
pay_rpc_engine_process (PayRpcEngine *engine,
                        const guint8 *msg,
                        gsize         msg_len,
                        GByteArray   *reply,
                        GError      **error)
{
  return codec_run (engine->codec, engine->processor, msg, msg_len, reply, error);
}

ThriftStruct *
pay_rpc_engine_read_args (PayRpcEngine *engine,
                          const guint8 *msg,
                          gsize         msg_len,
                          GType         args_type)
{
  Codec *codec = engine->codec;
  ThriftStruct *args = g_object_new (args_type, NULL);
  g_autofree gchar *name = NULL;
  ThriftMessageType type;
  gint32 seqid;
  gboolean ok;

  pay_frame_transport_reset (codec->in, msg, msg_len, NULL);
  ok = thrift_protocol_read_message_begin (codec->in_protocol, &name, &type, &seqid, NULL) >= 0 &&
       thrift_struct_read (args, codec->in_protocol, NULL) >= 0 &&
       thrift_protocol_read_message_end (codec->in_protocol, NULL) >= 0;
  pay_frame_transport_reset (codec->in, NULL, 0, NULL);
  if (!ok)
    g_clear_object (&args);
  return args;
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
