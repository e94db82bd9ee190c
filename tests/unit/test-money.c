/* test-money.c: table-driven tests of the amount-to-cents rule (docs/CONTRACT.md section 3
 * "Amounts"), of the cents-to-double conversion and of the decimal amounts are written as. */
#include <math.h>
#include <string.h>

#include "core/pay-error.h"
#include "domain/pay-money.h"
#include "test-utils.h"

/* The contract's default maximum, 1000000.00, in cents. */
#define DEFAULT_MAX_CENTS G_GINT64_CONSTANT (100000000)
#define UNCHANGED         G_GINT64_CONSTANT (-4242)
/* How many cent values the round-trip test walks through. */
#define ROUND_TRIP_CENTS  200000
/* Every cent value up to this one is formatted and read back. */
#define FORMAT_ALL_CENTS  100000
/* The largest payment.max_amount the configuration accepts, in cents. */
#define CONFIG_MAX_CENTS  G_GINT64_CONSTANT (1000000000000000)

typedef struct {
  const gchar *name;
  gdouble      amount;
  gint64       max_cents;
  gint64       cents;     /* expected; 0: must fail */
  const gchar *message;   /* on failure: how the message ends (amounts written whole) */
} MoneyCase;

#define OK(name, amount, max, cents)  { name, amount, max, cents, NULL }
#define BAD(name, amount, max, part)  { name, amount, max, 0, part }

static const MoneyCase money_cases[] = {
  OK  ("0.1+0.2",          0.1 + 0.2,       DEFAULT_MAX_CENTS, 30),
  OK  ("19.99",            19.99,           DEFAULT_MAX_CENTS, 1999),
  OK  ("0.01",             0.01,            DEFAULT_MAX_CENTS, 1),
  OK  ("1",                1.0,             DEFAULT_MAX_CENTS, 100),
  OK  ("100",              100.0,           DEFAULT_MAX_CENTS, 10000),
  OK  ("0.29",             0.29,            DEFAULT_MAX_CENTS, 29),
  OK  ("1.15",             1.15,            DEFAULT_MAX_CENTS, 115),
  OK  ("4.35",             4.35,            DEFAULT_MAX_CENTS, 435),
  OK  ("exactly-max",      1000000.00,      DEFAULT_MAX_CENTS, 100000000),
  OK  ("max-minus-cent",   999999.99,       DEFAULT_MAX_CENTS, 99999999),
  OK  ("tiny-max",         0.01,            1,                 1),
  OK  ("within-tolerance", 19.99 + 1e-10,   DEFAULT_MAX_CENTS, 1999),
  OK  ("just-within-tolerance", 1.000000009, DEFAULT_MAX_CENTS, 100),   /* off by 9e-7 cents */
  BAD ("just-beyond-tolerance", 1.00000002, DEFAULT_MAX_CENTS, "more than two decimals"),
  BAD ("19.99001",         19.99001,        DEFAULT_MAX_CENTS, "more than two decimals"),
  BAD ("1.005",            1.005,           DEFAULT_MAX_CENTS, "more than two decimals"),
  BAD ("0.001",            0.001,           DEFAULT_MAX_CENTS, "more than two decimals"),
  BAD ("19.991",           19.991,          DEFAULT_MAX_CENTS, "more than two decimals"),
  BAD ("1e-9",             1e-9,            DEFAULT_MAX_CENTS, "less than one cent"),
  BAD ("min-subnormal",    4.9e-324,        DEFAULT_MAX_CENTS, "less than one cent"),
  BAD ("zero",             0.0,             DEFAULT_MAX_CENTS, "greater than zero"),
  BAD ("negative-zero",    -0.0,            DEFAULT_MAX_CENTS, "greater than zero"),
  BAD ("negative",         -5.0,            DEFAULT_MAX_CENTS, "greater than zero"),
  BAD ("negative-cent",    -0.01,           DEFAULT_MAX_CENTS, "greater than zero"),
  BAD ("nan",              NAN,             DEFAULT_MAX_CENTS, "not a finite number"),
  BAD ("inf",              INFINITY,        DEFAULT_MAX_CENTS, "not a finite number"),
  BAD ("-inf",             -INFINITY,       DEFAULT_MAX_CENTS, "not a finite number"),
  BAD ("above-max",        1000000.01,      DEFAULT_MAX_CENTS, "above the maximum of 1000000"),
  BAD ("far-above-max",    5e9,             DEFAULT_MAX_CENTS, "above the maximum of 1000000"),
  BAD ("1e300",            1e300,           DEFAULT_MAX_CENTS, "above the maximum of 1000000"),
  BAD ("max-double",       1.7976931348623157e308, DEFAULT_MAX_CENTS, "above the maximum of 1000000"),
  BAD ("above-5.10-max",   5.11,            510,               "above the maximum of 5.1"),
  BAD ("above-19.99-max",  20.0,            1999,              "above the maximum of 19.99"),
  BAD ("above-0.10-max",   0.11,            10,                "above the maximum of 0.1"),
  BAD ("above-tiny-max",   0.02,            1,                 "above the maximum of 0.01"),
  /* Around 2^63 cents: the conversion to gint64 must not overflow even with the
   * largest maximum there is. */
  BAD ("2^63-cents",       92233720368547758.08, G_MAXINT64,   "above the maximum of 92233720368547758.07"),
  BAD ("1e17",             1e17,            G_MAXINT64,        "above the maximum of 92233720368547758.07"),
  BAD ("1e300-no-max",     1e300,           G_MAXINT64,        "above the maximum of 92233720368547758.07"),
};

static void
test_money_case (gconstpointer data)
{
  const MoneyCase *c = data;
  g_autoptr(GError) error = NULL;
  gint64 cents = UNCHANGED;
  gboolean ok;

  ok = pay_money_to_cents (c->amount, c->max_cents, &cents, &error);
  if (c->message == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpint (cents, ==, c->cents);
    }
  else
    {
      g_assert_false (ok);
      g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_AMOUNT);
      g_assert_true (g_str_has_prefix (error->message, "invalid amount: "));
      if (!g_str_has_suffix (error->message, c->message))
        g_error ("message \"%s\" does not end with \"%s\"", error->message, c->message);
      g_assert_cmpint (cents, ==, UNCHANGED);
    }
}

typedef struct {
  gint64  cents;
  gdouble amount;
} FromCentsCase;

static const FromCentsCase from_cents_cases[] = {
  { 1,         0.01 },
  { 30,        0.3 },
  { 1999,      19.99 },
  { 100,       1.0 },
  { 100000000, 1000000.0 },
  { 0,         0.0 },
};

static void
test_from_cents_case (gconstpointer data)
{
  const FromCentsCase *c = data;

  /* Exact equality on purpose: the result must be the double nearest the decimal. */
  g_assert_true (pay_money_from_cents (c->cents) == c->amount);
}

/* Every cent value survives the trip to a double and back, and prints with two
 * decimals as the same number. */
static void
test_round_trip (void)
{
  for (gint64 cents = 1; cents <= ROUND_TRIP_CENTS; cents++)
    {
      gdouble amount = pay_money_from_cents (cents);
      g_autoptr(GError) error = NULL;
      g_autofree gchar *printed = g_strdup_printf ("%.2f", amount);
      g_autofree gchar *expected =
        g_strdup_printf ("%" G_GINT64_FORMAT ".%02d", cents / 100, (gint) (cents % 100));
      gint64 back = 0;

      g_assert_true (pay_money_to_cents (amount, DEFAULT_MAX_CENTS, &back, &error));
      g_assert_no_error (error);
      g_assert_cmpint (back, ==, cents);
      g_assert_cmpstr (printed, ==, expected);
    }
}

typedef struct {
  gint64       cents;
  const gchar *literal;
} FormatCase;

static const FormatCase format_cases[] = {
  { 0,                   "0" },
  { 1,                   "0.01" },
  { 10,                  "0.1" },
  { 99,                  "0.99" },
  { 100,                 "1" },
  { 500,                 "5" },
  { 510,                 "5.1" },
  { 1999,                "19.99" },
  { 2000,                "20" },
  { 100000000,           "1000000" },
  { CONFIG_MAX_CENTS,    "10000000000000" },
  { CONFIG_MAX_CENTS - 1, "9999999999999.99" },
  { G_MAXINT64,          "92233720368547758.07" },
};

static void
test_format_case (gconstpointer data)
{
  const FormatCase *c = data;
  gchar buf[PAY_MONEY_FORMAT_BYTES];
  gsize length = pay_money_format_major (c->cents, buf);

  g_assert_cmpstr (buf, ==, c->literal);
  g_assert_cmpuint (length, ==, strlen (c->literal));
}

/* Reads @text as a client would (a double) and rounds it to cents; -1 when @text is
 * not a number through to its end. */
static gint64
read_back_cents (const gchar *text)
{
  gchar *end = NULL;
  gdouble amount = g_ascii_strtod (text, &end);

  if (end == text || *end != '\0' || !isfinite (amount))
    return -1;
  return (gint64) round (amount * 100);
}

/* @cents written by pay_money_format_major() reads back to @cents, has the shape of
 * the contract (no trailing zero, no trailing point, no leading zero but the one
 * before the point), and no shorter decimal reads back to @cents: the two decimals
 * one digit shorter around it (the literal cut by its last digit, and that plus one
 * in its last kept place) read back to other cents. */
static void
assert_formats_exactly (gint64 cents)
{
  gchar buf[PAY_MONEY_FORMAT_BYTES];
  gsize length = pay_money_format_major (cents, buf);
  const gchar *point = strchr (buf, '.');

  g_assert_cmpuint (length, ==, strlen (buf));
  g_assert_cmpint (read_back_cents (buf), ==, cents);
  g_assert_true (g_ascii_isdigit (buf[0]));
  g_assert_false (buf[0] == '0' && length > 1 && buf[1] != '.');

  if (point != NULL)
    {
      gsize decimals = length - (gsize) (point - buf) - 1;
      gint64 unit = decimals == 1 ? 100 : 10;   /* cents in the last kept place */
      gint64 floor_cents = cents - cents % unit;
      gchar shorter[PAY_MONEY_FORMAT_BYTES];

      g_assert_cmpuint (decimals, >=, 1);
      g_assert_cmpuint (decimals, <=, 2);
      g_assert_cmpint (buf[length - 1], !=, '0');

      /* The literal cut by its last digit (and its point when no digit is left). */
      memcpy (shorter, buf, length - 1);
      shorter[decimals == 1 ? length - 2 : length - 1] = '\0';
      g_assert_cmpint (read_back_cents (shorter), ==, floor_cents);
      g_assert_cmpint (floor_cents, !=, cents);
      g_assert_cmpint (floor_cents + unit, !=, cents);
    }
  else
    {
      g_assert_cmpint (cents % 100, ==, 0);
    }
}

static void
test_format_all_cents (void)
{
  for (gint64 cents = 0; cents <= FORMAT_ALL_CENTS; cents++)
    assert_formats_exactly (cents);
}

/* Around every power of ten up to the configuration's largest maximum, and below that
 * maximum itself. */
static void
test_format_large_cents (void)
{
  for (gint64 power = 100000; power <= CONFIG_MAX_CENTS; power *= 10)
    for (gint64 cents = power - 1000; cents <= power + 1000; cents++)
      if (cents <= CONFIG_MAX_CENTS)
        assert_formats_exactly (cents);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (money_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/money/to-cents/%s", money_cases[i].name);

      g_test_add_data_func (path, &money_cases[i], test_money_case);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (from_cents_cases); i++)
    {
      g_autofree gchar *path =
        g_strdup_printf ("/payment/money/from-cents/%" G_GINT64_FORMAT, from_cents_cases[i].cents);

      g_test_add_data_func (path, &from_cents_cases[i], test_from_cents_case);
    }
  g_test_add_func ("/payment/money/round-trip", test_round_trip);
  for (gsize i = 0; i < G_N_ELEMENTS (format_cases); i++)
    {
      g_autofree gchar *path =
        g_strdup_printf ("/payment/money/format/%" G_GINT64_FORMAT, format_cases[i].cents);

      g_test_add_data_func (path, &format_cases[i], test_format_case);
    }
  g_test_add_func ("/payment/money/format/all-cents", test_format_all_cents);
  g_test_add_func ("/payment/money/format/large-cents", test_format_large_cents);

  return g_test_run ();
}
