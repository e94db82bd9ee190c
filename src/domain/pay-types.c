/* pay-types.c: conversions for the shared value types. */
#include "domain/pay-types.h"

#include <string.h>

const gchar *
pay_status_to_string (PayStatus status)
{
  switch (status)
    {
    case PAY_STATUS_PAID:               return "PAID";
    case PAY_STATUS_PARTIALLY_REFUNDED: return "PARTIALLY_REFUNDED";
    case PAY_STATUS_REFUNDED:           return "REFUNDED";
    default:                            return NULL;
    }
}

gboolean
pay_status_from_string (const gchar *text, PayStatus *status)
{
  for (PayStatus s = PAY_STATUS_PAID; s <= PAY_STATUS_REFUNDED; s++)
    if (g_strcmp0 (text, pay_status_to_string (s)) == 0)
      {
        *status = s;
        return TRUE;
      }
  return FALSE;
}

PayStatus
pay_status_for_refunded (gint64 amount_cents, gint64 refunded_cents)
{
  if (refunded_cents <= 0)
    return PAY_STATUS_PAID;
  return refunded_cents >= amount_cents ? PAY_STATUS_REFUNDED : PAY_STATUS_PARTIALLY_REFUNDED;
}
