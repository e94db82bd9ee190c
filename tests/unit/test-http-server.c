/* test-http-server.c: the HTTP transport in-process — a PayHttpServer on a free port and a
 * real SoupSession — for the paths that need no database: routing errors, the body size
 * limit, request decoding, validation errors and /health with storage down. */
#include <errno.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/pay-config.h"
#include "core/pay-error.h"
#include "domain/pay-service.h"
#include "storage/pay-cache.h"
#include "storage/pay-repository.h"
#include "transport/http/pay-http-server.h"
#include "test-utils.h"

/* Bytes sent per chunk of a chunked request body. */
#define TEST_CHUNK_BYTES 4096

/* Connections per case of the connection release tests. */
#define TEST_RELEASE_CONNECTIONS 8
/* Seconds a condition the server must reach may take before the test fails. */
#define TEST_DEADLINE_SECONDS 10

#define VALID_CHARGE_WITH_CARD(number) \
  "{\"amount\":10.5,\"credit_card\":{\"credit_card_number\":\"" number "\"," \
  "\"credit_card_cvv\":123,\"credit_card_expiration_year\":2030," \
  "\"credit_card_expiration_month\":12},\"order_id\":1,\"user_id\":2}"

typedef struct {
  PayRepository *repository;
  PayCache      *cache;
  PayService    *service;
  PayHttpServer *server;
  PayMetrics    *metrics;
  SoupSession   *session;
  guint16        port;
  GSocket       *mysql_hole;   /* slow_storage: a MySQL port that accepts and never answers */
} Fixture;

/* The test data of a fixture whose storage takes mysql.connect_timeout_seconds (1 s) to
 * fail: a listening socket nobody accepts on, whose handshake never comes. */
static const gchar slow_storage[] = "slow storage";

typedef struct {
  SoupMessage *msg;
  GBytes      *body;
  GError      *error;
  gboolean     done;
} Reply;

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                            */
/* ---------------------------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(PayConfig) config = pay_config_new_defaults ();
  g_autoptr(GError) error = NULL;
  PayServiceSettings settings = { .max_amount_cents = config->payment.max_amount_cents,
                                  .cache_required = FALSE };
  guint16 dead_port = pay_test_unused_loopback_port ();

  if (data == slow_storage)
    {
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
      g_autoptr(GSocketAddress) bound = NULL;

      f->mysql_hole = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_assert_true (g_socket_bind (f->mysql_hole, any, TRUE, &error));
      g_assert_true (g_socket_listen (f->mysql_hole, &error));
      bound = g_socket_get_local_address (f->mysql_hole, &error);
      g_assert_no_error (error);
      dead_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  g_free (config->mysql.host);
  config->mysql.host = g_strdup ("127.0.0.1");
  config->mysql.port = dead_port;
  config->mysql.connect_timeout_seconds = 1;
  g_free (config->redis.host);
  config->redis.host = g_strdup ("127.0.0.1");
  config->redis.port = dead_port;

  f->repository = pay_repository_new (&config->mysql);
  /* Never started: the cache stays disconnected. */
  f->cache = pay_cache_new (&config->redis, g_main_context_default ());
  f->service = pay_service_new (PAY_PAYMENT_STORE (f->repository), PAY_PAYMENT_CACHE (f->cache),
                               &settings);
  f->metrics = pay_metrics_new ();
  f->server = pay_http_server_new (f->service, f->metrics, NULL);
  g_assert_true (pay_http_server_listen (f->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->port = pay_http_server_get_port (f->server);
  g_assert_cmpuint (f->port, !=, 0);
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  soup_session_abort (f->session);
  g_clear_object (&f->session);
  pay_http_server_stop (f->server);
  g_assert_cmpuint (pay_http_server_get_port (f->server), ==, 0);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (f->server);
  g_clear_object (&f->service);
  g_assert_finalize_object (f->metrics);
  g_clear_object (&f->cache);
  g_clear_object (&f->repository);
  g_clear_object (&f->mysql_hole);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Reply *reply = user_data;

  reply->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &reply->error);
  reply->done = TRUE;
}

/* Sends @msg and runs the main context (which also serves the server) until the reply. */
static void
exchange (Fixture *f, SoupMessage *msg, Reply *reply)
{
  reply->msg = msg;
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, reply);
  while (!reply->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
reply_clear (Reply *reply)
{
  g_clear_object (&reply->msg);
  g_clear_pointer (&reply->body, g_bytes_unref);
  g_clear_error (&reply->error);
  reply->done = FALSE;
}

static SoupMessage *
new_message (Fixture *f, const gchar *method, const gchar *path)
{
  g_autofree gchar *uri = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);

  return soup_message_new (method, uri);
}

/* A request with @body sent with a Content-Length and @content_type (NULL: none). */
static void
request_typed (Fixture *f, const gchar *method, const gchar *path, const gchar *content_type,
               const gchar *body, gsize length, Reply *reply)
{
  SoupMessage *msg = new_message (f, method, path);

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, length);

      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }
  exchange (f, msg, reply);
}

/* A JSON request with @body sent with a Content-Length. */
static void
request (Fixture *f, const gchar *method, const gchar *path, const gchar *body, gsize length,
         Reply *reply)
{
  request_typed (f, method, path, "application/json", body, length, reply);
}

/* A request whose @length-byte body goes out with chunked transfer encoding. */
static void
request_chunked (Fixture *f, const gchar *method, const gchar *path, gsize length,
                 Reply *reply)
{
  SoupMessage *msg = new_message (f, method, path);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new ();

  for (gsize sent = 0; sent < length; sent += TEST_CHUNK_BYTES)
    {
      gsize n = MIN (TEST_CHUNK_BYTES, length - sent);
      g_autoptr(GBytes) chunk = g_bytes_new_take (g_strnfill (n, ' '), n);

      g_memory_input_stream_add_bytes (G_MEMORY_INPUT_STREAM (stream), chunk);
    }
  soup_message_set_request_body (msg, "application/json", stream, -1);
  exchange (f, msg, reply);
  g_assert_cmpint (soup_message_headers_get_encoding (soup_message_get_request_headers (msg)),
                   ==, SOUP_ENCODING_CHUNKED);
}

/* Asserts a JSON reply with @status and returns its root object (owned by @parser). */
static JsonObject *
assert_json_reply (Reply *reply, guint status, JsonParser *parser)
{
  g_autoptr(GError) error = NULL;
  const gchar *type;
  gsize size;
  gconstpointer data;
  JsonNode *root;

  g_assert_no_error (reply->error);
  g_assert_cmpuint (soup_message_get_status (reply->msg), ==, status);
  type = soup_message_headers_get_content_type (soup_message_get_response_headers (reply->msg), NULL);
  g_assert_cmpstr (type, ==, "application/json");
  data = g_bytes_get_data (reply->body, &size);
  json_parser_load_from_data (parser, data, (gssize) size, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

/* Asserts the error object {"code": @code, "message": "..."} with HTTP @status. */
static void
assert_error_reply (Reply *reply, guint status, gint32 code)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = assert_json_reply (reply, status, parser);

  g_assert_cmpuint (json_object_get_size (object), ==, 2);
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (object, "message"));
}

/* ---------------------------------------------------------------------------------- */
/* Routing                                                                            */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *method;
  const gchar *path;
  guint        status;
  gint32       code;
  const gchar *allow;   /* expected Allow header, NULL for none */
} RouteCase;

static const RouteCase route_cases[] = {
  { "unknown-path", "GET", "/nope", 404, PAY_ERROR_NO_SUCH_ENDPOINT, NULL },
  { "root", "GET", "/", 404, PAY_ERROR_NO_SUCH_ENDPOINT, NULL },
  { "charge-subpath", "POST", "/payment/charge/x", 404, PAY_ERROR_NO_SUCH_ENDPOINT, NULL },
  { "charge-prefix", "POST", "/payment", 404, PAY_ERROR_NO_SUCH_ENDPOINT, NULL },
  { "charge-trailing-slash", "POST", "/payment/charge/", 404, PAY_ERROR_NO_SUCH_ENDPOINT, NULL },
  { "charge-get", "GET", "/payment/charge", 405, PAY_ERROR_METHOD_NOT_ALLOWED, "POST" },
  { "charge-put", "PUT", "/payment/charge", 405, PAY_ERROR_METHOD_NOT_ALLOWED, "POST" },
  { "health-post", "POST", "/health", 405, PAY_ERROR_METHOD_NOT_ALLOWED, "GET" },
  { "health-delete", "DELETE", "/health", 405, PAY_ERROR_METHOD_NOT_ALLOWED, "GET" },
};

static void
test_route (Fixture *f, gconstpointer data)
{
  const RouteCase *tc = data;
  Reply reply = { 0 };

  request (f, tc->method, tc->path, "{}", 2, &reply);
  assert_error_reply (&reply, tc->status, tc->code);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (reply.msg), "Allow"),
                   ==, tc->allow);
  reply_clear (&reply);
}

/* ---------------------------------------------------------------------------------- */
/* Content-Type                                                                       */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *path;
  const gchar *content_type;   /* NULL: no Content-Type header */
  guint        status;
  gint32       code;
} ContentTypeCase;

/* The body "{}" lacks every field, so a request that gets past the media type is 400. */
static const ContentTypeCase content_type_cases[] = {
  { "text-plain", "/payment/charge", "text/plain", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "text-plain-refund", "/payment/refund", "text/plain;charset=UTF-8", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "form", "/payment/charge", "application/x-www-form-urlencoded", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "multipart", "/payment/refund", "multipart/form-data; boundary=x", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "missing", "/payment/charge", NULL, 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "json-suffix", "/payment/charge", "application/json-patch+json", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "json-prefix", "/payment/charge", "application/jsonx", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "json", "/payment/charge", "application/json", 400, PAY_ERROR_INVALID_REQUEST },
  { "json-charset", "/payment/charge", "application/json; charset=utf-8", 400, PAY_ERROR_INVALID_REQUEST },
  { "json-upper-case", "/payment/refund", "Application/JSON", 400, PAY_ERROR_INVALID_REQUEST },
  { "unknown-path-first", "/nope", "text/plain", 404, PAY_ERROR_NO_SUCH_ENDPOINT },
};

static void
test_content_type (Fixture *f, gconstpointer data)
{
  const ContentTypeCase *tc = data;
  Reply reply = { 0 };

  request_typed (f, "POST", tc->path, tc->content_type, "{}", 2, &reply);
  assert_error_reply (&reply, tc->status, tc->code);
  reply_clear (&reply);

  /* The connection still serves the next request. */
  request (f, "GET", "/nope", NULL, 0, &reply);
  assert_error_reply (&reply, 404, PAY_ERROR_NO_SUCH_ENDPOINT);
  reply_clear (&reply);
}

/* ---------------------------------------------------------------------------------- */
/* API keys                                                                           */
/* ---------------------------------------------------------------------------------- */

/* The server gets one key, "shop", with scope charge and secret "s3cret". */
typedef struct {
  const gchar *name;
  const gchar *method;
  const gchar *path;
  const gchar *content_type;
  const gchar *authorization;   /* NULL: none */
  guint        status;          /* 0: any but 401 and 403 */
  gint32       code;            /* 0: not an error reply */
} AuthCase;

/* The key is checked after routing and before the media type and the body (which "{}"
 * never passes: past the key a charge is 400). */
static const AuthCase auth_cases[] = {
  { "no-key", "POST", "/payment/charge", "application/json", NULL, 401, PAY_ERROR_UNAUTHENTICATED },
  { "no-key-before-media-type", "POST", "/payment/charge", "text/plain", NULL, 401, PAY_ERROR_UNAUTHENTICATED },
  { "wrong-secret", "POST", "/payment/charge", "application/json", "Bearer shop.s3creT", 401, PAY_ERROR_UNAUTHENTICATED },
  { "lacks-scope", "POST", "/payment/refund", "application/json", "Bearer shop.s3cret", 403, PAY_ERROR_FORBIDDEN },
  { "lacks-scope-query", "GET", "/payment/query?order_id=1", NULL, "Bearer shop.s3cret", 403, PAY_ERROR_FORBIDDEN },
  { "right-key", "POST", "/payment/charge", "application/json", "Bearer shop.s3cret", 400, PAY_ERROR_INVALID_REQUEST },
  { "right-key-media-type", "POST", "/payment/charge", "text/plain", "Bearer shop.s3cret", 415, PAY_ERROR_UNSUPPORTED_MEDIA_TYPE },
  { "unknown-path-first", "POST", "/payment/nope", "application/json", NULL, 404, PAY_ERROR_NO_SUCH_ENDPOINT },
  { "wrong-method-first", "GET", "/payment/charge", NULL, NULL, 405, PAY_ERROR_METHOD_NOT_ALLOWED },
  { "health-open", "GET", "/health", NULL, NULL, 0, 0 },
  { "metrics-open", "GET", "/metrics", NULL, NULL, 200, 0 },
};

static void
test_auth (Fixture *f, gconstpointer data)
{
  const AuthCase *tc = data;
  g_autofree gchar *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "s3cret", -1);
  g_autofree gchar *file = g_strdup_printf ("shop charge %s\n", digest);
  g_autoptr(GError) error = NULL;
  SoupMessage *msg = new_message (f, tc->method, tc->path);
  SoupMessageHeaders *response;
  Reply reply = { 0 };

  pay_http_server_set_keys (f->server, pay_auth_keys_parse (file, strlen (file), &error), FALSE);
  g_assert_no_error (error);
  if (tc->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  tc->authorization);
  if (g_strcmp0 (tc->method, "POST") == 0)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static ("{}", 2);

      soup_message_set_request_body_from_bytes (msg, tc->content_type, bytes);
    }
  exchange (f, msg, &reply);
  response = soup_message_get_response_headers (reply.msg);
  if (tc->code != 0)
    assert_error_reply (&reply, tc->status, tc->code);
  else if (tc->status != 0)
    g_assert_cmpuint (soup_message_get_status (reply.msg), ==, tc->status);
  else
    g_assert_true (soup_message_get_status (reply.msg) != 401 &&
                   soup_message_get_status (reply.msg) != 403);
  g_assert_cmpstr (soup_message_headers_get_one (response, "WWW-Authenticate"), ==,
                   tc->status == 401 ? "Bearer" : NULL);
  reply_clear (&reply);
}

/* ---------------------------------------------------------------------------------- */
/* Body size limit                                                                    */
/* ---------------------------------------------------------------------------------- */

/* Exactly the limit is still read and decoded (here: a JSON object without amount). */
static void
test_body_at_limit (Fixture *f, gconstpointer data)
{
  g_autofree gchar *body = g_strnfill (PAY_HTTP_MAX_BODY_BYTES, ' ');
  Reply reply = { 0 };

  body[0] = '{';
  body[PAY_HTTP_MAX_BODY_BYTES - 1] = '}';
  request (f, "POST", "/payment/charge", body, PAY_HTTP_MAX_BODY_BYTES, &reply);
  assert_error_reply (&reply, 400, PAY_ERROR_INVALID_REQUEST);
  reply_clear (&reply);
}

static void
test_content_length_over_limit (Fixture *f, gconstpointer data)
{
  g_autofree gchar *body = g_strnfill (PAY_HTTP_MAX_BODY_BYTES + 1, ' ');
  Reply reply = { 0 };

  request (f, "POST", "/payment/charge", body, PAY_HTTP_MAX_BODY_BYTES + 1, &reply);
  assert_error_reply (&reply, 413, PAY_ERROR_BODY_TOO_LARGE);
  reply_clear (&reply);
}

/* With "Expect: 100-continue" the 413 comes before the body is sent at all. */
static void
test_content_length_over_limit_expect_continue (Fixture *f, gconstpointer data)
{
  g_autofree gchar *body = g_strnfill (4 * PAY_HTTP_MAX_BODY_BYTES, ' ');
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&body), 4 * PAY_HTTP_MAX_BODY_BYTES);
  SoupMessage *msg = new_message (f, "POST", "/payment/charge");
  Reply reply = { 0 };

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  soup_message_headers_set_expectations (soup_message_get_request_headers (msg),
                                         SOUP_EXPECTATION_CONTINUE);
  exchange (f, msg, &reply);
  assert_error_reply (&reply, 413, PAY_ERROR_BODY_TOO_LARGE);
  /* libsoup skips the body it did not ask for and would read one sent anyway as the next
   * request: the connection ends with this answer (pay-http-framing.h) */
  g_assert_true (soup_message_headers_header_contains (soup_message_get_response_headers (reply.msg),
                                                       "Connection", "close"));
  reply_clear (&reply);
}

static void
test_chunked_over_limit (Fixture *f, gconstpointer data)
{
  Reply reply = { 0 };

  request_chunked (f, "POST", "/payment/charge", 2 * PAY_HTTP_MAX_BODY_BYTES, &reply);
  assert_error_reply (&reply, 413, PAY_ERROR_BODY_TOO_LARGE);
  reply_clear (&reply);
}

static void
test_chunked_within_limit (Fixture *f, gconstpointer data)
{
  Reply reply = { 0 };

  /* Only spaces: within the limit, so it is decoded, and it is not a JSON object. */
  request_chunked (f, "POST", "/payment/charge", PAY_HTTP_MAX_BODY_BYTES, &reply);
  assert_error_reply (&reply, 400, PAY_ERROR_INVALID_REQUEST);
  reply_clear (&reply);
}

/* A client that keeps sending far past the limit is cut off; the server stays up. */
static void
test_chunked_far_over_limit_dropped (Fixture *f, gconstpointer data)
{
  Reply reply = { 0 };

  request_chunked (f, "POST", "/payment/charge", 8 * 1024 * 1024, &reply);
  g_assert_nonnull (reply.error);
  reply_clear (&reply);

  request (f, "GET", "/nope", NULL, 0, &reply);
  assert_error_reply (&reply, 404, PAY_ERROR_NO_SUCH_ENDPOINT);
  reply_clear (&reply);
}

/* ---------------------------------------------------------------------------------- */
/* Charge                                                                             */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *name;
  const gchar *body;
  guint        status;
  gint32       code;
} ChargeCase;

static const ChargeCase charge_cases[] = {
  { "malformed-json", "{\"amount\": 1,", 400, PAY_ERROR_INVALID_REQUEST },
  { "empty-body", "", 400, PAY_ERROR_INVALID_REQUEST },
  { "not-an-object", "[1]", 400, PAY_ERROR_INVALID_REQUEST },
  { "wrong-type", "{\"amount\":\"1\",\"order_id\":1,\"user_id\":2}", 400, PAY_ERROR_INVALID_REQUEST },
  { "missing-card", "{\"amount\":1,\"order_id\":1,\"user_id\":2}", 400, PAY_ERROR_INVALID_REQUEST },
  { "invalid-card-luhn", VALID_CHARGE_WITH_CARD ("4111111111111112"), 400, PAY_ERROR_INVALID_CARD },
  { "invalid-card-brand", VALID_CHARGE_WITH_CARD ("1234567812345678"), 400, PAY_ERROR_INVALID_CARD },
};

static void
test_charge (Fixture *f, gconstpointer data)
{
  const ChargeCase *tc = data;
  Reply reply = { 0 };

  request (f, "POST", "/payment/charge", tc->body, strlen (tc->body), &reply);
  assert_error_reply (&reply, tc->status, tc->code);
  reply_clear (&reply);
}

/* A valid charge's body, with a card that expires next year, whenever this runs. */
static gchar *
valid_charge_body (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_strdup_printf ("{\"amount\":10.5,\"credit_card\":{\"credit_card_number\":"
                          "\"4111111111111111\",\"credit_card_cvv\":123,"
                          "\"credit_card_expiration_year\":%d,"
                          "\"credit_card_expiration_month\":12},\"order_id\":1,\"user_id\":2}",
                          g_date_time_get_year (now) + 1);
}

/* A valid charge reaches the repository, which cannot connect: 503 storage unavailable. */
static void
test_charge_storage_down (Fixture *f, gconstpointer data)
{
  g_autofree gchar *body = valid_charge_body ();
  Reply reply = { 0 };

  request (f, "POST", "/payment/charge", body, strlen (body), &reply);
  assert_error_reply (&reply, 503, PAY_ERROR_STORAGE_UNAVAILABLE);
  reply_clear (&reply);
}

/* A request the service works on longer than the idle timeout (storage that takes its
 * connect timeout to fail) is answered: only an answer the client does not take counts
 * against the connection (test_release, client-never-reads). */
static void
test_busy_past_idle_timeout (Fixture *f, gconstpointer data)
{
  PayHttpLimits limits = { .idle_timeout_seconds = 1 };
  g_autofree gchar *body = valid_charge_body ();
  gint64 started = g_get_monotonic_time ();
  Reply reply = { 0 };

  pay_http_server_set_limits (f->server, &limits);
  request (f, "POST", "/payment/charge", body, strlen (body), &reply);
  assert_error_reply (&reply, 503, PAY_ERROR_STORAGE_UNAVAILABLE);
  /* the service did work past one idle period (not a timing threshold: a precondition) */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, G_USEC_PER_SEC);
  reply_clear (&reply);
}

/* Several requests on one keep-alive connection, errors included. */
static void
test_keepalive (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < 5; i++)
    {
      Reply reply = { 0 };

      request (f, "POST", "/payment/charge", "{", 1, &reply);
      assert_error_reply (&reply, 400, PAY_ERROR_INVALID_REQUEST);
      reply_clear (&reply);
    }
}

/* ---------------------------------------------------------------------------------- */
/* Connections released                                                               */
/* ---------------------------------------------------------------------------------- */

/* A client on one end of a socketpair whose other end the server was handed. */
typedef struct {
  int        fd;
  GString   *reply;
  gboolean   eof;
  guint      watch;
  GObject   *server_side;   /* weak: the GSocketConnection the server got, until finalized */
} RawClient;

typedef struct {
  const gchar *name;
  const gchar *send;        /* written at once */
  guint        replies;     /* whole JSON replies to read before the client acts */
  gboolean     keep_open;   /* the client does not close: the idle timeout must */
  gboolean     shut_first;  /* the client shuts its side down right after sending */
  guint        repeat;      /* @send is sent this many times (0: once) */
  gboolean     never_reads; /* the client reads nothing: the answers fill the socket */
} ReleaseCase;

/* Every way a connection ends between requests, or before its first: the server must
 * release all it holds of it (the stream, the socket), not only close it. */
static const ReleaseCase release_cases[] = {
  { "client-closes-idle", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 1, FALSE },
  { "client-closes-after-two", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 2, FALSE },
  { "client-closes-mid-request", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /no", 1, FALSE },
  { "client-closes-at-once", "", 0, FALSE },
  { "idle-timeout", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 1, TRUE },
  /* libsoup answers headers cut by the end of the stream after a line end, then reads
   * that end again into the next message; pipelined, the cut request starts only after
   * the end was read */
  { "client-shuts-mid-headers", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /nope HTTP/1.1\r\nHost: x\r\n", 2, FALSE, TRUE },
  /* pipelined requests whose answers (over 500 KB) a client never reads: the connection
   * must not wait for it for good */
  { "client-never-reads", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 0, TRUE, FALSE, 3000,
    TRUE },
};

static gboolean
on_raw_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  RawClient *client = user_data;
  gchar buffer[4096];
  gssize n = read (fd, buffer, sizeof buffer);

  if (n > 0)
    {
      g_string_append_len (client->reply, buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  client->eof = TRUE;
  client->watch = 0;
  return G_SOURCE_REMOVE;
}

/* Hands the server one end of a socketpair, as its listener would, from 127.0.0.1:@port. */
static void
raw_client_connect (Fixture *f, RawClient *client, guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (loopback, f->port);
  g_autoptr(GSocketAddress) remote = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), ==, 0);
  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  client->server_side = G_OBJECT (connection);
  g_object_add_weak_pointer (client->server_side, (gpointer *) &client->server_side);
  g_assert_true (pay_http_server_accept_connection (f->server, connection, local, remote, &error));
  g_assert_no_error (error);
  client->fd = fds[1];
  client->reply = g_string_new (NULL);
  client->watch = g_unix_fd_add (client->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_raw_readable,
                                 client);
}

static void
raw_client_close (RawClient *client)
{
  if (client->watch != 0)
    g_source_remove (client->watch);
  client->watch = 0;
  if (client->fd >= 0)
    close (client->fd);
  client->fd = -1;
}

static void
raw_client_clear (RawClient *client)
{
  raw_client_close (client);
  if (client->server_side != NULL)
    g_object_remove_weak_pointer (client->server_side, (gpointer *) &client->server_side);
  g_string_free (client->reply, TRUE);
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gconstpointer data);

/* Runs the main context until @condition holds, or TEST_DEADLINE_SECONDS pass; returns
 * whether it holds. */
static gboolean
wait_for (Condition condition, gconstpointer data)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (TEST_DEADLINE_SECONDS, on_deadline, &expired);

  while (!condition (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  return condition (data);
}

/* Whether @client got @replies whole 404 replies (each body ends the JSON object). */
static gboolean
got_replies (const RawClient *client, guint replies)
{
  guint seen = 0;

  for (const gchar *p = client->reply->str; (p = strstr (p, "HTTP/1.1 404")) != NULL; p++)
    seen++;
  return seen == replies && (replies == 0 || g_str_has_suffix (client->reply->str, "}"));
}

typedef struct {
  RawClient clients[TEST_RELEASE_CONNECTIONS];
  guint     replies;
} RawClients;

static gboolean
all_replied (gconstpointer data)
{
  const RawClients *all = data;

  for (guint i = 0; i < TEST_RELEASE_CONNECTIONS; i++)
    if (!got_replies (&all->clients[i], all->replies))
      return FALSE;
  return TRUE;
}

static gboolean
all_released (gconstpointer data)
{
  const RawClients *all = data;

  for (guint i = 0; i < TEST_RELEASE_CONNECTIONS; i++)
    if (all->clients[i].server_side != NULL)
      return FALSE;
  return TRUE;
}

/* TEST_RELEASE_CONNECTIONS clients each send the case's bytes, read its replies, then
 * close (or wait for the idle timeout): every connection the server was handed must be
 * finalized. Counted, with a deadline only as a bound on the wait. */
static void
test_release (Fixture *f, gconstpointer data)
{
  const ReleaseCase *test = data;
  PayHttpLimits limits = { .idle_timeout_seconds = test->keep_open ? 1 : 0 };
  RawClients all = { .replies = test->replies };
  guint released = 0;

  pay_http_server_set_limits (f->server, &limits);
  for (guint i = 0; i < TEST_RELEASE_CONNECTIONS; i++)
    {
      g_autoptr(GString) send = g_string_new (NULL);

      for (guint n = 0; n < MAX (test->repeat, 1); n++)
        g_string_append (send, test->send);
      raw_client_connect (f, &all.clients[i], (guint16) (40000 + i));
      if (test->never_reads)
        g_clear_handle_id (&all.clients[i].watch, g_source_remove);
      g_assert_cmpint (write (all.clients[i].fd, send->str, send->len), ==, (gssize) send->len);
      if (test->shut_first)
        g_assert_cmpint (shutdown (all.clients[i].fd, SHUT_WR), ==, 0);
    }
  g_assert_true (wait_for (all_replied, &all));
  if (!test->keep_open)
    for (guint i = 0; i < TEST_RELEASE_CONNECTIONS; i++)
      raw_client_close (&all.clients[i]);
  wait_for (all_released, &all);
  for (guint i = 0; i < TEST_RELEASE_CONNECTIONS; i++)
    {
      released += all.clients[i].server_side == NULL;
      raw_client_clear (&all.clients[i]);
    }
  g_assert_cmpuint (released, ==, TEST_RELEASE_CONNECTIONS);
}

/* A request outside the framing libsoup 3.2.3 may parse (pay-http-framing.h): a body
 * encoding it would not recognize (and leak the path of), a method it would intern for
 * good, a chunk it would read otherwise: answered 400 with 4004003, after what came
 * before it, and the connection closed. */
typedef struct {
  const gchar *name;
  const gchar *send;
  const gchar *first;   /* the status line of the reply before the refusal, or NULL */
} RefuseCase;

#define REFUSED_HEAD "POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

static const RefuseCase refuse_cases[] = {
  { "coding", REFUSED_HEAD "Transfer-Encoding: gzip\r\n\r\n{}", NULL },
  { "coding-list", REFUSED_HEAD "Transfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    NULL },
  { "length", REFUSED_HEAD "Content-Length: 2x\r\n\r\n{}", NULL },
  { "after-a-request", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                       REFUSED_HEAD "Transfer-Encoding: gzip\r\n\r\n{}", "HTTP/1.1 404 " },
  { "method", "M0001 /health HTTP/1.1\r\nHost: x\r\n\r\n", NULL },
  { "method-after-a-request", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                              "M0002 /health HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 " },
  { "chunk-size", REFUSED_HEAD "Transfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
    NULL },
};

static gboolean
all_closed (gconstpointer data)
{
  const RawClients *all = data;

  return all->clients[0].eof;
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  const RefuseCase *test = data;
  RawClients all = { 0 };
  RawClient *client = &all.clients[0];
  const gchar *refusal;

  raw_client_connect (f, client, 40000);
  g_assert_cmpint (write (client->fd, test->send, strlen (test->send)), ==,
                   (gssize) strlen (test->send));
  g_assert_true (wait_for (all_closed, &all));
  if (test->first != NULL)
    g_assert_true (g_str_has_prefix (client->reply->str, test->first));
  refusal = strstr (client->reply->str, "HTTP/1.1 400 Bad Request\r\n");
  g_assert_nonnull (refusal);
  g_assert_true (test->first != NULL || refusal == client->reply->str);
  g_assert_nonnull (strstr (refusal, "Connection: close\r\n"));
  g_assert_true (g_str_has_suffix (refusal, "\r\n\r\n{\"code\":4004003,"
                                   "\"message\":\"malformed or unsupported request framing\"}"));
  /* libsoup never parsed a refused method: it would be interned for good */
  g_assert_cmpuint (g_quark_try_string ("M0001"), ==, 0);
  g_assert_cmpuint (g_quark_try_string ("M0002"), ==, 0);
  raw_client_close (client);
  g_assert_true (wait_for (all_released, &all));   /* the other clients are unused */
  raw_client_clear (client);
}

/* ---------------------------------------------------------------------------------- */
/* Health                                                                             */
/* ---------------------------------------------------------------------------------- */

static void
test_health (Fixture *f, gconstpointer data)
{
  Reply reply = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  /* Before any probe the service assumes MySQL is up; the cache never connected. */
  g_assert_true (pay_service_storage_ok (f->service));
  request (f, "GET", "/health", NULL, 0, &reply);
  object = assert_json_reply (&reply, 200, parser);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "degraded");
  g_assert_cmpstr (json_object_get_string_member (object, "mysql"), ==, "up");
  g_assert_cmpstr (json_object_get_string_member (object, "redis"), ==, "down");
  reply_clear (&reply);

  pay_service_probe_storage_async (f->service);
  while (pay_service_storage_ok (f->service))
    g_main_context_iteration (NULL, TRUE);

  request (f, "GET", "/health", NULL, 0, &reply);
  g_clear_object (&parser);
  parser = json_parser_new ();
  object = assert_json_reply (&reply, 503, parser);
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "unavailable");
  g_assert_cmpstr (json_object_get_string_member (object, "mysql"), ==, "down");
  g_assert_cmpstr (json_object_get_string_member (object, "redis"), ==, "down");
  reply_clear (&reply);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* Storage is down on purpose, so the repository's warnings are expected. They come
   * from worker threads through the structured writer, which g_test_log_set_fatal_handler
   * does not reach, so only criticals stay fatal in this suite. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  for (gsize i = 0; i < G_N_ELEMENTS (route_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/route/%s", route_cases[i].name);
      g_test_add (path, Fixture, &route_cases[i], fixture_setup, test_route, fixture_teardown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (auth_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/auth/%s", auth_cases[i].name);
      g_test_add (path, Fixture, &auth_cases[i], fixture_setup, test_auth, fixture_teardown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (content_type_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/content-type/%s",
                                                content_type_cases[i].name);
      g_test_add (path, Fixture, &content_type_cases[i], fixture_setup, test_content_type,
                  fixture_teardown);
    }
  g_test_add ("/payment/http/server/limit/at-limit", Fixture, NULL,
              fixture_setup, test_body_at_limit, fixture_teardown);
  g_test_add ("/payment/http/server/limit/content-length", Fixture, NULL,
              fixture_setup, test_content_length_over_limit, fixture_teardown);
  g_test_add ("/payment/http/server/limit/expect-continue", Fixture, NULL,
              fixture_setup, test_content_length_over_limit_expect_continue, fixture_teardown);
  g_test_add ("/payment/http/server/limit/chunked", Fixture, NULL,
              fixture_setup, test_chunked_over_limit, fixture_teardown);
  g_test_add ("/payment/http/server/limit/chunked-within", Fixture, NULL,
              fixture_setup, test_chunked_within_limit, fixture_teardown);
  g_test_add ("/payment/http/server/limit/chunked-dropped", Fixture, NULL,
              fixture_setup, test_chunked_far_over_limit_dropped, fixture_teardown);
  for (gsize i = 0; i < G_N_ELEMENTS (charge_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/charge/%s", charge_cases[i].name);
      g_test_add (path, Fixture, &charge_cases[i], fixture_setup, test_charge, fixture_teardown);
    }
  g_test_add ("/payment/http/server/charge/storage-down", Fixture, NULL,
              fixture_setup, test_charge_storage_down, fixture_teardown);
  g_test_add ("/payment/http/server/charge/busy-past-idle-timeout", Fixture, slow_storage,
              fixture_setup, test_busy_past_idle_timeout, fixture_teardown);
  g_test_add ("/payment/http/server/keepalive", Fixture, NULL,
              fixture_setup, test_keepalive, fixture_teardown);
  g_test_add ("/payment/http/server/health", Fixture, NULL,
              fixture_setup, test_health, fixture_teardown);
  for (gsize i = 0; i < G_N_ELEMENTS (refuse_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/refused/%s",
                                                refuse_cases[i].name);
      g_test_add (path, Fixture, &refuse_cases[i], fixture_setup, test_refused,
                  fixture_teardown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (release_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/http/server/release/%s",
                                                release_cases[i].name);
      g_test_add (path, Fixture, &release_cases[i], fixture_setup, test_release,
                  fixture_teardown);
    }

  return g_test_run ();
}
