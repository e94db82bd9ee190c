/* pay-rpc-handler.h: the generated PaymentService handler, subclassed to convert the
 * generated structs and call PayService; no business rules here.
 *
 * The generated processor calls the handler synchronously, while the service answers
 * asynchronously (Redis and MySQL never block the main loop). So a call runs the
 * processor twice, both times on the main loop: the first run starts the service's
 * operation and ends as "deferred" (its output is discarded); when the operation has
 * finished, the second run decodes the same message again and the handler answers from
 * the outcome kept in the call. A charge that fails validation is answered in the first
 * run. */
#pragma once

#include "transport/thrift/pay-thrift-autoptr.h"
#include "core/pay-request-log.h"
#include "domain/pay-service.h"

G_BEGIN_DECLS

#define PAY_TYPE_RPC_HANDLER (pay_rpc_handler_get_type ())
G_DECLARE_FINAL_TYPE (PayRpcHandler, pay_rpc_handler, PAY, RPC_HANDLER, paymentPaymentServiceHandler)

typedef enum {
  PAY_RPC_CALL_FRESH,      /* the processor has not asked the service yet */
  PAY_RPC_CALL_PENDING,    /* the service is working: the processor's output is void */
  PAY_RPC_CALL_DONE,       /* the outcome is here: run the processor again */
} PayRpcCallState;

/* One RPC call, owned by its connection, across its runs of the processor. */
typedef struct {
  PayRpcCallState   state;
  PayRequestRecord *record;     /* the handler notes the ids it decodes here */
  GError         *error;        /* DONE: the service's error, or NULL */
  PayPayment      payment;      /* DONE: Charge and QueryPayment */
  PayRefund       refund;       /* DONE: Refund */
  /* Called on the main loop when a PENDING call becomes DONE. */
  void          (*resume) (gpointer resume_data);
  gpointer        resume_data;
} PayRpcCall;

/* Back to FRESH, dropping the outcome. */
void pay_rpc_call_reset (PayRpcCall *call);

PayRpcHandler *pay_rpc_handler_new (PayService *service);

/* The call the next run of the processor belongs to (NULL after it). Main loop only. */
void pay_rpc_handler_set_call (PayRpcHandler *self, PayRpcCall *call);

G_END_DECLS
