/* pay-metrics.c: lock-free request counters and latency histograms per (transport,
 * method), rendered in the Prometheus text exposition format.
 *
 * The hot path (pay_metrics_request_started/finished) only does relaxed atomic adds on
 * memory allocated at registration: every label value it can produce — the methods a
 * transport registered, the contract's codes — has its counter before the first request,
 * so counting never allocates, looks anything up in a shared table or takes a lock.
 * Counters are C11 64-bit atomics: GLib's g_atomic_int_* are 32 bits wide, and a request
 * counter that wrapped would look like a restart to Prometheus. */
#define G_LOG_DOMAIN "payment-metrics"

#include "core/pay-metrics.h"

#include <stdatomic.h>

#include "core/pay-error.h"

/* Upper bounds of the latency buckets, in microseconds (Prometheus' le is in seconds). */
static const gint64 bucket_bounds_us[] = {
  1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
  1000000, 2500000, 5000000, 10000000,
};
#define N_BUCKETS G_N_ELEMENTS (bucket_bounds_us)

/* Every result code a request can have, in the order rendered; anything else is counted
 * under the last slot ("other"). */
static const gint32 result_codes[] = {
  0,
#define PAY_METRICS_CODE(name, code, status, message) code,
  PAY_ERROR_MAP (PAY_METRICS_CODE)
#undef PAY_METRICS_CODE
  PAY_METRICS_CODE_APPLICATION_ERROR,
};
#define N_CODES     (G_N_ELEMENTS (result_codes) + 1)
#define CODE_OTHER  (N_CODES - 1)

struct _PayMetricsMethod
{
  gchar            *transport;
  gchar            *method;
  atomic_uint_fast64_t requests[N_CODES];
  atomic_uint_fast64_t buckets[N_BUCKETS];   /* not cumulative; summed when rendered */
  atomic_uint_fast64_t duration_sum_us;
  atomic_uint_fast64_t count;
  atomic_int           in_flight;
};

typedef struct {
  const gchar          *name;
  const gchar          *labels;     /* NULL, or `key="value"` pairs of one series */
  const gchar          *help;
  PayMetricsKind        kind;
  PayMetricsSampleFunc  func;
  gpointer              user_data;
} Sample;

struct _PayMetrics
{
  GObject parent_instance;

  GMutex      lock;           /* registration and rendering, never the hot path */
  GPtrArray  *methods;        /* PayMetricsMethod*, owned, in registration order */
  GPtrArray  *keys;           /* PayMetricsMethod* per API key id (method = the id), owned */
  GArray     *samples;        /* Sample */
  atomic_int  connections[PAY_METRICS_N_PORTS];
  atomic_uint_fast64_t refused[PAY_METRICS_N_PORTS][PAY_METRICS_N_REFUSALS];
  atomic_uint_fast64_t timeouts[PAY_METRICS_N_PORTS][PAY_METRICS_N_TIMEOUTS];
  atomic_uint_fast64_t rpc_reply_writes;
};

G_DEFINE_FINAL_TYPE (PayMetrics, pay_metrics, G_TYPE_OBJECT)

static void
method_free (gpointer data)
{
  PayMetricsMethod *method = data;

  g_free (method->transport);
  g_free (method->method);
  g_free (method);
}

static void
pay_metrics_init (PayMetrics *self)
{
  g_mutex_init (&self->lock);
  self->methods = g_ptr_array_new_with_free_func (method_free);
  self->keys = g_ptr_array_new_with_free_func (method_free);
  self->samples = g_array_new (FALSE, TRUE, sizeof (Sample));
}

static void
pay_metrics_finalize (GObject *object)
{
  PayMetrics *self = PAY_METRICS (object);

  g_ptr_array_unref (self->methods);
  g_ptr_array_unref (self->keys);
  g_array_unref (self->samples);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (pay_metrics_parent_class)->finalize (object);
}

static void
pay_metrics_class_init (PayMetricsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pay_metrics_finalize;
}

PayMetrics *
pay_metrics_new (void)
{
  return g_object_new (PAY_TYPE_METRICS, NULL);
}

/* The entry of (@transport, @method) in @entries, added when new. */
static PayMetricsMethod *
register_entry (PayMetrics *self, GPtrArray *entries, const gchar *transport, const gchar *method)
{
  PayMetricsMethod *entry = NULL;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < entries->len && entry == NULL; i++)
    {
      PayMetricsMethod *m = entries->pdata[i];

      if (g_str_equal (m->transport, transport) && g_str_equal (m->method, method))
        entry = m;
    }
  if (entry == NULL)
    {
      /* g_new0 gives zeroed atomics, which is their valid initial state. */
      entry = g_new0 (PayMetricsMethod, 1);
      entry->transport = g_strdup (transport);
      entry->method = g_strdup (method);
      g_ptr_array_add (entries, entry);
    }
  g_mutex_unlock (&self->lock);
  return entry;
}

PayMetricsMethod *
pay_metrics_register_method (PayMetrics *self, const gchar *transport, const gchar *method)
{
  g_return_val_if_fail (PAY_IS_METRICS (self), NULL);
  g_return_val_if_fail (transport != NULL && method != NULL, NULL);

  return register_entry (self, self->methods, transport, method);
}

PayMetricsMethod *
pay_metrics_register_key (PayMetrics *self, const gchar *key_id)
{
  g_return_val_if_fail (PAY_IS_METRICS (self), NULL);
  g_return_val_if_fail (key_id != NULL, NULL);

  return register_entry (self, self->keys, "http", key_id);
}

/* ---- the hot path -------------------------------------------------------------------- */

static guint
code_index (gint32 code)
{
  for (guint i = 0; i < G_N_ELEMENTS (result_codes); i++)
    if (result_codes[i] == code)
      return i;
  return CODE_OTHER;
}

void
pay_metrics_request_started (PayMetricsMethod *method)
{
  g_return_if_fail (method != NULL);

  atomic_fetch_add_explicit (&method->in_flight, 1, memory_order_relaxed);
}

void
pay_metrics_request_finished (PayMetricsMethod *method, gint32 code, gint64 duration_us)
{
  guint bucket = 0;

  g_return_if_fail (method != NULL);

  duration_us = MAX (duration_us, 0);
  while (bucket < N_BUCKETS && duration_us > bucket_bounds_us[bucket])
    bucket++;
  atomic_fetch_add_explicit (&method->requests[code_index (code)], 1, memory_order_relaxed);
  if (bucket < N_BUCKETS)
    atomic_fetch_add_explicit (&method->buckets[bucket], 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&method->duration_sum_us, (guint64) duration_us,
                             memory_order_relaxed);
  atomic_fetch_add_explicit (&method->count, 1, memory_order_relaxed);
  atomic_fetch_sub_explicit (&method->in_flight, 1, memory_order_relaxed);
}

void
pay_metrics_key_request (PayMetricsMethod *key, gint32 code)
{
  atomic_fetch_add_explicit (&key->requests[code_index (code)], 1, memory_order_relaxed);
}

void
pay_metrics_connection_opened (PayMetrics *self, PayMetricsPort port)
{
  g_return_if_fail (PAY_IS_METRICS (self) && port < PAY_METRICS_N_PORTS);
  atomic_fetch_add_explicit (&self->connections[port], 1, memory_order_relaxed);
}

void
pay_metrics_connection_closed (PayMetrics *self, PayMetricsPort port)
{
  g_return_if_fail (PAY_IS_METRICS (self) && port < PAY_METRICS_N_PORTS);
  atomic_fetch_sub_explicit (&self->connections[port], 1, memory_order_relaxed);
}

void
pay_metrics_connection_refused (PayMetrics *self, PayMetricsPort port, PayMetricsRefusal reason)
{
  g_return_if_fail (PAY_IS_METRICS (self) && port < PAY_METRICS_N_PORTS &&
                    reason < PAY_METRICS_N_REFUSALS);
  atomic_fetch_add_explicit (&self->refused[port][reason], 1, memory_order_relaxed);
}

void
pay_metrics_connection_timed_out (PayMetrics *self, PayMetricsPort port, PayMetricsTimeout timeout)
{
  g_return_if_fail (PAY_IS_METRICS (self) && port < PAY_METRICS_N_PORTS &&
                    timeout < PAY_METRICS_N_TIMEOUTS);
  atomic_fetch_add_explicit (&self->timeouts[port][timeout], 1, memory_order_relaxed);
}

void
pay_metrics_rpc_reply_written (PayMetrics *self)
{
  g_return_if_fail (PAY_IS_METRICS (self));
  atomic_fetch_add_explicit (&self->rpc_reply_writes, 1, memory_order_relaxed);
}

guint64
pay_metrics_get_request_count (PayMetricsMethod *method, gint32 code)
{
  g_return_val_if_fail (method != NULL, 0);
  return atomic_load_explicit (&method->requests[code_index (code)], memory_order_relaxed);
}

/* ---- sampled values ------------------------------------------------------------------ */

void
pay_metrics_add_sample (PayMetrics           *self,
                        const gchar          *name,
                        const gchar          *help,
                        PayMetricsKind        kind,
                        PayMetricsSampleFunc  func,
                        gpointer              user_data)
{
  pay_metrics_add_labelled_sample (self, name, NULL, help, kind, func, user_data);
}

void
pay_metrics_add_labelled_sample (PayMetrics           *self,
                                 const gchar          *name,
                                 const gchar          *labels,
                                 const gchar          *help,
                                 PayMetricsKind        kind,
                                 PayMetricsSampleFunc  func,
                                 gpointer              user_data)
{
  Sample sample = { name, labels, help, kind, func, user_data };

  g_return_if_fail (PAY_IS_METRICS (self));
  g_return_if_fail (name != NULL && help != NULL && func != NULL);

  g_mutex_lock (&self->lock);
  g_array_append_val (self->samples, sample);
  g_mutex_unlock (&self->lock);
}

void
pay_metrics_clear_samples (PayMetrics *self)
{
  g_return_if_fail (PAY_IS_METRICS (self));

  g_mutex_lock (&self->lock);
  g_array_set_size (self->samples, 0);
  g_mutex_unlock (&self->lock);
}

/* ---- rendering ----------------------------------------------------------------------- */

static void
append_header (GString *out, const gchar *name, const gchar *help, const gchar *type)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are transport and method names we chose, but escape them anyway as the
 * format requires (backslash, double quote, newline). */
static void
append_label (GString *out, const gchar *name, const gchar *value)
{
  g_string_append_printf (out, "%s=\"", name);
  for (const gchar *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_method_labels (GString *out, const PayMetricsMethod *method)
{
  append_label (out, "transport", method->transport);
  g_string_append_c (out, ',');
  append_label (out, "method", method->method);
}

static void
append_code_label (GString *out, guint index)
{
  if (index == CODE_OTHER)
    append_label (out, "code", "other");
  else if (result_codes[index] == PAY_METRICS_CODE_APPLICATION_ERROR)
    append_label (out, "code", "application_error");
  else
    g_string_append_printf (out, "code=\"%d\"", result_codes[index]);
}

/* "NAME{transport=...,method=..." (the caller adds any other label and the close). */
static void
begin_series (GString *out, const gchar *name, const PayMetricsMethod *method)
{
  g_string_append_printf (out, "%s{", name);
  append_method_labels (out, method);
}

/* The series of one metric family for one method. */
typedef void (*RenderMethodFunc) (GString *out, PayMetricsMethod *method);

static void
render_family (GString          *out,
               GPtrArray        *methods,
               const gchar      *name,
               const gchar      *help,
               const gchar      *type,
               RenderMethodFunc  render)
{
  append_header (out, name, help, type);
  for (guint i = 0; i < methods->len; i++)
    render (out, methods->pdata[i]);
}

static void
render_requests (GString *out, PayMetricsMethod *method)
{
  for (guint c = 0; c < N_CODES; c++)
    {
      guint64 n = atomic_load_explicit (&method->requests[c], memory_order_relaxed);

      /* Successes always appear, so a method's series exists from the start. */
      if (n == 0 && c != 0)
        continue;
      begin_series (out, "payment_requests_total", method);
      g_string_append_c (out, ',');
      append_code_label (out, c);
      g_string_append_printf (out, "} %" G_GUINT64_FORMAT "\n", n);
    }
}

/* Per API key: only the codes seen, so a key's series appear with its first request. */
static void
render_key_requests (GString *out, PayMetricsMethod *key)
{
  for (guint c = 0; c < N_CODES; c++)
    {
      guint64 n = atomic_load_explicit (&key->requests[c], memory_order_relaxed);

      if (n == 0)
        continue;
      g_string_append (out, "payment_http_key_requests_total{");
      append_label (out, "key_id", key->method);
      g_string_append_c (out, ',');
      append_code_label (out, c);
      g_string_append_printf (out, "} %" G_GUINT64_FORMAT "\n", n);
    }
}

static void
render_durations (GString *out, PayMetricsMethod *method)
{
  guint64 cumulative = 0, count;
  gchar sum[G_ASCII_DTOSTR_BUF_SIZE];

  /* Read the count first: buckets only grow, so they are never below it... except for
   * the requests finishing between the reads, which +Inf then absorbs. */
  count = atomic_load_explicit (&method->count, memory_order_relaxed);
  for (guint b = 0; b < N_BUCKETS; b++)
    {
      gchar le[G_ASCII_DTOSTR_BUF_SIZE];

      cumulative += atomic_load_explicit (&method->buckets[b], memory_order_relaxed);
      begin_series (out, "payment_request_duration_seconds_bucket", method);
      /* %g: "0.0025", not the round-trip form "0.0025000000000000001". */
      g_ascii_formatd (le, sizeof le, "%g", bucket_bounds_us[b] / 1e6);
      g_string_append_printf (out, ",le=\"%s\"} %" G_GUINT64_FORMAT "\n", le,
                              MIN (cumulative, count));
    }
  begin_series (out, "payment_request_duration_seconds_bucket", method);
  g_string_append_printf (out, ",le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", count);
  g_ascii_dtostr (sum, sizeof sum,
                  atomic_load_explicit (&method->duration_sum_us, memory_order_relaxed) / 1e6);
  begin_series (out, "payment_request_duration_seconds_sum", method);
  g_string_append_printf (out, "} %s\n", sum);
  begin_series (out, "payment_request_duration_seconds_count", method);
  g_string_append_printf (out, "} %" G_GUINT64_FORMAT "\n", count);
}

static void
render_in_flight (GString *out, PayMetricsMethod *method)
{
  begin_series (out, "payment_requests_in_flight", method);
  g_string_append_printf (out, "} %d\n",
                          MAX (atomic_load_explicit (&method->in_flight, memory_order_relaxed), 0));
}

static void
render_samples (GString *out, GArray *samples)
{
  for (guint i = 0; i < samples->len; i++)
    {
      const Sample *sample = &g_array_index (samples, Sample, i);
      gchar value[G_ASCII_DTOSTR_BUF_SIZE];

      /* The series of one labelled metric were added one after the other: one header. */
      if (i == 0 || !g_str_equal (g_array_index (samples, Sample, i - 1).name, sample->name))
        append_header (out, sample->name, sample->help,
                       sample->kind == PAY_METRICS_COUNTER ? "counter" : "gauge");
      g_ascii_dtostr (value, sizeof value, sample->func (sample->user_data));
      if (sample->labels != NULL)
        g_string_append_printf (out, "%s{%s} %s\n", sample->name, sample->labels, value);
      else
        g_string_append_printf (out, "%s %s\n", sample->name, value);
    }
}

static const gchar *const port_names[PAY_METRICS_N_PORTS] = { "rpc", "http" };
static const gchar *const timeout_names[PAY_METRICS_N_TIMEOUTS] = { "read", "idle" };
static const gchar *const refusal_names[PAY_METRICS_N_REFUSALS] = {
  "max_connections", "allowlist",
};

/* Connections closed at accept, by port and reason; the HTTP port has no allowlist, so no
 * series that could only ever be 0. */
static void
render_refused (GString *out, PayMetrics *self)
{
  append_header (out, "payment_connections_refused_total",
                 "Connections closed at accept: the port held server.max_connections, or the "
                 "peer is not in server.rpc_allow.", "counter");
  for (guint p = 0; p < PAY_METRICS_N_PORTS; p++)
    for (guint r = 0; r < PAY_METRICS_N_REFUSALS; r++)
      {
        if (p == PAY_METRICS_PORT_HTTP && r == PAY_METRICS_REFUSED_ALLOWLIST)
          continue;
        g_string_append_printf (out, "payment_connections_refused_total{port=\"%s\",reason=\"%s\"} %"
                                G_GUINT64_FORMAT "\n", port_names[p], refusal_names[r],
                                (guint64) atomic_load_explicit (&self->refused[p][r],
                                                                memory_order_relaxed));
      }
}

/* Open connections, refusals at accept and deadline closes, by port. */
static void
render_connections (GString *out, PayMetrics *self)
{
  static const gchar *const gauge_help[PAY_METRICS_N_PORTS] = {
    "Open Thrift RPC connections.", "Open HTTP connections.",
  };

  for (guint p = 0; p < PAY_METRICS_N_PORTS; p++)
    {
      g_autofree gchar *name = g_strdup_printf ("payment_%s_connections", port_names[p]);

      append_header (out, name, gauge_help[p], "gauge");
      g_string_append_printf (out, "%s %d\n", name,
                              MAX (atomic_load_explicit (&self->connections[p],
                                                         memory_order_relaxed), 0));
    }
  render_refused (out, self);
  append_header (out, "payment_connection_timeouts_total",
                 "Connections closed on a deadline: read (a request not whole in time) or idle.",
                 "counter");
  for (guint p = 0; p < PAY_METRICS_N_PORTS; p++)
    for (guint t = 0; t < PAY_METRICS_N_TIMEOUTS; t++)
      g_string_append_printf (out, "payment_connection_timeouts_total{port=\"%s\",timeout=\"%s\"} %"
                              G_GUINT64_FORMAT "\n", port_names[p], timeout_names[t],
                              (guint64) atomic_load_explicit (&self->timeouts[p][t],
                                                              memory_order_relaxed));
}

gchar *
pay_metrics_render (PayMetrics *self)
{
  GString *out = g_string_sized_new (8192);

  g_return_val_if_fail (PAY_IS_METRICS (self), NULL);

  g_mutex_lock (&self->lock);
  render_family (out, self->methods, "payment_requests_total",
                 "Requests answered, by transport, method and result code (0 = success).",
                 "counter", render_requests);
  render_family (out, self->methods, "payment_request_duration_seconds",
                 "Time from a whole request to its reply, by transport and method.",
                 "histogram", render_durations);
  render_family (out, self->methods, "payment_requests_in_flight",
                 "Requests being processed now, by transport and method.", "gauge",
                 render_in_flight);
  render_family (out, self->keys, "payment_http_key_requests_total",
                 "HTTP requests authenticated by an API key, by key id and result code.",
                 "counter", render_key_requests);
  render_connections (out, self);
  append_header (out, "payment_rpc_reply_writes_total",
                 "Socket writes of Thrift replies (pipelined requests answered together share one).",
                 "counter");
  g_string_append_printf (out, "payment_rpc_reply_writes_total %" G_GUINT64_FORMAT "\n",
                          (guint64) atomic_load_explicit (&self->rpc_reply_writes,
                                                          memory_order_relaxed));
  render_samples (out, self->samples);
  append_header (out, "payment_build_info", "The running build; the value is always 1.",
                 "gauge");
  g_string_append (out, "payment_build_info{");
  append_label (out, "version", PAYMENT_VERSION);
  g_string_append (out, "} 1\n");
  g_mutex_unlock (&self->lock);
  return g_string_free (out, FALSE);
}
