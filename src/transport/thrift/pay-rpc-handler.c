/* pay-rpc-handler.c: generated-handler subclass: generated structs <-> PayService. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-handler.h"

#include <thrift/c_glib/thrift_application_exception.h>

#include "core/pay-error.h"

struct _PayRpcHandler
{
  paymentPaymentServiceHandler parent_instance;

  PayService *service;
};

G_DEFINE_FINAL_TYPE (PayRpcHandler, pay_rpc_handler, PAYMENT_TYPE_PAYMENT_SERVICE_HANDLER)

static void
pay_rpc_handler_init (PayRpcHandler *self)
{
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
  const paymentCreditCardInfo *card = req->credit_card;
  g_autoptr(GError) local_error = NULL;
  PayPayment payment;
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

  if (!pay_service_charge (self->service, &request, &payment, &local_error))
    return set_payment_error (err, local_error);

  g_object_set (*_return, "transaction_id", payment.transaction_id, NULL);
  return TRUE;
}

/* QueryPayment and Refund are declared in the IDL; until the service implements them
 * they answer a TApplicationException, as the processor does for a GError. */
static gboolean
not_implemented (const gchar *method, GError **error)
{
  g_set_error (error, THRIFT_APPLICATION_EXCEPTION_ERROR,
               THRIFT_APPLICATION_EXCEPTION_ERROR_UNKNOWN_METHOD,
               "%s is not implemented yet", method);
  return FALSE;
}

static gboolean
handler_query_payment (paymentPaymentServiceIf      *iface,
                       paymentQueryPaymentResp     **_return,
                       const paymentQueryPaymentReq *req,
                       paymentPaymentError         **err,
                       GError                      **error)
{
  return not_implemented ("QueryPayment", error);
}

static gboolean
handler_refund (paymentPaymentServiceIf *iface,
                paymentRefundResp      **_return,
                const paymentRefundReq  *req,
                paymentPaymentError    **err,
                GError                 **error)
{
  return not_implemented ("Refund", error);
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
