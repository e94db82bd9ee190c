/* test-utils.c: helpers shared by the GTest suites. */
#include "test-utils.h"

#include <gio/gio.h>

GDateTime *
pay_test_utc (gint year, gint month, gint day, gint hour, gint minute, gint second)
{
  return g_date_time_new_utc (year, month, day, hour, minute, second);
}

guint16
pay_test_unused_loopback_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}
