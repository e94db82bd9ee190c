#!/usr/bin/python3
"""Throughput of the events relay (docs/events.md): events per second published to NATS
JetStream, and acked, from a backlog in payment_events.

  bench/events-relay.py [--events 100000] [--build-dir build] [--max-in-flight N]
                        [--batch-size N] [--json FILE]

Run it from the repository root after a build (`cmake --build build`; a Release or
RelWithDebInfo tree, not the ASan one), as root like the other scripts, with Debian's
nats-server installed (scripts/install-deps). It
  1. starts a private MariaDB and Redis (scripts/devservers.py, durable settings) and a
     private `nats-server -js` (tests/integration/support/nats.py), each on a free
     loopback port in a temporary directory;
  2. starts the service once with the relay off, so that it creates the schema, and
     stops it;
  3. commits --events valid charge events straight into payment_events (multi-row
     INSERTs; the relay reads only the outbox);
  4. starts the service with events.nats_url set, and polls /metrics every 20 ms until
     payment_events_published_total (PubAcks) counts every event, then until
     payment_events_relay_lag_events says 0;
  5. prints events/s: the events published divided by the time from the first sample
     that shows a published event to the first that shows them all (the relay's drain
     rate, without the service's start-up and the relay's election; the lag gauge is
     refreshed once a second, too coarse to time by), and the time from the service's
     start as well; checks that the stream holds one message per event.
Exit status 0 when it measured, 1 when something did not work. Keeps the servers' and
the service's logs in BUILD_DIR/test-logs/events-relay/ and nothing else."""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=100000, help="backlog size (default 100000)")
    p.add_argument("--build-dir", default=os.path.join(TOP, "build"),
                   help="build tree with payment-service (default build/)")
    p.add_argument("--max-in-flight", type=int, help="events.max_in_flight (default: the config's)")
    p.add_argument("--batch-size", type=int, help="events.batch_size (default: the config's)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds the drain may take before the run fails (default 1800)")
    p.add_argument("--json", help="also write the figures to this file")
    return p.parse_args()


def main():
    args = parse_args()
    build = os.path.abspath(args.build_dir)
    os.environ.setdefault("PAYMENT_BUILD_DIR", build)
    os.environ.setdefault("PAYMENT_SOURCE_DIR", TOP)
    os.environ.setdefault("PAYMENT_BINARY", os.path.join(build, "payment-service"))
    # Imported after the environment is set: support.env reads it at import.
    from support import data, events, metrics
    from support.env import devservers
    from support.nats import NatsServer
    from support.service import Service, poll

    if not os.access(os.environ["PAYMENT_BINARY"], os.X_OK):
        print(f"events-relay: no service binary at {os.environ['PAYMENT_BINARY']}",
              file=sys.stderr)
        return 1
    d = tempfile.mkdtemp(prefix="payment-bench-events-")
    mariadb = devservers.MariaDB(os.path.join(d, "mariadb"))
    redis = devservers.Redis(os.path.join(d, "redis"))
    nats = NatsServer(os.path.join(d, "nats"))
    database = "payment_bench_events"
    svc = None
    try:
        mariadb.start()
        redis.start()
        nats.start()
        mariadb.create_database(database)
        schema = Service(mariadb, redis, database, name="schema",
                         extra_env={"PAYMENT_EVENTS_NATS_URL": ""}).start()
        events.wait_schema(mariadb, database)
        schema.stop_and_check()

        t = time.monotonic()
        first_id, last_id = events.insert_backlog(mariadb, database, args.events,
                                                  data.order_id(block=args.events))
        print(f"events-relay: {args.events} events committed in "
              f"{time.monotonic() - t:.1f} s (ids {first_id}..{last_id})", file=sys.stderr)

        env = dict(nats.env())
        if args.max_in_flight:
            env["PAYMENT_EVENTS_MAX_IN_FLIGHT"] = str(args.max_in_flight)
        if args.batch_size:
            env["PAYMENT_EVENTS_BATCH_SIZE"] = str(args.batch_size)
        started = time.monotonic()
        svc = Service(mariadb, redis, database, name="relay", extra_env=env).start()

        samples = []     # (time, published)

        def all_published():
            published = metrics.value(metrics.scrape(svc).raw, "payment_events_published_total")
            samples.append((time.monotonic(), published))
            return published >= args.events

        # The end is timed by the PubAck counter, which moves with each ack; the lag gauge
        # is refreshed on the relay's own schedule (every second), too coarse to time by.
        poll(all_published, args.timeout, interval=0.02, what="every event published")
        t_end = samples[-1][0]
        first_seen = next(s for s in samples if s[1] > 0)
        published = samples[-1][1]
        drain_s = t_end - first_seen[0]
        # The events published before the first sample that saw any are in the count,
        # their time is not: a few hundred of 100,000, at the relay's pace.
        rate = (published - first_seen[1]) / drain_s if drain_s > 0 else float("inf")
        total_s = t_end - started
        poll(lambda: metrics.value(metrics.scrape(svc).raw,
                                   "payment_events_relay_lag_events") == 0, 30,
             what="the lag at 0")
        lag_zero_s = time.monotonic() - started
        with nats.client() as c:
            info = c.stream_info(events.STREAM)
        stored = info["state"]["messages"] if info else 0
        if stored != args.events:
            print(f"events-relay: the stream holds {stored} messages, not {args.events}",
                  file=sys.stderr)
            return 1
        result = {"events": args.events, "events_per_second": round(rate),
                  "drain_seconds": round(drain_s, 3),
                  "seconds_from_service_start": round(total_s, 3),
                  "lag_zero_seen_after_seconds": round(lag_zero_s, 3),
                  "republished": metrics.value(metrics.scrape(svc).raw,
                                               "payment_events_republished_total"),
                  "max_in_flight": args.max_in_flight, "batch_size": args.batch_size}
        print(f"events relayed: {args.events} in {drain_s:.2f} s = {rate:.0f} events/s "
              f"({total_s:.2f} s from the service's start; stream holds {stored})")
        print(json.dumps(result))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        svc.stop_and_check()
        svc = None
        return 0
    except (AssertionError, RuntimeError, OSError) as e:
        print(f"events-relay: {e}", file=sys.stderr)
        return 1
    finally:
        if svc is not None:
            svc.kill()
        nats.stop()
        redis.stop()
        mariadb.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
