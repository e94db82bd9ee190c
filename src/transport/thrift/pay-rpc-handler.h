/* pay-rpc-handler.h: the generated PaymentService handler, subclassed to convert the
 * generated structs and call PayService; no business rules here. */
#pragma once

#include "transport/thrift/pay-thrift-autoptr.h"
#include "domain/pay-service.h"

G_BEGIN_DECLS

#define PAY_TYPE_RPC_HANDLER (pay_rpc_handler_get_type ())
G_DECLARE_FINAL_TYPE (PayRpcHandler, pay_rpc_handler, PAY, RPC_HANDLER, paymentPaymentServiceHandler)

/* The handler runs on worker threads: the service's blocking API is what it calls. */
PayRpcHandler *pay_rpc_handler_new (PayService *service);

G_END_DECLS
