"""Request builders: unique order ids, valid and invalid cards, ChargeReq as a dict that
converts to a Thrift struct or a JSON body."""

import itertools
import os
import random
import threading
import time

# Unique per process and per call: microseconds since the epoch at start-up plus a
# counter, with the pid mixed in so two suites on one database would not collide either.
_ids = itertools.count(int(time.time() * 1_000_000) * 10 + os.getpid() % 10)
_ids_lock = threading.Lock()


def order_id(block=1):
    """A fresh positive order id; with @block > 1 the first of @block consecutive ids."""
    with _ids_lock:
        first = next(_ids) * 100
        for _ in range(block - 1):
            next(_ids)
        return first


def user_id():
    return random.randint(1, 2**40)


def luhn_check_digit(partial):
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    return luhn_check_digit(number[:-1]) == number[-1]


def make_card(prefix, length):
    """A random Luhn-valid card number with @prefix and @length."""
    body = prefix + "".join(random.choice("0123456789")
                            for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


VISA = "4111111111111111"
VALID_CARDS = {  # brand -> a well-known Luhn-valid test number
    "visa": "4242424242424242",
    "mastercard": "5555555555554444",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "jcb": "3530111333300000",
    "diners": "30569309025904",
}

VALID_EXP = (2030, 12)


def charge(order=None, amount=12.5, card=VISA, cvv=123, year=VALID_EXP[0],
           month=VALID_EXP[1], user=42, payment_method=None, with_card=True):
    """A ChargeReq as a dict with the IDL's field names (None values are left out)."""
    req = {"amount": amount, "order_id": order if order is not None else order_id(),
           "user_id": user}
    if with_card:
        req["credit_card"] = {
            "credit_card_number": card,
            "credit_card_cvv": cvv,
            "credit_card_expiration_year": year,
            "credit_card_expiration_month": month,
        }
    if payment_method is not None:
        req["payment_method"] = payment_method
    return {k: v for k, v in req.items() if v is not None}


def to_thrift(ttypes, req):
    """The dict from charge() as a ttypes.ChargeReq."""
    card = None
    if "credit_card" in req:
        c = req["credit_card"]
        card = ttypes.CreditCardInfo(
            credit_card_number=c.get("credit_card_number"),
            credit_card_cvv=c.get("credit_card_cvv"),
            credit_card_expiration_year=c.get("credit_card_expiration_year"),
            credit_card_expiration_month=c.get("credit_card_expiration_month"))
    return ttypes.ChargeReq(amount=req.get("amount"), credit_card=card,
                            order_id=req.get("order_id"), user_id=req.get("user_id"),
                            payment_method=req.get("payment_method"))


# ---- invalid inputs, each with the code the contract gives it ----

def invalid_card_cases():
    """(label, charge() keyword overrides) that must give 4004001."""
    return [
        ("luhn", dict(card="4111111111111112")),
        ("unknown-brand", dict(card="9111111111111119")),
        ("visa-length-15", dict(card="411111111111116")),
        ("amex-length-16", dict(card="3782822463100056")),
        ("letters", dict(card="4111abcd11111111")),
        ("empty-number", dict(card="")),
        ("cvv-negative", dict(cvv=-1)),
        ("cvv-1000-visa", dict(cvv=1000)),
        ("cvv-10000-amex", dict(card=VALID_CARDS["amex"], cvv=10000)),
        ("month-0", dict(month=0)),
        ("month-13", dict(month=13)),
        ("expired", dict(year=2020, month=1)),
        ("year-3-digits", dict(year=203)),
        ("year-too-far", dict(year=2099)),
    ]


def invalid_amount_cases():
    """(label, amount) that must give 4004002 on both transports."""
    return [
        ("zero", 0),
        ("negative", -5.0),
        ("three-decimals", 1.005),
        ("above-max", 1000000.01),
        ("far-above-max", 1e12),
    ]


def invalid_request_cases():
    """(label, charge() keyword overrides) that must give 4004003 on both transports."""
    return [
        ("order-zero", dict(order=0)),
        ("order-negative", dict(order=-7)),
        ("user-zero", dict(user=0)),
        ("user-negative", dict(user=-1)),
        ("no-card", dict(with_card=False)),
        ("bitcoin", dict(payment_method="bitcoin")),
    ]
