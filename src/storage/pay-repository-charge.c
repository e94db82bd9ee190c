/* pay-repository-charge.c: charges, the hot path. A charge is one row INSERTed into
 * payments and its event row INSERTed into payment_events, in one transaction sent as one
 * text (below), and the charge is answered once both are committed. There is no trigger:
 * the service writes the event. Uniqueness of order_id is the database's (a unique key).
 *
 * Grouped commits. Charges that arrive while a charge group runs wait on the loop, and go
 * out together, up to MAX_ROWS of them in ONE transaction of two multi-row INSERTs: one
 * round trip and one commit (one redo-log flush) for them all, which costs the server far
 * less per row than one transaction each (BENCHMARKS.md). When they go, and how many, is
 * the policy of pay-charge-batch.h (a lone charge is never held back; beside running
 * groups only as a group as big as theirs on average, up to max_statements; after a wait
 * tick on another pooled connection); this file asks it at each chance (a charge
 * arrives, a group completes, a connection comes back, a tick) and does the I/O. The
 * transaction is atomic: when the server refuses a statement of it, for instance because
 * one of its rows violates a unique key (an order charged already, or twice in the same
 * group), it is rolled back, and each of its charges runs again alone for its own
 * outcome. Nothing of this is needed across instances: each commits its own rows, and the
 * unique keys decide between them. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-repository.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <string.h>
#include <uuid/uuid.h>

#include "core/pay-error.h"
#include "storage/pay-charge-batch.h"
#include "storage/pay-mysql-pool.h"
#include "storage/pay-mysql-stmt.h"
#include "storage/pay-payment-row.h"
#include "storage/pay-repository-private.h"
#include "storage/pay-schema.h"

/* A group of n charges is ONE text of four statements, sent in one round trip:
 *   START TRANSACTION; INSERT INTO payments ... (n rows); INSERT INTO payment_events ...
 *   (n rows); COMMIT
 * so each charge's event is written by the service in the charge's own transaction (no
 * trigger: TiDB has none, and a trigger needs privileges an operator may not grant). A
 * text, not prepared statements: a prepared statement is one statement, and an explicit
 * transaction of prepared ones costs four round trips instead of one. Strings are
 * escaped with the connection's mysql_real_escape_string(), numbers printed in decimal. */
#define INSERT_PAYMENTS_SQL \
  "START TRANSACTION;INSERT INTO " PAY_SCHEMA_PAYMENTS_TABLE " (" PAY_PAYMENT_ROW_COLUMNS ") VALUES "
#define INSERT_EVENTS_SQL \
  ";INSERT INTO " PAY_SCHEMA_EVENTS_TABLE \
  " (event_id, event_type, transaction_id, order_id, amount_cents, status, created_at_ms) VALUES "
#define COMMIT_SQL ";COMMIT"

/* The most rows in one INSERT: the policy's. */
#define MAX_ROWS PAY_CHARGE_BATCH_MAX_ROWS

struct _PayRepositoryCharges
{
  PayRepository *repository;             /* owner, not a reference */
  PayMysqlPool  *pool;                   /* the repository's */

  /* Loop only, but for n_waiting (the pool's returned hook reads it on any thread). */
  GMainContext  *loop;                   /* the waiters' context; set before n_waiting rises */
  GQueue         waiting;                /* GTask*, oldest first */
  gint           n_waiting;              /* atomic copy of waiting.length */
  GSource       *waiting_timer;          /* a wait tick while charges wait or run */
  PayChargeBatch batch;                  /* the statements running; when the waiting go */

  gsize          statements;             /* atomic: charge statements started */
  gsize          rows;                   /* atomic: their rows */
};

/* One charge: its GTask's data. */
typedef struct {
  PayPayment    payment;
  gint64        queued_us;    /* while waiting for a statement: since when, */
  gint64        deadline_us;  /* and until when */
} InsertOp;

/* One statement group: @n charges. */
typedef struct {
  PayRepositoryCharges *charges;
  guint                 n;
  guint                 server_errno;   /* worker-thread runs: MySQL's error number */
  GString              *sql;            /* the text, while it runs */
  GTask                *tasks[MAX_ROWS];
} InsertBatch;

static void charges_resume (PayRepositoryCharges *charges);

/* ---- one statement group ------------------------------------------------------------------ */

/* A group for the @n charges in @tasks (taken). */
static InsertBatch *
batch_new (PayRepositoryCharges *charges, GTask **tasks, guint n)
{
  InsertBatch *batch = g_new0 (InsertBatch, 1);

  batch->charges = charges;
  batch->n = n;
  memcpy (batch->tasks, tasks, n * sizeof *tasks);
  return batch;
}

static void
batch_free (InsertBatch *batch)
{
  if (batch->sql != NULL)
    g_string_free (batch->sql, TRUE);
  g_free (batch);
}

/* Appends @value as a quoted SQL string literal, escaped for @mysql's character set. */
static void
append_string (GString *sql, MYSQL *mysql, const gchar *value)
{
  gsize len = strlen (value);
  gsize at;

  g_string_append_c (sql, '\'');
  at = sql->len;
  g_string_set_size (sql, at + 2 * len + 1);
  g_string_truncate (sql, at + mysql_real_escape_string (mysql, sql->str + at, value, len));
  g_string_append_c (sql, '\'');
}

/* Appends one row of VALUES, "(v, ...)" (",(v, ...)" unless @first), a value per
 * character of @kinds: 's' a string (const gchar *, quoted and escaped), 'i' a number
 * (gint64), 'r' a literal taken as it is (const gchar *, made by the service). */
static void
append_row (GString *sql, MYSQL *mysql, gboolean first, const gchar *kinds, ...)
{
  va_list ap;

  g_string_append (sql, first ? "(" : ",(");
  va_start (ap, kinds);
  for (const gchar *k = kinds; *k != '\0'; k++)
    {
      if (k != kinds)
        g_string_append_c (sql, ',');
      if (*k == 's')
        append_string (sql, mysql, va_arg (ap, const gchar *));
      else if (*k == 'i')
        g_string_append_printf (sql, "%" G_GINT64_FORMAT, va_arg (ap, gint64));
      else
        g_string_append (sql, va_arg (ap, const gchar *));
    }
  va_end (ap);
  g_string_append_c (sql, ')');
}

/* The group's text for @mysql (the connection it runs on: escaping depends on its
 * character set and sql_mode). Each charge event gets a new UUID v4 (libuuid), as refund
 * events do. */
static void
batch_build_sql (InsertBatch *batch, MYSQL *mysql)
{
  GString *sql = batch->sql;

  if (sql == NULL)
    sql = batch->sql = g_string_sized_new (512 * batch->n);
  g_string_assign (sql, INSERT_PAYMENTS_SQL);
  for (guint i = 0; i < batch->n; i++)
    {
      const PayPayment *p = &((InsertOp *) g_task_get_task_data (batch->tasks[i]))->payment;

      /* PAY_PAYMENT_ROW_COLUMNS, in order */
      append_row (sql, mysql, i == 0, "siiiiisssii", p->transaction_id, p->order_id,
                  p->user_id, p->amount_cents, p->refunded_cents, (gint64) p->status,
                  p->payment_method, p->card_brand, p->card_last4, p->created_at_ms,
                  p->updated_at_ms);
    }
  g_string_append (sql, INSERT_EVENTS_SQL);
  for (guint i = 0; i < batch->n; i++)
    {
      const PayPayment *p = &((InsertOp *) g_task_get_task_data (batch->tasks[i]))->payment;
      uuid_t uuid;
      gchar event_id[UUID_STR_LEN + 2] = "'";

      uuid_generate_random (uuid);
      uuid_unparse_lower (uuid, event_id + 1);   /* hex digits and dashes */
      strcat (event_id, "'");
      append_row (sql, mysql, i == 0, "rrsiiii", event_id, "'" PAY_SCHEMA_EVENT_CHARGE "'",
                  p->transaction_id, p->order_id, p->amount_cents, (gint64) p->status,
                  p->created_at_ms);
    }
  g_string_append (sql, COMMIT_SQL);
}

static void batch_start (PayRepositoryCharges *charges, InsertBatch *batch, PayMysqlConn *conn);

/* The group's outcome (@error taken; NULL: committed), on the loop. */
static void
batch_complete (InsertBatch *batch, guint server_errno, GError *error)
{
  PayRepositoryCharges *charges = batch->charges;

  pay_charge_batch_completed (&charges->batch, batch->n);
  /* The next group first: MariaDB works on it while the replies go out. */
  charges_resume (charges);

  /* The server refused a statement (a unique key, a lock wait timeout, a table gone
   * missing...): the transaction was rolled back, and the reason may be one row's. Each
   * charge again, alone (on a worker thread: this is rare), for its own outcome. Never
   * after a client-side error (CR_*, from 2000: connection lost, timeout): the group may
   * have committed. */
  if (error != NULL && batch->n > 1 && server_errno > 0 && server_errno < CR_MIN_ERROR)
    {
      for (guint i = 0; i < batch->n; i++)
        batch_start (charges, batch_new (charges, &batch->tasks[i], 1), NULL);
      g_error_free (error);
    }
  else
    for (guint i = 0; i < batch->n; i++)
      {
        if (error == NULL)
          g_task_return_boolean (batch->tasks[i], TRUE);
        else
          g_task_return_error (batch->tasks[i], i + 1 < batch->n ? g_error_copy (error) : error);
        g_object_unref (batch->tasks[i]);
      }
  batch_free (batch);
}

/* pay_mysql_batch_run_async()'s outcome, on the loop (a failed group rolled back). */
static void
batch_executed (PayMysqlConn *conn, guint server_errno, const gchar *message, gpointer user_data)
{
  InsertBatch *batch = user_data;
  PayRepositoryCharges *charges = batch->charges;
  GError *error = NULL;

  if (server_errno == ER_DUP_ENTRY)
    pay_repository_duplicate_error (message, &error);
  else if (server_errno != 0)
    pay_mysql_conn_fail (conn, server_errno, message, &error);
  pay_mysql_pool_checkin (charges->pool, conn);
  if (pay_repository_schema_gone (server_errno))
    {
      /* The table or the database has gone; the server refused the statement. Run it
       * again on a worker thread, which sets the schema up first (and retries once
       * more, see pay_repository_run_pooled()), within the same charges' requests. */
      g_error_free (error);
      pay_repository_forget_schema (charges->repository);
      pay_charge_batch_completed (&charges->batch, batch->n);
      batch_start (charges, batch, NULL);
      return;
    }
  batch_complete (batch, server_errno, error);
}

/* Runs a group on a pooled connection, blocking (a PayRepositoryWork). */
static gboolean
batch_work (PayMysqlConn *conn, gpointer data, guint *server_errno, GError **error)
{
  InsertBatch *batch = data;
  gboolean ok;

  batch_build_sql (batch, pay_mysql_conn_get_handle (conn));
  ok = pay_mysql_batch_run (conn, batch->sql->str, batch->sql->len,
                            pay_repository_duplicate_error, server_errno, error);
  batch->server_errno = *server_errno;
  return ok;
}

static void
batch_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (pay_repository_run_pooled (PAY_REPOSITORY (source), batch_work, data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
batch_thread_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  InsertBatch *batch = user_data;
  GError *error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  batch_complete (batch, batch->server_errno, error);
}

/* Runs @batch (taken) on @conn (taken) from the loop; on a worker thread when @conn is
 * NULL (first use, schema set-up, reconnects). */
static void
batch_start (PayRepositoryCharges *charges, InsertBatch *batch, PayMysqlConn *conn)
{
  pay_charge_batch_started (&charges->batch, batch->n);
  g_atomic_pointer_add (&charges->statements, 1);
  g_atomic_pointer_add (&charges->rows, batch->n);
  if (conn == NULL)
    {
      GTask *task = g_task_new (charges->repository, NULL, batch_thread_done, batch);

      g_task_set_source_tag (task, batch_start);
      g_task_set_task_data (task, batch, NULL);
      g_task_run_in_thread (task, batch_in_thread);
      g_object_unref (task);
      return;
    }
  batch_build_sql (batch, pay_mysql_conn_get_handle (conn));
  pay_mysql_batch_run_async (conn, batch->sql->str, batch->sql->len,
                             g_main_context_get_thread_default (), batch_executed, batch);
}

/* ---- charges waiting for a statement ---------------------------------------------------- */

/* Starts one statement for the @n oldest waiting charges, when the pool has a
 * connection. */
static gboolean
charges_start_group (PayRepositoryCharges *charges, guint n)
{
  GTask *tasks[MAX_ROWS];
  gboolean busy;
  PayMysqlConn *conn = pay_mysql_pool_try_checkout (charges->pool, &busy);

  g_assert (n > 0 && n <= MAX_ROWS && n <= charges->waiting.length);
  if (conn == NULL && busy)
    return FALSE;
  for (guint i = 0; i < n; i++)
    tasks[i] = g_queue_pop_head (&charges->waiting);
  g_atomic_int_add (&charges->n_waiting, -(gint) n);
  batch_start (charges, batch_new (charges, tasks, n), conn);
  return TRUE;
}

/* How long the oldest waiting charge has waited, at @now_us (0 when none waits). */
static gint64
charges_waited_us (PayRepositoryCharges *charges, gint64 now_us)
{
  GTask *task = g_queue_peek_head (&charges->waiting);

  return task != NULL ? now_us - ((InsertOp *) g_task_get_task_data (task))->queued_us : 0;
}

/* Starts statements for waiting charges while the policy and the pool allow (loop). */
static void
charges_resume (PayRepositoryCharges *charges)
{
  for (;;)
    {
      PayChargeBatchDecision d = pay_charge_batch_decide (&charges->batch,
                                                          charges->waiting.length, 0, FALSE);

      if (d.n == 0 || !charges_start_group (charges, d.n))
        break;
    }
}

static gboolean
resume_cb (gpointer data)
{
  charges_resume (pay_repository_get_charges (data));
  return G_SOURCE_REMOVE;
}

/* The pool's returned hook (any thread): waiting charges resume on their loop. */
static void
on_connection_returned (gpointer data)
{
  PayRepositoryCharges *charges = data;

  if (g_atomic_int_get (&charges->n_waiting) > 0)
    g_main_context_invoke_full (charges->loop, G_PRIORITY_DEFAULT, resume_cb,
                                g_object_ref (charges->repository), g_object_unref);
}

/* Fails the oldest waiters, @all of them or those past their deadline. */
static void
charges_expire (PayRepositoryCharges *charges, gboolean all)
{
  gint64 now = g_get_monotonic_time ();
  GTask *task;

  while ((task = g_queue_peek_head (&charges->waiting)) != NULL)
    {
      InsertOp *op = g_task_get_task_data (task);

      if (!all && op->deadline_us > now)
        break;
      g_queue_pop_head (&charges->waiting);
      g_atomic_int_dec_and_test (&charges->n_waiting);
      g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_STORAGE_UNAVAILABLE,
                               "storage unavailable: all %u connections busy",
                               pay_mysql_pool_get_settings (charges->pool)->pool_size);
      g_object_unref (task);
    }
}

/* Runs while charges wait or statements run (a timer per wait would be a source attached
 * and destroyed per statement under load). */
static gboolean
wait_tick (gpointer data)
{
  PayRepositoryCharges *charges = data;
  PayChargeBatchDecision d;

  charges_resume (charges);
  /* A statement that takes long (a row lock, a stall) must not hold back the charges
   * behind it: once per tick, those waiting a tick go out on another connection, beyond
   * max_statements, as long as the pool has one. */
  d = pay_charge_batch_decide (&charges->batch, charges->waiting.length,
                               charges_waited_us (charges, g_get_monotonic_time ()), TRUE);
  if (d.n > 0)
    charges_start_group (charges, d.n);
  charges_expire (charges, FALSE);
  if (!g_queue_is_empty (&charges->waiting) || charges->batch.running > 0)
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&charges->waiting_timer, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Queues @task (taken) until a statement can start, at most connect_timeout_seconds. */
static void
charges_wait (PayRepositoryCharges *charges, GTask *task)
{
  InsertOp *op = g_task_get_task_data (task);
  guint wait_s = MAX (pay_mysql_pool_get_settings (charges->pool)->connect_timeout_seconds, 1);

  op->queued_us = g_get_monotonic_time ();
  op->deadline_us = op->queued_us + (gint64) wait_s * G_TIME_SPAN_SECOND;
  if (charges->loop == NULL)
    charges->loop = g_main_context_ref_thread_default ();
  g_queue_push_tail (&charges->waiting, task);
  g_atomic_int_inc (&charges->n_waiting);
  if (charges->waiting_timer == NULL)
    {
      charges->waiting_timer = g_timeout_source_new (PAY_CHARGE_BATCH_WAIT_TICK_MS);
      g_source_set_callback (charges->waiting_timer, wait_tick, charges, NULL);
      g_source_attach (charges->waiting_timer, charges->loop);
    }
}

/* ---- life --------------------------------------------------------------------------------- */

PayRepositoryCharges *
pay_repository_charges_new (PayRepository *repository, PayMysqlPool *pool)
{
  PayRepositoryCharges *charges = g_new0 (PayRepositoryCharges, 1);

  charges->repository = repository;
  charges->pool = pool;
  pay_charge_batch_init (&charges->batch, pay_mysql_pool_get_settings (pool)->pool_size);
  g_queue_init (&charges->waiting);
  pay_mysql_pool_set_returned_func (pool, on_connection_returned, charges);
  return charges;
}

void
pay_repository_charges_close (PayRepositoryCharges *charges)
{
  if (charges->waiting_timer != NULL)
    {
      g_source_destroy (charges->waiting_timer);
      g_clear_pointer (&charges->waiting_timer, g_source_unref);
    }
  charges_expire (charges, TRUE);
}

void
pay_repository_charges_free (PayRepositoryCharges *charges)
{
  g_assert (g_queue_is_empty (&charges->waiting));
  g_clear_pointer (&charges->loop, g_main_context_unref);
  g_free (charges);
}

void
pay_repository_charges_get_stats (PayRepositoryCharges *charges, PayRepositoryStats *stats)
{
  stats->charge_statements = (guint64) g_atomic_pointer_get (&charges->statements);
  stats->charge_rows = (guint64) g_atomic_pointer_get (&charges->rows);
  stats->charges_waiting = (guint) MAX (g_atomic_int_get (&charges->n_waiting), 0);
}

/* ---- public API --------------------------------------------------------------------------- */

void
pay_repository_insert_payment_async (PayRepository       *self,
                                     const PayPayment    *payment,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  PayRepositoryCharges *charges;
  GTask *task;
  InsertOp *op;
  PayMysqlConn *conn = NULL;
  gboolean busy = FALSE;

  g_return_if_fail (PAY_IS_REPOSITORY (self));
  g_return_if_fail (payment != NULL);

  charges = pay_repository_get_charges (self);
  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pay_repository_insert_payment_async);
  op = g_new0 (InsertOp, 1);
  op->payment = *payment;
  g_task_set_task_data (task, op, g_free);

  /* At once on the caller's loop when the policy lets a lone charge go and a warm connection with the
   * statement prepared is idle; else grouped with the others waiting, behind those
   * already waiting; on a worker thread otherwise (first use, schema set-up,
   * reconnects). */
  if (pay_repository_schema_is_ready (self))
    {
      if (g_queue_is_empty (&charges->waiting)
          && pay_charge_batch_decide (&charges->batch, 1, 0, FALSE).n == 1)
        conn = pay_mysql_pool_try_checkout (charges->pool, &busy);
      else
        busy = TRUE;
    }
  if (conn == NULL && busy)
    charges_wait (charges, task);
  else
    batch_start (charges, batch_new (charges, &task, 1), conn);
}

gboolean
pay_repository_insert_payment_finish (PayRepository *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
