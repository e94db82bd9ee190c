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

/* The whole record, byte for byte as json-glib's generator wrote it before. */
static void
test_encoded_exactly (void)
{
  PayPayment payment = sample_payment ();
  gsize len = 0;
  g_autofree gchar *json = pay_payment_json_encode (&payment, &len);

  g_assert_cmpstr (json,
                   ==,
                   "{\"transaction_id\":\"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\","
                   "\"order_id\":9007199254740993,\"user_id\":12345,"
                   "\"amount_cents\":100000000,\"refunded_cents\":0,\"status\":\"PAID\","
                   "\"payment_method\":\"credit_card\",\"card_brand\":\"mastercard\","
                   "\"card_last4\":\"0004\",\"created_at\":1700000000000,"
                   "\"updated_at\":1700000000001}");
  g_assert_cmpuint (len, ==, strlen (json));
}

/* Decodes @json (NUL-terminated) and checks it succeeds. */
static void
decode_ok (const gchar *json, PayPayment *decoded)
{
  g_autoptr(GError) error = NULL;

  if (!pay_payment_json_decode (json, strlen (json), decoded, &error))
    g_error ("%s: %s", json, error->message);
}

/* Decoding @len bytes of @json fails with a cache read error and leaves the output as
 * it was. */
static void
assert_rejected (const gchar *json, gsize len)
{
  PayPayment decoded, untouched;
  g_autoptr(GError) error = NULL;

  memset (&decoded, 0x5a, sizeof decoded);
  untouched = decoded;
  g_assert_false (pay_payment_json_decode (json, len, &decoded, &error));
  g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
  g_assert_true (g_str_has_prefix (error->message, "cached payment: "));
  g_assert_cmpmem (&decoded, sizeof decoded, &untouched, sizeof untouched);
}

static void
test_escapes_round_trip (void)
{
  PayPayment payment = sample_payment ();
  PayPayment decoded;
  g_autofree gchar *json = NULL;
  gsize len = 0;

  /* quote, backslash, slash, every short escape, other control characters, DEL and
   * non-ASCII UTF-8 (2, 3 and 4 bytes) */
  g_strlcpy (payment.payment_method, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
             sizeof payment.payment_method);
  g_strlcpy (payment.card_brand, "\"\\\x1b\xc3\xa9", sizeof payment.card_brand);
  g_strlcpy (payment.card_last4, "\"\"\\\\", sizeof payment.card_last4);
  payment.order_id = G_MAXINT64;
  payment.created_at_ms = G_MININT64;
  payment.updated_at_ms = -1;
  json = pay_payment_json_encode (&payment, &len);
  g_assert_cmpuint (len, ==, strlen (json));
  g_assert_nonnull (strstr (json, "\"payment_method\":\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f "
                                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
  g_assert_nonnull (strstr (json, "\"card_brand\":\"\\\"\\\\\\u001b\xc3\xa9\""));
  g_assert_nonnull (strstr (json, "\"card_last4\":\"\\\"\\\"\\\\\\\\\""));
  g_assert_nonnull (strstr (json, "\"order_id\":9223372036854775807,"));
  g_assert_nonnull (strstr (json, "\"created_at\":-9223372036854775808,"));
  g_assert_nonnull (strstr (json, "\"updated_at\":-1}"));

  memset (&decoded, 0xab, sizeof decoded);
  decode_ok (json, &decoded);
  assert_payment_equal (&payment, &decoded);

  /* fields filled to their last byte */
  memset (payment.payment_method, '\\', sizeof payment.payment_method - 1);
  memset (payment.card_brand, '"', sizeof payment.card_brand - 1);
  g_clear_pointer (&json, g_free);
  json = pay_payment_json_encode (&payment, &len);
  decode_ok (json, &decoded);
  assert_payment_equal (&payment, &decoded);
}

static void
test_unicode_escapes (void)
{
  g_autoptr(GString) record = g_string_new (valid_record);
  PayPayment decoded;

  /* \u escapes of 1, 2, 3 and 4 (a surrogate pair) UTF-8 bytes, upper and lower case
   * hex, every other escape, and an escaped member name */
  g_string_replace (record, "\"payment_method\":\"credit_card\"",
                    "\"payment\\u005Fmethod\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"", 1);
  g_string_replace (record, "\"card_brand\":\"visa\"", "\"card_brand\":\"\\u0076\\u0069sa\"", 1);
  g_string_replace (record, "\"card_last4\":\"4242\"", "\"card_last4\":\"\\uDBFF\\uDFFF\"", 1);
  decode_ok (record->str, &decoded);
  g_assert_cmpstr (decoded.payment_method, ==,
                   "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\b\f\n\r\t\"\\");
  g_assert_cmpstr (decoded.card_brand, ==, "visa");
  g_assert_cmpstr (decoded.card_last4, ==, "\xf4\x8f\xbf\xbf");  /* U+10FFFF */
}

static void
test_int64_limits (void)
{
  g_autoptr(GString) record = g_string_new (valid_record);
  PayPayment decoded;

  g_string_replace (record, "\"order_id\":42", "\"order_id\":9223372036854775807", 1);
  g_string_replace (record, "\"created_at\":1700000000000", "\"created_at\":-9223372036854775808", 1);
  g_string_replace (record, "\"updated_at\":1700000001234", "\"updated_at\":-0", 1);
  decode_ok (record->str, &decoded);
  g_assert_cmpint (decoded.order_id, ==, G_MAXINT64);
  g_assert_cmpint (decoded.created_at_ms, ==, G_MININT64);
  g_assert_cmpint (decoded.updated_at_ms, ==, 0);
}

static void
test_whitespace_everywhere (void)
{
  g_autoptr(GString) spaced = g_string_new (" \t\r\n");
  PayPayment expected, decoded;
  gboolean in_string = FALSE;

  decode_ok (valid_record, &expected);
  /* all four whitespace characters before and after every '{' '}' ':' ',' */
  for (const gchar *c = valid_record; *c != '\0'; c++)
    {
      gboolean structural = !in_string && strchr ("{}:,", *c) != NULL;

      if (*c == '"')
        in_string = !in_string;
      if (structural)
        g_string_append (spaced, "\n \t\r");
      g_string_append_c (spaced, *c);
      if (structural)
        g_string_append (spaced, "\r\t \n");
    }
  decode_ok (spaced->str, &decoded);
  assert_payment_equal (&expected, &decoded);
}

static void
test_unknown_members_of_every_type (void)
{
  g_autofree gchar *head = g_strndup (valid_record, strlen (valid_record) - 1);
  g_autofree gchar *record = NULL;
  g_autofree gchar *deep = NULL;
  g_autofree gchar *reordered = NULL;
  PayPayment expected, decoded;

  decode_ok (valid_record, &expected);
  record = g_strconcat ("{\"s\":\"x\\u00e9\\ud83d\\ude00\\n\",\"i\":0,\"neg\":-12,",
                        "\"real\":-1.5e+3,\"exp\":2E-7,\"frac\":0.25,\"t\":true,\"f\":false,",
                        "\"n\":null,\"o\":{},\"a\":[],\"order\":\"not ours\",",
                        "\"nested\":{\"x\":[1,{\"y\":[\"z\",{},[[]],null]}],\"w\":{\"v\":true}},",
                        "\"huge\":123456789012345678901234567890,\"\":\"empty name\",",
                        "\"long_unknown_member_name_here\":[true,false],",
                        head + 1, ",\"after\":[{\"k\":\"v\"}] }", NULL);
  decode_ok (record, &decoded);
  assert_payment_equal (&expected, &decoded);

  /* nesting up to the limit (the record's object is level 1) */
  deep = g_strconcat ("{\"deep\":", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", ",",
                      head + 1, "}", NULL);
  decode_ok (deep, &decoded);
  assert_payment_equal (&expected, &decoded);

  /* members in another order */
  reordered = g_strdup ("{\"updated_at\":1700000001234,\"created_at\":1700000000000,"
                        "\"card_last4\":\"4242\",\"card_brand\":\"visa\","
                        "\"payment_method\":\"credit_card\",\"status\":\"PARTIALLY_REFUNDED\","
                        "\"refunded_cents\":500,\"amount_cents\":1999,\"user_id\":7,"
                        "\"order_id\":42,\"transaction_id\":\"0b6f1c1e-5d3a-4c2b-9a7e-1f2d3c4b5a69\"}");
  decode_ok (reordered, &decoded);
  assert_payment_equal (&expected, &decoded);
}

/* Nesting far deeper than the limit in an unknown member, closed or not: an error, no
 * stack overflow. */
static void
test_deep_nesting (void)
{
  static const gchar *const openers[] = { "[", "{\"a\":", "[{\"a\":" };

  for (gsize i = 0; i < G_N_ELEMENTS (openers); i++)
    for (gint closed = 0; closed <= 1; closed++)
      {
        g_autoptr(GString) record = g_string_new (valid_record);
        gsize opener_len = strlen (openers[i]);

        g_string_truncate (record, record->len - 1);
        g_string_append (record, ",\"x\":");
        while (record->len < PAY_PAYMENT_JSON_MAX_BYTES - opener_len - 2)
          g_string_append (record, openers[i]);
        if (closed)
          g_string_append (record, "1]}");
        assert_rejected (record->str, record->len);
      }

  /* 10000 '[': over the size limit, and cut to it, too deep */
  {
    g_autoptr(GString) record = g_string_new ("{\"x\":");
    g_autoptr(GError) error = NULL;
    PayPayment decoded;

    for (gint n = 0; n < 10000; n++)
      g_string_append_c (record, '[');
    g_assert_false (pay_payment_json_decode (record->str, record->len, &decoded, &error));
    g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
    g_clear_error (&error);
    g_string_truncate (record, PAY_PAYMENT_JSON_MAX_BYTES);
    g_assert_false (pay_payment_json_decode (record->str, record->len, &decoded, &error));
    g_assert_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ);
    g_assert_nonnull (strstr (error->message, "deep"));
  }
}

/* A record cut short at every length is an error, and reads nothing past the cut. */
static void
test_every_prefix (void)
{
  gsize len = strlen (valid_record);

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree gchar *prefix = g_memdup2 (valid_record, MAX (cut, 1));  /* exactly @cut bytes */

      assert_rejected (prefix, cut);
    }
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
  /* strict JSON: numbers */
  { "leading-zero", "\"order_id\":42", "\"order_id\":042" },
  { "leading-zeros", "\"order_id\":42", "\"order_id\":0042" },
  { "exponent", "\"order_id\":42", "\"order_id\":1e3" },
  { "exponent-upper", "\"order_id\":42", "\"order_id\":42E0" },
  { "plus-sign", "\"order_id\":42", "\"order_id\":+42" },
  { "bare-minus", "\"order_id\":42", "\"order_id\":-" },
  { "dot-no-digits", "\"order_id\":42", "\"order_id\":42." },
  { "int64-overflow", "\"created_at\":1700000000000", "\"created_at\":9223372036854775808" },
  { "int64-underflow", "\"created_at\":1700000000000", "\"created_at\":-9223372036854775809" },
  { "huge-int", "\"order_id\":42", "\"order_id\":123456789012345678901234567890" },
  /* strict JSON: strings */
  { "lone-high-surrogate", "\"visa\"", "\"v\\ud83d\"" },
  { "high-surrogate-then-char", "\"visa\"", "\"\\ud83dx\"" },
  { "high-surrogate-then-high", "\"visa\"", "\"\\ud83d\\ud83d\"" },
  { "lone-low-surrogate", "\"visa\"", "\"\\ude00\"" },
  { "short-u-escape", "\"visa\"", "\"\\u00e\"" },
  { "bad-u-escape", "\"visa\"", "\"\\u00eg\"" },
  { "bad-escape", "\"visa\"", "\"\\x\"" },
  { "raw-control-char", "\"visa\"", "\"vi\x01sa\"" },
  { "raw-newline", "\"visa\"", "\"vi\nsa\"" },
  { "raw-tab-in-unknown", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":\"a\tb\"" },
  { "escaped-nul", "\"visa\"", "\"vi\\u0000sa\"" },
  { "invalid-utf8-byte", "\"visa\"", "\"vi\xffsa\"" },
  { "invalid-utf8-continuation", "\"visa\"", "\"\x80\"" },
  { "invalid-utf8-overlong", "\"visa\"", "\"\xc0\xaf\"" },
  { "invalid-utf8-surrogate", "\"visa\"", "\"\xed\xa0\x80\"" },
  { "invalid-utf8-above-max", "\"visa\"", "\"\xf4\x90\x80\x80\"" },
  { "invalid-utf8-truncated", "\"visa\"", "\"vis\xe2\x82\"" },
  { "invalid-utf8-in-unknown", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":\"\xfe\"" },
  { "invalid-utf8-in-key", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"\xc3\":1" },
  { "unterminated-string", NULL, "{\"transaction_id\":\"0b6f1c1e\\\"" },
  /* strict JSON: structure */
  { "duplicate-member", "\"order_id\":42,", "\"order_id\":42,\"order_id\":42," },
  { "duplicate-member-escaped", "\"order_id\":42,", "\"order_id\":42,\"order\\u005fid\":43," },
  { "trailing-garbage", "1700000001234}", "1700000001234}x" },
  { "trailing-object", "1700000001234}", "1700000001234}{}" },
  { "trailing-brace", "1700000001234}", "1700000001234}}" },
  { "missing-close", "1700000001234}", "1700000001234" },
  { "missing-colon", "\"order_id\":42", "\"order_id\" 42" },
  { "missing-comma", "\"order_id\":42,", "\"order_id\":42 " },
  { "double-comma", "\"order_id\":42,", "\"order_id\":42,," },
  { "unquoted-key", "\"order_id\":42", "order_id:42" },
  { "single-quotes", "\"card_brand\":\"visa\"", "\"card_brand\":'visa'" },
  { "leading-comma", "{\"transaction_id\"", "{,\"transaction_id\"" },
  { "bom", NULL, "\xef\xbb\xbf{}" },
  { "vertical-tab-space", "\"order_id\":42", "\"order_id\":\v42" },
  { "deep-unknown", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":"
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]" },
  { "unknown-bad-literal", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":tru" },
  { "unknown-unclosed-array", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":[1,2}" },
  { "unknown-mismatched", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":{\"a\":1]" },
  { "unknown-trailing-comma", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":[1,]" },
  { "unknown-object-no-value", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":{\"a\"}" },
  { "unknown-non-string-key", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":{1:2}" },
  { "unknown-leading-zero", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":01" },
  { "unknown-missing-value", "\"updated_at\":1700000001234", "\"updated_at\":1700000001234,\"x\":" },
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

  assert_rejected (record, strlen (record));
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
  g_test_add_func ("/payment/payment-json/encoded-exactly", test_encoded_exactly);
  g_test_add_func ("/payment/payment-json/escapes-round-trip", test_escapes_round_trip);
  g_test_add_func ("/payment/payment-json/unicode-escapes", test_unicode_escapes);
  g_test_add_func ("/payment/payment-json/int64-limits", test_int64_limits);
  g_test_add_func ("/payment/payment-json/whitespace-everywhere", test_whitespace_everywhere);
  g_test_add_func ("/payment/payment-json/unknown-members-every-type", test_unknown_members_of_every_type);
  g_test_add_func ("/payment/payment-json/deep-nesting", test_deep_nesting);
  g_test_add_func ("/payment/payment-json/every-prefix", test_every_prefix);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/payment-json/bad/%s", bad_cases[i].name);
      g_test_add_data_func (path, &bad_cases[i], test_bad_record);
    }

  return g_test_run ();
}
