/* fuzz-rpc.c: libFuzzer target for the whole RPC input path, as a connection runs it but
 * without sockets or storage: framing detection (framed, buffered, TTHeader with its info
 * blocks), the bounded message scan, and for every message that scans COMPLETE the
 * generated processor with a stub handler, then the reply wrapped in the request's
 * framing (with and without the draining flag). The input is one byte stream: requests
 * are taken from it one after another while the framing says READY, exactly like
 * pipelined requests on one connection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <thrift/c_glib/thrift_application_exception.h>

#include "transport/thrift/pay-thrift-autoptr.h"
#include "transport/thrift/pay-rpc-framing.h"
#include "transport/thrift/pay-rpc-process.h"
#include "transport/thrift/pay-thrift-fixups.h"
#include "transport/thrift/pay-thrift-scan.h"

#define FUZZ_MAX_FRAME (64 * 1024)

/* ---- a stub handler: answers from the decoded request, so every struct is touched -- */

#define FUZZ_TYPE_HANDLER (fuzz_handler_get_type ())
G_DECLARE_FINAL_TYPE (FuzzHandler, fuzz_handler, FUZZ, HANDLER, paymentPaymentServiceHandler)

struct _FuzzHandler
{
  paymentPaymentServiceHandler parent_instance;
};

G_DEFINE_FINAL_TYPE (FuzzHandler, fuzz_handler, PAYMENT_TYPE_PAYMENT_SERVICE_HANDLER)

static gboolean
fail_with (paymentPaymentError **err, gint32 code, const gchar *message)
{
  *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR, "code", code, "message", message, NULL);
  return FALSE;
}

static gboolean
fuzz_charge (paymentPaymentServiceIf *iface, paymentChargeResp **_return,
             const paymentChargeReq *req, paymentPaymentError **err, GError **error)
{
  const gchar *number = req->__isset_credit_card ? req->credit_card->credit_card_number : NULL;

  if (req->order_id % 3 == 0)
    return fail_with (err, 4004001, number != NULL ? number : "no card");
  if (req->order_id % 3 == 1)
    {
      g_set_error_literal (error, THRIFT_APPLICATION_EXCEPTION_ERROR,
                           THRIFT_APPLICATION_EXCEPTION_ERROR_INTERNAL_ERROR, "stub failure");
      return FALSE;
    }
  g_object_set (*_return, "transaction_id",
                req->__isset_payment_method && req->payment_method != NULL
                  ? req->payment_method : "00000000-0000-4000-8000-000000000001", NULL);
  return TRUE;
}

static gboolean
fuzz_query_payment (paymentPaymentServiceIf *iface, paymentQueryPaymentResp **_return,
                    const paymentQueryPaymentReq *req, paymentPaymentError **err,
                    GError **error)
{
  if (req->__isset_transaction_id == req->__isset_order_id)
    return fail_with (err, 4004003, "exactly one of transaction_id and order_id");
  g_object_set ((*_return)->payment,
                "transaction_id", req->__isset_transaction_id ? req->transaction_id : "tx",
                "order_id", req->__isset_order_id ? req->order_id : (gint64) 1,
                "status", PAYMENT_PAYMENT_STATUS_PAID, "card_brand", "visa", NULL);
  (*_return)->__isset_payment = TRUE;
  return TRUE;
}

static gboolean
fuzz_refund (paymentPaymentServiceIf *iface, paymentRefundResp **_return,
             const paymentRefundReq *req, paymentPaymentError **err, GError **error)
{
  if (!req->__isset_refund_request_id || req->refund_request_id == NULL)
    return fail_with (err, 4004003, "refund_request_id required");
  g_object_set (*_return, "refund_id", req->refund_request_id,
                "transaction_id", req->transaction_id != NULL ? req->transaction_id : "",
                "status", PAYMENT_PAYMENT_STATUS_REFUNDED, NULL);
  /* directly: GObject's double property refuses NaN, which the wire may carry */
  (*_return)->amount = req->__isset_amount ? req->amount : 0.0;
  (*_return)->__isset_amount = TRUE;
  return TRUE;
}

static void
fuzz_handler_init (FuzzHandler *self)
{
}

static void
fuzz_handler_class_init (FuzzHandlerClass *klass)
{
  paymentPaymentServiceHandlerClass *handler = PAYMENT_PAYMENT_SERVICE_HANDLER_CLASS (klass);

  handler->charge = fuzz_charge;
  handler->query_payment = fuzz_query_payment;
  handler->refund = fuzz_refund;
}

static ThriftProcessor *processor;

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(FuzzHandler) handler = NULL;

  /* every GLib allocation through malloc, so ASan and -malloc_limit_mb see them */
  setenv ("G_SLICE", "always-malloc", 1);
  fuzz_abort_on_warnings ();
  pay_thrift_fixups_install ();
  handler = g_object_new (FUZZ_TYPE_HANDLER, NULL);
  processor = g_object_new (PAYMENT_TYPE_PAYMENT_SERVICE_PROCESSOR, "handler", handler, NULL);
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

/* What the connection does with one READY request. */
static void
serve (const PayFrame *frame)
{
  PayThriftMessageInfo info;
  PayThriftScanResult scan;
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  look_up_keys (frame);
  scan = pay_thrift_scan_message (frame->message, frame->message_len, &info);
  if (scan == PAY_THRIFT_SCAN_COMPLETE && info.length == frame->message_len)
    {
      if (info.type == PAY_THRIFT_MSG_ONEWAY)
        return;
      if (!pay_rpc_process (processor, frame->message, frame->message_len, reply, &error))
        return;
    }
  else if (scan == PAY_THRIFT_SCAN_BAD_HEADER || info.name == NULL)
    return;
  else
    pay_rpc_write_exception (&info, THRIFT_APPLICATION_EXCEPTION_ERROR_PROTOCOL_ERROR,
                             "malformed", reply);

  frame->framing->wrap (frame, reply->data, reply->len, FALSE, out);
  check_round_trip (frame, reply, out);
  g_byte_array_set_size (out, 0);
  frame->framing->wrap (frame, reply->data, reply->len, TRUE, out);
  check_round_trip (frame, reply, out);
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
