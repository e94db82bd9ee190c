/* pay-cache-lookup.c: PayCache's lookups: a payment by transaction id (one HMGET of its
 * record's fields) or by order id (a GET of the order key first, then the record), checked
 * by pay-cache-record. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"
#include "storage/pay-cache-private.h"

#include <string.h>

#include "core/pay-error.h"
#include "storage/pay-cache-record.h"

/* One pay_cache_lookup_async(): by order id, the order key first, then the record. */
typedef struct {
  PayCache           *self;
  gboolean            by_order;
  gint64              order_id;
  gchar               tx[PAY_UUID_STRLEN + 1];
  PayCacheLookupFunc  callback;
  gpointer            user_data;
} Lookup;

static void
lookup_finish (Lookup *lookup, const PayPayment *payment, gboolean failed)
{
  g_autoptr(GError) error = NULL;

  if (failed)
    error = g_error_new_literal (PAY_ERROR, PAY_ERROR_CACHE_READ, "cache read failed");
  lookup->callback (payment, error, lookup->user_data);
  g_object_unref (lookup->self);
  g_free (lookup);
}

static void
lookup_got_record (gboolean ok, const gchar *const *values, const gsize *lens,
                   gpointer user_data)
{
  Lookup *lookup = user_data;
  g_autoptr(GError) decode_error = NULL;
  PayPayment payment;

  if (!ok || values == NULL)
    {
      lookup_finish (lookup, NULL, !ok);
      return;
    }
  if (!pay_cache_record_decode (values, lens, &payment, &decode_error))
    {
      g_debug ("ignoring the cached record of %s: %s", lookup->tx, decode_error->message);
      lookup_finish (lookup, NULL, FALSE);
      return;
    }
  /* A record that does not answer the question asked (a stale order key) is a miss. */
  if (strcmp (payment.transaction_id, lookup->tx) != 0 ||
      (lookup->by_order && payment.order_id != lookup->order_id))
    {
      lookup_finish (lookup, NULL, FALSE);
      return;
    }
  lookup_finish (lookup, &payment, FALSE);
}

static void
lookup_record (Lookup *lookup)
{
  gchar key[sizeof PAY_CACHE_TX_PREFIX + PAY_UUID_STRLEN];

  g_snprintf (key, sizeof key, PAY_CACHE_TX_PREFIX "%s", lookup->tx);
  pay_cache_get_record_async (lookup->self, key, lookup_got_record, lookup);
}

static void
lookup_got_order (gboolean ok, const gchar *value, gsize len, gpointer user_data)
{
  Lookup *lookup = user_data;

  /* Not a transaction id: not ours, a miss. */
  if (!ok || value == NULL || len != PAY_UUID_STRLEN)
    {
      lookup_finish (lookup, NULL, !ok);
      return;
    }
  memcpy (lookup->tx, value, len);
  lookup->tx[len] = '\0';
  lookup_record (lookup);
}

void
pay_cache_lookup_async (PayCache              *self,
                        const PayQueryRequest *key,
                        PayCacheLookupFunc     callback,
                        gpointer               user_data)
{
  Lookup *lookup;

  g_return_if_fail (PAY_IS_CACHE (self));
  g_return_if_fail (key != NULL && callback != NULL);

  lookup = g_new0 (Lookup, 1);
  lookup->self = g_object_ref (self);
  lookup->by_order = key->transaction_id == NULL;
  lookup->order_id = key->order_id;
  lookup->callback = callback;
  lookup->user_data = user_data;
  if (!lookup->by_order)
    {
      /* No record has a transaction id of another length. */
      if (strlen (key->transaction_id) != PAY_UUID_STRLEN)
        {
          lookup_finish (lookup, NULL, FALSE);
          return;
        }
      g_strlcpy (lookup->tx, key->transaction_id, sizeof lookup->tx);
      lookup_record (lookup);
    }
  else
    {
      gchar order_key[sizeof PAY_CACHE_ORDER_PREFIX + 24];

      g_snprintf (order_key, sizeof order_key, PAY_CACHE_ORDER_PREFIX "%" G_GINT64_FORMAT,
                  key->order_id);
      pay_cache_get_async (self, order_key, lookup_got_order, lookup);
    }
}
