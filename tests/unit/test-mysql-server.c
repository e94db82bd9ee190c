/* test-mysql-server.c: the server told from its version string, and what differs on it
 * (src/storage/pay-mysql-server.h). */
#include <glib.h>
#include <string.h>

#include "storage/pay-mysql-server.h"

static void
test_detect (void)
{
  g_assert_cmpint (pay_mysql_server_detect ("10.11.6-MariaDB-0+deb12u1"), ==, PAY_MYSQL_SERVER_MARIADB);
  g_assert_cmpint (pay_mysql_server_detect ("5.5.5-10.11.6-MariaDB"), ==, PAY_MYSQL_SERVER_MARIADB);
  g_assert_cmpint (pay_mysql_server_detect ("8.0.11-TiDB-v9.0.0-beta.2.pre-731-ge4e814f"), ==,
                   PAY_MYSQL_SERVER_TIDB);
  g_assert_cmpint (pay_mysql_server_detect ("8.0.36"), ==, PAY_MYSQL_SERVER_MYSQL);
  g_assert_cmpint (pay_mysql_server_detect (NULL), ==, PAY_MYSQL_SERVER_MYSQL);
  g_assert_cmpstr (pay_mysql_server_name (PAY_MYSQL_SERVER_TIDB), ==, "TiDB");
}

static void
test_isolation_variable (void)
{
  g_assert_cmpstr (pay_mysql_server_isolation_variable (PAY_MYSQL_SERVER_MARIADB), ==, "tx_isolation");
  g_assert_cmpstr (pay_mysql_server_isolation_variable (PAY_MYSQL_SERVER_MYSQL), ==, "transaction_isolation");
  g_assert_cmpstr (pay_mysql_server_isolation_variable (PAY_MYSQL_SERVER_TIDB), ==, "transaction_isolation");
}

/* The relay's gap rule lists open transactions where each server keeps them: TiDB's
 * INNODB_TRX would list one TiDB server's only. */
static void
test_open_transactions (void)
{
  const gchar *innodb = pay_mysql_server_open_transactions_sql (PAY_MYSQL_SERVER_MARIADB);
  const gchar *tidb = pay_mysql_server_open_transactions_sql (PAY_MYSQL_SERVER_TIDB);

  g_assert_nonnull (strstr (innodb, "information_schema.INNODB_TRX"));
  g_assert_cmpstr (pay_mysql_server_open_transactions_sql (PAY_MYSQL_SERVER_MYSQL), ==, innodb);
  g_assert_nonnull (strstr (tidb, "information_schema.CLUSTER_TIDB_TRX"));
  g_assert_null (strstr (tidb, "INNODB_TRX"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/payment/mysql-server/detect", test_detect);
  g_test_add_func ("/payment/mysql-server/isolation-variable", test_isolation_variable);
  g_test_add_func ("/payment/mysql-server/open-transactions", test_open_transactions);
  return g_test_run ();
}
