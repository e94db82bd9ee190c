/* pay-rpc-call.h: one RPC call, from its message header to its reply message, and the
 * dispatcher every call of a server goes through.
 *
 * A method table (PayRpcMethod rows: name, generated args and result types, how to start
 * the operation, how to fill the result) says what a server answers. A call is what
 * GLib's GDBusMethodInvocation is to a D-Bus method: it carries the method, the seqid,
 * the request's frame (its framing), the outcome and the result code. The dispatcher
 * decodes the arguments once, into the method's generated args struct, and starts the
 * method; once the outcome is in (pay_rpc_call_return(): at once, or later from the
 * service's callback), the method fills the generated result struct from it and the
 * call writes the reply message (REPLY, the request's seqid) straight from that struct.
 * The metrics, the request log and TTHeader's header take the result code from the
 * call, never from the reply's bytes. No sockets here: the connection does the I/O. */
#pragma once

#include "core/pay-metrics.h"
#include "core/pay-rate-limiter.h"
#include "core/pay-request-log.h"
#include "domain/pay-types.h"
#include "transport/thrift/pay-rpc-framing.h"
#include "transport/thrift/pay-thrift-autoptr.h"
#include "transport/thrift/pay-thrift-scan.h"

G_BEGIN_DECLS

typedef struct _PayRpcCall PayRpcCall;

/* One method of the service: a row of a method table. */
typedef struct {
  const gchar *name;                       /* as in the IDL and on the wire */
  GType      (*args_type) (void);          /* the generated args struct */
  GType      (*result_type) (void);        /* the generated result struct */
  /* Starts the operation @args (borrowed for the duration of the call to start) ask
   * for, on @target (the dispatcher's); it ends with pay_rpc_call_return(), from here
   * when the answer is known at once, or later on the main loop. */
  void       (*start) (gpointer target, PayRpcCall *call, ThriftStruct *args);
  /* Fills @result from the call's outcome: its success when call->error is NULL, else
   * its err from call->status (code and message). @result is the dispatcher's, reused
   * from call to call: every field the reply carries is set, both isset flags too. */
  void       (*fill_result) (PayRpcCall *call, ThriftStruct *result);
  /* Returns @args to its state when new (every field unset, strings freed, nested
   * structs cleared the same way): the dispatcher decodes every call of the method into
   * one args struct, cleared once the call has started, so that no field of one call
   * shows in the next and no card number outlives its call's start. */
  void       (*clear_args) (ThriftStruct *args);
} PayRpcMethod;

/* What every call of one server shares: the method table, the target the methods act
 * on, the in-memory transports and protocols messages are read and written with, one
 * args and one result struct per method (calls are decoded and their replies written
 * one at a time), and the metrics handles. Main loop only (the reference count is
 * atomic). */
typedef struct _PayRpcDispatcher PayRpcDispatcher;

/* Calls go to @methods (static: it must outlive the dispatcher) on @target (a
 * reference is taken); each method, and "unknown" for any other name, is registered
 * with @metrics. */
PayRpcDispatcher *pay_rpc_dispatcher_new   (const PayRpcMethod *methods,
                                            gsize               n_methods,
                                            GObject            *target,
                                            PayMetrics         *metrics);
PayRpcDispatcher *pay_rpc_dispatcher_ref   (PayRpcDispatcher *dispatcher);
void              pay_rpc_dispatcher_unref (PayRpcDispatcher *dispatcher);
PayMetrics       *pay_rpc_dispatcher_get_metrics (PayRpcDispatcher *dispatcher);

/* Calls of a method in the table take a token of @limiter (a reference is kept; NULL:
 * none) under their call's peer_ip before they start; one refused is answered 4004013
 * without its method (nor its arguments) being touched. Before the first call. */
void              pay_rpc_dispatcher_set_rate_limiter (PayRpcDispatcher *dispatcher,
                                                       PayRateLimiter   *limiter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayRpcDispatcher, pay_rpc_dispatcher_unref)

typedef enum {
  PAY_RPC_CALL_IDLE,       /* no call, or finished */
  PAY_RPC_CALL_STARTING,   /* in the method's start */
  PAY_RPC_CALL_PENDING,    /* the operation is under way: resume() is called when it ends */
  PAY_RPC_CALL_ANSWERED,   /* the reply message is in reply, described by status */
  PAY_RPC_CALL_FAILED,     /* no reply can be made (arguments that did not decode) */
} PayRpcCallState;

/* One call, owned by its connection (one at a time, reused). The connection sets
 * resume, resume_data, peer_ip and frame; the rest is the call's. name and frame point into the
 * connection's input, valid until the call is finished. */
struct _PayRpcCall
{
  PayRpcCallState     state;
  PayRpcDispatcher   *dispatcher;   /* of the call in progress (borrowed) */
  const PayRpcMethod *method;       /* NULL: a name the table does not have */
  const guint8       *name;         /* as the message has it (not NUL-terminated) */
  gsize               name_len;
  gint32              seqid;
  gboolean            bad_text;     /* a string argument holds a NUL or is not UTF-8 */
  PayFrame            frame;        /* the request as it came (its framing) */
  PayRequestRecord    record;       /* the methods note the ids they decode here */
  gboolean            recording;    /* started and not finished: counted in flight */

  /* The outcome, once ANSWERED */
  GError             *error;        /* the operation's error, or NULL */
  PayPayment          payment;      /* Charge and QueryPayment */
  PayRefund           refund;       /* Refund */

  /* The reply */
  PayReplyStatus      status;       /* its type and the result code */
  GByteArray         *reply;        /* the reply message */

  /* Called on the main loop when a PENDING call is ANSWERED. */
  void              (*resume) (gpointer resume_data);
  gpointer            resume_data;
  /* The caller's IP address (pay_peer_ip()): its key in the dispatcher's rate limiter
   * (not its port, so that new connections do not get new buckets) and a refund's
   * "rpc:<address>" caller; NULL: not limited, caller unknown. */
  const gchar        *peer_ip;
};

/* Sets up @call (IDLE) and frees what it holds. */
void pay_rpc_call_init  (PayRpcCall *call);
void pay_rpc_call_clear (PayRpcCall *call);

/* Starts the call whose message header @info describes: counts it in flight (and in
 * the request log when finished), from @peer (for the log). IDLE beforehand. */
void pay_rpc_call_begin (PayRpcCall                 *call,
                         PayRpcDispatcher           *dispatcher,
                         const PayThriftMessageInfo *info,
                         const gchar                *peer);

/* Decodes the arguments of the begun call's whole message (scanned COMPLETE) once and
 * starts its method: ANSWERED (an unknown method; a method that answered at once),
 * PENDING, or FAILED. */
PayRpcCallState pay_rpc_call_dispatch (PayRpcCall *call);

/* Ends a STARTING or PENDING call with @error (taken; NULL: success, the outcome is in
 * the call): writes the reply, and resumes a PENDING call. */
void pay_rpc_call_return (PayRpcCall *call, GError *error);

/* Answers the begun call with a TApplicationException of @type (a
 * THRIFT_APPLICATION_EXCEPTION_ERROR_* value): ANSWERED. */
void pay_rpc_call_return_exception (PayRpcCall  *call,
                                    gint         type,
                                    const gchar *message);

/* The call is over: its reply (when @replied) went to the connection, or it got none
 * (the connection is gone, or it FAILED). Counts it by result code, logs it at info
 * level and makes it IDLE. */
void pay_rpc_call_finish (PayRpcCall *call, gboolean replied);

G_END_DECLS
