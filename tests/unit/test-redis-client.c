/* test-redis-client.c: PayRedisClient against a real redis-server, started here on a
 * loopback port (redis-server must be installed; scripts/install-deps does it): one callback
 * per command, replies in order, error replies as replies, the set-up commands and
 * scripts on every new connection, deadlines, dropping a stalled connection, and
 * reconnecting after the server went away. */
#include <gio/gio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "storage/pay-redis-client.h"
#include "test-utils.h"

/* How long a wait for a condition may take before the test fails instead of hanging: a
 * guard, not a measurement. */
#define GIVE_UP_SECONDS 60

typedef struct {
  gchar          *binary;     /* redis-server */
  guint16         port;
  GSubprocess    *server;
  PayRedisClient *client;
} Fixture;

/* One command's outcome as its callback saw it. */
typedef struct {
  guint      calls;
  gint       type;            /* the reply's type; 0 when there was none */
  gchar     *str;
  GError    *error;
  guint     *order;           /* when set: ++*order at the call, kept in @position */
  guint      position;
} Outcome;

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->str, g_free);
  g_clear_error (&outcome->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Outcome, outcome_clear)

static void
record_cb (PayRedisClient *client, const redisReply *reply, const GError *error,
           gpointer user_data)
{
  Outcome *outcome = user_data;

  g_assert_true (PAY_IS_REDIS_CLIENT (client));
  g_assert_true ((reply == NULL) != (error == NULL));
  outcome->calls++;
  if (outcome->order != NULL)
    outcome->position = ++*outcome->order;
  if (reply != NULL)
    {
      outcome->type = reply->type;
      if (reply->str != NULL)
        outcome->str = g_strndup (reply->str, reply->len);
    }
  else
    outcome->error = g_error_copy (error);
}

/* Sends the command whose arguments follow (NULL-terminated), recording into @outcome. */
static void
send_command (PayRedisClient *client, Outcome *outcome, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const gchar *arg;
  va_list ap;

  va_start (ap, outcome);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  pay_redis_client_command (client, args->len, (const char **) args->pdata, NULL, record_cb,
                            outcome);
}

static gboolean
keep_polling (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the default context until @done (@data) holds. */
static void
run_until (gboolean (*done) (gpointer data), gpointer data)
{
  gint64 give_up = g_get_monotonic_time () + GIVE_UP_SECONDS * G_TIME_SPAN_SECOND;
  guint poll_id = g_timeout_add (50, keep_polling, NULL);

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (poll_id);
}

static gboolean
answered (gpointer data)
{
  return ((Outcome *) data)->calls > 0;
}

static gboolean
connected (gpointer data)
{
  return pay_redis_client_is_connected (data);
}

static gboolean
disconnected (gpointer data)
{
  return !pay_redis_client_is_connected (data);
}

static gboolean
failed_once (gpointer data)
{
  return pay_redis_client_get_error_count (data) > 0;
}

/* Sends the command that follows and waits for its outcome. */
#define ROUND_TRIP(client, outcome, ...) \
  G_STMT_START { send_command ((client), (outcome), __VA_ARGS__, NULL); \
                 run_until (answered, (outcome)); } G_STMT_END

/* In the server's process: it dies with the test, even one that aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
server_start (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port = g_strdup_printf ("%u", f->port);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                               G_SUBPROCESS_FLAGS_STDERR_SILENCE);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  f->server = g_subprocess_launcher_spawn (launcher, &error, f->binary, "--bind", "127.0.0.1",
                                           "--port", port, "--save", "", "--appendonly", "no",
                                           NULL);
  g_assert_no_error (error);
}

static void
server_stop (Fixture *f)
{
  if (f->server == NULL)
    return;
  g_subprocess_force_exit (f->server);
  g_subprocess_wait (f->server, NULL, NULL);
  g_clear_object (&f->server);
}

/* A client of the server on f->port. */
static PayRedisClient *
client_new (Fixture *f, guint timeout_ms, guint db, const gchar *password)
{
  PayRedisSettings settings = { .host = "127.0.0.1", .port = f->port,
                                .password = (gchar *) password,
                                .db = db, .timeout_ms = timeout_ms };

  return pay_redis_client_new (&settings, "test", NULL);
}

/* A client of the server on f->port that has loaded @script (may be NULL; its SHA1 into
 * *@sha), once connected. */
static PayRedisClient *
connected_client (Fixture *f, guint timeout_ms, guint db, const gchar *script, const gchar **sha)
{
  PayRedisClient *client = client_new (f, timeout_ms, db, NULL);

  if (script != NULL)
    *sha = pay_redis_client_add_script (client, script);
  pay_redis_client_start (client);
  run_until (connected, client);
  return client;
}

/* Waits until the server answers, so that the tests' clients connect at the first
 * attempt. */
static void
server_wait_ready (Fixture *f)
{
  g_autoptr(PayRedisClient) probe = connected_client (f, 5000, 0, NULL, NULL);

  pay_redis_client_stop (probe);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->binary = g_find_program_in_path ("redis-server");
  if (f->binary == NULL)
    g_error ("redis-server is not installed (scripts/install-deps installs it)");
  f->port = pay_test_unused_loopback_port ();
  server_start (f);
  server_wait_ready (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->client != NULL)
    {
      pay_redis_client_stop (f->client);
      g_assert_finalize_object (f->client);
    }
  server_stop (f);
  g_free (f->binary);
}

/* Not started: a command fails before pay_redis_client_command() returns, and counting
 * it is its user's business. */
static void
test_not_connected (Fixture *f, gconstpointer data)
{
  g_auto(Outcome) outcome = { 0 };

  f->port = f->port != 0 ? f->port : pay_test_unused_loopback_port ();
  f->client = client_new (f, 1000, 0, NULL);
  send_command (f->client, &outcome, "PING", NULL);
  g_assert_cmpuint (outcome.calls, ==, 1);
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_false (pay_redis_client_is_connected (f->client));
  g_assert_cmpuint (pay_redis_client_get_error_count (f->client), ==, 0);
}

/* Replies in the order sent (a command sent preformatted among them), an error reply as
 * a reply, the script loaded on connecting and the database selected. */
static void
test_commands (Fixture *f, gconstpointer data)
{
  g_auto(Outcome) set = { 0 };
  g_auto(Outcome) get = { 0 };
  g_auto(Outcome) incr = { 0 };
  g_auto(Outcome) eval = { 0 };
  g_auto(Outcome) formatted = { 0 };
  g_auto(Outcome) other_db = { 0 };
  char *get_key = NULL;
  int get_key_len;
  g_autofree gchar *expected_sha = NULL;
  g_autoptr(PayRedisClient) db0 = NULL;
  const gchar *sha;
  guint order = 0;

  f->client = connected_client (f, 5000, 2, "return 'script:' .. ARGV[1]", &sha);
  expected_sha = g_compute_checksum_for_string (G_CHECKSUM_SHA1, "return 'script:' .. ARGV[1]", -1);
  g_assert_cmpstr (sha, ==, expected_sha);

  set.order = get.order = incr.order = eval.order = formatted.order = &order;
  send_command (f->client, &set, "SET", "key", "value", NULL);
  send_command (f->client, &get, "GET", "key", NULL);
  send_command (f->client, &incr, "INCR", "key", NULL);
  send_command (f->client, &eval, "EVALSHA", sha, "0", "run", NULL);
  get_key_len = redisFormatCommand (&get_key, "GET key");
  g_assert_cmpint (get_key_len, >, 0);
  pay_redis_client_command_formatted (f->client, get_key, (gsize) get_key_len, record_cb,
                                      &formatted);
  redisFreeCommand (get_key);
  run_until (answered, &formatted);

  g_assert_cmpuint (set.position, ==, 1);
  g_assert_cmpint (set.type, ==, REDIS_REPLY_STATUS);
  g_assert_cmpstr (set.str, ==, "OK");
  g_assert_cmpuint (get.position, ==, 2);
  g_assert_cmpint (get.type, ==, REDIS_REPLY_STRING);
  g_assert_cmpstr (get.str, ==, "value");
  g_assert_cmpuint (incr.position, ==, 3);
  g_assert_null (incr.error);
  g_assert_cmpint (incr.type, ==, REDIS_REPLY_ERROR);
  g_assert_cmpuint (eval.position, ==, 4);
  g_assert_cmpstr (eval.str, ==, "script:run");
  g_assert_cmpuint (formatted.position, ==, 5);
  g_assert_cmpstr (formatted.str, ==, "value");
  g_assert_cmpuint (set.calls + get.calls + incr.calls + eval.calls + formatted.calls, ==, 5);

  /* SELECT 2 was sent: database 0 does not have the key. */
  db0 = connected_client (f, 5000, 0, NULL, NULL);
  ROUND_TRIP (db0, &other_db, "GET", "key");
  g_assert_cmpint (other_db.type, ==, REDIS_REPLY_NIL);
  pay_redis_client_stop (db0);
  g_assert_cmpuint (pay_redis_client_get_error_count (f->client), ==, 0);
}

/* What check_large_reply() saw: the reply a script returns, a nested array with an
 * integer and strings larger than a reply's block. */
static void
check_large_reply (PayRedisClient *client, const redisReply *reply, const GError *error,
                   gpointer user_data)
{
  gboolean *checked = user_data;
  const redisReply *inner;

  g_assert_no_error (error);
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  g_assert_cmpuint (reply->elements, ==, 301);
  g_assert_cmpint (reply->element[0]->type, ==, REDIS_REPLY_INTEGER);
  g_assert_cmpint (reply->element[0]->integer, ==, 7);
  inner = reply->element[1];
  g_assert_cmpint (inner->type, ==, REDIS_REPLY_ARRAY);
  g_assert_cmpuint (inner->elements, ==, 2);
  g_assert_cmpstr (inner->element[0]->str, ==, "a");
  g_assert_cmpuint (inner->element[1]->len, ==, 5000);
  for (gsize i = 0; i < 5000; i++)
    g_assert_cmpint (inner->element[1]->str[i], ==, 'x');
  g_assert_cmpint (inner->element[1]->str[5000], ==, '\0');
  for (gsize i = 2; i < reply->elements; i++)
    {
      g_autofree gchar *want = g_strdup_printf ("v%" G_GSIZE_FORMAT, i);

      g_assert_cmpint (reply->element[i]->type, ==, REDIS_REPLY_STRING);
      g_assert_cmpstr (reply->element[i]->str, ==, want);
    }
  *checked = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* A reply larger than the memory one reply is built in, nested, with every element
 * type, arrives whole. */
static void
test_large_reply (Fixture *f, gconstpointer data)
{
  const char *argv[] = {
    "EVAL",
    "local t = {7, {'a', string.rep('x', 5000)}} "
    "for i = 2, 300 do t[#t + 1] = 'v' .. i end return t",
    "0",
  };
  gboolean checked = FALSE;

  f->client = connected_client (f, 5000, 0, NULL, NULL);
  pay_redis_client_command (f->client, G_N_ELEMENTS (argv), argv, NULL, check_large_reply,
                            &checked);
  run_until (is_true, &checked);
}

/* A command with no reply within timeout_ms fails, and so does the one behind it; a
 * connection that answers nothing at all is dropped (a failure counted) and a new one
 * made. */
static void
test_deadline (Fixture *f, gconstpointer data)
{
  g_auto(Outcome) blocked = { 0 };
  g_auto(Outcome) behind = { 0 };
  g_auto(Outcome) after = { 0 };

  f->client = connected_client (f, 100, 0, NULL, NULL);

  send_command (f->client, &blocked, "BLPOP", "nothing", "0", NULL);
  send_command (f->client, &behind, "PING", NULL);
  run_until (answered, &behind);
  g_assert_error (blocked.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_error (behind.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  run_until (failed_once, f->client);
  run_until (connected, f->client);
  ROUND_TRIP (f->client, &after, "PING");
  g_assert_cmpstr (after.str, ==, "PONG");
  /* Each callback ran once, even though the connection went away after the deadline. */
  g_assert_cmpuint (blocked.calls, ==, 1);
  g_assert_cmpuint (behind.calls, ==, 1);
}

/* The server goes away and comes back empty: the client reconnects by itself and loads
 * its script again. An explicit reconnect fails what is waiting before it returns. */
static void
test_reconnect (Fixture *f, gconstpointer data)
{
  g_auto(Outcome) down = { 0 };
  g_auto(Outcome) eval = { 0 };
  g_auto(Outcome) waiting = { 0 };
  g_auto(Outcome) again = { 0 };
  const gchar *sha;
  guint64 errors;

  f->client = connected_client (f, 5000, 0, "return 7", &sha);

  server_stop (f);
  run_until (disconnected, f->client);
  g_assert_cmpuint (pay_redis_client_get_error_count (f->client), >, 0);
  send_command (f->client, &down, "PING", NULL);
  g_assert_error (down.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);

  server_start (f);
  run_until (connected, f->client);
  ROUND_TRIP (f->client, &eval, "EVALSHA", sha, "0");
  g_assert_cmpint (eval.type, ==, REDIS_REPLY_INTEGER);

  errors = pay_redis_client_get_error_count (f->client);
  send_command (f->client, &waiting, "BLPOP", "nothing", "0", NULL);
  pay_redis_client_reconnect (f->client, "test reconnect");
  g_assert_cmpuint (waiting.calls, ==, 1);
  g_assert_error (waiting.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpuint (pay_redis_client_get_error_count (f->client), ==, errors + 1);
  g_assert_false (pay_redis_client_is_connected (f->client));
  run_until (connected, f->client);
  ROUND_TRIP (f->client, &again, "PING");
  g_assert_cmpstr (again.str, ==, "PONG");
}

/* A set-up command refused (AUTH to a server without a password): never connected, and
 * counted. */
static void
test_setup_refused (Fixture *f, gconstpointer data)
{
  f->client = client_new (f, 5000, 0, "not-this-one");
  pay_redis_client_start (f->client);
  run_until (failed_once, f->client);
  g_assert_false (pay_redis_client_is_connected (f->client));
}

/* Redis refusing writes while answering reads makes every request fail and then succeed:
 * the log says so once, not twice per request (the soak saw 229 pairs a second). */
static void
test_flapping_logged_once (Fixture *f, gconstpointer data)
{
  f->client = client_new (f, 5000, 0, NULL);
  g_test_expect_message ("payment-storage", G_LOG_LEVEL_WARNING, "*failing: refused*");
  g_test_expect_message ("payment-storage", G_LOG_LEVEL_MESSAGE, "*working again*");
  g_test_expect_message ("payment-storage-test", G_LOG_LEVEL_MESSAGE, "end of flapping");
  for (guint i = 0; i < 100; i++)
    {
      pay_redis_client_note_failure (f->client, "refused");
      pay_redis_client_note_success (f->client);
    }
  g_log ("payment-storage-test", G_LOG_LEVEL_MESSAGE, "end of flapping");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (pay_redis_client_get_error_count (f->client), ==, 100);
}


int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* Failures are provoked on purpose, and the client logs them as warnings. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add ("/payment/redis-client/not-connected", Fixture, NULL, fixture_setup,
              test_not_connected, fixture_teardown);
  g_test_add ("/payment/redis-client/commands", Fixture, NULL, fixture_setup, test_commands,
              fixture_teardown);
  g_test_add ("/payment/redis-client/large-reply", Fixture, NULL, fixture_setup,
              test_large_reply, fixture_teardown);
  g_test_add ("/payment/redis-client/deadline", Fixture, NULL, fixture_setup, test_deadline,
              fixture_teardown);
  g_test_add ("/payment/redis-client/reconnect", Fixture, NULL, fixture_setup, test_reconnect,
              fixture_teardown);
  g_test_add ("/payment/redis-client/setup-refused", Fixture, NULL, fixture_setup,
              test_setup_refused, fixture_teardown);
  g_test_add ("/payment/redis-client/flapping-logged-once", Fixture, NULL, fixture_setup,
              test_flapping_logged_once, fixture_teardown);
  return g_test_run ();
}
