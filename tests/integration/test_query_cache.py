"""QueryPayment's cache-aside in Redis: a hit makes no MySQL query (MariaDB's Com_select
counter, on this suite's own MariaDB, with nothing else querying it), a miss reads MySQL
and fills the cache; with Redis stopped queries answer from MySQL; in strict cache mode
(cache.required = true) a Redis read failure is 4005003 and a cache write failure after a
committed refund is 4005004, with the refund committed."""

import pytest

from support import data
from support.pay import TX_PREFIX, ORDER_PREFIX, cached, payment_row, read_record
from support.refunds import event_rows, query, refund, refund_rows
from support.rpc import RpcClient
from support.service import poll
from support.tablelock import metric_sum


def new_charge(service, amount=100.0):
    req = data.charge(amount=amount)
    with RpcClient(service.rpc_port) as c:
        res = c.charge(req)
    assert res[0] == "ok", res
    return res[1], req


def com_select(mariadb):
    rows = mariadb.query("SHOW GLOBAL STATUS LIKE 'Com_select'")
    return int(rows[0][1])


def selects_during(mariadb, fn):
    before = com_select(mariadb)
    fn()
    return com_select(mariadb) - before


@pytest.fixture
def redis_back(redis):
    yield redis
    if not redis.is_running():
        redis.start()


def test_cache_hit_makes_no_mysql_query(service, mariadb, redis):
    tx, req = new_charge(service)
    order = req["order_id"]
    poll(lambda: cached(redis, tx, order), 10.0, what="the charge's cache records")

    # The baseline: what measuring itself costs (health probes use COM_PING, not SELECT).
    baseline = selects_during(mariadb, lambda: None)

    def hits():
        for transport in ("rpc", "http"):
            for kw in ({"tx": tx}, {"order": order}):
                for _ in range(5):
                    res = query(transport, service, **kw)
                    assert res[0] == "ok" and res[1]["transaction_id"] == tx, res

    assert selects_during(mariadb, hits) == baseline

    # A miss does query MySQL (the counter sees our statements) and fills the cache ...
    with redis.client() as c:
        c.command("DEL", TX_PREFIX + tx, ORDER_PREFIX + str(order))
    assert selects_during(mariadb, lambda: query("rpc", service, order=order)) > baseline
    rec, by_order = poll(lambda: cached(redis, tx, order), 10.0, what="the cache refilled")
    assert by_order == tx and rec["transaction_id"] == tx
    with redis.client() as c:
        assert c.command("TTL", TX_PREFIX + tx) > 0
    # ... so the next one is a hit again
    assert selects_during(mariadb, lambda: query("http", service, tx=tx)) == baseline


def test_garbage_in_the_cache_is_a_miss(service, redis):
    tx, req = new_charge(service, amount=3.5)
    poll(lambda: cached(redis, tx, req["order_id"]), 10.0, what="cached")
    with redis.client() as c:
        c.command("SET", TX_PREFIX + tx, "{not json")
    info = query("rpc", service, tx=tx)[1]
    assert info["amount"] == 3.5
    # a record HASH with a field that does not parse is a miss too
    poll(lambda: cached(redis, tx, req["order_id"]), 10.0, what="cached again")
    with redis.client() as c:
        c.command("HSET", TX_PREFIX + tx, "amount_cents", "35O")
    info = query("http", service, tx=tx)[1]
    assert info["amount"] == 3.5
    # the order key pointing at another payment's record is a miss too
    tx2, req2 = new_charge(service, amount=4.5)
    poll(lambda: cached(redis, tx2, req2["order_id"]), 10.0, what="cached")
    with redis.client() as c:
        c.command("SET", ORDER_PREFIX + str(req["order_id"]), tx2)
    info = query("http", service, order=req["order_id"])[1]
    assert info["transaction_id"] == tx, info


def test_record_script_flushed_is_loaded_again(service, redis):
    """Records are written by a script each connection loads once (EVALSHA). A server that
    lost it (SCRIPT FLUSH) refuses the next write with NOSCRIPT (a cache error, counted);
    the service then drops the connection, and the new one loads the script again."""
    tx, req = new_charge(service, amount=7.0)
    poll(lambda: cached(redis, tx, req["order_id"]), 10.0, what="cached")
    errors = metric_sum(service, "payment_cache_errors_total")
    with redis.client() as c:
        assert c.command("SCRIPT", "FLUSH") == "OK"
    lost, _ = new_charge(service, amount=8.0)   # this write meets NOSCRIPT
    poll(lambda: metric_sum(service, "payment_cache_errors_total") > errors, 10.0,
         what="the refused write counted")
    assert query("rpc", service, tx=lost)[1]["amount"] == 8.0   # MySQL has it anyway

    def later_charge_cached():
        t, r = new_charge(service, amount=9.0)
        try:
            return poll(lambda: cached(redis, t, r["order_id"]), 2.0, what="cached")
        except AssertionError:
            return None
    poll(later_charge_cached, 30.0, interval=0.2, what="records cached again")


def test_redis_stopped_queries_answer_from_mysql(service, redis_back, mariadb, database):
    redis = redis_back
    tx, req = new_charge(service, amount=60.0)
    redis.stop()
    for transport in ("rpc", "http"):
        for kw in ({"tx": tx}, {"order": req["order_id"]}):
            res = query(transport, service, **kw)
            assert res[0] == "ok" and res[1]["amount"] == 60.0, res
    # refunds commit and answer without Redis in the default mode
    res = refund("rpc", service, tx, f"k-{data.order_id()}", amount=10.0)
    assert res[0] == "ok" and res[1]["total_refunded"] == 10.0, res
    assert query("http", service, tx=tx)[1]["refunded_amount"] == 10.0
    assert service.health_status() == 200
    assert query("rpc", service, tx="8e0237d4-60c0-49f5-a975-1759e545db71")[:2] == \
        ("error", 4004004)
    redis.start()


def test_strict_mode(fresh_service, redis_back, mariadb, database):
    redis = redis_back
    strict = fresh_service(extra_env={"PAYMENT_CACHE_REQUIRED": "true"})
    tx, req = new_charge(strict, amount=30.0)
    assert query("rpc", strict, tx=tx)[0] == "ok"
    assert refund("http", strict, tx, f"k-{data.order_id()}", amount=5.0)[0] == "ok"

    redis.stop()
    for transport in ("rpc", "http"):
        assert query(transport, strict, tx=tx)[:2] == ("error", 4005003)
        assert query(transport, strict, order=req["order_id"])[:2] == ("error", 4005003)

    k = f"k-{data.order_id()}"
    assert refund("rpc", strict, tx, k, amount=5.0)[:2] == ("error", 4005004)
    # committed all the same: the row, the refund and its event are there
    assert payment_row(mariadb, database, tx)["refunded_cents"] == "1000"
    assert len(refund_rows(mariadb, database, tx)) == 2
    assert [e[0] for e in event_rows(mariadb, database, tx)] == ["charge", "refund", "refund"]
    assert refund("http", strict, tx, f"k-{data.order_id()}", amount=1.0)[:2] == \
        ("error", 4005004)

    redis.start()
    # Queries of the refunded payment read MySQL until its record is repaired, so they
    # answer before Redis is back: wait for the connection first.
    poll(lambda: metric_sum(strict, "payment_redis_up") == 1, 30.0, what="Redis connected")

    def answers():
        res = query("rpc", strict, tx=tx)
        return res[0] == "ok" and res[1]

    info = poll(answers, 30.0, interval=0.1, what="strict queries after Redis came back")
    assert info["refunded_amount"] == 11.0 and info["status"] == "PARTIALLY_REFUNDED", info
    # the replay of the refund that answered 4005004 returns its reply now
    res = refund("rpc", strict, tx, k, amount=5.0)
    assert res[0] == "ok" and res[1]["total_refunded"] == 10.0, res


@pytest.mark.parametrize("transport", ["rpc", "http"])
def test_refund_replay_writes_the_record_again(transport, service, redis):
    """A refund whose cache update was lost (here: the record set back to its pre-refund
    state, as a Redis that refused the write would have left it) is shown by queries
    until a replay of the same refund writes the record again. Before, a replay left
    the stale record for its whole TTL."""
    poll(lambda: metric_sum(service, "payment_redis_up") == 1, 30.0, what="Redis connected")
    tx, req = new_charge(service, amount=40.0)
    poll(lambda: cached(redis, tx, req["order_id"]), 10.0, what="the charge's record")
    key = f"k-{data.order_id()}"
    res = refund(transport, service, tx, key, amount=15.0)
    assert res[0] == "ok" and res[1]["total_refunded"] == 15.0, res
    with redis.client() as c:
        c.command("HSET", TX_PREFIX + tx, "refunded_cents", "0", "status", "PAID")
    stale = query(transport, service, tx=tx)[1]
    assert stale["refunded_amount"] == 0 and stale["status"] == "PAID", stale
    res = refund(transport, service, tx, key, amount=15.0)
    assert res[0] == "ok" and res[1]["total_refunded"] == 15.0, res
    info = query(transport, service, tx=tx)[1]
    assert info["refunded_amount"] == 15.0 and info["status"] == "PARTIALLY_REFUNDED", info


@pytest.fixture
def redis_takes_writes(redis):
    """Redis as the test left it, but taking writes again (min-replicas-to-write 0)."""
    yield redis
    with redis.client() as c:
        c.command("CONFIG", "SET", "min-replicas-to-write", "0")


def test_a_refund_redis_refused_is_read_from_mysql_until_repaired(service, redis_takes_writes):
    """Redis refuses writes (min-replicas-to-write 1 with no replica: NOREPLICAS) but
    answers reads, during a refund. The refund commits; the record in Redis still shows
    the payment before it. This instance answers that payment from MySQL, by either key
    and transport, and once Redis takes writes again it writes the record again by itself.
    Before, every query showed the pre-refund record for its whole TTL."""
    redis = redis_takes_writes
    # Connected, and done with the repairs earlier tests left (a refund with Redis down).
    poll(lambda: metric_sum(service, "payment_redis_up") == 1, 30.0, what="Redis connected")
    poll(lambda: metric_sum(service, "payment_cache_pending_repairs") == 0, 10.0,
         what="no repair pending")
    tx, req = new_charge(service, amount=40.0)
    order = req["order_id"]
    poll(lambda: cached(redis, tx, order), 10.0, what="the charge's record")
    with redis.client() as c:
        assert c.command("CONFIG", "SET", "min-replicas-to-write", "1") == "OK"
    res = refund("rpc", service, tx, f"k-{data.order_id()}", amount=15.0)
    assert res[0] == "ok" and res[1]["total_refunded"] == 15.0, res
    with redis.client() as c:
        assert read_record(c, tx)["refunded_cents"] == 0, "Redis took the write"
    for transport in ("rpc", "http"):
        for kw in ({"tx": tx}, {"order": order}):
            info = query(transport, service, **kw)[1]
            assert info["refunded_amount"] == 15.0 and info["status"] == "PARTIALLY_REFUNDED", \
                (transport, kw, info)
    assert metric_sum(service, "payment_cache_pending_repairs") == 1

    with redis.client() as c:
        assert c.command("CONFIG", "SET", "min-replicas-to-write", "0") == "OK"

    def repaired():
        with redis.client() as c:
            rec = read_record(c, tx)
        return rec is not None and rec["refunded_cents"] == 1500 and rec
    rec = poll(repaired, 10.0, what="the record written again with the refund")
    assert rec["status"] == "PARTIALLY_REFUNDED", rec
    poll(lambda: metric_sum(service, "payment_cache_pending_repairs") == 0, 10.0,
         what="no repair pending")
    with redis.client() as c:
        assert c.command("TTL", TX_PREFIX + tx) > 0
