/* pay-payment-store.h: PayPaymentStore, the payments database as the service needs it:
 * charge, query, refund and a health probe. The domain owns this interface; storage
 * implements it (PayRepository on MySQL), the unit tests fake it. */
#pragma once

#include <gio/gio.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_PAYMENT_STORE (pay_payment_store_get_type ())
G_DECLARE_INTERFACE (PayPaymentStore, pay_payment_store, PAY, PAYMENT_STORE, GObject)

/* Every call returns at once; @callback runs in the caller's thread-default main context
 * (never before the call returns), where the _finish function is called. Errors are
 * PAY_ERROR codes; PAY_ERROR_STORAGE_UNAVAILABLE for any failure of the database (then a
 * write's outcome may be unknown). Pointer arguments are borrowed until @callback runs. */
struct _PayPaymentStoreInterface
{
  GTypeInterface g_iface;

  /* Stores @payment, a new payment, with its "charge" event, in one commit. A payment
   * of the same order_id already stored: PAY_ERROR_ORDER_ALREADY_PAID; of the same
   * transaction_id: PAY_ERROR_ID_GENERATION. Nothing is written in either case. */
  void     (*charge_async)  (PayPaymentStore     *self,
                             const PayPayment    *payment,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*charge_finish) (PayPaymentStore *self,
                             GAsyncResult    *result,
                             GError         **error);

  /* Reads the payment named by @key (exactly one of its keys set) into *@out:
   * PAY_ERROR_NOT_FOUND when there is none. */
  void     (*query_async)   (PayPaymentStore       *self,
                             const PayQueryRequest *key,
                             GAsyncReadyCallback    callback,
                             gpointer               user_data);
  gboolean (*query_finish)  (PayPaymentStore *self,
                             GAsyncResult    *result,
                             PayPayment      *out,
                             GError         **error);

  /* Applies the refund @draft describes, with no other refund of its payment in
   * between (PayRefundOutcome says what was done):
   * - no payment @draft->transaction_id: PAY_ERROR_NOT_FOUND;
   * - a refund with the same (transaction_id, refund_request_id) is stored: REPLAYED,
   *   that refund as found, nothing written;
   * - the refund takes @draft->requested_cents, or when !@draft->has_requested all that
   *   is left (amount_cents - refunded_cents); nothing left, or less than requested:
   *   REFUSED, nothing written;
   * - else APPLIED: the payment's refunded total grows by the refund, its status becomes
   *   pay_status_for_refunded() of the new total, updated_at_ms the later of its own and
   *   @draft->created_at_ms; the refund (@draft with amount_cents, total_refunded_cents
   *   and status filled) and a "refund" event (@event_id) are stored, all in one commit.
   * The _finish function fills the outcome, the refund (stored or replayed; unset when
   * REFUSED) and the payment as it is after the call. */
  void     (*refund_async)  (PayPaymentStore     *self,
                             const PayRefund     *draft,
                             const gchar         *event_id,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*refund_finish) (PayPaymentStore  *self,
                             GAsyncResult     *result,
                             PayRefundOutcome *outcome,
                             PayRefund        *refund,
                             PayPayment       *payment,
                             GError          **error);

  /* Checks that the database answers (setting its schema up when needed), on a path that
   * a busy store does not delay. */
  void     (*probe_async)   (PayPaymentStore     *self,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
  gboolean (*probe_finish)  (PayPaymentStore *self,
                             GAsyncResult    *result,
                             GError         **error);
};

void     pay_payment_store_charge_async  (PayPaymentStore     *self,
                                          const PayPayment    *payment,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean pay_payment_store_charge_finish (PayPaymentStore *self,
                                          GAsyncResult    *result,
                                          GError         **error);
void     pay_payment_store_query_async   (PayPaymentStore       *self,
                                          const PayQueryRequest *key,
                                          GAsyncReadyCallback    callback,
                                          gpointer               user_data);
gboolean pay_payment_store_query_finish  (PayPaymentStore *self,
                                          GAsyncResult    *result,
                                          PayPayment      *out,
                                          GError         **error);
void     pay_payment_store_refund_async  (PayPaymentStore     *self,
                                          const PayRefund     *draft,
                                          const gchar         *event_id,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean pay_payment_store_refund_finish (PayPaymentStore  *self,
                                          GAsyncResult     *result,
                                          PayRefundOutcome *outcome,
                                          PayRefund        *refund,
                                          PayPayment       *payment,
                                          GError          **error);
void     pay_payment_store_probe_async   (PayPaymentStore     *self,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean pay_payment_store_probe_finish  (PayPaymentStore *self,
                                          GAsyncResult    *result,
                                          GError         **error);

G_END_DECLS
