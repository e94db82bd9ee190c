"""docker/docker-compose.yml brought up with podman-compose.

No registry image can be pulled where the tests run, so the compose file's image
variables point at stand-ins built from Debian packages (docker/standins/build: MariaDB
10.11, Redis 7, Consul 1.14.11) that offer the interface the file uses of the official
images; the service image is docker/Dockerfile built from a clean tree, as in
test_image. The project has a unique name, its ports are free loopback ports, and it is
taken down (containers, volumes, network) whatever happens.

Checked: every container becomes healthy (each HEALTHCHECK run until it passes: podman
runs them on systemd timers, and these machines have no systemd) and MariaDB ran the
schema from /docker-entrypoint-initdb.d; the service registers in the stack's Consul
with its container address and its checks pass; the Kitex Go client finds it through
Consul (registry-consul's resolver) and charges, and the charge is stored; stopping the
service deregisters it (Consul's catalog no longer lists it) and it exits 0. The time
from `up` to a healthy, registered stack goes to
$PAYMENT_BUILD_DIR/test-logs/compose-figures.txt."""

import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from support import containers, data, env, httpapi
from support.env import devservers
from support.service import poll

COMPOSE_FILE = os.path.join(env.SOURCE_DIR, "docker", "docker-compose.yml")
STANDINS = os.path.join(env.SOURCE_DIR, "docker", "standins", "build")
SERVICE_IMAGE = "localhost/payment-service:it"
SERVICES = ("consul", "mysql", "redis", "payment")
UP_TIMEOUT = 240
PROJECT_LABEL = "io.podman.compose.project"
FIGURES = {}   # seconds: image_build, standins_build, compose_up (from `up` to registered)


def figures_text(sep):
    return sep.join(f"{k}={v:.1f}" for k, v in FIGURES.items())


class Stack:
    def __init__(self, images):
        self.project = containers.unique("payment-it-compose")
        self.consul_port = devservers.free_port()
        self.rpc_port = devservers.free_port()
        self.http_port = devservers.free_port()
        self.env = {**images,
                    "PAYMENT_IMAGE": SERVICE_IMAGE,
                    "PAYMENT_COMPOSE_CONSUL_PORT": str(self.consul_port),
                    "PAYMENT_COMPOSE_RPC_PORT": str(self.rpc_port),
                    "PAYMENT_COMPOSE_HTTP_PORT": str(self.http_port)}
        self.log_path = os.path.join(env.log_dir(), f"{self.project}.log")

    def compose(self, *args, timeout=300, check=True):
        cmd = ["podman-compose", "-p", self.project, "-f", COMPOSE_FILE, *args]
        p = containers.run(cmd, timeout=timeout, check=False, env_extra=self.env)
        with open(self.log_path, "a") as f:
            f.write(f"### {' '.join(cmd)} -> {p.returncode}\n{p.stdout}\n{p.stderr}\n")
        assert not check or p.returncode == 0, \
            f"{' '.join(cmd)}: exit {p.returncode}\n{containers._tail(p.stdout + p.stderr)}"
        return p

    def container(self, service):
        return f"{self.project}_{service}_1"   # podman-compose 1.0's naming

    def logs(self, service):
        p = containers.podman("logs", self.container(service), check=False)
        return p.stdout + p.stderr

    def consul(self, path):
        """GET @path from the stack's Consul (published port): the decoded JSON."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.consul_port}{path}",
                                    timeout=5) as r:
            return json.loads(r.read())

    def consul_or_none(self, path):
        """consul(), or None while the agent does not answer (for polling)."""
        try:
            return self.consul(path)
        except (OSError, ValueError):
            return None

    def project_containers(self):
        return containers.podman("ps", "-a", "-q", "--filter",
                                 f"label={PROJECT_LABEL}={self.project}").stdout.split()

    def down(self):
        """`down -v`, then whatever podman-compose 1.0 leaves: containers, their
        anonymous volumes (VOLUME of the images), the project's network."""
        anonymous = []
        for cid in self.project_containers():
            info = containers.inspect(cid) or {}
            anonymous += [m["Name"] for m in info.get("Mounts", [])
                          if m.get("Type") == "volume" and m.get("Name")]
            containers.save_log(info.get("Name") or cid)
        self.compose("down", "-v", check=False)
        for cid in self.project_containers():
            containers.podman("rm", "-f", "-v", "-t", "0", cid, check=False)
        volumes = containers.podman("volume", "ls", "-q", "--filter",
                                    f"label={PROJECT_LABEL}={self.project}").stdout.split()
        for v in set(anonymous + volumes):
            containers.podman("volume", "rm", "-f", v, check=False)
        for net in containers.podman("network", "ls", "-q", "--filter",
                                     f"label={PROJECT_LABEL}={self.project}").stdout.split():
            containers.podman("network", "rm", "-f", net, check=False)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The service image (clean tree) and the stand-ins; the compose file's variables."""
    containers.setup()
    context = tmp_path_factory.mktemp("image-context")
    containers.clean_tree(str(context))
    built = containers.build(str(context), str(context / "docker" / "Dockerfile"),
                             SERVICE_IMAGE, "image-build.log")
    FIGURES["image_build_seconds"] = built["seconds"]
    consul = env.consul_binary()
    with containers.locked("podman-build"):
        t0 = time.monotonic()
        out = containers.run([STANDINS], timeout=1800,
                             env_extra={"PAYMENT_CONSUL_BINARY": consul}).stdout
        FIGURES["standins_build_seconds"] = time.monotonic() - t0
    found = dict(re.findall(r"^export (PAYMENT_\w+_IMAGE)=(\S+)$", out, re.M))
    assert set(found) == {"PAYMENT_MYSQL_IMAGE", "PAYMENT_REDIS_IMAGE",
                          "PAYMENT_CONSUL_IMAGE"}, out
    return found


@pytest.fixture(scope="module")
def stack(images):
    s = Stack(images)
    t0 = time.monotonic()
    try:
        s.compose("up", "-d", "--no-build")
        wait_healthy(s)
        # registered, and every check of the instance passing (what Kitex's resolver asks)
        poll(lambda: s.consul_or_none("/v1/health/service/payment?passing=1"), 60,
             interval=0.5, what="the payment service passing in Consul")
        FIGURES["compose_up_seconds"] = time.monotonic() - t0
        path = os.path.join(env.BUILD_DIR, "test-logs", "compose-figures.txt")
        with open(path, "w") as f:
            f.write(figures_text("\n") + "\n")
        yield s
    finally:
        s.down()


def wait_healthy(s):
    """Runs every service's HEALTHCHECK until all pass; a container that exits fails."""
    pending = set(SERVICES)
    last = {}

    def check():
        for service in sorted(pending):
            name = s.container(service)
            state = (containers.inspect(name) or {}).get("State", {})
            assert state.get("Running"), \
                f"{service} is not running: {state}\n{containers._tail(s.logs(service))}"
            ok, out = containers.healthcheck(name)
            last[service] = out
            if ok:
                pending.discard(service)
        return not pending

    try:
        poll(check, UP_TIMEOUT, interval=0.5, what="every service healthy")
    except AssertionError as e:
        raise AssertionError(f"{e}; still unhealthy: {sorted(pending)} ({last})\n" + "\n".join(
            f"--- {sv}\n{containers._tail(s.logs(sv), 20)}" for sv in sorted(pending)))


def test_stack_is_healthy_and_initialised(stack, capsys):
    with capsys.disabled():
        print(f"\ncompose figures: {figures_text(', ')}")
    for service in SERVICES:
        ok, out = containers.healthcheck(stack.container(service))
        assert ok, f"{service}: {out}"
    # The official image's entrypoint (and the stand-in's) names each init script it runs.
    assert re.search(r"running /docker-entrypoint-initdb\.d/01-schema\.sql",
                     stack.logs("mysql")), stack.logs("mysql")[-3000:]
    # the published HTTP port answers
    assert httpapi.request(stack.http_port, "GET", "/health").status == 200


def payment_address(stack):
    """The payment container's address on the project network."""
    info = containers.inspect(stack.container("payment"))
    nets = info["NetworkSettings"]["Networks"]
    assert len(nets) == 1, nets
    return next(iter(nets.values()))["IPAddress"]


def test_registered_with_container_address(stack):
    entries = stack.consul("/v1/catalog/service/payment")
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["ServiceAddress"] == payment_address(stack) and e["ServicePort"] == 8885, e
    assert e["ServiceMeta"].get("http_port") == "8005", e


def test_kitex_client_charges_through_consul(stack):
    client = env.KITEX_CLIENT
    assert os.access(client, os.X_OK), f"Kitex client binary missing: {client}"
    order = data.order_id()
    cmd = [client, "-consul", f"127.0.0.1:{stack.consul_port}", "-service", "payment",
           "-case", "charge", "-order", str(order), "-timeout", "15s"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stderr}"
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"want one JSON line, got: {r.stdout!r}"
    out = json.loads(lines[0])
    assert out.get("ok") is True, out
    instances = [i["addr"] for res in out["resolves"] for i in res.get("instances", [])]
    assert f"{payment_address(stack)}:8885" in instances, out["resolves"]
    # stored in the stack's MariaDB (asked through the published HTTP port)
    q = httpapi.request(stack.http_port, "GET", f"/payment/query?order_id={order}")
    assert q.status == 200 and q.json["transaction_id"] == out["transaction_id"], q


def test_stopping_the_service_deregisters_it(stack):
    """Last: stops the service."""
    assert stack.consul("/v1/catalog/service/payment"), "not registered before the stop"
    stack.compose("stop", "-t", "15", "payment")
    state = containers.inspect(stack.container("payment"))["State"]
    assert not state["Running"] and state["ExitCode"] == 0, state
    # Deregistered at SIGTERM, before the drain: well before Consul would reap a critical
    # instance (DeregisterCriticalServiceAfter is at least 60 s).
    poll(lambda: stack.consul_or_none("/v1/catalog/service/payment") == [], 20, interval=0.2,
         what="payment gone from Consul's catalog")
    log = stack.logs("payment")
    assert "deregistered payment-" in log, log[-3000:]
    critical = [line for line in log.splitlines()
                if '"level":"critical"' in line or '"level":"error"' in line]
    assert not critical, critical
    assert data.VISA not in log, "a card number in the service's log"
