/* test-payment-json.c: the cache's JSON record of a payment: round trips, and every way a
 * record read back from Redis can be broken. */
#include <string.h>

#include <glib.h>

#include "core/pay-error.h"
#include "storage/pay-cache.h"
#include "storage/pay-payment-json.h"

static const gchar valid_record[] =
  "{\"transaction_id\":\"0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69\",\"order_id\":42,"
  "\"user_id\":7,\"amount_cents\":1999,\"refunded_cents\":500,"
  "\"status\":\"PARTIALLY_REFUNDED\",\"payment_method\":\"credit_card\","
  "\"card_brand\":\"visa\",\"card_last4\":\"4242\",\"created_at\":1700000000000,"
  "\"updated_at\":1700000001234}";

static PayPayment
sample_payment (void)
{
  PayPayment payment = {
    .order_id = G_GINT64_CONSTANT (9007199254740993),  /* beyond a double's exact range */
    .user_id = 12345,
    .amount_cents = 100000000,
    .refunded_cents = 0,
    .status = PAY_STATUS_PAID,
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

static void
test_round_trip (void)
{
  for (PayStatus status = PAY_STATUS_PAID; status <= PAY_STATUS_REFUNDED; status++)
    {
      PayPayment payment = sample_payment ();
      PayPayment decoded;
      g_autofree gchar *json = NULL;
      g_autoptr(GError) error = NULL;
      gsize len = 0;

      payment.status = status;
      payment.refunded_cents = status == PAY_STATUS_PAID ? 0
                             : status == PAY_STATUS_REFUNDED ? payment.amount_cents : 1;
      json = pay_payment_json_encode (&payment, &len);
      g_assert_nonnull (json);
      g_assert_cmpuint (len, ==, strlen (json));
      g_assert_cmpuint (len, <=, PAY_PAYMENT_JSON_MAX_BYTES);

      memset (&decoded, 0xab, sizeof decoded);
      g_assert_true (pay_payment_json_decode (json, len, &decoded, &error));
      g_assert_no_error (error);
      assert_payment_equal (&payment, &decoded);

      /* The cache's public decoder is the same function. */
      memset (&decoded, 0, sizeof decoded);
      g_assert_true (pay_cache_decode_payment (json, len, &decoded, &error));
      g_assert_no_error (error);
      assert_payment_equal (&payment, &decoded);
    }
}

static void
test_encoded_names (void)
{
  PayPayment payment = sample_payment ();
  g_autofree gchar *json = pay_payment_json_encode (&payment, NULL);

  /* The contract's PaymentInfo names, amounts in cents, status as text. */
  g_assert_nonnull (strstr (json, "\"transaction_id\":\"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\""));
  g_assert_nonnull (strstr (json, "\"order_id\":9007199254740993"));
  g_assert_nonnull (strstr (json, "\"amount_cents\":100000000"));
  g_assert_nonnull (strstr (json, "\"refunded_cents\":0"));
  g_assert_nonnull (strstr (json, "\"status\":\"PAID\""));
  g_assert_nonnull (strstr (json, "\"card_last4\":\"0004\""));
  g_assert_nonnull (strstr (json, "\"created_at\":1700000000000"));
  g_assert_nonnull (strstr (json, "\"updated_at\":1700000000001"));
}

static void
test_decode_known_record (void)
{
  PayPayment decoded;
  g_autoptr(GError) error = NULL;

  /* Not NUL-terminated at @len: the decoder must honour the length. */
  g_autofree gchar *padded = g_strconcat (valid_record, "garbage", NULL);

  g_assert_true (pay_payment_json_decode (padded, strlen (valid_record), &decoded, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (decoded.transaction_id, ==, "0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69");
  g_assert_cmpint (decoded.order_id, ==, 42);
  g_assert_cmpint (decoded.amount_cents, ==, 1999);
  g_assert_cmpint (decoded.refunded_cents, ==, 500);
  g_assert_cmpint (decoded.status, ==, PAY_STATUS_PARTIALLY_REFUNDED);
  g_assert_cmpint (decoded.updated_at_ms, ==, G_GINT64_CONSTANT (1700000001234));
}

static void
test_unknown_members_ignored (void)
{
  g_autofree gchar *json = g_strdup (valid_record);
  g_autofree gchar *extended = NULL;
  PayPayment decoded;
  g_autoptr(GError) error = NULL;

  json[strlen (json) - 1] = '\0';  /* drop the closing brace */
  extended = g_strconcat (json, ",\"future\":{\"x\":[1,2]}}", NULL);
  g_assert_true (pay_payment_json_decode (extended, strlen (extended), &decoded, &error));
  g_assert_no_error (error);
}

/* One broken record: a textual edit of valid_record, or a whole replacement. */
typedef struct {
  const gchar *name;
  const gchar *find;      /* NULL: use @replace as the whole record */
  const gchar *replace;
} BadCase;

static const BadCase bad_cases[] = {
  /* malformed */
  { "empty", NULL, "" },
  { "truncated", NULL, "{\"transaction_id\":\"0b6f1c1e" },
  { "not-json", NULL, "PAID" },
  { "array", NULL, "[1,2,3]" },
  { "string-root", NULL, "\"hello\"" },
  { "null-root", NULL, "null" },
  { "trailing-comma", "\"updated_at\":1700000001234}", "\"updated_at\":1700000001234,}" },
  /* missing members */
  { "missing-transaction-id", "\"transaction_id\":\"0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69\",", "" },
  { "missing-order-id", "\"order_id\":42,", "" },
  { "missing-user-id", "\"user_id\":7,", "" },
  { "missing-amount", "\"amount_cents\":1999,", "" },
  { "missing-refunded", "\"refunded_cents\":500,", "" },
  { "missing-status", "\"status\":\"PARTIALLY_REFUNDED\",", "" },
  { "missing-method", "\"payment_method\":\"credit_card\",", "" },
  { "missing-brand", "\"card_brand\":\"visa\",", "" },
  { "missing-last4", "\"card_last4\":\"4242\",", "" },
  { "missing-created", "\"created_at\":1700000000000,", "" },
  { "missing-updated", ",\"updated_at\":1700000001234", "" },
  { "empty-object", NULL, "{}" },
  /* wrong types */
  { "order-id-string", "\"order_id\":42", "\"order_id\":\"42\"" },
  { "order-id-real", "\"order_id\":42", "\"order_id\":42.0" },
  { "amount-real", "\"amount_cents\":1999", "\"amount_cents\":19.99" },
  { "amount-null", "\"amount_cents\":1999", "\"amount_cents\":null" },
  { "amount-bool", "\"amount_cents\":1999", "\"amount_cents\":true" },
  { "status-number", "\"status\":\"PARTIALLY_REFUNDED\"", "\"status\":2" },
  { "tx-number", "\"transaction_id\":\"0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69\"", "\"transaction_id\":1" },
  { "brand-object", "\"card_brand\":\"visa\"", "\"card_brand\":{}" },
  { "last4-array", "\"card_last4\":\"4242\"", "\"card_last4\":[\"4242\"]" },
  { "created-string", "\"created_at\":1700000000000", "\"created_at\":\"1700000000000\"" },
  /* values no payment has */
  { "unknown-status", "PARTIALLY_REFUNDED", "CHARGED_BACK" },
  { "lowercase-status", "PARTIALLY_REFUNDED", "paid" },
  { "short-tx", "0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69", "0b6f1c1e" },
  { "long-tx", "0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69", "0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69-ffff" },
  { "long-brand", "\"visa\"", "\"visa-visa-visa-visa\"" },
  { "long-last4", "\"4242\"", "\"42424\"" },
  { "long-method", "\"credit_card\"", "\"credit_card_credit_card_credit_card\"" },
  { "zero-amount", "\"amount_cents\":1999", "\"amount_cents\":0" },
  { "negative-refund", "\"refunded_cents\":500", "\"refunded_cents\":-1" },
  { "over-refund", "\"refunded_cents\":500", "\"refunded_cents\":2000" },
  { "zero-order", "\"order_id\":42", "\"order_id\":0" },
  { "negative-user", "\"user_id\":7", "\"user_id\":-7" },
};

static gchar *
build_bad_record (const BadCase *bad)
{
  g_autoptr(GString) record = NULL;

  if (bad->find == NULL)
    return g_strdup (bad->replace);

  record = g_string_new (valid_record);
  g_assert_cmpuint (g_string_replace (record, bad->find, bad->replace, 1), ==, 1);
  return g_string_free (g_steal_pointer (&record), FALSE);
}

static void
test_bad_record (gconstpointer data)
{
  const BadCase *bad = data;
  g_autofree gchar *record = build_bad_record (bad);
  PayPayment decoded, untouched;
  g_autoptr(GError) error = NULL;

  memset (&decoded, 0x5a, sizeof decoded);
  untouched = decoded;
  g_assert_false (pay_payment_json_decode (record, strlen (record), &decoded, &error));
  g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
  g_assert_true (g_str_has_prefix (error->message, "cached payment: "));
  g_assert_cmpmem (&decoded, sizeof decoded, &untouched, sizeof untouched);
}

static void
test_too_large (void)
{
  g_autoptr(GString) big = g_string_new (valid_record);
  PayPayment decoded;
  g_autoptr(GError) error = NULL;

  g_string_truncate (big, big->len - 1);
  g_string_append (big, ",\"pad\":\"");
  while (big->len <= PAY_PAYMENT_JSON_MAX_BYTES)
    g_string_append (big, "xxxxxxxxxxxxxxxx");
  g_string_append (big, "\"}");
  g_assert_false (pay_payment_json_decode (big->str, big->len, &decoded, &error));
  g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/payment-json/round-trip", test_round_trip);
  g_test_add_func ("/payment/payment-json/encoded-names", test_encoded_names);
  g_test_add_func ("/payment/payment-json/known-record", test_decode_known_record);
  g_test_add_func ("/payment/payment-json/unknown-members", test_unknown_members_ignored);
  g_test_add_func ("/payment/payment-json/too-large", test_too_large);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/payment-json/bad/%s", bad_cases[i].name);
      g_test_add_data_func (path, &bad_cases[i], test_bad_record);
    }

  return g_test_run ();
}
