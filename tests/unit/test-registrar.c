/* test-registrar.c: PayRegistrar's advertised address and configuration errors (the
 * conversation with an agent is tested against a fake one in test_consul.py). */
#include "registry/pay-registrar.h"

static void
test_pick_address (void)
{
  g_autofree gchar *configured = pay_registrar_pick_address ("127.0.0.1", NULL);
  g_autofree gchar *advertised = pay_registrar_pick_address ("0.0.0.0", "10.1.2.3");
  g_autofree gchar *empty_advertise = pay_registrar_pick_address ("127.0.0.2", "");
  g_autofree gchar *wildcard4 = pay_registrar_pick_address ("0.0.0.0", NULL);
  g_autofree gchar *wildcard6 = pay_registrar_pick_address ("::", NULL);
  g_autoptr(GInetAddress) picked = g_inet_address_new_from_string (wildcard4);

  g_assert_cmpstr (configured, ==, "127.0.0.1");
  g_assert_cmpstr (advertised, ==, "10.1.2.3");
  g_assert_cmpstr (empty_advertise, ==, "127.0.0.2");
  /* A wildcard is never advertised: an interface address, else loopback. */
  g_assert_nonnull (picked);
  g_assert_false (g_inet_address_get_is_any (picked));
  g_assert_cmpstr (wildcard4, ==, wildcard6);
}

static void
test_bad_address (gconstpointer data)
{
  g_autoptr(PayConfig) config = pay_config_new_defaults ();
  g_autoptr(GError) error = NULL;
  PayRegistrar *registrar;

  config->consul.address = g_strdup (data);
  registrar = pay_registrar_new (config, 8885, 8005, &error);
  g_assert_null (registrar);
  g_assert_error (error, PAY_REGISTRAR_ERROR, PAY_REGISTRAR_ERROR_ADDRESS);
}

static void
test_service_id (void)
{
  g_autoptr(PayConfig) config = pay_config_new_defaults ();
  g_autoptr(GError) error = NULL;
  PayRegistrar *registrar;

  config->consul.address = g_strdup ("127.0.0.1:8500");
  g_free (config->server.host);
  config->server.host = g_strdup ("127.0.0.1");
  registrar = pay_registrar_new (config, 18885, 18005, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pay_registrar_get_service_id (registrar), ==, "payment-127.0.0.1-18885");
  g_assert_false (pay_registrar_is_registered (registrar));
  g_assert_finalize_object (registrar);
}

int
main (int argc, char **argv)
{
  static const gchar *const bad[] = { "ftp://127.0.0.1:8500", "http://", "::::", "http:///x" };

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/payment/registrar/pick-address", test_pick_address);
  g_test_add_func ("/payment/registrar/service-id", test_service_id);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/registrar/bad-address/%zu", i);
      g_test_add_data_func (path, bad[i], test_bad_address);
    }
  return g_test_run ();
}
