/* pay-json-codec.h: the JSON bodies of the HTTP API (docs/CONTRACT.md section 4), decoded and
 * encoded with json-glib; the only place that knows the JSON shape of each message. */
#pragma once

#include <glib.h>

#include "domain/pay-types.h"
#include "transport/http/pay-json-strict.h"

G_BEGIN_DECLS

/* A decoded ChargeReq. @request is the view handed to the service; its strings point
 * into this struct, so it is valid as long as the body is. */
typedef struct {
  PayChargeRequest request;
  gchar           *card_number;     /* owned; wiped before it is freed */
  gchar           *payment_method;  /* owned; NULL when absent */
} PayChargeBody;

/* Decodes a ChargeReq from @data (@length bytes, need not be NUL-terminated).
 *
 * Rules (each failure is PAY_ERROR_INVALID_REQUEST with a message naming the field):
 * - the body is one JSON object under pay_json_strict_parse()'s grammar (RFC 8259
 *   exactly; no duplicate member names, no NUL in a string, nesting at most
 *   PAY_JSON_MAX_DEPTH);
 * - `amount` is a JSON number (integers are fine); NaN/inf/precision are the service's
 *   business (4004002), so a huge exponent decodes to inf and is rejected there;
 * - `order_id` and `user_id` are JSON integers or strings of ASCII digits, within int64;
 * - `credit_card_cvv`, `credit_card_expiration_year` and `_month` are JSON integers
 *   within int32;
 * - an integer field also accepts a JSON number with a zero fraction (`1.0`, `1e3`), as
 *   some clients print every number as a double, provided its decimal value is exactly
 *   an integer within ±2^53 (`9007199254740993.0` is out of range, not rounded);
 *   `1.5` and `1.0000000000000001` are a wrong type;
 * - any integer literal outside int64 is refused wherever it appears;
 * - a member that is `null` counts as absent; unknown members are ignored;
 * - `credit_card` absent (or null) gives has_card FALSE: the service rejects that, so the
 *   order of checks stays the service's. When present, all four card fields are required.
 *
 * Returns: (transfer full): the body, or NULL with @error set. */
PayChargeBody *pay_json_decode_charge (const gchar *data,
                                       gsize        length,
                                       GError     **error);

/* Frees @body, wiping the card number first. NULL is allowed. */
void pay_charge_body_free (PayChargeBody *body);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayChargeBody, pay_charge_body_free)

/* A decoded RefundReq; @request's strings point into this struct. */
typedef struct {
  PayRefundRequest request;
  gchar           *transaction_id;
  gchar           *refund_request_id;
  gchar           *reason;            /* NULL when absent */
} PayRefundBody;

/* Decodes a RefundReq, with the rules of pay_json_decode_charge(): `transaction_id` and
 * `refund_request_id` are required JSON strings, `amount` an optional JSON number (absent
 * or null: refund the rest), `reason` an optional JSON string. Lengths and amounts are the
 * service's business. Returns: (transfer full): the body, or NULL with @error set
 * (PAY_ERROR_INVALID_REQUEST). */
PayRefundBody *pay_json_decode_refund (const gchar *data,
                                       gsize        length,
                                       GError     **error);

void pay_refund_body_free (PayRefundBody *body);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayRefundBody, pay_refund_body_free)

/* Encoders. Each returns a newly allocated UTF-8 JSON text (free with g_free) and stores
 * its length in @length (not counting the NUL it also ends with). */

/* {"transaction_id": "..."}: the ChargeResp. */
gchar *pay_json_encode_charge_response (const gchar *transaction_id,
                                        gsize       *length);

/* PaymentInfo: IDL field names, amounts as JSON numbers in major units, status as text
 * ("PAID", "PARTIALLY_REFUNDED", "REFUNDED"), times in Unix milliseconds. */
gchar *pay_json_encode_payment_info (const PayPayment *payment,
                                     gsize            *length);

/* RefundResp: refund_id, transaction_id, amount, total_refunded, status (as text). */
gchar *pay_json_encode_refund_response (const PayRefund *refund,
                                        gsize           *length);

/* {"code": N, "message": "..."}: the error object of every failed request. */
gchar *pay_json_encode_error (gint32       code,
                              const gchar *message,
                              gsize       *length);

/* {"status": ..., "mysql": "up"|"down", "redis": "up"|"down", "consul": @consul,
 * "events": @events}: the /health answer; @consul is "registered", "unregistered" or
 * "disabled" (NULL), @events "up", "down" or "disabled" (NULL). The event relay's state
 * never changes the status: NATS down does not stop payments. */
gchar *pay_json_encode_health (const gchar *status,
                               gboolean     mysql_up,
                               gboolean     redis_up,
                               const gchar *consul,
                               const gchar *events,
                               gsize       *length);

G_END_DECLS
