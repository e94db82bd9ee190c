"""The soak's checks can fail: each invariant of check.py, given MySQL rows and answers that
break it (no servers; a store and endpoints made by hand), reports its anomaly, and the
consistent case reports none."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import check  # noqa: E402
import clients  # noqa: E402
import load  # noqa: E402

TX = "0b7c2b6e-2f5d-4c3a-9a53-5a0d3e1c9f00"
TX2 = "1c8d3c7f-3a6e-4d4b-8b64-6b1e4f2da011"
ORDER = 10_000_001


class FakeStore:
    def __init__(self, payments=(), refunds=(), events=()):
        self.payments = {p["transaction_id"]: p for p in payments}
        self.refunds = list(refunds)
        self.events = list(events)
        self.by_order = {}
        for p in self.payments.values():
            self.by_order.setdefault(p["order_id"], []).append(p)


class FakeInstance:
    soak_name = "a"
    rpc_port = http_port = 1


class FakeSession:
    def __init__(self, outcome):
        self.outcome = outcome

    def query(self, tx=None, order=None):
        return self.outcome


def payment(refunded=0, status=1, amount=1000, tx=TX, order=ORDER):
    return {"transaction_id": tx, "order_id": order, "user_id": 7, "amount_cents": amount,
            "refunded_cents": refunded, "status": status, "payment_method": "credit_card",
            "card_brand": "visa", "card_last4": "1111", "created_at_ms": 1, "updated_at_ms": 2}


def refund_row(amount, total, status, key="k1", rid="r1"):
    return {"id": 1, "refund_id": rid, "transaction_id": TX, "refund_request_id": key,
            "requested_cents": amount, "reason": None, "amount_cents": amount,
            "total_refunded_cents": total, "status": status}


def charge_event(amount=1000, tx=TX, order=ORDER):
    return {"event_type": "charge", "transaction_id": tx, "order_id": order, "refund_id": None,
            "amount_cents": amount, "status": 1}


def refund_event(amount, rid="r1"):
    return {"event_type": "refund", "transaction_id": TX, "order_id": ORDER, "refund_id": rid,
            "amount_cents": amount, "status": 2}


def ledger_with_charge(txs=(TX,), unknown=0):
    ledger = load.Ledger(lambda: 0.0)
    c = load.Charge(ORDER, 7, 1000)
    c.txs, c.unknown, c.sent = list(txs), unknown, 1
    ledger.charges[ORDER] = c
    return ledger


def run_checks(ledger, store):
    checker = check.Checker(ledger, store, [FakeInstance()], 1.0)
    checker.check_charges()
    checker.check_refunds()
    checker.check_events()
    return sorted({a["kind"] for a in ledger.anomalies})


def test_consistent_run_has_no_anomaly():
    ledger = ledger_with_charge()
    r = load.Refund(ORDER, TX, "k1", 300, None)
    r.sent, r.replies = 1, [{"refund_id": "r1", "transaction_id": TX, "amount_cents": 300,
                             "total_cents": 300, "status": "PARTIALLY_REFUNDED"}]
    ledger.refunds[(TX, "k1")] = r
    store = FakeStore([payment(300, 2)], [refund_row(300, 300, 2)],
                      [charge_event(), refund_event(300)])
    assert run_checks(ledger, store) == []


@pytest.mark.parametrize("store,kinds", [
    (FakeStore([], [], []), ["answered-success-missing"]),
    (FakeStore([payment(tx=TX2)], [], [charge_event(tx=TX2)]), ["answered-success-missing"]),
    (FakeStore([payment()], [], []), ["charge-events"]),
    (FakeStore([payment()], [], [charge_event(), charge_event()]), ["charge-events"]),
    (FakeStore([payment(amount=999)], [], [charge_event(999)]), ["row-differs-from-request"]),
    (FakeStore([payment(), payment(tx=TX2, order=ORDER + 1)], [],
               [charge_event(), charge_event(tx=TX2, order=ORDER + 1)]),
     ["row-never-requested"]),
])
def test_charge_invariants(store, kinds):
    assert run_checks(ledger_with_charge(), store) == kinds


def test_two_transaction_ids_answered_for_one_order():
    ledger = ledger_with_charge(txs=(TX, TX2))
    assert "order-answered-twice" in run_checks(
        ledger, FakeStore([payment()], [], [charge_event()]))


@pytest.mark.parametrize("pay,rows,kinds", [
    # refunds sum past the charge
    (payment(1200, 3), [refund_row(1200, 1200, 3)],
     ["over-refunded-or-sum-differs", "payment-status", "refund-row-total"]),
    # the payment's total does not match its refund rows
    (payment(500, 2), [refund_row(300, 300, 2)], ["over-refunded-or-sum-differs"]),
    # a status that does not follow from the totals
    (payment(300, 3), [refund_row(300, 300, 2)], ["payment-status"]),
])
def test_refund_totals(pay, rows, kinds):
    ledger = ledger_with_charge()
    r = load.Refund(ORDER, TX, "k1", None, None)
    r.sent, r.unknown = 1, 1
    ledger.refunds[(TX, "k1")] = r
    store = FakeStore([pay], rows, [charge_event()] + [refund_event(x["amount_cents"])
                                                      for x in rows])
    assert run_checks(ledger, store) == kinds


def test_answered_refund_missing_and_refused_refund_stored():
    ledger = ledger_with_charge()
    answered = load.Refund(ORDER, TX, "k1", 300, None)
    answered.sent, answered.replies = 1, [{"refund_id": "r1", "transaction_id": TX,
                                           "amount_cents": 300, "total_cents": 300,
                                           "status": "PARTIALLY_REFUNDED"}]
    refused = load.Refund(ORDER, TX, "k2", 300, None)
    refused.sent, refused.last = 1, "4004005"
    ledger.refunds[(TX, "k1")] = answered
    ledger.refunds[(TX, "k2")] = refused
    store = FakeStore([payment(300, 2)], [refund_row(300, 300, 2, key="k2", rid="r2")],
                      [charge_event(), refund_event(300, rid="r2")])
    assert run_checks(ledger, store) == ["answered-refund-differs", "refused-refund-stored"]


DISAGREES, STALE = "query-disagrees-with-mysql", "query-stale-record"
REFUNDED_LATER = dict(payment(300, 2), updated_at_ms=3)


@pytest.mark.parametrize("outcome,row,kind", [
    (clients.Outcome(clients.ERROR, 4004004), None, None),
    (clients.Outcome(clients.ERROR, 4004004), payment(), DISAGREES),
    (clients.Outcome(clients.OK, check._info_of(payment())), payment(), None),
    (clients.Outcome(clients.OK, check._info_of(payment())), payment(300, 2), DISAGREES),
    (clients.Outcome(clients.OK, check._info_of(payment())), REFUNDED_LATER, STALE),
    (clients.Outcome(clients.UNKNOWN, "timeout"), payment(), DISAGREES),
])
def test_query_must_agree_with_mysql(outcome, row, kind):
    ledger = ledger_with_charge(txs=(), unknown=1)
    checker = check.Checker(ledger, FakeStore([row] if row else []), [FakeInstance()], 1.0)
    checker.session = lambda ep: FakeSession(outcome)
    checker.check_query("order", ORDER, (0, "rpc"))
    kinds = [a["kind"] for a in ledger.anomalies]
    assert kinds == ([kind] if kind else [])
