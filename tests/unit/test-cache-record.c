/* test-cache-record.c: a payment as its Redis HASH's fields: round trips, and every way a
 * record read back from Redis can be broken. */
#include <string.h>

#include <glib.h>

#include "core/pay-error.h"
#include "storage/pay-cache-record.h"

static PayPayment
sample_payment (void)
{
  PayPayment payment = {
    .order_id = G_GINT64_CONSTANT (9007199254740993),  /* beyond a double's exact range */
    .user_id = 12345,
    .amount_cents = 100000000,
    .refunded_cents = 2500,
    .status = PAY_STATUS_PARTIALLY_REFUNDED,
    .created_at_ms = G_GINT64_CONSTANT (1700000000000),
    .updated_at_ms = G_GINT64_CONSTANT (1700000000001),
  };

  g_strlcpy (payment.transaction_id, "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", sizeof payment.transaction_id);
  g_strlcpy (payment.payment_method, "credit_card", sizeof payment.payment_method);
  g_strlcpy (payment.card_brand, "mastercard", sizeof payment.card_brand);
  g_strlcpy (payment.card_last4, "0004", sizeof payment.card_last4);
  return payment;
}

static void
assert_payment_equal (const PayPayment *a, const PayPayment *b)
{
  g_assert_cmpstr (a->transaction_id, ==, b->transaction_id);
  g_assert_cmpint (a->order_id, ==, b->order_id);
  g_assert_cmpint (a->user_id, ==, b->user_id);
  g_assert_cmpint (a->amount_cents, ==, b->amount_cents);
  g_assert_cmpint (a->refunded_cents, ==, b->refunded_cents);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpstr (a->payment_method, ==, b->payment_method);
  g_assert_cmpstr (a->card_brand, ==, b->card_brand);
  g_assert_cmpstr (a->card_last4, ==, b->card_last4);
  g_assert_cmpint (a->created_at_ms, ==, b->created_at_ms);
  g_assert_cmpint (a->updated_at_ms, ==, b->updated_at_ms);
}

static gint
field_index (const gchar *name)
{
  for (gint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    if (strcmp (pay_cache_record_fields[i], name) == 0)
      return i;
  g_assert_not_reached ();
}

static void
test_fields (void)
{
  static const gchar *const expected[] = {
    "transaction_id", "order_id", "user_id", "amount_cents", "refunded_cents", "status",
    "payment_method", "card_brand", "card_last4", "created_at", "updated_at",
  };
  PayPayment payment = sample_payment ();
  PayCacheRecord record;

  g_assert_cmpuint (G_N_ELEMENTS (expected), ==, PAY_CACHE_RECORD_N_FIELDS);
  for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    g_assert_cmpstr (pay_cache_record_fields[i], ==, expected[i]);

  pay_cache_record_encode (&payment, &record);
  g_assert_cmpstr (record.values[field_index ("order_id")], ==, "9007199254740993");
  g_assert_cmpstr (record.values[field_index ("refunded_cents")], ==, "2500");
  g_assert_cmpstr (record.values[field_index ("status")], ==, "PARTIALLY_REFUNDED");
  g_assert_cmpstr (record.values[field_index ("created_at")], ==, "1700000000000");
  for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    g_assert_cmpuint (record.lens[i], ==, strlen (record.values[i]));
}

static void
test_round_trip (void)
{
  static const gint64 times[] = { 0, -1, G_MININT64, G_MAXINT64 };

  for (PayStatus status = PAY_STATUS_PAID; status <= PAY_STATUS_REFUNDED; status++)
    for (guint t = 0; t < G_N_ELEMENTS (times); t++)
      {
        PayPayment payment = sample_payment ();
        PayPayment decoded;
        PayCacheRecord record;
        g_autoptr(GError) error = NULL;

        payment.status = status;
        payment.created_at_ms = times[t];
        payment.order_id = t == 3 ? G_MAXINT64 : payment.order_id;
        payment.refunded_cents = status == PAY_STATUS_REFUNDED ? payment.amount_cents : 0;
        /* strings go as they are: quotes, backslashes, non-ASCII UTF-8 */
        g_strlcpy (payment.payment_method, "a\"b\\c/\xc3\xa9\t", sizeof payment.payment_method);
        pay_cache_record_encode (&payment, &record);
        g_assert_true (pay_cache_record_decode (record.values, record.lens, &decoded, &error));
        g_assert_no_error (error);
        assert_payment_equal (&payment, &decoded);
      }
}

/* The sample record with field @name set to @value (NULL: missing); TRUE when it decodes. */
static gboolean
decodes_with (const gchar *name, const gchar *value, gsize len)
{
  PayPayment payment = sample_payment ();
  PayPayment decoded;
  PayCacheRecord record;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  pay_cache_record_encode (&payment, &record);
  record.values[field_index (name)] = value;
  record.lens[field_index (name)] = value != NULL ? len : 0;
  memset (&decoded, 0xa5, sizeof decoded);
  ok = pay_cache_record_decode (record.values, record.lens, &decoded, &error);
  if (ok)
    g_assert_no_error (error);
  else
    {
      PayPayment untouched;

      g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
      g_assert_true (g_str_has_prefix (error->message, "cached payment: "));
      memset (&untouched, 0xa5, sizeof untouched);
      g_assert_cmpmem (&decoded, sizeof decoded, &untouched, sizeof untouched);
    }
  return ok;
}

static void
test_broken_fields (void)
{
  static const struct {
    const gchar *field;
    const gchar *value;
    gssize       len;     /* -1: strlen */
    gboolean     ok;
  } cases[] = {
    { "order_id", "1", -1, TRUE },
    { "order_id", "9223372036854775807", -1, TRUE },
    { "order_id", "9223372036854775808", -1, FALSE },
    { "order_id", "0", -1, FALSE },
    { "order_id", "-5", -1, FALSE },
    { "order_id", "", -1, FALSE },
    { "order_id", " 42", -1, FALSE },
    { "order_id", "42 ", -1, FALSE },
    { "order_id", "4.2e1", -1, FALSE },
    { "order_id", "0x2a", -1, FALSE },
    { "order_id", "42\0" "1", 4, FALSE },
    { "user_id", "0", -1, FALSE },
    { "amount_cents", "0", -1, FALSE },
    { "amount_cents", "2500", -1, TRUE },
    { "amount_cents", "2499", -1, FALSE },   /* less than refunded */
    { "refunded_cents", "0", -1, TRUE },
    { "refunded_cents", "-1", -1, FALSE },
    { "refunded_cents", "100000001", -1, FALSE },
    { "created_at", "-9223372036854775808", -1, TRUE },
    { "created_at", "-9223372036854775809", -1, FALSE },
    { "updated_at", "x", -1, FALSE },
    { "status", "PAID", -1, TRUE },
    { "status", "REFUNDED", -1, TRUE },
    { "status", "paid", -1, FALSE },
    { "status", "PAID\0", 5, FALSE },
    { "status", "", -1, FALSE },
    { "transaction_id", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1", -1, FALSE },
    { "transaction_id", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1ab", -1, FALSE },
    { "payment_method", "", -1, TRUE },
    { "payment_method", "12345678901234567890123456789012", -1, TRUE },
    { "payment_method", "123456789012345678901234567890123", -1, FALSE },
    { "payment_method", "\xed\xa0\x80", -1, FALSE },   /* a surrogate: not UTF-8 */
    { "card_brand", "1234567890123456", -1, TRUE },
    { "card_brand", "12345678901234567", -1, FALSE },
    { "card_last4", "12345", -1, FALSE },
    { "card_last4", "42\0" "2", 4, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = cases[i].len < 0 ? strlen (cases[i].value) : (gsize) cases[i].len;

      if (decodes_with (cases[i].field, cases[i].value, len) != cases[i].ok)
        g_error ("case %u: %s = \"%s\" should %sdecode", i, cases[i].field, cases[i].value,
                 cases[i].ok ? "" : "not ");
    }
  for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    g_assert_false (decodes_with (pay_cache_record_fields[i], NULL, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cache-record/fields", test_fields);
  g_test_add_func ("/cache-record/round-trip", test_round_trip);
  g_test_add_func ("/cache-record/broken-fields", test_broken_fields);
  return g_test_run ();
}
