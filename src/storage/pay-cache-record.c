/* pay-cache-record.c: a PayPayment as the fields of its Redis HASH and back. Redis keeps
 * each value as the bytes written, so there is nothing to escape: integers are decimal
 * text (parsed back with g_ascii_string_to_signed), strings are copied as they are. The
 * cache is outside the service's control, so every value read is checked. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache-record.h"

#include <string.h>

#include "core/pay-error.h"
#include "core/pay-text.h"

typedef enum {
  F_TRANSACTION_ID, F_ORDER_ID, F_USER_ID, F_AMOUNT_CENTS, F_REFUNDED_CENTS, F_STATUS,
  F_PAYMENT_METHOD, F_CARD_BRAND, F_CARD_LAST4, F_CREATED_AT, F_UPDATED_AT, N_FIELDS
} Field;

G_STATIC_ASSERT (N_FIELDS == PAY_CACHE_RECORD_N_FIELDS);

const gchar *const pay_cache_record_fields[PAY_CACHE_RECORD_N_FIELDS] = {
  "transaction_id", "order_id", "user_id", "amount_cents", "refunded_cents", "status",
  "payment_method", "card_brand", "card_last4", "created_at", "updated_at",
};

/* Where each field lives in a PayPayment: a string member (its size, NUL included), an
 * integer member (the smallest value allowed), or the status. */
typedef enum { KIND_STRING, KIND_INT, KIND_STATUS } Kind;

static const struct {
  Kind   kind;
  gsize  offset;
  gsize  size;   /* strings */
  gint64 min;    /* integers */
} layout[N_FIELDS] = {
#define STR(member) { KIND_STRING, G_STRUCT_OFFSET (PayPayment, member), \
                      sizeof ((PayPayment *) 0)->member, 0 }
#define INT(member, min) { KIND_INT, G_STRUCT_OFFSET (PayPayment, member), 0, min }
  [F_TRANSACTION_ID] = STR (transaction_id),
  [F_ORDER_ID]       = INT (order_id, 1),
  [F_USER_ID]        = INT (user_id, 1),
  [F_AMOUNT_CENTS]   = INT (amount_cents, 1),
  [F_REFUNDED_CENTS] = INT (refunded_cents, 0),
  [F_STATUS]         = { KIND_STATUS, 0, 0, 0 },
  [F_PAYMENT_METHOD] = STR (payment_method),
  [F_CARD_BRAND]     = STR (card_brand),
  [F_CARD_LAST4]     = STR (card_last4),
  [F_CREATED_AT]     = INT (created_at_ms, G_MININT64),
  [F_UPDATED_AT]     = INT (updated_at_ms, G_MININT64),
#undef STR
#undef INT
};

void
pay_cache_record_encode (const PayPayment *payment, PayCacheRecord *record)
{
  gchar *p = record->buf;

  for (Field f = 0; f < N_FIELDS; f++)
    {
      const gchar *value;

      switch (layout[f].kind)
        {
        case KIND_STRING:
          value = G_STRUCT_MEMBER_P (payment, layout[f].offset);
          break;
        case KIND_STATUS:
          value = pay_status_to_string (payment->status);
          if (value == NULL)
            value = "";  /* no such payment; the record then reads back as a miss */
          break;
        case KIND_INT:
        default:
          {
            PayText text = pay_text_init (p, (gsize) (record->buf + sizeof record->buf - p));

            pay_text_put_int (&text, G_STRUCT_MEMBER (gint64, payment, layout[f].offset));
            value = p;
            p = text.pos + 1;
          }
          break;
        }
      record->values[f] = value;
      record->lens[f] = strlen (value);
    }
}

static gboolean
bad_field (GError **error, Field field, const gchar *why)
{
  g_set_error (error, PAY_ERROR, PAY_ERROR_CACHE_READ, "cached payment: field \"%s\" %s",
               pay_cache_record_fields[field], why);
  return FALSE;
}

gboolean
pay_cache_record_decode (const gchar *const *values,
                         const gsize        *lens,
                         PayPayment         *out,
                         GError            **error)
{
  PayPayment payment = { 0 };

  g_return_val_if_fail (values != NULL && lens != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (Field f = 0; f < N_FIELDS; f++)
    {
      const gchar *value = values[f];
      gsize len = lens[f];

      if (value == NULL)
        return bad_field (error, f, "is missing");
      /* Every value must be a C string of exactly its length. */
      if (memchr (value, '\0', len) != NULL || value[len] != '\0')
        return bad_field (error, f, "contains a NUL byte");
      switch (layout[f].kind)
        {
        case KIND_STRING:
          if (len >= layout[f].size)
            return bad_field (error, f, "is too long");
          if (!g_utf8_validate_len (value, len, NULL))
            return bad_field (error, f, "is not UTF-8");
          memcpy (G_STRUCT_MEMBER_P (&payment, layout[f].offset), value, len + 1);
          break;
        case KIND_STATUS:
          if (!pay_status_from_string (value, &payment.status))
            return bad_field (error, f, "names no status");
          break;
        case KIND_INT:
        default:
          if (!g_ascii_string_to_signed (value, 10, layout[f].min, G_MAXINT64,
                                         G_STRUCT_MEMBER_P (&payment, layout[f].offset), NULL))
            return bad_field (error, f, "is not an integer in range");
          break;
        }
    }

  if (strlen (payment.transaction_id) != PAY_UUID_STRLEN)
    return bad_field (error, F_TRANSACTION_ID, "is not a transaction id");
  if (payment.refunded_cents > payment.amount_cents)
    return bad_field (error, F_REFUNDED_CENTS, "is more than amount_cents");

  *out = payment;
  return TRUE;
}
