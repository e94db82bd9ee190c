"""Concurrent charges of one order: exactly one succeeds, every other gets 4005002, over
RPC connections alone and over RPC and HTTP together. Concurrent charges grouped into one
INSERT: each gets its own outcome, and a slow one holds back no other."""

import collections
import threading

import pytest

from support import data, httpapi
from support.race import run_together
from support.pay import count_orders
from support.refunds import event_rows
from support.rpc import RpcClient, charge_call, connect, decode_reply, read_frame
from support.service import poll
from support.tablelock import HeldSession, TableLock, in_flight_charges, metric_sum

N = 40


def rpc_caller(port, req):
    def prepare():
        c = RpcClient(port, timeout=60)

        def call():
            try:
                return c.charge(req)[:2]
            finally:
                c.close()
        return call
    return prepare


def http_caller(port, req):
    def prepare():
        def call():
            res = httpapi.charge(port, req, timeout=60)
            r = res[-1]
            if res[0] == "error" and res[1] == 4005002:
                assert r.status == 409, r
            return res[:2]
        return call
    return prepare


def check(results, mariadb, database, order):
    counts = collections.Counter(r[0] if r[0] == "ok" else r for r in map(tuple, results))
    assert counts["ok"] == 1, f"want exactly 1 success: {dict(counts)}"
    assert counts[("error", 4005002)] == N - 1, f"want {N - 1} x 4005002: {dict(counts)}"
    assert count_orders(mariadb, database, order) == 1


def test_40_rpc_charges_of_one_order(service, mariadb, database):
    order = data.order_id()
    reqs = [data.charge(order=order, amount=10 + i) for i in range(N)]
    results = run_together([rpc_caller(service.rpc_port, r) for r in reqs])
    check(results, mariadb, database, order)


def test_40_charges_of_one_order_rpc_and_http(service, mariadb, database):
    order = data.order_id()
    fns = []
    for i in range(N):
        req = data.charge(order=order, amount=5 + i)
        fns.append(rpc_caller(service.rpc_port, req) if i % 2 == 0
                   else http_caller(service.http_port, req))
    results = run_together(fns)
    check(results, mariadb, database, order)


@pytest.mark.parametrize("round_", range(3))
def test_many_orders_at_once(round_, service, mariadb, database):
    """40 different orders at once: all succeed, each exactly once."""
    reqs = [data.charge() for _ in range(N)]
    fns = [rpc_caller(service.rpc_port, r) if i % 2 else http_caller(service.http_port, r)
           for i, r in enumerate(reqs)]
    results = run_together(fns)
    assert all(r[0] == "ok" for r in results), results
    assert len({r[1] for r in results}) == N, "duplicate transaction ids"
    for r in reqs:
        assert count_orders(mariadb, database, r["order_id"]) == 1


def test_charges_wait_for_a_small_pool(fresh_service, mariadb, database):
    """40 orders at once through a pool of 2 MySQL connections: charges that find every
    connection busy wait on the main loop for one to come back (none fails for want of a
    connection), then each order is stored exactly once."""
    svc = fresh_service(extra_env={"PAYMENT_MYSQL_POOL_SIZE": "2"})
    warm = [data.charge() for _ in range(4)]
    for r in warm:   # the 2 connections exist, are warm and have the INSERT prepared
        with RpcClient(svc.rpc_port, timeout=60) as c:
            assert c.charge(r)[0] == "ok"
    for round_ in range(3):
        reqs = [data.charge() for _ in range(N)]
        results = run_together([rpc_caller(svc.rpc_port, r) for r in reqs])
        assert all(r[0] == "ok" for r in results), (round_, results)
        for r in reqs:
            assert count_orders(mariadb, database, r["order_id"]) == 1


# ---- grouped INSERTs (src/storage/pay-repository-charge.c) ----

GROUP = 20
HELD_ENV = {   # charges held in MySQL wait for it, not for a timeout
    "PAYMENT_MYSQL_READ_TIMEOUT_SECONDS": "60",
    "PAYMENT_MYSQL_WRITE_TIMEOUT_SECONDS": "60",
    "PAYMENT_MYSQL_CONNECT_TIMEOUT_SECONDS": "60",
    "PAYMENT_MYSQL_LOCK_WAIT_TIMEOUT_SECONDS": "60",
}


def charge_counts(svc):
    return (metric_sum(svc, "payment_mysql_charge_statements_total"),
            metric_sum(svc, "payment_mysql_charge_rows_total"))


def start_in_threads(svc, reqs, results):
    """Charges @reqs over RPC, one connection and thread each; results[i] gets the ith
    outcome."""
    def call(i, req):
        try:
            with RpcClient(svc.rpc_port, timeout=120) as c:
                results[i] = tuple(c.charge(req)[:2])
        except Exception as e:  # noqa: BLE001
            results[i] = ("exception", repr(e))
    threads = [threading.Thread(target=call, args=(i, r)) for i, r in enumerate(reqs)]
    for t in threads:
        t.start()
    return threads


def held_group(svc, mariadb, db, reqs):
    """With the payments table locked: one charge alone takes the pool's one connection,
    then @reqs arrive and wait for it; the lock goes. Returns (the lone charge's outcome,
    the outcomes of @reqs, the change in (statements, rows))."""
    results = {}
    before = charge_counts(svc)
    lock = TableLock(mariadb, db)
    try:
        threads = start_in_threads(svc, [data.charge()], results)
        poll(lambda: in_flight_charges(svc) == 1, 30, what="the lone charge in flight")
        group = {}
        threads += start_in_threads(svc, reqs, group)
        poll(lambda: metric_sum(svc, "payment_mysql_charges_waiting") == len(reqs), 30,
             what=f"{len(reqs)} more charges waiting for the next INSERT")
        assert in_flight_charges(svc) == 1 + len(reqs)
        assert not results and not group, "replies while the table was locked"
    finally:
        lock.release()
    for t in threads:
        t.join(timeout=120)
    assert metric_sum(svc, "payment_mysql_charges_waiting") == 0
    after = charge_counts(svc)
    return results.get(0), [group.get(i) for i in range(len(reqs))], (
        after[0] - before[0], after[1] - before[1])


def test_charges_waiting_together_share_one_insert(fresh_service, mariadb):
    """Charges that wait for the same connection go to MySQL as ONE multi-row INSERT
    (statements and rows counted in /metrics), and each is stored once, with its event."""
    db = "payment_group"
    svc = fresh_service(extra_env={"PAYMENT_MYSQL_POOL_SIZE": "1", **HELD_ENV},
                        database_name=db)
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"   # schema in place
    reqs = [data.charge() for _ in range(GROUP)]
    lone, outcomes, (statements, rows) = held_group(svc, mariadb, db, reqs)
    assert lone[0] == "ok", lone
    assert all(o is not None and o[0] == "ok" for o in outcomes), outcomes
    assert len({o[1] for o in outcomes}) == GROUP, "duplicate transaction ids"
    assert (statements, rows) == (2, 1 + GROUP), \
        f"want the lone charge's INSERT and one of {GROUP} rows: {statements}, {rows}"
    for r, o in zip(reqs, outcomes):
        assert count_orders(mariadb, db, r["order_id"]) == 1
        assert [e[0] for e in event_rows(mariadb, db, o[1])] == ["charge"], o


def test_a_refused_group_gives_each_charge_its_own_outcome(fresh_service, mariadb):
    """A group holding an order paid already and an order charged twice in it: MySQL
    refuses the whole INSERT (a duplicate key), then each charge runs alone: every other
    charge succeeds, the paid order gets 4005002 twice, the doubled order succeeds once,
    and nothing is stored twice."""
    db = "payment_group_dup"
    svc = fresh_service(extra_env={"PAYMENT_MYSQL_POOL_SIZE": "1", **HELD_ENV},
                        database_name=db)
    paid = data.charge()
    assert httpapi.charge(svc.http_port, paid)[0] == "ok"
    twice = data.order_id()
    reqs = [data.charge() for _ in range(GROUP - 4)]
    reqs += [data.charge(order=paid["order_id"]), data.charge(order=twice),
             data.charge(order=paid["order_id"]), data.charge(order=twice)]
    lone, outcomes, (statements, rows) = held_group(svc, mariadb, db, reqs)
    assert lone[0] == "ok", lone
    fresh = outcomes[:GROUP - 4]
    assert all(o is not None and o[0] == "ok" for o in fresh), fresh
    assert outcomes[GROUP - 4] == ("error", 4005002), outcomes[GROUP - 4:]
    assert outcomes[GROUP - 2] == ("error", 4005002), outcomes[GROUP - 4:]
    doubled = sorted([outcomes[GROUP - 3][0], outcomes[GROUP - 1][0]])
    assert doubled == ["error", "ok"], outcomes[GROUP - 4:]
    assert 4005002 in (outcomes[GROUP - 3][1], outcomes[GROUP - 1][1]), outcomes[GROUP - 4:]
    # the lone INSERT, the refused group, then each of its charges alone
    assert (statements, rows) == (2 + GROUP, 1 + 2 * GROUP), (statements, rows)
    for r in reqs:
        assert count_orders(mariadb, db, r["order_id"]) == 1
    events = mariadb.query("SELECT order_id, COUNT(*) FROM payment_events"
                           " WHERE event_type = 'charge' GROUP BY order_id HAVING COUNT(*) > 1",
                           db)
    assert not events, f"orders with more than one charge event: {events}"


def test_a_charge_held_by_a_row_lock_holds_back_no_other(fresh_service, mariadb):
    """One charge waits in MySQL for a row lock (another session's uncommitted INSERT of
    the same order): a charge of another order still succeeds meanwhile, on another
    connection, though a pool of 8 sends one charge statement at a time. The first then
    succeeds once the other session rolls back."""
    db = "payment_group_lock"
    svc = fresh_service(extra_env={"PAYMENT_MYSQL_POOL_SIZE": "8", **HELD_ENV},
                        database_name=db)
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"   # schema in place
    order = data.order_id()
    held = HeldSession(
        mariadb, db,
        "BEGIN; INSERT INTO payments (transaction_id, order_id, user_id, amount_cents,"
        f" status) VALUES (UUID(), {order}, 1, 100, 1);",
        "ROLLBACK;")
    results = {}
    try:
        threads = start_in_threads(svc, [data.charge(order=order)], results)
        poll(lambda: in_flight_charges(svc) == 1, 30, what="the held charge in flight")
        with RpcClient(svc.rpc_port, timeout=60) as c:
            other = c.charge(data.charge())
        assert other[0] == "ok", other
        assert not results, f"the held charge was answered: {results}"
    finally:
        held.release()
    for t in threads:
        t.join(timeout=120)
    assert results.get(0, ("none",))[0] == "ok", results
    assert count_orders(mariadb, db, order) == 1


def server_unread_bytes(rpc_port, client_port):
    """What the service's end of the connection from @client_port has received and not
    read yet (the receive queue in /proc/net/tcp), or None while there is no such socket."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, queues = fields[1], fields[2], fields[4]
                if (int(local.rsplit(":", 1)[1], 16) == rpc_port
                        and int(remote.rsplit(":", 1)[1], 16) == client_port):
                    return int(queues.split(":")[1], 16)
    return None


def test_a_connection_reads_nothing_while_its_call_is_with_the_service(fresh_service, mariadb):
    """Back-pressure: while a call waits in MySQL, the calls its client pipelines behind
    it stay in the kernel's buffers (the service reads none of them into its memory: a
    client cannot make it buffer without bound), and are answered in order afterwards."""
    db = "payment_backpressure"
    svc = fresh_service(extra_env=HELD_ENV, database_name=db)
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"   # schema in place
    behind = [data.charge() for _ in range(200)]
    pipelined = b"".join(charge_call(r, seqid=2 + i) for i, r in enumerate(behind))
    lock = TableLock(mariadb, db)
    try:
        with connect(svc.rpc_port, timeout=60) as s:
            s.sendall(charge_call(data.charge(), seqid=1))
            poll(lambda: in_flight_charges(svc) == 1, 30, what="the first charge in flight")
            s.sendall(pipelined)
            client_port = s.getsockname()[1]
            poll(lambda: server_unread_bytes(svc.rpc_port, client_port) == len(pipelined), 30,
                 what=f"all {len(pipelined)} pipelined bytes waiting unread in the kernel")
            assert in_flight_charges(svc) == 1
            lock.release()
            replies = [decode_reply(read_frame(s, timeout=60)) for _ in range(1 + len(behind))]
    finally:
        lock.release()
    assert [r.seqid for r in replies] == list(range(1, 2 + len(behind)))
    failed = [r for r in replies if r.result.success is None]
    assert not failed, failed[:3]
