/* pay-mysql-server.c: the differences between MariaDB/MySQL and TiDB (see
 * pay-mysql-server.h). */
#include "storage/pay-mysql-server.h"

#include <string.h>

PayMysqlServer
pay_mysql_server_detect (const gchar *version)
{
  if (version == NULL)
    return PAY_MYSQL_SERVER_MYSQL;
  if (strstr (version, "TiDB") != NULL)
    return PAY_MYSQL_SERVER_TIDB;
  if (strstr (version, "MariaDB") != NULL)
    return PAY_MYSQL_SERVER_MARIADB;
  return PAY_MYSQL_SERVER_MYSQL;
}

const gchar *
pay_mysql_server_name (PayMysqlServer server)
{
  switch (server)
    {
    case PAY_MYSQL_SERVER_MARIADB:
      return "MariaDB";
    case PAY_MYSQL_SERVER_TIDB:
      return "TiDB";
    case PAY_MYSQL_SERVER_MYSQL:
    default:
      return "MySQL";
    }
}

const gchar *
pay_mysql_server_isolation_variable (PayMysqlServer server)
{
  return server == PAY_MYSQL_SERVER_MARIADB ? "tx_isolation" : "transaction_isolation";
}

const gchar *
pay_mysql_server_open_transactions_sql (PayMysqlServer server)
{
  if (server == PAY_MYSQL_SERVER_TIDB)
    return "SELECT CAST(ID AS CHAR) FROM information_schema.CLUSTER_TIDB_TRX";
  return "SELECT trx_id FROM information_schema.INNODB_TRX"
         " WHERE trx_mysql_thread_id <> CONNECTION_ID()";
}
