"""docs/openapi.yaml against the running service.

1. The routes the server answers and the routes the document lists are the same set of
   (method, path):
   - the server's side comes from the static route table in
     src/transport/http/pay-http-server.c (`static const PayHttpRoute routes[] = {...}`),
     the one place every route must be registered (the server has a single catch-all
     libsoup handler that dispatches through that table). Parsing is strict: every entry
     of the table must start with `{ "METHOD", "/path", ...` (or SOUP_METHOD_X), else the
     test fails and says so, so a changed table can never be skipped silently. The parse is
     then checked against the binary under test: every parsed route must be answered
     (not 404 4004007, not 405), and for every documented path a method the document does
     not list must answer 405 with an `Allow` header naming exactly the documented
     methods (the server builds `Allow` from its route table, so this enumerates the
     binary's methods per path without reading any source).
   - Probing alone cannot find a route on a path nobody guesses, and the source alone
     could disagree with the binary; the two together are exact.
2. schemathesis (pinned in tests/openapi/requirements.txt, installed into
   tests/openapi/.venv by tests/openapi/setup-tools.sh) runs property-based tests from the
   document against the service, one run per operation so a failure names its route:
   no 5xx, every status, content type and body as documented, and undocumented methods
   answered 405 with a correct `Allow`. Bounded: PAYMENT_SCHEMATHESIS_MAX_EXAMPLES
   (default 100) examples per operation and phase, fixed seed PAYMENT_SCHEMATHESIS_SEED
   (default below) so CI runs are reproducible.

The service runs with API keys (auth.keys_file, auth.protect_metrics): schemathesis and
the success paths send a key holding every scope, and the 401/403 answers are checked
against the document too.
"""

import hashlib
import json
import os
import re
import secrets
import subprocess
import time

import pytest

from support import env, httpapi

OPENAPI = os.path.join(env.SOURCE_DIR, "docs", "openapi.yaml")
TOOLS_DIR = os.path.join(env.SOURCE_DIR, "tests", "openapi")
SETUP_TOOLS = os.path.join(TOOLS_DIR, "setup-tools.sh")
VENV_BIN = os.path.join(TOOLS_DIR, ".venv", "bin")
ROUTE_SOURCE = os.path.join(env.SOURCE_DIR, "src", "transport", "http", "pay-http-server.c")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_EXAMPLES = int(os.environ.get("PAYMENT_SCHEMATHESIS_MAX_EXAMPLES", "100"))
SEED = int(os.environ.get("PAYMENT_SCHEMATHESIS_SEED", "20240601"))
CHECKS = [
    # what the document promises
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance",
    # undocumented methods on documented paths: 405 with an Allow that matches the document
    "unsupported_method", "allow_header_conformance",
]


def _operation_ids_from_text():
    """operationIds by a plain text scan of the document, for test ids at collection time
    (the YAML parser lives in the venv, installed by a fixture); test_operation_ids_scan
    checks this scan against the parsed document."""
    with open(OPENAPI) as f:
        return re.findall(r"^\s+operationId:\s*['\"]?([A-Za-z0-9_]+)", f.read(), re.M)


OPERATION_IDS = _operation_ids_from_text()

# The key every request sends (every scope), and one that may only query.
API_SECRET = secrets.token_urlsafe(32)
QUERY_SECRET = secrets.token_urlsafe(32)
API_HEADERS = {"Authorization": f"Bearer openapi.{API_SECRET}"}


# ---- fixtures ----

@pytest.fixture(scope="module")
def service(start_service, tmp_path_factory):
    """The module's service, with API keys on (/metrics protected too)."""
    path = str(tmp_path_factory.mktemp("keys") / "keys")
    with open(path, "w") as f:
        for key_id, scopes, secret in (("openapi", "charge,query,refund,metrics", API_SECRET),
                                       ("reader", "query", QUERY_SECRET)):
            f.write(f"{key_id} {scopes} {hashlib.sha256(secret.encode()).hexdigest()}\n")
    svc = start_service(extra_env={"PAYMENT_AUTH_KEYS_FILE": path,
                                   "PAYMENT_AUTH_PROTECT_METRICS": "true"})
    yield svc
    svc.stop_and_check()
    text = svc.log_text()
    assert API_SECRET not in text and "Bearer" not in text

@pytest.fixture(scope="module")
def tools():
    """The venv with schemathesis (and PyYAML), installed when missing."""
    t0 = time.monotonic()
    r = subprocess.run([SETUP_TOOLS, "venv"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{SETUP_TOOLS} failed:\n{r.stdout}\n{r.stderr}"
    if r.stdout.strip():
        print(r.stdout.strip(), f"({time.monotonic() - t0:.1f} s)")
    return VENV_BIN


@pytest.fixture(scope="module")
def document(tools):
    """docs/openapi.yaml parsed (by the venv's PyYAML; the system python need not have it)."""
    r = subprocess.run(
        [os.path.join(tools, "python"), "-c",
         "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
         OPENAPI], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"cannot parse {OPENAPI}:\n{r.stderr}"
    return json.loads(r.stdout)


def documented_routes(document):
    """{(METHOD, path): operationId} of the document."""
    routes = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                routes[(method.upper(), path)] = op.get("operationId")
    return routes


def operation(document, operation_id):
    for (method, path), op_id in documented_routes(document).items():
        if op_id == operation_id:
            return method, path
    raise AssertionError(f"operationId {operation_id} not in the document")


def source_routes():
    """{(METHOD, path)} of the static route table of pay-http-server.c. Fails when the
    table cannot be found or an entry does not have the expected shape."""
    with open(ROUTE_SOURCE) as f:
        text = f.read()
    # Comments out (a commented-out route is no route).
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    m = re.search(r"\bPayHttpRoute\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", text, re.S)
    assert m, (f"no `PayHttpRoute NAME[] = {{...}};` table in {ROUTE_SOURCE}: the route "
               "table moved or changed shape; update source_routes() in this test")
    entries = re.findall(r"\{([^{}]*)\}", m.group(2))
    routes = set()
    for entry in entries:
        # method (a string or SOUP_METHOD_X), path (a string literal), then anything
        e = re.fullmatch(r'\s*(?:"([A-Z]+)"|SOUP_METHOD_([A-Z]+))\s*,\s*"(/[^"]*)"\s*,[^{}]*',
                         entry)
        assert e, (f"route table entry {{{entry.strip()}}} in {ROUTE_SOURCE} does not "
                   'start with "METHOD", "/path",; update source_routes() in this test')
        routes.add((e.group(1) or e.group(2), e.group(3)))
    assert len(routes) == len(entries), f"duplicate entries in the route table: {entries}"
    assert routes, f"empty route table in {ROUTE_SOURCE}"
    return routes


def probe(service, method, path):
    """A request that a served route answers with neither 404 nor 405: no query
    parameters, and `{}` as the body of a POST (answered 400 by any JSON route: the shape
    is checked before existence, docs/CONTRACT.md section 3)."""
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return httpapi.request(service.http_port, method, path, body)


def unrouted(result):
    return result.status == 405 or (result.status == 404 and result.code == 4004007)


# ---- the document itself ----

def test_operation_ids_scan(document):
    """The text scan used for test ids finds exactly the document's operations."""
    ids = list(documented_routes(document).values())
    assert None not in ids, "every operation needs an operationId"
    assert sorted(OPERATION_IDS) == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_document_lists_the_contract_routes(document):
    """docs/CONTRACT.md section 4 plus /metrics."""
    assert set(documented_routes(document)) == {
        ("POST", "/payment/charge"), ("GET", "/payment/query"), ("POST", "/payment/refund"),
        ("GET", "/health"), ("GET", "/metrics")}


# ---- route sets: server == document ----

def test_route_table_parses_and_is_served(service):
    """Every route of the source's table is answered by the binary under test (proves
    the parse and that the binary is built from this source)."""
    bad = {}
    for method, path in sorted(source_routes()):
        r = probe(service, method, path)
        if unrouted(r):
            bad[f"{method} {path}"] = r
    assert not bad, f"routes in {ROUTE_SOURCE} that the server does not answer: {bad}"


def test_server_routes_are_documented(document):
    """No route of the server is missing from the document."""
    missing = source_routes() - set(documented_routes(document))
    assert not missing, f"routes the server has but docs/openapi.yaml lacks: {sorted(missing)}"


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_documented_route_is_in_route_table(document, operation_id):
    """Every documented route is in the server's route table."""
    route = operation(document, operation_id)
    assert route in source_routes(), (
        f"{route[0]} {route[1]} ({operation_id}) is documented but not in the route table "
        f"of {ROUTE_SOURCE}")


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_documented_route_is_served(service, document, operation_id):
    """The server answers every documented route with neither 404 (4004007) nor 405."""
    method, path = operation(document, operation_id)
    r = probe(service, method, path)
    assert not unrouted(r), f"{method} {path} ({operation_id}) is not served: {r!r}"


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_methods_per_path_match(service, document, operation_id):
    """On the operation's path, an undocumented method answers 405 (4004008) and its
    Allow header names exactly the documented methods of the path: the binary's own
    route table for that path, read without the source."""
    _, path = operation(document, operation_id)
    methods = {m for m, p in documented_routes(document) if p == path}
    other = next(m for m in ("DELETE", "PUT", "PATCH", "POST", "GET") if m not in methods)
    r = httpapi.request(service.http_port, other, path, {} if other != "GET" else None)
    assert r.status == 405 and r.code == 4004008, f"{other} {path}: want 405/4004008, got {r!r}"
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allow == methods, f"{path}: Allow {sorted(allow)}, documented {sorted(methods)}"


def test_unknown_path_is_404(service):
    for method, path in (("GET", "/"), ("GET", "/payment"), ("POST", "/payment/charge/"),
                         ("GET", "/health/x"), ("GET", "/nope")):
        r = httpapi.request(service.http_port, method, path, {} if method == "POST" else None)
        assert r.status == 404 and r.code == 4004007, f"{method} {path}: {r!r}"
        assert r.headers.get("Content-Type", "").startswith("application/json")
        assert isinstance(r.json.get("message"), str)


# ---- success paths, which random data seldom reaches ----

_VALIDATE = r"""
import json, sys
import jsonschema_rs, yaml
doc = yaml.safe_load(open(sys.argv[1]))
problems = []
for item in json.load(sys.stdin):
    op = None
    for path, methods in doc["paths"].items():
        for method, o in methods.items():
            if isinstance(o, dict) and o.get("operationId") == item["operation"]:
                op = o
    resp = op["responses"].get(str(item["status"]))
    if resp is None:
        problems.append(f"{item['what']}: status {item['status']} not documented")
        continue
    while "$ref" in resp:
        resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    media = item["content_type"].split(";")[0].strip()
    if media not in resp.get("content", {}):
        problems.append(f"{item['what']}: content type {media} not documented")
        continue
    schema = dict(resp["content"][media]["schema"], components=doc["components"])
    body = json.loads(item["body"]) if media == "application/json" else item["body"]
    for e in jsonschema_rs.Draft202012Validator(schema).iter_errors(body):
        problems.append(f"{item['what']}: {e.message} at {list(e.instance_path)}")
print("\n".join(problems))
sys.exit(1 if problems else 0)
"""


def test_success_responses_conform(service, tools):
    """A charge, queries, refunds (partial, replay, the rest, one too many), and the
    other answers random data seldom reaches, each validated against the document's
    schema for its status and content type."""
    from support import data

    port = service.http_port
    seen = []

    def call(what, operation_id, method, path, body=None, want=None, headers=API_HEADERS):
        r = httpapi.request(port, method, path, body, headers=headers)
        if want is not None:
            assert r.status == want, f"{what}: {r!r}"
        seen.append({"what": what, "operation": operation_id, "status": r.status,
                     "content_type": r.headers.get("Content-Type", ""), "body": r.raw})
        return r

    req = data.charge(amount=100.0)
    tx = call("charge", "charge", "POST", "/payment/charge", req, 200).json["transaction_id"]
    call("charge again", "charge", "POST", "/payment/charge", req, 409)
    call("charge bad card", "charge", "POST", "/payment/charge",
         data.charge(card="4111111111111112"), 400)
    call("query by transaction_id", "queryPayment", "GET",
         f"/payment/query?transaction_id={tx}", want=200)
    call("query by order_id", "queryPayment", "GET",
         f"/payment/query?order_id={req['order_id']}", want=200)
    call("query unknown", "queryPayment", "GET", f"/payment/query?order_id={data.order_id()}",
         want=404)
    call("query both keys", "queryPayment", "GET",
         f"/payment/query?order_id=1&transaction_id={tx}", want=400)
    refund = {"transaction_id": tx, "amount": 10.0, "refund_request_id": f"oa-{tx[:8]}",
              "reason": "openapi"}
    first = call("refund 10", "refund", "POST", "/payment/refund", refund, 200)
    replay = call("refund replay", "refund", "POST", "/payment/refund", refund, 200)
    assert replay.json == first.json
    call("refund conflict", "refund", "POST", "/payment/refund", dict(refund, amount=11.0), 409)
    call("refund the rest", "refund", "POST", "/payment/refund",
         {"transaction_id": tx, "refund_request_id": f"oa-rest-{tx[:8]}"}, 200)
    call("refund after full", "refund", "POST", "/payment/refund",
         {"transaction_id": tx, "amount": 1.0, "refund_request_id": f"oa-more-{tx[:8]}"}, 409)
    call("refund unknown", "refund", "POST", "/payment/refund",
         {"transaction_id": "00000000-0000-4000-8000-000000000000", "refund_request_id": "x"},
         404)
    call("query refunded", "queryPayment", "GET", f"/payment/query?transaction_id={tx}",
         want=200)
    call("health", "health", "GET", "/health", want=200)
    call("metrics", "metrics", "GET", "/metrics", want=200)
    call("body too large", "charge", "POST", "/payment/charge", "x" * (64 * 1024 + 1), 413)
    for op, method, path, body in (("charge", "POST", "/payment/charge", data.charge()),
                                   ("queryPayment", "GET", f"/payment/query?transaction_id={tx}", None),
                                   ("refund", "POST", "/payment/refund", refund),
                                   ("metrics", "GET", "/metrics", None)):
        call(f"{op} without a key", op, method, path, body, 401, headers={})
        if op != "queryPayment":
            call(f"{op} with a key lacking the scope", op, method, path, body, 403,
                 headers={"Authorization": f"Bearer reader.{QUERY_SECRET}"})

    r = subprocess.run([os.path.join(tools, "python"), "-c", _VALIDATE, OPENAPI],
                       input=json.dumps(seen), capture_output=True, text=True, timeout=60)
    status, report = r.returncode, r.stdout + r.stderr
    assert status == 0, f"responses that do not conform to {OPENAPI}:\n{report}"


# ---- schemathesis ----

@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_schemathesis(service, tools, document, operation_id, tmp_path):
    """Property-based tests of one operation from the document against the service."""
    method, path = operation(document, operation_id)
    log = os.path.join(env.log_dir(), f"schemathesis-{operation_id}.log")
    cmd = [os.path.join(tools, "schemathesis"), "run", OPENAPI,
           "--url", f"http://127.0.0.1:{service.http_port}",
           "--include-operation-id", operation_id,
           "--header", f"Authorization: {API_HEADERS['Authorization']}",
           "--checks", ",".join(CHECKS),
           "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(SEED),
           "--workers", "1",
           "--request-timeout", "10",
           "--generation-database", "none",
           "--no-color"]
    t0 = time.monotonic()
    # cwd: a fresh directory, so no schemathesis.toml or report folder is picked up or left.
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_COLOR": "1"})
    took = time.monotonic() - t0
    with open(log, "w") as f:
        f.write(" ".join(cmd).replace(API_SECRET, "<secret>") + "\n\n" + r.stdout + r.stderr)
    print(f"schemathesis {method} {path}: exit {r.returncode} in {took:.1f} s (log: {log})")
    output = r.stdout + r.stderr
    status = r.returncode
    assert status == 0, (
        f"schemathesis exit {status}: problems in {method} {path} ({operation_id}); log: {log}\n"
        + output[-8000:])
    assert service.alive(), "the service died during the schemathesis run"
