"""The events suites' side of docs/events.md: running the consumer example
(examples/events-consumer/) and reading its JSON lines, the JSON Schema of a message
(docs/events.schema.json), and the checks every received message must pass beyond the
schema (amount and amount_cents agree exactly, the two times agree, type = subject,
Nats-Msg-Id = event_id, no card data)."""

import datetime
import decimal
import json
import subprocess
import time
import uuid

import jsonschema

from . import env
from .service import poll

STREAM = "PAYMENT_EVENTS"
SUBJECTS = {"charge": "payment.charged", "refund": "payment.refunded"}
STATUS_NAMES = {1: "PAID", 2: "PARTIALLY_REFUNDED", 3: "REFUNDED"}


class ConsumerRun:
    """One finished run of the consumer: its exit status, the lines it printed (dicts,
    each with "event" parsed, and "raw": the line's text), and its stderr."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stderr = stderr
        self.lines = []
        for text in stdout.splitlines():
            if text.strip():
                line = json.loads(text)
                line["raw"] = text    # numbers exactly as written (json.loads rounds)
                self.lines.append(line)

    def unique(self):
        """The lines whose event_id was new to the consumer."""
        return [ln for ln in self.lines if not ln["duplicate"]]

    def __repr__(self):
        return (f"ConsumerRun(exit {self.returncode}, {len(self.lines)} lines, "
                f"stderr {self.stderr[-800:]!r})")


def consume(binary, url, durable, count=None, idle=None, timeout=60.0, stream=STREAM,
            stream_wait=None, seen_file=None, extra=()):
    """Runs the consumer until it stops by itself (after @count unique events, @idle
    seconds without a message, or a failure after @timeout seconds) and returns the
    ConsumerRun. The consumer's own -timeout bounds the run; the subprocess timeout is a
    backstop."""
    args = [binary, "-url", url, "-stream", stream, "-durable", durable,
            "-timeout", f"{timeout}s"]
    if count is not None:
        args += ["-count", str(count)]
    if idle is not None:
        args += ["-idle", f"{idle}s"]
    if stream_wait is not None:
        args += ["-stream-wait", f"{stream_wait}s"]
    if seen_file is not None:
        args += ["-seen-file", seen_file]
    args += list(extra)
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 60)
    return ConsumerRun(args, p.returncode, p.stdout, p.stderr)


def consume_ok(binary, url, durable, count, timeout=60.0, **kw):
    """consume() that must end with @count unique events; returns the ConsumerRun."""
    run = consume(binary, url, durable, count=count, timeout=timeout, **kw)
    assert run.returncode == 0, f"consumer failed: {run}"
    assert len(run.unique()) == count, run
    return run


# ---- the schema ----

_validator = []


def validator():
    """A validator of docs/events.schema.json (the schema itself checked first)."""
    if not _validator:
        with open(env.EVENTS_SCHEMA) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validator.append(cls(schema))
    return _validator[0]


def schema_errors(event):
    """The schema's complaints about @event (a dict), as strings; [] when valid."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator().iter_errors(event)]


# ---- every message ----

# Names and values that would be card data in a message; none may appear.
CARD_KEYS = ("card", "cvv", "pan", "last4", "brand", "expir", "credit")


def check_line(line, cards=()):
    """Asserts what every message must satisfy (docs/events.md), @line as the consumer
    printed it; @cards: the card numbers the test used. Returns the event."""
    ev = line["event"]
    errs = schema_errors(ev)
    assert not errs, f"event does not validate against docs/events.schema.json: {errs}: {ev}"
    assert line["subject"] == ev["type"], line
    assert line["msg_id"] == ev["event_id"], f"Nats-Msg-Id is not the event_id: {line}"
    # Exactly the same money twice: amount is written from the cents, shortest decimal.
    exact = json.loads(line["raw"], parse_float=str, parse_int=str)["event"]
    assert decimal.Decimal(exact["amount"]) * 100 == ev["amount_cents"], ev
    assert exact["amount"] == shortest_decimal(ev["amount_cents"]), (exact["amount"], ev)
    # The two times are one instant.
    t = datetime.datetime.strptime(ev["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert round(t.timestamp() * 1000) == ev["occurred_at_ms"], ev
    assert_no_card_data(ev, cards)
    return ev


def shortest_decimal(cents):
    """The shortest exact decimal of @cents / 100, as docs/events.md writes amount."""
    whole, frac = divmod(int(cents), 100)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:02d}".rstrip("0")


def assert_no_card_data(event, cards=()):
    for key in event:
        assert not any(k in key.lower() for k in CARD_KEYS), f"card-like key {key}: {event}"
    text = json.dumps(event)
    for number in cards:
        assert number not in text, f"a card number is in the event: {event}"
    for brand in ("visa", "mastercard", "amex", "discover", "jcb", "diners"):
        assert brand not in text.lower(), f"a card brand is in the event: {event}"


# ---- what MySQL holds ----

def outbox(mariadb, database, where="1=1"):
    """payment_events rows as dicts (ids and amounts as int), in id order."""
    cols = ["id", "event_id", "event_type", "transaction_id", "order_id", "refund_id",
            "amount_cents", "status", "created_at_ms", "caller"]
    rows = mariadb.query(f"SELECT {', '.join(cols)} FROM payment_events WHERE {where} "
                         "ORDER BY id", database)
    out = []
    for r in rows:
        d = dict(zip(cols, r))
        for k in ("id", "order_id", "amount_cents", "status", "created_at_ms"):
            d[k] = int(d[k])
        out.append(d)
    return out


def assert_matches_outbox(ev, row):
    """The message says what its payment_events row says."""
    assert ev["event_id"] == row["event_id"], (ev, row)
    assert ev["outbox_id"] == row["id"], (ev, row)
    assert ev["type"] == SUBJECTS[row["event_type"]], (ev, row)
    assert ev["transaction_id"] == row["transaction_id"], (ev, row)
    assert ev["order_id"] == row["order_id"], (ev, row)
    assert ev.get("refund_id") == row["refund_id"], (ev, row)
    assert ev["amount_cents"] == row["amount_cents"], (ev, row)
    assert ev["status"] == STATUS_NAMES[row["status"]], (ev, row)
    assert ev["occurred_at_ms"] == row["created_at_ms"], (ev, row)
    assert ev["caller"] == row["caller"], (ev, row)


def wait_schema(mariadb, database, timeout=30):
    """Polls until the service has made payment_events in @database (it sets up the
    schema at start, not necessarily before /health first answers)."""
    poll(lambda: mariadb.query("SELECT COUNT(*) FROM information_schema.TABLES WHERE"
                               f" TABLE_SCHEMA = '{database}'"
                               " AND TABLE_NAME = 'payment_events'")[0][0] == "1",
         timeout, what=f"payment_events in {database}")


def insert_backlog(mariadb, database, n, first_order, chunk=5000):
    """Commits @n valid charge events straight into payment_events (no payments rows:
    the relay reads only the outbox), orders @first_order .. + n - 1, amounts 0.01 ..
    cycling; returns (first id, last id) of the rows. A backlog for the relay to drain."""
    now_ms = int(time.time() * 1000)
    before = int(mariadb.query("SELECT COALESCE(MAX(id), 0) FROM payment_events",
                               database)[0][0])
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            rows.append(f"('{uuid.uuid4()}', 'charge', '{uuid.uuid4()}', {first_order + i},"
                        f" NULL, {1 + i % 100000}, 1, {now_ms}, NULL)")
        mariadb.query("INSERT INTO payment_events (event_id, event_type, transaction_id,"
                      " order_id, refund_id, amount_cents, status, created_at_ms, caller)"
                      " VALUES " + ",\n".join(rows), database)
    first, last, count = (int(v) for v in mariadb.query(
        f"SELECT MIN(id), MAX(id), COUNT(*) FROM payment_events WHERE id > {before}",
        database)[0])
    assert count == n, (count, n)
    return first, last
