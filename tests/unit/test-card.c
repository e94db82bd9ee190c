/* test-card.c: table-driven tests of card validation (brand, length, Luhn, CVV, expiry)
 * against docs/CONTRACT.md section 3 "Cards". */
#include <string.h>

#include "core/pay-error.h"
#include "domain/pay-card.h"
#include "test-utils.h"

/* The clock for cases that do not set their own: mid-2026, UTC. */
#define DEFAULT_NOW   "2026-06-15T12:00:00Z"
#define GOOD_CVV      737
#define GOOD_AMEX_CVV 8642
#define GOOD_YEAR     2030
#define GOOD_MONTH    12
/* Digits used to fill generated numbers between the prefix and the check digit. */
#define FILLER        "8730194625"

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                            */
/* ---------------------------------------------------------------------------------- */

/* The Luhn check digit for @payload, written independently of the code under test:
 * walking from the right, the digit next to the check digit is doubled first. */
static gchar
luhn_check_digit (const gchar *payload)
{
  gsize len = strlen (payload);
  guint sum = 0;

  for (gsize i = 0; i < len; i++)
    {
      guint d = (guint) (payload[len - 1 - i] - '0');

      if (i % 2 == 0)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
  return (gchar) ('0' + (10 - sum % 10) % 10);
}

/* A @length-digit number starting with @prefix whose check digit passes Luhn, or fails
 * it when @break_luhn. */
static gchar *
make_number (const gchar *prefix, guint length, gboolean break_luhn)
{
  GString *s = g_string_new (prefix);
  gchar check;

  for (gsize i = 0; s->len < length - 1; i++)
    g_string_append_c (s, FILLER[i % strlen (FILLER)]);
  check = luhn_check_digit (s->str);
  if (break_luhn)
    check = (gchar) ('0' + (check - '0' + 1) % 10);
  g_string_append_c (s, check);
  return g_string_free (s, FALSE);
}

static GDateTime *
parse_now (const gchar *iso)
{
  GDateTime *now = g_date_time_new_from_iso8601 (iso != NULL ? iso : DEFAULT_NOW, NULL);

  g_assert_nonnull (now);
  return now;
}

/* The longest run of ASCII digits in @text. */
static gsize
longest_digit_run (const gchar *text)
{
  gsize best = 0, run = 0;

  for (const gchar *p = text; *p != '\0'; p++)
    {
      run = g_ascii_isdigit (*p) ? run + 1 : 0;
      best = MAX (best, run);
    }
  return best;
}

/* Asserts the failure is PAY_ERROR_INVALID_CARD, mentions @part, and gives away neither
 * the card number (nor any 5-digit piece of it) nor the CVV. */
static void
assert_card_error (const GError *error, const gchar *part, const gchar *number, gint32 cvv)
{
  g_autofree gchar *cvv_text = g_strdup_printf ("%d", cvv);

  g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_CARD);
  g_assert_true (g_str_has_prefix (error->message, "invalid credit card: "));
  if (part != NULL && strstr (error->message, part) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, part);
  g_assert_cmpuint (longest_digit_run (error->message), <, 5);
  if (number != NULL && *number != '\0')
    g_assert_null (strstr (error->message, number));
  if (cvv >= 100)
    g_assert_null (strstr (error->message, cvv_text));
}

static gboolean
validate (const gchar *number, gint32 cvv, gint32 year, gint32 month, const gchar *now_iso,
          PayCardSummary *out, GError **error)
{
  g_autoptr(GDateTime) now = parse_now (now_iso);

  return pay_card_validate (number, cvv, year, month, now, out, error);
}

/* ---------------------------------------------------------------------------------- */
/* Literal cases                                                                      */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *number;
  gint32       cvv;
  gint32       year;
  gint32       month;
  const gchar *now;      /* ISO 8601; NULL: DEFAULT_NOW */
  const gchar *brand;    /* expected brand; NULL: must fail */
  const gchar *last4;    /* on success */
  const gchar *message;  /* on failure: a part of the message */
} CardCase;

#define OK(name, number, cvv, year, month, now, brand, last4) \
  { name, number, cvv, year, month, now, brand, last4, NULL }
#define BAD(name, number, cvv, year, month, now, message) \
  { name, number, cvv, year, month, now, NULL, NULL, message }
#define VISA "4111111111111111"
#define AMEX "378282246310005"

static const CardCase card_cases[] = {
  /* Well-known test numbers, one per brand and prefix form. */
  OK ("visa-16",            VISA,               GOOD_CVV, 2030, 12, NULL, "visa", "1111"),
  OK ("visa-13",            "4222222222222",    GOOD_CVV, 2030, 12, NULL, "visa", "2222"),
  OK ("mastercard-5",       "5555555555554444", GOOD_CVV, 2030, 12, NULL, "mastercard", "4444"),
  OK ("mastercard-2",       "2223003122003222", GOOD_CVV, 2030, 12, NULL, "mastercard", "3222"),
  OK ("amex-37",            AMEX,          GOOD_AMEX_CVV, 2030, 12, NULL, "amex", "0005"),
  OK ("amex-37b",           "371449635398431", GOOD_AMEX_CVV, 2030, 12, NULL, "amex", "8431"),
  OK ("discover-6011",      "6011111111111117", GOOD_CVV, 2030, 12, NULL, "discover", "1117"),
  OK ("discover-644",       "6445644564456445", GOOD_CVV, 2030, 12, NULL, "discover", "6445"),
  OK ("discover-65",        "6500000000000002", GOOD_CVV, 2030, 12, NULL, "discover", "0002"),
  OK ("jcb",                "3530111333300000", GOOD_CVV, 2030, 12, NULL, "jcb", "0000"),
  OK ("jcb-3566",           "3566002020360505", GOOD_CVV, 2030, 12, NULL, "jcb", "0505"),
  OK ("diners-305",         "30569309025904",   GOOD_CVV, 2030, 12, NULL, "diners", "5904"),
  OK ("diners-36",          "36227206271667",   GOOD_CVV, 2030, 12, NULL, "diners", "1667"),
  OK ("diners-38",          "38520000023237",   GOOD_CVV, 2030, 12, NULL, "diners", "3237"),
  OK ("unionpay-luhn-ok",   "6200000000000005", GOOD_CVV, 2030, 12, NULL, "unionpay", "0005"),
  OK ("unionpay-luhn-bad",  "6200000000000001", GOOD_CVV, 2030, 12, NULL, "unionpay", "0001"),

  /* Luhn */
  BAD ("visa-luhn-bad",     "4111111111111112", GOOD_CVV, 2030, 12, NULL, "fails Luhn check"),
  BAD ("mastercard-luhn-bad", "5555555555554445", GOOD_CVV, 2030, 12, NULL, "fails Luhn check"),
  BAD ("amex-luhn-bad",     "378282246310006", GOOD_AMEX_CVV, 2030, 12, NULL, "fails Luhn check"),

  /* Characters */
  OK ("spaces",             "4111 1111 1111 1111", GOOD_CVV, 2030, 12, NULL, "visa", "1111"),
  OK ("dashes",             "4111-1111-1111-1111", GOOD_CVV, 2030, 12, NULL, "visa", "1111"),
  OK ("mixed-separators",   " 4111-1111 1111--1111 ", GOOD_CVV, 2030, 12, NULL, "visa", "1111"),
  BAD ("letter",            "4111a11111111111", GOOD_CVV, 2030, 12, NULL, "only digits"),
  BAD ("tab",               "4111\t1111111111111", GOOD_CVV, 2030, 12, NULL, "only digits"),
  BAD ("plus",              "+4111111111111111", GOOD_CVV, 2030, 12, NULL, "only digits"),
  BAD ("dot",               "4111.1111.1111.1111", GOOD_CVV, 2030, 12, NULL, "only digits"),
  BAD ("fullwidth-digits",  "\xef\xbc\x94" "111111111111111", GOOD_CVV, 2030, 12, NULL,
       "only digits"),
  BAD ("empty",             "",                 GOOD_CVV, 2030, 12, NULL, "12 to 19 digits"),
  BAD ("null",              NULL,               GOOD_CVV, 2030, 12, NULL, "12 to 19 digits"),
  BAD ("only-dashes",       "---- ----",        GOOD_CVV, 2030, 12, NULL, "12 to 19 digits"),

  /* Overall digit count: 11 and 20 are out whatever the brand. */
  BAD ("11-digits",         "41111111116",      GOOD_CVV, 2030, 12, NULL, "12 to 19 digits"),
  BAD ("20-digits",         "41111111111111111113", GOOD_CVV, 2030, 12, NULL, "12 to 19 digits"),
  BAD ("20-digits-spaced",  "4111 1111 1111 1111 1113", GOOD_CVV, 2030, 12, NULL,
       "12 to 19 digits"),
  BAD ("unknown-brand-9",   "9111111111111111", GOOD_CVV, 2030, 12, NULL, "unknown brand"),
  BAD ("unknown-brand-1",   "1111111111111117", GOOD_CVV, 2030, 12, NULL, "unknown brand"),

  /* CVV: 0..999, amex 0..9999 */
  OK ("cvv-0",              VISA, 0,          2030, 12, NULL, "visa", "1111"),
  OK ("cvv-999",            VISA, 999,        2030, 12, NULL, "visa", "1111"),
  BAD ("cvv-1000",          VISA, 1000,       2030, 12, NULL, "CVV"),
  BAD ("cvv-negative",      VISA, -1,         2030, 12, NULL, "CVV"),
  BAD ("cvv-min-int",       VISA, G_MININT32, 2030, 12, NULL, "CVV"),
  BAD ("cvv-max-int",       VISA, G_MAXINT32, 2030, 12, NULL, "CVV"),
  OK ("amex-cvv-0",         AMEX, 0,          2030, 12, NULL, "amex", "0005"),
  OK ("amex-cvv-1000",      AMEX, 1000,       2030, 12, NULL, "amex", "0005"),
  OK ("amex-cvv-9999",      AMEX, 9999,       2030, 12, NULL, "amex", "0005"),
  BAD ("amex-cvv-10000",    AMEX, 10000,      2030, 12, NULL, "CVV"),
  BAD ("amex-cvv-negative", AMEX, -1,         2030, 12, NULL, "CVV"),

  /* Month */
  OK ("month-1",            VISA, GOOD_CVV, 2030, 1,  NULL, "visa", "1111"),
  OK ("month-12",           VISA, GOOD_CVV, 2030, 12, NULL, "visa", "1111"),
  BAD ("month-0",           VISA, GOOD_CVV, 2030, 0,  NULL, "month"),
  BAD ("month-13",          VISA, GOOD_CVV, 2030, 13, NULL, "month"),
  BAD ("month-negative",    VISA, GOOD_CVV, 2030, -1, NULL, "month"),

  /* Year: 4 digits, or 2 digits meaning 20YY; nothing else. */
  OK ("year-2-digit",       VISA, GOOD_CVV, 30,   12, NULL, "visa", "1111"),
  OK ("year-2-digit-20-ahead", VISA, GOOD_CVV, 46, 1, NULL, "visa", "1111"),
  BAD ("year-2-digit-21-ahead", VISA, GOOD_CVV, 47, 1, NULL, "more than 20 years ahead"),
  BAD ("year-2-digit-past", VISA, GOOD_CVV, 5,    12, NULL, "expired"),
  BAD ("year-99",           VISA, GOOD_CVV, 99,   12, NULL, "more than 20 years ahead"),
  BAD ("year-3-digit",      VISA, GOOD_CVV, 203,  12, NULL, "2 or 4 digits"),
  BAD ("year-100",          VISA, GOOD_CVV, 100,  12, NULL, "2 or 4 digits"),
  BAD ("year-999",          VISA, GOOD_CVV, 999,  12, NULL, "2 or 4 digits"),
  BAD ("year-5-digit",      VISA, GOOD_CVV, 20300, 12, NULL, "2 or 4 digits"),
  BAD ("year-negative",     VISA, GOOD_CVV, -1,   12, NULL, "2 or 4 digits"),
  BAD ("year-negative-4",   VISA, GOOD_CVV, -2030, 12, NULL, "2 or 4 digits"),
  BAD ("year-1000",         VISA, GOOD_CVV, 1000, 12, NULL, "expired"),
  OK ("year-20-ahead",      VISA, GOOD_CVV, 2046, 12, NULL, "visa", "1111"),
  BAD ("year-21-ahead",     VISA, GOOD_CVV, 2047, 1,  NULL, "more than 20 years ahead"),
  BAD ("year-9999",         VISA, GOOD_CVV, 9999, 12, NULL, "more than 20 years ahead"),

  /* Expiry: valid through the last second of the month, UTC. */
  OK ("expiry-last-second", VISA, GOOD_CVV, 2030, 12, "2030-12-31T23:59:59Z", "visa", "1111"),
  BAD ("expiry-next-month", VISA, GOOD_CVV, 2030, 12, "2031-01-01T00:00:00Z", "expired"),
  OK ("expiry-2-digit-last-second", VISA, GOOD_CVV, 30, 12, "2030-12-31T23:59:59Z",
      "visa", "1111"),
  BAD ("expiry-2-digit-next-month", VISA, GOOD_CVV, 30, 12, "2031-01-01T00:00:00Z",
       "expired"),
  OK ("expiry-first-second", VISA, GOOD_CVV, 2030, 12, "2030-12-01T00:00:00Z", "visa", "1111"),
  OK ("expiry-mid-month",   VISA, GOOD_CVV, 2026, 6,  NULL, "visa", "1111"),
  BAD ("expiry-last-month", VISA, GOOD_CVV, 2026, 5,  NULL, "expired"),
  BAD ("expiry-last-year",  VISA, GOOD_CVV, 2025, 12, NULL, "expired"),
  /* 2031-01-01 09:00 at +14:00 is still December 2030 in UTC. */
  OK ("expiry-utc-ahead-zone", VISA, GOOD_CVV, 2030, 12, "2031-01-01T09:00:00+14:00",
      "visa", "1111"),
  /* 2030-12-31 20:00 at -05:00 is already January 2031 in UTC. */
  BAD ("expiry-utc-behind-zone", VISA, GOOD_CVV, 2030, 12, "2030-12-31T20:00:00-05:00",
       "expired"),
  /* The seed README's card: expired as of 2026. */
  OK ("readme-card-2025-12-31", VISA, 123, 2025, 12, "2025-12-31T23:59:59Z", "visa", "1111"),
  BAD ("readme-card-2026-01-01", VISA, 123, 2025, 12, "2026-01-01T00:00:00Z", "expired"),
};

static void
test_card_case (gconstpointer data)
{
  const CardCase *c = data;
  g_autoptr(GError) error = NULL;
  PayCardSummary summary = { NULL, "" };
  gboolean ok;

  ok = validate (c->number, c->cvv, c->year, c->month, c->now, &summary, &error);
  if (c->brand != NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpstr (summary.brand, ==, c->brand);
      g_assert_cmpstr (summary.last4, ==, c->last4);
    }
  else
    {
      g_assert_false (ok);
      assert_card_error (error, c->message, c->number, c->cvv);
      g_assert_null (summary.brand);
    }
}

/* ---------------------------------------------------------------------------------- */
/* Generated cases: every prefix range at the ends of its lengths                     */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *prefix;
  guint        length;
  gboolean     break_luhn;
  const gchar *brand;    /* NULL: must fail */
  const gchar *message;  /* on failure */
} BrandCase;

#define NOT_ISSUED(brand, n) brand " does not issue " #n "-digit numbers"

static const BrandCase brand_cases[] = {
  { "4",    13, FALSE, "visa", NULL },
  { "4",    16, FALSE, "visa", NULL },
  { "4",    19, FALSE, "visa", NULL },
  { "4",    12, FALSE, NULL, NOT_ISSUED ("visa", 12) },
  { "4",    14, FALSE, NULL, NOT_ISSUED ("visa", 14) },
  { "4",    15, FALSE, NULL, NOT_ISSUED ("visa", 15) },
  { "4",    17, FALSE, NULL, NOT_ISSUED ("visa", 17) },
  { "4",    18, FALSE, NULL, NOT_ISSUED ("visa", 18) },
  { "4",    16, TRUE,  NULL, "fails Luhn check" },

  { "51",   16, FALSE, "mastercard", NULL },
  { "55",   16, FALSE, "mastercard", NULL },
  { "2221", 16, FALSE, "mastercard", NULL },
  { "2720", 16, FALSE, "mastercard", NULL },
  { "51",   15, FALSE, NULL, NOT_ISSUED ("mastercard", 15) },
  { "55",   17, FALSE, NULL, NOT_ISSUED ("mastercard", 17) },
  { "2720", 19, FALSE, NULL, NOT_ISSUED ("mastercard", 19) },
  { "50",   16, FALSE, NULL, "unknown brand" },
  { "56",   16, FALSE, NULL, "unknown brand" },
  { "2220", 16, FALSE, NULL, "unknown brand" },
  { "2721", 16, FALSE, NULL, "unknown brand" },
  { "2221", 16, TRUE,  NULL, "fails Luhn check" },

  { "34",   15, FALSE, "amex", NULL },
  { "37",   15, FALSE, "amex", NULL },
  { "34",   14, FALSE, NULL, NOT_ISSUED ("amex", 14) },
  { "37",   16, FALSE, NULL, NOT_ISSUED ("amex", 16) },
  { "33",   15, FALSE, NULL, "unknown brand" },
  { "3500", 15, FALSE, NULL, "unknown brand" },
  { "34",   15, TRUE,  NULL, "fails Luhn check" },

  { "6011", 16, FALSE, "discover", NULL },
  { "6011", 19, FALSE, "discover", NULL },
  { "644",  16, FALSE, "discover", NULL },
  { "649",  19, FALSE, "discover", NULL },
  { "65",   16, FALSE, "discover", NULL },
  { "65",   19, FALSE, "discover", NULL },
  { "6011", 15, FALSE, NULL, NOT_ISSUED ("discover", 15) },
  { "65",   15, FALSE, NULL, NOT_ISSUED ("discover", 15) },
  { "6010", 16, FALSE, NULL, "unknown brand" },
  { "6012", 16, FALSE, NULL, "unknown brand" },
  { "643",  16, FALSE, NULL, "unknown brand" },
  { "66",   16, FALSE, NULL, "unknown brand" },
  { "65",   16, TRUE,  NULL, "fails Luhn check" },

  { "3528", 16, FALSE, "jcb", NULL },
  { "3589", 19, FALSE, "jcb", NULL },
  { "3528", 15, FALSE, NULL, NOT_ISSUED ("jcb", 15) },
  { "3527", 16, FALSE, NULL, "unknown brand" },
  { "3590", 16, FALSE, NULL, "unknown brand" },
  { "3589", 16, TRUE,  NULL, "fails Luhn check" },

  { "62",   16, FALSE, "unionpay", NULL },
  { "62",   19, FALSE, "unionpay", NULL },
  { "62",   16, TRUE,  "unionpay", NULL },   /* no Luhn for UnionPay */
  { "62",   19, TRUE,  "unionpay", NULL },
  { "62",   15, FALSE, NULL, NOT_ISSUED ("unionpay", 15) },
  { "61",   16, FALSE, NULL, "unknown brand" },
  { "63",   16, FALSE, NULL, "unknown brand" },

  { "300",  14, FALSE, "diners", NULL },
  { "305",  19, FALSE, "diners", NULL },
  { "36",   14, FALSE, "diners", NULL },
  { "36",   19, FALSE, "diners", NULL },
  { "38",   14, FALSE, "diners", NULL },
  { "39",   19, FALSE, "diners", NULL },
  { "300",  13, FALSE, NULL, NOT_ISSUED ("diners", 13) },
  { "39",   12, FALSE, NULL, NOT_ISSUED ("diners", 12) },
  { "306",  14, FALSE, NULL, "unknown brand" },
  { "31",   14, FALSE, NULL, "unknown brand" },
  { "36",   14, TRUE,  NULL, "fails Luhn check" },
};

static void
test_brand_case (gconstpointer data)
{
  const BrandCase *c = data;
  g_autofree gchar *number = make_number (c->prefix, c->length, c->break_luhn);
  g_autoptr(GError) error = NULL;
  PayCardSummary summary = { NULL, "" };
  gint32 cvv = g_strcmp0 (c->brand, "amex") == 0 ? GOOD_AMEX_CVV : GOOD_CVV;
  gboolean ok;

  g_assert_cmpuint (strlen (number), ==, c->length);
  ok = validate (number, cvv, GOOD_YEAR, GOOD_MONTH, NULL, &summary, &error);
  if (c->brand != NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpstr (summary.brand, ==, c->brand);
      g_assert_cmpstr (summary.last4, ==, number + c->length - 4);
    }
  else
    {
      g_assert_false (ok);
      assert_card_error (error, c->message, number, cvv);
    }
}

/* ---------------------------------------------------------------------------------- */
/* Luhn on its own                                                                    */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *digits;
  gboolean     ok;
} LuhnCase;

static const LuhnCase luhn_cases[] = {
  { "79927398713", TRUE },
  { "79927398710", FALSE },
  { "79927398714", FALSE },
  { "4111111111111121", FALSE },
  { "0", TRUE },
  { "18", TRUE },
  { "19", FALSE },
  { "", FALSE },
  /* A transposition of adjacent digits Luhn catches (except 09/90). */
  { "4111111111111111", TRUE },
  { "1411111111111111", FALSE },
};

static void
test_luhn_case (gconstpointer data)
{
  const LuhnCase *c = data;

  g_assert_cmpint (pay_card_luhn_ok (c->digits, strlen (c->digits)), ==, c->ok);
}

/* ---------------------------------------------------------------------------------- */
/* main                                                                               */
/* ---------------------------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (card_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/card/validate/%s", card_cases[i].name);

      g_test_add_data_func (path, &card_cases[i], test_card_case);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (brand_cases); i++)
    {
      const BrandCase *c = &brand_cases[i];
      g_autofree gchar *path =
        g_strdup_printf ("/payment/card/brand/%s-%s-%u%s", c->brand != NULL ? c->brand : "invalid",
                         c->prefix, c->length, c->break_luhn ? "-bad-check-digit" : "");

      g_test_add_data_func (path, c, test_brand_case);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (luhn_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/card/luhn/%" G_GSIZE_FORMAT "-%s",
                                                i, luhn_cases[i].digits[0] != '\0'
                                                   ? luhn_cases[i].digits : "empty");

      g_test_add_data_func (path, &luhn_cases[i], test_luhn_case);
    }

  return g_test_run ();
}
