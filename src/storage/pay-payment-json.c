/* pay-payment-json.c: encodes a PayPayment as the cache's JSON record and decodes it back,
 * checking every member, since the cache is outside the service's control. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-payment-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "core/pay-error.h"

#define FIELD_TRANSACTION_ID "transaction_id"
#define FIELD_ORDER_ID       "order_id"
#define FIELD_USER_ID        "user_id"
#define FIELD_AMOUNT_CENTS   "amount_cents"
#define FIELD_REFUNDED_CENTS "refunded_cents"
#define FIELD_STATUS         "status"
#define FIELD_PAYMENT_METHOD "payment_method"
#define FIELD_CARD_BRAND     "card_brand"
#define FIELD_CARD_LAST4     "card_last4"
#define FIELD_CREATED_AT     "created_at"
#define FIELD_UPDATED_AT     "updated_at"

gchar *
pay_payment_json_encode (const PayPayment *payment, gsize *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (payment != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, FIELD_TRANSACTION_ID);
  json_builder_add_string_value (builder, payment->transaction_id);
  json_builder_set_member_name (builder, FIELD_ORDER_ID);
  json_builder_add_int_value (builder, payment->order_id);
  json_builder_set_member_name (builder, FIELD_USER_ID);
  json_builder_add_int_value (builder, payment->user_id);
  json_builder_set_member_name (builder, FIELD_AMOUNT_CENTS);
  json_builder_add_int_value (builder, payment->amount_cents);
  json_builder_set_member_name (builder, FIELD_REFUNDED_CENTS);
  json_builder_add_int_value (builder, payment->refunded_cents);
  json_builder_set_member_name (builder, FIELD_STATUS);
  json_builder_add_string_value (builder, pay_status_to_string (payment->status));
  json_builder_set_member_name (builder, FIELD_PAYMENT_METHOD);
  json_builder_add_string_value (builder, payment->payment_method);
  json_builder_set_member_name (builder, FIELD_CARD_BRAND);
  json_builder_add_string_value (builder, payment->card_brand);
  json_builder_set_member_name (builder, FIELD_CARD_LAST4);
  json_builder_add_string_value (builder, payment->card_last4);
  json_builder_set_member_name (builder, FIELD_CREATED_AT);
  json_builder_add_int_value (builder, payment->created_at_ms);
  json_builder_set_member_name (builder, FIELD_UPDATED_AT);
  json_builder_add_int_value (builder, payment->updated_at_ms);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, length);
}

/* The member @name of @object as an integer; JSON reals and everything else fail. */
static gboolean
get_int (JsonObject *object, const gchar *name, gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: missing member \"%s\"", name);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: member \"%s\" is not an integer", name);
      return FALSE;
    }
  *value = json_node_get_int (node);
  return TRUE;
}

/* Copies the string member @name into @dest (@dest_size bytes with the NUL). */
static gboolean
get_string (JsonObject  *object,
            const gchar *name,
            gchar       *dest,
            gsize        dest_size,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);
  const gchar *value;

  if (node == NULL)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: missing member \"%s\"", name);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: member \"%s\" is not a string", name);
      return FALSE;
    }
  value = json_node_get_string (node);
  if (g_strlcpy (dest, value, dest_size) >= dest_size)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: member \"%s\" is too long", name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
invalid (GError **error, const gchar *what)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ, "cached payment: %s", what);
  return FALSE;
}

gboolean
pay_payment_json_decode (const gchar *json,
                         gsize        length,
                         PayPayment  *out,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) parse_error = NULL;
  gchar status_text[sizeof "PARTIALLY_REFUNDED"];
  JsonNode *root;
  JsonObject *object;
  PayPayment payment = { 0 };

  g_return_val_if_fail (json != NULL || length == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (length > PAY_PAYMENT_JSON_MAX_BYTES)
    return invalid (error, "record too large");

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json != NULL ? json : "", (gssize) length, &parse_error))
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ,
                   "cached payment: malformed JSON: %s", parse_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, "not a JSON object");
  object = json_node_get_object (root);

  if (!get_string (object, FIELD_TRANSACTION_ID, payment.transaction_id,
                   sizeof payment.transaction_id, error) ||
      !get_int (object, FIELD_ORDER_ID, &payment.order_id, error) ||
      !get_int (object, FIELD_USER_ID, &payment.user_id, error) ||
      !get_int (object, FIELD_AMOUNT_CENTS, &payment.amount_cents, error) ||
      !get_int (object, FIELD_REFUNDED_CENTS, &payment.refunded_cents, error) ||
      !get_string (object, FIELD_STATUS, status_text, sizeof status_text, error) ||
      !get_string (object, FIELD_PAYMENT_METHOD, payment.payment_method,
                   sizeof payment.payment_method, error) ||
      !get_string (object, FIELD_CARD_BRAND, payment.card_brand,
                   sizeof payment.card_brand, error) ||
      !get_string (object, FIELD_CARD_LAST4, payment.card_last4,
                   sizeof payment.card_last4, error) ||
      !get_int (object, FIELD_CREATED_AT, &payment.created_at_ms, error) ||
      !get_int (object, FIELD_UPDATED_AT, &payment.updated_at_ms, error))
    return FALSE;

  if (strlen (payment.transaction_id) != PAY_UUID_STRLEN)
    return invalid (error, "bad transaction_id");
  if (!pay_status_from_string (status_text, &payment.status))
    return invalid (error, "unknown status");
  if (payment.order_id <= 0 || payment.user_id <= 0)
    return invalid (error, "ids must be positive");
  if (payment.amount_cents <= 0 ||
      payment.refunded_cents < 0 || payment.refunded_cents > payment.amount_cents)
    return invalid (error, "amounts out of range");

  *out = payment;
  return TRUE;
}
