/* pay-rpc-call.c: the dispatcher and the life of one call (see pay-rpc-call.h). */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-call.h"

#include <string.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>

#include "core/pay-error.h"
#include "transport/thrift/pay-frame-transport.h"

#define UNKNOWN_METHOD "unknown"

struct _PayRpcDispatcher
{
  const PayRpcMethod *methods;
  gsize               n_methods;
  GObject            *target;
  PayMetrics         *metrics;
  PayRateLimiter     *limiter;        /* NULL: no rate limit */
  PayMetricsMethod  **handles;        /* one per method, then "unknown" for any other name,
                                       * so a client sending random names cannot grow the
                                       * metrics */
  /* The transports and protocols every call's message is read from and its reply
   * written with: calls run on the main loop, one at a time. */
  PayFrameTransport  *in;
  PayFrameTransport  *out;
  ThriftProtocol     *in_protocol;
  ThriftProtocol     *out_protocol;
  /* Per method, the struct every call's arguments are read into and the one every
   * reply is written from: a struct made and freed per call cost more than the
   * decoding itself (GObject construction, notify queue, dispose). */
  ThriftStruct      **args;
  ThriftStruct      **results;
};

static ThriftProtocol *
binary_protocol_new (PayFrameTransport *transport)
{
  return g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
}

PayRpcDispatcher *
pay_rpc_dispatcher_new (const PayRpcMethod *methods,
                        gsize               n_methods,
                        GObject            *target,
                        PayMetrics         *metrics)
{
  PayRpcDispatcher *dispatcher;

  g_return_val_if_fail (PAY_IS_METRICS (metrics), NULL);

  dispatcher = g_atomic_rc_box_new0 (PayRpcDispatcher);
  dispatcher->methods = methods;
  dispatcher->n_methods = n_methods;
  dispatcher->target = g_object_ref (target);
  dispatcher->metrics = g_object_ref (metrics);
  dispatcher->handles = g_new (PayMetricsMethod *, n_methods + 1);
  dispatcher->args = g_new (ThriftStruct *, n_methods);
  dispatcher->results = g_new (ThriftStruct *, n_methods);
  for (gsize i = 0; i < n_methods; i++)
    {
      dispatcher->handles[i] = pay_metrics_register_method (metrics, "rpc", methods[i].name);
      dispatcher->args[i] = g_object_new (methods[i].args_type (), NULL);
      dispatcher->results[i] = g_object_new (methods[i].result_type (), NULL);
    }
  dispatcher->handles[n_methods] = pay_metrics_register_method (metrics, "rpc", UNKNOWN_METHOD);
  dispatcher->in = pay_frame_transport_new (NULL, 0, NULL);
  dispatcher->out = pay_frame_transport_new (NULL, 0, NULL);
  dispatcher->in_protocol = binary_protocol_new (dispatcher->in);
  dispatcher->out_protocol = binary_protocol_new (dispatcher->out);
  return dispatcher;
}

PayRpcDispatcher *
pay_rpc_dispatcher_ref (PayRpcDispatcher *dispatcher)
{
  return g_atomic_rc_box_acquire (dispatcher);
}

static void
dispatcher_clear (gpointer data)
{
  PayRpcDispatcher *dispatcher = data;

  g_object_unref (dispatcher->in_protocol);
  g_object_unref (dispatcher->out_protocol);
  g_object_unref (dispatcher->in);
  g_object_unref (dispatcher->out);
  for (gsize i = 0; i < dispatcher->n_methods; i++)
    {
      g_object_unref (dispatcher->args[i]);
      g_object_unref (dispatcher->results[i]);
    }
  g_free (dispatcher->args);
  g_free (dispatcher->results);
  g_free (dispatcher->handles);
  g_object_unref (dispatcher->metrics);
  g_clear_object (&dispatcher->limiter);
  g_object_unref (dispatcher->target);
}

void
pay_rpc_dispatcher_unref (PayRpcDispatcher *dispatcher)
{
  g_atomic_rc_box_release_full (dispatcher, dispatcher_clear);
}

PayMetrics *
pay_rpc_dispatcher_get_metrics (PayRpcDispatcher *dispatcher)
{
  return dispatcher->metrics;
}

void
pay_rpc_dispatcher_set_rate_limiter (PayRpcDispatcher *dispatcher, PayRateLimiter *limiter)
{
  g_set_object (&dispatcher->limiter, limiter);
}

/* The method called @name (@len bytes, not NUL-terminated), or NULL. */
static const PayRpcMethod *
find_method (PayRpcDispatcher *dispatcher, const guint8 *name, gsize len)
{
  for (gsize i = 0; i < dispatcher->n_methods; i++)
    {
      const gchar *candidate = dispatcher->methods[i].name;

      if (strlen (candidate) == len && memcmp (candidate, name, len) == 0)
        return &dispatcher->methods[i];
    }
  return NULL;
}

/* The index of @method in the dispatcher's table. */
static gsize
method_index (PayRpcDispatcher *dispatcher, const PayRpcMethod *method)
{
  return (gsize) (method - dispatcher->methods);
}

static PayMetricsMethod *
method_handle (const PayRpcCall *call)
{
  PayRpcDispatcher *dispatcher = call->dispatcher;

  return dispatcher->handles[call->method != NULL ? method_index (dispatcher, call->method)
                                                  : dispatcher->n_methods];
}

/* ---- reading and writing messages --------------------------------------------------- */

/* Reads the arguments of the call's message into @args (cleared: the dispatcher's for
 * @method), or, with @method NULL, skips them (a method the table does not have).
 * FALSE when they do not decode; @args is then cleared again. */
static gboolean
read_args (PayRpcCall *call, const PayRpcMethod *method, ThriftStruct *args)
{
  PayRpcDispatcher *dispatcher = call->dispatcher;
  g_autofree gchar *name = NULL;
  ThriftMessageType type;
  gint32 seqid;
  gboolean ok;

  pay_frame_transport_reset (dispatcher->in, call->frame.message, call->frame.message_len, NULL);
  ok = thrift_protocol_read_message_begin (dispatcher->in_protocol, &name, &type, &seqid, NULL) >= 0 &&
       (method != NULL ? thrift_struct_read (args, dispatcher->in_protocol, NULL)
                       : thrift_protocol_skip (dispatcher->in_protocol, T_STRUCT, NULL)) >= 0 &&
       thrift_protocol_read_message_end (dispatcher->in_protocol, NULL) >= 0;
  /* Keep no pointer to the connection's buffer once the call is decoded. */
  pay_frame_transport_reset (dispatcher->in, NULL, 0, NULL);
  if (!ok && method != NULL)
    method->clear_args (args);
  return ok;
}

/* Writes the reply message (@type, the call's seqid, @body) into call->reply. */
static void
write_reply (PayRpcCall *call, const gchar *name, ThriftMessageType type, ThriftStruct *body)
{
  PayRpcDispatcher *dispatcher = call->dispatcher;
  gboolean ok;

  g_byte_array_set_size (call->reply, 0);
  pay_frame_transport_reset (dispatcher->out, NULL, 0, call->reply);
  /* Writes to memory cannot fail; the results are checked only to satisfy the API. */
  ok = thrift_protocol_write_message_begin (dispatcher->out_protocol, name, type, call->seqid, NULL) >= 0 &&
       thrift_struct_write (body, dispatcher->out_protocol, NULL) >= 0 &&
       thrift_protocol_write_message_end (dispatcher->out_protocol, NULL) >= 0;
  pay_frame_transport_reset (dispatcher->out, NULL, 0, NULL);
  if (!ok)
    g_warn_if_reached ();
  call->status.msg_type = type == T_EXCEPTION ? PAY_THRIFT_MSG_EXCEPTION : PAY_THRIFT_MSG_REPLY;
  call->state = PAY_RPC_CALL_ANSWERED;
}

static void
write_exception (PayRpcCall *call, const gchar *name, gint type, const gchar *message)
{
  g_autoptr(ThriftApplicationException) xception =
    g_object_new (THRIFT_TYPE_APPLICATION_EXCEPTION, "type", type, "message", message, NULL);

  call->status.code = PAY_METRICS_CODE_APPLICATION_ERROR;
  call->status.message = NULL;
  write_reply (call, name, T_EXCEPTION, THRIFT_STRUCT (xception));
}

/* ---- a call's life ----------------------------------------------------------------- */

void
pay_rpc_call_init (PayRpcCall *call)
{
  memset (call, 0, sizeof *call);
  call->reply = g_byte_array_sized_new (256);
}

void
pay_rpc_call_clear (PayRpcCall *call)
{
  g_clear_error (&call->error);
  g_clear_pointer (&call->reply, g_byte_array_unref);
}

void
pay_rpc_call_begin (PayRpcCall                 *call,
                    PayRpcDispatcher           *dispatcher,
                    const PayThriftMessageInfo *info,
                    const gchar                *peer)
{
  g_return_if_fail (call->state == PAY_RPC_CALL_IDLE);

  call->dispatcher = dispatcher;
  call->method = find_method (dispatcher, info->name, info->name_len);
  call->name = info->name;
  call->name_len = info->name_len;
  call->seqid = info->seqid;
  call->bad_text = info->bad_text;
  call->status = (PayReplyStatus) { 0, PAY_METRICS_CODE_APPLICATION_ERROR, NULL };
  g_byte_array_set_size (call->reply, 0);

  memset (&call->record, 0, sizeof call->record);
  call->record.transport = "rpc";
  call->record.method = call->method != NULL ? call->method->name : UNKNOWN_METHOD;
  call->record.peer = peer;
  call->record.duration_us = g_get_monotonic_time ();   /* the start, until finished */
  call->recording = TRUE;
  pay_metrics_request_started (method_handle (call));
}

/* A name the table does not have: the arguments are skipped and the answer is
 * UNKNOWN_METHOD, as Thrift's processors give it, with the name read as a C string. A
 * name with a NUL inside whose part before it names a method gets what the generated
 * processor (which looked names up as C strings) gave it: the arguments are decoded,
 * and the answer is that method's INTERNAL_ERROR. */
static PayRpcCallState
dispatch_unknown (PayRpcCall *call)
{
  g_autofree gchar *name = g_strndup ((const gchar *) call->name, call->name_len);
  const PayRpcMethod *prefix = find_method (call->dispatcher, (const guint8 *) name, strlen (name));
  ThriftStruct *args = prefix != NULL ? call->dispatcher->args[method_index (call->dispatcher, prefix)]
                                      : NULL;

  if (!read_args (call, prefix, args))
    return call->state = PAY_RPC_CALL_FAILED;
  if (prefix != NULL)
    {
      prefix->clear_args (args);
      write_exception (call, prefix->name, THRIFT_APPLICATION_EXCEPTION_ERROR_INTERNAL_ERROR,
                       "call not started");
    }
  else
    {
      g_autofree gchar *message = g_strconcat ("Invalid method name: '", name, "'", NULL);

      write_exception (call, name, THRIFT_APPLICATION_EXCEPTION_ERROR_UNKNOWN_METHOD, message);
    }
  return call->state;
}

/* Takes a token for the call from the dispatcher's rate limiter: NULL when it may go on,
 * else the 4004013 error to answer it with. */
static GError *
take_token (PayRpcCall *call)
{
  PayRateLimiter *limiter = call->dispatcher->limiter;
  gint64 retry_us = 0;

  if (limiter == NULL || call->peer_ip == NULL ||
      pay_rate_limiter_take (limiter, call->peer_ip, g_get_monotonic_time (), &retry_us))
    return NULL;
  return g_error_new (PAY_ERROR, PAY_ERROR_RATE_LIMITED, "rate limit exceeded: retry in %u s",
                      pay_rate_limiter_seconds (retry_us));
}

PayRpcCallState
pay_rpc_call_dispatch (PayRpcCall *call)
{
  ThriftStruct *args;
  GError *refused;

  g_return_val_if_fail (call->recording && call->state == PAY_RPC_CALL_IDLE, PAY_RPC_CALL_FAILED);

  if (call->method == NULL)
    return dispatch_unknown (call);
  /* Over the rate limit: answered before the arguments are decoded and the service is
   * called, so a refused call costs neither storage work nor decoding. */
  if ((refused = take_token (call)) != NULL)
    {
      call->state = PAY_RPC_CALL_STARTING;
      pay_rpc_call_return (call, refused);
      return call->state;
    }
  args = call->dispatcher->args[method_index (call->dispatcher, call->method)];
  if (!read_args (call, call->method, args))
    return call->state = PAY_RPC_CALL_FAILED;
  call->state = PAY_RPC_CALL_STARTING;
  /* Text a C string cannot hold whole is refused before the method sees it: 4004003
   * (docs/CONTRACT.md). */
  if (call->bad_text)
    pay_rpc_call_return (call, g_error_new_literal (PAY_ERROR, PAY_ERROR_INVALID_REQUEST,
                                                    "a string holds a NUL or is not UTF-8"));
  else
    call->method->start (call->dispatcher->target, call, args);
  call->method->clear_args (args);
  if (call->state == PAY_RPC_CALL_STARTING)
    call->state = PAY_RPC_CALL_PENDING;
  return call->state;
}

/* Writes the REPLY of the call's method from the outcome in the call. */
static void
write_result (PayRpcCall *call)
{
  ThriftStruct *result = call->dispatcher->results[method_index (call->dispatcher, call->method)];

  call->status.code = 0;
  call->status.message = NULL;
  /* The one mapping from a service error to the IDL exception's code; only a
   * client-safe message leaves (pay_error_describe()). */
  if (call->error != NULL)
    call->status.code = pay_error_describe (call->error, &call->status.message);
  call->method->fill_result (call, result);
  write_reply (call, call->method->name, T_REPLY, result);
}

void
pay_rpc_call_return (PayRpcCall *call, GError *error)
{
  gboolean pending = call->state == PAY_RPC_CALL_PENDING;

  g_return_if_fail (pending || call->state == PAY_RPC_CALL_STARTING);

  call->error = error;
  write_result (call);
  /* The connection may take its next request on this call from here. */
  if (pending)
    call->resume (call->resume_data);
}

void
pay_rpc_call_return_exception (PayRpcCall  *call,
                               gint         type,
                               const gchar *message)
{
  g_autofree gchar *name = g_strndup ((const gchar *) call->name, call->name_len);

  g_return_if_fail (call->recording && call->state == PAY_RPC_CALL_IDLE);
  write_exception (call, name, type, message);
}

void
pay_rpc_call_finish (PayRpcCall *call, gboolean replied)
{
  if (call->recording)
    {
      PayRequestRecord *record = &call->record;

      call->recording = FALSE;
      record->code = replied ? call->status.code : PAY_METRICS_CODE_APPLICATION_ERROR;
      record->duration_us = g_get_monotonic_time () - record->duration_us;
      pay_metrics_request_finished (method_handle (call), record->code, record->duration_us);
      pay_request_log (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, record);
    }
  g_clear_error (&call->error);
  call->state = PAY_RPC_CALL_IDLE;
}
