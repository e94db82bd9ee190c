"""Thrift RPC helpers: a real client (TSocket + TFramedTransport + strict TBinaryProtocol),
and raw-socket helpers to send hand-made bytes and decode replies by hand."""

import socket
import struct
import time

from thrift.protocol import TBinaryProtocol
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport import TSocket, TTransport

from . import thriftgen

VERSION_1 = 0x80010000


class RpcClient:
    """A connected PaymentService client; close() or use as a context manager."""

    def __init__(self, port, timeout=15.0, host="127.0.0.1"):
        service, _ = thriftgen.modules()
        self.socket = TSocket.TSocket(host, port)
        self.socket.setTimeout(int(timeout * 1000))
        self.transport = TTransport.TFramedTransport(self.socket)
        self.protocol = TBinaryProtocol.TBinaryProtocol(self.transport, strictRead=True,
                                                        strictWrite=True)
        self.client = service.Client(self.protocol)
        self.transport.open()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    def charge(self, req_dict):
        """Charge with a dict from data.charge(). Returns ("ok", transaction_id) or
        ("error", code, message) for a PaymentError; other exceptions propagate."""
        _, ttypes = thriftgen.modules()
        from .data import to_thrift
        try:
            resp = self.client.Charge(to_thrift(ttypes, req_dict))
            return ("ok", resp.transaction_id)
        except ttypes.PaymentError as e:
            return ("error", e.code, e.message)

    def charge_struct(self, req):
        _, ttypes = thriftgen.modules()
        try:
            return ("ok", self.client.Charge(req).transaction_id)
        except ttypes.PaymentError as e:
            return ("error", e.code, e.message)


# ---- encoding by hand ----

def encode_message(name, msg_type, seqid, args=None, strict=True):
    """A binary-protocol message (no framing): header, then @args (a struct with write())
    or an empty struct."""
    buf = TTransport.TMemoryBuffer()
    proto = TBinaryProtocol.TBinaryProtocol(buf, strictWrite=strict)
    proto.writeMessageBegin(name, msg_type, seqid)
    if args is not None:
        args.write(proto)
    else:
        proto.writeStructBegin("args")
        proto.writeFieldStop()
        proto.writeStructEnd()
    proto.writeMessageEnd()
    return buf.getvalue()


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def charge_call(req_dict, seqid=1, name="Charge"):
    """A whole framed Charge call for the dict from data.charge()."""
    service, ttypes = thriftgen.modules()
    from .data import to_thrift
    args = service.Charge_args(req=to_thrift(ttypes, req_dict))
    return frame(encode_message(name, TMessageType.CALL, seqid, args))


# ---- raw sockets ----

def connect(port, timeout=15.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n, deadline):
    """Reads exactly @n bytes before @deadline (monotonic); raises EOFError on close,
    TimeoutError on the deadline."""
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"got {len(out)} of {n} bytes")
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(out))
        except socket.timeout:
            raise TimeoutError(f"got {len(out)} of {n} bytes")
        if not chunk:
            raise EOFError(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def read_frame(sock, timeout=15.0, max_len=16 * 1024 * 1024):
    """One framed message (without its length word)."""
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack(">I", recv_exact(sock, 4, deadline))
    assert 0 < n <= max_len, f"reply frame length {n}"
    return recv_exact(sock, n, deadline)


def wait_closed(sock, timeout):
    """True when the peer closes (EOF or reset) within @timeout; bytes received meanwhile
    are discarded. False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not chunk:
            return True


class Reply:
    """A decoded reply message: name, type, seqid, and either result (the generated
    *_result struct) or app_error (TApplicationException)."""

    def __init__(self, name, mtype, seqid, result=None, app_error=None):
        self.name, self.type, self.seqid = name, mtype, seqid
        self.result, self.app_error = result, app_error

    def __repr__(self):
        return (f"Reply(name={self.name!r}, type={self.type}, seqid={self.seqid}, "
                f"result={self.result!r}, app_error={self.app_error!r})")


def decode_reply(payload, result_cls=None):
    """Decodes a strict binary message. @result_cls defaults to Charge_result."""
    service, _ = thriftgen.modules()
    result_cls = result_cls or service.Charge_result
    buf = TTransport.TMemoryBuffer(payload)
    proto = TBinaryProtocol.TBinaryProtocol(buf, strictRead=True)
    (first,) = struct.unpack(">I", payload[:4])
    assert first & 0xFFFF0000 == VERSION_1, f"reply is not strict binary: {payload[:8].hex()}"
    name, mtype, seqid = proto.readMessageBegin()
    if mtype == TMessageType.EXCEPTION:
        x = TApplicationException()
        x.read(proto)
        proto.readMessageEnd()
        return Reply(name, mtype, seqid, app_error=x)
    result = result_cls()
    result.read(proto)
    proto.readMessageEnd()
    left = len(payload) - buf._buffer.tell()
    assert left == 0, f"{left} bytes after the reply message"
    return Reply(name, mtype, seqid, result=result)


def call_raw(port, data, timeout=15.0, result_cls=None):
    """Sends @data (whole framed bytes) on a new connection, reads one framed reply."""
    with connect(port, timeout) as s:
        s.sendall(data)
        return decode_reply(read_frame(s, timeout), result_cls)


def assert_closed_without_reply(sock, timeout=10.0):
    """The server closes the connection within @timeout seconds and sends nothing."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"connection not closed within {timeout}s (got {got[:64].hex()})"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        got += chunk
    assert got == b"", f"expected no reply, got {got[:64].hex()}"
