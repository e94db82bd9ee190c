/* pay-repository-refund.c: PayRepository's refunds: one transaction that locks the
 * payment row, checks for a replay and the balance, then updates the payment and inserts
 * the refund and its payment_events row. The refund is the one the caller's draft
 * describes (PayPaymentStore's refund contract); no rule is decided here. */
#define G_LOG_DOMAIN "payment-storage"

#include <mysqld_error.h>
#include <string.h>

#include "core/pay-error.h"
#include "storage/pay-payment-row.h"
#include "storage/pay-repository-private.h"
#include "storage/pay-schema.h"

/* The refund's first statement: locks the payment row until commit, so refunds of one
 * payment, from any instance, run one after the other. */
static const gchar lock_payment_sql[] =
  "SELECT " PAY_PAYMENT_ROW_COLUMNS " FROM " PAY_SCHEMA_PAYMENTS_TABLE
  " WHERE transaction_id = ? FOR UPDATE";

/* Guarded as well as locked: the row must still hold what the transaction read. */
static const gchar update_refunded_sql[] =
  "UPDATE " PAY_SCHEMA_PAYMENTS_TABLE
  " SET refunded_cents = ?, status = ?, updated_at_ms = ?"
  " WHERE transaction_id = ? AND refunded_cents = ? AND ? <= amount_cents";

#define REFUND_COLUMNS \
  "refund_id, transaction_id, refund_request_id, requested_cents, reason, amount_cents," \
  " total_refunded_cents, status, created_at_ms"

enum RefundColumn {
  RCOL_REFUND_ID,
  RCOL_TRANSACTION_ID,
  RCOL_REQUEST_ID,
  RCOL_REQUESTED_CENTS,
  RCOL_REASON,
  RCOL_AMOUNT_CENTS,
  RCOL_TOTAL_REFUNDED_CENTS,
  RCOL_STATUS,
  RCOL_CREATED_AT_MS,
  REFUND_N_COLUMNS
};

static const gchar select_refund_sql[] =
  "SELECT " REFUND_COLUMNS " FROM " PAY_SCHEMA_REFUNDS_TABLE
  " WHERE transaction_id = ? AND refund_request_id = ?";
/* Written, never read back: caller is the audit's, not part of a replay's match. */
static const gchar insert_refund_sql[] =
  "INSERT INTO " PAY_SCHEMA_REFUNDS_TABLE " (" REFUND_COLUMNS ", caller)"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum EventParam {
  EV_EVENT_ID,
  EV_TYPE,
  EV_TRANSACTION_ID,
  EV_ORDER_ID,
  EV_REFUND_ID,
  EV_AMOUNT_CENTS,
  EV_STATUS,
  EV_CREATED_AT_MS,
  EV_CALLER,
  EV_N_PARAMS
};

#define EVENT_COLUMNS \
  "event_id, event_type, transaction_id, order_id, refund_id, amount_cents, status," \
  " created_at_ms, caller"

static const gchar insert_event_sql[] =
  "INSERT INTO " PAY_SCHEMA_EVENTS_TABLE " (" EVENT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* A refund that meets a deadlock is run again this many times in all. Refunds lock one
 * payment row first, so deadlocks are not expected; InnoDB may still report one. */
#define PAY_REPOSITORY_DEADLOCK_ATTEMPTS 3

/* Inserts the payment_events row of a refund (a charge's comes from the schema's
 * trigger). */
static gboolean
insert_refund_event (PayMysqlConn     *conn,
                     const gchar      *event_id,
                     const PayPayment *payment,
                     const PayRefund  *refund,
                     guint            *server_errno,
                     GError          **error)
{
  MYSQL_BIND bind[EV_N_PARAMS];
  unsigned long lengths[EV_N_PARAMS] = { 0 };
  gint64 status = payment->status;

  memset (bind, 0, sizeof bind);
  pay_mysql_bind_string (&bind[EV_EVENT_ID], event_id, &lengths[EV_EVENT_ID]);
  pay_mysql_bind_string (&bind[EV_TYPE], PAY_SCHEMA_EVENT_REFUND, &lengths[EV_TYPE]);
  pay_mysql_bind_string (&bind[EV_TRANSACTION_ID], payment->transaction_id, &lengths[EV_TRANSACTION_ID]);
  pay_mysql_bind_int64 (&bind[EV_ORDER_ID], &payment->order_id);
  pay_mysql_bind_string (&bind[EV_REFUND_ID], refund->refund_id, &lengths[EV_REFUND_ID]);
  pay_mysql_bind_int64 (&bind[EV_AMOUNT_CENTS], &refund->amount_cents);
  pay_mysql_bind_int64 (&bind[EV_STATUS], &status);
  pay_mysql_bind_int64 (&bind[EV_CREATED_AT_MS], &refund->created_at_ms);
  pay_mysql_bind_string_or_null (&bind[EV_CALLER], refund->caller[0] != '\0' ? refund->caller : NULL,
                                 &lengths[EV_CALLER]);
  return pay_mysql_stmt_run (conn, insert_event_sql, bind, NULL, NULL, NULL,
                             pay_repository_duplicate_error, server_errno, error);
}

/* ---- refund ------------------------------------------------------------------------------ */

typedef struct {
  const PayRefund  *draft;
  const gchar      *event_id;
  PayRefund        *refund;
  PayPayment       *payment;
  PayRefundOutcome *outcome;
} RefundWork;

/* The refund stored under the draft's (transaction_id, refund_request_id) into *@out;
 * *@found FALSE when there is none. */
static gboolean
read_refund (PayMysqlConn    *conn,
             const PayRefund *draft,
             PayRefund       *out,
             gboolean        *found,
             guint           *server_errno,
             GError         **error)
{
  MYSQL_BIND params[2], bind[REFUND_N_COLUMNS];
  unsigned long param_len[2] = { 0 }, length[REFUND_N_COLUMNS] = { 0 };
  my_bool is_null[REFUND_N_COLUMNS] = { 0 };
  gint64 status = 0;

  memset (params, 0, sizeof params);
  memset (bind, 0, sizeof bind);
  memset (out, 0, sizeof *out);
  pay_mysql_bind_string (&params[0], draft->transaction_id, &param_len[0]);
  pay_mysql_bind_string (&params[1], draft->refund_request_id, &param_len[1]);

  pay_mysql_bind_result_string (&bind[RCOL_REFUND_ID], out->refund_id, sizeof out->refund_id,
                                &length[RCOL_REFUND_ID], &is_null[RCOL_REFUND_ID]);
  pay_mysql_bind_result_string (&bind[RCOL_TRANSACTION_ID], out->transaction_id,
                                sizeof out->transaction_id,
                                &length[RCOL_TRANSACTION_ID], &is_null[RCOL_TRANSACTION_ID]);
  pay_mysql_bind_result_string (&bind[RCOL_REQUEST_ID], out->refund_request_id,
                                sizeof out->refund_request_id,
                                &length[RCOL_REQUEST_ID], &is_null[RCOL_REQUEST_ID]);
  pay_mysql_bind_result_int64 (&bind[RCOL_REQUESTED_CENTS], &out->requested_cents,
                               &is_null[RCOL_REQUESTED_CENTS]);
  pay_mysql_bind_result_string (&bind[RCOL_REASON], out->reason, sizeof out->reason,
                                &length[RCOL_REASON], &is_null[RCOL_REASON]);
  pay_mysql_bind_result_int64 (&bind[RCOL_AMOUNT_CENTS], &out->amount_cents, &is_null[RCOL_AMOUNT_CENTS]);
  pay_mysql_bind_result_int64 (&bind[RCOL_TOTAL_REFUNDED_CENTS], &out->total_refunded_cents,
                               &is_null[RCOL_TOTAL_REFUNDED_CENTS]);
  pay_mysql_bind_result_int64 (&bind[RCOL_STATUS], &status, &is_null[RCOL_STATUS]);
  pay_mysql_bind_result_int64 (&bind[RCOL_CREATED_AT_MS], &out->created_at_ms,
                               &is_null[RCOL_CREATED_AT_MS]);

  if (!pay_mysql_stmt_run (conn, select_refund_sql, params, bind, found, NULL, NULL,
                           server_errno, error))
    return FALSE;
  if (!*found)
    return TRUE;

  pay_mysql_terminate_string (out->refund_id, sizeof out->refund_id,
                              length[RCOL_REFUND_ID], is_null[RCOL_REFUND_ID]);
  pay_mysql_terminate_string (out->transaction_id, sizeof out->transaction_id,
                              length[RCOL_TRANSACTION_ID], is_null[RCOL_TRANSACTION_ID]);
  pay_mysql_terminate_string (out->refund_request_id, sizeof out->refund_request_id,
                              length[RCOL_REQUEST_ID], is_null[RCOL_REQUEST_ID]);
  pay_mysql_terminate_string (out->reason, sizeof out->reason,
                              length[RCOL_REASON], is_null[RCOL_REASON]);
  out->has_requested = !is_null[RCOL_REQUESTED_CENTS];
  out->has_reason = !is_null[RCOL_REASON];
  out->status = (PayStatus) status;
  return TRUE;
}

static gboolean
insert_refund (PayMysqlConn *conn, const PayRefund *refund, guint *server_errno, GError **error)
{
  MYSQL_BIND bind[REFUND_N_COLUMNS + 1];
  unsigned long length[REFUND_N_COLUMNS + 1] = { 0 };
  gint64 status = refund->status;

  memset (bind, 0, sizeof bind);
  pay_mysql_bind_string (&bind[RCOL_REFUND_ID], refund->refund_id, &length[RCOL_REFUND_ID]);
  pay_mysql_bind_string (&bind[RCOL_TRANSACTION_ID], refund->transaction_id,
                         &length[RCOL_TRANSACTION_ID]);
  pay_mysql_bind_string (&bind[RCOL_REQUEST_ID], refund->refund_request_id, &length[RCOL_REQUEST_ID]);
  if (refund->has_requested)
    pay_mysql_bind_int64 (&bind[RCOL_REQUESTED_CENTS], &refund->requested_cents);
  else
    pay_mysql_bind_null (&bind[RCOL_REQUESTED_CENTS]);
  pay_mysql_bind_string_or_null (&bind[RCOL_REASON], refund->has_reason ? refund->reason : NULL,
                                 &length[RCOL_REASON]);
  pay_mysql_bind_int64 (&bind[RCOL_AMOUNT_CENTS], &refund->amount_cents);
  pay_mysql_bind_int64 (&bind[RCOL_TOTAL_REFUNDED_CENTS], &refund->total_refunded_cents);
  pay_mysql_bind_int64 (&bind[RCOL_STATUS], &status);
  pay_mysql_bind_int64 (&bind[RCOL_CREATED_AT_MS], &refund->created_at_ms);
  pay_mysql_bind_string_or_null (&bind[REFUND_N_COLUMNS],
                                 refund->caller[0] != '\0' ? refund->caller : NULL,
                                 &length[REFUND_N_COLUMNS]);
  return pay_mysql_stmt_run (conn, insert_refund_sql, bind, NULL, NULL, NULL,
                             pay_repository_duplicate_error, server_errno, error);
}

/* Moves the locked payment from @before's refunded total to @after's. */
static gboolean
update_refunded (PayMysqlConn     *conn,
                 const PayPayment *before,
                 const PayPayment *after,
                 guint            *server_errno,
                 GError          **error)
{
  MYSQL_BIND bind[6];
  unsigned long tx_length = 0;
  gint64 status = after->status;
  guint64 affected = 0;

  memset (bind, 0, sizeof bind);
  pay_mysql_bind_int64 (&bind[0], &after->refunded_cents);
  pay_mysql_bind_int64 (&bind[1], &status);
  pay_mysql_bind_int64 (&bind[2], &after->updated_at_ms);
  pay_mysql_bind_string (&bind[3], before->transaction_id, &tx_length);
  pay_mysql_bind_int64 (&bind[4], &before->refunded_cents);
  pay_mysql_bind_int64 (&bind[5], &after->refunded_cents);
  if (!pay_mysql_stmt_run (conn, update_refunded_sql, bind, NULL, NULL, &affected, NULL,
                           server_errno, error))
    return FALSE;
  if (affected != 1)
    {
      /* Cannot happen while the row is locked; never refund on a row we did not read. */
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                           "storage unavailable: the payment changed during the refund");
      return FALSE;
    }
  return TRUE;
}

static gboolean
refund_txn (PayMysqlConn *conn, gpointer data, guint *server_errno, GError **error)
{
  RefundWork *work = data;
  const PayRefund *draft = work->draft;
  MYSQL_BIND param;
  unsigned long length = 0;
  PayPayment before;
  gint64 balance, cents;
  gboolean found = FALSE;

  /* The order of checks is the contract's: existence, replay, balance. */
  memset (&param, 0, sizeof param);
  pay_mysql_bind_string (&param, draft->transaction_id, &length);
  if (!pay_payment_row_read (conn, lock_payment_sql, &param, &before, server_errno, error))
    return FALSE;
  *work->payment = before;
  if (!read_refund (conn, draft, work->refund, &found, server_errno, error))
    return FALSE;
  if (found)
    {
      *work->outcome = PAY_REFUND_REPLAYED;
      return TRUE;
    }
  balance = before.amount_cents - before.refunded_cents;
  cents = draft->has_requested ? draft->requested_cents : balance;
  if (balance <= 0 || cents > balance)
    {
      *work->outcome = PAY_REFUND_REFUSED;
      return TRUE;
    }

  work->payment->refunded_cents = before.refunded_cents + cents;
  work->payment->status = pay_status_for_refunded (before.amount_cents,
                                                   work->payment->refunded_cents);
  work->payment->updated_at_ms = MAX (draft->created_at_ms, before.updated_at_ms);
  *work->refund = *draft;
  work->refund->amount_cents = cents;
  work->refund->total_refunded_cents = work->payment->refunded_cents;
  work->refund->status = work->payment->status;
  *work->outcome = PAY_REFUND_APPLIED;

  return update_refunded (conn, &before, work->payment, server_errno, error) &&
         insert_refund (conn, work->refund, server_errno, error) &&
         insert_refund_event (conn, work->event_id, work->payment, work->refund,
                              server_errno, error);
}

static gboolean
refund_work (PayMysqlConn *conn, gpointer data, guint *server_errno, GError **error)
{
  RefundWork *work = data;

  for (guint attempt = 1; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (pay_mysql_transaction (conn, refund_txn, data, server_errno, &local_error))
        return TRUE;
      if (*server_errno != ER_LOCK_DEADLOCK || attempt == PAY_REPOSITORY_DEADLOCK_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("refund of %s hit a deadlock; running it again", work->draft->transaction_id);
    }
}

gboolean
pay_repository_refund (PayRepository    *self,
                       const PayRefund  *draft,
                       const gchar      *event_id,
                       PayRefundOutcome *outcome,
                       PayRefund        *refund,
                       PayPayment       *payment,
                       GError          **error)
{
  RefundWork work = { draft, event_id, refund, payment, outcome };

  g_return_val_if_fail (PAY_IS_REPOSITORY (self), FALSE);
  g_return_val_if_fail (draft != NULL && event_id != NULL, FALSE);
  g_return_val_if_fail (outcome != NULL && refund != NULL && payment != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return pay_repository_run_pooled (self, refund_work, &work, error);
}
