"""The service under valgrind memcheck through 1,180 mixed requests (successes, every
Charge error, queries and refunds with their errors, unknown methods, undecodable and
malformed frames, HTTP errors, /metrics, requests cut at the read deadline and silent HTTP
connections cut when idle, requests with a Transfer-Encoding libsoup 3.2.3 would leak the
path of; registered with a fake Consul agent), then
SIGTERM: no definite leak, no memory error, exit status 0. Then the same for HTTPS (a
second service with a certificate): 200 requests over TLS, plain HTTP and TLS 1.1 refused,
handshakes cut at the deadline or dropped, one still silent at SIGTERM. A third run has API
keys on, with every verdict and SIGHUP reloads. A fourth has the events relay on, through
a NATS outage and its return. Not registered for the
sanitized build (valgrind cannot run an ASan binary)."""

import collections
import hashlib
import os
import random
import re
import signal
import socket
import struct
import threading

import pytest
from thrift.Thrift import TMessageType

from support import data, env, httpapi, refunds
from support.fake_consul import FakeConsul
from support.tlscerts import Certificates, tls11_outcome
from support.service import poll
from support.rpc import (RpcClient, connect, decode_reply, encode_message, frame,
                         read_frame, wait_closed)

TOTAL = 1180
THREADS = 4
CLOSE_TIMEOUT = 20.0  # seconds for the service to close a malformed stream
DEADLINE_SECONDS = 3  # server.read_timeout_seconds and http_idle_timeout_seconds of the run


def make_actions():
    """TOTAL (kind, payload) actions in a shuffled but reproducible order."""
    rnd = random.Random(1234)
    acts = []
    acts += [("rpc_ok", None)] * 280
    acts += [("rpc_dup", None)] * 60
    card = data.invalid_card_cases()
    amount = data.invalid_amount_cases()
    request = data.invalid_request_cases()
    for i in range(150):
        kind = i % 3
        if kind == 0:
            acts.append(("rpc_err", (4004001, card[i % len(card)][1])))
        elif kind == 1:
            acts.append(("rpc_err", (4004002, {"amount": amount[i % len(amount)][1]})))
        else:
            acts.append(("rpc_err", (4004003, request[i % len(request)][1])))
    acts += [("rpc_nan", None)] * 10
    acts += [("unknown_method", None)] * 50
    acts += [("undecodable", i) for i in range(50)]
    acts += [("malformed", i) for i in range(50)]
    acts += [("http_ok", None)] * 120
    acts += [("http_err", i) for i in range(130)]
    acts += [("http_route", i) for i in range(50)]
    acts += [("query", i) for i in range(70)]
    acts += [("refund", i) for i in range(80)]
    acts += [("metrics", None)] * 30
    acts += [("cut", i) for i in range(30)]
    acts += [("refused", i) for i in range(10)]
    acts += [("health", None)] * (TOTAL - len(acts))
    assert len(acts) == TOTAL, len(acts)
    rnd.shuffle(acts)
    return acts


UNDECODABLE = [
    b"\x0c\x00\x01\x04\x00\x01",
    b"\x0c\x00\x01\x0c\x00\x02\x0b\x00\x01\x7f\xff\xff\xf0abcd",
    b"\x0c\x00\x01\x0c\x00\x02\x0b\x00\x01\xff\xff\xff\xfeab",
]

MALFORMED = [  # (label, bytes)
    ("garbage", b"\xde\xad\xbe\xef" + b"\x01" * 32),
    ("zero-length frame", b"\x00\x00\x00\x00"),
    ("frame over max", struct.pack(">I", 2 * 1024 * 1024) + b"\x80\x01\x00\x01"),
    ("non-strict message", frame(struct.pack(">i", 6) + b"Charge\x01" + struct.pack(">i", 1)
                                 + b"\x00")),
    ("truncated frame, then EOF", b"\x00\x00\x00\x40\x80\x01\x00\x01\x00\x00"),
]

HTTP_ROUTES = [("GET", "/nope", 404), ("GET", "/payment/charge", 405),
               ("PUT", "/payment/charge", 405), ("POST", "/health", 405)]


class Worker:
    def __init__(self, svc):
        self.svc = svc
        self.rpc = None
        self.dup_order = None
        self.paid = None       # (transaction_id, order_id) that queries and refunds use
        self.refunds = 0

    def payment(self):
        if self.paid is None:
            req = data.charge(amount=1000.0)
            res = self.client().charge(req)
            assert res[0] == "ok", res
            self.paid = (res[1], req["order_id"])
        return self.paid

    def client(self):
        if self.rpc is None:
            self.rpc = RpcClient(self.svc.rpc_port, timeout=120)
        return self.rpc

    def run(self, kind, arg):
        svc = self.svc
        if kind == "rpc_ok":
            res = self.client().charge(data.charge(amount=round(random.uniform(1, 999), 2)))
            assert res[0] == "ok", res
        elif kind == "rpc_dup":
            if self.dup_order is None:
                self.dup_order = data.order_id()
                assert self.client().charge(data.charge(order=self.dup_order))[0] == "ok"
            res = self.client().charge(data.charge(order=self.dup_order))
            assert res[:2] == ("error", 4005002), res
        elif kind == "rpc_err":
            code, over = arg
            res = self.client().charge(data.charge(**over))
            assert res[:2] == ("error", code), (over, res)
        elif kind == "rpc_nan":
            res = self.client().charge(data.charge(amount=float("nan")))
            assert res[:2] == ("error", 4004002), res
        elif kind == "unknown_method":
            with connect(svc.rpc_port, 120) as s:
                s.sendall(frame(encode_message("Nope", TMessageType.CALL, 3)))
                rep = decode_reply(read_frame(s, 120))
                assert rep.type == TMessageType.EXCEPTION and rep.app_error.type == 1, rep
        elif kind == "undecodable":
            body = UNDECODABLE[arg % len(UNDECODABLE)]
            hdr = struct.pack(">Ii", 0x80010001, 6) + b"Charge" + struct.pack(">i", 9)
            with connect(svc.rpc_port, 120) as s:
                s.sendall(frame(hdr + body))
                rep = decode_reply(read_frame(s, 120))
                assert rep.type == TMessageType.EXCEPTION and rep.app_error.type == 7, rep
        elif kind == "malformed":
            label, payload = MALFORMED[arg % len(MALFORMED)]
            with connect(svc.rpc_port, 120) as s:
                s.sendall(payload)
                if label.endswith("EOF"):
                    s.shutdown(socket.SHUT_WR)
                # bounded: a stream the service wrongly keeps open must not stall the run
                assert wait_closed(s, CLOSE_TIMEOUT), \
                    f"{label}: not closed within {CLOSE_TIMEOUT:.0f} s"
        elif kind == "http_ok":
            res = httpapi.charge(svc.http_port, data.charge(), timeout=120)
            assert res[0] == "ok", res
        elif kind == "http_err":
            i = arg % 4
            if i == 0:
                r = httpapi.request(svc.http_port, "POST", "/payment/charge", "{bad json",
                                    timeout=120)
                assert r.status == 400, r
            elif i == 1:
                r = httpapi.request(svc.http_port, "POST", "/payment/charge",
                                    data.charge(card="4111111111111112"), timeout=120)
                assert r.code == 4004001, r
            elif i == 2:
                r = httpapi.request(svc.http_port, "POST", "/payment/charge",
                                    data.charge(amount=1.005), timeout=120)
                assert r.code == 4004002, r
            else:
                r = httpapi.request(svc.http_port, "POST", "/payment/charge",
                                    "x" * (64 * 1024 + 1), timeout=120)
                assert r.status == 413, r
        elif kind == "http_route":
            method, path, status = HTTP_ROUTES[arg % len(HTTP_ROUTES)]
            r = httpapi.request(svc.http_port, method, path,
                                "{}" if method in ("POST", "PUT") else None, timeout=120)
            assert r.status == status, r
        elif kind == "query":
            tx, order = self.payment()
            transport = "rpc" if arg % 2 == 0 else "http"
            if arg % 7 == 6:
                res = refunds.query(transport, svc, tx=tx, order=order)
                assert res[:2] == ("error", 4004003), res
            else:
                res = refunds.query(transport, svc, **({"tx": tx} if arg % 3 else {"order": order}))
                assert res[0] == "ok" and res[1]["transaction_id"] == tx, res
        elif kind == "refund":
            tx, _ = self.payment()
            transport = "rpc" if arg % 2 == 0 else "http"
            if arg % 5 == 4:       # a replay, then a conflicting one
                k = f"vg-{tx}-{self.refunds}"
                first = refunds.refund(transport, svc, tx, k, amount=0.01, reason="vg")
                assert first[0] == "ok", first
                self.refunds += 1
                assert refunds.refund(transport, svc, tx, k, amount=0.01, reason="vg") == first
                res = refunds.refund(transport, svc, tx, k, amount=0.02)
                assert res[:2] == ("error", 4004006), res
            elif arg % 5 == 3:     # over the balance, and an unknown payment
                res = refunds.refund(transport, svc, tx, f"vg-over-{arg}", amount=5000.0)
                assert res[:2] == ("error", 4004005), res
                res = refunds.refund(transport, svc, "8e0237d4-60c0-49f5-a975-1759e545db71",
                                     f"vg-{arg}")
                assert res[:2] == ("error", 4004004), res
            else:
                res = refunds.refund(transport, svc, tx, f"vg-{tx}-{self.refunds}", amount=0.01)
                assert res[0] == "ok", res
                self.refunds += 1
        elif kind == "metrics":
            r = httpapi.request(svc.http_port, "GET", "/metrics", timeout=120)
            assert r.status == 200 and "payment_requests_total" in r.raw, r
        elif kind == "health":   # kept alive, then closed by us between two requests
            assert svc.health_status(timeout=120) == 200
        elif kind == "cut":      # half a request on either port, or a silent HTTP connection
            port = svc.rpc_port if arg % 3 == 0 else svc.http_port
            with connect(port, 120) as s:
                if arg % 3 == 0:
                    s.sendall(frame(b"\x80\x01\x00\x01" + bytes(20))[:10])
                elif arg % 3 == 1:
                    s.sendall(b"POST /payment/charge HTTP/1.1\r\nHost: t\r\nContent-Le")
                assert wait_closed(s, DEADLINE_SECONDS + CLOSE_TIMEOUT), \
                    f"cut {arg}: not closed within {DEADLINE_SECONDS + CLOSE_TIMEOUT:.0f} s"
        elif kind == "refused":  # refused before libsoup 3.2.3 parses (and leaks) its path
            path = "/payment/charge?" + "p" * (1000 + arg)
            with connect(svc.http_port, 120) as s:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                          f"\r\nTransfer-Encoding: gzip\r\n\r\n{{}}".encode())
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 400 ") and b"4004003" in reply, reply[:200]
        else:
            raise AssertionError(kind)

    def close(self):
        if self.rpc is not None:
            self.rpc.close()


def run_in_threads(run, actions):
    """run(chunk) on THREADS threads, each with every THREADS-th action; returns when all
    are done."""
    threads = [threading.Thread(target=run, args=(actions[i::THREADS],))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def valgrind_wrapper(vg_log):
    return ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--error-exitcode=99", "--num-callers=40",
            "--track-fds=no", f"--log-file={vg_log}"]


def test_no_leaks_under_valgrind(start_service, capsys):
    vg_log = os.path.join(env.log_dir(), f"valgrind-{os.getpid()}.log")
    wrapper = valgrind_wrapper(vg_log)
    # Registered with a fake Consul agent (checked every second) for the whole run, so the
    # registrar's requests, re-checks and deregistration are in the leak check too.
    agent = FakeConsul(env.devservers.free_port()).start()
    svc = start_service(extra_env={"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly",
                                   "PAYMENT_CONSUL_ADDRESS": agent.address,
                                   "PAYMENT_CONSUL_SYNC_INTERVAL_SECONDS": "1",
                                   "PAYMENT_SERVER_READ_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
                                   "PAYMENT_SERVER_HTTP_IDLE_TIMEOUT_SECONDS":
                                       str(DEADLINE_SECONDS)},
                        wrapper=wrapper, name="valgrind", ready_timeout=240.0,
                        stop_timeout=300.0)

    actions = make_actions()
    errors = []
    counts = {}

    def run(chunk):
        w = Worker(svc)
        try:
            for kind, arg in chunk:
                try:
                    w.run(kind, arg)
                    counts[kind] = counts.get(kind, 0) + 1
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{kind}: {str(e).splitlines()[0] if str(e) else repr(e)}")
                    if w.rpc is not None:
                        w.rpc.close()
                        w.rpc = None
        finally:
            w.close()

    run_in_threads(run, actions)

    status = svc.stop()
    agent.stop()
    problems = valgrind_problems(svc, vg_log, status, counts, errors, capsys)
    if not agent.registrations() or not agent.requests_to("PUT", "/v1/agent/service/deregister/"):
        problems.append(f"not registered and deregistered with the fake Consul: {agent.requests}")
    if agent.problems:
        problems.append(f"Consul API misuse: {agent.problems}")
    assert not problems, "\n\n".join(problems)


def valgrind_problems(svc, vg_log, status, counts, errors, capsys):
    """What went wrong in a run under valgrind: failed requests, definite leaks, valgrind
    errors (exit status 99), a bad exit status or log line. Prints the leak summary."""
    with open(vg_log, errors="replace") as f:
        vg = f.read()
    summary = [l for l in vg.splitlines()
               if re.search(r"(definitely|indirectly|possibly) lost:|still reachable:|"
                            r"ERROR SUMMARY|All heap blocks were freed|LEAK SUMMARY", l)]
    with capsys.disabled():
        print(f"\nvalgrind ({sum(counts.values())} requests ok, {len(errors)} failed), "
              f"exit status {status}, log {vg_log}:")
        for line in summary:
            print("  " + line)
    problems = []
    if errors:
        grouped = collections.Counter(errors)
        problems.append(f"{len(errors)} requests failed under valgrind:\n" + "\n".join(
            f"  {n} x {what}" for what, n in grouped.most_common(10)))
    m = re.search(r"definitely lost: ([\d,]+) bytes", vg)
    if m is not None and m.group(1) != "0":
        problems.append("definite leaks:\n" + leak_records(vg))
    elif m is None and not ("All heap blocks were freed" in vg or "LEAK SUMMARY" not in vg):
        problems.append("unexpected valgrind log:\n" + vg[-3000:])
    if status != 0:
        problems.append(f"exit status {status} under valgrind (99 = valgrind errors)\n"
                        + errors_section(vg))
    if svc.bad_log_lines():
        problems.append(f"bad log lines: {svc.bad_log_lines()[:5]}")
    return problems


def test_api_keys_under_valgrind(start_service, tmp_path, capsys):
    """API keys on: every verdict (401, 403, 200) on each /payment/* route and /metrics,
    refunds recording their key, and SIGHUP reloads (a good file, then a bad one that keeps
    the keys) between requests; then SIGTERM, with no leak or memory error."""
    vg_log = os.path.join(env.log_dir(), f"valgrind-keys-{os.getpid()}.log")
    secret, other = "valgrind-secret-1", "valgrind-secret-2"
    path = str(tmp_path / "keys")

    def write(lines):
        with open(path, "w") as f:
            f.write("".join(f"{k} {scopes} {hashlib.sha256(s.encode()).hexdigest()}\n"
                            for k, scopes, s in lines))

    write([("all", "charge,query,refund,metrics", secret), ("reader", "query", other)])
    svc = start_service(extra_env={"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly",
                                   "PAYMENT_AUTH_KEYS_FILE": path,
                                   "PAYMENT_AUTH_PROTECT_METRICS": "true"},
                        wrapper=valgrind_wrapper(vg_log), name="valgrind-keys",
                        ready_timeout=240.0, stop_timeout=300.0)
    good = {"Authorization": f"Bearer all.{secret}"}
    reader = {"Authorization": f"Bearer reader.{other}"}
    port = svc.http_port
    reader_known = True
    for round_ in range(3):
        order = data.order_id()
        r = httpapi.request(port, "POST", "/payment/charge", data.charge(order=order), headers=good,
                            timeout=120)
        assert r.status == 200, r
        tx = r.json["transaction_id"]
        calls = [("POST", "/payment/charge", data.charge()),
                 ("GET", f"/payment/query?transaction_id={tx}", None),
                 ("POST", "/payment/refund", {"transaction_id": tx, "amount": 1.0,
                                              "refund_request_id": f"vg-{round_}"}),
                 ("GET", "/metrics", None)]
        for method, target, body in calls:
            for headers, want in (({}, 401), ({"Authorization": "Bearer all.wrong"}, 401),
                                  (reader, (200 if "query" in target else 403) if reader_known
                                   else 401), (good, 200)):
                r = httpapi.request(port, method, target, body, headers=headers, timeout=120)
                assert r.status == want, (method, target, headers, r)
        if round_ == 0:
            write([("all", "charge,query,refund,metrics", secret)])
        else:
            with open(path, "w") as f:
                f.write("broken line\n")
        offset = svc.log_size()
        svc.proc.send_signal(signal.SIGHUP)
        poll(lambda: "SIGHUP" in svc.log_since(offset) or "API keys in force" in svc.log_since(offset),
             120, what="the reload logged")
        reader_known = False   # the first reload removed it; the bad file keeps that
    status = svc.stop()
    problems = valgrind_problems(svc, vg_log, status, {"keys": 1}, [], capsys)
    assert not problems, "\n\n".join(problems)


def leak_records(vg):
    blocks = re.split(r"\n==\d+== \n", vg)
    return "\n\n".join(b for b in blocks if "definitely lost in" in b)[:8000]


def errors_section(vg):
    blocks = re.split(r"\n==\d+== \n", vg)
    return "\n\n".join(b for b in blocks
                       if re.search(r"Invalid (read|write|free)|uninitialised|Mismatched free|"
                                    r"Syscall param|overlap", b))[:8000]


# ---- the same with HTTPS on the HTTP port ------------------------------------------------

TLS_TOTAL = 200


def tls_actions():
    rnd = random.Random(5678)
    acts = [("https_charge", None)] * 60 + [("https_query", None)] * 40
    acts += [("https_keepalive", None)] * 30 + [("plain_to_tls", None)] * 20
    acts += [("tls11", None)] * 10 + [("handshake_cut", None)] * 10
    acts += [("handshake_dropped", None)] * 10
    acts += [("https_health", None)] * (TLS_TOTAL - len(acts))
    rnd.shuffle(acts)
    return acts


def run_tls_action(svc, kind, paid):
    tls = svc.tls()
    if kind == "https_charge":
        res = httpapi.charge(svc.http_port, data.charge(), timeout=120, tls=tls)
        assert res[0] == "ok", res
        paid.append(res[1])
    elif kind == "https_query":
        tid = paid[-1] if paid else "0"
        r = httpapi.request(svc.http_port, "GET", f"/payment/query?transaction_id={tid}",
                            timeout=120, tls=tls)
        assert r.status in (200, 404), r
    elif kind in ("https_keepalive", "https_health"):
        c = httpapi.connection(svc.http_port, 120, tls)
        try:
            for _ in range(3 if kind == "https_keepalive" else 1):
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
                assert r.status == 200, r.status
        finally:
            c.close()
    elif kind == "plain_to_tls":
        with connect(svc.http_port, 120) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            assert wait_closed(s, CLOSE_TIMEOUT), "plain HTTP to the TLS port not closed"
    elif kind == "tls11":
        assert tls11_outcome(svc.http_port) == "refused"
    elif kind == "handshake_cut":      # silent: closed at the read deadline
        with connect(svc.http_port, 120) as s:
            s.sendall(b"\x16\x03\x01")
            assert wait_closed(s, DEADLINE_SECONDS + CLOSE_TIMEOUT), "handshake not cut"
    elif kind == "handshake_dropped":  # the client goes away in the middle of it
        with connect(svc.http_port, 120) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    else:
        raise AssertionError(kind)


def test_no_leaks_under_valgrind_with_tls(start_service, capsys, tmp_path):
    """HTTPS requests, plain HTTP and TLS 1.1 refused, handshakes cut at the deadline or
    dropped by the client, and one handshake still silent at SIGTERM."""
    certs = Certificates(str(tmp_path / "tls")).make()
    vg_log = os.path.join(env.log_dir(), f"valgrind-tls-{os.getpid()}.log")
    extra = {"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly",
             "PAYMENT_SERVER_READ_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
             "PAYMENT_SERVER_HTTP_IDLE_TIMEOUT_SECONDS": str(DEADLINE_SECONDS)}
    extra.update(certs.service_env())
    svc = start_service(extra_env=extra, wrapper=valgrind_wrapper(vg_log), name="valgrind-tls",
                        ready_timeout=240.0, stop_timeout=300.0, tls_ca=certs.ca)
    errors = []
    counts = collections.Counter()

    def run(chunk):
        paid = []
        for kind, _ in chunk:
            try:
                run_tls_action(svc, kind, paid)
                counts[kind] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(f"{kind}: {str(e).splitlines()[0] if str(e) else repr(e)}")

    run_in_threads(run, tls_actions())
    with connect(svc.http_port, 120) as pending:
        pending.sendall(b"\x16\x03\x01")
        status = svc.stop()
    problems = valgrind_problems(svc, vg_log, status, counts, errors, capsys)
    assert not problems, "\n\n".join(problems)


def test_events_relay_under_valgrind(start_service, mariadb, servers_dir, capsys):
    """The events relay on (a real nats-server -js), through charges and refunds, a NATS
    outage and its return, until every event is acked; then SIGTERM while NATS is up: the
    relay's connections, libnats and the window are freed, no memory error."""
    from support.nats import NatsServer
    nats = NatsServer(os.path.join(servers_dir, "nats-valgrind"))
    nats.start()
    db = "payment_it_valgrind_events"
    vg_log = os.path.join(env.log_dir(), f"valgrind-events-{os.getpid()}.log")
    try:
        svc = start_service(extra_env={"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly",
                                       "PAYMENT_EVENTS_NATS_URL": nats.url},
                            database_name=db, wrapper=valgrind_wrapper(vg_log),
                            name="valgrind-events", ready_timeout=240.0, stop_timeout=300.0)
        counts, errors = {}, []

        def pay(n):
            for i in range(n):
                outcome, tx = httpapi.charge(svc.http_port, data.charge(amount=9.99))[:2]
                if outcome != "ok":
                    errors.append(f"charge: {tx}")
                    continue
                r = refunds.http_refund(svc.http_port, tx, f"vg-{i}", amount=1.5)
                if r[0] != "ok":
                    errors.append(f"refund: {r[1]}")
                    continue
                counts["pay"] = counts.get("pay", 0) + 1

        def drained():
            last = mariadb.query("SELECT COALESCE(MAX(id), 0) FROM payment_events", db)[0][0]
            rows = mariadb.query("SELECT last_id FROM payment_events_relay", db)
            return bool(rows) and int(rows[0][0]) == int(last)

        pay(20)
        poll(drained, 120, what="the relay acked the first events")
        nats.stop()
        pay(20)
        nats.start()
        poll(drained, 240, what="the backlog relayed after NATS came back")
        status = svc.stop()
    finally:
        nats.stop()
    problems = valgrind_problems(svc, vg_log, status, counts, errors, capsys)
    assert not problems, "\n\n".join(problems)
