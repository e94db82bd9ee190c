"""The soak's load: worker threads running a seeded mix of charges, queries and refunds on
a random transport of a random instance, and the Ledger of what clients were told.

Each worker owns its orders and refund keys: only the worker that made an order retries
its charge, and only the one that made a refund key replays it, so the answers for one
key come one after another and their order means something. Queries and duplicate
charges pick from everybody's answered charges. A worker stops at the load's deadline,
when the whole run has made its operation budget, or on the stop event."""

import collections
import itertools
import re
import threading

import clients
from clients import BAD, ERROR, OK, UNKNOWN, UNSENT

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UNAVAILABLE = 4005005
MIX = [("charge", 40), ("charge-retry", 3), ("charge-again", 4), ("query-tx", 14),
       ("query-order", 8), ("refund", 18), ("refund-replay", 8)]
TRANSPORTS = ["rpc", "http"]


class Charge:
    """One order as its owner charged it: the amount, and every answer."""

    def __init__(self, order, user, amount_cents):
        self.order, self.user, self.amount_cents = order, user, amount_cents
        self.txs = []           # transaction ids answered (more than one is an anomaly)
        self.unknown = 0        # attempts without an answer (unknown, 4005005)
        self.sent = 0           # attempts that reached the wire (not "unsent")
        self.paid_answer = False  # 4005002 answered to a retry: paid by an earlier attempt


class Refund:
    """One refund key as its owner sent it, and the answers."""

    def __init__(self, order, tx, key, amount_cents, reason):
        self.order, self.tx, self.key = order, tx, key
        self.amount_cents, self.reason = amount_cents, reason
        self.replies = []       # every success reply (all must be equal)
        self.last = None        # label of the last answer that was not unknown/unsent
        self.unknown = 0        # attempts without an answer (unknown, 4005005)
        self.sent = 0           # attempts that reached the wire (not "unsent")


class Ledger:
    """What the clients were told, for the checks; shared by the workers."""

    def __init__(self, clock):
        self.lock = threading.Lock()
        self.clock = clock
        self.charges = {}       # order -> Charge
        self.paid = []          # (order, tx) of every charge answered with a success
        self.refunds = {}       # (tx, key) -> Refund
        self.counts = collections.Counter()   # (op, transport, label) -> n
        self.ops = 0
        self.anomalies = []

    def anomaly(self, kind, **detail):
        with self.lock:
            self.anomalies.append({"kind": kind, "at": round(self.clock(), 2), **detail})

    def count(self, op, transport, outcome):
        with self.lock:
            self.counts[(op, transport, outcome.label())] += 1

    def take_op(self, budget):
        with self.lock:
            if self.ops >= budget:
                return False
            self.ops += 1
            return True

    def add_paid(self, charge, tx):
        with self.lock:
            charge.txs.append(tx)
            self.paid.append((charge.order, tx))

    def pick_paid(self, rng):
        with self.lock:
            return rng.choice(self.paid) if self.paid else None


class Worker:
    def __init__(self, wid, rng, ledger, instances, timeout):
        self.wid, self.rng, self.ledger = wid, rng, ledger
        self.instances, self.timeout = instances, timeout
        self.sessions = {}
        self.orders = itertools.count((wid + 1) * 10_000_000 + 1)
        self.keys = itertools.count(1)
        self.mine = []          # my Charge objects whose outcome is still unknown
        self.my_refunds = []    # my Refund objects

    def session(self):
        inst = self.rng.randrange(len(self.instances))
        transport = self.rng.choice(TRANSPORTS)
        key = (inst, transport)
        if key not in self.sessions:
            self.sessions[key] = clients.session(self.instances[inst], transport, self.timeout)
        return self.sessions[key], f"{transport}@{self.instances[inst].soak_name}"

    def run(self, should_stop, budget):
        ops, weights = zip(*MIX)
        try:
            while not should_stop() and self.ledger.take_op(budget):
                op = self.rng.choices(ops, weights)[0]
                getattr(self, "op_" + op.replace("-", "_"))()
        except Exception as e:  # noqa: BLE001 - a crashed worker is a finding, not a hang
            self.ledger.anomaly("worker-crashed", worker=self.wid, error=repr(e))
        finally:
            for s in self.sessions.values():
                s.close()

    def _unexpected(self, op, where, out, **detail):
        self.ledger.anomaly("unexpected-answer", op=op, via=where, outcome=repr(out), **detail)

    # ---- charges ----

    def op_charge(self):
        c = Charge(next(self.orders), self.rng.randint(1, 10**6),
                   self.rng.randint(1, 100_000))
        with self.ledger.lock:
            self.ledger.charges[c.order] = c
        self._charge(c, "charge", fresh=True)

    def op_charge_retry(self):
        """Charges an order whose earlier attempt got no answer: the contract says a
        retry is safe (a success, or 4005002 if the first attempt committed)."""
        if not self.mine:
            return self.op_charge()
        self._charge(self.rng.choice(self.mine), "charge-retry", fresh=False)

    def _charge(self, c, op, fresh):
        s, where = self.session()
        out = s.charge(c.order, c.user, c.amount_cents)
        self.ledger.count(op, where, out)
        c.sent += out.kind != UNSENT
        if out.kind == OK and UUID4.match(out.value["transaction_id"] or ""):
            self.ledger.add_paid(c, out.value["transaction_id"])
            self._settle(c)
        elif out.kind == UNKNOWN or (out.kind == ERROR and out.value == UNAVAILABLE):
            c.unknown += 1
            if c not in self.mine:
                self.mine.append(c)
        elif out.kind == ERROR and out.value == 4005002 and not fresh:
            c.paid_answer = True
            self._settle(c)
        elif out.kind != UNSENT:
            self._unexpected(op, where, out, order=c.order)

    def _settle(self, c):
        if c in self.mine:
            self.mine.remove(c)

    def op_charge_again(self):
        """Charges an order that was answered paid: only 4005002 (or no answer) is right."""
        picked = self.ledger.pick_paid(self.rng)
        if picked is None:
            return self.op_charge()
        c = self.ledger.charges[picked[0]]
        s, where = self.session()
        out = s.charge(c.order, c.user, c.amount_cents)
        self.ledger.count("charge-again", where, out)
        if out.kind == OK:
            self.ledger.anomaly("charged-twice", via=where, order=c.order, first=picked[1],
                                second=out.value["transaction_id"])
        elif not _no_answer(out) and out.value != 4005002:
            self._unexpected("charge-again", where, out, order=c.order)

    # ---- queries ----

    def op_query_tx(self):
        self._query("query-tx", by_tx=True)

    def op_query_order(self):
        self._query("query-order", by_tx=False)

    def _query(self, op, by_tx):
        picked = self.ledger.pick_paid(self.rng)
        if picked is None:
            return self.op_charge()
        order, tx = picked
        s, where = self.session()
        out = s.query(tx=tx) if by_tx else s.query(order=order)
        self.ledger.count(op, where, out)
        if out.kind == OK:
            self._check_info(op, where, out.value, self.ledger.charges[order], tx)
        elif not _no_answer(out):
            self._unexpected(op, where, out, order=order, transaction_id=tx)

    def _check_info(self, op, where, info, c, tx):
        """What a query may answer for a charge answered paid, whatever else happens."""
        want = {"transaction_id": tx, "order_id": c.order, "user_id": c.user,
                "amount_cents": c.amount_cents, "card_brand": clients.CARD_BRAND,
                "card_last4": clients.CARD_LAST4, "payment_method": "credit_card"}
        wrong = {k: (info[k], v) for k, v in want.items() if info[k] != v}
        refunded = info["refunded_cents"]
        if not 0 <= refunded <= c.amount_cents:
            wrong["refunded_cents"] = (refunded, f"0..{c.amount_cents}")
        if info["status"] != status_of(refunded, c.amount_cents):
            wrong["status"] = (info["status"], status_of(refunded, c.amount_cents))
        if wrong:
            self.ledger.anomaly("query-wrong", op=op, via=where, order=c.order, wrong=wrong)

    # ---- refunds ----

    def op_refund(self):
        picked = self.ledger.pick_paid(self.rng)
        if picked is None:
            return self.op_charge()
        order, tx = picked
        c = self.ledger.charges[order]
        amount = None if self.rng.random() < 0.15 else \
            self.rng.randint(1, max(1, c.amount_cents // 3))
        reason = self.rng.choice([None, "soak", "damaged in transit"])
        r = Refund(order, tx, f"soak-{self.wid}-{next(self.keys)}", amount, reason)
        with self.ledger.lock:
            self.ledger.refunds[(tx, r.key)] = r
        self.my_refunds.append(r)
        self._refund(r, "refund", c)

    def op_refund_replay(self):
        if not self.my_refunds:
            return self.op_refund()
        r = self.rng.choice(self.my_refunds)
        self._refund(r, "refund-replay", self.ledger.charges[r.order])

    def _refund(self, r, op, c):
        s, where = self.session()
        out = s.refund(r.tx, r.key, r.amount_cents, r.reason)
        self.ledger.count(op, where, out)
        r.sent += out.kind != UNSENT
        if _no_answer(out):
            r.unknown += out.kind != UNSENT
            return
        if out.kind == OK:
            self._check_refund(op, where, r, c, out.value)
        elif out.kind == BAD or out.value != 4004005:
            self._unexpected(op, where, out, transaction_id=r.tx, key=r.key)
        r.last = out.label()

    def _check_refund(self, op, where, r, c, reply):
        wrong = {}
        if r.replies and reply != r.replies[0]:
            wrong["replay"] = (reply, r.replies[0])
        if r.amount_cents is not None and reply["amount_cents"] != r.amount_cents:
            wrong["amount_cents"] = (reply["amount_cents"], r.amount_cents)
        if not 0 < reply["total_cents"] <= c.amount_cents:
            wrong["total_cents"] = (reply["total_cents"], f"1..{c.amount_cents}")
        if reply["status"] != status_of(reply["total_cents"], c.amount_cents):
            wrong["status"] = reply["status"]
        if wrong:
            self.ledger.anomaly("refund-wrong", op=op, via=where, key=r.key, wrong=wrong)
        r.replies.append(reply)


def _no_answer(out):
    """No outcome known: nothing sent, nothing received, or 4005005."""
    return out.kind in (UNKNOWN, UNSENT) or (out.kind == ERROR and out.value == UNAVAILABLE)


def status_of(refunded, amount):
    if refunded == 0:
        return "PAID"
    return "REFUNDED" if refunded == amount else "PARTIALLY_REFUNDED"
