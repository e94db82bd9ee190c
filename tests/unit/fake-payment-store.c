/* fake-payment-store.c: the in-memory PayPaymentStore of the service's unit tests. */
#include "fake-payment-store.h"

#include <string.h>

#include "core/pay-error.h"

static void fake_payment_store_iface_init (PayPaymentStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakePaymentStore, fake_payment_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAY_TYPE_PAYMENT_STORE,
                                                      fake_payment_store_iface_init))

static void
fake_payment_store_init (FakePaymentStore *self)
{
  self->payments = g_array_new (FALSE, TRUE, sizeof (PayPayment));
  self->refunds = g_array_new (FALSE, TRUE, sizeof (PayRefund));
}

static void
fake_payment_store_finalize (GObject *object)
{
  FakePaymentStore *self = FAKE_PAYMENT_STORE (object);

  g_array_unref (self->payments);
  g_array_unref (self->refunds);
  G_OBJECT_CLASS (fake_payment_store_parent_class)->finalize (object);
}

static void
fake_payment_store_class_init (FakePaymentStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_payment_store_finalize;
}

FakePaymentStore *
fake_payment_store_new (GString *journal)
{
  FakePaymentStore *self = g_object_new (FAKE_TYPE_PAYMENT_STORE, NULL);

  self->journal = journal;
  return self;
}

void
fake_payment_store_fail_all (FakePaymentStore *self, gint code)
{
  self->fail_charge = self->fail_query = self->fail_refund = self->fail_probe = code;
}

PayPayment *
fake_payment_store_find (FakePaymentStore *self, const gchar *transaction_id)
{
  for (guint i = 0; i < self->payments->len; i++)
    {
      PayPayment *payment = &g_array_index (self->payments, PayPayment, i);

      if (strcmp (payment->transaction_id, transaction_id) == 0)
        return payment;
    }
  return NULL;
}

static PayPayment *
find_order (FakePaymentStore *self, gint64 order_id)
{
  for (guint i = 0; i < self->payments->len; i++)
    if (g_array_index (self->payments, PayPayment, i).order_id == order_id)
      return &g_array_index (self->payments, PayPayment, i);
  return NULL;
}

static PayRefund *
find_refund (FakePaymentStore *self, const gchar *transaction_id, const gchar *request_id)
{
  for (guint i = 0; i < self->refunds->len; i++)
    {
      PayRefund *refund = &g_array_index (self->refunds, PayRefund, i);

      if (strcmp (refund->transaction_id, transaction_id) == 0 &&
          strcmp (refund->refund_request_id, request_id) == 0)
        return refund;
    }
  return NULL;
}

/* Journals @call and makes its task: a fault, when set, is already returned. */
static GTask *
begin_call (FakePaymentStore    *self,
            const gchar         *call,
            gint                 fault,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  if (self->journal != NULL)
    g_string_append_printf (self->journal, "store.%s ", call);
  if (fault != 0)
    g_task_return_new_error (task, PAY_ERROR, fault, "injected store fault");
  return task;
}

static void
charge_async (PayPaymentStore     *store,
              const PayPayment    *payment,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  FakePaymentStore *self = FAKE_PAYMENT_STORE (store);
  g_autoptr(GTask) task = begin_call (self, "charge", self->fail_charge, callback, user_data);

  if (self->fail_charge != 0)
    return;
  if (find_order (self, payment->order_id) != NULL)
    g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_ORDER_ALREADY_PAID, "order already paid");
  else if (fake_payment_store_find (self, payment->transaction_id) != NULL)
    g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_ID_GENERATION, "duplicate transaction id");
  else
    {
      g_array_append_vals (self->payments, payment, 1);
      g_task_return_boolean (task, TRUE);
    }
}

static gboolean
boolean_finish (PayPaymentStore *store, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
query_async (PayPaymentStore       *store,
             const PayQueryRequest *key,
             GAsyncReadyCallback    callback,
             gpointer               user_data)
{
  FakePaymentStore *self = FAKE_PAYMENT_STORE (store);
  g_autoptr(GTask) task = begin_call (self, "query", self->fail_query, callback, user_data);
  PayPayment *found;

  if (self->fail_query != 0)
    return;
  found = key->transaction_id != NULL ? fake_payment_store_find (self, key->transaction_id)
                                      : find_order (self, key->order_id);
  if (found == NULL)
    g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_NOT_FOUND, "payment not found");
  else
    g_task_return_pointer (task, g_memdup2 (found, sizeof *found), g_free);
}

static gboolean
query_finish (PayPaymentStore *store, GAsyncResult *result, PayPayment *out, GError **error)
{
  g_autofree PayPayment *found = g_task_propagate_pointer (G_TASK (result), error);

  if (found == NULL)
    return FALSE;
  *out = *found;
  return TRUE;
}

typedef struct {
  PayRefundOutcome outcome;
  PayRefund        refund;
  PayPayment       payment;
} RefundResult;

/* PayPaymentStore's refund contract, written out on its own. */
static void
apply_refund (FakePaymentStore *self, PayPayment *payment, const PayRefund *draft,
              RefundResult *result)
{
  PayRefund *earlier = find_refund (self, draft->transaction_id, draft->refund_request_id);
  gint64 balance = payment->amount_cents - payment->refunded_cents;
  gint64 cents = draft->has_requested ? draft->requested_cents : balance;

  if (earlier != NULL)
    {
      result->outcome = PAY_REFUND_REPLAYED;
      result->refund = *earlier;
    }
  else if (balance <= 0 || cents > balance)
    result->outcome = PAY_REFUND_REFUSED;
  else
    {
      payment->refunded_cents += cents;
      payment->status = payment->refunded_cents == payment->amount_cents
                        ? PAY_STATUS_REFUNDED : PAY_STATUS_PARTIALLY_REFUNDED;
      payment->updated_at_ms = MAX (payment->updated_at_ms, draft->created_at_ms);
      result->outcome = PAY_REFUND_APPLIED;
      result->refund = *draft;
      result->refund.amount_cents = cents;
      result->refund.total_refunded_cents = payment->refunded_cents;
      result->refund.status = payment->status;
      g_array_append_vals (self->refunds, &result->refund, 1);
    }
  result->payment = *payment;
}

static void
refund_async (PayPaymentStore     *store,
              const PayRefund     *draft,
              const gchar         *event_id,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  FakePaymentStore *self = FAKE_PAYMENT_STORE (store);
  g_autoptr(GTask) task = begin_call (self, "refund", self->fail_refund, callback, user_data);
  PayPayment *payment;
  RefundResult *result;

  self->last_draft = *draft;
  g_strlcpy (self->last_event_id, event_id, sizeof self->last_event_id);
  if (self->fail_refund != 0)
    return;
  payment = fake_payment_store_find (self, draft->transaction_id);
  if (payment == NULL)
    {
      g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_NOT_FOUND, "payment not found");
      return;
    }
  result = g_new0 (RefundResult, 1);
  apply_refund (self, payment, draft, result);
  g_task_return_pointer (task, result, g_free);
}

static gboolean
refund_finish (PayPaymentStore  *store,
               GAsyncResult     *result,
               PayRefundOutcome *outcome,
               PayRefund        *refund,
               PayPayment       *payment,
               GError          **error)
{
  g_autofree RefundResult *done = g_task_propagate_pointer (G_TASK (result), error);

  if (done == NULL)
    return FALSE;
  *outcome = done->outcome;
  *refund = done->refund;
  *payment = done->payment;
  return TRUE;
}

static void
probe_async (PayPaymentStore *store, GAsyncReadyCallback callback, gpointer user_data)
{
  FakePaymentStore *self = FAKE_PAYMENT_STORE (store);
  g_autoptr(GTask) task = begin_call (self, "probe", self->fail_probe, callback, user_data);

  if (self->fail_probe == 0)
    g_task_return_boolean (task, TRUE);
}

static void
fake_payment_store_iface_init (PayPaymentStoreInterface *iface)
{
  iface->charge_async = charge_async;
  iface->charge_finish = boolean_finish;
  iface->query_async = query_async;
  iface->query_finish = query_finish;
  iface->refund_async = refund_async;
  iface->refund_finish = refund_finish;
  iface->probe_async = probe_async;
  iface->probe_finish = boolean_finish;
}
