/* pay-redis-client.h: one Redis connection through hiredis's async API on a GMainContext:
 * connects in the background and reconnects with capped backoff, runs set-up commands on
 * each new connection (AUTH, SELECT, SCRIPT LOAD of the scripts it was given), gives
 * every command a deadline, drops a connection that stops answering, and keeps the books
 * of failures (counted, logged once per change of state). It knows nothing of what its
 * user stores.
 *
 * Threading: pay_redis_client_new(), the getters and the failure books may be used from
 * any thread; everything else, and every callback, belongs to the context's thread. */
#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

#include "core/pay-config.h"

G_BEGIN_DECLS

#define PAY_TYPE_REDIS_CLIENT (pay_redis_client_get_type ())
G_DECLARE_FINAL_TYPE (PayRedisClient, pay_redis_client, PAY, REDIS_CLIENT, GObject)

/* Reconnect delays: doubled after every failed attempt, back to the first on success. */
#define PAY_REDIS_BACKOFF_INITIAL_MS 100
#define PAY_REDIS_BACKOFF_MAX_MS     5000

/* The one callback style of a command: called exactly once per command, on the context's
 * thread. Either @reply is the server's reply (valid only during the call; an error reply,
 * REDIS_REPLY_ERROR, is a reply: the caller decides what it means) and @error is NULL, or
 * @reply is NULL and @error (G_IO_ERROR) says why there is none:
 *   G_IO_ERROR_NOT_CONNECTED      not connected (called before the command returns),
 *                                 or hiredis would not queue the command;
 *   G_IO_ERROR_TIMED_OUT          no reply within settings->timeout_ms (a reply coming
 *                                 later is dropped);
 *   G_IO_ERROR_CONNECTION_CLOSED  the connection went away first.
 * The message is a short reason for a log line. */
typedef void (*PayRedisReplyFunc) (PayRedisClient   *client,
                                   const redisReply *reply,
                                   const GError     *error,
                                   gpointer          user_data);

/* Connects to settings->host:port (settings->password: AUTH first when not empty;
 * settings->db: SELECT when not 0; settings->timeout_ms: the connect and per-command
 * deadline; settings->ttl_seconds is not used). @settings is copied. @name says what the
 * connection serves, in log lines ("cache": "Redis cache at host:port failing: ...").
 * @context: where hiredis runs (NULL: the global default context). Drop the last
 * reference on @context's thread, after pay_redis_client_stop(). */
PayRedisClient *pay_redis_client_new (const PayRedisSettings *settings,
                                      const gchar            *name,
                                      GMainContext           *context);

/* Has every new connection load @script (SCRIPT LOAD, checked against its SHA1) before it
 * counts as connected. Returns the script's SHA1 in hex, for EVALSHA: owned by the client,
 * valid as long as it is. Call before pay_redis_client_start(). */
const gchar *pay_redis_client_add_script (PayRedisClient *self, const gchar *script);

/* Connects in the background; reconnects by itself after a failure. */
void pay_redis_client_start (PayRedisClient *self);

/* Stops reconnecting and disconnects: every command waiting fails (CONNECTION_CLOSED)
 * before this returns. */
void pay_redis_client_stop (PayRedisClient *self);

/* Drops the current connection, counting @reason as a failure, and connects again after
 * the backoff: for a user that found the connection unfit (e.g. the server lost a script,
 * NOSCRIPT). Every command waiting fails (CONNECTION_CLOSED) before this returns. */
void pay_redis_client_reconnect (PayRedisClient *self, const gchar *reason);

/* TRUE while a connection is up and set up (any thread). */
gboolean pay_redis_client_is_connected (PayRedisClient *self);

/* Sends one command (@argc arguments: @argv[i] of @lens[i] bytes; @lens NULL: each is a
 * NUL-terminated string), pipelined behind those still waiting for their reply. @func
 * (may be NULL) gets the outcome, possibly before this returns. */
void pay_redis_client_command (PayRedisClient    *self,
                               int                argc,
                               const char       **argv,
                               const size_t      *lens,
                               PayRedisReplyFunc  func,
                               gpointer           user_data);

/* The same for a command already in Redis's protocol (@len bytes of @formatted: what
 * redisFormatCommandArgv() makes; the caller may reuse it once this returns), for a
 * command sent often with a fixed shape, formatted once and patched per use. */
void pay_redis_client_command_formatted (PayRedisClient    *self,
                                         const gchar       *formatted,
                                         gsize              len,
                                         PayRedisReplyFunc  func,
                                         gpointer           user_data);

/* The failure books. The client counts its connection's failures itself (cannot connect,
 * set-up refused, connection lost, connect timeout, no reply at all); what a command's
 * outcome means is its user's to judge, so the user counts each of its operations once,
 * whatever number of commands it took. A failure is logged at most once per 10 s (with
 * the count of those not logged), a success after a logged failure logs the recovery:
 * a server failing every other command writes two lines per 10 s, not two per request.
 * Any thread. */
void    pay_redis_client_note_failure    (PayRedisClient *self, const gchar *reason);
void    pay_redis_client_note_success    (PayRedisClient *self);
guint64 pay_redis_client_get_error_count (PayRedisClient *self);

G_END_DECLS
