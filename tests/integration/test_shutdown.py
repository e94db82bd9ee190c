"""Graceful shutdown: SIGTERM while 20 charges (10 over RPC, 10 over HTTP) are held in
MySQL by a table lock another session keeps: both ports stop accepting at once (new
connections are refused), the lock is released, every one of the 20 gets its reply, and
the process exits 0. Also: a second signal exits at once."""

import signal
import threading

from support import data, httpapi
from support.service import poll
from support.tablelock import ChargesInFlight, TableLock, in_flight_charges, refused

N_RPC = 10
N_HTTP = 10


def test_sigterm_finishes_in_flight_requests(start_service, mariadb):
    db = "payment_shutdown"
    svc = start_service(extra_env={
        "PAYMENT_MYSQL_POOL_SIZE": "32",
        "PAYMENT_MYSQL_READ_TIMEOUT_SECONDS": "60",
        "PAYMENT_MYSQL_WRITE_TIMEOUT_SECONDS": "60",
        "PAYMENT_SERVER_SHUTDOWN_GRACE_SECONDS": "60",
    }, database_name=db)
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"   # schema in place

    lock = TableLock(mariadb, db)
    charges = None
    try:
        charges = ChargesInFlight(svc.rpc_port, svc.http_port, N_RPC, N_HTTP)
        poll(lambda: in_flight_charges(svc) == N_RPC + N_HTTP, 30,
             what=f"{N_RPC + N_HTTP} charges in flight")
        svc.proc.send_signal(signal.SIGTERM)
        poll(lambda: refused(svc.rpc_port) and refused(svc.http_port), 15,
             what="both ports refusing new connections")
        assert svc.alive(), "exited with requests in flight"
        assert not charges.results, f"replies before the lock was released: {charges.results}"
        lock.release()
        charges.join()
    finally:
        lock.release()
        if charges is not None:
            charges.join()
    bad = charges.failures()
    assert not bad, f"requests without a successful reply: {bad}"
    assert svc.proc.wait(timeout=60) == 0, svc.log_tail()
    svc.returncode = 0
    svc.proc = None
    assert not svc.bad_log_lines(), svc.bad_log_lines()


def test_second_signal_exits_at_once(start_service, mariadb):
    db = "payment_shutdown2"
    svc = start_service(extra_env={
        "PAYMENT_MYSQL_READ_TIMEOUT_SECONDS": "60",
        "PAYMENT_SERVER_SHUTDOWN_GRACE_SECONDS": "60",
    }, database_name=db)
    assert httpapi.charge(svc.http_port, data.charge())[0] == "ok"
    lock = TableLock(mariadb, db)
    try:
        def doomed_charge():
            try:
                httpapi.charge(svc.http_port, data.charge(), timeout=120)
            except OSError:
                pass   # the process exited under it: that is the point

        t = threading.Thread(target=doomed_charge)
        t.start()
        poll(lambda: in_flight_charges(svc) == 1, 30, what="a charge in flight")
        svc.proc.send_signal(signal.SIGTERM)
        poll(lambda: refused(svc.http_port), 15, what="the HTTP port refusing")
        svc.proc.send_signal(signal.SIGTERM)
        status = svc.proc.wait(timeout=15)
        assert status != 0, "a second signal is an immediate, non-graceful exit"
        svc.proc = None
    finally:
        lock.release()
    t.join(timeout=120)
