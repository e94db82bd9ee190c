/* pay-listener.c: TCP listener set-up shared by the RPC and HTTP transports. */
#include "transport/pay-listener.h"

#define PAY_LISTEN_BACKLOG 1024

#include <netinet/in.h>
#include <netinet/tcp.h>

/* Runs before the transport's own handler for every accepted connection. Replies are
 * written in more than one piece (libsoup: headers, then body), and with Nagle's
 * algorithm the second piece waits for the peer's delayed ACK: 40 ms per request on a
 * kept-alive connection. Returns FALSE so the transport's handler runs next. */
static gboolean
on_incoming_set_nodelay (GSocketService    *listener,
                         GSocketConnection *connection,
                         GObject           *source_object,
                         gpointer           user_data)
{
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  return FALSE;
}

gchar *
pay_peer_ip (GSocketAddress *address)
{
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("-");
  return g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

gchar *
pay_peer_address (GSocketAddress *address)
{
  g_autofree gchar *ip = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("-");
  ip = pay_peer_ip (address);
  return g_strdup_printf ("%s:%u", ip,
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

GSocketService *
pay_listener_new (const gchar *what,
                  const gchar *host,
                  guint16      port,
                  GCallback    on_incoming,
                  gpointer     user_data,
                  guint16     *bound_port,
                  GError     **error)
{
  g_autoptr(GSocketService) listener = NULL;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (host, port);
  g_autoptr(GSocketAddress) effective = NULL;

  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s listen: server.host \"%s\" is not an IP address", what, host);
      return NULL;
    }
  listener = g_socket_service_new ();
  /* GLib's default backlog is 10: a burst of new connections (64 clients starting at
   * once) would see SYNs dropped and retried a second later. The kernel caps it at
   * net.core.somaxconn. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (listener), PAY_LISTEN_BACKLOG);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (listener), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    {
      g_prefix_error (error, "%s listen on %s:%u: ", what, host, port);
      return NULL;
    }
  *bound_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming_set_nodelay), NULL);
  g_signal_connect (listener, "incoming", on_incoming, user_data);
  g_socket_service_start (listener);
  return g_steal_pointer (&listener);
}

void
pay_listener_close (GSocketService *listener)
{
  if (listener == NULL)
    return;
  g_socket_service_stop (listener);
  g_socket_listener_close (G_SOCKET_LISTENER (listener));
}
