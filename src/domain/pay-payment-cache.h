/* pay-payment-cache.h: PayPaymentCache, the cache of payment records as the service needs
 * it: lookup, store and health. The domain owns this interface; storage implements it
 * (PayCache on Redis), the unit tests fake it. */
#pragma once

#include <gio/gio.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_PAYMENT_CACHE (pay_payment_cache_get_type ())
G_DECLARE_INTERFACE (PayPaymentCache, pay_payment_cache, PAY, PAYMENT_CACHE, GObject)

/* The _async calls belong to the thread of the cache's main context (the service's);
 * @callback runs there, never before the call returns. Pointer arguments are borrowed
 * until @callback runs, or for the call when there is none. */
struct _PayPaymentCacheInterface
{
  GTypeInterface g_iface;

  /* Looks up the record @key (exactly one key set) asks for. _finish: FALSE with
   * PAY_ERROR_CACHE_READ when the cache failed; else TRUE, with *@hit and, on a hit, the
   * record in *@out. A record that does not answer @key is a miss. */
  void     (*lookup_async)  (PayPaymentCache       *self,
                             const PayQueryRequest *key,
                             GAsyncReadyCallback    callback,
                             gpointer               user_data);
  gboolean (*lookup_finish) (PayPaymentCache *self,
                             GAsyncResult    *result,
                             PayPayment      *out,
                             gboolean        *hit,
                             GError         **error);

  /* Stores @payment (copied) under its keys, never replacing a cached record with a
   * larger refunded total; @created: a new payment (a charge). _finish: FALSE with
   * PAY_ERROR_CACHE_WRITE when the cache failed. With no @callback nobody waits: the
   * store is sent and forgotten (a failure is logged and counted). */
  void     (*store_async)   (PayPaymentCache     *self,
                             const PayPayment    *payment,
                             gboolean             created,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*store_finish)  (PayPaymentCache *self,
                             GAsyncResult    *result,
                             GError         **error);

  /* Counts one answered query as a hit or a miss of the cache (a failed lookup that the
   * query went past counts as a miss). Any thread. */
  void     (*count_lookup)  (PayPaymentCache *self,
                             gboolean         hit);

  /* TRUE while the cache is reachable (any thread, never blocks). */
  gboolean (*is_available)  (PayPaymentCache *self);
};

void     pay_payment_cache_lookup_async  (PayPaymentCache       *self,
                                          const PayQueryRequest *key,
                                          GAsyncReadyCallback    callback,
                                          gpointer               user_data);
gboolean pay_payment_cache_lookup_finish (PayPaymentCache *self,
                                          GAsyncResult    *result,
                                          PayPayment      *out,
                                          gboolean        *hit,
                                          GError         **error);
void     pay_payment_cache_store_async   (PayPaymentCache     *self,
                                          const PayPayment    *payment,
                                          gboolean             created,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean pay_payment_cache_store_finish  (PayPaymentCache *self,
                                          GAsyncResult    *result,
                                          GError         **error);
void     pay_payment_cache_count_lookup  (PayPaymentCache *self,
                                          gboolean         hit);
gboolean pay_payment_cache_is_available  (PayPaymentCache *self);

G_END_DECLS
