/* pay-mysql-pool.c: the bounded MySQL connection pool, its connections and the mapping of
 * MySQL failures to PAY_ERROR_STORAGE_UNAVAILABLE. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-mysql-pool.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <poll.h>
#include <string.h>

#include "core/pay-error.h"

/* An idle connection older than this is also pinged before it is handed out, which
 * catches peers that vanished without closing the socket (see conn_looks_alive()). */
#define PAY_MYSQL_VALIDATE_AFTER_IDLE_US (2 * G_TIME_SPAN_SECOND)

/* The least time checkout waits for a busy pool (connect_timeout_seconds may be 0,
 * which for the client library means "no timeout"). */
#define PAY_MYSQL_MIN_CHECKOUT_WAIT_SECONDS 1

#define PAY_MYSQL_CHARSET "utf8mb4"

struct _PayMysqlConn
{
  PayMysqlPool *pool;        /* not owned; the pool outlives its connections */
  MYSQL        *mysql;
  GHashTable   *statements;  /* static SQL text -> MYSQL_STMT*, owned */
  guint         generation;  /* the pool's generation when this connection was opened */
  gint64        last_used_us;
  gboolean      broken;
  PayMysqlServer server;     /* told once at connect (pay-mysql-server.h) */
  gpointer       attachment;          /* see pay_mysql_conn_set_attachment() */
  GDestroyNotify attachment_destroy;
};

struct _PayMysqlPool
{
  PayMysqlSettings settings;  /* deep copy */

  GMutex  lock;
  GCond   returned;           /* a connection came back or a slot was freed */
  GQueue  idle;               /* PayMysqlConn*, most recently used first */
  guint   open;               /* connections open or being opened, idle or not */
  guint   size;
  guint   generation;         /* close_idle() bumps it: retires every connection opened before */
  guint   waiting;            /* threads waiting in checkout for a connection */

  gint    healthy;            /* atomic: FALSE after a connection-level failure */

  PayMysqlPoolReturnedFunc returned_func;   /* set before use, cleared after */
  gpointer                 returned_data;
};

/* ---- library and thread set-up ---------------------------------------------------- */

static void
pay_mysql_thread_end (gpointer data)
{
  mysql_thread_end ();
}

/* Non-NULL once mysql_thread_init() ran on this thread; its destroy notify runs at thread
 * exit, for GThreads and plain pthreads alike. Process-wide by nature, like the library. */
static GPrivate pay_mysql_thread_key = G_PRIVATE_INIT (pay_mysql_thread_end);

void
pay_mysql_library_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      if (mysql_library_init (0, NULL, NULL) != 0)
        g_error ("could not initialise the MySQL client library");
      g_once_init_leave (&initialised, 1);
    }
}

void
pay_mysql_thread_ensure (void)
{
  if (g_private_get (&pay_mysql_thread_key) != NULL)
    return;
  pay_mysql_library_init ();
  mysql_thread_init ();
  g_private_set (&pay_mysql_thread_key, GINT_TO_POINTER (1));
}

/* ---- errors ------------------------------------------------------------------------- */

/* TRUE for client-library errors (Connector/C's CR_ and CER_ ranges). */
static gboolean
is_client_error (guint mysql_errno)
{
  return (mysql_errno >= CR_MIN_ERROR && mysql_errno <= CR_MAX_ERROR) ||
         (mysql_errno >= CER_MIN_ERROR && mysql_errno <= CER_MAX_ERROR);
}

/* TRUE when the connection that reported @mysql_errno must not be used again. Every
 * client error counts: after one, the protocol state is unknown. */
static gboolean
is_connection_fatal (guint mysql_errno)
{
  switch (mysql_errno)
    {
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    case ER_CON_COUNT_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
      return TRUE;
    default:
      return is_client_error (mysql_errno);
    }
}

/* A few words for clients; never SQL, values or server text. */
static const gchar *
short_reason (guint mysql_errno, const gchar *detail)
{
  switch (mysql_errno)
    {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_IPSOCK_ERROR:
    case CR_SOCKET_CREATE_ERROR:
    case CR_SERVER_HANDSHAKE_ERR:
      return "cannot connect";
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
      if (detail != NULL && (strstr (detail, "timeout") || strstr (detail, "timed out")))
        return "timeout";
      return "connection lost";
    case ER_LOCK_WAIT_TIMEOUT:
      return "lock wait timeout";
    case ER_LOCK_DEADLOCK:
      return "deadlock";
    case ER_CON_COUNT_ERROR:
      return "too many connections";
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
      return "access denied";
    case ER_BAD_DB_ERROR:
      return "unknown database";
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
      return "connection interrupted";
    default:
      return is_client_error (mysql_errno) ? "client error" : "database error";
    }
}

/* Logs a connection-level failure once per change of health, at debug level after. */
static void
pool_note_failure (PayMysqlPool *pool, guint mysql_errno, const gchar *detail)
{
  if (g_atomic_int_compare_and_exchange (&pool->healthy, TRUE, FALSE))
    g_warning ("MySQL unavailable: %s (error %u)", detail != NULL ? detail : "?", mysql_errno);
  else
    g_debug ("MySQL still unavailable: %s (error %u)", detail != NULL ? detail : "?", mysql_errno);
}

static void
pool_note_success (PayMysqlPool *pool)
{
  if (g_atomic_int_compare_and_exchange (&pool->healthy, FALSE, TRUE))
    g_message ("MySQL available again");
}

gboolean
pay_mysql_conn_fail (PayMysqlConn *conn,
                     guint         mysql_errno,
                     const gchar  *detail,
                     GError      **error)
{
  /* Only @conn: a killed session or a lost socket says nothing of its siblings, and a
   * server restart is found on each idle one at its checkout (conn_looks_alive()), with
   * no request failing for it. Retiring them all made every connection reconnect and
   * prepare its statements again after one fault. */
  if (is_connection_fatal (mysql_errno))
    {
      conn->broken = TRUE;
      pool_note_failure (conn->pool, mysql_errno, detail);
    }
  else
    {
      g_debug ("MySQL error %u: %s", mysql_errno, detail != NULL ? detail : "?");
    }

  g_set_error (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
               "storage unavailable: %s", short_reason (mysql_errno, detail));
  return FALSE;
}

/* ---- connections -------------------------------------------------------------------- */

static void
set_timeout_option (MYSQL *mysql, enum mysql_option option, guint seconds)
{
  unsigned int value = seconds;

  if (seconds > 0)
    mysql_options (mysql, option, &value);
}

/* Connects and sets the session up. The returned connection belongs to no pool slot.
 * On failure *@server_errno (when not NULL) gets MySQL's error number. */
static PayMysqlConn *
conn_connect (PayMysqlPool *pool, gboolean use_database, guint *server_errno, GError **error)
{
  const PayMysqlSettings *s = &pool->settings;
  g_autofree gchar *session_sql = NULL;
  my_bool reconnect = 0;
  const gchar *host = s->host;
  PayMysqlConn *conn;
  MYSQL *mysql;

  pay_mysql_thread_ensure ();

  mysql = mysql_init (NULL);
  if (mysql == NULL)
    {
      g_set_error (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                   "storage unavailable: out of memory");
      return NULL;
    }

  set_timeout_option (mysql, MYSQL_OPT_CONNECT_TIMEOUT, s->connect_timeout_seconds);
  set_timeout_option (mysql, MYSQL_OPT_READ_TIMEOUT, s->read_timeout_seconds);
  set_timeout_option (mysql, MYSQL_OPT_WRITE_TIMEOUT, s->write_timeout_seconds);
  /* A silent reconnect in the middle of a statement could replay or lose it; a failed
   * connection is dropped instead and the next checkout connects afresh. */
  mysql_options (mysql, MYSQL_OPT_RECONNECT, &reconnect);
  /* Lets the main loop run statements with the _start/_cont calls
   * (pay_mysql_stmt_execute_async); the blocking calls work as before. */
  mysql_options (mysql, MYSQL_OPT_NONBLOCK, 0);
  mysql_options (mysql, MYSQL_SET_CHARSET_NAME, PAY_MYSQL_CHARSET);
  if (s->socket != NULL && s->socket[0] != '\0')
    {
      unsigned int protocol = MYSQL_PROTOCOL_SOCKET;

      /* With a host other than localhost the library would ignore the socket. */
      mysql_options (mysql, MYSQL_OPT_PROTOCOL, &protocol);
      host = "localhost";
    }

  conn = g_new0 (PayMysqlConn, 1);
  conn->pool = pool;
  conn->mysql = mysql;
  conn->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) pay_mysql_stmt_free);
  conn->last_used_us = g_get_monotonic_time ();

  /* CLIENT_MULTI_STATEMENTS: a group of charges is one text of several statements, its
   * whole transaction in one round trip (pay-repository-charge.c). Every value in a text
   * the service sends is escaped (mysql_real_escape_string()) or a number it printed, and
   * everything else runs as prepared statements, which never take more than one. */
  if (mysql_real_connect (mysql, host, s->user, s->password,
                          use_database ? s->database : NULL,
                          s->port, s->socket != NULL && s->socket[0] != '\0' ? s->socket : NULL,
                          CLIENT_MULTI_STATEMENTS) == NULL)
    {
      if (server_errno != NULL)
        *server_errno = mysql_errno (mysql);
      pay_mysql_conn_fail (conn, mysql_errno (mysql), mysql_error (mysql), error);
      pay_mysql_conn_close (conn);
      return NULL;
    }

  /* Every session states what the code relies on instead of taking the server's
   * defaults, in one round trip:
   * - autocommit=1: a statement outside an explicit transaction commits on its own;
   *   with a server default of autocommit=0 the relay's cursor and the schema's
   *   statements would stay uncommitted, invisible to other sessions, and be lost when
   *   the connection closed. Charges and refunds use explicit transactions (START
   *   TRANSACTION ... COMMIT).
   * - READ COMMITTED: locking reads take no gap locks, so refunds of different payments
   *   never block each other, and no transaction pays a round trip to set its level. The
   *   variable's name differs by server (pay_mysql_server_isolation_variable()); SET
   *   TRANSACTION ISOLATION LEVEL would take a statement of its own. TiDB accepts READ
   *   COMMITTED in its (default) pessimistic mode, and every other setting here.
   * - sql_mode: a value that does not fit its column is an error, never a silently
   *   truncated or clipped one.
   * - time_zone +00:00: any time the server computes (UNIX_TIMESTAMP of
   *   CURRENT_TIMESTAMP) converts without the session zone's DST ambiguity.
   * - innodb_lock_wait_timeout: from the configuration. */
  conn->server = pay_mysql_server_detect (mysql_get_server_info (mysql));
  session_sql = g_strdup_printf ("SET SESSION autocommit = 1, "
                                 "%s = 'READ-COMMITTED', "
                                 "sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
                                 "time_zone = '+00:00', "
                                 "innodb_lock_wait_timeout = %u",
                                 pay_mysql_server_isolation_variable (conn->server),
                                 s->lock_wait_timeout_seconds);
  if (!pay_mysql_conn_query (conn, session_sql, server_errno, error))
    {
      /* Not connection-level by its number, but a session we could not set up is no
       * session to use. */
      pay_mysql_conn_close (conn);
      return NULL;
    }

  pool_note_success (pool);
  return conn;
}

PayMysqlConn *
pay_mysql_conn_open (PayMysqlPool *pool, gboolean use_database, GError **error)
{
  g_return_val_if_fail (pool != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return conn_connect (pool, use_database, NULL, error);
}

void
pay_mysql_conn_close (PayMysqlConn *conn)
{
  if (conn == NULL)
    return;

  pay_mysql_thread_ensure ();
  if (conn->attachment_destroy != NULL)
    conn->attachment_destroy (conn->attachment);
  /* Statements first: they belong to the handle. */
  g_clear_pointer (&conn->statements, g_hash_table_unref);
  g_clear_pointer (&conn->mysql, mysql_close);
  g_free (conn);
}

void
pay_mysql_conn_set_attachment (PayMysqlConn   *conn,
                               gpointer        data,
                               GDestroyNotify  destroy)
{
  g_return_if_fail (conn != NULL);

  if (conn->attachment_destroy != NULL)
    conn->attachment_destroy (conn->attachment);
  conn->attachment = data;
  conn->attachment_destroy = destroy;
}

gpointer
pay_mysql_conn_get_attachment (PayMysqlConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  return conn->attachment;
}

PayMysqlServer
pay_mysql_conn_get_server (PayMysqlConn *conn)
{
  g_return_val_if_fail (conn != NULL, PAY_MYSQL_SERVER_MYSQL);

  return conn->server;
}

MYSQL *
pay_mysql_conn_get_handle (PayMysqlConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->mysql;
}

MYSQL_STMT *
pay_mysql_conn_prepare (PayMysqlConn *conn, const gchar *sql, guint *server_errno,
                        GError **error)
{
  g_autoptr(MYSQL_STMT) stmt = NULL;
  MYSQL_STMT *cached;

  g_return_val_if_fail (conn != NULL, NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  cached = g_hash_table_lookup (conn->statements, sql);
  if (cached != NULL)
    return cached;

  stmt = mysql_stmt_init (conn->mysql);
  if (stmt == NULL)
    {
      pay_mysql_conn_fail (conn, mysql_errno (conn->mysql), mysql_error (conn->mysql), error);
      return NULL;
    }
  if (mysql_stmt_prepare (stmt, sql, strlen (sql)) != 0)
    {
      if (server_errno != NULL)
        *server_errno = mysql_stmt_errno (stmt);
      pay_mysql_conn_fail (conn, mysql_stmt_errno (stmt), mysql_stmt_error (stmt), error);
      return NULL;
    }

  cached = g_steal_pointer (&stmt);
  g_hash_table_insert (conn->statements, (gpointer) sql, cached);
  return cached;
}

gboolean
pay_mysql_conn_query (PayMysqlConn *conn,
                      const gchar  *sql,
                      guint        *server_errno,
                      GError      **error)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);

  if (server_errno != NULL)
    *server_errno = 0;

  if (mysql_real_query (conn->mysql, sql, strlen (sql)) != 0)
    {
      guint err = mysql_errno (conn->mysql);

      if (server_errno != NULL)
        *server_errno = err;
      return pay_mysql_conn_fail (conn, err, mysql_error (conn->mysql), error);
    }

  /* Drain whatever the statement returned, so the connection is ready for the next. */
  do
    {
      g_autoptr(MYSQL_RES) result = mysql_store_result (conn->mysql);

      if (result == NULL && mysql_field_count (conn->mysql) != 0)
        {
          guint err = mysql_errno (conn->mysql);

          if (server_errno != NULL)
            *server_errno = err;
          return pay_mysql_conn_fail (conn, err, mysql_error (conn->mysql), error);
        }
    }
  while (mysql_next_result (conn->mysql) == 0);

  return TRUE;
}

void
pay_mysql_conn_retire (PayMysqlConn *conn)
{
  g_return_if_fail (conn != NULL);

  conn->broken = TRUE;
}

void
pay_mysql_conn_rollback (PayMysqlConn *conn)
{
  g_return_if_fail (conn != NULL);

  if (conn->broken)
    return;
  if (!pay_mysql_conn_query (conn, "ROLLBACK", NULL, NULL))
    {
      g_debug ("MySQL ROLLBACK failed: %s (error %u); dropping the connection",
               mysql_error (conn->mysql), mysql_errno (conn->mysql));
      pay_mysql_conn_retire (conn);
    }
}

gboolean
pay_mysql_conn_ping (PayMysqlConn *conn)
{
  g_return_val_if_fail (conn != NULL, FALSE);

  if (conn->broken)
    return FALSE;
  if (mysql_ping (conn->mysql) != 0)
    {
      g_debug ("MySQL ping failed: %s (error %u)", mysql_error (conn->mysql),
               mysql_errno (conn->mysql));
      conn->broken = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* TRUE unless the server has closed an idle connection (a restart, its wait_timeout).
 * An idle connection has nothing to read, so a readable socket means EOF or an error
 * packet: either way it is dead. One poll(), no round trip, so every checkout can afford
 * it, and a restart costs no request on a connection that died while idle. */
static gboolean
conn_looks_alive (PayMysqlConn *conn)
{
  struct pollfd pfd = { .fd = (int) mysql_get_socket (conn->mysql), .events = POLLIN };

  if (conn->broken || pfd.fd < 0)
    return FALSE;
  return poll (&pfd, 1, 0) == 0;
}

/* ---- the pool ----------------------------------------------------------------------- */

static void
settings_copy (PayMysqlSettings *dest, const PayMysqlSettings *src)
{
  *dest = *src;
  dest->host = g_strdup (src->host);
  dest->user = g_strdup (src->user);
  dest->password = g_strdup (src->password);
  dest->database = g_strdup (src->database);
  dest->socket = g_strdup (src->socket);
}

static void
settings_clear (PayMysqlSettings *settings)
{
  g_clear_pointer (&settings->host, g_free);
  g_clear_pointer (&settings->user, g_free);
  g_clear_pointer (&settings->password, g_free);
  g_clear_pointer (&settings->database, g_free);
  g_clear_pointer (&settings->socket, g_free);
}

PayMysqlPool *
pay_mysql_pool_new (const PayMysqlSettings *settings)
{
  PayMysqlPool *pool;

  g_return_val_if_fail (settings != NULL, NULL);

  pool = g_new0 (PayMysqlPool, 1);
  settings_copy (&pool->settings, settings);
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->returned);
  g_queue_init (&pool->idle);
  pool->size = MAX (settings->pool_size, 1);
  pool->healthy = TRUE;
  return pool;
}

void
pay_mysql_pool_free (PayMysqlPool *pool)
{
  if (pool == NULL)
    return;

  pay_mysql_pool_close_idle (pool);
  if (pool->open != 0)
    g_critical ("MySQL pool freed with %u connections checked out", pool->open);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->returned);
  settings_clear (&pool->settings);
  g_free (pool);
}

const PayMysqlSettings *
pay_mysql_pool_get_settings (PayMysqlPool *pool)
{
  g_return_val_if_fail (pool != NULL, NULL);

  return &pool->settings;
}

/* Wakes one thread waiting in checkout, if any: GLib's g_cond_signal() is a futex
 * syscall even when nobody waits, and connections come back once per charge. Called with
 * the lock held. */
static void
wake_waiter (PayMysqlPool *pool)
{
  if (pool->waiting > 0)
    g_cond_signal (&pool->returned);
}

/* Closes a connection that held a slot, and frees the slot. Call without the lock. */
static void
pool_discard (PayMysqlPool *pool, PayMysqlConn *conn)
{
  pay_mysql_conn_close (conn);
  g_mutex_lock (&pool->lock);
  pool->open--;
  wake_waiter (pool);
  g_mutex_unlock (&pool->lock);
}

PayMysqlConn *
pay_mysql_pool_checkout (PayMysqlPool *pool, guint *server_errno, GError **error)
{
  guint wait_seconds;
  gint64 deadline;

  g_return_val_if_fail (pool != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pay_mysql_thread_ensure ();
  wait_seconds = MAX (pool->settings.connect_timeout_seconds, PAY_MYSQL_MIN_CHECKOUT_WAIT_SECONDS);
  deadline = g_get_monotonic_time () + wait_seconds * G_TIME_SPAN_SECOND;

  g_mutex_lock (&pool->lock);
  for (;;)
    {
      PayMysqlConn *conn = g_queue_pop_head (&pool->idle);

      if (conn != NULL)
        {
          gboolean stale = conn->generation != pool->generation;

          g_mutex_unlock (&pool->lock);
          if (!stale && conn_looks_alive (conn) &&
              (g_get_monotonic_time () - conn->last_used_us < PAY_MYSQL_VALIDATE_AFTER_IDLE_US ||
               pay_mysql_conn_ping (conn)))
            return conn;

          /* Died while idle (a restart, the server's wait_timeout, a KILL): discard it
           * alone and try the next, which gets the same check. */
          pool_discard (pool, conn);
          g_mutex_lock (&pool->lock);
          continue;
        }

      if (pool->open < pool->size)
        {
          guint generation = pool->generation;

          pool->open++;
          g_mutex_unlock (&pool->lock);

          conn = conn_connect (pool, TRUE, server_errno, error);
          if (conn == NULL)
            {
              g_mutex_lock (&pool->lock);
              pool->open--;
              wake_waiter (pool);
              g_mutex_unlock (&pool->lock);
              return NULL;
            }
          conn->generation = generation;
          return conn;
        }

      pool->waiting++;
      if (!g_cond_wait_until (&pool->returned, &pool->lock, deadline) &&
          g_queue_is_empty (&pool->idle) && pool->open >= pool->size)
        {
          pool->waiting--;
          g_mutex_unlock (&pool->lock);
          g_set_error (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                       "storage unavailable: all %u connections busy", pool->size);
          return NULL;
        }
      pool->waiting--;
    }
}

PayMysqlConn *
pay_mysql_pool_try_checkout (PayMysqlPool *pool, gboolean *busy)
{
  PayMysqlConn *conn;

  g_return_val_if_fail (pool != NULL && busy != NULL, NULL);

  pay_mysql_thread_ensure ();
  g_mutex_lock (&pool->lock);
  *busy = g_queue_is_empty (&pool->idle) && pool->open >= pool->size;
  conn = g_queue_peek_head (&pool->idle);
  /* Only one that needs no round trip to be trusted: recently used, of this generation. */
  if (conn != NULL && conn->generation == pool->generation && !conn->broken &&
      g_get_monotonic_time () - conn->last_used_us < PAY_MYSQL_VALIDATE_AFTER_IDLE_US)
    g_queue_pop_head (&pool->idle);
  else
    conn = NULL;
  g_mutex_unlock (&pool->lock);

  if (conn != NULL && !conn_looks_alive (conn))
    {
      /* Died while idle: the blocking checkout discards it. */
      g_mutex_lock (&pool->lock);
      g_queue_push_head (&pool->idle, conn);
      g_mutex_unlock (&pool->lock);
      conn = NULL;
    }
  return conn;
}

MYSQL_STMT *
pay_mysql_conn_get_prepared (PayMysqlConn *conn, const gchar *sql)
{
  g_return_val_if_fail (conn != NULL && sql != NULL, NULL);

  return g_hash_table_lookup (conn->statements, sql);
}

void
pay_mysql_pool_get_stats (PayMysqlPool *pool, guint *in_use, guint *waiting)
{
  g_return_if_fail (pool != NULL);

  g_mutex_lock (&pool->lock);
  *in_use = pool->open - MIN (pool->open, pool->idle.length);
  *waiting = pool->waiting;
  g_mutex_unlock (&pool->lock);
}

void
pay_mysql_pool_checkin (PayMysqlPool *pool, PayMysqlConn *conn)
{
  g_return_if_fail (pool != NULL);
  g_return_if_fail (conn != NULL && conn->pool == pool);

  conn->last_used_us = g_get_monotonic_time ();

  g_mutex_lock (&pool->lock);
  if (!conn->broken && conn->generation == pool->generation)
    {
      g_queue_push_head (&pool->idle, conn);
      wake_waiter (pool);
      g_mutex_unlock (&pool->lock);
    }
  else
    {
      g_mutex_unlock (&pool->lock);
      pool_discard (pool, conn);
    }
  if (pool->returned_func != NULL)
    pool->returned_func (pool->returned_data);
}

void
pay_mysql_pool_set_returned_func (PayMysqlPool             *pool,
                                  PayMysqlPoolReturnedFunc  func,
                                  gpointer                  user_data)
{
  g_return_if_fail (pool != NULL);

  pool->returned_func = func;
  pool->returned_data = user_data;
}

void
pay_mysql_pool_close_idle (PayMysqlPool *pool)
{
  GQueue idle = G_QUEUE_INIT;
  PayMysqlConn *conn;

  g_return_if_fail (pool != NULL);

  g_mutex_lock (&pool->lock);
  pool->generation++;
  idle = pool->idle;
  g_queue_init (&pool->idle);
  pool->open -= idle.length;
  g_cond_broadcast (&pool->returned);
  g_mutex_unlock (&pool->lock);

  while ((conn = g_queue_pop_head (&idle)) != NULL)
    pay_mysql_conn_close (conn);
}
