/* pay-payment-row.c: a PayPayment as a row of the payments table, both ways. The
 * column order is PAY_PAYMENT_ROW_COLUMNS's, here and nowhere else. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-payment-row.h"

#include <string.h>

#include "core/pay-error.h"
#include "storage/pay-mysql-stmt.h"

/* The columns of PAY_PAYMENT_ROW_COLUMNS, as bound for reads and for writes. */
enum PaymentColumn {
  COL_TRANSACTION_ID,
  COL_ORDER_ID,
  COL_USER_ID,
  COL_AMOUNT_CENTS,
  COL_REFUNDED_CENTS,
  COL_STATUS,
  COL_PAYMENT_METHOD,
  COL_CARD_BRAND,
  COL_CARD_LAST4,
  COL_CREATED_AT_MS,
  COL_UPDATED_AT_MS,
  PAYMENT_N_COLUMNS
};

G_STATIC_ASSERT (PAYMENT_N_COLUMNS == PAY_PAYMENT_ROW_N_COLUMNS);

void
pay_payment_row_bind_params (PayPaymentParams *params, const PayPayment *p)
{
  memset (params, 0, sizeof *params);
  params->status = p->status;
  pay_mysql_bind_string (&params->bind[COL_TRANSACTION_ID], p->transaction_id,
                         &params->length[COL_TRANSACTION_ID]);
  pay_mysql_bind_int64 (&params->bind[COL_ORDER_ID], &p->order_id);
  pay_mysql_bind_int64 (&params->bind[COL_USER_ID], &p->user_id);
  pay_mysql_bind_int64 (&params->bind[COL_AMOUNT_CENTS], &p->amount_cents);
  pay_mysql_bind_int64 (&params->bind[COL_REFUNDED_CENTS], &p->refunded_cents);
  pay_mysql_bind_int64 (&params->bind[COL_STATUS], &params->status);
  pay_mysql_bind_string (&params->bind[COL_PAYMENT_METHOD], p->payment_method,
                         &params->length[COL_PAYMENT_METHOD]);
  pay_mysql_bind_string (&params->bind[COL_CARD_BRAND], p->card_brand,
                         &params->length[COL_CARD_BRAND]);
  pay_mysql_bind_string (&params->bind[COL_CARD_LAST4], p->card_last4,
                         &params->length[COL_CARD_LAST4]);
  pay_mysql_bind_int64 (&params->bind[COL_CREATED_AT_MS], &p->created_at_ms);
  pay_mysql_bind_int64 (&params->bind[COL_UPDATED_AT_MS], &p->updated_at_ms);
}

/* Result bindings for PAY_PAYMENT_ROW_COLUMNS into a PayPayment. */
typedef struct {
  MYSQL_BIND    bind[PAYMENT_N_COLUMNS];
  unsigned long length[PAYMENT_N_COLUMNS];
  my_bool       is_null[PAYMENT_N_COLUMNS];
  gint64        status;
  PayPayment   *payment;
} PaymentRow;

static void
payment_row_bind (PaymentRow *row, PayPayment *payment)
{
  memset (row, 0, sizeof *row);
  row->payment = payment;
  pay_mysql_bind_result_string (&row->bind[COL_TRANSACTION_ID], payment->transaction_id,
                                sizeof payment->transaction_id,
                                &row->length[COL_TRANSACTION_ID], &row->is_null[COL_TRANSACTION_ID]);
  pay_mysql_bind_result_int64 (&row->bind[COL_ORDER_ID], &payment->order_id, &row->is_null[COL_ORDER_ID]);
  pay_mysql_bind_result_int64 (&row->bind[COL_USER_ID], &payment->user_id, &row->is_null[COL_USER_ID]);
  pay_mysql_bind_result_int64 (&row->bind[COL_AMOUNT_CENTS], &payment->amount_cents,
                               &row->is_null[COL_AMOUNT_CENTS]);
  pay_mysql_bind_result_int64 (&row->bind[COL_REFUNDED_CENTS], &payment->refunded_cents,
                               &row->is_null[COL_REFUNDED_CENTS]);
  pay_mysql_bind_result_int64 (&row->bind[COL_STATUS], &row->status, &row->is_null[COL_STATUS]);
  pay_mysql_bind_result_string (&row->bind[COL_PAYMENT_METHOD], payment->payment_method,
                                sizeof payment->payment_method,
                                &row->length[COL_PAYMENT_METHOD], &row->is_null[COL_PAYMENT_METHOD]);
  pay_mysql_bind_result_string (&row->bind[COL_CARD_BRAND], payment->card_brand,
                                sizeof payment->card_brand,
                                &row->length[COL_CARD_BRAND], &row->is_null[COL_CARD_BRAND]);
  pay_mysql_bind_result_string (&row->bind[COL_CARD_LAST4], payment->card_last4,
                                sizeof payment->card_last4,
                                &row->length[COL_CARD_LAST4], &row->is_null[COL_CARD_LAST4]);
  pay_mysql_bind_result_int64 (&row->bind[COL_CREATED_AT_MS], &payment->created_at_ms,
                               &row->is_null[COL_CREATED_AT_MS]);
  pay_mysql_bind_result_int64 (&row->bind[COL_UPDATED_AT_MS], &payment->updated_at_ms,
                               &row->is_null[COL_UPDATED_AT_MS]);
}

/* Completes a fetched row: strings terminated, NULL times as 0, the status checked. */
static gboolean
payment_row_finish (PaymentRow *row, GError **error)
{
  PayPayment *p = row->payment;

  pay_mysql_terminate_string (p->transaction_id, sizeof p->transaction_id,
                              row->length[COL_TRANSACTION_ID], row->is_null[COL_TRANSACTION_ID]);
  pay_mysql_terminate_string (p->payment_method, sizeof p->payment_method,
                              row->length[COL_PAYMENT_METHOD], row->is_null[COL_PAYMENT_METHOD]);
  pay_mysql_terminate_string (p->card_brand, sizeof p->card_brand,
                              row->length[COL_CARD_BRAND], row->is_null[COL_CARD_BRAND]);
  pay_mysql_terminate_string (p->card_last4, sizeof p->card_last4,
                              row->length[COL_CARD_LAST4], row->is_null[COL_CARD_LAST4]);
  if (row->is_null[COL_CREATED_AT_MS])
    p->created_at_ms = 0;
  if (row->is_null[COL_UPDATED_AT_MS])
    p->updated_at_ms = p->created_at_ms;
  if (row->status < PAY_STATUS_PAID || row->status > PAY_STATUS_REFUNDED)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                           "storage unavailable: a payment row has an unknown status");
      return FALSE;
    }
  p->status = (PayStatus) row->status;
  return TRUE;
}

gboolean
pay_payment_row_read (PayMysqlConn *conn,
                      const gchar  *sql,
                      MYSQL_BIND   *param,
                      PayPayment   *out,
                      guint        *server_errno,
                      GError      **error)
{
  PaymentRow row;
  gboolean found = FALSE;

  payment_row_bind (&row, out);
  if (!pay_mysql_stmt_run (conn, sql, param, row.bind, &found, NULL, NULL, server_errno, error))
    return FALSE;
  if (!found)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_NOT_FOUND, "payment not found");
      return FALSE;
    }
  return payment_row_finish (&row, error);
}
