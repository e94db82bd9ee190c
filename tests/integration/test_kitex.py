"""A real Kitex Go client (tests/kitex/, built by scripts/test into build/kitex-client)
against the service over framed transport: success, PaymentError as a typed exception,
and a pooled client reusing one connection. A missing client binary is a failure."""

import json
import os
import re
import subprocess

import pytest

from support import data, env

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def kitex_client():
    path = env.KITEX_CLIENT
    assert os.path.isfile(path) and os.access(path, os.X_OK), (
        f"Kitex client binary missing: {path} (scripts/test builds it with "
        "tests/kitex/build.sh; PAYMENT_KITEX_CLIENT overrides the path)")
    return path


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
