"""server.rpc_allow (docs/CONTRACT.md, "Connection limits"): the RPC port takes peers from
the listed networks only. The service listens on 127.0.0.1; clients bind other loopback
addresses (127.0.0.2, 127.0.0.3, ...: the whole of 127/8 is local on Linux) as their source.
A refused peer is closed at accept with nothing read or sent, and counted; the HTTP port is
not affected; a bad CIDR stops start-up with exit 2; the Kitex client works unchanged with
the default (empty) list and with a list that names its address."""

import json
import socket
import subprocess

import pytest

from support import data, env
from support.metrics import scrape, value
from support.rpc import assert_closed_without_reply, charge_call, decode_reply, read_frame
from support.service import Service, poll

# 127.0.0.2 alone, and 127.0.0.4 to 127.0.0.7.
ALLOW = "127.0.0.2/32, 127.0.0.4/30, ::1/128"
ALLOWED = ["127.0.0.2", "127.0.0.5", "127.0.0.7"]
REFUSED = ["127.0.0.1", "127.0.0.3", "127.0.0.8"]
SLACK = 10


@pytest.fixture(scope="module")
def allow_service(start_service):
    return start_service({"PAYMENT_SERVER_RPC_ALLOW": ALLOW})


def connect_from(source, port):
    """A connection to the service's RPC port from @source (a loopback address)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def refused(svc):
    return value(scrape(svc).raw, "payment_connections_refused_total", port="rpc",
                 reason="allowlist")


@pytest.mark.parametrize("source", ALLOWED)
def test_listed_peer_is_served(allow_service, source):
    with connect_from(source, allow_service.rpc_port) as s:
        s.sendall(charge_call(data.charge(), seqid=3))
        reply = decode_reply(read_frame(s))
    assert reply.seqid == 3 and reply.result.success is not None, reply


@pytest.mark.parametrize("source", REFUSED)
def test_unlisted_peer_is_closed_and_counted(allow_service, source):
    before = refused(allow_service)
    with connect_from(source, allow_service.rpc_port) as s:
        # A whole call already on its way: nothing of it is answered.
        try:
            s.sendall(charge_call(data.charge(), seqid=4))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert_closed_without_reply(s, timeout=SLACK)
    poll(lambda: refused(allow_service) == before + 1, SLACK, what="refusal counted")
    assert value(scrape(allow_service).raw, "payment_connections_refused_total", port="rpc",
                 reason="max_connections") == 0


def test_http_port_is_not_restricted(allow_service):
    """The list is the RPC port's: HTTP from an unlisted address is served (the scrapes
    above come from 127.0.0.1)."""
    text = scrape(allow_service).raw
    assert 'payment_connections_refused_total{port="rpc",reason="allowlist"}' in text
    assert 'payment_connections_refused_total{port="http",reason="allowlist"}' not in text


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "127.0.0.0/33", "127.0.0.2,,::1", "localhost"])
def test_bad_cidr_stops_start_up(binary, mariadb, redis, database, bad):
    s = Service(mariadb, redis, database, extra_env={"PAYMENT_SERVER_RPC_ALLOW": bad})
    s.rpc_port, s.http_port = 0, 0
    p = subprocess.run([env.BINARY, "--config", env.CONFIG], env=s.environment(),
                       capture_output=True, timeout=60, text=True)
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert "server.rpc_allow" in p.stderr and "is not a list of CIDRs" in p.stderr, p.stderr


def kitex_charge(client, svc):
    cmd = [client, "-addr", f"127.0.0.1:{svc.rpc_port}", "-transport", "framed",
           "-timeout", "15s", "-case", "charge", "-order", str(data.order_id())]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stderr.decode()}"
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def test_kitex_client_with_defaults(kitex_client, service):
    """No list (the default): the seed's Kitex client is served as before."""
    out = kitex_charge(kitex_client, service)
    assert out.get("ok") is True, out


def test_kitex_client_listed_and_unlisted(kitex_client, fresh_service):
    listed = fresh_service({"PAYMENT_SERVER_RPC_ALLOW": "10.0.0.0/8, 127.0.0.1/32"})
    out = kitex_charge(kitex_client, listed)
    assert out.get("ok") is True, out

    unlisted = fresh_service({"PAYMENT_SERVER_RPC_ALLOW": "127.0.0.2/32"})
    out = kitex_charge(kitex_client, unlisted)
    assert out.get("ok") is False and out.get("error_kind") != "payment_error", out
    assert refused(unlisted) >= 1
