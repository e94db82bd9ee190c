/* pay-listener.h: a TCP listener on the main loop, shared by both transports. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Creates a started GSocketService listening on @host:@port (@host must be an IP
 * address; @port 0 picks a free port) whose "incoming" signal calls @on_incoming with
 * @user_data. Stores the bound port in @bound_port. NULL with @error on failure, whose
 * message names @what and the address. */
GSocketService *pay_listener_new (const gchar *what,
                                  const gchar *host,
                                  guint16      port,
                                  GCallback    on_incoming,
                                  gpointer     user_data,
                                  guint16     *bound_port,
                                  GError     **error);

/* The peer's IP address as text ("-" for a peer that is not an inet address, such as
 * one end of a socketpair): what rate limits, refund callers and logs name a peer by. */
gchar *pay_peer_ip (GSocketAddress *address);

/* "IP:PORT" of the peer ("-" when not an inet address): one connection of the peer. */
gchar *pay_peer_address (GSocketAddress *address);

/* Stops accepting and closes the listening socket. Safe on NULL. */
void pay_listener_close (GSocketService *listener);

G_END_DECLS
