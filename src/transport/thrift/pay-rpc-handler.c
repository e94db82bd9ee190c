/* pay-rpc-handler.c: the PaymentService method table: generated structs <-> PayService. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-handler.h"

#include "core/pay-request-log.h"
#include "domain/pay-money.h"
#include "domain/pay-service.h"
#include "transport/thrift/pay-rpc-args.h"

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

/* An operation's callback: the outcome is in the call, which answers. */
static void
on_charged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_charge_finish (PAY_SERVICE (source), result, &call->payment, &error);
  pay_rpc_call_return (call, error);
}

static void
on_queried (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_query_finish (PAY_SERVICE (source), result, &call->payment, &error);
  pay_rpc_call_return (call, error);
}

static void
on_refunded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayRpcCall *call = user_data;
  GError *error = NULL;

  pay_service_refund_finish (PAY_SERVICE (source), result, &call->refund, &error);
  pay_rpc_call_return (call, error);
}

/* Sets which of a result struct's success and err (every PaymentService method
 * `throws (1: PaymentError err)`) the reply carries, and fills err from the code and
 * client-safe message of a call that failed: TRUE then, and the caller fills success
 * otherwise. The struct is reused: its err, once made, stays for the next failure. */
static gboolean
fill_err (const PayRpcCall *call, paymentPaymentError **err, gboolean *isset_err,
          gboolean *isset_success)
{
  *isset_err = call->error != NULL;
  *isset_success = call->error == NULL;
  if (call->error == NULL)
    return FALSE;
  if (*err == NULL)
    *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR, NULL);
  SET_VALUE (*err, code, call->status.code);
  SET_STRING (*err, message, call->status.message);
  return TRUE;
}

/* ---- Charge ------------------------------------------------------------------------ */

/* Starts a Charge: answered at once when validation fails, without the service's round. */
static void
start_charge (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentChargeReq *req = ((paymentPaymentServiceChargeArgs *) args)->req;
  const paymentCreditCardInfo *card = req->credit_card;
  GError *error = NULL;
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
  call->record.order_id = req->order_id;
  if (!pay_service_charge_begin (PAY_SERVICE (target), &request, NULL, on_charged, call, &error))
    pay_rpc_call_return (call, error);
}

static void
fill_charge (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceChargeResult *result = (paymentPaymentServiceChargeResult *) object;

  if (fill_err (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  pay_request_record_set_transaction_id (&call->record, call->payment.transaction_id);
  SET_STRING (result->success, transaction_id, call->payment.transaction_id);
}

/* ---- QueryPayment ------------------------------------------------------------------ */

static void
start_query (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentQueryPaymentReq *req = ((paymentPaymentServiceQueryPaymentArgs *) args)->req;
  PayQueryRequest request = {
    /* An optional string the client set to null arrives unset. */
    .transaction_id = req->__isset_transaction_id && req->transaction_id != NULL
                      ? req->transaction_id : NULL,
    .has_order_id = req->__isset_order_id,
    .order_id = req->order_id,
  };

  call->record.order_id = request.has_order_id ? request.order_id : 0;
  pay_request_record_set_transaction_id (&call->record, request.transaction_id);
  pay_service_query_async (PAY_SERVICE (target), &request, NULL, on_queried, call);
}

/* Fills @info from @payment; money becomes major units here. */
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
fill_query (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceQueryPaymentResult *result = (paymentPaymentServiceQueryPaymentResult *) object;

  if (fill_err (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  fill_payment_info (result->success->payment, &call->payment);
  result->success->__isset_payment = TRUE;
}

/* ---- Refund ------------------------------------------------------------------------ */

/* "rpc:<peer address>", the refund's caller for the audit: the address is who asked
 * (its port only names one of its connections). */
static gchar *
rpc_caller (const PayRpcCall *call)
{
  if (call->peer_ip == NULL || g_strcmp0 (call->peer_ip, "-") == 0)
    return g_strdup ("rpc:unknown");
  return g_strconcat ("rpc:", call->peer_ip, NULL);
}

static void
start_refund (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentRefundReq *req = ((paymentPaymentServiceRefundArgs *) args)->req;
  g_autofree gchar *caller = rpc_caller (call);
  PayRefundRequest request = {
    .transaction_id = req->__isset_transaction_id ? req->transaction_id : NULL,
    .has_amount = req->__isset_amount,
    .amount = req->amount,
    .refund_request_id = req->__isset_refund_request_id ? req->refund_request_id : NULL,
    .reason = req->__isset_reason ? req->reason : NULL,
    .caller = caller,   /* copied by the service before it returns */
  };

  pay_request_record_set_transaction_id (&call->record, request.transaction_id);
  pay_service_refund_async (PAY_SERVICE (target), &request, NULL, on_refunded, call);
}

static void
fill_refund (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceRefundResult *result = (paymentPaymentServiceRefundResult *) object;
  paymentRefundResp *resp = result->success;
  const PayRefund *refund = &call->refund;

  if (fill_err (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  SET_STRING (resp, refund_id, refund->refund_id);
  SET_STRING (resp, transaction_id, refund->transaction_id);
  SET_VALUE (resp, amount, pay_money_from_cents (refund->amount_cents));
  SET_VALUE (resp, total_refunded, pay_money_from_cents (refund->total_refunded_cents));
  SET_VALUE (resp, status, (paymentPaymentStatus) refund->status);
}

static const PayRpcMethod methods[] = {
  { "Charge", payment_payment_service_charge_args_get_type,
    payment_payment_service_charge_result_get_type, start_charge, fill_charge,
    pay_rpc_args_clear_charge },
  { "QueryPayment", payment_payment_service_query_payment_args_get_type,
    payment_payment_service_query_payment_result_get_type, start_query, fill_query,
    pay_rpc_args_clear_query },
  { "Refund", payment_payment_service_refund_args_get_type,
    payment_payment_service_refund_result_get_type, start_refund, fill_refund,
    pay_rpc_args_clear_refund },
};

const PayRpcMethod *
pay_rpc_handler_methods (gsize *n_methods)
{
  *n_methods = G_N_ELEMENTS (methods);
  return methods;
}
