"""The service states the session settings it relies on (autocommit, isolation level,
sql_mode, time zone) instead of taking the server's defaults: against a MariaDB whose
defaults are autocommit=0, REPEATABLE READ and an empty sql_mode, charges and refunds
answered over RPC and HTTP are committed, seen from another session, and still there
after the service has exited. And a COMMIT that fails retires its connection alone."""

import os

import pytest

from support import data, httpapi
from support.env import devservers
from support.pay import payment_row
from support.refunds import event_rows, refund, refund_rows
from support.rpc import RpcClient
from support.service import Service, poll
from support.tablelock import HeldSession

DATABASE = "payment_loose"
# Server defaults that differ from every setting the service relies on. The short
# lock_wait_timeout (the service does not set it) makes a COMMIT that BACKUP STAGE
# BLOCK_COMMIT holds fail after a second with ER_LOCK_WAIT_TIMEOUT, an error that leaves the
# connection itself usable.
LOOSE_DEFAULTS = ["--autocommit=0", "--transaction-isolation=REPEATABLE-READ", "--sql-mode=",
                  "--default-time-zone=+05:00", "--lock-wait-timeout=1"]


@pytest.fixture(scope="module")
def loose_mariadb(servers_dir):
    m = devservers.MariaDB(os.path.join(servers_dir, "mariadb-loose"), server_args=LOOSE_DEFAULTS)
    m.start()
    m.create_database(DATABASE)
    yield m
    m.stop()


def test_the_servers_defaults_are_the_loose_ones(loose_mariadb):
    """The premise of this module: a fresh session gets the defaults the service must not
    rely on."""
    rows = loose_mariadb.query("SELECT @@autocommit, @@tx_isolation, @@sql_mode, @@time_zone")
    assert rows == [["0", "REPEATABLE-READ", "", "+05:00"]], rows


def charge(transport, svc):
    req = data.charge(amount=40.0)
    if transport == "rpc":
        with RpcClient(svc.rpc_port) as c:
            res = c.charge(req)
    else:
        res = httpapi.charge(svc.http_port, req)
    assert res[0] == "ok", res
    return res[1]


def assert_stored(mariadb, tx, refund_key=None):
    """@tx's payment, with its refund of 15.00 when @refund_key is given, and its events,
    as another session sees them."""
    row = payment_row(mariadb, DATABASE, tx)
    assert row is not None, f"payment {tx} not visible from another session"
    refunded = "1500" if refund_key else "0"
    assert (row["amount_cents"], row["refunded_cents"]) == ("4000", refunded), row
    refunds = refund_rows(mariadb, DATABASE, tx)
    events = event_rows(mariadb, DATABASE, tx)
    if refund_key is None:
        assert refunds == [], refunds
        assert [(e[0], e[2]) for e in events] == [("charge", "4000")], events
    else:
        assert [(r[1], r[3]) for r in refunds] == [(refund_key, "1500")], refunds
        assert [(e[0], e[2]) for e in events] == [("charge", "4000"), ("refund", "1500")], events


def test_charges_and_refunds_are_committed(loose_mariadb, redis, thrift_modules, binary):
    svc = Service(loose_mariadb, redis, DATABASE, name="loose")
    svc.start()
    try:
        # Charges alone first: a later transaction on the same connection (a refund's
        # START TRANSACTION) would commit whatever a charge had left open.
        charged = [charge(transport, svc) for transport in ("rpc", "http", "rpc", "http")]
        for tx in charged:
            assert_stored(loose_mariadb, tx)
        refunded = {}
        for transport, tx in zip(("rpc", "http"), charged):
            key = f"loose-{transport}-{data.order_id()}"
            res = refund(transport, svc, tx, key, amount=15.0)
            assert res[0] == "ok", res
            refunded[tx] = key
        for tx in charged:
            assert_stored(loose_mariadb, tx, refunded.get(tx))
    finally:
        svc.stop_and_check()
    # The service's sessions are closed: only what was committed is left.
    for tx in charged:
        assert_stored(loose_mariadb, tx, refunded.get(tx))


def pooled_connection_ids(mariadb):
    """The ids of the sessions using DATABASE: the service's pooled connections (its
    probe connection names no database, nor does this query's)."""
    rows = mariadb.query("SELECT ID FROM information_schema.PROCESSLIST"
                         f" WHERE DB = '{DATABASE}' ORDER BY ID")
    return {r[0] for r in rows}


def test_a_failed_commit_retires_its_connection(loose_mariadb, redis, thrift_modules, binary):
    svc = Service(loose_mariadb, redis, DATABASE, name="loose-commit",
                  extra_env={"PAYMENT_MYSQL_POOL_SIZE": "1"})
    svc.start()
    try:
        tx = charge("rpc", svc)
        before = pooled_connection_ids(loose_mariadb)
        assert len(before) == 1, before
        # Commits wait for the backup stage; the refund's COMMIT times out.
        backup = HeldSession(loose_mariadb, None,
                             "BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT;", "BACKUP STAGE END;")
        try:
            res = refund("rpc", svc, tx, f"commit-{data.order_id()}", amount=15.0)
        finally:
            backup.release()
        assert res[:2] == ("error", 4005005), res
        assert refund_rows(loose_mariadb, DATABASE, tx) == []
        # The connection goes when it is checked in, around the reply: wait for it.
        poll(lambda: not (pooled_connection_ids(loose_mariadb) & before), 10.0, interval=0.05,
             what=f"connection {before} closed after its COMMIT failed")
        key = f"commit-again-{data.order_id()}"
        res = refund("rpc", svc, tx, key, amount=15.0)
        assert res[0] == "ok", res
        assert_stored(loose_mariadb, tx, key)
    finally:
        svc.stop_and_check()
