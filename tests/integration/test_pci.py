"""PCI: after charges with distinctive card numbers and CVVs over both transports (failing
ones too), neither the database dump, nor the Redis cache, nor the service's log (at debug
level) holds a full card number or a CVV."""

import json
import random
import re

import pytest

from support import data, httpapi
from support.rpc import RpcClient


def distinctive_cards(n=12):
    """(number, cvv) pairs with random card numbers of several brands."""
    brands = [("4", 16), ("4", 19), ("51", 16), ("2221", 16), ("37", 15), ("6011", 16),
              ("3530", 16), ("36", 14)]
    out = []
    used_cvvs = set()
    for i in range(n):
        prefix, length = brands[i % len(brands)]
        number = data.make_card(prefix, length)
        while True:
            cvv = random.randint(1000, 9999) if prefix == "37" else random.randint(100, 999)
            # a CVV that could collide with a stored value (last 4, cents) is no test
            if str(cvv) not in (number[-4:], "1234") and cvv not in used_cvvs:
                break
        used_cvvs.add(cvv)
        out.append((number, cvv))
    return out


def formatted(number, sep):
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


@pytest.fixture(scope="module")
def pci_run(start_service, mariadb, redis):
    """Runs the charges on a debug-logging service with a database of its own; returns
    (service, database, cards)."""
    db = "payment_pci"
    svc = start_service(extra_env={"PAYMENT_LOG_LEVEL": "debug"}, database_name=db)
    cards = run_charges(svc)
    return svc, db, cards


@pytest.fixture(scope="module")
def pci_json_run(start_service):
    """The same charges on a service logging JSON lines at the default (info) level, where
    every request has its structured line; returns (service, cards)."""
    svc = start_service(extra_env={"PAYMENT_LOG_LEVEL": "info", "PAYMENT_LOG_FORMAT": "json"},
                        database_name="payment_pci_json")
    cards = run_charges(svc)
    return svc, cards


def run_charges(svc):
    """Charges with distinctive cards over both transports, successes and every kind of
    failure, then stops @svc (flushing its log). Returns the cards."""
    cards = distinctive_cards()
    outcomes = []
    with RpcClient(svc.rpc_port) as rpc:
        for i, (number, cvv) in enumerate(cards):
            shown = [number, formatted(number, " "), formatted(number, "-")][i % 3]
            order = data.order_id()
            variants = [
                dict(order=order, amount=12.34, card=shown, cvv=cvv),          # success
                dict(order=order, amount=12.34, card=shown, cvv=cvv),          # 4005002
                dict(amount=0, card=shown, cvv=cvv),                           # 4004002
                dict(card=shown, cvv=cvv, payment_method="bitcoin"),           # 4004003
                dict(card=shown, cvv=cvv, year=2020, month=1),                 # 4004001
                dict(card=shown[:-1] + str((int(shown[-1]) + 1) % 10), cvv=cvv),  # Luhn
                dict(card=shown, cvv=cvv, user=0),                             # 4004003
            ]
            for v in variants:
                req = data.charge(**v)
                if i % 2 == 0:
                    res = rpc.charge(req)
                else:
                    res = httpapi.charge(svc.http_port, req)[:3]
                outcomes.append(res[:2])
    # one malformed HTTP body that carries a card number
    number, cvv = cards[0]
    body = ('{"amount": 1, "order_id": 5, "user_id": 5, "credit_card": {"credit_card_number": "%s",'
            ' "credit_card_cvv": %d, "credit_card_expiration_year": 2030,' % (number, cvv))
    httpapi.request(svc.http_port, "POST", "/payment/charge", body,
                    headers={"Content-Type": "application/json"})
    svc.stop_and_check()   # flush the log
    assert sum(1 for o in outcomes if o[0] == "ok") == len(cards), outcomes
    return cards


def card_leaks(text, cards):
    """Card numbers found in @text, also after removing spaces and dashes."""
    squeezed = re.sub(r"[ \-]", "", text)
    found = []
    for number, _ in cards:
        for form in (number, formatted(number, " "), formatted(number, "-")):
            if form in text:
                found.append(form)
        if number in squeezed:
            found.append(f"{number} (with separators)")
        # the number without its last 4 digits is as bad as the whole
        if number[:-4] in squeezed and len(number[:-4]) >= 10:
            found.append(f"{number[:-4]}.... (all but the last 4)")
    return found


def cvv_leaks_in_log(text, cards):
    found = []
    for _, cvv in cards:
        pat = re.compile(r"(?i)(cvv|cvc|security|credit_card_cvv)\W{0,12}%d\b" % cvv)
        for line in text.splitlines():
            if pat.search(line):
                found.append(line.strip())
    if re.search(r"(?i)credit_card_cvv", text):
        found += [l.strip() for l in text.splitlines() if re.search(r"(?i)credit_card_cvv", l)]
    return found


def sql_rows(dump):
    """(table, [values as strings/None]) for every INSERT row of a mariadb-dump."""
    rows = []
    for line in dump.splitlines():
        m = re.match(r"INSERT INTO `(\w+)` \(([^)]*)\) VALUES \((.*)\);$", line)
        if not m:
            continue
        table = m.group(1)
        cols = [c.strip().strip("`") for c in m.group(2).split(",")]
        rows.append((table, dict(zip(cols, split_sql_values(m.group(3))))))
    return rows


def split_sql_values(s):
    out, cur, i, quoted = [], "", 0, False
    while i < len(s):
        c = s[i]
        if quoted:
            if c == "\\" and i + 1 < len(s):
                cur += s[i + 1]
                i += 2
                continue
            if c == "'":
                quoted = False
            else:
                cur += c
        elif c == "'":
            quoted = True
        elif c == ",":
            out.append(None if cur == "NULL" else cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(None if cur == "NULL" else cur)
    return out


def test_dump_has_no_card_numbers_or_cvvs(pci_run, mariadb):
    _, db, cards = pci_run
    dump = mariadb.dump(db)
    assert "INSERT INTO `payments`" in dump, "no payments rows in the dump"
    leaks = card_leaks(dump, cards)
    assert not leaks, f"card numbers in the database: {leaks}"
    assert not re.search(r"(?i)cvv", dump), "a CVV column in the schema"
    rows = sql_rows(dump)
    payments = [r for t, r in rows if t == "payments"]
    assert len(payments) >= len(cards)
    cvvs = {str(c) for _, c in cards}
    for table, row in rows:
        for col, v in row.items():
            assert v not in cvvs, f"a CVV as the value of {table}.{col}: {row}"
    # what is stored of the card: brand and last 4 only
    assert {n[-4:] for n, _ in cards} <= {r.get("card_last4") for r in payments}


def test_log_has_no_card_numbers_or_cvvs(pci_run):
    svc, _, cards = pci_run
    text = svc.log_text()
    assert text.strip(), "the service logged nothing at debug level"
    leaks = card_leaks(text, cards)
    assert not leaks, f"card numbers in the log {svc.log_path}: {leaks}"
    cvv = cvv_leaks_in_log(text, cards)
    assert not cvv, f"CVVs in the log {svc.log_path}: {cvv[:5]}"


def test_cache_has_no_card_numbers_or_cvvs(pci_run, redis):
    _, _, cards = pci_run
    texts = []
    with redis.client() as c:
        for key in c.command("KEYS", "*"):
            t = c.command("TYPE", key)
            if t == "string":
                texts.append(f"{key} {c.command('GET', key)}")
            elif t == "hash":
                texts.append(f"{key} {c.command('HGETALL', key)}")
    assert texts, "nothing cached in Redis"
    blob = "\n".join(texts)
    assert not card_leaks(blob, cards), card_leaks(blob, cards)
    assert not re.search(r"(?i)cvv", blob), "a CVV field in the cache"


def test_json_request_lines_have_fields_and_no_card_data(pci_json_run):
    svc, cards = pci_json_run
    text = svc.log_text()
    leaks = card_leaks(text, cards)
    assert not leaks, f"card numbers in the log {svc.log_path}: {leaks}"
    cvv = cvv_leaks_in_log(text, cards)
    assert not cvv, f"CVVs in the log {svc.log_path}: {cvv[:5]}"
    lines = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
    requests = [l for l in lines if "METHOD" in l and "TRANSPORT" in l]
    assert {r["TRANSPORT"] for r in requests} == {"rpc", "http"}, requests[:3]
    for r in requests:
        assert r["level"] == "info", r
        assert {"CODE", "DURATION_MS"} <= r.keys(), r
    ok = [r for r in requests if r["CODE"] == "0"]
    assert len(ok) == len(cards), [r for r in requests if r["CODE"] == "0"]
    assert all(r.get("ORDER_ID") and r.get("TRANSACTION_ID") for r in ok), ok[:3]
    # no member of any line holds more of a card than the last 4 digits
    for r in requests:
        for key, value in r.items():
            assert not card_leaks(str(value), cards), (key, r)
