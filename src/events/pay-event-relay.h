/* pay-event-relay.h: the relay of payment_events to NATS JetStream, a state machine on the
 * main loop. Every instance competes for the MySQL lock events.lock_name once NATS is
 * ready; the holder reads the rows after its durable cursor, publishes the contiguous run
 * (waiting on gaps in ids, see pay-event-window.h) with up to events.max_in_flight
 * awaiting their PubAck and one per transaction at a time, and advances the cursor over
 * acked events. MySQL work runs in worker threads (pay-event-outbox.h), NATS in libnats'
 * threads (pay-event-publisher.h): the loop never waits on either. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"
#include "storage/pay-repository.h"

G_BEGIN_DECLS

#define PAY_TYPE_EVENT_RELAY (pay_event_relay_get_type ())
G_DECLARE_FINAL_TYPE (PayEventRelay, pay_event_relay, PAY, EVENT_RELAY, GObject)

/* Between lock attempts of an instance that does not relay. */
#define PAY_EVENT_RELAY_LEAD_RETRY_MS 1000

/* @events (nats_url set) and @mysql are copied; @repository (referenced) sets the schema
 * up before the relay's first read. Callbacks run on the caller's thread-default main
 * context. Nothing connects until pay_event_relay_start(). */
PayEventRelay *pay_event_relay_new (const PayEventsSettings *events,
                                    const PayMysqlSettings  *mysql,
                                    PayRepository           *repository);

void pay_event_relay_start (PayEventRelay *self);

/* Stops publishing, records the cursor the acks allow, closes the NATS connection and the
 * MySQL one (the lock goes with it), then calls @callback. */
void     pay_event_relay_stop_async  (PayEventRelay       *self,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
gboolean pay_event_relay_stop_finish (PayEventRelay       *self,
                                      GAsyncResult        *result,
                                      GError             **error);

/* "up" while connected to NATS with the stream ready, else "down" (/health). */
const gchar *pay_event_relay_get_state (PayEventRelay *self);

typedef struct {
  gboolean leader;            /* this instance holds the lock */
  guint64  published;         /* PubAcks of first publishes */
  guint64  republished;       /* publishes of an event again */
  guint64  gaps_filled;
  guint64  gaps_passed;
  gint64   lag_events;        /* committed and not yet acked (leader only) */
  gdouble  lag_seconds;       /* age of the oldest of them */
} PayEventRelayStats;

/* Main context only. */
void pay_event_relay_get_stats (PayEventRelay *self, PayEventRelayStats *stats);

G_END_DECLS
