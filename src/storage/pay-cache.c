/* pay-cache.c: PayCache, the Redis cache of payment records: one hiredis async connection
 * on the cache's GMainContext, reconnected with capped backoff, fed from any thread;
 * stores and GETs here, lookups built on the GETs in pay-cache-lookup.c. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"
#include "storage/pay-cache-private.h"

#include <hiredis/adapters/glib.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "core/pay-error.h"
#include "core/pay-text.h"
#include "storage/pay-payment-json.h"

/* Reconnect delays: doubled after every failed attempt, back to the first on success. */
#define PAY_CACHE_BACKOFF_INITIAL_MS 100
#define PAY_CACHE_BACKOFF_MAX_MS     5000

/* A connection not ready (connected, AUTH and SELECT answered) within timeout_ms, but at
 * least this long, is abandoned and retried. */
#define PAY_CACHE_MIN_CONNECT_TIMEOUT_MS 100

/* Commands waiting this long (2 x timeout_ms, at least this) without any reply mean a
 * stuck server: the connection is dropped so replies cannot pile up behind it. */
#define PAY_CACHE_MIN_STALL_MS 1000

/* How often the watchdog looks at the connection, clamped to these bounds. */
#define PAY_CACHE_WATCHDOG_MIN_MS 50
#define PAY_CACHE_WATCHDOG_MAX_MS 1000

/* Both keys of one record go out together: EVAL (a guarded SET of payment:tx:...), then
 * SET payment:order:.... */
#define PAY_CACHE_COMMANDS_PER_STORE 2

struct _PayCache
{
  GObject parent_instance;

  PayRedisSettings   settings;        /* deep copy */
  GMainContext      *context;

  /* Owned by the context's thread. */
  redisAsyncContext *ac;              /* NULL while disconnected */
  GSource           *source;          /* ac's RedisSource; destroyed in its cleanup hook */
  GSource           *watchdog;
  GSource           *retry;
  gboolean           running;         /* between start and stop */
  gboolean           ready;           /* connected and AUTH / SELECT answered */
  guint              setup_pending;   /* AUTH / SELECT replies still to come */
  guint              backoff_ms;
  gint64             connect_started_us;
  guint              replies_pending; /* replies still to come on ac */
  gint64             last_progress_us;
  GQueue             waiting;         /* CacheOp with a callback, oldest first */

  /* Any thread. */
  gint               connected;       /* atomic copy of ready */
  GMutex             stats_lock;
  guint64            error_count;
  gint               hits;            /* atomic; see pay_cache_count_lookup() */
  gint               misses;          /* atomic */
  gboolean           failing;         /* logged as failing, not yet as recovered */
};

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

static void cache_connect (PayCache *self);

/* ---- failure accounting ------------------------------------------------------------- */

/* Counts a failure; logs it only when the cache was healthy until now. */
static void
note_failure (PayCache *self, const gchar *reason)
{
  gboolean log;

  g_mutex_lock (&self->stats_lock);
  self->error_count++;
  log = !self->failing;
  self->failing = TRUE;
  g_mutex_unlock (&self->stats_lock);

  if (log)
    g_warning ("Redis cache at %s:%u failing: %s", self->settings.host,
               self->settings.port, reason);
}

static void
note_success (PayCache *self)
{
  gboolean log;

  g_mutex_lock (&self->stats_lock);
  log = self->failing;
  self->failing = FALSE;
  g_mutex_unlock (&self->stats_lock);

  if (log)
    g_message ("Redis cache at %s:%u working again", self->settings.host, self->settings.port);
}

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
    note_success (op->self);
  else
    note_failure (op->self, reason);

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
static void
expire_waiting (PayCache *self, gboolean all, const gchar *reason)
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

/* ---- the connection ----------------------------------------------------------------- */

static void
stop_watchdog (PayCache *self)
{
  if (self->watchdog != NULL)
    {
      g_source_destroy (self->watchdog);
      g_clear_pointer (&self->watchdog, g_source_unref);
    }
}

static gboolean
retry_cb (gpointer data)
{
  PayCache *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  if (self->running && self->ac == NULL)
    cache_connect (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (PayCache *self)
{
  if (!self->running || self->retry != NULL)
    return;

  self->retry = g_timeout_source_new (self->backoff_ms);
  g_source_set_callback (self->retry, retry_cb, self, NULL);
  g_source_attach (self->retry, self->context);
  g_debug ("reconnecting to Redis in %u ms", self->backoff_ms);
  self->backoff_ms = MIN (self->backoff_ms * 2, PAY_CACHE_BACKOFF_MAX_MS);
}

/* Forgets the connection (already detached from self->ac, or being freed by hiredis),
 * counts @reason (NULL: an orderly stop) and schedules the next attempt. */
static void
connection_down (PayCache *self, const gchar *reason)
{
  self->ready = FALSE;
  g_atomic_int_set (&self->connected, FALSE);
  self->setup_pending = 0;
  self->replies_pending = 0;
  stop_watchdog (self);

  if (reason != NULL && self->running)
    note_failure (self, reason);
  schedule_retry (self);
}

/* Drops the current connection on our initiative. Every command still in hiredis is
 * answered with a NULL reply, at once or, inside a hiredis callback, right after it. */
static void
drop_connection (PayCache *self, const gchar *reason)
{
  redisAsyncContext *ac = g_steal_pointer (&self->ac);

  connection_down (self, reason);
  if (ac != NULL)
    redisAsyncFree (ac);
}

static void
set_ready (PayCache *self)
{
  self->ready = TRUE;
  self->backoff_ms = PAY_CACHE_BACKOFF_INITIAL_MS;
  self->last_progress_us = g_get_monotonic_time ();
  g_atomic_int_set (&self->connected, TRUE);
  g_info ("connected to Redis at %s:%u", self->settings.host, self->settings.port);
  note_success (self);
}

/* Replace the adapter's event hooks: those call g_main_context_wakeup() on every change,
 * an eventfd write per command and reply even on the context's own thread, where the
 * next poll picks the new events up anyway. */
static void
source_set_events (gpointer data, gushort add, gushort remove)
{
  RedisSource *redis = data;
  GMainContext *context = g_source_get_context (data);

  redis->poll_fd.events = (redis->poll_fd.events | add) & ~remove;
  if (context != NULL && !g_main_context_is_owner (context))
    g_main_context_wakeup (context);
}

static void
source_add_read (gpointer data)
{
  source_set_events (data, G_IO_IN, 0);
}

static void
source_del_read (gpointer data)
{
  source_set_events (data, 0, G_IO_IN);
}

static void
source_add_write (gpointer data)
{
  source_set_events (data, G_IO_OUT, 0);
}

static void
source_del_write (gpointer data)
{
  source_set_events (data, 0, G_IO_OUT);
}

/* Replaces the adapter's cleanup: hiredis 0.14's glib adapter removes its poll fd but
 * leaves the GSource attached, dispatching for a freed context. */
static void
source_cleanup (gpointer data)
{
  RedisSource *redis = data;
  PayCache *self = redis->ac->data;
  GSource *source = data;

  redis_source_cleanup (data);
  /* The dispatch that freed the context must not go on to read from it. */
  redis->poll_fd.revents = 0;
  g_source_destroy (source);
  if (self->source == source)
    g_clear_pointer (&self->source, g_source_unref);
}

static void
connect_cb (const redisAsyncContext *ac, int status)
{
  PayCache *self = ac->data;

  if (ac != self->ac)
    return;

  if (status != REDIS_OK)
    {
      g_autofree gchar *reason = g_strdup_printf ("cannot connect: %s", ac->errstr);

      /* hiredis frees ac when this returns. */
      self->ac = NULL;
      connection_down (self, reason);
      return;
    }
  if (self->setup_pending == 0)
    set_ready (self);
}

static void
disconnect_cb (const redisAsyncContext *ac, int status)
{
  PayCache *self = ac->data;
  g_autofree gchar *reason = NULL;

  if (ac != self->ac)
    return;   /* we dropped it ourselves */

  reason = g_strdup_printf ("connection lost: %s",
                            status == REDIS_OK || ac->errstr[0] == '\0' ? "closed" : ac->errstr);
  self->ac = NULL;
  connection_down (self, reason);
}

static void
setup_reply_cb (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  PayCache *self = privdata;
  redisReply *reply = reply_data;

  /* NULL: the connection is going away, which its own callback reports. */
  if (reply == NULL || ac != self->ac)
    return;

  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_autofree gchar *reason = g_strdup_printf ("AUTH/SELECT refused: %s", reply->str);

      drop_connection (self, reason);
      return;
    }
  if (--self->setup_pending == 0 && (ac->c.flags & REDIS_CONNECTED))
    set_ready (self);
}

static gboolean
watchdog_cb (gpointer data)
{
  PayCache *self = data;
  gint64 now = g_get_monotonic_time ();
  guint connect_ms = MAX (self->settings.timeout_ms, PAY_CACHE_MIN_CONNECT_TIMEOUT_MS);
  guint stall_ms = MAX (2 * self->settings.timeout_ms, PAY_CACHE_MIN_STALL_MS);

  expire_waiting (self, FALSE, "no reply in time");
  if (self->ac == NULL)
    return G_SOURCE_CONTINUE;

  if (!self->ready && now - self->connect_started_us > connect_ms * G_TIME_SPAN_MILLISECOND)
    drop_connection (self, "connect timeout");
  else if (self->ready && self->replies_pending > 0 &&
           now - self->last_progress_us > stall_ms * G_TIME_SPAN_MILLISECOND)
    drop_connection (self, "no reply from Redis");
  return G_SOURCE_CONTINUE;
}

static void
cache_connect (PayCache *self)
{
  redisAsyncContext *ac;
  guint period_ms;

  g_assert (self->ac == NULL);

  ac = redisAsyncConnect (self->settings.host, self->settings.port);
  if (ac == NULL || ac->err)
    {
      g_autofree gchar *reason = g_strdup_printf ("cannot connect: %s",
                                                  ac != NULL ? ac->errstr : "out of memory");

      if (ac != NULL)
        redisAsyncFree (ac);
      connection_down (self, reason);
      return;
    }

  ac->data = self;
  self->ac = ac;
  self->source = redis_source_new (ac);
  /* No fd removal and re-adding (each an eventfd write) around every dispatch. */
  g_source_set_can_recurse (self->source, TRUE);
  ac->ev.addRead = source_add_read;
  ac->ev.delRead = source_del_read;
  ac->ev.addWrite = source_add_write;
  ac->ev.delWrite = source_del_write;
  ac->ev.cleanup = source_cleanup;
  g_source_attach (self->source, self->context);
  /* After the source is attached: setting the connect callback arms the write event. */
  redisAsyncSetConnectCallback (ac, connect_cb);
  redisAsyncSetDisconnectCallback (ac, disconnect_cb);

  self->connect_started_us = g_get_monotonic_time ();
  self->setup_pending = 0;
  if (self->settings.password != NULL && self->settings.password[0] != '\0' &&
      redisAsyncCommand (ac, setup_reply_cb, self, "AUTH %s", self->settings.password) == REDIS_OK)
    self->setup_pending++;
  if (self->settings.db != 0 &&
      redisAsyncCommand (ac, setup_reply_cb, self, "SELECT %u", self->settings.db) == REDIS_OK)
    self->setup_pending++;

  period_ms = CLAMP (self->settings.timeout_ms / 2, PAY_CACHE_WATCHDOG_MIN_MS, PAY_CACHE_WATCHDOG_MAX_MS);
  stop_watchdog (self);
  self->watchdog = g_timeout_source_new (period_ms);
  g_source_set_callback (self->watchdog, watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, self->context);
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
    cache_connect (self);
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
  drop_connection (self, NULL);
  expire_waiting (self, TRUE, "cache stopped");
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
