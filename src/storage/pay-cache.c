/* pay-cache.c: PayCache, the Redis cache of payment records: one hiredis async connection
 * on the cache's GMainContext, fed from any thread. Stores and reads are here, the
 * connection (hiredis's loop hooks, reconnects with capped backoff, the watchdog) in
 * pay-cache-connection.c, lookups built on the reads in pay-cache-lookup.c. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"
#include "storage/pay-cache-private.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "core/pay-error.h"
#include "core/pay-text.h"
#include "storage/pay-cache-record.h"

/* Both keys of one record go out together: EVAL (the guarded write of the HASH
 * payment:tx:...), then SET payment:order:.... */
#define PAY_CACHE_COMMANDS_PER_STORE 2

#include "domain/pay-payment-cache.h"
static void pay_cache_payment_cache_init (PayPaymentCacheInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (PayCache, pay_cache, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAY_TYPE_PAYMENT_CACHE,
                                                      pay_cache_payment_cache_init))

typedef enum {
  CACHE_OP_STORE,      /* both keys of a record */
  CACHE_OP_GET,        /* one string key */
  CACHE_OP_RECORD,     /* the fields of one record's HASH */
} CacheOpKind;

/* One store or read: an g_atomic_rc_box with one reference for the hand-over to the
 * context and one per command queued in hiredis. An operation with a callback is also in
 * self->waiting until it completes, where the watchdog times it out. */
typedef struct {
  PayCache          *self;       /* borrowed; valid while hiredis holds the op (self owns ac) */
  PayCache          *hold;       /* strong ref until the op has been handed to hiredis */
  CacheOpKind        kind;
  PayPayment         payment;    /* CACHE_OP_STORE */
  gboolean           created;    /* CACHE_OP_STORE: a record just created, never cached */
  gchar             *key;        /* CACHE_OP_GET, CACHE_OP_RECORD */
  PayCacheGetFunc    got;        /* CACHE_OP_GET */
  PayCacheRecordFunc got_record; /* CACHE_OP_RECORD */
  PayCacheStoreFunc  stored;     /* CACHE_OP_STORE; NULL for fire-and-forget */
  gpointer           user_data;
  gint64             deadline_us;
  GList              link;       /* in self->waiting while link.data != NULL */
  guint              replies_pending;
  gboolean           failed;
  gboolean           completed;
} CacheOp;

/* Writes the record HASH KEYS[1]: its fields and values are ARGV[3], ARGV[4], ...; TTL
 * ARGV[1] seconds (0 = none). ARGV[2] is the guard:
 * - "new" (a record just created): written only if KEYS[1] does not exist;
 * - a refunded total in cents: not written over a cached record with more refunded.
 *   Refunded totals only grow, so a record read from MySQL before a refund, and stored
 *   after the refund updated the cache, cannot replace the newer record.
 * Whatever else is under KEYS[1] (not a record, or an older one) is replaced whole, so the
 * HASH holds exactly the fields written. Returns 1 when written, 0 when kept. */
const gchar pay_cache_store_record_script[] =
  "local key, ttl, guard = KEYS[1], tonumber(ARGV[1]), ARGV[2] "
  "local kind = redis.call('TYPE', key).ok "
  "if kind ~= 'none' then "
  "  if guard == 'new' then return 0 end "
  "  if kind == 'hash' then "
  "    local cur = tonumber(redis.call('HGET', key, 'refunded_cents')) "
  "    if cur and cur > tonumber(guard) then return 0 end "
  "  end "
  "  redis.call('DEL', key) "
  "end "
  "redis.call('HSET', key, unpack(ARGV, 3)) "
  "if ttl > 0 then redis.call('EXPIRE', key, ttl) end "
  "return 1";

/* ---- operations ----------------------------------------------------------------------- */

static void op_release (gpointer op);

static gboolean
op_has_callback (const CacheOp *op)
{
  return op->got != NULL || op->got_record != NULL || op->stored != NULL;
}

/* Hands a record read's fields (@reply: HMGET's array, NULL when there is no record) to
 * its callback. */
static void
op_deliver_record (CacheOp *op, gboolean ok, const redisReply *reply)
{
  const gchar *values[PAY_CACHE_RECORD_N_FIELDS];
  gsize lens[PAY_CACHE_RECORD_N_FIELDS];
  gboolean any = FALSE;

  if (!ok || reply == NULL)
    {
      op->got_record (ok, NULL, NULL, op->user_data);
      return;
    }
  for (gsize i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    {
      const redisReply *element = reply->element[i];

      values[i] = element->type == REDIS_REPLY_STRING ? element->str : NULL;
      lens[i] = values[i] != NULL ? element->len : 0;
      any = any || values[i] != NULL;
    }
  /* HMGET answers a missing key with no field at all: no record. */
  op->got_record (TRUE, any ? values : NULL, any ? lens : NULL, op->user_data);
}

/* Finishes @op once: calls its callback (a GET's or HMGET's answer, if any, in @reply) and
 * counts the outcome. Later replies to a completed op (timed out) are ignored. */
static void
op_complete (CacheOp *op, gboolean ok, const gchar *reason, const redisReply *reply)
{
  if (op->completed)
    return;
  op->completed = TRUE;

  if (op->link.data != NULL)
    {
      g_queue_unlink (&op->self->waiting, &op->link);
      op->link.data = NULL;
    }
  if (ok)
    pay_cache_note_success (op->self);
  else
    pay_cache_note_failure (op->self, reason);

  if (op->got != NULL)
    op->got (ok, ok && reply != NULL ? reply->str : NULL, ok && reply != NULL ? reply->len : 0,
             op->user_data);
  else if (op->got_record != NULL)
    op_deliver_record (op, ok, reply);
  else if (op->stored != NULL)
    op->stored (ok, op->user_data);
  /* The waiting queue held a reference; the caller holds another. */
  if (op_has_callback (op))
    op_release (op);
}

static void
op_clear (gpointer data)
{
  CacheOp *op = data;

  g_clear_object (&op->hold);
  g_free (op->key);
}

static void
op_release (gpointer op)
{
  g_atomic_rc_box_release_full (op, op_clear);
}

/* The hand-over to the context is done: hiredis now holds what it needs, and self is kept
 * alive by whoever owns it (its dispose frees ac, which answers every command). */
static void
op_handed_over (gpointer data)
{
  CacheOp *op = data;

  g_clear_object (&op->hold);
  op_release (op);
}

/* Completes, as failed, every waiting operation whose deadline is past (all of them when
 * @all): the oldest are first. */
void
pay_cache_expire_waiting (PayCache *self, gboolean all, const gchar *reason)
{
  gint64 now = g_get_monotonic_time ();
  GList *head;

  while ((head = g_queue_peek_head_link (&self->waiting)) != NULL)
    {
      CacheOp *op = head->data;

      if (!all && op->deadline_us > now)
        break;
      g_atomic_rc_box_acquire (op);
      op_complete (op, FALSE, reason, NULL);
      op_release (op);
    }
}

/* ---- storing ------------------------------------------------------------------------ */

/* The watchdog's books: @n more replies to wait for on the current connection. */
static void
note_queued (PayCache *self, guint n)
{
  if (self->replies_pending == 0)
    self->last_progress_us = g_get_monotonic_time ();
  self->replies_pending += n;
}

/* The watchdog's books: a reply arrived (NULL: the connection is going away). */
static void
note_reply (PayCache *self, const redisAsyncContext *ac, const redisReply *reply)
{
  if (reply != NULL && ac == self->ac)
    {
      self->replies_pending--;
      self->last_progress_us = g_get_monotonic_time ();
    }
}

static void
store_reply_cb (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  CacheOp *op = privdata;
  redisReply *reply = reply_data;

  note_reply (op->self, ac, reply);
  if (reply == NULL)
    op->failed = TRUE;
  else if (reply->type == REDIS_REPLY_ERROR)
    {
      g_autofree gchar *reason = g_strdup_printf ("store refused: %s", reply->str);

      op->failed = TRUE;
      op_complete (op, FALSE, reason, NULL);
      /* The server lost the script (SCRIPT FLUSH, a restart behind a proxy): a new
       * connection loads it again. */
      if (g_str_has_prefix (reply->str, "NOSCRIPT") && ac == op->self->ac)
        pay_cache_drop_connection (op->self, reason);
    }

  if (--op->replies_pending == 0)
    op_complete (op, !op->failed, "connection lost", NULL);
  op_release (op);
}

/* @value in decimal into @buf, as one command argument. */
static const gchar *
decimal (gchar *buf, gsize size, guint64 value)
{
  PayText text = pay_text_init (buf, size);

  pay_text_put_uint (&text, value, 1);
  return buf;
}

/* Queues SET payment:order:<id> <transaction id> [EX ttl] (TTL 0 means no expiry: Redis
 * rejects EX 0). Built from an argument vector: hiredis's format-string parser showed in
 * the profile. */
static int
queue_order_key (PayCache *self, CacheOp *op)
{
  const char *argv[5];
  size_t lens[5];
  int argc = 0;
  gchar key[sizeof PAY_CACHE_ORDER_PREFIX + 24];
  gchar ttl[24];
  PayText text = pay_text_init (key, sizeof key);

  pay_text_put (&text, PAY_CACHE_ORDER_PREFIX);
  pay_text_put_int (&text, op->payment.order_id);
#define ARG(s) G_STMT_START { argv[argc] = (s); lens[argc] = strlen (argv[argc]); argc++; } G_STMT_END
  ARG ("SET");
  ARG (key);
  ARG (op->payment.transaction_id);
  if (self->settings.ttl_seconds > 0)
    {
      ARG ("EX");
      ARG (decimal (ttl, sizeof ttl, self->settings.ttl_seconds));
    }
#undef ARG
  return redisAsyncCommandArgv (self->ac, store_reply_cb, op, argc, argv, lens);
}

/* Queues the script writing the record's HASH: EVALSHA sha 1 key ttl guard field value
 * .... A record just created has no older version to guard against, but the charge is
 * answered before this reaches Redis: whatever another instance stored under the new key
 * meanwhile (a query's read, a refund) is at least as new, so it is written only if the
 * key does not exist. */
static int
queue_record (PayCache *self, CacheOp *op)
{
  enum { HEAD = 6, ARGC = HEAD + 2 * PAY_CACHE_RECORD_N_FIELDS };
  const char *argv[ARGC];
  size_t lens[ARGC];
  PayCacheRecord record;
  gchar key[sizeof PAY_CACHE_TX_PREFIX + PAY_UUID_STRLEN];
  gchar ttl[24];
  gchar refunded[24];
  PayText text = pay_text_init (key, sizeof key);

  pay_text_put (&text, PAY_CACHE_TX_PREFIX);
  pay_text_put (&text, op->payment.transaction_id);
  argv[0] = "EVALSHA";
  argv[1] = self->store_script_sha;
  argv[2] = "1";
  argv[3] = key;
  argv[4] = decimal (ttl, sizeof ttl, self->settings.ttl_seconds);
  argv[5] = op->created ? "new"
                        : decimal (refunded, sizeof refunded, (guint64) MAX (op->payment.refunded_cents, 0));
  for (guint i = 0; i < HEAD; i++)
    lens[i] = strlen (argv[i]);
  pay_cache_record_encode (&op->payment, &record);
  for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    {
      argv[HEAD + 2 * i] = pay_cache_record_fields[i];
      lens[HEAD + 2 * i] = strlen (pay_cache_record_fields[i]);
      argv[HEAD + 2 * i + 1] = record.values[i];
      lens[HEAD + 2 * i + 1] = record.lens[i];
    }
  return redisAsyncCommandArgv (self->ac, store_reply_cb, op, ARGC, argv, lens);
}

/* Runs on the context: queues both keys' writes, pipelined. */
static gboolean
store_dispatch (CacheOp *op)
{
  PayCache *self = op->self;
  guint queued = 0;

  for (guint i = 0; i < PAY_CACHE_COMMANDS_PER_STORE; i++)
    {
      g_atomic_rc_box_acquire (op);
      if ((i == 0 ? queue_record (self, op) : queue_order_key (self, op)) == REDIS_OK)
        queued++;
      else
        {
          op->failed = TRUE;
          op_release (op);
        }
    }

  if (queued == 0)
    {
      op_complete (op, FALSE, "command not queued", NULL);
      return G_SOURCE_REMOVE;
    }
  op->replies_pending = queued;
  note_queued (self, queued);
  return G_SOURCE_REMOVE;
}

static void
get_reply_cb (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  CacheOp *op = privdata;
  redisReply *reply = reply_data;
  const gchar *refused = NULL;

  note_reply (op->self, ac, reply);
  if (reply == NULL)
    op_complete (op, FALSE, "connection lost", NULL);
  else if (reply->type == REDIS_REPLY_NIL)
    op_complete (op, TRUE, NULL, NULL);
  else if (op->kind == CACHE_OP_GET && reply->type == REDIS_REPLY_STRING)
    op_complete (op, TRUE, NULL, reply);
  else if (op->kind == CACHE_OP_RECORD && reply->type == REDIS_REPLY_ARRAY &&
           reply->elements == PAY_CACHE_RECORD_N_FIELDS)
    op_complete (op, TRUE, NULL, reply);
  /* Something else than a record's HASH under the key: no record, a miss. */
  else if (op->kind == CACHE_OP_RECORD && reply->type == REDIS_REPLY_ERROR &&
           g_str_has_prefix (reply->str, "WRONGTYPE"))
    op_complete (op, TRUE, NULL, NULL);
  else
    refused = reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply type";

  if (refused != NULL)
    {
      g_autofree gchar *reason = g_strdup_printf ("%s refused: %s",
                                                  op->kind == CACHE_OP_GET ? "GET" : "HMGET",
                                                  refused);

      op_complete (op, FALSE, reason, NULL);
    }
  op_release (op);
}

/* Runs on the context: queues one GET, or one HMGET of a record's fields. */
static gboolean
get_dispatch (CacheOp *op)
{
  PayCache *self = op->self;
  const char *argv[2 + PAY_CACHE_RECORD_N_FIELDS] = { "GET", op->key };
  size_t lens[2 + PAY_CACHE_RECORD_N_FIELDS] = { 3, strlen (op->key) };
  int argc = 2;

  if (op->kind == CACHE_OP_RECORD)
    {
      argv[0] = "HMGET";
      lens[0] = 5;
      for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++, argc++)
        {
          argv[argc] = pay_cache_record_fields[i];
          lens[argc] = strlen (pay_cache_record_fields[i]);
        }
    }
  g_atomic_rc_box_acquire (op);
  if (redisAsyncCommandArgv (self->ac, get_reply_cb, op, argc, argv, lens) != REDIS_OK)
    {
      op_complete (op, FALSE, "command not queued", NULL);
      op_release (op);
      return G_SOURCE_REMOVE;
    }
  note_queued (self, 1);
  return G_SOURCE_REMOVE;
}

static gboolean
op_dispatch (gpointer data)
{
  CacheOp *op = data;
  PayCache *self = op->self;

  if (op_has_callback (op))
    {
      /* Until it completes, the waiting queue holds a reference and the watchdog its
       * deadline. */
      op->deadline_us = g_get_monotonic_time ()
                        + (gint64) self->settings.timeout_ms * G_TIME_SPAN_MILLISECOND;
      op->link.data = g_atomic_rc_box_acquire (op);
      g_queue_push_tail_link (&self->waiting, &op->link);
    }
  if (self->ac == NULL || !self->ready)
    {
      op_complete (op, FALSE, "not connected", NULL);
      return G_SOURCE_REMOVE;
    }
  return op->kind == CACHE_OP_STORE ? store_dispatch (op) : get_dispatch (op);
}

/* Hands @op (taken) to the context, where it runs at once when the caller is the
 * context's owner. */
static void
op_submit (PayCache *self, CacheOp *op)
{
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, op_dispatch, op,
                              op_handed_over);
}

static CacheOp *
op_new (PayCache *self, CacheOpKind kind)
{
  CacheOp *op = g_atomic_rc_box_new0 (CacheOp);

  op->self = self;
  op->hold = g_object_ref (self);
  op->kind = kind;
  return op;
}

void
pay_cache_get_async (PayCache *self, const gchar *key, PayCacheGetFunc got, gpointer user_data)
{
  CacheOp *op = op_new (self, CACHE_OP_GET);

  op->key = g_strdup (key);
  op->got = got;
  op->user_data = user_data;
  op_submit (self, op);
}

void
pay_cache_get_record_async (PayCache           *self,
                            const gchar        *key,
                            PayCacheRecordFunc  got,
                            gpointer            user_data)
{
  CacheOp *op = op_new (self, CACHE_OP_RECORD);

  op->key = g_strdup (key);
  op->got_record = got;
  op->user_data = user_data;
  op_submit (self, op);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
pay_cache_init (PayCache *self)
{
  g_mutex_init (&self->stats_lock);
  self->backoff_ms = PAY_CACHE_BACKOFF_INITIAL_MS;
}

static void
pay_cache_dispose (GObject *object)
{
  PayCache *self = PAY_CACHE (object);

  if (self->context != NULL)
    pay_cache_stop (self);

  G_OBJECT_CLASS (pay_cache_parent_class)->dispose (object);
}

static void
pay_cache_finalize (GObject *object)
{
  PayCache *self = PAY_CACHE (object);

  g_clear_pointer (&self->settings.host, g_free);
  g_clear_pointer (&self->settings.password, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->stats_lock);

  G_OBJECT_CLASS (pay_cache_parent_class)->finalize (object);
}

static void
pay_cache_class_init (PayCacheClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_cache_dispose;
  object_class->finalize = pay_cache_finalize;
}

/* ---- public API --------------------------------------------------------------------- */

PayCache *
pay_cache_new (const PayRedisSettings *settings, GMainContext *context)
{
  PayCache *self;

  g_return_val_if_fail (settings != NULL, NULL);
  g_return_val_if_fail (settings->host != NULL, NULL);

  self = g_object_new (PAY_TYPE_CACHE, NULL);
  self->settings = *settings;
  self->settings.host = g_strdup (settings->host);
  self->settings.password = g_strdup (settings->password);
  {
    g_autofree gchar *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA1,
                                                           pay_cache_store_record_script, -1);

    g_strlcpy (self->store_script_sha, sha, sizeof self->store_script_sha);
  }
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref (g_main_context_default ());
  return self;
}

void
pay_cache_start (PayCache *self)
{
  g_return_if_fail (PAY_IS_CACHE (self));

  if (self->running)
    return;
  self->running = TRUE;
  self->backoff_ms = PAY_CACHE_BACKOFF_INITIAL_MS;
  if (self->ac == NULL && self->retry == NULL)
    pay_cache_connect (self);
}

void
pay_cache_stop (PayCache *self)
{
  g_return_if_fail (PAY_IS_CACHE (self));

  self->running = FALSE;
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_clear_pointer (&self->retry, g_source_unref);
    }
  pay_cache_drop_connection (self, NULL);
  pay_cache_expire_waiting (self, TRUE, "cache stopped");
}

gboolean
pay_cache_is_connected (PayCache *self)
{
  g_return_val_if_fail (PAY_IS_CACHE (self), FALSE);

  return g_atomic_int_get (&self->connected);
}

guint64
pay_cache_get_error_count (PayCache *self)
{
  guint64 count;

  g_return_val_if_fail (PAY_IS_CACHE (self), 0);

  g_mutex_lock (&self->stats_lock);
  count = self->error_count;
  g_mutex_unlock (&self->stats_lock);
  return count;
}

void
pay_cache_count_lookup (PayCache *self, gboolean hit)
{
  g_return_if_fail (PAY_IS_CACHE (self));

  g_atomic_int_inc (hit ? &self->hits : &self->misses);
}

guint64
pay_cache_get_hit_count (PayCache *self)
{
  g_return_val_if_fail (PAY_IS_CACHE (self), 0);
  return (guint) g_atomic_int_get (&self->hits);
}

guint64
pay_cache_get_miss_count (PayCache *self)
{
  g_return_val_if_fail (PAY_IS_CACHE (self), 0);
  return (guint) g_atomic_int_get (&self->misses);
}

void
pay_cache_store (PayCache *self, const PayPayment *payment, gboolean created)
{
  pay_cache_store_async (self, payment, created, NULL, NULL);
}

void
pay_cache_store_async (PayCache          *self,
                       const PayPayment  *payment,
                       gboolean           created,
                       PayCacheStoreFunc  callback,
                       gpointer           user_data)
{
  CacheOp *op;

  g_return_if_fail (PAY_IS_CACHE (self));
  g_return_if_fail (payment != NULL);

  op = op_new (self, CACHE_OP_STORE);
  op->payment = *payment;
  op->created = created;
  op->stored = callback;
  op->user_data = user_data;
  op_submit (self, op);
}

/* ---- PayPaymentCache: thin wrappers over the public API above ----------------------- */

static void
payment_cache_looked_up (const PayPayment *payment, const GError *error, gpointer user_data)
{
  GTask *task = user_data;

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    {
      if (payment != NULL)
        *(PayPayment *) g_task_get_task_data (task) = *payment;
      g_task_return_boolean (task, payment != NULL);
    }
  g_object_unref (task);
}

static void
payment_cache_lookup_async (PayPaymentCache       *cache,
                            const PayQueryRequest *key,
                            GAsyncReadyCallback    callback,
                            gpointer               user_data)
{
  GTask *task = g_task_new (cache, NULL, callback, user_data);

  g_task_set_source_tag (task, payment_cache_lookup_async);
  g_task_set_task_data (task, g_new0 (PayPayment, 1), g_free);
  pay_cache_lookup_async (PAY_CACHE (cache), key, payment_cache_looked_up, task);
}

static gboolean
payment_cache_lookup_finish (PayPaymentCache *cache,
                             GAsyncResult    *result,
                             PayPayment      *out,
                             gboolean        *hit,
                             GError         **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (g_task_is_valid (result, cache), FALSE);

  *hit = g_task_propagate_boolean (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (*hit)
    *out = *(PayPayment *) g_task_get_task_data (G_TASK (result));
  return TRUE;
}

static void
payment_cache_stored (gboolean ok, gpointer user_data)
{
  GTask *task = user_data;

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_new_error (task, PAY_ERROR, PAY_ERROR_CACHE_WRITE, "cache write failed");
  g_object_unref (task);
}

static void
payment_cache_store_async (PayPaymentCache     *cache,
                           const PayPayment    *payment,
                           gboolean             created,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;

  if (callback == NULL)
    {
      pay_cache_store (PAY_CACHE (cache), payment, created);
      return;
    }
  task = g_task_new (cache, NULL, callback, user_data);
  g_task_set_source_tag (task, payment_cache_store_async);
  pay_cache_store_async (PAY_CACHE (cache), payment, created, payment_cache_stored, task);
}

static gboolean
payment_cache_store_finish (PayPaymentCache *cache, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, cache), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
payment_cache_count_lookup (PayPaymentCache *cache, gboolean hit)
{
  pay_cache_count_lookup (PAY_CACHE (cache), hit);
}

static gboolean
payment_cache_is_available (PayPaymentCache *cache)
{
  return pay_cache_is_connected (PAY_CACHE (cache));
}

static void
pay_cache_payment_cache_init (PayPaymentCacheInterface *iface)
{
  iface->lookup_async = payment_cache_lookup_async;
  iface->lookup_finish = payment_cache_lookup_finish;
  iface->store_async = payment_cache_store_async;
  iface->store_finish = payment_cache_store_finish;
  iface->count_lookup = payment_cache_count_lookup;
  iface->is_available = payment_cache_is_available;
}
