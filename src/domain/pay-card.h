/* pay-card.h: credit card validation (docs/CONTRACT.md section 3, "Cards"). Pure functions. */
#pragma once

#include <glib.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_CARD_MIN_DIGITS 12
#define PAY_CARD_MAX_DIGITS 19
#define PAY_CARD_MAX_YEARS_AHEAD 20

/* What may be kept of a card: its brand and last four digits. */
typedef struct {
  const gchar *brand;   /* static string: "visa", "mastercard", "amex", "discover", "jcb",
                         * "unionpay", "diners" */
  gchar        last4[5];
} PayCardSummary;

/* Validates a card as of @now (UTC). @number may hold spaces and dashes between digits.
 * On success fills @out and returns TRUE. On failure sets PAY_ERROR_INVALID_CARD with a
 * message that never contains the number or the CVV, and returns FALSE. */
gboolean pay_card_validate (const gchar    *number,
                            gint32          cvv,
                            gint32          exp_year,
                            gint32          exp_month,
                            GDateTime      *now,
                            PayCardSummary *out,
                            GError        **error);

/* TRUE when the digit string passes the Luhn check. @digits holds only '0'..'9'. */
gboolean pay_card_luhn_ok (const gchar *digits, gsize len);

G_END_DECLS
