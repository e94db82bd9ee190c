/* pay-redis-client.c: PayRedisClient, one hiredis async connection hooked into a
 * GMainContext: connects and reconnects with capped backoff, sets each connection up,
 * gives every command a deadline, and drops a connection that stops answering (the
 * watchdog). */
#define G_LOG_DOMAIN "payment-storage"

#include "storage/pay-redis-client.h"

#include <string.h>

#include <hiredis/adapters/glib.h>
#include <hiredis/async.h>

/* A connection not ready (connected, its set-up commands answered) within timeout_ms, but at
 * least this long, is abandoned and retried. */
#define PAY_REDIS_MIN_CONNECT_TIMEOUT_MS 100

/* Commands waiting this long (2 x timeout_ms, at least this) without any reply mean a
 * stuck server: the connection is dropped so replies cannot pile up behind it. */
#define PAY_REDIS_MIN_STALL_MS 1000

/* How often the watchdog looks at the connection, clamped to these bounds. */
#define PAY_REDIS_WATCHDOG_MIN_MS 50
#define PAY_REDIS_WATCHDOG_MAX_MS 1000

/* A script loaded on every connection. */
typedef struct {
  gchar *text;
  gchar  sha[41];
} Script;

struct _PayRedisClient
{
  GObject parent_instance;

  PayRedisSettings   settings;        /* deep copy */
  gchar             *name;
  GMainContext      *context;
  GPtrArray         *scripts;         /* of Script */

  /* Owned by the context's thread. */
  redisAsyncContext *ac;              /* NULL while disconnected; ac->data is self */
  GSource           *source;          /* ac's RedisSource; destroyed in its cleanup hook */
  GSource           *watchdog;
  GSource           *retry;
  gboolean           running;         /* between start and stop */
  gboolean           ready;           /* connected and set up */
  guint              setup_pending;   /* set-up replies to come */
  guint              backoff_ms;
  gint64             connect_started_us;
  guint              replies_pending; /* replies to commands still to come on ac */
  gint64             last_progress_us;
  GQueue             waiting;         /* Command not yet answered, oldest first */

  /* Any thread. */
  gint               connected;       /* atomic copy of ready */
  GMutex             stats_lock;
  guint64            error_count;
  gboolean           failing;         /* the last command failed */
  gboolean           failure_logged;  /* ... and that was logged; recovery will be too */
  gint64             failure_log_us;  /* when a failure was last logged (0: never) */
  guint64            failures_quiet;  /* failures not logged since then */
};

G_DEFINE_FINAL_TYPE (PayRedisClient, pay_redis_client, G_TYPE_OBJECT)

/* One command handed to hiredis. hiredis owns it (its reply callback frees it); it is in
 * self->waiting, where the watchdog times it out, until its callback has run. */
typedef struct {
  PayRedisClient    *self;
  PayRedisReplyFunc  func;
  gpointer           user_data;
  gint64             deadline_us;
  GList              link;        /* in self->waiting while !answered */
  gboolean           answered;    /* func has run */
} Command;

/* ---- failure accounting ------------------------------------------------------------- */

/* A failure is logged at most this often, with the count of those not logged: a server
 * that refuses writes but answers reads makes each request fail and the next succeed,
 * and logging every change would write two lines per request. */
#define FAILURE_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

void
pay_redis_client_note_failure (PayRedisClient *self, const gchar *reason)
{
  gint64 now = g_get_monotonic_time ();
  guint64 quiet = 0;
  gboolean log;

  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));

  g_mutex_lock (&self->stats_lock);
  self->error_count++;
  self->failing = TRUE;
  log = self->failure_log_us == 0 || now - self->failure_log_us >= FAILURE_LOG_INTERVAL_US;
  if (log)
    {
      quiet = self->failures_quiet;
      self->failures_quiet = 0;
      self->failure_log_us = now;
      self->failure_logged = TRUE;
    }
  else
    self->failures_quiet++;
  g_mutex_unlock (&self->stats_lock);

  if (log && quiet > 0)
    g_warning ("Redis %s at %s:%u failing: %s (%" G_GUINT64_FORMAT " more failures since "
               "the last report)", self->name, self->settings.host, self->settings.port,
               reason, quiet);
  else if (log)
    g_warning ("Redis %s at %s:%u failing: %s", self->name, self->settings.host,
               self->settings.port, reason);
}

/* Recovery is logged only after a failure that was logged: one line each way. */
void
pay_redis_client_note_success (PayRedisClient *self)
{
  gboolean log;

  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));

  g_mutex_lock (&self->stats_lock);
  log = self->failing && self->failure_logged;
  self->failing = FALSE;
  self->failure_logged = FALSE;
  g_mutex_unlock (&self->stats_lock);

  if (log)
    g_message ("Redis %s at %s:%u working again", self->name, self->settings.host,
               self->settings.port);
}

guint64
pay_redis_client_get_error_count (PayRedisClient *self)
{
  guint64 count;

  g_return_val_if_fail (PAY_IS_REDIS_CLIENT (self), 0);

  g_mutex_lock (&self->stats_lock);
  count = self->error_count;
  g_mutex_unlock (&self->stats_lock);
  return count;
}

/* ---- commands ----------------------------------------------------------------------- */

static void
fail_now (PayRedisClient *self, PayRedisReplyFunc func, gpointer user_data, GIOErrorEnum code,
          const gchar *reason)
{
  g_autoptr(GError) error = NULL;

  if (func == NULL)
    return;
  error = g_error_new_literal (G_IO_ERROR, code, reason);
  func (self, NULL, error, user_data);
}

/* Runs @command's callback once, with @reply or, when NULL, the failure @code / @reason. */
static void
command_answer (Command *command, const redisReply *reply, GIOErrorEnum code, const gchar *reason)
{
  PayRedisClient *self = command->self;

  command->answered = TRUE;
  g_queue_unlink (&self->waiting, &command->link);
  if (reply != NULL)
    {
      if (command->func != NULL)
        command->func (self, reply, NULL, command->user_data);
    }
  else
    fail_now (self, command->func, command->user_data, code, reason);
}

/* Fails, oldest first, every command waiting whose deadline is past (all of them when
 * @all: the connection is going away). */
static void
expire_waiting (PayRedisClient *self, gboolean all, GIOErrorEnum code, const gchar *reason)
{
  gint64 now = g_get_monotonic_time ();
  GList *head;

  while ((head = g_queue_peek_head_link (&self->waiting)) != NULL)
    {
      Command *command = head->data;

      if (!all && command->deadline_us > now)
        break;
      command_answer (command, NULL, code, reason);
    }
}

/* hiredis answers every command it queued exactly once: a reply, or NULL when the
 * connection goes away. A connection we dropped has ac->data NULL: its commands were
 * failed then, and only their memory is left. */
static void
command_reply_cb (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  PayRedisClient *self = ac->data;
  Command *command = privdata;
  redisReply *reply = reply_data;

  if (self != NULL && reply != NULL)
    {
      self->replies_pending--;
      self->last_progress_us = g_get_monotonic_time ();
    }
  if (!command->answered)
    command_answer (command, reply, G_IO_ERROR_CONNECTION_CLOSED, "connection lost");
  g_free (command);
}

/* A new Command for @func, or NULL when there is no connection to send it on (@func has
 * failed then). */
static Command *
command_new (PayRedisClient *self, PayRedisReplyFunc func, gpointer user_data)
{
  Command *command;

  if (self->ac == NULL || !self->ready)
    {
      fail_now (self, func, user_data, G_IO_ERROR_NOT_CONNECTED, "not connected");
      return NULL;
    }
  command = g_new (Command, 1);
  command->self = self;
  command->func = func;
  command->user_data = user_data;
  command->deadline_us = g_get_monotonic_time ()
                         + (gint64) self->settings.timeout_ms * G_TIME_SPAN_MILLISECOND;
  command->answered = FALSE;
  command->link = (GList) { .data = command };
  return command;
}

/* Books @command, which hiredis did (@status REDIS_OK) or did not queue. */
static void
command_queued (PayRedisClient *self, Command *command, int status)
{
  if (status != REDIS_OK)
    {
      PayRedisReplyFunc func = command->func;
      gpointer user_data = command->user_data;

      g_free (command);
      fail_now (self, func, user_data, G_IO_ERROR_NOT_CONNECTED, "command not queued");
      return;
    }
  g_queue_push_tail_link (&self->waiting, &command->link);
  if (self->replies_pending++ == 0)
    self->last_progress_us = g_get_monotonic_time ();
}

void
pay_redis_client_command (PayRedisClient    *self,
                          int                argc,
                          const char       **argv,
                          const size_t      *lens,
                          PayRedisReplyFunc  func,
                          gpointer           user_data)
{
  Command *command;

  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));
  g_return_if_fail (argc > 0 && argv != NULL);

  if ((command = command_new (self, func, user_data)) != NULL)
    command_queued (self, command,
                    redisAsyncCommandArgv (self->ac, command_reply_cb, command, argc, argv, lens));
}

void
pay_redis_client_command_formatted (PayRedisClient    *self,
                                    const gchar       *formatted,
                                    gsize              len,
                                    PayRedisReplyFunc  func,
                                    gpointer           user_data)
{
  Command *command;

  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));
  g_return_if_fail (formatted != NULL && len > 0);

  if ((command = command_new (self, func, user_data)) != NULL)
    command_queued (self, command,
                    redisAsyncFormattedCommand (self->ac, command_reply_cb, command,
                                                formatted, len));
}

/* ---- replies ------------------------------------------------------------------------ */

/* hiredis's reader builds each reply through these functions instead of its defaults,
 * which made two allocations per element (an HMGET of a whole record: 26 mallocs and as
 * many frees). A reply with all its elements and their strings lives in one block,
 * plus pieces allocated apart only for a reply larger than the block. hiredis frees only
 * top-level replies (right after their callback, or with the connection for one half
 * read), so freeing a block frees everything in it; no reply outlives its callback
 * (PayRedisReplyFunc's contract). */
#define REPLY_BLOCK_BYTES 1024

typedef struct {
  gsize      used;     /* bytes of data handed out */
  GSList    *extra;    /* pieces that did not fit in data */
  redisReply reply;    /* the top-level reply */
  guint8     data[];   /* its elements and strings */
} ReplyBlock;

#define REPLY_BLOCK_ROOM (REPLY_BLOCK_BYTES - G_STRUCT_OFFSET (ReplyBlock, data))

/* The block of the reply @task's object belongs to. */
static ReplyBlock *
reply_block (const redisReadTask *task)
{
  while (task->parent != NULL)
    task = task->parent;
  return (ReplyBlock *) ((guint8 *) task->obj - G_STRUCT_OFFSET (ReplyBlock, reply));
}

static gpointer
reply_alloc (ReplyBlock *block, gsize size)
{
  gpointer piece;

  size = (size + 7) & ~(gsize) 7;
  if (size <= REPLY_BLOCK_ROOM - block->used)
    {
      piece = block->data + block->used;
      block->used += size;
      return piece;
    }
  piece = g_malloc (size);
  block->extra = g_slist_prepend (block->extra, piece);
  return piece;
}

/* A new reply object of @type for @task, in its place in its parent array. */
static redisReply *
reply_new (const redisReadTask *task, int type, ReplyBlock **block)
{
  redisReply *reply;

  if (task->parent == NULL)
    {
      *block = g_malloc (REPLY_BLOCK_BYTES);
      (*block)->used = 0;
      (*block)->extra = NULL;
      reply = &(*block)->reply;
    }
  else
    {
      *block = reply_block (task->parent);
      reply = reply_alloc (*block, sizeof *reply);
    }
  memset (reply, 0, sizeof *reply);
  reply->type = type;
  if (task->parent != NULL)
    ((redisReply *) task->parent->obj)->element[task->idx] = reply;
  return reply;
}

static void *
reply_create_string (const redisReadTask *task, char *str, size_t len)
{
  ReplyBlock *block;
  redisReply *reply = reply_new (task, task->type, &block);

  reply->str = reply_alloc (block, len + 1);
  memcpy (reply->str, str, len);
  reply->str[len] = '\0';
  reply->len = len;
  return reply;
}

static void *
reply_create_array (const redisReadTask *task, int elements)
{
  ReplyBlock *block;
  redisReply *reply = reply_new (task, REDIS_REPLY_ARRAY, &block);

  if (elements > 0)
    {
      reply->element = reply_alloc (block, (gsize) elements * sizeof (redisReply *));
      memset (reply->element, 0, (gsize) elements * sizeof (redisReply *));
    }
  reply->elements = (size_t) MAX (elements, 0);
  return reply;
}

static void *
reply_create_integer (const redisReadTask *task, long long value)
{
  ReplyBlock *block;
  redisReply *reply = reply_new (task, REDIS_REPLY_INTEGER, &block);

  reply->integer = value;
  return reply;
}

static void *
reply_create_nil (const redisReadTask *task)
{
  ReplyBlock *block;

  return reply_new (task, REDIS_REPLY_NIL, &block);
}

static void
reply_free (void *reply)
{
  ReplyBlock *block = (ReplyBlock *) ((guint8 *) reply - G_STRUCT_OFFSET (ReplyBlock, reply));

  g_slist_free_full (block->extra, g_free);
  g_free (block);
}

static redisReplyObjectFunctions reply_functions = {
  .createString = reply_create_string,
  .createArray = reply_create_array,
  .createInteger = reply_create_integer,
  .createNil = reply_create_nil,
  .freeObject = reply_free,
};

/* ---- the connection ----------------------------------------------------------------- */

static void connect_now (PayRedisClient *self);

static void
stop_watchdog (PayRedisClient *self)
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
  PayRedisClient *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  if (self->running && self->ac == NULL)
    connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (PayRedisClient *self)
{
  if (!self->running || self->retry != NULL)
    return;

  self->retry = g_timeout_source_new (self->backoff_ms);
  g_source_set_callback (self->retry, retry_cb, self, NULL);
  g_source_attach (self->retry, self->context);
  g_debug ("reconnecting to Redis in %u ms", self->backoff_ms);
  self->backoff_ms = MIN (self->backoff_ms * 2, PAY_REDIS_BACKOFF_MAX_MS);
}

/* Forgets the connection (already detached from self->ac, or being freed by hiredis),
 * counts @reason (NULL: an orderly stop) and schedules the next attempt. */
static void
connection_down (PayRedisClient *self, const gchar *reason)
{
  self->ready = FALSE;
  g_atomic_int_set (&self->connected, FALSE);
  self->setup_pending = 0;
  self->replies_pending = 0;
  stop_watchdog (self);

  if (reason != NULL && self->running)
    pay_redis_client_note_failure (self, reason);
  schedule_retry (self);
}

/* Drops the current connection on our initiative: its commands fail now, and hiredis
 * (at once or, inside one of its callbacks, right after it) frees what is left. */
static void
drop_connection (PayRedisClient *self, const gchar *reason)
{
  redisAsyncContext *ac = g_steal_pointer (&self->ac);
  GSource *source = g_steal_pointer (&self->source);

  connection_down (self, reason);
  if (ac == NULL)
    return;
  ac->data = NULL;
  expire_waiting (self, TRUE, G_IO_ERROR_CONNECTION_CLOSED, "connection lost");
  redisAsyncFree (ac);
  /* The source stays attached (the context holds it) until hiredis's cleanup hook. */
  g_clear_pointer (&source, g_source_unref);
}

static void
set_ready (PayRedisClient *self)
{
  self->ready = TRUE;
  self->backoff_ms = PAY_REDIS_BACKOFF_INITIAL_MS;
  self->last_progress_us = g_get_monotonic_time ();
  g_atomic_int_set (&self->connected, TRUE);
  g_info ("connected to Redis at %s:%u", self->settings.host, self->settings.port);
  pay_redis_client_note_success (self);
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
  PayRedisClient *self = redis->ac->data;
  GSource *source = data;

  redis_source_cleanup (data);
  /* The dispatch that freed the context must not go on to read from it. */
  redis->poll_fd.revents = 0;
  g_source_destroy (source);
  if (self != NULL && self->source == source)
    g_clear_pointer (&self->source, g_source_unref);
}

/* Sends the commands queued since the last poll before the loop polls again, in one
 * write, instead of waiting for a poll to report the socket writable: that costs an
 * iteration of the loop (and a poll) per round trip. Only on a connected context
 * (before, the write event is how hiredis learns that the connect finished), and with
 * no callback run from here: a write that fails leaves the write event set, so the
 * dispatch (redisAsyncHandleWrite) meets the error and disconnects as usual; one that
 * does not finish leaves the rest for when the socket is writable. */
static gboolean
source_prepare (GSource *source, gint *timeout)
{
  RedisSource *redis = (RedisSource *) source;
  redisContext *c = &redis->ac->c;
  int done = 0;

  if ((redis->poll_fd.events & G_IO_OUT) && (c->flags & REDIS_CONNECTED) &&
      redisBufferWrite (c, &done) == REDIS_OK && done)
    redis->poll_fd.events = (redis->poll_fd.events | G_IO_IN) & ~G_IO_OUT;
  return redis_source_prepare (source, timeout);
}

/* The adapter's source (redis_source_new()) with source_prepare and the event hooks
 * above. */
static GSource *
source_new (redisAsyncContext *ac)
{
  static GSourceFuncs funcs = {
    .prepare = source_prepare,
    .check = redis_source_check,
    .dispatch = redis_source_dispatch,
    .finalize = redis_source_finalize,
  };
  RedisSource *redis = (RedisSource *) g_source_new (&funcs, sizeof (RedisSource));

  redis->ac = ac;
  redis->poll_fd.fd = ac->c.fd;
  redis->poll_fd.events = 0;
  redis->poll_fd.revents = 0;
  g_source_add_poll (&redis->source, &redis->poll_fd);
  ac->ev.addRead = source_add_read;
  ac->ev.delRead = source_del_read;
  ac->ev.addWrite = source_add_write;
  ac->ev.delWrite = source_del_write;
  ac->ev.cleanup = source_cleanup;
  ac->ev.data = redis;
  /* No fd removal and re-adding (each an eventfd write) around every dispatch. */
  g_source_set_can_recurse (&redis->source, TRUE);
  return &redis->source;
}

static void
connect_cb (const redisAsyncContext *ac, int status)
{
  PayRedisClient *self = ac->data;

  if (self == NULL)
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
  PayRedisClient *self = ac->data;
  g_autofree gchar *reason = NULL;

  if (self == NULL)
    return;   /* we dropped it ourselves */

  reason = g_strdup_printf ("connection lost: %s",
                            status == REDIS_OK || ac->errstr[0] == '\0' ? "closed" : ac->errstr);
  self->ac = NULL;
  connection_down (self, reason);
}

/* The reply to AUTH, SELECT (@privdata NULL) or a script's SCRIPT LOAD (@privdata the
 * Script). */
static void
setup_reply_cb (redisAsyncContext *ac, void *reply_data, void *privdata)
{
  PayRedisClient *self = ac->data;
  redisReply *reply = reply_data;
  const Script *script = privdata;

  /* NULL: the connection is going away, which its own callback reports. */
  if (reply == NULL || self == NULL)
    return;

  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_autofree gchar *reason = g_strdup_printf ("connection set-up refused: %s", reply->str);

      drop_connection (self, reason);
      return;
    }
  if (script != NULL &&
      (reply->type != REDIS_REPLY_STRING || strcmp (reply->str, script->sha) != 0))
    {
      drop_connection (self, "SCRIPT LOAD answered another SHA1");
      return;
    }
  if (--self->setup_pending == 0 && (ac->c.flags & REDIS_CONNECTED))
    set_ready (self);
}

static gboolean
watchdog_cb (gpointer data)
{
  PayRedisClient *self = data;
  gint64 now = g_get_monotonic_time ();
  guint connect_ms = MAX (self->settings.timeout_ms, PAY_REDIS_MIN_CONNECT_TIMEOUT_MS);
  guint stall_ms = MAX (2 * self->settings.timeout_ms, PAY_REDIS_MIN_STALL_MS);

  expire_waiting (self, FALSE, G_IO_ERROR_TIMED_OUT, "no reply in time");
  if (self->ac == NULL)
    return G_SOURCE_CONTINUE;

  if (!self->ready && now - self->connect_started_us > connect_ms * G_TIME_SPAN_MILLISECOND)
    drop_connection (self, "connect timeout");
  else if (self->ready && self->replies_pending > 0 &&
           now - self->last_progress_us > stall_ms * G_TIME_SPAN_MILLISECOND)
    drop_connection (self, "no reply from Redis");
  return G_SOURCE_CONTINUE;
}

/* Queues the set-up commands, which hiredis sends once connected. */
static void
queue_setup (PayRedisClient *self)
{
  redisAsyncContext *ac = self->ac;

  self->setup_pending = 0;
  if (self->settings.password != NULL && self->settings.password[0] != '\0' &&
      redisAsyncCommand (ac, setup_reply_cb, NULL, "AUTH %s", self->settings.password) == REDIS_OK)
    self->setup_pending++;
  if (self->settings.db != 0 &&
      redisAsyncCommand (ac, setup_reply_cb, NULL, "SELECT %u", self->settings.db) == REDIS_OK)
    self->setup_pending++;
  for (guint i = 0; i < self->scripts->len; i++)
    {
      Script *script = g_ptr_array_index (self->scripts, i);

      if (redisAsyncCommand (ac, setup_reply_cb, script, "SCRIPT LOAD %s",
                             script->text) == REDIS_OK)
        self->setup_pending++;
    }
}

static void
connect_now (PayRedisClient *self)
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
  ac->c.reader->fn = &reply_functions;
  self->ac = ac;
  self->source = source_new (ac);
  g_source_attach (self->source, self->context);
  /* After the source is attached: setting the connect callback arms the write event. */
  redisAsyncSetConnectCallback (ac, connect_cb);
  redisAsyncSetDisconnectCallback (ac, disconnect_cb);

  self->connect_started_us = g_get_monotonic_time ();
  queue_setup (self);

  period_ms = CLAMP (self->settings.timeout_ms / 2, PAY_REDIS_WATCHDOG_MIN_MS,
                     PAY_REDIS_WATCHDOG_MAX_MS);
  stop_watchdog (self);
  self->watchdog = g_timeout_source_new (period_ms);
  g_source_set_callback (self->watchdog, watchdog_cb, self, NULL);
  g_source_attach (self->watchdog, self->context);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
script_free (gpointer data)
{
  Script *script = data;

  g_free (script->text);
  g_free (script);
}

static void
pay_redis_client_init (PayRedisClient *self)
{
  g_mutex_init (&self->stats_lock);
  self->backoff_ms = PAY_REDIS_BACKOFF_INITIAL_MS;
  self->scripts = g_ptr_array_new_with_free_func (script_free);
}

static void
pay_redis_client_dispose (GObject *object)
{
  PayRedisClient *self = PAY_REDIS_CLIENT (object);

  if (self->context != NULL)
    pay_redis_client_stop (self);

  G_OBJECT_CLASS (pay_redis_client_parent_class)->dispose (object);
}

static void
pay_redis_client_finalize (GObject *object)
{
  PayRedisClient *self = PAY_REDIS_CLIENT (object);

  g_clear_pointer (&self->settings.host, g_free);
  g_clear_pointer (&self->settings.password, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->scripts, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->stats_lock);

  G_OBJECT_CLASS (pay_redis_client_parent_class)->finalize (object);
}

static void
pay_redis_client_class_init (PayRedisClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_redis_client_dispose;
  object_class->finalize = pay_redis_client_finalize;
}

/* ---- public API --------------------------------------------------------------------- */

PayRedisClient *
pay_redis_client_new (const PayRedisSettings *settings, const gchar *name, GMainContext *context)
{
  PayRedisClient *self;

  g_return_val_if_fail (settings != NULL, NULL);
  g_return_val_if_fail (settings->host != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  self = g_object_new (PAY_TYPE_REDIS_CLIENT, NULL);
  self->settings = *settings;
  self->settings.host = g_strdup (settings->host);
  self->settings.password = g_strdup (settings->password);
  self->name = g_strdup (name);
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref (g_main_context_default ());
  return self;
}

const gchar *
pay_redis_client_add_script (PayRedisClient *self, const gchar *script)
{
  Script *added;
  g_autofree gchar *sha = NULL;

  g_return_val_if_fail (PAY_IS_REDIS_CLIENT (self), NULL);
  g_return_val_if_fail (script != NULL, NULL);

  sha = g_compute_checksum_for_string (G_CHECKSUM_SHA1, script, -1);
  added = g_new0 (Script, 1);
  added->text = g_strdup (script);
  g_strlcpy (added->sha, sha, sizeof added->sha);
  g_ptr_array_add (self->scripts, added);
  return added->sha;
}

void
pay_redis_client_start (PayRedisClient *self)
{
  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));

  if (self->running)
    return;
  self->running = TRUE;
  self->backoff_ms = PAY_REDIS_BACKOFF_INITIAL_MS;
  if (self->ac == NULL && self->retry == NULL)
    connect_now (self);
}

void
pay_redis_client_stop (PayRedisClient *self)
{
  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));

  self->running = FALSE;
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_clear_pointer (&self->retry, g_source_unref);
    }
  drop_connection (self, NULL);
}

void
pay_redis_client_reconnect (PayRedisClient *self, const gchar *reason)
{
  g_return_if_fail (PAY_IS_REDIS_CLIENT (self));
  g_return_if_fail (reason != NULL);

  drop_connection (self, reason);
}

gboolean
pay_redis_client_is_connected (PayRedisClient *self)
{
  g_return_val_if_fail (PAY_IS_REDIS_CLIENT (self), FALSE);

  return g_atomic_int_get (&self->connected);
}
