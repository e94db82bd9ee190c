"""The payment-service process under test: started on free loopback ports with PAYMENT_*
environment overrides, ready when GET /health answers 200, stderr+stdout captured to a log
file, stopped with SIGTERM. Teardown checks the exit status and the log for sanitizer
reports."""

import http.client
import os
import re
import signal
import ssl
import subprocess
import time

from . import env, httpapi
from .env import devservers

# Lines that mean a memory or UB error was reported (ASan, LSan, UBSan), or a GLib critical
# (a g_return_if_fail that fired: a programmer error in the service).
BAD_LOG_PATTERNS = [
    re.compile(r"AddressSanitizer"),
    re.compile(r"LeakSanitizer"),
    re.compile(r"runtime error:"),
    re.compile(r"-CRITICAL \*\*"),
]

_counter = [0]


class ServiceError(AssertionError):
    pass


class Service:
    """One payment-service process.

    @extra_env overrides the environment (PAYMENT_* keys win over the defaults built from
    @mariadb/@redis); @wrapper is a command prefix such as valgrind's. @tls_ca: the CA
    file of a service started with HTTPS (PAYMENT_HTTP_TLS_* in @extra_env): its probes
    speak HTTPS, verifying the certificate."""

    def __init__(self, mariadb, redis, database, extra_env=None, wrapper=None,
                 name="service", ready_timeout=30.0, stop_timeout=30.0, tls_ca=None):
        _counter[0] += 1
        self.name = f"{name}-{os.getpid()}-{_counter[0]}"
        self.log_path = os.path.join(env.log_dir(), f"{self.name}.log")
        self.mariadb = mariadb
        self.redis = redis
        self.database = database
        self.extra_env = dict(extra_env or {})
        self.wrapper = list(wrapper or [])
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.tls_ca = tls_ca
        self.proc = None
        self.rpc_port = None
        self.http_port = None
        self.returncode = None

    # ---- lifecycle ----

    def environment(self):
        e = dict(os.environ)
        e.update({
            "PAYMENT_SERVER_HOST": "127.0.0.1",
            "PAYMENT_SERVER_RPC_PORT": str(self.rpc_port),
            "PAYMENT_SERVER_HTTP_PORT": str(self.http_port),
            "PAYMENT_CONSUL_ADDRESS": "",
            # sanitizers: report to stderr (our log), fail the exit status
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:print_summary=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
            "LSAN_OPTIONS": "print_suppressions=0",
        })
        e.update(self.mariadb.env(self.database))
        e.update(self.redis.env())
        e.update(self.extra_env)
        return e

    def start(self):
        """Starts the service and returns when /health answers 200. Raises ServiceError
        (with the log tail) when it exits or is not ready within ready_timeout."""
        # Port 0 unless a test asks for one: the service binds any free port and logs it.
        # Picking a free port here and passing it on would race with other suites.
        self.rpc_port = int(self.extra_env.get("PAYMENT_SERVER_RPC_PORT") or 0)
        self.http_port = int(self.extra_env.get("PAYMENT_SERVER_HTTP_PORT") or 0)
        cmd = self.wrapper + [env.BINARY, "--config", env.CONFIG]
        log = open(self.log_path, "ab")
        log.write(f"### {' '.join(cmd)}\n".encode())
        log.flush()
        self._log_offset = log.tell()   # this run's lines start here
        self.proc = subprocess.Popen(cmd, env=self.environment(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=devservers._die_with_parent)
        log.close()
        self.returncode = None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise ServiceError(f"payment-service exited with {self.proc.returncode} "
                                   f"before it was ready\n{self.log_tail()}")
            if not (self.rpc_port and self.http_port):
                self._read_bound_ports()
            elif self.health_status(timeout=2.0) == 200:
                return self
            time.sleep(0.05)
        self.kill()
        raise ServiceError(f"payment-service not healthy within {self.ready_timeout}s\n"
                           + self.log_tail())

    _LISTENING = re.compile(r"(rpc|http) listening on [0-9.]+:([0-9]+)")

    def _read_bound_ports(self):
        """Takes the ports the service logged ("rpc listening on 127.0.0.1:N")."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode(errors="replace")
        for which, port in self._LISTENING.findall(text):
            if which == "rpc" and not self.rpc_port:
                self.rpc_port = int(port)
            elif which == "http" and not self.http_port:
                self.http_port = int(port)

    def stop(self):
        """SIGTERM, then waits up to stop_timeout; returns the exit status (SIGKILL and
        ServiceError when it does not exit in time)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = self.proc.returncode
                self.proc = None
                raise ServiceError(f"payment-service did not exit within {self.stop_timeout}s "
                                   f"of SIGTERM\n{self.log_tail()}")
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stop_and_check(self):
        """Stops the service, asserts exit status 0 and a log free of sanitizer reports."""
        status = self.stop()
        problems = self.bad_log_lines()
        if status != 0 or problems:
            raise ServiceError(
                f"payment-service exit status {status} (want 0); "
                f"{len(problems)} sanitizer/critical line(s): {problems[:5]}\n"
                f"log: {self.log_path}\n{self.log_tail(80)}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- log ----

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_size(self):
        return os.path.getsize(self.log_path)

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def log_tail(self, n=40):
        try:
            lines = self.log_text().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def bad_log_lines(self):
        return [line for line in self.log_text().splitlines()
                if any(p.search(line) for p in BAD_LOG_PATTERNS)]

    # ---- probes ----

    def tls(self):
        """The ssl.SSLContext that trusts the service's certificate; None without HTTPS."""
        if self.tls_ca is None:
            return None
        return ssl.create_default_context(cafile=self.tls_ca)

    def health_status(self, timeout=5.0):
        """Status of GET /health, or None when the port does not answer."""
        try:
            c = httpapi.connection(self.http_port, timeout, self.tls())
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status
        except (OSError, http.client.HTTPException):
            return None

    def wait_health(self, want, timeout=30.0):
        """Polls /health until it answers @want; returns the seconds it took."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            last = self.health_status(timeout=min(5.0, timeout))
            if last == want:
                return time.monotonic() - t0
            if not self.alive():
                raise ServiceError(f"payment-service died\n{self.log_tail()}")
            time.sleep(0.05)
        raise AssertionError(f"/health stayed {last}, wanted {want} within {timeout}s")


def poll(fn, timeout, interval=0.05, what="condition"):
    """Calls fn() until it returns a true value (returned) or @timeout seconds pass
    (AssertionError with the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")
        time.sleep(interval)
