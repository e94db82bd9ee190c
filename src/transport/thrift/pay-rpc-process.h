/* pay-rpc-process.h: one Thrift message in, one reply message out, through the
 * generated processor. No sockets: the connection does the I/O. */
#pragma once

#include <thrift/c_glib/processor/thrift_processor.h>
#include <thrift/c_glib/thrift_struct.h>

#include "transport/thrift/pay-thrift-scan.h"

G_BEGIN_DECLS

/* Runs @processor on the strict-binary message @msg (which must have been scanned
 * COMPLETE by pay_thrift_scan_message) and appends the reply message to @reply.
 * Synchronous: the handler runs inside (the service's handler defers its storage work,
 * see pay-rpc-handler.h). FALSE with @error only when the processor failed without
 * writing a reply. */
gboolean pay_rpc_process (ThriftProcessor *processor,
                          const guint8    *msg,
                          gsize            msg_len,
                          GByteArray      *reply,
                          GError         **error);

/* A processor plus the transports and protocols it runs over, kept between requests.
 * One thread only (the main loop). */
typedef struct _PayRpcEngine PayRpcEngine;

PayRpcEngine *pay_rpc_engine_new   (ThriftProcessor *processor);
PayRpcEngine *pay_rpc_engine_ref   (PayRpcEngine *engine);
void          pay_rpc_engine_unref (PayRpcEngine *engine);

/* pay_rpc_process() with @engine's processor, on reused transports. */
gboolean pay_rpc_engine_process (PayRpcEngine *engine,
                                 const guint8 *msg,
                                 gsize         msg_len,
                                 GByteArray   *reply,
                                 GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayRpcEngine, pay_rpc_engine_unref)

/* Decodes the arguments of the call @msg (scanned COMPLETE, like for
 * pay_rpc_engine_process) into a new generated struct of @args_type, without the
 * processor; NULL when they do not decode (the processor then answers as it does). */
ThriftStruct *pay_rpc_engine_read_args (PayRpcEngine *engine,
                                        const guint8 *msg,
                                        gsize         msg_len,
                                        GType         args_type);

/* Appends a TApplicationException reply message (type EXCEPTION) for the request
 * described by @info to @reply. @type is a THRIFT_APPLICATION_EXCEPTION_ERROR_* value. */
void pay_rpc_write_exception (const PayThriftMessageInfo *info,
                              gint                        type,
                              const gchar                *message,
                              GByteArray                 *reply);

G_END_DECLS
