"""A small HTTP/1.1 JSON client for the service's API port."""

import http.client
import json


class HttpResult:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    def __repr__(self):
        return f"HttpResult({self.status}, {self.raw[:300]!r})"


def connection(port, timeout, tls=None):
    """An HTTP connection to the service, or HTTPS with @tls (an ssl.SSLContext)."""
    if tls is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def request(port, method, path, body=None, headers=None, timeout=15.0, tls=None):
    """@body: bytes/str sent as is, or any other value sent as JSON; either way declared
    application/json unless @headers say otherwise (a header given as None is not sent).
    @tls: an ssl.SSLContext to speak HTTPS with."""
    h = {"Connection": "close"}
    if body is not None:
        h["Content-Type"] = "application/json"
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    c = connection(port, timeout, tls)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        return HttpResult(r.status, dict(r.getheaders()), raw.decode(errors="replace"))
    finally:
        c.close()


def charge(port, req_dict, timeout=15.0, tls=None):
    """POST /payment/charge. Returns ("ok", transaction_id) or ("error", code, message),
    plus the HttpResult as the last element."""
    r = request(port, "POST", "/payment/charge", req_dict, timeout=timeout, tls=tls)
    if r.status == 200 and isinstance(r.json, dict) and "transaction_id" in r.json:
        return ("ok", r.json["transaction_id"], r)
    return ("error", r.code, (r.json or {}).get("message") if isinstance(r.json, dict) else None, r)
