"""Consul registration against the fake agent (support/fake_consul.py): the content of the
registration as Consul's agent API documents it, the agent's HTTP check passing, an agent
that is down at start and comes up later, an agent restart that forgot the service, the
deregistration on SIGTERM, and the ACL token. The same behaviour against a real agent is
test_consul_agent.py; the fake stays for what a real agent cannot show (each request's
content, an agent down at start, a token refused)."""

import subprocess

import pytest

from support import data, env, httpapi
from support.env import devservers
from support.fake_consul import FakeConsul
from support.service import Service, poll

SYNC = "1"   # consul.sync_interval_seconds: fast polling and a 1 s backoff cap for tests


def consul_env(agent, **extra):
    env = {"PAYMENT_CONSUL_ADDRESS": agent.address if isinstance(agent, FakeConsul) else agent,
           "PAYMENT_CONSUL_SYNC_INTERVAL_SECONDS": SYNC,
           "PAYMENT_CONSUL_CHECK_INTERVAL_SECONDS": "1"}
    env.update(extra)
    return env


def health(svc):
    r = httpapi.request(svc.http_port, "GET", "/health")
    return r.status, r.json


def metric(svc, name):
    text = httpapi.request(svc.http_port, "GET", "/metrics").raw
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def service_id(svc):
    return f"payment-127.0.0.1-{svc.rpc_port}"


@pytest.fixture
def agent():
    a = FakeConsul(devservers.free_port()).start()
    yield a
    a.stop()


def test_registration_content(fresh_service, agent):
    svc = fresh_service(consul_env(agent))
    sid = service_id(svc)
    poll(lambda: agent.service(sid), 15, what="registration")
    assert not agent.problems, agent.problems

    reg = agent.registrations()[0]
    body = reg.body
    assert reg.token is None, "a token was sent though none is configured"
    assert reg.headers.get("Content-Type", "").startswith("application/json")
    assert body["Name"] == "payment"
    assert body["ID"] == sid
    assert body["Address"] == "127.0.0.1"
    assert body["Port"] == svc.rpc_port
    assert isinstance(body["Tags"], list) and body["Tags"]
    assert body["Meta"] == {"http_port": str(svc.http_port), "version": body["Meta"]["version"]}
    assert body["Meta"]["version"]
    checks = body["Checks"]
    http_checks = [c for c in checks if "HTTP" in c]
    tcp_checks = [c for c in checks if "TCP" in c]
    assert len(http_checks) == 1 and len(tcp_checks) == 1, checks
    assert http_checks[0]["HTTP"] == f"http://127.0.0.1:{svc.http_port}/health"
    assert tcp_checks[0]["TCP"] == f"127.0.0.1:{svc.rpc_port}"
    for c in checks:
        assert c["Interval"] == "1s" and c["Timeout"] == "1s", c
        assert c["DeregisterCriticalServiceAfter"] == "60s", c

    # the agent's HTTP check (run by the fake) passes; /health and /metrics say registered
    poll(lambda: agent.passing_checks(sid), 15, what="a passing HTTP check")
    status, h = health(svc)
    assert status == 200 and h["consul"] == "registered", h
    assert metric(svc, "payment_consul_registered") == 1
    assert metric(svc, "payment_consul_enabled") == 1

    # the registration is checked periodically with GET /v1/agent/service/<id>
    poll(lambda: agent.requests_to("GET", f"/v1/agent/service/{sid}"), 15,
         what="a registration check")
    assert len(agent.registrations()) == 1, "registered again though the agent knew us"


def test_disabled_without_address(service):
    status, h = health(service)
    assert status == 200 and h["consul"] == "disabled", h
    assert metric(service, "payment_consul_enabled") == 0


def test_agent_down_at_start_then_up(fresh_service):
    port = devservers.free_port()
    agent = FakeConsul(port)
    svc = fresh_service(consul_env(agent))
    # serving without Consul
    res = httpapi.charge(svc.http_port, data.charge())
    assert res[0] == "ok", res
    status, h = health(svc)
    assert status == 200 and h["consul"] == "unregistered", h
    agent.start()
    try:
        poll(lambda: agent.service(service_id(svc)), 20, what="registration after the agent came up")
        poll(lambda: health(svc)[1]["consul"] == "registered", 10, what="/health registered")
        assert not agent.problems, agent.problems
    finally:
        agent.stop()


def test_agent_restart_forgets_then_reregistered(fresh_service, agent):
    svc = fresh_service(consul_env(agent))
    sid = service_id(svc)
    poll(lambda: agent.service(sid), 15, what="registration")
    agent.stop(forget=True)
    # while the agent is away the service keeps serving
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"
    before = len(agent.registrations())
    agent.start()
    poll(lambda: agent.service(sid), 20, what="re-registration after the agent restart")
    assert len(agent.registrations()) > before
    assert not agent.problems, agent.problems


def test_sigterm_deregisters(fresh_service, agent):
    svc = fresh_service(consul_env(agent))
    sid = service_id(svc)
    poll(lambda: agent.service(sid), 15, what="registration")
    svc.stop_and_check()
    dereg = agent.requests_to("PUT", "/v1/agent/service/deregister/")
    assert [r.path for r in dereg] == [f"/v1/agent/service/deregister/{sid}"], dereg
    assert agent.service(sid) is None
    assert "deregistered" in svc.log_text()
    assert not agent.problems, agent.problems


def test_token_sent_when_configured(fresh_service):
    agent = FakeConsul(devservers.free_port(), token="s3cr3t-acl-token").start()
    try:
        svc = fresh_service(consul_env(agent, PAYMENT_CONSUL_TOKEN="s3cr3t-acl-token"))
        sid = service_id(svc)
        poll(lambda: agent.service(sid), 15, what="registration with a token")
        poll(lambda: agent.requests_to("GET", f"/v1/agent/service/{sid}"), 15,
             what="a registration check")
        svc.stop_and_check()
        assert agent.requests, "no request reached the agent"
        assert all(r.token == "s3cr3t-acl-token" for r in agent.requests), \
            [(r, r.token) for r in agent.requests]
        assert agent.service(sid) is None, "not deregistered with the token"
        assert "s3cr3t-acl-token" not in svc.log_text(), "the ACL token was logged"
    finally:
        agent.stop()


def test_wrong_token_is_retried_not_fatal(fresh_service):
    agent = FakeConsul(devservers.free_port(), token="right").start()
    try:
        svc = fresh_service(consul_env(agent, PAYMENT_CONSUL_TOKEN="wrong"))
        poll(lambda: len(agent.registrations()) >= 2, 15, what="registration retries")
        status, h = health(svc)
        assert status == 200 and h["consul"] == "unregistered", h
    finally:
        agent.stop()


def test_bad_address_stops_start_up(binary, mariadb, redis, database):
    s = Service(mariadb, redis, database, extra_env={"PAYMENT_CONSUL_ADDRESS": "ftp://x:1"})
    s.rpc_port, s.http_port = 0, 0
    e = s.environment()
    p = subprocess.run([env.BINARY, "--config", env.CONFIG], env=e, capture_output=True,
                       timeout=60, text=True)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    assert "consul.address" in p.stderr, p.stderr[-2000:]
