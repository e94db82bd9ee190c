/* pay-rpc-stats.c: per-request metrics and log line of the RPC transport. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-stats.h"

#include <string.h>

/* The field id of PaymentError in every PaymentService result struct (throws (1: ...)). */
#define PAY_RPC_ERROR_FIELD_ID 1
#define PAY_RPC_UNKNOWN_METHOD "unknown"

/* The IDL's methods (idl/payment.thrift); any other name is counted as "unknown", so a
 * client sending random names cannot grow the metrics. */
static const gchar *const idl_methods[] = { "Charge", "QueryPayment", "Refund" };

struct _PayRpcStats
{
  PayMetrics       *metrics;
  PayMetricsMethod *methods[G_N_ELEMENTS (idl_methods)];
  PayMetricsMethod *unknown;
};

/* Which method slot @record->method names; set by request_started. */
static PayMetricsMethod *
method_handle (PayRpcStats *stats, const gchar *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (idl_methods); i++)
    if (name == idl_methods[i])
      return stats->methods[i];
  return stats->unknown;
}

PayRpcStats *
pay_rpc_stats_new (PayMetrics *metrics)
{
  PayRpcStats *stats;

  g_return_val_if_fail (PAY_IS_METRICS (metrics), NULL);

  stats = g_atomic_rc_box_new0 (PayRpcStats);
  stats->metrics = g_object_ref (metrics);
  for (gsize i = 0; i < G_N_ELEMENTS (idl_methods); i++)
    stats->methods[i] = pay_metrics_register_method (metrics, "rpc", idl_methods[i]);
  stats->unknown = pay_metrics_register_method (metrics, "rpc", PAY_RPC_UNKNOWN_METHOD);
  return stats;
}

PayRpcStats *
pay_rpc_stats_ref (PayRpcStats *stats)
{
  return g_atomic_rc_box_acquire (stats);
}

static void
stats_clear (gpointer data)
{
  PayRpcStats *stats = data;

  g_clear_object (&stats->metrics);
}

void
pay_rpc_stats_unref (PayRpcStats *stats)
{
  g_atomic_rc_box_release_full (stats, stats_clear);
}

PayMetrics *
pay_rpc_stats_get_metrics (PayRpcStats *stats)
{
  return stats->metrics;
}

void
pay_rpc_stats_request_started (PayRpcStats                *stats,
                               const PayThriftMessageInfo *info,
                               const gchar                *peer,
                               PayRequestRecord           *record)
{
  memset (record, 0, sizeof *record);
  record->transport = "rpc";
  record->method = PAY_RPC_UNKNOWN_METHOD;
  for (gsize i = 0; i < G_N_ELEMENTS (idl_methods); i++)
    if (info->name != NULL && info->name_len == strlen (idl_methods[i]) &&
        memcmp (info->name, idl_methods[i], info->name_len) == 0)
      record->method = idl_methods[i];
  record->peer = peer;
  record->duration_us = g_get_monotonic_time ();
  pay_metrics_request_started (method_handle (stats, record->method));
}

void
pay_rpc_stats_request_finished (PayRpcStats      *stats,
                                PayRequestRecord *record,
                                const guint8     *reply,
                                gsize             reply_len)
{
  guint8 type = 0;
  gint32 code = 0;
  const guint8 *message;
  gsize message_len;

  if (pay_thrift_reply_exception (reply, reply_len, PAY_RPC_ERROR_FIELD_ID, &type, &code,
                                  &message, &message_len))
    record->code = code;
  else if (type == PAY_THRIFT_MSG_REPLY)
    record->code = 0;
  else
    record->code = PAY_METRICS_CODE_APPLICATION_ERROR;   /* exception, or no reply */
  record->duration_us = g_get_monotonic_time () - record->duration_us;
  pay_metrics_request_finished (method_handle (stats, record->method), record->code,
                                record->duration_us);
  pay_request_log (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, record);
}
