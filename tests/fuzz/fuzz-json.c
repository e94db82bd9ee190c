/* fuzz-json.c: libFuzzer target for the HTTP API's JSON request decoding: every input
 * goes through pay_json_decode_charge and pay_json_decode_refund, and a decoder's error
 * message through the error encoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http/pay-json-codec.h"

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  setenv ("G_SLICE", "always-malloc", 1);
  fuzz_abort_on_warnings ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* exactly @size bytes, not NUL-terminated: the decoder must not read past them */
  gchar *copy = malloc (size);   /* malloc (0) is a valid pointer, unlike g_malloc (0) */
  g_autoptr(GError) error = NULL;
  PayChargeBody *body;
  PayRefundBody *refund;

  memcpy (copy, data, size);
  body = pay_json_decode_charge (copy, size, &error);

  if (body == NULL)
    {
      gsize len;
      if (error == NULL)
        abort ();
      g_free (pay_json_encode_error (4004003, error->message, &len));
    }
  else if (error != NULL)
    abort ();
  pay_charge_body_free (body);
  g_clear_error (&error);

  /* the same bytes as a RefundReq */
  refund = pay_json_decode_refund (copy, size, &error);
  if ((refund == NULL) == (error == NULL))
    abort ();
  pay_refund_body_free (refund);
  free (copy);
  return 0;
}
