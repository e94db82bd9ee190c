"""The soak's invariants, checked after recovery against MySQL read directly (tables of
src/storage/schema.sql) and against what every instance answers on both transports.

  - every success answered is in MySQL exactly once, with its event; every event has its
    row and every row its one event;
  - no order is charged twice (one row per order, one transaction id answered per order);
    nothing is over-refunded (refunds sum to the payment's refunded_cents, which is at most
    its amount; each refund row's running total and status follow from the rows before);
  - every refund answered is stored with the reply it got; a key answered 4004005 and
    never a success has no row;
  - every charge or refund that got no answer (4005005, a timeout, a reset) resolves: a
    query by order on every instance and transport answers paid or 4004004, as MySQL says;
  - queries agree with MySQL on every instance and transport, field by field."""

import collections
import concurrent.futures
import threading

import clients
from clients import ERROR, OK, UNKNOWN, UNSENT
from load import TRANSPORTS, status_of

PAYMENT_COLUMNS = ["transaction_id", "order_id", "user_id", "amount_cents", "refunded_cents",
                   "status", "payment_method", "card_brand", "card_last4", "created_at_ms",
                   "updated_at_ms"]
INTEGERS = {"order_id", "user_id", "amount_cents", "refunded_cents", "status",
            "created_at_ms", "updated_at_ms", "requested_cents", "total_refunded_cents", "id"}
STATUS = {1: "PAID", 2: "PARTIALLY_REFUNDED", 3: "REFUNDED"}
NOT_FOUND = 4004004
ATTEMPTS = 5   # answers tried per query after recovery before "no answer" is a finding


def _rows(mariadb, database, sql, columns):
    out = []
    for r in mariadb.query(sql, database):
        d = dict(zip(columns, r))
        out.append({k: int(v) if k in INTEGERS and v is not None else v
                    for k, v in d.items()})
    return out


class Store:
    """The three tables, read once after recovery."""

    def __init__(self, mariadb, database):
        self.payments = {p["transaction_id"]: p for p in _rows(
            mariadb, database, f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments",
            PAYMENT_COLUMNS)}
        rcols = ["id", "refund_id", "transaction_id", "refund_request_id", "requested_cents",
                 "reason", "amount_cents", "total_refunded_cents", "status"]
        self.refunds = _rows(mariadb, database,
                             f"SELECT {', '.join(rcols)} FROM refunds ORDER BY id", rcols)
        ecols = ["event_type", "transaction_id", "order_id", "refund_id", "amount_cents",
                 "status"]
        self.events = _rows(mariadb, database,
                            f"SELECT {', '.join(ecols)} FROM payment_events ORDER BY id", ecols)
        self.by_order = collections.defaultdict(list)
        for p in self.payments.values():
            self.by_order[p["order_id"]].append(p)


class Checker:
    def __init__(self, ledger, store, instances, timeout):
        self.ledger, self.store = ledger, store
        self.instances, self.timeout = instances, timeout
        self.stats = collections.Counter()
        self.local = threading.local()

    def anomaly(self, kind, **detail):
        self.ledger.anomaly(kind, phase="check", **detail)

    def run(self):
        self.check_charges()
        self.check_refunds()
        self.check_events()
        self.check_queries()
        return dict(self.stats)

    # ---- MySQL against what clients were told ----

    def check_charges(self):
        attempted = self.ledger.charges
        for order, rows in self.store.by_order.items():
            if len(rows) > 1:
                self.anomaly("order-charged-twice", order=order, rows=len(rows))
            if order not in attempted:
                self.anomaly("row-never-requested", order=order)
        for c in attempted.values():
            self.check_charge(c, self.store.by_order.get(c.order, []))
        self.stats["payments_rows"] = len(self.store.payments)

    def check_charge(self, c, rows):
        row = rows[0] if rows else None
        if len(set(c.txs)) > 1:
            self.anomaly("order-answered-twice", order=c.order, txs=sorted(set(c.txs)))
        if c.txs and (row is None or row["transaction_id"] not in c.txs):
            self.anomaly("answered-success-missing", order=c.order, txs=c.txs,
                         row=row and row["transaction_id"])
        if c.paid_answer and row is None:
            self.anomaly("answered-paid-missing", order=c.order)
        if row is not None and (row["amount_cents"], row["user_id"]) != (c.amount_cents, c.user):
            self.anomaly("row-differs-from-request", order=c.order, row=row)
        if row is not None and c.sent == 0:
            self.anomaly("row-without-request-sent", order=c.order)
        if c.unknown:
            self.stats["charges_without_answer"] += 1
            self.stats["charges_without_answer_paid" if row else
                       "charges_without_answer_unpaid"] += 1

    def check_refunds(self):
        per_tx = collections.defaultdict(list)
        keyed = {}
        for r in self.store.refunds:
            per_tx[r["transaction_id"]].append(r)
            keyed[(r["transaction_id"], r["refund_request_id"])] = r
            if (r["transaction_id"], r["refund_request_id"]) not in self.ledger.refunds:
                self.anomaly("refund-never-requested", refund_id=r["refund_id"])
        for tx, p in self.store.payments.items():
            self.check_running_totals(p, per_tx.get(tx, []))
        for key, r in self.ledger.refunds.items():
            self.check_refund(r, keyed.get(key))
        self.stats["refund_rows"] = len(self.store.refunds)

    def check_running_totals(self, p, rows):
        total = 0
        for r in rows:
            total += r["amount_cents"]
            want = (total, status_of(total, p["amount_cents"]))
            if (r["total_refunded_cents"], STATUS[r["status"]]) != want:
                self.anomaly("refund-row-total", refund_id=r["refund_id"], want=want)
        if total != p["refunded_cents"] or total > p["amount_cents"]:
            self.anomaly("over-refunded-or-sum-differs", transaction_id=p["transaction_id"],
                         refunded_cents=p["refunded_cents"], rows_sum=total,
                         amount_cents=p["amount_cents"])
        if STATUS[p["status"]] != status_of(p["refunded_cents"], p["amount_cents"]):
            self.anomaly("payment-status", transaction_id=p["transaction_id"])

    def check_refund(self, r, row):
        if r.replies:
            first = r.replies[0]
            got = row and {"refund_id": row["refund_id"], "transaction_id": row["transaction_id"],
                           "amount_cents": row["amount_cents"],
                           "total_cents": row["total_refunded_cents"],
                           "status": STATUS[row["status"]]}
            if got != first:
                self.anomaly("answered-refund-differs", key=r.key, answered=first, row=got)
        elif r.last == "4004005" and row is not None:
            self.anomaly("refused-refund-stored", key=r.key, refund_id=row["refund_id"])
        elif r.sent == 0 and row is not None:
            self.anomaly("refund-row-without-request-sent", key=r.key)
        if r.unknown:
            self.stats["refunds_without_answer"] += 1
            self.stats["refunds_without_answer_committed" if row else
                       "refunds_without_answer_not"] += 1

    def check_events(self):
        charge_ev = collections.Counter()
        refund_ev = collections.Counter()
        refund_ids = {r["refund_id"]: r for r in self.store.refunds}
        for e in self.store.events:
            p = self.store.payments.get(e["transaction_id"])
            if e["event_type"] == "charge":
                charge_ev[e["transaction_id"]] += 1
                ok = p is not None and e["amount_cents"] == p["amount_cents"]
            else:
                refund_ev[e["refund_id"]] += 1
                r = refund_ids.get(e["refund_id"])
                ok = r is not None and e["amount_cents"] == r["amount_cents"]
            if not ok or p is None or e["order_id"] != p["order_id"]:
                self.anomaly("event-without-its-row", event=e)
        for tx in self.store.payments:
            if charge_ev[tx] != 1:
                self.anomaly("charge-events", transaction_id=tx, events=charge_ev[tx])
        for rid in refund_ids:
            if refund_ev[rid] != 1:
                self.anomaly("refund-events", refund_id=rid, events=refund_ev[rid])
        self.stats["event_rows"] = len(self.store.events)

    # ---- every instance and transport against MySQL ----

    def endpoints(self):
        return [(i, t) for i in range(len(self.instances)) for t in TRANSPORTS]

    def check_queries(self):
        """Every row by transaction id on both instances (transports in turn), and on every
        endpoint when it was refunded or its charge got no answer; every order by order id
        on one endpoint in turn, and on every endpoint when an attempt got no answer."""
        eps = self.endpoints()
        tasks = []
        refunded = {r["transaction_id"] for r in self.store.refunds}
        unresolved = {c.order for c in self.ledger.charges.values() if c.unknown}
        for n, (tx, p) in enumerate(self.store.payments.items()):
            every = tx in refunded or p["order_id"] in unresolved
            for ep in (eps if every else [e for e in eps if e[1] == TRANSPORTS[n % 2]]):
                tasks.append(("tx", tx, ep))
        for n, c in enumerate(self.ledger.charges.values()):
            for ep in (eps if c.unknown else [eps[n % len(eps)]]):
                tasks.append(("order", c.order, ep))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda t: self.check_query(*t), tasks))

    def session(self, ep):
        sessions = self.local.__dict__.setdefault("sessions", {})
        if ep not in sessions:
            sessions[ep] = clients.session(self.instances[ep[0]], ep[1], self.timeout)
        return sessions[ep]

    def answer(self, ep, by, key):
        for _ in range(ATTEMPTS):
            s = self.session(ep)
            out = s.query(tx=key) if by == "tx" else s.query(order=key)
            if out.kind not in (UNKNOWN, UNSENT) and (out.kind, out.value) != (ERROR, 4005005):
                return out
        return out

    def check_query(self, by, key, ep):
        where = f"{ep[1]}@{self.instances[ep[0]].soak_name}"
        out = self.answer(ep, by, key)
        self.stats["queries_after_recovery"] += 1
        row = self.store.payments.get(key) if by == "tx" else \
            (self.store.by_order.get(key) or [None])[0]
        want = _info_of(row) if row else None
        if row is None and (out.kind, out.value) == (ERROR, NOT_FOUND):
            return
        if out.kind == OK and out.value == want:
            return
        diff = _diff(out.value, want) if out.kind == OK and want else None
        # stale: an older version of the record (a refund MySQL has that the answer lacks)
        stale = bool(diff) and out.value["updated_at"] < want["updated_at"]
        self.anomaly("query-stale-record" if stale else "query-disagrees-with-mysql",
                     via=where, by=by, key=key, answer=repr(out) if diff is None else None,
                     differs=diff, mysql=None if row is None else "row")


def _info_of(row):
    return {"transaction_id": row["transaction_id"], "order_id": row["order_id"],
            "user_id": row["user_id"], "amount_cents": row["amount_cents"],
            "refunded_cents": row["refunded_cents"], "status": STATUS[row["status"]],
            "payment_method": row["payment_method"], "card_brand": row["card_brand"],
            "card_last4": row["card_last4"], "created_at": row["created_at_ms"],
            "updated_at": row["updated_at_ms"]}


def _diff(got, want):
    """{field: [answered, MySQL]} for the fields that differ."""
    return {k: [got.get(k), v] for k, v in want.items() if got.get(k) != v}
