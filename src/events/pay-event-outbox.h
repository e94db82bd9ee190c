/* pay-event-outbox.h: the relay's MySQL side, on one dedicated connection (never one of
 * the request pool's): the GET_LOCK that elects the relaying instance, batches read from
 * payment_events, the open InnoDB transactions a gap waits on, and the durable cursor in
 * payment_events_relay. Blocking: call from a worker thread, one call at a time. */
#pragma once

#include <glib.h>

#include "core/pay-config.h"
#include "storage/pay-repository.h"

G_BEGIN_DECLS

typedef struct _PayEventOutbox PayEventOutbox;

/* For the stream @stream and the lock @lock_name (both copied), on a connection made
 * with @settings (copied) when first needed. @repository (referenced) sets the schema up
 * before the first read. */
PayEventOutbox *pay_event_outbox_new (PayRepository          *repository,
                                      const PayMysqlSettings *settings,
                                      const gchar            *stream,
                                      const gchar            *lock_name);

/* Closes the connection (the server frees the lock with it) and frees @outbox. */
void pay_event_outbox_free (PayEventOutbox *outbox);

/* Tries GET_LOCK(lock_name, 0), connecting first when needed. When this session got it,
 * *@leader is TRUE and *@cursor the stream's last acked id (its cursor row made at 0 when
 * missing). FALSE with @error when MySQL failed: then the connection is closed. */
gboolean pay_event_outbox_try_lead (PayEventOutbox *outbox,
                                    gboolean       *leader,
                                    gint64         *cursor,
                                    GError        **error);

/* Up to @limit rows of payment_events with id > @after_id, ascending, as PayEventRow*
 * in a new array that frees them. NULL with @error on failure. */
GPtrArray *pay_event_outbox_read (PayEventOutbox *outbox,
                                  gint64          after_id,
                                  guint           limit,
                                  GError        **error);

/* The ids of the InnoDB transactions open now, other than this session's, as strings in a
 * new array (information_schema.INNODB_TRX, which needs the PROCESS privilege). NULL
 * without @error set when the server refuses it (logged once), NULL with @error when
 * MySQL failed. */
GPtrArray *pay_event_outbox_open_transactions (PayEventOutbox *outbox, GError **error);

/* Durably records that every event with id <= @last_id is acked (never moves back). */
gboolean pay_event_outbox_advance (PayEventOutbox *outbox, gint64 last_id, GError **error);

/* How many events have id > @after_id, and the created_at_ms of the oldest (0: none). */
gboolean pay_event_outbox_lag (PayEventOutbox *outbox,
                               gint64          after_id,
                               gint64         *count,
                               gint64         *oldest_ms,
                               GError        **error);

/* Closes the connection, if open: the lock, if held, goes with it. */
void pay_event_outbox_disconnect (PayEventOutbox *outbox);

G_END_DECLS
