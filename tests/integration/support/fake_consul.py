"""A fake Consul agent on loopback (http.server), for what a real agent cannot show (the
tests against a real agent are test_consul_agent.py and test_kitex_consul.py). It records every request, checks each against Consul's
documented agent HTTP API (method, path, JSON member names and types, the ACL token
header), keeps the registered services like an agent's local state, and runs the
registered HTTP check the way an agent does (GET on the check's URL, status kept per
service). stop() then start() on the same port is an agent restart that forgot its state.

The API as documented for Consul 1.16 (agent/service endpoints):
  PUT /v1/agent/service/register            body: a service definition (below)
  GET /v1/agent/service/:service_id         200 with the service, 404 when unknown
  PUT /v1/agent/service/deregister/:service_id
  X-Consul-Token: <token>                   when an ACL token is used
Service definition members are PascalCase; unknown members are rejected by the agent.
Durations are Go duration strings ("5s", "1m")."""

import http.server
import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request

DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")

# Members of the agent service definition (api.AgentServiceRegistration) and of a check
# (api.AgentServiceCheck), with the JSON types the agent decodes them as.
SERVICE_FIELDS = {
    "ID": str, "Name": str, "Tags": list, "Port": int, "Address": str,
    "TaggedAddresses": dict, "EnableTagOverride": bool, "Meta": dict, "Weights": dict,
    "Kind": str, "Check": dict, "Checks": list, "Proxy": dict, "Connect": dict,
    "Namespace": str, "Partition": str, "SocketPath": str, "Locality": dict,
}
CHECK_FIELDS = {
    "CheckID": str, "Name": str, "Args": list, "DockerContainerID": str, "Shell": str,
    "Interval": str, "Timeout": str, "TTL": str, "HTTP": str, "Header": dict,
    "Method": str, "Body": str, "TCP": str, "UDP": str, "Status": str, "Notes": str,
    "TLSServerName": str, "TLSSkipVerify": bool, "GRPC": str, "GRPCUseTLS": bool,
    "H2PING": str, "H2PingUseTLS": bool, "AliasNode": str, "AliasService": str,
    "SuccessBeforePassing": int, "FailuresBeforeWarning": int,
    "FailuresBeforeCritical": int, "DeregisterCriticalServiceAfter": str,
    "OutputMaxSize": int, "ServiceID": str,
}
CHECK_KINDS = ("Args", "HTTP", "TCP", "UDP", "TTL", "GRPC", "H2PING", "AliasService",
               "DockerContainerID")


def member_problems(obj, fields, where):
    """Members of @obj that @fields (name -> JSON type) does not know or types wrongly."""
    problems = []
    for key, value in obj.items():
        want = fields.get(key)
        if want is None:
            problems.append(f"{where}{key}: unknown member")
        elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
            problems.append(f"{where}{key} is {type(value).__name__}, want {want.__name__}")
    return problems


def validate_registration(body):
    """Problems (strings) with @body as an agent service definition; [] when valid."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems = member_problems(body, SERVICE_FIELDS, "")
    if not body.get("Name"):
        problems.append("Name missing or empty")
    if isinstance(body.get("Port"), int) and not 0 <= body["Port"] <= 65535:
        problems.append("Port out of range")
    for tag in body.get("Tags") or []:
        if not isinstance(tag, str):
            problems.append(f"tag {tag!r} is not a string")
    for k, v in (body.get("Meta") or {}).items():
        if not isinstance(v, str):
            problems.append(f"Meta[{k!r}] is {type(v).__name__}, Meta values are strings")
    for i, check in enumerate(body.get("Checks") or []):
        if not isinstance(check, dict):
            problems.append(f"Checks[{i}] is not an object")
            continue
        problems += member_problems(check, CHECK_FIELDS, f"Checks[{i}].")
        kinds = [k for k in CHECK_KINDS if k in check]
        if len(kinds) != 1:
            problems.append(f"Checks[{i}] has check kinds {kinds}, want exactly one")
        for key in ("Interval", "Timeout", "DeregisterCriticalServiceAfter"):
            if key in check and not DURATION.match(str(check[key])):
                problems.append(f"Checks[{i}].{key} {check[key]!r} is not a duration")
        if ("HTTP" in check or "TCP" in check) and "Interval" not in check:
            problems.append(f"Checks[{i}]: HTTP/TCP checks need an Interval")
    return problems


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.time = time.monotonic()

    @property
    def token(self):
        return self.headers.get("X-Consul-Token")

    def __repr__(self):
        return f"{self.method} {self.path}"


class FakeConsul:
    """start() / stop(); requests (all, in order); services (id -> definition);
    problems (API violations seen). @token: when set, requests without it get 403 like an
    agent with ACLs enabled and default deny."""

    def __init__(self, port, token=None, run_checks=True):
        self.port = port
        self.token = token
        self.run_checks = run_checks
        self.requests = []
        self.services = {}
        self.check_results = {}      # service id -> [(status or None, monotonic time)]
        self.problems = []
        self.lock = threading.Lock()
        self.server = None
        self.thread = None
        self.checker = None
        self.stopping = threading.Event()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # ---- lifecycle ----

    def start(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _reply(self, status, obj=None):
                data = json.dumps(obj).encode() if obj is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                raw = self._body()
                body = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = ValueError(raw[:200])
                status, obj = fake._serve(self.command, self.path, dict(self.headers), body)
                self._reply(status, obj)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.stopping.clear()
        if self.run_checks:
            self.checker = threading.Thread(target=self._check_loop, daemon=True)
            self.checker.start()
        return self

    def stop(self, forget=True):
        """Stops listening; with @forget the local state goes too (an agent restart)."""
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.checker is not None:
            self.checker.join(timeout=10)
            self.checker = None
        if forget:
            with self.lock:
                self.services.clear()

    # ---- the API ----

    def _serve(self, method, path, headers, body):
        req = Request(method, path, headers, body)
        with self.lock:
            self.requests.append(req)
        if self.token is not None and headers.get("X-Consul-Token") != self.token:
            return 403, "ACL not found"
        if path == "/v1/agent/service/register":
            if method != "PUT":
                self._problem(f"{method} {path}: the agent wants PUT")
                return 405, None
            if isinstance(body, ValueError) or body is None:
                self._problem(f"register body is not JSON: {body!r}")
                return 400, "Request decode failed"
            problems = validate_registration(body)
            if problems:
                self._problem(f"register: {problems}")
                return 400, "Invalid service: " + "; ".join(problems)
            sid = body.get("ID") or body["Name"]
            with self.lock:
                self.services[sid] = body
            return 200, None
        m = re.fullmatch(r"/v1/agent/service/deregister/([^/?]+)", path)
        if m:
            if method != "PUT":
                self._problem(f"{method} {path}: the agent wants PUT")
                return 405, None
            with self.lock:
                known = self.services.pop(m.group(1), None)
            return (200, None) if known is not None else (404, "Unknown service ID")
        m = re.fullmatch(r"/v1/agent/service/([^/?]+)", path)
        if m:
            if method != "GET":
                self._problem(f"{method} {path}: the agent wants GET")
                return 405, None
            with self.lock:
                svc = self.services.get(m.group(1))
            if svc is None:
                return 404, f"unknown service ID: {m.group(1)}"
            return 200, {"ID": m.group(1), "Service": svc["Name"], "Tags": svc.get("Tags", []),
                         "Meta": svc.get("Meta", {}), "Port": svc.get("Port", 0),
                         "Address": svc.get("Address", "")}
        self._problem(f"unexpected request {method} {path}")
        return 404, None

    def _problem(self, text):
        with self.lock:
            self.problems.append(text)

    def _check_loop(self):
        """Runs every registered HTTP check about once a second, as an agent would."""
        while not self.stopping.wait(0.5):
            with self.lock:
                checks = [(sid, c["HTTP"], c.get("Method", "GET"), c.get("TLSSkipVerify", False))
                          for sid, svc in self.services.items()
                          for c in svc.get("Checks") or [] if "HTTP" in c]
            for sid, url, method, skip_verify in checks:
                status = None
                # As the agent: an https URL's certificate is verified (against the
                # system's CAs) unless the check says TLSSkipVerify.
                tls = ssl._create_unverified_context() if skip_verify else None
                try:
                    req = urllib.request.Request(url, method=method)
                    with urllib.request.urlopen(req, timeout=2, context=tls) as r:
                        status = r.status
                except urllib.error.HTTPError as e:
                    status = e.code
                except OSError:
                    status = None
                with self.lock:
                    self.check_results.setdefault(sid, []).append((status, time.monotonic()))

    # ---- queries for tests ----

    def requests_to(self, method, path_prefix):
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def registrations(self):
        return self.requests_to("PUT", "/v1/agent/service/register")

    def service(self, sid):
        with self.lock:
            return self.services.get(sid)

    def passing_checks(self, sid):
        with self.lock:
            return [s for s, _ in self.check_results.get(sid, []) if s == 200]
