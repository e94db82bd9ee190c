/* test-metrics.c: PayMetrics counting and its Prometheus text exposition. */
#include <string.h>

#include "core/pay-error.h"
#include "core/pay-metrics.h"

static gdouble
sample_seven (gpointer user_data)
{
  return 7;
}

/* The value of the sample line starting with @series (name and labels), or -1. */
static gdouble
sample_value (const gchar *text, const gchar *series)
{
  g_autofree gchar *needle = g_strconcat ("\n", series, " ", NULL);
  const gchar *at = strstr (text, needle);

  return at != NULL ? g_ascii_strtod (at + strlen (needle), NULL) : -1;
}

static void
test_counts (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  PayMetricsMethod *charge = pay_metrics_register_method (metrics, "rpc", "Charge");
  g_autofree gchar *text = NULL;

  g_assert_true (charge == pay_metrics_register_method (metrics, "rpc", "Charge"));
  for (int i = 0; i < 3; i++)
    {
      pay_metrics_request_started (charge);
      pay_metrics_request_finished (charge, 0, 1500);       /* 1.5 ms */
    }
  pay_metrics_request_started (charge);
  pay_metrics_request_finished (charge, PAY_ERROR_INVALID_AMOUNT, 20 * G_USEC_PER_SEC);
  pay_metrics_request_started (charge);
  pay_metrics_request_finished (charge, 12345, 1);          /* not a contract code */
  pay_metrics_request_started (charge);                     /* still in flight */

  g_assert_cmpuint (pay_metrics_get_request_count (charge, 0), ==, 3);
  g_assert_cmpuint (pay_metrics_get_request_count (charge, PAY_ERROR_INVALID_AMOUNT), ==, 1);

  text = pay_metrics_render (metrics);
  g_assert_cmpfloat (sample_value (text, "payment_requests_total{transport=\"rpc\",method=\"Charge\",code=\"0\"}"), ==, 3);
  g_assert_cmpfloat (sample_value (text, "payment_requests_total{transport=\"rpc\",method=\"Charge\",code=\"4004002\"}"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_requests_total{transport=\"rpc\",method=\"Charge\",code=\"other\"}"), ==, 1);
  /* 1.5 ms is above the 1 ms bucket, inside 2.5 ms; 20 s only in +Inf */
  g_assert_cmpfloat (sample_value (text, "payment_request_duration_seconds_bucket{transport=\"rpc\",method=\"Charge\",le=\"0.001\"}"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_request_duration_seconds_bucket{transport=\"rpc\",method=\"Charge\",le=\"0.0025\"}"), ==, 4);
  g_assert_cmpfloat (sample_value (text, "payment_request_duration_seconds_bucket{transport=\"rpc\",method=\"Charge\",le=\"10\"}"), ==, 4);
  g_assert_cmpfloat (sample_value (text, "payment_request_duration_seconds_bucket{transport=\"rpc\",method=\"Charge\",le=\"+Inf\"}"), ==, 5);
  g_assert_cmpfloat (sample_value (text, "payment_request_duration_seconds_count{transport=\"rpc\",method=\"Charge\"}"), ==, 5);
  g_assert_cmpfloat_with_epsilon (sample_value (text, "payment_request_duration_seconds_sum{transport=\"rpc\",method=\"Charge\"}"), 20.004501, 1e-9);
  g_assert_cmpfloat (sample_value (text, "payment_requests_in_flight{transport=\"rpc\",method=\"Charge\"}"), ==, 1);
  g_assert_nonnull (strstr (text, "# TYPE payment_request_duration_seconds histogram\n"));
  g_assert_nonnull (strstr (text, "payment_build_info{version=\"" PAYMENT_VERSION "\"} 1\n"));
}

/* Per API key: one handle per id, apart from the methods' (a reload registering it again
 * keeps its counts); only the codes seen are rendered. */
static void
test_key_counts (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  PayMetricsMethod *shop = pay_metrics_register_key (metrics, "shop");
  PayMetricsMethod *idle = pay_metrics_register_key (metrics, "idle");
  g_autofree gchar *text = NULL;

  g_assert_true (shop == pay_metrics_register_key (metrics, "shop"));
  g_assert_true (shop != pay_metrics_register_method (metrics, "http", "shop"));
  pay_metrics_key_request (shop, 0);
  pay_metrics_key_request (shop, 0);
  pay_metrics_key_request (shop, PAY_ERROR_FORBIDDEN);
  g_assert_cmpuint (pay_metrics_get_request_count (idle, 0), ==, 0);

  text = pay_metrics_render (metrics);
  g_assert_cmpfloat (sample_value (text, "payment_http_key_requests_total{key_id=\"shop\",code=\"0\"}"), ==, 2);
  g_assert_cmpfloat (sample_value (text, "payment_http_key_requests_total{key_id=\"shop\",code=\"4004012\"}"), ==, 1);
  g_assert_null (strstr (text, "key_id=\"idle\""));
  g_assert_nonnull (strstr (text, "# TYPE payment_http_key_requests_total counter\n"));
}

static void
test_connections_and_samples (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  g_autofree gchar *text = NULL;
  g_autofree gchar *cleared = NULL;

  pay_metrics_connection_opened (metrics, PAY_METRICS_PORT_RPC);
  pay_metrics_connection_opened (metrics, PAY_METRICS_PORT_RPC);
  pay_metrics_connection_closed (metrics, PAY_METRICS_PORT_RPC);
  pay_metrics_connection_opened (metrics, PAY_METRICS_PORT_HTTP);
  pay_metrics_connection_refused (metrics, PAY_METRICS_PORT_HTTP, PAY_METRICS_REFUSED_MAX_CONNECTIONS);
  pay_metrics_connection_refused (metrics, PAY_METRICS_PORT_HTTP, PAY_METRICS_REFUSED_MAX_CONNECTIONS);
  pay_metrics_connection_refused (metrics, PAY_METRICS_PORT_RPC, PAY_METRICS_REFUSED_ALLOWLIST);
  pay_metrics_connection_timed_out (metrics, PAY_METRICS_PORT_RPC, PAY_METRICS_TIMEOUT_READ);
  pay_metrics_connection_timed_out (metrics, PAY_METRICS_PORT_HTTP, PAY_METRICS_TIMEOUT_IDLE);
  pay_metrics_rpc_reply_written (metrics);
  pay_metrics_rpc_reply_written (metrics);
  pay_metrics_add_sample (metrics, "payment_test_total", "A test counter.",
                          PAY_METRICS_COUNTER, sample_seven, NULL);
  text = pay_metrics_render (metrics);
  g_assert_cmpfloat (sample_value (text, "payment_rpc_connections"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_http_connections"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_connections_refused_total{port=\"rpc\",reason=\"max_connections\"}"), ==, 0);
  g_assert_cmpfloat (sample_value (text, "payment_connections_refused_total{port=\"rpc\",reason=\"allowlist\"}"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_connections_refused_total{port=\"http\",reason=\"max_connections\"}"), ==, 2);
  g_assert_null (strstr (text, "payment_connections_refused_total{port=\"http\",reason=\"allowlist\"}"));
  g_assert_cmpfloat (sample_value (text, "payment_connection_timeouts_total{port=\"rpc\",timeout=\"read\"}"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_connection_timeouts_total{port=\"rpc\",timeout=\"idle\"}"), ==, 0);
  g_assert_cmpfloat (sample_value (text, "payment_connection_timeouts_total{port=\"http\",timeout=\"idle\"}"), ==, 1);
  g_assert_cmpfloat (sample_value (text, "payment_rpc_reply_writes_total"), ==, 2);
  g_assert_cmpfloat (sample_value (text, "payment_test_total"), ==, 7);
  g_assert_nonnull (strstr (text, "# TYPE payment_test_total counter\n"));

  pay_metrics_clear_samples (metrics);
  cleared = pay_metrics_render (metrics);
  g_assert_null (strstr (cleared, "payment_test_total"));
}

static gdouble
sample_two (gpointer user_data)
{
  return 2;
}

/* The series of a labelled sampled metric share one HELP and TYPE header. */
static void
test_labelled_samples (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  g_autofree gchar *text = NULL;
  g_auto(GStrv) parts = NULL;

  pay_metrics_add_labelled_sample (metrics, "payment_test_gaps_total", "outcome=\"filled\"",
                                   "Gaps.", PAY_METRICS_COUNTER, sample_seven, NULL);
  pay_metrics_add_labelled_sample (metrics, "payment_test_gaps_total", "outcome=\"passed\"",
                                   "Gaps.", PAY_METRICS_COUNTER, sample_two, NULL);
  pay_metrics_add_sample (metrics, "payment_test_leader", "A gauge.", PAY_METRICS_GAUGE,
                          sample_two, NULL);
  text = pay_metrics_render (metrics);
  g_assert_cmpfloat (sample_value (text, "payment_test_gaps_total{outcome=\"filled\"}"), ==, 7);
  g_assert_cmpfloat (sample_value (text, "payment_test_gaps_total{outcome=\"passed\"}"), ==, 2);
  g_assert_cmpfloat (sample_value (text, "payment_test_leader"), ==, 2);
  /* Exactly one header for the two series. */
  parts = g_strsplit (text, "# TYPE payment_test_gaps_total counter\n", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  g_assert_nonnull (strstr (text, "# TYPE payment_test_leader gauge\n"));
}

static void
test_label_escaping (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  g_autofree gchar *text = NULL;

  pay_metrics_register_method (metrics, "http", "GET /a\"b\\c\nd");
  text = pay_metrics_render (metrics);
  g_assert_nonnull (strstr (text, "method=\"GET /a\\\"b\\\\c\\nd\""));
}

/* Counting from many threads at once loses nothing (the counters are atomic). */
static gpointer
hammer (gpointer data)
{
  for (int i = 0; i < 10000; i++)
    {
      pay_metrics_request_started (data);
      pay_metrics_request_finished (data, 0, i);
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(PayMetrics) metrics = pay_metrics_new ();
  PayMetricsMethod *method = pay_metrics_register_method (metrics, "rpc", "Charge");
  GThread *threads[4];

  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("hammer", hammer, method);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpuint (pay_metrics_get_request_count (method, 0), ==, 40000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/payment/metrics/counts", test_counts);
  g_test_add_func ("/payment/metrics/key-counts", test_key_counts);
  g_test_add_func ("/payment/metrics/connections-and-samples", test_connections_and_samples);
  g_test_add_func ("/payment/metrics/label-escaping", test_label_escaping);
  g_test_add_func ("/payment/metrics/labelled-samples", test_labelled_samples);
  g_test_add_func ("/payment/metrics/threads", test_threads);
  return g_test_run ();
}
