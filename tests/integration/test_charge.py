"""Charge over RPC and HTTP: success (UUID v4, the MySQL row, the Redis records) and every
error code Charge can give on each transport, plus the HTTP-level 404/405/413 bodies."""

import json
import math
import re
import struct

import pytest

from support import data, httpapi
from support.pay import assert_cached, payment_row
from support.rpc import RpcClient, call_raw, charge_call, decode_reply, connect, read_frame

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

TRANSPORTS = ["rpc", "http"]


@pytest.fixture(scope="module")
def rpc(service):
    c = RpcClient(service.rpc_port)
    yield c
    c.close()


def do_charge(transport, service, rpc, req):
    """("ok", tx) or ("error", code, message) on either transport; HTTP statuses checked
    against the contract's table."""
    if transport == "rpc":
        return rpc.charge(req)
    res = httpapi.charge(service.http_port, req)
    r = res[-1]
    if res[0] == "ok":
        assert r.status == 200, r
        return res[:2]
    code = res[1]
    want_status = {4004001: 400, 4004002: 400, 4004003: 400, 4005002: 409,
                   4005005: 503}.get(code)
    assert want_status is not None, f"unexpected HTTP error body: {r}"
    assert r.status == want_status, f"code {code} came with HTTP {r.status}: {r}"
    assert isinstance(r.json.get("message"), str) and r.json["message"], r
    return res[:3]


# ---- success ----

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_charge_success_row_and_cache(transport, service, rpc, mariadb, redis, database):
    req = data.charge(amount=19.99, card="4242 4242-4242 4242", cvv=321)
    res = do_charge(transport, service, rpc, req)
    assert res[0] == "ok", res
    tx = res[1]
    assert UUID4.match(tx), f"transaction id {tx!r} is not a lowercase UUID v4"

    row = payment_row(mariadb, database, tx)
    assert row is not None, f"no MySQL row for {tx}"
    assert int(row["order_id"]) == req["order_id"]
    assert int(row["user_id"]) == req["user_id"]
    assert int(row["amount_cents"]) == 1999, row
    assert row["card_brand"] == "visa", row
    assert row["card_last4"] == "4242", row

    rec = assert_cached(redis, tx, req["order_id"])
    assert rec.get("transaction_id", tx) == tx


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("brand", sorted(data.VALID_CARDS))
def test_charge_every_brand(transport, brand, service, rpc, mariadb, database):
    card = data.VALID_CARDS[brand]
    req = data.charge(card=card, cvv=1234 if brand == "amex" else 123)
    res = do_charge(transport, service, rpc, req)
    assert res[0] == "ok", (brand, res)
    row = payment_row(mariadb, database, res[1])
    assert row["card_brand"] == brand
    assert row["card_last4"] == card[-4:]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", ["credit_card", None])
def test_payment_method_explicit_or_absent(transport, method, service, rpc):
    res = do_charge(transport, service, rpc, data.charge(payment_method=method))
    assert res[0] == "ok", res


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_amount_cents_rounding(transport, service, rpc, mariadb, database):
    # 0.1 + 0.2 is 0.30000000000000004: accepted, 30 cents
    res = do_charge(transport, service, rpc, data.charge(amount=0.1 + 0.2))
    assert res[0] == "ok", res
    assert int(payment_row(mariadb, database, res[1])["amount_cents"]) == 30


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_max_amount_accepted(transport, service, rpc):
    res = do_charge(transport, service, rpc, data.charge(amount=1000000.00))
    assert res[0] == "ok", res


def test_http_ids_as_digit_strings(service):
    req = data.charge()
    req["order_id"] = str(req["order_id"])
    req["user_id"] = str(req["user_id"])
    r = httpapi.request(service.http_port, "POST", "/payment/charge", req)
    assert r.status == 200, r
    assert UUID4.match(r.json["transaction_id"])


# ---- 4004001 invalid card ----

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("label,over", data.invalid_card_cases(),
                         ids=[c[0] for c in data.invalid_card_cases()])
def test_invalid_card(transport, label, over, service, rpc):
    res = do_charge(transport, service, rpc, data.charge(**over))
    assert res[:2] == ("error", 4004001), res


# ---- 4004002 invalid amount ----

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("label,amount", data.invalid_amount_cases(),
                         ids=[c[0] for c in data.invalid_amount_cases()])
def test_invalid_amount(transport, label, amount, service, rpc):
    res = do_charge(transport, service, rpc, data.charge(amount=amount))
    assert res[:2] == ("error", 4004002), res


@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_invalid_amount_rpc_only(amount, service, rpc):
    res = rpc.charge(data.charge(amount=amount))
    assert res[:2] == ("error", 4004002), res


# ---- 4004003 invalid request ----

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("label,over", data.invalid_request_cases(),
                         ids=[c[0] for c in data.invalid_request_cases()])
def test_invalid_request(transport, label, over, service, rpc):
    res = do_charge(transport, service, rpc, data.charge(**over))
    assert res[:2] == ("error", 4004003), res


def _http_body_cases():
    good = data.charge(order=1)

    def with_(**kv):
        d = json.loads(json.dumps(good))
        for k, v in kv.items():
            d[k] = v
        return json.dumps(d)

    def card_with(**kv):
        d = json.loads(json.dumps(good))
        d["credit_card"].update(kv)
        return json.dumps(d)

    return [
        ("malformed", "{\"amount\": 12.5, \"order_id\": "),
        ("not-json", "amount=12.5&order_id=1"),
        ("empty-body", ""),
        ("array", "[1, 2, 3]"),
        ("null", "null"),
        ("amount-string", with_(amount="12.5")),
        ("amount-bool", with_(amount=True)),
        ("order-letters", with_(order_id="abc")),
        ("order-float", with_(order_id=1.5)),
        ("order-object", with_(order_id={"x": 1})),
        ("user-bool", with_(user_id=False)),
        ("card-string", with_(credit_card="4111111111111111")),
        ("card-null", with_(credit_card=None)),
        ("card-number-int", card_with(credit_card_number=4111111111111111)),
        ("cvv-string-letters", card_with(credit_card_cvv="abc")),
        ("method-int", with_(payment_method=5)),
    ]


@pytest.mark.parametrize("label,body", _http_body_cases(), ids=[c[0] for c in _http_body_cases()])
def test_http_bad_body(label, body, service):
    r = httpapi.request(service.http_port, "POST", "/payment/charge", body,
                        headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.code == 4004003, r


# ---- 4005002 order already paid ----

@pytest.mark.parametrize("first,second", [("rpc", "rpc"), ("http", "http"),
                                          ("rpc", "http"), ("http", "rpc")])
def test_second_charge_of_order(first, second, service, rpc):
    order = data.order_id()
    res = do_charge(first, service, rpc, data.charge(order=order))
    assert res[0] == "ok", res
    res2 = do_charge(second, service, rpc, data.charge(order=order, amount=3.0))
    assert res2[:2] == ("error", 4005002), res2
    # an invalid request for a paid order is still judged on its shape first
    res3 = do_charge(second, service, rpc, data.charge(order=order, amount=0))
    assert res3[:2] == ("error", 4004002), res3


def test_failed_charge_does_not_use_the_order(service, rpc):
    order = data.order_id()
    assert rpc.charge(data.charge(order=order, card="4111111111111112"))[:2] == ("error", 4004001)
    assert rpc.charge(data.charge(order=order))[0] == "ok"


# ---- HTTP-level errors ----

@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nope", 404, 4004007),
    ("POST", "/payment/nope", 404, 4004007),
    ("GET", "/payment/charge", 405, 4004008),
    ("PUT", "/payment/charge", 405, 4004008),
    ("DELETE", "/payment/charge", 405, 4004008),
    ("POST", "/health", 405, 4004008),
])
def test_http_routing_errors(method, path, status, code, service):
    r = httpapi.request(service.http_port, method, path,
                        "{}" if method in ("POST", "PUT") else None)
    assert r.status == status, r
    assert r.code == code, r
    assert isinstance(r.json.get("message"), str), r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers


def test_http_body_too_large(service):
    body = json.dumps({"amount": 1, "pad": "x" * (64 * 1024 + 10)})
    r = httpapi.request(service.http_port, "POST", "/payment/charge", body,
                        headers={"Content-Type": "application/json"})
    assert r.status == 413, r
    assert r.code == 4004009, r
    assert service.health_status() == 200


def test_http_body_just_under_limit_is_parsed(service):
    # 64 KiB of whitespace-padded but otherwise valid JSON is not "too large"
    req = json.dumps(data.charge())
    body = req + " " * (64 * 1024 - len(req) - 16)
    r = httpapi.request(service.http_port, "POST", "/payment/charge", body,
                        headers={"Content-Type": "application/json"})
    assert r.status == 200, r


def test_health(service):
    r = httpapi.request(service.http_port, "GET", "/health")
    assert r.status == 200, r
    assert r.json.get("status") == "ok", r


def test_pipelined_rpc_charges_on_one_connection(service):
    reqs = [data.charge() for _ in range(3)]
    with connect(service.rpc_port) as s:
        s.sendall(b"".join(charge_call(r, seqid=100 + i) for i, r in enumerate(reqs)))
        for i in range(3):
            rep = decode_reply(read_frame(s))
            assert rep.seqid == 100 + i and rep.name == "Charge", rep
            assert rep.result.success is not None, rep


def _read_http_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length body; returns (head, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before a whole response header: {buf!r}"
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    assert m, head
    while len(body) < int(m.group(1)):
        chunk = sock.recv(4096)
        assert chunk, "connection closed in the middle of a response body"
        body += chunk
    return head, body


def test_http_keep_alive(service):
    """Several requests on one HTTP/1.1 connection, the last one a charge: the server must
    not close the connection after a response it did not mark `Connection: close`."""
    import socket
    with socket.create_connection(("127.0.0.1", service.http_port), timeout=10) as s:
        for _ in range(3):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body = _read_http_response(s)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert not re.search(rb"(?im)^connection:\s*close", head), head
        body = json.dumps(data.charge()).encode()
        s.sendall(b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head, reply = _read_http_response(s)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert "transaction_id" in json.loads(reply)


# ---- strings a C string cannot hold whole: 4004003 over RPC ----

def _rows_of_order(mariadb, database, order):
    return int(mariadb.query(f"SELECT COUNT(*) FROM payments WHERE order_id = {int(order)}",
                             database)[0][0])


def _charge_with_text(order, card_number, method):
    """A framed Charge call whose card number and payment_method are the given bytes,
    written in place of same-length placeholders (Thrift's Python library writes only
    valid UTF-8 itself)."""
    card_ph, method_ph = "4" * len(card_number), "m" * len(method)
    call = charge_call(data.charge(order=order, card=card_ph, payment_method=method_ph))
    for ph, raw in ((card_ph.encode(), card_number), (method_ph.encode(), method)):
        tagged = struct.pack(">i", len(ph)) + ph
        assert call.count(tagged) == 1, call
        call = call.replace(tagged, struct.pack(">i", len(raw)) + raw)
    return call


@pytest.mark.parametrize("label,card,method", [
    ("nul-in-card", data.VISA.encode() + b"\x00junk", b"credit_card"),
    ("nul-in-method", data.VISA.encode(), b"credit_card\x00x"),
    ("invalid-utf8-in-card", data.VISA.encode() + b"\xff", b"credit_card"),
    ("overlong-utf8-in-method", data.VISA.encode(), b"credit_card\xc0\xaf"),
])
def test_rpc_string_a_c_string_cannot_hold_is_invalid_request(label, card, method, service,
                                                               mariadb, database):
    """Before: a NUL cut the value short (the charge went through with the text before
    it), and invalid UTF-8 reached the card rules (4004001)."""
    order = data.order_id()
    reply = call_raw(service.rpc_port, _charge_with_text(order, card, method))
    assert reply.result is not None and reply.result.err is not None, reply
    assert reply.result.err.code == 4004003, reply
    assert _rows_of_order(mariadb, database, order) == 0


def test_rpc_crafted_charge_with_clean_text_is_charged(service, mariadb, database):
    """The same crafted message with clean text is charged: the test above can fail."""
    order = data.order_id()
    reply = call_raw(service.rpc_port, _charge_with_text(order, data.VISA.encode(),
                                                         b"credit_card"))
    assert reply.result is not None and reply.result.err is None, reply
    assert _rows_of_order(mariadb, database, order) == 1
