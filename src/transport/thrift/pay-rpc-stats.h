/* pay-rpc-stats.h: what the RPC transport counts and logs per request: the metrics
 * handles of the IDL's methods (registered once, looked up without locks) and the
 * outcome of a reply. Shared by the server and its connections. */
#pragma once

#include "core/pay-metrics.h"
#include "core/pay-request-log.h"
#include "transport/thrift/pay-thrift-scan.h"

G_BEGIN_DECLS

typedef struct _PayRpcStats PayRpcStats;

/* Registers the PaymentService methods (and "unknown" for any other name) with
 * @metrics. Atomically refcounted: every connection holds a reference. */
PayRpcStats *pay_rpc_stats_new (PayMetrics *metrics);
PayRpcStats *pay_rpc_stats_ref (PayRpcStats *stats);
void         pay_rpc_stats_unref (PayRpcStats *stats);

PayMetrics *pay_rpc_stats_get_metrics (PayRpcStats *stats);

/* A request for @info's method started: counts it in flight and fills @record (method
 * name, transport, start time in record->duration_us until finished). */
void pay_rpc_stats_request_started (PayRpcStats                *stats,
                                    const PayThriftMessageInfo *info,
                                    const gchar                *peer,
                                    PayRequestRecord           *record);

/* The request in @record was answered with the reply message @reply (empty: none, e.g.
 * the connection failed): counts it by result code and logs it at info level. */
void pay_rpc_stats_request_finished (PayRpcStats      *stats,
                                     PayRequestRecord *record,
                                     const guint8     *reply,
                                     gsize             reply_len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayRpcStats, pay_rpc_stats_unref)

G_END_DECLS
