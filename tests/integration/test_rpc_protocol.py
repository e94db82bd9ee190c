"""The Thrift RPC port as a protocol endpoint: TApplicationExceptions, pipelining, hostile
and broken input (each followed by a working call on a new connection and a healthy
service), idle timeout, quiet handling of empty connections, and replay of the Kitex
golden vectors in tests/vectors/kitex/."""

import os
import re
import socket
import struct
import time

import pytest
from thrift.Thrift import TApplicationException, TMessageType

from support import data, env, thriftgen
from support.tablelock import TableLock, in_flight_charges, metric_sum
from support.rpc import assert_closed_without_reply as rpc_assert_closed_without_reply
from support.rpc import (RpcClient, call_raw, charge_call, connect, decode_reply,
                         encode_message, frame, read_frame, recv_exact, wait_closed)

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CLOSE_TIMEOUT = 10.0  # seconds within which a bad connection must be closed


def header(name="Charge", mtype=TMessageType.CALL, seqid=1):
    """Strict binary message header bytes."""
    n = name.encode()
    return struct.pack(">I", 0x80010000 | mtype) + struct.pack(">i", len(n)) + n \
        + struct.pack(">i", seqid)


def assert_service_fine(service):
    """A successful call on a new connection, and /health 200."""
    rep = call_raw(service.rpc_port, charge_call(data.charge(), seqid=4242))
    assert rep.seqid == 4242 and rep.result.success is not None, rep
    assert UUID4.match(rep.result.success.transaction_id)
    assert service.health_status() == 200
    assert service.alive()


def assert_closed_without_reply(sock):
    rpc_assert_closed_without_reply(sock, CLOSE_TIMEOUT)


# ---- TApplicationException ----

def test_unknown_method(service):
    _, ttypes = thriftgen.modules()
    with connect(service.rpc_port) as s:
        s.sendall(frame(encode_message("NoSuchMethod", TMessageType.CALL, 31337)))
        rep = decode_reply(read_frame(s))
        assert rep.type == TMessageType.EXCEPTION, rep
        assert rep.name == "NoSuchMethod" and rep.seqid == 31337, rep
        assert rep.app_error.type == TApplicationException.UNKNOWN_METHOD, rep
        # the connection is still usable
        s.sendall(charge_call(data.charge(), seqid=31338))
        rep = decode_reply(read_frame(s))
        assert rep.seqid == 31338 and rep.result.success is not None, rep


def undecodable_args():
    """Whole frames whose header is fine but whose args cannot be decoded."""
    return [
        # ChargeReq field 1 (double) with no bytes after the field header, then the end
        ("truncated-struct", b"\x0c\x00\x01\x04\x00\x01"),
        # a field type id that does not exist (0x7f) inside the args
        ("bad-type-id", b"\x7f\x00\x01\x00\x00\x00\x00\x00"),
        # the "2 GiB allocation": credit_card_number length 0x7ffffff0 in a tiny frame
        ("huge-string-length", b"\x0c\x00\x01\x0c\x00\x02\x0b\x00\x01\x7f\xff\xff\xf0abcd"),
        # a negative string length
        ("negative-string-length", b"\x0c\x00\x01\x0c\x00\x02\x0b\x00\x01\xff\xff\xff\xfeab"),
        # a list of 0x7ffffff0 i32s: a container size past the end
        ("huge-list", b"\x0f\x00\x09\x08\x7f\xff\xff\xf0\x00\x00"),
    ]


@pytest.mark.parametrize("label,args", undecodable_args(), ids=[c[0] for c in undecodable_args()])
def test_undecodable_args_protocol_error(label, args, service):
    with connect(service.rpc_port) as s:
        t0 = time.monotonic()
        s.sendall(frame(header("Charge", TMessageType.CALL, 777) + args))
        rep = decode_reply(read_frame(s, timeout=CLOSE_TIMEOUT))
        assert time.monotonic() - t0 < CLOSE_TIMEOUT
        assert rep.type == TMessageType.EXCEPTION, rep
        assert rep.name == "Charge" and rep.seqid == 777, rep
        assert rep.app_error.type == TApplicationException.PROTOCOL_ERROR, rep
        # the frame was whole: the connection stays usable
        s.sendall(charge_call(data.charge(), seqid=778))
        rep = decode_reply(read_frame(s))
        assert rep.seqid == 778 and rep.result.success is not None, rep
    assert_service_fine(service)


# ---- pipelining ----

def test_pipelining_three_calls_one_write(service):
    service_mod, _ = thriftgen.modules()
    order = data.order_id()
    calls = (charge_call(data.charge(order=order), seqid=11)
             + frame(encode_message("Bogus", TMessageType.CALL, 12))
             + charge_call(data.charge(order=order), seqid=13))
    with connect(service.rpc_port) as s:
        s.sendall(calls)
        r1 = decode_reply(read_frame(s))
        r2 = decode_reply(read_frame(s))
        r3 = decode_reply(read_frame(s))
    assert (r1.seqid, r1.name) == (11, "Charge") and r1.result.success is not None, r1
    assert (r2.seqid, r2.name, r2.type) == (12, "Bogus", TMessageType.EXCEPTION), r2
    assert r2.app_error.type == TApplicationException.UNKNOWN_METHOD
    # in order: the second charge of the same order sees the first one committed
    assert (r3.seqid, r3.name) == (13, "Charge"), r3
    assert r3.result.err is not None and r3.result.err.code == 4005002, r3


def test_pipelining_many_calls(service):
    reqs = [data.charge() for _ in range(20)]
    with connect(service.rpc_port) as s:
        s.sendall(b"".join(charge_call(r, seqid=500 + i) for i, r in enumerate(reqs)))
        seqids = [decode_reply(read_frame(s)).seqid for _ in reqs]
    assert seqids == [500 + i for i in range(len(reqs))]


def test_pipelined_calls_answered_at_once_share_one_write(service, mariadb, database):
    """Calls that need no I/O (cards failing Luhn), pipelined in one write, are answered
    in order and in ONE socket write (payment_rpc_reply_writes_total), not one per reply;
    a charge held in MySQL behind one of them does not hold its reply back."""
    bad = [data.charge(card="4111111111111112") for _ in range(20)]
    calls = b"".join(charge_call(r, seqid=600 + i) for i, r in enumerate(bad))
    before = metric_sum(service, "payment_rpc_reply_writes_total")
    with connect(service.rpc_port) as s:
        s.sendall(calls)
        replies = [decode_reply(read_frame(s)) for _ in bad]
        writes = metric_sum(service, "payment_rpc_reply_writes_total") - before
        assert [r.seqid for r in replies] == [600 + i for i in range(len(bad))]
        assert all(r.result.err is not None and r.result.err.code == 4004001 for r in replies)
        assert writes == 1, f"{len(bad)} replies took {writes} writes"
        lock = TableLock(mariadb, database)
        try:
            s.sendall(charge_call(bad[0], seqid=700) + charge_call(data.charge(), seqid=701))
            first = decode_reply(read_frame(s))
            assert in_flight_charges(service) == 1, "the charge behind is not held"
        finally:
            lock.release()
        second = decode_reply(read_frame(s))
    assert (first.seqid, first.result.err.code) == (700, 4004001), first
    assert second.seqid == 701 and second.result.success is not None, second


# ---- broken input: close, no reply, the service goes on ----

def bad_streams():
    return [
        ("garbage", b"\xde\xad\xbe\xef" + os.urandom(60)),
        ("http-request", b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("non-strict-message", frame(struct.pack(">i", 6) + b"Charge" + b"\x01"
                                     + struct.pack(">i", 1) + b"\x00")),
        ("bad-version", frame(struct.pack(">I", 0x80020001) + struct.pack(">i", 6) + b"Charge"
                              + struct.pack(">i", 1) + b"\x00")),
        ("frame-over-1MiB", struct.pack(">I", 1024 * 1024 + 1) + b"\x80\x01\x00\x01" + b"\x00" * 60),
        ("frame-4GiB", b"\xff\xff\xff\xff" + b"\x00" * 16),
        # a zero-length frame alone: its 4 bytes already say it is invalid in any framing
        ("zero-length-frame", b"\x00\x00\x00\x00"),
        ("zero-length-frame-then-more", b"\x00\x00\x00\x00\x80\x01\x00\x01\x00\x00"),
    ]


def test_calls_pipelined_ahead_of_bad_bytes_are_answered(service):
    """The reply to a call answered at once is held back for the next buffered bytes; when
    those break the protocol, the reply still goes out before the connection closes."""
    with connect(service.rpc_port) as s:
        s.sendall(charge_call(data.charge(card="4111111111111112"), seqid=800)
                  + b"\xde\xad\xbe\xef" + os.urandom(60))
        rep = decode_reply(read_frame(s))
        assert rep.seqid == 800 and rep.result.err.code == 4004001, rep
        assert_closed_without_reply(s)
    assert_service_fine(service)


@pytest.mark.parametrize("label,payload", bad_streams(), ids=[c[0] for c in bad_streams()])
def test_bad_stream_closed_without_reply(label, payload, service):
    with connect(service.rpc_port) as s:
        s.sendall(payload)
        assert_closed_without_reply(s)
    assert_service_fine(service)


@pytest.mark.parametrize("mtype", [TMessageType.REPLY, TMessageType.EXCEPTION, 7])
def test_call_with_wrong_message_type(mtype, service):
    """Strict binary, but not a CALL/ONEWAY: either closed without a reply or answered
    with a TApplicationException; never processed, never fatal."""
    with connect(service.rpc_port) as s:
        s.sendall(frame(header("Charge", mtype, 9) + b"\x00"))
        try:
            raw = read_frame(s, timeout=CLOSE_TIMEOUT)
        except (EOFError, ConnectionResetError):
            raw = None
        if raw is not None:
            rep = decode_reply(raw)
            assert rep.type == TMessageType.EXCEPTION and rep.seqid == 9, rep
    assert_service_fine(service)


def test_truncated_frame_then_close(service):
    with connect(service.rpc_port) as s:
        full = charge_call(data.charge())
        s.sendall(full[:20])     # the length word says more than we send
        s.shutdown(socket.SHUT_WR)
        assert_closed_without_reply(s)
    # and the same with an abrupt close (RST) in the middle of a frame
    s = connect(service.rpc_port)
    s.sendall(full[:30])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    assert_service_fine(service)


def test_half_sent_frame_left_open(service):
    s = connect(service.rpc_port)
    try:
        full = charge_call(data.charge())
        s.sendall(full[: len(full) // 2])
        # the server waits for the rest of this frame without blocking anyone else
        for _ in range(3):
            assert_service_fine(service)
        # finishing the frame later still gets an answer on the same connection
        s.sendall(full[len(full) // 2:])
        rep = decode_reply(read_frame(s))
        assert rep.result.success is not None, rep
    finally:
        s.close()


def test_many_bad_connections_in_parallel(service):
    socks = []
    try:
        for i in range(50):
            s = connect(service.rpc_port)
            s.sendall(charge_call(data.charge())[:10])   # half a frame each
            socks.append(s)
        assert_service_fine(service)
    finally:
        for s in socks:
            s.close()
    assert_service_fine(service)


# ---- quiet empty connections ----

LEVEL_ABOVE_DEBUG = re.compile(r"^\S+\s+(info|message|warning|error|critical)\b|"
                               r"\b(INFO|Message|WARNING|CRITICAL|ERROR)\b")


def test_empty_connection_is_not_logged(service):
    """Consul's TCP health check connects and closes without a byte: nothing above debug."""
    before = service.log_size()
    for _ in range(5):
        s = connect(service.rpc_port)
        s.close()
    # sync point: a full call on a new connection, handled after the closes above; its own
    # log lines (if any) name its order or transaction id and are left out
    req = data.charge()
    rep = call_raw(service.rpc_port, charge_call(req, seqid=99))
    tx = rep.result.success.transaction_id
    assert service.health_status() == 200
    new = [line for line in service.log_since(before).splitlines()
           if LEVEL_ABOVE_DEBUG.search(line)
           and str(req["order_id"]) not in line and tx not in line]
    assert not new, "an empty connection left log lines above debug:\n" + "\n".join(new)


# ---- idle timeout ----

def test_idle_connection_closed(fresh_service):
    svc = fresh_service({"PAYMENT_SERVER_IDLE_TIMEOUT_SECONDS": "1"})
    with connect(svc.rpc_port) as s:
        t0 = time.monotonic()
        assert wait_closed(s, 15.0), "idle connection not closed within 15 s (timeout 1 s)"
        took = time.monotonic() - t0
        assert took >= 0.5, f"closed after {took:.2f}s, before the 1 s idle timeout"
    # a connection in use is answered, then closed once idle
    with connect(svc.rpc_port) as s:
        s.sendall(charge_call(data.charge(), seqid=5))
        assert decode_reply(read_frame(s)).seqid == 5
        assert wait_closed(s, 15.0)
    assert svc.health_status() == 200


# ---- Kitex golden vectors ----

def vector(name):
    path = os.path.join(env.KITEX_VECTORS, name)
    assert os.path.isdir(env.KITEX_VECTORS), f"Kitex vectors not found at {env.KITEX_VECTORS}"
    assert os.path.exists(path), f"missing Kitex vector {path}"
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def kitex_service(start_service):
    """A service on a database of its own: the vectors use order ids 1-3."""
    db = f"payment_kitex_{os.getpid()}_{int(time.time())}"
    s = start_service(database_name=db)
    yield s
    s.stop_and_check()


def test_kitex_framed_vectors(kitex_service):
    port = kitex_service.rpc_port
    replies = {}
    for case in (1, 2, 3):
        req = vector(f"kitex-server_framed_case{case}_request.bin")
        with connect(port) as s:
            s.sendall(req)
            raw = read_frame(s)
            rep = decode_reply(raw)
        assert rep.type == TMessageType.REPLY, (case, rep)
        assert rep.name == "Charge" and rep.seqid == 1, (case, rep)
        replies[case] = rep
    # case 1: payment_method "card" is not supported
    err = replies[1].result.err
    assert err is not None and err.code == 4004003, replies[1]
    assert replies[1].result.success is None
    # cases 2 and 3: valid requests for orders 2 and 3, the first time
    for case in (2, 3):
        res = replies[case].result
        assert res.err is None and res.success is not None, replies[case]
        assert UUID4.match(res.success.transaction_id), replies[case]
    # a replay of case 2: that order is paid now
    with connect(port) as s:
        s.sendall(vector("kitex-server_framed_case2_request.bin"))
        rep = decode_reply(read_frame(s))
    assert rep.result.err is not None and rep.result.err.code == 4005002, rep


def patch_request(req, order, card=None):
    """A Kitex request vector with a different order_id (and card number)."""
    old = next(b"\x0a\x00\x03" + struct.pack(">q", o) for o in (1, 2, 3)
               if b"\x0a\x00\x03" + struct.pack(">q", o) in req)
    out = req.replace(old, b"\x0a\x00\x03" + struct.pack(">q", order), 1)
    if card is not None:
        assert len(card) == 16
        out = out.replace(b"4111111111111111", card.encode(), 1)
    return out


def test_kitex_reply_bytes_match_kitex_layout(kitex_service):
    """Our replies have the exact layout of the Kitex server's (and Apache Thrift's):
    a success and a PaymentError, compared byte for byte after putting our transaction
    id / message into the captured response."""
    port = kitex_service.rpc_port
    req2 = vector("kitex-server_framed_case2_request.bin")
    # success: captured case 1 response with our transaction id in place of Kitex's
    with connect(port) as s:
        s.sendall(patch_request(req2, data.order_id()))
        ours = read_frame(s)
    tx = decode_reply(ours).result.success.transaction_id
    want = vector("kitex-server_framed_case1_response.bin")[4:]
    want = want.replace(b"00000000-0000-4000-8000-000000000001", tx.encode())
    assert ours == want, f"success reply\nours: {ours.hex()}\nwant: {want.hex()}"

    # PaymentError: captured case 2 response {4004001, "invalid card"}, our message
    with connect(port) as s:
        s.sendall(patch_request(req2, data.order_id(), card="4111111111111112"))
        ours = read_frame(s)
    err = decode_reply(ours).result.err
    assert err is not None and err.code == 4004001, decode_reply(ours)
    captured = vector("kitex-server_framed_case2_response.bin")[4:]
    msg = b"invalid card"
    prefix = captured[: captured.index(struct.pack(">i", 4004001))]
    want = (prefix + struct.pack(">i", err.code) + b"\x0b\x00\x02"
            + struct.pack(">i", len(err.message.encode())) + err.message.encode() + b"\x00\x00")
    assert captured == (prefix + struct.pack(">i", 4004001) + b"\x0b\x00\x02"
                        + struct.pack(">i", len(msg)) + msg + b"\x00\x00")
    assert ours == want, f"error reply\nours: {ours.hex()}\nwant: {want.hex()}"


def read_bare_message(sock, timeout=15.0):
    """One unframed (buffered) strict binary reply: reads until it decodes."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        try:
            return decode_reply(buf), buf
        except Exception:
            pass
        left = deadline - time.monotonic()
        assert left > 0, f"no complete buffered reply within {timeout}s: {buf.hex()}"
        sock.settimeout(left)
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {buf.hex()}"
        buf += chunk


def test_kitex_buffered_vectors(start_service):
    """Buffered (PurePayload) framing: case 1 (no side effect) and a patched case 2, whose
    reply must be the captured buffered case-1 layout."""
    svc = start_service(database_name=f"payment_kitexb_{os.getpid()}_{int(time.time())}")
    try:
        with connect(svc.rpc_port) as s:
            s.sendall(vector("kitex-server_buffered_case1_request.bin"))
            rep, _ = read_bare_message(s)
        assert rep.name == "Charge" and rep.seqid == 1 and rep.type == TMessageType.REPLY, rep
        assert rep.result.err is not None and rep.result.err.code == 4004003, rep

        req = patch_request(vector("kitex-server_buffered_case2_request.bin"), data.order_id())
        with connect(svc.rpc_port) as s:
            s.sendall(req)
            rep, raw = read_bare_message(s)
        tx = rep.result.success.transaction_id
        want = vector("kitex-server_buffered_case1_response.bin").replace(
            b"00000000-0000-4000-8000-000000000001", tx.encode())
        assert raw == want, f"buffered reply\nours: {raw.hex()}\nwant: {want.hex()}"
    finally:
        svc.stop_and_check()


# ---- TTHeader (Kitex with ClientTTHeaderHandler) ----

TTHEADER_KINDS = ["ttheader", "ttheaderframed", "ttheaderunframed"]


def test_ttheader_parser_reads_the_captured_responses():
    """Self-test of support/ttheader.py on the Kitex server's own replies."""
    from support import ttheader
    for kind in TTHEADER_KINDS:
        for case in (1, 2, 3):
            h = ttheader.parse(vector(f"kitex-server_{kind}_case{case}_response.bin"))
            assert h.seqid == 1 and h.ints.get(22) == "2", h
            msg, framed = h.message()
            assert framed == (kind != "ttheaderunframed"), (kind, h)
            assert decode_reply(msg).seqid == 1
            if case == 3:
                assert h.strings == {"biz-status": "4005002", "biz-message": "order already paid"}


@pytest.mark.parametrize("kind", TTHEADER_KINDS)
def test_kitex_ttheader_vectors(kind, kitex_service):
    """Replays the TTHeader requests (order ids made unique): the reply is TTHeader with
    the request's seqid and framing, MsgType 2, and decodes; a repeated order also carries
    biz-status 4005002 and biz-message."""
    from support import ttheader
    port = kitex_service.rpc_port
    # case 1: payment_method "card" -> PaymentError 4004003
    with connect(port) as s:
        s.sendall(vector(f"kitex-server_{kind}_case1_request.bin"))
        h = ttheader.read(s)
    msg, framed = h.message()
    assert framed == (kind != "ttheaderunframed"), (kind, h)
    assert h.seqid == 1 and h.ints.get(22) == "2", h
    rep = decode_reply(msg)
    assert (rep.name, rep.seqid, rep.type) == ("Charge", 1, TMessageType.REPLY), rep
    assert rep.result.err is not None and rep.result.err.code == 4004003, rep
    assert h.strings.get("biz-status") == "4004003", h
    assert h.strings.get("biz-message"), h

    # case 2 with a fresh order: success, no biz keys
    req = patch_request(vector(f"kitex-server_{kind}_case2_request.bin"), data.order_id())
    with connect(port) as s:
        s.sendall(req)
        h = ttheader.read(s)
        msg, _ = h.message()
        rep = decode_reply(msg)
        assert rep.result.success is not None, (h, rep)
        assert UUID4.match(rep.result.success.transaction_id)
        assert "biz-status" not in h.strings, h
        # the same order again, on the same connection: 4005002 in payload and header
        s.sendall(req)
        h = ttheader.read(s)
    msg, _ = h.message()
    rep = decode_reply(msg)
    assert rep.seqid == 1 and rep.name == "Charge", rep
    assert h.strings.get("biz-status") == "4005002", h
    assert h.strings.get("biz-message"), h
    if rep.result.err is not None:
        assert rep.result.err.code == 4005002, rep
