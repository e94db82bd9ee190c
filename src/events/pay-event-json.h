/* pay-event-json.h: a payment_events row as the relay reads it, and its NATS message: the
 * subject and the JSON body documented in docs/events.md. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_EVENT_SUBJECT_CHARGED   "payment.charged"
#define PAY_EVENT_SUBJECT_REFUNDED  "payment.refunded"
/* The stream's subjects: every payment event. */
#define PAY_EVENT_SUBJECTS          "payment.>"
#define PAY_EVENT_CONTENT_TYPE      "application/json"

/* One payment_events row. Strings are owned by the row. */
typedef struct {
  gint64  id;               /* payment_events.id: the outbox order, not the commit order */
  gchar  *event_id;         /* UUID v4, lower case */
  gchar  *event_type;       /* "charge" or "refund" */
  gchar  *transaction_id;
  gint64  order_id;
  gchar  *refund_id;        /* NULL for charge events */
  gint64  amount_cents;
  gint    status;           /* PayStatus after the event */
  gint64  created_at_ms;
  gchar  *caller;           /* NULL: unknown (charges) */
} PayEventRow;

void pay_event_row_free (PayEventRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayEventRow, pay_event_row_free)

/* The subject of @row's event_type, or NULL for a type the relay does not know. */
const gchar *pay_event_subject (const PayEventRow *row);

/* The message body of @row: one JSON object (docs/events.md), the amount written exactly.
 * Never a card field: the row holds none. NULL when the row's type or status is not one
 * the message can say (then the relay logs the row and stops at it). Returns bytes the
 * caller owns. */
GBytes *pay_event_json_encode (const PayEventRow *row);

/* @ms (Unix time, >= 0) as RFC 3339 UTC with milliseconds ("2026-12-03T14:18:19.123Z"),
 * newly allocated; NULL when out of range. */
gchar *pay_event_format_time (gint64 ms);

G_END_DECLS
