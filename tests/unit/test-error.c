/* test-error.c: the error table's contract code -> HTTP status (docs/CONTRACT.md
 * section 3) and how a GError is described to a client, on either transport. */
#include <gio/gio.h>
#include <string.h>

#include "core/pay-error.h"

typedef struct {
  gint32 code;
  guint  status;
} StatusCase;

/* docs/CONTRACT.md section 3, row by row. */
static const StatusCase status_cases[] = {
  { 4004001, 400 },
  { 4004002, 400 },
  { 4004003, 400 },
  { 4004004, 404 },
  { 4004005, 409 },
  { 4004006, 409 },
  { 4004007, 404 },
  { 4004008, 405 },
  { 4004009, 413 },
  { 4004010, 415 },
  { 4004011, 401 },
  { 4004012, 403 },
  { 4004013, 429 },
  { 4005001, 500 },
  { 4005002, 409 },
  { 4005003, 503 },
  { 4005004, 503 },
  { 4005005, 503 },
  /* codes the contract does not have */
  { 0,       500 },
  { 4004000, 500 },
  { 4004014, 500 },
  { 4004099, 500 },
  { 4005000, 500 },
  { 4005006, 500 },
  { -1,      500 },
};

static void
test_status_for_code (gconstpointer data)
{
  const StatusCase *tc = data;

  g_assert_cmpuint (pay_error_http_status (tc->code), ==, tc->status);
}

static void
test_describe_pay_error (void)
{
  g_autoptr(GError) error = g_error_new_literal (PAY_ERROR, PAY_ERROR_ORDER_ALREADY_PAID,
                                                 "order already paid");
  gint32 code = 0;
  const gchar *message = NULL;

  code = pay_error_describe (error, &message);
  g_assert_cmpuint (pay_error_http_status (code), ==, 409);
  g_assert_cmpint (code, ==, PAY_ERROR_ORDER_ALREADY_PAID);
  g_assert_cmpstr (message, ==, "order already paid");
}

/* An error from another domain is a storage failure, and its text stays inside. */
static void
test_describe_foreign_error (void)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                 "Can't connect to MySQL server on 10.0.0.7");
  gint32 code = 0;
  const gchar *message = NULL;

  code = pay_error_describe (error, &message);
  g_assert_cmpuint (pay_error_http_status (code), ==, 503);
  g_assert_cmpint (code, ==, PAY_ERROR_STORAGE_UNAVAILABLE);
  g_assert_null (strstr (message, "10.0.0.7"));
  g_assert_cmpstr (message, !=, "");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (status_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/payment/error/status/%d",
                                                status_cases[i].code);
      g_test_add_data_func (path, &status_cases[i], test_status_for_code);
    }
  g_test_add_func ("/payment/error/describe/pay-error", test_describe_pay_error);
  g_test_add_func ("/payment/error/describe/foreign-error", test_describe_foreign_error);

  return g_test_run ();
}
