/* main.c: parse options, load the configuration, build the app, run the loop, exit. */
#define G_LOG_DOMAIN "payment"

#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "app/pay-app.h"
#include "core/pay-auth.h"
#include "core/pay-config.h"
#include "core/pay-log.h"
#include "events/pay-event-publisher.h"
#include "storage/pay-repository.h"
#include "transport/http/pay-http-tls.h"
#include "transport/thrift/pay-thrift-fixups.h"

#define EXIT_CONFIG 2
#define DEFAULT_CONFIG_PATH "conf/payment.conf"
/* Descriptors besides the two ports' connections and the MySQL pool: listeners, Redis,
 * the log, GLib's wakeups, the Consul client. */
#define DESCRIPTOR_RESERVE 64
/* At exit, the longest wait for libnats' threads (the relay has closed its connection). */
#define NATS_CLOSE_WAIT_MS 2000

/* Process-wide mutable state lives in main() only: this (what the signal handlers need)
 * and the log writer's PayLog. */
typedef struct {
  GMainLoop *loop;
  PayApp    *app;
  guint      signals_seen;
} Process;

/* SIGHUP: the API keys file again; connections and requests in flight are untouched. */
static gboolean
on_reload (gpointer user_data)
{
  Process *process = user_data;

  pay_app_reload_keys (process->app);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Process *process = user_data;

  if (++process->signals_seen > 1)
    {
      g_message ("second signal: exiting at once");
      exit (EXIT_FAILURE);
    }
  pay_app_shutdown (process->app);
  return G_SOURCE_CONTINUE;
}

/* Both ports' connections share the process's descriptors. The soft limit is raised to
 * the hard one, and a limit below what server.max_connections needs is logged: past it
 * accept() fails with EMFILE, and GLib's listener warns and retries in a loop. */
static void
raise_descriptor_limit (const PayConfig *config)
{
  struct rlimit limit;
  rlim_t needed = (rlim_t) config->server.max_connections * 2 + config->mysql.pool_size +
                  DESCRIPTOR_RESERVE;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return;
  if (limit.rlim_cur != limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        getrlimit (RLIMIT_NOFILE, &limit);
    }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
    g_warning ("RLIMIT_NOFILE is %llu descriptors; server.max_connections = %u on both ports "
               "needs about %llu: raise the limit or lower the key",
               (unsigned long long) limit.rlim_cur, config->server.max_connections,
               (unsigned long long) needed);
}

static void
on_stopped (PayApp *app, gpointer user_data)
{
  Process *process = user_data;

  g_main_loop_quit (process->loop);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *config_path = NULL;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default: " DEFAULT_CONFIG_PATH ")", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("- the payment service");
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_auto(GStrv) env = g_get_environ ();
  PayLogSettings log_settings;
  PayLog log;
  Process process = { 0 };

  setlocale (LC_ALL, "C");
  /* HTTPS: TLS 1.2 and later (pay-http-tls.h), unless the operator chose a priority.
   * Now, while no thread runs and before glib-networking reads it. */
  g_setenv ("G_TLS_GNUTLS_PRIORITY", PAY_HTTP_TLS_PRIORITY, FALSE);
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("payment-service: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (version)
    {
      g_print ("payment-service %s\n", PAYMENT_VERSION);
      return EXIT_SUCCESS;
    }

  config = pay_config_load (config_path != NULL ? config_path : DEFAULT_CONFIG_PATH,
                            (const gchar *const *) env, &error);
  if (config == NULL)
    {
      g_printerr ("payment-service: configuration: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (config->http.tls_cert_file != NULL)
    {
      certificate = pay_http_tls_load (config->http.tls_cert_file, config->http.tls_key_file,
                                       &error);
      if (certificate == NULL)
        {
          g_printerr ("payment-service: configuration: %s\n", error->message);
          return EXIT_CONFIG;
        }
    }
  log_settings.level = config->log.level;
  log_settings.json = config->log.json;
  pay_log_install (&log, &log_settings);
  raise_descriptor_limit (config);

  pay_repository_library_init ();
  pay_thrift_fixups_install ();

  process.loop = g_main_loop_new (NULL, FALSE);
  pay_log_attach (&log, g_main_loop_get_context (process.loop));
  process.app = pay_app_new (config);
  if (certificate != NULL)
    pay_app_set_http_certificate (process.app, certificate);
  g_signal_connect (process.app, "stopped", G_CALLBACK (on_stopped), &process);
  if (!pay_app_start (process.app, &error))
    {
      gboolean config_error = error->domain == PAY_AUTH_ERROR;

      g_critical ("cannot start: %s", error->message);
      g_clear_object (&process.app);
      pay_log_detach (&log);
      g_main_loop_unref (process.loop);
      /* A keys file that does not load is a configuration error, like a bad key. */
      return config_error ? EXIT_CONFIG : EXIT_FAILURE;
    }
  g_unix_signal_add (SIGTERM, on_signal, &process);
  g_unix_signal_add (SIGINT, on_signal, &process);
  g_unix_signal_add (SIGHUP, on_reload, &process);

  g_main_loop_run (process.loop);

  g_clear_object (&process.app);
  if (config->events.nats_url != NULL)
    pay_event_publisher_library_close (NATS_CLOSE_WAIT_MS);
  pay_log_detach (&log);
  g_main_loop_unref (process.loop);
  return EXIT_SUCCESS;
}
