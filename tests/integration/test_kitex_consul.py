"""Kitex callers find the service through Consul (issue 13): the Kitex Go test client
(tests/kitex/, `-consul`) resolves the service with kitex-contrib/registry-consul v0.2.0
against a REAL Consul agent (support/consul_agent.py, 1.14.11 from scripts/build-consul)
in which payment-service instances register themselves.

- Two instances registered and passing: calls through the resolver reach both (each
  instance's own request counter), and every client case works through it.
- SIGTERM to one of two instances while a client makes calls: the calls go on through the
  survivor once the resolver has refreshed. The calls that failed in between are counted
  and explained (error kind and message, when relative to the SIGTERM and to the
  deregistration); each must be a connection-level error to the stopped instance, and the
  calls after the refresh must all succeed on the survivor. The figures are printed and
  written to $PAYMENT_BUILD_DIR/test-logs/kitex-consul-figures.txt.

What the resolver does (registry-consul v0.2.0 with Kitex v0.16.3, the defaults a caller
gets with client.WithResolver only): it asks /v1/health/service/<name>?passing=1, so only
instances whose checks all pass; the weight is the registration's Weights.Passing (Consul
sets 1 when the registration gives none, as ours does; Kitex drops weight <= 0); Kitex's
lbcache resolves once on the first call and refreshes every 5 s (RefreshInterval), the
weighted round-robin balancer picks; a dial that fails is retried on the next pick (up to
6 times), so a refused connection to a stopped instance does not fail the call.

Every wait is on a condition, with a bound; every loop is bounded; loopback only."""

import datetime
import json
import os
import re
import signal
import subprocess
import time

import pytest

from support import data, env, httpapi
from support.consul_agent import ConsulAgent
from support.env import devservers
from support.service import poll
from support.tablelock import metric_sum

SERVICE = "payment"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# netError() in tests/kitex/main.go: the kinds that are about the connection
CONNECTION_ERRORS = {"connect", "refused", "reset", "broken_pipe", "eof", "closed"}
STREAM_MAX_CALLS = 20000     # the client's own bound (-count); stdin EOF stops it first
STREAM_INTERVAL = "10ms"
MORE_CALLS = 20              # survivor's successful calls to see after the refresh
WAIT = 60                    # bound of every wait on a condition, seconds


@pytest.fixture(scope="module")
def agent(servers_dir):
    a = ConsulAgent(os.path.join(servers_dir, "consul-kitex"))
    a.start()
    yield a
    a.stop()


def consul_env(agent):
    return {"PAYMENT_CONSUL_ADDRESS": agent.address,
            "PAYMENT_CONSUL_ADVERTISE_ADDRESS": "127.0.0.1",
            "PAYMENT_CONSUL_CHECK_INTERVAL_SECONDS": "1",
            "PAYMENT_CONSUL_SYNC_INTERVAL_SECONDS": "1"}


def rpc_addr(svc):
    return f"127.0.0.1:{svc.rpc_port}"


def passing(agent):
    """{address: Weights} of the instances Consul reports with every check passing."""
    return {f"{s['Address']}:{s['Port']}": s.get("Weights") for s in agent.passing(SERVICE)}


def charges_ok(svc):
    """payment_requests_total{transport="rpc",method="Charge",code="0"} of @svc."""
    return int(metric_sum(svc, "payment_requests_total",
                          lambda line: 'transport="rpc"' in line and 'method="Charge"' in line
                          and 'code="0"' in line))


@pytest.fixture
def pair(agent, start_service, request):
    """Two instances registered in the agent and passing there (and no other); an
    indirect parameter sets consul.deregister_delay_seconds."""
    extra = consul_env(agent)
    extra["PAYMENT_CONSUL_DEREGISTER_DELAY_SECONDS"] = str(getattr(request, "param", 0))
    services = [start_service(extra_env=extra) for _ in range(2)]
    want = {rpc_addr(s) for s in services}
    poll(lambda: set(passing(agent)) == want, WAIT,
         what=f"Consul reporting exactly {sorted(want)} passing")
    yield services
    for s in services:
        if s.proc is not None:
            s.stop_and_check()
    poll(lambda: not passing(agent), WAIT, what="no instance left in Consul")


def kitex(client, agent, *args):
    """Runs the client through the resolver; returns its JSON result."""
    cmd = [client, "-consul", agent.address, "-service", SERVICE, "-timeout", "15s"] + [
        str(a) for a in args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stderr.decode()}"
    lines = [l for l in r.stdout.decode().splitlines() if l.strip()]
    assert len(lines) == 1, f"want one JSON line, got: {r.stdout!r}"
    return json.loads(lines[0])


def resolved(out):
    """Addresses of every successful resolve in a client result."""
    return [sorted(i["addr"] for i in ev["instances"]) for ev in out.get("resolves", [])
            if "instances" in ev]


def test_exactly_one_of_addr_and_consul(kitex_client, agent):
    for args in ([], ["-addr", "127.0.0.1:1", "-consul", agent.address],
                 ["-addr", "127.0.0.1:1", "-service", SERVICE], ["-consul", "no-port"]):
        r = subprocess.run([kitex_client, "-case", "charge"] + args, capture_output=True,
                           timeout=60)
        assert r.returncode == 2 and r.stdout == b"", (args, r)


# ---- two instances, both reached ----

def test_calls_reach_both_instances(kitex_client, agent, pair):
    a, b = pair
    weights = passing(agent)
    # the weight registry-consul hands Kitex: Weights.Passing, 1 (Consul's default)
    assert all(w and w.get("Passing") == 1 for w in weights.values()), weights
    before = {s.rpc_port: charges_ok(s) for s in pair}
    calls = 20
    out = kitex(kitex_client, agent, "-case", "pooled", "-count", calls,
                "-order", data.order_id(block=calls))
    assert (out.get("calls"), out.get("ok")) == (calls, calls), out
    assert len({r["transaction_id"] for r in out["results"]}) == calls, out
    assert resolved(out) and resolved(out)[0] == sorted([rpc_addr(a), rpc_addr(b)]), out
    after = {s.rpc_port: charges_ok(s) for s in pair}
    delta = {port: after[port] - before[port] for port in after}
    print(f"\nKitex calls through Consul: {calls}; per instance (rpc Charge code 0): {delta}")
    assert all(d > 0 for d in delta.values()), f"an instance got no call: {delta}"
    assert sum(delta.values()) == calls, f"counters {delta} do not add up to {calls} calls"


def test_only_instances_with_every_check_passing(kitex_client, agent, pair):
    """A third "payment" instance whose check is critical (a TTL check nobody passes, on
    a loopback port nobody listens on) is in the catalog but never handed to Kitex."""
    port = devservers.free_port()
    sid = f"payment-critical-{port}"
    status, _ = agent.request("PUT", "/v1/agent/service/register", {
        "ID": sid, "Name": SERVICE, "Address": "127.0.0.1", "Port": port,
        "Check": {"CheckID": f"{sid}-ttl", "TTL": "600s"}})
    assert status == 200, status
    try:
        assert agent.checks_of(sid) == {f"{sid}-ttl": "critical"}, agent.checks_of(sid)
        assert len(agent.catalog(SERVICE)) == 3, agent.catalog(SERVICE)
        out = kitex(kitex_client, agent, "-case", "pooled", "-count", 10,
                    "-order", data.order_id(block=10))
        assert (out.get("calls"), out.get("ok")) == (10, 10), out
        assert resolved(out) == [sorted(rpc_addr(s) for s in pair)], out["resolves"]
        assert out.get("dials") == 2, f"one dial per instance expected: {out}"
    finally:
        status, _ = agent.request("PUT", f"/v1/agent/service/deregister/{sid}")
        assert status == 200, status


def test_every_case_through_the_resolver(kitex_client, agent, pair):
    """charge, query, refund and flow with -consul, the two instances sharing one database;
    flow's seven calls on one client alternate between them (round robin), so what one
    instance wrote the other one reads."""
    order = data.order_id()
    charged = kitex(kitex_client, agent, "-case", "charge", "-order", order)
    assert charged.get("ok") is True and UUID4.match(charged["transaction_id"]), charged
    tx = charged["transaction_id"]
    q = kitex(kitex_client, agent, "-case", "query", "-order", order)
    assert q.get("ok") is True and q["payment"]["transaction_id"] == tx, q
    refund = kitex(kitex_client, agent, "-case", "refund", "-tx", tx, "-amount", "2",
                   "-refund-id", "r1")
    assert refund.get("ok") is True and refund["total_refunded"] == 2, refund
    again = kitex(kitex_client, agent, "-case", "charge", "-order", order)
    assert (again.get("error_kind"), again.get("code")) == ("payment_error", 4005002), again
    flow = kitex(kitex_client, agent, "-case", "flow", "-order", data.order_id())
    assert (flow.get("calls"), flow.get("ok")) == (7, 7), flow
    assert flow.get("dials") == 2, f"one connection per instance expected: {flow}"
    unknown = kitex(kitex_client, agent, "-case", "charge", "-service", "no-such-service")
    assert (unknown.get("ok"), unknown.get("net_error")) == (False, "service_discovery"), unknown
    assert "no service found" in unknown["message"], unknown


# ---- SIGTERM to one of two ----

class EventReader:
    """Reads the client's -events file (one JSON object per line) as it grows."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.events = []
        self.partial = b""

    def read(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        self.events.extend(json.loads(l) for l in lines if l.strip())
        return self.events


def logged_ms(svc, text):
    """Unix ms of the service's last log line containing @text (its lines start with an
    ISO 8601 UTC timestamp)."""
    lines = [l for l in svc.log_text().splitlines() if text in l]
    assert lines, f"no {text!r} in the log of {svc.name}\n{svc.log_tail()}"
    stamp = lines[-1].split()[0]
    when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return when.timestamp() * 1000


def query_order(svc, order):
    r = httpapi.request(svc.http_port, "GET", f"/payment/query?order_id={order}")
    return r.status, r.json


# consul.deregister_delay_seconds: 0 drains at once (calls already on their way may meet a
# closing connection, and until the resolver refreshes every call first dials the stopped
# instance); DELAY, twice Kitex's 5 s refresh, keeps serving until callers dropped it.
DELAY = 10


@pytest.mark.parametrize("pair", [0, DELAY], indirect=True, ids=["no-delay", "delay"])
def test_sigterm_one_instance_calls_go_on(kitex_client, agent, pair, tmp_path, request):
    victim, survivor = pair
    delay = request.node.callspec.params["pair"]
    dead, alive = rpc_addr(victim), rpc_addr(survivor)
    first = data.order_id(block=STREAM_MAX_CALLS)
    events_path = tmp_path / "events.jsonl"
    events_path.touch()
    stderr_path = tmp_path / "client.stderr"
    cmd = [kitex_client, "-consul", agent.address, "-service", SERVICE, "-case", "stream",
           "-order", str(first), "-count", str(STREAM_MAX_CALLS), "-interval", STREAM_INTERVAL,
           "-timeout", "15s", "-events", str(events_path)]
    reader = EventReader(events_path)
    with open(stderr_path, "wb") as err:
        client = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=err)
    try:
        def calls():
            return [e for e in reader.read() if e["event"] == "call"]

        def resolves():
            return [e for e in reader.read() if e["event"] == "resolve"]

        # 1. both instances answer through the resolver, several calls each
        def on_both():
            ok = [e["addr"] for e in calls() if e["ok"]]
            return all(ok.count(a) >= MORE_CALLS for a in (dead, alive))
        poll(on_both, WAIT, what=f"{MORE_CALLS} successful calls on each instance")

        # 2. SIGTERM one; Consul shows one passing instance; the instance exits
        sigterm_ms = time.time() * 1000
        victim.proc.send_signal(signal.SIGTERM)
        poll(lambda: set(passing(agent)) == {alive}, WAIT,
             what=f"Consul reporting only {alive} passing")
        one_passing_ms = time.time() * 1000
        victim.proc.wait(timeout=WAIT)
        exited_ms = time.time() * 1000
        victim.stop_and_check()
        shutdown_ms = logged_ms(victim, "shutting down")
        dereg_ms = logged_ms(victim, "deregistered ")

        # 3. the resolver refreshes without the stopped instance
        def refreshed():
            return [e for e in resolves() if e["unix_ms"] >= sigterm_ms and "instances" in e
                    and [i["addr"] for i in e["instances"]] == [alive]]
        refresh = poll(refreshed, WAIT, what="a resolve without the stopped instance")[0]

        # 4. the survivor's counter grows by MORE_CALLS + 1 successful calls after that (the
        # calls are sequential: at most one of them started before the refresh)
        base = charges_ok(survivor)
        poll(lambda: charges_ok(survivor) >= base + MORE_CALLS + 1, WAIT,
             what=f"{MORE_CALLS + 1} more successful calls on the survivor")
    finally:
        try:   # closes stdin first: at EOF the stream stops after the call in progress
            stdout, _ = client.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            client.kill()
            client.communicate()
            raise
    assert client.returncode == 0, f"client exited {client.returncode}\n{stderr_path.read_text()}"
    lines = [l for l in stdout.decode().splitlines() if l.strip()]
    assert len(lines) == 1, f"want one JSON line, got: {stdout!r}"
    out = json.loads(lines[0])
    results = out["results"]
    assert out["stopped_by"] == "eof", out["stopped_by"]
    assert out["calls"] == len(results) == out["ok"] + out["failed"]

    def start(r):
        return r["unix_ms"]

    def end(r):
        return r["unix_ms"] + r["duration_ms"]

    # Kitex switches its picker once Resolve has returned
    refresh_ms = refresh["unix_ms"] + refresh["duration_ms"]
    failed = [r for r in results if not r["ok"]]
    retried = [r for r in results if r.get("dial_errors")]
    after_refresh = [r for r in results if start(r) > refresh_ms]
    to_dead = [r for r in results if r["addr"] == dead]
    rel = lambda ms: f"{(ms - sigterm_ms) / 1000:+.3f} s"   # noqa: E731
    figures = [
        f"calls: {len(results)} ({out['ok']} ok, {len(failed)} failed), one every "
        f"{STREAM_INTERVAL} + the call; TCP dials: {out['dials']}",
        f"consul.deregister_delay_seconds={delay}; stopped instance {dead}, survivor {alive}",
        "times relative to the SIGTERM:",
        f"  Consul showed only the survivor passing: {rel(one_passing_ms)}",
        f"  stopped instance seen exited by: {rel(exited_ms)}",
        f"  resolver refresh without it (Kitex lbcache, every 5 s): {rel(refresh_ms)}",
        f"  service logged 'shutting down': {rel(shutdown_ms)}, "
        f"'deregistered' (its PUT answered): {rel(dereg_ms)}",
        f"  last call answered by the stopped instance started at: "
        f"{rel(max(start(r) for r in to_dead if r['ok']))}",
        f"failed calls: {len(failed)}",
    ]
    for r in failed:
        figures.append(f"  #{r['i']} started {rel(start(r))} ({(start(r) - dereg_ms) / 1000:+.3f} s "
                       f"from the deregistration), ended {rel(end(r))}, to {r['addr']}: "
                       f"{r['error_kind']}/{r.get('net_error')}: {r['message']}")
    figures.append(f"calls that succeeded on the survivor after a failed dial to the stopped "
                   f"instance (Kitex retries a failed dial on the next pick): {len(retried)}")
    if retried:
        reasons = {}
        for r in retried:
            for d in r["dial_errors"]:
                msg = d["error"].replace(dead, "<stopped>")
                reasons[msg] = reasons.get(msg, 0) + 1
        figures.append(f"  from {rel(start(retried[0]))} to {rel(start(retried[-1]))}, "
                       f"{sum(len(r['dial_errors']) for r in retried)} failed dials: "
                       + "; ".join(f"{n} x {m}" for m, n in sorted(reasons.items())))
        slow = max(retried, key=lambda r: r["duration_ms"])
        figures.append(f"  their longest call: {slow['duration_ms']:.1f} ms")
    figures.append(f"calls that started after the refresh: {len(after_refresh)}, on "
                   f"{sorted({r['addr'] for r in after_refresh})}, "
                   f"{sum(1 for r in after_refresh if r['ok'])} ok, "
                   f"{sum(1 for r in after_refresh if r.get('dial_errors'))} with a failed dial")
    text = "\n".join(figures) + "\n"
    print("\n" + text)
    path = os.path.join(env.BUILD_DIR, "test-logs", f"kitex-consul-figures-delay{delay}.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

    # before the SIGTERM every call succeeded, on both instances
    before = [r for r in results if end(r) < sigterm_ms]
    assert before and all(r["ok"] for r in before), [r for r in before if not r["ok"]]
    assert {r["addr"] for r in before} == {dead, alive}, {r["addr"] for r in before}
    # every failed call: a connection-level error on the way to the stopped instance,
    # after the SIGTERM; no business error
    for r in failed:
        assert r["addr"] == dead, f"a call failed on {r['addr']}, not {dead}: {r}"
        assert r["error_kind"] == "remote", f"not a transport error: {r}"
        assert r.get("net_error") in CONNECTION_ERRORS, f"not a connection error: {r}"
        assert end(r) >= sigterm_ms, f"failed before the SIGTERM: {r}"
    # every failed dial was to the stopped instance
    for r in retried:
        assert {d["addr"] for d in r["dial_errors"]} == {dead}, r
    # after the refresh: every call succeeded on the survivor, and there were such calls
    assert len(after_refresh) >= MORE_CALLS, len(after_refresh)
    bad = [r for r in after_refresh if not (r["ok"] and r["addr"] == alive)]
    assert not bad, f"calls after the refresh that did not succeed on {alive}: {bad}"
    # no wrong answer: each successful call's charge is the one stored for its order, and
    # a failed call charged nothing (the caller may retry it)
    oks = [r for r in results if r["ok"]]
    assert all(UUID4.match(r["transaction_id"]) for r in oks)
    assert len({r["transaction_id"] for r in oks}) == len(oks), "a transaction id twice"
    for r in oks:
        status, body = query_order(survivor, r["order_id"])
        assert status == 200 and body["transaction_id"] == r["transaction_id"], (r, body)
    for r in failed:
        status, body = query_order(survivor, r["order_id"])
        assert status == 404, f"failed call #{r['i']} was charged anyway: {body}"
    if delay:
        # the stopped instance served until every caller had dropped it: nothing failed,
        # nothing was even dialled in vain
        assert not failed and not retried, text
