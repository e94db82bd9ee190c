/* pay-app.h: the application: builds every subsystem from the configuration, starts
 * the listeners, and shuts them down in order. */
#pragma once

#include <gio/gio.h>

#include "core/pay-config.h"

G_BEGIN_DECLS

#define PAY_TYPE_APP (pay_app_get_type ())
G_DECLARE_FINAL_TYPE (PayApp, pay_app, PAY, APP, GObject)

/* @config is borrowed and must outlive the app. Objects are created on the
 * thread-default main context, which must be the one the loop runs. */
PayApp *pay_app_new (const PayConfig *config);

/* HTTPS on the HTTP port with @certificate (pay_http_tls_load()). Before starting. */
void pay_app_set_http_certificate (PayApp *self, GTlsCertificate *certificate);

/* Loads the API keys (auth.keys_file), binds both ports, connects to Redis, starts the
 * storage probe. On failure (a keys file that does not load: PAY_AUTH_ERROR; a port in
 * use, a bad address) nothing is left listening. */
gboolean pay_app_start (PayApp *self, GError **error);

/* Reads auth.keys_file again (SIGHUP) and puts its keys in force without touching a
 * connection; a file that does not load keeps the keys in force and is logged with the
 * reason. Nothing to do without a keys file. */
void pay_app_reload_keys (PayApp *self);

/* Graceful shutdown: stop accepting, let requests in flight finish within
 * server.shutdown_grace_seconds, close everything; then emits "stopped". */
void pay_app_shutdown (PayApp *self);

guint16 pay_app_get_rpc_port (PayApp *self);
guint16 pay_app_get_http_port (PayApp *self);

G_END_DECLS
