/* pay-http-tls.h: the HTTPS certificate, loaded and checked once at start-up
 * (http.tls_cert_file and http.tls_key_file, docs/CONTRACT.md section 6). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The GnuTLS priority the service's TLS uses unless G_TLS_GNUTLS_PRIORITY is set: the
 * defaults without TLS 1.0 and 1.1. glib-networking reads the variable once, when its
 * first TLS connection class is set up; main() sets it before that. */
#define PAY_HTTP_TLS_PRIORITY "NORMAL:%COMPAT:-VERS-TLS1.1:-VERS-TLS1.0"

/* Loads the PEM certificate (chain, server first) of @cert_file and the PEM private key
 * of @key_file. Fails with PAY_CONFIG_ERROR_VALUE, the message naming the key and the
 * file, when one cannot be read, the key is not the certificate's, or the certificate is
 * expired or not yet valid: serving it would only fail every handshake. */
GTlsCertificate *pay_http_tls_load (const gchar *cert_file,
                                    const gchar *key_file,
                                    GError     **error);

G_END_DECLS
