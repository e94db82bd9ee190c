/* pay-rpc-args.c: PaymentService's args structs cleared for reuse (pay-rpc-args.h). A
 * field the IDL gains must be unset here too: test-rpc's clear-args test sets every
 * property and compares the cleared struct's bytes with a new one's. */
#include "transport/thrift/pay-rpc-args.h"

/* What the generated instance_init sets a field to: unset, and zero or NULL. */
#define UNSET_STRING(obj, field)                                                       \
  G_STMT_START {                                                                       \
    g_clear_pointer (&(obj)->field, g_free);                                           \
    (obj)->__isset_##field = FALSE;                                                    \
  } G_STMT_END
#define UNSET_VALUE(obj, field)                                                        \
  G_STMT_START {                                                                       \
    (obj)->field = 0;                                                                  \
    (obj)->__isset_##field = FALSE;                                                    \
  } G_STMT_END

void
pay_rpc_args_clear_charge (ThriftStruct *object)
{
  paymentPaymentServiceChargeArgs *args = (paymentPaymentServiceChargeArgs *) object;
  paymentChargeReq *req = args->req;
  paymentCreditCardInfo *card = req->credit_card;

  args->__isset_req = FALSE;
  UNSET_VALUE (req, amount);
  req->__isset_credit_card = FALSE;
  UNSET_STRING (card, credit_card_number);
  UNSET_VALUE (card, credit_card_cvv);
  UNSET_VALUE (card, credit_card_expiration_year);
  UNSET_VALUE (card, credit_card_expiration_month);
  UNSET_VALUE (req, order_id);
  UNSET_VALUE (req, user_id);
  UNSET_STRING (req, payment_method);
}

void
pay_rpc_args_clear_query (ThriftStruct *object)
{
  paymentPaymentServiceQueryPaymentArgs *args = (paymentPaymentServiceQueryPaymentArgs *) object;

  args->__isset_req = FALSE;
  UNSET_STRING (args->req, transaction_id);
  UNSET_VALUE (args->req, order_id);
}

void
pay_rpc_args_clear_refund (ThriftStruct *object)
{
  paymentPaymentServiceRefundArgs *args = (paymentPaymentServiceRefundArgs *) object;

  args->__isset_req = FALSE;
  UNSET_STRING (args->req, transaction_id);
  UNSET_VALUE (args->req, amount);
  UNSET_STRING (args->req, refund_request_id);
  UNSET_STRING (args->req, reason);
}
