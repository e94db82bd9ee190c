"""Concurrent charges of one order: exactly one succeeds, every other gets 4005002, over
RPC connections alone and over RPC and HTTP together."""

import collections

import pytest

from support import data, httpapi
from support.race import run_together
from support.pay import count_orders
from support.rpc import RpcClient

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
