/* pay-thrift-fixups.c: start-up repairs for Thrift C GLib 0.17 defects. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-thrift-fixups.h"

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>

#include "payment_payment_service.h"
#include "payment_payment_types.h"

/* ThriftApplicationException's own finalize frees the message and stops, so GObject's
 * finalize never runs and every exception reply leaks the instance's bookkeeping. This
 * replacement does the same freeing and then chains up, which needs no saved pointer. */
static void
application_exception_finalize (GObject *object)
{
  ThriftApplicationException *self = THRIFT_APPLICATION_EXCEPTION (object);

  g_clear_pointer (&self->message, g_free);
  G_OBJECT_CLASS (g_type_class_peek_parent (G_OBJECT_GET_CLASS (object)))->finalize (object);
}

void
pay_thrift_fixups_install (void)
{
  /* Kept referenced for the life of the process, so the patched vfunc stays put. */
  GObjectClass *klass = g_type_class_ref (THRIFT_TYPE_APPLICATION_EXCEPTION);
  klass->finalize = application_exception_finalize;

  const GType types[] = {
    THRIFT_TYPE_BINARY_PROTOCOL,
    PAYMENT_TYPE_CREDIT_CARD_INFO,
    PAYMENT_TYPE_CHARGE_REQ,
    PAYMENT_TYPE_CHARGE_RESP,
    PAYMENT_TYPE_PAYMENT_ERROR,
    PAYMENT_TYPE_PAYMENT_INFO,
    PAYMENT_TYPE_QUERY_PAYMENT_REQ,
    PAYMENT_TYPE_QUERY_PAYMENT_RESP,
    PAYMENT_TYPE_REFUND_REQ,
    PAYMENT_TYPE_REFUND_RESP,
    PAYMENT_TYPE_PAYMENT_SERVICE_CHARGE_ARGS,
    PAYMENT_TYPE_PAYMENT_SERVICE_CHARGE_RESULT,
    PAYMENT_TYPE_PAYMENT_SERVICE_QUERY_PAYMENT_ARGS,
    PAYMENT_TYPE_PAYMENT_SERVICE_QUERY_PAYMENT_RESULT,
    PAYMENT_TYPE_PAYMENT_SERVICE_REFUND_ARGS,
    PAYMENT_TYPE_PAYMENT_SERVICE_REFUND_RESULT,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    g_type_ensure (types[i]);
}
