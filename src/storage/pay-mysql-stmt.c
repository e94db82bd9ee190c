/* pay-mysql-stmt.c: prepared-statement and transaction helpers over PayMysqlConn. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-mysql-stmt.h"

#include <errmsg.h>
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

/* Prepares (or finds) @sql, binds @params and executes it: the part every run shares.
 * *@stmt gets the statement on success. */
static gboolean
stmt_execute (PayMysqlConn          *conn,
              const gchar           *sql,
              MYSQL_BIND            *params,
              MYSQL_STMT           **stmt,
              PayMysqlDuplicateFunc  on_duplicate,
              guint                 *server_errno,
              GError               **error)
{
  *server_errno = 0;
  *stmt = pay_mysql_conn_prepare (conn, sql, server_errno, error);
  if (*stmt == NULL)
    return FALSE;

  if (params != NULL && mysql_stmt_bind_param (*stmt, params) != 0)
    return pay_mysql_conn_fail (conn, mysql_stmt_errno (*stmt), mysql_stmt_error (*stmt), error);

  if (mysql_stmt_execute (*stmt) != 0)
    {
      *server_errno = mysql_stmt_errno (*stmt);
      if (*server_errno == ER_DUP_ENTRY && on_duplicate != NULL)
        return on_duplicate (mysql_stmt_error (*stmt), error);
      return pay_mysql_conn_fail (conn, *server_errno, mysql_stmt_error (*stmt), error);
    }
  return TRUE;
}

/* A failed fetch: a truncated value (the buffers are sized for the schema) or MySQL's. */
static gboolean
fetch_failed (PayMysqlConn *conn, MYSQL_STMT *stmt, int rc, guint *server_errno, GError **error)
{
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

  if (!stmt_execute (conn, sql, params, &stmt, on_duplicate, server_errno, error))
    return FALSE;
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
  return fetch_failed (conn, stmt, rc, server_errno, error);
}

gboolean
pay_mysql_stmt_run_rows (PayMysqlConn       *conn,
                         const gchar        *sql,
                         MYSQL_BIND         *params,
                         MYSQL_BIND         *results,
                         PayMysqlRowFunc     row_func,
                         gpointer            data,
                         guint              *server_errno,
                         GError            **error)
{
  MYSQL_STMT *stmt;
  int rc;

  g_return_val_if_fail (results != NULL && row_func != NULL, FALSE);

  if (!stmt_execute (conn, sql, params, &stmt, NULL, server_errno, error))
    return FALSE;
  /* Buffer the rows so the connection is free again while @row_func runs. */
  if (mysql_stmt_bind_result (stmt, results) != 0 || mysql_stmt_store_result (stmt) != 0)
    {
      *server_errno = mysql_stmt_errno (stmt);
      mysql_stmt_free_result (stmt);
      return pay_mysql_conn_fail (conn, *server_errno, mysql_stmt_error (stmt), error);
    }
  while ((rc = mysql_stmt_fetch (stmt)) == 0)
    row_func (data);
  mysql_stmt_free_result (stmt);
  if (rc == MYSQL_NO_DATA)
    return TRUE;
  return fetch_failed (conn, stmt, rc, server_errno, error);
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
      pay_mysql_conn_rollback (conn);
      return FALSE;
    }
  if (!pay_mysql_conn_query (conn, "COMMIT", server_errno, error))
    {
      /* The outcome is unknown, and so is the session's state: end whatever it has
       * open (a caller that retries a deadlock on @conn starts clean), and retire it. */
      pay_mysql_conn_rollback (conn);
      pay_mysql_conn_retire (conn);
      return FALSE;
    }
  return TRUE;
}

/* ---- executing from a main loop ---------------------------------------------------------- */

/* The source pay_mysql_stmt_execute_async() polls a connection's socket with. One per
 * connection, attached for the connection's life: attaching a source, removing it and
 * setting its ready time each wake the loop up (an eventfd write), three per charge
 * before. Between executions it asks for no events on the socket (GLib keeps its poll
 * records sorted by fd, so the fd stays: the connection's, which never changes, as
 * MYSQL_OPT_RECONNECT is off); a hang-up seen while idle takes the socket out of the
 * poll set until the next execution, or the loop would spin on it. The timeout is
 * computed in prepare(), which the loop calls before every poll. */
/* The steps of an execution: a prepared statement; or a text batch (its first result, the
 * next ones, the ROLLBACK after a failure). */
typedef enum {
  EXEC_STMT,
  EXEC_BATCH_QUERY,
  EXEC_BATCH_NEXT,
  EXEC_BATCH_ROLLBACK,
} ExecStep;

typedef struct {
  GSource          source;
  GPollFD          pfd;
  PayMysqlConn    *conn;
  gboolean         polling;       /* pfd is in the source's poll set */
  gboolean         active;        /* an execution is waiting */
  gint64           deadline_us;   /* monotonic; -1: none */
  ExecStep         step;          /* what the library is doing for us */
  MYSQL_STMT      *stmt;          /* EXEC_STMT */
  int              ret;
  PayMysqlExecFunc done;          /* EXEC_STMT */
  PayMysqlBatchFunc batch_done;   /* the EXEC_BATCH_ steps */
  guint            batch_errno;   /* the batch's failure, kept across its ROLLBACK */
  gchar           *batch_message;
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
  exec->deadline_us = status & MYSQL_WAIT_TIMEOUT
                      ? g_get_monotonic_time ()
                        + (gint64) mysql_get_timeout_value_ms (mysql) * G_TIME_SPAN_MILLISECOND
                      : -1;
}

/* Between executions: nothing to poll, no timeout. */
static void
exec_idle (ExecSource *exec)
{
  exec->active = FALSE;
  exec->pfd.events = 0;
  exec->pfd.revents = 0;
  exec->deadline_us = -1;
  exec->stmt = NULL;
  exec->done = NULL;
  exec->batch_done = NULL;
  exec->batch_errno = 0;
  g_clear_pointer (&exec->batch_message, g_free);
  exec->user_data = NULL;
}

static gboolean
exec_timed_out (ExecSource *exec)
{
  return exec->active && exec->deadline_us >= 0
         && g_source_get_time (&exec->source) >= exec->deadline_us;
}

static gboolean
exec_prepare (GSource *source, gint *timeout)
{
  ExecSource *exec = (ExecSource *) source;
  gint64 left_us;

  *timeout = -1;
  if (!exec->active || exec->deadline_us < 0)
    return FALSE;
  left_us = exec->deadline_us - g_source_get_time (source);
  if (left_us <= 0)
    {
      *timeout = 0;
      return TRUE;
    }
  *timeout = (gint) MIN ((left_us + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
exec_check (GSource *source)
{
  ExecSource *exec = (ExecSource *) source;

  if (!exec->active)
    return (exec->pfd.revents & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) != 0;
  return (exec->pfd.revents & (exec->pfd.events | G_IO_HUP | G_IO_ERR)) != 0
         || exec_timed_out (exec);
}

static void batch_continue (ExecSource *exec, int ready);

static gboolean
exec_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ExecSource *exec = (ExecSource *) source;
  gushort revents = exec->pfd.revents;
  PayMysqlExecFunc done;
  gpointer done_data;
  MYSQL_STMT *stmt;
  int ready = 0, status;

  if (!exec->active)
    {
      /* The idle connection's socket hung up: stop polling it (the next use of the
       * connection finds out what happened). */
      g_source_remove_poll (source, &exec->pfd);
      exec->polling = FALSE;
      exec->pfd.revents = 0;
      return G_SOURCE_CONTINUE;
    }
  if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    ready |= MYSQL_WAIT_READ;
  if (revents & (G_IO_OUT | G_IO_HUP | G_IO_ERR))
    ready |= MYSQL_WAIT_WRITE;
  if (revents & G_IO_PRI)
    ready |= MYSQL_WAIT_EXCEPT;
  if (ready == 0)
    ready = MYSQL_WAIT_TIMEOUT;   /* the deadline passed */

  if (exec->step != EXEC_STMT)
    {
      batch_continue (exec, ready);
      return G_SOURCE_CONTINUE;
    }
  status = mysql_stmt_execute_cont (&exec->ret, exec->stmt, ready);
  if (status != 0)
    {
      exec_wait (exec, status);
      return G_SOURCE_CONTINUE;
    }
  /* Idle before the callback: it may start the connection's next execution. */
  done = exec->done;
  done_data = exec->user_data;
  stmt = exec->stmt;
  exec_idle (exec);
  done (exec->conn, stmt, exec->ret, done_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs exec_source_funcs = {
  .prepare = exec_prepare,
  .check = exec_check,
  .dispatch = exec_dispatch,
};

static void
exec_source_free (gpointer data)
{
  GSource *source = data;

  g_clear_pointer (&((ExecSource *) source)->batch_message, g_free);
  g_source_destroy (source);
  g_source_unref (source);
}

/* @conn's source, attached to @context (made on the first execution). */
static ExecSource *
exec_source_for (PayMysqlConn *conn, GMainContext *context)
{
  ExecSource *exec = pay_mysql_conn_get_attachment (conn);

  if (context == NULL)
    context = g_main_context_default ();
  if (exec != NULL && g_source_get_context (&exec->source) == context)
    return exec;
  exec = (ExecSource *) g_source_new (&exec_source_funcs, sizeof (ExecSource));
  exec->conn = conn;
  exec_idle (exec);
  exec->pfd.fd = (gint) mysql_get_socket (pay_mysql_conn_get_handle (conn));
  g_source_add_poll (&exec->source, &exec->pfd);
  exec->polling = TRUE;
  g_source_set_priority (&exec->source, G_PRIORITY_DEFAULT);
  /* No fd removal and re-adding (each an eventfd write) around every dispatch. */
  g_source_set_can_recurse (&exec->source, TRUE);
  g_source_set_name (&exec->source, "payment mysql exec");
  g_source_attach (&exec->source, context);
  pay_mysql_conn_set_attachment (conn, exec, exec_source_free);   /* frees any older one */
  return exec;
}

/* @conn's source, attached to @context, polling and waiting for an execution. */
static ExecSource *
exec_activate (PayMysqlConn *conn, GMainContext *context)
{
  ExecSource *exec = exec_source_for (conn, context);

  g_warn_if_fail (!exec->active);
  if (!exec->polling)
    {
      g_source_add_poll (&exec->source, &exec->pfd);
      exec->polling = TRUE;
    }
  exec->active = TRUE;
  return exec;
}

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
  exec = exec_activate (conn, context);
  exec->step = EXEC_STMT;
  exec->stmt = stmt;
  exec->done = done;
  exec->user_data = user_data;
  exec_wait (exec, status);
}

/* ---- a transaction as one multi-statement text -------------------------------------------- */

/* Whether the batch's failure @err leaves the session usable after a ROLLBACK: a server's
 * refusal does; a client-side error (CR_*: connection lost, timeout) does not, and the
 * outcome is then unknown. */
static gboolean
batch_error_is_server (guint err)
{
  return err > 0 && err < CR_MIN_ERROR;
}

gboolean
pay_mysql_batch_run (PayMysqlConn          *conn,
                     const gchar           *sql,
                     gsize                  length,
                     PayMysqlDuplicateFunc  on_duplicate,
                     guint                 *server_errno,
                     GError               **error)
{
  MYSQL *mysql = pay_mysql_conn_get_handle (conn);
  int rc;

  *server_errno = 0;
  rc = mysql_real_query (mysql, sql, length);
  /* Every statement's result (none has rows); the server stops at the first failure. */
  while (rc == 0 && mysql_more_results (mysql))
    rc = mysql_next_result (mysql);   /* -1: no more (not expected after more_results) */
  if (rc <= 0)
    return TRUE;

  *server_errno = mysql_errno (mysql);
  {
    g_autofree gchar *message = g_strdup (mysql_error (mysql));
    guint err = *server_errno;

    if (batch_error_is_server (err))
      pay_mysql_conn_rollback (conn);   /* retires @conn when it fails */
    else
      pay_mysql_conn_retire (conn);
    if (err == ER_DUP_ENTRY && on_duplicate != NULL)
      return on_duplicate (message, error);
    return pay_mysql_conn_fail (conn, err, message, error);
  }
}

/* The batch is over (@err 0: committed): @exec idle, then its callback. */
static void
batch_finish (ExecSource *exec, guint err, const gchar *message)
{
  PayMysqlBatchFunc done = exec->batch_done;
  gpointer done_data = exec->user_data;
  g_autofree gchar *owned = g_strdup (message);

  exec_idle (exec);
  done (exec->conn, err, owned, done_data);
}

/* The step that follows the outcome @rc of the current one (with the library done with
 * it); waits, or finishes the batch. */
static void
batch_next (ExecSource *exec, int rc)
{
  MYSQL *mysql = pay_mysql_conn_get_handle (exec->conn);
  int status;

  for (;;)
    {
      if (exec->step == EXEC_BATCH_ROLLBACK)
        {
          if (rc != 0)
            {
              g_debug ("MySQL ROLLBACK failed: %s (error %u); dropping the connection",
                       mysql_error (mysql), mysql_errno (mysql));
              pay_mysql_conn_retire (exec->conn);
            }
          batch_finish (exec, exec->batch_errno, exec->batch_message);
          return;
        }
      if (rc != 0)
        {
          /* The server stopped at this statement: the transaction is still open. */
          exec->batch_errno = mysql_errno (mysql);
          exec->batch_message = g_strdup (mysql_error (mysql));
          if (!batch_error_is_server (exec->batch_errno))
            {
              pay_mysql_conn_retire (exec->conn);
              batch_finish (exec, exec->batch_errno, exec->batch_message);
              return;
            }
          exec->step = EXEC_BATCH_ROLLBACK;
          status = mysql_real_query_start (&exec->ret, mysql, "ROLLBACK", strlen ("ROLLBACK"));
        }
      else if (mysql_more_results (mysql))
        {
          exec->step = EXEC_BATCH_NEXT;
          status = mysql_next_result_start (&exec->ret, mysql);
        }
      else
        {
          batch_finish (exec, 0, NULL);
          return;
        }
      if (status != 0)
        {
          exec_wait (exec, status);
          return;
        }
      rc = MAX (exec->ret, 0);
    }
}

/* The socket is ready for the current step (or its deadline passed). */
static void
batch_continue (ExecSource *exec, int ready)
{
  MYSQL *mysql = pay_mysql_conn_get_handle (exec->conn);
  int status = exec->step == EXEC_BATCH_NEXT
               ? mysql_next_result_cont (&exec->ret, mysql, ready)
               : mysql_real_query_cont (&exec->ret, mysql, ready);

  if (status != 0)
    {
      exec_wait (exec, status);
      return;
    }
  /* mysql_next_result()'s -1 is "no more results", not a failure. */
  batch_next (exec, MAX (exec->ret, 0));
}

void
pay_mysql_batch_run_async (PayMysqlConn      *conn,
                           const gchar       *sql,
                           gsize              length,
                           GMainContext      *context,
                           PayMysqlBatchFunc  done,
                           gpointer           user_data)
{
  ExecSource *exec;
  int status;

  g_return_if_fail (conn != NULL && sql != NULL && done != NULL);

  exec = exec_activate (conn, context);
  exec->step = EXEC_BATCH_QUERY;
  exec->batch_done = done;
  exec->user_data = user_data;
  status = mysql_real_query_start (&exec->ret, pay_mysql_conn_get_handle (conn), sql, length);
  if (status != 0)
    {
      exec_wait (exec, status);
      return;
    }
  batch_next (exec, exec->ret);
}
