/* pay-cache.c: PayCache, the Redis cache of payment records, built on one PayRedisClient
 * (the connection, its deadlines and failure books): the record's keys, the Lua script
 * that guards its writes (run by SHA1, EVALSHA, and the connection renewed on NOSCRIPT),
 * stores and lookups. pay-cache-record maps a payment to the record's fields. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"

#include <string.h>

#include "core/pay-error.h"
#include "core/pay-text.h"
#include "domain/pay-payment-cache.h"
#include "storage/pay-cache-record.h"
#include "storage/pay-redis-client.h"

/* Both keys of one record go out together: EVALSHA (the guarded write of the HASH
 * payment:tx:...), then SET payment:order:.... */
#define PAY_CACHE_COMMANDS_PER_STORE 2

struct _PayCache
{
  GObject parent_instance;

  PayRedisClient *client;
  GMainContext   *context;
  guint           ttl_seconds;
  const gchar    *store_script_sha;  /* the client's, for EVALSHA */
  /* HMGET payment:tx:<id> and the record's fields in Redis's protocol, formatted once;
   * each lookup writes its transaction id at hmget_tx (ids are all PAY_UUID_STRLEN
   * bytes). Context thread only. */
  gchar          *hmget;
  gsize           hmget_len;
  gsize           hmget_tx;

  /* Any thread. */
  gint            hits;              /* atomic; see pay_cache_count_lookup() */
  gint            misses;            /* atomic */
};

static void pay_cache_payment_cache_init (PayPaymentCacheInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (PayCache, pay_cache, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAY_TYPE_PAYMENT_CACHE,
                                                      pay_cache_payment_cache_init))

/* Writes the record HASH KEYS[1]: its fields and values are ARGV[3], ARGV[4], ...; TTL
 * ARGV[1] seconds (0 = none). ARGV[2] is the guard:
 * - "new" (a record just created): written only if KEYS[1] does not exist;
 * - a refunded total in cents: not written over a cached record with more refunded.
 *   Refunded totals only grow, so a record read from MySQL before a refund, and stored
 *   after the refund updated the cache, cannot replace the newer record.
 * Whatever else is under KEYS[1] (not a record, or an older one) is replaced whole, so the
 * HASH holds exactly the fields written. Returns 1 when written, 0 when kept. Each
 * connection loads it first (the client's SCRIPT LOAD), and writes name it by its SHA1:
 * the script's text does not travel, nor is it hashed, per write. */
static const gchar store_record_script[] =
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

/* Counts one operation's outcome in the client's books: @error (the client's failure)
 * or @refused (a reply the operation cannot use) makes it a failure. */
static gboolean
note_outcome (PayCache *self, const GError *error, const gchar *refused)
{
  if (error == NULL && refused == NULL)
    {
      pay_redis_client_note_success (self->client);
      return TRUE;
    }
  pay_redis_client_note_failure (self->client, error != NULL ? error->message : refused);
  return FALSE;
}

/* ---- storing ------------------------------------------------------------------------ */

/* One store: an g_atomic_rc_box with one reference for the hand-over to the context and
 * one per command sent. */
typedef struct {
  PayCache          *self;       /* borrowed once handed over: self's dispose stops the
                                  * client, which answers every command */
  PayCache          *hold;       /* strong ref until the store has been handed over */
  PayPayment         payment;
  gboolean           created;    /* a record just created, never cached */
  PayCacheStoreFunc  stored;     /* NULL for fire-and-forget */
  gpointer           user_data;
  guint              replies_pending;
  gboolean           completed;
} StoreOp;

static void
store_clear (gpointer data)
{
  StoreOp *op = data;

  g_clear_object (&op->hold);
}

static void
store_release (gpointer op)
{
  g_atomic_rc_box_release_full (op, store_clear);
}

/* Finishes @op once: counts the outcome and calls its callback. */
static void
store_complete (StoreOp *op, const GError *error, const gchar *refused)
{
  gboolean ok;

  if (op->completed)
    return;
  op->completed = TRUE;
  ok = note_outcome (op->self, error, refused);
  if (op->stored != NULL)
    op->stored (ok, op->user_data);
}

static void
store_replied (PayRedisClient *client, const redisReply *reply, const GError *error,
               gpointer user_data)
{
  StoreOp *op = user_data;

  op->replies_pending--;
  if (error != NULL)
    store_complete (op, error, NULL);
  else if (reply->type == REDIS_REPLY_ERROR)
    {
      g_autofree gchar *reason = g_strdup_printf ("store refused: %s", reply->str);

      store_complete (op, NULL, reason);
      /* The server lost the script (SCRIPT FLUSH, a restart behind a proxy): a new
       * connection loads it again. */
      if (g_str_has_prefix (reply->str, "NOSCRIPT"))
        pay_redis_client_reconnect (client, reason);
    }
  else if (op->replies_pending == 0)
    store_complete (op, NULL, NULL);
  store_release (op);
}

/* @value in decimal into @buf, as one command argument. */
static const gchar *
decimal (gchar *buf, gsize size, guint64 value)
{
  PayText text = pay_text_init (buf, size);

  pay_text_put_uint (&text, value, 1);
  return buf;
}

/* Sends SET payment:order:<id> <transaction id> [EX ttl] (TTL 0 means no expiry: Redis
 * rejects EX 0). Built from an argument vector: hiredis's format-string parser showed in
 * the profile. */
static void
send_order_key (PayCache *self, StoreOp *op)
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
  if (self->ttl_seconds > 0)
    {
      ARG ("EX");
      ARG (decimal (ttl, sizeof ttl, self->ttl_seconds));
    }
#undef ARG
  pay_redis_client_command (self->client, argc, argv, lens, store_replied, op);
}

/* Sends the script writing the record's HASH: EVALSHA sha 1 key ttl guard field value
 * .... A record just created has no older version to guard against, but the charge is
 * answered before this reaches Redis: whatever another instance stored under the new key
 * meanwhile (a query's read, a refund) is at least as new, so it is written only if the
 * key does not exist. */
static void
send_record (PayCache *self, StoreOp *op)
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
  argv[4] = decimal (ttl, sizeof ttl, self->ttl_seconds);
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
  pay_redis_client_command (self->client, ARGC, argv, lens, store_replied, op);
}

/* Runs on the context: sends both keys' writes, pipelined. */
static gboolean
store_dispatch (gpointer data)
{
  StoreOp *op = data;
  PayCache *self = op->self;

  if (!pay_redis_client_is_connected (self->client))
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                                                     "not connected");

      store_complete (op, error, NULL);
      return G_SOURCE_REMOVE;
    }
  op->replies_pending = PAY_CACHE_COMMANDS_PER_STORE;
  g_atomic_rc_box_acquire (op);
  send_record (self, op);
  g_atomic_rc_box_acquire (op);
  send_order_key (self, op);
  return G_SOURCE_REMOVE;
}

/* The hand-over to the context is done: the client now holds what it needs, and self is
 * kept alive by whoever owns it. */
static void
store_handed_over (gpointer data)
{
  StoreOp *op = data;

  g_clear_object (&op->hold);
  store_release (op);
}

/* ---- lookups ------------------------------------------------------------------------ */

/* One lookup (by order id: the order key first, then the record), and the GAsyncResult
 * PayPaymentCache's lookup_async answers with. A small GObject of its own rather than a
 * GTask and its task data: a query answered from the cache made and freed two GTasks,
 * the largest cost of its path after the reply's encoding. */
#define PAY_TYPE_CACHE_LOOKUP (pay_cache_lookup_get_type ())
G_DECLARE_FINAL_TYPE (PayCacheLookup, pay_cache_lookup, PAY, CACHE_LOOKUP, GObject)

struct _PayCacheLookup
{
  GObject              parent_instance;

  PayCache            *self;         /* strong */
  gboolean             by_order;
  gint64               order_id;
  gchar                tx[PAY_UUID_STRLEN + 1];
  PayCacheLookupFunc   func;         /* pay_cache_lookup_async()'s, or NULL */
  GAsyncReadyCallback  ready;        /* else lookup_async's */
  gpointer             user_data;
  gboolean             starting;     /* in lookup_async: an answer now waits for an idle */

  /* The outcome, for lookup_finish */
  gboolean             hit;
  PayPayment           payment;
  GError              *error;
};

static void pay_cache_lookup_async_result_init (GAsyncResultIface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (PayCacheLookup, pay_cache_lookup, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_RESULT,
                                                      pay_cache_lookup_async_result_init))

static void payment_cache_lookup_async (PayPaymentCache *cache, const PayQueryRequest *key,
                                        GAsyncReadyCallback callback, gpointer user_data);

static void
pay_cache_lookup_init (PayCacheLookup *lookup)
{
}

static void
pay_cache_lookup_finalize (GObject *object)
{
  PayCacheLookup *lookup = PAY_CACHE_LOOKUP (object);

  g_clear_error (&lookup->error);
  g_clear_object (&lookup->self);
  G_OBJECT_CLASS (pay_cache_lookup_parent_class)->finalize (object);
}

static void
pay_cache_lookup_class_init (PayCacheLookupClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pay_cache_lookup_finalize;
}

static gpointer
lookup_get_user_data (GAsyncResult *result)
{
  return PAY_CACHE_LOOKUP (result)->user_data;
}

static GObject *
lookup_get_source_object (GAsyncResult *result)
{
  return g_object_ref (G_OBJECT (PAY_CACHE_LOOKUP (result)->self));
}

static gboolean
lookup_is_tagged (GAsyncResult *result, gpointer source_tag)
{
  return source_tag == payment_cache_lookup_async;
}

static void
pay_cache_lookup_async_result_init (GAsyncResultIface *iface)
{
  iface->get_user_data = lookup_get_user_data;
  iface->get_source_object = lookup_get_source_object;
  iface->is_tagged = lookup_is_tagged;
}

static PayCacheLookup *
lookup_new (PayCache *self, const PayQueryRequest *key, gpointer user_data)
{
  PayCacheLookup *lookup = g_object_new (PAY_TYPE_CACHE_LOOKUP, NULL);

  lookup->self = g_object_ref (self);
  lookup->by_order = key->transaction_id == NULL;
  lookup->order_id = key->order_id;
  lookup->user_data = user_data;
  return lookup;
}

/* Calls lookup_async's callback with @data, the lookup, and drops it. */
static gboolean
lookup_deliver (gpointer data)
{
  PayCacheLookup *lookup = data;

  lookup->ready (G_OBJECT (lookup->self), G_ASYNC_RESULT (lookup), lookup->user_data);
  g_object_unref (lookup);
  return G_SOURCE_REMOVE;
}

/* Ends @lookup (taken) with @payment (a hit), NULL (a miss) or a failure. */
static void
lookup_finish (PayCacheLookup *lookup, const PayPayment *payment, gboolean failed)
{
  if (failed)
    lookup->error = g_error_new_literal (PAY_ERROR, PAY_ERROR_CACHE_READ, "cache read failed");
  if (lookup->func != NULL)
    {
      lookup->func (payment, lookup->error, lookup->user_data);
      g_object_unref (lookup);
      return;
    }
  lookup->hit = payment != NULL;
  if (payment != NULL)
    lookup->payment = *payment;
  if (!lookup->starting)
    {
      lookup_deliver (lookup);
      return;
    }
  /* Answered before lookup_async returns (not connected, an id no record has): the
   * callback runs from the context, as the interface promises. */
  {
    g_autoptr(GSource) idle = g_idle_source_new ();

    g_source_set_callback (idle, lookup_deliver, lookup, NULL);
    g_source_attach (idle, lookup->self->context);
  }
}

/* Finishes @lookup with the record in @values / @lens (HMGET's answer), checked. */
static void
lookup_check_record (PayCacheLookup *lookup, const gchar *const *values, const gsize *lens)
{
  g_autoptr(GError) decode_error = NULL;
  PayPayment payment;

  if (!pay_cache_record_decode (values, lens, &payment, &decode_error))
    {
      g_debug ("ignoring the cached record of %s: %s", lookup->tx, decode_error->message);
      lookup_finish (lookup, NULL, FALSE);
      return;
    }
  /* A record that does not answer the question asked (a stale order key) is a miss. */
  if (strcmp (payment.transaction_id, lookup->tx) != 0 ||
      (lookup->by_order && payment.order_id != lookup->order_id))
    {
      lookup_finish (lookup, NULL, FALSE);
      return;
    }
  lookup_finish (lookup, &payment, FALSE);
}

static void
lookup_got_record (PayRedisClient *client, const redisReply *reply, const GError *error,
                   gpointer user_data)
{
  PayCacheLookup *lookup = user_data;
  const gchar *values[PAY_CACHE_RECORD_N_FIELDS];
  gsize lens[PAY_CACHE_RECORD_N_FIELDS];
  gboolean any = FALSE;
  g_autofree gchar *refused = NULL;

  if (error == NULL && reply->type == REDIS_REPLY_ARRAY &&
      reply->elements == PAY_CACHE_RECORD_N_FIELDS)
    {
      for (gsize i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
        {
          const redisReply *element = reply->element[i];

          values[i] = element->type == REDIS_REPLY_STRING ? element->str : NULL;
          lens[i] = values[i] != NULL ? element->len : 0;
          any = any || values[i] != NULL;
        }
    }
  /* No record: nothing (HMGET answers a missing key with no field at all), or something
   * else than a record's HASH under the key. */
  else if (error == NULL && reply->type != REDIS_REPLY_NIL &&
           !(reply->type == REDIS_REPLY_ERROR && g_str_has_prefix (reply->str, "WRONGTYPE")))
    refused = g_strdup_printf ("HMGET refused: %s", reply->type == REDIS_REPLY_ERROR
                                                    ? reply->str : "unexpected reply type");

  if (!note_outcome (lookup->self, error, refused))
    lookup_finish (lookup, NULL, TRUE);
  else if (!any)
    lookup_finish (lookup, NULL, FALSE);
  else
    lookup_check_record (lookup, values, lens);
}

/* Formats HMGET payment:tx:<a placeholder id> and the record's fields once: hiredis's
 * formatting of the argument vector cost more per lookup than the rest of the command's
 * path. */
static void
format_hmget (PayCache *self)
{
  const char *argv[2 + PAY_CACHE_RECORD_N_FIELDS];
  size_t lens[2 + PAY_CACHE_RECORD_N_FIELDS];
  gchar key[sizeof PAY_CACHE_TX_PREFIX + PAY_UUID_STRLEN];
  char *formatted = NULL;
  int len;

  memset (key, 'x', sizeof key - 1);
  memcpy (key, PAY_CACHE_TX_PREFIX, strlen (PAY_CACHE_TX_PREFIX));
  key[sizeof key - 1] = '\0';
  argv[0] = "HMGET";
  lens[0] = 5;
  argv[1] = key;
  lens[1] = sizeof key - 1;
  for (guint i = 0; i < PAY_CACHE_RECORD_N_FIELDS; i++)
    {
      argv[2 + i] = pay_cache_record_fields[i];
      lens[2 + i] = strlen (pay_cache_record_fields[i]);
    }
  len = redisFormatCommandArgv (&formatted, G_N_ELEMENTS (argv), argv, lens);
  g_assert (len > 0);
  self->hmget = g_memdup2 (formatted, (gsize) len);
  self->hmget_len = (gsize) len;
  /* The key is the first argument with the prefix: no field name contains it. */
  self->hmget_tx = (gsize) (strstr (formatted, PAY_CACHE_TX_PREFIX) - formatted)
                   + strlen (PAY_CACHE_TX_PREFIX);
  redisFreeCommand (formatted);
}

/* Sends HMGET payment:tx:<tx> and the record's fields. */
static void
lookup_record (PayCacheLookup *lookup)
{
  PayCache *self = lookup->self;

  memcpy (self->hmget + self->hmget_tx, lookup->tx, PAY_UUID_STRLEN);
  pay_redis_client_command_formatted (self->client, self->hmget, self->hmget_len,
                                      lookup_got_record, lookup);
}

static void
lookup_got_order (PayRedisClient *client, const redisReply *reply, const GError *error,
                  gpointer user_data)
{
  PayCacheLookup *lookup = user_data;
  g_autofree gchar *refused = NULL;

  if (error == NULL && reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING)
    refused = g_strdup_printf ("GET refused: %s", reply->type == REDIS_REPLY_ERROR
                                                  ? reply->str : "unexpected reply type");
  if (!note_outcome (lookup->self, error, refused))
    {
      lookup_finish (lookup, NULL, TRUE);
      return;
    }
  /* No order key, or not a transaction id: not ours, a miss. */
  if (reply->type != REDIS_REPLY_STRING || reply->len != PAY_UUID_STRLEN)
    {
      lookup_finish (lookup, NULL, FALSE);
      return;
    }
  memcpy (lookup->tx, reply->str, reply->len);
  lookup->tx[reply->len] = '\0';
  lookup_record (lookup);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
pay_cache_init (PayCache *self)
{
}

static void
pay_cache_dispose (GObject *object)
{
  PayCache *self = PAY_CACHE (object);

  /* Every command still out is answered before the client goes. */
  if (self->client != NULL)
    pay_redis_client_stop (self->client);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (pay_cache_parent_class)->dispose (object);
}

static void
pay_cache_finalize (GObject *object)
{
  PayCache *self = PAY_CACHE (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->hmget);

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
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref (g_main_context_default ());
  self->client = pay_redis_client_new (settings, "cache", self->context);
  self->ttl_seconds = settings->ttl_seconds;
  self->store_script_sha = pay_redis_client_add_script (self->client, store_record_script);
  format_hmget (self);
  return self;
}

void
pay_cache_start (PayCache *self)
{
  g_return_if_fail (PAY_IS_CACHE (self));

  pay_redis_client_start (self->client);
}

void
pay_cache_stop (PayCache *self)
{
  g_return_if_fail (PAY_IS_CACHE (self));

  pay_redis_client_stop (self->client);
}

gboolean
pay_cache_is_connected (PayCache *self)
{
  g_return_val_if_fail (PAY_IS_CACHE (self), FALSE);

  return pay_redis_client_is_connected (self->client);
}

guint64
pay_cache_get_error_count (PayCache *self)
{
  g_return_val_if_fail (PAY_IS_CACHE (self), 0);

  return pay_redis_client_get_error_count (self->client);
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
  StoreOp *op;

  g_return_if_fail (PAY_IS_CACHE (self));
  g_return_if_fail (payment != NULL);

  op = g_atomic_rc_box_new0 (StoreOp);
  op->self = self;
  op->hold = g_object_ref (self);
  op->payment = *payment;
  op->created = created;
  op->stored = callback;
  op->user_data = user_data;
  /* Runs at once when the caller is the context's owner. */
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, store_dispatch, op,
                              store_handed_over);
}

/* Sends @lookup's first command; its answer comes through lookup_finish(). */
static void
lookup_start (PayCacheLookup *lookup, const PayQueryRequest *key)
{
  PayCache *self = lookup->self;

  if (!lookup->by_order)
    {
      /* No record has a transaction id of another length. */
      if (strlen (key->transaction_id) != PAY_UUID_STRLEN)
        {
          lookup_finish (lookup, NULL, FALSE);
          return;
        }
      memcpy (lookup->tx, key->transaction_id, PAY_UUID_STRLEN + 1);
      lookup_record (lookup);
    }
  else
    {
      const char *argv[2] = { "GET" };
      size_t lens[2] = { 3 };
      gchar order_key[sizeof PAY_CACHE_ORDER_PREFIX + 24];
      PayText text = pay_text_init (order_key, sizeof order_key);

      pay_text_put (&text, PAY_CACHE_ORDER_PREFIX);
      pay_text_put_int (&text, key->order_id);
      argv[1] = order_key;
      lens[1] = strlen (order_key);
      pay_redis_client_command (self->client, 2, argv, lens, lookup_got_order, lookup);
    }
}

void
pay_cache_lookup_async (PayCache              *self,
                        const PayQueryRequest *key,
                        PayCacheLookupFunc     callback,
                        gpointer               user_data)
{
  PayCacheLookup *lookup;

  g_return_if_fail (PAY_IS_CACHE (self));
  g_return_if_fail (key != NULL && callback != NULL);

  lookup = lookup_new (self, key, user_data);
  lookup->func = callback;
  lookup_start (lookup, key);
}

/* ---- PayPaymentCache: thin wrappers over the public API above ----------------------- */

static void
payment_cache_lookup_async (PayPaymentCache       *cache,
                            const PayQueryRequest *key,
                            GAsyncReadyCallback    callback,
                            gpointer               user_data)
{
  PayCacheLookup *lookup = lookup_new (PAY_CACHE (cache), key, user_data);

  lookup->ready = callback;
  lookup->starting = TRUE;
  lookup_start (g_object_ref (lookup), key);
  lookup->starting = FALSE;
  g_object_unref (lookup);
}

static gboolean
payment_cache_lookup_finish (PayPaymentCache *cache,
                             GAsyncResult    *result,
                             PayPayment      *out,
                             gboolean        *hit,
                             GError         **error)
{
  PayCacheLookup *lookup;

  g_return_val_if_fail (PAY_IS_CACHE_LOOKUP (result), FALSE);
  lookup = PAY_CACHE_LOOKUP (result);
  g_return_val_if_fail (lookup->self == PAY_CACHE (cache), FALSE);

  if (lookup->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&lookup->error));
      return FALSE;
    }
  *hit = lookup->hit;
  if (lookup->hit)
    *out = lookup->payment;
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
