/* pay-cache.h: the Redis cache of payment records, driven by hiredis's async API on one
 * GMainContext. Its entry points may be called from any thread: commands are handed to
 * the cache's context, and blocking variants wait for the reply (for worker threads). */
#pragma once

#include <glib-object.h>

#include "core/pay-config.h"
#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_CACHE (pay_cache_get_type ())
G_DECLARE_FINAL_TYPE (PayCache, pay_cache, PAY, CACHE, GObject)

/* Key layout (documented in the README):
 *   payment:tx:<transaction_id>  the record as JSON, TTL settings->ttl_seconds
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
 * (refunded totals only grow), so a late store of an older read never hides a refund.
 * Returns at once; failures are logged and counted. When Redis is not connected nothing
 * is queued: the store just fails. Any thread. */
void pay_cache_store (PayCache *self, const PayPayment *payment);

/* Like pay_cache_store() but waits for Redis's answer (at most settings->timeout_ms).
 * PAY_ERROR_CACHE_WRITE on any failure. Call from a worker thread, never from the
 * cache's own context. */
gboolean pay_cache_store_blocking (PayCache *self, const PayPayment *payment, GError **error);

/* GET @key, waiting for Redis's answer (at most settings->timeout_ms). *@value gets the
 * value (free with g_bytes_unref), or NULL when the key does not exist.
 * PAY_ERROR_CACHE_READ on any failure (counted like a failed store). Call from a worker
 * thread, never from the cache's own context. */
gboolean pay_cache_get_blocking (PayCache     *self,
                                 const gchar  *key,
                                 GBytes      **value,
                                 GError      **error);

/* Looks the payment named by @key (exactly one key set) up in the cache: by
 * transaction id one GET, by order id two (the order key, then the record). *@found is
 * FALSE on a miss, which includes a record that does not decode or does not match the
 * key asked for. PAY_ERROR_CACHE_READ when Redis fails. Worker threads only. */
gboolean pay_cache_fetch_blocking (PayCache              *self,
                                   const PayQueryRequest *key,
                                   PayPayment            *out,
                                   gboolean              *found,
                                   GError               **error);

/* How many cache failures there have been: stores that failed (not connected, refused,
 * connection lost, no reply in time) plus failed connection attempts and lost
 * connections. Warnings are logged once per change from working to failing, not per
 * failure; this counter is the per-failure record. Any thread. */
guint64 pay_cache_get_error_count (PayCache *self);

/* Counts one lookup of a payment record as a hit or a miss (a failed read is a miss
 * here and an error in pay_cache_get_error_count()). The read path calls it once per
 * lookup; any thread, lock-free. */
void pay_cache_count_lookup (PayCache *self, gboolean hit);

/* Lookups counted so far as hits / misses. Any thread. */
guint64 pay_cache_get_hit_count (PayCache *self);
guint64 pay_cache_get_miss_count (PayCache *self);

/* Decodes a record read from PAY_CACHE_TX_PREFIX<id> (@len bytes of @json) into *@out.
 * PAY_ERROR_CACHE_READ when it is not a complete, well-typed record (the caller then
 * treats it as a miss); *@out is untouched on failure. The format is that of
 * src/storage/pay-payment-json.h. */
gboolean pay_cache_decode_payment (const gchar *json,
                                   gsize        len,
                                   PayPayment  *out,
                                   GError     **error);

G_END_DECLS
