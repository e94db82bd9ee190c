"""Where things are: the service binary, the source and build trees, shared/ test vectors,
and the devservers module from scripts/. Every path comes from the environment ctest sets
(PAYMENT_BINARY, PAYMENT_BUILD_DIR, PAYMENT_SOURCE_DIR, PAYMENT_KITEX_CLIENT), with
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
CONFIG = os.path.join(SOURCE_DIR, "conf", "payment.conf")
IDL = os.path.join(SOURCE_DIR, "idl", "payment.thrift")
SHARED_DIR = os.path.abspath(os.path.join(SOURCE_DIR, "..", "shared"))
KITEX_VECTORS = os.path.join(SHARED_DIR, "vectors", "kitex")
SANITIZED = os.environ.get("PAYMENT_SANITIZED", "0") in ("1", "ON", "TRUE", "true", "yes")


def suite_name():
    """Name of the running suite (the test file), for log directories."""
    for arg in sys.argv[1:]:
        if arg.endswith(".py"):
            return os.path.splitext(os.path.basename(arg))[0]
    return "pytest"


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
