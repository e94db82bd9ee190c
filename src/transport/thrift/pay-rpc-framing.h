/* pay-rpc-framing.h: the framings a Kitex client may put around a Thrift message, each
 * one small unit that detects, unwraps and wraps; the connection never branches on them. */
#pragma once

#include <glib.h>

#include "transport/thrift/pay-thrift-scan.h"

G_BEGIN_DECLS

#define PAY_FRAMING_SNIFF_BYTES 6   /* enough to tell every known framing apart */

typedef struct _PayFraming PayFraming;

/* Where the request being received stands, kept between reads so that no byte is
 * examined again each time more arrive: its framing once detected, and for a buffered
 * request the message scan so far. A connection has one; it starts over by itself
 * after each request it returns READY. */
typedef struct {
  const PayFraming *framing;   /* the request's, once detected; NULL before */
  PayThriftScanner  scanner;   /* buffered: the scan of the message so far */
  guint64           work;      /* bytes examined plus steps taken, over the reader's life,
                                * message scans included: what tests bound per input byte */
} PayFrameReader;

/* One request as it came off the wire. Pointers point into the input buffer. */
typedef struct {
  const PayFraming *framing;
  gsize             consumed;      /* input bytes the whole request used */
  const guint8     *message;       /* the strict-binary message inside */
  gsize             message_len;
  /* TTHeader only */
  gint32            header_seqid;
  gboolean          inner_framed;  /* payload was u32 length + message */
  const guint8     *info;          /* the header's info blocks, validated */
  gsize             info_len;
} PayFrame;

/* TTHeader info block ids (docs/KITEX.md) */
#define PAY_TTHEADER_INFO_PADDING  0x00
#define PAY_TTHEADER_INFO_KEYVALUE 0x01
#define PAY_TTHEADER_INFO_INTKEY   0x10
#define PAY_TTHEADER_INFO_ACLTOKEN 0x11

/* TTHeader int keys we read or write */
#define PAY_TTHEADER_KEY_TO_METHOD    9
#define PAY_TTHEADER_KEY_FROM_SERVICE 3
#define PAY_TTHEADER_KEY_MSG_TYPE     22

/* What a reply message says, as the call that wrote it knows (nothing parses it back
 * out of the reply's bytes): TTHeader repeats it in its header. */
typedef struct {
  guint8       msg_type;   /* PAY_THRIFT_MSG_REPLY or PAY_THRIFT_MSG_EXCEPTION; 0: none */
  gint32       code;       /* the result code: 0, the PaymentError's code, or -1 for a
                            * TApplicationException or no reply */
  const gchar *message;    /* a REPLY holding the IDL's PaymentError: its message (the
                            * client-safe one); NULL otherwise */
} PayReplyStatus;

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
  /* Extracts the request at the start of @buf, at most @max_bytes of message; @reader
   * holds what earlier calls found in a prefix of it. */
  PayFrameStatus (*unwrap) (PayFrameReader *reader, const guint8 *buf, gsize len,
                            gsize max_bytes, PayFrame *frame);
  /* Appends @reply, which @status describes, framed as the answer to @request, to
   * @out. @closing: the server will close the connection after this reply (TTHeader
   * then tells the client). */
  void           (*wrap)   (const PayFrame *request, const PayReplyStatus *status,
                            const guint8 *reply, gsize reply_len, gboolean closing,
                            GByteArray *out);
};

extern const PayFraming pay_framing_framed;
extern const PayFraming pay_framing_buffered;
extern const PayFraming pay_framing_ttheader;

/* Looks up a TTHeader string key (@key) or int key (@int_key, when @key is NULL) of the
 * request; the value is not NUL-terminated. FALSE when absent or not TTHeader. */
gboolean pay_frame_header_value (const PayFrame *frame,
                                 const gchar    *key,
                                 guint16         int_key,
                                 const guint8  **value,
                                 gsize          *value_len);

/* Finds the framing of the request at the start of @buf and unwraps it, from scratch
 * (pay_frame_reader_next() with a new reader). */
PayFrameStatus pay_framing_next (const guint8 *buf,
                                 gsize         len,
                                 gsize         max_bytes,
                                 PayFrame     *frame);

/* Sets up @reader for a connection's first request. */
void pay_frame_reader_init (PayFrameReader *reader);

/* pay_framing_next() of the request at the start of @buf, of which the calls since the
 * last READY (or the init) saw a prefix: the bytes they saw are not examined again.
 * After READY the next call is about the next request. */
PayFrameStatus pay_frame_reader_next (PayFrameReader *reader,
                                      const guint8   *buf,
                                      gsize           len,
                                      gsize           max_bytes,
                                      PayFrame       *frame);

/* pay_thrift_scan_message() of the READY @frame's message, its work counted in @reader. */
PayThriftScanResult pay_frame_reader_scan (PayFrameReader       *reader,
                                           const PayFrame       *frame,
                                           PayThriftMessageInfo *info);

G_END_DECLS
