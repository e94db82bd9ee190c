"""A real Consul agent (1.14.11, built by scripts/build-consul) in dev mode on loopback,
every port private: HTTP on a free port, DNS and gRPC off, server RPC and Serf on free
ports. Dev mode keeps its state in memory, so stop() then start() (same ports) is an
agent restart that forgot every registration, as a real restart without a data dir does.

Readiness is Consul's own answer: GET /v1/status/leader names a leader. The small client
below reads the agent's HTTP API with the standard library only."""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from . import env
from .env import devservers


class ConsulAgent(devservers._Server):
    name = "consul"

    def __init__(self, directory, binary=None):
        super().__init__(directory)
        self.binary = binary or env.consul_binary()
        self.server_port = None
        self.serf_lan_port = None
        self.serf_wan_port = None

    def _prepare(self):
        assert os.access(self.binary, os.X_OK), f"consul binary missing: {self.binary}"
        if self.server_port is None:
            self.server_port = devservers.free_port()
            self.serf_lan_port = devservers.free_port()
            self.serf_wan_port = devservers.free_port()

    def _command(self):
        return [self.binary, "agent", "-dev", "-node", "payment-test",
                "-bind", devservers.LOOPBACK, "-client", devservers.LOOPBACK,
                "-advertise", devservers.LOOPBACK,
                "-http-port", str(self.port), "-dns-port", "-1", "-grpc-port", "-1",
                "-grpc-tls-port", "-1",
                "-server-port", str(self.server_port),
                "-serf-lan-port", str(self.serf_lan_port),
                "-serf-wan-port", str(self.serf_wan_port),
                "-log-level", "info"]

    def _ready(self):
        try:
            return bool(self.get("/v1/status/leader", timeout=1.0))
        except (OSError, ValueError):
            return False

    @property
    def address(self):
        """host:port of the HTTP API, as consul.address takes it."""
        return f"{self.host}:{self.port}"

    # ---- the agent's HTTP API ----

    def request(self, method, path, body=None, timeout=5.0):
        """(status, decoded JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{self.address}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            e.read()
            return e.code, None

    def get(self, path, timeout=5.0):
        status, body = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise ValueError(f"GET {path}: HTTP {status}")
        return body

    def catalog(self, service):
        """Catalog entries of @service (list of dicts, [] when none)."""
        return self.get(f"/v1/catalog/service/{urllib.parse.quote(service)}")

    def health(self, service, passing_only=False):
        """/v1/health/service entries of @service: {Service, Checks, Node} each."""
        q = "?passing=1" if passing_only else ""
        return self.get(f"/v1/health/service/{urllib.parse.quote(service)}{q}")

    def passing(self, service):
        """The Service entries of @service whose checks all pass (what Kitex's resolver
        gets)."""
        return [e["Service"] for e in self.health(service, passing_only=True)]

    def checks_of(self, service_id):
        """{CheckID: Status} of the agent's checks for @service_id."""
        checks = self.get("/v1/agent/checks")
        return {cid: c["Status"] for cid, c in checks.items() if c.get("ServiceID") == service_id}
