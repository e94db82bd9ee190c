/* pay-error.c: the PAY_ERROR domain and its table. */
#include "core/pay-error.h"

G_DEFINE_QUARK (pay-error-quark, pay_error)

typedef struct {
  gint32       code;
  guint        http_status;
  const gchar *message;
} PayErrorRow;

static const PayErrorRow error_rows[] = {
#define PAY_ERROR_ROW(name, code, status, message) { code, status, message },
  PAY_ERROR_MAP (PAY_ERROR_ROW)
#undef PAY_ERROR_ROW
};

static const PayErrorRow *
find_row (gint32 code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (error_rows); i++)
    if (error_rows[i].code == code)
      return &error_rows[i];
  return NULL;
}

gint32
pay_error_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, PAY_ERROR_STORAGE_UNAVAILABLE);

  if (error->domain == PAY_ERROR)
    return error->code;
  return PAY_ERROR_STORAGE_UNAVAILABLE;
}

guint
pay_error_http_status (gint32 code)
{
  const PayErrorRow *row = find_row (code);

  return row != NULL ? row->http_status : 500;
}

gint32
pay_error_describe (const GError *error, const gchar **message)
{
  const PayErrorRow *row;
  gint32 code;

  g_return_val_if_fail (error != NULL && message != NULL, PAY_ERROR_STORAGE_UNAVAILABLE);

  code = pay_error_code (error);
  if (error->domain == PAY_ERROR)
    {
      *message = error->message;
      return code;
    }
  row = find_row (code);
  *message = row->message;
  return code;
}
