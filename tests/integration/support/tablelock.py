"""Holding charges inside MySQL: a table lock or a row lock another session keeps, and the
service's metrics (charges in flight, to know when they have all arrived)."""

import subprocess

from . import httpapi


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
