/* pay-event-outbox.c: the relay's MySQL side on its dedicated connection (see
 * pay-event-outbox.h). */
#define G_LOG_DOMAIN "payment-events"

#include "events/pay-event-outbox.h"

#include <mysqld_error.h>
#include <string.h>

#include "events/pay-event-json.h"
#include "storage/pay-mysql-pool.h"
#include "storage/pay-mysql-stmt.h"
#include "storage/pay-schema.h"

/* Room for the VARBINARY columns read, NUL included (schema: 36, 16 and 96 bytes). */
#define ID_BYTES      40
#define TYPE_BYTES    20
#define CALLER_BYTES  100
/* An open transaction's id: INNODB_TRX.trx_id, or TiDB's CLUSTER_TIDB_TRX.ID, at most 20
 * digits. */
#define TRX_ID_BYTES  24

static const gchar get_lock_sql[] = "SELECT GET_LOCK(?, 0)";
static const gchar ensure_cursor_sql[] =
  "INSERT IGNORE INTO " PAY_SCHEMA_RELAY_TABLE " (name, last_id, updated_at_ms) VALUES (?, 0, ?)";
static const gchar select_cursor_sql[] =
  "SELECT last_id FROM " PAY_SCHEMA_RELAY_TABLE " WHERE name = ?";
static const gchar advance_cursor_sql[] =
  "UPDATE " PAY_SCHEMA_RELAY_TABLE " SET last_id = ?, updated_at_ms = ?"
  " WHERE name = ? AND last_id < ?";
static const gchar read_events_sql[] =
  "SELECT id, event_id, event_type, transaction_id, order_id, refund_id, amount_cents,"
  " status, created_at_ms, caller FROM " PAY_SCHEMA_EVENTS_TABLE
  " WHERE id > ? ORDER BY id LIMIT ?";
static const gchar lag_sql[] =
  "SELECT COUNT(*), COALESCE(MIN(created_at_ms), 0) FROM " PAY_SCHEMA_EVENTS_TABLE
  " WHERE id > ?";

struct _PayEventOutbox
{
  PayRepository *repository;
  PayMysqlPool  *pool;          /* only for its settings: the connection is opened outside it */
  PayMysqlConn  *conn;          /* NULL: not connected */
  gchar         *stream;
  gchar         *lock_name;
  gboolean       trx_refused;   /* the open transactions' list was refused once (logged) */
};

PayEventOutbox *
pay_event_outbox_new (PayRepository          *repository,
                      const PayMysqlSettings *settings,
                      const gchar            *stream,
                      const gchar            *lock_name)
{
  PayEventOutbox *outbox;

  g_return_val_if_fail (PAY_IS_REPOSITORY (repository), NULL);
  g_return_val_if_fail (settings != NULL && stream != NULL && lock_name != NULL, NULL);

  outbox = g_new0 (PayEventOutbox, 1);
  outbox->repository = g_object_ref (repository);
  outbox->pool = pay_mysql_pool_new (settings);
  outbox->stream = g_strdup (stream);
  outbox->lock_name = g_strdup (lock_name);
  return outbox;
}

void
pay_event_outbox_disconnect (PayEventOutbox *outbox)
{
  g_return_if_fail (outbox != NULL);

  g_clear_pointer (&outbox->conn, pay_mysql_conn_close);
}

void
pay_event_outbox_free (PayEventOutbox *outbox)
{
  if (outbox == NULL)
    return;
  pay_event_outbox_disconnect (outbox);
  g_clear_pointer (&outbox->pool, pay_mysql_pool_free);
  g_clear_object (&outbox->repository);
  g_free (outbox->stream);
  g_free (outbox->lock_name);
  g_free (outbox);
}

/* Drops the connection after a failure that may have broken it (and with it the lock):
 * the relay then competes for the lock afresh on a new one. Returns FALSE. */
static gboolean
fail (PayEventOutbox *outbox)
{
  pay_event_outbox_disconnect (outbox);
  return FALSE;
}

static gboolean
ensure_connected (PayEventOutbox *outbox, GError **error)
{
  if (outbox->conn != NULL)
    return TRUE;
  if (!pay_repository_ensure_schema (outbox->repository, error))
    return FALSE;
  /* Set up as the pool's connections are: autocommit, READ COMMITTED (every read sees
   * the latest commits), strict sql_mode and time zone +00:00. */
  outbox->conn = pay_mysql_conn_open (outbox->pool, TRUE, error);
  return outbox->conn != NULL;
}

gboolean
pay_event_outbox_try_lead (PayEventOutbox *outbox,
                           gboolean       *leader,
                           gint64         *cursor,
                           GError        **error)
{
  MYSQL_BIND param[2], result;
  unsigned long name_length = 0;
  gint64 got = 0, now_ms = g_get_real_time () / 1000;
  my_bool is_null = 0;
  gboolean found = FALSE;
  guint server_errno = 0;

  g_return_val_if_fail (outbox != NULL && leader != NULL && cursor != NULL, FALSE);

  *leader = FALSE;
  if (!ensure_connected (outbox, error))
    return FALSE;

  memset (param, 0, sizeof param);
  memset (&result, 0, sizeof result);
  pay_mysql_bind_string (&param[0], outbox->lock_name, &name_length);
  pay_mysql_bind_result_int64 (&result, &got, &is_null);
  if (!pay_mysql_stmt_run (outbox->conn, get_lock_sql, param, &result, &found, NULL, NULL,
                           &server_errno, error))
    return fail (outbox);
  if (!found || is_null || got != 1)
    return TRUE;   /* another session holds it */

  /* The lock is ours: from here a failure drops the connection, and the lock with it. */
  memset (param, 0, sizeof param);
  pay_mysql_bind_string (&param[0], outbox->stream, &name_length);
  pay_mysql_bind_int64 (&param[1], &now_ms);
  if (!pay_mysql_stmt_run (outbox->conn, ensure_cursor_sql, param, NULL, NULL, NULL, NULL,
                           &server_errno, error))
    return fail (outbox);
  memset (&result, 0, sizeof result);
  pay_mysql_bind_result_int64 (&result, cursor, &is_null);
  if (!pay_mysql_stmt_run (outbox->conn, select_cursor_sql, param, &result, &found, NULL, NULL,
                           &server_errno, error))
    return fail (outbox);
  if (!found || is_null)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no cursor row for stream %s",
                   outbox->stream);
      return fail (outbox);
    }
  *leader = TRUE;
  return TRUE;
}

/* ---- reading events ------------------------------------------------------------------ */

/* The result buffers of read_events_sql, and the rows fetched into them. */
typedef struct {
  gint64        id, order_id, amount_cents, status, created_at_ms;
  gchar         event_id[ID_BYTES], event_type[TYPE_BYTES], transaction_id[ID_BYTES];
  gchar         refund_id[ID_BYTES], caller[CALLER_BYTES];
  unsigned long lengths[10];
  my_bool       nulls[10];
  GPtrArray    *rows;
} ReadBuffers;

/* The string column @i, NULL when SQL NULL. */
static gchar *
column_string (ReadBuffers *b, guint i, gchar *buffer, gsize size)
{
  if (b->nulls[i])
    return NULL;
  pay_mysql_terminate_string (buffer, size, b->lengths[i], b->nulls[i]);
  return g_strdup (buffer);
}

static void
take_row (gpointer data)
{
  ReadBuffers *b = data;
  PayEventRow *row = g_new0 (PayEventRow, 1);

  row->id = b->id;
  row->event_id = column_string (b, 1, b->event_id, sizeof b->event_id);
  row->event_type = column_string (b, 2, b->event_type, sizeof b->event_type);
  row->transaction_id = column_string (b, 3, b->transaction_id, sizeof b->transaction_id);
  row->order_id = b->order_id;
  row->refund_id = column_string (b, 5, b->refund_id, sizeof b->refund_id);
  row->amount_cents = b->amount_cents;
  row->status = (gint) b->status;
  row->created_at_ms = b->created_at_ms;
  row->caller = column_string (b, 9, b->caller, sizeof b->caller);
  g_ptr_array_add (b->rows, row);
}

GPtrArray *
pay_event_outbox_read (PayEventOutbox *outbox,
                       gint64          after_id,
                       guint           limit,
                       GError        **error)
{
  g_autofree ReadBuffers *b = g_new0 (ReadBuffers, 1);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) pay_event_row_free);
  gint64 limit64 = limit;
  MYSQL_BIND param[2], results[10];
  guint server_errno = 0;

  g_return_val_if_fail (outbox != NULL, NULL);

  if (!ensure_connected (outbox, error))
    return NULL;
  memset (param, 0, sizeof param);
  memset (results, 0, sizeof results);
  pay_mysql_bind_int64 (&param[0], &after_id);
  pay_mysql_bind_int64 (&param[1], &limit64);
  pay_mysql_bind_result_int64 (&results[0], &b->id, &b->nulls[0]);
  pay_mysql_bind_result_string (&results[1], b->event_id, sizeof b->event_id, &b->lengths[1], &b->nulls[1]);
  pay_mysql_bind_result_string (&results[2], b->event_type, sizeof b->event_type, &b->lengths[2], &b->nulls[2]);
  pay_mysql_bind_result_string (&results[3], b->transaction_id, sizeof b->transaction_id,
                                &b->lengths[3], &b->nulls[3]);
  pay_mysql_bind_result_int64 (&results[4], &b->order_id, &b->nulls[4]);
  pay_mysql_bind_result_string (&results[5], b->refund_id, sizeof b->refund_id, &b->lengths[5], &b->nulls[5]);
  pay_mysql_bind_result_int64 (&results[6], &b->amount_cents, &b->nulls[6]);
  pay_mysql_bind_result_int64 (&results[7], &b->status, &b->nulls[7]);
  pay_mysql_bind_result_int64 (&results[8], &b->created_at_ms, &b->nulls[8]);
  pay_mysql_bind_result_string (&results[9], b->caller, sizeof b->caller, &b->lengths[9], &b->nulls[9]);
  b->rows = rows;
  if (!pay_mysql_stmt_run_rows (outbox->conn, read_events_sql, param, results, take_row, b,
                                &server_errno, error))
    {
      fail (outbox);
      return NULL;
    }
  return g_steal_pointer (&rows);
}

/* ---- gaps ---------------------------------------------------------------------------- */

typedef struct {
  gchar         trx_id[TRX_ID_BYTES];
  unsigned long length;
  my_bool       is_null;
  GPtrArray    *ids;
} TrxBuffers;

static void
take_trx (gpointer data)
{
  TrxBuffers *b = data;

  pay_mysql_terminate_string (b->trx_id, sizeof b->trx_id, b->length, b->is_null);
  g_ptr_array_add (b->ids, g_strdup (b->trx_id));
}

GPtrArray *
pay_event_outbox_open_transactions (PayEventOutbox *outbox, GError **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local = NULL;
  TrxBuffers b = { .ids = ids };
  MYSQL_BIND result;
  guint server_errno = 0;

  g_return_val_if_fail (outbox != NULL, NULL);

  if (!ensure_connected (outbox, error))
    return NULL;
  memset (&result, 0, sizeof result);
  pay_mysql_bind_result_string (&result, b.trx_id, sizeof b.trx_id, &b.length, &b.is_null);
  /* Where the server lists them differs (pay_mysql_server_open_transactions_sql()). */
  if (pay_mysql_stmt_run_rows (outbox->conn,
                               pay_mysql_server_open_transactions_sql (
                                 pay_mysql_conn_get_server (outbox->conn)),
                               NULL, &result, take_trx, &b, &server_errno, &local))
    return g_steal_pointer (&ids);

  if (server_errno == ER_SPECIFIC_ACCESS_DENIED_ERROR || server_errno == ER_ACCESS_DENIED_ERROR ||
      server_errno == ER_TABLEACCESS_DENIED_ERROR)
    {
      if (!outbox->trx_refused)
        g_warning ("the list of open transactions refused (MySQL error %u): the "
                   "service's MySQL user needs the PROCESS privilege to pass a gap in "
                   "payment_events ids early; gaps are waited on for events.gap_wait_seconds",
                   server_errno);
      outbox->trx_refused = TRUE;
      return NULL;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  fail (outbox);
  return NULL;
}

/* ---- the cursor ---------------------------------------------------------------------- */

gboolean
pay_event_outbox_advance (PayEventOutbox *outbox, gint64 last_id, GError **error)
{
  MYSQL_BIND param[4];
  unsigned long name_length = 0;
  gint64 now_ms = g_get_real_time () / 1000;
  guint server_errno = 0;

  g_return_val_if_fail (outbox != NULL, FALSE);

  if (!ensure_connected (outbox, error))
    return FALSE;
  memset (param, 0, sizeof param);
  pay_mysql_bind_int64 (&param[0], &last_id);
  pay_mysql_bind_int64 (&param[1], &now_ms);
  pay_mysql_bind_string (&param[2], outbox->stream, &name_length);
  pay_mysql_bind_int64 (&param[3], &last_id);
  if (!pay_mysql_stmt_run (outbox->conn, advance_cursor_sql, param, NULL, NULL, NULL, NULL,
                           &server_errno, error))
    return fail (outbox);
  return TRUE;
}

gboolean
pay_event_outbox_lag (PayEventOutbox *outbox,
                      gint64          after_id,
                      gint64         *count,
                      gint64         *oldest_ms,
                      GError        **error)
{
  MYSQL_BIND param, results[2];
  my_bool nulls[2] = { 0, 0 };
  gboolean found = FALSE;
  guint server_errno = 0;

  g_return_val_if_fail (outbox != NULL && count != NULL && oldest_ms != NULL, FALSE);

  if (!ensure_connected (outbox, error))
    return FALSE;
  memset (&param, 0, sizeof param);
  memset (results, 0, sizeof results);
  pay_mysql_bind_int64 (&param, &after_id);
  pay_mysql_bind_result_int64 (&results[0], count, &nulls[0]);
  pay_mysql_bind_result_int64 (&results[1], oldest_ms, &nulls[1]);
  if (!pay_mysql_stmt_run (outbox->conn, lag_sql, &param, results, &found, NULL, NULL,
                           &server_errno, error))
    return fail (outbox);
  if (!found)
    *count = *oldest_ms = 0;
  return TRUE;
}
