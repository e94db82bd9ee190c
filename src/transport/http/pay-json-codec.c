/* pay-json-codec.c: JSON decoding and encoding of the HTTP API's bodies with json-glib,
 * behind a strict pre-scan that covers what json-glib 1.6 itself lets through. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-json-codec.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/pay-error.h"
#include "domain/pay-money.h"

/* Longest key echoed back in an error message. */
#define PAY_JSON_MAX_KEY_IN_MESSAGE 64
/* Largest magnitude at which every integer is exactly representable as a double. */
#define PAY_JSON_MAX_EXACT_DOUBLE 9007199254740992.0 /* 2^53 */
/* Longest decimal int64 literal: "-9223372036854775808". */
#define PAY_JSON_MAX_INT64_CHARS 20

/* ---------------------------------------------------------------------------------- */
/* Strict pre-scan                                                                    */
/* ---------------------------------------------------------------------------------- */

/* json-glib 1.6 parses through GScanner: it accepts comments, hex and octal numbers,
 * single-quoted strings and data after the root value, wraps integers that overflow
 * int64 without an error, and recurses once per nesting level with no limit (a 64 KiB
 * body of '[' would exhaust the stack). This one linear pass over the text refuses all
 * of that before json-glib runs; json-glib then checks the grammar proper and UTF-8. */

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

/* The key a number belongs to, made safe for an error message; "" when none. */
static gchar *
key_for_message (const gchar *key, gsize key_len)
{
  g_autofree gchar *valid = NULL;

  if (key == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (key, MIN (key_len, PAY_JSON_MAX_KEY_IN_MESSAGE));
  return g_strdup_printf ("%s: ", valid);
}

/* Scans one number token at @data[*pos]; on success *pos is past it. */
static gboolean
scan_number (const gchar *data, gsize length, gsize *pos,
             const gchar *key, gsize key_len, GError **error)
{
  gsize i = *pos;
  gsize start = i;
  gboolean integer = TRUE;

  if (data[i] == '-')
    i++;
  if (i < length && data[i] == '0')
    i++;
  else if (i < length && data[i] >= '1' && data[i] <= '9')
    while (i < length && g_ascii_isdigit (data[i]))
      i++;
  else
    return fail_invalid (error, "malformed JSON: bad number at offset %" G_GSIZE_FORMAT, start);

  if (i < length && data[i] == '.')
    {
      integer = FALSE;
      i++;
      if (i >= length || !g_ascii_isdigit (data[i]))
        return fail_invalid (error, "malformed JSON: bad number at offset %" G_GSIZE_FORMAT, start);
      while (i < length && g_ascii_isdigit (data[i]))
        i++;
    }
  if (i < length && (data[i] == 'e' || data[i] == 'E'))
    {
      integer = FALSE;
      i++;
      if (i < length && (data[i] == '+' || data[i] == '-'))
        i++;
      if (i >= length || !g_ascii_isdigit (data[i]))
        return fail_invalid (error, "malformed JSON: bad number at offset %" G_GSIZE_FORMAT, start);
      while (i < length && g_ascii_isdigit (data[i]))
        i++;
    }
  /* "0x10", "01", "1.2.3": the token must end at a delimiter. */
  if (i < length && (g_ascii_isalnum (data[i]) || data[i] == '.' || data[i] == '_'))
    return fail_invalid (error, "malformed JSON: bad number at offset %" G_GSIZE_FORMAT, start);

  if (integer)
    {
      gchar literal[PAY_JSON_MAX_INT64_CHARS + 1];
      gsize len = i - start;
      gint64 ignored;

      if (len > PAY_JSON_MAX_INT64_CHARS)
        goto out_of_range;
      memcpy (literal, data + start, len);
      literal[len] = '\0';
      if (!g_ascii_string_to_signed (literal, 10, G_MININT64, G_MAXINT64, &ignored, NULL))
        goto out_of_range;
    }

  *pos = i;
  return TRUE;

out_of_range:
  {
    g_autofree gchar *prefix = key_for_message (key, key_len);
    return fail_invalid (error, "%sinteger out of the int64 range", prefix);
  }
}

/* Checks @data against the parts of RFC 8259 json-glib 1.6 does not enforce, plus the
 * PAY_JSON_MAX_DEPTH nesting limit. */
static gboolean
prescan (const gchar *data, gsize length, GError **error)
{
  guint depth = 0;
  gboolean root_done = FALSE;
  const gchar *last_string = NULL;
  gsize last_string_len = 0;
  const gchar *key = NULL;
  gsize key_len = 0;
  gsize i = 0;

  while (i < length)
    {
      gchar c = data[i];
      gboolean value_start = FALSE;

      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
          i++;
          continue;
        }

      if (root_done)
        return fail_invalid (error, "malformed JSON: data after the end at offset %" G_GSIZE_FORMAT, i);

      switch (c)
        {
        case '{':
        case '[':
          if (++depth > PAY_JSON_MAX_DEPTH)
            return fail_invalid (error, "JSON nested deeper than %d levels", PAY_JSON_MAX_DEPTH);
          i++;
          break;

        case '}':
        case ']':
          if (depth == 0)
            return fail_invalid (error, "malformed JSON: unbalanced '%c' at offset %" G_GSIZE_FORMAT, c, i);
          depth--;
          i++;
          root_done = depth == 0;
          break;

        case ':':
          key = last_string;
          key_len = last_string_len;
          i++;
          break;

        case ',':
          i++;
          break;

        case '"':
          value_start = TRUE;
          last_string = data + ++i;
          while (i < length && data[i] != '"')
            {
              if ((guchar) data[i] < 0x20)
                return fail_invalid (error, "malformed JSON: control character in a string at offset %" G_GSIZE_FORMAT, i);
              if (data[i] == '\\')
                i++;
              i++;
            }
          if (i >= length)
            return fail_invalid (error, "malformed JSON: unterminated string");
          last_string_len = (gsize) (data + i - last_string);
          i++;
          break;

        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
          value_start = TRUE;
          if (!scan_number (data, length, &i, key, key_len, error))
            return FALSE;
          break;

        case 't':
        case 'f':
        case 'n':
          {
            static const gchar *const literals[] = { "true", "false", "null" };
            gboolean matched = FALSE;

            value_start = TRUE;
            for (guint k = 0; k < G_N_ELEMENTS (literals) && !matched; k++)
              {
                gsize n = strlen (literals[k]);

                if (length - i >= n && memcmp (data + i, literals[k], n) == 0 &&
                    (length - i == n || !g_ascii_isalnum (data[i + n])))
                  {
                    i += n;
                    matched = TRUE;
                  }
              }
            if (!matched)
              return fail_invalid (error, "malformed JSON: unexpected word at offset %" G_GSIZE_FORMAT, i);
          }
          break;

        default:
          return fail_invalid (error, "malformed JSON: unexpected character at offset %" G_GSIZE_FORMAT, i);
        }

      if (value_start && depth == 0)
        root_done = TRUE;
    }

  if (depth != 0)
    return fail_invalid (error, "malformed JSON: unexpected end of data");
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Decoding helpers (shared by every request type)                                    */
/* ---------------------------------------------------------------------------------- */

/* Parses @data into @parser and returns its root object (owned by @parser). */
static JsonObject *
parse_object (JsonParser *parser, const gchar *data, gsize length, GError **error)
{
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root;

  if (!prescan (data, length, error))
    return NULL;
  if (length > G_MAXSSIZE)
    {
      fail_invalid (error, "body too large");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize) length, &parse_error))
    {
      fail_invalid (error, "malformed JSON: %s", parse_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      fail_invalid (error, "the body must be a JSON object");
      return NULL;
    }
  return json_node_get_object (root);
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

      if (!isfinite (value) || floor (value) != value)
        return fail_invalid (error, "%s must be %s", field, expected);
      if (fabs (value) > PAY_JSON_MAX_EXACT_DOUBLE ||
          value < (gdouble) min || value > (gdouble) max)
        return fail_invalid (error, "%s is out of range", field);
      *out = (gint64) value;
      return TRUE;
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
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(PayChargeBody) body = g_new0 (PayChargeBody, 1);
  PayChargeRequest *req = &body->request;
  JsonObject *root;
  JsonNode *node;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!(root = parse_object (parser, data != NULL ? data : "", length, error)))
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
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(PayRefundBody) body = g_new0 (PayRefundBody, 1);
  PayRefundRequest *req = &body->request;
  JsonObject *root;
  JsonNode *node;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!(root = parse_object (parser, data != NULL ? data : "", length, error)))
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

/* The objects that carry money are written member by member: an amount must appear as
 * its exact decimal (pay_money_format_major), which a JsonNode cannot hold, since
 * JsonGenerator prints every double with 17 significant digits (19.99 would read
 * 19.989999999999998). Strings still go through JsonGenerator, so they are escaped
 * exactly as in the other bodies; integers are printed as JsonGenerator prints them. */
typedef struct {
  GString       *out;
  JsonGenerator *generator;
} ObjectWriter;

static void
writer_begin (ObjectWriter *writer)
{
  writer->out = g_string_new ("{");
  writer->generator = json_generator_new ();
}

/* @name is one of this file's member names: plain ASCII, nothing to escape. */
static void
writer_name (ObjectWriter *writer, const gchar *name)
{
  if (writer->out->len > 1)
    g_string_append_c (writer->out, ',');
  g_string_append_printf (writer->out, "\"%s\":", name);
}

/* A fresh node each time: json-glib 1.6 shares a node's value with the generator's copy
 * of it, so re-initialising one node would free the value the generator still holds. */
static void
writer_add_string (ObjectWriter *writer, const gchar *name, const gchar *value)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), value);

  writer_name (writer, name);
  json_generator_set_root (writer->generator, node);
  json_generator_to_gstring (writer->generator, writer->out);
}

static void
writer_add_int (ObjectWriter *writer, const gchar *name, gint64 value)
{
  writer_name (writer, name);
  g_string_append_printf (writer->out, "%" G_GINT64_FORMAT, value);
}

/* Money leaves the service here, as major units. */
static void
writer_add_money (ObjectWriter *writer, const gchar *name, gint64 cents)
{
  gchar literal[PAY_MONEY_FORMAT_BYTES];
  gsize length = pay_money_format_major (cents, literal);

  writer_name (writer, name);
  g_string_append_len (writer->out, literal, (gssize) length);
}

/* Closes the object and returns its text; @writer is spent. */
static gchar *
writer_end (ObjectWriter *writer, gsize *length)
{
  g_string_append_c (writer->out, '}');
  g_clear_object (&writer->generator);
  if (length != NULL)
    *length = writer->out->len;
  return g_string_free (g_steal_pointer (&writer->out), FALSE);
}

gchar *
pay_json_encode_payment_info (const PayPayment *payment, gsize *length)
{
  ObjectWriter writer;

  g_return_val_if_fail (payment != NULL, NULL);

  writer_begin (&writer);
  writer_add_string (&writer, "transaction_id", payment->transaction_id);
  writer_add_int (&writer, "order_id", payment->order_id);
  writer_add_int (&writer, "user_id", payment->user_id);
  writer_add_money (&writer, "amount", payment->amount_cents);
  writer_add_money (&writer, "refunded_amount", payment->refunded_cents);
  writer_add_string (&writer, "status", pay_status_to_string (payment->status));
  writer_add_string (&writer, "payment_method", payment->payment_method);
  writer_add_string (&writer, "card_brand", payment->card_brand);
  writer_add_string (&writer, "card_last4", payment->card_last4);
  writer_add_int (&writer, "created_at", payment->created_at_ms);
  writer_add_int (&writer, "updated_at", payment->updated_at_ms);
  return writer_end (&writer, length);
}

gchar *
pay_json_encode_refund_response (const PayRefund *refund, gsize *length)
{
  ObjectWriter writer;

  g_return_val_if_fail (refund != NULL, NULL);

  writer_begin (&writer);
  writer_add_string (&writer, "refund_id", refund->refund_id);
  writer_add_string (&writer, "transaction_id", refund->transaction_id);
  writer_add_money (&writer, "amount", refund->amount_cents);
  writer_add_money (&writer, "total_refunded", refund->total_refunded_cents);
  writer_add_string (&writer, "status", pay_status_to_string (refund->status));
  return writer_end (&writer, length);
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
  json_builder_end_object (builder);
  return builder_to_data (builder, length);
}
