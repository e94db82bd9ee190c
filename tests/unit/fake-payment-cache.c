/* fake-payment-cache.c: the in-memory PayPaymentCache of the service's unit tests. */
#include "fake-payment-cache.h"

#include <string.h>

#include "core/pay-error.h"

static void fake_payment_cache_iface_init (PayPaymentCacheInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakePaymentCache, fake_payment_cache, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAY_TYPE_PAYMENT_CACHE,
                                                      fake_payment_cache_iface_init))

static void
fake_payment_cache_init (FakePaymentCache *self)
{
  self->records = g_array_new (FALSE, TRUE, sizeof (PayPayment));
  self->available = TRUE;
}

static void
fake_payment_cache_finalize (GObject *object)
{
  g_array_unref (FAKE_PAYMENT_CACHE (object)->records);
  G_OBJECT_CLASS (fake_payment_cache_parent_class)->finalize (object);
}

static void
fake_payment_cache_class_init (FakePaymentCacheClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_payment_cache_finalize;
}

FakePaymentCache *
fake_payment_cache_new (GString *journal)
{
  FakePaymentCache *self = g_object_new (FAKE_TYPE_PAYMENT_CACHE, NULL);

  self->journal = journal;
  return self;
}

PayPayment *
fake_payment_cache_find (FakePaymentCache *self, const gchar *transaction_id)
{
  for (guint i = 0; i < self->records->len; i++)
    {
      PayPayment *record = &g_array_index (self->records, PayPayment, i);

      if (strcmp (record->transaction_id, transaction_id) == 0)
        return record;
    }
  return NULL;
}

static void
note (FakePaymentCache *self, const gchar *call)
{
  if (self->journal != NULL)
    g_string_append_printf (self->journal, "cache.%s ", call);
}

static void
lookup_async (PayPaymentCache       *cache,
              const PayQueryRequest *key,
              GAsyncReadyCallback    callback,
              gpointer               user_data)
{
  FakePaymentCache *self = FAKE_PAYMENT_CACHE (cache);
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  PayPayment *found = NULL;

  note (self, "lookup");
  if (self->fail_lookup)
    {
      g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_CACHE_READ, "cache read failed");
      return;
    }
  for (guint i = 0; found == NULL && i < self->records->len; i++)
    {
      PayPayment *record = &g_array_index (self->records, PayPayment, i);

      if (key->transaction_id != NULL ? strcmp (record->transaction_id, key->transaction_id) == 0
                                      : record->order_id == key->order_id)
        found = record;
    }
  g_task_return_pointer (task, found != NULL ? g_memdup2 (found, sizeof *found) : NULL, g_free);
}

static gboolean
lookup_finish (PayPaymentCache *cache,
               GAsyncResult    *result,
               PayPayment      *out,
               gboolean        *hit,
               GError         **error)
{
  GError *local_error = NULL;
  g_autofree PayPayment *found = g_task_propagate_pointer (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *hit = found != NULL;
  if (found != NULL)
    *out = *found;
  return TRUE;
}

static void
store_async (PayPaymentCache     *cache,
             const PayPayment    *payment,
             gboolean             created,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  FakePaymentCache *self = FAKE_PAYMENT_CACHE (cache);
  g_autoptr(GTask) task = NULL;
  PayPayment *record;

  note (self, callback != NULL ? "store" : "send");
  if (callback != NULL)
    task = g_task_new (self, NULL, callback, user_data);
  if (self->fail_store)
    {
      if (task != NULL)
        g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_CACHE_WRITE, "cache write failed");
      else
        self->failed_sends++;
      return;
    }
  record = fake_payment_cache_find (self, payment->transaction_id);
  if (record == NULL)
    g_array_append_vals (self->records, payment, 1);
  else if (!created && record->refunded_cents <= payment->refunded_cents)
    *record = *payment;
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static gboolean
store_finish (PayPaymentCache *cache, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
count_lookup (PayPaymentCache *cache, gboolean hit)
{
  FakePaymentCache *self = FAKE_PAYMENT_CACHE (cache);

  if (hit)
    self->hits++;
  else
    self->misses++;
}

static gboolean
is_available (PayPaymentCache *cache)
{
  return FAKE_PAYMENT_CACHE (cache)->available;
}

static void
fake_payment_cache_iface_init (PayPaymentCacheInterface *iface)
{
  iface->lookup_async = lookup_async;
  iface->lookup_finish = lookup_finish;
  iface->store_async = store_async;
  iface->store_finish = store_finish;
  iface->count_lookup = count_lookup;
  iface->is_available = is_available;
}
