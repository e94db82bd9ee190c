/* pay-http-server.h: the JSON API on libsoup 3 (CONTRACT.md section 4). Thin: decode,
 * one service call, encode; errors mapped in pay-http-errors.c. */
#pragma once

#include <glib-object.h>

#include "domain/pay-service.h"

G_BEGIN_DECLS

#define PAY_TYPE_HTTP_SERVER (pay_http_server_get_type ())
G_DECLARE_FINAL_TYPE (PayHttpServer, pay_http_server, PAY, HTTP_SERVER, GObject)

#define PAY_HTTP_MAX_BODY_BYTES (64 * 1024)

PayHttpServer *pay_http_server_new (PayService *service);

/* Listens on @host:@port (0: any free port) on the thread-default main context. */
gboolean pay_http_server_listen (PayHttpServer *self,
                                 const gchar   *host,
                                 guint16        port,
                                 GError       **error);

/* The port actually bound (useful when 0 was asked for); 0 before listen. */
guint16 pay_http_server_get_port (PayHttpServer *self);

/* Stops accepting and closes connections. */
void pay_http_server_stop (PayHttpServer *self);

G_END_DECLS
