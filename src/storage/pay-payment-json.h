/* pay-payment-json.h: the JSON form of a PayPayment kept in the Redis cache: one encoder
 * and its decoder, so what is written is exactly what is read back. */
#pragma once

#include <glib.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

/* Largest cached record the decoder accepts; real ones are about 350 bytes. */
#define PAY_PAYMENT_JSON_MAX_BYTES 4096

/* Field names: PaymentInfo's where one exists, amounts as integer cents.
 *   {"transaction_id": "...", "order_id": 1, "user_id": 2, "amount_cents": 1999,
 *    "refunded_cents": 0, "status": "PAID", "payment_method": "credit_card",
 *    "card_brand": "visa", "card_last4": "4242", "created_at": 1700000000000,
 *    "updated_at": 1700000000000}
 * created_at / updated_at are Unix time in milliseconds, as in PaymentInfo. */

/* @payment as compact JSON, NUL-terminated; its length (without the NUL) in *@length
 * when not NULL. Free with g_free(). */
gchar *pay_payment_json_encode (const PayPayment *payment, gsize *length);

/* Parses what pay_payment_json_encode() wrote (@length bytes of @json; no NUL needed)
 * into *@out, allocating nothing unless it fails. The record must be one strict RFC 8259
 * object (valid UTF-8, nothing but whitespace after it). Unknown members are skipped
 * whatever their value (nested up to 32 levels); a missing or repeated member, a wrong
 * type (integers: no fraction or exponent, within gint64), a string too long for its
 * field, an unknown status or values no payment can have (amount_cents <= 0,
 * refunded_cents outside 0..amount_cents, ids <= 0) fail with PAY_ERROR_CACHE_READ, and
 * *@out is then left untouched. */
gboolean pay_payment_json_decode (const gchar *json,
                                  gsize        length,
                                  PayPayment  *out,
                                  GError     **error);

G_END_DECLS
