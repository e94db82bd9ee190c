/* pay-frame-transport.h: a ThriftTransport over one in-memory message and an output
 * buffer, the only transport the generated structs are ever read from or written to. */
#pragma once

#include "transport/thrift/pay-thrift-autoptr.h"

G_BEGIN_DECLS

#define PAY_TYPE_FRAME_TRANSPORT (pay_frame_transport_get_type ())
G_DECLARE_FINAL_TYPE (PayFrameTransport, pay_frame_transport, PAY, FRAME_TRANSPORT, ThriftTransport)

/* Reads come from @input (borrowed: it must outlive the transport; may be NULL for a
 * write-only transport); writes append to @output (borrowed; while the transport has
 * it, it may be appended to or truncated, but not stolen or freed). Unlike ThriftMemoryBuffer,
 * a read asking for more bytes than remain fails instead of returning 0, so a length
 * pointing past the end can never spin read_all forever (docs/THRIFT_C_GLIB.md, defect 2). */
PayFrameTransport *pay_frame_transport_new (const guint8 *input,
                                            gsize         input_len,
                                            GByteArray   *output);

/* Points the transport at new input and output (same rules as for _new), so one
 * transport can serve request after request without being created again. */
void pay_frame_transport_reset (PayFrameTransport *self,
                                const guint8      *input,
                                gsize              input_len,
                                GByteArray        *output);

/* Bytes of the input not read yet. */
gsize pay_frame_transport_remaining (PayFrameTransport *self);

G_END_DECLS
