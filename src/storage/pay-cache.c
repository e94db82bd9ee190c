/* pay-cache.c: PayCache, the Redis cache of payment records: one hiredis async connection
 * on the cache's GMainContext, fed from any thread. Stores and GETs are here, the
 * connection (hiredis's loop hooks, reconnects with capped backoff, the watchdog) in
 * pay-cache-connection.c, lookups built on the GETs in pay-cache-lookup.c. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"
#include "storage/pay-cache-private.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "core/pay-error.h"
#include "core/pay-text.h"
#include "storage/pay-payment-json.h"

/* Both keys of one record go out together: EVAL (a guarded SET of payment:tx:...), then
 * SET payment:order:.... */
#define PAY_CACHE_COMMANDS_PER_STORE 2

G_DEFINE_FINAL_TYPE (PayCache, pay_cache, G_TYPE_OBJECT)

typedef enum {
  CACHE_OP_STORE,      /* both keys of a record */
  CACHE_OP_GET,        /* one key */
} CacheOpKind;

/* One store or GET: an g_atomic_rc_box with one reference for the hand-over to the
 * context and one per command queued in hiredis. An operation with a callback is also in
 * self->waiting until it completes, where the watchdog times it out. */
typedef struct {
  PayCache          *self;       /* borrowed; valid while hiredis holds the op (self owns ac) */
  PayCache          *hold;       /* strong ref until the op has been handed to hiredis */
  CacheOpKind        kind;
  PayPayment         payment;    /* CACHE_OP_STORE */
  gboolean           created;    /* CACHE_OP_STORE: a record just created, never cached */
  gchar             *key;        /* CACHE_OP_GET */
  PayCacheGetFunc    got;        /* CACHE_OP_GET */
  PayCacheStoreFunc  stored;     /* CACHE_OP_STORE; NULL for fire-and-forget */
  gpointer           user_data;
  gint64             deadline_us;
  GList              link;       /* in self->waiting while link.data != NULL */
  guint              replies_pending;
  gboolean           failed;
  gboolean           completed;
} CacheOp;

/* Sets KEYS[1] to ARGV[1] (TTL ARGV[3] seconds, 0 = none) unless it holds a record with
 * more refunded than ARGV[2] cents. Refunded totals only grow, so a record read from
 * MySQL before a refund, and stored after the refund updated the cache, cannot replace
 * the newer record. A value that is not such a record is replaced. */
static const gchar store_record_script[] =
  "local cur = redis.call('GET', KEYS[1]) "
  "if cur then "
  "  local ok, rec = pcall(cjson.decode, cur) "
  "  if ok and type(rec) == 'table' and type(rec.refunded_cents) == 'number' "
  "     and rec.refunded_cents > tonumber(ARGV[2]) then return 0 end "
  "end "
  "if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) "
  "else redis.call('SET', KEYS[1], ARGV[1]) end "
  "return 1";

/* ---- operations ----------------------------------------------------------------------- */

static void op_release (gpointer op);

/* Finishes @op once: calls its callback (a GET's value, if any, in @value / @len) and
 * counts the outcome. Later replies to a completed op (timed out) are ignored. */
static void
op_complete (CacheOp *op, gboolean ok, const gchar *reason, const gchar *value, gsize len)
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
    op->got (ok, ok ? value : NULL, ok ? len : 0, op->user_data);
  else if (op->stored != NULL)
    op->stored (ok, op->user_data);
  /* The waiting queue held a reference; the caller holds another. */
  if (op->got != NULL || op->stored != NULL)
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
      op_complete (op, FALSE, reason, NULL, 0);
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
      op_complete (op, FALSE, reason, NULL, 0);
    }

  if (--op->replies_pending == 0)
    op_complete (op, !op->failed, "connection lost", NULL, 0);
  op_release (op);
}

/* Queues SET @key @value [NX] [EX ttl] (TTL 0 means no expiry: Redis rejects EX 0).
 * Built from an argument vector: hiredis's format-string parser showed in the profile. */
static int
queue_set (PayCache *self, CacheOp *op, const gchar *key, const gchar *value, gsize value_len,
           gboolean only_if_new)
{
  const char *argv[6];
  size_t lens[6];
  int argc = 0;
  gchar ttl[24];

#define ARG(s, n) G_STMT_START { argv[argc] = (s); lens[argc] = (n); argc++; } G_STMT_END
  ARG ("SET", 3);
  ARG (key, strlen (key));
  ARG (value, value_len);
  if (only_if_new)
    ARG ("NX", 2);
  if (self->settings.ttl_seconds > 0)
    {
      PayText text = pay_text_init (ttl, sizeof ttl);

      pay_text_put_uint (&text, self->settings.ttl_seconds, 1);
      ARG ("EX", 2);
      ARG (ttl, strlen (ttl));
    }
#undef ARG
  return redisAsyncCommandArgv (self->ac, store_reply_cb, op, argc, argv, lens);
}

/* Runs on the context: queues both SETs, pipelined. */
static gboolean
store_dispatch (CacheOp *op)
{
  PayCache *self = op->self;
  g_autofree gchar *json = NULL;
  g_autofree gchar *tx_key = NULL;
  g_autofree gchar *order_key = NULL;
  gsize json_len = 0;
  guint queued = 0;
  int rc;

  json = pay_payment_json_encode (&op->payment, &json_len);
  tx_key = g_strconcat (PAY_CACHE_TX_PREFIX, op->payment.transaction_id, NULL);
  order_key = g_strdup_printf (PAY_CACHE_ORDER_PREFIX "%" G_GINT64_FORMAT, op->payment.order_id);

  for (guint i = 0; i < PAY_CACHE_COMMANDS_PER_STORE; i++)
    {
      const gchar *key = i == 0 ? tx_key : order_key;
      const gchar *value = i == 0 ? json : op->payment.transaction_id;
      gsize value_len = i == 0 ? json_len : strlen (op->payment.transaction_id);

      g_atomic_rc_box_acquire (op);
      /* TTL 0 means no expiry: Redis rejects EX 0. */
      /* A record just created has no older version to guard against, but the charge
       * is answered before this SET reaches Redis: whatever another instance stored
       * under the new key meanwhile (a query's read, a refund) is at least as new. */
      if (i == 0 && !op->created)
        rc = redisAsyncCommand (self->ac, store_reply_cb, op, "EVAL %s 1 %s %b %lld %u",
                                store_record_script, key, value, value_len,
                                (long long) op->payment.refunded_cents,
                                self->settings.ttl_seconds);
      else
        rc = queue_set (self, op, key, value, value_len, i == 0);
      if (rc == REDIS_OK)
        queued++;
      else
        {
          op->failed = TRUE;
          op_release (op);
        }
    }

  if (queued == 0)
    {
      op_complete (op, FALSE, "command not queued", NULL, 0);
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

  note_reply (op->self, ac, reply);
  if (reply == NULL)
    op_complete (op, FALSE, "connection lost", NULL, 0);
  else if (reply->type == REDIS_REPLY_NIL)
    op_complete (op, TRUE, NULL, NULL, 0);
  else if (reply->type == REDIS_REPLY_STRING)
    op_complete (op, TRUE, NULL, reply->str, reply->len);
  else
    {
      g_autofree gchar *reason = g_strdup_printf ("GET refused: %s",
                                                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                                   : "not a string");

      op_complete (op, FALSE, reason, NULL, 0);
    }
  op_release (op);
}

/* Runs on the context: queues one GET. */
static gboolean
get_dispatch (CacheOp *op)
{
  PayCache *self = op->self;
  const char *argv[] = { "GET", op->key };
  const size_t lens[] = { 3, strlen (op->key) };

  g_atomic_rc_box_acquire (op);
  if (redisAsyncCommandArgv (self->ac, get_reply_cb, op, 2, argv, lens) != REDIS_OK)
    {
      op_complete (op, FALSE, "command not queued", NULL, 0);
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

  if (op->got != NULL || op->stored != NULL)
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
      op_complete (op, FALSE, "not connected", NULL, 0);
      return G_SOURCE_REMOVE;
    }
  return op->kind == CACHE_OP_GET ? get_dispatch (op) : store_dispatch (op);
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
