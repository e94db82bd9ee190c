/* pay-event-publisher.h: the NATS JetStream side of the relay. Owns one NATS connection
 * (libnats reconnects it by itself) and the stream (created when missing), and publishes
 * events asynchronously with their Nats-Msg-Id. What libnats reports on its own threads
 * (PubAcks, publish failures and timeouts, the connection going and coming back) reaches
 * the owner's main context through a mailbox drained there: the callbacks below run on
 * that context, never on a libnats thread. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"

G_BEGIN_DECLS

#define PAY_TYPE_EVENT_PUBLISHER (pay_event_publisher_get_type ())
G_DECLARE_FINAL_TYPE (PayEventPublisher, pay_event_publisher, PAY, EVENT_PUBLISHER, GObject)

/* How long a publish waits for its PubAck before it counts as failed. */
#define PAY_EVENT_PUBLISH_TIMEOUT_MS 5000

typedef struct {
  /* The PubAck of @event_id arrived (@duplicate: the stream had it already). */
  void (*acked)  (const gchar *event_id, gboolean duplicate, gpointer user_data);
  /* The publish of @event_id failed or timed out: publish it again. */
  void (*failed) (const gchar *event_id, const gchar *reason, gpointer user_data);
  /* pay_event_publisher_is_ready() changed. */
  void (*ready_changed) (gboolean ready, gpointer user_data);
} PayEventPublisherCallbacks;

/* For @settings (the [events] group, copied; nats_url set). @callbacks (copied) run on the
 * thread-default main context of the caller, with @user_data, until
 * pay_event_publisher_close_async() is called. Connects only once started. */
PayEventPublisher *pay_event_publisher_new (const PayEventsSettings        *settings,
                                            const PayEventPublisherCallbacks *callbacks,
                                            gpointer                          user_data);

/* Connects (in a worker thread; libnats keeps retrying in the background when the
 * server is down) and then sets the stream up, retrying until it is: ready_changed
 * tells when. */
void pay_event_publisher_start (PayEventPublisher *self);

/* TRUE while connected with the stream set up: publishing is possible. */
gboolean pay_event_publisher_is_ready (PayEventPublisher *self);

/* Publishes @payload on @subject with header Nats-Msg-Id: @event_id, without waiting:
 * acked or failed tells the outcome later. FALSE with @error when libnats refused it at
 * once (then no callback comes for it). Main context only; never blocks on the network. */
gboolean pay_event_publisher_publish (PayEventPublisher *self,
                                      const gchar       *subject,
                                      const gchar       *event_id,
                                      GBytes            *payload,
                                      GError           **error);

/* Stops the callbacks, then closes the connection in a worker thread (libnats joins its
 * threads there) and calls @callback. */
void     pay_event_publisher_close_async  (PayEventPublisher   *self,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean pay_event_publisher_close_finish (PayEventPublisher   *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* Releases what libnats keeps process-wide, waiting up to @timeout_ms for its threads.
 * For main() at exit, after every publisher is closed. */
void pay_event_publisher_library_close (gint64 timeout_ms);

G_END_DECLS
