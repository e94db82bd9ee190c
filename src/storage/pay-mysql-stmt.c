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

/* ---- executing from a main loop ---------------------------------------------------------- */

/* One pay_mysql_stmt_execute_async(): a source polling the connection's socket for what
 * the client library waits for, with its timeout as the ready time. */
typedef struct {
  GSource          source;
  GPollFD          pfd;
  PayMysqlConn    *conn;
  MYSQL_STMT      *stmt;
  int              ret;
  PayMysqlExecFunc done;
  gpointer         user_data;
} ExecSource;

/* Waits for what @status (MYSQL_WAIT_*) asks for. */
static void
exec_wait (ExecSource *exec, int status)
{
  MYSQL *mysql = pay_mysql_conn_get_handle (exec->conn);

  exec->pfd.events = (status & MYSQL_WAIT_READ ? G_IO_IN : 0) |
                     (status & MYSQL_WAIT_WRITE ? G_IO_OUT : 0) |
                     (status & MYSQL_WAIT_EXCEPT ? G_IO_PRI : 0);
  exec->pfd.revents = 0;
  g_source_set_ready_time (&exec->source,
                           status & MYSQL_WAIT_TIMEOUT
                           ? g_source_get_time (&exec->source)
                             + (gint64) mysql_get_timeout_value_ms (mysql) * G_TIME_SPAN_MILLISECOND
                           : -1);
}

static gboolean
exec_check (GSource *source)
{
  ExecSource *exec = (ExecSource *) source;

  return (exec->pfd.revents & (exec->pfd.events | G_IO_HUP | G_IO_ERR)) != 0;
}

static gboolean
exec_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ExecSource *exec = (ExecSource *) source;
  gushort revents = exec->pfd.revents;
  int ready = 0, status;

  if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    ready |= MYSQL_WAIT_READ;
  if (revents & (G_IO_OUT | G_IO_HUP | G_IO_ERR))
    ready |= MYSQL_WAIT_WRITE;
  if (revents & G_IO_PRI)
    ready |= MYSQL_WAIT_EXCEPT;
  if (ready == 0)
    ready = MYSQL_WAIT_TIMEOUT;   /* woken by the ready time */

  status = mysql_stmt_execute_cont (&exec->ret, exec->stmt, ready);
  if (status != 0)
    {
      exec_wait (exec, status);
      return G_SOURCE_CONTINUE;
    }
  exec->done (exec->conn, exec->stmt, exec->ret, exec->user_data);
  return G_SOURCE_REMOVE;
}

static GSourceFuncs exec_source_funcs = {
  .check = exec_check,
  .dispatch = exec_dispatch,
};

void
pay_mysql_stmt_execute_async (PayMysqlConn     *conn,
                              MYSQL_STMT       *stmt,
                              GMainContext     *context,
                              PayMysqlExecFunc  done,
                              gpointer          user_data)
{
  ExecSource *exec;
  int ret = 0;
  int status;

  g_return_if_fail (conn != NULL && stmt != NULL && done != NULL);

  status = mysql_stmt_execute_start (&ret, stmt);
  if (status == 0)
    {
      done (conn, stmt, ret, user_data);
      return;
    }
  exec = (ExecSource *) g_source_new (&exec_source_funcs, sizeof (ExecSource));
  exec->conn = conn;
  exec->stmt = stmt;
  exec->done = done;
  exec->user_data = user_data;
  exec->pfd.fd = (gint) mysql_get_socket (pay_mysql_conn_get_handle (conn));
  g_source_add_poll (&exec->source, &exec->pfd);
  g_source_set_priority (&exec->source, G_PRIORITY_DEFAULT);
  /* No fd removal and re-adding (each an eventfd write) around every dispatch. */
  g_source_set_can_recurse (&exec->source, TRUE);
  g_source_attach (&exec->source, context);
  exec_wait (exec, status);
  g_source_unref (&exec->source);   /* the context holds it until dispatch removes it */
}
