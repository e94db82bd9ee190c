/* pay-event-relay.c: PayEventRelay, the relay's state machine on the main loop (see
 * pay-event-relay.h): who relays, what is read next, what is published, and how far the
 * durable cursor moves. */
#define G_LOG_DOMAIN "payment-events"

#include "events/pay-event-relay.h"

#include "events/pay-event-json.h"
#include "events/pay-event-outbox.h"
#include "events/pay-event-publisher.h"
#include "events/pay-event-window.h"

/* Between reads once caught up, and between looks at a gap. */
#define PAY_EVENT_RELAY_POLL_MS       100
/* How often the lag metrics are measured (one COUNT over the rows after the cursor). */
#define PAY_EVENT_RELAY_LAG_EVERY_US  G_TIME_SPAN_SECOND
/* The pause after a failed publish, doubled per failure in a row up to the maximum. */
#define PAY_EVENT_RELAY_BACKOFF_MIN_MS 250
#define PAY_EVENT_RELAY_BACKOFF_MAX_MS 8000
/* How long the relaying instance keeps the lock while it cannot reach NATS: past it, it
 * records its cursor and lets the lock go, for an instance that can reach NATS. */
#define PAY_EVENT_RELAY_HANDOVER_US   (10 * G_TIME_SPAN_SECOND)

struct _PayEventRelay
{
  GObject parent_instance;

  gchar             *stream;
  guint              max_in_flight;
  guint              batch_size;
  gint64             gap_wait_us;

  PayEventOutbox    *outbox;        /* used by one worker task at a time (db_busy) */
  PayEventPublisher *publisher;

  gboolean           nats_ready;
  gint64             nats_down_since_us;   /* 0: NATS is ready */
  gboolean           leader;
  PayEventWindow    *window;        /* while leader */
  gint64             durable;       /* the cursor as last written */
  PayEventGap        gap;
  gboolean           db_busy;       /* a worker task uses the outbox */
  guint              timer_id;      /* the next lock attempt or read, when delayed */
  guint              lag_id;        /* while leader: measures the lag when nothing else runs */
  gint64             lag_due_us;
  gint64             lag_events;
  gint64             lag_oldest_ms;
  gboolean           stalled;       /* stopped at a row the message cannot say (logged) */

  guint              backoff_ms;    /* 0: no failure in a row */
  gint64             paused_until_us;
  guint              resume_id;
  gboolean           failure_logged;

  guint64            published;
  guint64            republished;
  guint64            gaps_filled;
  guint64            gaps_passed;

  gboolean           lead_failure_logged;
  gboolean           stopping;
  gboolean           disconnecting; /* the last cursor task and the disconnect are started */
  GTask             *stop_task;     /* while stopping */
  gboolean           publisher_closed;
};

G_DEFINE_FINAL_TYPE (PayEventRelay, pay_event_relay, G_TYPE_OBJECT)

static void schedule (PayEventRelay *self);
static void publish_sendable (PayEventRelay *self);
static void maybe_finish_stop (PayEventRelay *self);

static void
pay_event_relay_init (PayEventRelay *self)
{
}

/* ---- leadership ---------------------------------------------------------------------- */

static void
drop_window (PayEventRelay *self)
{
  g_clear_pointer (&self->window, pay_event_window_free);
  g_clear_handle_id (&self->lag_id, g_source_remove);
  pay_event_gap_clear (&self->gap);
  self->leader = FALSE;
  self->lag_events = 0;
  self->lag_oldest_ms = 0;
}

/* A MySQL failure while relaying: the connection is closed (pay-event-outbox.c), and the
 * lock with it, so another instance may relay by now. What was published and not
 * recorded is published again by whoever relays next: Nats-Msg-Id absorbs it. */
static void
lose_leadership (PayEventRelay *self, const GError *error)
{
  g_warning ("stopped relaying (%s); competing for the lock again", error->message);
  drop_window (self);
}

static gboolean
on_timer (gpointer user_data)
{
  PayEventRelay *self = user_data;

  self->timer_id = 0;
  schedule (self);
  return G_SOURCE_REMOVE;
}

static void
delay (PayEventRelay *self, guint ms)
{
  if (self->timer_id == 0 && !self->stopping)
    self->timer_id = g_timeout_add (ms, on_timer, self);
}

/* The lag is measured with reads, and also when none runs (a full window, NATS down). */
static gboolean
on_lag_tick (gpointer user_data)
{
  schedule (user_data);
  return G_SOURCE_CONTINUE;
}

typedef struct {
  gboolean leader;
  gint64   cursor;
} LeadResult;

static void
lead_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PayEventOutbox *outbox = data;
  LeadResult *r = g_new0 (LeadResult, 1);
  GError *error = NULL;

  if (!pay_event_outbox_try_lead (outbox, &r->leader, &r->cursor, &error))
    {
      g_free (r);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, r, g_free);
}

static void
on_lead (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayEventRelay *self = PAY_EVENT_RELAY (source);
  g_autoptr(GError) error = NULL;
  g_autofree LeadResult *r = g_task_propagate_pointer (G_TASK (result), &error);

  self->db_busy = FALSE;
  if (r == NULL)
    {
      if (!self->lead_failure_logged)
        g_warning ("cannot compete for the relay lock: %s", error->message);
      self->lead_failure_logged = TRUE;
    }
  else if (r->leader && !self->stopping)
    {
      self->lead_failure_logged = FALSE;
      self->leader = TRUE;
      self->durable = r->cursor;
      self->window = pay_event_window_new (self->max_in_flight, r->cursor);
      self->lag_due_us = 0;
      self->lag_id = g_timeout_add (PAY_EVENT_RELAY_LAG_EVERY_US / 1000, on_lag_tick, self);
      g_message ("this instance relays to stream %s, from payment_events id %" G_GINT64_FORMAT,
                 self->stream, r->cursor + 1);
    }
  if (!self->leader)
    delay (self, PAY_EVENT_RELAY_LEAD_RETRY_MS);
  schedule (self);
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct {
  /* in */
  PayEventOutbox *outbox;
  gboolean        lag_only;      /* measure the lag, read nothing */
  gint64          after_id;
  guint           limit;
  gboolean        check_gap;     /* list the open transactions before reading */
  GPtrArray      *first_trx;     /* the gap's list, or NULL to take it now */
  gboolean        measure_lag;
  gint64          lag_after;
  /* out */
  GPtrArray      *rows;          /* PayEventRow*, owned */
  GPtrArray      *payloads;      /* GBytes* or NULL, one per row */
  GPtrArray      *taken_trx;     /* the list taken now, when first_trx was NULL */
  gint            still_open;
  gint64          lag_events;
  gint64          lag_oldest_ms;
} ReadJob;

static void
read_job_free (gpointer data)
{
  ReadJob *job = data;

  g_clear_pointer (&job->first_trx, g_ptr_array_unref);
  g_clear_pointer (&job->rows, g_ptr_array_unref);
  g_clear_pointer (&job->payloads, g_ptr_array_unref);
  g_clear_pointer (&job->taken_trx, g_ptr_array_unref);
  g_free (job);
}

/* The open transactions (before the rows are read: one that commits in between then
 * shows in the rows). */
static gboolean
read_open_transactions (ReadJob *job, GError **error)
{
  g_autoptr(GPtrArray) now = pay_event_outbox_open_transactions (job->outbox, error);

  job->still_open = -1;
  if (now == NULL)
    return error == NULL || *error == NULL;   /* refused: the wait decides */
  if (job->first_trx == NULL)
    {
      job->still_open = (gint) now->len;
      job->taken_trx = g_steal_pointer (&now);
    }
  else
    job->still_open = (gint) pay_event_gap_still_open (job->first_trx, now);
  return TRUE;
}

static void
read_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ReadJob *job = data;
  GError *error = NULL;

  if (job->lag_only)
    {
      if (!pay_event_outbox_lag (job->outbox, job->lag_after, &job->lag_events,
                                 &job->lag_oldest_ms, &error))
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (job->check_gap && !read_open_transactions (job, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  job->rows = pay_event_outbox_read (job->outbox, job->after_id, job->limit, &error);
  if (job->rows == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The bodies are written here, off the loop. */
  job->payloads = g_ptr_array_new_full (job->rows->len, (GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < job->rows->len; i++)
    g_ptr_array_add (job->payloads, pay_event_json_encode (job->rows->pdata[i]));
  if (job->measure_lag &&
      !pay_event_outbox_lag (job->outbox, job->lag_after, &job->lag_events, &job->lag_oldest_ms,
                             &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
note_gap (PayEventRelay *self, PayEventGapOutcome outcome, gint64 missing, gint64 next_id,
          gint still_open)
{
  if (outcome == PAY_EVENT_GAP_FILLED)
    {
      self->gaps_filled++;
      g_message ("the gap at payment_events id %" G_GINT64_FORMAT " filled", missing);
    }
  else if (outcome == PAY_EVENT_GAP_PASSED)
    {
      self->gaps_passed++;
      g_warning ("passing the gap of payment_events ids %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
                 " (%s): they are taken as rolled back", missing, next_id - 1,
                 still_open == 0 ? "no transaction open when it was seen is still open"
                                 : "waited events.gap_wait_seconds");
    }
}

/* Takes the first @accept rows of @job into the window, up to a row the message cannot say
 * (logged once: the relay stops there rather than skip an event, and reads it again
 * until an operator repairs it). */
static guint
take_rows (PayEventRelay *self, ReadJob *job, guint accept)
{
  guint i;

  if (accept > 0 && job->payloads->pdata[0] != NULL)
    self->stalled = FALSE;
  for (i = 0; i < accept; i++)
    {
      PayEventRow *row = job->rows->pdata[i];

      if (job->payloads->pdata[i] == NULL)
        {
          if (!self->stalled)
            g_warning ("payment_events id %" G_GINT64_FORMAT " (event_type '%s', status %d)"
                        " cannot be written as an event; relaying stops there", row->id,
                        row->event_type != NULL ? row->event_type : "", row->status);
          self->stalled = TRUE;
          break;
        }
      /* The window takes the row and its body; the arrays keep NULLs in their place. */
      job->rows->pdata[i] = NULL;
      pay_event_window_push (self->window, row, g_steal_pointer (&job->payloads->pdata[i]));
    }
  return i;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayEventRelay *self = PAY_EVENT_RELAY (source);
  ReadJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *ids = NULL;
  gint64 missing = self->gap.missing_id, last_id;
  PayEventGapOutcome outcome;
  guint n, accept, taken;

  self->db_busy = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self->leader)
        lose_leadership (self, error);
      delay (self, PAY_EVENT_RELAY_LEAD_RETRY_MS);
      schedule (self);
      return;
    }
  if (!self->leader || self->stopping)
    {
      schedule (self);
      return;
    }
  if (job->measure_lag || job->lag_only)
    {
      self->lag_events = job->lag_events;
      self->lag_oldest_ms = job->lag_oldest_ms;
    }
  if (job->lag_only)
    {
      schedule (self);
      return;
    }
  if (job->taken_trx != NULL && self->gap.missing_id != 0 && self->gap.open_trx == NULL)
    self->gap.open_trx = g_ptr_array_ref (job->taken_trx);

  n = job->rows->len;
  ids = g_new (gint64, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    ids[i] = ((PayEventRow *) job->rows->pdata[i])->id;
  last_id = pay_event_window_get_last_id (self->window);
  outcome = pay_event_gap_decide (&self->gap, last_id, ids, n, g_get_monotonic_time (),
                                  self->gap_wait_us, job->check_gap ? job->still_open : -1,
                                  &accept);
  note_gap (self, outcome, missing, n > 0 ? ids[0] : 0, job->still_open);
  taken = take_rows (self, job, accept);

  publish_sendable (self);
  /* Caught up, or at a gap: look again shortly. A full batch, or one cut short by a gap
   * further on, reads again at once (then from the gap). */
  if (outcome == PAY_EVENT_GAP_WAIT || taken < accept || (taken == n && n < self->batch_size))
    delay (self, PAY_EVENT_RELAY_POLL_MS);
  schedule (self);
}

/* A read of the next batch after the window, or with @lag_only only the lag (measured
 * with a read whenever it is due). */
static void
start_read (PayEventRelay *self, gboolean lag_only)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, on_read, NULL);
  ReadJob *job = g_new0 (ReadJob, 1);
  gint64 now = g_get_monotonic_time ();

  job->outbox = self->outbox;
  job->lag_only = lag_only;
  job->after_id = pay_event_window_get_last_id (self->window);
  job->limit = self->batch_size;
  job->check_gap = self->gap.missing_id != 0;
  job->first_trx = self->gap.open_trx != NULL ? g_ptr_array_ref (self->gap.open_trx) : NULL;
  if (now >= self->lag_due_us)
    {
      job->measure_lag = TRUE;
      /* The acked prefix: what is after it is committed and not yet acked. */
      job->lag_after = pay_event_window_advance (self->window);
      self->lag_due_us = now + PAY_EVENT_RELAY_LAG_EVERY_US;
    }
  self->db_busy = TRUE;
  g_task_set_source_tag (task, start_read);
  g_task_set_task_data (task, job, read_job_free);
  g_task_run_in_thread (task, read_in_thread);
}

/* ---- the cursor ---------------------------------------------------------------------- */

typedef struct {
  PayEventOutbox *outbox;
  gint64          cursor;
  gboolean        disconnect;    /* then close the connection (stopping) */
} CursorJob;

static void
cursor_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CursorJob *job = data;
  GError *error = NULL;
  gboolean ok = job->cursor < 0 || pay_event_outbox_advance (job->outbox, job->cursor, &error);

  if (job->disconnect)
    pay_event_outbox_disconnect (job->outbox);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_cursor (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayEventRelay *self = PAY_EVENT_RELAY (source);
  CursorJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  self->db_busy = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self->leader)
        lose_leadership (self, error);
      else if (job->disconnect)
        g_warning ("the last cursor update failed: %s", error->message);
      delay (self, PAY_EVENT_RELAY_LEAD_RETRY_MS);
    }
  else if (job->cursor > self->durable)
    self->durable = job->cursor;
  if (job->disconnect)
    {
      drop_window (self);
      maybe_finish_stop (self);
      if (self->stopping)
        return;
    }
  schedule (self);
}

static void
start_cursor (PayEventRelay *self, gint64 cursor, gboolean disconnect)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, on_cursor, NULL);
  CursorJob *job = g_new0 (CursorJob, 1);

  job->outbox = self->outbox;
  job->cursor = cursor;
  job->disconnect = disconnect;
  self->db_busy = TRUE;
  g_task_set_source_tag (task, start_cursor);
  g_task_set_task_data (task, job, g_free);
  g_task_run_in_thread (task, cursor_in_thread);
}

/* ---- what runs next on the MySQL connection ------------------------------------------ */

/* One worker task at a time uses the connection: the cursor first (it frees the window),
 * then a read while the window has room and no delay is pending. */
static void
schedule (PayEventRelay *self)
{
  g_autoptr(GTask) task = NULL;
  gint64 cursor;

  if (self->db_busy)
    return;
  if (self->stopping)
    {
      if (self->disconnecting)
        return;
      self->disconnecting = TRUE;
      cursor = self->leader ? pay_event_window_advance (self->window) : -1;
      start_cursor (self, cursor > self->durable ? cursor : -1, TRUE);
      return;
    }
  if (!self->leader)
    {
      if (!self->nats_ready || self->timer_id != 0)
        return;
      self->db_busy = TRUE;
      task = g_task_new (self, NULL, on_lead, NULL);
      g_task_set_source_tag (task, schedule);
      g_task_set_task_data (task, self->outbox, NULL);
      g_task_run_in_thread (task, lead_in_thread);
      return;
    }
  cursor = pay_event_window_advance (self->window);
  if (!self->nats_ready && self->nats_down_since_us != 0 &&
      g_get_monotonic_time () - self->nats_down_since_us >= PAY_EVENT_RELAY_HANDOVER_US)
    {
      /* Another instance may reach NATS: the lock goes with the connection. */
      g_warning ("NATS unreachable for %d s: recording the cursor and letting the relay "
                 "lock go", (int) (PAY_EVENT_RELAY_HANDOVER_US / G_TIME_SPAN_SECOND));
      start_cursor (self, cursor > self->durable ? cursor : -1, TRUE);
      return;
    }
  if (cursor > self->durable)
    {
      start_cursor (self, cursor, FALSE);
      return;
    }
  if (self->timer_id == 0 &&
      pay_event_window_get_length (self->window) < self->max_in_flight)
    start_read (self, FALSE);
  else if (g_get_monotonic_time () >= self->lag_due_us)
    start_read (self, TRUE);
}

/* ---- publishing ---------------------------------------------------------------------- */

static gboolean
on_resume (gpointer user_data)
{
  PayEventRelay *self = user_data;

  self->resume_id = 0;
  publish_sendable (self);
  return G_SOURCE_REMOVE;
}

/* A publish failed: pause publishing for the backoff, doubled per failure in a row. */
static void
back_off (PayEventRelay *self, const gchar *event_id, const gchar *reason)
{
  self->backoff_ms = self->backoff_ms == 0 ? PAY_EVENT_RELAY_BACKOFF_MIN_MS
                                           : MIN (self->backoff_ms * 2, PAY_EVENT_RELAY_BACKOFF_MAX_MS);
  self->paused_until_us = g_get_monotonic_time () + self->backoff_ms * (gint64) 1000;
  if (!self->failure_logged)
    g_warning ("publishing event %s failed (%s); publishing again from the first "
               "event not acked, after %u ms", event_id, reason, self->backoff_ms);
  self->failure_logged = TRUE;
  if (self->resume_id == 0)
    self->resume_id = g_timeout_add (self->backoff_ms, on_resume, self);
}

static void
publish_sendable (PayEventRelay *self)
{
  g_autoptr(GPtrArray) sendable = NULL;

  if (!self->leader || !self->nats_ready || self->stopping || self->resume_id != 0 ||
      g_get_monotonic_time () < self->paused_until_us)
    return;
  sendable = pay_event_window_take_sendable (self->window);
  for (guint i = 0; i < sendable->len; i++)
    {
      PayEventEntry *entry = sendable->pdata[i];
      g_autoptr(GError) error = NULL;

      if (entry->sends > 1)
        self->republished++;
      if (!pay_event_publisher_publish (self->publisher, pay_event_subject (entry->row),
                                        entry->row->event_id, entry->payload, &error))
        {
          pay_event_window_fail (self->window, entry->row->event_id);
          back_off (self, entry->row->event_id, error->message);
        }
    }
}

static void
on_acked (const gchar *event_id, gboolean duplicate, gpointer user_data)
{
  PayEventRelay *self = user_data;
  PayEventEntry *entry;

  if (self->window == NULL || (entry = pay_event_window_ack (self->window, event_id)) == NULL)
    return;   /* an ack of an earlier leadership, or a late one after a timeout */
  if (entry->sends == 1)
    self->published++;
  if (self->backoff_ms != 0)
    g_message ("publishing again");
  self->backoff_ms = 0;
  self->failure_logged = FALSE;
  publish_sendable (self);
  schedule (self);
}

static void
on_failed (const gchar *event_id, const gchar *reason, gpointer user_data)
{
  PayEventRelay *self = user_data;

  if (self->window == NULL || !pay_event_window_fail (self->window, event_id))
    return;
  back_off (self, event_id, reason);
}

static void
on_ready_changed (gboolean ready, gpointer user_data)
{
  PayEventRelay *self = user_data;

  self->nats_ready = ready;
  if (!ready && self->nats_down_since_us == 0)
    self->nats_down_since_us = g_get_monotonic_time ();
  if (ready)
    {
      self->nats_down_since_us = 0;
      self->backoff_ms = 0;
      self->paused_until_us = 0;
      g_clear_handle_id (&self->resume_id, g_source_remove);
      publish_sendable (self);
    }
  schedule (self);
}

/* ---- stopping ------------------------------------------------------------------------ */

static void
maybe_finish_stop (PayEventRelay *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->stop_task == NULL || self->db_busy || !self->disconnecting ||
      !self->publisher_closed)
    return;
  task = g_steal_pointer (&self->stop_task);
  g_task_return_boolean (task, TRUE);
}

static void
on_publisher_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PayEventRelay) self = user_data;

  (void) pay_event_publisher_close_finish (PAY_EVENT_PUBLISHER (source), result, NULL);
  self->publisher_closed = TRUE;
  maybe_finish_stop (self);
}

void
pay_event_relay_stop_async (PayEventRelay       *self,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (PAY_IS_EVENT_RELAY (self));
  g_return_if_fail (!self->stopping);

  self->stopping = TRUE;
  self->stop_task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->stop_task, pay_event_relay_stop_async);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_handle_id (&self->resume_id, g_source_remove);
  g_clear_handle_id (&self->lag_id, g_source_remove);
  /* No ack reaches the window after this: what was acked so far is recorded below. */
  pay_event_publisher_close_async (self->publisher, on_publisher_closed, g_object_ref (self));
  /* The cursor and the disconnect run once a task in progress, if any, has ended. */
  schedule (self);
}

gboolean
pay_event_relay_stop_finish (PayEventRelay *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the object ---------------------------------------------------------------------- */

static void
pay_event_relay_dispose (GObject *object)
{
  PayEventRelay *self = PAY_EVENT_RELAY (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_handle_id (&self->resume_id, g_source_remove);
  g_clear_handle_id (&self->lag_id, g_source_remove);
  g_clear_object (&self->publisher);
  G_OBJECT_CLASS (pay_event_relay_parent_class)->dispose (object);
}

static void
pay_event_relay_finalize (GObject *object)
{
  PayEventRelay *self = PAY_EVENT_RELAY (object);

  drop_window (self);
  g_clear_pointer (&self->outbox, pay_event_outbox_free);
  g_free (self->stream);
  G_OBJECT_CLASS (pay_event_relay_parent_class)->finalize (object);
}

static void
pay_event_relay_class_init (PayEventRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_event_relay_dispose;
  object_class->finalize = pay_event_relay_finalize;
}

PayEventRelay *
pay_event_relay_new (const PayEventsSettings *events,
                     const PayMysqlSettings  *mysql,
                     PayRepository           *repository)
{
  static const PayEventPublisherCallbacks callbacks = {
    .acked = on_acked,
    .failed = on_failed,
    .ready_changed = on_ready_changed,
  };
  PayEventRelay *self;

  g_return_val_if_fail (events != NULL && events->nats_url != NULL, NULL);
  g_return_val_if_fail (mysql != NULL && PAY_IS_REPOSITORY (repository), NULL);

  self = g_object_new (PAY_TYPE_EVENT_RELAY, NULL);
  self->stream = g_strdup (events->stream);
  self->max_in_flight = events->max_in_flight;
  self->batch_size = events->batch_size;
  self->gap_wait_us = events->gap_wait_seconds * G_TIME_SPAN_SECOND;
  self->outbox = pay_event_outbox_new (repository, mysql, events->stream, events->lock_name);
  self->publisher = pay_event_publisher_new (events, &callbacks, self);
  return self;
}

void
pay_event_relay_start (PayEventRelay *self)
{
  g_return_if_fail (PAY_IS_EVENT_RELAY (self));

  /* The lock is competed for once NATS is ready (on_ready_changed). */
  pay_event_publisher_start (self->publisher);
}

const gchar *
pay_event_relay_get_state (PayEventRelay *self)
{
  g_return_val_if_fail (PAY_IS_EVENT_RELAY (self), "down");
  return self->nats_ready ? "up" : "down";
}

void
pay_event_relay_get_stats (PayEventRelay *self, PayEventRelayStats *stats)
{
  g_return_if_fail (PAY_IS_EVENT_RELAY (self) && stats != NULL);

  stats->leader = self->leader;
  stats->published = self->published;
  stats->republished = self->republished;
  stats->gaps_filled = self->gaps_filled;
  stats->gaps_passed = self->gaps_passed;
  stats->lag_events = self->leader ? self->lag_events : 0;
  stats->lag_seconds = self->leader && self->lag_events > 0 && self->lag_oldest_ms > 0
                       ? MAX (0, g_get_real_time () / 1000 - self->lag_oldest_ms) / 1000.0
                       : 0;
}
