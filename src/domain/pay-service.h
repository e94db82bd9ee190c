/* pay-service.h: PaymentService, the business rules shared by both transports. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"
#include "domain/pay-types.h"
#include "storage/pay-cache.h"
#include "storage/pay-repository.h"

G_BEGIN_DECLS

#define PAY_TYPE_SERVICE (pay_service_get_type ())
G_DECLARE_FINAL_TYPE (PayService, pay_service, PAY, SERVICE, GObject)

typedef struct {
  gint64   max_amount_cents;
  gboolean cache_required;
} PayServiceSettings;

PayService *pay_service_new (PayRepository            *repository,
                             PayCache                 *cache,
                             const PayServiceSettings *settings);

/* Every operation runs on the caller's thread-default main context, which must be the
 * one the cache runs on (the service's main loop): validation and Redis there, without
 * blocking; MySQL work on a worker thread. @request is read before the call returns.
 * Errors are PAY_ERROR codes (docs/CONTRACT.md section 3). */

/* Validates a charge (shape, amount, card: no I/O) before returning: FALSE with @error,
 * and no @callback, when it fails. Otherwise stores it (one INSERT) and caches it, then
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

/* Answers QueryPayment: exactly one key of @request (else PAY_ERROR_INVALID_REQUEST),
 * from the Redis cache when it holds the record (no MySQL query, no thread), else from
 * MySQL, filling the cache. A Redis failure falls back to MySQL, or is
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

/* Storage health as last observed (any thread, never blocks): TRUE while MySQL answers. */
gboolean pay_service_storage_ok (PayService *self);

/* TRUE while the Redis cache is connected (any thread, never blocks). */
gboolean pay_service_cache_ok (PayService *self);

/* Probes MySQL on a worker thread and updates pay_service_storage_ok(). */
void pay_service_probe_storage_async (PayService *self);

G_END_DECLS
