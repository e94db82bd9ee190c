"""Every framing a Kitex client may send, on one port (issue 4): Apache Thrift's Python
clients with TBufferedTransport (buffered) and TFramedTransport (framed) interleaved; one
raw connection switching framings from call to call (framed, buffered, TTHeader with a
framed and a bare payload), also pipelined; a table of malformed TTHeader headers, each
closing the connection without a reply, the next call on a new connection succeeding;
buffered messages split into 1-byte writes; and messages over server.max_frame_bytes
refused in every framing."""

import socket
import struct
import threading
import time

import pytest
from thrift.protocol import TBinaryProtocol
from thrift.Thrift import TMessageType
from thrift.transport import TSocket, TTransport

from support import data, thriftgen, ttheader
from support.data import to_thrift
from support.rpc import assert_closed_without_reply as rpc_assert_closed_without_reply
from support.rpc import call_raw, charge_call, connect, encode_message, frame, recv_exact

CLOSE_TIMEOUT = 10.0
SMALL_LIMIT = 1024  # server.max_frame_bytes of the small-limit service


# ---- building requests ----

def charge_message(req=None, seqid=1, pad=0):
    """A bare strict-binary Charge CALL; @pad > 0 adds an unknown string field of @pad bytes
    to the args struct (skipped by the server), to make the message as large as needed."""
    service, ttypes = thriftgen.modules()
    args = service.Charge_args(req=to_thrift(ttypes, req or data.charge()))
    msg = encode_message("Charge", TMessageType.CALL, seqid, args)
    if pad:
        assert msg.endswith(b"\x00")
        msg = msg[:-1] + b"\x0b" + struct.pack(">hi", 99, pad) + b"x" * pad + b"\x00"
    return msg


def tt(message, seqid=7, flags=0, protocol_id=0, transforms=b"", info=b"",
       header_words=None, length_delta=0, payload="framed"):
    """A TTHeader request around @message; every field can be put out of range."""
    header = bytes([protocol_id, len(transforms)]) + transforms + info
    header += b"\x00" * (-len(header) % 4)
    if payload == "framed":
        body = frame(message)
    elif payload == "bare":
        body = message
    elif payload == "framed-longer":
        body = struct.pack(">I", len(message) + 1) + message
    elif payload == "framed-shorter":
        body = struct.pack(">I", len(message) - 1) + message
    elif payload == "compact":
        body = b"\x82\x21\x07\x06Charge\x00"
    elif payload == "none":
        body = b""
    else:
        raise ValueError(payload)
    words = len(header) // 4 if header_words is None else header_words
    rest = struct.pack(">HHiH", 0x1000, flags, seqid, words) + header + body
    return struct.pack(">I", len(rest) + length_delta) + rest


def strkeys(*pairs):
    out = b"\x01" + struct.pack(">H", len(pairs))
    for k, v in pairs:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


def intkeys(*pairs):
    out = b"\x10" + struct.pack(">H", len(pairs))
    for k, v in pairs:
        out += struct.pack(">HH", k, len(v)) + v
    return out


# ---- reading replies ----

class Reader:
    """Reads replies of any framing from one socket, keeping what it over-reads."""

    def __init__(self, sock, timeout=15.0):
        self.sock, self.timeout, self.buf = sock, timeout, b""

    def _more(self, deadline):
        left = deadline - time.monotonic()
        assert left > 0, f"no complete reply within {self.timeout}s: {self.buf[:64].hex()}"
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        assert chunk, f"connection closed after {self.buf[:64].hex()}"
        self.buf += chunk

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._more(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def framed(self):
        deadline = time.monotonic() + self.timeout
        (n,) = struct.unpack(">I", self._take(4, deadline))
        return decode(self._take(n, deadline))

    def ttheader(self):
        deadline = time.monotonic() + self.timeout
        head = self._take(4, deadline)
        (n,) = struct.unpack(">I", head)
        h = ttheader.parse(head + self._take(n, deadline))
        msg, inner_framed = h.message()
        return h, inner_framed, decode(msg)

    def bare(self):
        deadline = time.monotonic() + self.timeout
        while True:
            got = decode_prefix(self.buf)
            if got is not None:
                rep, used = got
                self.buf = self.buf[used:]
                return rep
            self._more(deadline)


def decode_prefix(buf):
    """(reply, bytes used) for the strict-binary Charge reply at the start of @buf, or None
    when @buf does not hold all of it yet."""
    service, _ = thriftgen.modules()
    mem = TTransport.TMemoryBuffer(buf)
    proto = TBinaryProtocol.TBinaryProtocol(mem, strictRead=True)
    try:
        name, mtype, seqid = proto.readMessageBegin()
        result = service.Charge_result()
        result.read(proto)
        proto.readMessageEnd()
    except Exception:  # short buffer: EOFError, struct.error, TTransportException
        return None
    return (name, mtype, seqid, result), mem._buffer.tell()


def decode(msg):
    got = decode_prefix(msg)
    assert got is not None and got[1] == len(msg), f"reply does not decode: {msg.hex()}"
    return got[0]


def assert_success(rep, seqid):
    name, mtype, got_seqid, result = rep
    assert (name, mtype, got_seqid) == ("Charge", TMessageType.REPLY, seqid), rep
    assert result.success is not None and result.success.transaction_id, rep


def assert_closed_without_reply(sock):
    rpc_assert_closed_without_reply(sock, CLOSE_TIMEOUT)


def assert_good_call(service, seqid=4242):
    rep = call_raw(service.rpc_port, charge_call(data.charge(), seqid=seqid))
    assert rep.seqid == seqid and rep.result.success is not None, rep
    assert service.alive()


def send_expect_close(port, payload):
    with connect(port) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # closed while we were still sending: refused all the same
        assert_closed_without_reply(s)


# ---- Apache Thrift clients: buffered and framed, interleaved ----

def thrift_client(port, kind):
    service, _ = thriftgen.modules()
    sock = TSocket.TSocket("127.0.0.1", port)
    sock.setTimeout(15000)
    trans = (TTransport.TBufferedTransport(sock) if kind == "buffered"
             else TTransport.TFramedTransport(sock))
    proto = TBinaryProtocol.TBinaryProtocol(trans, strictRead=True, strictWrite=True)
    trans.open()
    return service.Client(proto), trans


def charge_with(client, req):
    _, ttypes = thriftgen.modules()
    try:
        return ("ok", client.Charge(to_thrift(ttypes, req)).transaction_id)
    except ttypes.PaymentError as e:
        return ("error", e.code)


def test_buffered_and_framed_clients_interleaved(service):
    clients = {k: thrift_client(service.rpc_port, k) for k in ("buffered", "framed")}
    try:
        for i in range(6):
            for kind, (client, _) in clients.items():
                order = data.order_id()
                ok = charge_with(client, data.charge(order=order))
                assert ok[0] == "ok", (kind, i, ok)
                # the same order again on the other transport: 4005002, typed
                other = clients["framed" if kind == "buffered" else "buffered"][0]
                assert charge_with(other, data.charge(order=order)) == ("error", 4005002)
                bad = charge_with(client, data.charge(card="4111111111111112"))
                assert bad == ("error", 4004001), (kind, bad)
    finally:
        for _, trans in clients.values():
            trans.close()


def test_buffered_and_framed_clients_concurrently(service):
    errors = []

    def worker(kind):
        try:
            client, trans = thrift_client(service.rpc_port, kind)
            try:
                for _ in range(8):
                    res = charge_with(client, data.charge())
                    assert res[0] == "ok", (kind, res)
            finally:
                trans.close()
        except Exception as e:  # reported below
            errors.append(f"{kind}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,))
               for k in ("buffered", "framed", "buffered", "framed")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert not errors, errors


# ---- one connection, every framing ----

def test_every_framing_on_one_connection(service):
    with connect(service.rpc_port) as s:
        r = Reader(s)
        s.sendall(frame(charge_message(seqid=1)))
        assert_success(r.framed(), 1)
        s.sendall(charge_message(seqid=2))
        assert_success(r.bare(), 2)
        s.sendall(tt(charge_message(seqid=3), seqid=3, info=intkeys((22, b"1"))))
        h, inner_framed, rep = r.ttheader()
        assert inner_framed and h.seqid == 3 and h.ints.get(22) == "2", h
        assert_success(rep, 3)
        s.sendall(tt(charge_message(seqid=4), seqid=4, payload="bare",
                     info=strkeys((b"isn", b"PaymentService"))))
        h, inner_framed, rep = r.ttheader()
        assert not inner_framed and h.seqid == 4, h
        assert_success(rep, 4)
        s.sendall(charge_message(seqid=5))
        assert_success(r.bare(), 5)
        s.sendall(frame(charge_message(seqid=6)))
        assert_success(r.framed(), 6)


def test_every_framing_pipelined_in_one_write(service):
    order = data.order_id()
    stream = (frame(charge_message(data.charge(order=order), seqid=11))
              + charge_message(data.charge(order=order), seqid=12)
              + tt(charge_message(seqid=13), seqid=13)
              + tt(charge_message(seqid=14), seqid=14, payload="bare")
              + charge_message(seqid=15))
    with connect(service.rpc_port) as s:
        s.sendall(stream)
        r = Reader(s)
        assert_success(r.framed(), 11)
        name, _, seqid, result = r.bare()
        assert (name, seqid) == ("Charge", 12) and result.err.code == 4005002, result
        for seqid, want_framed in ((13, True), (14, False)):
            h, inner_framed, rep = r.ttheader()
            assert (h.seqid, inner_framed) == (seqid, want_framed), h
            assert_success(rep, seqid)
        assert_success(r.bare(), 15)


# ---- malformed TTHeader headers ----

def malformed_ttheaders():
    """(label, build(m)): @m is a good bare Charge call; only the header is wrong."""
    return [
        ("flags-streaming", lambda m: tt(m, flags=2)),
        ("flags-other", lambda m: tt(m, flags=0x8000)),
        ("header-size-0", lambda m: tt(m, header_words=0)),
        ("header-size-past-length", lambda m: tt(m, header_words=200)),
        ("header-size-max", lambda m: tt(m, header_words=0xFFFF)),
        ("protocol-compact", lambda m: tt(m, protocol_id=2)),
        ("protocol-other", lambda m: tt(m, protocol_id=0xFF)),
        ("transforms-1", lambda m: tt(m, transforms=b"\x01")),
        ("transforms-2", lambda m: tt(m, transforms=b"\x01\x02")),
        ("length-past-max-frame", lambda m: struct.pack(">I", 2 * 1024 * 1024) + tt(m)[4:]),
        ("length-4GiB", lambda m: b"\xff\xff\xff\xff" + tt(m)[4:]),
        ("length-too-small", lambda m: struct.pack(">I", 8) + tt(m)[4:12]),
        ("length-shorter-than-header",
         lambda m: tt(m, info=strkeys((b"k", b"v")), length_delta=-len(frame(m)) - 6)),
        ("info-unknown-id", lambda m: tt(m, info=b"\x02\x00\x00")),
        ("info-unknown-id-ff", lambda m: tt(m, info=b"\xff")),
        ("info-unknown-after-padding", lambda m: tt(m, info=b"\x00\x00\x20")),
        ("strings-count-cut", lambda m: tt(m, info=b"\x00\x01")),
        ("strings-count-half", lambda m: tt(m, info=b"\x00\x00\x00\x00\x01\x00")),
        ("strings-count-past-end", lambda m: tt(m, info=b"\x01\x00\x02\x00\x01k\x00\x01v")),
        ("strings-key-length-cut", lambda m: tt(m, info=b"\x00\x00\x01\x00\x01\x00")),
        ("strings-key-past-end", lambda m: tt(m, info=b"\x01\x00\x01\x00\x09k")),
        ("strings-value-length-cut",
         lambda m: tt(m, info=b"\x00\x00\x00\x01\x00\x01\x00\x01k\x00")),
        ("strings-value-past-end", lambda m: tt(m, info=b"\x01\x00\x01\x00\x01k\x00\x09v")),
        ("ints-count-cut", lambda m: tt(m, info=b"\x00\x10")),
        ("ints-count-past-end", lambda m: tt(m, info=b"\x10\x00\x03\x00\x16\x00\x011")),
        ("ints-key-cut", lambda m: tt(m, info=b"\x00\x00\x10\x00\x01\x00")),
        ("ints-value-length-cut",
         lambda m: tt(m, info=b"\x00\x00\x00\x00\x10\x00\x01\x00\x16\x00")),
        ("ints-value-past-end", lambda m: tt(m, info=b"\x10\x00\x01\x00\x16\x00\x081")),
        ("acl-length-cut", lambda m: tt(m, info=b"\x00\x11")),
        ("acl-past-end", lambda m: tt(m, info=b"\x11\x00\x09t")),
        ("payload-inner-length-longer", lambda m: tt(m, payload="framed-longer")),
        ("payload-inner-length-shorter", lambda m: tt(m, payload="framed-shorter")),
        ("payload-compact", lambda m: tt(m, payload="compact")),
        ("payload-none", lambda m: tt(m, payload="none")),
        # the old non-strict header (name length, name, type, seqid) in a bare payload
        ("payload-not-strict",
         lambda m: tt(struct.pack(">i", 6) + b"Charge\x01" + struct.pack(">i", 7) + m[18:],
                      payload="bare")),
        ("bad-magic", lambda m: tt(m)[:4] + b"\x20\x00" + tt(m)[6:]),
    ]


def test_malformed_table_is_complete():
    """The table covers every field of the header (a guard against a case going missing)."""
    names = {n for n, _ in malformed_ttheaders()}
    for prefix in ("flags", "header-size", "protocol", "transforms", "length", "info",
                   "strings", "ints", "acl", "payload", "bad-magic"):
        assert any(n.startswith(prefix) for n in names), prefix


def test_control_good_ttheader_is_answered(service):
    """The builder makes valid requests: without the fault, the same bytes are answered."""
    for payload in ("framed", "bare"):
        with connect(service.rpc_port) as s:
            s.sendall(tt(charge_message(seqid=7), info=strkeys((b"k", b"v"))
                         + intkeys((22, b"1")) + b"\x11\x00\x01t", payload=payload))
            _, inner_framed, rep = Reader(s).ttheader()
            assert inner_framed == (payload == "framed")
            assert_success(rep, 7)


@pytest.mark.parametrize("label,build", malformed_ttheaders(),
                         ids=[c[0] for c in malformed_ttheaders()])
def test_malformed_ttheader_closed_without_reply(label, build, service):
    send_expect_close(service.rpc_port, build(charge_message(seqid=7)))
    assert_good_call(service)


# ---- 1-byte writes ----

@pytest.mark.parametrize("kind", ["buffered", "ttheader-bare", "ttheader-framed", "framed"])
def test_one_byte_writes(kind, service):
    msg = charge_message(seqid=21)
    stream = {"buffered": msg, "framed": frame(msg),
              "ttheader-bare": tt(msg, seqid=21, payload="bare"),
              "ttheader-framed": tt(msg, seqid=21)}[kind]
    with connect(service.rpc_port) as s:
        for i in range(len(stream)):
            s.send(stream[i:i + 1])
        r = Reader(s)
        if kind == "buffered":
            rep = r.bare()
        elif kind == "framed":
            rep = r.framed()
        else:
            rep = r.ttheader()[2]
        assert_success(rep, 21)
        # and the connection goes on: two more calls, each in 1-byte writes
        for seqid in (22, 23):
            more = charge_message(seqid=seqid)
            for i in range(len(more)):
                s.send(more[i:i + 1])
            assert_success(r.bare(), seqid)


# ---- the size limit ----

@pytest.fixture(scope="module")
def small_service(start_service):
    s = start_service(extra_env={"PAYMENT_SERVER_MAX_FRAME_BYTES": str(SMALL_LIMIT)})
    yield s
    s.stop_and_check()


def test_buffered_under_limit_answered(small_service):
    msg = charge_message(seqid=31)
    msg = charge_message(seqid=31, pad=SMALL_LIMIT - len(msg) - 7)
    assert len(msg) == SMALL_LIMIT
    with connect(small_service.rpc_port) as s:
        s.sendall(msg)
        assert_success(Reader(s).bare(), 31)


@pytest.mark.parametrize("how", ["one-write", "1-byte-writes", "announced-only"])
def test_buffered_over_limit_refused(how, small_service):
    msg = charge_message(seqid=32)
    msg = charge_message(seqid=32, pad=SMALL_LIMIT - len(msg) - 6)
    assert len(msg) == SMALL_LIMIT + 1
    with connect(small_service.rpc_port) as s:
        if how == "one-write":
            s.sendall(msg)
        elif how == "1-byte-writes":
            try:
                for i in range(len(msg)):
                    s.send(msg[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            # a string announcing 1 MiB: refused once the limit's worth has arrived
            big = charge_message(seqid=32)[:-1] + b"\x0b" + struct.pack(">hi", 99, 1 << 20)
            s.sendall(big + b"x" * (SMALL_LIMIT + 16 - len(big)))
        assert_closed_without_reply(s)
    assert_good_call(small_service)


@pytest.mark.parametrize("kind", ["framed", "ttheader-framed", "ttheader-bare"])
def test_other_framings_over_limit_refused(kind, small_service):
    msg = charge_message(seqid=33, pad=SMALL_LIMIT)
    stream = {"framed": frame(msg), "ttheader-framed": tt(msg, seqid=33),
              "ttheader-bare": tt(msg, seqid=33, payload="bare")}[kind]
    send_expect_close(small_service.rpc_port, stream)
    assert_good_call(small_service)


def test_half_sent_buffered_waits(service):
    """A buffered message cut short is waited for (not refused), then answered."""
    msg = charge_message(seqid=41)
    with connect(service.rpc_port) as s:
        s.sendall(msg[:len(msg) // 2])
        assert_good_call(service)          # others are served meanwhile
        s.sendall(msg[len(msg) // 2:])
        assert_success(Reader(s).bare(), 41)


# ---- found by fuzzing ----

@pytest.mark.parametrize("container", [
    b"\x0d\x00\x09\xff\xff\x00\x00\x00\x00",   # map<0xff, 0xff>, 0 entries
    b"\x0f\x00\x09\x00\x00\x00\x00\x00",       # list<STOP>, 0 elements
], ids=["map-unknown-types", "list-stop-type"])
@pytest.mark.parametrize("method", ["Charge", "NoSuchMethod"])
def test_empty_container_with_bad_element_type(container, method, service):
    """An unknown element type in an EMPTY container (in an unknown field, which the
    generated reader skips) once passed our scan. For an unknown method Thrift C GLib's
    skip of the arguments then failed and set its GError twice: any client could make the
    service log a GLib programming-error warning (fatal under G_DEBUG=fatal-warnings);
    Charge happened to accept it. Found by fuzz-rpc. Now the scan says malformed: both get
    PROTOCOL_ERROR, no warning, and the connection stays usable."""
    from support.rpc import decode_reply, read_frame
    from thrift.Thrift import TApplicationException
    msg = charge_message(seqid=51)
    msg = msg[:-1] + container + b"\x00"
    msg = msg[:4] + struct.pack(">i", len(method)) + method.encode() + msg[14:]
    with connect(service.rpc_port) as s:
        s.sendall(frame(msg))
        rep = decode_reply(read_frame(s, timeout=CLOSE_TIMEOUT))
        assert (rep.name, rep.type, rep.seqid) == (method, TMessageType.EXCEPTION, 51), rep
        assert rep.app_error.type == TApplicationException.PROTOCOL_ERROR, rep
        s.sendall(frame(charge_message(seqid=52)))
        assert_success(Reader(s).framed(), 52)
    assert "GError set over the top" not in service.log_text()
