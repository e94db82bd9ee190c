"""The strict JSON grammar and the media type over real HTTP: bodies that json-glib alone
would have taken (and charged, with another amount or a rounded order) are 4004003, a POST
that is not application/json is 415 with 4004010, and none of them leaves a row."""

import json

import pytest

from support import data, httpapi
from support.pay import count_orders

SAFE_INTEGER = 2 ** 53


def _post(service, path, body, content_type="application/json"):
    return httpapi.request(service.http_port, "POST", path, body,
                           headers={"Content-Type": content_type})


def _charge_text(req, extra=""):
    """@req as JSON text with @extra members spliced in before the closing brace."""
    text = json.dumps(req)
    return text[:-1] + extra + "}"


def test_two_amount_members_refused(service, mariadb, database):
    req = data.charge(amount=1.0)
    r = _post(service, "/payment/charge", _charge_text(req, ', "amount": 5000'))
    assert (r.status, r.code) == (400, 4004003), r
    assert "duplicate member" in r.json["message"], r
    assert count_orders(mariadb, database, req["order_id"]) == 0


def test_duplicate_in_card_refused(service, mariadb, database):
    req = data.charge()
    text = json.dumps(req).replace('"credit_card": {',
                                   '"credit_card": {"credit_card_number": "4000000000000002", ')
    r = _post(service, "/payment/charge", text)
    assert (r.status, r.code) == (400, 4004003), r
    assert count_orders(mariadb, database, req["order_id"]) == 0


@pytest.mark.parametrize("field", ["payment_method", "card"])
def test_nul_in_a_string_refused(field, service, mariadb, database):
    req = data.charge(payment_method="credit_card")
    if field == "card":
        req["credit_card"]["credit_card_number"] += "\0"
    else:
        req["payment_method"] += "\0tail"
    text = json.dumps(req)
    assert "\\u0000" in text
    r = _post(service, "/payment/charge", text)
    assert (r.status, r.code) == (400, 4004003), r
    assert "NUL" in r.json["message"], r
    assert count_orders(mariadb, database, req["order_id"]) == 0


@pytest.mark.parametrize("literal", ["9007199254740993.0", "9007199254740993e0"])
def test_order_id_above_2_53_as_float_refused(literal, service, mariadb, database):
    req = data.charge()
    text = json.dumps(req).replace(f'"order_id": {req["order_id"]}', f'"order_id": {literal}')
    assert literal in text
    r = _post(service, "/payment/charge", text)
    assert (r.status, r.code) == (400, 4004003), r
    assert "order_id is out of range" in r.json["message"], r
    assert count_orders(mariadb, database, SAFE_INTEGER) == 0


def test_order_id_as_exact_float_accepted(service, mariadb, database):
    # data.order_id() is above 2^53, where "N.0" is refused; this one is below it
    req = data.charge(order=data.order_id() % SAFE_INTEGER)
    text = json.dumps(req).replace(f'"order_id": {req["order_id"]}',
                                   f'"order_id": {req["order_id"]}.0')
    r = _post(service, "/payment/charge", text)
    assert r.status == 200, r
    assert count_orders(mariadb, database, req["order_id"]) == 1


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", None])
@pytest.mark.parametrize("path", ["/payment/charge", "/payment/refund"])
def test_post_not_json_is_415(path, content_type, service, mariadb, database):
    req = data.charge()
    body = json.dumps(req if path == "/payment/charge" else
                      {"transaction_id": "t", "refund_request_id": "k"})
    r = _post(service, path, body, content_type)
    assert (r.status, r.code) == (415, 4004010), r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    assert count_orders(mariadb, database, req["order_id"]) == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/Json"])
def test_json_media_type_with_parameters_or_case(content_type, service, mariadb, database):
    req = data.charge()
    r = _post(service, "/payment/charge", json.dumps(req), content_type)
    assert r.status == 200, r
    assert count_orders(mariadb, database, req["order_id"]) == 1


@pytest.mark.parametrize("label,text", [
    ("bad-escape", '{"amount": 1, "payment_method": "\\x41"}'),
    ("lone-surrogate", '{"amount": 1, "payment_method": "\\ud800"}'),
    ("comment", '{"amount": /* */ 1}'),
    ("nan", '{"amount": NaN}'),
    ("trailing-comma", '{"amount": 1,}'),
])
def test_outside_rfc_8259_refused(label, text, service):
    r = _post(service, "/payment/charge", text)
    assert (r.status, r.code) == (400, 4004003), r
