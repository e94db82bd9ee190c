"""Generates Python Thrift code from idl/payment.thrift with the thrift compiler, once per
test session, and imports it: payment.PaymentService and payment.ttypes."""

import importlib
import subprocess
import sys

from . import env


def generate(out_dir):
    """Runs `thrift --gen py` into @out_dir and returns (PaymentService, ttypes)."""
    subprocess.run(["thrift", "--gen", "py", "-out", str(out_dir), env.IDL], check=True)
    sys.path.insert(0, str(out_dir))
    importlib.invalidate_caches()
    service = importlib.import_module("payment.PaymentService")
    ttypes = importlib.import_module("payment.ttypes")
    return service, ttypes


def modules():
    """The generated modules, after generate() ran (conftest does it at session start)."""
    return sys.modules["payment.PaymentService"], sys.modules["payment.ttypes"]
