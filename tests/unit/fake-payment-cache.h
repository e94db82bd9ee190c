/* fake-payment-cache.h: an in-memory PayPaymentCache for the service's unit tests. It
 * keeps records in an array (a store never replaces a record with a larger refunded
 * total, nor, for a new payment, any record), answers on the next main loop iteration,
 * writes each call to a journal, counts hits and misses, and fails reads or writes on
 * demand. */
#pragma once

#include "domain/pay-payment-cache.h"

G_BEGIN_DECLS

#define FAKE_TYPE_PAYMENT_CACHE (fake_payment_cache_get_type ())
G_DECLARE_FINAL_TYPE (FakePaymentCache, fake_payment_cache, FAKE, PAYMENT_CACHE, GObject)

struct _FakePaymentCache
{
  GObject   parent_instance;

  GString  *journal;       /* borrowed, may be NULL: "cache.lookup ", "cache.store " (a
                            * store the caller waits for), "cache.send " (one it does not) */
  GArray   *records;       /* of PayPayment */
  gboolean  fail_lookup;   /* lookups fail with PAY_ERROR_CACHE_READ */
  gboolean  fail_store;    /* stores fail (PAY_ERROR_CACHE_WRITE) and keep nothing */
  gboolean  available;     /* what is_available answers */
  guint     hits;          /* count_lookup() calls */
  guint     misses;
  guint     failed_sends;  /* failed stores nobody waited for */
};

FakePaymentCache *fake_payment_cache_new (GString *journal);

/* The cached record with @transaction_id, or NULL. */
PayPayment *fake_payment_cache_find (FakePaymentCache *self, const gchar *transaction_id);

G_END_DECLS
