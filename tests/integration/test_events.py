"""The events relay (docs/events.md) end to end: the built service with
events.nats_url set, a real `nats-server -js` started by the suite (support/nats.py), and
the consumer example (examples/events-consumer/) reading the stream through a durable
consumer, as a downstream service would.

- Every committed charge and refund arrives exactly once per event id, in commit order
  per transaction, matching its payment_events row, valid against
  docs/events.schema.json, with no card data; the stream is the one docs/events.md
  describes.
- NATS stopped under load: payments go on, /health stays 200 with "events": "down", the
  lag rises; NATS back: the lag falls to 0 and every event arrives.
- The relaying instance killed with SIGKILL while publishes are in flight: the next one
  resumes from the cursor, nothing is lost, and every event published twice carries the
  same Nats-Msg-Id (and body) both times.
- Two instances: exactly one is the leader and publishes; kill it, the other takes over.
- The gap: a transaction holding an uncommitted payment_events row keeps later events
  from being published until it commits (gap filled), or rolls back (gap passed).
- /health's "events": disabled, up, down (still 200), up.

Each test has a database, a NATS server and a lock name of its own, so what a test finds
in the stream is exactly what its database holds. Waiting is polling with deadlines."""

import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from support import data, events, httpapi, metrics, refunds
from support.nats import NatsServer, WireTap
from support.service import poll

CARDS = [data.VALID_CARDS[b] for b in ("visa", "mastercard", "amex", "discover", "jcb")]


@pytest.fixture
def nats_server(servers_dir, request):
    """A NATS server of the test's own: streams on one server may not share subjects,
    and every test's relay makes the stream PAYMENT_EVENTS on payment.>."""
    s = NatsServer(os.path.join(servers_dir, f"nats-{request.node.name[:40]}"))
    s.start()
    yield s
    s.stop()


class Setup:
    """One test's database, lock name and NATS server (the stream is the default one)."""

    def __init__(self, name, nats_server):
        tag = uuid.uuid4().hex[:8]
        self.database = f"ev_{name}_{tag}"
        self.stream = events.STREAM
        self.lock = f"payment_events_relay_{name}_{tag}"
        self.nats = nats_server

    def env(self, **extra):
        e = {"PAYMENT_EVENTS_NATS_URL": self.nats.url, "PAYMENT_EVENTS_STREAM": self.stream,
             "PAYMENT_EVENTS_LOCK_NAME": self.lock}
        e.update({f"PAYMENT_EVENTS_{k.upper()}": str(v) for k, v in extra.items()})
        return e


@pytest.fixture
def setup(request, nats_server):
    return Setup(request.node.name.removeprefix("test_")[:20], nats_server)


# ---- reading the service ----

def metric(svc, name, **labels):
    return metrics.value(metrics.scrape(svc).raw, name, **labels)


def health(svc):
    r = httpapi.request(svc.http_port, "GET", "/health")
    return r.status, (r.json or {}).get("events")


def wait_events_health(svc, want, timeout=30):
    """Polls /health until "events" is @want; every answer on the way must be 200 (MySQL
    is up throughout: NATS alone never makes the service unhealthy)."""
    def check():
        status, ev = health(svc)
        assert status == 200, f"/health answered {status} (events {ev})"
        return ev == want
    poll(check, timeout, what=f'/health "events": "{want}"')


def wait_drained(svc, mariadb, setup, timeout=120):
    """Polls until every committed event is acked, by the cursor: it reaches the last id
    of payment_events (it only passes what was acked, or a gap given up); then until
    @svc's lag gauge, which the relay refreshes on its own schedule, says 0 too."""
    last = int(mariadb.query("SELECT COALESCE(MAX(id), 0) FROM payment_events",
                             setup.database)[0][0])
    poll(lambda: cursor(mariadb, setup) == last, timeout, what=f"cursor at the last id {last}")
    poll(lambda: metric(svc, "payment_events_relay_lag_events") == 0, 30, what="lag 0")


def cursor(mariadb, setup):
    rows = mariadb.query("SELECT last_id FROM payment_events_relay "
                         f"WHERE name = '{setup.stream}'", setup.database)
    return int(rows[0][0]) if rows else None


# ---- making payments ----

def pay(svc, card, refunds_wanted, errors):
    """One charge, then @refunds_wanted refunds of it one after the other (the last one
    refunds all that is left). Failures go to @errors."""
    req = data.charge(amount=round(10 + data.user_id() % 9000 / 100, 2), card=card)
    r = httpapi.charge(svc.http_port, req)
    if r[0] != "ok":
        errors.append(("charge", r[:3]))
        return None
    tx = r[1]
    for i in range(refunds_wanted):
        amount = 1.01 if i < refunds_wanted - 1 else None
        rr = refunds.http_refund(svc.http_port, tx, f"k{i}", amount=amount)
        if rr[0] != "ok":
            errors.append(("refund", rr))
    return tx


def pay_many(svc, n, threads=8):
    """@n payments from @threads threads at once (so that transactions interleave):
    payment i gets i % 3 refunds. Returns the transaction ids; fails on any error."""
    errors, txs = [], []
    lock = threading.Lock()
    pending = list(range(n))

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop()
            tx = pay(svc, CARDS[i % len(CARDS)], i % 3, errors)
            with lock:
                txs.append(tx)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    assert not errors, errors[:5]
    return txs


class Load:
    """Payments in a thread until stop(): each a charge and one partial refund."""

    def __init__(self, svc):
        self.svc = svc
        self.errors = []
        self.count = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            pay(self.svc, CARDS[self.count % len(CARDS)], 2, self.errors)
            self.count += 1

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors[:5]
        return self.count


# ---- checking what arrived ----

def check_delivery(events_consumer, mariadb, setup, durable, exactly_once=True):
    """Reads the stream with the consumer until every payment_events row of the test's
    database arrived; checks each message (schema, card data, its row) and the order per
    transaction. @exactly_once: no message may be a duplicate, and nothing more arrives.
    Returns (rows, the consumer's lines)."""
    rows = events.outbox(mariadb, setup.database)
    assert rows, "no payment_events rows"
    by_event = {r["event_id"]: r for r in rows}
    run = events.consume(events_consumer, setup.nats.url, durable, count=len(rows),
                         stream=setup.stream, timeout=120, stream_wait=30)
    got = {ln["event"]["event_id"] for ln in run.unique()}
    missing = set(by_event) - got
    assert run.returncode == 0 and not missing, (
        f"{len(missing)} of {len(rows)} events never arrived, e.g. "
        f"{[by_event[m] for m in list(missing)[:3]]}: {run}")
    assert got == set(by_event), f"events not in payment_events: {got - set(by_event)}"
    for line in run.lines:
        ev = events.check_line(line, cards=CARDS)
        events.assert_matches_outbox(ev, by_event[ev["event_id"]])
    # Commit order per transaction: a payment's events, in stream order, are its rows in
    # id order (its charge, then its refunds, which lock the payment one at a time).
    firsts = {}
    for line in run.lines:
        firsts.setdefault(line["event"]["event_id"], line["stream_seq"])
    per_tx_rows, per_tx_stream = {}, {}
    for r in rows:
        per_tx_rows.setdefault(r["transaction_id"], []).append(r["event_id"])
    for eid, seq in sorted(firsts.items(), key=lambda kv: kv[1]):
        per_tx_stream.setdefault(by_event[eid]["transaction_id"], []).append(eid)
    wrong = {tx: (per_tx_stream[tx], ids) for tx, ids in per_tx_rows.items()
             if per_tx_stream[tx] != ids}
    assert not wrong, f"{len(wrong)} transactions out of order, e.g. {list(wrong.items())[:2]}"
    if exactly_once:
        dups = [ln for ln in run.lines if ln["duplicate"]]
        assert not dups, f"{len(dups)} duplicates, e.g. {dups[:2]}"
        more = events.consume(events_consumer, setup.nats.url, durable, idle=1.5,
                              stream=setup.stream, timeout=60)
        assert more.returncode == 0 and more.lines == [], f"more than the rows: {more}"
    return rows, run.lines


def stream_state(setup):
    with setup.nats.client() as c:
        info = c.stream_info(setup.stream)
    assert info is not None, f"no stream {setup.stream}"
    return info


# ---- the tests ----

def test_every_event_arrives_once_in_order_and_valid(fresh_service, events_consumer,
                                                     mariadb, setup):
    svc = fresh_service(setup.env(), database_name=setup.database)
    wait_events_health(svc, "up")
    txs = pay_many(svc, 60)
    n_refunds = sum(i % 3 for i in range(60))
    rows = events.outbox(mariadb, setup.database)
    assert len(rows) == len(txs) + n_refunds, (len(rows), len(txs), n_refunds)
    wait_drained(svc, mariadb, setup)
    rows, lines = check_delivery(events_consumer, mariadb, setup, "orders")
    assert len(lines) == len(rows)
    assert {ln["event"]["type"] for ln in lines} == {"payment.charged", "payment.refunded"}
    # Refunds over HTTP without keys record their caller's address; charges none.
    assert {ln["event"]["caller"] for ln in lines
            if ln["event"]["type"] == "payment.charged"} == {None}
    assert {ln["event"]["caller"] for ln in lines
            if ln["event"]["type"] == "payment.refunded"} == {"http:127.0.0.1"}
    # The stream as docs/events.md says the relay creates it, one message per event.
    info = stream_state(setup)
    cfg = info["config"]
    assert cfg["subjects"] == ["payment.>"] and cfg["storage"] == "file", cfg
    assert cfg["duplicate_window"] == 120 * 10**9 and cfg["max_age"] == 604800 * 10**9, cfg
    assert info["state"]["messages"] == len(rows), info["state"]
    # Both headers, on every stored message.
    with setup.nats.client() as c:
        for seq, m in c.stream_messages(setup.stream):
            assert m.headers.get("Content-Type") == "application/json", (seq, m.headers)
            assert m.headers.get("Nats-Msg-Id") == m.json()["event_id"], (seq, m.headers)
            for card in CARDS:
                assert card.encode() not in m.data, (seq, m.data)
    assert metric(svc, "payment_events_published_total") == len(rows)
    assert metric(svc, "payment_events_relay_leader") == 1


def test_nats_down_under_load(fresh_service, events_consumer, mariadb, setup):
    svc = fresh_service(setup.env(), database_name=setup.database)
    wait_events_health(svc, "up")
    load = Load(svc)
    try:
        poll(lambda: metric(svc, "payment_events_published_total") >= 10, 60,
             what="first events published")
        setup.nats.stop()
        wait_events_health(svc, "down")
        # Payments go on (Load fails on any error) and the backlog grows in MySQL.
        def lag_of_20():
            v = metric(svc, "payment_events_relay_lag_events")
            return v if v >= 20 else 0
        lag_seen = poll(lag_of_20, 60, what="lag of 20 events")
        poll(lambda: metric(svc, "payment_events_relay_lag_seconds") > 0, 30,
             what="lag in seconds above 0")
        paid_while_down = load.count
        poll(lambda: load.count >= paid_while_down + 5, 60, what="payments while NATS is down")
        assert health(svc)[0] == 200
    finally:
        load.stop()
        setup.nats.start()
    wait_events_health(svc, "up")
    wait_drained(svc, mariadb, setup)
    poll(lambda: metric(svc, "payment_events_relay_lag_seconds") == 0, 30, what="lag 0 s")
    rows, lines = check_delivery(events_consumer, mariadb, setup, "ledger",
                                 exactly_once=False)
    assert lag_seen >= 20 and len(rows) > lag_seen


def freeze(svc):
    """SIGSTOP @svc; returns once every thread of it has stopped (the signal is delivered
    asynchronously, and a thread still running could send one more publish)."""
    svc.proc.send_signal(signal.SIGSTOP)

    def stopped():
        task_dir = f"/proc/{svc.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                        return False
            except (OSError, IndexError):
                continue    # the thread exited
        return True
    poll(stopped, 30, interval=0.005, what="every thread stopped")


def mysql_idle(mariadb, setup):
    """True when no statement runs on the test's database but this query: a frozen
    relay's last cursor UPDATE has landed."""
    return mariadb.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE"
                         f" DB = '{setup.database}' AND ID <> CONNECTION_ID()"
                         " AND COMMAND <> 'Sleep'")[0][0] == "0"


def past(tap, cursor_id):
    return [m for _, m in tap.snapshot() if m.json()["outbox_id"] > cursor_id]


def freeze_with_publishes_past_cursor(svc, mariadb, setup, tap):
    """Freezes the relaying @svc at a moment when NATS has stored events it published
    past its durable cursor (publishes it had sent, acked or not, that its cursor does not
    cover yet): with NATS running, the frozen relay's last publishes are processed at
    once. A relay caught between two runs (all acked, cursor written) is thawed, allowed
    one more PubAck, and frozen again. Returns the cursor, which cannot move any more."""
    for _ in range(50):
        freeze(svc)
        poll(lambda: mysql_idle(mariadb, setup), 30, what="the frozen relay's SQL done")
        at = cursor(mariadb, setup)
        try:
            poll(lambda: past(tap, at), 2, what="publishes past the cursor")
            return at
        except AssertionError:
            svc.proc.send_signal(signal.SIGCONT)
            before = metric(svc, "payment_events_published_total")
            poll(lambda: metric(svc, "payment_events_published_total") > before, 30,
                 what="the relay publishing again")
    raise AssertionError("the relay was never frozen with a publish past its cursor")


def test_relay_killed_mid_stream(fresh_service, events_consumer, mariadb, setup):
    """SIGKILL mid-stream with publishes in flight: the relaying instance is frozen
    (SIGSTOP) at a moment when NATS has stored events it published past its durable
    cursor, and killed (SIGKILL). A new instance resumes from the cursor and publishes
    those events again: the wire shows them twice, with the same Nats-Msg-Id and body;
    the stream keeps one copy (duplicate window), nothing is lost, and the consumer gets
    every event."""
    mariadb.create_database(setup.database)
    first = fresh_service({"PAYMENT_EVENTS_NATS_URL": ""}, database_name=setup.database)
    events.wait_schema(mariadb, setup.database)
    first.stop_and_check()   # schema made; now a backlog the relay needs a while for
    _, last_id = events.insert_backlog(mariadb, setup.database, 20000,
                                       data.order_id(block=20000))
    tap = WireTap(setup.nats)
    try:
        a = fresh_service(setup.env(), database_name=setup.database)
        poll(lambda: metric(a, "payment_events_published_total") >= 1, 60, interval=0.01,
             what="relay under way")
        at_kill = freeze_with_publishes_past_cursor(a, mariadb, setup, tap)
        a.proc.kill()                       # SIGKILL
        a.proc.wait()
        a.proc = None
        assert cursor(mariadb, setup) == at_kill
        assert at_kill is not None and at_kill < last_id, (
            f"cursor {at_kill}: the relay finished before it was killed")
        b = fresh_service(setup.env(), database_name=setup.database)
        wait_drained(b, mariadb, setup, timeout=300)
    finally:
        wire = tap.stop()
    rows, lines = check_delivery(events_consumer, mariadb, setup, "audit",
                                 exactly_once=False)
    assert stream_state(setup)["state"]["messages"] == len(rows)   # dedup within the window
    copies = {}
    for _, m in wire:
        copies.setdefault(m.json()["event_id"], []).append(m)
    assert set(copies) == {r["event_id"] for r in rows}
    twice = {eid: ms for eid, ms in copies.items() if len(ms) > 1}
    assert twice, "no event was published twice: the kill left nothing in flight"
    for eid, ms in twice.items():
        assert {m.headers.get("Nats-Msg-Id") for m in ms} == {eid}, [m.headers for m in ms]
        assert len({m.data for m in ms}) == 1, [m.data for m in ms]
    # The new instance started at the cursor: what went out twice lies beyond it.
    assert all(ms[0].json()["outbox_id"] > at_kill for ms in twice.values()), at_kill


def test_two_instances_one_relays_and_the_other_takes_over(fresh_service, events_consumer,
                                                           mariadb, setup):
    mariadb.create_database(setup.database)
    a = fresh_service(setup.env(), database_name=setup.database)
    b = fresh_service(setup.env(), database_name=setup.database)
    both = [a, b]

    def leaders():
        flags = [metric(s, "payment_events_relay_leader") for s in both]
        assert sum(flags) <= 1, f"two leaders: {flags}"
        return flags

    poll(lambda: sum(leaders()) == 1, 30, what="one leader")
    leader = both[leaders().index(1)]
    other = b if leader is a else a
    pay_many(a, 10, threads=2)
    pay_many(b, 10, threads=2)
    wait_drained(leader, mariadb, setup)
    rows = events.outbox(mariadb, setup.database)
    assert metric(leader, "payment_events_published_total") == len(rows)
    assert metric(other, "payment_events_published_total") == 0
    assert metric(other, "payment_events_relay_lag_events") == 0
    for _ in range(5):      # still one leader on every look
        assert leaders().count(1) == 1
    leader.proc.kill()
    leader.proc.wait()
    leader.proc = None
    both = [other]
    t0 = time.monotonic()
    poll(lambda: metric(other, "payment_events_relay_leader") == 1, 30, what="takeover")
    took = time.monotonic() - t0
    pay_many(other, 10, threads=2)
    wait_drained(other, mariadb, setup)
    check_delivery(events_consumer, mariadb, setup, "orders", exactly_once=False)
    print(f"takeover after SIGKILL of the leader: {took:.2f} s")


def test_leader_without_nats_hands_the_lock_over(fresh_service, events_consumer, mariadb,
                                                setup, servers_dir):
    """The relaying instance that cannot reach NATS lets the lock go (after 10 s, the
    cursor recorded first) to an instance that can: here each instance has a NATS server of
    its own, and the leader's is stopped."""
    mariadb.create_database(setup.database)
    a = fresh_service(setup.env(), database_name=setup.database)
    poll(lambda: metric(a, "payment_events_relay_leader") == 1, 30, what="a leads")
    other_nats = NatsServer(os.path.join(servers_dir, "nats-handover-b"))
    other_nats.start()
    try:
        env_b = setup.env()
        env_b["PAYMENT_EVENTS_NATS_URL"] = other_nats.url
        b = fresh_service(env_b, database_name=setup.database)
        wait_events_health(b, "up")
        pay_many(a, 10, threads=2)
        wait_drained(a, mariadb, setup)
        before = len(events.outbox(mariadb, setup.database))
        assert metric(b, "payment_events_relay_leader") == 0
        setup.nats.stop()
        wait_events_health(a, "down")
        pay_many(a, 10, threads=2)
        poll(lambda: metric(b, "payment_events_relay_leader") == 1, 60, what="b takes over")
        assert metric(a, "payment_events_relay_leader") == 0
        wait_drained(b, mariadb, setup)
        # b published what a had not: the events after a's cursor, each once
        after = len(events.outbox(mariadb, setup.database))
        assert metric(b, "payment_events_published_total") == after - before
    finally:
        other_nats.stop()


class HeldEvent:
    """A mariadb client session that inserted a payment_events row in a transaction it
    keeps open (BEGIN, INSERT, no COMMIT): the id is taken, the row not visible."""

    def __init__(self, mariadb, database):
        self.event_id = str(uuid.uuid4())
        self.proc = subprocess.Popen(mariadb.client_args(database) + ["--unbuffered"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.proc.stdin.write(
            "BEGIN;\nINSERT INTO payment_events (event_id, event_type, transaction_id,"
            " order_id, refund_id, amount_cents, status, created_at_ms, caller) VALUES"
            f" ('{self.event_id}', 'charge', '{uuid.uuid4()}', {data.order_id()}, NULL,"
            f" 777, 1, {int(time.time() * 1000)}, NULL);\nSELECT LAST_INSERT_ID();\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line.isdigit(), f"mariadb client: {line!r}"
        self.id = int(line)

    def end(self, sql):
        self.proc.stdin.write(sql + ";\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0, self.proc.stdout.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def published_ids(tap):
    return {m.json()["event_id"] for _, m in tap.snapshot()}


def hold_gap_and_check(svc, mariadb, setup, tap, ending):
    """Holds a transaction with an event open, commits 3 payments (and their refunds)
    after it, shows that none of their events is published while it is open, then ends it with @ending (COMMIT or
    ROLLBACK) and shows that they all are then."""
    held = HeldEvent(mariadb, setup.database)
    try:
        later = pay_many(svc, 3, threads=1)
        later_rows = events.outbox(mariadb, setup.database, f"id > {held.id}")
        assert len(later_rows) >= 3 and all(r["transaction_id"] in later for r in later_rows)
        # The relay knows they are there (committed, not acked)...
        poll(lambda: metric(svc, "payment_events_relay_lag_events") >= len(later_rows), 30,
             what=f"{len(later_rows)} committed events behind the gap")
        # ...and holds them back behind the gap. What a test cannot poll for is that
        # something does NOT happen: this watches the wire for a while (several of the
        # relay's one-second rounds), failing at the first later event published.
        watch_until = time.monotonic() + 3.0
        while time.monotonic() < watch_until:
            early = published_ids(tap) & {r["event_id"] for r in later_rows}
            assert not early, f"published past an open gap (id {held.id}): {early}"
            time.sleep(0.05)
        assert cursor(mariadb, setup) < held.id
        held.end(ending)
    finally:
        held.kill()
    wanted = {r["event_id"] for r in later_rows}
    if ending == "COMMIT":
        wanted.add(held.event_id)
    poll(lambda: wanted <= published_ids(tap), 60, what=f"events published after {ending}")
    wait_drained(svc, mariadb, setup)
    if ending == "ROLLBACK":
        assert held.event_id not in published_ids(tap)
    return held


def test_gap_holds_later_events_until_it_commits_or_rolls_back(fresh_service,
                                                               events_consumer, mariadb,
                                                               setup):
    # gap_wait_seconds far above the test's duration: only the rule can pass the gap.
    svc = fresh_service(setup.env(gap_wait_seconds=3600), database_name=setup.database)
    wait_events_health(svc, "up")
    tap = WireTap(setup.nats)
    try:
        pay_many(svc, 2, threads=1)
        wait_drained(svc, mariadb, setup)
        filled0 = metric(svc, "payment_events_gaps_total", outcome="filled")
        passed0 = metric(svc, "payment_events_gaps_total", outcome="passed")
        held = hold_gap_and_check(svc, mariadb, setup, tap, "COMMIT")
        assert metric(svc, "payment_events_gaps_total", outcome="filled") >= filled0 + 1
        # The held event went out before the later ones: they were behind it.
        order = [m.json()["event_id"] for _, m in tap.snapshot()]
        assert order.index(held.event_id) < min(
            order.index(r["event_id"])
            for r in events.outbox(mariadb, setup.database, f"id > {held.id}"))
        hold_gap_and_check(svc, mariadb, setup, tap, "ROLLBACK")
        assert metric(svc, "payment_events_gaps_total", outcome="passed") >= passed0 + 1
    finally:
        tap.stop()
    check_delivery(events_consumer, mariadb, setup, "gaps")


def test_health_reports_events(fresh_service, events_consumer, mariadb, setup):
    off = fresh_service({"PAYMENT_EVENTS_NATS_URL": ""}, database_name=setup.database)
    assert health(off) == (200, "disabled")
    assert metric(off, "payment_events_relay_leader") == 0
    off.stop_and_check()
    svc = fresh_service(setup.env(), database_name=setup.database)
    wait_events_health(svc, "up")
    setup.nats.stop()
    try:
        wait_events_health(svc, "down")
        # A charge and a refund while NATS is down: answered, and their events wait.
        txs = pay_many(svc, 1, threads=1) + pay_many(svc, 1, threads=1)
        assert all(txs)
        assert health(svc) == (200, "down")
    finally:
        setup.nats.start()
    wait_events_health(svc, "up")
    wait_drained(svc, mariadb, setup)
    check_delivery(events_consumer, mariadb, setup, "health")

