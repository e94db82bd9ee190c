/* pay-error.h: the service's one GError domain, whose codes are the contract's error
 * codes, and the one table of them (docs/CONTRACT.md section 3). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_ERROR (pay_error_quark ())
GQuark pay_error_quark (void);

/* The error table, expanded where a list of codes is needed (as libuv's UV_ERRNO_MAP):
 *   X (NAME, code, HTTP status, message a client may see)
 * The message is what a client gets when the error's own text must not reach it (an
 * error from outside PAY_ERROR: driver or system text); a PAY_ERROR error's own message
 * is written by the service for clients. The metrics label is the code in decimal.
 * Append-only: each code is what clients see. */
#define PAY_ERROR_MAP(X) \
  X (INVALID_CARD,          4004001, 400, "invalid credit card") \
  X (INVALID_AMOUNT,        4004002, 400, "invalid amount") \
  X (INVALID_REQUEST,       4004003, 400, "invalid request") \
  X (NOT_FOUND,             4004004, 404, "payment not found") \
  X (REFUND_EXCEEDS,        4004005, 409, "refund exceeds the refundable balance") \
  X (REFUND_CONFLICT,       4004006, 409, "refund_request_id reused with different parameters") \
  X (NO_SUCH_ENDPOINT,      4004007, 404, "no such endpoint") \
  X (METHOD_NOT_ALLOWED,    4004008, 405, "method not allowed") \
  X (BODY_TOO_LARGE,        4004009, 413, "request body too large") \
  X (UNSUPPORTED_MEDIA_TYPE, 4004010, 415, "request body must be application/json") \
  X (UNAUTHENTICATED,       4004011, 401, "missing or invalid API key") \
  X (FORBIDDEN,             4004012, 403, "the API key lacks the scope of this route") \
  X (RATE_LIMITED,          4004013, 429, "rate limit exceeded") \
  X (ID_GENERATION,         4005001, 500, "transaction id generation failed") \
  X (ORDER_ALREADY_PAID,    4005002, 409, "order already paid") \
  X (CACHE_READ,            4005003, 503, "payment cache read failed") \
  X (CACHE_WRITE,           4005004, 503, "payment cache write failed") \
  X (STORAGE_UNAVAILABLE,   4005005, 503, "storage unavailable")

typedef enum {
#define PAY_ERROR_ENUM(name, code, status, message) PAY_ERROR_##name = code,
  PAY_ERROR_MAP (PAY_ERROR_ENUM)
#undef PAY_ERROR_ENUM
} PayErrorCode;

/* Turns any GError into a contract code: PAY_ERROR codes pass through, anything else is
 * an internal failure reported as storage unavailable (4005005). */
gint32 pay_error_code (const GError *error);

/* The HTTP status of contract code @code; 500 for a code the table does not know (a
 * code without a row is an internal error, not a 200). */
guint pay_error_http_status (gint32 code);

/* Describes @error as both transports show it to a client: returns its contract code
 * (pay_error_code()) and stores in *@message the error's own text for PAY_ERROR errors,
 * the table's text for any other domain, so that driver and system messages (host
 * names, SQL) never reach a client. *@message is borrowed from @error or static. */
gint32 pay_error_describe (const GError *error, const gchar **message);

G_END_DECLS
