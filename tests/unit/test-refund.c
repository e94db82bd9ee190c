/* test-refund.c: the refund rules (pay-refund): planning against the balance, status
 * transitions, the replay rule and the request's shape. */
#include <glib.h>

#include "core/pay-error.h"
#include "domain/pay-refund.h"

typedef struct {
  const gchar *name;
  gint64       amount, refunded;
  gboolean     has_requested;
  gint64       requested;
  gint         code;                /* 0: planned */
  gint64       refund, total;
  PayStatus    status;
} PlanCase;

static const PlanCase plan_cases[] = {
  { "partial",          10000, 0,     TRUE,  1000,  0, 1000,  1000,  PAY_STATUS_PARTIALLY_REFUNDED },
  { "second-partial",   10000, 1000,  TRUE,  2500,  0, 2500,  3500,  PAY_STATUS_PARTIALLY_REFUNDED },
  { "exact-rest",       10000, 9000,  TRUE,  1000,  0, 1000,  10000, PAY_STATUS_REFUNDED },
  { "whole-at-once",    10000, 0,     TRUE,  10000, 0, 10000, 10000, PAY_STATUS_REFUNDED },
  { "rest-absent",      10000, 2500,  FALSE, 0,     0, 7500,  10000, PAY_STATUS_REFUNDED },
  { "rest-of-unrefunded", 1999, 0,    FALSE, 0,     0, 1999,  1999,  PAY_STATUS_REFUNDED },
  { "one-cent-over",    10000, 9000,  TRUE,  1001,  PAY_ERROR_REFUND_EXCEEDS },
  { "over-whole",       10000, 0,     TRUE,  10001, PAY_ERROR_REFUND_EXCEEDS },
  { "after-full",       10000, 10000, TRUE,  1,     PAY_ERROR_REFUND_EXCEEDS },
  { "rest-after-full",  10000, 10000, FALSE, 0,     PAY_ERROR_REFUND_EXCEEDS },
};

static void
test_plan (gconstpointer data)
{
  const PlanCase *c = data;
  PayRefundPlan plan = { -1, -1, 0 };
  g_autoptr(GError) error = NULL;
  gboolean ok = pay_refund_plan (c->amount, c->refunded, c->has_requested, c->requested,
                                 &plan, &error);

  if (c->code != 0)
    {
      g_assert_false (ok);
      g_assert_error (error, PAY_ERROR, c->code);
      g_assert_cmpint (plan.refund_cents, ==, -1);   /* untouched */
      return;
    }
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (plan.refund_cents, ==, c->refund);
  g_assert_cmpint (plan.total_refunded_cents, ==, c->total);
  g_assert_cmpint (plan.status, ==, c->status);
}

typedef struct {
  gint64       amount, refunded, requested;
  const gchar *message;   /* the whole message: the balance as its shortest decimal */
} BalanceMessageCase;

static const BalanceMessageCase balance_message_cases[] = {
  { 1000, 490,  511,  "refund exceeds the refundable balance of 5.1" },
  { 1999, 0,    2000, "refund exceeds the refundable balance of 19.99" },
  { 10000, 9000, 1001, "refund exceeds the refundable balance of 10" },
  { 100, 99,    2,    "refund exceeds the refundable balance of 0.01" },
  { 100, 90,    11,   "refund exceeds the refundable balance of 0.1" },
};

/* The balance leaves in the message as pay_money_format_major() writes amounts, never
 * with a fixed two decimals. */
static void
test_balance_message (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (balance_message_cases); i++)
    {
      const BalanceMessageCase *c = &balance_message_cases[i];
      PayRefundPlan plan = { 0 };
      g_autoptr(GError) error = NULL;

      g_assert_false (pay_refund_plan (c->amount, c->refunded, TRUE, c->requested, &plan, &error));
      g_assert_error (error, PAY_ERROR, PAY_ERROR_REFUND_EXCEEDS);
      g_assert_cmpstr (error->message, ==, c->message);
    }
}

static void
test_status_for (void)
{
  g_assert_cmpint (pay_refund_status_for (100, 0), ==, PAY_STATUS_PAID);
  g_assert_cmpint (pay_refund_status_for (100, 1), ==, PAY_STATUS_PARTIALLY_REFUNDED);
  g_assert_cmpint (pay_refund_status_for (100, 99), ==, PAY_STATUS_PARTIALLY_REFUNDED);
  g_assert_cmpint (pay_refund_status_for (100, 100), ==, PAY_STATUS_REFUNDED);
}

static void
test_replay (void)
{
  PayRefund stored = { .has_requested = TRUE, .requested_cents = 1000,
                       .has_reason = TRUE, .reason = "damaged" };
  PayRefund rest = { .has_requested = FALSE, .has_reason = FALSE };

  g_assert_true (pay_refund_is_replay (&stored, TRUE, 1000, "damaged"));
  g_assert_false (pay_refund_is_replay (&stored, TRUE, 1001, "damaged"));
  g_assert_false (pay_refund_is_replay (&stored, FALSE, 0, "damaged"));
  g_assert_false (pay_refund_is_replay (&stored, TRUE, 1000, "Damaged"));
  g_assert_false (pay_refund_is_replay (&stored, TRUE, 1000, NULL));
  g_assert_true (pay_refund_is_replay (&rest, FALSE, 0, NULL));
  /* "the rest" is not replayed by naming the amount it came to */
  g_assert_false (pay_refund_is_replay (&rest, TRUE, 1000, NULL));
  g_assert_false (pay_refund_is_replay (&rest, FALSE, 0, ""));
}

typedef struct {
  const gchar *name;
  const gchar *transaction_id, *key, *reason;
  gboolean     ok;
} ShapeCase;

#define TX "8e0237d4-60c0-49f5-a975-1759e545db71"
#define K64 "0123456789012345678901234567890123456789012345678901234567890123"
/* 64 characters of two bytes each */
#define K64_UTF8 "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"

static const ShapeCase shape_cases[] = {
  { "ok",               TX,   "r1",         NULL,  TRUE },
  { "ok-reason",        TX,   "r1",         "why", TRUE },
  { "key-64",           TX,   K64,          NULL,  TRUE },
  { "key-64-utf8",      TX,   K64_UTF8,     NULL,  TRUE },
  { "key-65",           TX,   K64 "x",      NULL,  FALSE },
  { "key-empty",        TX,   "",           NULL,  FALSE },
  { "key-missing",      TX,   NULL,         NULL,  FALSE },
  { "key-bad-utf8",     TX,   "\xff\xfe",   NULL,  FALSE },
  { "tx-missing",       NULL, "r1",         NULL,  FALSE },
  { "tx-empty",         "",   "r1",         NULL,  FALSE },
  { "reason-bad-utf8",  TX,   "r1",         "\xc3", FALSE },
};

static void
test_shape (gconstpointer data)
{
  const ShapeCase *c = data;
  PayRefundRequest request = { .transaction_id = c->transaction_id,
                               .refund_request_id = c->key, .reason = c->reason };
  g_autoptr(GError) error = NULL;

  if (c->ok)
    {
      g_assert_true (pay_refund_validate_shape (&request, &error));
      g_assert_no_error (error);
    }
  else
    {
      g_assert_false (pay_refund_validate_shape (&request, &error));
      g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST);
    }
}

static void
test_reason_length (void)
{
  g_autofree gchar *r256 = g_strnfill (256, 'a');
  g_autofree gchar *r257 = g_strnfill (257, 'a');
  PayRefundRequest request = { .transaction_id = TX, .refund_request_id = "k" };
  g_autoptr(GError) error = NULL;

  request.reason = r256;
  g_assert_true (pay_refund_validate_shape (&request, NULL));
  request.reason = r257;
  g_assert_false (pay_refund_validate_shape (&request, &error));
  g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (plan_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/refund/plan/%s", plan_cases[i].name);
      g_test_add_data_func (path, &plan_cases[i], test_plan);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (shape_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/refund/shape/%s", shape_cases[i].name);
      g_test_add_data_func (path, &shape_cases[i], test_shape);
    }
  g_test_add_func ("/payment/refund/balance-message", test_balance_message);
  g_test_add_func ("/payment/refund/status-for", test_status_for);
  g_test_add_func ("/payment/refund/replay", test_replay);
  g_test_add_func ("/payment/refund/reason-length", test_reason_length);

  return g_test_run ();
}
