/* pay-rpc-server.h: the Thrift RPC listener (docs/CONTRACT.md section 1, port 8885). */
#pragma once

#include <gio/gio.h>

#include "domain/pay-service.h"
#include "transport/thrift/pay-rpc-connection.h"

G_BEGIN_DECLS

#define PAY_TYPE_RPC_SERVER (pay_rpc_server_get_type ())
G_DECLARE_FINAL_TYPE (PayRpcServer, pay_rpc_server, PAY, RPC_SERVER, GObject)

/* Serves @service through the PaymentService method table; counts requests and connections in
 * @metrics; each call takes a token of @limiter (NULL: none) under its peer's IP address. */
PayRpcServer *pay_rpc_server_new (PayService         *service,
                                  const PayRpcLimits *limits,
                                  PayMetrics         *metrics,
                                  PayRateLimiter     *limiter);

/* Only peers in @allow (a GArray of PayCidr, pay-cidr.h; a reference is kept) may
 * connect; others are closed at accept, before any byte is read, and counted. NULL or
 * empty: all may. Before listening. */
void pay_rpc_server_set_allowlist (PayRpcServer *self, GArray *allow);

/* Listens on @host:@port (0: any free port) on the thread-default main context. */
gboolean pay_rpc_server_listen (PayRpcServer *self,
                                const gchar  *host,
                                guint16       port,
                                GError      **error);

/* The port actually bound; 0 before listen. */
guint16 pay_rpc_server_get_port (PayRpcServer *self);

/* Stops accepting, closes idle connections, lets requests in flight finish and then
 * closes their connections. Emits "drained" once no connection is left. */
void pay_rpc_server_drain (PayRpcServer *self);

/* Number of open connections. */
guint pay_rpc_server_get_connection_count (PayRpcServer *self);

G_END_DECLS
