/* pay-payment-cache.c: PayPaymentCache's dispatch to its implementation. */
#include "domain/pay-payment-cache.h"

G_DEFINE_INTERFACE (PayPaymentCache, pay_payment_cache, G_TYPE_OBJECT)

static void
pay_payment_cache_default_init (PayPaymentCacheInterface *iface)
{
}

#define CACHE_IFACE(self) PAY_PAYMENT_CACHE_GET_IFACE (self)

void
pay_payment_cache_lookup_async (PayPaymentCache       *self,
                                const PayQueryRequest *key,
                                GAsyncReadyCallback    callback,
                                gpointer               user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_CACHE (self));
  g_return_if_fail (key != NULL && (key->transaction_id != NULL) != key->has_order_id);
  CACHE_IFACE (self)->lookup_async (self, key, callback, user_data);
}

gboolean
pay_payment_cache_lookup_finish (PayPaymentCache *self,
                                 GAsyncResult    *result,
                                 PayPayment      *out,
                                 gboolean        *hit,
                                 GError         **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_CACHE (self), FALSE);
  g_return_val_if_fail (out != NULL && hit != NULL, FALSE);
  return CACHE_IFACE (self)->lookup_finish (self, result, out, hit, error);
}

void
pay_payment_cache_store_async (PayPaymentCache     *self,
                               const PayPayment    *payment,
                               gboolean             created,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (PAY_IS_PAYMENT_CACHE (self));
  g_return_if_fail (payment != NULL);
  CACHE_IFACE (self)->store_async (self, payment, created, callback, user_data);
}

gboolean
pay_payment_cache_store_finish (PayPaymentCache *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_CACHE (self), FALSE);
  return CACHE_IFACE (self)->store_finish (self, result, error);
}

void
pay_payment_cache_count_lookup (PayPaymentCache *self, gboolean hit)
{
  g_return_if_fail (PAY_IS_PAYMENT_CACHE (self));
  CACHE_IFACE (self)->count_lookup (self, hit);
}

gboolean
pay_payment_cache_is_available (PayPaymentCache *self)
{
  g_return_val_if_fail (PAY_IS_PAYMENT_CACHE (self), FALSE);
  return CACHE_IFACE (self)->is_available (self);
}
