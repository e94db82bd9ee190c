/* pay-refund.h: the refund rules as pure functions: how much a refund takes, the status it
 * leaves, and when a repeated refund_request_id is a replay. No storage here. */
#pragma once

#include <glib.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

/* What a refund will do to its payment. */
typedef struct {
  gint64    refund_cents;          /* this refund */
  gint64    total_refunded_cents;  /* the payment's refunded total after it */
  PayStatus status;                /* the payment's status after it */
} PayRefundPlan;

/* Plans a refund of @requested_cents (or, when !@has_requested, of all that is left) on a
 * payment of @amount_cents of which @refunded_cents are already refunded. Fails with
 * PAY_ERROR_REFUND_EXCEEDS when the payment is fully refunded or the request is larger
 * than the balance; *@plan is untouched then. */
gboolean pay_refund_plan (gint64          amount_cents,
                          gint64          refunded_cents,
                          gboolean        has_requested,
                          gint64          requested_cents,
                          PayRefundPlan  *plan,
                          GError        **error);

/* The status of a payment of @amount_cents with @refunded_cents refunded (the refund
 * rules' name for pay_status_for_refunded()). */
#define pay_refund_status_for pay_status_for_refunded

/* TRUE when a request naming the same refund_request_id as @stored asks for the same
 * thing: the same amount in cents, or no amount when @stored had none, and the same
 * reason (absent matches only absent). */
gboolean pay_refund_is_replay (const PayRefund *stored,
                               gboolean         has_requested,
                               gint64           requested_cents,
                               const gchar     *reason);

/* Checks a refund request's strings (docs/CONTRACT.md: refund_request_id 1-64 characters,
 * reason at most 256, both valid UTF-8; transaction_id present and not empty).
 * PAY_ERROR_INVALID_REQUEST naming the field otherwise. */
gboolean pay_refund_validate_shape (const PayRefundRequest *request, GError **error);

G_END_DECLS
