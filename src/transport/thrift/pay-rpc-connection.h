/* pay-rpc-connection.h: one RPC client connection on the main loop: reads requests in
 * any known framing, hands each to its call (pay-rpc-call.h), writes replies in order. */
#pragma once

#include <gio/gio.h>

#include "transport/thrift/pay-rpc-call.h"

G_BEGIN_DECLS

#define PAY_TYPE_RPC_CONNECTION (pay_rpc_connection_get_type ())
G_DECLARE_FINAL_TYPE (PayRpcConnection, pay_rpc_connection, PAY, RPC_CONNECTION, GObject)

typedef struct {
  guint32 max_frame_bytes;
  guint   idle_timeout_seconds;
  guint   read_timeout_seconds;   /* a message whole from its first byte; 0: no deadline */
  guint   max_connections;        /* held by the server at once; 0: no cap */
} PayRpcLimits;

/* Takes a reference on @connection and @dispatcher (where calls go, and are counted
 * and logged). Emits "closed" once, on the main loop, when the connection is finished
 * for whatever reason. */
PayRpcConnection *pay_rpc_connection_new (GSocketConnection  *connection,
                                          PayRpcDispatcher   *dispatcher,
                                          const PayRpcLimits *limits);

/* Starts reading. */
void pay_rpc_connection_start (PayRpcConnection *self);

/* Finishes the request in flight, if any, then closes; closes at once when idle. */
void pay_rpc_connection_drain (PayRpcConnection *self);

/* Closes now, dropping any request in flight. */
void pay_rpc_connection_close (PayRpcConnection *self);

/* The work (bytes examined plus steps) finding and scanning the requests cost so far:
 * tests and the fuzz target bound it per byte received. */
guint64 pay_rpc_connection_get_scan_work (PayRpcConnection *self);

G_END_DECLS
