/* pay-rpc-framing.h: the framings a Kitex client may put around a Thrift message, each
 * one small unit that detects, unwraps and wraps; the connection never branches on them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_FRAMING_SNIFF_BYTES 6   /* enough to tell every known framing apart */

typedef struct _PayFraming PayFraming;

/* One request as it came off the wire. */
typedef struct {
  const PayFraming *framing;
  gsize             consumed;      /* input bytes the whole request used */
  const guint8     *message;       /* the strict-binary message inside (into the input) */
  gsize             message_len;
} PayFrame;

typedef enum {
  PAY_FRAME_NEED_MORE,   /* no complete request yet */
  PAY_FRAME_READY,       /* @frame describes one complete request */
  PAY_FRAME_INVALID,     /* not a framing we speak, or a malformed one: close */
  PAY_FRAME_TOO_LARGE,   /* announces (or already holds) more than the limit: close */
} PayFrameStatus;

struct _PayFraming {
  const gchar *name;
  /* TRUE when the first PAY_FRAMING_SNIFF_BYTES bytes (or fewer, if the buffer is
   * shorter but already decisive) are this framing's. */
  gboolean       (*detect) (const guint8 *buf, gsize len);
  /* Extracts the request at the start of @buf, at most @max_bytes of message. */
  PayFrameStatus (*unwrap) (const guint8 *buf, gsize len, gsize max_bytes, PayFrame *frame);
  /* Appends @reply, framed as the answer to @request, to @out. */
  void           (*wrap)   (const PayFrame *request, const guint8 *reply, gsize reply_len,
                            GByteArray *out);
};

extern const PayFraming pay_framing_framed;

/* Finds the framing of the request at the start of @buf and unwraps it. */
PayFrameStatus pay_framing_next (const guint8 *buf,
                                 gsize         len,
                                 gsize         max_bytes,
                                 PayFrame     *frame);

G_END_DECLS
