/* fuzz-rpc.c: libFuzzer target for the whole RPC input path, as a connection runs it but
 * without sockets or storage: framing detection (framed, buffered, TTHeader with its info
 * blocks), the bounded message scan, and for every message that scans COMPLETE its call
 * (arguments decoded once, a stand-in method table answering at once or later: no
 * service and no storage, the target exercises the transport; the reply written from
 * the outcome), then the reply wrapped in the request's framing (with and
 * without the draining flag). The input is one byte stream: requests are taken from it
 * one after another while the framing says READY, exactly like pipelined requests on
 * one connection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <thrift/c_glib/thrift_application_exception.h>

#include "core/pay-error.h"
#include "transport/thrift/pay-rpc-args.h"
#include "transport/thrift/pay-rpc-call.h"
#include "transport/thrift/pay-rpc-framing.h"
#include "transport/thrift/pay-thrift-fixups.h"
#include "transport/thrift/pay-thrift-scan.h"

#define FUZZ_MAX_FRAME (64 * 1024)

/* ---- a stand-in method table: answers from the decoded request, so every struct is
 * touched, at once or (order ids 1 mod 3) after the call went PENDING -------------- */

static gboolean deferred;   /* the call in progress answers when serve() says so */
static gdouble refund_amount;   /* the wire's double as is (NaN and infinities
                                 * included), which PayRefund's cents cannot hold */

static void
standin_return (PayRpcCall *call, gint64 order_id, const gchar *failure)
{
  GError *error = failure != NULL
    ? g_error_new_literal (PAY_ERROR, PAY_ERROR_INVALID_CARD, failure) : NULL;

  if (order_id % 3 == 1)
    {
      deferred = TRUE;
      g_clear_error (&error);
      return;
    }
  pay_rpc_call_return (call, error);
}

static void
fuzz_charge (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentChargeReq *req = ((paymentPaymentServiceChargeArgs *) args)->req;
  const gchar *number = req->__isset_credit_card ? req->credit_card->credit_card_number : NULL;

  g_strlcpy (call->payment.transaction_id,
             req->__isset_payment_method && req->payment_method != NULL
               ? req->payment_method : "00000000-0000-4000-8000-000000000001",
             sizeof call->payment.transaction_id);
  standin_return (call, req->order_id,
               req->order_id % 3 == 0 ? (number != NULL ? number : "no card") : NULL);
}

static void
fuzz_query_payment (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentQueryPaymentReq *req = ((paymentPaymentServiceQueryPaymentArgs *) args)->req;

  g_strlcpy (call->payment.transaction_id,
             req->__isset_transaction_id && req->transaction_id != NULL ? req->transaction_id : "tx",
             sizeof call->payment.transaction_id);
  call->payment.order_id = req->__isset_order_id ? req->order_id : 1;
  standin_return (call, call->payment.order_id,
               req->__isset_transaction_id == req->__isset_order_id
                 ? "exactly one of transaction_id and order_id" : NULL);
}

static void
fuzz_refund (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentRefundReq *req = ((paymentPaymentServiceRefundArgs *) args)->req;

  g_strlcpy (call->refund.refund_id, req->refund_request_id != NULL ? req->refund_request_id : "",
             sizeof call->refund.refund_id);
  g_strlcpy (call->refund.transaction_id, req->transaction_id != NULL ? req->transaction_id : "",
             sizeof call->refund.transaction_id);
  refund_amount = req->__isset_amount ? req->amount : 0.0;
  standin_return (call, 0, !req->__isset_refund_request_id || req->refund_request_id == NULL
                          ? "refund_request_id required" : NULL);
}

/* Sets which of success and err the reused result carries; fills err on a failure
 * (TRUE then). */
static gboolean
fill_error (const PayRpcCall *call, paymentPaymentError **err, gboolean *isset_err,
            gboolean *isset_success)
{
  *isset_err = call->error != NULL;
  *isset_success = call->error == NULL;
  if (call->error == NULL)
    return FALSE;
  if (*err == NULL)
    *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR, NULL);
  g_object_set (*err, "code", call->status.code, "message", call->status.message, NULL);
  return TRUE;
}

static void
fill_charge (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceChargeResult *result = (paymentPaymentServiceChargeResult *) object;

  if (!fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    g_object_set (result->success, "transaction_id", call->payment.transaction_id, NULL);
}

static void
fill_query_payment (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceQueryPaymentResult *result = (paymentPaymentServiceQueryPaymentResult *) object;

  if (fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  g_object_set (result->success->payment, "transaction_id", call->payment.transaction_id,
                "order_id", call->payment.order_id, "status", PAYMENT_PAYMENT_STATUS_PAID,
                "card_brand", "visa", NULL);
  result->success->__isset_payment = TRUE;
}

static void
fill_refund (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceRefundResult *result = (paymentPaymentServiceRefundResult *) object;

  if (fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  g_object_set (result->success, "refund_id", call->refund.refund_id,
                "transaction_id", call->refund.transaction_id,
                "status", PAYMENT_PAYMENT_STATUS_REFUNDED, NULL);
  /* directly: GObject's double property refuses NaN */
  result->success->amount = refund_amount;
  result->success->__isset_amount = TRUE;
}

static const PayRpcMethod fuzz_methods[] = {
  { "Charge", payment_payment_service_charge_args_get_type,
    payment_payment_service_charge_result_get_type, fuzz_charge, fill_charge,
    pay_rpc_args_clear_charge },
  { "QueryPayment", payment_payment_service_query_payment_args_get_type,
    payment_payment_service_query_payment_result_get_type, fuzz_query_payment, fill_query_payment,
    pay_rpc_args_clear_query },
  { "Refund", payment_payment_service_refund_args_get_type,
    payment_payment_service_refund_result_get_type, fuzz_refund, fill_refund,
    pay_rpc_args_clear_refund },
};

static PayRpcDispatcher *dispatcher;
static PayRpcCall fuzz_call;
static guint resumed;

static void
on_resume (gpointer data)
{
  resumed++;
}

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(PayMetrics) metrics = NULL;
  g_autoptr(GObject) target = NULL;

  /* every GLib allocation through malloc, so ASan and -malloc_limit_mb see them */
  setenv ("G_SLICE", "always-malloc", 1);
  fuzz_abort_on_warnings ();
  pay_thrift_fixups_install ();
  metrics = pay_metrics_new ();
  target = g_object_new (G_TYPE_OBJECT, NULL);
  dispatcher = pay_rpc_dispatcher_new (fuzz_methods, G_N_ELEMENTS (fuzz_methods), target, metrics);
  pay_rpc_call_init (&fuzz_call);
  fuzz_call.resume = on_resume;
  return 0;
}

static void
look_up_keys (const PayFrame *frame)
{
  const guint8 *value;
  gsize len;

  pay_frame_header_value (frame, "isn", 0, &value, &len);
  pay_frame_header_value (frame, NULL, PAY_TTHEADER_KEY_TO_METHOD, &value, &len);
  pay_frame_header_value (frame, NULL, PAY_TTHEADER_KEY_FROM_SERVICE, &value, &len);
}

/* A framed or TTHeader reply unwraps again (our own parser is Kitex's stand-in) to
 * exactly the reply message, in the request's framing, with MsgType for TTHeader. A
 * buffered reply cannot: the scanner takes CALLs only. */
static void
check_round_trip (const PayFrame *request, const GByteArray *reply, const GByteArray *out)
{
  PayFrame back;
  const guint8 *value;
  gsize len;

  if (request->framing == &pay_framing_buffered)
    return;
  if (pay_framing_next (out->data, out->len, G_MAXUINT32, &back) != PAY_FRAME_READY ||
      back.framing != request->framing || back.consumed != out->len ||
      back.message_len != reply->len || memcmp (back.message, reply->data, reply->len) != 0)
    abort ();
  if (request->framing == &pay_framing_ttheader &&
      (back.inner_framed != request->inner_framed ||
       back.header_seqid != request->header_seqid ||
       !pay_frame_header_value (&back, NULL, PAY_TTHEADER_KEY_MSG_TYPE, &value, &len)))
    abort ();
}

/* The answered call's reply: its status says what the message is. */
static void
check_status (const PayRpcCall *call)
{
  if (call->reply->len < 4 || call->reply->data[3] != call->status.msg_type ||
      (call->status.msg_type == PAY_THRIFT_MSG_EXCEPTION) != (call->status.code == -1) ||
      (call->status.message != NULL) != (call->error != NULL))
    abort ();
}

/* What the connection does with one READY request. */
static void
serve (const PayFrame *frame)
{
  PayRpcCall *call = &fuzz_call;
  PayThriftMessageInfo info;
  PayThriftScanResult scan;
  g_autoptr(GByteArray) out = g_byte_array_new ();

  look_up_keys (frame);
  call->frame = *frame;
  scan = pay_thrift_scan_message (frame->message, frame->message_len, &info);
  if (scan == PAY_THRIFT_SCAN_COMPLETE && info.length == frame->message_len)
    {
      if (info.type == PAY_THRIFT_MSG_ONEWAY)
        return;
      pay_rpc_call_begin (call, dispatcher, &info, NULL);
      resumed = 0;
      deferred = FALSE;
      switch (pay_rpc_call_dispatch (call))
        {
        case PAY_RPC_CALL_FAILED:
          pay_rpc_call_finish (call, FALSE);
          return;
        case PAY_RPC_CALL_PENDING:
          if (!deferred)
            abort ();
          pay_rpc_call_return (call, NULL);
          if (resumed != 1)
            abort ();
          break;
        default:
          if (deferred || resumed != 0)
            abort ();
          break;
        }
    }
  else if (scan == PAY_THRIFT_SCAN_BAD_HEADER || info.name == NULL)
    return;
  else
    {
      pay_rpc_call_begin (call, dispatcher, &info, NULL);
      pay_rpc_call_return_exception (call, THRIFT_APPLICATION_EXCEPTION_ERROR_PROTOCOL_ERROR,
                                     "malformed");
    }

  if (call->state != PAY_RPC_CALL_ANSWERED)
    abort ();
  check_status (call);
  frame->framing->wrap (frame, &call->status, call->reply->data, call->reply->len, FALSE, out);
  check_round_trip (frame, call->reply, out);
  g_byte_array_set_size (out, 0);
  frame->framing->wrap (frame, &call->status, call->reply->data, call->reply->len, TRUE, out);
  check_round_trip (frame, call->reply, out);
  pay_rpc_call_finish (call, TRUE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A private copy of exactly @size bytes: reads past the end are ASan errors. */
  guint8 *buf = malloc (size);   /* malloc (0) is a valid pointer, unlike g_malloc (0) */
  gsize pos = 0;

  memcpy (buf, data, size);
  for (int n = 0; n < 64; n++)
    {
      PayFrame frame;
      PayFrameStatus status = pay_framing_next (buf + pos, size - pos, FUZZ_MAX_FRAME, &frame);

      if (status != PAY_FRAME_READY)
        break;
      if (frame.consumed == 0 || frame.consumed > size - pos ||
          frame.message < buf + pos || frame.message + frame.message_len > buf + pos + frame.consumed)
        abort ();   /* a framing that does not advance, or points outside its request */
      serve (&frame);
      pos += frame.consumed;
    }
  free (buf);
  return 0;
}
