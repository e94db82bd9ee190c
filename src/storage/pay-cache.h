/* pay-cache.h: the Redis cache of payment records, driven by hiredis's async API on one
 * GMainContext (the service's main loop). pay_cache_store() may be called from any
 * thread (the command is handed to the context); the _async calls and their callbacks
 * belong to the context's thread. */
#pragma once

#include <glib-object.h>

#include "core/pay-config.h"
#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_CACHE (pay_cache_get_type ())
G_DECLARE_FINAL_TYPE (PayCache, pay_cache, PAY, CACHE, GObject)

/* Key layout (documented in the README):
 *   payment:tx:<transaction_id>  the record as a HASH (pay-cache-record.h), TTL
 *                                settings->ttl_seconds
 *   payment:order:<order_id>     the transaction id, same TTL */
#define PAY_CACHE_TX_PREFIX    "payment:tx:"
#define PAY_CACHE_ORDER_PREFIX "payment:order:"

/* @settings is copied (ttl_seconds 0: keys never expire). @context is where hiredis runs
 * (the main loop's; NULL: the global default context). Drop the last reference on
 * @context's thread, after pay_cache_stop(). */
PayCache *pay_cache_new (const PayRedisSettings *settings, GMainContext *context);

/* Connects in the background; reconnects by itself with capped backoff after a failure.
 * Call on @context's thread. */
void pay_cache_start (PayCache *self);

/* Stops reconnecting and disconnects. Call on @context's thread. */
void pay_cache_stop (PayCache *self);

/* TRUE while a connection to Redis is up (any thread). */
gboolean pay_cache_is_connected (PayCache *self);

/* Stores @payment (copied) under both keys, pipelined on the cache's context. The record
 * key is written by a script that keeps a cached record with a larger refunded total
 * (refunded totals only grow), so a late store of an older read never hides a refund;
 * a record just @created (a charge: its transaction id is new) is written only if its key
 * does not exist, as no older version of it can exist and anything already there is as
 * new or newer. Returns at once; failures are logged and counted. When Redis is not
 * connected nothing is queued: the store just fails. */
void pay_cache_store (PayCache *self, const PayPayment *payment, gboolean created);

/* The outcome of a store: FALSE when Redis failed (counted and logged by the cache). */
typedef void (*PayCacheStoreFunc) (gboolean ok, gpointer user_data);

/* Stores @payment (copied) under both its keys, like pay_cache_store(), and calls
 * @callback (may be NULL) with the outcome, within about settings->timeout_ms. Call it
 * from the thread that runs the cache's context; @callback runs there, possibly before
 * this returns (when Redis is not connected). */
void pay_cache_store_async (PayCache          *self,
                            const PayPayment  *payment,
                            gboolean           created,
                            PayCacheStoreFunc  callback,
                            gpointer           user_data);

/* A lookup's outcome: @payment the cached record (valid during the call), or NULL for a
 * miss or when Redis failed; @error (PAY_ERROR_CACHE_READ) is set only in that case. */
typedef void (*PayCacheLookupFunc) (const PayPayment *payment,
                                    const GError     *error,
                                    gpointer          user_data);

/* Looks up the record @key asks for (by transaction id: one HMGET; by order id: a GET of
 * the order key, then the record). A record that does not decode or does not answer @key
 * is a miss. Same threading as pay_cache_store_async(). */
void pay_cache_lookup_async (PayCache              *self,
                             const PayQueryRequest *key,
                             PayCacheLookupFunc     callback,
                             gpointer               user_data);

guint64 pay_cache_get_error_count (PayCache *self);

/* Counts one lookup of a payment record as a hit or a miss (a failed read is a miss
 * here and an error in pay_cache_get_error_count()). The read path calls it once per
 * lookup; any thread, lock-free. */
void pay_cache_count_lookup (PayCache *self, gboolean hit);

/* Lookups counted so far as hits / misses. Any thread. */
guint64 pay_cache_get_hit_count (PayCache *self);
guint64 pay_cache_get_miss_count (PayCache *self);

G_END_DECLS
