"""QueryPayment and Refund over RPC and HTTP: lookups by either key, the refund rules
(partial, several, the rest, over the balance, after a full refund), idempotency by
refund_request_id, the cache kept in step with refunds, races on one database from one and
from two service processes, and, last, the audit table: the charge event written by the
service in the charge's transaction (no trigger), and exactly one payment_events row per
committed charge and refund of the whole run."""

import collections
import re
import time
import uuid

import pytest

from support import data, httpapi
from support.pay import RECORD_FIELDS, TX_PREFIX, cached, payment_row, read_record
from support.refunds import (event_rows, http_refund, query, refund, refund_rows,
                             rpc_refund, run_calls_together)
from support.rpc import RpcClient

TRANSPORTS = ["rpc", "http"]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def new_charge(service, amount=100.0, card=data.VISA, cvv=123):
    """Charges a fresh order over RPC; returns (transaction_id, request dict)."""
    req = data.charge(amount=amount, card=card, cvv=cvv)
    with RpcClient(service.rpc_port) as c:
        res = c.charge(req)
    assert res[0] == "ok", res
    return res[1], req


def key():
    return f"r-{data.order_id()}"


# ---- QueryPayment ----

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("by", ["transaction_id", "order_id"])
def test_query_fields(transport, by, service):
    before_ms = int(time.time() * 1000)
    tx, req = new_charge(service, amount=19.99, card=data.VALID_CARDS["mastercard"])
    after_ms = int(time.time() * 1000)
    kw = {"tx": tx} if by == "transaction_id" else {"order": req["order_id"]}
    res = query(transport, service, **kw)
    assert res[0] == "ok", res
    info = res[1]
    assert info["transaction_id"] == tx
    assert info["order_id"] == req["order_id"]
    assert info["user_id"] == req["user_id"]
    assert info["amount"] == 19.99
    assert info["refunded_amount"] == 0
    assert info["status"] == "PAID"
    assert info["payment_method"] == "credit_card"
    assert info["card_brand"] == "mastercard"
    assert info["card_last4"] == "4444"
    assert before_ms - 1000 <= info["created_at"] <= after_ms + 1000, (info, before_ms)
    assert info["updated_at"] == info["created_at"]
    if transport == "http":
        assert set(info) == {"transaction_id", "order_id", "user_id", "amount",
                             "refunded_amount", "status", "payment_method", "card_brand",
                             "card_last4", "created_at", "updated_at"}, info


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_query_not_found(transport, service):
    assert query(transport, service, tx="8e0237d4-60c0-49f5-a975-1759e545db71")[:2] == \
        ("error", 4004004)
    assert query(transport, service, order=data.order_id())[:2] == ("error", 4004004)
    assert query(transport, service, tx="not-a-uuid")[:2] == ("error", 4004004)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_query_both_or_neither_key(transport, service):
    tx, req = new_charge(service)
    assert query(transport, service, tx=tx, order=req["order_id"])[:2] == ("error", 4004003)
    assert query(transport, service)[:2] == ("error", 4004003)
    assert query(transport, service, order=0)[:2] == ("error", 4004003)
    assert query(transport, service, order=-3)[:2] == ("error", 4004003)
    assert query(transport, service, tx="")[:2] == ("error", 4004003)


def test_http_query_bad_order_id(service):
    from support.refunds import http_query
    for q in ["order_id=abc", "order_id=", "order_id=1.5", "order_id=99999999999999999999"]:
        assert http_query(service.http_port, raw_query=q)[:2] == ("error", 4004003), q
    r = httpapi.request(service.http_port, "POST", "/payment/query", "{}")
    assert r.status == 405 and r.code == 4004008, r


# ---- Refund ----

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_partial_refunds_then_the_rest(transport, service, mariadb, database):
    tx, req = new_charge(service, amount=100.0)

    res = refund(transport, service, tx, key(), amount=10.0, reason="damaged")
    assert res[0] == "ok", res
    r1 = res[1]
    assert UUID4.match(r1["refund_id"]), r1
    assert r1["transaction_id"] == tx
    assert (r1["amount"], r1["total_refunded"], r1["status"]) == (10.0, 10.0, "PARTIALLY_REFUNDED")

    res = refund(transport, service, tx, key(), amount=25.5)
    assert res[0] == "ok", res
    assert (res[1]["amount"], res[1]["total_refunded"], res[1]["status"]) == \
        (25.5, 35.5, "PARTIALLY_REFUNDED")
    assert res[1]["refund_id"] != r1["refund_id"]

    res = refund(transport, service, tx, key())          # the rest
    assert res[0] == "ok", res
    assert (res[1]["amount"], res[1]["total_refunded"], res[1]["status"]) == \
        (64.5, 100.0, "REFUNDED")

    row = payment_row(mariadb, database, tx)
    assert (row["refunded_cents"], row["status"]) == ("10000", "3"), row
    rows = refund_rows(mariadb, database, tx)
    assert [r[3] for r in rows] == ["1000", "2550", "6450"], rows
    assert rows[2][2] is None, "the rest: no requested amount stored"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_over_refund_and_after_full(transport, service):
    tx, _ = new_charge(service, amount=50.0)
    assert refund(transport, service, tx, key(), amount=50.01)[:2] == ("error", 4004005)
    assert refund(transport, service, tx, key(), amount=30.0)[0] == "ok"
    assert refund(transport, service, tx, key(), amount=20.01)[:2] == ("error", 4004005)
    res = refund(transport, service, tx, key(), amount=20.0)
    assert res[0] == "ok" and res[1]["status"] == "REFUNDED", res
    assert refund(transport, service, tx, key(), amount=0.01)[:2] == ("error", 4004005)
    assert refund(transport, service, tx, key())[:2] == ("error", 4004005)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_replay_and_conflict(transport, service, mariadb, database):
    tx, _ = new_charge(service, amount=100.0)
    k = key()
    first = refund(transport, service, tx, k, amount=10.0, reason="late")
    assert first[0] == "ok", first
    # a later refund changes the totals; the replay must still return the first reply
    assert refund(transport, service, tx, key(), amount=5.0)[0] == "ok"
    again = refund(transport, service, tx, k, amount=10.0, reason="late")
    assert again == first
    other = "http" if transport == "rpc" else "rpc"
    assert refund(other, service, tx, k, amount=10.0, reason="late") == first

    for kw in [dict(amount=10.01, reason="late"), dict(amount=10.0), dict(reason="late"),
               dict(amount=10.0, reason="Late"), dict(amount=10.0, reason="")]:
        assert refund(transport, service, tx, k, **kw)[:2] == ("error", 4004006), kw
    assert len(refund_rows(mariadb, database, tx)) == 2

    # "the rest" replayed: same reply, even though nothing is left now
    tx2, _ = new_charge(service, amount=7.0)
    k2 = key()
    rest = refund(transport, service, tx2, k2)
    assert rest[0] == "ok" and rest[1]["amount"] == 7.0, rest
    assert refund(transport, service, tx2, k2) == rest
    assert refund(transport, service, tx2, k2, amount=7.0)[:2] == ("error", 4004006)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refund_validation_order(transport, service):
    tx, _ = new_charge(service, amount=10.0)
    missing = "8e0237d4-60c0-49f5-a975-1759e545db71"
    assert refund(transport, service, tx, "")[:2] == ("error", 4004003)
    assert refund(transport, service, tx, "k" * 65)[:2] == ("error", 4004003)
    assert refund(transport, service, tx, "k" * 64, amount=1.0)[0] == "ok"
    assert refund(transport, service, tx, key(), reason="x" * 257)[:2] == ("error", 4004003)
    assert refund(transport, service, "", key())[:2] == ("error", 4004003)
    # shape before amount, amount before existence
    assert refund(transport, service, missing, "", amount=-1.0)[:2] == ("error", 4004003)
    for amount in [0.0, -1.0, 1.005, 1000000.01]:
        assert refund(transport, service, missing, key(), amount=amount)[:2] == \
            ("error", 4004002), amount
    assert refund(transport, service, missing, key(), amount=1.0)[:2] == ("error", 4004004)
    assert refund(transport, service, "nope", key())[:2] == ("error", 4004004)
    # existence before balance
    assert refund(transport, service, tx, key(), amount=1000.0)[:2] == ("error", 4004005)


def test_rpc_refund_without_key(service):
    tx, _ = new_charge(service)
    assert rpc_refund(service.rpc_port, tx, None)[:2] == ("error", 4004003)


def test_http_refund_bad_bodies(service):
    tx, _ = new_charge(service)
    for body in ["{bad", "[]", {"transaction_id": tx}, {"refund_request_id": "k"},
                 {"transaction_id": tx, "refund_request_id": 5},
                 {"transaction_id": tx, "refund_request_id": "k", "amount": "1.00"}]:
        assert http_refund(service.http_port, None, None, body=body)[:2] == \
            ("error", 4004003), body
    r = httpapi.request(service.http_port, "GET", "/payment/refund")
    assert r.status == 405 and r.code == 4004008, r


def test_http_amounts_are_written_exactly(service):
    """Every amount in an HTTP body is the shortest decimal of its cents (docs/CONTRACT.md
    section 4): a 19.99 charge reads 19.99, not 19.989999999999998; a 5.10 refund 5.1,
    not 5.0999999999999996; no refund yet is 0. Checked on the body's text, which a JSON
    parser would round."""
    ok, tx, _ = httpapi.charge(service.http_port, data.charge(amount=19.99))
    assert ok == "ok", tx
    path = f"/payment/query?transaction_id={tx}"
    r = httpapi.request(service.http_port, "GET", path)
    assert r.status == 200, r
    assert '"amount":19.99,"refunded_amount":0,' in r.raw, r.raw

    r = httpapi.request(service.http_port, "POST", "/payment/refund",
                        {"transaction_id": tx, "refund_request_id": key(), "amount": 5.10})
    assert r.status == 200, r
    assert '"amount":5.1,"total_refunded":5.1,' in r.raw, r.raw

    r = httpapi.request(service.http_port, "GET", path)
    assert r.status == 200, r
    assert '"amount":19.99,"refunded_amount":5.1,' in r.raw, r.raw


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_query_after_refund_sees_it_even_when_cached(transport, service, redis):
    tx, req = new_charge(service, amount=80.0)
    # a query fills the cache (a charge also stores it); wait until it is there
    assert query(transport, service, tx=tx)[1]["status"] == "PAID"
    from support.service import poll
    poll(lambda: cached(redis, tx, req["order_id"]), 10.0, what="cached record")

    for i, (amount, total, status) in enumerate([(30.0, 30.0, "PARTIALLY_REFUNDED"),
                                                 (None, 80.0, "REFUNDED")]):
        res = refund(transport, service, tx, key(), amount=amount)
        assert res[0] == "ok", res
        for kw in ({"tx": tx}, {"order": req["order_id"]}):
            info = query(transport, service, **kw)[1]
            assert (info["refunded_amount"], info["status"]) == (total, status), (i, info)
            assert info["updated_at"] >= info["created_at"]
        rec, _ = cached(redis, tx, req["order_id"])
        assert rec["refunded_cents"] == int(total * 100), rec


def test_late_cache_fill_cannot_hide_a_refund(service, redis):
    """A record read before a refund and written to the cache after it (a slow query's
    fill) must not replace the newer record: refunded totals only grow."""
    tx, req = new_charge(service, amount=40.0)
    assert refund("rpc", service, tx, key(), amount=15.0)[0] == "ok"
    with redis.client() as c:
        rec = read_record(c, tx)
    assert rec is not None and rec["refunded_cents"] == 1500, rec
    # the service's own store script, fed an older record, keeps the newer one
    older = dict(rec, refunded_cents=0)
    with redis.client() as c:
        script = ("local key, ttl, guard = KEYS[1], tonumber(ARGV[1]), ARGV[2] "
                  "local kind = redis.call('TYPE', key).ok "
                  "if kind ~= 'none' then if guard == 'new' then return 0 end "
                  "if kind == 'hash' then "
                  "local cur = tonumber(redis.call('HGET', key, 'refunded_cents')) "
                  "if cur and cur > tonumber(guard) then return 0 end end "
                  "redis.call('DEL', key) end "
                  "redis.call('HSET', key, unpack(ARGV, 3)) "
                  "if ttl > 0 then redis.call('EXPIRE', key, ttl) end return 1")
        pairs = [x for f in RECORD_FIELDS for x in (f, older[f])]
        assert c.command("EVAL", script, "1", TX_PREFIX + tx, "0", "0", *pairs) == 0
        assert read_record(c, tx)["refunded_cents"] == 1500
    info = query("http", service, tx=tx)[1]
    assert info["refunded_amount"] == 15.0


# ---- client text on its way to storage ----

# Quotes, backslashes, statement separators, comment markers, LIKE wildcards and
# multi-byte characters: text a client may send as refund_request_id or reason.
HOSTILE_TEXTS = ["it's", "x' OR '1'='1", "\\'; DROP TABLE payments; -- ", "\\", "a\\'b\"c`d",
                 "%_*\n\t\r", "'); COMMIT; UPDATE payments SET refunded_cents = 0; -- ",
                 "\u00fc\u20ac\U0001f600'\\", "\\x27 0x27 \\u0027", "/*", "*/ #"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refund_text_is_stored_as_sent(transport, service, mariadb, database):
    """refund_request_id and reason reach storage byte for byte, whatever they contain,
    and a replay finds the refund by the same text; nothing else is touched."""
    tx, _ = new_charge(service, amount=100.0)
    other, _ = new_charge(service, amount=100.0)
    sent = []
    for i, text in enumerate(HOSTILE_TEXTS):
        k = f"{i}{text}"
        res = refund(transport, service, tx, k, amount=1.0, reason=text)
        assert res[0] == "ok", (text, res)
        assert refund(transport, service, tx, k, amount=1.0, reason=text) == res, text
        assert refund(transport, service, tx, k, amount=1.0, reason=text + " ")[:2] == \
            ("error", 4004006), text
        sent.append((k, text))
    stored = mariadb.query("SELECT HEX(refund_request_id), HEX(reason) FROM refunds"
                           f" WHERE transaction_id = '{tx}' ORDER BY id", database)
    assert stored == [[k.encode().hex().upper(), r.encode().hex().upper()] for k, r in sent]
    row = payment_row(mariadb, database, tx)
    assert row["refunded_cents"] == str(100 * len(HOSTILE_TEXTS)), row
    assert payment_row(mariadb, database, other)["refunded_cents"] == "0"
    assert mariadb.query("SELECT COUNT(*) FROM payments", database)[0][0] != "0"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hostile_transaction_ids_find_nothing(transport, service, mariadb, database):
    """A transaction_id of the right length that is SQL, not an id, finds no payment and
    writes nothing."""
    new_charge(service)
    before = mariadb.query("SELECT COUNT(*), SUM(refunded_cents) FROM payments", database)
    refunds = mariadb.query("SELECT COUNT(*) FROM refunds", database)
    for tx in ["' OR '1'='1' OR transaction_id <> '-", "\\' OR 1=1; -- " + "x" * 22,
               "\\" * 36, "'" * 36]:
        assert len(tx) == 36, tx
        assert refund(transport, service, tx, key())[:2] == ("error", 4004004), tx
        assert refund(transport, service, tx, key(), amount=1.0)[:2] == ("error", 4004004), tx
    assert mariadb.query("SELECT COUNT(*), SUM(refunded_cents) FROM payments", database) == before
    assert mariadb.query("SELECT COUNT(*) FROM refunds", database) == refunds


def test_a_failed_refund_leaves_nothing_behind(service, mariadb, database):
    """A refund whose last write fails answers 4005005 and is rolled back whole: the
    payment keeps its total, no refund row stays, no lock is held (the payment can be
    locked at once, payment_events altered), and the next refund of it succeeds."""
    tx, _ = new_charge(service, amount=50.0)
    assert refund("rpc", service, tx, key(), amount=5.0)[0] == "ok"
    # a column without a default: the refund's payment_events INSERT (its last write) fails
    mariadb.query("ALTER TABLE payment_events ADD COLUMN refund_test_blocker INT NOT NULL",
                  database)
    try:
        for transport in TRANSPORTS:
            res = refund(transport, service, tx, key(), amount=10.0)
            assert res[:2] == ("error", 4005005), res
        # no transaction left open: a lock on the payment row is granted at once
        mariadb.query("SET SESSION innodb_lock_wait_timeout = 1; START TRANSACTION;"
                      f" SELECT id FROM payments WHERE transaction_id = '{tx}' FOR UPDATE NOWAIT;"
                      " ROLLBACK", database)
    finally:
        mariadb.query("SET SESSION lock_wait_timeout = 10;"
                      " ALTER TABLE payment_events DROP COLUMN refund_test_blocker", database)
    row = payment_row(mariadb, database, tx)
    assert (row["refunded_cents"], row["status"]) == ("500", "2"), row
    assert len(refund_rows(mariadb, database, tx)) == 1

    res = refund("http", service, tx, key(), amount=10.0)
    assert res[0] == "ok" and (res[1]["amount"], res[1]["total_refunded"]) == (10.0, 15.0), res
    assert [e[:3] for e in event_rows(mariadb, database, tx)][1:] == \
        [["refund", r[0], r[3]] for r in refund_rows(mariadb, database, tx)]


# ---- races ----

def check_race(results, n_ok, n_exceeds):
    counts = collections.Counter(r[0] if r[0] == "ok" else tuple(r[:2]) for r in results)
    assert counts["ok"] == n_ok and counts[("error", 4004005)] == n_exceeds, dict(counts)


def twenty_refunds(services, mariadb, database):
    tx, _ = new_charge(services[0], amount=100.0)
    calls = []
    for i in range(20):
        svc = services[i % len(services)]
        transport = "rpc" if (i // len(services)) % 2 == 0 else "http"
        k = key()
        calls.append(lambda t=transport, s=svc, k=k: refund(t, s, tx, k, amount=10.0))
    results = run_calls_together(calls)
    check_race(results, 10, 10)
    totals = sorted(r[1]["total_refunded"] for r in results if r[0] == "ok")
    assert totals == [10.0 * (i + 1) for i in range(10)], totals
    row = payment_row(mariadb, database, tx)
    assert (row["refunded_cents"], row["status"]) == ("10000", "3"), row
    assert len(refund_rows(mariadb, database, tx)) == 10
    for svc in services:
        info = query("rpc", svc, tx=tx)[1]
        assert (info["refunded_amount"], info["status"]) == (100.0, "REFUNDED"), info


def ten_replays(services, mariadb, database):
    tx, _ = new_charge(services[0], amount=100.0)
    k = key()
    calls = [lambda i=i: refund("rpc" if i % 2 == 0 else "http", services[i % len(services)],
                                tx, k, amount=12.34, reason="race")
             for i in range(10)]
    results = run_calls_together(calls)
    assert all(r[0] == "ok" for r in results), results
    assert len({r[1]["refund_id"] for r in results}) == 1, results
    assert all(r == results[0] for r in results), results
    assert len(refund_rows(mariadb, database, tx)) == 1


def test_20_concurrent_refunds_one_service(service, mariadb, database):
    twenty_refunds([service], mariadb, database)


def test_10_concurrent_replays_one_service(service, mariadb, database):
    ten_replays([service], mariadb, database)


@pytest.fixture(scope="module")
def second_service(start_service):
    s = start_service(name="second")
    yield s
    s.stop_and_check()


def test_20_concurrent_refunds_two_services(service, second_service, mariadb, database):
    twenty_refunds([service, second_service], mariadb, database)


def test_10_concurrent_replays_two_services(service, second_service, mariadb, database):
    ten_replays([service, second_service], mariadb, database)


def test_many_payments_refunded_at_once(service, second_service, mariadb, database):
    """Refunds of 20 different payments at once, across two services: all succeed (no
    deadlock between payments)."""
    txs = [new_charge(service, amount=5.0)[0] for _ in range(20)]
    calls = [lambda i=i: refund("rpc" if i % 2 else "http",
                                (service, second_service)[i % 2], txs[i], key())
             for i in range(20)]
    results = run_calls_together(calls)
    assert all(r[0] == "ok" and r[1]["status"] == "REFUNDED" for r in results), results


# ---- the audit trail, after everything above ----

def charge_events_of_order(mariadb, database, order):
    """(event_id, transaction_id, refund_id, amount_cents, status, created_at_ms) of the
    charge events of @order."""
    return mariadb.query("SELECT event_id, transaction_id, refund_id, amount_cents, status,"
                         " created_at_ms FROM payment_events"
                         f" WHERE event_type = 'charge' AND order_id = {int(order)} ORDER BY id",
                         database)


def test_charge_event_is_written_by_the_service(service, mariadb, database):
    """The service writes a charge's event in the charge's transaction (there is no
    trigger): exactly one, with the payment row's values and a UUID v4; a second charge of
    that order is refused, adds no event, and leaves no transaction open behind it."""
    tx, req = new_charge(service, amount=12.34)
    order = req["order_id"]
    row = mariadb.query("SELECT transaction_id, amount_cents, status, created_at_ms"
                        f" FROM payments WHERE order_id = {int(order)}", database)
    events = charge_events_of_order(mariadb, database, order)
    assert [e[1:] for e in events] == [[tx, None, "1234", "1", row[0][3]]], (events, row)
    assert UUID4.match(events[0][0]), events
    assert mariadb.query("SELECT COUNT(*) FROM information_schema.TRIGGERS"
                         " WHERE TRIGGER_SCHEMA = DATABASE()", database) == [["0"]]

    with RpcClient(service.rpc_port) as c:
        assert c.charge(data.charge(order=order))[:2] == ("error", 4005002)
    assert httpapi.charge(service.http_port, data.charge(order=order))[:2] == ("error", 4005002)
    assert charge_events_of_order(mariadb, database, order) == events
    # the refused statement's transaction was rolled back before the reply: no session of
    # the service holds one (it would keep the duplicate key's lock)
    assert mariadb.open_transactions(database) == 0


def test_zz_audit_one_event_per_committed_change(mariadb, database):
    payments = mariadb.query("SELECT transaction_id, order_id, amount_cents, refunded_cents,"
                             " status FROM payments", database)
    assert payments, "no payments: the audit check ran before anything else"
    charge_events = mariadb.query(
        "SELECT transaction_id, order_id, amount_cents, status, refund_id FROM payment_events"
        " WHERE event_type = 'charge'", database)
    assert sorted((p[0], p[1], p[2]) for p in payments) == \
        sorted((e[0], e[1], e[2]) for e in charge_events)
    assert all(e[3] == "1" and e[4] is None for e in charge_events)

    refunds = mariadb.query("SELECT refund_id, transaction_id, amount_cents, status"
                            " FROM refunds", database)
    refund_events = mariadb.query(
        "SELECT refund_id, transaction_id, amount_cents, status FROM payment_events"
        " WHERE event_type = 'refund'", database)
    assert sorted(map(tuple, refunds)) == sorted(map(tuple, refund_events))
    assert mariadb.query("SELECT COUNT(*) FROM payment_events WHERE event_type NOT IN"
                         " ('charge', 'refund')", database) == [["0"]]
    assert mariadb.query("SELECT COUNT(DISTINCT event_id), COUNT(*) FROM payment_events",
                         database)[0][0] == str(len(payments) + len(refunds))
    # every event id is a UUID v4: the trigger's (RANDOM_BYTES) and the service's
    ids = mariadb.query("SELECT event_type, event_id FROM payment_events", database)
    assert all(UUID4.match(i) for _, i in ids), [(t, i) for t, i in ids if not UUID4.match(i)][:5]

    # per payment: the events replay to the stored totals and status
    for tx, _, amount, refunded, status in payments:
        events = event_rows(mariadb, database, tx)
        assert events[0][0] == "charge", (tx, events)
        assert sum(int(e[2]) for e in events[1:]) == int(refunded), (tx, events)
        assert events[-1][3] == status, (tx, events)
