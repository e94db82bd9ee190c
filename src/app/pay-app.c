/* pay-app.c: wires configuration, storage, service and transports together. */
#define G_LOG_DOMAIN "payment"

#include "app/pay-app.h"

#include "core/pay-auth.h"
#include "core/pay-cidr.h"
#include "core/pay-metrics.h"
#include "core/pay-rate-limiter.h"
#include "domain/pay-service.h"
#include "events/pay-event-relay.h"
#include "registry/pay-registrar.h"
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
  PayMetrics      *metrics;
  PayRateLimiter  *limiter;       /* both transports' (limits.*) */
  PayRegistrar    *registrar;     /* NULL: consul.address is empty */
  PayEventRelay   *relay;         /* NULL: events.nats_url is empty */
  guint            probe_id;
  guint            grace_id;
  guint            delay_id;      /* consul.deregister_delay_seconds after deregistering */
  gboolean         stopping;
  gboolean         draining;
  gboolean         stopped;
  gboolean         rpc_drained;
  gboolean         http_drained;
  gboolean         deregistered;
  gboolean         events_stopped;
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
  g_clear_handle_id (&self->delay_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  pay_http_server_stop (self->http);   /* closes the idle keep-alive connections */
  pay_cache_stop (self->cache);
  pay_repository_close (self->repository);
  g_message ("stopped");
  g_signal_emit (self, signals[SIGNAL_STOPPED], 0);
}

/* Stops once both transports have answered what was in flight, Consul has been told and
 * the event relay has recorded its cursor and let go of its lock. */
static void
maybe_finish_stop (PayApp *self)
{
  if (self->rpc_drained && self->http_drained && self->deregistered && self->events_stopped)
    finish_stop (self);
}

static void
on_events_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PayApp) self = user_data;

  (void) pay_event_relay_stop_finish (PAY_EVENT_RELAY (source), result, NULL);
  self->events_stopped = TRUE;
  maybe_finish_stop (self);
}

static void
on_rpc_drained (PayRpcServer *rpc, gpointer user_data)
{
  PayApp *self = user_data;

  self->rpc_drained = TRUE;
  maybe_finish_stop (self);
}

static void
on_http_drained (PayHttpServer *http, gpointer user_data)
{
  PayApp *self = user_data;

  self->http_drained = TRUE;
  maybe_finish_stop (self);
}

static gboolean on_grace_expired (gpointer user_data);

/* Stops accepting and finishes what is in flight, within server.shutdown_grace_seconds. */
static void
begin_drain (PayApp *self)
{
  if (self->draining)
    return;
  self->draining = TRUE;
  g_message ("draining: finishing requests in flight (grace %u s)",
             self->config->server.shutdown_grace_seconds);
  self->grace_id = g_timeout_add_seconds (self->config->server.shutdown_grace_seconds,
                                          on_grace_expired, self);
  /* Events committed from here on are relayed by whichever instance relays next. */
  if (self->relay != NULL)
    pay_event_relay_stop_async (self->relay, on_events_stopped, g_object_ref (self));
  else
    self->events_stopped = TRUE;
  /* Either may emit "drained" at once. */
  pay_http_server_drain (self->http);
  pay_rpc_server_drain (self->rpc);
}

static gboolean
on_delay_expired (gpointer user_data)
{
  PayApp *self = user_data;

  self->delay_id = 0;
  begin_drain (self);
  return G_SOURCE_REMOVE;
}

static void
on_deregistered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PayApp) self = user_data;
  guint delay = self->config->consul.deregister_delay_seconds;

  /* A failure was logged; Consul's checks take the instance out once it is gone. */
  (void) pay_registrar_deregister_finish (PAY_REGISTRAR (source), result, NULL);
  self->deregistered = TRUE;
  if (!self->draining && !self->stopped && delay > 0 && self->delay_id == 0)
    {
      /* Callers still hold this instance until their resolver refreshes: keep serving
       * them as usual meanwhile, so that none meets a closing connection. */
      g_message ("deregistered from Consul; serving %u s more before draining", delay);
      self->delay_id = g_timeout_add_seconds (delay, on_delay_expired, self);
      return;
    }
  maybe_finish_stop (self);
}

/* ---- what /health and /metrics read ------------------------------------------------ */

static const gchar *
consul_state (gpointer user_data)
{
  PayApp *self = user_data;

  if (self->registrar == NULL)
    return "disabled";
  return pay_registrar_is_registered (self->registrar) ? "registered" : "unregistered";
}

static const gchar *
events_state (gpointer user_data)
{
  PayApp *self = user_data;

  return self->relay != NULL ? pay_event_relay_get_state (self->relay) : "disabled";
}

static PayEventRelayStats
relay_stats (PayApp *self)
{
  PayEventRelayStats stats = { 0 };

  if (self->relay != NULL)
    pay_event_relay_get_stats (self->relay, &stats);
  return stats;
}

static gdouble
sample_events_leader (gpointer user_data)
{
  return relay_stats (user_data).leader ? 1 : 0;
}

static gdouble
sample_events_published (gpointer user_data)
{
  return (gdouble) relay_stats (user_data).published;
}

static gdouble
sample_events_republished (gpointer user_data)
{
  return (gdouble) relay_stats (user_data).republished;
}

static gdouble
sample_events_lag_events (gpointer user_data)
{
  return (gdouble) relay_stats (user_data).lag_events;
}

static gdouble
sample_events_lag_seconds (gpointer user_data)
{
  return relay_stats (user_data).lag_seconds;
}

static gdouble
sample_events_gaps_filled (gpointer user_data)
{
  return (gdouble) relay_stats (user_data).gaps_filled;
}

static gdouble
sample_events_gaps_passed (gpointer user_data)
{
  return (gdouble) relay_stats (user_data).gaps_passed;
}

static PayRepositoryStats
repository_stats (PayApp *self)
{
  PayRepositoryStats stats;

  pay_repository_get_stats (self->repository, &stats);
  return stats;
}

static gdouble
sample_pool_in_use (gpointer user_data)
{
  return repository_stats (user_data).pool_in_use;
}

static gdouble
sample_pool_waiting (gpointer user_data)
{
  return repository_stats (user_data).pool_waiting;
}

static gdouble
sample_charge_statements (gpointer user_data)
{
  return (gdouble) repository_stats (user_data).charge_statements;
}

static gdouble
sample_charge_rows (gpointer user_data)
{
  return (gdouble) repository_stats (user_data).charge_rows;
}

static gdouble
sample_charges_waiting (gpointer user_data)
{
  return repository_stats (user_data).charges_waiting;
}

static gdouble
sample_cache_hits (gpointer user_data)
{
  return (gdouble) pay_cache_get_hit_count (((PayApp *) user_data)->cache);
}

static gdouble
sample_cache_misses (gpointer user_data)
{
  return (gdouble) pay_cache_get_miss_count (((PayApp *) user_data)->cache);
}

static gdouble
sample_cache_errors (gpointer user_data)
{
  return (gdouble) pay_cache_get_error_count (((PayApp *) user_data)->cache);
}

static gdouble
sample_cache_pending_repairs (gpointer user_data)
{
  return pay_service_get_pending_repairs (((PayApp *) user_data)->service);
}

static gdouble
sample_mysql_up (gpointer user_data)
{
  return pay_service_storage_ok (((PayApp *) user_data)->service) ? 1 : 0;
}

static gdouble
sample_redis_up (gpointer user_data)
{
  return pay_service_cache_ok (((PayApp *) user_data)->service) ? 1 : 0;
}

static gdouble
sample_consul_registered (gpointer user_data)
{
  return g_str_equal (consul_state (user_data), "registered") ? 1 : 0;
}

static gdouble
sample_consul_enabled (gpointer user_data)
{
  return ((PayApp *) user_data)->registrar != NULL ? 1 : 0;
}

static void
add_samples (PayApp *self)
{
  static const struct {
    const gchar          *name;
    const gchar          *help;
    PayMetricsKind        kind;
    PayMetricsSampleFunc  func;
  } samples[] = {
    { "payment_mysql_pool_connections_in_use", "MySQL pool connections checked out now.",
      PAY_METRICS_GAUGE, sample_pool_in_use },
    { "payment_mysql_pool_waiting", "Requests waiting for a MySQL pool connection.",
      PAY_METRICS_GAUGE, sample_pool_waiting },
    { "payment_mysql_charge_statements_total",
      "Charge INSERTs sent to MySQL (concurrent charges share one).",
      PAY_METRICS_COUNTER, sample_charge_statements },
    { "payment_mysql_charge_rows_total", "Charges (payment rows) in those INSERTs.",
      PAY_METRICS_COUNTER, sample_charge_rows },
    { "payment_mysql_charges_waiting", "Charges waiting on the main loop for the next INSERT.",
      PAY_METRICS_GAUGE, sample_charges_waiting },
    { "payment_mysql_up", "1 while the MySQL health probe succeeds.",
      PAY_METRICS_GAUGE, sample_mysql_up },
    { "payment_redis_up", "1 while the Redis cache is connected.",
      PAY_METRICS_GAUGE, sample_redis_up },
    { "payment_cache_hits_total", "Payment lookups answered from the Redis cache.",
      PAY_METRICS_COUNTER, sample_cache_hits },
    { "payment_cache_misses_total", "Payment lookups the Redis cache could not answer.",
      PAY_METRICS_COUNTER, sample_cache_misses },
    { "payment_cache_errors_total",
      "Redis failures: failed reads and writes, failed connects, lost connections.",
      PAY_METRICS_COUNTER, sample_cache_errors },
    { "payment_cache_pending_repairs",
      "Cached records known stale (a refund's cache write failed), read from MySQL until repaired.",
      PAY_METRICS_GAUGE, sample_cache_pending_repairs },
    { "payment_consul_enabled", "1 when consul.address is set.",
      PAY_METRICS_GAUGE, sample_consul_enabled },
    { "payment_consul_registered", "1 while the Consul agent holds our registration.",
      PAY_METRICS_GAUGE, sample_consul_registered },
  };

  static const struct {
    const gchar          *name;
    const gchar          *labels;
    const gchar          *help;
    PayMetricsKind        kind;
    PayMetricsSampleFunc  func;
  } event_samples[] = {
    { "payment_events_relay_leader", NULL,
      "1 while this instance holds the relay lock (events.lock_name).",
      PAY_METRICS_GAUGE, sample_events_leader },
    { "payment_events_published_total", NULL, "PubAcks received for first publishes of events.",
      PAY_METRICS_COUNTER, sample_events_published },
    { "payment_events_republished_total", NULL,
      "Events published again after a failed or timed-out publish.",
      PAY_METRICS_COUNTER, sample_events_republished },
    { "payment_events_relay_lag_events", NULL,
      "Events committed and not yet acked by the stream (the relaying instance only).",
      PAY_METRICS_GAUGE, sample_events_lag_events },
    { "payment_events_relay_lag_seconds", NULL,
      "Age of the oldest event committed and not yet acked (0 when none).",
      PAY_METRICS_GAUGE, sample_events_lag_seconds },
    { "payment_events_gaps_total", "outcome=\"filled\"",
      "Gaps in payment_events ids met by the relay, by how each ended.",
      PAY_METRICS_COUNTER, sample_events_gaps_filled },
    { "payment_events_gaps_total", "outcome=\"passed\"",
      "Gaps in payment_events ids met by the relay, by how each ended.",
      PAY_METRICS_COUNTER, sample_events_gaps_passed },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (samples); i++)
    pay_metrics_add_sample (self->metrics, samples[i].name, samples[i].help, samples[i].kind,
                            samples[i].func, self);
  for (gsize i = 0; i < G_N_ELEMENTS (event_samples); i++)
    pay_metrics_add_labelled_sample (self->metrics, event_samples[i].name, event_samples[i].labels,
                                     event_samples[i].help, event_samples[i].kind,
                                     event_samples[i].func, self);
}

static gboolean
on_grace_expired (gpointer user_data)
{
  PayApp *self = user_data;

  self->grace_id = 0;
  g_warning ("shutdown grace of %u s expired with %u RPC connections and %u HTTP requests "
             "busy; closing them", self->config->server.shutdown_grace_seconds,
             pay_rpc_server_get_connection_count (self->rpc),
             pay_http_server_get_active_count (self->http));
  finish_stop (self);
  return G_SOURCE_REMOVE;
}

static void
pay_app_dispose (GObject *object)
{
  PayApp *self = PAY_APP (object);

  g_clear_handle_id (&self->grace_id, g_source_remove);
  g_clear_handle_id (&self->delay_id, g_source_remove);
  g_clear_handle_id (&self->probe_id, g_source_remove);
  if (self->rpc != NULL)
    g_signal_handlers_disconnect_by_data (self->rpc, self);
  if (self->http != NULL)
    g_signal_handlers_disconnect_by_data (self->http, self);
  if (self->metrics != NULL)
    pay_metrics_clear_samples (self->metrics);
  g_clear_object (&self->registrar);
  g_clear_object (&self->relay);
  g_clear_object (&self->http);
  g_clear_object (&self->rpc);
  g_clear_object (&self->service);
  g_clear_object (&self->cache);
  g_clear_object (&self->repository);
  g_clear_object (&self->metrics);
  g_clear_object (&self->limiter);
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

/* server.rpc_allow, which the configuration has checked already. */
static void
set_rpc_allowlist (PayRpcServer *rpc, const gchar *rpc_allow)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) allow = NULL;

  if (rpc_allow == NULL)
    return;
  allow = pay_cidr_list_parse (rpc_allow, &error);
  g_assert_no_error (error);
  pay_rpc_server_set_allowlist (rpc, allow);
}

PayApp *
pay_app_new (const PayConfig *config)
{
  PayApp *self = g_object_new (PAY_TYPE_APP, NULL);
  const PayServiceSettings service_settings = {
    .max_amount_cents = config->payment.max_amount_cents,
    .cache_required = config->cache.required,
    .cache_ttl_seconds = config->redis.ttl_seconds,
  };
  const PayRpcLimits limits = {
    .max_frame_bytes = config->server.max_frame_bytes,
    .idle_timeout_seconds = config->server.idle_timeout_seconds,
    .read_timeout_seconds = config->server.read_timeout_seconds,
    .max_connections = config->server.max_connections,
  };
  const PayHttpLimits http_limits = {
    .read_timeout_seconds = config->server.read_timeout_seconds,
    .idle_timeout_seconds = config->server.http_idle_timeout_seconds,
    .max_connections = config->server.max_connections,
  };

  self->config = config;
  self->repository = pay_repository_new (&config->mysql);
  self->cache = pay_cache_new (&config->redis, g_main_context_get_thread_default ());
  self->service = pay_service_new (PAY_PAYMENT_STORE (self->repository),
                                  PAY_PAYMENT_CACHE (self->cache), &service_settings);
  self->metrics = pay_metrics_new ();
  self->limiter = pay_rate_limiter_new (config->limits.rate_per_second, config->limits.burst,
                                        PAY_RATE_LIMITER_MAX_BUCKETS);
  self->rpc = pay_rpc_server_new (self->service, &limits, self->metrics, self->limiter);
  set_rpc_allowlist (self->rpc, config->server.rpc_allow);
  self->http = pay_http_server_new (self->service, self->metrics, self->limiter);
  pay_http_server_set_limits (self->http, &http_limits);
  pay_http_server_set_consul_state_func (self->http, consul_state, self);
  pay_http_server_set_events_state_func (self->http, events_state, self);
  if (config->events.nats_url != NULL)
    self->relay = pay_event_relay_new (&config->events, &config->mysql, self->repository);
  add_samples (self);
  g_signal_connect (self->rpc, "drained", G_CALLBACK (on_rpc_drained), self);
  g_signal_connect (self->http, "drained", G_CALLBACK (on_http_drained), self);
  return self;
}

/* Loads auth.keys_file and puts its keys in force on the HTTP port; the keys in force
 * stay when it fails. Reading the small local file blocks the loop briefly. Logs the
 * count and the path, never a digest. */
static gboolean
load_keys (PayApp *self, GError **error)
{
  const gchar *path = self->config->auth.keys_file;
  PayAuthKeys *keys = pay_auth_keys_load (path, error);

  if (keys == NULL)
    return FALSE;
  g_message ("auth: %u API keys in force from %s", pay_auth_keys_count (keys), path);
  pay_http_server_set_keys (self->http, keys, self->config->auth.protect_metrics);
  return TRUE;
}

static gboolean
host_is_loopback (const gchar *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  if (address == NULL)
    return g_ascii_strcasecmp (host, "localhost") == 0;
  return g_inet_address_get_is_loopback (address);
}

/* With a keys file, the API needs keys; without one it is open as it always was, which
 * is only safe on loopback: say so at start when the port is reachable from elsewhere. */
static gboolean
start_auth (PayApp *self, GError **error)
{
  const gchar *host = self->config->server.host;

  if (self->config->auth.keys_file != NULL)
    return load_keys (self, error);
  if (!host_is_loopback (host))
    g_warning ("auth.keys_file is empty and the HTTP port listens on %s, not loopback only: "
               "anyone who reaches it can charge, query and refund (README, \"Security\")", host);
  return TRUE;
}

void
pay_app_reload_keys (PayApp *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PAY_IS_APP (self));

  if (self->config->auth.keys_file == NULL)
    {
      g_message ("SIGHUP: auth.keys_file is empty; no API keys to reload");
      return;
    }
  if (!load_keys (self, &error))
    g_warning ("SIGHUP: keeping the API keys in force: %s", error->message);
}

gboolean
pay_app_start (PayApp *self, GError **error)
{
  const gchar *host = self->config->server.host;

  g_return_val_if_fail (PAY_IS_APP (self), FALSE);

  if (!start_auth (self, error))
    return FALSE;
  if (!pay_rpc_server_listen (self->rpc, host, self->config->server.rpc_port, error) ||
      !pay_http_server_listen (self->http, host, self->config->server.http_port, error))
    return FALSE;
  g_message ("rpc listening on %s:%u", host, pay_rpc_server_get_port (self->rpc));
  g_message ("http listening on %s:%u%s", host, pay_http_server_get_port (self->http),
             self->config->http.tls_cert_file != NULL ? " (HTTPS only)" : "");

  if (self->config->consul.address != NULL)
    {
      self->registrar = pay_registrar_new (self->config, pay_rpc_server_get_port (self->rpc),
                                           pay_http_server_get_port (self->http), error);
      if (self->registrar == NULL)
        return FALSE;
      pay_registrar_start (self->registrar);
    }

  pay_cache_start (self->cache);
  if (self->relay != NULL)
    {
      g_message ("events: relaying payment_events to NATS stream %s",
                 self->config->events.stream);
      pay_event_relay_start (self->relay);
    }
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
  g_message ("shutting down");
  /* Consul first, so callers stop being sent here while we finish. */
  if (self->registrar == NULL)
    {
      self->deregistered = TRUE;
      begin_drain (self);
      return;
    }
  pay_registrar_deregister_async (self->registrar, on_deregistered, g_object_ref (self));
  /* With a delay, the drain starts once the agent answered (on_deregistered). */
  if (self->config->consul.deregister_delay_seconds == 0)
    begin_drain (self);
}

void
pay_app_set_http_certificate (PayApp *self, GTlsCertificate *certificate)
{
  g_return_if_fail (PAY_IS_APP (self));
  pay_http_server_set_tls_certificate (self->http, certificate);
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
