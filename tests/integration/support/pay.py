"""Checks on what the service stored: the MySQL payments row (src/storage/schema.sql) and
the Redis records (src/storage/pay-cache.h: payment:tx:<id> a HASH, payment:order:<id>)."""

from .service import poll

PAYMENT_COLUMNS = ["transaction_id", "order_id", "user_id", "amount_cents", "refunded_cents",
                   "status", "payment_method", "card_brand", "card_last4", "created_at_ms",
                   "updated_at_ms"]

TX_PREFIX = "payment:tx:"
ORDER_PREFIX = "payment:order:"
# The record HASH's fields (src/storage/pay-cache-record.h), in order, and which are integers.
RECORD_FIELDS = ["transaction_id", "order_id", "user_id", "amount_cents", "refunded_cents",
                 "status", "payment_method", "card_brand", "card_last4", "created_at",
                 "updated_at"]
RECORD_INTEGERS = {"order_id", "user_id", "amount_cents", "refunded_cents", "created_at",
                   "updated_at"}


def payment_row(mariadb, database, tx):
    """The payments row of @tx as a dict of strings, or None."""
    rows = mariadb.query(f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments "
                         f"WHERE transaction_id = '{tx}'", database)
    if not rows:
        return None
    assert len(rows) == 1, rows
    return dict(zip(PAYMENT_COLUMNS, rows[0]))


def count_orders(mariadb, database, order):
    return int(mariadb.query(f"SELECT COUNT(*) FROM payments WHERE order_id = {int(order)}",
                             database)[0][0])


def read_record(c, tx):
    """The record HASH of @tx as a dict (integers as int), None when there is none (no key,
    or something else under it, such as garbage a test wrote that the service has not
    replaced yet)."""
    if c.command("TYPE", TX_PREFIX + tx) != "hash":
        return None
    fields = c.command("HGETALL", TX_PREFIX + tx)
    if not fields:
        return None
    rec = dict(zip(fields[0::2], fields[1::2]))
    return {k: int(v) if k in RECORD_INTEGERS else v for k, v in rec.items()}


def cached(redis, tx, order):
    """(record dict, order key value) from Redis, or None while either is missing."""
    with redis.client() as c:
        rec = read_record(c, tx)
        by_order = c.command("GET", ORDER_PREFIX + str(order))
    if rec is None or by_order is None:
        return None
    return rec, by_order


def assert_cached(redis, tx, order, timeout=10.0):
    """Polls until both keys exist (the cache write may finish after the reply), checks
    their contents and TTLs; returns the record."""
    rec, by_order = poll(lambda: cached(redis, tx, order), timeout,
                         what=f"Redis records for {tx}")
    assert by_order == tx, f"{ORDER_PREFIX}{order} holds {by_order!r}, want {tx!r}"
    assert isinstance(rec, dict), rec
    if "transaction_id" in rec:
        assert rec["transaction_id"] == tx, rec
    if "order_id" in rec:
        assert int(rec["order_id"]) == order, rec
    with redis.client() as c:
        for key in (TX_PREFIX + tx, ORDER_PREFIX + str(order)):
            ttl = c.command("TTL", key)
            assert ttl > 0, f"{key} has TTL {ttl} (want an expiry)"
    return rec
