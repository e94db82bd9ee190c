"""Shared fixtures of the integration suites: per session a private MariaDB (or TiDB, see
support/backends.py) and Redis (scripts/devservers.py) and the Python Thrift code
generated from the IDL; a factory that starts payment-service processes on free ports
and, at teardown, asserts they exit 0 on SIGTERM with no sanitizer report in their log;
and a default service per module."""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import backends, env, thriftgen  # noqa: E402
from support.env import devservers  # noqa: E402
from support.service import Service  # noqa: E402

DATABASE = "payment_it"


def pytest_report_header(config):
    return [f"payment-service: {env.BINARY}", f"source: {env.SOURCE_DIR}",
            f"logs: {env.log_dir()}", f"SQL server: {env.BACKEND}"]


def pytest_configure(config):
    assert env.BACKEND in backends.DESELECTED, (
        f"PAYMENT_IT_BACKEND={env.BACKEND!r}: expected one of {sorted(backends.DESELECTED)}")


def pytest_collection_modifyitems(session, config, items):
    """Deselects, on this backend, the tests support/backends.py lists with the reason
    they cannot apply there; the reasons are printed at the end of the run. A listed test
    that no longer exists fails the run, so the list cannot rot."""
    listed = backends.DESELECTED[env.BACKEND]
    files = {backends.key(item.nodeid).split("::")[0] for item in items}
    matched, keep, drop = set(), [], []
    for item in items:
        key = backends.key(item.nodeid)
        if key in listed:
            matched.add(key)
            drop.append(item)
        else:
            keep.append(item)
    stale = [k for k in listed if k.split("::")[0] in files and k not in matched]
    if stale:
        raise pytest.UsageError(f"support/backends.py deselects tests that do not exist "
                                f"on {env.BACKEND}: {stale}")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config._payment_deselected = sorted({backends.key(i.nodeid) for i in drop})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    keys = getattr(config, "_payment_deselected", [])
    if keys:
        terminalreporter.section(f"deselected on {env.BACKEND} (support/backends.py)")
        for k in keys:
            terminalreporter.write_line(f"{k}: {backends.DESELECTED[env.BACKEND][k]}")


@pytest.fixture(scope="session")
def binary():
    assert os.access(env.BINARY, os.X_OK), f"service binary missing: {env.BINARY}"
    assert os.path.exists(env.CONFIG), f"config missing: {env.CONFIG}"
    return env.BINARY


@pytest.fixture(scope="session")
def kitex_client():
    """The Kitex Go test client (tests/kitex/)."""
    path = env.KITEX_CLIENT
    assert os.path.isfile(path) and os.access(path, os.X_OK), (
        f"Kitex client binary missing: {path} (scripts/test builds it with "
        "tests/kitex/build.sh; PAYMENT_KITEX_CLIENT overrides the path)")
    return path


@pytest.fixture(scope="session")
def events_consumer():
    """The events consumer example (examples/events-consumer/), built by scripts/test."""
    path = env.EVENTS_CONSUMER
    assert os.path.isfile(path) and os.access(path, os.X_OK), (
        f"events consumer binary missing: {path} (scripts/test builds it with "
        "examples/events-consumer/build.sh; PAYMENT_EVENTS_CONSUMER overrides the path)")
    return path


@pytest.fixture(scope="session")
def thrift_modules(tmp_path_factory):
    """(PaymentService, ttypes) generated from idl/payment.thrift for this session."""
    return thriftgen.generate(tmp_path_factory.mktemp("gen-py"))


@pytest.fixture(scope="session")
def servers_dir():
    d = tempfile.mkdtemp(prefix=f"payment-it-{env.suite_name()}-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb(servers_dir):
    """The session's private MySQL-protocol server (root@127.0.0.1, no password): a
    MariaDB, or a TiDB (unistore) when PAYMENT_IT_BACKEND=tidb, with the same client API.
    Tests that stop it must start it again (start() keeps port and data)."""
    if env.BACKEND == "tidb":
        m = devservers.TiDB(os.path.join(servers_dir, "tidb"), env.tidb_server())
    else:
        m = devservers.MariaDB(os.path.join(servers_dir, "mariadb"))
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def redis(servers_dir):
    r = devservers.Redis(os.path.join(servers_dir, "redis"))
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def database(mariadb):
    mariadb.create_database(DATABASE)
    return DATABASE


@pytest.fixture(scope="session")
def start_service(binary, thrift_modules, mariadb, redis, database):
    """start_service(extra_env=None, database=None, **kw) -> a started Service.
    Every service started is stopped at the end of the session, if a test did not stop it
    first; each must exit 0 with a clean log."""
    started = []

    def start(extra_env=None, database_name=None, **kw):
        db = database_name or database
        if db != database:
            mariadb.create_database(db)
        s = Service(mariadb, redis, db, extra_env=extra_env, **kw)
        started.append(s)
        s.start()
        return s

    yield start
    errors = []
    for s in started:
        try:
            if s.proc is not None:
                s.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n\n".join(errors)


@pytest.fixture(scope="module")
def service(start_service):
    """The default service of a test module, with the default configuration."""
    s = start_service()
    yield s
    s.stop_and_check()


@pytest.fixture
def fresh_service(start_service):
    """A service of its own for one test; stopped and checked at the test's end."""
    services = []

    def start(extra_env=None, **kw):
        s = start_service(extra_env=extra_env, **kw)
        services.append(s)
        return s

    yield start
    for s in services:
        if s.proc is not None:
            s.stop_and_check()
