/* pay-http-tls.c: loading and checking the HTTPS certificate. GLib loads it (and serves
 * it through glib-networking's GnuTLS backend) but does not check that the key is the
 * certificate's: g_tls_certificate_new_from_files takes any key, and every handshake
 * then fails. GnuTLS, which loads the pair into credentials the same way a server does,
 * checks it. */
#include "transport/http/pay-http-tls.h"

#include <gnutls/gnutls.h>

#include "core/pay-config.h"

/* Whether @key_file holds the private key of @cert_file's first certificate. */
static gboolean
check_key_matches (const gchar *cert_file, const gchar *key_file, GError **error)
{
  gnutls_certificate_credentials_t credentials;
  int ret;

  if (gnutls_certificate_allocate_credentials (&credentials) != GNUTLS_E_SUCCESS)
    {
      g_set_error_literal (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                           "http.tls_key_file: out of memory checking the key");
      return FALSE;
    }
  ret = gnutls_certificate_set_x509_key_file (credentials, cert_file, key_file,
                                              GNUTLS_X509_FMT_PEM);
  gnutls_certificate_free_credentials (credentials);
  if (ret >= 0)
    return TRUE;
  if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                 "http.tls_key_file: %s is not the private key of the certificate in %s",
                 key_file, cert_file);
  else
    g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                 "http.tls_key_file: %s with %s: %s", key_file, cert_file,
                 gnutls_strerror (ret));
  return FALSE;
}

/* Whether the certificate is valid now. */
static gboolean
check_validity (GTlsCertificate *certificate, const gchar *cert_file, GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) not_before = g_tls_certificate_get_not_valid_before (certificate);
  g_autoptr(GDateTime) not_after = g_tls_certificate_get_not_valid_after (certificate);
  g_autofree gchar *shown = NULL;

  if (not_after != NULL && g_date_time_compare (now, not_after) > 0)
    {
      shown = g_date_time_format_iso8601 (not_after);
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "http.tls_cert_file: the certificate in %s expired at %s", cert_file, shown);
      return FALSE;
    }
  if (not_before != NULL && g_date_time_compare (now, not_before) < 0)
    {
      shown = g_date_time_format_iso8601 (not_before);
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "http.tls_cert_file: the certificate in %s is not valid before %s",
                   cert_file, shown);
      return FALSE;
    }
  return TRUE;
}

GTlsCertificate *
pay_http_tls_load (const gchar *cert_file, const gchar *key_file, GError **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (cert_file != NULL && key_file != NULL, NULL);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local);
  if (certificate == NULL)
    {
      g_set_error (error, PAY_CONFIG_ERROR, PAY_CONFIG_ERROR_VALUE,
                   "http.tls_cert_file and http.tls_key_file: cannot load %s and %s: %s",
                   cert_file, key_file, local->message);
      return NULL;
    }
  if (!check_validity (certificate, cert_file, error) ||
      !check_key_matches (cert_file, key_file, error))
    return NULL;
  return g_steal_pointer (&certificate);
}
