/* pay-error.c: the PAY_ERROR domain. */
#include "core/pay-error.h"

G_DEFINE_QUARK (pay-error-quark, pay_error)

gint32
pay_error_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, PAY_ERROR_STORAGE_UNAVAILABLE);

  if (error->domain == PAY_ERROR)
    return error->code;
  return PAY_ERROR_STORAGE_UNAVAILABLE;
}
