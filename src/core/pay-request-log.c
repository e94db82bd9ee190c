/* pay-request-log.c: one structured log line per request. */
#include "core/pay-request-log.h"

void
pay_request_log (const gchar *domain, GLogLevelFlags level, const PayRequestRecord *record)
{
  gchar order[G_ASCII_DTOSTR_BUF_SIZE], code[16], status[16], duration[32];
  g_autofree gchar *message = NULL;
  GLogField fields[12];
  gsize n = 0;

  g_return_if_fail (record != NULL && record->transport != NULL && record->method != NULL);

  g_snprintf (code, sizeof code, "%d", record->code);
  g_snprintf (duration, sizeof duration, "%.3f", record->duration_us / 1000.0);
  {
    /* The text format shows only MESSAGE, so it repeats the ids. */
    GString *text = g_string_new (NULL);

    g_string_append_printf (text, "%s %s -> %s", record->transport, record->method, code);
    if (record->http_status != 0)
      g_string_append_printf (text, " (HTTP %u)", record->http_status);
    if (record->order_id != 0)
      g_string_append_printf (text, " order_id=%" G_GINT64_FORMAT, record->order_id);
    if (record->transaction_id[0] != '\0')
      g_string_append_printf (text, " transaction_id=%s", record->transaction_id);
    g_string_append_printf (text, " in %s ms", duration);
    message = g_string_free (text, FALSE);
  }

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
    {
      g_snprintf (order, sizeof order, "%" G_GINT64_FORMAT, record->order_id);
      FIELD ("ORDER_ID", order);
    }
  if (record->transaction_id[0] != '\0')
    FIELD ("TRANSACTION_ID", record->transaction_id);
  if (record->http_status != 0)
    {
      g_snprintf (status, sizeof status, "%u", record->http_status);
      FIELD ("HTTP_STATUS", status);
    }
  if (record->peer != NULL)
    FIELD ("PEER", record->peer);
#undef FIELD
  g_log_structured_array (level, fields, n);
}

void
pay_request_record_set_transaction_id (PayRequestRecord *record, const gchar *transaction_id)
{
  g_return_if_fail (record != NULL);

  g_strlcpy (record->transaction_id, transaction_id != NULL ? transaction_id : "",
             sizeof record->transaction_id);
}
