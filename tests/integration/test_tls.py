"""HTTPS on the HTTP port (docs/CONTRACT.md, "TLS"): with http.tls_cert_file and
http.tls_key_file the port speaks TLS 1.2 or later only. Certificates are made with the
openssl command at test time (support/tlscerts.py); curl and Python's ssl are the clients.
A charge and a query work over HTTPS; plain HTTP to the port gets no answer and charges
nothing; TLS 1.1 is refused (by the GnuTLS priority, and after the handshake when an
operator's priority lets it through); an expired certificate or a key that is not the
certificate's stops start-up with exit 2 and a message; a handshake must be over within
server.read_timeout_seconds; the connection cap counts connections still in their
handshake; the Consul HTTP check uses https.

Every wait polls for its condition with a bounded deadline."""

import os
import socket
import ssl
import struct
import subprocess
import threading
import warnings

import pytest

from support import data, env, httpapi
from support.env import devservers
from support.fake_consul import FakeConsul
from support.metrics import scrape, value
from support.rpc import assert_closed_without_reply, connect
from support.service import poll
from support.tlscerts import Certificates, tls11_context, tls11_outcome

READ_TIMEOUT = 2
MAX_CONNECTIONS = 3
SLACK = 10   # seconds past a deadline before a missing close fails the test


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(str(tmp_path_factory.mktemp("tls"))).make()


@pytest.fixture(scope="module")
def tls_service(start_service, certs):
    env_ = certs.service_env()
    env_["PAYMENT_SERVER_READ_TIMEOUT_SECONDS"] = str(READ_TIMEOUT)
    return start_service(env_, tls_ca=certs.ca)


@pytest.fixture(scope="module")
def capped_tls_service(start_service, certs):
    """The default read timeout (10 s): connections held silent stay in their handshake."""
    env_ = certs.service_env()
    env_["PAYMENT_SERVER_MAX_CONNECTIONS"] = str(MAX_CONNECTIONS)
    return start_service(env_, tls_ca=certs.ca)


def query(svc, transaction_id):
    return httpapi.request(svc.http_port, "GET",
                           f"/payment/query?transaction_id={transaction_id}", tls=svc.tls())


# ---- the handshake works, and so does the API over it ----------------------------------

def test_charge_and_query_over_https(tls_service):
    svc = tls_service
    req = data.charge(amount=42.5)
    res = httpapi.charge(svc.http_port, req, tls=svc.tls())
    assert res[0] == "ok", res
    r = query(svc, res[1])
    assert r.status == 200, r
    assert r.json["order_id"] == req["order_id"], r


def test_curl_over_https(tls_service, certs):
    url = f"https://127.0.0.1:{tls_service.http_port}/health"
    out = subprocess.run(["curl", "-sS", "--cacert", certs.ca, "-o", "/dev/null",
                          "-w", "%{http_code} %{ssl_verify_result}", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "200 0", out.stdout


def test_python_ssl_handshake_verifies(tls_service):
    """Python's ssl, verifying the chain and the name 127.0.0.1: TLS 1.2 and 1.3 both."""
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tls_service.tls()
        ctx.minimum_version = ctx.maximum_version = version
        r = httpapi.request(tls_service.http_port, "GET", "/health", tls=ctx)
        assert r.status == 200, (version, r)


# ---- plain HTTP to the TLS port ---------------------------------------------------------

def test_plain_http_refused(tls_service, mariadb, database):
    svc = tls_service
    req = data.charge()
    with pytest.raises((OSError, httpapi.http.client.HTTPException)):
        httpapi.charge(svc.http_port, req, timeout=SLACK)
    with connect(svc.http_port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        got = read_until_closed(sock)
    assert not got.startswith(b"HTTP/"), got
    rows = mariadb.query(f"SELECT COUNT(*) FROM payments WHERE order_id = {int(req['order_id'])}",
                         database)
    assert int(rows[0][0]) == 0, rows


def read_until_closed(sock):
    """What the peer sends until it closes (a TLS alert at most); fails if it stays open."""
    sock.settimeout(SLACK)
    got = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


# ---- TLS 1.1 ---------------------------------------------------------------------------

def serve_one_tls11(certs):
    """A Python TLS server that accepts TLS 1.1: shows the client above can speak it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.load_cert_chain(certs.cert, certs.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = listener.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
        listener.close()
    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_tls11_client_works_elsewhere(certs):
    port = serve_one_tls11(certs)
    with connect(port) as sock, tls11_context().wrap_socket(sock) as tls:
        assert tls.version() == "TLSv1.1"
        tls.sendall(b"x")


def test_tls11_refused(tls_service):
    assert tls11_outcome(tls_service.http_port) == "refused"


def test_tls11_closed_even_when_the_priority_allows_it(start_service, certs):
    """An operator's G_TLS_GNUTLS_PRIORITY that enables TLS 1.1: the handshake goes
    through, and the service closes the connection before libsoup reads a byte."""
    env_ = certs.service_env()
    env_["G_TLS_GNUTLS_PRIORITY"] = "NORMAL:+VERS-TLS1.1"
    svc = start_service(env_, tls_ca=certs.ca)
    assert tls11_outcome(svc.http_port) == "closed"
    poll(lambda: "older than TLS 1.2" in svc.log_text(), SLACK, what="the refusal logged")
    svc.stop_and_check()


# ---- certificates that must stop start-up -----------------------------------------------

def start_expecting_exit(cert, key):
    e = dict(os.environ)
    e.update({"PAYMENT_HTTP_TLS_CERT_FILE": cert, "PAYMENT_HTTP_TLS_KEY_FILE": key,
              "PAYMENT_SERVER_HTTP_PORT": "0", "PAYMENT_SERVER_RPC_PORT": "0",
              "PAYMENT_SERVER_HOST": "127.0.0.1", "PAYMENT_CONSUL_ADDRESS": ""})
    return subprocess.run([env.BINARY, "--config", env.CONFIG], env=e, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_expired_certificate_stops_startup(certs):
    out = start_expecting_exit(certs.expired_cert, certs.key)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert (f"http.tls_cert_file: the certificate in {certs.expired_cert} expired at "
            "2020-01-02T00:00:00Z") in out.stderr, out.stderr


def test_mismatched_key_stops_startup(certs):
    out = start_expecting_exit(certs.cert, certs.other_key)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert (f"http.tls_key_file: {certs.other_key} is not the private key of the "
            f"certificate in {certs.cert}") in out.stderr, out.stderr


def test_half_configured_tls_stops_startup(certs):
    out = start_expecting_exit(certs.cert, "")
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "only http.tls_cert_file is set" in out.stderr, out.stderr


# ---- deadlines and the cap hold during the handshake -----------------------------------

def read_timeouts(svc):
    return value(scrape(svc).raw, "payment_connection_timeouts_total", port="http",
                 timeout="read")


@pytest.mark.parametrize("sent", [b"", b"\x16\x03\x01"], ids=["nothing", "half-a-header"])
def test_silent_handshake_closed_at_read_timeout(tls_service, sent):
    """A client silent from the start, or after half a ClientHello's record header."""
    svc = tls_service
    before = read_timeouts(svc)
    with connect(svc.http_port) as sock:
        sock.sendall(sent)
        read_until_closed(sock)
    poll(lambda: read_timeouts(svc) >= before + 1, SLACK, what="the read timeout counted")
    poll(lambda: "TLS handshake not done" in svc.log_text(), SLACK, what="the timeout logged")


def refused(svc):
    return value(scrape(svc).raw, "payment_connections_refused_total", port="http",
                 reason="max_connections")


def test_cap_counts_handshaking_connections(capped_tls_service):
    """MAX_CONNECTIONS connections silent in their handshake fill the port: one more is
    refused at accept (counted), and HTTPS works again once they close."""
    svc = capped_tls_service
    before = refused(svc)
    held = [connect(svc.http_port) for _ in range(MAX_CONNECTIONS + 1)]
    try:
        for sock in held:
            sock.settimeout(0.05)
        # The one refused is closed at once; the others wait in their handshake.
        poll(lambda: any(closed_now(sock) for sock in held), SLACK,
             what="a connection past the cap closed")
    finally:
        for sock in held:
            sock.close()
    poll(lambda: https_health(svc) == 200, SLACK, what="HTTPS back after the cap")
    # At least the one; a probe above may have come before the held ones were released.
    assert refused(svc) >= before + 1


def closed_now(sock):
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def https_health(svc):
    try:
        return httpapi.request(svc.http_port, "GET", "/health", tls=svc.tls(), timeout=5).status
    except OSError:
        return None


# ---- Consul -----------------------------------------------------------------------------

def test_consul_check_uses_https(start_service, certs):
    agent = FakeConsul(devservers.free_port()).start()
    try:
        env_ = certs.service_env()
        env_.update({"PAYMENT_CONSUL_ADDRESS": agent.address,
                     "PAYMENT_CONSUL_SYNC_INTERVAL_SECONDS": "1",
                     "PAYMENT_CONSUL_CHECK_INTERVAL_SECONDS": "1"})
        svc = start_service(env_, tls_ca=certs.ca)
        sid = f"payment-127.0.0.1-{svc.rpc_port}"
        poll(lambda: agent.service(sid), 15, what="registration")
        assert not agent.problems, agent.problems
        check = [c for c in agent.service(sid)["Checks"] if "HTTP" in c][0]
        assert check["HTTP"] == f"https://127.0.0.1:{svc.http_port}/health", check
        assert check["TLSSkipVerify"] is True, check
        poll(lambda: agent.passing_checks(sid), 15, what="the agent's HTTPS check passing")
        svc.stop_and_check()
    finally:
        agent.stop()


# ---- connections the client closes are released ------------------------------------------

def open_connections(svc):
    return value(scrape(svc).raw, "payment_http_connections")


def test_connections_closed_without_close_notify_released(tls_service):
    """Clients that close without a TLS close_notify (Python's http.client, most HTTP
    clients): each connection is released, not kept by libsoup until the service stops
    (a TLS connection holds megabytes: the trust list GnuTLS copies into it)."""
    svc = tls_service
    for _ in range(5):
        c = httpapi.connection(svc.http_port, SLACK, svc.tls())
        c.request("GET", "/health")
        c.getresponse().read()
        c.close()
    # The scrape's own connection is the one left.
    poll(lambda: open_connections(svc) == 1, SLACK, what="the closed connections released")


def test_connection_reset_by_client_released(tls_service):
    """A client that resets the connection after its answer: the read error is the end of
    the stream, and the connection is released."""
    svc = tls_service
    for _ in range(5):
        with connect(svc.http_port) as sock:
            tls = svc.tls().wrap_socket(sock, server_hostname="127.0.0.1")
            tls.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            tls.recv(65536)
            # Linger 0: the close sends a reset (RST), no close_notify, no FIN.
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            tls.close()
    poll(lambda: open_connections(svc) == 1, SLACK, what="the reset connections released")


def rss_kib(svc):
    with open(f"/proc/{svc.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


OPEN_CONNECTIONS = 50
PER_CONNECTION_KIB = 512   # measured: about 33 KiB; 3,800 KiB with the system's CA list


def test_open_connection_memory(tls_service):
    """An open HTTPS connection costs tens of KiB, not the megabytes of a copy of the
    system's CA list (a server that asks no client certificate needs no CA database)."""
    svc = tls_service
    before = rss_kib(svc)
    held = []
    try:
        for _ in range(OPEN_CONNECTIONS):
            c = httpapi.connection(svc.http_port, SLACK, svc.tls())
            c.request("GET", "/health")
            c.getresponse().read()
            held.append(c)
        grown = rss_kib(svc) - before
    finally:
        for c in held:
            c.close()
    assert grown < OPEN_CONNECTIONS * PER_CONNECTION_KIB, \
        f"{grown} KiB more with {OPEN_CONNECTIONS} connections open"


def threads(svc):
    with open(f"/proc/{svc.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


SILENT = 30


def test_silent_connections_hold_no_thread(tls_service):
    """GIO runs each handshake in a worker thread that blocks reading the socket: started
    at once, every silent connection held one until its deadline (and GIO's pool grows by
    one thread per 100 ms past 10, so the handshakes of others waited). It starts once
    the first byte is in."""
    svc = tls_service
    before = threads(svc)
    held = [connect(svc.http_port) for _ in range(SILENT)]
    try:
        # Accepted after the silent ones: when it is answered, they were all accepted.
        assert https_health(svc) == 200
        grown = threads(svc) - before
    finally:
        for sock in held:
            sock.close()
    assert grown <= 2, f"{grown} more threads with {SILENT} silent connections"
