/* pay-http-server.c: the JSON API on libsoup 3 — a route table, a body size limit
 * enforced while the body streams in, metrics and the log line per request. The
 * endpoints, with their async calls into PayService, are in pay-http-routes.c. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-http-server.h"
#include "transport/http/pay-http-private.h"

#include "transport/pay-listener.h"
#include "transport/http/pay-http-connection.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/pay-error.h"
#include "core/pay-metrics.h"
#include "core/pay-request-log.h"
#include "transport/http/pay-json-codec.h"

/* Bytes of an over-limit body we still read and throw away, so that the client (which
 * is usually still writing) can read our 413 before the connection closes. A client that
 * keeps sending past this is cut off without a reply. */
#define PAY_HTTP_MAX_DRAIN_BYTES (1024 * 1024)

#define PAY_HTTP_CONTENT_TYPE_JSON "application/json"
#define PAY_HTTP_EXCHANGE_KEY      "pay-http-exchange"

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_METRICS,
  PROP_RATE_LIMITER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_DRAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _PayHttpServer
{
  GObject     parent_instance;

  PayService     *service;
  SoupServer     *soup;
  GSocketService *listener;
  GSocket        *anchor[2];    /* see add_keepalive_anchor() */
  GHashTable     *connections;  /* peer "ip:port" -> PayHttpConnection (not owned; see on_incoming) */
  PayHttpLimits   limits;
  GTlsCertificate *certificate;  /* NULL: plain HTTP; else HTTPS only */
  guint16         port;
  gboolean        stopped;

  PayMetrics        *metrics;
  PayRateLimiter    *limiter;         /* NULL: no rate limit */
  GPtrArray         *route_labels;    /* "METHOD /path" per route, parallel to routes[] */
  PayMetricsMethod **route_metrics;   /* parallel to routes[] */
  PayMetricsMethod  *unmatched_metrics;
  PayHttpStateFunc   consul_state;
  gpointer           consul_state_data;
  PayHttpStateFunc   events_state;
  gpointer           events_state_data;
  PayAuthKeys       *keys;            /* NULL: the API is open */
  gboolean           protect_metrics;
  GHashTable        *key_metrics;     /* key id -> PayMetricsMethod (owned by metrics) */
  guint              active;          /* requests between their headers and their end */
  gboolean           draining;
};

G_DEFINE_FINAL_TYPE (PayHttpServer, pay_http_server, G_TYPE_OBJECT)

static void forget_connections (PayHttpServer *self);
static void cut_handshakes (PayHttpServer *self);

typedef void (*PayHttpRouteFunc) (PayHttpServer     *self,
                                  SoupServerMessage *msg,
                                  PayHttpExchange   *exchange);

typedef struct {
  const gchar      *method;
  const gchar      *path;
  PayHttpRouteFunc  handler;
  PayAuthScope      scope;     /* what its API key needs; /metrics: auth.protect_metrics */
} PayHttpRoute;

/* Every endpoint of the API. Paths match exactly; one path may appear with several
 * methods, and the 405 Allow header lists them in this order. */
static const PayHttpRoute routes[] = {
  { "POST", "/payment/charge", pay_http_handle_charge,  PAY_AUTH_SCOPE_CHARGE },
  { "GET",  "/payment/query",  pay_http_handle_query,   PAY_AUTH_SCOPE_QUERY },
  { "POST", "/payment/refund", pay_http_handle_refund,  PAY_AUTH_SCOPE_REFUND },
  { "GET",  "/health",         pay_http_handle_health,  PAY_AUTH_SCOPE_NONE },
  { "GET",  "/metrics",        pay_http_handle_metrics, PAY_AUTH_SCOPE_METRICS },
};

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                            */
/* ---------------------------------------------------------------------------------- */

void
pay_http_exchange_clear_body (PayHttpExchange *exchange)
{
  if (exchange->body == NULL)
    return;
  /* The body holds a card number: do not leave it in freed memory. */
  explicit_bzero (exchange->body->data, exchange->body->len);
  g_clear_pointer (&exchange->body, g_byte_array_unref);
}

static void
exchange_free (gpointer data)
{
  PayHttpExchange *exchange = data;

  pay_http_exchange_clear_body (exchange);
  g_free (exchange);
}

static PayHttpExchange *
exchange_get (SoupServerMessage *msg)
{
  return g_object_get_data (G_OBJECT (msg), PAY_HTTP_EXCHANGE_KEY);
}

/* Sets @status and the JSON @data (taken) as the response. */
void
pay_http_respond_json (SoupServerMessage *msg, guint status, gchar *data, gsize length)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, PAY_HTTP_CONTENT_TYPE_JSON, SOUP_MEMORY_TAKE,
                                    data, length);
}

/* Remembers the contract code the request is answered with, for metrics and the log. */
void
pay_http_exchange_note_code (SoupServerMessage *msg, gint32 code)
{
  PayHttpExchange *exchange = exchange_get (msg);

  if (exchange != NULL)
    exchange->record.code = code;
}

/* Answers with the error object {"code", "message"} and the code's HTTP status. */
void
pay_http_respond_error (SoupServerMessage *msg, gint32 code, const gchar *message)
{
  gsize length;
  gchar *data = pay_json_encode_error (code, message, &length);

  pay_http_exchange_note_code (msg, code);
  pay_http_respond_json (msg, pay_error_http_status (code), data, length);
}

void
pay_http_respond_gerror (SoupServerMessage *msg, const GError *error)
{
  gint32 code;
  const gchar *message;
  gsize length;
  gchar *data;

  code = pay_error_describe (error, &message);
  pay_http_exchange_note_code (msg, code);
  data = pay_json_encode_error (code, message, &length);
  pay_http_respond_json (msg, pay_error_http_status (code), data, length);
}

/* 413, and the connection is not reused: the client may still be sending. */
static void
respond_too_large (SoupServerMessage *msg)
{
  g_autofree gchar *message = g_strdup_printf ("request body larger than %d bytes",
                                               PAY_HTTP_MAX_BODY_BYTES);

  pay_http_respond_error (msg, PAY_ERROR_BODY_TOO_LARGE, message);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Connection", "close");
}

static const gchar *
message_path (SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);

  return uri != NULL ? g_uri_get_path (uri) : "-";
}

/* The route for @method and @path, or NULL; *@path_known says whether any route has
 * @path (so NULL means 405 rather than 404). */
static const PayHttpRoute *
find_route (const gchar *method, const gchar *path, gboolean *path_known)
{
  *path_known = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (g_strcmp0 (routes[i].path, path) != 0)
        continue;
      *path_known = TRUE;
      if (g_strcmp0 (routes[i].method, method) == 0)
        return &routes[i];
    }
  return NULL;
}

/* "GET, POST": the methods routed for @path, for the Allow header. */
static gchar *
allowed_methods (const gchar *path)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) methods = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_strcmp0 (routes[i].path, path) == 0)
      g_strv_builder_add (builder, routes[i].method);
  methods = g_strv_builder_end (builder);
  return g_strjoinv (", ", methods);
}

/* Answers 404 or 405 when no route takes @msg; returns the route otherwise. */
static const PayHttpRoute *
route_or_reject (SoupServerMessage *msg)
{
  const gchar *path = message_path (msg);
  gboolean path_known;
  const PayHttpRoute *route = find_route (soup_server_message_get_method (msg), path, &path_known);
  g_autofree gchar *allow = NULL;

  if (route != NULL)
    return route;
  if (!path_known)
    {
      pay_http_respond_error (msg, PAY_ERROR_NO_SUCH_ENDPOINT, "no such endpoint");
      return NULL;
    }
  allow = allowed_methods (path);
  pay_http_respond_error (msg, PAY_ERROR_METHOD_NOT_ALLOWED, "method not allowed");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* libsoup callbacks                                                                  */
/* ---------------------------------------------------------------------------------- */

static void
on_msg_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  PayHttpExchange *exchange = user_data;

  exchange->disconnected = TRUE;
}

/* Body bytes as they arrive. libsoup 3.2 reads a request body to its end even when an
 * early handler has already answered (only "Expect: 100-continue" skips it), so the
 * limit is enforced here: the message body does not accumulate (see on_request_started)
 * and we keep at most PAY_HTTP_MAX_BODY_BYTES; past that we answer 413 and discard. */
/* The connection @msg came on, or NULL (gone already). libsoup cannot tell us (we hand
 * it streams, and it names a message's peer address only), so on_incoming keeps a map by
 * peer address. */
static PayHttpConnection *
peer_connection (PayHttpServer *self, SoupServerMessage *msg)
{
  g_autofree gchar *key = NULL;

  if (self == NULL || self->connections == NULL)
    return NULL;
  key = pay_peer_address (soup_server_message_get_remote_address (msg));
  return g_hash_table_lookup (self->connections, key);
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  PayHttpExchange *exchange = user_data;
  gsize size;
  gconstpointer data = g_bytes_get_data (chunk, &size);

  exchange->received += size;

  if (soup_server_message_get_status (msg) != 0)
    {
      /* Already answered (404, 405, 413): drain, up to a point. */
      if (exchange->received > (guint64) PAY_HTTP_MAX_BODY_BYTES + PAY_HTTP_MAX_DRAIN_BYTES &&
          !exchange->dropped)
        {
          PayHttpConnection *connection = peer_connection (exchange->server, msg);

          exchange->dropped = TRUE;
          g_info ("request body past %d bytes; dropping the connection",
                  PAY_HTTP_MAX_BODY_BYTES + PAY_HTTP_MAX_DRAIN_BYTES);
          /* Reading then hits EOF and libsoup closes the connection itself. */
          if (connection != NULL)
            pay_http_connection_cut (connection);
        }
      return;
    }

  if (exchange->received > PAY_HTTP_MAX_BODY_BYTES)
    {
      pay_http_exchange_clear_body (exchange);
      respond_too_large (msg);
      return;
    }

  if (exchange->body == NULL)
    exchange->body = g_byte_array_new ();
  g_byte_array_append (exchange->body, data, (guint) size);
}

static void
on_request_started (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  PayHttpExchange *exchange = g_new0 (PayHttpExchange, 1);
  PayHttpConnection *connection = peer_connection (user_data, msg);

  if (connection != NULL)
    pay_http_connection_request_started (connection, msg);
  exchange->server = user_data;
  exchange->started_us = g_get_monotonic_time ();
  g_object_set_data_full (G_OBJECT (msg), PAY_HTTP_EXCHANGE_KEY, exchange, exchange_free);

  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), exchange);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_msg_disconnected), exchange);
}

/* The headers are in and @route (NULL: none matched) is known: the request is counted in
 * flight from here until log_request(). */
static void
request_begin (PayHttpServer *self, SoupServerMessage *msg, const PayHttpRoute *route)
{
  PayHttpExchange *exchange = exchange_get (msg);
  guint index = route != NULL ? (guint) (route - routes) : 0;

  if (exchange == NULL || exchange->metrics != NULL)
    return;
  exchange->metrics = route != NULL ? self->route_metrics[index] : self->unmatched_metrics;
  exchange->record.transport = "http";
  exchange->record.method = route != NULL ? self->route_labels->pdata[index] : "unmatched";
  exchange->quiet = route != NULL && (route->handler == pay_http_handle_health ||
                                      route->handler == pay_http_handle_metrics);
  self->active++;
  pay_metrics_request_started (exchange->metrics);
}

/* A POST body must be declared application/json (any parameters, the type compared
 * without regard to case): otherwise 415, before the body is read. A cross-site form can
 * only send text/plain, urlencoded or multipart bodies without a preflight, so this keeps
 * browsers from posting charges. Returns whether @msg was answered. */
static gboolean
reject_media_type (SoupServerMessage *msg, const PayHttpRoute *route)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *type;

  if (g_strcmp0 (route->method, SOUP_METHOD_POST) != 0)
    return FALSE;
  type = soup_message_headers_get_content_type (headers, NULL);
  if (type != NULL && g_ascii_strcasecmp (type, PAY_HTTP_CONTENT_TYPE_JSON) == 0)
    return FALSE;
  pay_http_respond_error (msg, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE,
                          "unsupported media type: the body must be application/json");
  return TRUE;
}

/* The caller's key in the rate limiter for @msg: its client's IP address, without the
 * port (a client opening new connections keeps its bucket); a request authenticated with
 * an API key (checked before) is keyed by "key:" and the key's id instead: no IP address
 * reads "key:...", so the two never meet. */
static gchar *
rate_key_for (SoupServerMessage *msg)
{
  const gchar *key_id = pay_http_exchange_get_key_id (msg);

  if (key_id != NULL)
    return g_strconcat ("key:", key_id, NULL);
  return pay_peer_ip (soup_server_message_get_remote_address (msg));
}

/* A request to a /payment/ route over its caller's rate: 429 (4004013) with Retry-After (whole
 * seconds, rounded up), before the body is read and the service called. /health and
 * /metrics are not limited: monitoring must see a service under a flood. Returns
 * whether @msg was answered. */
static gboolean
reject_rate_limited (PayHttpServer *self, SoupServerMessage *msg, const PayHttpRoute *route)
{
  g_autofree gchar *key = NULL;
  g_autofree gchar *seconds = NULL;
  gint64 retry_us = 0;

  if (self->limiter == NULL || !g_str_has_prefix (route->path, "/payment/"))
    return FALSE;
  key = rate_key_for (msg);
  if (pay_rate_limiter_take (self->limiter, key, g_get_monotonic_time (), &retry_us))
    return FALSE;
  seconds = g_strdup_printf ("%u", pay_rate_limiter_seconds (retry_us));
  pay_http_respond_error (msg, PAY_ERROR_RATE_LIMITED, "rate limit exceeded");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Retry-After", seconds);
  return TRUE;
}

/* The route's API key check (pay-http-auth.c); /metrics needs one only with
 * auth.protect_metrics. Returns whether @msg was answered. */
static gboolean
reject_unauthorized (PayHttpServer *self, SoupServerMessage *msg, const PayHttpRoute *route)
{
  PayAuthScope scope = route->scope;

  if (scope == PAY_AUTH_SCOPE_METRICS && !self->protect_metrics)
    scope = PAY_AUTH_SCOPE_NONE;
  return pay_http_auth_reject (self, msg, exchange_get (msg), scope);
}

/* Once the headers are in, before any body: routing errors, the media type and a declared body over the
 * limit are answered now, so the body is never kept. */
static void
on_early_request (SoupServer        *soup,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  PayHttpServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const PayHttpRoute *route = route_or_reject (msg);

  request_begin (self, msg, route);
  if (route != NULL && !reject_unauthorized (self, msg, route) &&
      !reject_rate_limited (self, msg, route) && !reject_media_type (msg, route) &&
      soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > PAY_HTTP_MAX_BODY_BYTES)
    respond_too_large (msg);

  /* Answered now, a request that expects "100 Continue" has its body skipped by libsoup
   * 3.2.3, which keeps the connection: a body the client sends anyway would be read as
   * the next request's head, out of step with PayHttpConnection's framing. Such a
   * connection closes after this answer. */
  if (soup_server_message_get_status (msg) != 0 &&
      (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Connection", "close");
}

/* The whole body is in and nothing has answered yet: run the route. */
static void
on_request (SoupServer        *soup,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  PayHttpServer *self = user_data;
  const PayHttpRoute *route = route_or_reject (msg);
  PayHttpExchange *exchange = exchange_get (msg);

  if (route == NULL)
    return;
  /* Draining: answer what came in, then let the connection go. */
  if (self->draining)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Connection", "close");
  route->handler (self, msg, exchange);
}

/* The one place every HTTP request with headers ends (answered, or aborted by a
 * disconnect): counted in the metrics and logged with its method, code and ids (info;
 * debug for /health and /metrics, which monitoring polls). Never the body. Requests
 * libsoup rejected before routing (a malformed request line) only get a debug line. */
static void
log_request (PayHttpServer *self, SoupServerMessage *msg, gboolean aborted)
{
  PayHttpExchange *exchange = exchange_get (msg);
  const gchar *method = soup_server_message_get_method (msg);
  guint status = soup_server_message_get_status (msg);

  if (exchange == NULL || exchange->metrics == NULL)
    {
      g_debug ("%s %s -> %u%s", method != NULL ? method : "-", message_path (msg), status,
               aborted ? " (aborted)" : "");
      return;
    }
  exchange->record.http_status = status;
  exchange->record.duration_us = g_get_monotonic_time () - exchange->started_us;
  if (aborted && exchange->record.code == 0 && !SOUP_STATUS_IS_SUCCESSFUL (status))
    exchange->record.code = PAY_METRICS_CODE_APPLICATION_ERROR;
  pay_metrics_request_finished (g_steal_pointer (&exchange->metrics), exchange->record.code,
                                exchange->record.duration_us);
  if (exchange->key_metrics != NULL)
    pay_metrics_key_request (exchange->key_metrics, exchange->record.code);
  pay_request_log (G_LOG_DOMAIN, exchange->quiet ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_INFO,
                   &exchange->record);

  g_assert (self->active > 0);
  if (--self->active == 0 && self->draining)
    g_signal_emit (self, signals[SIGNAL_DRAINED], 0);
}

/* The request is whole: its connection's read deadline stops. */
static void
on_request_read (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  PayHttpConnection *connection = peer_connection (user_data, msg);

  if (connection != NULL)
    pay_http_connection_request_read (connection);
}

static void
request_done (PayHttpServer *self, SoupServerMessage *msg, gboolean aborted)
{
  PayHttpConnection *connection = peer_connection (self, msg);

  if (connection != NULL)
    pay_http_connection_request_done (connection);
  log_request (self, msg, aborted);
}

static void
on_request_finished (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  request_done (user_data, msg, FALSE);
}

static void
on_request_aborted (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  request_done (user_data, msg, TRUE);
}

/* ---------------------------------------------------------------------------------- */
/* GObject                                                                            */
/* ---------------------------------------------------------------------------------- */

static void
pay_http_server_init (PayHttpServer *self)
{
  self->connections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
pay_http_server_constructed (GObject *object)
{
  PayHttpServer *self = PAY_HTTP_SERVER (object);

  G_OBJECT_CLASS (pay_http_server_parent_class)->constructed (object);

  self->route_labels = g_ptr_array_new_with_free_func (g_free);
  self->route_metrics = g_new0 (PayMetricsMethod *, G_N_ELEMENTS (routes));
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      gchar *label = g_strdup_printf ("%s %s", routes[i].method, routes[i].path);

      g_ptr_array_add (self->route_labels, label);
      self->route_metrics[i] = pay_metrics_register_method (self->metrics, "http", label);
    }
  self->unmatched_metrics = pay_metrics_register_method (self->metrics, "http", "unmatched");

  self->soup = soup_server_new ("server-header", "payment-service/" PAYMENT_VERSION, NULL);
  /* Every path goes through the route table, so one catch-all handler suffices. */
  soup_server_add_early_handler (self->soup, NULL, on_early_request, self, NULL);
  soup_server_add_handler (self->soup, NULL, on_request, self, NULL);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (on_request_started), self);
  g_signal_connect (self->soup, "request-read", G_CALLBACK (on_request_read), self);
  g_signal_connect (self->soup, "request-finished", G_CALLBACK (on_request_finished), self);
  g_signal_connect (self->soup, "request-aborted", G_CALLBACK (on_request_aborted), self);
}

static void
pay_http_server_dispose (GObject *object)
{
  PayHttpServer *self = PAY_HTTP_SERVER (object);

  if (self->listener != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->listener, self);
      pay_listener_close (self->listener);
      g_clear_object (&self->listener);
    }
  if (self->soup != NULL)
    {
      soup_server_disconnect (self->soup);
      /* The catch-all handler ("/") holds @self as user data. */
      soup_server_remove_handler (self->soup, "/");
      g_signal_handlers_disconnect_by_data (self->soup, self);
      g_clear_object (&self->soup);
    }
  if (self->connections != NULL)
    {
      cut_handshakes (self);
      forget_connections (self);
      g_clear_pointer (&self->connections, g_hash_table_unref);
    }
  g_clear_object (&self->certificate);
  g_clear_object (&self->anchor[0]);
  g_clear_object (&self->anchor[1]);
  g_clear_object (&self->service);
  g_clear_object (&self->metrics);
  g_clear_object (&self->limiter);
  g_clear_pointer (&self->route_labels, g_ptr_array_unref);
  g_clear_pointer (&self->route_metrics, g_free);
  g_clear_pointer (&self->keys, pay_auth_keys_free);
  g_clear_pointer (&self->key_metrics, g_hash_table_unref);

  G_OBJECT_CLASS (pay_http_server_parent_class)->dispose (object);
}

static void
pay_http_server_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PayHttpServer *self = PAY_HTTP_SERVER (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_METRICS:
      g_value_set_object (value, self->metrics);
      break;
    case PROP_RATE_LIMITER:
      g_value_set_object (value, self->limiter);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pay_http_server_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  PayHttpServer *self = PAY_HTTP_SERVER (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      self->service = g_value_dup_object (value);
      break;
    case PROP_METRICS:
      self->metrics = g_value_dup_object (value);
      break;
    case PROP_RATE_LIMITER:
      self->limiter = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pay_http_server_class_init (PayHttpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pay_http_server_constructed;
  object_class->dispose = pay_http_server_dispose;
  object_class->get_property = pay_http_server_get_property;
  object_class->set_property = pay_http_server_set_property;

  properties[PROP_SERVICE] =
    g_param_spec_object ("service", NULL, NULL,
                         PAY_TYPE_SERVICE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_METRICS] =
    g_param_spec_object ("metrics", NULL, NULL,
                         PAY_TYPE_METRICS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* NULL: no rate limit. */
  properties[PROP_RATE_LIMITER] =
    g_param_spec_object ("rate-limiter", NULL, NULL,
                         PAY_TYPE_RATE_LIMITER,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_DRAINED] = g_signal_new ("drained", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

/* ---------------------------------------------------------------------------------- */
/* Public API                                                                         */
/* ---------------------------------------------------------------------------------- */

PayHttpServer *
pay_http_server_new (PayService *service, PayMetrics *metrics, PayRateLimiter *limiter)
{
  g_return_val_if_fail (PAY_IS_SERVICE (service), NULL);
  g_return_val_if_fail (PAY_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (limiter == NULL || PAY_IS_RATE_LIMITER (limiter), NULL);

  return g_object_new (PAY_TYPE_HTTP_SERVER, "service", service, "metrics", metrics,
                       "rate-limiter", limiter, NULL);
}

void
pay_http_server_set_limits (PayHttpServer *self, const PayHttpLimits *limits)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));
  self->limits = *limits;
}

void
pay_http_server_set_tls_certificate (PayHttpServer *self, GTlsCertificate *certificate)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));

  g_set_object (&self->certificate, certificate);
}

void
pay_http_server_set_consul_state_func (PayHttpServer    *self,
                                       PayHttpStateFunc  func,
                                       gpointer          user_data)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));

  self->consul_state = func;
  self->consul_state_data = user_data;
}

void
pay_http_server_set_events_state_func (PayHttpServer    *self,
                                       PayHttpStateFunc  func,
                                       gpointer          user_data)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));

  self->events_state = func;
  self->events_state_data = user_data;
}

void
pay_http_server_set_keys (PayHttpServer *self, PayAuthKeys *keys, gboolean protect_metrics)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));

  g_clear_pointer (&self->keys, pay_auth_keys_free);
  self->keys = keys;
  self->protect_metrics = protect_metrics;
  if (self->key_metrics == NULL)
    self->key_metrics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_remove_all (self->key_metrics);
  for (const gchar *const *id = keys != NULL ? pay_auth_keys_ids (keys) : NULL;
       id != NULL && *id != NULL; id++)
    g_hash_table_insert (self->key_metrics, g_strdup (*id),
                         pay_metrics_register_key (self->metrics, *id));
}

static void
on_connection_closed (PayHttpConnection *connection, gpointer user_data)
{
  PayHttpServer *self = user_data;

  g_signal_handlers_disconnect_by_data (connection, self);
  g_hash_table_remove (self->connections, pay_http_connection_get_peer (connection));
  pay_metrics_connection_closed (self->metrics, PAY_METRICS_PORT_HTTP);
}

/* Maps @connection by its peer's address. An open connection from the same address is
 * dead (its peer reuses the address): it is cut and forgotten, so that every connection
 * we listen to is in the map (forget_connections()). */
static void
remember_connection (PayHttpServer *self, PayHttpConnection *connection)
{
  const gchar *peer = pay_http_connection_get_peer (connection);
  PayHttpConnection *stale = g_hash_table_lookup (self->connections, peer);

  if (stale != NULL)
    {
      g_signal_handlers_disconnect_by_data (stale, self);
      pay_metrics_connection_closed (self->metrics, PAY_METRICS_PORT_HTTP);
      pay_http_connection_cut (stale);
    }
  g_hash_table_replace (self->connections, g_strdup (peer), connection);
  pay_metrics_connection_opened (self->metrics, PAY_METRICS_PORT_HTTP);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), self);
}

/* Connections libsoup still holds (a message in flight) may close after the server is
 * gone: they no longer tell it. */
static void
forget_connections (PayHttpServer *self)
{
  GHashTableIter iter;
  gpointer connection;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &connection))
    g_signal_handlers_disconnect_by_data (connection, self);
  g_hash_table_remove_all (self->connections);
}

/* Past the cap a connection is closed at once, before libsoup sees it: held
 * connections are what a flood of idle or slow clients exhausts. */
static gboolean
refuse_past_cap (PayHttpServer *self, GSocketConnection *connection)
{
  if (self->limits.max_connections == 0 ||
      g_hash_table_size (self->connections) < self->limits.max_connections)
    return FALSE;
  g_debug ("http: %u connections open, refusing one more", self->limits.max_connections);
  pay_metrics_connection_refused (self->metrics, PAY_METRICS_PORT_HTTP,
                                  PAY_METRICS_REFUSED_MAX_CONNECTIONS);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static gboolean add_keepalive_anchor (PayHttpServer *self, GError **error);

static gboolean
hand_to_soup (PayHttpServer *self, PayHttpConnection *stream,
              GSocketAddress *local, GSocketAddress *remote, GError **error)
{
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (stream), local, remote, error))
    {
      g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

/* A connection between its accept and the end of its TLS handshake. The server may be
 * gone by then. */
typedef struct {
  GWeakRef        server;
  GSocketAddress *local;
  GSocketAddress *remote;
} PayHttpHandshake;

static void
handshake_free (PayHttpHandshake *handshake)
{
  g_weak_ref_clear (&handshake->server);
  g_object_unref (handshake->local);
  g_object_unref (handshake->remote);
  g_free (handshake);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayHttpHandshake, handshake_free)

/* A peer that does not speak TLS 1.2 or later (plain HTTP, say), or too slowly, is
 * closed here: libsoup never sees it. */
static void
on_handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PayHttpHandshake) handshake = user_data;
  PayHttpConnection *stream = PAY_HTTP_CONNECTION (source);
  g_autoptr(PayHttpServer) self = g_weak_ref_get (&handshake->server);
  g_autoptr(GError) error = NULL;

  if (!pay_http_connection_handshake_finish (stream, result, &error))
    g_info ("http %s: TLS handshake failed, closing: %s",
            pay_http_connection_get_peer (stream), error->message);
  else if (self != NULL && !self->stopped)
    {
      if (!hand_to_soup (self, stream, handshake->local, handshake->remote, &error))
        g_debug ("dropping HTTP connection: %s", error->message);
      return;
    }
  g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
}

static void
start_handshake (PayHttpServer *self, PayHttpConnection *stream,
                 GSocketAddress *local, GSocketAddress *remote)
{
  PayHttpHandshake *handshake = g_new0 (PayHttpHandshake, 1);

  g_weak_ref_init (&handshake->server, self);
  handshake->local = g_object_ref (local);
  handshake->remote = g_object_ref (remote);
  pay_http_connection_handshake_async (stream, on_handshake_done, handshake);
}

/* Hands @connection to libsoup through the stream that times it (pay-http-connection.h),
 * after its TLS handshake with a certificate, mapped by its peer's address until it
 * closes: in the map before the handshake, and so before libsoup starts on it. */
static gboolean
serve_connection (PayHttpServer *self, GSocketConnection *connection,
                  GSocketAddress *local, GSocketAddress *remote, GError **error)
{
  g_autoptr(PayHttpConnection) stream = NULL;

  if (refuse_past_cap (self, connection))
    return TRUE;
  stream = pay_http_connection_new (connection, self->certificate, remote, &self->limits,
                                    self->metrics, error);
  if (stream == NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return FALSE;
    }
  remember_connection (self, stream);
  if (self->certificate == NULL)
    return hand_to_soup (self, stream, local, remote, error);
  start_handshake (self, stream, local, remote);
  return TRUE;
}

/* Handshakes under way end now (they fail): their threads must not outlive the server. */
static void
cut_handshakes (PayHttpServer *self)
{
  GHashTableIter iter;
  gpointer connection;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &connection))
    if (pay_http_connection_is_handshaking (connection))
      pay_http_connection_cut (connection);
}

/* We accept connections ourselves and hand them to libsoup: libsoup 3.2.3's own listener
 * (soup_server_listen) leaks the accepted GSocket of every connection (listen_watch in
 * soup-listener.c never unrefs it: 344 bytes each under valgrind), while
 * soup_server_accept_iostream does not. It gets our PayHttpConnection over the socket's
 * streams, which times the connection. See also add_keepalive_anchor(). */
static gboolean
on_incoming (GSocketService    *listener,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  PayHttpServer *self = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (local) || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_debug ("dropping HTTP connection: no address");
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  if (!serve_connection (self, connection, local, remote, &error))
    g_debug ("dropping HTTP connection: %s", error->message);
  return TRUE;
}

gboolean
pay_http_server_accept_connection (PayHttpServer     *self,
                                   GSocketConnection *connection,
                                   GSocketAddress    *local,
                                   GSocketAddress    *remote,
                                   GError           **error)
{
  g_return_val_if_fail (PAY_IS_HTTP_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (local) && G_IS_INET_SOCKET_ADDRESS (remote), FALSE);

  /* Connections handed in this way are kept alive as the listener's are. */
  if (self->anchor[0] == NULL && !add_keepalive_anchor (self, error))
    return FALSE;
  return serve_connection (self, connection, local, remote, error);
}

/* libsoup 3.2.3 keeps a connection alive after a response only while the server has a
 * listener of its own (request_finished in soup-server.c tests priv->listeners); with
 * accept_iostream alone it closes every connection after one response. So libsoup gets a
 * listener that can never accept anything: one end of a socketpair whose other end we
 * hold and never write to. */
static gboolean
add_keepalive_anchor (PayHttpServer *self, GError **error)
{
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "http listen: socketpair: %s", g_strerror (saved));
      return FALSE;
    }
  self->anchor[0] = g_socket_new_from_fd (fds[0], error);
  if (self->anchor[0] == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      return FALSE;
    }
  self->anchor[1] = g_socket_new_from_fd (fds[1], error);
  if (self->anchor[1] == NULL)
    {
      close (fds[1]);
      return FALSE;
    }
  return soup_server_listen_socket (self->soup, self->anchor[0], 0, error);
}

gboolean
pay_http_server_listen (PayHttpServer *self,
                        const gchar   *host,
                        guint16        port,
                        GError       **error)
{
  g_return_val_if_fail (PAY_IS_HTTP_SERVER (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (self->listener == NULL, FALSE);

  if (self->anchor[0] == NULL && !add_keepalive_anchor (self, error))
    return FALSE;
  self->listener = pay_listener_new ("http", host, port, G_CALLBACK (on_incoming), self,
                                     &self->port, error);
  return self->listener != NULL;
}

guint16
pay_http_server_get_port (PayHttpServer *self)
{
  g_return_val_if_fail (PAY_IS_HTTP_SERVER (self), 0);

  return self->port;
}

void
pay_http_server_drain (PayHttpServer *self)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));

  if (self->draining)
    return;
  self->draining = TRUE;
  pay_listener_close (self->listener);
  if (self->active == 0)
    g_signal_emit (self, signals[SIGNAL_DRAINED], 0);
}

guint
pay_http_server_get_active_count (PayHttpServer *self)
{
  g_return_val_if_fail (PAY_IS_HTTP_SERVER (self), 0);
  return self->active;
}

void
pay_http_server_stop (PayHttpServer *self)
{
  g_return_if_fail (PAY_IS_HTTP_SERVER (self));

  pay_listener_close (self->listener);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  if (self->connections != NULL)
    cut_handshakes (self);
  self->stopped = TRUE;
  self->port = 0;
}

PayService *
pay_http_server_get_service (PayHttpServer *self)
{
  return self->service;
}

PayMetrics *
pay_http_server_get_metrics (PayHttpServer *self)
{
  return self->metrics;
}

PayAuthKeys *
pay_http_server_get_keys (PayHttpServer *self)
{
  return self->keys;
}

PayMetricsMethod *
pay_http_server_get_key_metrics (PayHttpServer *self, const gchar *key_id)
{
  return self->key_metrics != NULL ? g_hash_table_lookup (self->key_metrics, key_id) : NULL;
}

const gchar *
pay_http_exchange_get_key_id (SoupServerMessage *msg)
{
  PayHttpExchange *exchange = exchange_get (msg);

  return exchange != NULL && exchange->key_id[0] != '\0' ? exchange->key_id : NULL;
}

const gchar *
pay_http_server_get_consul_state (PayHttpServer *self)
{
  return self->consul_state != NULL ? self->consul_state (self->consul_state_data) : "disabled";
}

const gchar *
pay_http_server_get_events_state (PayHttpServer *self)
{
  return self->events_state != NULL ? self->events_state (self->events_state_data) : "disabled";
}
