/* pay-error.h: the service's one GError domain, whose codes are the contract's error codes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_ERROR (pay_error_quark ())
GQuark pay_error_quark (void);

/* Append-only. Each value is the code clients see (docs/CONTRACT.md section 3), so a GError in
 * this domain maps to a PaymentError / JSON error without a translation table. */
typedef enum {
  PAY_ERROR_INVALID_CARD          = 4004001,
  PAY_ERROR_INVALID_AMOUNT        = 4004002,
  PAY_ERROR_INVALID_REQUEST       = 4004003,
  PAY_ERROR_NOT_FOUND             = 4004004,
  PAY_ERROR_REFUND_EXCEEDS        = 4004005,
  PAY_ERROR_REFUND_CONFLICT       = 4004006,
  PAY_ERROR_NO_SUCH_ENDPOINT      = 4004007,
  PAY_ERROR_METHOD_NOT_ALLOWED    = 4004008,
  PAY_ERROR_BODY_TOO_LARGE        = 4004009,
  PAY_ERROR_ID_GENERATION         = 4005001,
  PAY_ERROR_ORDER_ALREADY_PAID    = 4005002,
  PAY_ERROR_CACHE_READ            = 4005003,
  PAY_ERROR_CACHE_WRITE           = 4005004,
  PAY_ERROR_STORAGE_UNAVAILABLE   = 4005005,
} PayErrorCode;

/* Turns any GError into a contract code: PAY_ERROR codes pass through, anything else is
 * an internal failure reported as storage unavailable (4005005). */
gint32 pay_error_code (const GError *error);

G_END_DECLS
