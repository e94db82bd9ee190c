/* pay-payment-row.h: the one mapping between a PayPayment and a row of the payments
 * table: its column list, the parameters that write a row and the result bindings that
 * read one back, with their conversions (status as a BIGINT, NULL times).
 * Internal to src/storage/: the charge, query and refund code use it. */
#pragma once

#include <glib.h>
#include <mysql.h>

#include "domain/pay-types.h"
#include "storage/pay-mysql-pool.h"

G_BEGIN_DECLS

/* A payment's columns, in the order of the binds below: for a SELECT's column list and
 * an INSERT's. */
#define PAY_PAYMENT_ROW_COLUMNS \
  "transaction_id, order_id, user_id, amount_cents, refunded_cents, status," \
  " payment_method, card_brand, card_last4, created_at_ms, updated_at_ms"

/* One row's placeholders in an INSERT's VALUES, one per column. */
#define PAY_PAYMENT_ROW_VALUES "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* How many columns PAY_PAYMENT_ROW_COLUMNS names. */
#define PAY_PAYMENT_ROW_N_COLUMNS 11

/* The parameters that write one row of PAY_PAYMENT_ROW_COLUMNS. */
typedef struct {
  MYSQL_BIND    bind[PAY_PAYMENT_ROW_N_COLUMNS];
  unsigned long length[PAY_PAYMENT_ROW_N_COLUMNS];
  gint64        status;
} PayPaymentParams;

/* Binds @payment's fields as the parameters of one row. @payment is borrowed: it, and
 * @params (the status and lengths live in it), must outlive any use of params->bind. */
void     pay_payment_row_bind_params (PayPaymentParams *params, const PayPayment *payment);

/* Reads one payment (PAY_PAYMENT_ROW_COLUMNS, in that order) by @sql and its one
 * parameter @param into *@out: strings terminated, a NULL created_at_ms as 0, a NULL
 * updated_at_ms as created_at_ms, the status checked (an unknown one is
 * PAY_ERROR_STORAGE_UNAVAILABLE). PAY_ERROR_NOT_FOUND when there is no such row;
 * @server_errno gets MySQL's error number, if any. */
gboolean pay_payment_row_read (PayMysqlConn *conn,
                               const gchar  *sql,
                               MYSQL_BIND   *param,
                               PayPayment   *out,
                               guint        *server_errno,
                               GError      **error);

G_END_DECLS
