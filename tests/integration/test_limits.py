"""Deadlines and caps on both ports (docs/CONTRACT.md, "Connection limits"): a request must
arrive whole within server.read_timeout_seconds of its first byte, however slowly its bytes
come; an idle HTTP connection closes after server.http_idle_timeout_seconds; each port holds
at most server.max_connections, and refuses (closes at once, counted) the ones past it.

Every wait below polls for its condition with a bounded deadline; the sleeps only space
out the bytes a slow client sends."""

import contextlib
import http.client
import json
import select
import socket
import struct
import time

import pytest

from support import data, httpapi
from support.metrics import scrape, value
from support.rpc import (assert_closed_without_reply, charge_call, connect, decode_reply,
                         read_frame, wait_closed)
from support.service import poll

READ_TIMEOUT = 2
HTTP_IDLE_TIMEOUT = 2
MAX_CONNECTIONS = 3
# How long past a deadline a close may take before the test calls it missing: generous,
# for loaded machines and sanitized builds.
SLACK = 10
# One byte every TRICKLE seconds: each byte resets an idle timer.
TRICKLE = 0.2


@pytest.fixture(scope="module")
def timeouts_service(start_service):
    return start_service({
        "PAYMENT_SERVER_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "PAYMENT_SERVER_HTTP_IDLE_TIMEOUT_SECONDS": str(HTTP_IDLE_TIMEOUT),
    })


@pytest.fixture(scope="module")
def capped_service(start_service):
    return start_service({"PAYMENT_SERVER_MAX_CONNECTIONS": str(MAX_CONNECTIONS)})


def http_charge_bytes():
    body = json.dumps(data.charge()).encode()
    return (b"POST /payment/charge HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode(), body)


def trickle_until_closed(sock, payload, timeout):
    """Sends @payload one byte every TRICKLE seconds (then nothing) until the peer closes
    the connection: returns the bytes sent then, or None when @timeout passes first."""
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        try:
            if sent < len(payload):
                sock.send(payload[sent:sent + 1])
                sent += 1
            readable, _, _ = select.select([sock], [], [], TRICKLE)
            if readable and not sock.recv(65536):
                return sent
        except (BrokenPipeError, ConnectionResetError):
            return sent
    return None


def timeouts(svc, port, kind):
    return value(scrape(svc).raw, "payment_connection_timeouts_total", port=port, timeout=kind)


# ---- a message must arrive whole within read_timeout_seconds of its first byte ----------

@pytest.mark.parametrize("port", ["rpc", "http-headers", "http-body"])
def test_slow_sender_closed_after_read_timeout(timeouts_service, port):
    svc = timeouts_service
    before = timeouts(svc, port.split("-")[0], "read")
    if port == "rpc":
        sock = connect(svc.rpc_port)
        payload = charge_call(data.charge())
    else:
        sock = connect(svc.http_port)
        headers, body = http_charge_bytes()
        if port == "http-body":
            sock.sendall(headers)
            payload = body
        else:
            payload = headers + body
    with sock:
        sent = trickle_until_closed(sock, payload, READ_TIMEOUT + SLACK)
    assert sent is not None, (
        f"a {port} client sending one byte every {TRICKLE}s was not closed within "
        f"{READ_TIMEOUT + SLACK}s (read_timeout_seconds={READ_TIMEOUT})")
    assert sent < len(payload), "the whole request went out before the close"
    assert timeouts(svc, port.split("-")[0], "read") == before + 1


def test_rpc_slow_but_within_deadline(timeouts_service):
    """Each message arrives in pieces, well within the deadline, on a connection that lives
    longer than the deadline: every one is answered."""
    with connect(timeouts_service.rpc_port) as sock:
        for i in range(3):
            call = charge_call(data.charge(), seqid=i + 1)
            sock.sendall(call[:7])
            time.sleep(0.4)
            sock.sendall(call[7:30])
            time.sleep(0.4)
            sock.sendall(call[30:])
            reply = decode_reply(read_frame(sock))
            assert reply.seqid == i + 1 and reply.result.success is not None, reply
            time.sleep(0.4)


def test_http_slow_but_within_deadline(timeouts_service):
    with connect(timeouts_service.http_port) as sock:
        for _ in range(3):
            headers, body = http_charge_bytes()
            request = headers + body
            sock.sendall(request[:5])
            time.sleep(0.4)
            sock.sendall(request[5:len(headers) + 3])
            time.sleep(0.4)
            sock.sendall(request[len(headers) + 3:])
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200, response.read()
            assert b"transaction_id" in response.read()
            time.sleep(0.4)


# ---- idle HTTP connections close after http_idle_timeout_seconds -----------------------

def test_http_idle_keepalive_closed(timeouts_service):
    svc = timeouts_service
    before = timeouts(svc, "http", "idle")
    c = http.client.HTTPConnection("127.0.0.1", svc.http_port, timeout=15)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    assert r.status == 200 and not r.will_close
    assert wait_closed(c.sock, HTTP_IDLE_TIMEOUT + SLACK), (
        f"idle keep-alive connection still open {HTTP_IDLE_TIMEOUT + SLACK}s after its "
        f"response (http_idle_timeout_seconds={HTTP_IDLE_TIMEOUT})")
    c.close()
    assert timeouts(svc, "http", "idle") == before + 1


def test_http_silent_connection_closed(timeouts_service):
    """A connection that never sends a byte is idle too."""
    with connect(timeouts_service.http_port) as sock:
        assert wait_closed(sock, HTTP_IDLE_TIMEOUT + SLACK), (
            f"silent HTTP connection still open after {HTTP_IDLE_TIMEOUT + SLACK}s")


def http_connections(svc):
    """payment_http_connections, the scrape's own included; None while the port refuses
    the scrape (the connections closed just before are not released yet)."""
    try:
        return value(scrape(svc).raw, "payment_http_connections")
    except OSError:
        return None


def settle(svc):
    """Waits until the HTTP connections of earlier tests are released."""
    poll(lambda: http_connections(svc) == 1, SLACK, what="earlier HTTP connections released")


def test_http_connection_closed_by_client_released(capped_service):
    """libsoup 3.2.3 never closed a kept-alive connection its client closed between two
    requests: it stayed in CLOSE-WAIT, holding its descriptor, for good."""
    svc = capped_service
    settle(svc)
    for _ in range(MAX_CONNECTIONS - 1):
        c = http.client.HTTPConnection("127.0.0.1", svc.http_port, timeout=15)
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        assert not r.will_close
        c.close()
    # The scrape's own connection is the one left (the idle timeout is the default 60 s).
    settle(svc)


def test_http_connection_reset_by_client_released(capped_service):
    """A client that resets its kept-alive connection (SO_LINGER 0) after an answer: the
    read fails rather than ending, and libsoup 3.2.3 kept such a connection just the same."""
    svc = capped_service
    settle(svc)
    for _ in range(MAX_CONNECTIONS - 1):
        with connect(svc.http_port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    settle(svc)


# ---- each port holds at most max_connections -------------------------------------------

def refused(svc, port):
    """payment_connections_refused_total of @port; None while the scrape is refused."""
    try:
        return value(scrape(svc).raw, "payment_connections_refused_total", port=port,
                     reason="max_connections")
    except OSError:
        return None


@contextlib.contextmanager
def held_connections(port):
    """MAX_CONNECTIONS connections to @port, in a list; those left in it close at the end."""
    held = [connect(port) for _ in range(MAX_CONNECTIONS)]
    try:
        yield held
    finally:
        for sock in held:
            sock.close()


def test_rpc_max_connections(capped_service):
    svc = capped_service
    settle(svc)
    before = refused(svc, "rpc")
    with held_connections(svc.rpc_port) as held:
        poll(lambda: value(scrape(svc).raw, "payment_rpc_connections") == MAX_CONNECTIONS,
             SLACK, what=f"{MAX_CONNECTIONS} RPC connections open")
        with connect(svc.rpc_port) as extra:
            assert_closed_without_reply(extra, timeout=SLACK)
        assert refused(svc, "rpc") == before + 1
        # The held ones still work.
        for i, sock in enumerate(held):
            sock.sendall(charge_call(data.charge(), seqid=i + 1))
            assert decode_reply(read_frame(sock)).seqid == i + 1
        held.pop().close()
        poll(lambda: value(scrape(svc).raw, "payment_rpc_connections") == MAX_CONNECTIONS - 1,
             SLACK, what="the closed connection forgotten")
        with connect(svc.rpc_port) as again:
            again.sendall(charge_call(data.charge(), seqid=7))
            assert decode_reply(read_frame(again)).seqid == 7


def http_get_health(sock):
    """GET /health on a kept-alive raw connection: the status, or None if it closed."""
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None


def test_http_max_connections(capped_service):
    svc = capped_service
    settle(svc)
    before = refused(svc, "http")
    with held_connections(svc.http_port) as held:
        for sock in held:
            assert http_get_health(sock) == 200
        with connect(svc.http_port) as extra:
            assert_closed_without_reply(extra, timeout=SLACK)
        for sock in held:
            assert http_get_health(sock) == 200
        held.pop().close()

        def accepted():
            with connect(svc.http_port) as sock:
                return http_get_health(sock) == 200
        poll(accepted, SLACK, what="a new HTTP connection accepted after one closed")
        # Room for the scrape's own connection.
        held.pop().close()
        poll(lambda: (refused(svc, "http") or 0) >= before + 1, SLACK, what="refusal counted")


def test_gauges(capped_service):
    settle(capped_service)
    text = scrape(capped_service).raw
    for name in ("payment_rpc_connections", "payment_http_connections"):
        assert f"\n# TYPE {name} gauge\n" in text, name
    assert value(text, "payment_http_connections") >= 1   # the scrape's own
    for port in ("rpc", "http"):
        assert (f'payment_connections_refused_total{{port="{port}",reason="max_connections"}}'
                in text)


def open_files_limit(pid):
    """(soft, hard) RLIMIT_NOFILE of process @pid, from /proc."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError(f"no open files limit for {pid}")


def test_descriptor_limit_raised_to_hard(start_service):
    """Both ports share the process's descriptors: a soft limit below the hard one is
    raised at start (started under prlimit with soft 256, hard 8192)."""
    svc = start_service(wrapper=["prlimit", "--nofile=256:8192", "--"])
    assert open_files_limit(svc.proc.pid) == (8192, 8192)


def test_descriptor_limit_too_low_is_logged(start_service):
    """A hard limit too low for server.max_connections on both ports is logged at start
    (the service still runs: a smaller deployment may want that)."""
    svc = start_service(wrapper=["prlimit", "--nofile=256:256", "--"])
    assert open_files_limit(svc.proc.pid) == (256, 256)
    with open(svc.log_path, errors="replace") as f:
        log = f.read()
    assert "RLIMIT_NOFILE is 256 descriptors; server.max_connections = 4096" in log, log[-2000:]
