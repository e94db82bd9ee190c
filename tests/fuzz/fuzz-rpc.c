/* fuzz-rpc.c: libFuzzer target for the whole RPC input path, without storage. The input
 * is one byte stream, as a client sends it on one connection (requests pipelined one
 * after another), and goes two ways:
 *
 * 1. Through the call layer directly: framing detection (framed, buffered, TTHeader with
 *    its info blocks), the bounded message scan, and for every message that scans
 *    COMPLETE its call (arguments decoded once, a stand-in method table answering at
 *    once or later: no service and no storage; the reply written from the outcome), then
 *    the reply wrapped in the request's framing, with and without the draining flag, and
 *    unwrapped again. This also says which replies the stream must get (the model).
 * 2. Through the real connection state machine (PayRpcConnection over a socketpair, on a
 *    private main context, with the same stand-in table), delivered whole, then split at
 *    points drawn from the input's own bytes (deterministic), then, when short, one byte
 *    at a time. Every delivery must get the same reply bytes; those replies must be,
 *    in order, one per request the model says is answered (a message the scan calls
 *    whole gets a reply or an exception, never silence), each with its request's name
 *    and seqid; the connection must close at the end of the input; and the scan work it
 *    reports must stay within a constant per input byte (linear time however split).
 *    A last run drains the connection after the first read, as a shutdown would. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include <thrift/c_glib/thrift_application_exception.h>

#include "core/pay-error.h"
#include "transport/thrift/pay-rpc-args.h"
#include "transport/thrift/pay-rpc-call.h"
#include "transport/thrift/pay-rpc-connection.h"
#include "transport/thrift/pay-rpc-framing.h"
#include "transport/thrift/pay-thrift-fixups.h"
#include "transport/thrift/pay-thrift-scan.h"

/* Below the fuzzer's longest input (scripts/fuzz: 16 KiB), so that a bare message too
 * long for it is tried too. */
#define FUZZ_MAX_FRAME (8 * 1024)
/* Scan work (pay-rpc-framing.h) a connection may spend per input byte, plus a constant:
 * each byte is taken at most twice by a scan, each token costs a few steps, each read
 * and each request a few more (at worst one read per byte). */
#define WORK_PER_BYTE 16
#define WORK_SLACK    64
/* Delivery in pieces: at most this many split points; inputs up to BYTEWISE_MAX bytes
 * are also sent one byte at a time. */
#define MAX_SPLITS    32
#define BYTEWISE_MAX  512

/* ---- a stand-in method table: answers from the decoded request, so every struct is
 * touched, at once or (order ids 1 mod 3) after the call went PENDING -------------- */

static PayRpcCall *deferred;   /* the call left PENDING, answered by answer_deferred() */
static gdouble refund_amount;   /* the wire's double as is (NaN and infinities
                                 * included), which PayRefund's cents cannot hold */

static void
standin_return (PayRpcCall *call, gint64 order_id, const gchar *failure)
{
  GError *error = failure != NULL
    ? g_error_new_literal (PAY_ERROR, PAY_ERROR_INVALID_CARD, failure) : NULL;

  if (order_id % 3 == 1)
    {
      if (deferred != NULL)
        abort ();   /* one call at a time per connection */
      deferred = call;
      g_clear_error (&error);
      return;
    }
  pay_rpc_call_return (call, error);
}

static void
fuzz_charge (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentChargeReq *req = ((paymentPaymentServiceChargeArgs *) args)->req;
  const gchar *number = req->__isset_credit_card ? req->credit_card->credit_card_number : NULL;

  g_strlcpy (call->payment.transaction_id,
             req->__isset_payment_method && req->payment_method != NULL
               ? req->payment_method : "00000000-0000-4000-8000-000000000001",
             sizeof call->payment.transaction_id);
  standin_return (call, req->order_id,
               req->order_id % 3 == 0 ? (number != NULL ? number : "no card") : NULL);
}

static void
fuzz_query_payment (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentQueryPaymentReq *req = ((paymentPaymentServiceQueryPaymentArgs *) args)->req;

  g_strlcpy (call->payment.transaction_id,
             req->__isset_transaction_id && req->transaction_id != NULL ? req->transaction_id : "tx",
             sizeof call->payment.transaction_id);
  call->payment.order_id = req->__isset_order_id ? req->order_id : 1;
  standin_return (call, call->payment.order_id,
               req->__isset_transaction_id == req->__isset_order_id
                 ? "exactly one of transaction_id and order_id" : NULL);
}

static void
fuzz_refund (gpointer target, PayRpcCall *call, ThriftStruct *args)
{
  const paymentRefundReq *req = ((paymentPaymentServiceRefundArgs *) args)->req;

  g_strlcpy (call->refund.refund_id, req->refund_request_id != NULL ? req->refund_request_id : "",
             sizeof call->refund.refund_id);
  g_strlcpy (call->refund.transaction_id, req->transaction_id != NULL ? req->transaction_id : "",
             sizeof call->refund.transaction_id);
  refund_amount = req->__isset_amount ? req->amount : 0.0;
  standin_return (call, 0, !req->__isset_refund_request_id || req->refund_request_id == NULL
                          ? "refund_request_id required" : NULL);
}

/* Sets which of success and err the reused result carries; fills err on a failure
 * (TRUE then). */
static gboolean
fill_error (const PayRpcCall *call, paymentPaymentError **err, gboolean *isset_err,
            gboolean *isset_success)
{
  *isset_err = call->error != NULL;
  *isset_success = call->error == NULL;
  if (call->error == NULL)
    return FALSE;
  if (*err == NULL)
    *err = g_object_new (PAYMENT_TYPE_PAYMENT_ERROR, NULL);
  g_object_set (*err, "code", call->status.code, "message", call->status.message, NULL);
  return TRUE;
}

static void
fill_charge (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceChargeResult *result = (paymentPaymentServiceChargeResult *) object;

  if (!fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    g_object_set (result->success, "transaction_id", call->payment.transaction_id, NULL);
}

static void
fill_query_payment (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceQueryPaymentResult *result = (paymentPaymentServiceQueryPaymentResult *) object;

  if (fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  g_object_set (result->success->payment, "transaction_id", call->payment.transaction_id,
                "order_id", call->payment.order_id, "status", PAYMENT_PAYMENT_STATUS_PAID,
                "card_brand", "visa", NULL);
  result->success->__isset_payment = TRUE;
}

static void
fill_refund (PayRpcCall *call, ThriftStruct *object)
{
  paymentPaymentServiceRefundResult *result = (paymentPaymentServiceRefundResult *) object;

  if (fill_error (call, &result->err, &result->__isset_err, &result->__isset_success))
    return;
  g_object_set (result->success, "refund_id", call->refund.refund_id,
                "transaction_id", call->refund.transaction_id,
                "status", PAYMENT_PAYMENT_STATUS_REFUNDED, NULL);
  /* directly: GObject's double property refuses NaN */
  result->success->amount = refund_amount;
  result->success->__isset_amount = TRUE;
}

static const PayRpcMethod fuzz_methods[] = {
  { "Charge", payment_payment_service_charge_args_get_type,
    payment_payment_service_charge_result_get_type, fuzz_charge, fill_charge,
    pay_rpc_args_clear_charge },
  { "QueryPayment", payment_payment_service_query_payment_args_get_type,
    payment_payment_service_query_payment_result_get_type, fuzz_query_payment, fill_query_payment,
    pay_rpc_args_clear_query },
  { "Refund", payment_payment_service_refund_args_get_type,
    payment_payment_service_refund_result_get_type, fuzz_refund, fill_refund,
    pay_rpc_args_clear_refund },
};

static PayRpcDispatcher *dispatcher;
static PayRpcCall fuzz_call;
static guint resumed;

static void
on_resume (gpointer data)
{
  resumed++;
}

/* Answers the call left PENDING, if any, as the service's callback would, later on the
 * main loop. TRUE: there was one. */
static gboolean
answer_deferred (void)
{
  PayRpcCall *call = deferred;

  if (call == NULL)
    return FALSE;
  deferred = NULL;
  pay_rpc_call_return (call, NULL);
  return TRUE;
}

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(PayMetrics) metrics = NULL;
  g_autoptr(GObject) target = NULL;

  /* every GLib allocation through malloc, so ASan and -malloc_limit_mb see them */
  setenv ("G_SLICE", "always-malloc", 1);
  fuzz_abort_on_warnings ();
  pay_thrift_fixups_install ();
  metrics = pay_metrics_new ();
  target = g_object_new (G_TYPE_OBJECT, NULL);
  dispatcher = pay_rpc_dispatcher_new (fuzz_methods, G_N_ELEMENTS (fuzz_methods), target, metrics);
  pay_rpc_call_init (&fuzz_call);
  fuzz_call.resume = on_resume;
  return 0;
}

static void
look_up_keys (const PayFrame *frame)
{
  const guint8 *value;
  gsize len;

  pay_frame_header_value (frame, "isn", 0, &value, &len);
  pay_frame_header_value (frame, NULL, PAY_TTHEADER_KEY_TO_METHOD, &value, &len);
  pay_frame_header_value (frame, NULL, PAY_TTHEADER_KEY_FROM_SERVICE, &value, &len);
}

/* A framed or TTHeader reply unwraps again (our own parser is Kitex's stand-in) to
 * exactly the reply message, in the request's framing, with MsgType for TTHeader. A
 * buffered reply cannot: the scanner takes CALLs only. */
static void
check_round_trip (const PayFrame *request, const GByteArray *reply, const GByteArray *out)
{
  PayFrame back;
  const guint8 *value;
  gsize len;

  if (request->framing == &pay_framing_buffered)
    return;
  if (pay_framing_next (out->data, out->len, G_MAXUINT32, &back) != PAY_FRAME_READY ||
      back.framing != request->framing || back.consumed != out->len ||
      back.message_len != reply->len || memcmp (back.message, reply->data, reply->len) != 0)
    abort ();
  if (request->framing == &pay_framing_ttheader &&
      (back.inner_framed != request->inner_framed ||
       back.header_seqid != request->header_seqid ||
       !pay_frame_header_value (&back, NULL, PAY_TTHEADER_KEY_MSG_TYPE, &value, &len)))
    abort ();
}

/* The answered call's reply: its status says what the message is. */
static void
check_status (const PayRpcCall *call)
{
  if (call->reply->len < 4 || call->reply->data[3] != call->status.msg_type ||
      (call->status.msg_type == PAY_THRIFT_MSG_EXCEPTION) != (call->status.code == -1) ||
      (call->status.message != NULL) != (call->error != NULL))
    abort ();
}

/* What the connection does with one READY request. */
static void
serve (const PayFrame *frame)
{
  PayRpcCall *call = &fuzz_call;
  PayThriftMessageInfo info;
  PayThriftScanResult scan;
  g_autoptr(GByteArray) out = g_byte_array_new ();

  look_up_keys (frame);
  call->frame = *frame;
  scan = pay_thrift_scan_message (frame->message, frame->message_len, &info);
  if (scan == PAY_THRIFT_SCAN_COMPLETE && info.length == frame->message_len)
    {
      if (info.type == PAY_THRIFT_MSG_ONEWAY)
        return;
      pay_rpc_call_begin (call, dispatcher, &info, NULL);
      resumed = 0;
      switch (pay_rpc_call_dispatch (call))
        {
        case PAY_RPC_CALL_FAILED:
          pay_rpc_call_finish (call, FALSE);
          return;
        case PAY_RPC_CALL_PENDING:
          if (deferred != call || !answer_deferred () || resumed != 1)
            abort ();
          break;
        default:
          if (deferred != NULL || resumed != 0)
            abort ();
          break;
        }
    }
  else if (scan == PAY_THRIFT_SCAN_BAD_HEADER || info.name == NULL)
    return;
  else
    {
      pay_rpc_call_begin (call, dispatcher, &info, NULL);
      pay_rpc_call_return_exception (call, THRIFT_APPLICATION_EXCEPTION_ERROR_PROTOCOL_ERROR,
                                     "malformed");
    }

  if (call->state != PAY_RPC_CALL_ANSWERED)
    abort ();
  check_status (call);
  frame->framing->wrap (frame, &call->status, call->reply->data, call->reply->len, FALSE, out);
  check_round_trip (frame, call->reply, out);
  g_byte_array_set_size (out, 0);
  frame->framing->wrap (frame, &call->status, call->reply->data, call->reply->len, TRUE, out);
  check_round_trip (frame, call->reply, out);
  pay_rpc_call_finish (call, TRUE);
}

/* ---- the model: which replies the stream must get ----------------------------------- */

/* One request a connection must answer, in order. */
typedef struct {
  const PayFraming *framing;
  const guint8     *name;      /* points into the input */
  gsize             name_len;  /* up to a NUL: replies name the method as a C string */
  gint32            seqid;
} Expected;

/* Whether the connection answers the READY @frame (@expected says with what), or skips
 * it (a oneway call: *@answered FALSE), or closes at it (FALSE), as process_next()
 * must: a message that scans whole is dispatched, one with a valid header and a body
 * the scan refuses gets a PROTOCOL_ERROR exception. */
static gboolean
classify (const PayFrame *frame, gboolean *answered, Expected *expected)
{
  PayThriftMessageInfo info;
  PayThriftScanResult scan = pay_thrift_scan_message (frame->message, frame->message_len, &info);

  *answered = FALSE;
  if (scan == PAY_THRIFT_SCAN_COMPLETE && info.length == frame->message_len &&
      info.type == PAY_THRIFT_MSG_ONEWAY)
    return TRUE;
  if (scan == PAY_THRIFT_SCAN_BAD_HEADER || info.name == NULL)
    return FALSE;
  *answered = TRUE;
  *expected = (Expected) { frame->framing, info.name,
                           strnlen ((const gchar *) info.name, info.name_len), info.seqid };
  return TRUE;
}

/* The length of the bare reply message at @msg (@len bytes to the end of the output),
 * in a copy of the output the scan may change, from whose byte before @msg on nothing is
 * looked at again. The scan takes CALLs with a name only: the type byte is made a CALL,
 * and an empty name (a request's name starting with a NUL) is given one byte borrowed
 * from before, the seqid staying where it is. */
static gsize
bare_reply_length (guint8 *msg, gsize len)
{
  static const guint8 call_named_x[] = { 0x80, 0x01, 0, PAY_THRIFT_MSG_CALL, 0, 0, 0, 1, 'x' };
  PayThriftMessageInfo info;
  gsize borrowed = 0;

  if (len < 12 || msg[0] != 0x80 || msg[1] != 0x01)
    abort ();
  msg[3] = PAY_THRIFT_MSG_CALL;
  if (msg[4] == 0 && msg[5] == 0 && msg[6] == 0 && msg[7] == 0)
    {
      borrowed = 1;
      memcpy (msg - 1, call_named_x, sizeof call_named_x);
    }
  if (pay_thrift_scan_message (msg - borrowed, len + borrowed, &info) != PAY_THRIFT_SCAN_COMPLETE)
    abort ();
  return info.length - borrowed;
}

/* A reply (or exception) to @e: its name and seqid. */
static void
check_reply_header (const guint8 *msg, gsize len, const Expected *e)
{
  if (len < 12 + e->name_len || msg[0] != 0x80 || msg[1] != 0x01 ||
      (msg[3] != PAY_THRIFT_MSG_REPLY && msg[3] != PAY_THRIFT_MSG_EXCEPTION) ||
      ((guint32) msg[4] << 24 | (guint32) msg[5] << 16 | (guint32) msg[6] << 8 | msg[7]) != e->name_len ||
      memcmp (msg + 8, e->name, e->name_len) != 0 ||
      (gint32) ((guint32) msg[8 + e->name_len] << 24 | (guint32) msg[9 + e->name_len] << 16 |
                (guint32) msg[10 + e->name_len] << 8 | msg[11 + e->name_len]) != e->seqid)
    abort ();
}

/* @out holds, in order, exactly one reply per @expected request, in its framing (only
 * for the first few, when @prefix: a drained connection answers no more). */
static void
check_replies (const GArray *expected, const GByteArray *out, gboolean prefix)
{
  g_autofree guint8 *patched = g_malloc (out->len + 1);   /* a spare byte, then out */
  gsize pos = 0;

  if (out->len > 0)
    memcpy (patched + 1, out->data, out->len);

  for (guint i = 0; i < expected->len; i++)
    {
      const Expected *e = &g_array_index (expected, Expected, i);
      PayFrame reply;

      if (prefix && pos == out->len)
        break;
      if (e->framing == &pay_framing_buffered)
        {
          gsize len = bare_reply_length (patched + 1 + pos, out->len - pos);

          check_reply_header (out->data + pos, len, e);
          pos += len;
          continue;
        }
      if (pay_framing_next (out->data + pos, out->len - pos, G_MAXUINT32, &reply) != PAY_FRAME_READY ||
          reply.framing != e->framing)
        abort ();
      check_reply_header (reply.message, reply.message_len, e);
      pos += reply.consumed;
    }
  if (pos != out->len)
    abort ();   /* a reply no request asked for */
}

/* ---- the real connection over a socketpair ------------------------------------------- */

typedef struct {
  GMainContext     *context;
  PayRpcConnection *connection;
  int               peer;       /* the client's end: non-blocking */
  gboolean          closed;
  gboolean          peer_done;  /* the connection's end is closed and all was read */
  GByteArray       *out;        /* the bytes the connection sent */
} Run;

static void
on_closed (PayRpcConnection *connection, gpointer data)
{
  ((Run *) data)->closed = TRUE;
}

static void
read_replies (Run *run)
{
  guint8 chunk[4096];
  ssize_t n;

  while (!run->peer_done && (n = recv (run->peer, chunk, sizeof chunk, 0)) != 0)
    {
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            abort ();
          return;
        }
      g_byte_array_append (run->out, chunk, (guint) n);
    }
  run->peer_done = TRUE;
}

/* Runs the loop until nothing is left to do: no source ready and no call PENDING (each
 * answered after the loop settled, as a service callback comes later). */
static void
settle (Run *run)
{
  do
    {
      while (g_main_context_iteration (run->context, FALSE))
        read_replies (run);
      read_replies (run);
    }
  while (answer_deferred ());
}

static void
run_start (Run *run)
{
  PayRpcLimits limits = { .max_frame_bytes = FUZZ_MAX_FRAME, .idle_timeout_seconds = 86400 };
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  int fds[2];

  memset (run, 0, sizeof *run);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    abort ();
  socket = g_socket_new_from_fd (fds[0], NULL);
  if (socket == NULL)
    abort ();
  connection = g_socket_connection_factory_create_connection (socket);
  run->peer = fds[1];
  run->out = g_byte_array_new ();
  run->context = g_main_context_new ();
  g_main_context_push_thread_default (run->context);
  run->connection = pay_rpc_connection_new (connection, dispatcher, &limits);
  g_signal_connect (run->connection, "closed", G_CALLBACK (on_closed), run);
  pay_rpc_connection_start (run->connection);
}

/* Sends @data; what the socket does not take waits for the connection to read. FALSE:
 * the connection is gone. */
static gboolean
deliver (Run *run, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = send (run->peer, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !run->closed)
        {
          settle (run);
          continue;
        }
      if (n < 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  settle (run);
  return !run->closed;
}

/* Ends the input (the client shuts its sending side down) and waits for the close; the
 * connection's scan work per input byte stays under the bound. */
static void
run_finish (Run *run, gsize size)
{
  shutdown (run->peer, SHUT_WR);
  settle (run);
  if (!run->closed || pay_rpc_connection_get_scan_work (run->connection) >
                      (guint64) WORK_PER_BYTE * size + WORK_SLACK)
    abort ();
  while (!run->peer_done)
    settle (run);
  g_object_unref (run->connection);
  close (run->peer);
  g_main_context_pop_thread_default (run->context);
  /* sources the connection left (none should be) go with the context */
  while (g_main_context_iteration (run->context, FALSE))
    ;
  g_main_context_unref (run->context);
}

/* The input through a connection in pieces ending at @cuts (ascending, the last = size);
 * returns what the connection sent. */
static GByteArray *
run_split (const guint8 *buf, gsize size, const gsize *cuts, guint n_cuts)
{
  Run run;
  gsize pos = 0;

  run_start (&run);
  for (guint i = 0; i < n_cuts && deliver (&run, buf + pos, cuts[i] - pos); i++)
    pos = cuts[i];
  run_finish (&run, size);
  return run.out;
}

/* Split points drawn from the input's own bytes: the same for the same input. */
static guint
draw_cuts (const guint8 *buf, gsize size, gsize *cuts)
{
  guint32 seed = 2166136261u;   /* FNV-1a of the input */
  g_autoptr(GRand) rand = NULL;
  guint n;

  for (gsize i = 0; i < size; i++)
    seed = (seed ^ buf[i]) * 16777619u;
  rand = g_rand_new_with_seed (seed);
  n = size > 1 ? (guint) g_rand_int_range (rand, 1, MAX_SPLITS + 1) : 0;
  for (guint i = 0; i < n; i++)
    cuts[i] = (gsize) g_rand_int_range (rand, 0, (gint32) size);
  cuts[n++] = size;
  for (guint i = 1; i < n; i++)   /* insertion sort: n is small */
    for (guint j = i; j > 0 && cuts[j - 1] > cuts[j]; j--)
      {
        gsize t = cuts[j];
        cuts[j] = cuts[j - 1];
        cuts[j - 1] = t;
      }
  return n;
}

/* Drained after the first read: the request in flight (if any) is answered, in the
 * closing form, and the connection closes; nothing after it is answered. */
static void
run_drained (const guint8 *buf, gsize size, const GArray *expected)
{
  Run run;

  run_start (&run);
  if (size > 0 && send (run.peer, buf, size, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
    abort ();
  g_main_context_iteration (run.context, FALSE);
  read_replies (&run);
  pay_rpc_connection_drain (run.connection);
  settle (&run);
  if (!run.closed)
    abort ();
  run_finish (&run, size);
  check_replies (expected, run.out, TRUE);
  g_byte_array_unref (run.out);
}

static void
assert_same_bytes (const GByteArray *a, const GByteArray *b)
{
  if (a->len != b->len || (a->len > 0 && memcmp (a->data, b->data, a->len) != 0))
    abort ();
}

/* The connection's replies to the input are the same whole, in pieces, and byte by
 * byte, and are those @expected asks for. */
static void
check_connection (const guint8 *buf, gsize size, const GArray *expected)
{
  gsize cuts[MAX_SPLITS + 1];
  const gsize whole_cut = size;
  guint n_cuts = draw_cuts (buf, size, cuts);
  g_autoptr(GByteArray) whole = run_split (buf, size, &whole_cut, 1);
  g_autoptr(GByteArray) split = run_split (buf, size, cuts, n_cuts);

  check_replies (expected, whole, FALSE);
  assert_same_bytes (split, whole);
  if (size <= BYTEWISE_MAX)
    {
      g_autofree gsize *every = g_new (gsize, size);
      g_autoptr(GByteArray) bytewise = NULL;

      for (gsize i = 0; i < size; i++)
        every[i] = i + 1;
      bytewise = run_split (buf, size, every, (guint) size);
      assert_same_bytes (bytewise, whole);
    }
  run_drained (buf, size, expected);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A private copy of exactly @size bytes: reads past the end are ASan errors. */
  guint8 *buf = malloc (size);   /* malloc (0) is a valid pointer, unlike g_malloc (0) */
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (Expected));
  gboolean open = TRUE;
  gsize pos = 0;

  memcpy (buf, data, size);
  for (;;)
    {
      PayFrame frame;
      PayFrameStatus status = pay_framing_next (buf + pos, size - pos, FUZZ_MAX_FRAME, &frame);
      gboolean answered;
      Expected e;

      if (status != PAY_FRAME_READY)
        break;
      if (frame.consumed == 0 || frame.consumed > size - pos ||
          frame.message < buf + pos || frame.message + frame.message_len > buf + pos + frame.consumed)
        abort ();   /* a framing that does not advance, or points outside its request */
      if (open)
        {
          open = classify (&frame, &answered, &e);
          if (open && answered)
            g_array_append_val (expected, e);
        }
      serve (&frame);
      pos += frame.consumed;
    }
  check_connection (buf, size, expected);
  free (buf);
  return 0;
}
