/* pay-repository.c: PayRepository, the payment tables in MySQL: schema set-up and lookups
 * through a bounded connection pool, and a health-check ping on its own connection.
 * Charges are in pay-repository-charge.c, refunds in pay-repository-refund.c. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-repository.h"

#include <mysqld_error.h>
#include <string.h>

#include "core/pay-error.h"
#include "domain/pay-payment-store.h"
#include "storage/pay-mysql-pool.h"
#include "storage/pay-mysql-stmt.h"
#include "storage/pay-payment-row.h"
#include "storage/pay-repository-private.h"
#include "storage/pay-schema.h"

static const gchar select_payment_by_tx_sql[] =
  "SELECT " PAY_PAYMENT_ROW_COLUMNS " FROM " PAY_SCHEMA_PAYMENTS_TABLE " WHERE transaction_id = ?";
static const gchar select_payment_by_order_sql[] =
  "SELECT " PAY_PAYMENT_ROW_COLUMNS " FROM " PAY_SCHEMA_PAYMENTS_TABLE " WHERE order_id = ?";
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

  PayRepositoryCharges *charges; /* the charge path (pay-repository-charge.c) */
};

static void pay_repository_store_init (PayPaymentStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PayRepository, pay_repository, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAY_TYPE_PAYMENT_STORE,
                                                      pay_repository_store_init))

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
  if (self->charges != NULL)
    pay_repository_charges_close (self->charges);

  G_OBJECT_CLASS (pay_repository_parent_class)->dispose (object);
}

static void
pay_repository_finalize (GObject *object)
{
  PayRepository *self = PAY_REPOSITORY (object);

  if (self->pool != NULL)
    pay_mysql_pool_set_returned_func (self->pool, NULL, NULL);
  /* The pool first: its connections' statement caches are keyed by the charges' SQL. */
  g_clear_pointer (&self->pool, pay_mysql_pool_free);
  g_clear_pointer (&self->charges, pay_repository_charges_free);
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
  self->charges = pay_repository_charges_new (self, self->pool);
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

/* Runs @migration's change when its check finds the database needs it. */
static gboolean
run_migration (PayMysqlConn *conn, const PaySchemaMigration *migration, GError **error)
{
  MYSQL_BIND result;
  my_bool is_null = 0;
  gint64 one = 0;
  gboolean found = FALSE;
  guint server_errno = 0;

  memset (&result, 0, sizeof result);
  pay_mysql_bind_result_int64 (&result, &one, &is_null);
  if (!pay_mysql_stmt_run (conn, migration->check_sql, NULL, &result, &found, NULL, NULL,
                           &server_errno, error))
    return FALSE;
  if (!found)
    return TRUE;
  g_message ("converting the schema: %s", migration->sql);
  if (!pay_mysql_conn_query (conn, migration->sql, NULL, error))
    return FALSE;
  for (guint i = 0; migration->then != NULL && migration->then[i] != NULL; i++)
    {
      g_message ("converting the schema: %s", migration->then[i]);
      if (!pay_mysql_conn_query (conn, migration->then[i], NULL, error))
        return FALSE;
    }
  return TRUE;
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
  for (guint i = 0; ok && pay_schema_migrations[i].sql != NULL; i++)
    ok = run_migration (conn, &pay_schema_migrations[i], error);

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

PayRepositoryCharges *
pay_repository_get_charges (PayRepository *self)
{
  return self->charges;
}

gboolean
pay_repository_schema_is_ready (PayRepository *self)
{
  return g_atomic_int_get (&self->schema_ready);
}

void
pay_repository_forget_schema (PayRepository *self)
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

/* ER_DUP_ENTRY names the violated key in its message ("... for key 'uk_payments_order'",
 * or 'payments.uk_payments_order' on MySQL 8). */
gboolean
pay_repository_duplicate_error (const gchar *detail, GError **error)
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

/* ---- running work on a pooled connection --------------------------------------------- */

gboolean
pay_repository_schema_gone (guint server_errno)
{
  return server_errno == ER_NO_SUCH_TABLE || server_errno == ER_BAD_DB_ERROR;
}

/* One attempt: checks a connection out, runs @work on it and gives it back. */
static gboolean
run_pooled_once (PayRepository     *self,
                 PayRepositoryWork  work,
                 gpointer           data,
                 guint             *server_errno,
                 GError           **error)
{
  PayMysqlConn *conn;
  gboolean ok;

  *server_errno = 0;
  if (!pay_repository_ensure_schema (self, error))
    return FALSE;
  conn = pay_mysql_pool_checkout (self->pool, server_errno, error);
  if (conn == NULL)
    return FALSE;
  ok = work (conn, data, server_errno, error);
  pay_mysql_pool_checkin (self->pool, conn);
  return ok;
}

/* The repair rule: someone dropped a table or the database under us, and MySQL said so
 * (1146 or 1049) at connect, prepare or execute time. The server refused the statement,
 * so nothing of @work was done (a refund's transaction was rolled back): set the schema
 * up again and run @work once more, within the same request. When that fails too the
 * request fails (4005005), and the next one starts over. */
gboolean
pay_repository_run_pooled (PayRepository     *self,
                           PayRepositoryWork  work,
                           gpointer           data,
                           GError           **error)
{
  for (guint attempt = 1; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      guint server_errno = 0;

      if (run_pooled_once (self, work, data, &server_errno, &local_error))
        return TRUE;
      if (pay_repository_schema_gone (server_errno))
        pay_repository_forget_schema (self);
      if (!pay_repository_schema_gone (server_errno) || attempt == PAY_REPOSITORY_SCHEMA_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
}

/* ---- query ------------------------------------------------------------------------------- */

typedef struct {
  const PayQueryRequest *key;
  PayPayment            *out;
} QueryWork;

static gboolean
query_work (PayMysqlConn *conn, gpointer data, guint *server_errno, GError **error)
{
  QueryWork *work = data;
  MYSQL_BIND param;
  unsigned long length = 0;

  memset (&param, 0, sizeof param);
  if (work->key->transaction_id != NULL)
    {
      pay_mysql_bind_string (&param, work->key->transaction_id, &length);
      return pay_payment_row_read (conn, select_payment_by_tx_sql, &param, work->out, server_errno, error);
    }
  pay_mysql_bind_int64 (&param, &work->key->order_id);
  return pay_payment_row_read (conn, select_payment_by_order_sql, &param, work->out, server_errno, error);
}

gboolean
pay_repository_get_payment (PayRepository         *self,
                            const PayQueryRequest *key,
                            PayPayment            *out,
                            GError               **error)
{
  QueryWork work = { key, out };

  g_return_val_if_fail (PAY_IS_REPOSITORY (self), FALSE);
  g_return_val_if_fail (key != NULL && out != NULL, FALSE);
  g_return_val_if_fail ((key->transaction_id != NULL) != key->has_order_id, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return pay_repository_run_pooled (self, query_work, &work, error);
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

void
pay_repository_get_stats (PayRepository *self, PayRepositoryStats *stats)
{
  g_return_if_fail (PAY_IS_REPOSITORY (self));
  g_return_if_fail (stats != NULL);

  memset (stats, 0, sizeof *stats);
  if (self->pool != NULL)
    pay_mysql_pool_get_stats (self->pool, &stats->pool_in_use, &stats->pool_waiting);
  pay_repository_charges_get_stats (self->charges, stats);
}

/* ---- PayPaymentStore ----------------------------------------------------------------- */

/* The charge is _async already; the blocking calls run on a GTask worker thread. */

static void
store_charge_async (PayPaymentStore     *store,
                    const PayPayment    *payment,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  pay_repository_insert_payment_async (PAY_REPOSITORY (store), payment, callback, user_data);
}

static gboolean
store_charge_finish (PayPaymentStore *store, GAsyncResult *result, GError **error)
{
  return pay_repository_insert_payment_finish (PAY_REPOSITORY (store), result, error);
}

typedef struct {
  const PayQueryRequest *key;
  PayPayment             payment;
} StoreQuery;

static void
store_query_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  StoreQuery *query = data;
  GError *error = NULL;

  if (pay_repository_get_payment (PAY_REPOSITORY (source), query->key, &query->payment, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
store_query_async (PayPaymentStore       *store,
                   const PayQueryRequest *key,
                   GAsyncReadyCallback    callback,
                   gpointer               user_data)
{
  g_autoptr(GTask) task = g_task_new (store, NULL, callback, user_data);
  StoreQuery *query = g_new0 (StoreQuery, 1);

  query->key = key;
  g_task_set_source_tag (task, store_query_async);
  g_task_set_task_data (task, query, g_free);
  g_task_run_in_thread (task, store_query_in_thread);
}

static gboolean
store_query_finish (PayPaymentStore *store, GAsyncResult *result, PayPayment *out, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  *out = ((StoreQuery *) g_task_get_task_data (G_TASK (result)))->payment;
  return TRUE;
}

typedef struct {
  const PayRefund  *draft;
  const gchar      *event_id;
  PayRefundOutcome  outcome;
  PayRefund         refund;
  PayPayment        payment;
} StoreRefund;

static void
store_refund_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  StoreRefund *refund = data;
  GError *error = NULL;

  if (pay_repository_refund (PAY_REPOSITORY (source), refund->draft, refund->event_id,
                             &refund->outcome, &refund->refund, &refund->payment, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
store_refund_async (PayPaymentStore     *store,
                    const PayRefund     *draft,
                    const gchar         *event_id,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (store, NULL, callback, user_data);
  StoreRefund *refund = g_new0 (StoreRefund, 1);

  refund->draft = draft;
  refund->event_id = event_id;
  g_task_set_source_tag (task, store_refund_async);
  g_task_set_task_data (task, refund, g_free);
  g_task_run_in_thread (task, store_refund_in_thread);
}

static gboolean
store_refund_finish (PayPaymentStore  *store,
                     GAsyncResult     *result,
                     PayRefundOutcome *outcome,
                     PayRefund        *refund,
                     PayPayment       *payment,
                     GError          **error)
{
  StoreRefund *done;

  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  done = g_task_get_task_data (G_TASK (result));
  *outcome = done->outcome;
  *refund = done->refund;
  *payment = done->payment;
  return TRUE;
}

static void
store_probe_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PayRepository *self = PAY_REPOSITORY (source);
  GError *error = NULL;

  /* Setting the schema up here means a service started before MySQL gets its tables as
   * soon as MySQL answers, not on the first charge. */
  if (pay_repository_ensure_schema (self, &error) && pay_repository_ping (self, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
store_probe_async (PayPaymentStore *store, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (store, NULL, callback, user_data);

  g_task_set_source_tag (task, store_probe_async);
  g_task_run_in_thread (task, store_probe_in_thread);
}

static gboolean
store_probe_finish (PayPaymentStore *store, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pay_repository_store_init (PayPaymentStoreInterface *iface)
{
  iface->charge_async = store_charge_async;
  iface->charge_finish = store_charge_finish;
  iface->query_async = store_query_async;
  iface->query_finish = store_query_finish;
  iface->refund_async = store_refund_async;
  iface->refund_finish = store_refund_finish;
  iface->probe_async = store_probe_async;
  iface->probe_finish = store_probe_finish;
}
