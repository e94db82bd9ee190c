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
