/* test-rate-limiter.c: the token bucket's arithmetic with the time given by the test (no
 * clock, no sleeps), and the bound on the buckets kept. */
#include "core/pay-rate-limiter.h"

#define S G_USEC_PER_SEC

/* Takes @n tokens from @key at @now, asserting each passes. */
static void
take_n (PayRateLimiter *limiter, const gchar *key, gint64 now, guint n)
{
  for (guint i = 0; i < n; i++)
    g_assert_true (pay_rate_limiter_take (limiter, key, now, NULL));
}

/* Asserts @key is refused at @now, with @retry_us to wait. */
static void
assert_refused (PayRateLimiter *limiter, const gchar *key, gint64 now, gint64 retry_us)
{
  gint64 retry = -1;

  g_assert_false (pay_rate_limiter_take (limiter, key, now, &retry));
  g_assert_cmpint (retry, ==, retry_us);
}

static void
test_off (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (0, 5, 4);

  g_assert_false (pay_rate_limiter_is_enabled (limiter));
  take_n (limiter, "a", 0, 1000);
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 0);
}

/* A new caller has the whole burst; then one token per 1/rate second. */
static void
test_burst_then_rate (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (2, 3, 16);
  gint64 t = 1000 * S;

  g_assert_true (pay_rate_limiter_is_enabled (limiter));
  take_n (limiter, "a", t, 3);
  assert_refused (limiter, "a", t, S / 2);
  assert_refused (limiter, "a", t + S / 4, S / 4);     /* half a token back */
  take_n (limiter, "a", t + S / 2, 1);
  assert_refused (limiter, "a", t + S / 2, S / 2);
  take_n (limiter, "a", t + S, 1);
  /* A refused request takes nothing: still one token at 1.5 s. */
  assert_refused (limiter, "a", t + S, S / 2);
  take_n (limiter, "a", t + S + S / 2, 1);
}

/* Idle for long, a bucket holds the burst, not more; no overflow at the largest values. */
static void
test_capped_at_burst (void)
{
  g_autoptr(PayRateLimiter) small = pay_rate_limiter_new (1, 2, 16);
  g_autoptr(PayRateLimiter) large = pay_rate_limiter_new (1000000, 1000000, 16);
  gint64 day = G_GINT64_CONSTANT (86400) * S;

  take_n (small, "a", 0, 2);
  take_n (small, "a", 365 * day, 2);
  assert_refused (small, "a", 365 * day, S);

  take_n (large, "a", 0, 1000000);
  assert_refused (large, "a", 0, 1);
  take_n (large, "a", 100 * 365 * day, 1000000);
  assert_refused (large, "a", 100 * 365 * day, 1);
}

/* burst 0 is rate_per_second. */
static void
test_burst_default (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (4, 0, 16);

  take_n (limiter, "a", 0, 4);
  assert_refused (limiter, "a", 0, S / 4);
}

/* A wait that is not a whole number of microseconds rounds up. */
static void
test_retry_rounds_up (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (3, 1, 16);

  take_n (limiter, "a", 0, 1);
  assert_refused (limiter, "a", 0, 333334);
  assert_refused (limiter, "a", 1, 333333);
  take_n (limiter, "a", 333334, 1);

  g_assert_cmpuint (pay_rate_limiter_seconds (1), ==, 1);
  g_assert_cmpuint (pay_rate_limiter_seconds (S), ==, 1);
  g_assert_cmpuint (pay_rate_limiter_seconds (S + 1), ==, 2);
  g_assert_cmpuint (pay_rate_limiter_seconds (0), ==, 1);
  g_assert_cmpuint (pay_rate_limiter_seconds (10 * S - 1), ==, 10);
}

/* A clock that goes back adds no tokens. */
static void
test_clock_back (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (1, 1, 16);

  take_n (limiter, "a", 10 * S, 1);
  assert_refused (limiter, "a", 5 * S, S);
  take_n (limiter, "a", 11 * S, 1);
}

static void
test_keys_apart (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (1, 2, 16);

  take_n (limiter, "127.0.0.2", 0, 2);
  assert_refused (limiter, "127.0.0.2", 0, S);
  take_n (limiter, "127.0.0.3", 0, 2);
  assert_refused (limiter, "127.0.0.3", 0, S);
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 2);
}

/* Buckets that refilled are dropped when a new caller comes. */
static void
test_idle_dropped (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (1, 2, 16);

  take_n (limiter, "a", 0, 1);              /* full again at 1 s */
  take_n (limiter, "b", 0, 2);              /* full again at 2 s */
  take_n (limiter, "c", S / 2, 1);          /* full again at 1.5 s */
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 3);
  take_n (limiter, "d", S + S / 4, 1);      /* "a" has refilled; "d" full again at 2.25 s */
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 3);
  take_n (limiter, "e", 2 * S, 1);          /* "b" and "c" too, not "d" */
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 2);
  take_n (limiter, "e", 2 * S, 1);
  assert_refused (limiter, "e", 2 * S, S);
}

/* Never more than max_buckets; past it the least recently used caller loses its bucket
 * (and starts again full), the others keep theirs. */
static void
test_bounded (void)
{
  g_autoptr(PayRateLimiter) limiter = pay_rate_limiter_new (1, 1, 3);

  take_n (limiter, "a", 0, 1);
  take_n (limiter, "b", 0, 1);
  take_n (limiter, "c", 0, 1);
  assert_refused (limiter, "a", 0, S);  /* "a" is now the most recently used */
  take_n (limiter, "d", 0, 1);          /* "b" goes */
  g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), ==, 3);
  assert_refused (limiter, "a", 0, S);
  assert_refused (limiter, "c", 0, S);
  assert_refused (limiter, "d", 0, S);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree gchar *key = g_strdup_printf ("k%u", i);

      take_n (limiter, key, 0, 1);
      g_assert_cmpuint (pay_rate_limiter_get_bucket_count (limiter), <=, 3);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/rate-limiter/off", test_off);
  g_test_add_func ("/payment/rate-limiter/burst-then-rate", test_burst_then_rate);
  g_test_add_func ("/payment/rate-limiter/capped-at-burst", test_capped_at_burst);
  g_test_add_func ("/payment/rate-limiter/burst-default", test_burst_default);
  g_test_add_func ("/payment/rate-limiter/retry-rounds-up", test_retry_rounds_up);
  g_test_add_func ("/payment/rate-limiter/clock-back", test_clock_back);
  g_test_add_func ("/payment/rate-limiter/keys-apart", test_keys_apart);
  g_test_add_func ("/payment/rate-limiter/idle-dropped", test_idle_dropped);
  g_test_add_func ("/payment/rate-limiter/bounded", test_bounded);
  return g_test_run ();
}
