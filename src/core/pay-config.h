/* pay-config.h: the service configuration (docs/CONTRACT.md section 6): GKeyFile plus
 * PAYMENT_<GROUP>_<KEY> environment overrides, validated once at start-up. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PAY_CONFIG_ERROR (pay_config_error_quark ())
GQuark pay_config_error_quark (void);

typedef enum {
  PAY_CONFIG_ERROR_FILE,      /* the file cannot be read or parsed */
  PAY_CONFIG_ERROR_VALUE,     /* a key has a bad value; the message names GROUP.KEY */
} PayConfigError;

typedef struct {
  gchar   *host;
  guint16  port;
  gchar   *user;
  gchar   *password;
  gchar   *database;
  gchar   *socket;                  /* NULL: TCP */
  guint    pool_size;
  guint    connect_timeout_seconds;
  guint    read_timeout_seconds;
  guint    write_timeout_seconds;
  guint    lock_wait_timeout_seconds;
} PayMysqlSettings;

typedef struct {
  gchar   *host;
  guint16  port;
  gchar   *password;                /* NULL: no AUTH */
  guint    db;
  guint    ttl_seconds;
  guint    timeout_ms;              /* connect and per-command wait */
} PayRedisSettings;

/* [events]: the relay of payment_events to NATS JetStream (src/events/). */
typedef struct {
  gchar   *nats_url;                /* NULL: the relay is off; else nats:// URLs, comma-separated */
  gchar   *stream;                  /* JetStream stream, created when missing */
  guint    max_age_seconds;         /* the stream's MaxAge when we create it */
  guint    duplicate_window_seconds; /* its Duplicates window (<= max_age_seconds) */
  guint    max_in_flight;           /* published events awaiting their PubAck */
  guint    batch_size;              /* rows read from payment_events per query */
  guint    gap_wait_seconds;        /* the longest a gap in ids is waited for */
  gchar   *lock_name;               /* MySQL GET_LOCK name electing the relaying instance */
} PayEventsSettings;

typedef struct {
  struct {
    gchar   *host;
    guint16  rpc_port;
    guint16  http_port;
    guint32  max_frame_bytes;
    guint    idle_timeout_seconds;      /* RPC */
    guint    read_timeout_seconds;      /* a request whole, from its first byte; both ports */
    guint    http_idle_timeout_seconds;
    guint    max_connections;           /* per port */
    guint    shutdown_grace_seconds;
    gchar   *rpc_allow;                 /* CIDRs allowed on the RPC port; NULL: all */
  } server;
  struct {
    gchar   *tls_cert_file;             /* PEM; with tls_key_file, HTTPS only; NULL: HTTP */
    gchar   *tls_key_file;              /* PEM, the certificate's private key */
  } http;
  PayMysqlSettings mysql;
  PayRedisSettings redis;
  PayEventsSettings events;
  struct {
    gboolean required;
  } cache;
  struct {
    gint64 max_amount_cents;
  } payment;
  struct {
    gchar *address;                 /* NULL: do not register */
    gchar *service_name;
    gchar *token;                   /* NULL: none */
    gchar *advertise_address;       /* NULL: derived from server.host (pay-registrar.h) */
    guint  check_interval_seconds;
    guint  deregister_critical_after_seconds;
    guint  sync_interval_seconds;   /* registration check; cap of the retry backoff */
    guint  deregister_delay_seconds; /* serving on after deregistering, before the drain */
  } consul;
  struct {
    guint rate_per_second;          /* per caller; 0: no rate limit */
    guint burst;                    /* bucket size; 0: rate_per_second */
  } limits;
  struct {
    GLogLevelFlags level;           /* the least severe level printed */
    gboolean       json;
  } log;
  struct {
    gchar   *keys_file;             /* NULL: no API keys, the API is open */
    gboolean protect_metrics;       /* /metrics needs a key with scope "metrics" */
  } auth;
} PayConfig;

/* Defaults for every key. Free with pay_config_free(). */
PayConfig *pay_config_new_defaults (void);

/* Loads @path (NULL: defaults only), then applies overrides from @envp (an environ-style
 * NULL-terminated array; NULL: none). Fails with PAY_CONFIG_ERROR naming the file or
 * the GROUP.KEY (or the variable) whose value is bad. */
PayConfig *pay_config_load (const gchar        *path,
                            const gchar *const *envp,
                            GError            **error);

void pay_config_free (PayConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PayConfig, pay_config_free)

G_END_DECLS
