/* pay-http-routes.c: the JSON API's endpoints: charge, query and refund through the
 * service (asynchronous: the message is paused until the service answers), /health and
 * /metrics. The route table and the request plumbing are in pay-http-server.c. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-http-private.h"

#include <string.h>

#include "core/pay-error.h"
#include "transport/http/pay-json-codec.h"

/* One charge waiting for the service; holds the message while it is paused. */
typedef struct {
  PayHttpServer     *server;
  SoupServerMessage *msg;
  PayHttpExchange   *exchange;   /* owned by msg */
  gint64             order_id;   /* for the log only */
} PayHttpCall;

static void
call_free (PayHttpCall *call)
{
  g_object_unref (call->msg);
  g_object_unref (call->server);
  g_free (call);
}

static void
on_charge_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayHttpCall *call = user_data;
  g_autoptr(GError) error = NULL;
  PayPayment payment = { 0 };
  gboolean ok = pay_service_charge_finish (PAY_SERVICE (source), result, &payment, &error);

  if (ok)
    pay_request_record_set_transaction_id (&call->exchange->record, payment.transaction_id);
  if (call->exchange->disconnected)
    {
      /* The outcome stands (the client can look the order up); there is nobody to tell. */
      g_info ("client left before the charge reply: order_id=%" G_GINT64_FORMAT " %s",
              call->order_id, ok ? payment.transaction_id : "failed");
    }
  else
    {
      if (ok)
        {
          gsize length;
          gchar *data = pay_json_encode_charge_response (payment.transaction_id, &length);

          pay_http_respond_json (call->msg, SOUP_STATUS_OK, data, length);
        }
      else
        pay_http_respond_gerror (call->msg, error);
      soup_server_message_unpause (call->msg);
    }
  call_free (call);
}

/* POST /payment/charge: decode, one service call, encode. The charge is not cancelled
 * when the client disconnects: a payment half-abandoned on the way to MySQL would leave
 * the client unsure whether it was made, while a finished one can be queried. */
void
pay_http_handle_charge (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PayChargeBody) body = NULL;
  PayHttpCall *call;

  body = pay_json_decode_charge (exchange->body != NULL ? (const gchar *) exchange->body->data : "",
                                 exchange->body != NULL ? exchange->body->len : 0, &error);
  pay_http_exchange_clear_body (exchange);
  if (body == NULL)
    {
      pay_http_respond_gerror (msg, error);
      return;
    }

  exchange->record.order_id = body->request.order_id;
  call = g_new0 (PayHttpCall, 1);
  call->server = g_object_ref (self);
  call->msg = g_object_ref (msg);
  call->exchange = exchange;
  call->order_id = body->request.order_id;

  soup_server_message_pause (msg);
  /* The service copies the request before returning, so @body may go now. A charge that
   * fails validation is answered at once. */
  if (!pay_service_charge_begin (pay_http_server_get_service (self), &body->request, NULL,
                                 on_charge_done, call, &error))
    {
      pay_http_respond_gerror (msg, error);
      soup_server_message_unpause (msg);
      call_free (call);
    }
}

/* Starts a call: keeps @msg paused until the service answers. */
static PayHttpCall *
call_start (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  PayHttpCall *call = g_new0 (PayHttpCall, 1);

  call->server = g_object_ref (self);
  call->msg = g_object_ref (msg);
  call->exchange = exchange;
  soup_server_message_pause (msg);
  return call;
}

/* Answers @call with @data (taken; NULL: @error) unless the client has gone, and ends it. */
static void
call_finish (PayHttpCall *call, gchar *data, gsize length, const GError *error)
{
  if (!call->exchange->disconnected)
    {
      if (data != NULL)
        pay_http_respond_json (call->msg, SOUP_STATUS_OK, g_steal_pointer (&data), length);
      else
        pay_http_respond_gerror (call->msg, error);
      soup_server_message_unpause (call->msg);
    }
  g_free (data);
  call_free (call);
}

static void
on_query_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  PayPayment payment;
  gchar *data = NULL;
  gsize length = 0;

  if (pay_service_query_finish (PAY_SERVICE (source), result, &payment, &error))
    data = pay_json_encode_payment_info (&payment, &length);
  call_finish (user_data, data, length, error);
}

/* The one query parameter @name: NULL when absent. */
static const gchar *
query_param (GHashTable *params, const gchar *name)
{
  return params != NULL ? g_hash_table_lookup (params, name) : NULL;
}

/* GET /payment/query?transaction_id=... or ?order_id=...: the key rules are the
 * service's; here order_id only has to be a decimal integer. */
void
pay_http_handle_query (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const gchar *query = uri != NULL ? g_uri_get_query (uri) : NULL;
  g_autoptr(GHashTable) params = NULL;
  const gchar *order_text;
  PayQueryRequest request = { 0 };

  if (query != NULL)
    params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL);
  if (query != NULL && params == NULL)
    {
      pay_http_respond_error (msg, PAY_ERROR_INVALID_REQUEST, "invalid request: malformed query string");
      return;
    }
  request.transaction_id = query_param (params, "transaction_id");
  order_text = query_param (params, "order_id");
  if (order_text != NULL)
    {
      request.has_order_id = TRUE;
      if (!g_ascii_string_to_signed (order_text, 10, G_MININT64, G_MAXINT64,
                                     &request.order_id, NULL))
        {
          pay_http_respond_error (msg, PAY_ERROR_INVALID_REQUEST,
                         "invalid request: order_id must be an integer");
          return;
        }
    }

  exchange->record.order_id = request.has_order_id ? request.order_id : 0;
  pay_request_record_set_transaction_id (&exchange->record, request.transaction_id);
  pay_service_query_async (pay_http_server_get_service (self), &request, NULL, on_query_done,
                           call_start (self, msg, exchange));
}

static void
on_refund_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  PayRefund refund;
  gchar *data = NULL;
  gsize length = 0;

  if (pay_service_refund_finish (PAY_SERVICE (source), result, &refund, &error))
    data = pay_json_encode_refund_response (&refund, &length);
  call_finish (user_data, data, length, error);
}

/* Who asks for a refund, for the audit: "key:<key id>" when an API key authenticated
 * the request, else "http:<peer address>" (no keys file: the address is all we know). */
static gchar *
refund_caller (SoupServerMessage *msg, PayHttpExchange *exchange)
{
  const gchar *host = soup_server_message_get_remote_host (msg);

  if (exchange->key_id[0] != '\0')
    return g_strconcat ("key:", exchange->key_id, NULL);
  return g_strconcat ("http:", host != NULL ? host : "unknown", NULL);
}

/* POST /payment/refund: decode, one service call, encode. Like a charge, a refund is not
 * cancelled when the client leaves: a retry with the same refund_request_id replays it. */
void
pay_http_handle_refund (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PayRefundBody) body = NULL;
  g_autofree gchar *caller = NULL;

  body = pay_json_decode_refund (exchange->body != NULL ? (const gchar *) exchange->body->data : "",
                                 exchange->body != NULL ? exchange->body->len : 0, &error);
  pay_http_exchange_clear_body (exchange);
  if (body == NULL)
    {
      pay_http_respond_gerror (msg, error);
      return;
    }
  pay_request_record_set_transaction_id (&exchange->record, body->request.transaction_id);
  /* The service copies the request, caller included, before returning. */
  caller = refund_caller (msg, exchange);
  body->request.caller = caller;
  pay_service_refund_async (pay_http_server_get_service (self), &body->request, NULL,
                            on_refund_done, call_start (self, msg, exchange));
}

/* GET /health: from the service's last observations, without waiting on anything. */
void
pay_http_handle_health (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  gboolean mysql_up = pay_service_storage_ok (pay_http_server_get_service (self));
  gboolean redis_up = pay_service_cache_ok (pay_http_server_get_service (self));
  const gchar *status = !mysql_up ? "unavailable" : redis_up ? "ok" : "degraded";
  gsize length;
  const gchar *consul = pay_http_server_get_consul_state (self);
  const gchar *events = pay_http_server_get_events_state (self);
  gchar *data = pay_json_encode_health (status, mysql_up, redis_up, consul, events, &length);

  if (!mysql_up)
    pay_http_exchange_note_code (msg, PAY_ERROR_STORAGE_UNAVAILABLE);
  pay_http_respond_json (msg, mysql_up ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE, data, length);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
}

/* GET /metrics: the Prometheus text exposition of PayMetrics. */
void
pay_http_handle_metrics (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange)
{
  gchar *text = pay_metrics_render (pay_http_server_get_metrics (self));

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, PAY_METRICS_CONTENT_TYPE, SOUP_MEMORY_TAKE,
                                    text, strlen (text));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
}

