/* pay-refund.c: refund arithmetic, status transitions and the replay rule. */
#define G_LOG_DOMAIN "payment-service"

#include "domain/pay-refund.h"

#include "core/pay-error.h"
#include "domain/pay-money.h"

gboolean
pay_refund_plan (gint64          amount_cents,
                 gint64          refunded_cents,
                 gboolean        has_requested,
                 gint64          requested_cents,
                 PayRefundPlan  *plan,
                 GError        **error)
{
  gint64 balance = amount_cents - refunded_cents;
  gint64 refund;

  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (amount_cents > 0 && refunded_cents >= 0, FALSE);
  g_return_val_if_fail (!has_requested || requested_cents > 0, FALSE);

  if (balance <= 0)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_REFUND_EXCEEDS,
                           "refund exceeds the refundable balance: the payment is fully refunded");
      return FALSE;
    }
  refund = has_requested ? requested_cents : balance;
  if (refund > balance)
    {
      gchar text[PAY_MONEY_FORMAT_BYTES];

      /* Written as every amount leaves the service: "5.1", not "5.10". */
      pay_money_format_major (balance, text);
      g_set_error (error, PAY_ERROR, PAY_ERROR_REFUND_EXCEEDS,
                   "refund exceeds the refundable balance of %s", text);
      return FALSE;
    }

  plan->refund_cents = refund;
  plan->total_refunded_cents = refunded_cents + refund;
  plan->status = pay_status_for_refunded (amount_cents, plan->total_refunded_cents);
  return TRUE;
}

gboolean
pay_refund_is_replay (const PayRefund *stored,
                      gboolean         has_requested,
                      gint64           requested_cents,
                      const gchar     *reason)
{
  g_return_val_if_fail (stored != NULL, FALSE);

  if (stored->has_requested != has_requested)
    return FALSE;
  if (has_requested && stored->requested_cents != requested_cents)
    return FALSE;
  if (stored->has_reason != (reason != NULL))
    return FALSE;
  return reason == NULL || g_strcmp0 (stored->reason, reason) == 0;
}

static gboolean
invalid_request (GError **error, const gchar *why)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_INVALID_REQUEST, "invalid request: %s", why);
  return FALSE;
}

gboolean
pay_refund_validate_shape (const PayRefundRequest *request, GError **error)
{
  const gchar *key = request->refund_request_id;
  const gchar *reason = request->reason;

  if (request->transaction_id == NULL || request->transaction_id[0] == '\0')
    return invalid_request (error, "transaction_id is required");
  if (key == NULL || key[0] == '\0')
    return invalid_request (error, "refund_request_id is required");
  if (!g_utf8_validate (key, -1, NULL) ||
      g_utf8_strlen (key, -1) > PAY_REFUND_REQUEST_ID_MAX_CHARS)
    return invalid_request (error, "refund_request_id must be 1 to 64 characters of UTF-8");
  if (reason != NULL &&
      (!g_utf8_validate (reason, -1, NULL) ||
       g_utf8_strlen (reason, -1) > PAY_REFUND_REASON_MAX_CHARS))
    return invalid_request (error, "reason must be at most 256 characters of UTF-8");
  return TRUE;
}
