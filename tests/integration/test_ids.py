"""Ids compare exactly. The id columns are VARBINARY, compared byte for byte: a
transaction id with a trailing space, or in another case, is another id in MySQL (a text
collation folds case and pads spaces, so it found the payment). The service's rule for
case: UUIDs are case-insensitive on input (RFC 9562), so a transaction id in upper case is
lower-cased where it comes in, and what is stored and answered is the lower-case form.
A database made before this gets its id columns converted at start-up, once."""

import re

import pytest

from support import data, httpapi
from support.refunds import event_rows, query, refund, refund_rows
from support.rpc import RpcClient
from support.service import poll
from support.pay import cached

ID_COLUMNS = {  # table -> its id columns
    "payments": ["transaction_id"],
    "refunds": ["refund_id", "transaction_id", "refund_request_id"],
    "payment_events": ["event_id", "transaction_id", "refund_id"],
}


def charge(service):
    req = data.charge(amount=50.0)
    with RpcClient(service.rpc_port) as c:
        res = c.charge(req)
    assert res[0] == "ok", res
    return res[1], req["order_id"]


def column_types(mariadb, database):
    rows = mariadb.query("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
                         f" WHERE TABLE_SCHEMA = '{database}'")
    return {(t, c): ty for t, c, ty in rows}


def test_id_columns_are_binary(service, mariadb, database):
    tx, _ = charge(service)   # the schema is set up by then (/health does not wait for it)
    types = column_types(mariadb, database)
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            assert types[(table, column)] == "varbinary", (table, column, types[(table, column)])
    for other in (tx.upper(), tx + " "):
        n = mariadb.query(f"SELECT COUNT(*) FROM payments WHERE transaction_id = '{other}'",
                          database)
        assert n == [["0"]], f"{other!r} found payment {tx}"


@pytest.mark.parametrize("transport", ["rpc", "http"])
def test_a_trailing_space_is_another_id(transport, service, redis):
    tx, order = charge(service)
    poll(lambda: cached(redis, tx, order), 10.0, what="the charge's record")
    # Not in the cache under that key: the query reads MySQL, which must not find it.
    if transport == "rpc":
        res = query(transport, service, tx=tx + " ")
    else:
        res = query(transport, service, raw_query=f"transaction_id={tx}%20")
    assert res[:2] == ("error", 4004004), res


@pytest.mark.parametrize("transport", ["rpc", "http"])
def test_an_upper_case_transaction_id_is_lower_cased(transport, service, mariadb, database):
    tx, order = charge(service)
    res = query(transport, service, tx=tx.upper())
    assert res[0] == "ok" and res[1]["transaction_id"] == tx, res
    key = f"Upper-{data.order_id()}"
    res = refund(transport, service, tx.upper(), key, amount=5.0)
    assert res[0] == "ok" and res[1]["transaction_id"] == tx, res
    # Stored under the lower-case id, so the refund and its event belong to the payment.
    assert [r[1] for r in refund_rows(mariadb, database, tx)] == [key]
    assert [e[0] for e in event_rows(mariadb, database, tx)] == ["charge", "refund"]
    # The same refund again, with the id as it was charged: a replay, not a new refund.
    again = refund(transport, service, tx, key, amount=5.0)
    assert again == res, (again, res)
    # refund_request_id keeps its case: another key, another refund.
    other = refund(transport, service, tx, key.lower(), amount=5.0)
    assert other[0] == "ok" and other[1]["total_refunded"] == 10.0, other


OLD_DATABASE = "payment_old_ids"


def test_an_older_database_gets_binary_ids(start_service, mariadb):
    """A database whose id columns are CHAR(36) in a text collation (the schema before):
    the service converts them at start-up, keeps the rows, and a second start changes
    nothing."""
    svc = start_service(database_name=OLD_DATABASE)
    tx, _ = charge(svc)
    assert refund("rpc", svc, tx, "old-1", amount=1.0)[0] == "ok"
    svc.stop_and_check()
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            length = 256 if column == "refund_request_id" else 36
            kind = "VARBINARY" if column == "refund_request_id" else "CHAR"
            null = "NULL" if (table, column) == ("payment_events", "refund_id") else "NOT NULL"
            mariadb.query(f"ALTER TABLE {table} MODIFY {column} {kind}({length}) {null}",
                          OLD_DATABASE)
    assert column_types(mariadb, OLD_DATABASE)[("payments", "transaction_id")] == "char"

    for start in range(2):
        svc = start_service(database_name=OLD_DATABASE)
        # A request that reads MySQL waits for the schema set-up (/health does not).
        assert refund("http", svc, tx, "old-1", amount=1.0)[1]["total_refunded"] == 1.0
        types = column_types(mariadb, OLD_DATABASE)
        for table, columns in ID_COLUMNS.items():
            for column in columns:
                assert types[(table, column)] == "varbinary", (table, column)
        converted = svc.log_since(svc._log_offset).count("converting the schema")
        assert converted == (3 if start == 0 else 0), converted
        res = query("rpc", svc, tx=tx)
        assert res[0] == "ok" and res[1]["refunded_amount"] == 1.0, res
        assert query("rpc", svc, tx=tx + " ")[:2] == ("error", 4004004)
        svc.stop_and_check()


OLD_TRIGGER = """CREATE TRIGGER payments_charge_event
  AFTER INSERT ON payments FOR EACH ROW
  INSERT INTO payment_events
    (event_id, event_type, transaction_id, order_id, refund_id, amount_cents, status,
     created_at_ms)
  VALUES (UUID(), 'charge', NEW.transaction_id, NEW.order_id, NULL,
          NEW.amount_cents, NEW.status,
          COALESCE(NEW.created_at_ms, ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000)))"""


def test_an_older_database_gets_uuid_v4_charge_events(start_service, mariadb):
    """A database whose trigger took UUID() (version 1: the host and the time) has it
    dropped at start, once (the service writes charge events itself: with the trigger a
    charge would get two), and its charge events made before get v4 ids of their own."""
    db = "payment_it_ids_v1_events"
    svc = start_service(database_name=db)
    svc.stop_and_check()
    mariadb.query(OLD_TRIGGER, db)
    for i in range(3):
        mariadb.query("INSERT INTO payments (transaction_id, order_id, user_id, amount_cents,"
                      f" status) VALUES (UUID(), {data.order_id()}, 1, 100, 1)", db)
    versions = [r[0] for r in mariadb.query(
        "SELECT SUBSTR(event_id, 15, 1) FROM payment_events", db)]
    assert versions == ["1"] * 3, versions
    for start in range(2):
        svc = start_service(database_name=db)
        httpapi.charge(svc.http_port, data.charge(amount=5.0))
        ids = [r[0] for r in mariadb.query("SELECT event_id FROM payment_events", db)]
        assert len(ids) == 4 + start and len(set(ids)) == len(ids), ids
        assert mariadb.query("SELECT COUNT(*) FROM information_schema.TRIGGERS"
                             " WHERE TRIGGER_SCHEMA = DATABASE()", db) == [["0"]]
        for i in ids:
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                r"[0-9a-f]{12}", i), i
        svc.stop_and_check()
