"""A real Kitex Go client (tests/kitex/, built by scripts/test into build/kitex-client)
against the service: over framed transport success, PaymentError as a typed exception,
and a pooled client reusing one connection; then every client setting (framed, buffered,
TTHeader with and without the meta handler, buffered + TTHeader) for Charge, QueryPayment
and Refund on pooled connections, with business codes as docs/KITEX.md says. A missing client
binary is a failure."""

import json
import re
import subprocess

import pytest

from support import data

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def kitex(client, service, *args, transport="framed"):
    """Runs the client; returns its JSON result."""
    cmd = [client, "-addr", f"127.0.0.1:{service.rpc_port}", "-transport", transport,
           "-timeout", "15s"] + [str(a) for a in args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stderr.decode()}"
    lines = [l for l in r.stdout.decode().splitlines() if l.strip()]
    assert len(lines) == 1, f"want one JSON line, got: {r.stdout!r}"
    return json.loads(lines[0])


def test_charge_success(kitex_client, service):
    out = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                "-amount", "12.5")
    assert out.get("ok") is True, out
    assert UUID4.match(out.get("transaction_id", "")), out


def test_charge_explicit_payment_method(kitex_client, service):
    out = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                "-payment-method", "credit_card")
    assert out.get("ok") is True, out


def test_invalid_card_is_payment_error(kitex_client, service):
    out = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                "-card", "4111111111111112")
    assert out.get("ok") is False, out
    assert out.get("error_kind") == "payment_error", out
    assert out.get("code") == 4004001, out
    assert out.get("message"), out


def test_unsupported_method_is_payment_error(kitex_client, service):
    out = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                "-payment-method", "card")
    assert (out.get("error_kind"), out.get("code")) == ("payment_error", 4004003), out


def test_order_already_paid_is_payment_error(kitex_client, service):
    order = data.order_id()
    first = kitex(kitex_client, service, "-case", "charge", "-order", order)
    assert first.get("ok") is True, first
    again = kitex(kitex_client, service, "-case", "charge", "-order", order)
    assert again.get("ok") is False, again
    assert again.get("error_kind") == "payment_error", again
    assert again.get("code") == 4005002, again


def test_pooled_one_dial(kitex_client, service):
    first = data.order_id(block=10)
    out = kitex(kitex_client, service, "-case", "pooled", "-count", 10, "-order", first)
    assert out.get("calls") == 10, out
    assert out.get("ok") == 10, out
    assert out.get("dials") == 1, f"the pooled client dialled {out.get('dials')} times: {out}"


# ---- every client setting (issue 4) ----
#
# Kitex client options -> what a business error becomes for the Go caller (docs/KITEX.md):
# Framed, PurePayload (buffered) and TTHeader without the meta handler get the typed
# *payment.PaymentError; with transmeta.ClientTTHeaderHandler the client reads our
# biz-status/biz-message header keys first and kerrors.FromBizStatusError yields the code.

TRANSPORTS = ["framed", "buffered", "ttheader", "ttheader-handler", "buffered-ttheader"]
ERROR_KIND = {"framed": "payment_error", "buffered": "payment_error",
              "ttheader": "payment_error", "ttheader-handler": "biz_status",
              "buffered-ttheader": "biz_status"}


def assert_code(out, transport, code):
    assert out.get("ok") is False, out
    assert (out.get("error_kind"), out.get("code")) == (ERROR_KIND[transport], code), (
        f"{transport}: want {ERROR_KIND[transport]} {code}, got {out}")
    assert out.get("message"), out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_charge_every_transport(transport, kitex_client, service):
    order = data.order_id()
    out = kitex(kitex_client, service, "-case", "charge", "-order", order, transport=transport)
    assert out.get("ok") is True and UUID4.match(out.get("transaction_id", "")), out
    again = kitex(kitex_client, service, "-case", "charge", "-order", order, transport=transport)
    assert_code(again, transport, 4005002)
    bad = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                "-card", "4111111111111112", transport=transport)
    assert_code(bad, transport, 4004001)
    # (not -no-card: Kitex writes the required credit_card field as an empty struct)
    for args, code in ((["-amount", "1.005"], 4004002), (["-user", "0"], 4004003),
                       (["-payment-method", "bitcoin"], 4004003)):
        out = kitex(kitex_client, service, "-case", "charge", "-order", data.order_id(),
                    *args, transport=transport)
        assert_code(out, transport, code)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pooled_every_transport(transport, kitex_client, service):
    first = data.order_id(block=8)
    out = kitex(kitex_client, service, "-case", "pooled", "-count", 8, "-order", first,
                transport=transport)
    assert (out.get("calls"), out.get("ok")) == (8, 8), out
    assert out.get("dials") == 1, f"{transport}: {out.get('dials')} dials for 8 calls: {out}"
    assert len({r["transaction_id"] for r in out["results"]}) == 8, out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pooled_errors_keep_the_connection(transport, kitex_client, service):
    """A business error (typed exception or biz status) does not cost the connection."""
    out = kitex(kitex_client, service, "-case", "pooled", "-count", 4,
                "-order", data.order_id(block=4), "-card", "4111111111111112",
                transport=transport)
    assert (out.get("calls"), out.get("ok")) == (4, 0), out
    for r in out["results"]:
        assert_code(r, transport, 4004001)
    assert out.get("dials") == 1, f"{transport}: {out.get('dials')} dials: {out}"


# QueryPayment and Refund (docs/CONTRACT.md sections 2 and 3)

def assert_payment(p, order, status, refunded):
    assert p is not None, "payment unset"
    assert UUID4.match(p["transaction_id"]), p
    assert (p["order_id"], p["user_id"], p["amount"]) == (order, 42, 12.5), p
    assert (p["status"], p["refunded_amount"]) == (status, refunded), p
    assert (p["payment_method"], p["card_brand"], p["card_last4"]) == (
        "credit_card", "visa", "1111"), p
    assert 0 < p["created_at"] <= p["updated_at"], p


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_flow_query_and_refund_every_transport(transport, kitex_client, service):
    """Charge, QueryPayment (both keys), Refund, its replay, Refund of the rest and a last
    QueryPayment, all on one pooled connection."""
    order = data.order_id()
    out = kitex(kitex_client, service, "-case", "flow", "-order", order, transport=transport)
    steps = {r["step"]: r for r in out["results"]}
    for name, r in steps.items():
        assert r.get("ok") is True, f"{transport}: step {name} failed: {r}"
    tx = steps["charge"]["transaction_id"]
    for name in ("query_tx", "query_order"):
        assert_payment(steps[name]["payment"], order, "PAID", 0)
        assert steps[name]["payment"]["transaction_id"] == tx
    refund = steps["refund"]
    assert UUID4.match(refund["refund_id"]), refund
    assert (refund["transaction_id"], refund["amount"], refund["total_refunded"],
            refund["status"], refund["status_value"]) == (tx, 5, 5, "PARTIALLY_REFUNDED", 2)
    replay = dict(steps["refund_replay"])
    replay["step"] = "refund"
    assert replay == refund, f"a replay must return the first reply: {replay} vs {refund}"
    rest = steps["refund_rest"]
    assert (rest["amount"], rest["total_refunded"], rest["status"]) == (7.5, 12.5, "REFUNDED"), rest
    assert rest["refund_id"] != refund["refund_id"], rest
    assert_payment(steps["query_after"]["payment"], order, "REFUNDED", 12.5)
    assert out.get("dials") == 1, f"{transport}: {out.get('dials')} dials: {out}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_query_errors_every_transport(transport, kitex_client, service):
    missing = kitex(kitex_client, service, "-case", "query",
                    "-tx", "00000000-0000-4000-8000-000000000000", transport=transport)
    assert_code(missing, transport, 4004004)
    missing = kitex(kitex_client, service, "-case", "query", "-order", data.order_id(),
                    transport=transport)
    assert_code(missing, transport, 4004004)
    neither = kitex(kitex_client, service, "-case", "query", transport=transport)
    assert_code(neither, transport, 4004003)
    both = kitex(kitex_client, service, "-case", "query", "-order", data.order_id(),
                 "-tx", "00000000-0000-4000-8000-000000000000", transport=transport)
    assert_code(both, transport, 4004003)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refund_errors_every_transport(transport, kitex_client, service):
    order = data.order_id()
    charged = kitex(kitex_client, service, "-case", "charge", "-order", order,
                    transport=transport)
    assert charged.get("ok") is True, charged
    tx = charged["transaction_id"]
    unknown = kitex(kitex_client, service, "-case", "refund", "-amount", "1",
                    "-tx", "00000000-0000-4000-8000-000000000000", "-refund-id", "u1",
                    transport=transport)
    assert_code(unknown, transport, 4004004)
    no_id = kitex(kitex_client, service, "-case", "refund", "-tx", tx, "-amount", "1",
                  transport=transport)
    assert_code(no_id, transport, 4004003)
    bad_amount = kitex(kitex_client, service, "-case", "refund", "-tx", tx, "-amount", "0",
                       "-refund-id", "a0", transport=transport)
    assert_code(bad_amount, transport, 4004002)
    too_much = kitex(kitex_client, service, "-case", "refund", "-tx", tx, "-amount", "12.51",
                     "-refund-id", "big", transport=transport)
    assert_code(too_much, transport, 4004005)
    first = kitex(kitex_client, service, "-case", "refund", "-tx", tx, "-amount", "2",
                  "-refund-id", "r1", transport=transport)
    assert first.get("ok") is True, first
    reused = kitex(kitex_client, service, "-case", "refund", "-tx", tx, "-amount", "3",
                   "-refund-id", "r1", transport=transport)
    assert_code(reused, transport, 4004006)
