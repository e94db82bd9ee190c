/* pay-http-private.h: what pay-http-server.c (the server, its routing and request
 * plumbing) shares with pay-http-routes.c (the endpoints). Not for other modules. */
#pragma once

#include <libsoup/soup.h>

#include "core/pay-auth.h"
#include "core/pay-metrics.h"
#include "core/pay-request-log.h"
#include "transport/http/pay-http-server.h"

G_BEGIN_DECLS

/* What the endpoints need of their server (pay-http-server.c keeps its instance struct
 * to itself). */
PayService  *pay_http_server_get_service      (PayHttpServer *self);
PayMetrics  *pay_http_server_get_metrics      (PayHttpServer *self);
/* The Consul registration's state for /health: "disabled" when none was given. */
const gchar *pay_http_server_get_consul_state (PayHttpServer *self);
const gchar *pay_http_server_get_events_state (PayHttpServer *self);

/* What we keep per request, attached to its SoupServerMessage. */
typedef struct {
  PayHttpServer *server;     /* not owned: messages end before the server does */
  gint64      started_us;    /* monotonic time of request-started */
  GByteArray *body;          /* accepted body bytes, never more than the limit */
  guint64     received;      /* every body byte seen, accepted or discarded */
  gboolean    disconnected;  /* the client went away */
  gboolean    dropped;       /* we cut the connection (drain limit) */
  PayMetricsMethod *metrics; /* set while counted in flight (headers in, not ended) */
  gboolean    quiet;         /* /health and /metrics: logged at debug level */
  PayRequestRecord record;   /* code and ids, for the metrics and the log line */
  gchar       key_id[PAY_AUTH_KEY_ID_MAX + 1];  /* "": not authenticated by a key */
  PayMetricsMethod *key_metrics;  /* the key's counters; NULL: none */
} PayHttpExchange;

/* Sets @status and the JSON @data (taken) as the response. */
void pay_http_respond_json (SoupServerMessage *msg, guint status, gchar *data, gsize length);

/* Remembers the contract code the request is answered with, for metrics and the log. */
void pay_http_exchange_note_code (SoupServerMessage *msg, gint32 code);

/* Answers with the error object {"code", "message"} and the code's HTTP status. */
void pay_http_respond_error (SoupServerMessage *msg, gint32 code, const gchar *message);

/* Answers with @error as the error table describes it to a client (pay_error_describe(),
 * pay_error_http_status()). */
void pay_http_respond_gerror (SoupServerMessage *msg, const GError *error);

/* Wipes and frees the request body (it holds a card number). */
void pay_http_exchange_clear_body (PayHttpExchange *exchange);

/* API keys (pay-http-auth.c). The keys in force; NULL: none, the API is open. */
PayAuthKeys *pay_http_server_get_keys (PayHttpServer *self);
/* The counters of key @key_id (registered when the keys were set); NULL: unknown. */
PayMetricsMethod *pay_http_server_get_key_metrics (PayHttpServer *self, const gchar *key_id);

/* When keys are set and @scope is not PAY_AUTH_SCOPE_NONE, checks @msg's Authorization
 * header for @scope: answers 401 (4004011, with "WWW-Authenticate: Bearer") or 403
 * (4004012) and returns TRUE when it fails; otherwise returns FALSE. Either way, a valid
 * key's id is noted on @exchange for the log line and the metrics. Never logs the
 * header. */
gboolean pay_http_auth_reject (PayHttpServer     *self,
                               SoupServerMessage *msg,
                               PayHttpExchange   *exchange,
                               PayAuthScope       scope);

/* The endpoints (pay-http-routes.c). */
void pay_http_handle_charge (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange);
void pay_http_handle_query  (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange);
void pay_http_handle_refund (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange);
void pay_http_handle_health (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange);
void pay_http_handle_metrics (PayHttpServer *self, SoupServerMessage *msg, PayHttpExchange *exchange);

G_END_DECLS
