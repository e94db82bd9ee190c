/* pay-repository.c: PayRepository, the payments table in MySQL: schema set-up, inserts
 * through a bounded connection pool, and a health-check ping on its own connection. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-repository.h"

#include <mysqld_error.h>
#include <string.h>

#include "core/pay-error.h"
#include "storage/pay-mysql-pool.h"
#include "storage/pay-schema.h"

/* Parameters of insert_payment_sql, in order. */
enum {
  INSERT_TRANSACTION_ID,
  INSERT_ORDER_ID,
  INSERT_USER_ID,
  INSERT_AMOUNT_CENTS,
  INSERT_REFUNDED_CENTS,
  INSERT_STATUS,
  INSERT_PAYMENT_METHOD,
  INSERT_CARD_BRAND,
  INSERT_CARD_LAST4,
  INSERT_CREATED_AT_MS,
  INSERT_UPDATED_AT_MS,
  INSERT_N_PARAMS
};

static const gchar insert_payment_sql[] =
  "INSERT INTO " PAY_SCHEMA_PAYMENTS_TABLE
  " (transaction_id, order_id, user_id, amount_cents, refunded_cents, status,"
  " payment_method, card_brand, card_last4, created_at_ms, updated_at_ms)"
  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

typedef enum {
  SCHEMA_UNKNOWN,   /* not set up yet, or the last attempt failed */
  SCHEMA_RUNNING,   /* one thread is setting it up; the others wait for its outcome */
  SCHEMA_READY,
} SchemaState;

struct _PayRepository
{
  GObject parent_instance;

  PayMysqlPool *pool;

  gint          schema_ready;   /* atomic copy of state == SCHEMA_READY, the fast path */
  GMutex        schema_lock;
  GCond         schema_done;
  SchemaState   schema_state;
  GError       *schema_error;   /* outcome of the last failed attempt */

  GMutex        ping_lock;
  PayMysqlConn *ping_conn;      /* NULL until the first ping, or after a failure */
};

G_DEFINE_FINAL_TYPE (PayRepository, pay_repository, G_TYPE_OBJECT)

static void
pay_repository_init (PayRepository *self)
{
  g_mutex_init (&self->schema_lock);
  g_cond_init (&self->schema_done);
  g_mutex_init (&self->ping_lock);
}

static void
pay_repository_dispose (GObject *object)
{
  PayRepository *self = PAY_REPOSITORY (object);

  pay_repository_close (self);

  G_OBJECT_CLASS (pay_repository_parent_class)->dispose (object);
}

static void
pay_repository_finalize (GObject *object)
{
  PayRepository *self = PAY_REPOSITORY (object);

  g_clear_pointer (&self->pool, pay_mysql_pool_free);
  g_clear_error (&self->schema_error);
  g_mutex_clear (&self->schema_lock);
  g_cond_clear (&self->schema_done);
  g_mutex_clear (&self->ping_lock);

  G_OBJECT_CLASS (pay_repository_parent_class)->finalize (object);
}

static void
pay_repository_class_init (PayRepositoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_repository_dispose;
  object_class->finalize = pay_repository_finalize;
}

/* ---- public API --------------------------------------------------------------------- */

void
pay_repository_library_init (void)
{
  pay_mysql_library_init ();
}

PayRepository *
pay_repository_new (const PayMysqlSettings *settings)
{
  PayRepository *self;

  g_return_val_if_fail (settings != NULL, NULL);
  g_return_val_if_fail (settings->database != NULL && settings->database[0] != '\0', NULL);

  pay_mysql_library_init ();

  self = g_object_new (PAY_TYPE_REPOSITORY, NULL);
  self->pool = pay_mysql_pool_new (settings);
  return self;
}

/* `name` with backticks doubled: an identifier MySQL reads back as @name. */
static gchar *
quote_identifier (const gchar *name)
{
  g_autoptr(GString) quoted = g_string_new ("`");

  for (const gchar *p = name; *p != '\0'; p++)
    {
      if (*p == '`')
        g_string_append_c (quoted, '`');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '`');
  return g_string_free (g_steal_pointer (&quoted), FALSE);
}

/* Creates the database when missing, then runs every schema statement, on a connection
 * of its own made without a default database (the database may not exist yet). */
static gboolean
run_schema (PayRepository *self, GError **error)
{
  const PayMysqlSettings *settings = pay_mysql_pool_get_settings (self->pool);
  PayMysqlConn *conn;
  MYSQL *mysql;
  gboolean ok = TRUE;

  conn = pay_mysql_conn_open (self->pool, FALSE, error);
  if (conn == NULL)
    return FALSE;
  mysql = pay_mysql_conn_get_handle (conn);

  /* Select first: CREATE DATABASE needs a privilege the service may lack when an
   * operator created the database for it. */
  if (mysql_select_db (mysql, settings->database) != 0)
    {
      guint err = mysql_errno (mysql);

      if (err != ER_BAD_DB_ERROR)
        ok = pay_mysql_conn_fail (conn, err, mysql_error (mysql), error);
      else
        {
          g_autofree gchar *quoted = quote_identifier (settings->database);
          g_autofree gchar *sql = g_strdup_printf ("CREATE DATABASE IF NOT EXISTS %s "
                                                   "CHARACTER SET utf8mb4", quoted);

          g_message ("creating database %s", quoted);
          ok = pay_mysql_conn_query (conn, sql, NULL, error);
          if (ok && mysql_select_db (mysql, settings->database) != 0)
            ok = pay_mysql_conn_fail (conn, mysql_errno (mysql), mysql_error (mysql), error);
        }
    }

  for (guint i = 0; ok && pay_schema_statements[i] != NULL; i++)
    ok = pay_mysql_conn_query (conn, pay_schema_statements[i], NULL, error);

  pay_mysql_conn_close (conn);
  return ok;
}

gboolean
pay_repository_ensure_schema (PayRepository *self, GError **error)
{
  gboolean waited = FALSE;
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (PAY_IS_REPOSITORY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_atomic_int_get (&self->schema_ready))
    return TRUE;

  g_mutex_lock (&self->schema_lock);
  while (self->schema_state == SCHEMA_RUNNING)
    {
      waited = TRUE;
      g_cond_wait (&self->schema_done, &self->schema_lock);
    }
  if (self->schema_state == SCHEMA_READY)
    {
      g_mutex_unlock (&self->schema_lock);
      return TRUE;
    }
  if (waited && self->schema_error != NULL)
    {
      /* Share the outcome of the attempt we waited for instead of queueing up behind each
       * other for a connect timeout apiece while MySQL is down. */
      g_propagate_error (error, g_error_copy (self->schema_error));
      g_mutex_unlock (&self->schema_lock);
      return FALSE;
    }
  self->schema_state = SCHEMA_RUNNING;
  g_mutex_unlock (&self->schema_lock);

  ok = run_schema (self, &local_error);

  g_mutex_lock (&self->schema_lock);
  g_clear_error (&self->schema_error);
  if (ok)
    {
      self->schema_state = SCHEMA_READY;
      g_atomic_int_set (&self->schema_ready, TRUE);
    }
  else
    {
      self->schema_state = SCHEMA_UNKNOWN;
      self->schema_error = g_error_copy (local_error);
    }
  g_cond_broadcast (&self->schema_done);
  g_mutex_unlock (&self->schema_lock);

  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}

static void
forget_schema (PayRepository *self)
{
  g_mutex_lock (&self->schema_lock);
  if (self->schema_state == SCHEMA_READY)
    {
      g_warning ("the payments table is missing; setting the schema up again");
      self->schema_state = SCHEMA_UNKNOWN;
      g_atomic_int_set (&self->schema_ready, FALSE);
    }
  g_mutex_unlock (&self->schema_lock);
}

static void
bind_string (MYSQL_BIND *bind, const gchar *value, unsigned long *length)
{
  *length = strlen (value);
  bind->buffer_type = MYSQL_TYPE_STRING;
  bind->buffer = (gchar *) value;
  bind->buffer_length = *length;
  bind->length = length;
}

static void
bind_int64 (MYSQL_BIND *bind, const gint64 *value)
{
  bind->buffer_type = MYSQL_TYPE_LONGLONG;
  bind->buffer = (gint64 *) value;
  bind->is_unsigned = 0;
}

/* ER_DUP_ENTRY names the violated key in its message ("... for key 'uk_payments_order'",
 * or 'payments.uk_payments_order' on MySQL 8). */
static gboolean
set_duplicate_error (const gchar *detail, GError **error)
{
  if (detail != NULL && strstr (detail, PAY_SCHEMA_KEY_PAYMENTS_ORDER) != NULL)
    g_set_error_literal (error, PAY_ERROR, PAY_ERROR_ORDER_ALREADY_PAID, "order already paid");
  else if (detail != NULL && strstr (detail, PAY_SCHEMA_KEY_PAYMENTS_TX) != NULL)
    g_set_error_literal (error, PAY_ERROR, PAY_ERROR_ID_GENERATION,
                         "transaction id generation failed: duplicate transaction id");
  else
    g_set_error_literal (error, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                         "storage unavailable: unexpected duplicate key");
  return FALSE;
}

/* Inserts @payment on @conn; *@server_errno gets MySQL's error number (0: none). */
static gboolean
insert_on (PayMysqlConn     *conn,
           const PayPayment *payment,
           guint            *server_errno,
           GError          **error)
{
  MYSQL_BIND bind[INSERT_N_PARAMS];
  unsigned long lengths[INSERT_N_PARAMS] = { 0 };
  gint64 status = payment->status;
  MYSQL_STMT *stmt;

  stmt = pay_mysql_conn_prepare (conn, insert_payment_sql, error);
  if (stmt == NULL)
    return FALSE;

  memset (bind, 0, sizeof bind);
  bind_string (&bind[INSERT_TRANSACTION_ID], payment->transaction_id, &lengths[INSERT_TRANSACTION_ID]);
  bind_int64 (&bind[INSERT_ORDER_ID], &payment->order_id);
  bind_int64 (&bind[INSERT_USER_ID], &payment->user_id);
  bind_int64 (&bind[INSERT_AMOUNT_CENTS], &payment->amount_cents);
  bind_int64 (&bind[INSERT_REFUNDED_CENTS], &payment->refunded_cents);
  bind_int64 (&bind[INSERT_STATUS], &status);
  bind_string (&bind[INSERT_PAYMENT_METHOD], payment->payment_method, &lengths[INSERT_PAYMENT_METHOD]);
  bind_string (&bind[INSERT_CARD_BRAND], payment->card_brand, &lengths[INSERT_CARD_BRAND]);
  bind_string (&bind[INSERT_CARD_LAST4], payment->card_last4, &lengths[INSERT_CARD_LAST4]);
  bind_int64 (&bind[INSERT_CREATED_AT_MS], &payment->created_at_ms);
  bind_int64 (&bind[INSERT_UPDATED_AT_MS], &payment->updated_at_ms);

  if (mysql_stmt_bind_param (stmt, bind) != 0)
    return pay_mysql_conn_fail (conn, mysql_stmt_errno (stmt), mysql_stmt_error (stmt), error);

  if (mysql_stmt_execute (stmt) != 0)
    {
      guint err = mysql_stmt_errno (stmt);

      *server_errno = err;
      if (err == ER_DUP_ENTRY)
        return set_duplicate_error (mysql_stmt_error (stmt), error);
      return pay_mysql_conn_fail (conn, err, mysql_stmt_error (stmt), error);
    }

  return TRUE;
}

gboolean
pay_repository_insert_payment (PayRepository    *self,
                               const PayPayment *payment,
                               GError          **error)
{
  PayMysqlConn *conn;
  guint server_errno = 0;
  gboolean ok;

  g_return_val_if_fail (PAY_IS_REPOSITORY (self), FALSE);
  g_return_val_if_fail (payment != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pay_repository_ensure_schema (self, error))
    return FALSE;

  conn = pay_mysql_pool_checkout (self->pool, error);
  if (conn == NULL)
    return FALSE;
  ok = insert_on (conn, payment, &server_errno, error);
  pay_mysql_pool_checkin (self->pool, conn);

  /* Someone dropped the table or the database under us: set the schema up again on the
   * next call instead of failing until restart. */
  if (server_errno == ER_NO_SUCH_TABLE || server_errno == ER_BAD_DB_ERROR)
    forget_schema (self);
  return ok;
}

gboolean
pay_repository_ping (PayRepository *self, GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (PAY_IS_REPOSITORY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  pay_mysql_thread_ensure ();
  locker = g_mutex_locker_new (&self->ping_lock);

  if (self->ping_conn != NULL && pay_mysql_conn_ping (self->ping_conn))
    return TRUE;

  /* Never connected, or the connection died (a restart): one fresh connection is the
   * round trip. No default database, so health does not depend on the schema. */
  g_clear_pointer (&self->ping_conn, pay_mysql_conn_close);
  self->ping_conn = pay_mysql_conn_open (self->pool, FALSE, error);
  return self->ping_conn != NULL;
}

void
pay_repository_close (PayRepository *self)
{
  g_return_if_fail (PAY_IS_REPOSITORY (self));

  if (self->pool != NULL)
    pay_mysql_pool_close_idle (self->pool);

  g_mutex_lock (&self->ping_lock);
  g_clear_pointer (&self->ping_conn, pay_mysql_conn_close);
  g_mutex_unlock (&self->ping_lock);
}
