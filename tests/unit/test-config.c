/* test-config.c: tests of configuration loading: defaults, the shipped file, file
 * values, environment overrides, and errors that name the offending key. */
#include <glib/gstdio.h>
#include <string.h>

#include "core/pay-config.h"
#include "test-utils.h"

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                            */
/* ---------------------------------------------------------------------------------- */

/* A temporary file's path; freeing it deletes the file. */
typedef gchar TempPath;

static void
temp_path_free (TempPath *path)
{
  if (path == NULL)
    return;
  g_unlink (path);
  g_free (path);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TempPath, temp_path_free)

/* Writes @contents to a new temporary file and returns its path. */
static TempPath *
write_config (const gchar *contents)
{
  g_autoptr(GError) error = NULL;
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("test-config-XXXXXX.conf", &path, &error);

  g_assert_no_error (error);
  g_close (fd, NULL);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Fails the test unless @error is a PAY_CONFIG_ERROR @code whose message contains every
 * string in the NULL-terminated list. */
static void
assert_config_error (const GError *error, PayConfigError code, ...)
{
  va_list ap;

  g_assert_error (error, PAY_CONFIG_ERROR, (gint) code);
  va_start (ap, code);
  for (const gchar *part = va_arg (ap, const gchar *); part != NULL;
       part = va_arg (ap, const gchar *))
    if (strstr (error->message, part) == NULL)
      g_error ("message \"%s\" lacks \"%s\"", error->message, part);
  va_end (ap);
}

/* Asserts that @config holds the default of every key (docs/CONTRACT.md section 6 and the
 * storage tuning keys). */
static void
assert_defaults (const PayConfig *config)
{
  g_assert_cmpstr (config->server.host, ==, "0.0.0.0");
  g_assert_cmpuint (config->server.rpc_port, ==, 8885);
  g_assert_cmpuint (config->server.http_port, ==, 8005);
  g_assert_cmpuint (config->server.max_frame_bytes, ==, 1048576);
  g_assert_cmpuint (config->server.idle_timeout_seconds, ==, 600);
  g_assert_cmpuint (config->server.read_timeout_seconds, ==, 10);
  g_assert_cmpuint (config->server.http_idle_timeout_seconds, ==, 60);
  g_assert_cmpuint (config->server.max_connections, ==, 4096);
  g_assert_cmpuint (config->server.shutdown_grace_seconds, ==, 10);
  g_assert_null (config->server.rpc_allow);
  g_assert_null (config->http.tls_cert_file);
  g_assert_null (config->http.tls_key_file);

  g_assert_cmpstr (config->mysql.host, ==, "127.0.0.1");
  g_assert_cmpuint (config->mysql.port, ==, 3306);
  g_assert_cmpstr (config->mysql.user, ==, "root");
  g_assert_null (config->mysql.password);
  g_assert_cmpstr (config->mysql.database, ==, "payment");
  g_assert_null (config->mysql.socket);
  g_assert_cmpuint (config->mysql.pool_size, ==, 16);
  g_assert_cmpuint (config->mysql.connect_timeout_seconds, ==, 3);
  g_assert_cmpuint (config->mysql.read_timeout_seconds, ==, 5);
  g_assert_cmpuint (config->mysql.write_timeout_seconds, ==, 5);
  g_assert_cmpuint (config->mysql.lock_wait_timeout_seconds, ==, 3);

  g_assert_cmpstr (config->redis.host, ==, "127.0.0.1");
  g_assert_cmpuint (config->redis.port, ==, 6379);
  g_assert_null (config->redis.password);
  g_assert_cmpuint (config->redis.db, ==, 0);
  g_assert_cmpuint (config->redis.ttl_seconds, ==, 3600);
  g_assert_cmpuint (config->redis.timeout_ms, ==, 1000);

  g_assert_false (config->cache.required);
  g_assert_cmpint (config->payment.max_amount_cents, ==, 100000000);

  g_assert_null (config->events.nats_url);
  g_assert_cmpstr (config->events.stream, ==, "PAYMENT_EVENTS");
  g_assert_cmpuint (config->events.max_age_seconds, ==, 604800);
  g_assert_cmpuint (config->events.duplicate_window_seconds, ==, 120);
  g_assert_cmpuint (config->events.max_in_flight, ==, 256);
  g_assert_cmpuint (config->events.batch_size, ==, 256);
  g_assert_cmpuint (config->events.gap_wait_seconds, ==, 30);
  g_assert_cmpstr (config->events.lock_name, ==, "payment_events_relay");

  g_assert_null (config->consul.address);
  g_assert_cmpstr (config->consul.service_name, ==, "payment");
  g_assert_null (config->consul.token);
  g_assert_null (config->consul.advertise_address);
  g_assert_cmpuint (config->consul.check_interval_seconds, ==, 5);
  g_assert_cmpuint (config->consul.deregister_critical_after_seconds, ==, 60);
  g_assert_cmpuint (config->consul.sync_interval_seconds, ==, 10);
  g_assert_cmpuint (config->consul.deregister_delay_seconds, ==, 0);

  g_assert_cmpuint (config->limits.rate_per_second, ==, 0);
  g_assert_cmpuint (config->limits.burst, ==, 0);

  g_assert_cmpint (config->log.level, ==, G_LOG_LEVEL_INFO);
  g_assert_false (config->log.json);

  g_assert_null (config->auth.keys_file);
  g_assert_false (config->auth.protect_metrics);
}

/* ---------------------------------------------------------------------------------- */
/* Defaults and whole files                                                           */
/* ---------------------------------------------------------------------------------- */

static void
test_defaults (void)
{
  g_autoptr(PayConfig) config = pay_config_new_defaults ();

  assert_defaults (config);
}

static void
test_load_nothing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (NULL, NULL, &error);

  g_assert_no_error (error);
  assert_defaults (config);
}

/* The shipped conf/payment.conf names every key with its default. */
static void
test_shipped_file (void)
{
  g_autofree gchar *path = g_build_filename (PAYMENT_SOURCE_DIR, "conf", "payment.conf", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, NULL, &error);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  gsize keys = 0;

  g_assert_no_error (error);
  assert_defaults (config);

  /* Every key is spelled out, not left to the default. */
  g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (file, NULL);
  for (gsize i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) names = g_key_file_get_keys (file, groups[i], NULL, NULL);

      keys += g_strv_length (names);
    }
  g_assert_cmpuint (keys, ==, 53);
}

static const gchar every_key_file[] =
  "# every key, none at its default\n"
  "[server]\n"
  "host = 127.0.0.2\n"
  "rpc_port = 0\n"
  "http_port = 65535\n"
  "max_frame_bytes = 16\n"
  "idle_timeout_seconds = 1\n"
  "read_timeout_seconds = 2\n"
  "http_idle_timeout_seconds = 3\n"
  "max_connections = 1000000\n"
  "shutdown_grace_seconds = 86400\n"
  "[mysql]\n"
  "host=db.internal\n"
  "port=3307\n"
  "user=payment\n"
  "password=s3cret\n"
  "database=pay\n"
  "socket=/run/mysqld/mysqld.sock\n"
  "pool_size=256\n"
  "connect_timeout_seconds=4\n"
  "read_timeout_seconds=6\n"
  "write_timeout_seconds=7\n"
  "lock_wait_timeout_seconds=8\n"
  "[redis]\n"
  "host=cache.internal\n"
  "port=6380\n"
  "password=r3dis\n"
  "db=15\n"
  "ttl_seconds=60\n"
  "timeout_ms=250\n"
  "[cache]\n"
  "required=true\n"
  "[payment]\n"
  "max_amount=2500.5\n"
  "[events]\n"
  "nats_url=nats://127.0.0.1:4223, nats://127.0.0.1:4224\n"
  "stream=PAY-EU_1\n"
  "max_age_seconds=86400\n"
  "duplicate_window_seconds=600\n"
  "max_in_flight=65536\n"
  "batch_size=10000\n"
  "gap_wait_seconds=3600\n"
  "lock_name=relay eu\n"
  "[consul]\n"
  "address=http://127.0.0.1:8500\n"
  "service_name=payment-eu\n"
  "token=abc-123\n"
  "advertise_address=10.0.0.7\n"
  "check_interval_seconds=3\n"
  "deregister_critical_after_seconds=90\n"
  "sync_interval_seconds=2\n"
  "deregister_delay_seconds=6\n"
  "[log]\n"
  "level=debug\n"
  "format=json\n";

static void
test_file_values (void)
{
  g_autoptr(TempPath) path = write_config (every_key_file);
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->server.host, ==, "127.0.0.2");
  g_assert_cmpuint (config->server.rpc_port, ==, 0);
  g_assert_cmpuint (config->server.http_port, ==, 65535);
  g_assert_cmpuint (config->server.max_frame_bytes, ==, 16);
  g_assert_cmpuint (config->server.idle_timeout_seconds, ==, 1);
  g_assert_cmpuint (config->server.read_timeout_seconds, ==, 2);
  g_assert_cmpuint (config->server.http_idle_timeout_seconds, ==, 3);
  g_assert_cmpuint (config->server.max_connections, ==, 1000000);
  g_assert_cmpuint (config->server.shutdown_grace_seconds, ==, 86400);
  g_assert_cmpstr (config->mysql.host, ==, "db.internal");
  g_assert_cmpuint (config->mysql.port, ==, 3307);
  g_assert_cmpstr (config->mysql.user, ==, "payment");
  g_assert_cmpstr (config->mysql.password, ==, "s3cret");
  g_assert_cmpstr (config->mysql.database, ==, "pay");
  g_assert_cmpstr (config->mysql.socket, ==, "/run/mysqld/mysqld.sock");
  g_assert_cmpuint (config->mysql.pool_size, ==, 256);
  g_assert_cmpuint (config->mysql.connect_timeout_seconds, ==, 4);
  g_assert_cmpuint (config->mysql.read_timeout_seconds, ==, 6);
  g_assert_cmpuint (config->mysql.write_timeout_seconds, ==, 7);
  g_assert_cmpuint (config->mysql.lock_wait_timeout_seconds, ==, 8);
  g_assert_cmpstr (config->redis.host, ==, "cache.internal");
  g_assert_cmpuint (config->redis.port, ==, 6380);
  g_assert_cmpstr (config->redis.password, ==, "r3dis");
  g_assert_cmpuint (config->redis.db, ==, 15);
  g_assert_cmpuint (config->redis.ttl_seconds, ==, 60);
  g_assert_cmpuint (config->redis.timeout_ms, ==, 250);
  g_assert_true (config->cache.required);
  g_assert_cmpint (config->payment.max_amount_cents, ==, 250050);
  g_assert_cmpstr (config->events.nats_url, ==, "nats://127.0.0.1:4223, nats://127.0.0.1:4224");
  g_assert_cmpstr (config->events.stream, ==, "PAY-EU_1");
  g_assert_cmpuint (config->events.max_age_seconds, ==, 86400);
  g_assert_cmpuint (config->events.duplicate_window_seconds, ==, 600);
  g_assert_cmpuint (config->events.max_in_flight, ==, 65536);
  g_assert_cmpuint (config->events.batch_size, ==, 10000);
  g_assert_cmpuint (config->events.gap_wait_seconds, ==, 3600);
  g_assert_cmpstr (config->events.lock_name, ==, "relay eu");
  g_assert_cmpstr (config->consul.address, ==, "http://127.0.0.1:8500");
  g_assert_cmpstr (config->consul.service_name, ==, "payment-eu");
  g_assert_cmpstr (config->consul.token, ==, "abc-123");
  g_assert_cmpstr (config->consul.advertise_address, ==, "10.0.0.7");
  g_assert_cmpuint (config->consul.check_interval_seconds, ==, 3);
  g_assert_cmpuint (config->consul.deregister_critical_after_seconds, ==, 90);
  g_assert_cmpuint (config->consul.sync_interval_seconds, ==, 2);
  g_assert_cmpuint (config->consul.deregister_delay_seconds, ==, 6);
  g_assert_cmpint (config->log.level, ==, G_LOG_LEVEL_DEBUG);
  g_assert_true (config->log.json);
}

/* A file naming some keys leaves the others at their defaults. */
static void
test_partial_file (void)
{
  g_autoptr(TempPath) path = write_config ("[server]\nrpc_port=9885\n[log]\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->server.rpc_port, ==, 9885);
  g_assert_cmpuint (config->server.http_port, ==, 8005);
  g_assert_cmpint (config->log.level, ==, G_LOG_LEVEL_INFO);
}

/* ---------------------------------------------------------------------------------- */
/* Environment                                                                        */
/* ---------------------------------------------------------------------------------- */

static void
test_env_overrides_file (void)
{
  g_autoptr(TempPath) path = write_config ("[server]\n"
                                           "rpc_port=9000\n"
                                           "http_port=9001\n"
                                           "[mysql]\n"
                                           "host=db.file\n"
                                           "password=from-file\n"
                                           "[log]\n"
                                           "format=json\n");
  const gchar *const env[] = {
    "PATH=/usr/bin",
    "PAYMENT_SERVER_RPC_PORT=9100",
    "PAYMENT_MYSQL_HOST=db.env",
    "PAYMENT_MYSQL_PASSWORD=",               /* empty: back to no password */
    "PAYMENT_LOG_FORMAT=text",
    "PAYMENT_CACHE_REQUIRED=yes",
    "PAYMENT_PAYMENT_MAX_AMOUNT=10",
    "PAYMENT_REDIS_TIMEOUT_MS=20",
    "PAYMENT_BINARY=/usr/bin/payment-service", /* not a key: none of our business */
    "PAYMENT_SOURCE_DIR=/src",
    "payment_server_http_port=1",            /* names are upper-case */
    NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, env, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->server.rpc_port, ==, 9100);
  g_assert_cmpuint (config->server.http_port, ==, 9001);
  g_assert_cmpstr (config->mysql.host, ==, "db.env");
  g_assert_null (config->mysql.password);
  g_assert_false (config->log.json);
  g_assert_true (config->cache.required);
  g_assert_cmpint (config->payment.max_amount_cents, ==, 1000);
  g_assert_cmpuint (config->redis.timeout_ms, ==, 20);
}

static void
test_env_without_file (void)
{
  const gchar *const env[] = {
    "PAYMENT_CONSUL_ADDRESS=127.0.0.1:8500",
    "PAYMENT_MYSQL_POOL_SIZE=1",
    "PAYMENT_MYSQL_LOCK_WAIT_TIMEOUT_SECONDS=30",
    "PAYMENT_LOG_LEVEL=WARNING",
    NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (NULL, env, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->consul.address, ==, "127.0.0.1:8500");
  g_assert_cmpuint (config->mysql.pool_size, ==, 1);
  g_assert_cmpuint (config->mysql.lock_wait_timeout_seconds, ==, 30);
  g_assert_cmpint (config->log.level, ==, G_LOG_LEVEL_WARNING);
  g_assert_cmpuint (config->server.rpc_port, ==, 8885);
}

/* The process environment is never read: only the array passed in. */
static void
test_env_not_from_process (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = NULL;

  g_setenv ("PAYMENT_SERVER_RPC_PORT", "1234", TRUE);
  config = pay_config_load (NULL, NULL, &error);
  g_unsetenv ("PAYMENT_SERVER_RPC_PORT");

  g_assert_no_error (error);
  g_assert_cmpuint (config->server.rpc_port, ==, 8885);
}

/* ---------------------------------------------------------------------------------- */
/* Good values, one key at a time                                                     */
/* ---------------------------------------------------------------------------------- */

typedef gint64 (*Getter) (const PayConfig *config);

#define GETTER(name, member) \
  static gint64 get_##name (const PayConfig *c) { return (gint64) c->member; }

GETTER (rpc_port, server.rpc_port)
GETTER (http_port, server.http_port)
GETTER (max_frame_bytes, server.max_frame_bytes)
GETTER (read_timeout, server.read_timeout_seconds)
GETTER (http_idle_timeout, server.http_idle_timeout_seconds)
GETTER (max_connections, server.max_connections)
GETTER (mysql_port, mysql.port)
GETTER (pool_size, mysql.pool_size)
GETTER (redis_db, redis.db)
GETTER (required, cache.required)
GETTER (max_amount, payment.max_amount_cents)
GETTER (rate, limits.rate_per_second)
GETTER (burst, limits.burst)
GETTER (level, log.level)
GETTER (json, log.json)

typedef struct {
  const gchar *group;
  const gchar *key;
  const gchar *text;
  Getter       get;
  gint64       expected;
} GoodCase;

static const GoodCase good_cases[] = {
  { "server",  "rpc_port",        "0",          get_rpc_port,        0 },
  { "server",  "rpc_port",        "65535",      get_rpc_port,        65535 },
  { "server",  "http_port",       "0",          get_http_port,       0 },
  { "server",  "max_frame_bytes", "1073741824", get_max_frame_bytes, 1073741824 },
  { "server",  "read_timeout_seconds", "1",     get_read_timeout,    1 },
  { "server",  "read_timeout_seconds", "86400", get_read_timeout,    86400 },
  { "server",  "http_idle_timeout_seconds", "1", get_http_idle_timeout, 1 },
  { "server",  "http_idle_timeout_seconds", "86400", get_http_idle_timeout, 86400 },
  { "server",  "max_connections", "1",          get_max_connections, 1 },
  { "server",  "max_connections", "1000000",    get_max_connections, 1000000 },
  { "mysql",   "port",            "1",          get_mysql_port,      1 },
  { "mysql",   "pool_size",       "1",          get_pool_size,       1 },
  { "mysql",   "pool_size",       "256",        get_pool_size,       256 },
  { "redis",   "db",              "0",          get_redis_db,        0 },
  { "cache",   "required",        "true",       get_required,        TRUE },
  { "cache",   "required",        "false",      get_required,        FALSE },
  { "cache",   "required",        "1",          get_required,        TRUE },
  { "cache",   "required",        "0",          get_required,        FALSE },
  { "cache",   "required",        "yes",        get_required,        TRUE },
  { "cache",   "required",        "no",         get_required,        FALSE },
  { "cache",   "required",        "True",       get_required,        TRUE },
  { "payment", "max_amount",      "5",          get_max_amount,      500 },
  { "payment", "max_amount",      "5.5",        get_max_amount,      550 },
  { "payment", "max_amount",      "12.34",      get_max_amount,      1234 },
  { "payment", "max_amount",      "0.01",       get_max_amount,      1 },
  { "payment", "max_amount",      "007.10",     get_max_amount,      710 },
  { "limits",  "rate_per_second", "1000000",    get_rate,            1000000 },
  { "limits",  "burst",           "1000000",    get_burst,           1000000 },
  { "log",     "level",           "debug",      get_level,           G_LOG_LEVEL_DEBUG },
  { "log",     "level",           "info",       get_level,           G_LOG_LEVEL_INFO },
  { "log",     "level",           "message",    get_level,           G_LOG_LEVEL_MESSAGE },
  { "log",     "level",           "warning",    get_level,           G_LOG_LEVEL_WARNING },
  { "log",     "level",           "error",      get_level,           G_LOG_LEVEL_ERROR },
  { "log",     "level",           "critical",   get_level,           G_LOG_LEVEL_CRITICAL },
  { "log",     "format",          "json",       get_json,            TRUE },
  { "log",     "format",          "text",       get_json,            FALSE },
};

/* Loads one key from a file and, separately, from the environment. */
static void
test_good_case (gconstpointer data)
{
  const GoodCase *c = data;
  g_autofree gchar *contents = g_strdup_printf ("[%s]\n%s=%s\n", c->group, c->key, c->text);
  g_autoptr(TempPath) path = write_config (contents);
  g_autofree gchar *var = g_ascii_strup (c->group, -1);
  g_autofree gchar *key = g_ascii_strup (c->key, -1);
  g_autofree gchar *assignment = g_strdup_printf ("PAYMENT_%s_%s=%s", var, key, c->text);
  const gchar *const env[] = { assignment, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) from_file = pay_config_load (path, NULL, &error);
  g_autoptr(PayConfig) from_env = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (c->get (from_file), ==, c->expected);

  from_env = pay_config_load (NULL, env, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->get (from_env), ==, c->expected);
}

/* ---------------------------------------------------------------------------------- */
/* Bad values, one key at a time                                                      */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar *group;
  const gchar *key;
  const gchar *text;
  const gchar *problem;   /* a part of the message */
} BadCase;

static const BadCase bad_cases[] = {
  { "server",  "rpc_port",                "abc",        "is not a port number" },
  { "server",  "rpc_port",                "65536",      "is not a port number" },
  { "server",  "rpc_port",                "-1",         "is not a port number" },
  { "server",  "rpc_port",                "+8885",      "is not a port number" },
  { "server",  "rpc_port",                "0x10",       "is not a port number" },
  { "server",  "rpc_port",                "8885.0",     "is not a port number" },
  { "server",  "rpc_port",                "",           "is not a port number" },
  { "server",  "http_port",               "99999999999999999999999", "is not a port number" },
  { "server",  "max_frame_bytes",         "15",         "out of range (16..1073741824)" },
  { "server",  "max_frame_bytes",         "1073741825", "out of range" },
  { "server",  "max_frame_bytes",         "1M",         "is not a whole decimal number" },
  { "server",  "idle_timeout_seconds",    "0",          "out of range" },
  { "server",  "read_timeout_seconds",    "0",          "out of range (1..86400)" },
  { "server",  "read_timeout_seconds",    "86401",      "out of range (1..86400)" },
  { "server",  "read_timeout_seconds",    "1.5",        "is not a whole decimal number" },
  { "server",  "http_idle_timeout_seconds", "0",        "out of range (1..86400)" },
  { "server",  "http_idle_timeout_seconds", "86401",    "out of range (1..86400)" },
  { "server",  "max_connections",         "0",          "out of range (1..1000000)" },
  { "server",  "max_connections",         "1000001",    "out of range (1..1000000)" },
  { "server",  "max_connections",         "-1",         "is not a whole decimal number" },
  { "server",  "shutdown_grace_seconds",  "0",          "out of range" },
  { "server",  "shutdown_grace_seconds",  "86401",      "out of range" },
  { "server",  "host",                    "",           "must not be empty" },
  { "mysql",   "port",                    "0",          "out of range (1..65535)" },
  { "mysql",   "port",                    "65536",      "is not a port number" },
  { "mysql",   "user",                    "",           "must not be empty" },
  { "mysql",   "database",                "",           "must not be empty" },
  { "mysql",   "pool_size",               "0",          "out of range (1..256)" },
  { "mysql",   "pool_size",               "257",        "out of range (1..256)" },
  { "mysql",   "connect_timeout_seconds", "0",          "out of range" },
  { "mysql",   "read_timeout_seconds",    "-5",         "is not a whole decimal number" },
  { "mysql",   "write_timeout_seconds",   "five",       "is not a whole decimal number" },
  { "mysql",   "lock_wait_timeout_seconds", "0",        "out of range" },
  { "redis",   "port",                    "0",          "out of range" },
  { "redis",   "db",                      "1.5",        "is not a whole decimal number" },
  { "redis",   "ttl_seconds",             "0",          "out of range" },
  { "redis",   "timeout_ms",              "0",          "out of range" },
  { "cache",   "required",                "maybe",      "is not a boolean" },
  { "cache",   "required",                "2",          "is not a boolean" },
  { "cache",   "required",                "",           "is not a boolean" },
  { "payment", "max_amount",              "1.001",      "at most 2 decimals" },
  { "payment", "max_amount",              "0",          "positive amount" },
  { "events",  "max_age_seconds",         "59",         "out of range (60..31536000)" },
  { "events",  "max_age_seconds",         "31536001",   "out of range (60..31536000)" },
  { "events",  "duplicate_window_seconds", "119",       "out of range (120..86400)" },
  { "events",  "duplicate_window_seconds", "86401",     "out of range (120..86400)" },
  { "events",  "max_in_flight",           "0",          "out of range (1..65536)" },
  { "events",  "max_in_flight",           "65537",      "out of range (1..65536)" },
  { "events",  "batch_size",              "0",          "out of range (1..10000)" },
  { "events",  "batch_size",              "10001",      "out of range (1..10000)" },
  { "events",  "gap_wait_seconds",        "0",          "out of range (1..3600)" },
  { "events",  "gap_wait_seconds",        "3601",       "out of range (1..3600)" },
  { "events",  "stream",                  "",           "must not be empty" },
  { "events",  "lock_name",               "",           "must not be empty" },
  { "payment", "max_amount",              "0.00",       "positive amount" },
  { "payment", "max_amount",              "-5",         "positive amount" },
  { "payment", "max_amount",              "abc",        "positive amount" },
  { "payment", "max_amount",              "1e5",        "positive amount" },
  { "payment", "max_amount",              "5.",         "positive amount" },
  { "payment", "max_amount",              ".5",         "positive amount" },
  { "payment", "max_amount",              "1,000",      "positive amount" },
  { "payment", "max_amount",              "99999999999999999999", "positive amount" },
  { "consul",  "service_name",            "",           "must not be empty" },
  { "consul",  "deregister_critical_after_seconds", "59", "out of range" },
  { "server",  "rpc_allow",               "10.0.0.1/8", "is not a list of CIDRs: \"10.0.0.1/8\" has bits set" },
  { "server",  "rpc_allow",               "10.0.0.0/33", "is not a list of CIDRs" },
  { "server",  "rpc_allow",               "10.0.0.0/8,,::1", "is not a list of CIDRs: item 2" },
  { "server",  "rpc_allow",               "localhost",  "is not a list of CIDRs" },
  { "limits",  "rate_per_second",         "1000001",    "out of range (0..1000000)" },
  { "limits",  "rate_per_second",         "1.5",        "is not a whole decimal number" },
  { "limits",  "burst",                   "-1",         "is not a whole decimal number" },
  { "limits",  "burst",                   "1000001",    "out of range (0..1000000)" },
  { "log",     "level",                   "verbose",    "is not one of debug, info" },
  { "log",     "level",                   "",           "is not one of" },
  { "log",     "format",                  "xml",        "is not one of text, json" },
};

/* The value is refused from a file, naming GROUP.KEY, and from the environment,
 * naming GROUP.KEY and the variable. */
static void
test_bad_case (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree gchar *contents = g_strdup_printf ("[%s]\n%s=%s\n", c->group, c->key, c->text);
  g_autoptr(TempPath) path = write_config (contents);
  g_autofree gchar *name = g_strdup_printf ("%s.%s", c->group, c->key);
  g_autofree gchar *quoted = g_strdup_printf ("\"%s\"", c->text);
  g_autofree gchar *upper = g_ascii_strup (name, -1);
  g_autofree gchar *var = NULL;
  g_autofree gchar *assignment = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = NULL;

  config = pay_config_load (path, NULL, &error);
  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, quoted, c->problem, NULL);
  g_assert_true (g_str_has_prefix (error->message, name));
  g_assert_null (strstr (error->message, "PAYMENT_"));
  g_clear_error (&error);

  *strchr (upper, '.') = '_';
  var = g_strconcat ("PAYMENT_", upper, NULL);
  assignment = g_strdup_printf ("%s=%s", var, c->text);
  {
    const gchar *const env[] = { assignment, NULL };

    config = pay_config_load (NULL, env, &error);
  }
  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, var, quoted, c->problem, NULL);
  g_assert_true (g_str_has_prefix (error->message, name));
}

/* The exact wording, once. */
static void
test_bad_value_message (void)
{
  g_autoptr(TempPath) path = write_config ("[server]\nrpc_port=abc\n");
  const gchar *const env[] = { "PAYMENT_REDIS_PORT=x", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, NULL, &error);

  g_assert_null (config);
  g_assert_cmpstr (error->message, ==, "server.rpc_port: \"abc\" is not a port number");
  g_clear_error (&error);

  config = pay_config_load (NULL, env, &error);
  g_assert_null (config);
  g_assert_cmpstr (error->message, ==,
                   "redis.port (from PAYMENT_REDIS_PORT): \"x\" is not a port number");
}

/* A good file value does not rescue a bad override, and vice versa. */
static void
test_bad_env_over_good_file (void)
{
  g_autoptr(TempPath) path = write_config ("[mysql]\npool_size=4\n");
  const gchar *const env[] = { "PAYMENT_MYSQL_POOL_SIZE=0", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, env, &error);

  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, "mysql.pool_size",
                       "PAYMENT_MYSQL_POOL_SIZE", NULL);
}

/* ---------------------------------------------------------------------------------- */
/* Unknown keys and unreadable files                                                  */
/* ---------------------------------------------------------------------------------- */

typedef struct {
  const gchar    *name;
  const gchar    *contents;   /* NULL: a file that does not exist */
  PayConfigError  code;
  const gchar    *part;
} FileErrorCase;

static const FileErrorCase file_error_cases[] = {
  { "unknown-key",          "[server]\nrpc_prot=8885\n",        PAY_CONFIG_ERROR_VALUE,
    "server.rpc_prot: unknown key" },
  { "unknown-key-typo-case", "[mysql]\nHost=db\n",               PAY_CONFIG_ERROR_VALUE,
    "mysql.Host: unknown key" },
  { "unknown-key-other-group", "[redis]\npool_size=3\n",         PAY_CONFIG_ERROR_VALUE,
    "redis.pool_size: unknown key" },
  { "unknown-key-localized", "[consul]\nservice_name[fr]=x\n",  PAY_CONFIG_ERROR_VALUE,
    "consul.service_name[fr]: unknown key" },
  { "unknown-group",        "[sever]\nrpc_port=8885\n",         PAY_CONFIG_ERROR_VALUE,
    "unknown group [sever]" },
  { "not-a-key-file",       "this is not a key file\n",          PAY_CONFIG_ERROR_FILE,
    "cannot load configuration" },
  { "key-outside-group",    "rpc_port=8885\n[server]\n",         PAY_CONFIG_ERROR_FILE,
    "cannot load configuration" },
  { "missing-file",         NULL,                                PAY_CONFIG_ERROR_FILE,
    "cannot load configuration" },
};

static void
test_file_error_case (gconstpointer data)
{
  const FileErrorCase *c = data;
  g_autoptr(TempPath) path = write_config (c->contents != NULL ? c->contents : "");
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = NULL;

  if (c->contents == NULL)
    g_assert_cmpint (g_unlink (path), ==, 0);

  config = pay_config_load (path, NULL, &error);
  g_assert_null (config);
  assert_config_error (error, c->code, c->part, NULL);
  if (c->code == PAY_CONFIG_ERROR_FILE || g_str_has_prefix (c->name, "unknown-group"))
    g_assert_nonnull (strstr (error->message, path));
}

/* server.rpc_allow is kept as written once every CIDR in it parsed. */
static void
test_rpc_allow (void)
{
  const gchar *const env[] = { "PAYMENT_SERVER_RPC_ALLOW=127.0.0.2/32, fd00::/8", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (NULL, env, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->server.rpc_allow, ==, "127.0.0.2/32, fd00::/8");
}

/* The TLS certificate and key come together, from the file or the environment. */
static void
test_tls_pair (void)
{
  g_autoptr(TempPath) path = write_config ("[http]\ntls_cert_file=/etc/payment/cert.pem\n");
  const gchar *const both[] = { "PAYMENT_HTTP_TLS_KEY_FILE=/etc/payment/key.pem", NULL };
  const gchar *const key_only[] = { "PAYMENT_HTTP_TLS_KEY_FILE=/k.pem", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_null (config->http.tls_cert_file);
  g_assert_null (config->http.tls_key_file);
  g_clear_pointer (&config, pay_config_free);

  config = pay_config_load (path, both, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->http.tls_cert_file, ==, "/etc/payment/cert.pem");
  g_assert_cmpstr (config->http.tls_key_file, ==, "/etc/payment/key.pem");
  g_clear_pointer (&config, pay_config_free);

  config = pay_config_load (path, NULL, &error);
  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, "http.tls_cert_file",
                       "only http.tls_cert_file is set", NULL);
  g_clear_error (&error);

  config = pay_config_load (NULL, key_only, &error);
  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, "only http.tls_key_file is set", NULL);
}

/* [events] keys checked together or beyond their type: URLs, the stream's and the lock's
 * names, and a duplicate window within the stream's age. */
typedef struct {
  const gchar *env;
  const gchar *problem;   /* NULL: accepted */
} EventsCase;

static const EventsCase events_cases[] = {
  { "PAYMENT_EVENTS_NATS_URL=nats://127.0.0.1:4222", NULL },
  { "PAYMENT_EVENTS_NATS_URL=tls://nats.internal:4222,nats://10.0.0.2:4222", NULL },
  { "PAYMENT_EVENTS_NATS_URL=http://127.0.0.1:4222", "events.nats_url" },
  { "PAYMENT_EVENTS_NATS_URL=127.0.0.1:4222", "events.nats_url" },
  { "PAYMENT_EVENTS_NATS_URL=nats://", "events.nats_url" },
  { "PAYMENT_EVENTS_NATS_URL=nats://a:1,", "events.nats_url" },
  { "PAYMENT_EVENTS_STREAM=PAYMENT.EVENTS", "events.stream" },
  { "PAYMENT_EVENTS_STREAM=PAY*", "events.stream" },
  { "PAYMENT_EVENTS_STREAM=pay/events", "events.stream" },
  { "PAYMENT_EVENTS_STREAM=pay events", "events.stream" },
  { "PAYMENT_EVENTS_STREAM=S234567890123456789012345678901234567890123456789012345678901234", NULL },
  { "PAYMENT_EVENTS_STREAM=S2345678901234567890123456789012345678901234567890123456789012345",
    "events.stream" },
  { "PAYMENT_EVENTS_LOCK_NAME=L2345678901234567890123456789012345678901234567890123456789012345",
    "events.lock_name" },
  { "PAYMENT_EVENTS_DUPLICATE_WINDOW_SECONDS=86400", NULL },
  { "PAYMENT_EVENTS_MAX_AGE_SECONDS=120", NULL },
  { "PAYMENT_EVENTS_MAX_AGE_SECONDS=119", "events.duplicate_window_seconds" },
};

static void
test_events_case (gconstpointer data)
{
  const EventsCase *c = data;
  const gchar *const env[] = { c->env, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (NULL, env, &error);

  if (c->problem == NULL)
    {
      g_assert_no_error (error);
      g_assert_nonnull (config);
      return;
    }
  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, c->problem, NULL);
}

/* The duplicate window may equal the age but not exceed it, from the file as well. */
static void
test_events_window_within_age (void)
{
  g_autoptr(TempPath) path = write_config ("[events]\nmax_age_seconds=600\n"
                                           "duplicate_window_seconds=601\n");
  const gchar *const equal[] = { "PAYMENT_EVENTS_DUPLICATE_WINDOW_SECONDS=600", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PayConfig) config = pay_config_load (path, NULL, &error);

  g_assert_null (config);
  assert_config_error (error, PAY_CONFIG_ERROR_VALUE, "events.duplicate_window_seconds",
                       "601", "events.max_age_seconds (600)", NULL);
  g_clear_error (&error);

  config = pay_config_load (path, equal, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->events.duplicate_window_seconds, ==, 600);
}

static void
test_free_null (void)
{
  pay_config_free (NULL);
}

/* ---------------------------------------------------------------------------------- */
/* main                                                                               */
/* ---------------------------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/config/defaults", test_defaults);
  g_test_add_func ("/payment/config/load-nothing", test_load_nothing);
  g_test_add_func ("/payment/config/shipped-file", test_shipped_file);
  g_test_add_func ("/payment/config/file-values", test_file_values);
  g_test_add_func ("/payment/config/partial-file", test_partial_file);
  g_test_add_func ("/payment/config/env/overrides-file", test_env_overrides_file);
  g_test_add_func ("/payment/config/env/without-file", test_env_without_file);
  g_test_add_func ("/payment/config/env/not-from-process", test_env_not_from_process);
  g_test_add_func ("/payment/config/bad/message", test_bad_value_message);
  g_test_add_func ("/payment/config/bad/env-over-good-file", test_bad_env_over_good_file);
  g_test_add_func ("/payment/config/rpc-allow", test_rpc_allow);
  g_test_add_func ("/payment/config/tls-pair", test_tls_pair);
  g_test_add_func ("/payment/config/free-null", test_free_null);
  g_test_add_func ("/payment/config/events/window-within-age", test_events_window_within_age);
  for (gsize i = 0; i < G_N_ELEMENTS (events_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/config/events/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, &events_cases[i], test_events_case);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    {
      const GoodCase *c = &good_cases[i];
      g_autofree gchar *path = g_strdup_printf ("/payment/config/good/%s.%s=%s",
                                                c->group, c->key, c->text);

      g_test_add_data_func (path, c, test_good_case);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *c = &bad_cases[i];
      g_autofree gchar *path = g_strdup_printf ("/payment/config/bad/%s.%s=%s",
                                                c->group, c->key,
                                                *c->text != '\0' ? c->text : "(empty)");

      g_test_add_data_func (path, c, test_bad_case);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (file_error_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/config/file-error/%s",
                                                file_error_cases[i].name);

      g_test_add_data_func (path, &file_error_cases[i], test_file_error_case);
    }

  return g_test_run ();
}
