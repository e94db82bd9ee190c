"""QueryPayment and Refund on both transports, with one result shape for either:
("ok", dict) or ("error", code, message). A PaymentInfo / RefundResp becomes a dict with
the IDL's field names and status as text (PAID, PARTIALLY_REFUNDED, REFUNDED), as in JSON.
Also the refunds and payment_events rows, and race.run_together() for calls without preparation."""

import urllib.parse

from . import httpapi, race, thriftgen
from .rpc import RpcClient

STATUS_NAMES = {1: "PAID", 2: "PARTIALLY_REFUNDED", 3: "REFUNDED"}
HTTP_STATUS = {4004002: 400, 4004003: 400, 4004004: 404, 4004005: 409, 4004006: 409,
               4005003: 503, 4005004: 503, 4005005: 503}

INFO_FIELDS = ["transaction_id", "order_id", "user_id", "amount", "refunded_amount", "status",
               "payment_method", "card_brand", "card_last4", "created_at", "updated_at"]
REFUND_FIELDS = ["refund_id", "transaction_id", "amount", "total_refunded", "status"]


def _as_dict(obj, fields):
    d = {f: getattr(obj, f) for f in fields}
    d["status"] = STATUS_NAMES.get(d["status"], d["status"])
    return d


def rpc_query(port, tx=None, order=None, timeout=30.0):
    _, ttypes = thriftgen.modules()
    with RpcClient(port, timeout=timeout) as c:
        try:
            resp = c.client.QueryPayment(ttypes.QueryPaymentReq(transaction_id=tx, order_id=order))
            return ("ok", _as_dict(resp.payment, INFO_FIELDS))
        except ttypes.PaymentError as e:
            return ("error", e.code, e.message)


def rpc_refund(port, tx, key, amount=None, reason=None, timeout=30.0, client=None):
    _, ttypes = thriftgen.modules()
    req = ttypes.RefundReq(transaction_id=tx, amount=amount, refund_request_id=key,
                           reason=reason)
    c = client or RpcClient(port, timeout=timeout)
    try:
        return ("ok", _as_dict(c.client.Refund(req), REFUND_FIELDS))
    except ttypes.PaymentError as e:
        return ("error", e.code, e.message)
    finally:
        if client is None:
            c.close()


def _http_result(r):
    if r.status == 200:
        assert isinstance(r.json, dict), r
        return ("ok", r.json)
    code = r.code
    assert code is not None, f"not an error body: {r}"
    want = HTTP_STATUS.get(code)
    assert want == r.status, f"code {code} came with HTTP {r.status} (want {want}): {r}"
    return ("error", code, r.json.get("message"))


def http_query(port, tx=None, order=None, raw_query=None, timeout=30.0):
    if raw_query is None:
        params = {}
        if tx is not None:
            params["transaction_id"] = tx
        if order is not None:
            params["order_id"] = order
        raw_query = urllib.parse.urlencode(params)
    path = "/payment/query" + (f"?{raw_query}" if raw_query else "")
    return _http_result(httpapi.request(port, "GET", path, timeout=timeout))


def http_refund(port, tx, key, amount=None, reason=None, timeout=30.0, body=None):
    if body is None:
        body = {"transaction_id": tx, "refund_request_id": key}
        if amount is not None:
            body["amount"] = amount
        if reason is not None:
            body["reason"] = reason
    return _http_result(httpapi.request(port, "POST", "/payment/refund", body, timeout=timeout))


def query(transport, service, **kw):
    fn = rpc_query if transport == "rpc" else http_query
    port = service.rpc_port if transport == "rpc" else service.http_port
    return fn(port, **kw)


def refund(transport, service, tx, key, **kw):
    if transport == "rpc":
        return rpc_refund(service.rpc_port, tx, key, **kw)
    return http_refund(service.http_port, tx, key, **kw)


# ---- storage ----

def refund_rows(mariadb, database, tx):
    """(refund_id, refund_request_id, requested_cents, amount_cents, total_refunded_cents,
    status) of every refund of @tx, oldest first."""
    return mariadb.query(
        "SELECT refund_id, refund_request_id, requested_cents, amount_cents,"
        f" total_refunded_cents, status FROM refunds WHERE transaction_id = '{tx}' ORDER BY id",
        database)


def event_rows(mariadb, database, tx):
    """(event_type, refund_id, amount_cents, status, order_id) of @tx's events in order."""
    return mariadb.query(
        "SELECT event_type, refund_id, amount_cents, status, order_id FROM payment_events"
        f" WHERE transaction_id = '{tx}' ORDER BY id", database)


# ---- races ----

def run_calls_together(calls):
    """race.run_together() for calls that need no preparation."""
    return race.run_together([lambda fn=fn: fn for fn in calls])
