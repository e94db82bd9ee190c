"""HTTP API keys (auth.keys_file): every /payment/* route without a key, with a malformed
header, an unknown key, a wrong secret, a key lacking the route's scope, and the right key;
/health open, /metrics open unless auth.protect_metrics; the key id in the request log
line and as a metrics label; SIGHUP reloading the file under load without dropping a
kept-alive connection (a bad file keeps the keys in force); no secret and no "Bearer" in
any log line of the whole run (the services run at log level debug); each refund's caller
in refunds and payment_events (key id, HTTP peer without keys, RPC peer); the caller
columns added to an older database; a keys file that does not parse stops start-up with
exit status 2; the warning when the open API listens beyond loopback."""

import hashlib
import http.client
import os
import secrets
import signal
import subprocess
import threading

import pytest

from support import data, env, httpapi
from support.metrics import samples
from support.refunds import query, refund
from support.service import poll

# key id -> (scopes, secret)
KEYS = {
    "shop": ("charge,query", secrets.token_urlsafe(24)),
    "refunder": ("refund", secrets.token_urlsafe(24)),
    "ops": ("metrics", secrets.token_urlsafe(24)),
    "all": ("charge,query,refund", secrets.token_urlsafe(24)),
}
# Keys written by the reload test, kept here so that the log check covers their secrets.
RELOAD_SECRETS = {"old": secrets.token_urlsafe(24), "new": secrets.token_urlsafe(24)}
ALL_SECRETS = [s for _, s in KEYS.values()] + list(RELOAD_SECRETS.values())

ROUTES = {  # route -> (method, scope)
    "charge": ("POST", "charge"),
    "query": ("GET", "query"),
    "refund": ("POST", "refund"),
}


def key_line(key_id, scopes, secret):
    return f"{key_id} {scopes} {hashlib.sha256(secret.encode()).hexdigest()}\n"


def write_keys(path, keys):
    """Writes @keys ({id: (scopes, secret)}) atomically: a reload never reads half a file."""
    text = "# test keys\n" + "".join(key_line(k, s, sec) for k, (s, sec) in keys.items())
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def bearer(key_id, secret=None):
    return {"Authorization": f"Bearer {key_id}.{secret or KEYS[key_id][1]}"}


def assert_no_secret_logged(svc):
    text = svc.log_text()
    for secret in ALL_SECRETS:
        assert secret not in text, f"a secret reached {svc.log_path}"
    assert "Bearer" not in text, f"an Authorization header reached {svc.log_path}"
    for _, secret in KEYS.values():
        assert hashlib.sha256(secret.encode()).hexdigest() not in text


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def auth_env(keys_dir):
    path = os.path.join(keys_dir, "keys")
    write_keys(path, KEYS)
    return {"PAYMENT_AUTH_KEYS_FILE": path, "PAYMENT_LOG_LEVEL": "debug"}


@pytest.fixture(scope="module")
def auth_service(start_service, auth_env):
    svc = start_service(extra_env=auth_env)
    yield svc
    assert_no_secret_logged(svc)


def call_route(svc, route, headers=None, body=None, query_string=""):
    method, _ = ROUTES[route]
    path = f"/payment/{route}{query_string}"
    return httpapi.request(svc.http_port, method, path, body=body, headers=headers)


def charged(svc):
    """A payment made with key "all": (transaction id, order id)."""
    req = data.charge(amount=40.0)
    r = httpapi.request(svc.http_port, "POST", "/payment/charge", req, headers=bearer("all"))
    assert r.status == 200, r
    return r.json["transaction_id"], req["order_id"]


def route_request(svc, route, tx, n):
    """The body and query string of a valid request on @route (@n makes it unique)."""
    if route == "charge":
        return data.charge(amount=1.0), ""
    if route == "query":
        return None, f"?transaction_id={tx}"
    return {"transaction_id": tx, "amount": 0.01, "refund_request_id": f"auth-{n}"}, ""


def secret_of(route):
    """A key id with the route's scope, one without it."""
    return {"charge": ("shop", "refunder"), "query": ("shop", "ops"),
            "refund": ("refunder", "shop")}[route]


UNAUTHENTICATED = {
    "no-header": None,
    "basic": {"Authorization": "Basic c2hvcDpzM2NyZXQ="},
    "no-secret": {"Authorization": "Bearer shop"},
    "empty-secret": {"Authorization": "Bearer shop."},
    "bad-key-id": {"Authorization": "Bearer sh*p.abc"},
    "unknown-key": {"Authorization": "Bearer nobody." + KEYS["shop"][1]},
    "wrong-secret": {"Authorization": "Bearer shop." + KEYS["refunder"][1]},
}


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("case", sorted(UNAUTHENTICATED))
def test_401_without_a_valid_key(auth_service, mariadb, database, route, case):
    tx, _ = charged(auth_service)
    body, qs = route_request(auth_service, route, tx, f"401-{case}")
    r = call_route(auth_service, route, UNAUTHENTICATED[case], body, qs)
    assert (r.status, r.code) == (401, 4004011), r
    assert r.headers.get("WWW-Authenticate") == "Bearer", r.headers
    assert_nothing_written(mariadb, database, route, body, tx)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_403_for_a_key_without_the_scope(auth_service, mariadb, database, route):
    tx, _ = charged(auth_service)
    body, qs = route_request(auth_service, route, tx, "403")
    r = call_route(auth_service, route, bearer(secret_of(route)[1]), body, qs)
    assert (r.status, r.code) == (403, 4004012), r
    assert "WWW-Authenticate" not in r.headers
    assert_nothing_written(mariadb, database, route, body, tx)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_200_with_the_right_key(auth_service, route):
    tx, _ = charged(auth_service)
    body, qs = route_request(auth_service, route, tx, "200")
    r = call_route(auth_service, route, bearer(secret_of(route)[0]), body, qs)
    assert r.status == 200, r


def assert_nothing_written(mariadb, database, route, body, tx):
    if route == "charge":
        rows = mariadb.query(f"SELECT COUNT(*) FROM payments WHERE order_id = {body['order_id']}",
                             database)
        assert rows[0][0] == "0"
    if route == "refund":
        rows = mariadb.query(f"SELECT COUNT(*) FROM refunds WHERE transaction_id = '{tx}'",
                             database)
        assert rows[0][0] == "0"


def test_health_and_metrics_stay_open(auth_service):
    assert httpapi.request(auth_service.http_port, "GET", "/health").status == 200
    assert httpapi.request(auth_service.http_port, "GET", "/metrics").status == 200


def test_unknown_path_and_wrong_method_come_before_the_key(auth_service):
    r = httpapi.request(auth_service.http_port, "GET", "/payment/nothing")
    assert (r.status, r.code) == (404, 4004007), r
    r = httpapi.request(auth_service.http_port, "GET", "/payment/charge")
    assert (r.status, r.code) == (405, 4004008), r


def test_key_id_in_the_log_line_and_the_metrics(auth_service):
    offset = auth_service.log_size()
    charged(auth_service)
    r = call_route(auth_service, "refund", bearer("shop"), {"transaction_id": "x",
                                                      "refund_request_id": "y"})
    assert r.status == 403, r
    line = poll(lambda: [ln for ln in auth_service.log_since(offset).splitlines()
                         if "POST /payment/refund -> 4004012" in ln], 10, what="refund log line")
    assert "key=shop" in line[0], line
    line = [ln for ln in auth_service.log_since(offset).splitlines()
            if "POST /payment/charge -> 0" in ln]
    assert line and "key=all" in line[0], line
    text = httpapi.request(auth_service.http_port, "GET", "/metrics").raw
    got = samples(text)
    assert got[("payment_http_key_requests_total",
                frozenset({("key_id", "shop"), ("code", "4004012")}))] >= 1
    assert got[("payment_http_key_requests_total",
                frozenset({("key_id", "all"), ("code", "0")}))] >= 1
    assert not any(k[0] == "payment_http_key_requests_total" and ("key_id", "nobody") in k[1]
                   for k in got)


def test_protected_metrics_need_scope_metrics(start_service, auth_env):
    svc = start_service(extra_env=dict(auth_env, PAYMENT_AUTH_PROTECT_METRICS="true"))
    try:
        r = httpapi.request(svc.http_port, "GET", "/metrics")
        assert (r.status, r.code) == (401, 4004011), r
        r = httpapi.request(svc.http_port, "GET", "/metrics", headers=bearer("shop"))
        assert (r.status, r.code) == (403, 4004012), r
        r = httpapi.request(svc.http_port, "GET", "/metrics", headers=bearer("ops"))
        assert r.status == 200 and "payment_requests_total" in r.raw, r
        assert httpapi.request(svc.http_port, "GET", "/health").status == 200
    finally:
        svc.stop_and_check()
        assert_no_secret_logged(svc)


# ---- reload ----------------------------------------------------------------------------

class KeptAliveClient(threading.Thread):
    """Queries over one kept-alive connection with key @key_id until stopped; records
    every status and whether the connection ever changed (http.client would reconnect
    silently: the local port tells)."""

    def __init__(self, port, tx, key_id, secret):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.path = f"/payment/query?transaction_id={tx}"
        self.headers = {"Authorization": f"Bearer {key_id}.{secret}"}
        self.stop = threading.Event()
        self.statuses = []
        self.local_ports = set()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                self.conn.request("GET", self.path, headers=self.headers)
                r = self.conn.getresponse()
                r.read()
                self.local_ports.add(self.conn.sock.getsockname()[1])
                assert r.getheader("Connection") != "close"
                self.statuses.append(r.status)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.conn.close()


def status_with(svc, tx, key_id, secret):
    r = httpapi.request(svc.http_port, "GET", f"/payment/query?transaction_id={tx}",
                        headers={"Authorization": f"Bearer {key_id}.{secret}"})
    return r.status


def test_sighup_reload_adds_and_removes_keys_under_load(start_service, keys_dir):
    path = os.path.join(keys_dir, "reload-keys")
    first = {"all": KEYS["all"], "old": ("query", RELOAD_SECRETS["old"])}
    write_keys(path, first)
    svc = start_service(extra_env={"PAYMENT_AUTH_KEYS_FILE": path, "PAYMENT_LOG_LEVEL": "debug"})
    clients = []
    try:
        tx, _ = charged(svc)
        clients = [KeptAliveClient(svc.http_port, tx, "all", KEYS["all"][1]) for _ in range(3)]
        for c in clients:
            c.start()
        poll(lambda: all(len(c.statuses) > 5 for c in clients), 20, what="requests running")
        assert status_with(svc, tx, "old", RELOAD_SECRETS["old"]) == 200
        assert status_with(svc, tx, "new", RELOAD_SECRETS["new"]) == 401

        # add "new", remove "old"
        write_keys(path, {"all": KEYS["all"], "new": ("query", RELOAD_SECRETS["new"])})
        svc.proc.send_signal(signal.SIGHUP)
        poll(lambda: status_with(svc, tx, "new", RELOAD_SECRETS["new"]) == 200, 20,
             what="the added key accepted")
        assert status_with(svc, tx, "old", RELOAD_SECRETS["old"]) == 401

        # a bad file keeps the keys in force, and says why
        offset = svc.log_size()
        with open(path, "w") as f:
            f.write("all charge,query,refund nothex\n")
        svc.proc.send_signal(signal.SIGHUP)
        line = poll(lambda: [ln for ln in svc.log_since(offset).splitlines()
                             if "keeping the API keys in force" in ln], 20,
                    what="the bad file logged")
        assert "line 1" in line[0] and "digest" in line[0], line
        assert status_with(svc, tx, "new", RELOAD_SECRETS["new"]) == 200

        counts = [len(c.statuses) for c in clients]
        poll(lambda: all(len(c.statuses) > n + 5 for c, n in zip(clients, counts)), 20,
             what="requests still running after the reloads")
    finally:
        for c in clients:
            c.stop.set()
        for c in clients:
            c.join(30)
    for c in clients:
        assert c.error is None, c.error
        assert set(c.statuses) == {200}, set(c.statuses)
        assert len(c.local_ports) == 1, c.local_ports   # one connection, never dropped
    svc.stop_and_check()
    assert_no_secret_logged(svc)


# ---- who refunded ----------------------------------------------------------------------

def callers(mariadb, database, tx):
    refunds = mariadb.query(f"SELECT caller FROM refunds WHERE transaction_id = '{tx}'"
                            " ORDER BY id", database)
    events = mariadb.query(f"SELECT caller FROM payment_events WHERE transaction_id = '{tx}'"
                           " AND event_type = 'refund' ORDER BY id", database)
    return [r[0] for r in refunds], [e[0] for e in events]


def test_refunds_record_the_key_id_and_the_rpc_peer(auth_service, mariadb, database):
    tx, _ = charged(auth_service)
    r = call_route(auth_service, "refund", bearer("refunder"),
             {"transaction_id": tx, "amount": 1.0, "refund_request_id": "who-1"})
    assert r.status == 200, r
    assert refund("rpc", auth_service, tx, "who-2", amount=1.0)[0] == "ok"
    got = callers(mariadb, database, tx)
    want = ["key:refunder", "rpc:127.0.0.1"]
    assert got == (want, want), got


def test_refunds_without_keys_record_the_http_peer(start_service, mariadb, database):
    svc = start_service(extra_env={"PAYMENT_LOG_LEVEL": "debug"})
    try:
        tx = httpapi.charge(svc.http_port, data.charge(amount=5.0))[1]
        assert refund("http", svc, tx, "open-1", amount=1.0)[0] == "ok"
        got = callers(mariadb, database, tx)
        assert got == (["http:127.0.0.1"], ["http:127.0.0.1"])
        assert "not loopback" not in svc.log_text()
    finally:
        svc.stop_and_check()


def test_an_older_database_gets_the_caller_columns(start_service, mariadb):
    db = "payment_it_auth_old"
    svc = start_service(database_name=db)
    tx = httpapi.charge(svc.http_port, data.charge(amount=5.0))[1]
    assert refund("rpc", svc, tx, "old-1", amount=1.0)[0] == "ok"
    svc.stop_and_check()
    for table in ("refunds", "payment_events"):
        mariadb.query(f"ALTER TABLE {table} DROP COLUMN caller", db)
    for start in range(2):
        svc = start_service(database_name=db)
        offset = svc._log_offset
        assert refund("rpc", svc, tx, f"old-{start + 2}", amount=1.0)[0] == "ok"
        converted = svc.log_since(offset).count("ADD COLUMN caller")
        assert converted == (2 if start == 0 else 0), converted
        got = callers(mariadb, db, tx)
        assert got[0] == [None] + ["rpc:127.0.0.1"] * (start + 1), got
        svc.stop_and_check()


# ---- start-up --------------------------------------------------------------------------

def run_to_exit(extra_env, timeout=30):
    e = dict(os.environ)
    e.update({"PAYMENT_SERVER_HOST": "127.0.0.1", "PAYMENT_SERVER_RPC_PORT": "0",
              "PAYMENT_SERVER_HTTP_PORT": "0", "PAYMENT_CONSUL_ADDRESS": ""})
    e.update(extra_env)
    return subprocess.run([env.BINARY, "--config", env.CONFIG], env=e, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_bad_keys_file_stops_start_up(keys_dir):
    path = os.path.join(keys_dir, "bad-keys")
    with open(path, "w") as f:
        f.write(key_line("shop", "charge", "x") + "shop refund,admin " + "0" * 64 + "\n")
    p = run_to_exit({"PAYMENT_AUTH_KEYS_FILE": path})
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "line 2" in p.stdout + p.stderr and "scopes" in p.stdout + p.stderr
    p = run_to_exit({"PAYMENT_AUTH_KEYS_FILE": path + ".missing"})
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)


def test_an_open_api_beyond_loopback_is_warned_about():
    """192.0.2.1 (TEST-NET-1) is no address of this host: the warning comes first, then
    binding fails, so nothing listens beyond loopback."""
    p = run_to_exit({"PAYMENT_SERVER_HOST": "192.0.2.1"})
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert "auth.keys_file is empty" in out and "192.0.2.1" in out, out


def test_zz_no_secret_in_any_log_line(auth_service):
    """The module's service, after every test above (checked again at its teardown)."""
    assert_no_secret_logged(auth_service)
