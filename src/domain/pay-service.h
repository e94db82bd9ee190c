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

/* Validates, stores and caches a charge; fills @out with the stored payment. Errors are
 * PAY_ERROR codes (CONTRACT.md section 3). Blocking: call from a worker thread. */
gboolean pay_service_charge (PayService             *self,
                             const PayChargeRequest *request,
                             PayPayment             *out,
                             GError                **error);

/* pay_service_charge() on a worker thread; @request is copied before this returns.
 * The callback runs in the caller's thread-default main context. */
void     pay_service_charge_async  (PayService             *self,
                                    const PayChargeRequest *request,
                                    GCancellable           *cancellable,
                                    GAsyncReadyCallback     callback,
                                    gpointer                user_data);
gboolean pay_service_charge_finish (PayService   *self,
                                    GAsyncResult *result,
                                    PayPayment   *out,
                                    GError      **error);

/* Storage health as last observed (any thread, never blocks): TRUE while MySQL answers. */
gboolean pay_service_storage_ok (PayService *self);

/* TRUE while the Redis cache is connected (any thread, never blocks). */
gboolean pay_service_cache_ok (PayService *self);

/* Probes MySQL on a worker thread and updates pay_service_storage_ok(). */
void pay_service_probe_storage_async (PayService *self);

G_END_DECLS
