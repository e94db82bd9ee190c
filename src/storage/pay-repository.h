/* pay-repository.h: the MySQL repository, backed by a bounded pool of connections.
 * Blocking API for worker threads (never call it from the main loop), and an _async
 * insert for the main loop. It implements the domain's PayPaymentStore
 * (domain/pay-payment-store.h), running the blocking calls on worker threads. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"
#include "domain/pay-types.h"

G_BEGIN_DECLS

#define PAY_TYPE_REPOSITORY (pay_repository_get_type ())
G_DECLARE_FINAL_TYPE (PayRepository, pay_repository, PAY, REPOSITORY, GObject)

/* Initialises the MySQL client library. Call once from main() before any thread starts
 * (later calls do nothing). Worker threads need no set-up of their own: the repository
 * calls mysql_thread_init() on a thread's first use and mysql_thread_end() at its exit. */
void pay_repository_library_init (void);

/* @settings is copied. No connection is made until first use. */
PayRepository *pay_repository_new (const PayMysqlSettings *settings);

/* Creates the database named in the settings and the tables when missing, and drops the
 * charge-event trigger older versions made (idempotent; SQL in src/storage/schema.sql). Success is remembered, so later
 * calls cost nothing; threads arriving while another runs it share that attempt's outcome.
 * PAY_ERROR_STORAGE_UNAVAILABLE when MySQL cannot be reached. Thread-safe, blocking. */
gboolean pay_repository_ensure_schema (PayRepository *self, GError **error);

/* Inserts a new payment, without blocking the caller's main loop: one transaction that
 * INSERTs the payment and its "charge" payment_events row, sent as one multi-statement
 * text in one round trip (running pay_repository_ensure_schema() first until it has
 * succeeded once). Charges that arrive while another charge group runs are grouped, two
 * multi-row INSERTs in one transaction (pay-repository-charge.c); each is answered once
 * its rows are committed. Uniqueness of order_id is the database's job: a
 * duplicate order gives PAY_ERROR_ORDER_ALREADY_PAID, a duplicate transaction id
 * PAY_ERROR_ID_GENERATION (neither writes an event), any connection failure or timeout
 * PAY_ERROR_STORAGE_UNAVAILABLE (then the outcome may be unknown when the reply was
 * lost). Runs on the loop itself (the client library's non-blocking calls) when a warm
 * pooled connection is idle, else on a worker thread. @payment is copied; @callback runs
 * in the caller's thread-default main context. */
void     pay_repository_insert_payment_async  (PayRepository       *self,
                                               const PayPayment    *payment,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean pay_repository_insert_payment_finish (PayRepository *self,
                                               GAsyncResult  *result,
                                               GError       **error);

/* Reads the payment named by @key (exactly one of its keys set) into *@out.
 * PAY_ERROR_NOT_FOUND when there is none. Thread-safe, blocking. */
gboolean pay_repository_get_payment (PayRepository         *self,
                                     const PayQueryRequest *key,
                                     PayPayment            *out,
                                     GError               **error);

/* Applies the refund @draft describes, as PayPaymentStore's refund_async documents, in
 * one transaction that locks the payment row (SELECT ... FOR UPDATE), so refunds of one
 * payment from any number of service instances run one at a time: PAY_ERROR_NOT_FOUND
 * when there is no such payment, else *@outcome says what was done; a REPLAYED refund is
 * copied to *@refund, an APPLIED one is stored with a "refund" payment_events row
 * (@event_id). *@payment is the payment after the transaction. Thread-safe, blocking. */
gboolean pay_repository_refund (PayRepository    *self,
                                const PayRefund  *draft,
                                const gchar      *event_id,
                                PayRefundOutcome *outcome,
                                PayRefund        *refund,
                                PayPayment       *payment,
                                GError          **error);

/* Round trip to MySQL on a connection kept for health checks (not from the pool), so a
 * busy pool never makes the service look down. Thread-safe, blocking. */
gboolean pay_repository_ping (PayRepository *self, GError **error);

/* The repository's state, for metrics. */
typedef struct {
  guint   pool_in_use;        /* pooled connections checked out */
  guint   pool_waiting;       /* threads waiting for one */
  guint64 charge_statements;  /* charge INSERTs sent to MySQL, */
  guint64 charge_rows;        /* the charges they held (the gap is the grouping), */
  guint   charges_waiting;    /* and the charges waiting for the next one */
} PayRepositoryStats;

/* Fills *@stats. Any thread; never blocks on MySQL. */
void pay_repository_get_stats (PayRepository *self, PayRepositoryStats *stats);

/* Closes every pooled connection; later calls reconnect. */
void pay_repository_close (PayRepository *self);

G_END_DECLS
