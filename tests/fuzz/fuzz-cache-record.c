/* fuzz-cache-record.c: libFuzzer target for the Redis cache's payment record: every
 * input goes through pay_payment_json_decode; a failure must set a "cached payment: "
 * error and leave the output alone, and a record that decodes must encode to one that
 * decodes to the same payment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pay-error.h"
#include "storage/pay-payment-json.h"

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

static gboolean
same_payment (const PayPayment *a, const PayPayment *b)
{
  return strcmp (a->transaction_id, b->transaction_id) == 0 &&
         a->order_id == b->order_id && a->user_id == b->user_id &&
         a->amount_cents == b->amount_cents && a->refunded_cents == b->refunded_cents &&
         a->status == b->status &&
         strcmp (a->payment_method, b->payment_method) == 0 &&
         strcmp (a->card_brand, b->card_brand) == 0 &&
         strcmp (a->card_last4, b->card_last4) == 0 &&
         a->created_at_ms == b->created_at_ms && a->updated_at_ms == b->updated_at_ms;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* exactly @size bytes, not NUL-terminated: the decoder must not read past them */
  gchar *copy = malloc (size);   /* malloc (0) is a valid pointer, unlike g_malloc (0) */
  g_autoptr(GError) error = NULL;
  PayPayment payment, untouched, again;

  memcpy (copy, data, size);
  memset (&payment, 0x5a, sizeof payment);
  untouched = payment;
  if (!pay_payment_json_decode (copy, size, &payment, &error))
    {
      if (error == NULL || !g_error_matches (error, PAY_ERROR, PAY_ERROR_CACHE_READ) ||
          !g_str_has_prefix (error->message, "cached payment: ") ||
          memcmp (&payment, &untouched, sizeof payment) != 0)
        abort ();
    }
  else
    {
      gsize len = 0;
      gchar *json;

      if (error != NULL)
        abort ();
      json = pay_payment_json_encode (&payment, &len);
      if (len != strlen (json) || len > PAY_PAYMENT_JSON_MAX_BYTES ||
          !pay_payment_json_decode (json, len, &again, NULL) || !same_payment (&payment, &again))
        abort ();
      g_free (json);
    }
  free (copy);
  return 0;
}
