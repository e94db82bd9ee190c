/* pay-request-log.h: the one log line per request, with its facts as structured fields
 * (so the JSON log format has them as keys), written the same way by both transports. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_REQUEST_ID_BYTES 64   /* room for a transaction id (a UUID is 36) */

/* What is known about one request when it ends. */
typedef struct {
  const gchar *transport;       /* "rpc" or "http" */
  const gchar *method;          /* "Charge", "POST /payment/charge", ... */
  const gchar *peer;            /* NULL: not logged */
  const gchar *key_id;          /* the HTTP API key that authenticated it; NULL: none */
  gint64       order_id;        /* 0: none */
  gchar        transaction_id[PAY_REQUEST_ID_BYTES];   /* "": none */
  gint32       code;            /* 0 success, a contract code, or -1 (Thrift exception) */
  guint        http_status;     /* 0: not HTTP */
  gint64       duration_us;
} PayRequestRecord;

/* Logs @record at @level in @domain: fields METHOD, TRANSPORT, ORDER_ID,
 * TRANSACTION_ID, CODE, DURATION_MS (and HTTP_STATUS, PEER, KEY_ID when set). Never pass
 * anything from a request body other than these ids. */
void pay_request_log (const gchar            *domain,
                      GLogLevelFlags          level,
                      const PayRequestRecord *record);

/* Sets the transaction id of @record (NULL: none). */
void pay_request_record_set_transaction_id (PayRequestRecord *record,
                                            const gchar      *transaction_id);

G_END_DECLS
