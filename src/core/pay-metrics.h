/* pay-metrics.h: request metrics shared by both transports, and the Prometheus text
 * exposition (format 0.0.4) of them plus a few values sampled at scrape time. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PAY_TYPE_METRICS (pay_metrics_get_type ())
G_DECLARE_FINAL_TYPE (PayMetrics, pay_metrics, PAY, METRICS, GObject)

#define PAY_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The result code of a request that did not end in a contract code: a Thrift
 * TApplicationException (unknown method, undecodable arguments). */
#define PAY_METRICS_CODE_APPLICATION_ERROR (-1)

/* One (transport, method) pair: the handle a transport counts its requests on. Owned by
 * the PayMetrics it came from, valid as long as it. */
typedef struct _PayMetricsMethod PayMetricsMethod;

/* What a sampled value is, for its "# TYPE" line. */
typedef enum {
  PAY_METRICS_GAUGE,
  PAY_METRICS_COUNTER,
} PayMetricsKind;

/* Returns the current value of a sampled metric; called on the scraping thread. */
typedef gdouble (*PayMetricsSampleFunc) (gpointer user_data);

PayMetrics *pay_metrics_new (void);

/* The handle for requests of @method (e.g. "Charge", "POST /payment/charge") over
 * @transport ("rpc" or "http"); the same pair gives the same handle. Both strings are
 * copied. Registration takes a lock: do it once, at construction, not per request. */
PayMetricsMethod *pay_metrics_register_method (PayMetrics  *self,
                                               const gchar *transport,
                                               const gchar *method);

/* A request on @method started: counts it in flight. Lock-free, any thread. */
void pay_metrics_request_started (PayMetricsMethod *method);

/* A request on @method ended with @code (0: success; a PAY_ERROR code; or
 * PAY_METRICS_CODE_APPLICATION_ERROR) after @duration_us microseconds. Lock-free, any
 * thread. */
void pay_metrics_request_finished (PayMetricsMethod *method,
                                   gint32            code,
                                   gint64            duration_us);

/* The listening ports, the "port" label of the connection metrics. */
typedef enum {
  PAY_METRICS_PORT_RPC,
  PAY_METRICS_PORT_HTTP,
  PAY_METRICS_N_PORTS,
} PayMetricsPort;

/* Why a connection was closed on a deadline, the "timeout" label. */
typedef enum {
  PAY_METRICS_TIMEOUT_READ,   /* a request not whole within server.read_timeout_seconds */
  PAY_METRICS_TIMEOUT_IDLE,   /* idle past its port's idle timeout */
  PAY_METRICS_N_TIMEOUTS,
} PayMetricsTimeout;

/* Open connections of @port, up or down by one. Lock-free, any thread. */
void pay_metrics_connection_opened (PayMetrics *self, PayMetricsPort port);
void pay_metrics_connection_closed (PayMetrics *self, PayMetricsPort port);

/* Why a connection was closed at accept, the "reason" label. */
typedef enum {
  PAY_METRICS_REFUSED_MAX_CONNECTIONS,  /* the port held server.max_connections */
  PAY_METRICS_REFUSED_ALLOWLIST,        /* the peer is not in server.rpc_allow (RPC only) */
  PAY_METRICS_N_REFUSALS,
} PayMetricsRefusal;

/* A connection to @port closed at once, for @reason. */
void pay_metrics_connection_refused (PayMetrics        *self,
                                     PayMetricsPort     port,
                                     PayMetricsRefusal  reason);

/* A connection to @port closed on a deadline. */
void pay_metrics_connection_timed_out (PayMetrics        *self,
                                       PayMetricsPort     port,
                                       PayMetricsTimeout  timeout);

/* One socket write of Thrift replies (the replies of pipelined requests answered
 * together share one). Lock-free, any thread. */
void pay_metrics_rpc_reply_written (PayMetrics *self);

/* Adds a metric whose value @func returns at scrape time (pool and cache state, Consul
 * registration). @name and @help must be static strings; @user_data must outlive the
 * metrics object or the next pay_metrics_clear_samples(). */
void pay_metrics_add_sample (PayMetrics           *self,
                             const gchar          *name,
                             const gchar          *help,
                             PayMetricsKind        kind,
                             PayMetricsSampleFunc  func,
                             gpointer              user_data);

/* Adds one series of a labelled sampled metric: @labels (a static string of `key="value"`
 * pairs, comma-separated) is its label set. The series of one metric must be added one
 * after the other, with the same @help and @kind: they share one header. */
void pay_metrics_add_labelled_sample (PayMetrics           *self,
                                      const gchar          *name,
                                      const gchar          *labels,
                                      const gchar          *help,
                                      PayMetricsKind        kind,
                                      PayMetricsSampleFunc  func,
                                      gpointer              user_data);

/* Forgets every sampled metric (before the objects they read from go away). */
void pay_metrics_clear_samples (PayMetrics *self);

/* The handle counting the HTTP requests of API key @key_id (the "key_id" label of
 * payment_http_key_requests_total); the same id gives the same handle, kept until the
 * metrics go (a reload that drops a key keeps its counts). Takes a lock: register when
 * the keys are loaded, not per request. */
PayMetricsMethod *pay_metrics_register_key (PayMetrics *self, const gchar *key_id);

/* A request authenticated by key @key ended with @code. Lock-free, any thread. */
void pay_metrics_key_request (PayMetricsMethod *key, gint32 code);

/* Requests of @method that ended with @code so far (for tests). */
guint64 pay_metrics_get_request_count (PayMetricsMethod *method, gint32 code);

/* The whole exposition, newly allocated. */
gchar *pay_metrics_render (PayMetrics *self);

G_END_DECLS
