/* test-json-codec.c: the HTTP API's JSON codec: ChargeReq decoding, table-driven, and
 * the encoders. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/pay-error.h"
#include "transport/http/pay-json-codec.h"

#define CARD_OK \
  "\"credit_card\":{\"credit_card_number\":\"4111 1111-1111 1111\",\"credit_card_cvv\":123," \
  "\"credit_card_expiration_year\":2030,\"credit_card_expiration_month\":12}"
#define IDS_OK "\"order_id\":1,\"user_id\":2"

/* Card objects with one member replaced (@member is "name":value or empty). */
#define CARD_WITH(number, cvv, year, month) \
  "\"credit_card\":{" number cvv year month "\"x\":0}"
#define NUMBER_OK "\"credit_card_number\":\"4111111111111111\","
#define CVV_OK    "\"credit_card_cvv\":123,"
#define YEAR_OK   "\"credit_card_expiration_year\":2030,"
#define MONTH_OK  "\"credit_card_expiration_month\":12,"

/* ---------------------------------------------------------------------------------- */
/* Valid bodies                                                                       */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *json;
  gdouble      amount;          /* NAN: expect +inf */
  gboolean     has_card;
  gint32       cvv;
  gint32       year;
  gint32       month;
  gint64       order_id;
  gint64       user_id;
  const gchar *payment_method;
} DecodeOk;

static const DecodeOk decode_ok[] = {
  { "basic", "{\"amount\":100.5," CARD_OK "," IDS_OK "}",
    100.5, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "integer-amount", "{\"amount\":100," CARD_OK "," IDS_OK "}",
    100.0, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "whitespace", " \n\t{ \"amount\" : 19.99 ,\r\n" CARD_OK " , " IDS_OK " }\n ",
    19.99, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "string-ids", "{\"amount\":1," CARD_OK ",\"order_id\":\"9223372036854775807\",\"user_id\":\"0042\"}",
    1.0, TRUE, 123, 2030, 12, G_MAXINT64, 42, NULL },
  { "int64-limits", "{\"amount\":1," CARD_OK ",\"order_id\":9223372036854775807,\"user_id\":-9223372036854775808}",
    1.0, TRUE, 123, 2030, 12, G_MAXINT64, G_MININT64, NULL },
  { "integral-doubles", "{\"amount\":1," CARD_OK ",\"order_id\":7.0,\"user_id\":1e3}",
    1.0, TRUE, 123, 2030, 12, 7, 1000, NULL },
  { "largest-exact-double", "{\"amount\":1," CARD_OK ",\"order_id\":9007199254740992.0,\"user_id\":1}",
    1.0, TRUE, 123, 2030, 12, G_GINT64_CONSTANT (9007199254740992), 1, NULL },
  { "negative-ids-left-to-service", "{\"amount\":1," CARD_OK ",\"order_id\":-5,\"user_id\":0}",
    1.0, TRUE, 123, 2030, 12, -5, 0, NULL },
  { "payment-method", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"credit_card\"}",
    1.0, TRUE, 123, 2030, 12, 1, 2, "credit_card" },
  { "payment-method-null", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":null}",
    1.0, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "no-card", "{\"amount\":1," IDS_OK "}",
    1.0, FALSE, 0, 0, 0, 1, 2, NULL },
  { "null-card", "{\"amount\":1,\"credit_card\":null," IDS_OK "}",
    1.0, FALSE, 0, 0, 0, 1, 2, NULL },
  { "unknown-members-ignored", "{\"amount\":1," CARD_OK "," IDS_OK ",\"extra\":[[[{\"a\":[1,2.5,true,null]}]]]}",
    1.0, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "huge-exponent-amount", "{\"amount\":1e400," CARD_OK "," IDS_OK "}",
    NAN, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "negative-cvv-left-to-service", "{\"amount\":1,\"credit_card\":{\"credit_card_number\":\"4\","
    "\"credit_card_cvv\":-1,\"credit_card_expiration_year\":-2147483648,"
    "\"credit_card_expiration_month\":2147483647}," IDS_OK "}",
    1.0, TRUE, -1, G_MININT32, G_MAXINT32, 1, 2, NULL },
  { "unicode-escapes", "{\"amount\":1,\"credit_card\":{\"credit_card_number\":\"4111\\u0031\","
    "\"credit_card_cvv\":1,\"credit_card_expiration_year\":1,\"credit_card_expiration_month\":1},"
    IDS_OK ",\"payment_method\":\"caf\\u00e9\"}",
    1.0, TRUE, 1, 1, 1, 1, 2, "caf\xc3\xa9" },
  /* strict grammar: what it still accepts */
  { "same-name-in-sibling-objects", "{\"amount\":1," CARD_OK "," IDS_OK ",\"a\":{\"x\":1},\"b\":{\"x\":1},\"c\":[{\"x\":1},{\"x\":2}]}",
    1.0, TRUE, 123, 2030, 12, 1, 2, NULL },
  { "surrogate-pair", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\ud83d\\ude00\"}",
    1.0, TRUE, 123, 2030, 12, 1, 2, "\xf0\x9f\x98\x80" },
  { "del-and-utf8-in-string", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\x7f\xe2\x82\xac\"}",
    1.0, TRUE, 123, 2030, 12, 1, 2, "\x7f\xe2\x82\xac" },
  { "exact-integer-spellings", "{\"amount\":1," CARD_OK ",\"order_id\":0.7e1,\"user_id\":1000e-3}",
    1.0, TRUE, 123, 2030, 12, 7, 1, NULL },
  { "exact-negative-float-id", "{\"amount\":1," CARD_OK ",\"order_id\":-9007199254740992.0,\"user_id\":-0.0}",
    1.0, TRUE, 123, 2030, 12, -G_GINT64_CONSTANT (9007199254740992), 0, NULL },
};

static void
test_decode_ok (gconstpointer data)
{
  const DecodeOk *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PayChargeBody) body = pay_json_decode_charge (tc->json, strlen (tc->json), &error);

  g_assert_no_error (error);
  g_assert_nonnull (body);
  if (isnan (tc->amount))
    g_assert_true (isinf (body->request.amount) && body->request.amount > 0);
  else
    g_assert_cmpfloat (body->request.amount, ==, tc->amount);
  g_assert_cmpint (body->request.has_card, ==, tc->has_card);
  if (tc->has_card)
    {
      g_assert_nonnull (body->request.card_number);
      g_assert_true (body->request.card_number == body->card_number);
      g_assert_cmpint (body->request.card_cvv, ==, tc->cvv);
      g_assert_cmpint (body->request.card_exp_year, ==, tc->year);
      g_assert_cmpint (body->request.card_exp_month, ==, tc->month);
    }
  else
    g_assert_null (body->request.card_number);
  g_assert_cmpint (body->request.order_id, ==, tc->order_id);
  g_assert_cmpint (body->request.user_id, ==, tc->user_id);
  g_assert_cmpstr (body->request.payment_method, ==, tc->payment_method);
}

static void
test_decode_card_number_kept (void)
{
  const gchar *json = "{\"amount\":1," CARD_OK "," IDS_OK "}";
  g_autoptr(GError) error = NULL;
  g_autoptr(PayChargeBody) body = pay_json_decode_charge (json, strlen (json), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (body->request.card_number, ==, "4111 1111-1111 1111");
}

/* The decoder honours @length and never reads past it. */
static void
test_decode_not_nul_terminated (void)
{
  const gchar *json = "{\"amount\":1," CARD_OK "," IDS_OK "}";
  gsize length = strlen (json);
  g_autofree gchar *copy = g_malloc (length);
  g_autoptr(GError) error = NULL;
  g_autoptr(PayChargeBody) body = NULL;

  memcpy (copy, json, length);
  body = pay_json_decode_charge (copy, length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (body->request.order_id, ==, 1);

  /* The same text cut short is malformed, whatever follows in memory. */
  g_clear_pointer (&body, pay_charge_body_free);
  body = pay_json_decode_charge (copy, length - 1, &error);
  g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST);
  g_assert_null (body);
}

/* ---------------------------------------------------------------------------------- */
/* Invalid bodies                                                                     */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *json;       /* NULL: built by the test (see deep_nesting) */
  gsize        length;     /* 0: strlen (json) */
  const gchar *mentions;   /* a substring the error message must contain */
} DecodeBad;

#define NUL_IN_STRING "{\"amount\":1,\"payment_method\":\"a\0b\"}"
#define NUL_OUTSIDE   "{\"amount\":1}\0"

static const DecodeBad decode_bad[] = {
  /* not an object at all */
  { "empty", "", 0, "JSON object" },
  { "blank", " \n ", 0, "JSON object" },
  { "array", "[1,2]", 0, "JSON object" },
  { "null", "null", 0, "JSON object" },
  { "string", "\"amount\"", 0, "JSON object" },
  { "number", "42", 0, "JSON object" },
  { "true", "true", 0, "JSON object" },
  /* malformed */
  { "unclosed", "{\"amount\":1", 0, "malformed" },
  { "unbalanced", "{\"amount\":1}}", 0, "malformed" },
  { "trailing-comma", "{\"amount\":1," CARD_OK "," IDS_OK ",}", 0, "malformed" },
  { "trailing-object", "{\"amount\":1," CARD_OK "," IDS_OK "}{}", 0, "malformed" },
  { "trailing-garbage", "{\"amount\":1," CARD_OK "," IDS_OK "} x", 0, "malformed" },
  { "comment", "{\"amount\":/*x*/1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "single-quotes", "{'amount':1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "bare-key", "{amount:1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "missing-colon", "{\"amount\" 1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "unterminated-string", "{\"amount\":1,\"payment_method\":\"abc}", 0, "malformed" },
  { "raw-newline-in-string", "{\"amount\":1,\"payment_method\":\"a\nb\"," CARD_OK "," IDS_OK "}", 0, "control" },
  { "nul-in-string", NUL_IN_STRING, sizeof NUL_IN_STRING - 1, "control" },
  { "nul-outside-string", NUL_OUTSIDE, sizeof NUL_OUTSIDE - 1, "malformed" },
  { "invalid-utf8", "{\"amount\":1,\"payment_method\":\"\xff\xfe\"," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "hex-number", "{\"amount\":0x10," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "leading-zero", "{\"amount\":01," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "leading-plus", "{\"amount\":+1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "leading-dot", "{\"amount\":.5," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "trailing-dot", "{\"amount\":5.," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "bare-minus", "{\"amount\":-," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "bad-exponent", "{\"amount\":1e," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "two-dots", "{\"amount\":1.2.3," CARD_OK "," IDS_OK "}", 0, "malformed" },
  /* NaN-like */
  { "nan-literal", "{\"amount\":NaN," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "nan-lowercase", "{\"amount\":nan," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "infinity-literal", "{\"amount\":Infinity," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "minus-infinity-literal", "{\"amount\":-Infinity," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "nan-string", "{\"amount\":\"NaN\"," CARD_OK "," IDS_OK "}", 0, "amount must be a number" },
  { "truex", "{\"amount\":truex," CARD_OK "," IDS_OK "}", 0, "malformed" },
  /* amount */
  { "amount-missing", "{" CARD_OK "," IDS_OK "}", 0, "amount is required" },
  { "amount-null", "{\"amount\":null," CARD_OK "," IDS_OK "}", 0, "amount is required" },
  { "amount-string", "{\"amount\":\"10.00\"," CARD_OK "," IDS_OK "}", 0, "amount must be a number" },
  { "amount-bool", "{\"amount\":true," CARD_OK "," IDS_OK "}", 0, "amount must be a number" },
  { "amount-object", "{\"amount\":{}," CARD_OK "," IDS_OK "}", 0, "amount must be a number" },
  { "amount-array", "{\"amount\":[1]," CARD_OK "," IDS_OK "}", 0, "amount must be a number" },
  { "amount-huge-integer", "{\"amount\":100000000000000000000," CARD_OK "," IDS_OK "}", 0, "amount: integer out of the int64 range" },
  /* order_id / user_id */
  { "order-missing", "{\"amount\":1," CARD_OK ",\"user_id\":2}", 0, "order_id is required" },
  { "order-null", "{\"amount\":1," CARD_OK ",\"order_id\":null,\"user_id\":2}", 0, "order_id is required" },
  { "order-fraction", "{\"amount\":1," CARD_OK ",\"order_id\":1.5,\"user_id\":2}", 0, "order_id must be" },
  { "order-bool", "{\"amount\":1," CARD_OK ",\"order_id\":true,\"user_id\":2}", 0, "order_id must be" },
  { "order-array", "{\"amount\":1," CARD_OK ",\"order_id\":[1],\"user_id\":2}", 0, "order_id must be" },
  { "order-object", "{\"amount\":1," CARD_OK ",\"order_id\":{},\"user_id\":2}", 0, "order_id must be" },
  { "order-empty-string", "{\"amount\":1," CARD_OK ",\"order_id\":\"\",\"user_id\":2}", 0, "order_id must be" },
  { "order-letters", "{\"amount\":1," CARD_OK ",\"order_id\":\"12a\",\"user_id\":2}", 0, "order_id must be" },
  { "order-signed-string", "{\"amount\":1," CARD_OK ",\"order_id\":\"-5\",\"user_id\":2}", 0, "order_id must be" },
  { "order-spaced-string", "{\"amount\":1," CARD_OK ",\"order_id\":\" 5\",\"user_id\":2}", 0, "order_id must be" },
  { "order-float-string", "{\"amount\":1," CARD_OK ",\"order_id\":\"5.0\",\"user_id\":2}", 0, "order_id must be" },
  { "order-string-overflow", "{\"amount\":1," CARD_OK ",\"order_id\":\"9223372036854775808\",\"user_id\":2}", 0, "order_id is out of range" },
  { "order-long-string", "{\"amount\":1," CARD_OK ",\"order_id\":\"100000000000000000000000001\",\"user_id\":2}", 0, "order_id is out of range" },
  { "order-overflow", "{\"amount\":1," CARD_OK ",\"order_id\":9223372036854775808,\"user_id\":2}", 0, "order_id: integer out of the int64 range" },
  { "order-underflow", "{\"amount\":1," CARD_OK ",\"order_id\":-9223372036854775809,\"user_id\":2}", 0, "order_id: integer out of the int64 range" },
  { "order-way-over", "{\"amount\":1," CARD_OK ",\"order_id\":99999999999999999999999,\"user_id\":2}", 0, "order_id: integer out of the int64 range" },
  { "order-huge-double", "{\"amount\":1," CARD_OK ",\"order_id\":1e300,\"user_id\":2}", 0, "order_id is out of range" },
  { "order-inexact-double", "{\"amount\":1," CARD_OK ",\"order_id\":9007199254740994.0,\"user_id\":2}", 0, "order_id is out of range" },
  { "order-infinite", "{\"amount\":1," CARD_OK ",\"order_id\":1e400,\"user_id\":2}", 0, "order_id must be" },
  { "user-missing", "{\"amount\":1," CARD_OK ",\"order_id\":1}", 0, "user_id is required" },
  { "user-fraction", "{\"amount\":1," CARD_OK ",\"order_id\":1,\"user_id\":0.5}", 0, "user_id must be" },
  { "user-letters", "{\"amount\":1," CARD_OK ",\"order_id\":1,\"user_id\":\"abc\"}", 0, "user_id must be" },
  { "user-overflow", "{\"amount\":1," CARD_OK ",\"order_id\":1,\"user_id\":18446744073709551617}", 0, "user_id: integer out of the int64 range" },
  /* credit_card */
  { "card-string", "{\"amount\":1,\"credit_card\":\"4111111111111111\"," IDS_OK "}", 0, "credit_card must be an object" },
  { "card-array", "{\"amount\":1,\"credit_card\":[]," IDS_OK "}", 0, "credit_card must be an object" },
  { "card-number-missing", "{\"amount\":1," CARD_WITH ("", CVV_OK, YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_number is required" },
  { "card-number-number", "{\"amount\":1," CARD_WITH ("\"credit_card_number\":4111111111111111,", CVV_OK, YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_number must be a string" },
  { "card-number-array", "{\"amount\":1," CARD_WITH ("\"credit_card_number\":[\"4111\"],", CVV_OK, YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_number must be a string" },
  { "cvv-missing", "{\"amount\":1," CARD_WITH (NUMBER_OK, "", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv is required" },
  { "cvv-string", "{\"amount\":1," CARD_WITH (NUMBER_OK, "\"credit_card_cvv\":\"123\",", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv must be an integer" },
  { "cvv-fraction", "{\"amount\":1," CARD_WITH (NUMBER_OK, "\"credit_card_cvv\":12.5,", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv must be an integer" },
  { "cvv-over-int32", "{\"amount\":1," CARD_WITH (NUMBER_OK, "\"credit_card_cvv\":2147483648,", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv is out of range" },
  { "cvv-under-int32", "{\"amount\":1," CARD_WITH (NUMBER_OK, "\"credit_card_cvv\":-2147483649,", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv is out of range" },
  { "year-missing", "{\"amount\":1," CARD_WITH (NUMBER_OK, CVV_OK, "", MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_expiration_year is required" },
  { "year-bool", "{\"amount\":1," CARD_WITH (NUMBER_OK, CVV_OK, "\"credit_card_expiration_year\":false,", MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_expiration_year must be an integer" },
  { "month-missing", "{\"amount\":1," CARD_WITH (NUMBER_OK, CVV_OK, YEAR_OK, "") "," IDS_OK "}", 0, "credit_card.credit_card_expiration_month is required" },
  { "month-string", "{\"amount\":1," CARD_WITH (NUMBER_OK, CVV_OK, YEAR_OK, "\"credit_card_expiration_month\":\"12\",") "," IDS_OK "}", 0, "credit_card.credit_card_expiration_month must be an integer" },
  { "month-null", "{\"amount\":1," CARD_WITH (NUMBER_OK, CVV_OK, YEAR_OK, "\"credit_card_expiration_month\":null,") "," IDS_OK "}", 0, "credit_card.credit_card_expiration_month is required" },
  /* payment_method */
  { "method-number", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":1}", 0, "payment_method must be a string" },
  { "method-object", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":{}}", 0, "payment_method must be a string" },
  /* nesting */
  { "nesting-over-limit", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}", 0, "nested deeper" },
  { "deep-nesting", NULL, 0, "nested deeper" },
  /* strict grammar: duplicate member names, at any depth, compared after unescaping */
  { "duplicate-amount", "{\"amount\":1,\"amount\":1000," CARD_OK "," IDS_OK "}", 0, "duplicate member \"amount\"" },
  { "duplicate-escaped", "{\"amount\":1,\"\\u0061mount\":1000," CARD_OK "," IDS_OK "}", 0, "duplicate member" },
  { "duplicate-in-card", "{\"amount\":1,\"credit_card\":{\"credit_card_number\":\"4\",\"credit_card_number\":\"5\"}," IDS_OK "}", 0, "duplicate member" },
  { "duplicate-deep", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[[{\"k\":1,\"j\":2,\"k\":3}]]}", 0, "duplicate member" },
  { "duplicate-null", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":null,\"payment_method\":\"x\"}", 0, "duplicate member" },
  /* strict grammar: a NUL in any string */
  { "nul-escape-value", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"credit_card\\u0000x\"}", 0, "NUL" },
  { "nul-escape-card", "{\"amount\":1,\"credit_card\":{\"credit_card_number\":\"4111111111111111\\u0000\","
    "\"credit_card_cvv\":1,\"credit_card_expiration_year\":1,\"credit_card_expiration_month\":1}," IDS_OK "}", 0, "NUL" },
  { "nul-escape-key", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\\u0000\":1}", 0, "NUL" },
  { "nul-escape-ignored-member", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[\"\\u0000\"]}", 0, "NUL" },
  /* strict grammar: integers written as floats must be exactly the integer, within 2^53 */
  { "order-float-above-2^53", "{\"amount\":1," CARD_OK ",\"order_id\":9007199254740993.0,\"user_id\":2}", 0, "order_id is out of range" },
  { "order-exponent-above-2^53", "{\"amount\":1," CARD_OK ",\"order_id\":9007199254740993e0,\"user_id\":2}", 0, "order_id is out of range" },
  { "user-float-below-minus-2^53", "{\"amount\":1," CARD_OK ",\"order_id\":1,\"user_id\":-9007199254740993.0}", 0, "user_id is out of range" },
  { "order-rounds-to-integer", "{\"amount\":1," CARD_OK ",\"order_id\":1.0000000000000001,\"user_id\":2}", 0, "order_id must be" },
  { "order-half-rounds-to-even", "{\"amount\":1," CARD_OK ",\"order_id\":4503599627370496.5,\"user_id\":2}", 0, "order_id must be" },
  { "cvv-tiny-fraction", "{\"amount\":1," CARD_WITH (NUMBER_OK, "\"credit_card_cvv\":123.00000000000001,", YEAR_OK, MONTH_OK) "," IDS_OK "}", 0, "credit_card.credit_card_cvv must be an integer" },
  /* strict grammar: RFC 8259 beyond what json-glib checks */
  { "lone-high-surrogate", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\ud800\"}", 0, "surrogate" },
  { "lone-low-surrogate", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\udc00x\"}", 0, "surrogate" },
  { "reversed-surrogates", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\udc00\\ud800\"}", 0, "surrogate" },
  { "utf8-encoded-surrogate", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\xed\xa0\x80\"}", 0, "UTF-8" },
  { "utf8-overlong", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\xc0\xaf\"}", 0, "UTF-8" },
  { "utf8-outside-string", "{\"amount\":1," CARD_OK "," IDS_OK "}\xc2\xa0", 0, "malformed" },
  { "byte-order-mark", "\xef\xbb\xbf{\"amount\":1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "bad-escape", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\x41\"}", 0, "malformed" },
  { "short-unicode-escape", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"\\u00e\"}", 0, "malformed" },
  { "array-trailing-comma", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[1,]}", 0, "malformed" },
  { "array-leading-comma", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[,1]}", 0, "malformed" },
  { "double-comma", "{\"amount\":1,," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "missing-comma", "{\"amount\":1 " CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "array-missing-comma", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[1 2]}", 0, "malformed" },
  { "missing-value", "{\"amount\":," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "number-key", "{1:1,\"amount\":1," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "colon-in-array", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":[\"a\":1]}", 0, "malformed" },
  { "uppercase-literal", "{\"amount\":1," CARD_OK "," IDS_OK ",\"x\":True}", 0, "malformed" },
  { "form-feed-whitespace", "{\"amount\":1,\f" CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "tab-in-string", "{\"amount\":1," CARD_OK "," IDS_OK ",\"payment_method\":\"a\tb\"}", 0, "control" },
  { "minus-zero-leading-zero", "{\"amount\":-01," CARD_OK "," IDS_OK "}", 0, "malformed" },
  { "exponent-sign-only", "{\"amount\":1e+," CARD_OK "," IDS_OK "}", 0, "malformed" },
};

/* 60000 '[' then as many ']': a stack-exhaustion attempt that fits in the body limit. */
static gchar *
deep_nesting (gsize *length)
{
  const gsize depth = 60000;
  GString *text = g_string_new ("{\"amount\":");

  for (gsize i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (gsize i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  g_string_append_c (text, '}');
  *length = text->len;
  return g_string_free (text, FALSE);
}

static void
test_decode_bad (gconstpointer data)
{
  const DecodeBad *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PayChargeBody) body = NULL;
  g_autofree gchar *built = NULL;
  const gchar *json = tc->json;
  gsize length = tc->length;

  if (json == NULL)
    json = built = deep_nesting (&length);
  else if (length == 0)
    length = strlen (json);

  body = pay_json_decode_charge (json, length, &error);
  g_assert_null (body);
  g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST);
  if (strstr (error->message, tc->mentions) == NULL)
    g_error ("message \"%s\" does not mention \"%s\"", error->message, tc->mentions);
  /* Error messages never echo the card number. */
  g_assert_null (strstr (error->message, "4111"));
}

/* ---------------------------------------------------------------------------------- */
/* Encoders                                                                           */
/* ---------------------------------------------------------------------------------- */

/* Parses @text (of @length bytes) and returns its root object, asserting it is one. */
static JsonObject *
parse_encoded (JsonParser *parser, const gchar *text, gsize length)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  g_assert_cmpuint (strlen (text), ==, length);
  json_parser_load_from_data (parser, text, (gssize) length, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static void
test_encode_charge_response (void)
{
  const gchar *id = "0b9f0d1e-5c7a-4f3e-9a45-2f6d2b8c1e77";
  gsize length;
  g_autofree gchar *text = pay_json_encode_charge_response (id, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpuint (json_object_get_size (object), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (object, "transaction_id"), ==, id);
}

typedef struct {
  const gchar *name;
  gint32       code;
  const gchar *message;
} EncodeErrorCase;

static const EncodeErrorCase encode_error_cases[] = {
  { "plain", PAY_ERROR_INVALID_CARD, "invalid credit card" },
  { "quotes-and-backslashes", PAY_ERROR_INVALID_REQUEST, "bad \"x\" \\ here\n" },
  { "unicode", PAY_ERROR_NOT_FOUND, "caf\xc3\xa9 \xe2\x82\xac" },
  { "empty", PAY_ERROR_STORAGE_UNAVAILABLE, "" },
};

static void
test_encode_error (gconstpointer data)
{
  const EncodeErrorCase *tc = data;
  gsize length;
  g_autofree gchar *text = pay_json_encode_error (tc->code, tc->message, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpuint (json_object_get_size (object), ==, 2);
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, tc->code);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, tc->message);
}

static void
test_encode_health (void)
{
  gsize length;
  g_autofree gchar *text = pay_json_encode_health ("degraded", TRUE, FALSE, "registered",
                                                           "down", &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "degraded");
  g_assert_cmpstr (json_object_get_string_member (object, "mysql"), ==, "up");
  g_assert_cmpstr (json_object_get_string_member (object, "redis"), ==, "down");
  g_assert_cmpstr (json_object_get_string_member (object, "consul"), ==, "registered");
  g_assert_cmpstr (json_object_get_string_member (object, "events"), ==, "down");
}

/* Without a relay (NULL) /health says "disabled". */
static void
test_encode_health_events_disabled (void)
{
  gsize length;
  g_autofree gchar *text = pay_json_encode_health ("ok", TRUE, TRUE, NULL, NULL, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpstr (json_object_get_string_member (object, "events"), ==, "disabled");
}

static void
test_encode_payment_info (void)
{
  PayPayment payment = {
    .transaction_id = "0b9f0d1e-5c7a-4f3e-9a45-2f6d2b8c1e77", .order_id = 1001,
    .user_id = 7, .amount_cents = 1999, .refunded_cents = 1, .status = PAY_STATUS_PARTIALLY_REFUNDED,
    .payment_method = "credit_card", .card_brand = "visa", .card_last4 = "4242",
    .created_at_ms = 1700000000000, .updated_at_ms = 1700000000123,
  };
  gsize length;
  g_autofree gchar *text = pay_json_encode_payment_info (&payment, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpuint (json_object_get_size (object), ==, 11);
  g_assert_cmpstr (json_object_get_string_member (object, "transaction_id"), ==, payment.transaction_id);
  g_assert_cmpint (json_object_get_int_member (object, "order_id"), ==, 1001);
  g_assert_cmpint (json_object_get_int_member (object, "user_id"), ==, 7);
  g_assert_cmpfloat (json_object_get_double_member (object, "amount"), ==, 19.99);
  g_assert_cmpfloat (json_object_get_double_member (object, "refunded_amount"), ==, 0.01);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "PARTIALLY_REFUNDED");
  g_assert_cmpstr (json_object_get_string_member (object, "payment_method"), ==, "credit_card");
  g_assert_cmpstr (json_object_get_string_member (object, "card_brand"), ==, "visa");
  g_assert_cmpstr (json_object_get_string_member (object, "card_last4"), ==, "4242");
  g_assert_cmpint (json_object_get_int_member (object, "created_at"), ==, 1700000000000);
  g_assert_cmpint (json_object_get_int_member (object, "updated_at"), ==, 1700000000123);
  /* Byte for byte: amounts as the shortest decimal of their cents, not 19.989999999999998. */
  g_assert_cmpstr (text, ==,
                   "{\"transaction_id\":\"0b9f0d1e-5c7a-4f3e-9a45-2f6d2b8c1e77\","
                   "\"order_id\":1001,\"user_id\":7,\"amount\":19.99,\"refunded_amount\":0.01,"
                   "\"status\":\"PARTIALLY_REFUNDED\",\"payment_method\":\"credit_card\","
                   "\"card_brand\":\"visa\",\"card_last4\":\"4242\","
                   "\"created_at\":1700000000000,\"updated_at\":1700000000123}");
  g_assert_cmpuint (length, ==, strlen (text));
}

static void
test_encode_refund_response (void)
{
  PayRefund refund = {
    .refund_id = "11111111-2222-4333-8444-555555555555",
    .transaction_id = "0b9f0d1e-5c7a-4f3e-9a45-2f6d2b8c1e77",
    .amount_cents = 1000, .total_refunded_cents = 10000, .status = PAY_STATUS_REFUNDED,
  };
  gsize length;
  g_autofree gchar *text = pay_json_encode_refund_response (&refund, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_encoded (parser, text, length);

  g_assert_cmpuint (json_object_get_size (object), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (object, "refund_id"), ==, refund.refund_id);
  g_assert_cmpstr (json_object_get_string_member (object, "transaction_id"), ==, refund.transaction_id);
  g_assert_cmpfloat (json_object_get_double_member (object, "amount"), ==, 10.0);
  g_assert_cmpfloat (json_object_get_double_member (object, "total_refunded"), ==, 100.0);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "REFUNDED");
  /* Byte for byte: whole amounts without a point (10, not 10.0). */
  g_assert_cmpstr (text, ==,
                   "{\"refund_id\":\"11111111-2222-4333-8444-555555555555\","
                   "\"transaction_id\":\"0b9f0d1e-5c7a-4f3e-9a45-2f6d2b8c1e77\","
                   "\"amount\":10,\"total_refunded\":100,\"status\":\"REFUNDED\"}");
  g_assert_cmpuint (length, ==, strlen (text));
}

/* A string that needs escaping is written in a body with money exactly as JsonGenerator
 * writes it in any other body. */
static void
test_encode_money_body_strings (void)
{
  const gchar *hostile = "a\"b\\c/\n\t\x01\x1f\x7f\xc3\xa9\xe2\x82\xac";
  PayPayment payment = { .transaction_id = "t", .status = PAY_STATUS_PAID };
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gchar *reference = NULL;
  g_autofree gchar *text = NULL;

  g_strlcpy (payment.payment_method, hostile, sizeof payment.payment_method);
  text = pay_json_encode_payment_info (&payment, NULL);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "payment_method");
  json_builder_add_string_value (builder, hostile);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  reference = json_generator_to_data (generator, NULL);
  /* {"payment_method":"..."} without its braces. */
  reference[strlen (reference) - 1] = '\0';
  g_assert_nonnull (strstr (text, reference + 1));
}

typedef struct {
  const gchar *name;
  const gchar *body;
  gboolean     ok;
  gboolean     has_amount;
  gdouble      amount;
  const gchar *reason;
} RefundDecodeCase;

static const RefundDecodeCase refund_decode_cases[] = {
  { "full", "{\"transaction_id\":\"t\",\"amount\":10.5,\"refund_request_id\":\"k\",\"reason\":\"r\"}",
    TRUE, TRUE, 10.5, "r" },
  { "rest", "{\"transaction_id\":\"t\",\"refund_request_id\":\"k\"}", TRUE, FALSE, 0, NULL },
  { "nulls", "{\"transaction_id\":\"t\",\"amount\":null,\"refund_request_id\":\"k\",\"reason\":null}",
    TRUE, FALSE, 0, NULL },
  { "int-amount", "{\"transaction_id\":\"t\",\"amount\":3,\"refund_request_id\":\"k\"}", TRUE, TRUE, 3, NULL },
  { "no-tx", "{\"refund_request_id\":\"k\"}", FALSE },
  { "no-key", "{\"transaction_id\":\"t\"}", FALSE },
  { "key-number", "{\"transaction_id\":\"t\",\"refund_request_id\":5}", FALSE },
  { "amount-string", "{\"transaction_id\":\"t\",\"refund_request_id\":\"k\",\"amount\":\"1\"}", FALSE },
  { "reason-number", "{\"transaction_id\":\"t\",\"refund_request_id\":\"k\",\"reason\":1}", FALSE },
  { "not-object", "[]", FALSE },
  { "malformed", "{", FALSE },
};

static void
test_decode_refund (gconstpointer data)
{
  const RefundDecodeCase *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PayRefundBody) body = pay_json_decode_refund (tc->body, strlen (tc->body), &error);

  if (!tc->ok)
    {
      g_assert_null (body);
      g_assert_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (body->request.transaction_id, ==, "t");
  g_assert_cmpstr (body->request.refund_request_id, ==, "k");
  g_assert_cmpint (body->request.has_amount, ==, tc->has_amount);
  if (tc->has_amount)
    g_assert_cmpfloat (body->request.amount, ==, tc->amount);
  g_assert_cmpstr (body->request.reason, ==, tc->reason);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (decode_ok); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/json/decode/ok/%s", decode_ok[i].name);
      g_test_add_data_func (path, &decode_ok[i], test_decode_ok);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (decode_bad); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/json/decode/invalid/%s", decode_bad[i].name);
      g_test_add_data_func (path, &decode_bad[i], test_decode_bad);
    }
  g_test_add_func ("/payment/http/json/decode/card-number-kept", test_decode_card_number_kept);
  g_test_add_func ("/payment/http/json/decode/not-nul-terminated", test_decode_not_nul_terminated);

  g_test_add_func ("/payment/http/json/encode/charge-response", test_encode_charge_response);
  for (gsize i = 0; i < G_N_ELEMENTS (encode_error_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/json/encode/error/%s", encode_error_cases[i].name);
      g_test_add_data_func (path, &encode_error_cases[i], test_encode_error);
    }
  g_test_add_func ("/payment/http/json/encode/health", test_encode_health);
  g_test_add_func ("/payment/http/json/encode/health-events-disabled",
                   test_encode_health_events_disabled);
  g_test_add_func ("/payment/http/json/encode/payment-info", test_encode_payment_info);
  g_test_add_func ("/payment/http/json/encode/refund-response", test_encode_refund_response);
  g_test_add_func ("/payment/http/json/encode/money-body-strings", test_encode_money_body_strings);
  for (gsize i = 0; i < G_N_ELEMENTS (refund_decode_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/json/decode-refund/%s",
                                                refund_decode_cases[i].name);
      g_test_add_data_func (path, &refund_decode_cases[i], test_decode_refund);
    }

  return g_test_run ();
}
