/* pay-mysql-server.h: which server a connection speaks to, MariaDB/MySQL or TiDB, told
 * once at connect from its version string, and EVERY difference the service makes
 * between them, in this one place. The same SQL serves both wherever it can:
 *   - the schema has no trigger and no stored procedure (TiDB has neither): the service
 *     writes each charge's event itself (pay-repository-charge.c);
 *   - nothing depends on a CHECK constraint (TiDB ignores them unless
 *     tidb_enable_check_constraint is on): the service checks every value it writes;
 *   - payment_events gets AUTO_ID_CACHE=1 on TiDB from a comment only TiDB executes
 *     (pay-schema.c), so its ids are allocated centrally and in order, as InnoDB's;
 *   - TiDB's transactions are pessimistic by default and SELECT ... FOR UPDATE locks as in
 *     InnoDB: the refund's locking read works unchanged; READ COMMITTED and
 *     innodb_lock_wait_timeout are accepted (in pessimistic mode), as are the sql_mode,
 *     autocommit and time_zone the pool sets;
 *   - UUID() is version 1 on both: the service makes every id itself (UUID v4).
 * What differs, below: the isolation variable's name, and where open transactions are
 * listed (the event relay's gap rule).
 * Internal to src/storage/ and the event relay's MySQL side (src/events/). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PAY_MYSQL_SERVER_MYSQL,     /* Oracle MySQL, or one that does not say */
  PAY_MYSQL_SERVER_MARIADB,
  PAY_MYSQL_SERVER_TIDB,
} PayMysqlServer;

/* The server behind @version, mysql_get_server_info()'s string (e.g.
 * "10.11.6-MariaDB-0+deb12u1", "8.0.11-TiDB-v8.5.0"). Pure. */
PayMysqlServer pay_mysql_server_detect (const gchar *version);

/* A name for logs: "MySQL", "MariaDB" or "TiDB". */
const gchar *pay_mysql_server_name (PayMysqlServer server);

/* The session variable of the isolation level: tx_isolation on MariaDB (before 11.1 its
 * only name), transaction_isolation on MySQL (8.0 dropped tx_isolation) and TiDB. */
const gchar *pay_mysql_server_isolation_variable (PayMysqlServer server);

/* A SELECT (no parameters, one string column) of the ids of the transactions open on the
 * server, for the relay's gap rule (src/events/pay-event-outbox.c): InnoDB's INNODB_TRX
 * on MariaDB/MySQL (without the relay's own session); on TiDB the cluster-wide
 * CLUSTER_TIDB_TRX (INNODB_TRX there lists the one TiDB server's), whose ID is the
 * transaction's start timestamp (START_TIME as a TSO), unique across the cluster; the
 * relay's own autocommitted SELECT may be listed too, and is over at its next look. A
 * static string. */
const gchar *pay_mysql_server_open_transactions_sql (PayMysqlServer server);

G_END_DECLS
