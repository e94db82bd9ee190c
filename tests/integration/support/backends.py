"""The SQL servers the storage suites run against, and the tests that cannot apply to
one of them, each with the reason. conftest.py deselects these on that backend (never a
silent skip: pytest counts them as deselected and prints each reason at the end) and fails
the run if an entry names a test that no longer exists.

Keys are "file::test" without parameters: a listed test is deselected in every
parametrization."""

DESELECTED = {
    "mariadb": {},
    "tidb": {
        # These hold charges inside MySQL with LOCK TABLES payments WRITE (support/
        # tablelock.py), which TiDB accepts and ignores without enable-table-lock
        # (test_sql_servers.py shows it): the charges are never held, so what they show
        # (grouping, back-pressure) cannot be set up. What they test is the service's, the
        # same on either server, and they run on MariaDB.
        "test_concurrency.py::test_charges_waiting_together_share_one_insert":
            "holds the charges with LOCK TABLES, which TiDB ignores (no enable-table-lock)",
        "test_concurrency.py::test_a_refused_group_gives_each_charge_its_own_outcome":
            "holds the charges with LOCK TABLES, which TiDB ignores (no enable-table-lock);"
            " a multi-row INSERT with a duplicate failing whole on TiDB is in"
            " test_sql_servers.py",
        "test_concurrency.py::test_a_connection_reads_nothing_while_its_call_is_with_the_service":
            "holds the first charge with LOCK TABLES, which TiDB ignores (no"
            " enable-table-lock)",
        "test_ids.py::test_an_older_database_gets_uuid_v4_charge_events":
            "the older database it upgrades has the trigger payments_charge_event, made by"
            " hand in the test: TiDB has no triggers, so no such database can exist there",
    },
}


def key(nodeid):
    """"dir/test_x.py::test_y[param]" -> "test_x.py::test_y"."""
    path, _, name = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + "::" + name.split("[", 1)[0]
