"""The soak's clients: one call on one transport (Thrift RPC or HTTP JSON) of one service
instance, with its outcome as an Outcome:

  ok       the service answered success; .value is the reply as a dict, amounts in cents
  error    the service answered a business error; .value is its code
  unknown  the request was sent and no answer came (timeout, reset, closed): its outcome
           must be resolved later, like a 4005005
  unsent   the connection could not be made: the request never left the client
  bad      an answer the contract does not allow (a TApplicationException, an HTTP status
           that does not go with its code, a body that is not the error object)

Every call has a timeout; every connection is to 127.0.0.1."""

import http.client
import json
import socket
import urllib.parse

from thrift.Thrift import TApplicationException
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from support import thriftgen
from support.refunds import HTTP_STATUS

STATUS_NAMES = {1: "PAID", 2: "PARTIALLY_REFUNDED", 3: "REFUNDED"}
CARD = {"credit_card_number": "4111111111111111", "credit_card_cvv": 123,
        "credit_card_expiration_year": 2030, "credit_card_expiration_month": 12}
CARD_BRAND, CARD_LAST4 = "visa", "1111"

OK, ERROR, UNKNOWN, UNSENT, BAD = "ok", "error", "unknown", "unsent", "bad"


class Outcome:
    def __init__(self, kind, value=None):
        self.kind, self.value = kind, value

    def label(self):
        """What the counters count: ok, unknown, unsent, bad, or the error code."""
        return str(self.value) if self.kind == ERROR else self.kind

    def __repr__(self):
        return f"Outcome({self.kind}, {self.value!r})"


def cents(amount):
    """An amount in major units (a double) as integer cents."""
    return int(round(amount * 100))


def _info(d):
    """A PaymentInfo (as a dict with the IDL's names) in the soak's terms."""
    status = d["status"]
    return {"transaction_id": d["transaction_id"], "order_id": d["order_id"],
            "user_id": d["user_id"], "amount_cents": cents(d["amount"]),
            "refunded_cents": cents(d["refunded_amount"]),
            "status": STATUS_NAMES.get(status, status), "payment_method": d["payment_method"],
            "card_brand": d["card_brand"], "card_last4": d["card_last4"],
            "created_at": d["created_at"], "updated_at": d["updated_at"]}


def _refund(d):
    status = d["status"]
    return {"refund_id": d["refund_id"], "transaction_id": d["transaction_id"],
            "amount_cents": cents(d["amount"]), "total_cents": cents(d["total_refunded"]),
            "status": STATUS_NAMES.get(status, status)}


def _fields(obj, names):
    return {n: getattr(obj, n) for n in names}


INFO_NAMES = ["transaction_id", "order_id", "user_id", "amount", "refunded_amount", "status",
              "payment_method", "card_brand", "card_last4", "created_at", "updated_at"]
REFUND_NAMES = ["refund_id", "transaction_id", "amount", "total_refunded", "status"]


class RpcSession:
    """A persistent Framed strict-binary connection to one instance, opened on first use
    and dropped after any failure (a reply may still be on its way on it)."""

    def __init__(self, instance, timeout):
        self.instance, self.timeout = instance, timeout
        self.transport = None
        self.client = None

    def close(self):
        if self.transport is not None:
            self.transport.close()
        self.transport = self.client = None

    def _open(self):
        service, _ = thriftgen.modules()
        sock = TSocket.TSocket("127.0.0.1", self.instance.rpc_port)
        sock.setTimeout(int(self.timeout * 1000))
        transport = TTransport.TFramedTransport(sock)
        protocol = TBinaryProtocol.TBinaryProtocol(transport, strictRead=True,
                                                   strictWrite=True)
        transport.open()
        self.transport, self.client = transport, service.Client(protocol)

    def call(self, method, req, convert):
        """Calls @method with @req; @convert turns the reply struct into a dict."""
        _, ttypes = thriftgen.modules()
        if self.client is None:
            try:
                self._open()
            except (TTransport.TTransportException, OSError):
                self.close()
                return Outcome(UNSENT)
        try:
            return Outcome(OK, convert(getattr(self.client, method)(req)))
        except ttypes.PaymentError as e:
            return Outcome(ERROR, e.code)
        except TApplicationException as e:
            self.close()
            return Outcome(BAD, f"TApplicationException {e.type}: {e.message}")
        except (TTransport.TTransportException, OSError, EOFError, socket.timeout) as e:
            self.close()
            return Outcome(UNKNOWN, type(e).__name__)

    def charge(self, order, user, amount_cents):
        _, t = thriftgen.modules()
        req = t.ChargeReq(amount=amount_cents / 100, credit_card=t.CreditCardInfo(**CARD),
                          order_id=order, user_id=user)
        return self.call("Charge", req, lambda r: {"transaction_id": r.transaction_id})

    def query(self, tx=None, order=None):
        _, t = thriftgen.modules()
        req = t.QueryPaymentReq(transaction_id=tx, order_id=order)
        return self.call("QueryPayment", req,
                         lambda r: _info(_fields(r.payment, INFO_NAMES)))

    def refund(self, tx, key, amount_cents=None, reason=None):
        _, t = thriftgen.modules()
        amount = None if amount_cents is None else amount_cents / 100
        req = t.RefundReq(transaction_id=tx, amount=amount, refund_request_id=key,
                          reason=reason)
        return self.call("Refund", req, lambda r: _refund(_fields(r, REFUND_NAMES)))


class HttpSession:
    """HTTP/1.1 to one instance, one connection per request (Connection: close): a POST
    on a kept-alive connection the server closed meanwhile could not be told apart from
    one it received."""

    def __init__(self, instance, timeout):
        self.instance, self.timeout = instance, timeout

    def close(self):
        pass

    def request(self, method, path, body, convert):
        c = http.client.HTTPConnection("127.0.0.1", self.instance.http_port,
                                       timeout=self.timeout)
        try:
            try:
                c.connect()
            except OSError:
                return Outcome(UNSENT)
            headers = {"Connection": "close"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                status, raw = r.status, r.read()
            except (OSError, http.client.HTTPException) as e:
                return Outcome(UNKNOWN, type(e).__name__)
            return _http_outcome(status, raw, convert)
        finally:
            c.close()

    def charge(self, order, user, amount_cents):
        body = {"amount": amount_cents / 100, "order_id": order, "user_id": user,
                "credit_card": CARD}
        return self.request("POST", "/payment/charge", body,
                            lambda d: {"transaction_id": d["transaction_id"]})

    def query(self, tx=None, order=None):
        params = {"transaction_id": tx} if tx is not None else {"order_id": order}
        path = "/payment/query?" + urllib.parse.urlencode(params)
        return self.request("GET", path, None, _info)

    def refund(self, tx, key, amount_cents=None, reason=None):
        body = {"transaction_id": tx, "refund_request_id": key}
        if amount_cents is not None:
            body["amount"] = amount_cents / 100
        if reason is not None:
            body["reason"] = reason
        return self.request("POST", "/payment/refund", body, _refund)


def _http_outcome(status, raw, convert):
    try:
        doc = json.loads(raw)
    except ValueError:
        return Outcome(BAD, f"HTTP {status}, not JSON: {raw[:200]!r}")
    if status == 200:
        try:
            return Outcome(OK, convert(doc))
        except (KeyError, TypeError) as e:
            return Outcome(BAD, f"HTTP 200 without {e}: {raw[:200]!r}")
    code = doc.get("code") if isinstance(doc, dict) else None
    if code is None or HTTP_STATUS.get(code, status) != status:
        return Outcome(BAD, f"HTTP {status} with body {raw[:200]!r}")
    return Outcome(ERROR, code)


def session(instance, transport, timeout):
    return (RpcSession if transport == "rpc" else HttpSession)(instance, timeout)
