/* pay-event-window.c: the relay's gap, flight and cursor decisions (pay-event-window.h). */
#define G_LOG_DOMAIN "payment-events"

#include "events/pay-event-window.h"

/* ---- gaps ---------------------------------------------------------------------------- */

guint
pay_event_contiguous_prefix (gint64 last_id, const gint64 *ids, guint n)
{
  guint i = 0;

  while (i < n && ids[i] == last_id + 1 + (gint64) i)
    i++;
  return i;
}

void
pay_event_gap_clear (PayEventGap *gap)
{
  g_clear_pointer (&gap->open_trx, g_ptr_array_unref);
  gap->missing_id = 0;
  gap->first_seen_us = 0;
}

guint
pay_event_gap_still_open (GPtrArray *first, GPtrArray *now)
{
  g_autoptr(GHashTable) open = g_hash_table_new (g_str_hash, g_str_equal);
  guint count = 0;

  g_return_val_if_fail (first != NULL && now != NULL, 0);

  for (guint i = 0; i < now->len; i++)
    g_hash_table_add (open, now->pdata[i]);
  for (guint i = 0; i < first->len; i++)
    if (g_hash_table_contains (open, first->pdata[i]))
      count++;
  return count;
}

PayEventGapOutcome
pay_event_gap_decide (PayEventGap  *gap,
                      gint64        last_id,
                      const gint64 *ids,
                      guint         n,
                      gint64        now_us,
                      gint64        wait_us,
                      gint          still_open,
                      guint        *accept)
{
  guint prefix = pay_event_contiguous_prefix (last_id, ids, n);

  g_return_val_if_fail (gap != NULL && accept != NULL, PAY_EVENT_GAP_NONE);

  *accept = prefix;
  if (gap->missing_id != 0 && gap->missing_id != last_id + 1)
    pay_event_gap_clear (gap);   /* the cursor moved past it some other way */

  if (prefix > 0 || n == 0)
    {
      /* Contiguous from the cursor (or nothing after it): a hole further on is met on the
       * next read, at the cursor. */
      if (gap->missing_id == 0)
        return PAY_EVENT_GAP_NONE;
      pay_event_gap_clear (gap);
      return n == 0 ? PAY_EVENT_GAP_NONE : PAY_EVENT_GAP_FILLED;
    }

  if (gap->missing_id == 0)
    {
      gap->missing_id = last_id + 1;
      gap->first_seen_us = now_us;
      return PAY_EVENT_GAP_WAIT;
    }
  if (still_open == 0 || now_us - gap->first_seen_us >= wait_us)
    {
      pay_event_gap_clear (gap);
      *accept = pay_event_contiguous_prefix (ids[0] - 1, ids, n);
      return PAY_EVENT_GAP_PASSED;
    }
  return PAY_EVENT_GAP_WAIT;
}

/* ---- the window ---------------------------------------------------------------------- */

struct _PayEventWindow
{
  guint       max_in_flight;
  gint64      cursor;        /* every id <= cursor is acked and out of the window */
  gint64      last_id;       /* highest id pushed, or the cursor */
  GQueue      entries;       /* PayEventEntry*, owned, ascending id */
  GHashTable *by_event_id;   /* event_id (the row's) -> PayEventEntry* */
  GHashTable *busy;          /* transaction_id -> its PayEventEntry* in flight */
  GHashTable *seen;          /* take_sendable()'s scratch: transactions met waiting */
  guint       in_flight;
};

static void
entry_free (gpointer data)
{
  PayEventEntry *entry = data;

  pay_event_row_free (entry->row);
  g_bytes_unref (entry->payload);
  g_free (entry);
}

PayEventWindow *
pay_event_window_new (guint max_in_flight, gint64 cursor)
{
  PayEventWindow *window = g_new0 (PayEventWindow, 1);

  g_return_val_if_fail (max_in_flight > 0, NULL);

  window->max_in_flight = max_in_flight;
  window->cursor = cursor;
  window->last_id = cursor;
  g_queue_init (&window->entries);
  window->by_event_id = g_hash_table_new (g_str_hash, g_str_equal);
  window->busy = g_hash_table_new (g_str_hash, g_str_equal);
  window->seen = g_hash_table_new (g_str_hash, g_str_equal);
  return window;
}

void
pay_event_window_free (PayEventWindow *window)
{
  if (window == NULL)
    return;
  g_queue_clear_full (&window->entries, entry_free);
  g_hash_table_unref (window->by_event_id);
  g_hash_table_unref (window->busy);
  g_hash_table_unref (window->seen);
  g_free (window);
}

void
pay_event_window_push (PayEventWindow *window, PayEventRow *row, GBytes *payload)
{
  PayEventEntry *entry;

  g_return_if_fail (window != NULL && row != NULL && payload != NULL);
  g_return_if_fail (row->id > window->last_id);

  entry = g_new0 (PayEventEntry, 1);
  entry->row = row;
  entry->payload = payload;
  window->last_id = row->id;
  g_queue_push_tail (&window->entries, entry);
  g_hash_table_replace (window->by_event_id, row->event_id, entry);
}

gint64
pay_event_window_get_last_id (PayEventWindow *window)
{
  return window->last_id;
}

guint
pay_event_window_get_length (PayEventWindow *window)
{
  return window->entries.length;
}

guint
pay_event_window_get_in_flight (PayEventWindow *window)
{
  return window->in_flight;
}

GPtrArray *
pay_event_window_take_sendable (PayEventWindow *window)
{
  GPtrArray *sendable = g_ptr_array_new ();

  g_return_val_if_fail (window != NULL, sendable);

  g_hash_table_remove_all (window->seen);
  for (GList *l = window->entries.head;
       l != NULL && window->in_flight < window->max_in_flight; l = l->next)
    {
      PayEventEntry *entry = l->data;
      const gchar *tx = entry->row->transaction_id;

      if (entry->acked || entry->in_flight)
        continue;
      /* An older event of this transaction is in flight or waits: this one waits too. */
      if (g_hash_table_contains (window->busy, tx) || !g_hash_table_add (window->seen, (gpointer) tx))
        continue;
      entry->in_flight = TRUE;
      entry->sends++;
      window->in_flight++;
      g_hash_table_insert (window->busy, (gpointer) tx, entry);
      g_ptr_array_add (sendable, entry);
    }
  return sendable;
}

/* The entry of @event_id when it is in flight, taken out of flight; else NULL. */
static PayEventEntry *
land (PayEventWindow *window, const gchar *event_id)
{
  PayEventEntry *entry = g_hash_table_lookup (window->by_event_id, event_id);

  if (entry == NULL || !entry->in_flight)
    return NULL;
  entry->in_flight = FALSE;
  window->in_flight--;
  g_hash_table_remove (window->busy, entry->row->transaction_id);
  return entry;
}

PayEventEntry *
pay_event_window_ack (PayEventWindow *window, const gchar *event_id)
{
  PayEventEntry *entry;

  g_return_val_if_fail (window != NULL && event_id != NULL, NULL);

  entry = land (window, event_id);
  if (entry != NULL)
    entry->acked = TRUE;
  return entry;
}

gboolean
pay_event_window_fail (PayEventWindow *window, const gchar *event_id)
{
  g_return_val_if_fail (window != NULL && event_id != NULL, FALSE);

  return land (window, event_id) != NULL;
}

guint
pay_event_window_fail_all (PayEventWindow *window)
{
  guint failed = 0;

  g_return_val_if_fail (window != NULL, 0);

  for (GList *l = window->entries.head; l != NULL; l = l->next)
    {
      PayEventEntry *entry = l->data;

      if (entry->in_flight && land (window, entry->row->event_id) != NULL)
        failed++;
    }
  return failed;
}

gint64
pay_event_window_advance (PayEventWindow *window)
{
  PayEventEntry *entry;

  g_return_val_if_fail (window != NULL, 0);

  while ((entry = g_queue_peek_head (&window->entries)) != NULL && entry->acked)
    {
      g_queue_pop_head (&window->entries);
      g_hash_table_remove (window->by_event_id, entry->row->event_id);
      window->cursor = entry->row->id;
      entry_free (entry);
    }
  return window->cursor;
}

gint64
pay_event_window_get_oldest_unacked_ms (PayEventWindow *window)
{
  g_return_val_if_fail (window != NULL, 0);

  for (GList *l = window->entries.head; l != NULL; l = l->next)
    {
      PayEventEntry *entry = l->data;

      if (!entry->acked)
        return entry->row->created_at_ms;
    }
  return 0;
}
