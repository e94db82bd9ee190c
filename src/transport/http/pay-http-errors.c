/* pay-http-errors.c: contract error code -> HTTP status, the table of docs/CONTRACT.md
 * section 3, kept in one place for the whole HTTP transport. */
#define G_LOG_DOMAIN "payment-http"

#include "transport/http/pay-http-errors.h"

#include <libsoup/soup.h>

#include "core/pay-error.h"

/* Shown instead of the message of an error from outside PAY_ERROR. */
#define PAY_HTTP_INTERNAL_MESSAGE "storage unavailable"

typedef struct {
  gint32 code;
  guint  status;
} PayHttpStatusRow;

static const PayHttpStatusRow status_table[] = {
  { PAY_ERROR_INVALID_CARD,        SOUP_STATUS_BAD_REQUEST },
  { PAY_ERROR_INVALID_AMOUNT,      SOUP_STATUS_BAD_REQUEST },
  { PAY_ERROR_INVALID_REQUEST,     SOUP_STATUS_BAD_REQUEST },
  { PAY_ERROR_NOT_FOUND,           SOUP_STATUS_NOT_FOUND },
  { PAY_ERROR_REFUND_EXCEEDS,      SOUP_STATUS_CONFLICT },
  { PAY_ERROR_REFUND_CONFLICT,     SOUP_STATUS_CONFLICT },
  { PAY_ERROR_NO_SUCH_ENDPOINT,    SOUP_STATUS_NOT_FOUND },
  { PAY_ERROR_METHOD_NOT_ALLOWED,  SOUP_STATUS_METHOD_NOT_ALLOWED },
  { PAY_ERROR_BODY_TOO_LARGE,      SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE },
  { PAY_ERROR_ID_GENERATION,       SOUP_STATUS_INTERNAL_SERVER_ERROR },
  { PAY_ERROR_ORDER_ALREADY_PAID,  SOUP_STATUS_CONFLICT },
  { PAY_ERROR_CACHE_READ,          SOUP_STATUS_SERVICE_UNAVAILABLE },
  { PAY_ERROR_CACHE_WRITE,         SOUP_STATUS_SERVICE_UNAVAILABLE },
  { PAY_ERROR_STORAGE_UNAVAILABLE, SOUP_STATUS_SERVICE_UNAVAILABLE },
};

guint
pay_http_status_for_code (gint32 code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (status_table); i++)
    if (status_table[i].code == code)
      return status_table[i].status;
  return SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

guint
pay_http_describe_error (const GError *error, gint32 *code, const gchar **message)
{
  g_return_val_if_fail (error != NULL, SOUP_STATUS_INTERNAL_SERVER_ERROR);
  g_return_val_if_fail (code != NULL && message != NULL, SOUP_STATUS_INTERNAL_SERVER_ERROR);

  *code = pay_error_code (error);
  *message = error->domain == PAY_ERROR ? error->message : PAY_HTTP_INTERNAL_MESSAGE;
  return pay_http_status_for_code (*code);
}
