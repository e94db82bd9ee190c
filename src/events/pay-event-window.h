/* pay-event-window.h: the relay's decisions as pure functions of what it was told: which
 * rows read from payment_events may be published (the contiguous run after the cursor,
 * and when a gap in ids is passed), which events may be in flight (a bounded number, one
 * per transaction at a time), and how far the cursor may advance (over acked events
 * only). No I/O, no clock: times are passed in. Main loop only. */
#pragma once

#include <glib.h>

#include "events/pay-event-json.h"

G_BEGIN_DECLS

/* ---- gaps ---------------------------------------------------------------------------- */

/* How many of @ids (ascending, @n of them) continue @last_id without a hole: ids[0] is
 * last_id + 1, ids[1] is last_id + 2, and so on. */
guint pay_event_contiguous_prefix (gint64 last_id, const gint64 *ids, guint n);

/* A gap the relay waits on: the first missing id and when it was first seen. */
typedef struct {
  gint64     missing_id;     /* 0: no gap */
  gint64     first_seen_us;  /* monotonic clock */
  GPtrArray *open_trx;       /* ids (strings) of the InnoDB transactions open when it was
                              * first seen, other than the relay's own; NULL: not listed
                              * yet, or the list cannot be read (no PROCESS privilege) */
} PayEventGap;

void pay_event_gap_clear (PayEventGap *gap);

/* How many of @first (transaction ids open when the gap was first seen) are in @now (the
 * ones open now). */
guint pay_event_gap_still_open (GPtrArray *first, GPtrArray *now);

typedef enum {
  PAY_EVENT_GAP_NONE,    /* no gap at the cursor: publish the contiguous rows */
  PAY_EVENT_GAP_WAIT,    /* a gap at the cursor: publish nothing yet, look again later */
  PAY_EVENT_GAP_FILLED,  /* the gap waited on has filled */
  PAY_EVENT_GAP_PASSED,  /* the gap is given up: its ids are taken as never committing */
} PayEventGapOutcome;

/* Decides what to do with @ids (ascending, @n of them), read after @last_id (the highest id
 * taken so far) at monotonic time @now_us, given @gap (updated: started, or cleared when
 * filled or passed). @still_open is how many transactions of gap->open_trx were still open
 * just BEFORE @ids were read, or -1 when unknown: a gap is passed once it is 0 (no
 * transaction that could fill it remains; one that committed meanwhile shows in @ids), or
 * once it has been waited on for @wait_us. *@accept gets how many rows of @ids to publish
 * now: the contiguous run after @last_id, or after the passed gap. */
PayEventGapOutcome pay_event_gap_decide (PayEventGap  *gap,
                                         gint64        last_id,
                                         const gint64 *ids,
                                         guint         n,
                                         gint64        now_us,
                                         gint64        wait_us,
                                         gint          still_open,
                                         guint        *accept);

/* ---- the window of events read and not yet acked ------------------------------------- */

typedef struct _PayEventWindow PayEventWindow;

/* One event in the window. Owned by the window; valid until it leaves it. */
typedef struct {
  PayEventRow *row;
  GBytes      *payload;   /* the message body */
  gboolean     in_flight;
  gboolean     acked;
  guint        sends;     /* publishes so far: more than 1 means re-published */
} PayEventEntry;

/* An empty window after @cursor (every id <= @cursor is acked), with at most
 * @max_in_flight events in flight. */
PayEventWindow *pay_event_window_new (guint max_in_flight, gint64 cursor);
void            pay_event_window_free (PayEventWindow *window);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayEventWindow, pay_event_window_free)

/* Appends @row (taken) and its body @payload (taken). @row->id must exceed every id in
 * the window and the cursor. */
void pay_event_window_push (PayEventWindow *window, PayEventRow *row, GBytes *payload);

/* The highest id pushed, or the cursor when none was. */
gint64 pay_event_window_get_last_id (PayEventWindow *window);

/* Events in the window (in flight, acked past a hole, or waiting), and in flight. */
guint pay_event_window_get_length    (PayEventWindow *window);
guint pay_event_window_get_in_flight (PayEventWindow *window);

/* Marks in flight and returns (borrowed, oldest first, in a new array) every waiting event
 * that may be published now: while fewer than max_in_flight are in flight, the oldest
 * waiting event of each transaction that has none in flight and no older one waiting. So a
 * transaction's events are published one at a time, in id order, even when one fails and
 * is published again. */
GPtrArray *pay_event_window_take_sendable (PayEventWindow *window);

/* The PubAck of @event_id arrived: returns its entry, now acked. NULL (and nothing
 * changes) when it is not in flight here: an ack of an earlier leadership, or a second
 * ack. */
PayEventEntry *pay_event_window_ack (PayEventWindow *window, const gchar *event_id);

/* The publish of @event_id failed or timed out: it waits to be published again. FALSE
 * when it is not in flight here. */
gboolean pay_event_window_fail (PayEventWindow *window, const gchar *event_id);

/* Every event in flight waits to be published again (the connection was lost: their acks
 * may never come). Returns how many. */
guint pay_event_window_fail_all (PayEventWindow *window);

/* Removes the acked events at the head of the window and returns the cursor they allow:
 * the highest id of the contiguous acked run after the cursor (the cursor itself when
 * none). */
gint64 pay_event_window_advance (PayEventWindow *window);

/* created_at_ms of the oldest event not yet acked, or 0 when every one is. */
gint64 pay_event_window_get_oldest_unacked_ms (PayEventWindow *window);

G_END_DECLS
