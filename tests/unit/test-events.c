/* test-events.c: the event relay's pure parts: the message (subject, exact amounts,
 * optional members, no card data), the gap decision over ids read from payment_events,
 * and the window of events in flight (bounded, one per transaction, cursor over acked
 * events only). */
#include <json-glib/json-glib.h>
#include <string.h>

#include "events/pay-event-json.h"
#include "events/pay-event-window.h"

#define SECOND G_TIME_SPAN_SECOND

/* ---- the message --------------------------------------------------------------------- */

static PayEventRow *
make_row (gint64 id, const gchar *type, const gchar *tx, gint64 cents, gint status)
{
  PayEventRow *row = g_new0 (PayEventRow, 1);

  row->id = id;
  row->event_id = g_strdup_printf ("8c1f0b9e-4f4b-4d2a-9a53-%012" G_GINT64_MODIFIER "x", id);
  row->event_type = g_strdup (type);
  row->transaction_id = g_strdup (tx);
  row->order_id = 42;
  row->amount_cents = cents;
  row->status = status;
  row->created_at_ms = G_GINT64_CONSTANT (1796306299123);
  return row;
}

static gchar *
encode_text (const PayEventRow *row)
{
  g_autoptr(GBytes) body = pay_event_json_encode (row);
  gsize length;
  const gchar *data;

  g_assert_nonnull (body);
  data = g_bytes_get_data (body, &length);
  return g_strndup (data, length);
}

static JsonObject *
parse (JsonParser *parser, const gchar *text)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* A charge: every member of docs/events.md but refund_id, the amount as its shortest
 * exact decimal (never 19.989999999999998), caller null. */
static void
test_json_charge (void)
{
  g_autoptr(PayEventRow) row = make_row (1234, "charge", "tx-1", 1999, 1);
  g_autofree gchar *text = encode_text (row);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o = parse (parser, text);

  g_assert_cmpstr (pay_event_subject (row), ==, "payment.charged");
  g_assert_nonnull (strstr (text, "\"amount\":19.99,"));
  g_assert_cmpstr (json_object_get_string_member (o, "event_id"), ==, row->event_id);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "payment.charged");
  g_assert_cmpint (json_object_get_int_member (o, "outbox_id"), ==, 1234);
  g_assert_cmpstr (json_object_get_string_member (o, "transaction_id"), ==, "tx-1");
  g_assert_cmpint (json_object_get_int_member (o, "order_id"), ==, 42);
  g_assert_false (json_object_has_member (o, "refund_id"));
  g_assert_cmpint (json_object_get_int_member (o, "amount_cents"), ==, 1999);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "PAID");
  g_assert_cmpstr (json_object_get_string_member (o, "occurred_at"), ==, "2026-12-03T13:58:19.123Z");
  g_assert_cmpint (json_object_get_int_member (o, "occurred_at_ms"), ==, G_GINT64_CONSTANT (1796306299123));
  g_assert_true (json_object_has_member (o, "caller"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (o, "caller")));
  g_assert_cmpuint (json_object_get_size (o), ==, 11);
}

/* A refund names its refund and its caller; amounts of every shape are exact. */
static void
test_json_refund (void)
{
  static const struct { gint64 cents; const gchar *literal; } amounts[] = {
    { 1, "0.01" }, { 10, "0.1" }, { 510, "5.1" }, { 500, "5" }, { 1999, "19.99" },
    { G_GINT64_CONSTANT (100000000000000000), "1000000000000000" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (amounts); i++)
    {
      g_autoptr(PayEventRow) row = make_row (7, "refund", "tx-2", amounts[i].cents, 2);
      g_autofree gchar *text = NULL;
      g_autofree gchar *expected = g_strdup_printf ("\"amount\":%s,", amounts[i].literal);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;

      row->refund_id = g_strdup ("rf-1");
      row->caller = g_strdup ("key:ops");
      text = encode_text (row);
      o = parse (parser, text);
      g_assert_cmpstr (pay_event_subject (row), ==, "payment.refunded");
      g_assert_nonnull (strstr (text, expected));
      g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "payment.refunded");
      g_assert_cmpstr (json_object_get_string_member (o, "refund_id"), ==, "rf-1");
      g_assert_cmpstr (json_object_get_string_member (o, "caller"), ==, "key:ops");
      g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "PARTIALLY_REFUNDED");
      g_assert_cmpint (json_object_get_int_member (o, "amount_cents"), ==, amounts[i].cents);
      g_assert_cmpuint (json_object_get_size (o), ==, 12);
    }
}

/* Strings are escaped as JSON; nothing of a card appears (the row holds none). */
static void
test_json_no_card_fields (void)
{
  g_autoptr(PayEventRow) row = make_row (3, "refund", "tx-\"3\"", 100, 3);
  g_autofree gchar *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  static const gchar *const forbidden[] = { "card", "last4", "brand", "cvv", "expir",
                                            "number", "payment_method" };

  row->caller = g_strdup ("http:10.0.0.7");
  text = encode_text (row);
  o = parse (parser, text);
  g_assert_cmpstr (json_object_get_string_member (o, "transaction_id"), ==, "tx-\"3\"");
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "REFUNDED");
  for (gsize i = 0; i < G_N_ELEMENTS (forbidden); i++)
    g_assert_null (strstr (text, forbidden[i]));
}

/* A type or status the message cannot say gives no body (the relay stops there). */
static void
test_json_unknown (void)
{
  g_autoptr(PayEventRow) type = make_row (1, "chargeback", "tx", 100, 1);
  g_autoptr(PayEventRow) status = make_row (1, "charge", "tx", 100, 9);

  g_assert_null (pay_event_subject (type));
  g_assert_null (pay_event_json_encode (type));
  g_assert_null (pay_event_json_encode (status));
}

static void
test_format_time (void)
{
  g_autofree gchar *epoch = pay_event_format_time (0);
  g_autofree gchar *ms = pay_event_format_time (G_GINT64_CONSTANT (1796306299007));

  g_assert_cmpstr (epoch, ==, "1970-01-01T00:00:00.000Z");
  g_assert_cmpstr (ms, ==, "2026-12-03T13:58:19.007Z");
  g_assert_null (pay_event_format_time (-1));
}

/* ---- gaps ---------------------------------------------------------------------------- */

static void
test_contiguous_prefix (void)
{
  static const gint64 ids[] = { 11, 12, 13, 15, 16 };

  g_assert_cmpuint (pay_event_contiguous_prefix (10, ids, 5), ==, 3);
  g_assert_cmpuint (pay_event_contiguous_prefix (9, ids, 5), ==, 0);
  g_assert_cmpuint (pay_event_contiguous_prefix (14, ids + 3, 2), ==, 2);
  g_assert_cmpuint (pay_event_contiguous_prefix (10, ids, 0), ==, 0);
}

/* Rows after the cursor without a hole are published; a hole further on is left for the
 * next read, which starts at it. */
static void
test_gap_none (void)
{
  static const gint64 ids[] = { 11, 12, 13, 15 };
  PayEventGap gap = { 0 };
  guint accept = 99;

  g_assert_cmpint (pay_event_gap_decide (&gap, 10, ids, 4, 0, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_NONE);
  g_assert_cmpuint (accept, ==, 3);
  g_assert_cmpint (gap.missing_id, ==, 0);
  g_assert_cmpint (pay_event_gap_decide (&gap, 10, NULL, 0, 0, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_NONE);
  g_assert_cmpuint (accept, ==, 0);
}

/* A hole at the cursor: nothing is published, and waiting goes on while a transaction open
 * when the gap was first seen is still open, until the wait is over. */
static void
test_gap_wait_then_timeout (void)
{
  static const gint64 ids[] = { 13, 14 };
  PayEventGap gap = { 0 };
  guint accept = 99;

  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 2, 5 * SECOND, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_WAIT);
  g_assert_cmpuint (accept, ==, 0);
  g_assert_cmpint (gap.missing_id, ==, 12);
  g_assert_cmpint (gap.first_seen_us, ==, 5 * SECOND);
  /* Still open, or unknown: wait. */
  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 2, 20 * SECOND, 30 * SECOND, 1, &accept),
                   ==, PAY_EVENT_GAP_WAIT);
  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 2, 34 * SECOND, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_WAIT);
  g_assert_cmpuint (accept, ==, 0);
  g_assert_cmpint (gap.first_seen_us, ==, 5 * SECOND);   /* not restarted */
  /* gap_wait_seconds after it was first seen: passed, the rows after it published. */
  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 2, 35 * SECOND, 30 * SECOND, 1, &accept),
                   ==, PAY_EVENT_GAP_PASSED);
  g_assert_cmpuint (accept, ==, 2);
  g_assert_cmpint (gap.missing_id, ==, 0);
}

/* No transaction open at first sight remains: passed at once, before the wait is over. */
static void
test_gap_passed_when_closed (void)
{
  static const gint64 ids[] = { 14, 15, 17 };
  PayEventGap gap = { 0 };
  guint accept = 99;

  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 3, 0, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_WAIT);
  g_assert_cmpint (pay_event_gap_decide (&gap, 11, ids, 3, SECOND, 30 * SECOND, 0, &accept),
                   ==, PAY_EVENT_GAP_PASSED);
  g_assert_cmpuint (accept, ==, 2);   /* 14, 15; 17 waits behind the next hole */
}

/* The missing id commits meanwhile: filled, whatever the transactions say. */
static void
test_gap_filled (void)
{
  static const gint64 before[] = { 13 };
  static const gint64 after[] = { 12, 13 };
  PayEventGap gap = { 0 };
  guint accept = 99;

  g_assert_cmpint (pay_event_gap_decide (&gap, 11, before, 1, 0, 30 * SECOND, -1, &accept),
                   ==, PAY_EVENT_GAP_WAIT);
  g_assert_cmpint (pay_event_gap_decide (&gap, 11, after, 2, 40 * SECOND, 30 * SECOND, 0, &accept),
                   ==, PAY_EVENT_GAP_FILLED);
  g_assert_cmpuint (accept, ==, 2);
  g_assert_cmpint (gap.missing_id, ==, 0);
}

static GPtrArray *
strings (const gchar *first, ...)
{
  GPtrArray *array = g_ptr_array_new_with_free_func (g_free);
  va_list ap;

  va_start (ap, first);
  for (const gchar *s = first; s != NULL; s = va_arg (ap, const gchar *))
    g_ptr_array_add (array, g_strdup (s));
  va_end (ap);
  return array;
}

static void
test_gap_still_open (void)
{
  g_autoptr(GPtrArray) first = strings ("101", "102", "103", NULL);
  g_autoptr(GPtrArray) later = strings ("103", "200", "201", NULL);
  g_autoptr(GPtrArray) none = strings (NULL, NULL);

  g_assert_cmpuint (pay_event_gap_still_open (first, first), ==, 3);
  g_assert_cmpuint (pay_event_gap_still_open (first, later), ==, 1);   /* 200, 201 are newer */
  g_assert_cmpuint (pay_event_gap_still_open (first, none), ==, 0);
  g_assert_cmpuint (pay_event_gap_still_open (none, later), ==, 0);
}

/* ---- the window ---------------------------------------------------------------------- */

static void
push (PayEventWindow *window, gint64 id, const gchar *tx)
{
  PayEventRow *row = make_row (id, "charge", tx, 100, 1);

  pay_event_window_push (window, row, g_bytes_new_static ("{}", 2));
}

static const gchar *
event_id_of (GPtrArray *entries, guint i)
{
  return ((PayEventEntry *) entries->pdata[i])->row->event_id;
}

static gint64
id_of (GPtrArray *entries, guint i)
{
  return ((PayEventEntry *) entries->pdata[i])->row->id;
}

/* At most max_in_flight in flight; more once acks free room. */
static void
test_window_bound (void)
{
  g_autoptr(PayEventWindow) window = pay_event_window_new (2, 0);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(GPtrArray) none = NULL;

  push (window, 1, "a");
  push (window, 2, "b");
  push (window, 3, "c");
  first = pay_event_window_take_sendable (window);
  g_assert_cmpuint (first->len, ==, 2);
  g_assert_cmpint (id_of (first, 0), ==, 1);
  g_assert_cmpint (id_of (first, 1), ==, 2);
  g_assert_cmpuint (pay_event_window_get_in_flight (window), ==, 2);
  none = pay_event_window_take_sendable (window);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (first, 1)));
  second = pay_event_window_take_sendable (window);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpint (id_of (second, 0), ==, 3);
}

/* One event per transaction in flight, in id order; other transactions pass it. */
static void
test_window_one_per_transaction (void)
{
  g_autoptr(PayEventWindow) window = pay_event_window_new (10, 0);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(GPtrArray) third = NULL;

  push (window, 1, "a");
  push (window, 2, "a");
  push (window, 3, "b");
  push (window, 4, "a");
  first = pay_event_window_take_sendable (window);
  g_assert_cmpuint (first->len, ==, 2);
  g_assert_cmpint (id_of (first, 0), ==, 1);
  g_assert_cmpint (id_of (first, 1), ==, 3);
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (first, 0)));
  second = pay_event_window_take_sendable (window);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpint (id_of (second, 0), ==, 2);   /* not 4: 2 comes first */
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (second, 0)));
  third = pay_event_window_take_sendable (window);
  g_assert_cmpuint (third->len, ==, 1);
  g_assert_cmpint (id_of (third, 0), ==, 4);
}

/* A failed publish is published again before its transaction's later events, and counts
 * its sends; an ack for something not in flight changes nothing. */
static void
test_window_failure_keeps_order (void)
{
  g_autoptr(PayEventWindow) window = pay_event_window_new (10, 0);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GPtrArray) after_all = NULL;
  g_autofree gchar *id1 = NULL;

  push (window, 1, "a");
  push (window, 2, "a");
  first = pay_event_window_take_sendable (window);
  g_assert_cmpuint (first->len, ==, 1);
  id1 = g_strdup (event_id_of (first, 0));
  g_assert_true (pay_event_window_fail (window, id1));
  g_assert_false (pay_event_window_fail (window, id1));
  g_assert_null (pay_event_window_ack (window, id1));   /* a late ack of the failed publish */
  again = pay_event_window_take_sendable (window);
  g_assert_cmpuint (again->len, ==, 1);
  g_assert_cmpint (id_of (again, 0), ==, 1);
  g_assert_cmpuint (((PayEventEntry *) again->pdata[0])->sends, ==, 2);
  g_assert_cmpuint (pay_event_window_fail_all (window), ==, 1);
  g_assert_cmpuint (pay_event_window_get_in_flight (window), ==, 0);
  after_all = pay_event_window_take_sendable (window);
  g_assert_cmpint (id_of (after_all, 0), ==, 1);
  g_assert_null (pay_event_window_ack (window, "no-such-event"));
}

/* The cursor moves only over the acked run at the head: an acked event behind one still in
 * flight waits, and ids skipped by a passed gap are stepped over. */
static void
test_window_cursor (void)
{
  g_autoptr(PayEventWindow) window = pay_event_window_new (10, 10);
  g_autoptr(GPtrArray) sent = NULL;

  g_assert_cmpint (pay_event_window_advance (window), ==, 10);
  g_assert_cmpint (pay_event_window_get_last_id (window), ==, 10);
  push (window, 11, "a");
  push (window, 12, "b");
  push (window, 15, "c");   /* 13 and 14: a passed gap */
  g_assert_cmpint (pay_event_window_get_last_id (window), ==, 15);
  sent = pay_event_window_take_sendable (window);
  g_assert_cmpuint (sent->len, ==, 3);
  g_assert_cmpint (pay_event_window_get_oldest_unacked_ms (window), ==, G_GINT64_CONSTANT (1796306299123));
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (sent, 1)));
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (sent, 2)));
  g_assert_cmpint (pay_event_window_advance (window), ==, 10);
  g_assert_cmpuint (pay_event_window_get_length (window), ==, 3);
  g_assert_nonnull (pay_event_window_ack (window, event_id_of (sent, 0)));
  g_assert_cmpint (pay_event_window_advance (window), ==, 15);
  g_assert_cmpuint (pay_event_window_get_length (window), ==, 0);
  g_assert_cmpint (pay_event_window_get_oldest_unacked_ms (window), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/events/json/charge", test_json_charge);
  g_test_add_func ("/payment/events/json/refund", test_json_refund);
  g_test_add_func ("/payment/events/json/no-card-fields", test_json_no_card_fields);
  g_test_add_func ("/payment/events/json/unknown", test_json_unknown);
  g_test_add_func ("/payment/events/json/time", test_format_time);
  g_test_add_func ("/payment/events/gap/contiguous-prefix", test_contiguous_prefix);
  g_test_add_func ("/payment/events/gap/none", test_gap_none);
  g_test_add_func ("/payment/events/gap/wait-then-timeout", test_gap_wait_then_timeout);
  g_test_add_func ("/payment/events/gap/passed-when-closed", test_gap_passed_when_closed);
  g_test_add_func ("/payment/events/gap/filled", test_gap_filled);
  g_test_add_func ("/payment/events/gap/still-open", test_gap_still_open);
  g_test_add_func ("/payment/events/window/bound", test_window_bound);
  g_test_add_func ("/payment/events/window/one-per-transaction", test_window_one_per_transaction);
  g_test_add_func ("/payment/events/window/failure-keeps-order", test_window_failure_keeps_order);
  g_test_add_func ("/payment/events/window/cursor", test_window_cursor);

  return g_test_run ();
}
