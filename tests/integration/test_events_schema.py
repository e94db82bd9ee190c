"""docs/events.schema.json, the JSON Schema every received event is validated against
(test_events), is itself checked here: it is a valid schema, it accepts the messages
docs/events.md shows, and it refuses each way a message can be wrong (a missing or extra
field, card data, a UUID of the wrong version or case, a refund field on a charge, a
status that cannot follow the event, a time not in UTC milliseconds). The checks beyond
the schema (support/events.check_line) are checked the same way. No servers needed."""

import copy
import json
import os
import re

import pytest

from support import env, events

CHARGE = {
    "event_id": "8c1f0b9e-4f4b-4d2a-9a53-3f1f6a2b7c10",
    "type": "payment.charged",
    "outbox_id": 1234,
    "transaction_id": "0b0f3c2e-7d7e-4d8e-9b1a-2f8f5f0e6a11",
    "order_id": 42,
    "amount": 19.99,
    "amount_cents": 1999,
    "status": "PAID",
    "occurred_at": "2026-12-03T14:18:19.123Z",
    "occurred_at_ms": 1796307499123,
    "caller": None,
}

REFUND = dict(CHARGE, event_id="3e0c5a7d-1b2c-4d3e-8f4a-5b6c7d8e9f00", type="payment.refunded",
              outbox_id=1240, refund_id="6f1e2d3c-4b5a-4968-8776-655443322110", amount=5,
              amount_cents=500, status="PARTIALLY_REFUNDED", caller="key:ops")


def with_(base, **changes):
    ev = copy.deepcopy(base)
    for k, v in changes.items():
        if v is DROP:
            ev.pop(k, None)
        else:
            ev[k] = v
    return ev


DROP = object()


def test_schema_is_a_valid_schema():
    with open(env.EVENTS_SCHEMA) as f:
        schema = json.load(f)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    events.validator()   # check_schema() inside


@pytest.mark.parametrize("ev", [
    CHARGE,
    REFUND,
    with_(REFUND, status="REFUNDED", caller="http:127.0.0.1"),
    with_(REFUND, caller="rpc:10.0.0.8"),
    with_(CHARGE, amount=0.01, amount_cents=1),
    with_(CHARGE, order_id=9223372036854775807),
], ids=["charge", "refund", "refund-full", "refund-rpc", "one-cent", "max-order"])
def test_valid_events(ev):
    assert events.schema_errors(ev) == []


# Each (label, event) must be refused by the schema.
INVALID = [
    ("no-event-id", with_(CHARGE, event_id=DROP)),
    ("uuid-v1", with_(CHARGE, event_id="8c1f0b9e-4f4b-1d2a-9a53-3f1f6a2b7c10")),
    ("uuid-upper-case", with_(CHARGE, event_id="8C1F0B9E-4F4B-4D2A-9A53-3F1F6A2B7C10")),
    ("uuid-bad-variant", with_(CHARGE, event_id="8c1f0b9e-4f4b-4d2a-1a53-3f1f6a2b7c10")),
    ("unknown-type", with_(CHARGE, type="payment.voided")),
    ("outbox-id-string", with_(CHARGE, outbox_id="1234")),
    ("order-id-zero", with_(CHARGE, order_id=0)),
    ("order-id-string", with_(CHARGE, order_id="42")),
    ("amount-zero", with_(CHARGE, amount=0)),
    ("amount-string", with_(CHARGE, amount="19.99")),
    ("cents-float", with_(CHARGE, amount_cents=1999.5)),
    ("cents-missing", with_(CHARGE, amount_cents=DROP)),
    ("status-unknown", with_(CHARGE, status="VOID")),
    ("charge-not-paid", with_(CHARGE, status="REFUNDED")),
    ("charge-with-refund-id", with_(CHARGE, refund_id="6f1e2d3c-4b5a-4968-8776-655443322110")),
    ("refund-without-refund-id", with_(REFUND, refund_id=DROP)),
    ("refund-status-paid", with_(REFUND, status="PAID")),
    ("time-offset", with_(CHARGE, occurred_at="2026-12-03T15:18:19.123+01:00")),
    ("time-seconds", with_(CHARGE, occurred_at="2026-12-03T14:18:19Z")),
    ("time-micros", with_(CHARGE, occurred_at="2026-12-03T14:18:19.123456Z")),
    ("ms-float", with_(CHARGE, occurred_at_ms=1796307499123.5)),
    ("caller-missing", with_(CHARGE, caller=DROP)),
    ("caller-unknown-kind", with_(CHARGE, caller="ip:10.0.0.7")),
    ("caller-number", with_(CHARGE, caller=7)),
    ("card-number", with_(CHARGE, card_number="4242424242424242")),
    ("card-last4", with_(CHARGE, card_last4="4242")),
    ("card-brand", with_(CHARGE, card_brand="visa")),
    ("cvv", with_(CHARGE, cvv=123)),
    ("not-an-object", ["payment.charged"]),
]


@pytest.mark.parametrize("ev", [e for _, e in INVALID], ids=[label for label, _ in INVALID])
def test_invalid_events_are_refused(ev):
    assert events.schema_errors(ev) != []


def line_for(ev, raw_event=None, subject=None, msg_id=None):
    """A line as the consumer prints it for @ev (raw_event: the body's exact text)."""
    body = raw_event if raw_event is not None else json.dumps(ev)
    raw = (f'{{"event":{body},"msg_id":{json.dumps(msg_id or ev["event_id"])},'
           f'"subject":{json.dumps(subject or ev["type"])},"stream_seq":1,"delivered":1,'
           '"duplicate":false}')
    line = json.loads(raw)
    line["raw"] = raw
    return line


def test_check_line_accepts_the_examples():
    for ev in (CHARGE, REFUND, with_(CHARGE, amount=20, amount_cents=2000),
               with_(CHARGE, amount=19.5, amount_cents=1950)):
        assert events.check_line(line_for(ev)) == ev


@pytest.mark.parametrize("label, line", [
    ("amount-not-cents", line_for(with_(CHARGE, amount=19.98))),
    ("amount-trailing-zero", line_for(CHARGE, raw_event=json.dumps(
        with_(CHARGE, amount=20, amount_cents=2000)).replace('"amount": 20', '"amount": 20.0'))),
    ("amount-rounded", line_for(CHARGE, raw_event=json.dumps(CHARGE).replace(
        '"amount": 19.99', '"amount": 19.990000000000002'))),
    ("times-differ", line_for(with_(CHARGE, occurred_at_ms=1796307499124))),
    ("subject-not-type", line_for(CHARGE, subject="payment.refunded")),
    ("msg-id-not-event-id", line_for(CHARGE, msg_id="3e0c5a7d-1b2c-4d3e-8f4a-5b6c7d8e9f00")),
    ("invalid-event", line_for(with_(CHARGE, status="REFUNDED"))),
], ids=lambda v: v if isinstance(v, str) else "")
def test_check_line_refuses(label, line):
    with pytest.raises(AssertionError):
        events.check_line(line)


def test_check_line_finds_the_card_number():
    # A field the schema would refuse anyway: the card check stands on its own too.
    with pytest.raises(AssertionError, match="card"):
        events.assert_no_card_data(with_(CHARGE, note="4242424242424242"),
                                   cards=["4242424242424242"])
    with pytest.raises(AssertionError, match="card brand"):
        events.assert_no_card_data(with_(CHARGE, note="VISA"))


def test_docs_show_the_examples_the_schema_accepts():
    """Every JSON object in docs/events.md's ```json blocks that has an event_id is a
    valid event: the document and the schema cannot drift apart."""
    with open(os.path.join(env.SOURCE_DIR, "docs", "events.md")) as f:
        doc = f.read()
    blocks = re.findall(r"```json\n(.*?)```", doc, re.S)
    shown = [json.loads(b) for b in blocks]
    shown = [ev for ev in shown if isinstance(ev, dict) and "event_id" in ev]
    assert len(shown) >= 2, "docs/events.md shows no charge and refund example"
    for ev in shown:
        assert events.schema_errors(ev) == [], ev
    assert {ev["type"] for ev in shown} == {"payment.charged", "payment.refunded"}
