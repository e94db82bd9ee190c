/* fake-payment-store.h: an in-memory PayPaymentStore for the service's unit tests. It
 * keeps payments and refunds in arrays, applies PayPaymentStore's contract itself (not
 * through the domain's rules), answers on the next main loop iteration, writes each call
 * to a journal, and fails every call of a kind with a chosen PAY_ERROR code. */
#pragma once

#include "domain/pay-payment-store.h"

G_BEGIN_DECLS

#define FAKE_TYPE_PAYMENT_STORE (fake_payment_store_get_type ())
G_DECLARE_FINAL_TYPE (FakePaymentStore, fake_payment_store, FAKE, PAYMENT_STORE, GObject)

struct _FakePaymentStore
{
  GObject   parent_instance;

  GString  *journal;        /* borrowed, may be NULL: "store.<call> " per call */
  GArray   *payments;       /* of PayPayment */
  GArray   *refunds;        /* of PayRefund */

  /* Faults: a PAY_ERROR code every call of that kind fails with; 0: none. */
  gint      fail_charge;
  gint      fail_query;
  gint      fail_refund;
  gint      fail_probe;

  PayRefund last_draft;     /* the draft of the last refund call */
  gchar     last_event_id[PAY_UUID_STRLEN + 1];
};

FakePaymentStore *fake_payment_store_new (GString *journal);

/* Fails every call with PAY_ERROR @code (0: none). */
void fake_payment_store_fail_all (FakePaymentStore *self, gint code);

/* The stored payment with @transaction_id, or NULL. */
PayPayment *fake_payment_store_find (FakePaymentStore *self, const gchar *transaction_id);

G_END_DECLS
