/* pay-cache-connection.c: PayCache's Redis connection on the cache's context: hiredis's
 * async context hooked into the GMainContext, AUTH, SELECT and the record script's SCRIPT
 * LOAD, reconnects with capped
 * backoff, the watchdog that drops a stuck connection, and failure accounting. */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-cache.h"
#include "storage/pay-cache-private.h"

#include <string.h>

#include <hiredis/adapters/glib.h>

/* A connection not ready (connected, its set-up commands answered) within timeout_ms, but at
 * least this long, is abandoned and retried. */
#define PAY_CACHE_MIN_CONNECT_TIMEOUT_MS 100

/* Commands waiting this long (2 x timeout_ms, at least this) without any reply mean a
 * stuck server: the connection is dropped so replies cannot pile up behind it. */
#define PAY_CACHE_MIN_STALL_MS 1000

/* How often the watchdog looks at the connection, clamped to these bounds. */
#define PAY_CACHE_WATCHDOG_MIN_MS 50
#define PAY_CACHE_WATCHDOG_MAX_MS 1000

/* ---- failure accounting ------------------------------------------------------------- */

/* Counts a failure; logs it only when the cache was healthy until now. */
void
pay_cache_note_failure (PayCache *self, const gchar *reason)
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

void
pay_cache_note_success (PayCache *self)
{
  gboolean log;

  g_mutex_lock (&self->stats_lock);
  log = self->failing;
  self->failing = FALSE;
  g_mutex_unlock (&self->stats_lock);

  if (log)
    g_message ("Redis cache at %s:%u working again", self->settings.host, self->settings.port);
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
    pay_cache_connect (self);
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
    pay_cache_note_failure (self, reason);
  schedule_retry (self);
}

/* Drops the current connection on our initiative. Every command still in hiredis is
 * answered with a NULL reply, at once or, inside a hiredis callback, right after it. */
void
pay_cache_drop_connection (PayCache *self, const gchar *reason)
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
  pay_cache_note_success (self);
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
      g_autofree gchar *reason = g_strdup_printf ("connection set-up refused: %s", reply->str);

      pay_cache_drop_connection (self, reason);
      return;
    }
  /* SCRIPT LOAD answers the script's SHA1 (AUTH and SELECT a status). */
  if (reply->type == REDIS_REPLY_STRING && strcmp (reply->str, self->store_script_sha) != 0)
    {
      pay_cache_drop_connection (self, "SCRIPT LOAD answered another SHA1");
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

  pay_cache_expire_waiting (self, FALSE, "no reply in time");
  if (self->ac == NULL)
    return G_SOURCE_CONTINUE;

  if (!self->ready && now - self->connect_started_us > connect_ms * G_TIME_SPAN_MILLISECOND)
    pay_cache_drop_connection (self, "connect timeout");
  else if (self->ready && self->replies_pending > 0 &&
           now - self->last_progress_us > stall_ms * G_TIME_SPAN_MILLISECOND)
    pay_cache_drop_connection (self, "no reply from Redis");
  return G_SOURCE_CONTINUE;
}

void
pay_cache_connect (PayCache *self)
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
  if (redisAsyncCommand (ac, setup_reply_cb, self, "SCRIPT LOAD %s",
                         pay_cache_store_record_script) == REDIS_OK)
    self->setup_pending++;

  period_ms = CLAMP (self->settings.timeout_ms / 2, PAY_CACHE_WATCHDOG_MIN_MS, PAY_CACHE_WATCHDOG_MAX_MS);
  stop_watchdog (self);
  self->watchdog = g_timeout_source_new (period_ms);
  g_source_set_callback (self->watchdog, watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, self->context);
}
