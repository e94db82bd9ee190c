"""The soak's faults, injected from the main thread while the load runs (the main thread
also starts every server again: the devservers and Service children die with the thread
that forked them).

Besides the kills and freezes, Redis is made to refuse writes for a while (reads still
answered): the case of a cache update that fails outright rather than times out.

Each fault is held for a time drawn from the seeded generator, then undone; undoing
waits, with a deadline, until the server answers again (start() polls readiness)."""

import signal
import time

KINDS = ["mysql-kill", "redis-kill", "service-kill", "mysql-freeze", "redis-freeze",
         "redis-refuse-writes"]

# How long each kind is held, in seconds (uniform between the two). MySQL freezes run
# past mysql.read_timeout_seconds (5) now and then, Redis ones past redis.timeout_ms.
HOLD = {"mysql-kill": (0.5, 3.0), "redis-kill": (0.5, 3.0), "service-kill": (0.5, 2.0),
        "mysql-freeze": (1.0, 7.0), "redis-freeze": (0.5, 3.0),
        "redis-refuse-writes": (0.5, 3.0)}
CALM = (1.5, 4.0)   # seconds between two faults


class Injector:
    """Injects faults in a shuffled round of every kind, again and again, until @stop
    (a threading.Event) is set or the schedule's end comes."""

    def __init__(self, rng, mariadb, redis, instances, clock, log, kinds=KINDS):
        self.kinds = list(kinds)
        self.rng, self.mariadb, self.redis = rng, mariadb, redis
        self.instances, self.clock, self.log = instances, clock, log
        self.done = []      # one dict per fault: kind, target, at, held, back_after

    def run(self, stop, end):
        """Injects until @stop is set or a fault would not end before @end (clock
        seconds)."""
        order = []
        while not stop.is_set():
            if not order:
                order = list(self.kinds)
                self.rng.shuffle(order)
            kind = order[-1]
            calm = self.rng.uniform(*CALM)
            hold = self.rng.uniform(*HOLD[kind])
            if self.clock() + calm + hold >= end or stop.wait(calm):
                return
            order.pop()
            self.inject(kind, hold)

    def inject(self, kind, hold):
        at = self.clock()
        target = getattr(self, "_" + kind.replace("-", "_"))(hold)
        back = self.clock()
        self.done.append({"kind": kind, "target": target, "at": round(at, 2),
                          "held": round(hold, 2), "back_after": round(back - at, 2)})
        self.log(f"fault {kind} on {target} at {at:.1f}s, held {hold:.1f}s, "
                 f"back after {back - at:.1f}s")

    # each returns the name of what it hit

    def _mysql_kill(self, hold):
        _kill9(self.mariadb.proc)
        time.sleep(hold)            # the fault itself: MySQL stays away this long
        self.mariadb.start()
        return "mariadb"

    def _redis_kill(self, hold):
        _kill9(self.redis.proc)
        time.sleep(hold)
        self.redis.start()
        return "redis"

    def _service_kill(self, hold):
        inst = self.rng.choice(self.instances)
        inst.kill()                 # Service.kill() is SIGKILL
        time.sleep(hold)
        inst.start()                # same ports (the soak pins them after the first start)
        return inst.soak_name

    def _mysql_freeze(self, hold):
        self.mariadb.pause()        # SIGSTOP, returns once every thread is stopped
        time.sleep(hold)
        self.mariadb.resume()
        return "mariadb"

    def _redis_freeze(self, hold):
        self.redis.pause()
        time.sleep(hold)
        self.redis.resume()
        return "redis"

    def _redis_refuse_writes(self, hold):
        """Redis up and answering reads while it refuses every write (NOREPLICAS: it wants
        a replica it does not have), as a Redis out of memory or a demoted primary does."""
        with self.redis.client() as c:
            c.command("CONFIG", "SET", "min-replicas-to-write", "1")
        time.sleep(hold)
        with self.redis.client() as c:
            c.command("CONFIG", "SET", "min-replicas-to-write", "0")
        return "redis"


def _kill9(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def counts(done, kinds=KINDS):
    out = {k: 0 for k in kinds}
    for f in done:
        out[f["kind"]] += 1
    return out
