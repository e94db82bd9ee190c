/* pay-config.c: loads and validates the service configuration from one table of keys
 * (defaults, GKeyFile values and PAYMENT_<GROUP>_<KEY> overrides go through one loop). */
#include "core/pay-config.h"

#include <gio/gio.h>
#include <stddef.h>
#include <string.h>

#include "core/pay-cidr.h"

G_DEFINE_QUARK (pay-config-error-quark, pay_config_error)

/* ---------------------------------------------------------------------------------- */
/* Limits                                                                             */
/* ---------------------------------------------------------------------------------- */

#define PAY_CONFIG_ENV_PREFIX             "PAYMENT_"
#define PAY_CONFIG_PORT_MAX               65535
#define PAY_CONFIG_MAX_FRAME_MIN          16
#define PAY_CONFIG_MAX_FRAME_MAX          (1024u * 1024u * 1024u)   /* 1 GiB */
/* Longest timeout of any kind: a day. Longer is a typo, and keeping values small means
 * converting seconds to milliseconds or microseconds never overflows. */
#define PAY_CONFIG_TIMEOUT_SECONDS_MAX    86400
#define PAY_CONFIG_TIMEOUT_MS_MAX         (PAY_CONFIG_TIMEOUT_SECONDS_MAX * 1000)
#define PAY_CONFIG_TTL_SECONDS_MAX        (365 * 86400)
#define PAY_CONFIG_POOL_SIZE_MIN          1
#define PAY_CONFIG_POOL_SIZE_MAX          256
#define PAY_CONFIG_REDIS_DB_MAX           G_MAXINT
/* Per port. Each connection is a descriptor of the one process (see RLIMIT_NOFILE). */
#define PAY_CONFIG_MAX_CONNECTIONS_MAX    1000000
/* Amounts travel as doubles, which hold every cent exactly only below 2^53 cents; stay
 * well under that. */
#define PAY_CONFIG_MAX_AMOUNT_CENTS_MAX   G_GINT64_CONSTANT (1000000000000000)
#define PAY_CONFIG_AMOUNT_DECIMALS        2
/* limits.rate_per_second and limits.burst: a million requests per second per caller is
 * no limit at all; the bound keeps the bucket's arithmetic (micro-tokens) far from
 * overflow. */
#define PAY_CONFIG_RATE_MAX               1000000
/* [events]: JetStream accepts a duplicate window of 2 minutes and up; a year of MaxAge is
 * what a file stream of payment events could reasonably keep. */
#define PAY_CONFIG_EVENTS_MAX_AGE_MIN     60
#define PAY_CONFIG_EVENTS_MAX_AGE_MAX     31536000
#define PAY_CONFIG_EVENTS_DUPLICATES_MIN  120
#define PAY_CONFIG_EVENTS_DUPLICATES_MAX  86400
#define PAY_CONFIG_EVENTS_IN_FLIGHT_MAX   65536
#define PAY_CONFIG_EVENTS_BATCH_MAX       10000
#define PAY_CONFIG_EVENTS_GAP_WAIT_MAX    3600
/* MySQL's longest user-lock name, and the width of payment_events_relay.name. */
#define PAY_CONFIG_EVENTS_NAME_MAX        64

/* ---------------------------------------------------------------------------------- */
/* The table of keys                                                                  */
/* ---------------------------------------------------------------------------------- */

typedef enum {
  KEY_STRING,          /* non-empty text */
  KEY_OPTIONAL_STRING, /* text; empty means NULL */
  KEY_UINT,            /* whole decimal number in [min, max], stored in a field of `size` */
  KEY_PORT,            /* KEY_UINT whose message says "port number"; max is 65535 */
  KEY_BOOLEAN,         /* true/false, 1/0, yes/no (any case) */
  KEY_AMOUNT,          /* positive decimal with at most 2 decimals, stored as gint64 cents */
  KEY_CHOICE,          /* one of the names in `choices` (any case), stored as a gint */
  KEY_CIDR_LIST,       /* comma-separated CIDRs (pay-cidr.h), checked; empty means NULL */
} KeyType;

typedef struct {
  const gchar *name;
  gint         value;
} KeyChoice;

typedef struct {
  const gchar     *group;
  const gchar     *key;
  KeyType          type;
  const gchar     *default_value;   /* parsed like any other value */
  gsize            offset;          /* of the field in PayConfig */
  gsize            size;            /* of that field */
  guint64          min;             /* KEY_UINT and KEY_PORT */
  guint64          max;
  const KeyChoice *choices;         /* KEY_CHOICE, ends with a NULL name */
} ConfigKey;

static const KeyChoice log_levels[] = {
  { "debug",    G_LOG_LEVEL_DEBUG },
  { "info",     G_LOG_LEVEL_INFO },
  { "message",  G_LOG_LEVEL_MESSAGE },
  { "warning",  G_LOG_LEVEL_WARNING },
  { "error",    G_LOG_LEVEL_ERROR },
  { "critical", G_LOG_LEVEL_CRITICAL },
  { NULL, 0 },
};

static const KeyChoice log_formats[] = {
  { "text", FALSE },
  { "json", TRUE },
  { NULL, 0 },
};

#define FIELD(member) offsetof (PayConfig, member), G_SIZEOF_MEMBER (PayConfig, member)

#define STRING(g, k, def, member) \
  { g, k, KEY_STRING, def, FIELD (member), 0, 0, NULL }
#define OPTIONAL(g, k, member) \
  { g, k, KEY_OPTIONAL_STRING, "", FIELD (member), 0, 0, NULL }
#define UINT(g, k, def, member, lo, hi) \
  { g, k, KEY_UINT, def, FIELD (member), lo, hi, NULL }
#define PORT(g, k, def, member, lo) \
  { g, k, KEY_PORT, def, FIELD (member), lo, PAY_CONFIG_PORT_MAX, NULL }
#define BOOLEAN(g, k, def, member) \
  { g, k, KEY_BOOLEAN, def, FIELD (member), 0, 0, NULL }
#define AMOUNT(g, k, def, member) \
  { g, k, KEY_AMOUNT, def, FIELD (member), 0, 0, NULL }
#define CHOICE(g, k, def, member, list) \
  { g, k, KEY_CHOICE, def, FIELD (member), 0, 0, list }

#define CIDR_LIST(g, k, member) \
  { g, k, KEY_CIDR_LIST, "", FIELD (member), 0, 0, NULL }

#define TIMEOUT(g, k, def, member) UINT (g, k, def, member, 1, PAY_CONFIG_TIMEOUT_SECONDS_MAX)

/* Every key the service reads: docs/CONTRACT.md section 6 plus the storage tuning keys. */
static const ConfigKey config_keys[] = {
  STRING   ("server", "host",                      "0.0.0.0",   server.host),
  PORT     ("server", "rpc_port",                  "8885",      server.rpc_port, 0),
  PORT     ("server", "http_port",                 "8005",      server.http_port, 0),
  UINT     ("server", "max_frame_bytes",           "1048576",   server.max_frame_bytes,
            PAY_CONFIG_MAX_FRAME_MIN, PAY_CONFIG_MAX_FRAME_MAX),
  TIMEOUT  ("server", "idle_timeout_seconds",      "600",       server.idle_timeout_seconds),
  TIMEOUT  ("server", "read_timeout_seconds",      "10",        server.read_timeout_seconds),
  TIMEOUT  ("server", "http_idle_timeout_seconds", "60",        server.http_idle_timeout_seconds),
  UINT     ("server", "max_connections",           "4096",      server.max_connections,
            1, PAY_CONFIG_MAX_CONNECTIONS_MAX),
  TIMEOUT  ("server", "shutdown_grace_seconds",    "10",        server.shutdown_grace_seconds),
  CIDR_LIST ("server", "rpc_allow",                             server.rpc_allow),

  /* Both or neither (check_tls_pair()); checked as files at start-up (pay-http-tls.h). */
  OPTIONAL ("http",   "tls_cert_file",                          http.tls_cert_file),
  OPTIONAL ("http",   "tls_key_file",                           http.tls_key_file),

  STRING   ("mysql",  "host",                      "127.0.0.1", mysql.host),
  PORT     ("mysql",  "port",                      "3306",      mysql.port, 1),
  STRING   ("mysql",  "user",                      "root",      mysql.user),
  OPTIONAL ("mysql",  "password",                               mysql.password),
  STRING   ("mysql",  "database",                  "payment",   mysql.database),
  OPTIONAL ("mysql",  "socket",                                 mysql.socket),
  UINT     ("mysql",  "pool_size",                 "16",        mysql.pool_size,
            PAY_CONFIG_POOL_SIZE_MIN, PAY_CONFIG_POOL_SIZE_MAX),
  TIMEOUT  ("mysql",  "connect_timeout_seconds",   "3",         mysql.connect_timeout_seconds),
  TIMEOUT  ("mysql",  "read_timeout_seconds",      "5",         mysql.read_timeout_seconds),
  TIMEOUT  ("mysql",  "write_timeout_seconds",     "5",         mysql.write_timeout_seconds),
  TIMEOUT  ("mysql",  "lock_wait_timeout_seconds", "3",         mysql.lock_wait_timeout_seconds),

  STRING   ("redis",  "host",                      "127.0.0.1", redis.host),
  PORT     ("redis",  "port",                      "6379",      redis.port, 1),
  OPTIONAL ("redis",  "password",                               redis.password),
  UINT     ("redis",  "db",                        "0",         redis.db, 0, PAY_CONFIG_REDIS_DB_MAX),
  UINT     ("redis",  "ttl_seconds",               "3600",      redis.ttl_seconds,
            1, PAY_CONFIG_TTL_SECONDS_MAX),
  UINT     ("redis",  "timeout_ms",                "1000",      redis.timeout_ms,
            1, PAY_CONFIG_TIMEOUT_MS_MAX),

  BOOLEAN  ("cache",  "required",                  "false",     cache.required),

  /* Checked together by check_events(). */
  OPTIONAL ("events", "nats_url",                               events.nats_url),
  STRING   ("events", "stream",                    "PAYMENT_EVENTS", events.stream),
  UINT     ("events", "max_age_seconds",           "604800",    events.max_age_seconds,
            PAY_CONFIG_EVENTS_MAX_AGE_MIN, PAY_CONFIG_EVENTS_MAX_AGE_MAX),
  UINT     ("events", "duplicate_window_seconds",  "120",       events.duplicate_window_seconds,
            PAY_CONFIG_EVENTS_DUPLICATES_MIN, PAY_CONFIG_EVENTS_DUPLICATES_MAX),
  UINT     ("events", "max_in_flight",             "256",       events.max_in_flight,
            1, PAY_CONFIG_EVENTS_IN_FLIGHT_MAX),
  UINT     ("events", "batch_size",                "256",       events.batch_size,
            1, PAY_CONFIG_EVENTS_BATCH_MAX),
  UINT     ("events", "gap_wait_seconds",          "30",        events.gap_wait_seconds,
            1, PAY_CONFIG_EVENTS_GAP_WAIT_MAX),
  STRING   ("events", "lock_name",                 "payment_events_relay", events.lock_name),

  AMOUNT   ("payment", "max_amount",               "1000000.00", payment.max_amount_cents),

  OPTIONAL ("consul", "address",                                consul.address),
  STRING   ("consul", "service_name",              "payment",   consul.service_name),
  OPTIONAL ("consul", "token",                                  consul.token),
  OPTIONAL ("consul", "advertise_address",                      consul.advertise_address),
  TIMEOUT  ("consul", "check_interval_seconds",    "5",         consul.check_interval_seconds),
  /* Consul reaps critical services only after a minute at least. */
  UINT     ("consul", "deregister_critical_after_seconds", "60",
            consul.deregister_critical_after_seconds, 60, PAY_CONFIG_TIMEOUT_SECONDS_MAX),
  TIMEOUT  ("consul", "sync_interval_seconds",     "10",        consul.sync_interval_seconds),
  UINT     ("consul", "deregister_delay_seconds",  "0",         consul.deregister_delay_seconds,
            0, PAY_CONFIG_TIMEOUT_SECONDS_MAX),

  UINT     ("limits", "rate_per_second",           "0",         limits.rate_per_second,
            0, PAY_CONFIG_RATE_MAX),
  UINT     ("limits", "burst",                     "0",         limits.burst,
            0, PAY_CONFIG_RATE_MAX),

  CHOICE   ("log",    "level",                     "info",      log.level, log_levels),
  CHOICE   ("log",    "format",                    "text",      log.json, log_formats),

  OPTIONAL ("auth",   "keys_file",                              auth.keys_file),
  BOOLEAN  ("auth",   "protect_metrics",           "false",     auth.protect_metrics),
};

/* ---------------------------------------------------------------------------------- */
/* Parsing one value                                                                  */
/* ---------------------------------------------------------------------------------- */

/* Parses a whole decimal number: digits only (no sign, no spaces, no base prefix).
 * Returns FALSE for anything else or a value beyond guint64. */
static gboolean
parse_whole (const gchar *text, guint64 *out)
{
  if (*text == '\0')
    return FALSE;
  for (const gchar *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, NULL);
}

/* Parses DIGITS[.DIGITS] with at most PAY_CONFIG_AMOUNT_DECIMALS decimals into cents,
 * exactly (no floating point). FALSE for anything else, including a sign, an exponent
 * or a value beyond PAY_CONFIG_MAX_AMOUNT_CENTS_MAX. */
static gboolean
parse_amount (const gchar *text, gint64 *cents)
{
  gint64 value = 0;
  const gchar *p = text;
  guint decimals = 0;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      if (value > PAY_CONFIG_MAX_AMOUNT_CENTS_MAX)
        return FALSE;
      value = value * 10 + (*p - '0');
    }
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      for (; g_ascii_isdigit (*p); p++)
        {
          if (++decimals > PAY_CONFIG_AMOUNT_DECIMALS)
            return FALSE;
          value = value * 10 + (*p - '0');
        }
    }
  if (*p != '\0')
    return FALSE;
  for (; decimals < PAY_CONFIG_AMOUNT_DECIMALS; decimals++)
    value *= 10;
  *cents = value;
  return TRUE;
}

/* true/1/yes or false/0/no, any case. */
static gboolean
parse_boolean (const gchar *text, gboolean *out)
{
  static const gchar *const truths[] = { "true", "1", "yes" };
  static const gchar *const lies[] = { "false", "0", "no" };

  for (gsize i = 0; i < G_N_ELEMENTS (truths); i++)
    {
      if (g_ascii_strcasecmp (text, truths[i]) == 0)
        {
          *out = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (text, lies[i]) == 0)
        {
          *out = FALSE;
          return TRUE;
        }
    }
  return FALSE;
}

/* Stores @value into an unsigned field of @size bytes. The caller has checked the range
 * against the key's max, which the table keeps within the field. */
static void
store_unsigned (gpointer field, gsize size, guint64 value)
{
  switch (size)
    {
    case sizeof (guint16): *(guint16 *) field = (guint16) value; break;
    case sizeof (guint32): *(guint32 *) field = (guint32) value; break;
    case sizeof (guint64): *(guint64 *) field = value; break;
    default: g_assert_not_reached ();
    }
}

/* The largest value a field of @size bytes holds. */
static guint64
unsigned_field_max (gsize size)
{
  return size >= sizeof (guint64) ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << (size * 8)) - 1;
}

/* Fails with PAY_CONFIG_ERROR_VALUE: "GROUP.KEY[ (from VAR)]: "TEXT" PROBLEM". */
static gboolean
value_error (GError         **error,
             const ConfigKey *k,
             const gchar     *env_name,
             const gchar     *text,
             const gchar     *problem)
{
  g_autofree gchar *shown = g_strescape (text, NULL);
  g_autofree gchar *source = env_name != NULL ? g_strdup_printf (" (from %s)", env_name)
                                              : g_strdup ("");

  g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE, "%s.%s%s: \"%s\" %s",
               k->group, k->key, source, shown, problem);
  return FALSE;
}

/* Parses @text for key @k and stores it into @config, replacing what was there.
 * @env_name is the variable the text came from (NULL: the file or the default). */
static gboolean
config_set (PayConfig       *config,
            const ConfigKey *k,
            const gchar     *text,
            const gchar     *env_name,
            GError         **error)
{
  gpointer field = (guint8 *) config + k->offset;

  switch (k->type)
    {
    case KEY_CIDR_LIST:
      {
        g_autoptr(GError) local = NULL;
        g_autoptr(GArray) list = pay_cidr_list_parse (text, &local);
        g_autofree gchar *problem = NULL;

        if (list == NULL)
          {
            problem = g_strdup_printf ("is not a list of CIDRs: %s", local->message);
            return value_error (error, k, env_name, text, problem);
          }
      }
      G_GNUC_FALLTHROUGH;
    case KEY_STRING:
    case KEY_OPTIONAL_STRING:
      if (*text == '\0' && k->type == KEY_STRING)
        return value_error (error, k, env_name, text, "must not be empty");
      g_assert (k->size == sizeof (gchar *));
      g_free (*(gchar **) field);
      *(gchar **) field = *text != '\0' ? g_strdup (text) : NULL;
      return TRUE;

    case KEY_UINT:
    case KEY_PORT:
      {
        guint64 value;

        g_assert (k->max <= unsigned_field_max (k->size));
        if (!parse_whole (text, &value) || (k->type == KEY_PORT && value > k->max))
          return value_error (error, k, env_name, text,
                              k->type == KEY_PORT ? "is not a port number"
                                                  : "is not a whole decimal number");
        if (value < k->min || value > k->max)
          {
            g_autofree gchar *problem =
              g_strdup_printf ("is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")",
                               k->min, k->max);
            return value_error (error, k, env_name, text, problem);
          }
        store_unsigned (field, k->size, value);
        return TRUE;
      }

    case KEY_BOOLEAN:
      g_assert (k->size == sizeof (gboolean));
      if (!parse_boolean (text, (gboolean *) field))
        return value_error (error, k, env_name, text, "is not a boolean (true or false)");
      return TRUE;

    case KEY_AMOUNT:
      {
        gint64 cents;

        g_assert (k->size == sizeof (gint64));
        if (!parse_amount (text, &cents) || cents <= 0 ||
            cents > PAY_CONFIG_MAX_AMOUNT_CENTS_MAX)
          return value_error (error, k, env_name, text,
                              "is not a positive amount with at most 2 decimals");
        *(gint64 *) field = cents;
        return TRUE;
      }

    case KEY_CHOICE:
      {
        g_autoptr(GString) names = g_string_new (NULL);

        g_assert (k->size == sizeof (gint));
        for (const KeyChoice *c = k->choices; c->name != NULL; c++)
          {
            if (g_ascii_strcasecmp (text, c->name) == 0)
              {
                *(gint *) field = c->value;
                return TRUE;
              }
            g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", c->name);
          }
        g_string_prepend (names, "is not one of ");
        return value_error (error, k, env_name, text, names->str);
      }

    default:
      g_assert_not_reached ();
    }
}

/* ---------------------------------------------------------------------------------- */
/* Sources: file and environment                                                      */
/* ---------------------------------------------------------------------------------- */

static const ConfigKey *
find_key (const gchar *group, const gchar *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    if (g_str_equal (config_keys[i].group, group) && g_str_equal (config_keys[i].key, key))
      return &config_keys[i];
  return NULL;
}

static gboolean
is_known_group (const gchar *group)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    if (g_str_equal (config_keys[i].group, group))
      return TRUE;
  return FALSE;
}

/* Rejects groups and keys the table does not know: a typo in a payment service's
 * configuration must not silently fall back to a default. */
static gboolean
check_known_keys (GKeyFile *file, const gchar *path, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);

  for (gsize g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) keys = NULL;

      if (!is_known_group (groups[g]))
        {
          g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                       "%s: unknown group [%s]", path, groups[g]);
          return FALSE;
        }
      keys = g_key_file_get_keys (file, groups[g], NULL, NULL);
      for (gsize k = 0; keys != NULL && keys[k] != NULL; k++)
        if (find_key (groups[g], keys[k]) == NULL)
          {
            g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                         "%s.%s: unknown key (in %s)", groups[g], keys[k], path);
            return FALSE;
          }
    }
  return TRUE;
}

static gboolean
apply_file (PayConfig *config, const gchar *path, GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  /* KEEP_TRANSLATIONS so a stray "key[locale]=" line shows up as an unknown key
   * instead of being dropped unseen. */
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_KEEP_TRANSLATIONS, &local))
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_FILE,
                   "cannot load configuration %s: %s", path, local->message);
      return FALSE;
    }

  if (!check_known_keys (file, path, error))
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      const ConfigKey *k = &config_keys[i];
      g_autofree gchar *text = NULL;

      if (!g_key_file_has_key (file, k->group, k->key, NULL))
        continue;
      text = g_key_file_get_string (file, k->group, k->key, &local);
      if (text == NULL)
        {
          g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE, "%s.%s: %s",
                       k->group, k->key, local->message);
          return FALSE;
        }
      if (!config_set (config, k, text, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* PAYMENT_<GROUP>_<KEY>, upper-case. */
static gchar *
env_name_for (const ConfigKey *k)
{
  g_autofree gchar *name = g_strconcat (PAY_CONFIG_ENV_PREFIX, k->group, "_", k->key, NULL);

  return g_ascii_strup (name, -1);
}

/* Only variables naming a key in the table are read; other PAYMENT_* variables (a test
 * harness's, say) are none of our business. */
static gboolean
apply_env (PayConfig *config, const gchar *const *envp, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      const ConfigKey *k = &config_keys[i];
      g_autofree gchar *name = env_name_for (k);
      const gchar *text = g_environ_getenv ((gchar **) envp, name);

      if (text != NULL && !config_set (config, k, text, name, error))
        return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Keys checked together                                                              */
/* ---------------------------------------------------------------------------------- */

/* A certificate without its key (or the reverse) is a half-done TLS set-up: serving plain
 * HTTP then would send card numbers in clear to callers that meant to use HTTPS. */
static gboolean
check_tls_pair (const PayConfig *config, GError **error)
{
  if ((config->http.tls_cert_file == NULL) == (config->http.tls_key_file == NULL))
    return TRUE;
  g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
               "http.tls_cert_file and http.tls_key_file: set both (HTTPS) or neither (HTTP); "
               "only %s is set",
               config->http.tls_cert_file != NULL ? "http.tls_cert_file" : "http.tls_key_file");
  return FALSE;
}

/* A JetStream stream name: letters, digits, '-' and '_' (the server refuses '.', '*', '>',
 * spaces and path separators, and the name is a file name on its disk). */
static gboolean
is_stream_name (const gchar *name)
{
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

/* Every element of a comma-separated list names a nats:// or tls:// server. */
static gboolean
is_nats_url_list (const gchar *list)
{
  g_auto(GStrv) urls = g_strsplit (list, ",", -1);

  for (gsize i = 0; urls[i] != NULL; i++)
    {
      const gchar *url = g_strstrip (urls[i]);

      if ((!g_str_has_prefix (url, "nats://") && !g_str_has_prefix (url, "tls://")) ||
          strchr (url, ' ') != NULL || strlen (url) <= strlen ("nats://"))
        return FALSE;
    }
  return TRUE;
}

/* [events]: a stream JetStream accepts, names that fit MySQL's lock name and the cursor
 * table, and a duplicate window within the stream's age (JetStream refuses the stream
 * otherwise, and only when it is created: after the service has started). */
static gboolean
check_events (const PayConfig *config, GError **error)
{
  const PayEventsSettings *e = &config->events;

  if (e->nats_url != NULL && !is_nats_url_list (e->nats_url))
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "events.nats_url: \"%s\" is not a comma-separated list of nats:// or "
                   "tls:// URLs", e->nats_url);
      return FALSE;
    }
  if (!is_stream_name (e->stream) || strlen (e->stream) > PAY_CONFIG_EVENTS_NAME_MAX)
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "events.stream: \"%s\" is not a stream name (at most %u letters, digits, "
                   "'-' or '_')", e->stream, PAY_CONFIG_EVENTS_NAME_MAX);
      return FALSE;
    }
  if (strlen (e->lock_name) > PAY_CONFIG_EVENTS_NAME_MAX)
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "events.lock_name: longer than %u bytes", PAY_CONFIG_EVENTS_NAME_MAX);
      return FALSE;
    }
  if (e->duplicate_window_seconds > e->max_age_seconds)
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "events.duplicate_window_seconds: %u is longer than "
                   "events.max_age_seconds (%u)", e->duplicate_window_seconds,
                   e->max_age_seconds);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Public API                                                                         */
/* ---------------------------------------------------------------------------------- */

PayConfig *
pay_config_new_defaults (void)
{
  g_autoptr(PayConfig) config = g_new0 (PayConfig, 1);

  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      g_autoptr(GError) error = NULL;

      if (!config_set (config, &config_keys[i], config_keys[i].default_value, NULL, &error))
        g_error ("bad built-in default: %s", error->message);
    }
  return g_steal_pointer (&config);
}

PayConfig *
pay_config_load (const gchar        *path,
                 const gchar *const *envp,
                 GError            **error)
{
  g_autoptr(PayConfig) config = pay_config_new_defaults ();

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (path != NULL && !apply_file (config, path, error))
    return NULL;
  if (envp != NULL && !apply_env (config, envp, error))
    return NULL;
  if (!check_tls_pair (config, error) || !check_events (config, error))
    return NULL;
  return g_steal_pointer (&config);
}

void
pay_config_free (PayConfig *config)
{
  if (config == NULL)
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
    {
      const ConfigKey *k = &config_keys[i];

      if (k->type == KEY_STRING || k->type == KEY_OPTIONAL_STRING || k->type == KEY_CIDR_LIST)
        g_free (*(gchar **) ((guint8 *) config + k->offset));
    }
  g_free (config);
}
