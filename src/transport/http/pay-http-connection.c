/* pay-http-connection.c: the GIOStream libsoup serves one HTTP connection on, with the
 * deadlines libsoup 3 does not have.
 *
 * A connection is idle (between requests, or before its first), reading a request (from
 * the first byte read after idle until the server's "request-read"), or busy (the request
 * is being answered). A busy connection's deadline is the idle timeout, and it only counts
 * once the answer is there: the service bounds its own work, but an answer the client does
 * not take (it never reads) would hold the connection for good. Reads go through an input
 * stream of ours (pollable, as libsoup requires) that notes them. One timer source per
 * connection holds the state's deadline; it is moved earlier when a deadline starts and
 * lazily later (it fires, finds the deadline moved, and re-arms), so a request costs at
 * most one move. At a deadline the socket is shut down and libsoup, reading the end of
 * the stream, closes the connection as if the peer had.
 *
 * With HTTPS the stream is a TLS server connection over the socket's: libsoup and the
 * screen below see plaintext, the timers and the cut still act on the socket. The
 * handshake is done here before libsoup gets the stream (in GIO's worker thread, blocking
 * reads on the socket), timed as a request; a cut ends it at once.
 *
 * Except that libsoup 3.2.3 never closes a kept-alive connection whose stream ends
 * between two requests (the peer's close, or our shutdown): after a response it reads
 * into a new message that has no completion callback until its first byte
 * (soup_server_message_io_http1_finished and io_read in soup-server-message-io-http1.c),
 * so the end of the stream finishes that message and nothing disconnects. The connection
 * then stayed in the server's list of clients, with this stream and its socket, until the
 * server stopped (libsoup 3.3.0 disconnects it). So libsoup never reads that end: when a
 * read finds the end of the stream and no request has started since the last one ended,
 * the read says "would block" and, on the next main-context turn (outside libsoup's I/O),
 * the connection is taken back from libsoup with soup_server_message_steal_connection()
 * on the last request's message (a message names its connection, not its request; the
 * steal frees libsoup's state of it and emits "disconnected", which drops it from the
 * server's list) and closed here. If a request had started by then (the new message read
 * bytes libsoup had buffered), libsoup is shown the end instead, for that request: it
 * interrupts it and disconnects, or (headers cut after a line end) answers it, and then
 * reads the end again into a new message, which holds it back again. Stealing is safe only then and there: while libsoup
 * reads into a message (not from inside its own callbacks: it frees the message's I/O
 * state first), and on a connection it has not disconnected (a second "disconnected"
 * would drop the server's reference twice). A connection whose end libsoup was shown and
 * did not close within a grace period is still closed here. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-http-connection.h"

#include <libsoup/soup.h>
#include <string.h>

#include "core/pay-error.h"
#include "transport/http/pay-http-framing.h"
#include "transport/http/pay-json-codec.h"
#include "transport/pay-listener.h"

typedef enum {
  STATE_IDLE,
  STATE_READING,
  STATE_BUSY,
  STATE_ENDED,     /* the stream ended or was shut down: closed when the deadline comes */
} State;

/* How long libsoup gets to close a connection whose stream ended. */
#define ENDED_GRACE_US (1 * G_USEC_PER_SEC)

enum {
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _PayHttpConnection
{
  GIOStream parent_instance;

  GIOStream         *base;         /* the bytes: the socket connection, or TLS over it */
  GSocket           *socket;       /* the socket under base: what a cut shuts down */
  GInputStream      *input;        /* a PayHttpInput over base's input stream */
  PayHttpLimits      limits;
  PayMetrics        *metrics;
  gchar             *peer;
  GSource           *timer;        /* ready time: the deadline, or earlier (see arm()) */
  State              state;
  gint64             deadline_us;  /* of the state; G_MAXINT64: none */
  gboolean           closed;       /* "closed" emitted */
  gboolean           handshaking;  /* a TLS handshake is awaited or under way (base is TLS) */
  GTask             *handshake;    /* pay_http_connection_handshake_async()'s, until its first byte */
  GSource           *first_byte;   /* the socket readable: the handshake's first byte is in */

  /* The libsoup 3.2.3 workaround (see the top of the file). */
  SoupServerMessage *message;      /* the last request started; released when closed */
  gboolean           in_request;   /* it has started and not ended */
  GSource           *end_check;    /* the end of the stream is held back until it runs */
  gboolean           end_shown;    /* reads may return the end, until the request ends */

  /* The other: the request framing libsoup 3.2.3 may see (pay-http-framing.h). */
  PayHttpFraming     framing;      /* where the screen is in the bytes read */
  gboolean           refused;      /* the screen refused a byte: nothing more is read */
  gboolean           answered;     /* the refusal was answered and the socket shut down */
};

G_DEFINE_FINAL_TYPE (PayHttpConnection, pay_http_connection, G_TYPE_IO_STREAM)

static void note_read (PayHttpConnection *self, gssize n);
static gboolean hold_end (PayHttpConnection *self);
static gsize screen (PayHttpConnection *self, const void *buffer, gsize n);
static void answer_refused (PayHttpConnection *self);

/* ---- the input stream: the base's, with every read noted ----------------------------- */

#define PAY_TYPE_HTTP_INPUT (pay_http_input_get_type ())
G_DECLARE_FINAL_TYPE (PayHttpInput, pay_http_input, PAY, HTTP_INPUT, GFilterInputStream)

struct _PayHttpInput
{
  GFilterInputStream parent_instance;

  PayHttpConnection *owner;   /* not owned; cleared when the connection goes first */
};

static void pay_http_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PayHttpInput, pay_http_input, G_TYPE_FILTER_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      pay_http_input_pollable_init))

static GInputStream *
input_base (gpointer stream)
{
  return g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
}

/* Tells the connection what a read of @count bytes returned. */
static gssize
input_noted (PayHttpInput *self, gsize count, gssize n)
{
  if (count > 0 && n >= 0 && self->owner != NULL)
    note_read (self->owner, n);
  return n;
}

/* What a read of @count bytes that returned @n (the base's) returns: the bytes the screen
 * lets through; at the end of the stream (or once refused, in place of any more bytes),
 * "would block" while the end is held back (hold_end()), an error once refused. */
static gssize
input_filtered (PayHttpInput *self, void *buffer, gsize count, gssize n, GError **error)
{
  PayHttpConnection *owner = self->owner;

  if (owner == NULL || count == 0 || n < 0)
    return n;
  if (n > 0)
    n = (gssize) screen (owner, buffer, (gsize) n);
  if (n > 0)
    return input_noted (self, count, n);
  if (owner->refused)
    answer_refused (owner);   /* refused at the first byte of this read */
  if (hold_end (owner))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                           "end of stream held back");
      return -1;
    }
  if (owner->refused)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "request refused");
      return -1;
    }
  return input_noted (self, count, 0);
}

/* A read that failed (a reset; a TLS record that does not decrypt) ends the stream as
 * its end does: libsoup 3.2.3 keeps a connection whose read fails between requests just
 * as one whose stream ends (see the top of the file), so both go through hold_end(). */
static gssize
error_as_end (PayHttpInput *self, gssize n, GError *local, GError **error)
{
  if (n >= 0)
    return n;
  if (self->owner == NULL || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ||
      g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, local);
      return n;
    }
  g_debug ("http %s: read failed, taken as the end of the stream: %s", self->owner->peer,
           local->message);
  g_error_free (local);
  return 0;
}

/* Reads from the base, unless a request was refused: nothing more is read then, and the
 * refusal is answered when libsoup reads past the bytes it was given (answer_refused()). */
static gssize
input_read (PayHttpInput *self, void *buffer, gsize count, gboolean blocking,
            GCancellable *cancellable, GError **error)
{
  GInputStream *base = input_base (self);
  GError *local = NULL;
  gssize n;

  if (self->owner != NULL && self->owner->refused)
    {
      answer_refused (self->owner);
      return 0;
    }
  if (blocking)
    n = g_input_stream_read (base, buffer, count, cancellable, &local);
  else
    n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (base), buffer,
                                                  count, NULL, &local);
  return error_as_end (self, n, local, error);
}

static gssize
pay_http_input_read (GInputStream *stream, void *buffer, gsize count,
                     GCancellable *cancellable, GError **error)
{
  PayHttpInput *self = PAY_HTTP_INPUT (stream);

  return input_filtered (self, buffer, count,
                         input_read (self, buffer, count, TRUE, cancellable, error), error);
}

/* libsoup's server reads only through here. */
static gssize
pay_http_input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                                 GError **error)
{
  PayHttpInput *self = PAY_HTTP_INPUT (stream);

  return input_filtered (self, buffer, count,
                         input_read (self, buffer, count, FALSE, NULL, error), error);
}

static gboolean
pay_http_input_can_poll (GPollableInputStream *stream)
{
  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input_base (stream)));
}

/* Once a request was refused, a read is due at once: the bytes after the refused one
 * were taken from the socket, which may have nothing more to read, and libsoup must read
 * to find the refusal (a refusal at a request's first byte leaves it nothing to read). */
static gboolean
input_refused (GPollableInputStream *stream)
{
  PayHttpConnection *owner = PAY_HTTP_INPUT (stream)->owner;

  return owner != NULL && owner->refused;
}

static gboolean
pay_http_input_is_readable (GPollableInputStream *stream)
{
  return input_refused (stream) ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (input_base (stream)));
}

static GSource *
pay_http_input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  g_autoptr(GSource) base_source =
    input_refused (stream)
      ? g_timeout_source_new (0)
      : g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input_base (stream)),
                                               NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static void
pay_http_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = pay_http_input_can_poll;
  iface->is_readable = pay_http_input_is_readable;
  iface->create_source = pay_http_input_create_source;
  iface->read_nonblocking = pay_http_input_read_nonblocking;
}

static void
pay_http_input_init (PayHttpInput *self)
{
}

static void
pay_http_input_class_init (PayHttpInputClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = pay_http_input_read;
}

/* ---- deadlines ------------------------------------------------------------------------ */

/* Enters @state, whose deadline is @delay_us from now (0: none). The timer only moves
 * earlier here: a later deadline is found when the earlier ready time fires. Nothing
 * leaves STATE_ENDED. */
static void
arm (PayHttpConnection *self, State state, gint64 delay_us)
{
  gint64 due;

  if (self->state == STATE_ENDED || self->timer == NULL)
    return;
  self->state = state;
  self->deadline_us = delay_us > 0 ? g_get_monotonic_time () + delay_us : G_MAXINT64;
  due = g_source_get_ready_time (self->timer);
  if (self->deadline_us != G_MAXINT64 && (due < 0 || self->deadline_us < due))
    g_source_set_ready_time (self->timer, self->deadline_us);
}

static gint64
seconds_us (guint seconds)
{
  return (gint64) seconds * G_USEC_PER_SEC;
}

/* @n bytes were read: the first after idle starts the read deadline; none is the end. */
static void
note_read (PayHttpConnection *self, gssize n)
{
  if (n == 0)
    arm (self, STATE_ENDED, ENDED_GRACE_US);
  else if (self->state == STATE_IDLE)
    arm (self, STATE_READING, seconds_us (self->limits.read_timeout_seconds));
}

/* The deadline of the state came. */
static void
on_deadline (PayHttpConnection *self)
{
  gboolean reading = self->state == STATE_READING;

  if (self->state == STATE_ENDED)
    {
      g_debug ("http %s: stream ended and libsoup left it open, closing", self->peer);
      g_io_stream_close (G_IO_STREAM (self), NULL, NULL);
      return;
    }
  if (self->state == STATE_BUSY &&
      (self->message == NULL || soup_server_message_get_status (self->message) == 0))
    {
      /* Still the service's work, not the client's: another period. */
      arm (self, STATE_BUSY, seconds_us (self->limits.idle_timeout_seconds));
      return;
    }
  if (self->handshaking)
    g_info ("http %s: TLS handshake not done %u s after the connection, closing", self->peer,
            self->limits.read_timeout_seconds);
  else if (reading)
    g_info ("http %s: request not whole %u s after its first byte, closing", self->peer,
            self->limits.read_timeout_seconds);
  else if (self->state == STATE_BUSY)
    g_info ("http %s: answer not taken by the client for %u s, closing", self->peer,
            self->limits.idle_timeout_seconds);
  else
    g_debug ("http %s: idle for %u s, closing", self->peer, self->limits.idle_timeout_seconds);
  pay_metrics_connection_timed_out (self->metrics, PAY_METRICS_PORT_HTTP,
                                    reading ? PAY_METRICS_TIMEOUT_READ : PAY_METRICS_TIMEOUT_IDLE);
  pay_http_connection_cut (self);
}

static gboolean
on_timer (gpointer data)
{
  g_autoptr(PayHttpConnection) self = g_object_ref (data);   /* closing may drop libsoup's */

  if (self->deadline_us == G_MAXINT64)
    return G_SOURCE_CONTINUE;
  if (g_get_monotonic_time () < self->deadline_us)
    g_source_set_ready_time (self->timer, self->deadline_us);
  else
    on_deadline (self);
  return G_SOURCE_CONTINUE;
}

/* Fires the callback once the ready time is reached; nothing else wakes it. */
static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs timer_funcs = {
  .dispatch = timer_dispatch,
};

/* Stops timing and emits "closed", once. */
static void
finish (PayHttpConnection *self)
{
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->end_check != NULL)
    {
      g_source_destroy (self->end_check);
      g_clear_pointer (&self->end_check, g_source_unref);
    }
  if (self->first_byte != NULL)
    {
      g_source_destroy (self->first_byte);
      g_clear_pointer (&self->first_byte, g_source_unref);
    }
  if (self->handshake != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->handshake);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "closed before its TLS handshake");
    }
  /* The message holds libsoup's connection, which holds this stream. */
  g_clear_object (&self->message);
  if (self->closed)
    return;
  self->closed = TRUE;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
}

/* ---- the end of the stream between requests (libsoup 3.2.3) ------------------------ */

/* Takes the connection back from libsoup and closes it: see the top of the file. */
static void
take_back (PayHttpConnection *self)
{
  g_autoptr(GIOStream) stolen = NULL;

  g_debug ("http %s: closed between requests, releasing it", self->peer);
  stolen = soup_server_message_steal_connection (self->message);
  g_io_stream_close (G_IO_STREAM (self), NULL, NULL);
}

/* A main-context turn after a read held the end of the stream back. */
static gboolean
on_end_check (gpointer data)
{
  g_autoptr(PayHttpConnection) self = g_object_ref (data);   /* closing may drop libsoup's */

  g_clear_pointer (&self->end_check, g_source_unref);
  if (self->closed)
    return G_SOURCE_REMOVE;
  if (self->in_request)
    self->end_shown = TRUE;   /* libsoup reads it again: the socket stays readable */
  else
    take_back (self);
  return G_SOURCE_REMOVE;
}

/* A read found the end of the stream: whether to hide it from libsoup, which would not
 * close the connection if no request has started since the last ended. The check runs
 * first on the next turn (a higher priority than libsoup's read source). */
static gboolean
hold_end (PayHttpConnection *self)
{
  if (self->end_shown || self->closed || self->in_request || self->message == NULL)
    return FALSE;
  if (self->end_check == NULL)
    {
      self->end_check = g_idle_source_new ();
      g_source_set_priority (self->end_check, G_PRIORITY_HIGH);
      g_source_set_callback (self->end_check, on_end_check, self, NULL);
      g_source_set_name (self->end_check, "payment http connection end");
      g_source_attach (self->end_check, g_main_context_get_thread_default ());
    }
  return TRUE;
}

/* ---- requests libsoup 3.2.3 must not parse ------------------------------------------- */

/* Answers a refused request with 400 (4004003) straight on the socket, once, and shuts
 * the socket down. Called when libsoup reads past the bytes it was given: it has then
 * answered every request before (it reads a request only after it has written the
 * response before) and has not seen the end of the refused one's headers; it is then
 * shown an error (or the connection is taken back from it), and writes nothing. A refusal
 * inside a body comes before libsoup wrote anything for that request (it writes a
 * response once the body is read), so this is that request's answer. */
static void
answer_refused (PayHttpConnection *self)
{
  guint status = pay_error_http_status (PAY_ERROR_INVALID_REQUEST);
  gsize length;
  g_autofree gchar *body = NULL;
  g_autofree gchar *reply = NULL;
  GOutputStream *output = g_io_stream_get_output_stream (self->base);

  if (self->answered)
    return;
  self->answered = TRUE;
  body = pay_json_encode_error (PAY_ERROR_INVALID_REQUEST,
                                "malformed or unsupported request framing", &length);
  reply = g_strdup_printf ("HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                           "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n"
                           "%.*s", status, soup_status_get_phrase (status), length,
                           (int) length, body);
  g_info ("http %s: request framing refused (pay-http-framing.h)",
          self->peer);
  /* Best effort: a socket whose buffer cannot take it belongs to a client not reading. */
  g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output), reply,
                                              strlen (reply), NULL, NULL);
  pay_http_connection_cut (self);
}

/* Passes @n bytes read through the screen: returns how many libsoup may see (all of
 * them, or those before the one refused). */
static gsize
screen (PayHttpConnection *self, const void *buffer, gsize n)
{
  gsize passed = pay_http_framing_scan (&self->framing, buffer, n);

  self->refused = passed < n;
  return passed;
}

/* ---- GIOStream ------------------------------------------------------------------------ */

static GInputStream *
pay_http_connection_get_input_stream (GIOStream *stream)
{
  return PAY_HTTP_CONNECTION (stream)->input;
}

static GOutputStream *
pay_http_connection_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (PAY_HTTP_CONNECTION (stream)->base);
}

/* Closing TLS writes a close_notify alert, blocking (glib-networking closes with no
 * timeout), and waits for a handshake under way in GIO's thread to end. Neither may hold
 * the main loop: while a handshake runs, or when the socket cannot take the alert now (a
 * peer that does not read), the socket is shut down first, which ends both at once. */
static void
unblock_tls_close (PayHttpConnection *self)
{
  if (!G_IS_TLS_CONNECTION (self->base))
    return;
  if (self->handshaking || !g_socket_condition_check (self->socket, G_IO_OUT))
    g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
}

/* libsoup closes synchronously (its disconnect); the default asynchronous close would
 * close the two streams but not the socket, which then closes at finalize. */
static gboolean
pay_http_connection_close_fn (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  PayHttpConnection *self = PAY_HTTP_CONNECTION (stream);
  gboolean closed;

  unblock_tls_close (self);
  closed = g_io_stream_close (self->base, cancellable, error);

  finish (self);
  return closed;
}

static void
pay_http_connection_init (PayHttpConnection *self)
{
  self->deadline_us = G_MAXINT64;
}

static void
pay_http_connection_dispose (GObject *object)
{
  PayHttpConnection *self = PAY_HTTP_CONNECTION (object);

  /* GIOStream's dispose closes an open stream (close_fn, then finish()); this covers
   * one closed asynchronously. */
  G_OBJECT_CLASS (pay_http_connection_parent_class)->dispose (object);
  finish (self);
  if (self->input != NULL)
    PAY_HTTP_INPUT (self->input)->owner = NULL;
}

static void
pay_http_connection_finalize (GObject *object)
{
  PayHttpConnection *self = PAY_HTTP_CONNECTION (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);
  g_clear_object (&self->socket);
  g_clear_object (&self->metrics);
  g_free (self->peer);
  G_OBJECT_CLASS (pay_http_connection_parent_class)->finalize (object);
}

static void
pay_http_connection_class_init (PayHttpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = pay_http_connection_dispose;
  object_class->finalize = pay_http_connection_finalize;
  stream_class->get_input_stream = pay_http_connection_get_input_stream;
  stream_class->get_output_stream = pay_http_connection_get_output_stream;
  stream_class->close_fn = pay_http_connection_close_fn;

  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 0);
}

/* ---- public --------------------------------------------------------------------------- */

/* A TLS server connection over @connection. No CA database: clients are not asked for
 * certificates, and with the default one (the system's trust store) glib-networking
 * copies every CA into each connection's GnuTLS credentials when it is made, 3.8 MB per
 * open connection (measured, Debian 12). No close_notify required: most HTTP clients
 * close without one, and HTTP's own framing (the Content-Length libsoup requires) tells
 * a whole request from a cut one. */
static GIOStream *
tls_server_connection_new (GSocketConnection *connection, GTlsCertificate *certificate,
                           GError **error)
{
  GType type = g_tls_backend_get_server_connection_type (g_tls_backend_get_default ());

  return g_initable_new (type, NULL, error, "base-io-stream", connection,
                         "certificate", certificate, "database", NULL,
                         "require-close-notify", FALSE, NULL);
}

PayHttpConnection *
pay_http_connection_new (GSocketConnection   *connection,
                         GTlsCertificate     *certificate,
                         GSocketAddress      *remote,
                         const PayHttpLimits *limits,
                         PayMetrics          *metrics,
                         GError             **error)
{
  g_autoptr(GIOStream) base = NULL;
  PayHttpConnection *self;

  if (certificate == NULL)
    base = G_IO_STREAM (g_object_ref (connection));
  else
    base = tls_server_connection_new (connection, certificate, error);
  if (base == NULL)
    return NULL;
  self = g_object_new (PAY_TYPE_HTTP_CONNECTION, NULL);
  self->base = g_steal_pointer (&base);
  self->socket = g_object_ref (g_socket_connection_get_socket (connection));
  /* The base connection closes its own streams. */
  self->input = g_object_new (PAY_TYPE_HTTP_INPUT,
                              "base-stream", g_io_stream_get_input_stream (self->base),
                              "close-base-stream", FALSE, NULL);
  PAY_HTTP_INPUT (self->input)->owner = self;
  self->limits = *limits;
  self->metrics = g_object_ref (metrics);
  self->peer = pay_peer_address (remote);
  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_set_name (self->timer, "payment http connection deadline");
  g_source_attach (self->timer, g_main_context_get_thread_default ());
  arm (self, STATE_IDLE, seconds_us (limits->idle_timeout_seconds));
  return self;
}

const gchar *
pay_http_connection_get_peer (PayHttpConnection *self)
{
  g_return_val_if_fail (PAY_IS_HTTP_CONNECTION (self), NULL);
  return self->peer;
}

void
pay_http_connection_request_started (PayHttpConnection *self, SoupServerMessage *message)
{
  g_return_if_fail (PAY_IS_HTTP_CONNECTION (self));
  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (message));

  if (self->closed)
    return;
  g_set_object (&self->message, message);
  self->in_request = TRUE;
}

void
pay_http_connection_request_read (PayHttpConnection *self)
{
  g_return_if_fail (PAY_IS_HTTP_CONNECTION (self));
  arm (self, STATE_BUSY, seconds_us (self->limits.idle_timeout_seconds));
}

void
pay_http_connection_request_done (PayHttpConnection *self)
{
  g_return_if_fail (PAY_IS_HTTP_CONNECTION (self));
  /* The end was shown for this request; libsoup reads it again into a new message. */
  self->in_request = FALSE;
  self->end_shown = FALSE;
  arm (self, STATE_IDLE, seconds_us (self->limits.idle_timeout_seconds));
}

void
pay_http_connection_cut (PayHttpConnection *self)
{
  g_return_if_fail (PAY_IS_HTTP_CONNECTION (self));

  if (self->state == STATE_ENDED)
    return;
  g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
  arm (self, STATE_ENDED, ENDED_GRACE_US);
}

/* TLS 1.2 is the oldest version served. The GnuTLS priority (main.c) keeps older ones
 * from being negotiated; this holds when G_TLS_GNUTLS_PRIORITY was set otherwise. */
static gboolean
check_protocol_version (GTlsConnection *tls, GError **error)
{
  GTlsProtocolVersion version = g_tls_connection_get_protocol_version (tls);

  if (version == G_TLS_PROTOCOL_VERSION_TLS_1_2 || version == G_TLS_PROTOCOL_VERSION_TLS_1_3)
    return TRUE;
  g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE,
               "negotiated a protocol older than TLS 1.2 (GTlsProtocolVersion %d)", version);
  return FALSE;
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  PayHttpConnection *self = g_task_get_source_object (task);
  GError *error = NULL;

  self->handshaking = FALSE;
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error) ||
      !check_protocol_version (G_TLS_CONNECTION (source), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  arm (self, STATE_IDLE, seconds_us (self->limits.idle_timeout_seconds));
  g_task_return_boolean (task, TRUE);
}

#define TLS_RECORD_HANDSHAKE 0x16   /* the content type of a ClientHello's record */

/* The socket is readable: its first byte (peeked, left for GnuTLS) says whether a TLS
 * handshake starts. Plain HTTP, or the end, fails here, in the main loop; only a
 * handshake that started takes a worker thread. */
static gboolean
on_first_byte (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PayHttpConnection *self = user_data;
  guint8 byte = 0;
  GInputVector vector = { &byte, 1 };
  gint flags = G_SOCKET_MSG_PEEK;
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive_message (socket, NULL, &vector, 1, NULL, NULL, &flags, NULL,
                                       &error);
  GTask *task;

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->first_byte, g_source_unref);
  task = g_steal_pointer (&self->handshake);
  if (n == 1 && byte == TLS_RECORD_HANDSHAKE)
    g_tls_connection_handshake_async (G_TLS_CONNECTION (self->base), G_PRIORITY_DEFAULT, NULL,
                                      on_handshake, task);
  else
    {
      self->handshaking = FALSE;
      g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS, "%s",
                               n == 1 ? "not a TLS handshake (plain HTTP?)"
                                      : "closed before its TLS handshake");
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

void
pay_http_connection_handshake_async (PayHttpConnection   *self,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (PAY_IS_HTTP_CONNECTION (self));
  g_return_if_fail (self->handshake == NULL && !self->handshaking);

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pay_http_connection_handshake_async);
  if (!G_IS_TLS_CONNECTION (self->base))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* The handshake is the connection's first read: it has read_timeout_seconds, from
   * now. GIO runs it in a worker thread that blocks on the socket, so it starts only
   * once a byte came: a connection that stays silent holds no thread. */
  self->handshaking = TRUE;
  arm (self, STATE_READING, seconds_us (self->limits.read_timeout_seconds));
  self->handshake = task;
  self->first_byte = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->first_byte, G_SOURCE_FUNC (on_first_byte), self, NULL);
  g_source_set_name (self->first_byte, "payment http connection first byte");
  g_source_attach (self->first_byte, g_main_context_get_thread_default ());
}

gboolean
pay_http_connection_handshake_finish (PayHttpConnection *self,
                                      GAsyncResult      *result,
                                      GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
pay_http_connection_is_handshaking (PayHttpConnection *self)
{
  g_return_val_if_fail (PAY_IS_HTTP_CONNECTION (self), FALSE);
  return self->handshaking;
}
