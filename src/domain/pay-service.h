/* pay-service.h: PaymentService, the business rules shared by both transports. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"
#include "domain/pay-payment-cache.h"
#include "domain/pay-payment-store.h"
#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_SERVICE (pay_service_get_type ())
G_DECLARE_FINAL_TYPE (PayService, pay_service, PAY, SERVICE, GObject)

/* Cache repairs (see pay_service_get_pending_repairs()): the most keys kept, and how
 * often a repair is tried while some are pending. */
#define PAY_SERVICE_MAX_PENDING_REPAIRS 1024
#define PAY_SERVICE_REPAIR_INTERVAL_MS  500

typedef struct {
  gint64   max_amount_cents;
  gboolean cache_required;
  guint    cache_ttl_seconds;     /* the cache's record TTL (0: records never expire) */
  guint    max_pending_repairs;   /* 0: PAY_SERVICE_MAX_PENDING_REPAIRS */
  guint    repair_interval_ms;    /* 0: PAY_SERVICE_REPAIR_INTERVAL_MS */
} PayServiceSettings;

/* The service holds a reference on @store and @cache; @settings is copied. */
PayService *pay_service_new (PayPaymentStore          *store,
                             PayPaymentCache          *cache,
                             const PayServiceSettings *settings);

/* Every operation runs on the caller's thread-default main context, which must be the
 * one the cache runs on (the service's main loop): validation there, storage and cache
 * through their _async calls, never blocking. @request is read before the call returns.
 * Errors are PAY_ERROR codes (docs/CONTRACT.md section 3). Every operation is a GTask
 * (_async, then _finish in @callback), the charge's _begin being the one exception: it
 * answers a rejected charge synchronously. @cancellable, when cancelled before the
 * operation's write (or, for a query, its read) is sent, ends the call with
 * G_IO_ERROR_CANCELLED and nothing done; a write already sent is reported as it ends. */

/* Validates a charge (shape, amount, card: no I/O) before returning: FALSE with @error,
 * and no @callback, when it fails. Otherwise stores it (one commit) and caches it, then
 * calls @callback, where _finish fills @out with the stored payment. In strict cache
 * mode a failed cache write is PAY_ERROR_CACHE_WRITE (after the commit). A rejected
 * charge is answered at once, with no task and no loop iteration of its own. */
gboolean pay_service_charge_begin  (PayService             *self,
                                    const PayChargeRequest *request,
                                    GCancellable           *cancellable,
                                    GAsyncReadyCallback     callback,
                                    gpointer                user_data,
                                    GError                **error);
gboolean pay_service_charge_finish (PayService   *self,
                                    GAsyncResult *result,
                                    PayPayment   *out,
                                    GError      **error);

/* Answers QueryPayment: exactly one key of @request (else PAY_ERROR_INVALID_REQUEST;
 * a transaction id is lower-cased first), from the cache when it holds the record (no
 * store query) and the record awaits no repair, else from the store, filling the cache. A cache failure falls back to the store, or is
 * PAY_ERROR_CACHE_READ in strict cache mode. PAY_ERROR_NOT_FOUND for an unknown
 * payment. */
void     pay_service_query_async  (PayService            *self,
                                   const PayQueryRequest *request,
                                   GCancellable          *cancellable,
                                   GAsyncReadyCallback    callback,
                                   gpointer               user_data);
gboolean pay_service_query_finish (PayService   *self,
                                   GAsyncResult *result,
                                   PayPayment   *out,
                                   GError      **error);

/* Refunds part or (amount absent) the rest of a payment; _finish fills @out with the
 * reply. Checks in the contract's order: shape (4004003), amount (4004002), existence
 * (4004004), an earlier request with the same refund_request_id (its reply unchanged, or
 * 4004006), the balance (4004005). The refund commits together with the payment's new
 * total and its payment_events row; then the cached record is replaced before the reply
 * (a failure is PAY_ERROR_CACHE_WRITE in strict cache mode only). */
void     pay_service_refund_async  (PayService             *self,
                                    const PayRefundRequest *request,
                                    GCancellable           *cancellable,
                                    GAsyncReadyCallback     callback,
                                    gpointer                user_data);
gboolean pay_service_refund_finish (PayService   *self,
                                    GAsyncResult *result,
                                    PayRefund    *out,
                                    GError      **error);

/* Cached records this instance knows to be stale, or may be, and has yet to repair: a
 * refund committed, but its cache write failed or timed out; or a refund whose outcome is
 * unknown (4005005: its COMMIT may have been made, the answer lost). Until a key's record is repaired
 * (written again from the store, as soon as the cache takes writes again, tried every
 * repair_interval_ms), this instance answers that payment from the store. When a key does
 * not fit (max_pending_repairs), every query reads the store until cache_ttl_seconds have
 * passed (the record it could not keep has expired by then). In this process's memory
 * only, as a best-effort accelerator: correctness never needs it (another instance may
 * serve the stale record until it is repaired, or until the TTL if this one dies). Any
 * thread, never blocks. */
guint pay_service_get_pending_repairs (PayService *self);

/* Storage health as last observed (any thread, never blocks): TRUE while the payment
 * store answers. */
gboolean pay_service_storage_ok (PayService *self);

/* TRUE while the cache is reachable (any thread, never blocks). */
gboolean pay_service_cache_ok (PayService *self);

/* Probes the payment store and updates pay_service_storage_ok(); does nothing while a
 * probe runs. */
void pay_service_probe_storage_async (PayService *self);

G_END_DECLS
