/* pay-rate-limiter.c: token buckets in integer micro-tokens (no floating point), kept in
 * a hash table bounded by a least-recently-used list (see pay-rate-limiter.h). */
#include "core/pay-rate-limiter.h"

/* A token is a million micro-tokens: a bucket refilling at R tokens per second gains R
 * micro-tokens per microsecond. With R and the burst at most 10^6 (the configuration's
 * bound), a full bucket holds at most 10^12 micro-tokens: far from gint64's limits. */
#define MICRO_TOKENS G_GINT64_CONSTANT (1000000)

typedef struct {
  gchar  *key;
  gint64  tokens;       /* micro-tokens at updated_us */
  gint64  updated_us;
  GList   link;         /* in PayRateLimiter.lru; data is the bucket */
} Bucket;

struct _PayRateLimiter
{
  GObject parent_instance;

  gint64      rate;          /* tokens per second = micro-tokens per microsecond */
  gint64      capacity;      /* micro-tokens of a full bucket */
  guint       max_buckets;
  GHashTable *buckets;       /* key (the bucket's) -> Bucket*, owned */
  GQueue      lru;           /* the buckets, most recently used first */
};

G_DEFINE_FINAL_TYPE (PayRateLimiter, pay_rate_limiter, G_TYPE_OBJECT)

static void
bucket_free (gpointer data)
{
  Bucket *bucket = data;

  g_free (bucket->key);
  g_free (bucket);
}

static void
pay_rate_limiter_init (PayRateLimiter *self)
{
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, bucket_free);
  g_queue_init (&self->lru);
}

static void
pay_rate_limiter_finalize (GObject *object)
{
  PayRateLimiter *self = PAY_RATE_LIMITER (object);

  g_hash_table_unref (self->buckets);   /* frees the buckets, the list's links with them */
  G_OBJECT_CLASS (pay_rate_limiter_parent_class)->finalize (object);
}

static void
pay_rate_limiter_class_init (PayRateLimiterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pay_rate_limiter_finalize;
}

PayRateLimiter *
pay_rate_limiter_new (guint rate_per_second, guint burst, guint max_buckets)
{
  PayRateLimiter *self = g_object_new (PAY_TYPE_RATE_LIMITER, NULL);

  g_warn_if_fail (max_buckets >= 1);

  self->rate = rate_per_second;
  self->capacity = (burst > 0 ? burst : rate_per_second) * MICRO_TOKENS;
  self->max_buckets = MAX (max_buckets, 1);
  return self;
}

gboolean
pay_rate_limiter_is_enabled (PayRateLimiter *self)
{
  g_return_val_if_fail (PAY_IS_RATE_LIMITER (self), FALSE);
  return self->rate > 0;
}

/* Microseconds @bucket needs from its last update to be full again. */
static gint64
time_to_full (PayRateLimiter *self, const Bucket *bucket)
{
  return (self->capacity - bucket->tokens + self->rate - 1) / self->rate;
}

/* Brings @bucket to @now_us. A clock that went back adds nothing. */
static void
refill (PayRateLimiter *self, Bucket *bucket, gint64 now_us)
{
  gint64 elapsed = now_us - bucket->updated_us;

  if (elapsed <= 0)
    return;
  /* Compared before multiplying: a long idle time times the rate could overflow. */
  if (elapsed >= time_to_full (self, bucket))
    bucket->tokens = self->capacity;
  else
    bucket->tokens += elapsed * self->rate;
  bucket->updated_us = now_us;
}

static void
drop (PayRateLimiter *self, Bucket *bucket)
{
  g_queue_unlink (&self->lru, &bucket->link);
  g_hash_table_remove (self->buckets, bucket->key);
}

/* Drops the least recently used buckets as long as they have refilled by @now_us (one
 * that is full again is the same as none), then, with the table at its bound, the least
 * recently used one anyway: each bucket is dropped once, so this costs O(1) amortized. */
static void
drop_idle (PayRateLimiter *self, gint64 now_us)
{
  GList *last;

  while ((last = g_queue_peek_tail_link (&self->lru)) != NULL)
    {
      Bucket *bucket = last->data;

      if (now_us - bucket->updated_us < time_to_full (self, bucket))
        break;
      drop (self, bucket);
    }
  if (g_hash_table_size (self->buckets) >= self->max_buckets)
    drop (self, g_queue_peek_tail (&self->lru));
}

static Bucket *
bucket_for (PayRateLimiter *self, const gchar *key, gint64 now_us)
{
  Bucket *bucket = g_hash_table_lookup (self->buckets, key);

  if (bucket != NULL)
    {
      g_queue_unlink (&self->lru, &bucket->link);
      g_queue_push_head_link (&self->lru, &bucket->link);
      return bucket;
    }
  drop_idle (self, now_us);
  bucket = g_new0 (Bucket, 1);
  bucket->key = g_strdup (key);
  bucket->tokens = self->capacity;
  bucket->updated_us = now_us;
  bucket->link.data = bucket;
  g_hash_table_insert (self->buckets, bucket->key, bucket);
  g_queue_push_head_link (&self->lru, &bucket->link);
  return bucket;
}

gboolean
pay_rate_limiter_take (PayRateLimiter *self,
                       const gchar    *key,
                       gint64          now_us,
                       gint64         *retry_after_us)
{
  Bucket *bucket;

  g_return_val_if_fail (PAY_IS_RATE_LIMITER (self) && key != NULL, TRUE);

  if (self->rate == 0)
    return TRUE;
  bucket = bucket_for (self, key, now_us);
  refill (self, bucket, now_us);
  if (bucket->tokens >= MICRO_TOKENS)
    {
      bucket->tokens -= MICRO_TOKENS;
      return TRUE;
    }
  if (retry_after_us != NULL)
    *retry_after_us = (MICRO_TOKENS - bucket->tokens + self->rate - 1) / self->rate;
  return FALSE;
}

guint
pay_rate_limiter_seconds (gint64 retry_after_us)
{
  return (guint) MAX ((retry_after_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, 1);
}

guint
pay_rate_limiter_get_bucket_count (PayRateLimiter *self)
{
  g_return_val_if_fail (PAY_IS_RATE_LIMITER (self), 0);
  return g_hash_table_size (self->buckets);
}
