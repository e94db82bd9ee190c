#!/usr/bin/python3
"""Chaos soak: two payment-service instances sharing one private MariaDB and one Redis on
loopback, a bounded seeded mix of charges, queries and refunds over Thrift RPC and HTTP
JSON on both, and meanwhile faults: MariaDB and Redis killed (SIGKILL) and started again
on the same port and data, one instance killed (SIGKILL) and started again on its ports,
MariaDB and Redis frozen (SIGSTOP) and thawed (SIGCONT). After the load, once every server
is back and both instances report /health "ok", the invariants of check.py are checked
against MySQL and against every instance on both transports.

It prints operations, faults and anomalies, and writes them as JSON (--summary). Exit
status 0 only with no anomaly, every kind of fault injected at least once and at least
one charge answered on each transport; 1 otherwise; 2 when the set-up failed.

  /usr/bin/python3 tests/soak/soak.py --seconds 60 --seed 1 [--build-dir build]
  scripts/soak SECONDS [options]            (builds build/ first)

The seed fixes the operations each worker picks and the faults' order and durations;
the interleaving of threads, and so the exact figures, vary from run to run."""

import argparse
import collections
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

DATABASE = "payment_soak"
READY_TIMEOUT = 120.0   # seconds for both instances to report "ok" after the faults


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60, help="load duration (default 60)")
    p.add_argument("--max-ops", type=int, default=1_000_000,
                   help="operation budget of the whole load (default 1000000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--timeout", type=float, default=15.0,
                   help="seconds each client call may take (default 15)")
    p.add_argument("--faults", default="all",
                   help="comma-separated fault kinds to inject, or all (default): "
                        "mysql-kill, redis-kill, service-kill, mysql-freeze, redis-freeze, "
                        "redis-refuse-writes")
    p.add_argument("--summary", help="write the JSON summary here")
    p.add_argument("--build-dir", help="build tree with payment-service (default build/)")
    p.add_argument("--keep", action="store_true", help="keep the servers' directory")
    args = p.parse_args(argv)
    import faults
    args.kinds = faults.KINDS if args.faults == "all" else args.faults.split(",")
    unknown = set(args.kinds) - set(faults.KINDS)
    if unknown:
        p.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    return args


def log(msg):
    print(f"soak: {msg}", flush=True)


class Run:
    """One soak run: servers, instances, load, faults, checks."""

    def __init__(self, args):
        from support import env
        from support.env import devservers
        env.suite_name = lambda: "soak"     # service logs go to <build>/test-logs/soak/
        self.args, self.env, self.devservers = args, env, devservers
        self.dir = tempfile.mkdtemp(prefix="payment-soak-")
        self.mariadb = devservers.MariaDB(os.path.join(self.dir, "mariadb"))
        self.redis = devservers.Redis(os.path.join(self.dir, "redis"))
        self.instances = []
        self.t0 = time.monotonic()

    def clock(self):
        return time.monotonic() - self.t0

    def set_up(self):
        from support import thriftgen
        from support.service import Service
        self.mariadb.start()
        self.redis.start()
        self.mariadb.create_database(DATABASE)
        gen = os.path.join(self.dir, "gen-py")
        os.makedirs(gen)
        thriftgen.generate(gen)
        for name in ("a", "b"):
            inst = Service(self.mariadb, self.redis, DATABASE, name=f"soak-{name}")
            inst.soak_name = name
            inst.start()
            # a restart after kill -9 comes back on the same ports
            inst.extra_env["PAYMENT_SERVER_RPC_PORT"] = str(inst.rpc_port)
            inst.extra_env["PAYMENT_SERVER_HTTP_PORT"] = str(inst.http_port)
            self.instances.append(inst)
            log(f"instance {name}: rpc {inst.rpc_port}, http {inst.http_port}, "
                f"log {inst.log_path}")

    def load_and_faults(self, ledger):
        import faults
        import load
        a = self.args
        stop = threading.Event()
        self.t0 = time.monotonic()
        end = a.seconds

        def should_stop():
            return stop.is_set() or self.clock() >= end

        workers = [load.Worker(w, random.Random(f"{a.seed}/worker/{w}"), ledger,
                               self.instances, a.timeout) for w in range(a.workers)]
        threads = [threading.Thread(target=w.run, args=(should_stop, a.max_ops), daemon=True)
                   for w in workers]
        for t in threads:
            t.start()
        injector = faults.Injector(random.Random(f"{a.seed}/faults"), self.mariadb,
                                   self.redis, self.instances, self.clock, log, a.kinds)
        try:
            injector.run(_AnyDone(stop, threads), end)
        finally:
            stop_at = time.monotonic() + max(0.0, end - self.clock()) + 4 * a.timeout
            for t in threads:
                t.join(timeout=max(0.0, stop_at - time.monotonic()))
            stop.set()
        if any(t.is_alive() for t in threads):
            ledger.anomaly("worker-hung", detail="a client call outlived its timeout")
        return injector.done, self.clock()

    def recover(self, ledger):
        """Every server up and both instances "ok"; an instance that died by itself is a
        finding (it is started again for the checks)."""
        from support.service import poll
        for server in (self.mariadb, self.redis):
            if not server.is_running():
                ledger.anomaly("server-down-after-load", server=server.name)
                server.start()
        for inst in self.instances:
            if not inst.alive():
                ledger.anomaly("instance-died", instance=inst.soak_name,
                               log_tail=inst.log_tail(20))
                inst.start()
        t = time.monotonic()
        for inst in self.instances:
            poll(lambda: _health_ok(inst), READY_TIMEOUT, interval=0.1,
                 what=f"instance {inst.soak_name} /health ok")
        return time.monotonic() - t

    def check(self, ledger):
        import check
        store = check.Store(self.mariadb, DATABASE)
        return check.Checker(ledger, store, self.instances, self.args.timeout).run()

    def stop_instances(self, ledger):
        from support.service import ServiceError
        for inst in self.instances:
            try:
                inst.stop_and_check()
            except ServiceError as e:
                ledger.anomaly("instance-stop", instance=inst.soak_name, error=str(e)[:2000])

    def tear_down(self, keep):
        for inst in self.instances:
            inst.kill()
        self.redis.stop()
        self.mariadb.stop()
        if keep:
            log(f"servers' directory kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class _AnyDone:
    """An Event-like stop for the injector: set when @stop is, or when every worker has
    finished (the operation budget is spent)."""

    def __init__(self, stop, threads):
        self.stop, self.threads = stop, threads

    def is_set(self):
        return self.stop.is_set() or not any(t.is_alive() for t in self.threads)

    def wait(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.is_set() and time.monotonic() < deadline:
            self.stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.is_set()


def _health_ok(inst):
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", inst.http_port, timeout=5)
        c.request("GET", "/health")
        r = c.getresponse()
        body = json.loads(r.read() or b"{}")
        c.close()
        return r.status == 200 and body.get("status") == "ok"
    except (OSError, ValueError, http.client.HTTPException):
        return False


def summarize(args, ledger, done, load_seconds, recovery_seconds, stats):
    import faults
    by_op, by_transport = {}, {}
    for (op, where, label), n in sorted(ledger.counts.items()):
        by_op.setdefault(op, {}).setdefault(label, 0)
        by_op[op][label] += n
        transport = where.split("@")[0]
        by_transport[transport] = by_transport.get(transport, 0) + n
    return {"seed": args.seed, "seconds": args.seconds, "workers": args.workers,
            "max_ops": args.max_ops, "load_seconds": round(load_seconds, 1),
            "recovery_seconds": round(recovery_seconds, 1),
            "operations": sum(ledger.counts.values()), "by_operation": by_op,
            "by_transport": by_transport, "faults": len(done),
            "faults_by_kind": faults.counts(done, args.kinds), "fault_timeline": done,
            "checked": stats, "anomalies": len(ledger.anomalies),
            "anomalies_by_kind": dict(collections.Counter(
                a["kind"] for a in ledger.anomalies)),
            "anomaly_list": ledger.anomalies}


def verdict(summary):
    """Why the run fails, or [] when it passes."""
    why = []
    if summary["anomalies"]:
        why.append(f"{summary['anomalies']} anomalies")
    missing = [k for k, n in summary["faults_by_kind"].items() if n == 0]
    if missing:
        why.append(f"faults never injected: {', '.join(missing)} (run longer)")
    for transport in ("rpc", "http"):
        ok = sum(n for (op, where, label), n in summary["_counts"].items()
                 if op == "charge" and where.startswith(transport) and label == "ok")
        if ok == 0:
            why.append(f"no charge answered with a success over {transport}")
    return why


def report(summary, path):
    log(f"seed {summary['seed']}: {summary['load_seconds']} s of load, "
        f"{summary['workers']} workers, 2 instances; recovery {summary['recovery_seconds']} s")
    log(f"operations {summary['operations']} "
        f"({', '.join(f'{t} {n}' for t, n in summary['by_transport'].items())})")
    for op, labels in summary["by_operation"].items():
        log(f"  {op:14} " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    log(f"faults {summary['faults']}: "
        + ", ".join(f"{k} {n}" for k, n in summary["faults_by_kind"].items()))
    log("checked: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["checked"].items())))
    for a in summary["anomaly_list"][:20]:
        log(f"ANOMALY {json.dumps(a, default=str)[:1500]}")
    log(f"anomalies {summary['anomalies']} "
        + json.dumps(summary["anomalies_by_kind"]) if summary["anomalies"] else "anomalies 0")
    if path:
        with open(path, "w") as f:
            json.dump({k: v for k, v in summary.items() if not k.startswith("_")}, f,
                      indent=1, default=str)
        log(f"summary written to {path}")


def main(argv=None):
    args = parse_args(argv)
    # Thrift's TSocket logs every refused connection; the soak counts them ("unsent").
    logging.getLogger("thrift").setLevel(logging.CRITICAL)
    if args.build_dir:
        os.environ["PAYMENT_BUILD_DIR"] = os.path.abspath(args.build_dir)
        os.environ.setdefault("PAYMENT_BINARY",
                              os.path.join(os.environ["PAYMENT_BUILD_DIR"], "payment-service"))
    import load
    run = Run(args)
    keep = args.keep
    try:
        try:
            run.set_up()
        except (RuntimeError, AssertionError, OSError, subprocess.SubprocessError) as e:
            log(f"set-up failed: {e}")
            return 2
        ledger = load.Ledger(run.clock)
        done, load_seconds = run.load_and_faults(ledger)
        recovery = run.recover(ledger)
        t = time.monotonic()
        stats = run.check(ledger)
        stats["check_seconds"] = round(time.monotonic() - t, 1)
        run.stop_instances(ledger)
        summary = summarize(args, ledger, done, load_seconds, recovery, stats)
        summary["_counts"] = ledger.counts
        report(summary, args.summary)
        why = verdict(summary)
        keep = keep or bool(why)
        log("PASS" if not why else "FAIL: " + "; ".join(why))
        return 0 if not why else 1
    finally:
        run.tear_down(keep)


if __name__ == "__main__":
    sys.exit(main())
