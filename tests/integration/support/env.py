"""Where things are: the service binary, the source and build trees, the Kitex test vectors,
and the devservers module from scripts/. Every path comes from the environment ctest sets
(PAYMENT_BINARY, PAYMENT_BUILD_DIR, PAYMENT_SOURCE_DIR, PAYMENT_KITEX_CLIENT,
PAYMENT_EVENTS_CONSUMER), with
fallbacks that make `pytest tests/integration/test_x.py` work from a source tree."""

import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

SOURCE_DIR = os.path.abspath(os.environ.get("PAYMENT_SOURCE_DIR")
                             or os.path.join(_HERE, "..", "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("PAYMENT_BUILD_DIR")
                            or os.path.join(SOURCE_DIR, "build"))
BINARY = os.environ.get("PAYMENT_BINARY") or os.path.join(BUILD_DIR, "payment-service")
KITEX_CLIENT = os.environ.get("PAYMENT_KITEX_CLIENT") or os.path.join(BUILD_DIR, "kitex-client")
EVENTS_CONSUMER = (os.environ.get("PAYMENT_EVENTS_CONSUMER")
                   or os.path.join(BUILD_DIR, "events-consumer"))
EVENTS_SCHEMA = os.path.join(SOURCE_DIR, "docs", "events.schema.json")
CONFIG = os.path.join(SOURCE_DIR, "conf", "payment.conf")
IDL = os.path.join(SOURCE_DIR, "idl", "payment.thrift")
KITEX_VECTORS = os.path.join(SOURCE_DIR, "tests", "vectors", "kitex")
CONSUL_BINARY = os.environ.get("PAYMENT_CONSUL_BINARY") or ""
# The SQL server the session's `mariadb` fixture runs: "mariadb" (the default) or "tidb"
# (ctest's integration-tidb/<suite> entries set it; see conftest.py).
BACKEND = os.environ.get("PAYMENT_IT_BACKEND") or "mariadb"
TIDB_SERVER = os.environ.get("PAYMENT_TIDB_SERVER") or ""
SANITIZED = os.environ.get("PAYMENT_SANITIZED", "0") in ("1", "ON", "TRUE", "true", "yes")


def consul_binary():
    """The real Consul agent for the tests: $PAYMENT_CONSUL_BINARY (ctest sets it from the
    build, see scripts/test), else what scripts/build-consul prints (it builds or finds
    the cached binary)."""
    if CONSUL_BINARY:
        return CONSUL_BINARY
    import subprocess
    out = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "build-consul")], check=True,
                         capture_output=True, text=True, timeout=1800).stdout
    return out.strip().splitlines()[-1]


def tidb_server():
    """tidb-server for the TiDB backend: $PAYMENT_TIDB_SERVER (ctest sets it from the
    build, see scripts/test), else what scripts/build-tidb prints (it builds or finds the
    cached binary)."""
    if TIDB_SERVER:
        return TIDB_SERVER
    import subprocess
    out = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "build-tidb")], check=True,
                         capture_output=True, text=True, timeout=3600).stdout
    return out.strip().splitlines()[-1]


def suite_name():
    """Name of the running suite (the test file, with "-tidb" on the TiDB backend, whose
    run may go on beside the MariaDB one), for log directories."""
    suffix = "" if BACKEND == "mariadb" else f"-{BACKEND}"
    for arg in sys.argv[1:]:
        if arg.endswith(".py"):
            return os.path.splitext(os.path.basename(arg))[0] + suffix
    return "pytest" + suffix


def log_dir():
    """$PAYMENT_BUILD_DIR/test-logs/<suite>/: service logs are kept there for CI."""
    d = os.path.join(BUILD_DIR, "test-logs", suite_name())
    os.makedirs(d, exist_ok=True)
    return d


def _load_devservers():
    path = os.path.join(SOURCE_DIR, "scripts", "devservers.py")
    spec = importlib.util.spec_from_file_location("devservers", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["devservers"] = mod
    spec.loader.exec_module(mod)
    return mod


devservers = _load_devservers()
