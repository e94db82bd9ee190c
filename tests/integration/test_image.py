"""The container image of docker/Dockerfile, built and run with podman.

scripts/container-setup prepares podman (the debian:12 base image, made with debootstrap
since no registry can be pulled from). The image is built from a clean copy of the source
tree (the files git knows), timed; its size and build time go to
$PAYMENT_BUILD_DIR/test-logs/image-figures.txt. Containers run on the host network
against the suite's MariaDB and Redis on loopback, on free ports, with unique names, and
are always removed.

Checked: charge, query and refund over HTTP JSON and Thrift; the HEALTHCHECK healthy,
unhealthy while MySQL is down, healthy again once it is back; `podman stop` drains the
requests in flight (held by a MySQL table lock) and the exit code is 0; the runtime
image has no compiler and runs as a non-root user."""

import os
import threading

import pytest

from support import containers, data, env, httpapi, refunds
from support.env import devservers
from support.rpc import RpcClient
from support.service import poll
from support.tablelock import ChargesInFlight, TableLock, in_flight_charges, refused

IMAGE = "localhost/payment-service:it"
DATABASE = "payment_image"
READY_TIMEOUT = 60


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """Runs scripts/container-setup and builds docker/Dockerfile from a clean tree.
    Returns the figures of the build."""
    figures = containers.setup()
    context = tmp_path_factory.mktemp("image-context")
    containers.clean_tree(str(context))
    figures.update(containers.build(str(context), str(context / "docker" / "Dockerfile"),
                                    IMAGE, "image-build.log"))
    figures["size"] = containers.image_inspect(IMAGE)["Size"]
    return figures


class Container:
    """A payment-service container on the host network, on free loopback ports."""

    def __init__(self, mariadb, redis, database, extra_env=None):
        self.name = containers.unique("payment-it-image")
        self.rpc_port = devservers.free_port()
        self.http_port = devservers.free_port()
        self.env = {
            "PAYMENT_SERVER_HOST": "127.0.0.1",
            "PAYMENT_SERVER_RPC_PORT": str(self.rpc_port),
            "PAYMENT_SERVER_HTTP_PORT": str(self.http_port),
            "PAYMENT_CONSUL_ADDRESS": "",
            **mariadb.env(database), **redis.env(), **(extra_env or {})}

    def start(self):
        args = ["run", "-d", "--name", self.name, "--network", "host", "--pull=never"]
        for k, v in self.env.items():
            args += ["--env", f"{k}={v}"]
        containers.podman(*args, IMAGE)

        def healthy():
            try:
                if httpapi.request(self.http_port, "GET", "/health", timeout=2).status == 200:
                    return True
            except OSError:
                pass
            state = (containers.inspect(self.name) or {}).get("State", {})
            assert state.get("Running"), f"container exited: {state}\n{self.logs()}"
            return False
        poll(healthy, READY_TIMEOUT, interval=0.2, what=f"/health 200 from {self.name}")
        return self

    def logs(self):
        p = containers.podman("logs", self.name, check=False)
        return containers._tail(p.stdout + p.stderr, 40)

    def remove(self):
        containers.remove(self.name)


@pytest.fixture
def start_container(image, mariadb, redis, thrift_modules):
    """start_container(extra_env=None) -> a started Container; all removed at the end."""
    mariadb.create_database(DATABASE)
    started = []

    def start(extra_env=None):
        c = Container(mariadb, redis, DATABASE, extra_env)
        started.append(c)
        return c.start()

    yield start
    problems = []
    for c in started:
        p = containers.podman("logs", c.name, check=False)
        log = p.stdout + p.stderr
        c.remove()
        if data.VISA in log:
            problems.append(f"{c.name}: a card number in the log")
        problems += [f"{c.name}: {line}" for line in log.splitlines()
                     if '"level":"critical"' in line]
    assert not problems, problems


def test_image_figures(image, capsys):
    """Records the image's size and build time (the cached layers say whether it was a
    cold build)."""
    size_mb = image["size"] / 1e6
    lines = [
        f"image={IMAGE}",
        f"image_size_bytes={image['size']}",
        f"image_size_mb={size_mb:.1f}",
        f"build_seconds={image['seconds']:.1f}",
        f"build_steps={image['steps']}",
        f"build_cached_steps={image['cached_steps']}",
        f"base_image={image['base_image']}",
    ]
    if image["base_image_seconds"] is not None:
        lines.append(f"base_image_seconds={image['base_image_seconds']:.1f}")
    path = os.path.join(env.BUILD_DIR, "test-logs", "image-figures.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\nimage figures: " + ", ".join(lines))
    assert image["size"] > 0 and image["steps"] > 0, lines


def test_runtime_image_has_no_compiler_and_is_not_root(image, start_container):
    info = containers.image_inspect(IMAGE)
    user = info["Config"].get("User") or ""
    assert user and user.split(":")[0] not in ("root", "0"), f"image Config.User: {user!r}"
    health = (info.get("Healthcheck") or {}).get("Test") or []
    assert "/health" in " ".join(health), f"no HEALTHCHECK on /health in the image: {health}"

    c = start_container()
    uid = containers.podman("exec", c.name, "id", "-u").stdout.strip()
    assert uid.isdigit() and uid != "0", f"runs as uid {uid!r}"

    # Any executable compiler driver, compiler proper, assembler or linker by name
    # (ld.so, the dynamic loader, is not one), and any package that ships them.
    names = ["gcc", "gcc-[0-9]*", "*-linux-gnu-gcc*", "cc", "c++", "g++*", "cpp", "clang*",
             "tcc", "ld", "ld.bfd", "ld.gold", "ld.lld", "as", "cc1", "collect2"]
    packages = ("gcc(-[0-9]+)?|g\\+\\+(-[0-9]+)?|cpp(-[0-9]+)?|clang.*|llvm.*|binutils.*|"
                "libc6-dev|libgcc-[0-9]+-dev|tcc")
    find = ("find / -xdev \\( -type f -perm /111 -o -type l \\) \\( "
            + " -o ".join(f"-name '{n}'" for n in names) + " \\) -print; "
            f"dpkg-query -W -f '${{Package}}\\n' | grep -E '^({packages})$' || true")
    found = containers.podman("run", "--rm", "--pull=never", "--network", "none",
                              "--entrypoint", "sh", IMAGE, "-c", find).stdout.split()
    assert not found, f"compiler pieces in the runtime image: {found}"


def test_charge_query_refund_on_both_ports(start_container):
    c = start_container()
    # HTTP JSON
    order = data.order_id()
    ok, tx, _ = httpapi.charge(c.http_port, data.charge(order=order, amount=20.0))
    assert ok == "ok", tx
    got = refunds.http_query(c.http_port, tx=tx)
    assert got[0] == "ok" and got[1]["order_id"] == order and got[1]["status"] == "PAID", got
    got = refunds.http_refund(c.http_port, tx, f"r-{order}", amount=5.0)
    assert got[0] == "ok" and got[1]["status"] == "PARTIALLY_REFUNDED", got
    # Thrift
    order = data.order_id()
    with RpcClient(c.rpc_port) as rpc:
        ok, tx = rpc.charge(data.charge(order=order, amount=20.0))
    assert ok == "ok", tx
    got = refunds.rpc_query(c.rpc_port, order=order)
    assert got[0] == "ok" and got[1]["transaction_id"] == tx and got[1]["status"] == "PAID", got
    got = refunds.rpc_refund(c.rpc_port, tx, f"r-{order}")
    assert got[0] == "ok" and got[1]["status"] == "REFUNDED", got
    # each transport sees what the other stored
    got = refunds.http_query(c.http_port, tx=tx)
    assert got[0] == "ok" and got[1]["status"] == "REFUNDED", got


def wait_health(name, want_healthy, timeout=90):
    """Runs the HEALTHCHECK until it answers @want_healthy and podman's recorded status
    agrees (after --retries failures for unhealthy). Returns podman's last output."""
    want = "healthy" if want_healthy else "unhealthy"
    last = {}

    def reached():
        ok, out = containers.healthcheck(name)
        last.update(result=ok, output=out, status=containers.health_status(name))
        return ok == want_healthy and last["status"] == want

    poll(reached, timeout, interval=0.5, what=f"container {want} ({last})")
    return last["output"]


def test_healthcheck_follows_mysql(start_container, mariadb):
    c = start_container({"PAYMENT_MYSQL_CONNECT_TIMEOUT_SECONDS": "1",
                         "PAYMENT_MYSQL_READ_TIMEOUT_SECONDS": "2"})
    wait_health(c.name, True)
    mariadb.stop()
    try:
        wait_health(c.name, False)
        assert httpapi.request(c.http_port, "GET", "/health").status == 503
    finally:
        mariadb.start()
    wait_health(c.name, True)
    assert httpapi.request(c.http_port, "GET", "/health").status == 200


N_RPC = 10
N_HTTP = 10


def test_podman_stop_drains_in_flight_requests(start_container, mariadb):
    c = start_container({
        "PAYMENT_MYSQL_POOL_SIZE": "32",
        "PAYMENT_MYSQL_READ_TIMEOUT_SECONDS": "60",
        "PAYMENT_MYSQL_WRITE_TIMEOUT_SECONDS": "60",
        "PAYMENT_SERVER_SHUTDOWN_GRACE_SECONDS": "25",
    })
    assert httpapi.charge(c.http_port, data.charge())[0] == "ok"   # schema in place
    lock = TableLock(mariadb, DATABASE)
    stop = {}

    def podman_stop():
        stop["result"] = containers.podman("stop", "-t", "30", c.name, check=False, timeout=120)

    stopper = threading.Thread(target=podman_stop)
    charges = None
    try:
        charges = ChargesInFlight(c.rpc_port, c.http_port, N_RPC, N_HTTP)
        poll(lambda: in_flight_charges(c) == N_RPC + N_HTTP, 30,
             what=f"{N_RPC + N_HTTP} charges in flight")
        stopper.start()
        # SIGTERM arrived: both listeners are closed (new connections refused).
        poll(lambda: refused(c.rpc_port) and refused(c.http_port), 30,
             what="both ports refusing new connections")
        assert stopper.is_alive(), f"podman stop returned with requests in flight: {stop}"
        assert not charges.results, f"replies before the lock was released: {charges.results}"
        lock.release()
        charges.join()
        stopper.join(timeout=120)
    finally:
        lock.release()
        if charges is not None:
            charges.join()
    bad = charges.failures()
    assert not bad, f"requests without a successful reply: {bad}"
    assert not stopper.is_alive(), "podman stop did not return"
    assert stop["result"].returncode == 0, stop["result"]
    state = containers.inspect(c.name)["State"]
    assert not state["Running"] and state["ExitCode"] == 0, \
        f"exit code {state['ExitCode']} (want 0; 137 is a SIGKILL)\n{c.logs()}"
