/* pay-registrar.h: registration of the service with a local Consul agent through the
 * agent's HTTP API (libsoup client, json-glib), kept up on the main loop. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"

G_BEGIN_DECLS

#define PAY_TYPE_REGISTRAR (pay_registrar_get_type ())
G_DECLARE_FINAL_TYPE (PayRegistrar, pay_registrar, PAY, REGISTRAR, GObject)

#define PAY_REGISTRAR_ERROR (pay_registrar_error_quark ())
GQuark pay_registrar_error_quark (void);

/* Append-only. */
typedef enum {
  PAY_REGISTRAR_ERROR_ADDRESS,   /* consul.address is not a usable http(s) address */
  PAY_REGISTRAR_ERROR_AGENT,     /* the agent answered with an error status */
} PayRegistrarError;

/* The first retry after a failed registration comes after this; each further one after
 * twice the previous wait, up to consul.sync_interval_seconds. */
#define PAY_REGISTRAR_FIRST_RETRY_MS  500
/* Per request to the agent: connect, send, answer. */
#define PAY_REGISTRAR_REQUEST_TIMEOUT_SECONDS 5
/* Tags every instance registers with. */
#define PAY_REGISTRAR_TAGS "thrift", "kitex", "http-json"

/* The address other hosts reach this instance on: @advertise when set; else @host unless
 * it is a wildcard (0.0.0.0, ::); else the first IPv4 address of an interface that is up
 * and not loopback (what Kitex's own registries use), else 127.0.0.1. Newly allocated. */
gchar *pay_registrar_pick_address (const gchar *host, const gchar *advertise);

/* A registrar for the instance whose listeners are on @rpc_port and @http_port, with the
 * consul.* and server.host settings of @config (copied). Fails with
 * PAY_REGISTRAR_ERROR_ADDRESS when consul.address cannot be used. Nothing is sent before
 * pay_registrar_start(). */
PayRegistrar *pay_registrar_new (const PayConfig *config,
                                 guint16          rpc_port,
                                 guint16          http_port,
                                 GError         **error);

/* Registers in the background on the thread-default main context and keeps the
 * registration up: retries with capped backoff while the agent is unreachable, checks
 * every consul.sync_interval_seconds that the agent still knows the service and
 * registers again when it does not. */
void pay_registrar_start (PayRegistrar *self);

/* TRUE while the agent has acknowledged the registration (and not been seen to forget
 * it since). */
gboolean pay_registrar_is_registered (PayRegistrar *self);

/* The service ID registered ("<name>-<address>-<rpc_port>"). Owned by @self. */
const gchar *pay_registrar_get_service_id (PayRegistrar *self);

/* Stops the background work and deregisters (PUT /v1/agent/service/deregister/<id>).
 * The callback runs once the agent answered or the request failed; finish says which. */
void     pay_registrar_deregister_async  (PayRegistrar        *self,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean pay_registrar_deregister_finish (PayRegistrar  *self,
                                          GAsyncResult  *result,
                                          GError       **error);

G_END_DECLS
