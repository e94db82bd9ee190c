/* pay-cache-record.h: a PayPayment as the fields of the Redis HASH payment:tx:<id>, in one
 * fixed order: the store writes them with HSET, a lookup reads them back with HMGET and
 * checks every one. Values are plain text: integers in decimal, strings byte for byte. */
#pragma once

#include <glib.h>

#include "domain/pay-types.h"

G_BEGIN_DECLS

/* The fields, in this order (PaymentInfo's names where one exists, money in cents,
 * status as text, times in Unix milliseconds):
 *   transaction_id order_id user_id amount_cents refunded_cents status payment_method
 *   card_brand card_last4 created_at updated_at */
#define PAY_CACHE_RECORD_N_FIELDS 11

/* The field names in that order, for HMGET and HSET. */
extern const gchar *const pay_cache_record_fields[PAY_CACHE_RECORD_N_FIELDS];

/* The values of one record, pointing into @buf or into the payment encoded. */
typedef struct {
  const gchar *values[PAY_CACHE_RECORD_N_FIELDS];
  gsize        lens[PAY_CACHE_RECORD_N_FIELDS];
  gchar        buf[6 * 21];   /* the six integers' decimal text, NUL-terminated */
} PayCacheRecord;

/* Fills @record with @payment's values, in field order. @record points into @payment:
 * keep both alive while the values are used. */
void pay_cache_record_encode (const PayPayment *payment, PayCacheRecord *record);

/* Checks and converts the PAY_CACHE_RECORD_N_FIELDS values read back (@values[i] of
 * @lens[i] bytes, NUL-terminated after them as hiredis's replies are; NULL for a missing
 * field) into *@out. Fails with PAY_ERROR_CACHE_READ, leaving *@out untouched, when a
 * field is missing, an integer is not plain decimal within its range
 * (g_ascii_string_to_signed), a string is too long for its field, contains a NUL or is
 * not UTF-8, the status is unknown, or the values are ones no payment has (ids <= 0,
 * amount_cents <= 0, refunded_cents outside 0..amount_cents, a transaction id that is
 * not PAY_UUID_STRLEN bytes). */
gboolean pay_cache_record_decode (const gchar *const *values,
                                  const gsize        *lens,
                                  PayPayment         *out,
                                  GError            **error);

G_END_DECLS
