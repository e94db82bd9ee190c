/* pay-event-json.c: the subject and JSON body of a payment event (docs/events.md). */
#define G_LOG_DOMAIN "payment-events"

#include "events/pay-event-json.h"

#include "core/pay-json-writer.h"
#include "domain/pay-money.h"
#include "domain/pay-types.h"
#include "storage/pay-schema.h"

void
pay_event_row_free (PayEventRow *row)
{
  if (row == NULL)
    return;
  g_free (row->event_id);
  g_free (row->event_type);
  g_free (row->transaction_id);
  g_free (row->refund_id);
  g_free (row->caller);
  g_free (row);
}

const gchar *
pay_event_subject (const PayEventRow *row)
{
  g_return_val_if_fail (row != NULL, NULL);

  if (g_strcmp0 (row->event_type, PAY_SCHEMA_EVENT_CHARGE) == 0)
    return PAY_EVENT_SUBJECT_CHARGED;
  if (g_strcmp0 (row->event_type, PAY_SCHEMA_EVENT_REFUND) == 0)
    return PAY_EVENT_SUBJECT_REFUNDED;
  return NULL;
}

gchar *
pay_event_format_time (gint64 ms)
{
  g_autoptr(GDateTime) time = NULL;

  if (ms < 0)
    return NULL;
  time = g_date_time_new_from_unix_utc (ms / 1000);
  if (time == NULL)
    return NULL;
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                          g_date_time_get_year (time), g_date_time_get_month (time),
                          g_date_time_get_day_of_month (time), g_date_time_get_hour (time),
                          g_date_time_get_minute (time), g_date_time_get_second (time),
                          (gint) (ms % 1000));
}

GBytes *
pay_event_json_encode (const PayEventRow *row)
{
  const gchar *subject = pay_event_subject (row);
  const gchar *status;
  g_autofree gchar *occurred_at = NULL;
  gchar amount[PAY_MONEY_FORMAT_BYTES];
  gsize amount_length, length;
  PayJsonWriter writer;
  gchar *text;

  g_return_val_if_fail (row != NULL, NULL);

  status = pay_status_to_string ((PayStatus) row->status);
  occurred_at = pay_event_format_time (row->created_at_ms);
  if (subject == NULL || status == NULL || occurred_at == NULL || row->amount_cents < 0 ||
      row->event_id == NULL || row->transaction_id == NULL)
    return NULL;
  amount_length = pay_money_format_major (row->amount_cents, amount);

  pay_json_writer_begin (&writer);
  pay_json_writer_add_string (&writer, "event_id", row->event_id);
  pay_json_writer_add_string (&writer, "type", subject);
  pay_json_writer_add_int (&writer, "outbox_id", row->id);
  pay_json_writer_add_string (&writer, "transaction_id", row->transaction_id);
  pay_json_writer_add_int (&writer, "order_id", row->order_id);
  if (row->refund_id != NULL)
    pay_json_writer_add_string (&writer, "refund_id", row->refund_id);
  pay_json_writer_add_literal (&writer, "amount", amount, amount_length);
  pay_json_writer_add_int (&writer, "amount_cents", row->amount_cents);
  pay_json_writer_add_string (&writer, "status", status);
  pay_json_writer_add_string (&writer, "occurred_at", occurred_at);
  pay_json_writer_add_int (&writer, "occurred_at_ms", row->created_at_ms);
  if (row->caller != NULL)
    pay_json_writer_add_string (&writer, "caller", row->caller);
  else
    pay_json_writer_add_null (&writer, "caller");
  text = pay_json_writer_end (&writer, &length);
  return g_bytes_new_take (text, length);
}
