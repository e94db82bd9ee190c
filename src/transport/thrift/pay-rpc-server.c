/* pay-rpc-server.c: accepts RPC connections on the main loop and owns them. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-server.h"

#include "core/pay-cidr.h"
#include "transport/pay-listener.h"
#include "transport/thrift/pay-rpc-handler.h"

enum {
  SIGNAL_DRAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _PayRpcServer
{
  GObject parent_instance;

  GSocketService  *listener;
  PayRpcDispatcher *dispatcher;
  PayRpcLimits     limits;
  GArray          *allow;         /* PayCidr; NULL: every peer may connect */
  GHashTable      *connections;   /* PayRpcConnection* -> owned ref */
  guint16          port;
  gboolean         draining;
};

G_DEFINE_FINAL_TYPE (PayRpcServer, pay_rpc_server, G_TYPE_OBJECT)

static void
pay_rpc_server_init (PayRpcServer *self)
{
  self->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
}

static void
on_connection_closed (PayRpcConnection *connection, gpointer user_data)
{
  PayRpcServer *self = user_data;

  g_signal_handlers_disconnect_by_data (connection, self);
  if (g_hash_table_remove (self->connections, connection))
    pay_metrics_connection_closed (pay_rpc_dispatcher_get_metrics (self->dispatcher),
                                   PAY_METRICS_PORT_RPC);
  if (self->draining && g_hash_table_size (self->connections) == 0)
    g_signal_emit (self, signals[SIGNAL_DRAINED], 0);
}

/* Whether the peer of @connection may connect (server.rpc_allow). A peer whose address
 * cannot be had (it is gone already) may not. */
static gboolean
peer_allowed (PayRpcServer *self, GSocketConnection *connection)
{
  g_autoptr(GSocketAddress) address = NULL;
  GInetAddress *ip;

  if (self->allow == NULL)
    return TRUE;
  address = g_socket_connection_get_remote_address (connection, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return FALSE;
  ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (pay_cidr_list_contains (self->allow, ip))
    return TRUE;
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree gchar *text = pay_peer_ip (address);

      g_debug ("rpc: %s is not in server.rpc_allow, refused", text);
    }
  return FALSE;
}

/* Closes @socket_connection at once (nothing read, nothing sent) and counts it. */
static void
refuse (PayRpcServer *self, GSocketConnection *socket_connection, PayMetricsRefusal reason)
{
  pay_metrics_connection_refused (pay_rpc_dispatcher_get_metrics (self->dispatcher),
                                  PAY_METRICS_PORT_RPC, reason);
  g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *socket_connection,
             GObject           *source_object,
             gpointer           user_data)
{
  PayRpcServer *self = user_data;
  PayRpcConnection *connection;

  if (self->draining)
    {
      g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
      return TRUE;
    }
  /* A peer outside server.rpc_allow is closed before any of its bytes is read: Kitex
   * clients carry no credentials, so its address is all there is to go by. */
  if (!peer_allowed (self, socket_connection))
    {
      refuse (self, socket_connection, PAY_METRICS_REFUSED_ALLOWLIST);
      return TRUE;
    }
  /* Past the cap the connection is closed at once, before it costs a buffer or a
   * source: held connections are what a flood of idle or slow clients exhausts. */
  if (self->limits.max_connections > 0 &&
      g_hash_table_size (self->connections) >= self->limits.max_connections)
    {
      g_debug ("rpc: %u connections open, refusing one more", self->limits.max_connections);
      refuse (self, socket_connection, PAY_METRICS_REFUSED_MAX_CONNECTIONS);
      return TRUE;
    }
  connection = pay_rpc_connection_new (socket_connection, self->dispatcher, &self->limits);
  g_hash_table_add (self->connections, connection);
  pay_metrics_connection_opened (pay_rpc_dispatcher_get_metrics (self->dispatcher),
                                 PAY_METRICS_PORT_RPC);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), self);
  pay_rpc_connection_start (connection);
  return TRUE;
}

/* Calls @fn on every connection; safe when @fn makes connections leave the table. */
static void
for_each_connection (PayRpcServer *self, void (*fn) (PayRpcConnection *connection))
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (all, g_object_ref (key));
  for (guint i = 0; i < all->len; i++)
    fn (all->pdata[i]);
}

static void
pay_rpc_server_dispose (GObject *object)
{
  PayRpcServer *self = PAY_RPC_SERVER (object);

  if (self->listener != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->listener, self);
      pay_listener_close (self->listener);
      g_clear_object (&self->listener);
    }
  if (self->connections != NULL)
    {
      for_each_connection (self, pay_rpc_connection_close);
      g_clear_pointer (&self->connections, g_hash_table_unref);
    }
  g_clear_pointer (&self->dispatcher, pay_rpc_dispatcher_unref);
  g_clear_pointer (&self->allow, g_array_unref);
  G_OBJECT_CLASS (pay_rpc_server_parent_class)->dispose (object);
}

static void
pay_rpc_server_class_init (PayRpcServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_rpc_server_dispose;

  signals[SIGNAL_DRAINED] = g_signal_new ("drained", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

PayRpcServer *
pay_rpc_server_new (PayService         *service,
                    const PayRpcLimits *limits,
                    PayMetrics         *metrics,
                    PayRateLimiter     *limiter)
{
  PayRpcServer *self = g_object_new (PAY_TYPE_RPC_SERVER, NULL);
  const PayRpcMethod *methods;
  gsize n_methods;

  methods = pay_rpc_handler_methods (&n_methods);
  self->dispatcher = pay_rpc_dispatcher_new (methods, n_methods, G_OBJECT (service), metrics);
  pay_rpc_dispatcher_set_rate_limiter (self->dispatcher, limiter);
  self->limits = *limits;
  return self;
}

void
pay_rpc_server_set_allowlist (PayRpcServer *self, GArray *allow)
{
  g_return_if_fail (PAY_IS_RPC_SERVER (self));
  g_return_if_fail (self->listener == NULL);

  g_clear_pointer (&self->allow, g_array_unref);
  if (allow != NULL && allow->len > 0)
    self->allow = g_array_ref (allow);
}

gboolean
pay_rpc_server_listen (PayRpcServer *self, const gchar *host, guint16 port, GError **error)
{
  g_return_val_if_fail (PAY_IS_RPC_SERVER (self), FALSE);
  g_return_val_if_fail (self->listener == NULL, FALSE);

  self->listener = pay_listener_new ("rpc", host, port, G_CALLBACK (on_incoming), self,
                                     &self->port, error);
  return self->listener != NULL;
}

guint16
pay_rpc_server_get_port (PayRpcServer *self)
{
  g_return_val_if_fail (PAY_IS_RPC_SERVER (self), 0);
  return self->port;
}

void
pay_rpc_server_drain (PayRpcServer *self)
{
  g_return_if_fail (PAY_IS_RPC_SERVER (self));

  if (self->draining)
    return;
  self->draining = TRUE;
  pay_listener_close (self->listener);

  for_each_connection (self, pay_rpc_connection_drain);
  if (g_hash_table_size (self->connections) == 0)
    g_signal_emit (self, signals[SIGNAL_DRAINED], 0);
}

guint
pay_rpc_server_get_connection_count (PayRpcServer *self)
{
  g_return_val_if_fail (PAY_IS_RPC_SERVER (self), 0);
  return g_hash_table_size (self->connections);
}
