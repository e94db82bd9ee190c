/* pay-json-codec.c: JSON decoding and encoding of the HTTP API's bodies: decoded from the
 * tree pay-json-strict.c builds, encoded with json-glib. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-json-codec.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/pay-error.h"
#include "core/pay-json-writer.h"
#include "domain/pay-money.h"
#include "transport/http/pay-json-strict.h"

static gboolean
fail_invalid (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail_invalid (GError **error, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST, message);
  return FALSE;
}

/* ---------------------------------------------------------------------------------- */
/* Decoding helpers (shared by every request type)                                    */
/* ---------------------------------------------------------------------------------- */

/* Parses @data strictly into *@root and returns its object (owned by *@root). */
static JsonObject *
parse_object (JsonNode **root, const gchar *data, gsize length, GError **error)
{
  gsize i = 0;

  /* An empty body is the commonest mistake; say what it should have been. */
  while (i < length && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
    i++;
  if (i == length)
    {
      fail_invalid (error, "the body must be a JSON object");
      return NULL;
    }
  if ((*root = pay_json_strict_parse (data, length, error)) == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (*root))
    {
      fail_invalid (error, "the body must be a JSON object");
      return NULL;
    }
  return json_node_get_object (*root);
}

/* The member @name of @object, or NULL when it is absent or null. */
static JsonNode *
get_member (JsonObject *object, const gchar *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

/* Like get_member() but a missing member is an error naming @field. */
static JsonNode *
require_member (JsonObject *object, const gchar *name, const gchar *field, GError **error)
{
  JsonNode *node = get_member (object, name);

  if (node == NULL)
    fail_invalid (error, "%s is required", field);
  return node;
}

/* An integer within [@min, @max] from a JSON integer, an integral JSON number (see the
 * header for why) or, when @digits_ok, a non-empty string of ASCII digits. */
static gboolean
node_to_int64 (JsonNode *node, const gchar *field, gboolean digits_ok,
               gint64 min, gint64 max, gint64 *out, GError **error)
{
  const gchar *expected = digits_ok ? "an integer or a string of digits" : "an integer";
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return fail_invalid (error, "%s must be %s", field, expected);

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      gint64 value = json_node_get_int (node);

      if (value < min || value > max)
        return fail_invalid (error, "%s is out of range", field);
      *out = value;
      return TRUE;
    }
  if (type == G_TYPE_DOUBLE)
    {
      gdouble value = json_node_get_double (node);

      /* The parser made every literal that is exactly an integer within ±2^53 an
       * int64, so a double here is never one: a huge integral one is out of range
       * (9007199254740993.0 reads as 2^53), any other is not an integer (1.5, or
       * 1.0000000000000001, which reads as 1). */
      if (isfinite (value) && floor (value) == value &&
          fabs (value) >= (gdouble) PAY_JSON_MAX_EXACT_INTEGER)
        return fail_invalid (error, "%s is out of range", field);
      return fail_invalid (error, "%s must be %s", field, expected);
    }
  if (type == G_TYPE_STRING && digits_ok)
    {
      const gchar *text = json_node_get_string (node);
      gint64 value;

      if (*text == '\0')
        return fail_invalid (error, "%s must be %s", field, expected);
      for (const gchar *p = text; *p != '\0'; p++)
        if (!g_ascii_isdigit (*p))
          return fail_invalid (error, "%s must be %s", field, expected);
      if (!g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
        return fail_invalid (error, "%s is out of range", field);
      *out = value;
      return TRUE;
    }
  return fail_invalid (error, "%s must be %s", field, expected);
}

static gboolean
node_to_int32 (JsonNode *node, const gchar *field, gint32 *out, GError **error)
{
  gint64 value;

  if (!node_to_int64 (node, field, FALSE, G_MININT32, G_MAXINT32, &value, error))
    return FALSE;
  *out = (gint32) value;
  return TRUE;
}

/* Any JSON number, integer or not; finiteness and precision are the service's rules. */
static gboolean
node_to_double (JsonNode *node, const gchar *field, gdouble *out, GError **error)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return fail_invalid (error, "%s must be a number", field);
  type = json_node_get_value_type (node);
  if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else if (type == G_TYPE_INT64)
    *out = (gdouble) json_node_get_int (node);
  else
    return fail_invalid (error, "%s must be a number", field);
  return TRUE;
}

/* A JSON string, copied into *@out. */
static gboolean
node_to_string (JsonNode *node, const gchar *field, gchar **out, GError **error)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail_invalid (error, "%s must be a string", field);
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* ChargeReq                                                                          */
/* ---------------------------------------------------------------------------------- */

void
pay_charge_body_free (PayChargeBody *body)
{
  if (body == NULL)
    return;
  if (body->card_number != NULL)
    explicit_bzero (body->card_number, strlen (body->card_number));
  g_free (body->card_number);
  g_free (body->payment_method);
  g_free (body);
}

static gboolean
decode_card (JsonNode *card_node, PayChargeBody *body, GError **error)
{
  PayChargeRequest *req = &body->request;
  JsonObject *card;
  JsonNode *node;

  if (!JSON_NODE_HOLDS_OBJECT (card_node))
    return fail_invalid (error, "credit_card must be an object");
  card = json_node_get_object (card_node);

  if (!(node = require_member (card, "credit_card_number", "credit_card.credit_card_number", error)) ||
      !node_to_string (node, "credit_card.credit_card_number", &body->card_number, error))
    return FALSE;
  if (!(node = require_member (card, "credit_card_cvv", "credit_card.credit_card_cvv", error)) ||
      !node_to_int32 (node, "credit_card.credit_card_cvv", &req->card_cvv, error))
    return FALSE;
  if (!(node = require_member (card, "credit_card_expiration_year",
                               "credit_card.credit_card_expiration_year", error)) ||
      !node_to_int32 (node, "credit_card.credit_card_expiration_year", &req->card_exp_year, error))
    return FALSE;
  if (!(node = require_member (card, "credit_card_expiration_month",
                               "credit_card.credit_card_expiration_month", error)) ||
      !node_to_int32 (node, "credit_card.credit_card_expiration_month", &req->card_exp_month, error))
    return FALSE;

  req->has_card = TRUE;
  req->card_number = body->card_number;
  return TRUE;
}

PayChargeBody *
pay_json_decode_charge (const gchar *data, gsize length, GError **error)
{
  g_autoptr(JsonNode) tree = NULL;
  g_autoptr(PayChargeBody) body = g_new0 (PayChargeBody, 1);
  PayChargeRequest *req = &body->request;
  JsonObject *root;
  JsonNode *node;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!(root = parse_object (&tree, data != NULL ? data : "", length, error)))
    return NULL;

  if (!(node = require_member (root, "amount", "amount", error)) ||
      !node_to_double (node, "amount", &req->amount, error))
    return NULL;

  if ((node = get_member (root, "credit_card")) != NULL &&
      !decode_card (node, body, error))
    return NULL;

  if (!(node = require_member (root, "order_id", "order_id", error)) ||
      !node_to_int64 (node, "order_id", TRUE, G_MININT64, G_MAXINT64, &req->order_id, error))
    return NULL;
  if (!(node = require_member (root, "user_id", "user_id", error)) ||
      !node_to_int64 (node, "user_id", TRUE, G_MININT64, G_MAXINT64, &req->user_id, error))
    return NULL;

  if ((node = get_member (root, "payment_method")) != NULL)
    {
      if (!node_to_string (node, "payment_method", &body->payment_method, error))
        return NULL;
      req->payment_method = body->payment_method;
    }

  return g_steal_pointer (&body);
}

/* ---------------------------------------------------------------------------------- */
/* RefundReq                                                                          */
/* ---------------------------------------------------------------------------------- */

void
pay_refund_body_free (PayRefundBody *body)
{
  if (body == NULL)
    return;
  g_free (body->transaction_id);
  g_free (body->refund_request_id);
  g_free (body->reason);
  g_free (body);
}

PayRefundBody *
pay_json_decode_refund (const gchar *data, gsize length, GError **error)
{
  g_autoptr(JsonNode) tree = NULL;
  g_autoptr(PayRefundBody) body = g_new0 (PayRefundBody, 1);
  PayRefundRequest *req = &body->request;
  JsonObject *root;
  JsonNode *node;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!(root = parse_object (&tree, data != NULL ? data : "", length, error)))
    return NULL;

  if (!(node = require_member (root, "transaction_id", "transaction_id", error)) ||
      !node_to_string (node, "transaction_id", &body->transaction_id, error))
    return NULL;
  if ((node = get_member (root, "amount")) != NULL)
    {
      if (!node_to_double (node, "amount", &req->amount, error))
        return NULL;
      req->has_amount = TRUE;
    }
  if (!(node = require_member (root, "refund_request_id", "refund_request_id", error)) ||
      !node_to_string (node, "refund_request_id", &body->refund_request_id, error))
    return NULL;
  if ((node = get_member (root, "reason")) != NULL &&
      !node_to_string (node, "reason", &body->reason, error))
    return NULL;

  req->transaction_id = body->transaction_id;
  req->refund_request_id = body->refund_request_id;
  req->reason = body->reason;
  return g_steal_pointer (&body);
}

/* ---------------------------------------------------------------------------------- */
/* Encoding                                                                           */
/* ---------------------------------------------------------------------------------- */

/* Serialises the object @builder has built; @builder must be balanced. */
static gchar *
builder_to_data (JsonBuilder *builder, gsize *length)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, length);
}

gchar *
pay_json_encode_charge_response (const gchar *transaction_id, gsize *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  g_return_val_if_fail (transaction_id != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "transaction_id");
  json_builder_add_string_value (builder, transaction_id);
  json_builder_end_object (builder);
  return builder_to_data (builder, length);
}

/* The objects that carry money are written member by member (PayJsonWriter): an amount
 * must appear as its exact decimal (pay_money_format_major), which a JsonNode cannot hold,
 * since JsonGenerator prints every double with 17 significant digits (19.99 would read
 * 19.989999999999998). */
/* Money leaves the service here, as major units. */
static void
writer_add_money (PayJsonWriter *writer, const gchar *name, gint64 cents)
{
  gchar literal[PAY_MONEY_FORMAT_BYTES];
  gsize length = pay_money_format_major (cents, literal);

  pay_json_writer_add_literal (writer, name, literal, length);
}

gchar *
pay_json_encode_payment_info (const PayPayment *payment, gsize *length)
{
  PayJsonWriter writer;

  g_return_val_if_fail (payment != NULL, NULL);

  pay_json_writer_begin (&writer);
  pay_json_writer_add_string (&writer, "transaction_id", payment->transaction_id);
  pay_json_writer_add_int (&writer, "order_id", payment->order_id);
  pay_json_writer_add_int (&writer, "user_id", payment->user_id);
  writer_add_money (&writer, "amount", payment->amount_cents);
  writer_add_money (&writer, "refunded_amount", payment->refunded_cents);
  pay_json_writer_add_string (&writer, "status", pay_status_to_string (payment->status));
  pay_json_writer_add_string (&writer, "payment_method", payment->payment_method);
  pay_json_writer_add_string (&writer, "card_brand", payment->card_brand);
  pay_json_writer_add_string (&writer, "card_last4", payment->card_last4);
  pay_json_writer_add_int (&writer, "created_at", payment->created_at_ms);
  pay_json_writer_add_int (&writer, "updated_at", payment->updated_at_ms);
  return pay_json_writer_end (&writer, length);
}

gchar *
pay_json_encode_refund_response (const PayRefund *refund, gsize *length)
{
  PayJsonWriter writer;

  g_return_val_if_fail (refund != NULL, NULL);

  pay_json_writer_begin (&writer);
  pay_json_writer_add_string (&writer, "refund_id", refund->refund_id);
  pay_json_writer_add_string (&writer, "transaction_id", refund->transaction_id);
  writer_add_money (&writer, "amount", refund->amount_cents);
  writer_add_money (&writer, "total_refunded", refund->total_refunded_cents);
  pay_json_writer_add_string (&writer, "status", pay_status_to_string (refund->status));
  return pay_json_writer_end (&writer, length);
}

gchar *
pay_json_encode_error (gint32 code, const gchar *message, gsize *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_int_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message != NULL ? message : "");
  json_builder_end_object (builder);
  return builder_to_data (builder, length);
}

gchar *
pay_json_encode_health (const gchar *status,
                        gboolean     mysql_up,
                        gboolean     redis_up,
                        const gchar *consul,
                        const gchar *events,
                        gsize       *length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  g_return_val_if_fail (status != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, status);
  json_builder_set_member_name (builder, "mysql");
  json_builder_add_string_value (builder, mysql_up ? "up" : "down");
  json_builder_set_member_name (builder, "redis");
  json_builder_add_string_value (builder, redis_up ? "up" : "down");
  json_builder_set_member_name (builder, "consul");
  json_builder_add_string_value (builder, consul != NULL ? consul : "disabled");
  json_builder_set_member_name (builder, "events");
  json_builder_add_string_value (builder, events != NULL ? events : "disabled");
  json_builder_end_object (builder);
  return builder_to_data (builder, length);
}
