/* pay-http-auth.c: API keys on the JSON API (README "Security"): the Authorization
 * header checked against the keys in force, answered 401 or 403 before the body is read.
 * The header and the secret never reach a log: only the key id does, once verified. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-http-private.h"

#include <string.h>

#include "core/pay-error.h"

/* Notes the verified @key_id on @exchange: the log line names it, its counters count it. */
static void
note_key (PayHttpServer *self, PayHttpExchange *exchange, const gchar *key_id)
{
  g_strlcpy (exchange->key_id, key_id, sizeof exchange->key_id);
  exchange->record.key_id = exchange->key_id;
  exchange->key_metrics = pay_http_server_get_key_metrics (self, key_id);
}

gboolean
pay_http_auth_reject (PayHttpServer *self, SoupServerMessage *msg,
                      PayHttpExchange *exchange, PayAuthScope scope)
{
  PayAuthKeys *keys = pay_http_server_get_keys (self);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *key_id = NULL;
  PayAuthVerdict verdict;

  if (keys == NULL || scope == PAY_AUTH_SCOPE_NONE || exchange == NULL)
    return FALSE;
  /* Two Authorization headers come joined with ", ": malformed, so 401. */
  verdict = pay_auth_keys_check (keys, soup_message_headers_get_list (headers, "Authorization"),
                                 scope, &key_id);
  if (key_id != NULL)
    note_key (self, exchange, key_id);
  switch (verdict)
    {
    case PAY_AUTH_OK:
      return FALSE;
    case PAY_AUTH_FORBIDDEN:
      pay_http_respond_error (msg, PAY_ERROR_FORBIDDEN,
                              "forbidden: the API key lacks the scope of this route");
      return TRUE;
    case PAY_AUTH_UNAUTHENTICATED:
    default:
      pay_http_respond_error (msg, PAY_ERROR_UNAUTHENTICATED,
                              "unauthenticated: a valid \"Authorization: Bearer <key_id>.<secret>\" is required");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      return TRUE;
    }
}
