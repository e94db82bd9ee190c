/* pay-mysql-stmt.h: helpers for running prepared statements and transactions on a
 * PayMysqlConn: parameter/result binding, one-row fetches, and BEGIN/COMMIT/ROLLBACK.
 * Internal to src/storage/ and the event relay's MySQL side (src/events/). */
#pragma once

#include <glib.h>
#include <mysql.h>

#include "storage/pay-mysql-pool.h"

G_BEGIN_DECLS

/* Binds @value (NUL-terminated, borrowed) as a string parameter; @length receives its
 * length and must live as long as the bind. */
void pay_mysql_bind_string (MYSQL_BIND *bind, const gchar *value, unsigned long *length);

/* Binds the string @value, or SQL NULL when @value is NULL. */
void pay_mysql_bind_string_or_null (MYSQL_BIND *bind, const gchar *value, unsigned long *length);

/* Binds *@value as a signed 64-bit parameter or result. */
void pay_mysql_bind_int64 (MYSQL_BIND *bind, const gint64 *value);

/* Binds SQL NULL as a parameter. */
void pay_mysql_bind_null (MYSQL_BIND *bind);

/* Binds a string result column into @buffer (@size bytes with room for the NUL), with
 * its length and NULL flag in *@length and *@is_null. */
void pay_mysql_bind_result_string (MYSQL_BIND    *bind,
                                   gchar         *buffer,
                                   gsize          size,
                                   unsigned long *length,
                                   my_bool       *is_null);

/* Binds a nullable BIGINT result column. */
void pay_mysql_bind_result_int64 (MYSQL_BIND *bind, gint64 *value, my_bool *is_null);

/* Terminates a string fetched into @buffer through pay_mysql_bind_result_string() ("" for
 * SQL NULL). */
void pay_mysql_terminate_string (gchar *buffer, gsize size, unsigned long length, my_bool is_null);

/* Called for ER_DUP_ENTRY with the server's message (which names the violated key); must
 * set @error and return FALSE. */
typedef gboolean (*PayMysqlDuplicateFunc) (const gchar *detail, GError **error);

/* Runs the prepared statement for @sql (a static string; see pay_mysql_conn_prepare())
 * with @params (NULL: none). With @results, binds them and fetches at most one row:
 * *@found says whether there was one. *@affected (when not NULL) gets the affected-row
 * count. *@server_errno gets MySQL's error number (0: none). A duplicate key goes to
 * @on_duplicate when not NULL; every other failure sets @error as
 * pay_mysql_conn_fail() does. */
gboolean pay_mysql_stmt_run (PayMysqlConn          *conn,
                             const gchar           *sql,
                             MYSQL_BIND            *params,
                             MYSQL_BIND            *results,
                             gboolean              *found,
                             guint64               *affected,
                             PayMysqlDuplicateFunc  on_duplicate,
                             guint                 *server_errno,
                             GError               **error);

/* Called once per fetched row, the row's values in the result buffers. */
typedef void (*PayMysqlRowFunc) (gpointer data);

/* Runs the prepared statement for @sql (a static string) with @params (NULL: none),
 * binds @results and calls @row_func for every row, in order. Fails as
 * pay_mysql_stmt_run() does. */
gboolean pay_mysql_stmt_run_rows (PayMysqlConn       *conn,
                                  const gchar        *sql,
                                  MYSQL_BIND         *params,
                                  MYSQL_BIND         *results,
                                  PayMysqlRowFunc     row_func,
                                  gpointer            data,
                                  guint              *server_errno,
                                  GError            **error);

/* The body of a transaction: statements on @conn. Returning FALSE (with @error set) rolls
 * the transaction back (pay_mysql_conn_rollback()). */
typedef gboolean (*PayMysqlTxnFunc) (PayMysqlConn *conn,
                                     gpointer      data,
                                     guint        *server_errno,
                                     GError      **error);

/* Runs @body in one transaction on @conn (READ COMMITTED: the session's level, set when
 * the connection is opened) and commits it; rolls back when
 * @body or the COMMIT fails, so @conn leaves no transaction open. READ COMMITTED: locking reads take no gap locks, so transactions on
 * different payments never deadlock on index gaps, and every plain read sees the latest
 * committed rows. A failed COMMIT is PAY_ERROR_STORAGE_UNAVAILABLE: the outcome is then
 * unknown to the caller, and @conn is retired (pay_mysql_conn_retire()), as it is when
 * the ROLLBACK fails: a session in an unknown state never goes back to the pool. */
gboolean pay_mysql_transaction (PayMysqlConn    *conn,
                                PayMysqlTxnFunc  body,
                                gpointer         data,
                                guint           *server_errno,
                                GError         **error);

/* The outcome of pay_mysql_stmt_execute_async(): @ret as mysql_stmt_execute() returns it
 * (0: done; otherwise mysql_stmt_errno (@stmt) says why). */
typedef void (*PayMysqlExecFunc) (PayMysqlConn *conn, MYSQL_STMT *stmt, int ret,
                                  gpointer user_data);

/* Executes @stmt (parameters bound) without blocking, on @context's thread: the
 * connection's socket is polled there, within the connection's read and write timeouts,
 * and @done runs there (or before this returns, when the library needs no wait). */
void pay_mysql_stmt_execute_async (PayMysqlConn     *conn,
                                   MYSQL_STMT       *stmt,
                                   GMainContext     *context,
                                   PayMysqlExecFunc  done,
                                   gpointer          user_data);

/* ---- a transaction sent as one multi-statement text ---------------------------------- */

/* Runs @sql (@length bytes): statements separated by ';' that open a transaction and end
 * with COMMIT (the connection has CLIENT_MULTI_STATEMENTS), in ONE round trip, and reads
 * every result. The server stops at the first statement that fails and leaves the
 * transaction open: it is then rolled back on @conn before this returns, so @conn goes
 * back to the pool with no transaction open (it is retired when the ROLLBACK fails, or
 * after a client-side error, CR_*: the outcome is then unknown). Fails as
 * pay_mysql_stmt_run() does (a duplicate key to @on_duplicate). Values in @sql must be
 * escaped by the caller (mysql_real_escape_string() on @conn's handle). */
gboolean pay_mysql_batch_run (PayMysqlConn          *conn,
                              const gchar           *sql,
                              gsize                  length,
                              PayMysqlDuplicateFunc  on_duplicate,
                              guint                 *server_errno,
                              GError               **error);

/* The outcome of pay_mysql_batch_run_async(): @server_errno 0 when every statement ran
 * (the transaction committed); otherwise MySQL's error number and message (@message
 * borrowed for the call) of the statement that failed, the transaction rolled back (or
 * @conn retired) already. */
typedef void (*PayMysqlBatchFunc) (PayMysqlConn *conn, guint server_errno,
                                   const gchar *message, gpointer user_data);

/* pay_mysql_batch_run() without blocking, on @context's thread, as
 * pay_mysql_stmt_execute_async() does: the ROLLBACK after a failure is sent the same way,
 * before @done runs. @sql must live until @done runs. */
void pay_mysql_batch_run_async (PayMysqlConn      *conn,
                                const gchar       *sql,
                                gsize              length,
                                GMainContext      *context,
                                PayMysqlBatchFunc  done,
                                gpointer           user_data);

G_END_DECLS
