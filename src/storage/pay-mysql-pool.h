/* pay-mysql-pool.h: MySQL connections for the repository: a bounded, lazily filled pool
 * whose broken connections are dropped (so the next use reconnects), per-connection
 * prepared-statement caches, and the mapping of MySQL errors to PAY_ERROR codes.
 * Internal to src/storage/ and the event relay's MySQL side (src/events/). */
#pragma once

#include <glib.h>
#include <mysql.h>

#include "core/pay-config.h"
#include "storage/pay-mysql-server.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MYSQL_RES, mysql_free_result)

/* mysql_stmt_close() returns a status, which g_autoptr cannot take. */
static inline void
pay_mysql_stmt_free (MYSQL_STMT *stmt)
{
  (void) mysql_stmt_close (stmt);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MYSQL_STMT, pay_mysql_stmt_free)

typedef struct _PayMysqlPool PayMysqlPool;
typedef struct _PayMysqlConn PayMysqlConn;

/* Initialises the client library once per process (later calls do nothing). Call from
 * main() before any thread uses MySQL. */
void pay_mysql_library_init (void);

/* Calls mysql_thread_init() the first time it runs on a thread; a thread-exit hook calls
 * mysql_thread_end() for it. Every entry point of this file calls it, so callers need
 * not. */
void pay_mysql_thread_ensure (void);

/* A pool of at most settings->pool_size connections to settings->database. @settings is
 * copied. No connection is made here. */
PayMysqlPool *pay_mysql_pool_new (const PayMysqlSettings *settings);

/* Closes the idle connections and frees the pool. No connection may be checked out. */
void pay_mysql_pool_free (PayMysqlPool *pool);

/* The pool's copy of the settings, valid as long as the pool. */
const PayMysqlSettings *pay_mysql_pool_get_settings (PayMysqlPool *pool);

/* Hands out a connection for the calling thread's exclusive use: an idle one (checked
 * with a ping when it sat idle a while), else a new one while fewer than pool_size are
 * open, else waits up to connect_timeout_seconds for one to come back. Fails with
 * PAY_ERROR_STORAGE_UNAVAILABLE when MySQL cannot be reached or the wait times out,
 * with the server's error number of a failed connect in *@server_errno (when not NULL;
 * left alone otherwise): ER_BAD_DB_ERROR tells the database has gone. Give it back with
 * pay_mysql_pool_checkin(). */
PayMysqlConn *pay_mysql_pool_checkout (PayMysqlPool *pool, guint *server_errno, GError **error);

/* Returns @conn to the pool, or closes it when it is broken (see pay_mysql_conn_fail())
 * or older than the last pay_mysql_pool_close_idle(). Takes ownership of @conn. */
void pay_mysql_pool_checkin (PayMysqlPool *pool, PayMysqlConn *conn);

/* Without waiting or connecting, an idle connection that was in use within the last
 * two seconds (no ping needed to trust it), or NULL: then *@busy tells whether every one
 * of the pool_size connections is checked out (wait for one to come back, see
 * pay_mysql_pool_set_returned_func()); otherwise use pay_mysql_pool_checkout() on a
 * worker thread. Never blocks; any thread. */
PayMysqlConn *pay_mysql_pool_try_checkout (PayMysqlPool *pool, gboolean *busy);

/* Called, on the returning thread and without the pool's lock, after every
 * pay_mysql_pool_checkin(). Set it before the pool is used and clear it (NULL) before
 * the pool is freed. */
typedef void (*PayMysqlPoolReturnedFunc) (gpointer user_data);

void pay_mysql_pool_set_returned_func (PayMysqlPool             *pool,
                                       PayMysqlPoolReturnedFunc  func,
                                       gpointer                  user_data);

/* Connections checked out now (or being opened for a checkout) in *@in_use, and threads
 * waiting for one in *@waiting. Any thread; for metrics. */
void pay_mysql_pool_get_stats (PayMysqlPool *pool, guint *in_use, guint *waiting);

/* Closes every idle connection; connections checked out now are closed when they come
 * back. Later checkouts connect afresh. */
void pay_mysql_pool_close_idle (PayMysqlPool *pool);

/* Opens a connection outside the pool's bound (for health checks and schema set-up):
 * to settings->database when @use_database, else to no database. Set up like pooled
 * connections. PAY_ERROR_STORAGE_UNAVAILABLE on failure. Free with
 * pay_mysql_conn_close(). */
PayMysqlConn *pay_mysql_conn_open (PayMysqlPool *pool, gboolean use_database, GError **error);

/* Closes @conn and its cached statements. Only for connections from
 * pay_mysql_conn_open(); pooled ones go back with pay_mysql_pool_checkin(). */
void pay_mysql_conn_close (PayMysqlConn *conn);

/* The server @conn speaks to, told at connect (pay-mysql-server.h). */
PayMysqlServer pay_mysql_conn_get_server (PayMysqlConn *conn);

/* The client handle, owned by @conn. */
MYSQL *pay_mysql_conn_get_handle (PayMysqlConn *conn);

/* Keeps @data with @conn for the connection's life: @destroy (may be NULL) runs when the
 * connection closes, or when another attachment replaces it. One attachment per
 * connection: pay_mysql_stmt_execute_async() keeps its source there. */
void     pay_mysql_conn_set_attachment (PayMysqlConn   *conn,
                                        gpointer        data,
                                        GDestroyNotify  destroy);
gpointer pay_mysql_conn_get_attachment (PayMysqlConn   *conn);

/* The prepared statement for @sql on @conn, prepared on first use and cached for the
 * connection's life; @sql must be a static string (it is the cache key). Owned by
 * @conn: never close it. NULL with PAY_ERROR_STORAGE_UNAVAILABLE on failure, and the
 * server's error number in *@server_errno when not NULL (ER_NO_SUCH_TABLE: a table has
 * gone). */
MYSQL_STMT *pay_mysql_conn_prepare (PayMysqlConn *conn, const gchar *sql, guint *server_errno,
                                    GError **error);

/* The statement for @sql if it has been prepared on @conn already, else NULL. */
MYSQL_STMT *pay_mysql_conn_get_prepared (PayMysqlConn *conn, const gchar *sql);

/* Runs @sql (a statement without a result worth keeping; any result is discarded).
 * On failure sets @error as pay_mysql_conn_fail() does, with the server's error number
 * in *@server_errno when not NULL (0 on success). */
gboolean pay_mysql_conn_query (PayMysqlConn *conn,
                               const gchar  *sql,
                               guint        *server_errno,
                               GError      **error);

/* Ends @conn's transaction, if any, with ROLLBACK. When that fails @conn is marked
 * broken, so the pool closes it (and the server rolls the closed session back): a
 * connection never goes back to the pool inside a transaction. */
void     pay_mysql_conn_rollback (PayMysqlConn *conn);

/* Marks @conn broken: the pool closes it at checkin instead of handing it out again
 * (the server then rolls back whatever the session left open). The pool's other
 * connections are untouched. */
void     pay_mysql_conn_retire (PayMysqlConn *conn);

/* One round trip; FALSE (without logging) when the connection is dead. */
gboolean pay_mysql_conn_ping (PayMysqlConn *conn);

/* Handles a failed MySQL call on @conn: marks @conn broken when @mysql_errno says the
 * connection is unusable (client errors, a server going away, a killed connection),
 * logs it once per change of MySQL's health, and sets @error to
 * PAY_ERROR_STORAGE_UNAVAILABLE "storage unavailable: <short reason>" (@detail, the
 * library's message, is logged, never put in @error). Always returns FALSE. */
gboolean pay_mysql_conn_fail (PayMysqlConn *conn,
                              guint         mysql_errno,
                              const gchar  *detail,
                              GError      **error);

G_END_DECLS
