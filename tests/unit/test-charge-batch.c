/* test-charge-batch.c: the charge grouping policy (pay-charge-batch): when waiting
 * charges go out, how many, and whether beyond max_statements; max_statements from the
 * pool size; the running statements' bookkeeping. */
#include <glib.h>

#include "storage/pay-charge-batch.h"

#define TICK_US ((gint64) PAY_CHARGE_BATCH_WAIT_TICK_MS * G_TIME_SPAN_MILLISECOND)
#define ROWS PAY_CHARGE_BATCH_MAX_ROWS

typedef struct {
  const gchar *name;
  guint        pool_size;
  guint        running, running_rows;  /* the statements running */
  guint        waiting;
  gint64       waited_us;              /* by the oldest */
  gboolean     at_tick;
  guint        n;                      /* expected: how many go out (0: they wait) */
  gboolean     late;                   /* expected: beyond max_statements */
} DecideCase;

static const DecideCase decide_cases[] = {
  /* nothing to do */
  { "none-waiting",                 16, 0, 0,   0,   0,             FALSE, 0,   FALSE },
  { "none-waiting-at-tick",         16, 1, 5,   0,   10 * TICK_US,  TRUE,  0,   FALSE },
  /* a lone charge is never held back: with nothing running it goes at once, alone */
  { "lone-nothing-running",         16, 0, 0,   1,   0,             FALSE, 1,   FALSE },
  { "lone-small-pool",              1,  0, 0,   1,   0,             FALSE, 1,   FALSE },
  { "lone-empty-pool-setting",      0,  0, 0,   1,   0,             FALSE, 1,   FALSE },
  /* with nothing running, all that wait go, up to MAX_ROWS */
  { "group-nothing-running",        16, 0, 0,   7,   0,             FALSE, 7,   FALSE },
  { "max-rows-exactly",             16, 0, 0,   ROWS, 0,             FALSE, ROWS, FALSE },
  { "capped-at-max-rows",           16, 0, 0,   ROWS + 9, 0,         FALSE, ROWS, FALSE },
  /* beside a running statement once as many as its rows */
  { "beside-one-row",               16, 1, 1,   1,   0,             FALSE, 1,   FALSE },
  { "beside-equal-rows",            16, 1, 5,   5,   0,             FALSE, 5,   FALSE },
  { "beside-more-rows",             16, 1, 5,   9,   0,             FALSE, 9,   FALSE },
  { "held-fewer-rows",              16, 1, 5,   4,   0,             FALSE, 0,   FALSE },
  { "held-lone-behind-group",       16, 1, 32,  1,   0,             FALSE, 0,   FALSE },
  { "beside-capped-at-max-rows",    16, 1, 32,  40,  0,             FALSE, ROWS, FALSE },
  /* ... as many as their rows on average, when several run */
  { "average-equal",                32, 2, 10,  5,   0,             FALSE, 5,   FALSE },
  { "average-below",                32, 2, 10,  4,   0,             FALSE, 0,   FALSE },
  { "average-uneven-rows",          32, 3, 10,  4,   0,             FALSE, 4,   FALSE },
  { "average-uneven-below",         32, 3, 10,  3,   0,             FALSE, 0,   FALSE },
  /* up to max_statements: one per 8 pooled connections, at least one */
  { "at-max-statements-16",         16, 2, 2,   ROWS, 0,             FALSE, 0,   FALSE },
  { "below-max-statements-32",      32, 3, 3,   1,   0,             FALSE, 1,   FALSE },
  { "at-max-statements-32",         32, 4, 4,   ROWS, 0,             FALSE, 0,   FALSE },
  { "max-one-pool-15",              15, 1, 1,   ROWS, 0,             FALSE, 0,   FALSE },
  { "max-one-pool-1",               1,  1, 1,   ROWS, 0,             FALSE, 0,   FALSE },
  { "max-one-pool-0",               0,  1, 1,   ROWS, 0,             FALSE, 0,   FALSE },
  /* never late outside the tick, however long they waited */
  { "no-late-off-tick",             16, 2, 2,   3,   100 * TICK_US, FALSE, 0,   FALSE },
  /* at the tick: late once the oldest waited a whole tick */
  { "tick-short-of-a-tick",         16, 2, 2,   3,   TICK_US - 1,   TRUE,  0,   FALSE },
  { "tick-waited-a-tick",           16, 2, 2,   3,   TICK_US,       TRUE,  3,   TRUE },
  { "tick-waited-long",             16, 2, 2,   3,   50 * TICK_US,  TRUE,  3,   TRUE },
  { "tick-late-capped",             16, 2, 64,  ROWS * 2, TICK_US,   TRUE,  ROWS, TRUE },
  { "tick-late-behind-average",     16, 1, 32,  1,   TICK_US,       TRUE,  1,   TRUE },
  { "tick-late-beyond-max-1",       4,  1, 1,   2,   TICK_US,       TRUE,  2,   TRUE },
  /* at the tick the rules come first: a group they let go is not late */
  { "tick-rules-first",             16, 0, 0,   3,   TICK_US,       TRUE,  3,   FALSE },
  { "tick-rules-first-beside",      16, 1, 2,   3,   TICK_US,       TRUE,  3,   FALSE },
  { "tick-rules-short-wait",        16, 0, 0,   3,   0,             TRUE,  3,   FALSE },
};

static void
test_decide (gconstpointer data)
{
  const DecideCase *c = data;
  PayChargeBatch batch;
  PayChargeBatchDecision d;

  pay_charge_batch_init (&batch, c->pool_size);
  batch.running = c->running;
  batch.running_rows = c->running_rows;
  d = pay_charge_batch_decide (&batch, c->waiting, c->waited_us, c->at_tick);
  g_assert_cmpuint (d.n, ==, c->n);
  g_assert_cmpint (d.late, ==, c->late);
  g_assert_cmpuint (d.n, <=, c->waiting);
  g_assert_cmpuint (d.n, <=, PAY_CHARGE_BATCH_MAX_ROWS);
}

typedef struct {
  guint pool_size;
  guint max_statements;
} MaxCase;

static const MaxCase max_cases[] = {
  { 0, 1 }, { 1, 1 }, { 7, 1 }, { 8, 1 }, { 15, 1 }, { 16, 2 }, { 17, 2 }, { 24, 3 },
  { 64, 8 }, { 100, 12 },
};

static void
test_max_statements (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (max_cases); i++)
    {
      PayChargeBatch batch;

      pay_charge_batch_init (&batch, max_cases[i].pool_size);
      g_assert_cmpuint (batch.max_statements, ==, max_cases[i].max_statements);
      g_assert_cmpuint (batch.running, ==, 0);
      g_assert_cmpuint (batch.running_rows, ==, 0);
    }
}

/* Started and completed statements move the counts the decision reads. */
static void
test_bookkeeping (void)
{
  PayChargeBatch batch;

  pay_charge_batch_init (&batch, 16);
  g_assert_cmpuint (pay_charge_batch_decide (&batch, 1, 0, FALSE).n, ==, 1);
  pay_charge_batch_started (&batch, 1);
  g_assert_cmpuint (pay_charge_batch_decide (&batch, 1, 0, FALSE).n, ==, 1);
  pay_charge_batch_started (&batch, 1);
  g_assert_cmpuint (batch.running, ==, 2);
  g_assert_cmpuint (batch.running_rows, ==, 2);
  /* two statements run, max_statements for 16: the next waits */
  g_assert_cmpuint (pay_charge_batch_decide (&batch, 10, 0, FALSE).n, ==, 0);
  pay_charge_batch_completed (&batch, 1);
  g_assert_cmpuint (pay_charge_batch_decide (&batch, 10, 0, FALSE).n, ==, 10);
  pay_charge_batch_started (&batch, 10);
  g_assert_cmpuint (batch.running_rows, ==, 11);
  pay_charge_batch_completed (&batch, 10);
  pay_charge_batch_completed (&batch, 1);
  g_assert_cmpuint (batch.running, ==, 0);
  g_assert_cmpuint (batch.running_rows, ==, 0);
}

/* A statement beyond max_statements (late) counts like any other once started. */
static void
test_late_counts (void)
{
  PayChargeBatch batch;
  PayChargeBatchDecision d;

  pay_charge_batch_init (&batch, 8);
  pay_charge_batch_started (&batch, 4);
  d = pay_charge_batch_decide (&batch, 6, TICK_US, TRUE);
  g_assert_cmpuint (d.n, ==, 6);
  g_assert_true (d.late);
  pay_charge_batch_started (&batch, d.n);
  g_assert_cmpuint (batch.running, ==, 2);
  g_assert_cmpuint (batch.running_rows, ==, 10);
  /* beyond max_statements now: only a late group goes, once the oldest waited a tick */
  g_assert_cmpuint (pay_charge_batch_decide (&batch, ROWS, 0, TRUE).n, ==, 0);
  g_assert_true (pay_charge_batch_decide (&batch, 1, TICK_US, TRUE).late);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (decide_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/charge-batch/decide/%s",
                                                decide_cases[i].name);
      g_test_add_data_func (path, &decide_cases[i], test_decide);
    }
  g_test_add_func ("/payment/charge-batch/max-statements", test_max_statements);
  g_test_add_func ("/payment/charge-batch/bookkeeping", test_bookkeeping);
  g_test_add_func ("/payment/charge-batch/late-counts", test_late_counts);

  return g_test_run ();
}
