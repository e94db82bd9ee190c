/* pay-mysql-stmt.c: prepared-statement and transaction helpers over PayMysqlConn. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-mysql-stmt.h"

#include <mysqld_error.h>
#include <string.h>

#include "core/pay-error.h"

void
pay_mysql_bind_string (MYSQL_BIND *bind, const gchar *value, unsigned long *length)
{
  *length = strlen (value);
  bind->buffer_type = MYSQL_TYPE_STRING;
  bind->buffer = (gchar *) value;
  bind->buffer_length = *length;
  bind->length = length;
}

void
pay_mysql_bind_string_or_null (MYSQL_BIND *bind, const gchar *value, unsigned long *length)
{
  if (value == NULL)
    pay_mysql_bind_null (bind);
  else
    pay_mysql_bind_string (bind, value, length);
}

void
pay_mysql_bind_int64 (MYSQL_BIND *bind, const gint64 *value)
{
  bind->buffer_type = MYSQL_TYPE_LONGLONG;
  bind->buffer = (gint64 *) value;
  bind->is_unsigned = 0;
}

void
pay_mysql_bind_null (MYSQL_BIND *bind)
{
  bind->buffer_type = MYSQL_TYPE_NULL;
}

void
pay_mysql_bind_result_string (MYSQL_BIND    *bind,
                              gchar         *buffer,
                              gsize          size,
                              unsigned long *length,
                              my_bool       *is_null)
{
  bind->buffer_type = MYSQL_TYPE_STRING;
  bind->buffer = buffer;
  bind->buffer_length = size;
  bind->length = length;
  bind->is_null = is_null;
}

void
pay_mysql_bind_result_int64 (MYSQL_BIND *bind, gint64 *value, my_bool *is_null)
{
  pay_mysql_bind_int64 (bind, value);
  bind->is_null = is_null;
}

void
pay_mysql_terminate_string (gchar *buffer, gsize size, unsigned long length, my_bool is_null)
{
  buffer[is_null ? 0 : MIN ((gsize) length, size - 1)] = '\0';
}

gboolean
pay_mysql_stmt_run (PayMysqlConn          *conn,
                    const gchar           *sql,
                    MYSQL_BIND            *params,
                    MYSQL_BIND            *results,
                    gboolean              *found,
                    guint64               *affected,
                    PayMysqlDuplicateFunc  on_duplicate,
                    guint                 *server_errno,
                    GError               **error)
{
  MYSQL_STMT *stmt;
  int rc;

  *server_errno = 0;
  stmt = pay_mysql_conn_prepare (conn, sql, error);
  if (stmt == NULL)
    return FALSE;

  if (params != NULL && mysql_stmt_bind_param (stmt, params) != 0)
    return pay_mysql_conn_fail (conn, mysql_stmt_errno (stmt), mysql_stmt_error (stmt), error);

  if (mysql_stmt_execute (stmt) != 0)
    {
      *server_errno = mysql_stmt_errno (stmt);
      if (*server_errno == ER_DUP_ENTRY && on_duplicate != NULL)
        return on_duplicate (mysql_stmt_error (stmt), error);
      return pay_mysql_conn_fail (conn, *server_errno, mysql_stmt_error (stmt), error);
    }
  if (affected != NULL)
    *affected = mysql_stmt_affected_rows (stmt);
  if (results == NULL)
    return TRUE;

  /* Buffer the (at most one) row so the connection is free again after the fetch. */
  if (mysql_stmt_bind_result (stmt, results) != 0 || mysql_stmt_store_result (stmt) != 0)
    {
      *server_errno = mysql_stmt_errno (stmt);
      return pay_mysql_conn_fail (conn, *server_errno, mysql_stmt_error (stmt), error);
    }
  rc = mysql_stmt_fetch (stmt);
  mysql_stmt_free_result (stmt);
  if (rc == 0 || rc == MYSQL_NO_DATA)
    {
      *found = rc == 0;
      return TRUE;
    }
  if (rc == MYSQL_DATA_TRUNCATED)
    {
      g_set_error_literal (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                           "storage unavailable: a stored value does not fit");
      return FALSE;
    }
  *server_errno = mysql_stmt_errno (stmt);
  return pay_mysql_conn_fail (conn, *server_errno, mysql_stmt_error (stmt), error);
}

gboolean
pay_mysql_transaction (PayMysqlConn    *conn,
                       PayMysqlTxnFunc  body,
                       gpointer         data,
                       guint           *server_errno,
                       GError         **error)
{
  if (!pay_mysql_conn_query (conn, "START TRANSACTION", server_errno, error))
    return FALSE;

  if (!body (conn, data, server_errno, error))
    {
      /* On a broken connection this fails too, and the server rolls back by itself. */
      pay_mysql_conn_query (conn, "ROLLBACK", NULL, NULL);
      return FALSE;
    }
  return pay_mysql_conn_query (conn, "COMMIT", server_errno, error);
}
