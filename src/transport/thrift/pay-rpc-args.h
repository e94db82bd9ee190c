/* pay-rpc-args.h: PaymentService's generated args structs returned to their state when
 * new, for a dispatcher that decodes every call of a method into one struct (the
 * clear_args of a PayRpcMethod row, pay-rpc-call.h). */
#pragma once

#include "transport/thrift/pay-thrift-autoptr.h"

G_BEGIN_DECLS

/* Each unsets every field of its args struct and of the structs inside it, as the
 * generated instance_init leaves them: isset flags FALSE, numbers 0, strings freed. */
void pay_rpc_args_clear_charge (ThriftStruct *args);
void pay_rpc_args_clear_query  (ThriftStruct *args);
void pay_rpc_args_clear_refund (ThriftStruct *args);

G_END_DECLS
