#!/usr/bin/env python3
"""Writes the committed seed corpora of tests/fuzz/ (run it again after changing it):
corpus/rpc/  : the Kitex request vectors of tests/vectors/kitex/ (every framing),
               hand-encoded QueryPayment/Refund/unknown-method calls in every framing,
               TTHeader headers with every info block, pipelined streams;
corpus/json/ : ChargeReq and RefundReq bodies, valid and invalid, like tests/unit/test-json-codec.c's.
corpus/http/ : raw HTTP/1.1 client streams: every route, pipelined requests, chunked bodies,
               query strings, media types, Expect: 100-continue, and bodies past the 64 KiB
               limit and the 1 MiB drain limit written with fuzz-http.c's "\0R" expansion.
Standard library only; the outputs are small (a few KiB in all)."""

import glob
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "vectors", "kitex")


def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def dbl(v): return struct.pack(">d", v)
def string(s): return i32(len(s)) + s
def field(t, fid, value): return bytes([t]) + i16(fid) + value


STOP = b"\x00"


def message(name, seqid, args, mtype=1):
    return u32(0x80010000 | mtype) + string(name) + i32(seqid) + args


def framed(msg): return u32(len(msg)) + msg


def ttheader(msg, seqid=1, inner_framed=True, info=b""):
    payload = framed(msg) if inner_framed else msg
    header = b"\x00\x00" + info
    header += b"\x00" * (-len(header) % 4)
    body = u16(0x1000) + u16(0) + i32(seqid) + u16(len(header) // 4) + header + payload
    return u32(len(body)) + body


def strkeys(pairs):
    out = b"\x01" + u16(len(pairs))
    for k, v in pairs:
        out += u16(len(k)) + k + u16(len(v)) + v
    return out


def intkeys(pairs):
    out = b"\x10" + u16(len(pairs))
    for k, v in pairs:
        out += u16(k) + u16(len(v)) + v
    return out


card = field(12, 2, field(11, 1, string(b"4111111111111111")) + field(8, 2, i32(123))
             + field(8, 3, i32(2030)) + field(8, 4, i32(12)) + STOP)
charge_req = (field(4, 1, dbl(12.5)) + card + field(10, 3, i64(7)) + field(10, 4, i64(42))
              + field(11, 5, string(b"credit_card")) + STOP)
charge = message(b"Charge", 5, field(12, 1, charge_req) + STOP)
query_tx = message(b"QueryPayment", 6,
                   field(12, 1, field(11, 1, string(b"8e0237d4-60c0-49f5-a975-1759e545db71")) + STOP) + STOP)
query_order = message(b"QueryPayment", 7, field(12, 1, field(10, 2, i64(7)) + STOP) + STOP)
refund = message(b"Refund", 8, field(12, 1, field(11, 1, string(b"tx")) + field(4, 2, dbl(5.0))
                                     + field(11, 3, string(b"r1")) + field(11, 4, string(b"why"))
                                     + STOP) + STOP)
unknown = message(b"Nope", 9, STOP)
oneway = message(b"Charge", 10, STOP, mtype=4)
# extra fields of every type, to be skipped
extras = message(b"Charge", 11, field(13, 9, b"\x0b\x08" + i32(1) + string(b"k") + i32(1))
                 + field(15, 10, b"\x0c" + i32(1) + STOP) + field(14, 11, b"\x02" + i32(2) + b"\x01\x00")
                 + field(2, 12, b"\x01") + field(3, 13, b"\x07") + field(6, 14, i16(3))
                 + field(12, 1, charge_req) + STOP)
handler_info = (intkeys([(1, b"framed"), (3, b"client"), (6, b"payment"), (9, b"Charge"),
                         (12, b"5000"), (22, b"1")])
                + strkeys([(b"isn", b"PaymentService"), (b"logid", b"abc")]))

seeds = {
    "framed-charge": framed(charge),
    "framed-query-tx": framed(query_tx),
    "framed-query-order": framed(query_order),
    "framed-refund": framed(refund),
    "framed-unknown": framed(unknown),
    "framed-oneway": framed(oneway),
    "framed-extras": framed(extras),
    "buffered-charge": charge,
    "buffered-query": query_order,
    "buffered-refund": refund,
    "buffered-extras": extras,
    "ttheader-charge": ttheader(charge, 5),
    "ttheader-refund-keys": ttheader(refund, 8, info=handler_info),
    "ttheader-unframed-query": ttheader(query_tx, 6, inner_framed=False, info=handler_info),
    "ttheader-acl": ttheader(charge, 5, info=b"\x11" + u16(4) + b"tokn" + intkeys([(22, b"1")])),
    "pipelined-mixed": framed(charge) + refund + ttheader(query_order, 7) + framed(unknown),
    "framed-bad-args": framed(message(b"Charge", 12, b"\x0c\x00\x01\x0c\x00\x02\x0b\x00\x01\x7f\xff\xff\xf0ab")),
}

JSON = {
    "ok": b'{"amount":19.99,"order_id":1001,"user_id":7,"credit_card":{"credit_card_number":'
          b'"4111 1111 1111 1111","credit_card_cvv":123,"credit_card_expiration_year":2030,'
          b'"credit_card_expiration_month":12},"payment_method":"credit_card"}',
    "string-ids": b'{"amount":1,"order_id":"9223372036854775807","user_id":"0042","credit_card":'
                  b'{"credit_card_number":"4242424242424242","credit_card_cvv":1,'
                  b'"credit_card_expiration_year":30,"credit_card_expiration_month":1}}',
    "float-ids": b'{"amount":1e2,"order_id":7.0,"user_id":1e3,"credit_card":null}',
    "nested-extra": b'{"amount":1,"extra":[[[{"a":[1,2.5,true,null,"\\u00e9\\ud83d\\ude00"]}]]]}',
    "huge-exp": b'{"amount":1e400,"order_id":-9223372036854775809}',
    "trailing": b'{"amount":1}{}',
    "bad-escape": b'{"amount":1,"payment_method":"a\\x"}',
    "deep": b'[' * 20 + b']' * 20,
    "empty-object": b'{}',
    "refund-ok": b'{"transaction_id":"8e0237d4-60c0-49f5-a975-1759e545db71","amount":5.25,'
                 b'"refund_request_id":"r-1","reason":"customer request"}',
    "refund-rest": b'{"transaction_id":"8e0237d4-60c0-49f5-a975-1759e545db71","amount":null,'
                   b'"refund_request_id":"r-2"}',
    "refund-bad-types": b'{"transaction_id":7,"amount":"5","refund_request_id":["r"],"reason":{}}',
}


def repeat(byte, count):
    """fuzz-http.c's expansion: @byte repeated @count times."""
    return b"\0R" + count.to_bytes(3, "big") + byte


def http(method, path, body=None, headers=(), content_type=b"application/json", version=b"1.1"):
    head = method + b" " + path + b" HTTP/" + version + b"\r\nHost: x\r\n"
    for h in headers:
        head += h + b"\r\n"
    if body is not None:
        if content_type is not None:
            head += b"Content-Type: " + content_type + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return head + b"\r\n" + (body or b"")


def chunked(path, chunks, content_type=b"application/json"):
    out = (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type +
           b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\n\r\n"


CHARGE = JSON["ok"]
REFUND = JSON["refund-ok"]
HTTP = {
    "health": http(b"GET", b"/health"),
    "metrics": http(b"GET", b"/metrics"),
    "head-health": http(b"HEAD", b"/health"),
    "charge": http(b"POST", b"/payment/charge", CHARGE),
    "charge-charset": http(b"POST", b"/payment/charge", CHARGE,
                           content_type=b"application/json; charset=utf-8"),
    "charge-text-plain": http(b"POST", b"/payment/charge", CHARGE, content_type=b"text/plain"),
    "charge-no-type": http(b"POST", b"/payment/charge", CHARGE, content_type=None),
    "charge-duplicate": http(b"POST", b"/payment/charge", CHARGE[:-1] + b',"amount":5000}'),
    "charge-chunked": chunked(b"/payment/charge", [CHARGE[:10], CHARGE[10:70], CHARGE[70:]]),
    "refund": http(b"POST", b"/payment/refund", REFUND),
    "refund-chunked": chunked(b"/payment/refund", [REFUND[:1], REFUND[1:]]),
    "query-tx": http(b"GET", b"/payment/query?transaction_id=8e0237d4-60c0-49f5-a975-1759e545db71"),
    "query-order": http(b"GET", b"/payment/query?order_id=1001"),
    "query-both": http(b"GET", b"/payment/query?order_id=1&transaction_id=x"),
    "query-bad": http(b"GET", b"/payment/query?order_id=%zz&&=&order_id=2"),
    "pipelined": (http(b"POST", b"/payment/charge", CHARGE) + http(b"GET", b"/payment/query?order_id=1001")
                  + http(b"POST", b"/payment/refund", REFUND.replace(b"8e0237d4-60c0-49f5-a975-1759e545db71", b"x"))
                  + http(b"GET", b"/health") + http(b"DELETE", b"/health") + http(b"GET", b"/nope")),
    "over-limit": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 70000\r\n\r\n" + repeat(b" ", 70000) + http(b"GET", b"/health")),
    "at-limit": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 65536\r\n\r\n{" + repeat(b" ", 65534) + b"}"),
    "chunked-over-limit": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n11000\r\n" + repeat(b"a", 0x11000)
                           + b"\r\n0\r\n\r\n"),
    "chunked-past-drain": (b"POST /payment/refund HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n120000\r\n" + repeat(b"a", 0x120000)
                           + b"\r\n0\r\n\r\n"),
    "expect-continue": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Expect: 100-continue\r\nContent-Length: " + str(len(CHARGE)).encode()
                        + b"\r\n\r\n" + CHARGE),
    "expect-continue-over": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 999999\r\n\r\n"),
    "http10": http(b"GET", b"/health", version=b"1.0"),
    "bad-request-line": b"GET /health\r\n\r\n",
    "bad-header": b"GET /health HTTP/1.1\r\nHost x\r\n\r\n",
    "two-lengths": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
    "length-and-chunked": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
    "bad-chunk": (b"POST /payment/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
    "cut-short": http(b"POST", b"/payment/charge", CHARGE)[:-20],
    "connection-close": http(b"GET", b"/health", headers=[b"Connection: close"]) + http(b"GET", b"/health"),
}


def reset(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)


rpc = os.path.join(HERE, "corpus", "rpc")
reset(rpc)
for path in sorted(glob.glob(os.path.join(VECTORS, "*_request.bin"))):
    shutil.copy(path, os.path.join(rpc, os.path.basename(path)))
for name, data in seeds.items():
    with open(os.path.join(rpc, name + ".bin"), "wb") as f:
        f.write(data)
js = os.path.join(HERE, "corpus", "json")
reset(js)
for name, data in JSON.items():
    with open(os.path.join(js, name + ".json"), "wb") as f:
        f.write(data)
web = os.path.join(HERE, "corpus", "http")
reset(web)
for name, data in HTTP.items():
    with open(os.path.join(web, name + ".http"), "wb") as f:
        f.write(data)
print(f"{len(os.listdir(rpc))} rpc seeds, {len(os.listdir(js))} json seeds, "
      f"{len(os.listdir(web))} http seeds")
