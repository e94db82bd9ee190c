"""Consul registration against a real Consul agent: Consul 1.14.11 (scripts/build-consul)
in dev mode on loopback with private ports, checked through Consul's own HTTP API. The
registration is in the catalog; the HTTP and TCP checks pass as the agent runs them and go
critical when the service stops answering; SIGTERM deregisters; an agent restart (dev
mode forgets everything) is followed by a new registration. test_consul.py keeps the fake
agent for what a real one cannot show: the request content and an agent down at start."""

import os
import signal

import pytest

from support.consul_agent import ConsulAgent
from support.service import poll
from support.tlscerts import Certificates


def consul_env(agent):
    return {"PAYMENT_CONSUL_ADDRESS": agent.address,
            "PAYMENT_CONSUL_SYNC_INTERVAL_SECONDS": "1",
            "PAYMENT_CONSUL_CHECK_INTERVAL_SECONDS": "1"}


def service_id(svc):
    return f"payment-127.0.0.1-{svc.rpc_port}"


@pytest.fixture
def consul(tmp_path):
    a = ConsulAgent(str(tmp_path / "consul"))
    a.start()
    yield a
    a.stop()


def catalog_entry(agent, sid):
    entries = [e for e in agent.catalog("payment") if e["ServiceID"] == sid]
    return entries[0] if entries else None


def check_states(agent, sid):
    """{check type ("http"/"tcp"): status} of the agent's checks for @sid."""
    checks = agent.get("/v1/agent/checks")
    return {c["Type"]: c["Status"] for c in checks.values() if c.get("ServiceID") == sid}


def passing_ids(agent):
    return {s["ID"] for s in agent.passing("payment")}


def test_registration_in_catalog(fresh_service, consul):
    svc = fresh_service(consul_env(consul))
    sid = service_id(svc)
    entry = poll(lambda: catalog_entry(consul, sid), 30, what="catalog entry")
    assert entry["ServiceName"] == "payment"
    assert entry["ServiceAddress"] == "127.0.0.1"
    assert entry["ServicePort"] == svc.rpc_port
    assert {"thrift", "kitex"} <= set(entry["ServiceTags"]), entry["ServiceTags"]
    assert entry["ServiceMeta"]["http_port"] == str(svc.http_port)
    assert entry["ServiceMeta"]["version"]
    # the agent accepted both checks as we defined them
    checks = {c["Type"]: c for c in consul.get("/v1/agent/checks").values()
              if c.get("ServiceID") == sid}
    assert set(checks) == {"http", "tcp"}, checks
    assert checks["http"]["Interval"] == "1s" and checks["tcp"]["Interval"] == "1s"
    agent_services = consul.get("/v1/agent/services")
    assert agent_services[sid]["Port"] == svc.rpc_port


def test_checks_pass_then_go_critical_when_the_service_stops_answering(fresh_service, consul):
    svc = fresh_service(consul_env(consul))
    sid = service_id(svc)
    poll(lambda: check_states(consul, sid) == {"http": "passing", "tcp": "passing"}, 30,
         what="both checks passing")
    # The health API reads the catalog, which the agent updates from its own state.
    poll(lambda: sid in passing_ids(consul), 30, what="instance in the passing list")

    # Frozen (SIGSTOP): the kernel still completes TCP handshakes on the listening socket,
    # but nothing answers HTTP, so the HTTP check times out and goes critical, and the
    # instance leaves the passing list that Kitex's resolver reads.
    svc.proc.send_signal(signal.SIGSTOP)
    try:
        poll(lambda: check_states(consul, sid).get("http") == "critical", 30,
             what="HTTP check critical")
        poll(lambda: sid not in passing_ids(consul), 30, what="instance out of the passing list")
    finally:
        svc.proc.send_signal(signal.SIGCONT)
    poll(lambda: check_states(consul, sid) == {"http": "passing", "tcp": "passing"}, 30,
         what="both checks passing again")
    poll(lambda: sid in passing_ids(consul), 30, what="instance back in the passing list")

    # Gone without a word (SIGKILL: no deregistration): both checks go critical.
    svc.kill()
    poll(lambda: check_states(consul, sid) == {"http": "critical", "tcp": "critical"}, 30,
         what="both checks critical")
    poll(lambda: sid not in passing_ids(consul), 30, what="instance out of the passing list")
    assert catalog_entry(consul, sid) is not None   # still registered, only unhealthy


def test_deregistration_on_sigterm(fresh_service, consul):
    svc = fresh_service(consul_env(consul))
    sid = service_id(svc)
    poll(lambda: sid in passing_ids(consul), 30, what="instance passing")
    svc.stop_and_check()
    # The service exits only after the agent answered its deregistration.
    assert sid not in consul.get("/v1/agent/services")
    poll(lambda: catalog_entry(consul, sid) is None, 30, what="catalog entry removed")
    assert check_states(consul, sid) == {}


def test_registers_again_after_the_agent_restarts(fresh_service, consul):
    svc = fresh_service(consul_env(consul))
    sid = service_id(svc)
    poll(lambda: sid in passing_ids(consul), 30, what="instance passing")
    consul.stop()
    consul.start()          # same ports; dev mode: the new agent knows no service
    poll(lambda: sid in passing_ids(consul), 30, what="instance registered and passing again")
    entry = catalog_entry(consul, sid)
    assert entry["ServicePort"] == svc.rpc_port
    assert svc.alive()


def test_https_check_passes_at_a_real_agent(fresh_service, consul, tmp_path):
    """With HTTPS on the HTTP port the agent runs the check over https with TLSSkipVerify
    (it is not given the test CA), and it passes."""
    certs = Certificates(str(tmp_path / "tls")).make()
    env = consul_env(consul)
    env.update(certs.service_env())
    svc = fresh_service(env, tls_ca=certs.ca)
    sid = service_id(svc)
    poll(lambda: check_states(consul, sid) == {"http": "passing", "tcp": "passing"}, 30,
         what="both checks passing")
    check = [c for c in consul.get("/v1/agent/checks").values()
             if c.get("ServiceID") == sid and c["Type"] == "http"][0]
    assert check["Output"].startswith(f"HTTP GET https://127.0.0.1:{svc.http_port}/health"), check
