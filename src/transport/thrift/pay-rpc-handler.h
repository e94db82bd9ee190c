/* pay-rpc-handler.h: the PaymentService method table: conversion between the generated
 * Thrift structs and PayService's types, and nothing else (no business rules, no
 * messages: pay-rpc-call.h decodes and writes those). */
#pragma once

#include "transport/thrift/pay-rpc-call.h"

G_BEGIN_DECLS

/* The methods of idl/payment.thrift; their target is a PayService. Static: the table
 * lives as long as the process. */
const PayRpcMethod *pay_rpc_handler_methods (gsize *n_methods);

G_END_DECLS
