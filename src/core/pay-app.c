/* pay-app.c: wires configuration, storage, service and transports together. */
#define G_LOG_DOMAIN "payment"

#include "core/pay-app.h"

#include "domain/pay-service.h"
#include "storage/pay-cache.h"
#include "storage/pay-repository.h"
#include "transport/http/pay-http-server.h"
#include "transport/thrift/pay-rpc-server.h"

#define PAY_HEALTH_PROBE_INTERVAL_MS 1000

enum {
  SIGNAL_STOPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _PayApp
{
  GObject parent_instance;

  const PayConfig *config;
  PayRepository   *repository;
  PayCache        *cache;
  PayService      *service;
  PayRpcServer    *rpc;
  PayHttpServer   *http;
  guint            probe_id;
  guint            grace_id;
  gboolean         stopping;
  gboolean         stopped;
};

G_DEFINE_FINAL_TYPE (PayApp, pay_app, G_TYPE_OBJECT)

static void
pay_app_init (PayApp *self)
{
}

static gboolean
on_probe (gpointer user_data)
{
  PayApp *self = user_data;

  pay_service_probe_storage_async (self->service);
  return G_SOURCE_CONTINUE;
}

static void
finish_stop (PayApp *self)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_clear_handle_id (&self->grace_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  pay_cache_stop (self->cache);
  pay_repository_close (self->repository);
  g_message ("stopped");
  g_signal_emit (self, signals[SIGNAL_STOPPED], 0);
}

static void
on_rpc_drained (PayRpcServer *rpc, gpointer user_data)
{
  finish_stop (user_data);
}

static gboolean
on_grace_expired (gpointer user_data)
{
  PayApp *self = user_data;

  self->grace_id = 0;
  g_warning ("shutdown grace of %u s expired with %u RPC connections busy; closing them",
             self->config->server.shutdown_grace_seconds,
             pay_rpc_server_get_connection_count (self->rpc));
  finish_stop (self);
  return G_SOURCE_REMOVE;
}

static void
pay_app_dispose (GObject *object)
{
  PayApp *self = PAY_APP (object);

  g_clear_handle_id (&self->grace_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  if (self->rpc != NULL)
    g_signal_handlers_disconnect_by_data (self->rpc, self);
  g_clear_object (&self->http);
  g_clear_object (&self->rpc);
  g_clear_object (&self->service);
  g_clear_object (&self->cache);
  g_clear_object (&self->repository);
  G_OBJECT_CLASS (pay_app_parent_class)->dispose (object);
}

static void
pay_app_class_init (PayAppClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pay_app_dispose;

  signals[SIGNAL_STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

PayApp *
pay_app_new (const PayConfig *config)
{
  PayApp *self = g_object_new (PAY_TYPE_APP, NULL);
  const PayServiceSettings service_settings = {
    .max_amount_cents = config->payment.max_amount_cents,
    .cache_required = config->cache.required,
  };
  const PayRpcLimits limits = {
    .max_frame_bytes = config->server.max_frame_bytes,
    .idle_timeout_seconds = config->server.idle_timeout_seconds,
  };

  self->config = config;
  self->repository = pay_repository_new (&config->mysql);
  self->cache = pay_cache_new (&config->redis, g_main_context_get_thread_default ());
  self->service = pay_service_new (self->repository, self->cache, &service_settings);
  self->rpc = pay_rpc_server_new (self->service, &limits);
  self->http = pay_http_server_new (self->service);
  g_signal_connect (self->rpc, "drained", G_CALLBACK (on_rpc_drained), self);
  return self;
}

gboolean
pay_app_start (PayApp *self, GError **error)
{
  const gchar *host = self->config->server.host;

  g_return_val_if_fail (PAY_IS_APP (self), FALSE);

  if (!pay_rpc_server_listen (self->rpc, host, self->config->server.rpc_port, error) ||
      !pay_http_server_listen (self->http, host, self->config->server.http_port, error))
    return FALSE;
  g_message ("rpc listening on %s:%u", host, pay_rpc_server_get_port (self->rpc));
  g_message ("http listening on %s:%u", host, pay_http_server_get_port (self->http));

  pay_cache_start (self->cache);
  pay_service_probe_storage_async (self->service);
  self->probe_id = g_timeout_add (PAY_HEALTH_PROBE_INTERVAL_MS, on_probe, self);
  return TRUE;
}

void
pay_app_shutdown (PayApp *self)
{
  g_return_if_fail (PAY_IS_APP (self));

  if (self->stopping)
    return;
  self->stopping = TRUE;
  g_message ("shutting down: finishing requests in flight (grace %u s)",
             self->config->server.shutdown_grace_seconds);
  pay_http_server_stop (self->http);
  self->grace_id = g_timeout_add_seconds (self->config->server.shutdown_grace_seconds,
                                          on_grace_expired, self);
  pay_rpc_server_drain (self->rpc);   /* may emit "drained" at once */
}

guint16
pay_app_get_rpc_port (PayApp *self)
{
  return pay_rpc_server_get_port (self->rpc);
}

guint16
pay_app_get_http_port (PayApp *self)
{
  return pay_http_server_get_port (self->http);
}
