/* pay-rpc-handler.c: generated-handler subclass: generated structs <-> PayService. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-handler.h"

#include "core/pay-error.h"
#include "core/pay-request-log.h"
#include "domain/pay-money.h"

#include <string.h>

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

/* The processor ran for a call that pay_rpc_handler_start() did not start (which the
 * connection never does): an internal error for the client, not a wrong answer. */
static gboolean
not_started (GError **error)
{
  g_set_error_literal (error, THRIFT_APPLICATION_EXCEPTION_ERROR,
                       THRIFT_APPLICATION_EXCEPTION_ERROR_INTERNAL_ERROR,
                       "call not started");
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

/* The one mapping from a service error to the IDL exception; only a client-safe message
 * leaves (pay_error_describe()). */
static gboolean
set_payment_error (paymentPaymentError **err, const GError *error)
{
  const gchar *message;
  gint32 code = pay_error_describe (error, &message);

  *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR, "code", code, "message", message, NULL);
  return FALSE;
}

/* Whether the processor can answer @call with a result: FALSE with @err (the service's
 * error) or @error (the call was never started) set otherwise. */
static gboolean
answerable (PayRpcCall *call, paymentPaymentError **err, GError **error)
{
  if (call->state != PAY_RPC_CALL_DONE)
    return not_started (error);
  if (call->error != NULL)
    return set_payment_error (err, call->error);
  return TRUE;
}

/* Starts a FRESH call's Charge: PENDING, or DONE at once when validation fails. */
static void
start_charge (PayRpcHandler *self, PayRpcCall *call, const paymentChargeReq *req)
{
  const paymentCreditCardInfo *card = req->credit_card;
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
  /* A charge that fails validation is answered now, without the service's round. */
  call->state = PAY_RPC_CALL_PENDING;
  if (!pay_service_charge_begin (self->service, &request, NULL, on_charged, call, &call->error))
    call->state = PAY_RPC_CALL_DONE;
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

  if (!answerable (call, err, error))
    return FALSE;

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

/* A query's ids, as the service takes them; notes them in the call's record. */
static PayQueryRequest
query_request (PayRpcCall *call, const paymentQueryPaymentReq *req)
{
  PayQueryRequest request = {
    /* An optional string the client set to null arrives unset. */
    .transaction_id = req->__isset_transaction_id && req->transaction_id != NULL
                      ? req->transaction_id : NULL,
    .has_order_id = req->__isset_order_id,
    .order_id = req->order_id,
  };

  call->record->order_id = request.has_order_id ? request.order_id : 0;
  pay_request_record_set_transaction_id (call->record, request.transaction_id);
  return request;
}

static void
start_query (PayRpcHandler *self, PayRpcCall *call, const paymentQueryPaymentReq *req)
{
  PayQueryRequest request = query_request (call, req);

  call->state = PAY_RPC_CALL_PENDING;
  pay_service_query_async (self->service, &request, NULL, on_queried, call);
}

static gboolean
handler_query_payment (paymentPaymentServiceIf      *iface,
                       paymentQueryPaymentResp     **_return,
                       const paymentQueryPaymentReq *req,
                       paymentPaymentError         **err,
                       GError                      **error)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (iface);

  if (!answerable (self->call, err, error))
    return FALSE;

  fill_payment_info ((*_return)->payment, &self->call->payment);
  (*_return)->__isset_payment = TRUE;
  return TRUE;
}

static PayRefundRequest
refund_request (PayRpcCall *call, const paymentRefundReq *req)
{
  PayRefundRequest request = {
    .transaction_id = req->__isset_transaction_id ? req->transaction_id : NULL,
    .has_amount = req->__isset_amount,
    .amount = req->amount,
    .refund_request_id = req->__isset_refund_request_id ? req->refund_request_id : NULL,
    .reason = req->__isset_reason ? req->reason : NULL,
  };

  pay_request_record_set_transaction_id (call->record, request.transaction_id);
  return request;
}

static void
start_refund (PayRpcHandler *self, PayRpcCall *call, const paymentRefundReq *req)
{
  PayRefundRequest request = refund_request (call, req);

  call->state = PAY_RPC_CALL_PENDING;
  pay_service_refund_async (self->service, &request, NULL, on_refunded, call);
}

static gboolean
handler_refund (paymentPaymentServiceIf *iface,
                paymentRefundResp      **_return,
                const paymentRefundReq  *req,
                paymentPaymentError    **err,
                GError                 **error)
{
  PayRpcHandler *self = PAY_RPC_HANDLER (iface);

  if (!answerable (self->call, err, error))
    return FALSE;

  fill_refund_resp (*_return, &self->call->refund);
  return TRUE;
}

/* ---- starting a call before the processor runs ------------------------------------------ */

/* The methods whose arguments the connection decodes itself, so that the processor runs
 * once per call, when the outcome is known. */
typedef struct {
  const gchar *name;
  GType      (*args_type) (void);
  void       (*start) (PayRpcHandler *self, PayRpcCall *call, ThriftStruct *args);
} Method;

static void
start_charge_args (PayRpcHandler *self, PayRpcCall *call, ThriftStruct *args)
{
  start_charge (self, call, ((paymentPaymentServiceChargeArgs *) args)->req);
}

static void
start_query_args (PayRpcHandler *self, PayRpcCall *call, ThriftStruct *args)
{
  start_query (self, call, ((paymentPaymentServiceQueryPaymentArgs *) args)->req);
}

static void
start_refund_args (PayRpcHandler *self, PayRpcCall *call, ThriftStruct *args)
{
  start_refund (self, call, ((paymentPaymentServiceRefundArgs *) args)->req);
}

static const Method methods[] = {
  { "Charge", payment_payment_service_charge_args_get_type, start_charge_args },
  { "QueryPayment", payment_payment_service_query_payment_args_get_type, start_query_args },
  { "Refund", payment_payment_service_refund_args_get_type, start_refund_args },
};

static const Method *
find_method (const gchar *name, gsize name_len)
{
  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    if (strlen (methods[i].name) == name_len && memcmp (methods[i].name, name, name_len) == 0)
      return &methods[i];
  return NULL;
}

GType
pay_rpc_handler_args_type (const gchar *name, gsize name_len)
{
  const Method *method = find_method (name, name_len);

  return method != NULL ? method->args_type () : G_TYPE_INVALID;
}

void
pay_rpc_handler_start (PayRpcHandler *self,
                       PayRpcCall    *call,
                       const gchar   *name,
                       gsize          name_len,
                       ThriftStruct  *args)
{
  const Method *method = find_method (name, name_len);

  g_return_if_fail (PAY_IS_RPC_HANDLER (self));
  g_return_if_fail (method != NULL && call->state == PAY_RPC_CALL_FRESH);
  g_return_if_fail (G_TYPE_CHECK_INSTANCE_TYPE (args, method->args_type ()));

  method->start (self, call, args);
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
