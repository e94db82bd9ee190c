/* test-log.c: the log line's text helpers, the text format and the request line. */
#include "core/pay-log.h"
#include "core/pay-request-log.h"
#include "core/pay-text.h"

static void
test_text_numbers (void)
{
  gchar buf[48];
  PayText text = pay_text_init (buf, sizeof buf);

  pay_text_put_uint (&text, 0, 1);
  pay_text_put (&text, " ");
  pay_text_put_uint (&text, 7, 3);
  pay_text_put (&text, " ");
  pay_text_put_uint (&text, 123456, 3);
  pay_text_put (&text, " ");
  pay_text_put_int (&text, G_MININT64);
  g_assert_cmpstr (buf, ==, "0 007 123456 -9223372036854775808");

  text = pay_text_init (buf, sizeof buf);
  pay_text_put_uint (&text, G_MAXUINT64, 1);
  g_assert_cmpstr (buf, ==, "18446744073709551615");
}

static void
test_text_cut_off (void)
{
  gchar buf[8];
  PayText text = pay_text_init (buf, sizeof buf);

  pay_text_put (&text, "abcde");
  pay_text_put_uint (&text, 12345, 1);
  g_assert_cmpstr (buf, ==, "abcde12");
  pay_text_put (&text, "more");
  g_assert_cmpstr (buf, ==, "abcde12");
}

static void
test_text_format (void)
{
  PayLogSettings settings = { G_LOG_LEVEL_DEBUG, FALSE };
  GLogField fields[] = {
    { "GLIB_DOMAIN", "payment-rpc", -1 },
    { "MESSAGE", "hello", -1 },
  };
  g_autofree gchar *line = pay_log_format (&settings, G_LOG_LEVEL_INFO, fields,
                                           G_N_ELEMENTS (fields));

  /* "2026-11-25T12:26:28.711400Z info     payment-rpc: hello" */
  g_assert_true (g_regex_match_simple ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                                       "[0-9]{2}\\.[0-9]{6}Z info     payment-rpc: hello$",
                                       line, 0, 0));
}

/* The request line, caught by a writer installed for this test binary. */
typedef struct {
  gchar *message;
  gchar *duration;
  gchar *order_id;
  gchar *http_status;
} Caught;

static GLogWriterOutput
catch_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  Caught *caught = user_data;

  for (gsize i = 0; i < n_fields; i++)
    {
      gchar **slot = g_str_equal (fields[i].key, "MESSAGE") ? &caught->message
                     : g_str_equal (fields[i].key, "DURATION_MS") ? &caught->duration
                     : g_str_equal (fields[i].key, "ORDER_ID") ? &caught->order_id
                     : g_str_equal (fields[i].key, "HTTP_STATUS") ? &caught->http_status
                     : NULL;
      if (slot != NULL)
        {
          g_free (*slot);
          *slot = g_strdup (fields[i].value);
        }
    }
  return G_LOG_WRITER_HANDLED;
}

static void
caught_clear (Caught *caught)
{
  g_clear_pointer (&caught->message, g_free);
  g_clear_pointer (&caught->duration, g_free);
  g_clear_pointer (&caught->order_id, g_free);
  g_clear_pointer (&caught->http_status, g_free);
}

static void
test_request_line (gconstpointer data)
{
  Caught *caught = (Caught *) data;
  PayRequestRecord record = {
    .transport = "http",
    .method = "POST /payment/charge",
    .order_id = -42,
    .code = 4005002,
    .http_status = 409,
    .duration_us = 1234567,
  };

  caught_clear (caught);
  pay_request_record_set_transaction_id (&record, "tx-1");
  pay_request_log ("payment-http", G_LOG_LEVEL_INFO, &record);
  g_assert_cmpstr (caught->message, ==, "http POST /payment/charge -> 4005002 (HTTP 409) "
                   "order_id=-42 transaction_id=tx-1 in 1234.567 ms");
  g_assert_cmpstr (caught->duration, ==, "1234.567");
  g_assert_cmpstr (caught->order_id, ==, "-42");
  g_assert_cmpstr (caught->http_status, ==, "409");

  caught_clear (caught);
  record = (PayRequestRecord) { .transport = "rpc", .method = "Charge", .code = -1,
                                .duration_us = 5 };
  pay_request_log ("payment-rpc", G_LOG_LEVEL_INFO, &record);
  g_assert_cmpstr (caught->message, ==, "rpc Charge -> -1 in 0.005 ms");
  g_assert_null (caught->order_id);
  g_assert_null (caught->http_status);
  caught_clear (caught);
}

int
main (int argc, char **argv)
{
  static Caught caught;

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (catch_writer, &caught, NULL);
  g_test_add_func ("/log/text/numbers", test_text_numbers);
  g_test_add_func ("/log/text/cut-off", test_text_cut_off);
  g_test_add_func ("/log/format/text", test_text_format);
  g_test_add_data_func ("/log/request-line", &caught, test_request_line);
  return g_test_run ();
}
