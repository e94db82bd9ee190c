/* pay-rpc-handler.h: the generated PaymentService handler, subclassed to convert the
 * generated structs and call PayService; no business rules here.
 *
 * The generated processor calls the handler synchronously, while the service answers
 * asynchronously (Redis and MySQL never block the main loop). So a call is started
 * before the processor runs: the connection decodes the arguments into the generated
 * args struct (pay_rpc_handler_args_type, pay_rpc_engine_read_args) and
 * pay_rpc_handler_start() starts the service's operation; when it has finished (a charge
 * that fails validation: at once), the processor runs once, on the main loop, decodes
 * the arguments again and the handler answers from the outcome kept in the call. What
 * the connection does not start (an unknown method, arguments that do not decode) the
 * processor answers by itself, without the handler. */
#pragma once

#include "transport/thrift/pay-thrift-autoptr.h"
#include "core/pay-request-log.h"
#include "domain/pay-service.h"

G_BEGIN_DECLS

#define PAY_TYPE_RPC_HANDLER (pay_rpc_handler_get_type ())
G_DECLARE_FINAL_TYPE (PayRpcHandler, pay_rpc_handler, PAY, RPC_HANDLER, paymentPaymentServiceHandler)

typedef enum {
  PAY_RPC_CALL_FRESH,      /* not started */
  PAY_RPC_CALL_PENDING,    /* the service is working */
  PAY_RPC_CALL_DONE,       /* the outcome is here: the processor answers from it */
} PayRpcCallState;

/* One RPC call, owned by its connection, from its start to the processor's answer. */
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

/* The generated args struct type of the method called @name (not NUL-terminated), or
 * G_TYPE_INVALID for a method the handler does not start itself. */
GType pay_rpc_handler_args_type (const gchar *name, gsize name_len);

/* Starts the FRESH @call of the method @name from its decoded @args (of the type
 * pay_rpc_handler_args_type() gave): the call is PENDING, and resumes later, or DONE
 * when it was answered at once. */
void pay_rpc_handler_start (PayRpcHandler *self,
                            PayRpcCall    *call,
                            const gchar   *name,
                            gsize          name_len,
                            ThriftStruct  *args);

G_END_DECLS
