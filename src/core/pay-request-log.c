/* pay-request-log.c: one structured log line per request. */
#include "core/pay-request-log.h"

#include "core/pay-text.h"

void
pay_request_log (const gchar *domain, GLogLevelFlags level, const PayRequestRecord *record)
{
  gchar order[24], code[16], status[16], duration[32], message[320];
  GLogField fields[13];
  gsize n = 0;
  PayText text;
  gint64 duration_us;

  g_return_if_fail (record != NULL && record->transport != NULL && record->method != NULL);

  text = pay_text_init (code, sizeof code);
  pay_text_put_int (&text, record->code);
  /* Milliseconds with three decimals, from whole microseconds. */
  duration_us = MAX (record->duration_us, 0);
  text = pay_text_init (duration, sizeof duration);
  pay_text_put_uint (&text, (guint64) duration_us / 1000, 1);
  pay_text_put (&text, ".");
  pay_text_put_uint (&text, (guint64) duration_us % 1000, 3);
  text = pay_text_init (order, sizeof order);
  pay_text_put_int (&text, record->order_id);
  text = pay_text_init (status, sizeof status);
  pay_text_put_uint (&text, record->http_status, 1);

  /* The text format shows only MESSAGE, so it repeats the ids. */
  text = pay_text_init (message, sizeof message);
  pay_text_put (&text, record->transport);
  pay_text_put (&text, " ");
  pay_text_put (&text, record->method);
  pay_text_put (&text, " -> ");
  pay_text_put (&text, code);
  if (record->http_status != 0)
    {
      pay_text_put (&text, " (HTTP ");
      pay_text_put (&text, status);
      pay_text_put (&text, ")");
    }
  if (record->order_id != 0)
    {
      pay_text_put (&text, " order_id=");
      pay_text_put (&text, order);
    }
  if (record->transaction_id[0] != '\0')
    {
      pay_text_put (&text, " transaction_id=");
      pay_text_put (&text, record->transaction_id);
    }
  if (record->key_id != NULL)
    {
      pay_text_put (&text, " key=");
      pay_text_put (&text, record->key_id);
    }
  pay_text_put (&text, " in ");
  pay_text_put (&text, duration);
  pay_text_put (&text, " ms");

#define FIELD(k, v) fields[n++] = (GLogField) { (k), (v), -1 }
  FIELD ("GLIB_DOMAIN", domain);
  FIELD ("PRIORITY", level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL) ? "3"
                     : level & G_LOG_LEVEL_WARNING ? "4" : level & G_LOG_LEVEL_DEBUG ? "7" : "6");
  FIELD ("MESSAGE", message);
  FIELD ("METHOD", record->method);
  FIELD ("TRANSPORT", record->transport);
  FIELD ("CODE", code);
  FIELD ("DURATION_MS", duration);
  if (record->order_id != 0)
    FIELD ("ORDER_ID", order);
  if (record->transaction_id[0] != '\0')
    FIELD ("TRANSACTION_ID", record->transaction_id);
  if (record->http_status != 0)
    FIELD ("HTTP_STATUS", status);
  if (record->peer != NULL)
    FIELD ("PEER", record->peer);
  if (record->key_id != NULL)
    FIELD ("KEY_ID", record->key_id);
#undef FIELD
  g_log_structured_array (level, fields, n);
}

void
pay_request_record_set_transaction_id (PayRequestRecord *record, const gchar *transaction_id)
{
  gsize len;

  g_return_if_fail (record != NULL);

  /* What g_strlcpy() does, cut to fit, without its byte-at-a-time copy: this runs for
   * every request that names a payment. */
  len = transaction_id != NULL ? strnlen (transaction_id, sizeof record->transaction_id - 1) : 0;
  if (len > 0)
    memcpy (record->transaction_id, transaction_id, len);
  record->transaction_id[len] = '\0';
}
