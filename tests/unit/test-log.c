/* test-log.c: the log line's text helpers, the text format, the request line, and the
 * writer's buffering of the loop thread's info lines. */
#include <glib/gstdio.h>
#include <unistd.h>

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
  gchar *key_id;
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
                     : g_str_equal (fields[i].key, "KEY_ID") ? &caught->key_id
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
  g_clear_pointer (&caught->key_id, g_free);
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
  g_assert_null (caught->key_id);

  /* The API key that authenticated it: in the text and as a field. */
  caught_clear (caught);
  record.key_id = "shop";
  pay_request_log ("payment-http", G_LOG_LEVEL_INFO, &record);
  g_assert_cmpstr (caught->message, ==, "http POST /payment/charge -> 4005002 (HTTP 409) "
                   "order_id=-42 transaction_id=tx-1 key=shop in 1234.567 ms");
  g_assert_cmpstr (caught->key_id, ==, "shop");

  caught_clear (caught);
  record = (PayRequestRecord) { .transport = "rpc", .method = "Charge", .code = -1,
                                .duration_us = 5 };
  pay_request_log ("payment-rpc", G_LOG_LEVEL_INFO, &record);
  g_assert_cmpstr (caught->message, ==, "rpc Charge -> -1 in 0.005 ms");
  g_assert_null (caught->order_id);
  g_assert_null (caught->http_status);
  caught_clear (caught);
}

/* Whether the file at @path holds @first, and @second after it (NULL: anything). */
static gboolean
file_has (const gchar *path, const gchar *first, const gchar *second)
{
  g_autofree gchar *contents = NULL;
  const gchar *at;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  at = strstr (contents, first);
  if (at == NULL)
    return FALSE;
  return second == NULL || strstr (at + strlen (first), second) != NULL;
}

static gpointer
log_from_thread (gpointer data)
{
  g_info ("line from a worker thread");
  return NULL;
}

/* In a subprocess: the writer is installed once per process, and stderr is a file here. */
static void
test_buffered_writer (void)
{
  if (g_test_subprocess ())
    {
      PayLogSettings settings = { G_LOG_LEVEL_DEBUG, FALSE };
      PayLog log;
      g_autoptr(GMainContext) context = g_main_context_new ();
      g_autofree gchar *path = NULL;
      gint fd = g_file_open_tmp ("test-log-XXXXXX", &path, NULL);

      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (dup2 (fd, STDERR_FILENO), ==, STDERR_FILENO);
      pay_log_install (&log, &settings);

      g_info ("line before attach");   /* not buffered yet */
      g_assert_true (file_has (path, "line before attach", NULL));

      pay_log_attach (&log, context);
      g_info ("line outside the loop");   /* the context is not owned: written at once */
      g_assert_true (file_has (path, "line outside the loop", NULL));

      g_assert_true (g_main_context_acquire (context));
      g_info ("first buffered line");
      g_debug ("second buffered line");
      g_assert_false (file_has (path, "first buffered line", NULL));
      g_main_context_iteration (context, FALSE);   /* prepare writes what waits */
      g_assert_true (file_has (path, "first buffered line", "second buffered line"));

      /* A message (and anything more severe) goes out at once, after what waits. */
      g_info ("third buffered line");
      g_message ("a message");
      g_assert_true (file_has (path, "third buffered line", "a message"));

      /* So does a line from another thread. */
      g_info ("fourth buffered line");
      g_thread_join (g_thread_new ("worker", log_from_thread, NULL));
      g_assert_true (file_has (path, "fourth buffered line", "line from a worker thread"));

      /* Detaching writes what waits and stops buffering. */
      g_info ("fifth buffered line");
      pay_log_detach (&log);
      g_assert_true (file_has (path, "fifth buffered line", NULL));
      g_info ("line after detach");
      g_assert_true (file_has (path, "line after detach", NULL));

      g_main_context_release (context);
      g_unlink (path);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A transaction id is kept as given, cut to what the record holds; NULL is none. */
static void
test_record_transaction_id (void)
{
  PayRequestRecord record = { 0 };
  gchar longer[PAY_REQUEST_ID_BYTES + 10];

  memset (longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  pay_request_record_set_transaction_id (&record, longer);
  g_assert_cmpuint (strlen (record.transaction_id), ==, PAY_REQUEST_ID_BYTES - 1);
  g_assert_true (strncmp (record.transaction_id, longer, PAY_REQUEST_ID_BYTES - 1) == 0);
  pay_request_record_set_transaction_id (&record, "tx-2");
  g_assert_cmpstr (record.transaction_id, ==, "tx-2");
  pay_request_record_set_transaction_id (&record, NULL);
  g_assert_cmpstr (record.transaction_id, ==, "");
}

int
main (int argc, char **argv)
{
  static Caught caught;

  g_test_init (&argc, &argv, NULL);
  if (!g_test_subprocess ())
    g_log_set_writer_func (catch_writer, &caught, NULL);
  g_test_add_func ("/log/text/numbers", test_text_numbers);
  g_test_add_func ("/log/text/cut-off", test_text_cut_off);
  g_test_add_func ("/log/format/text", test_text_format);
  g_test_add_data_func ("/log/request-line", &caught, test_request_line);
  g_test_add_func ("/log/request-record/transaction-id", test_record_transaction_id);
  g_test_add_func ("/log/writer/buffered", test_buffered_writer);
  return g_test_run ();
}
