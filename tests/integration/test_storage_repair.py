"""MySQL faults the service repairs by itself: one connection killed server-side is
retired alone (the pool's other connections stay), and a database or table dropped under
the running service is set up again within the request that meets the 1049/1146, whether
the error comes at connect, prepare or execute time."""

import threading

from support import data
from support.refunds import refund
from support.rpc import RpcClient
from support.service import poll
from support.tablelock import HeldSession

POOL_DATABASE = "payment_pool_kill"


def service_connection_ids(mariadb, database):
    """The ids of the sessions using @database: the service's pooled connections (its
    probe connection names no database, nor does this query's)."""
    rows = mariadb.query("SELECT ID FROM information_schema.PROCESSLIST"
                         f" WHERE DB = '{database}' ORDER BY ID")
    return {r[0] for r in rows}


def blocked_refunds(mariadb, database):
    rows = mariadb.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                         f" WHERE DB = '{database}' AND INFO LIKE '%FOR UPDATE%'")
    return int(rows[0][0])


def charge(service):
    with RpcClient(service.rpc_port) as c:
        res = c.charge(data.charge(amount=100.0))
    assert res[0] == "ok", res
    return res[1]


def refunds_on_n_connections(service, mariadb, database, tx, n):
    """@n refunds of @tx at once, each holding a pooled connection of its own: a session
    holds the payment row, so each refund waits in its first statement until all @n wait;
    then all of them go through."""
    held = HeldSession(mariadb, database,
                       "START TRANSACTION; UPDATE payments SET updated_at_ms = updated_at_ms"
                       f" WHERE transaction_id = '{tx}';", "COMMIT;")
    results = []
    try:
        threads = [threading.Thread(target=lambda: results.append(
            refund("rpc", service, tx, f"pool-{data.order_id()}", amount=1.0)))
            for _ in range(n)]
        for t in threads:
            t.start()
        poll(lambda: blocked_refunds(mariadb, database) == n, 30.0,
             what=f"{n} refunds waiting on the row lock")
    finally:
        held.release()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == n and all(r[0] == "ok" for r in results), results


def test_a_killed_connection_is_retired_alone(start_service, mariadb):
    """Three pooled connections, warm; one is killed from an admin session. The next
    requests that use all three find the dead one, replace it, and keep the other two
    (same server-side ids). Before, the first fatal error retired the whole pool: every
    connection reconnected."""
    svc = start_service(database_name=POOL_DATABASE,
                        extra_env={"PAYMENT_MYSQL_POOL_SIZE": "3"})
    try:
        tx = charge(svc)
        refunds_on_n_connections(svc, mariadb, POOL_DATABASE, tx, 3)
        before = service_connection_ids(mariadb, POOL_DATABASE)
        assert len(before) == 3, before
        victim = min(before)
        mariadb.query(f"KILL {victim}")
        refunds_on_n_connections(svc, mariadb, POOL_DATABASE, tx, 3)
        after = service_connection_ids(mariadb, POOL_DATABASE)
        assert victim not in after, after
        assert before - {victim} <= after, (
            f"the survivors of the kill were retired too: before {sorted(before)}, "
            f"killed {victim}, after {sorted(after)}")
        assert len(after - before) == 1, (before, after)
    finally:
        svc.stop_and_check()


# ---- the schema dropped under the running service ------------------------------------

def kill_service_connections(mariadb, database):
    """Kills every session using @database (the service's pooled connections) and waits
    until they are gone, so the next requests connect afresh."""
    ids = service_connection_ids(mariadb, database)
    for i in ids:
        mariadb.query(f"KILL {i}")
    poll(lambda: not (service_connection_ids(mariadb, database) & ids), 10.0,
         what=f"sessions {sorted(ids)} gone")


def charged_and_stored(service, mariadb, database):
    """A charge answered ok is in the (set up again) payments table, with its event."""
    req = data.charge(amount=12.0)
    with RpcClient(service.rpc_port) as c:
        res = c.charge(req)
    assert res[0] == "ok", f"a charge after the schema went: {res}"
    rows = mariadb.query("SELECT e.event_type FROM payments p JOIN payment_events e"
                         " ON e.transaction_id = p.transaction_id"
                         f" WHERE p.transaction_id = '{res[1]}'", database)
    assert rows == [["charge"]], rows
    return res[1]


def test_a_dropped_database_is_set_up_again_within_the_request(start_service, mariadb):
    """DROP DATABASE under a warm pool: the next charge meets 1146 on its prepared
    statement (execute time) and succeeds all the same. Then again with the pool's
    sessions gone too: the next connect meets 1049 (connect time), and both a refund
    and a charge still succeed."""
    database = "payment_drop_db"
    svc = start_service(database_name=database)
    try:
        charged_and_stored(svc, mariadb, database)
        mariadb.query(f"DROP DATABASE {database}")
        charged_and_stored(svc, mariadb, database)

        mariadb.query(f"DROP DATABASE {database}")
        kill_service_connections(mariadb, database)
        tx = charged_and_stored(svc, mariadb, database)
        mariadb.query(f"DROP DATABASE {database}")
        kill_service_connections(mariadb, database)
        res = refund("rpc", svc, tx, f"drop-{data.order_id()}", amount=1.0)
        # The database was dropped with the payment in it: not found, from MySQL.
        assert res[:2] == ("error", 4004004), res
    finally:
        svc.stop_and_check()


def test_a_dropped_table_is_set_up_again_at_prepare(start_service, mariadb):
    """DROP TABLE payments, and the pool's sessions gone: the next charge's connection
    prepares its INSERT and meets 1146 (prepare time). Before, the repair looked only at
    execute-time errors, and every charge failed until the service restarted."""
    database = "payment_drop_table"
    svc = start_service(database_name=database)
    try:
        charged_and_stored(svc, mariadb, database)
        kill_service_connections(mariadb, database)
        mariadb.query("DROP TABLE payments", database)
        charged_and_stored(svc, mariadb, database)
        charged_and_stored(svc, mariadb, database)
    finally:
        svc.stop_and_check()
