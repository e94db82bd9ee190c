/* pay-repository-private.h: what pay-repository.c shares with pay-repository-refund.c.
 * Not for other modules: they use pay-repository.h. */
#pragma once

#include "storage/pay-mysql-pool.h"
#include "storage/pay-mysql-stmt.h"
#include "storage/pay-repository.h"

G_BEGIN_DECLS

/* The columns of a payment as read back, in the order of pay-repository.c's enum
 * PaymentColumn. */
#define PAY_REPOSITORY_PAYMENT_COLUMNS \
  "transaction_id, order_id, user_id, amount_cents, refunded_cents, status," \
  " payment_method, card_brand, card_last4, created_at_ms, updated_at_ms"

/* Work on a pooled connection; @server_errno gets MySQL's error number, if any. */
typedef gboolean (*PayRepositoryWork) (PayMysqlConn *conn, gpointer data, guint *server_errno,
                                       GError **error);

/* Sets the schema up when needed, runs @work on a pooled connection and gives it back. */
gboolean pay_repository_run_pooled (PayRepository     *self,
                                    PayRepositoryWork  work,
                                    gpointer           data,
                                    GError           **error);

/* Reads one payment (PAY_REPOSITORY_PAYMENT_COLUMNS) by @sql and its one parameter.
 * PAY_ERROR_NOT_FOUND when there is no such row. */
gboolean pay_repository_read_payment (PayMysqlConn *conn,
                                      const gchar  *sql,
                                      MYSQL_BIND   *param,
                                      PayPayment   *out,
                                      guint        *server_errno,
                                      GError      **error);

/* The PAY_ERROR for a duplicate key reported by MySQL's @detail; always FALSE (a
 * PayMysqlDuplicateFunc). */
gboolean pay_repository_duplicate_error (const gchar *detail, GError **error);

G_END_DECLS
