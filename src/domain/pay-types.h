/* pay-types.h: plain value types shared by the service, storage and both transports. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PAY_STATUS_PAID               = 1,
  PAY_STATUS_PARTIALLY_REFUNDED = 2,
  PAY_STATUS_REFUNDED           = 3,
} PayStatus;

#define PAY_UUID_STRLEN        36   /* canonical lowercase UUID text, without NUL */
#define PAY_PAYMENT_METHOD_MAX 32   /* longest payment_method we store */
#define PAY_CARD_BRAND_MAX     16

/* "PAID", "PARTIALLY_REFUNDED", "REFUNDED"; NULL for anything else. Static strings. */
const gchar *pay_status_to_string (PayStatus status);
/* Inverse of pay_status_to_string; FALSE when the text names no status. */
gboolean     pay_status_from_string (const gchar *text, PayStatus *status);
/* The status of a payment of @amount_cents with @refunded_cents refunded: what each
 * status means. */
PayStatus    pay_status_for_refunded (gint64 amount_cents, gint64 refunded_cents);

/* What a charge asks for, as decoded by a transport. Pointers are borrowed from the
 * caller for the duration of the call. The card number is never copied elsewhere. */
typedef struct {
  gdouble      amount;          /* major units, as received at the API edge */
  gboolean     has_card;
  const gchar *card_number;     /* may contain spaces and dashes; NULL = missing */
  gint32       card_cvv;
  gint32       card_exp_year;
  gint32       card_exp_month;
  gint64       order_id;
  gint64       user_id;
  const gchar *payment_method;  /* NULL = the default, "credit_card" */
} PayChargeRequest;

/* One payment as stored: money in integer cents, card reduced to brand and last four. */
typedef struct {
  gchar     transaction_id[PAY_UUID_STRLEN + 1];
  gint64    order_id;
  gint64    user_id;
  gint64    amount_cents;
  gint64    refunded_cents;
  PayStatus status;
  gchar     payment_method[PAY_PAYMENT_METHOD_MAX + 1];
  gchar     card_brand[PAY_CARD_BRAND_MAX + 1];
  gchar     card_last4[5];
  gint64    created_at_ms;      /* Unix time in milliseconds */
  gint64    updated_at_ms;
} PayPayment;

/* Limits of a refund request's strings, in characters (UTF-8 code points), and the bytes
 * they can take in UTF-8. */
#define PAY_REFUND_REQUEST_ID_MAX_CHARS 64
#define PAY_REFUND_REASON_MAX_CHARS     256
#define PAY_REFUND_REQUEST_ID_MAX_BYTES (4 * PAY_REFUND_REQUEST_ID_MAX_CHARS)
#define PAY_REFUND_REASON_MAX_BYTES     (4 * PAY_REFUND_REASON_MAX_CHARS)
/* Room for a refund's caller: "key:" and a 64-character key id, or a transport and an
 * IPv6 address. */
#define PAY_REFUND_CALLER_MAX_BYTES     96

/* What a query asks for: exactly one of the two keys. Pointers are borrowed. */
typedef struct {
  const gchar *transaction_id;  /* NULL = absent */
  gboolean     has_order_id;
  gint64       order_id;
} PayQueryRequest;

/* What a refund asks for, as decoded by a transport. Pointers are borrowed. */
typedef struct {
  const gchar *transaction_id;     /* NULL = missing */
  gboolean     has_amount;         /* FALSE: refund all that is left */
  gdouble      amount;             /* major units, as received at the API edge */
  const gchar *refund_request_id;  /* the client's idempotency key; NULL = missing */
  const gchar *reason;             /* NULL = absent */
  const gchar *caller;             /* who asks, for the audit (README, "Audit"): "key:<key
                                    * id>", "http:<peer address>" or "rpc:<peer address>";
                                    * NULL = unknown. Not part of a replay's match. */
} PayRefundRequest;

/* One refund as stored: the reply it got (refund_id, amount, and the payment's total and
 * status right after it) and the request it answered (requested amount, reason), which a
 * replay with the same refund_request_id must match. */
typedef struct {
  gchar     refund_id[PAY_UUID_STRLEN + 1];
  gchar     transaction_id[PAY_UUID_STRLEN + 1];
  gchar     refund_request_id[PAY_REFUND_REQUEST_ID_MAX_BYTES + 1];
  gboolean  has_requested;          /* FALSE: the request named no amount */
  gint64    requested_cents;
  gboolean  has_reason;
  gchar     reason[PAY_REFUND_REASON_MAX_BYTES + 1];
  gint64    amount_cents;           /* refunded by this refund */
  gint64    total_refunded_cents;   /* the payment's refunded total right after it */
  PayStatus status;                 /* the payment's status right after it */
  gint64    created_at_ms;
  gchar     caller[PAY_REFUND_CALLER_MAX_BYTES + 1];   /* "": unknown (stored NULL) */
} PayRefund;

/* What the payment store did with a refund (pay-payment-store.h). */
typedef enum {
  PAY_REFUND_APPLIED,    /* committed */
  PAY_REFUND_REPLAYED,   /* its refund_request_id was used before: nothing written */
  PAY_REFUND_REFUSED,    /* the balance does not cover it: nothing written */
} PayRefundOutcome;

G_END_DECLS
