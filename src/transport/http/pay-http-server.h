/* pay-http-server.h: the JSON API on libsoup 3 (docs/CONTRACT.md section 4). Thin: decode,
 * one service call, encode; errors mapped by the table in core/pay-error.h. */
#pragma once

#include <glib-object.h>

#include "core/pay-auth.h"
#include "core/pay-metrics.h"
#include "core/pay-rate-limiter.h"
#include "domain/pay-service.h"
#include "transport/http/pay-http-connection.h"

G_BEGIN_DECLS

#define PAY_TYPE_HTTP_SERVER (pay_http_server_get_type ())
G_DECLARE_FINAL_TYPE (PayHttpServer, pay_http_server, PAY, HTTP_SERVER, GObject)

#define PAY_HTTP_MAX_BODY_BYTES (64 * 1024)

/* Returns the state a member of /health shows: for "consul", "registered", "unregistered"
 * or "disabled"; for "events", "up", "down" or "disabled". */
typedef const gchar *(*PayHttpStateFunc) (gpointer user_data);

/* Serves @service; counts requests in @metrics and serves them on GET /metrics; each
 * request to a /payment/ route takes a token of @limiter (NULL: none) under its caller's key. */
PayHttpServer *pay_http_server_new (PayService     *service,
                                    PayMetrics     *metrics,
                                    PayRateLimiter *limiter);

/* Deadlines and the connection cap (default: none). Before listening. */
void pay_http_server_set_limits (PayHttpServer *self, const PayHttpLimits *limits);

/* With @certificate (holding its private key), the port speaks HTTPS only: each
 * connection's TLS handshake (TLS 1.2 or later) is done before libsoup sees it, within
 * read_timeout_seconds; a peer that fails it is closed. NULL (default): plain HTTP.
 * Before listening. */
void pay_http_server_set_tls_certificate (PayHttpServer *self, GTlsCertificate *certificate);

/* Where /health reads the Consul registration state from (default: "disabled"). */
void pay_http_server_set_consul_state_func (PayHttpServer    *self,
                                            PayHttpStateFunc  func,
                                            gpointer          user_data);

/* Where /health reads the event relay's state from (default: "disabled"). */
void pay_http_server_set_events_state_func (PayHttpServer    *self,
                                            PayHttpStateFunc  func,
                                            gpointer          user_data);

/* The API keys every route with a scope needs (taken; NULL: none, the API is open), and
 * whether GET /metrics needs scope "metrics". May be called at any time: a request
 * checks the keys in force when its headers arrive (a reload swaps them whole). */
void pay_http_server_set_keys (PayHttpServer *self, PayAuthKeys *keys, gboolean protect_metrics);

/* The id of the API key that authenticated @msg (a SoupServerMessage of this server),
 * or NULL: none (no keys, an open route, or not authenticated yet). Valid until the
 * message ends. */
const gchar *pay_http_exchange_get_key_id (SoupServerMessage *msg);

/* Listens on @host:@port (0: any free port) on the thread-default main context. */
gboolean pay_http_server_listen (PayHttpServer *self,
                                 const gchar   *host,
                                 guint16        port,
                                 GError       **error);

/* Serves @connection, accepted elsewhere, as if the listener had taken it, with
 * @local and @remote (inet addresses) as its ends: the HTTP fuzz target feeds the real
 * server one end of a socketpair this way. Returns FALSE with @error set if libsoup
 * refuses the stream. */
gboolean pay_http_server_accept_connection (PayHttpServer     *self,
                                            GSocketConnection *connection,
                                            GSocketAddress    *local,
                                            GSocketAddress    *remote,
                                            GError           **error);

/* The port actually bound (useful when 0 was asked for); 0 before listen. */
guint16 pay_http_server_get_port (PayHttpServer *self);

/* Stops accepting; requests already in (headers read) go on to their replies, answered
 * with "Connection: close" when dispatched from now on. Emits "drained" once none is
 * left (at once when none is in flight). Connections stay open until
 * pay_http_server_stop(). */
void pay_http_server_drain (PayHttpServer *self);

/* Requests between their headers and their end (in flight). */
guint pay_http_server_get_active_count (PayHttpServer *self);

/* Stops accepting and closes connections (dropping any request still in flight). */
void pay_http_server_stop (PayHttpServer *self);

G_END_DECLS
