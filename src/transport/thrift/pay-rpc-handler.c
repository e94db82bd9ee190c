/* pay-rpc-handler.c: generated-handler subclass: generated structs <-> PayService. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-handler.h"

#include "core/pay-error.h"
#include "core/pay-request-log.h"
#include "domain/pay-money.h"

#include <thrift/c_glib/thrift_application_exception.h>

struct _PayRpcHandler
{
  paymentPaymentServiceHandler parent_instance;

  PayService *service;
  PayRpcCall *call;       /* of the processor's current run */
};

G_DEFINE_FINAL_TYPE (PayRpcHandler, pay_rpc_handler, PAYMENT_TYPE_PAYMENT_SERVICE_HANDLER)

/* What the generated set_property does for one field (copy, mark set), without looking
 * the property up by name and boxing the value in a GValue: g_object_set on these
 * structs showed up in the query-hit profile. */
#define SET_STRING(obj, field, value)                                                  \
  G_STMT_START {                                                                       \
    g_free ((obj)->field);                                                             \
    (obj)->field = g_strdup (value);                                                   \
    (obj)->__isset_##field = TRUE;                                                     \
  } G_STMT_END
#define SET_VALUE(obj, field, value)                                                   \
  G_STMT_START {                                                                       \
    (obj)->field = (value);                                                            \
    (obj)->__isset_##field = TRUE;                                                     \
  } G_STMT_END

static void
pay_rpc_handler_init (PayRpcHandler *self)
{
}

void
pay_rpc_call_reset (PayRpcCall *call)
{
  g_clear_error (&call->error);
  call->state = PAY_RPC_CALL_FRESH;
}

void
pay_rpc_handler_set_call (PayRpcHandler *self, PayRpcCall *call)
{
  g_return_if_fail (PAY_IS_RPC_HANDLER (self));
  self->call = call;
}

/* Marks the call PENDING and fails this run of the processor (its output is void). */
static gboolean
defer (PayRpcCall *call, GError **error)
{
  call->state = PAY_RPC_CALL_PENDING;
  g_set_error_literal (error, THRIFT_APPLICATION_EXCEPTION_ERROR,
                       THRIFT_APPLICATION_EXCEPTION_ERROR_UNKNOWN, "deferred");
  return FALSE;
}

/* An operation's callback: keeps its outcome in the call and resumes it. */
static void
resume (PayRpcCall *call, GError *error)
{
  call->error = error;
  call->state = PAY_RPC_CALL_DONE;
  call->resume (call->resume_data);
}

static void
on_charged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_charge_finish (PAY_SERVICE (source), result, &call->payment, &error);
  resume (call, error);
}

static void
on_queried (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_query_finish (PAY_SERVICE (source), result, &call->payment, &error);
  resume (call, error);
}

static void
on_refunded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_refund_finish (PAY_SERVICE (source), result, &call->refund, &error);
  resume (call, error);
}

/* The one mapping from a PAY_ERROR to the IDL exception. */
static gboolean
set_payment_error (paymentPaymentError **err, const GError *error)
{
  *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR,
                       "code", pay_error_code (error),
                       "message", error->message,
                       NULL);
  return FALSE;
}

static gboolean
handler_charge (paymentPaymentServiceIf  *iface,
                paymentChargeResp       **_return,
                const paymentChargeReq   *req,
                paymentPaymentError     **err,
                GError                  **error)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (iface);
  PayRpcCall *call = self->call;
  const paymentCreditCardInfo *card = req->credit_card;
  g_autoptr(GError) local_error = NULL;
  PayChargeRequest request = {
    .amount = req->amount,
    .has_card = req->__isset_credit_card && card != NULL,
    .order_id = req->order_id,
    .user_id = req->user_id,
    .payment_method = req->__isset_payment_method ? req->payment_method : NULL,
  };

  if (request.has_card)
    {
      request.card_number = card->credit_card_number;
      request.card_cvv = card->credit_card_cvv;
      request.card_exp_year = card->credit_card_expiration_year;
      request.card_exp_month = card->credit_card_expiration_month;
    }

  call->record->order_id = req->order_id;
  if (call->state == PAY_RPC_CALL_FRESH)
    {
      /* A charge that fails validation is answered now, without the service's round. */
      if (!pay_service_check_charge (self->service, &request, &local_error))
        return set_payment_error (err, local_error);
      pay_service_charge_async (self->service, &request, NULL, on_charged, call);
      return defer (call, error);
    }
  if (call->error != NULL)
    return set_payment_error (err, call->error);

  pay_request_record_set_transaction_id (call->record, call->payment.transaction_id);
  SET_STRING (*_return, transaction_id, call->payment.transaction_id);
  return TRUE;
}

/* ---- the one mapping of PaymentInfo and RefundResp to the generated structs ---------- */

/* Fills the pre-allocated @info from @payment; money becomes major units here. */
static void
fill_payment_info (paymentPaymentInfo *info, const PayPayment *payment)
{
  SET_STRING (info, transaction_id, payment->transaction_id);
  SET_VALUE (info, order_id, payment->order_id);
  SET_VALUE (info, user_id, payment->user_id);
  SET_VALUE (info, amount, pay_money_from_cents (payment->amount_cents));
  SET_VALUE (info, refunded_amount, pay_money_from_cents (payment->refunded_cents));
  SET_VALUE (info, status, (paymentPaymentStatus) payment->status);
  SET_STRING (info, payment_method, payment->payment_method);
  SET_STRING (info, card_brand, payment->card_brand);
  SET_STRING (info, card_last4, payment->card_last4);
  SET_VALUE (info, created_at, payment->created_at_ms);
  SET_VALUE (info, updated_at, payment->updated_at_ms);
}

static void
fill_refund_resp (paymentRefundResp *resp, const PayRefund *refund)
{
  SET_STRING (resp, refund_id, refund->refund_id);
  SET_STRING (resp, transaction_id, refund->transaction_id);
  SET_VALUE (resp, amount, pay_money_from_cents (refund->amount_cents));
  SET_VALUE (resp, total_refunded, pay_money_from_cents (refund->total_refunded_cents));
  SET_VALUE (resp, status, (paymentPaymentStatus) refund->status);
}

/* ---- QueryPayment and Refund ---------------------------------------------------------- */

static gboolean
handler_query_payment (paymentPaymentServiceIf      *iface,
                       paymentQueryPaymentResp     **_return,
                       const paymentQueryPaymentReq *req,
                       paymentPaymentError         **err,
                       GError                      **error)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (iface);
  PayRpcCall *call = self->call;
  PayQueryRequest request = {
    /* An optional string the client set to null arrives unset. */
    .transaction_id = req->__isset_transaction_id && req->transaction_id != NULL
                      ? req->transaction_id : NULL,
    .has_order_id = req->__isset_order_id,
    .order_id = req->order_id,
  };

  call->record->order_id = request.has_order_id ? request.order_id : 0;
  pay_request_record_set_transaction_id (call->record, request.transaction_id);
  if (call->state == PAY_RPC_CALL_FRESH)
    {
      pay_service_query_async (self->service, &request, NULL, on_queried, call);
      return defer (call, error);
    }
  if (call->error != NULL)
    return set_payment_error (err, call->error);

  fill_payment_info ((*_return)->payment, &call->payment);
  (*_return)->__isset_payment = TRUE;
  return TRUE;
}

static gboolean
handler_refund (paymentPaymentServiceIf *iface,
                paymentRefundResp      **_return,
                const paymentRefundReq  *req,
                paymentPaymentError    **err,
                GError                 **error)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (iface);
  PayRpcCall *call = self->call;
  PayRefundRequest request = {
    .transaction_id = req->__isset_transaction_id ? req->transaction_id : NULL,
    .has_amount = req->__isset_amount,
    .amount = req->amount,
    .refund_request_id = req->__isset_refund_request_id ? req->refund_request_id : NULL,
    .reason = req->__isset_reason ? req->reason : NULL,
  };

  pay_request_record_set_transaction_id (call->record, request.transaction_id);
  if (call->state == PAY_RPC_CALL_FRESH)
    {
      pay_service_refund_async (self->service, &request, NULL, on_refunded, call);
      return defer (call, error);
    }
  if (call->error != NULL)
    return set_payment_error (err, call->error);

  fill_refund_resp (*_return, &call->refund);
  return TRUE;
}

static void
pay_rpc_handler_dispose (GObject *object)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (object);

  g_clear_object (&self->service);
  G_OBJECT_CLASS (pay_rpc_handler_parent_class)->dispose (object);
}

static void
pay_rpc_handler_class_init (PayRpcHandlerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  paymentPaymentServiceHandlerClass *handler_class = PAYMENT_PAYMENT_SERVICE_HANDLER_CLASS (klass);

  object_class->dispose = pay_rpc_handler_dispose;
  handler_class->charge = handler_charge;
  handler_class->query_payment = handler_query_payment;
  handler_class->refund = handler_refund;
}

PayRpcHandler *
pay_rpc_handler_new (PayService *service)
{
  PayRpcHandler *self = g_object_new (PAY_TYPE_RPC_HANDLER, NULL);

  self->service = g_object_ref (service);
  return self;
}
