"""limits.rate_per_second and limits.burst (docs/CONTRACT.md, "Connection limits"): a
token bucket per caller, here per client IP address (clients bind loopback addresses of
their own as their source). Over it: HTTP 429 with code 4004013 and Retry-After; RPC
PaymentError 4004013, with biz-status over TTHeader. A refused charge does no storage
work (the same order charges afterwards); another address has its own bucket; /health and
/metrics are not limited.

No sleeps: each burst is sent until its first refusal, and the number let through is
checked against the burst plus what the rate refilled meanwhile (measured); waiting for a
token again polls with a bounded deadline."""

import http.client
import json
import socket
import time

import pytest

from support import data, ttheader
from support.metrics import scrape, value
from support.rpc import charge_call, decode_reply, read_frame
from support.service import poll
from test_rpc_protocol import patch_request, vector

RATE = 1
BURST = 3
SLACK = 10
LIMIT_CODE = 4004013


@pytest.fixture(scope="module")
def limited_service(start_service):
    return start_service({"PAYMENT_LIMITS_RATE_PER_SECOND": str(RATE),
                          "PAYMENT_LIMITS_BURST": str(BURST)})


def until_refused(attempt):
    """Calls attempt(order) with new orders until it returns a refusal (not None).
    Returns (requests let through, the refusal, its order)."""
    started = time.monotonic()
    for passed in range(BURST + 50):
        order = data.order_id()
        refusal = attempt(order)
        if refusal is not None:
            # The burst, and at most what refilled while the requests ran.
            refilled = int((time.monotonic() - started) * RATE) + 1
            assert BURST <= passed <= BURST + refilled, (passed, refilled)
            return passed, refusal, order
    raise AssertionError(f"no refusal in {BURST + 50} requests")


# ---- HTTP ------------------------------------------------------------------------------

def http_call(source, port, method, path, body=None):
    """(status, headers, JSON or None) of one request from @source."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    headers = {"Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        raw = r.read()
        return r.status, dict(r.getheaders()), json.loads(raw) if raw.startswith(b"{") else None
    finally:
        c.close()


def http_charge(source, port, order):
    return http_call(source, port, "POST", "/payment/charge", data.charge(order=order))


def test_http_burst(limited_service):
    port = limited_service.http_port

    def attempt(order):
        status, headers, body = http_charge("127.0.0.2", port, order)
        if status == 429:
            return headers, body
        assert status == 200 and "transaction_id" in body, (status, body)
        return None

    _, (headers, body), order = until_refused(attempt)
    assert body["code"] == LIMIT_CODE, body
    # At 1 token per second the wait is at most 1 s: rounded up, 1.
    assert headers.get("Retry-After") == "1", headers
    # Monitoring and the other address are not held back.
    for path in ("/health", "/metrics"):
        assert http_call("127.0.0.2", port, "GET", path)[0] == 200, path
    status, _, other = http_charge("127.0.0.3", port, data.order_id())
    assert status == 200, other
    text = scrape(limited_service).raw
    assert value(text, "payment_requests_total", transport="http",
                 method="POST /payment/charge", code=str(LIMIT_CODE)) >= 1
    # The refused charge was not made: the same order charges once a token is back.
    charged = poll(lambda: (lambda r: r if r[0] != 429 else None)(
        http_charge("127.0.0.2", port, order)), SLACK, what="a token back")
    assert charged[0] == 200 and "transaction_id" in charged[2], charged


# ---- RPC -------------------------------------------------------------------------------

def connect_from(source, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def framed_charge(source, port, order):
    """The Charge result struct of one framed call from @source."""
    with connect_from(source, port) as s:
        s.sendall(charge_call(data.charge(order=order)))
        return decode_reply(read_frame(s)).result


def test_rpc_burst(limited_service):
    """TTHeader calls on one connection until refused; the refusal carries biz-status."""
    port = limited_service.rpc_port
    request = vector("kitex-server_ttheader_case2_request.bin")
    with connect_from("127.0.0.4", port) as s:
        def attempt(order):
            s.sendall(patch_request(request, order))
            h = ttheader.read(s)
            result = decode_reply(h.message()[0]).result
            if result.err is not None:
                return h, result.err
            assert result.success is not None and "biz-status" not in h.strings, h
            return None

        _, (h, err), order = until_refused(attempt)
    assert err.code == LIMIT_CODE and "rate limit" in err.message, err
    assert h.strings.get("biz-status") == str(LIMIT_CODE), h
    assert "rate limit" in h.strings.get("biz-message", ""), h
    # The bucket is the address's, not the connection's; another address has its own.
    assert framed_charge("127.0.0.4", port, data.order_id()).err.code == LIMIT_CODE
    assert framed_charge("127.0.0.5", port, data.order_id()).success is not None
    text = scrape(limited_service).raw
    assert value(text, "payment_requests_total", transport="rpc", method="Charge",
                 code=str(LIMIT_CODE)) >= 2
    # The refused charge was not made: the same order charges once a token is back.
    charged = poll(lambda: (lambda r: r if r.err is None or r.err.code != LIMIT_CODE else None)(
        framed_charge("127.0.0.4", port, order)), SLACK, what="a token back")
    assert charged.success is not None, charged


def test_off_by_default(service):
    """Without limits.*, a burst far past any small limit is all served."""
    for _ in range(3 * BURST):
        status, _, body = http_charge("127.0.0.6", service.http_port, data.order_id())
        assert status == 200, body
        assert framed_charge("127.0.0.6", service.rpc_port, data.order_id()).success is not None


# ---- with API keys: the bucket is the key's -------------------------------------------

def test_http_bucket_is_the_api_keys(start_service, tmp_path):
    """With auth.keys_file, the HTTP bucket is the key's, not the address's: a key that
    used its burst is refused while another key from the same address is not."""
    import hashlib
    secrets = {"one": "s3cret-one-0123456789abcdef", "two": "s3cret-two-0123456789abcdef"}
    keys = tmp_path / "keys"
    keys.write_text("".join(f"{k} charge {hashlib.sha256(s.encode()).hexdigest()}\n"
                            for k, s in secrets.items()))
    svc = start_service({"PAYMENT_LIMITS_RATE_PER_SECOND": str(RATE),
                         "PAYMENT_LIMITS_BURST": str(BURST),
                         "PAYMENT_AUTH_KEYS_FILE": str(keys)})

    def charge_with(key_id, order):
        c = http.client.HTTPConnection("127.0.0.1", svc.http_port, timeout=15,
                                       source_address=("127.0.0.6", 0))
        try:
            c.request("POST", "/payment/charge", body=json.dumps(data.charge(order=order)),
                      headers={"Connection": "close", "Content-Type": "application/json",
                               "Authorization": f"Bearer {key_id}.{secrets[key_id]}"})
            r = c.getresponse()
            r.read()
            return r.status
        finally:
            c.close()

    passed, _, _ = until_refused(lambda order: 429 if charge_with("one", order) == 429 else None)
    assert passed >= BURST
    assert charge_with("two", data.order_id()) == 200
