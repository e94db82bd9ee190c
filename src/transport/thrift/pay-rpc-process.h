/* pay-rpc-process.h: one Thrift message in, one reply message out, through the
 * generated processor. No sockets: the connection does the I/O. */
#pragma once

#include <thrift/c_glib/processor/thrift_processor.h>

#include "transport/thrift/pay-thrift-scan.h"

G_BEGIN_DECLS

/* Runs @processor on the strict-binary message @msg (which must have been scanned
 * COMPLETE by pay_thrift_scan_message) and appends the reply message to @reply.
 * Blocking (the handler may touch storage): call from a worker thread. FALSE with
 * @error only when the processor failed without writing a reply. */
gboolean pay_rpc_process (ThriftProcessor *processor,
                          const guint8    *msg,
                          gsize            msg_len,
                          GByteArray      *reply,
                          GError         **error);

/* Appends a TApplicationException reply message (type EXCEPTION) for the request
 * described by @info to @reply. @type is a THRIFT_APPLICATION_EXCEPTION_ERROR_* value. */
void pay_rpc_write_exception (const PayThriftMessageInfo *info,
                              gint                        type,
                              const gchar                *message,
                              GByteArray                 *reply);

G_END_DECLS
