/* pay-rate-limiter.h: token buckets per caller (limits.rate_per_second, limits.burst;
 * docs/CONTRACT.md section 6), shared by both transports. Created by the app; one
 * thread (the main loop) uses it: no locking. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PAY_TYPE_RATE_LIMITER (pay_rate_limiter_get_type ())
G_DECLARE_FINAL_TYPE (PayRateLimiter, pay_rate_limiter, PAY, RATE_LIMITER, GObject)

/* Buckets the service keeps at most (the app's @max_buckets). A bucket costs 112 bytes of
 * heap with its key and hash table entry when the key is a full IPv6 address, 144 with a
 * 68-character key (measured with mallinfo2): 65536 of them take 7.3 to 9.5 MB. */
#define PAY_RATE_LIMITER_MAX_BUCKETS 65536

/* Each caller (a key string) gets a bucket of @burst tokens (0: @rate_per_second) that
 * refills at @rate_per_second; a request takes one. @rate_per_second 0: no limit (every
 * request passes, no bucket is kept). At most @max_buckets (>= 1) buckets are kept: a
 * bucket that has refilled is the same as none and is dropped; past the bound, the
 * bucket used least recently is dropped (its caller starts again with a full bucket). */
PayRateLimiter *pay_rate_limiter_new (guint rate_per_second, guint burst, guint max_buckets);

/* Whether requests are limited at all (rate_per_second > 0). */
gboolean pay_rate_limiter_is_enabled (PayRateLimiter *self);

/* Takes a token from @key's bucket at @now_us (monotonic microseconds; the transports
 * pass g_get_monotonic_time(), tests a time of their own). TRUE: the request may go on.
 * FALSE: refused; *@retry_after_us (may be NULL) is the time until a token is back. */
gboolean pay_rate_limiter_take (PayRateLimiter *self,
                                const gchar    *key,
                                gint64          now_us,
                                gint64         *retry_after_us);

/* @retry_after_us in whole seconds, rounded up, at least 1 (HTTP's Retry-After). */
guint pay_rate_limiter_seconds (gint64 retry_after_us);

/* Buckets kept now (for tests). */
guint pay_rate_limiter_get_bucket_count (PayRateLimiter *self);

G_END_DECLS
