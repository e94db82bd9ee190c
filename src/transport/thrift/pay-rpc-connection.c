/* pay-rpc-connection.c: per-connection RPC state machine on the main loop.
 *
 * One request at a time: read until the framing yields a whole request, hand it to its
 * call (pay-rpc-call.h: the arguments decoded once, the method started, the reply
 * written from the outcome), send the reply once the outcome is in, then look at the
 * next buffered request. Serial processing is what
 * answers pipelined calls in order; not reading while a request is in flight is the
 * back-pressure that bounds the input buffer.
 *
 * The socket is watched by one GSource for the connection's whole life, whose events
 * switch between reading, writing and nothing (a field of its GPollFD, changed in place:
 * no syscall, no GTask and no new source per request), and whose ready time is the next
 * deadline: the idle timer, or the read deadline of a message still arriving. A reply
 * is sent at once, except while requests buffered behind it are answered without I/O:
 * pipelined requests get their replies in one write. Only what the socket does not take
 * waits for it to be writable. */
#define G_LOG_DOMAIN "payment-rpc"

#include "transport/thrift/pay-rpc-connection.h"

#include <string.h>

#include <thrift/c_glib/thrift_application_exception.h>

#include "transport/pay-listener.h"
#include "transport/thrift/pay-rpc-framing.h"
#include "transport/thrift/pay-thrift-scan.h"

#define READ_CHUNK_BYTES (16 * 1024)
/* Replies held back for one write go out once they reach this size. */
#define REPLY_BATCH_BYTES (16 * 1024)

enum {
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _PayRpcConnection
{
  GObject parent_instance;

  GSocketConnection *connection;
  GSocket           *socket;
  PayRpcDispatcher  *dispatcher;
  PayRpcLimits       limits;
  gchar             *peer;            /* for logs */
  gchar             *peer_ip;         /* pay_peer_ip(): the call's peer_ip */

  GByteArray        *inbuf;           /* received, not yet consumed */
  PayFrameReader     reader;          /* how far the request at inbuf's start was read */
  GByteArray        *outbuf;          /* the framed replies being sent (empty: none) */
  gsize              out_sent;        /* bytes of outbuf the socket took */
  GSource           *source;          /* a SocketSource; ready time: the next deadline */
  gint64             last_active_us;
  gint64             read_started_us; /* an unfinished message is buffered since (0: none) */
  gboolean           busy;            /* a request is in flight or its reply is being sent */
  PayRpcCall         call;            /* the request in flight; its frame points into inbuf */
  gboolean           processing;      /* process_input() is running (it loops) */
  gboolean           draining;
  gboolean           closing;         /* close once outbuf is out (close_after_replies()) */
  gboolean           closed;
};

G_DEFINE_FINAL_TYPE (PayRpcConnection, pay_rpc_connection, G_TYPE_OBJECT)

typedef struct {
  GSource           source;
  GPollFD           socket;       /* the connection's socket */
  PayRpcConnection *connection;   /* owns the source, and destroys it before it goes */
} SocketSource;

static void process_input (PayRpcConnection *self);
static gboolean process_next (PayRpcConnection *self);
static void resume_call (gpointer data);

static void
pay_rpc_connection_init (PayRpcConnection *self)
{
  self->inbuf = g_byte_array_new ();
  pay_frame_reader_init (&self->reader);
  self->outbuf = g_byte_array_new ();
  pay_rpc_call_init (&self->call);
  self->call.resume = resume_call;
  self->call.resume_data = self;
}

/* ---- the socket's source, the idle timer and the read deadline --------------------- */

/* Notes activity. The idle timer is not moved here: g_source_set_ready_time() wakes the
 * main context (an eventfd write) every time, twice per request; the timer looks at
 * last_active_us when it fires instead. */
static void
touch (PayRpcConnection *self)
{
  self->last_active_us = g_get_monotonic_time ();
}

/* What the socket is watched for next: G_IO_IN, G_IO_OUT or 0 (a request is with the
 * service). Errors and hang-ups are reported whatever is asked for. The next poll of the
 * loop (this thread's) reads the field: g_source_modify_unix_fd() would also wake the
 * loop up, an eventfd write per call. */
static void
watch (PayRpcConnection *self, GIOCondition events)
{
  if (self->source != NULL)
    ((SocketSource *) self->source)->socket.events = (gushort) events;
}

/* The read deadline: a message must be whole within read_timeout_seconds of the moment
 * its first byte was seen buffered, however its bytes trickle in (each of which resets
 * the idle timer). Starts when the framing asks for more with bytes buffered; stops when
 * a message is whole. */
static gint64
read_deadline (PayRpcConnection *self)
{
  if (self->read_started_us == 0 || self->limits.read_timeout_seconds == 0)
    return G_MAXINT64;
  return self->read_started_us + (gint64) self->limits.read_timeout_seconds * G_USEC_PER_SEC;
}

static void
start_read_deadline (PayRpcConnection *self)
{
  gint64 due;

  if (self->read_started_us != 0 || self->limits.read_timeout_seconds == 0)
    return;
  self->read_started_us = g_get_monotonic_time ();
  due = g_source_get_ready_time (self->source);
  /* The timer only ever moves earlier here; on_timer() moves it later. */
  if (due < 0 || read_deadline (self) < due)
    g_source_set_ready_time (self->source, read_deadline (self));
}

static void
on_timer (PayRpcConnection *self)
{
  PayMetrics *metrics = pay_rpc_dispatcher_get_metrics (self->dispatcher);
  gint64 now = g_get_monotonic_time ();
  gint64 timeout_us = (gint64) self->limits.idle_timeout_seconds * G_USEC_PER_SEC;

  if (now >= read_deadline (self))
    {
      g_info ("%s: message not whole %u s after its first byte, closing", self->peer,
              self->limits.read_timeout_seconds);
      pay_metrics_connection_timed_out (metrics, PAY_METRICS_PORT_RPC, PAY_METRICS_TIMEOUT_READ);
      pay_rpc_connection_close (self);
      return;
    }
  /* A request the service is working on is ours to finish; a reply the peer has not
   * read for a whole idle period is the peer's doing (it may never read), so that
   * closes too. */
  if (self->busy && self->outbuf->len == 0)
    self->last_active_us = now;
  if (now - self->last_active_us < timeout_us)
    {
      g_source_set_ready_time (self->source,
                               MIN (self->last_active_us + timeout_us, read_deadline (self)));
      return;
    }
  g_debug ("%s: idle for %u s%s, closing", self->peer, self->limits.idle_timeout_seconds,
           self->outbuf->len > 0 ? " with a reply unread" : "");
  pay_metrics_connection_timed_out (metrics, PAY_METRICS_PORT_RPC, PAY_METRICS_TIMEOUT_IDLE);
  pay_rpc_connection_close (self);
}

/* ---- writing ----------------------------------------------------------------------- */

/* Writes what is left of outbuf. TRUE: all of it went. FALSE: the socket takes no more for
 * now (the rest stays), or the connection failed and is closed. */
static gboolean
write_out (PayRpcConnection *self)
{
  while (self->out_sent < self->outbuf->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send_with_blocking (self->socket,
                                              (const gchar *) self->outbuf->data + self->out_sent,
                                              self->outbuf->len - self->out_sent,
                                              FALSE, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_debug ("%s: write failed: %s", self->peer, error->message);
              pay_rpc_connection_close (self);
            }
          return FALSE;
        }
      pay_metrics_rpc_reply_written (pay_rpc_dispatcher_get_metrics (self->dispatcher));
      self->out_sent += (gsize) n;
    }
  g_byte_array_set_size (self->outbuf, 0);
  self->out_sent = 0;
  touch (self);
  return TRUE;
}

/* Sends what is left of outbuf. When all of it is gone the request is over: the next
 * buffered one is looked at (from here unless process_input() is already looping). */
static void
send_reply (PayRpcConnection *self)
{
  if (!write_out (self))
    {
      if (!self->closed)
        watch (self, G_IO_OUT);
      return;
    }
  self->busy = FALSE;
  if (self->draining || self->closing)
    {
      pay_rpc_connection_close (self);
      return;
    }
  process_input (self);
}

/* Closes once the replies held back for the requests before are out: a peer that broke
 * the protocol, or a request that got no reply, still gets the answers to the requests
 * it pipelined ahead. */
static void
close_after_replies (PayRpcConnection *self)
{
  if (self->outbuf->len == 0)
    {
      pay_rpc_connection_close (self);
      return;
    }
  self->closing = TRUE;
  self->busy = TRUE;
  send_reply (self);
}

/* Consumes the request in flight from inbuf and sends its reply, if it has one (not a
 * oneway call), framed like the request; the call is finished (counted and logged).
 * When answered inside process_input()'s loop, the reply waits for those of the
 * requests buffered behind it, and all go out in one write when the loop stops. */
static void
finish_request (PayRpcConnection *self)
{
  PayRpcCall *call = &self->call;
  gsize consumed = call->frame.consumed;

  if (call->state == PAY_RPC_CALL_ANSWERED)
    call->frame.framing->wrap (&call->frame, &call->status, call->reply->data, call->reply->len,
                               self->draining, self->outbuf);
  pay_rpc_call_finish (call, TRUE);
  g_byte_array_remove_range (self->inbuf, 0, (guint) consumed);
  memset (&call->frame, 0, sizeof call->frame);
  if (self->processing && !self->draining && self->outbuf->len < REPLY_BATCH_BYTES)
    {
      self->busy = FALSE;
      return;
    }
  send_reply (self);
}

/* ---- processing -------------------------------------------------------------------- */

/* The service answered the call in flight (pay_rpc_call_return() wrote its reply). */
static void
resume_call (gpointer data)
{
  g_autoptr(PayRpcConnection) self = data;   /* the reference dispatch() took */

  if (self->closed)
    {
      /* Dropped with the connection: counted, with no reply. */
      pay_rpc_call_finish (&self->call, FALSE);
      return;
    }
  finish_request (self);
}

/* Hands a whole call to its method; it is answered now, or resumes later. */
static void
dispatch (PayRpcConnection *self, const PayThriftMessageInfo *info)
{
  pay_rpc_call_begin (&self->call, self->dispatcher, info, self->peer);
  switch (pay_rpc_call_dispatch (&self->call))
    {
    case PAY_RPC_CALL_PENDING:
      g_object_ref (self);   /* until resume_call() */
      /* The replies held back for the requests before go out now, not after this
       * one's I/O; what the socket does not take goes with its reply. */
      write_out (self);
      return;
    case PAY_RPC_CALL_FAILED:
      g_warning ("%s: arguments that scanned whole did not decode, closing without a reply",
                 self->peer);
      pay_rpc_call_finish (&self->call, FALSE);
      close_after_replies (self);
      return;
    case PAY_RPC_CALL_ANSWERED:
    default:
      finish_request (self);
      return;
    }
}

/* Answers a whole request whose arguments the scan refused with PROTOCOL_ERROR. */
static void
reply_protocol_error (PayRpcConnection *self, const PayThriftMessageInfo *info, const gchar *why)
{
  g_info ("%s: undecodable arguments (%s), answering PROTOCOL_ERROR", self->peer, why);
  pay_rpc_call_begin (&self->call, self->dispatcher, info, self->peer);
  pay_rpc_call_return_exception (&self->call, THRIFT_APPLICATION_EXCEPTION_ERROR_PROTOCOL_ERROR, why);
  finish_request (self);
}

/* Answers the buffered requests one after another, as long as each is answered at once;
 * stops at one the service works on (resumed by resume_call()) or when more input is
 * needed. Requests answered inside the loop come back here: they do not recurse. */
static void
process_input (PayRpcConnection *self)
{
  if (self->processing)
    return;
  self->processing = TRUE;
  while (!self->busy && !self->closed && process_next (self))
    ;
  self->processing = FALSE;
  if (self->busy || self->closed || self->outbuf->len == 0)
    return;
  /* The replies held back in the loop, in one write; what the socket does not take
   * waits for it (send_reply()) before the next request is looked at. */
  if (!write_out (self) && !self->closed)
    {
      self->busy = TRUE;
      watch (self, G_IO_OUT);
    }
}

/* Takes on the next buffered request. FALSE: there is none (yet). */
static gboolean
process_next (PayRpcConnection *self)
{
  PayThriftMessageInfo info;
  PayThriftScanResult scan;

  switch (pay_frame_reader_next (&self->reader, self->inbuf->data, self->inbuf->len,
                                 self->limits.max_frame_bytes, &self->call.frame))
    {
    case PAY_FRAME_NEED_MORE:
      if (self->draining)
        pay_rpc_connection_close (self);
      else
        watch (self, G_IO_IN);
      if (self->inbuf->len > 0 && !self->closed)
        start_read_deadline (self);
      return FALSE;
    case PAY_FRAME_INVALID:
      g_info ("%s: not a request in a known framing, closing", self->peer);
      close_after_replies (self);
      return TRUE;
    case PAY_FRAME_TOO_LARGE:
      g_info ("%s: request larger than %u bytes, closing", self->peer,
              self->limits.max_frame_bytes);
      close_after_replies (self);
      return TRUE;
    case PAY_FRAME_READY:
      self->read_started_us = 0;
      break;
    }

  self->busy = TRUE;
  /* Nothing more is read until this request is answered (NEED_MORE above asks again):
   * what the peer sends meanwhile waits in the kernel's buffers, and then the peer. */
  watch (self, 0);
  scan = pay_frame_reader_scan (&self->reader, &self->call.frame, &info);
  if (scan == PAY_THRIFT_SCAN_COMPLETE && info.length == self->call.frame.message_len)
    {
      if (info.type == PAY_THRIFT_MSG_ONEWAY)
        {
          g_info ("%s: oneway call refused: PaymentService has no oneway method", self->peer);
          finish_request (self);
          return TRUE;
        }
      dispatch (self, &info);
      return TRUE;
    }
  if (scan == PAY_THRIFT_SCAN_BAD_HEADER || info.name == NULL)
    {
      g_info ("%s: not a strict binary Thrift call, closing", self->peer);
      close_after_replies (self);
      return TRUE;
    }
  reply_protocol_error (self, &info,
                        scan == PAY_THRIFT_SCAN_COMPLETE ? "trailing bytes after the message"
                        : scan == PAY_THRIFT_SCAN_INCOMPLETE ? "a length points past the end of the frame"
                        : "malformed arguments");
  return TRUE;
}

/* ---- reading ----------------------------------------------------------------------- */

static void
receive (PayRpcConnection *self)
{
  g_autoptr(GError) error = NULL;
  guint before = self->inbuf->len;
  gssize n;

  g_byte_array_set_size (self->inbuf, before + READ_CHUNK_BYTES);
  n = g_socket_receive_with_blocking (self->socket, (gchar *) self->inbuf->data + before,
                                      READ_CHUNK_BYTES, FALSE, NULL, &error);
  g_byte_array_set_size (self->inbuf, before + (n > 0 ? (guint) n : 0));
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return;
      g_debug ("%s: read failed: %s", self->peer, error->message);
      pay_rpc_connection_close (self);
      return;
    }
  if (n == 0)
    {
      if (self->inbuf->len > 0)
        g_debug ("%s: closed with %u bytes of an unfinished request", self->peer, self->inbuf->len);
      else
        g_debug ("%s: closed by peer", self->peer);
      pay_rpc_connection_close (self);
      return;
    }
  touch (self);
  process_input (self);
}

/* The socket is ready for what watch() asked, or failed, or the timer is due. */
static gboolean
socket_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  SocketSource *socket_source = (SocketSource *) source;
  g_autoptr(PayRpcConnection) self = g_object_ref (socket_source->connection);
  GIOCondition ready = socket_source->socket.revents;
  gint64 due = g_source_get_ready_time (source);

  if (due >= 0 && g_source_get_time (source) >= due)
    {
      g_source_set_ready_time (source, -1);
      on_timer (self);
    }
  if (self->closed)
    return G_SOURCE_CONTINUE;
  if (ready & G_IO_IN)
    receive (self);
  else if (ready & G_IO_OUT)
    send_reply (self);
  else if (ready & (G_IO_ERR | G_IO_HUP | G_IO_NVAL))
    {
      /* Reported even while nothing is asked for (the service has the request): the
       * peer is gone, and nothing more can be sent to it. */
      g_debug ("%s: connection failed or hung up, closing", self->peer);
      pay_rpc_connection_close (self);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
socket_source_check (GSource *source)
{
  return ((SocketSource *) source)->socket.revents != 0;
}

static GSourceFuncs socket_source_funcs = {
  .check = socket_source_check,
  .dispatch = socket_source_dispatch,
};

/* ---- lifecycle --------------------------------------------------------------------- */

static void
stop_watching (PayRpcConnection *self)
{
  if (self->source == NULL)
    return;
  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
}

static void
pay_rpc_connection_dispose (GObject *object)
{
  PayRpcConnection *self = PAY_RPC_CONNECTION (object);

  stop_watching (self);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (pay_rpc_connection_parent_class)->dispose (object);
}

static void
pay_rpc_connection_finalize (GObject *object)
{
  PayRpcConnection *self = PAY_RPC_CONNECTION (object);

  pay_rpc_call_clear (&self->call);
  g_byte_array_unref (self->inbuf);
  g_byte_array_unref (self->outbuf);
  g_clear_pointer (&self->dispatcher, pay_rpc_dispatcher_unref);
  g_free (self->peer);
  g_free (self->peer_ip);
  G_OBJECT_CLASS (pay_rpc_connection_parent_class)->finalize (object);
}

static void
pay_rpc_connection_class_init (PayRpcConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_rpc_connection_dispose;
  object_class->finalize = pay_rpc_connection_finalize;

  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 0);
}

/* "rpc IP:PORT" for logs into *@peer, and the IP alone into *@ip ("rpc peer" and "-"
 * for a peer that is not an inet address: a socketpair in the fuzz target). */
static void
describe_peer (GSocketConnection *connection, gchar **peer, gchar **ip)
{
  g_autoptr(GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);
  g_autofree gchar *text = pay_peer_address (address);

  *ip = pay_peer_ip (address);
  *peer = g_strcmp0 (text, "-") != 0 ? g_strconcat ("rpc ", text, NULL) : g_strdup ("rpc peer");
}

PayRpcConnection *
pay_rpc_connection_new (GSocketConnection  *connection,
                        PayRpcDispatcher   *dispatcher,
                        const PayRpcLimits *limits)
{
  PayRpcConnection *self = g_object_new (PAY_TYPE_RPC_CONNECTION, NULL);

  self->connection = g_object_ref (connection);
  self->socket = g_socket_connection_get_socket (connection);
  self->dispatcher = pay_rpc_dispatcher_ref (dispatcher);
  self->limits = *limits;
  describe_peer (connection, &self->peer, &self->peer_ip);
  self->call.peer_ip = self->peer_ip;
  return self;
}

void
pay_rpc_connection_start (PayRpcConnection *self)
{
  g_return_if_fail (PAY_IS_RPC_CONNECTION (self));

  g_debug ("%s: connected", self->peer);
  touch (self);
  self->source = g_source_new (&socket_source_funcs, sizeof (SocketSource));
  ((SocketSource *) self->source)->connection = self;
  ((SocketSource *) self->source)->socket.fd = g_socket_get_fd (self->socket);
  g_source_add_poll (self->source, &((SocketSource *) self->source)->socket);
  /* GLib takes a blocked source's fds out of the poll set around each dispatch and puts
   * them back, waking the loop (an eventfd write) each time; this loop never recurses. */
  g_source_set_can_recurse (self->source, TRUE);
  g_source_set_name (self->source, "payment rpc connection");
  g_source_set_ready_time (self->source,
                           self->last_active_us
                           + (gint64) self->limits.idle_timeout_seconds * G_USEC_PER_SEC);
  g_source_attach (self->source, g_main_context_get_thread_default ());
  process_input (self);
}

void
pay_rpc_connection_drain (PayRpcConnection *self)
{
  g_return_if_fail (PAY_IS_RPC_CONNECTION (self));

  self->draining = TRUE;
  if (!self->busy)
    pay_rpc_connection_close (self);
}

void
pay_rpc_connection_close (PayRpcConnection *self)
{
  g_return_if_fail (PAY_IS_RPC_CONNECTION (self));

  if (self->closed)
    return;
  self->closed = TRUE;
  stop_watching (self);   /* before the socket closes: poll(2) must not see its fd */
  g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  g_object_unref (self);
}

guint64
pay_rpc_connection_get_scan_work (PayRpcConnection *self)
{
  g_return_val_if_fail (PAY_IS_RPC_CONNECTION (self), 0);
  return self->reader.work;
}
