"""What the service may and may not rely on, on each SQL server it runs on: the session's
`mariadb` fixture is MariaDB (integration/test_sql_servers) or TiDB over unistore
(integration-tidb/test_sql_servers, PAYMENT_IT_BACKEND=tidb). Each test states what
each server does, so a difference README "Scaling out" lists as "(tested)" is shown here,
and a server that changes its behaviour fails the test. Plain SQL through the mariadb
client: the service is not involved."""

import re

import pytest

from support import env
from support.tablelock import HeldSession

TIDB = env.BACKEND == "tidb"
DB = "sql_servers"


@pytest.fixture(scope="module")
def db(mariadb):
    mariadb.query(f"DROP DATABASE IF EXISTS {DB}")
    mariadb.create_database(DB)
    return DB


def error_of(mariadb, sql, database):
    """The client's error line for @sql, which must fail."""
    with pytest.raises(RuntimeError) as e:
        mariadb.query(sql, database)
    return str(e.value)


def test_the_version_string_names_the_server(mariadb):
    version = mariadb.query("SELECT VERSION()")[0][0]
    if TIDB:
        assert "-TiDB-" in version, version
    else:
        assert "MariaDB" in version, version


def test_triggers_and_stored_procedures(mariadb, db):
    mariadb.query("CREATE TABLE trig_t (id INT PRIMARY KEY)", db)
    trigger = ("CREATE TRIGGER trig_t_ai AFTER INSERT ON trig_t FOR EACH ROW "
               "SET @seen = NEW.id")
    procedure = "CREATE PROCEDURE proc_p() SELECT 1"
    if TIDB:
        assert "ERROR 1064" in error_of(mariadb, trigger, db)        # not even parsed
        assert "ERROR 8108" in error_of(mariadb, procedure, db)      # parsed, unsupported
    else:
        mariadb.query(trigger, db)
        mariadb.query(procedure, db)


def test_check_constraints_are_ignored_by_default_on_tidb(mariadb, db):
    mariadb.query("CREATE TABLE check_t (id INT PRIMARY KEY, amount BIGINT NOT NULL, "
                  "CHECK (amount > 0))", db)
    bad = "INSERT INTO check_t VALUES (1, -5)"
    if TIDB:
        assert mariadb.query("SELECT @@global.tidb_enable_check_constraint")[0][0] in ("0", "OFF")
        mariadb.query(bad, db)
        assert mariadb.query("SELECT amount FROM check_t", db) == [["-5"]]
    else:
        assert "ERROR 4025" in error_of(mariadb, bad, db)
        assert mariadb.query("SELECT COUNT(*) FROM check_t", db) == [["0"]]


def test_a_multi_row_insert_with_a_duplicate_fails_whole(mariadb, db):
    mariadb.query("CREATE TABLE dup_t (id INT PRIMARY KEY AUTO_INCREMENT, "
                  "order_id BIGINT NOT NULL, UNIQUE KEY (order_id))", db)
    mariadb.query("INSERT INTO dup_t (order_id) VALUES (1)", db)
    err = error_of(mariadb, "INSERT INTO dup_t (order_id) VALUES (2), (1), (3)", db)
    assert "ERROR 1062" in err
    assert mariadb.query("SELECT order_id FROM dup_t ORDER BY order_id", db) == [["1"]]


def test_uuid_is_version_1(mariadb):
    for (u,) in mariadb.query("SELECT UUID() UNION ALL SELECT UUID()"):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                            r"[0-9a-f]{12}", u), u


def test_select_for_update_waits_for_the_row_lock(mariadb, db):
    """Pessimistic on both: a second FOR UPDATE of a locked row waits (here until its
    lock wait timeout, 1205), it is not let through to fail at COMMIT as an optimistic
    transaction would."""
    mariadb.query("CREATE TABLE lock_t (id INT PRIMARY KEY, n INT NOT NULL)", db)
    mariadb.query("INSERT INTO lock_t VALUES (1, 0)", db)
    # The lock taken, the session prints "held" (TiDB has no SELECT ... INTO @variable),
    # which is the line HeldSession waits for.
    holder = HeldSession(mariadb, db,
                         "BEGIN; SELECT 'held' FROM lock_t WHERE id = 1 FOR UPDATE;",
                         "ROLLBACK;")
    try:
        if TIDB:
            assert mariadb.query("SELECT @@global.tidb_txn_mode")[0][0] == "pessimistic"
        err = error_of(mariadb, "SET SESSION innodb_lock_wait_timeout = 1; BEGIN; "
                       "SELECT n FROM lock_t WHERE id = 1 FOR UPDATE", db)
        assert "ERROR 1205" in err
    finally:
        holder.release()
    assert mariadb.query("BEGIN; SELECT n FROM lock_t WHERE id = 1 FOR UPDATE; COMMIT",
                         db) == [["0"]]


def test_lock_tables_is_a_no_op_on_tidb(mariadb, db):
    """Without enable-table-lock (off by default) TiDB accepts LOCK TABLES and locks
    nothing: another session writes the "locked" table at once. This is why the suites
    that hold charges with LOCK TABLES are deselected on TiDB (support/backends.py)."""
    mariadb.query("CREATE TABLE tl_t (id INT PRIMARY KEY)", db)
    holder = HeldSession(mariadb, db, "LOCK TABLES tl_t WRITE;", "UNLOCK TABLES;")
    try:
        write = "SET SESSION lock_wait_timeout = 1; INSERT INTO tl_t VALUES (1)"
        if TIDB:
            mariadb.query(write, db)
            assert mariadb.query("SELECT id FROM tl_t", db) == [["1"]]
        else:
            assert "ERROR 1205" in error_of(mariadb, write, db)
    finally:
        holder.release()


def test_get_lock_is_held_by_one_session(mariadb, db):
    """The event relay elects its one instance with GET_LOCK (README "Events")."""
    holder = HeldSession(mariadb, db, "SET @got = GET_LOCK('sql_servers_lock', 0);",
                         "SET @released = RELEASE_LOCK('sql_servers_lock');")
    try:
        assert mariadb.query("SELECT GET_LOCK('sql_servers_lock', 0)") == [["0"]]
    finally:
        holder.release()
    assert mariadb.query("SELECT GET_LOCK('sql_servers_lock', 0)") == [["1"]]


def test_auto_increment_after_a_restart(mariadb, db):
    """TiDB hands each server AUTO_INCREMENT values in batches (30,000 by default) and a
    restart drops the rest of its batch, so ids jump; MariaDB goes on from the highest.
    With AUTO_ID_CACHE=1, the table option the service gives payment_events (a comment
    to MariaDB), TiDB allocates them from one central allocator, which still reserves
    4,000 at a time: a restart skips the rest of those, a smaller jump.
    (Several TiDB servers, each with its own batch, cannot be shown on unistore.)"""
    mariadb.query("CREATE TABLE ai_t (id BIGINT PRIMARY KEY AUTO_INCREMENT, n INT)", db)
    mariadb.query("CREATE TABLE ai1_t (id BIGINT PRIMARY KEY AUTO_INCREMENT, n INT)"
                  " /*T![auto_id_cache] AUTO_ID_CACHE=1 */", db)
    for table in ("ai_t", "ai1_t"):
        mariadb.query(f"INSERT INTO {table} (n) VALUES (1), (2)", db)
    mariadb.stop()
    mariadb.start()
    ids = {}
    for table in ("ai_t", "ai1_t"):
        mariadb.query(f"INSERT INTO {table} (n) VALUES (3)", db)
        ids[table] = [int(r[0]) for r in mariadb.query(f"SELECT id FROM {table} ORDER BY id", db)]
    if TIDB:
        assert ids["ai_t"] == [1, 2, 30001], ids
        assert ids["ai1_t"] == [1, 2, 4001], ids
    else:
        assert ids["ai_t"] == [1, 2, 3], ids
        assert ids["ai1_t"] == [1, 2, 3], ids


def test_one_row_larger_than_tidbs_entry_limit(mariadb, db):
    """TiDB refuses a row (a key-value entry) over txn-entry-size-limit, 6 MiB by default
    (8025); MariaDB takes it. The service's rows are under 1 KiB."""
    mariadb.query("CREATE TABLE big_t (id INT PRIMARY KEY, b LONGBLOB)", db)
    sql = "INSERT INTO big_t VALUES (1, REPEAT('x', 7 * 1024 * 1024))"
    if TIDB:
        assert "ERROR 8025" in error_of(mariadb, sql, db)
    else:
        mariadb.query(sql, db)   # within max_allowed_packet, 16 MiB by default
        assert mariadb.query("SELECT LENGTH(b) FROM big_t", db) == [[str(7 * 1024 * 1024)]]
