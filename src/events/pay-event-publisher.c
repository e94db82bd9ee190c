/* pay-event-publisher.c: the NATS JetStream connection, stream set-up and asynchronous
 * publishing of the relay, with libnats' callbacks handed to the main context. */
#define G_LOG_DOMAIN "payment-events"

#include "events/pay-event-publisher.h"

#include <nats/nats.h>

#include "events/pay-event-json.h"

/* Between attempts to set the stream up while connected. */
#define PAY_EVENT_STREAM_RETRY_MS      2000
/* libnats' wait for a connection attempt and for a JetStream API reply. */
#define PAY_EVENT_CONNECT_TIMEOUT_MS   2000
#define PAY_EVENT_API_WAIT_MS          5000
/* Between reconnect attempts; libnats retries for ever. */
#define PAY_EVENT_RECONNECT_WAIT_MS    1000
#define PAY_EVENT_NATS_NAME            "payment-service events relay"
#define NS_PER_SECOND                  G_GINT64_CONSTANT (1000000000)

/* ---- the mailbox: libnats threads -> main context ------------------------------------ */

typedef enum {
  NOTE_ACKED,
  NOTE_FAILED,
  NOTE_CONNECTED,
  NOTE_DISCONNECTED,
} NoteKind;

typedef struct {
  NoteKind  kind;
  gboolean  duplicate;
  gchar    *event_id;
  gchar    *reason;
} Note;

/* Shared (reference-counted) by the publisher and libnats' callbacks, which may outlive
 * the publisher: once it is closed, target is NULL and notes are dropped. */
typedef struct {
  GMutex             lock;
  GQueue             notes;       /* Note* */
  gboolean           scheduled;   /* a drain is queued on the context */
  PayEventPublisher *target;      /* NULL once closed; read and cleared on the context */
  GMainContext      *context;
} Mailbox;

static void
note_free (gpointer data)
{
  Note *note = data;

  g_free (note->event_id);
  g_free (note->reason);
  g_free (note);
}

static void
mailbox_clear (gpointer data)
{
  Mailbox *mailbox = data;

  g_queue_clear_full (&mailbox->notes, note_free);
  g_main_context_unref (mailbox->context);
  g_mutex_clear (&mailbox->lock);
}

static void
mailbox_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, mailbox_clear);
}

static void deliver (PayEventPublisher *self, Note *note);

/* On the context: every note posted since the last drain, in order. */
static gboolean
mailbox_drain (gpointer data)
{
  Mailbox *mailbox = data;
  GQueue notes = G_QUEUE_INIT;
  Note *note;

  g_mutex_lock (&mailbox->lock);
  notes = mailbox->notes;
  g_queue_init (&mailbox->notes);
  mailbox->scheduled = FALSE;
  g_mutex_unlock (&mailbox->lock);

  while ((note = g_queue_pop_head (&notes)) != NULL)
    {
      if (mailbox->target != NULL)
        deliver (mailbox->target, note);
      note_free (note);
    }
  return G_SOURCE_REMOVE;
}

/* Any thread. One drain is queued per burst of notes, not one per note. */
static void
mailbox_post (Mailbox *mailbox, NoteKind kind, const gchar *event_id, gboolean duplicate,
              const gchar *reason)
{
  Note *note = g_new0 (Note, 1);
  gboolean schedule;

  note->kind = kind;
  note->duplicate = duplicate;
  note->event_id = g_strdup (event_id);
  note->reason = g_strdup (reason);

  g_mutex_lock (&mailbox->lock);
  g_queue_push_tail (&mailbox->notes, note);
  schedule = !mailbox->scheduled;
  mailbox->scheduled = TRUE;
  g_mutex_unlock (&mailbox->lock);

  if (schedule)
    g_main_context_invoke_full (mailbox->context, G_PRIORITY_DEFAULT, mailbox_drain,
                                g_atomic_rc_box_acquire (mailbox), mailbox_release);
}

/* ---- libnats callbacks (its threads) ------------------------------------------------- */

static void
on_nats_connected (natsConnection *nc, void *closure)
{
  mailbox_post (closure, NOTE_CONNECTED, NULL, FALSE, NULL);
}

static void
on_nats_disconnected (natsConnection *nc, void *closure)
{
  mailbox_post (closure, NOTE_DISCONNECTED, NULL, FALSE, NULL);
}

/* The connection's last callback: libnats' reference to the mailbox goes with it. */
static void
on_nats_closed (natsConnection *nc, void *closure)
{
  mailbox_release (closure);
}

static void
on_nats_error (natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
  g_debug ("NATS asynchronous error: %s", natsStatus_GetText (err));
}

/* Every async publish ends here once: with its PubAck, or with the error or timeout. We
 * own @msg (AckHandler contract) and destroy it. */
static void
on_pub_ack (jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
  const char *event_id = NULL;

  if (natsMsgHeader_Get (msg, "Nats-Msg-Id", &event_id) != NATS_OK || event_id == NULL)
    {
      natsMsg_Destroy (msg);
      return;
    }
  if (pa != NULL)
    mailbox_post (closure, NOTE_ACKED, event_id, pa->Duplicate, NULL);
  else
    mailbox_post (closure, NOTE_FAILED, event_id, FALSE,
                  pae == NULL ? "no acknowledgement"
                  : pae->ErrText != NULL ? pae->ErrText : natsStatus_GetText (pae->Err));
  natsMsg_Destroy (msg);
}

/* ---- the object ---------------------------------------------------------------------- */

struct _PayEventPublisher
{
  GObject parent_instance;

  gchar  **servers;                 /* from nats_url */
  gchar   *stream;
  gint64   max_age_seconds;
  gint64   duplicate_window_seconds;
  guint    max_in_flight;

  PayEventPublisherCallbacks callbacks;
  gpointer                   user_data;
  Mailbox                   *mailbox;

  natsConnection *nc;               /* set by the connect task; NULL before and after */
  jsCtx          *js;
  gboolean        connected;
  gboolean        stream_ready;
  gboolean        ready;            /* as last reported */
  gboolean        connecting;       /* the connect task runs */
  gboolean        setting_up;       /* a stream task runs */
  gboolean        closing;
  GTask          *close_task;       /* waits for the tasks above to end */
  gboolean        differs_logged;
  gboolean        stream_failure_logged;
  guint           retry_id;
};

G_DEFINE_FINAL_TYPE (PayEventPublisher, pay_event_publisher, G_TYPE_OBJECT)

static void
pay_event_publisher_init (PayEventPublisher *self)
{
}

static void
pay_event_publisher_dispose (GObject *object)
{
  PayEventPublisher *self = PAY_EVENT_PUBLISHER (object);

  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->mailbox != NULL)
    self->mailbox->target = NULL;
  G_OBJECT_CLASS (pay_event_publisher_parent_class)->dispose (object);
}

static void
pay_event_publisher_finalize (GObject *object)
{
  PayEventPublisher *self = PAY_EVENT_PUBLISHER (object);

  /* Only a publisher never started, or closed, gets here with no connection. */
  if (self->js != NULL)
    jsCtx_Destroy (self->js);
  if (self->nc != NULL)
    natsConnection_Destroy (self->nc);
  g_clear_pointer (&self->mailbox, mailbox_release);
  g_strfreev (self->servers);
  g_free (self->stream);
  G_OBJECT_CLASS (pay_event_publisher_parent_class)->finalize (object);
}

static void
pay_event_publisher_class_init (PayEventPublisherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_event_publisher_dispose;
  object_class->finalize = pay_event_publisher_finalize;
}

PayEventPublisher *
pay_event_publisher_new (const PayEventsSettings          *settings,
                         const PayEventPublisherCallbacks *callbacks,
                         gpointer                          user_data)
{
  PayEventPublisher *self;
  g_auto(GStrv) urls = NULL;
  g_autoptr(GStrvBuilder) servers = g_strv_builder_new ();

  g_return_val_if_fail (settings != NULL && settings->nats_url != NULL, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  self = g_object_new (PAY_TYPE_EVENT_PUBLISHER, NULL);
  urls = g_strsplit (settings->nats_url, ",", -1);
  for (gsize i = 0; urls[i] != NULL; i++)
    g_strv_builder_add (servers, g_strstrip (urls[i]));
  self->servers = g_strv_builder_end (servers);
  self->stream = g_strdup (settings->stream);
  self->max_age_seconds = settings->max_age_seconds;
  self->duplicate_window_seconds = settings->duplicate_window_seconds;
  self->max_in_flight = settings->max_in_flight;
  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->mailbox = g_atomic_rc_box_new0 (Mailbox);
  g_mutex_init (&self->mailbox->lock);
  g_queue_init (&self->mailbox->notes);
  self->mailbox->context = g_main_context_ref_thread_default ();
  self->mailbox->target = self;
  return self;
}

gboolean
pay_event_publisher_is_ready (PayEventPublisher *self)
{
  g_return_val_if_fail (PAY_IS_EVENT_PUBLISHER (self), FALSE);
  return self->ready;
}

static void
update_ready (PayEventPublisher *self)
{
  gboolean ready = self->connected && self->stream_ready && !self->closing;

  if (ready == self->ready)
    return;
  self->ready = ready;
  if (ready)
    g_message ("NATS connected, stream %s ready", self->stream);
  else
    g_warning ("NATS unavailable; payment events wait in MySQL");
  self->callbacks.ready_changed (ready, self->user_data);
}

/* ---- the stream (worker thread) ------------------------------------------------------ */

/* The configuration we create the stream with. */
static void
stream_config (PayEventPublisher *self, jsStreamConfig *config, const char **subjects)
{
  jsStreamConfig_Init (config);
  subjects[0] = PAY_EVENT_SUBJECTS;
  config->Name = self->stream;
  config->Subjects = subjects;
  config->SubjectsLen = 1;
  config->Storage = js_FileStorage;
  config->MaxAge = self->max_age_seconds * NS_PER_SECOND;
  config->Duplicates = self->duplicate_window_seconds * NS_PER_SECOND;
}

static gboolean
stream_differs (const jsStreamConfig *have, const jsStreamConfig *want)
{
  gboolean subjects = have->SubjectsLen == 1 && g_strcmp0 (have->Subjects[0], want->Subjects[0]) == 0;

  return !subjects || have->Storage != want->Storage || have->MaxAge != want->MaxAge ||
         have->Duplicates != want->Duplicates;
}

static void
set_up_stream_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PayEventPublisher *self = source;
  jsStreamConfig config;
  const char *subjects[1];
  jsStreamInfo *info = NULL;
  jsOptions options;
  jsErrCode code = 0;
  natsStatus status;

  stream_config (self, &config, subjects);
  jsOptions_Init (&options);
  options.Wait = PAY_EVENT_API_WAIT_MS;
  status = js_GetStreamInfo (&info, self->js, self->stream, &options, &code);
  if (status == NATS_NOT_FOUND || code == JSStreamNotFoundErr)
    {
      status = js_AddStream (&info, self->js, &config, &options, &code);
      if (status == NATS_OK)
        g_message ("created stream %s (subjects %s, file storage, max age %" G_GINT64_FORMAT
                   " s, duplicate window %" G_GINT64_FORMAT " s)", self->stream, PAY_EVENT_SUBJECTS,
                   self->max_age_seconds, self->duplicate_window_seconds);
    }
  else if (status == NATS_OK && stream_differs (info->Config, &config) &&
           !g_atomic_int_exchange (&self->differs_logged, TRUE))
    {
      g_message ("stream %s exists with other settings than [events] names (subjects, "
                 "storage, max age or duplicate window); it is used as it is", self->stream);
    }
  if (info != NULL)
    jsStreamInfo_Destroy (info);
  if (status != NATS_OK)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "stream %s: %s (JetStream error %d)", self->stream,
                               natsStatus_GetText (status), (gint) code);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void set_up_stream (PayEventPublisher *self);
static void maybe_close (PayEventPublisher *self);

static gboolean
on_stream_retry (gpointer user_data)
{
  PayEventPublisher *self = user_data;

  self->retry_id = 0;
  set_up_stream (self);
  return G_SOURCE_REMOVE;
}

static void
on_stream_set_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayEventPublisher *self = PAY_EVENT_PUBLISHER (source);
  g_autoptr(GError) error = NULL;

  self->setting_up = FALSE;
  if (self->closing)
    {
      maybe_close (self);
      return;
    }
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Once per failure streak: a stream that cannot be made (its subjects overlap another
       * stream's, say) needs an operator. */
      if (!self->stream_failure_logged)
        g_warning ("cannot set the stream up: %s; retrying every %u ms", error->message,
                   PAY_EVENT_STREAM_RETRY_MS);
      else
        g_debug ("%s; retrying", error->message);
      self->stream_failure_logged = TRUE;
      if (self->retry_id == 0)
        self->retry_id = g_timeout_add (PAY_EVENT_STREAM_RETRY_MS, on_stream_retry, self);
      return;
    }
  self->stream_ready = TRUE;
  self->stream_failure_logged = FALSE;
  update_ready (self);
}

static void
set_up_stream (PayEventPublisher *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->setting_up || self->closing || self->js == NULL || !self->connected ||
      self->stream_ready)
    return;
  self->setting_up = TRUE;
  task = g_task_new (self, NULL, on_stream_set_up, NULL);
  g_task_set_source_tag (task, set_up_stream);
  g_task_run_in_thread (task, set_up_stream_in_thread);
}

/* ---- notes, on the main context ------------------------------------------------------ */

static void
deliver (PayEventPublisher *self, Note *note)
{
  switch (note->kind)
    {
    case NOTE_ACKED:
      self->callbacks.acked (note->event_id, note->duplicate, self->user_data);
      break;
    case NOTE_FAILED:
      self->callbacks.failed (note->event_id, note->reason, self->user_data);
      break;
    case NOTE_CONNECTED:
      self->connected = TRUE;
      /* The server may have restarted without its store: look at the stream again. */
      self->stream_ready = FALSE;
      set_up_stream (self);
      update_ready (self);
      break;
    case NOTE_DISCONNECTED:
      self->connected = FALSE;
      update_ready (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ---- connecting (worker thread) ------------------------------------------------------ */

typedef struct {
  natsConnection *nc;
  jsCtx          *js;
  gboolean        connected;
} Connected;

static void
connected_free (gpointer data)
{
  Connected *c = data;

  if (c->js != NULL)
    jsCtx_Destroy (c->js);
  if (c->nc != NULL)
    natsConnection_Destroy (c->nc);
  g_free (c);
}

static natsStatus
make_options (PayEventPublisher *self, natsOptions **options)
{
  natsStatus s = natsOptions_Create (options);
  natsOptions *o = *options;

  if (s == NATS_OK)
    s = natsOptions_SetServers (o, (const char **) self->servers,
                                (int) g_strv_length (self->servers));
  if (s == NATS_OK)
    s = natsOptions_SetName (o, PAY_EVENT_NATS_NAME);
  if (s == NATS_OK)
    s = natsOptions_SetTimeout (o, PAY_EVENT_CONNECT_TIMEOUT_MS);
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect (o, -1);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait (o, PAY_EVENT_RECONNECT_WAIT_MS);
  /* Down at start is like down later: libnats keeps trying in the background. */
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect (o, true, on_nats_connected, self->mailbox);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB (o, on_nats_connected, self->mailbox);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB (o, on_nats_disconnected, self->mailbox);
  if (s == NATS_OK)
    s = natsOptions_SetClosedCB (o, on_nats_closed, self->mailbox);
  if (s == NATS_OK)
    s = natsOptions_SetErrorHandler (o, on_nats_error, self->mailbox);
  return s;
}

static void
connect_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PayEventPublisher *self = source;
  g_autofree Connected *c = g_new0 (Connected, 1);
  natsOptions *options = NULL;
  jsOptions js_options;
  natsStatus s;

  /* libnats' reference to the mailbox, released by on_nats_closed(). */
  g_atomic_rc_box_acquire (self->mailbox);
  s = make_options (self, &options);
  if (s == NATS_OK)
    s = natsConnection_Connect (&c->nc, options);
  natsOptions_Destroy (options);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
    {
      if (c->nc == NULL)
        mailbox_release (self->mailbox);   /* no connection: no closed callback */
      connected_free (g_steal_pointer (&c));
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "NATS connect: %s",
                               natsStatus_GetText (s));
      return;
    }
  c->connected = s == NATS_OK;

  jsOptions_Init (&js_options);
  js_options.Wait = PAY_EVENT_API_WAIT_MS;
  /* Room for the window's max_in_flight and the publishes that timed out on our side
   * while libnats still counts them: a publish never stalls the main loop. */
  js_options.PublishAsync.MaxPending = (int64_t) self->max_in_flight * 2;
  js_options.PublishAsync.AckHandler = on_pub_ack;
  js_options.PublishAsync.AckHandlerClosure = self->mailbox;
  js_options.PublishAsync.StallWait = 1;
  s = natsConnection_JetStream (&c->js, c->nc, &js_options);
  if (s != NATS_OK)
    {
      connected_free (g_steal_pointer (&c));
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "NATS JetStream: %s",
                               natsStatus_GetText (s));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&c), connected_free);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PayEventPublisher *self = PAY_EVENT_PUBLISHER (source);
  g_autoptr(GError) error = NULL;
  Connected *c = g_task_propagate_pointer (G_TASK (result), &error);

  self->connecting = FALSE;
  if (c != NULL)
    {
      self->nc = g_steal_pointer (&c->nc);
      self->js = g_steal_pointer (&c->js);
    }
  if (self->closing)
    {
      g_free (c);
      maybe_close (self);
      return;
    }
  if (c == NULL)
    {
      /* A URL libnats refuses; the configuration checked the scheme only. */
      g_warning ("%s; no events will be relayed", error->message);
      return;
    }
  /* The connected callback of a connect retried in the background may have been
   * delivered already (before the connection was stored here): either way, set up the
   * stream once connected. */
  if (c->connected)
    self->connected = TRUE;
  if (self->connected)
    set_up_stream (self);
  else
    g_warning ("NATS at %s not reachable yet; retrying in the background", self->servers[0]);
  g_free (c);
}

void
pay_event_publisher_start (PayEventPublisher *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PAY_IS_EVENT_PUBLISHER (self));
  g_return_if_fail (self->nc == NULL && !self->closing);

  self->connecting = TRUE;
  task = g_task_new (self, NULL, on_connected, NULL);
  g_task_set_source_tag (task, pay_event_publisher_start);
  g_task_run_in_thread (task, connect_in_thread);
}

/* ---- publishing ---------------------------------------------------------------------- */

gboolean
pay_event_publisher_publish (PayEventPublisher *self,
                             const gchar       *subject,
                             const gchar       *event_id,
                             GBytes            *payload,
                             GError           **error)
{
  natsMsg *msg = NULL;
  jsPubOptions options;
  gsize length;
  const gchar *data = g_bytes_get_data (payload, &length);
  natsStatus s;

  g_return_val_if_fail (PAY_IS_EVENT_PUBLISHER (self), FALSE);
  g_return_val_if_fail (subject != NULL && event_id != NULL && payload != NULL, FALSE);

  if (self->js == NULL || !self->ready)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "NATS not ready");
      return FALSE;
    }
  s = natsMsg_Create (&msg, subject, NULL, data, (int) length);
  /* The header JetStream deduplicates on, within the stream's duplicate window. */
  if (s == NATS_OK)
    s = natsMsgHeader_Set (msg, "Nats-Msg-Id", event_id);
  if (s == NATS_OK)
    s = natsMsgHeader_Set (msg, "Content-Type", PAY_EVENT_CONTENT_TYPE);
  if (s == NATS_OK)
    {
      jsPubOptions_Init (&options);
      options.MaxWait = PAY_EVENT_PUBLISH_TIMEOUT_MS;
      s = js_PublishMsgAsync (self->js, &msg, &options);
    }
  natsMsg_Destroy (msg);   /* NULL (a no-op) when libnats took it */
  if (s != NATS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "publish: %s", natsStatus_GetText (s));
      return FALSE;
    }
  return TRUE;
}

/* ---- closing ------------------------------------------------------------------------- */

static void
close_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Connected *c = data;

  /* The context first: no publish acknowledgement reaches a closed connection. Closing
   * joins libnats' threads for this connection; its closed callback comes last. */
  if (c->js != NULL)
    jsCtx_Destroy (g_steal_pointer (&c->js));
  if (c->nc != NULL)
    natsConnection_Destroy (g_steal_pointer (&c->nc));
  g_task_return_boolean (task, TRUE);
}

/* Closes once neither the connect nor a stream task uses the connection any more. */
static void
maybe_close (PayEventPublisher *self)
{
  g_autoptr(GTask) task = NULL;
  Connected *c;

  if (self->close_task == NULL || self->connecting || self->setting_up)
    return;
  task = g_steal_pointer (&self->close_task);
  c = g_new0 (Connected, 1);
  c->nc = g_steal_pointer (&self->nc);
  c->js = g_steal_pointer (&self->js);
  g_task_set_task_data (task, c, connected_free);
  g_task_run_in_thread (task, close_in_thread);
}

void
pay_event_publisher_close_async (PayEventPublisher   *self,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (PAY_IS_EVENT_PUBLISHER (self));
  g_return_if_fail (!self->closing);

  self->closing = TRUE;
  self->mailbox->target = NULL;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->connected = self->stream_ready = self->ready = FALSE;
  self->close_task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->close_task, pay_event_publisher_close_async);
  maybe_close (self);
}

gboolean
pay_event_publisher_close_finish (PayEventPublisher *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pay_event_publisher_library_close (gint64 timeout_ms)
{
  nats_CloseAndWait (timeout_ms);
}
