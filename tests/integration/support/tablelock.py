"""Holding charges inside MySQL: a table lock or a row lock another session keeps, and the
service's metrics (charges in flight, to know when they have all arrived); charges sent
at once on connections of their own, and a probe for a port that refuses connections."""

import socket
import subprocess
import threading

from . import data, httpapi


class HeldSession:
    """A mariadb client session that runs @hold_sql, then keeps what it holds (locks, an
    open transaction) until release() runs @release_sql."""

    def __init__(self, mariadb, database, hold_sql, release_sql):
        self.proc = subprocess.Popen(mariadb.client_args(database) + ["--unbuffered"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.release_sql = release_sql
        self.released = False
        self.proc.stdin.write(hold_sql + "\nSELECT 'held';\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line == "held", f"mariadb client: {line!r}"

    def release(self):
        if self.released:
            return
        self.released = True
        self.proc.stdin.write(self.release_sql + "\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0, self.proc.stdout.read()


class TableLock(HeldSession):
    """LOCK TABLES payments WRITE held by a mariadb client session until release()."""

    def __init__(self, mariadb, database):
        super().__init__(mariadb, database, "LOCK TABLES payments WRITE;", "UNLOCK TABLES;")


def metric_sum(svc, name, label_filter=lambda line: True):
    """The sum of the samples of metric @name (lines passing @label_filter)."""
    text = httpapi.request(svc.http_port, "GET", "/metrics").raw
    total = 0.0
    for line in text.splitlines():
        if (line.startswith(name + "{") or line.startswith(name + " ")) and label_filter(line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def in_flight_charges(svc):
    return metric_sum(svc, "payment_requests_in_flight",
                      lambda line: 'method="Charge"' in line
                      or 'method="POST /payment/charge"' in line)


class ChargesInFlight:
    """@n_rpc Thrift and @n_http HTTP charges, each on a connection and a thread of its
    own, started at once (for shutdown tests: they wait behind a TableLock). results maps
    ("rpc" | "http", i) to the reply's ("ok", ...) tuple or ("exception", repr)."""

    def __init__(self, rpc_port, http_port, n_rpc, n_http, timeout=120):
        from .rpc import RpcClient
        self.total = n_rpc + n_http
        self.timeout = timeout
        self.results = {}

        def rpc_call(i):
            try:
                with RpcClient(rpc_port, timeout=timeout) as rpc:
                    self.results[("rpc", i)] = rpc.charge(data.charge())
            except Exception as e:  # noqa: BLE001
                self.results[("rpc", i)] = ("exception", repr(e))

        def http_call(i):
            try:
                self.results[("http", i)] = httpapi.charge(http_port, data.charge(),
                                                           timeout=timeout)[:2]
            except Exception as e:  # noqa: BLE001
                self.results[("http", i)] = ("exception", repr(e))

        self.threads = [threading.Thread(target=rpc_call, args=(i,)) for i in range(n_rpc)]
        self.threads += [threading.Thread(target=http_call, args=(i,)) for i in range(n_http)]
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=self.timeout)

    def failures(self):
        """The results that are not a successful reply, and the charges with none."""
        bad = {k: v for k, v in self.results.items() if v[0] != "ok"}
        if len(self.results) != self.total:
            bad["missing"] = f"{self.total - len(self.results)} charge(s) without a result"
        return bad


def refused(port):
    """True when a connection to 127.0.0.1:@port is refused (nothing listens)."""
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()
    return False
