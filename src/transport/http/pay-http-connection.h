/* pay-http-connection.h: one accepted HTTP connection, the GIOStream handed to libsoup.
 * libsoup 3 has no server-side timeouts; this stream sees every read, so it knows when a
 * request's first byte came, and enforces the read deadline and the idle timeout. */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "core/pay-metrics.h"

G_BEGIN_DECLS

typedef struct {
  guint read_timeout_seconds;   /* a request whole (headers and body) from its first byte; 0: none */
  guint idle_timeout_seconds;   /* between requests, and before the first; 0: none */
  guint max_connections;        /* held by the server at once; 0: no cap */
} PayHttpLimits;

#define PAY_TYPE_HTTP_CONNECTION (pay_http_connection_get_type ())
G_DECLARE_FINAL_TYPE (PayHttpConnection, pay_http_connection, PAY, HTTP_CONNECTION, GIOStream)

/* Wraps @connection (referenced), or with @certificate a TLS server connection over it
 * (NULL with @error when GIO has no TLS backend): reads go through a pollable input
 * stream that notes them, writes straight to the base's output stream. @remote names the
 * peer (the key libsoup's messages are matched by). The idle timer starts now, on the
 * thread-default main context; timeouts are counted in @metrics. Emits "closed" once,
 * when closed or finalized. */
PayHttpConnection *pay_http_connection_new (GSocketConnection   *connection,
                                            GTlsCertificate     *certificate,
                                            GSocketAddress      *remote,
                                            const PayHttpLimits *limits,
                                            PayMetrics          *metrics,
                                            GError             **error);

/* The TLS handshake, before libsoup gets the stream (done at once without TLS). It must
 * be over within read_timeout_seconds: at the deadline the socket is shut down and it
 * fails. It fails too for a peer that does not speak TLS (plain HTTP) or negotiates a
 * version older than TLS 1.2. On failure, close the connection. */
void     pay_http_connection_handshake_async  (PayHttpConnection   *self,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean pay_http_connection_handshake_finish (PayHttpConnection   *self,
                                               GAsyncResult        *result,
                                               GError             **error);
gboolean pay_http_connection_is_handshaking   (PayHttpConnection   *self);

/* pay_peer_address() of the peer ("ip:port"): the server's key for the connection (libsoup
 * tells a message's peer address, not its stream), and for logs. */
const gchar *pay_http_connection_get_peer (PayHttpConnection *self);

/* libsoup started @message on this connection ("request-started": before its first
 * byte for a connection's first request, at its first byte for the next ones). Kept
 * (referenced) until the next one or the close: the handle by which a connection that
 * ends between requests is taken back from libsoup 3.2.3, which would keep it. */
void pay_http_connection_request_started (PayHttpConnection *self, SoupServerMessage *message);

/* The request's headers and body are in: no deadline while it is answered. */
void pay_http_connection_request_read (PayHttpConnection *self);

/* The request is over (answered or aborted): idle from now on. */
void pay_http_connection_request_done (PayHttpConnection *self);

/* Shuts the socket down both ways: libsoup's pending read finds the end of the stream and
 * libsoup closes the connection, or (between requests) the connection is taken back
 * from libsoup and closed, or else it is closed after a grace period. Closing the stream
 * under libsoup's sources would not be safe. */
void pay_http_connection_cut (PayHttpConnection *self);

G_END_DECLS
