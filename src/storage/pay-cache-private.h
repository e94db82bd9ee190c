/* pay-cache-private.h: what pay-cache.c shares with pay-cache-connection.c and
 * pay-cache-lookup.c. Not for other modules: they use pay-cache.h. */
#pragma once

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "storage/pay-cache.h"

G_BEGIN_DECLS

/* Reconnect delays: doubled after every failed attempt, back to the first on success. */
#define PAY_CACHE_BACKOFF_INITIAL_MS 100
#define PAY_CACHE_BACKOFF_MAX_MS     5000

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
  gboolean           ready;           /* connected; AUTH / SELECT / SCRIPT LOAD answered */
  guint              setup_pending;   /* AUTH / SELECT / SCRIPT LOAD replies to come */
  gchar              store_script_sha[41]; /* SHA1 of pay_cache_store_record_script */
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


/* The Lua script that writes a record (pay-cache.c says what it does). Each connection
 * loads it first (SCRIPT LOAD, pay-cache-connection.c), and writes then name it by its
 * SHA1 (EVALSHA): the script's text does not travel, nor is it hashed, per write. */
extern const gchar pay_cache_store_record_script[];

/* A GET's outcome: @ok FALSE when Redis failed; otherwise @value (@len bytes) is the
 * key's value, NULL when the key does not exist. Valid only during the call. */
typedef void (*PayCacheGetFunc) (gboolean ok, const gchar *value, gsize len, gpointer user_data);

/* One GET of @key on the cache's context; @got runs there, within about
 * settings->timeout_ms (a failure when Redis is not connected or too slow). */
void pay_cache_get_async (PayCache        *self,
                          const gchar     *key,
                          PayCacheGetFunc  got,
                          gpointer         user_data);

/* A record read's outcome: @ok FALSE when Redis failed; otherwise @values / @lens are the
 * HASH's PAY_CACHE_RECORD_N_FIELDS fields in pay_cache_record_fields' order (NULL for a
 * missing one), both NULL when there is no record (no key, or not a HASH). Valid only
 * during the call. */
typedef void (*PayCacheRecordFunc) (gboolean            ok,
                                    const gchar *const *values,
                                    const gsize        *lens,
                                    gpointer            user_data);

/* One HMGET of the record fields of @key; otherwise like pay_cache_get_async(). */
void pay_cache_get_record_async (PayCache           *self,
                                 const gchar        *key,
                                 PayCacheRecordFunc  got,
                                 gpointer            user_data);

/* pay-cache-connection.c, on the cache's context: connects (a new attempt), drops the
 * current connection (every queued command is answered with a NULL reply), and counts
 * a failure or a success (logged once per change of state). */
void pay_cache_connect         (PayCache *self);
void pay_cache_drop_connection (PayCache *self, const gchar *reason);
void pay_cache_note_failure    (PayCache *self, const gchar *reason);
void pay_cache_note_success    (PayCache *self);

/* pay-cache.c: fails the operations waiting for a reply (all of them, or those past their
 * deadline) with @reason. */
void pay_cache_expire_waiting  (PayCache *self, gboolean all, const gchar *reason);

G_END_DECLS
