/* pay-payment-store.c: PayPaymentStore's dispatch to its implementation. */
#include "domain/pay-payment-store.h"

G_DEFINE_INTERFACE (PayPaymentStore, pay_payment_store, G_TYPE_OBJECT)

static void
pay_payment_store_default_init (PayPaymentStoreInterface *iface)
{
}

#define STORE_IFACE(self) PAY_PAYMENT_STORE_GET_IFACE (self)

void
pay_payment_store_charge_async (PayPaymentStore     *self,
                                const PayPayment    *payment,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_STORE (self));
  g_return_if_fail (payment != NULL);
  STORE_IFACE (self)->charge_async (self, payment, callback, user_data);
}

gboolean
pay_payment_store_charge_finish (PayPaymentStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_STORE (self), FALSE);
  return STORE_IFACE (self)->charge_finish (self, result, error);
}

void
pay_payment_store_query_async (PayPaymentStore       *self,
                               const PayQueryRequest *key,
                               GAsyncReadyCallback    callback,
                               gpointer               user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_STORE (self));
  g_return_if_fail (key != NULL && (key->transaction_id != NULL) != key->has_order_id);
  STORE_IFACE (self)->query_async (self, key, callback, user_data);
}

gboolean
pay_payment_store_query_finish (PayPaymentStore *self,
                                GAsyncResult    *result,
                                PayPayment      *out,
                                GError         **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_STORE (self), FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  return STORE_IFACE (self)->query_finish (self, result, out, error);
}

void
pay_payment_store_refund_async (PayPaymentStore     *self,
                                const PayRefund     *draft,
                                const gchar         *event_id,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_STORE (self));
  g_return_if_fail (draft != NULL && event_id != NULL);
  g_return_if_fail (!draft->has_requested || draft->requested_cents > 0);
  STORE_IFACE (self)->refund_async (self, draft, event_id, callback, user_data);
}

gboolean
pay_payment_store_refund_finish (PayPaymentStore  *self,
                                 GAsyncResult     *result,
                                 PayRefundOutcome *outcome,
                                 PayRefund        *refund,
                                 PayPayment       *payment,
                                 GError          **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_STORE (self), FALSE);
  g_return_val_if_fail (outcome != NULL && refund != NULL && payment != NULL, FALSE);
  return STORE_IFACE (self)->refund_finish (self, result, outcome, refund, payment, error);
}

void
pay_payment_store_probe_async (PayPaymentStore     *self,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_STORE (self));
  STORE_IFACE (self)->probe_async (self, callback, user_data);
}

gboolean
pay_payment_store_probe_finish (PayPaymentStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_STORE (self), FALSE);
  return STORE_IFACE (self)->probe_finish (self, result, error);
}
