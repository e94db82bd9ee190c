"""The consumer example (examples/events-consumer/) against a real `nats-server -js`,
with the messages published by the suite itself (support/nats.py), so that what
test_events concludes from the consumer's output rests on a consumer shown to be right:
it reads every message once through a durable consumer and acks it (a second run of the
same durable gets nothing again), it marks a second message with a known event_id as a
duplicate (in memory, and across runs with -seen-file), it reports the Nats-Msg-Id header,
subject and stream sequence, it waits for a stream that is created late, and it exits
non-zero on a malformed message (left unacked), a missing stream, and a -timeout."""

import json
import os
import subprocess
import uuid

import pytest

from support import events
from support.nats import NatsServer, stream_config


@pytest.fixture(scope="module")
def nats_server(servers_dir):
    s = NatsServer(os.path.join(servers_dir, "nats-consumer"))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def stream(nats_server):
    """A fresh stream of the relay's shape, under a name of its own for each test."""
    name = f"EV_{uuid.uuid4().hex[:12].upper()}"
    with nats_server.client() as c:
        c.add_stream(dict(stream_config(name), subjects=[f"{name.lower()}.>"]))
    return name


def event(subject_type="payment.charged", **kw):
    ev = {"event_id": str(uuid.uuid4()), "type": subject_type}
    ev.update(kw)
    return ev


def publish(nats_server, stream, evs, msg_ids=True):
    """Publishes @evs to @stream (subject: <stream>.<type suffix>); returns the PubAcks."""
    acks = []
    with nats_server.client() as c:
        for ev in evs:
            subject = f"{stream.lower()}.{ev['type'].split('.')[1]}"
            acks.append(c.js_publish(subject, json.dumps(ev).encode(),
                                     msg_id=ev["event_id"] if msg_ids else None))
    return acks


def run(events_consumer, nats_server, stream, durable, **kw):
    kw.setdefault("timeout", 30)
    return events.consume(events_consumer, nats_server.url, durable, stream=stream, **kw)


def test_reads_each_message_once_and_acks_it(events_consumer, nats_server, stream):
    evs = [event(), event("payment.refunded"), event()]
    acks = publish(nats_server, stream, evs)
    r = run(events_consumer, nats_server, stream, "d1", count=3)
    assert r.returncode == 0, r
    assert [ln["event"] for ln in r.lines] == evs
    assert [ln["msg_id"] for ln in r.lines] == [ev["event_id"] for ev in evs]
    assert [ln["subject"] for ln in r.lines] == [f"{stream.lower()}.charged",
                                                 f"{stream.lower()}.refunded",
                                                 f"{stream.lower()}.charged"]
    assert [ln["stream_seq"] for ln in r.lines] == [a["seq"] for a in acks]
    assert all(ln["delivered"] == 1 and not ln["duplicate"] for ln in r.lines), r
    # Acked (and the acks confirmed): the durable has nothing pending, and a second run
    # with the same durable gets only what came after.
    with nats_server.client() as c:
        info = c.consumer_info(stream, "d1")
    assert info["num_ack_pending"] == 0 and info["num_pending"] == 0, info
    assert info["config"]["ack_policy"] == "explicit", info
    later = [event()]
    publish(nats_server, stream, later)
    r2 = run(events_consumer, nats_server, stream, "d1", idle=1.5)
    assert r2.returncode == 0, r2
    assert [ln["event"] for ln in r2.lines] == later


def test_second_message_with_a_known_event_id_is_a_duplicate(events_consumer, nats_server,
                                                             stream):
    """Within the duplicate window JetStream drops a re-publish with the same Nats-Msg-Id;
    past it (here: published without the header, which is what JetStream sees then) the
    stream holds it twice, and the consumer's own check on event_id catches it."""
    a, b = event(), event()
    acks = publish(nats_server, stream, [a, b, a])
    assert acks[2].get("duplicate") is True and acks[2]["seq"] == acks[0]["seq"], acks
    publish(nats_server, stream, [a], msg_ids=False)
    r = run(events_consumer, nats_server, stream, "d1", idle=1.5)
    assert r.returncode == 0, r
    assert [(ln["event"]["event_id"], ln["duplicate"]) for ln in r.lines] == [
        (a["event_id"], False), (b["event_id"], False), (a["event_id"], True)], r
    assert r.lines[2]["msg_id"] == "", r   # the header-less copy
    assert "3 messages, 2 unique events, 1 duplicates" in r.stderr, r


def test_seen_file_keeps_duplicates_out_across_runs(events_consumer, nats_server, stream,
                                                    tmp_path):
    a, b = event(), event()
    publish(nats_server, stream, [a, b])
    seen = str(tmp_path / "seen")
    r = run(events_consumer, nats_server, stream, "d1", count=2, seen_file=seen)
    assert r.returncode == 0, r
    with open(seen) as f:
        assert f.read().split() == [a["event_id"], b["event_id"]]
    # Another durable (a consumer rebuilt from scratch) reads the stream from its start:
    # the file knows both ids.
    r2 = run(events_consumer, nats_server, stream, "d2", idle=1.5, seen_file=seen)
    assert r2.returncode == 0, r2
    assert [ln["duplicate"] for ln in r2.lines] == [True, True], r2


def test_waits_for_a_stream_created_later(events_consumer, nats_server):
    name = f"EV_{uuid.uuid4().hex[:12].upper()}"
    r = run(events_consumer, nats_server, name, "d1", count=1, timeout=5)
    assert r.returncode == 1 and "not found" in r.stderr, r
    p = subprocess.Popen([events_consumer, "-url", nats_server.url, "-stream", name,
                          "-durable", "d1", "-count", "1", "-stream-wait", "30s",
                          "-timeout", "30s"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        with nats_server.client() as c:
            c.add_stream(dict(stream_config(name), subjects=[f"{name.lower()}.>"]))
        ev = event()
        publish(nats_server, name, [ev])
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert json.loads(out)["event"] == ev


def test_malformed_message_fails_and_stays_unacked(events_consumer, nats_server, stream):
    with nats_server.client() as c:
        c.js_publish(f"{stream.lower()}.charged", b"not json", msg_id="m1")
    r = run(events_consumer, nats_server, stream, "d1", count=1)
    assert r.returncode == 1 and "not a JSON object" in r.stderr, r
    assert r.lines == [], r
    with nats_server.client() as c:
        info = c.consumer_info(stream, "d1")
    # Delivered, not acked: JetStream will deliver it again.
    assert info["ack_floor"]["stream_seq"] == 0 and info["num_ack_pending"] == 1, info
    with nats_server.client() as c:
        c.js_publish(f"{stream.lower()}.charged", b'{"type":"payment.charged"}', msg_id="m2")
    r = run(events_consumer, nats_server, stream, "d2", count=1)
    assert r.returncode == 1 and "not a JSON object" in r.stderr, r   # seq 1 first


def test_timeout_before_count_fails(events_consumer, nats_server, stream):
    publish(nats_server, stream, [event()])
    r = run(events_consumer, nats_server, stream, "d1", count=2, timeout=2)
    assert r.returncode == 1 and "1 unique events of 2 wanted" in r.stderr, r


def test_usage_errors(events_consumer):
    p = subprocess.run([events_consumer, "-url", "nats://127.0.0.1:1"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and "something must end the run" in p.stderr, p
    p = subprocess.run([events_consumer, "-url", "nats://127.0.0.1:1", "-count", "1"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "connect" in p.stderr, p
