#!/usr/bin/python3
"""Reporting half of scripts/bench (python3, standard library only).

  report.py callgrind SCENARIO RUN_DUMP IDLE_DUMP BENCH_JSON
      one JSON line: instructions and heap allocations per request, from a callgrind dump
      taken over the requests minus a dump over an idle period of the same length.
  report.py report --results R.jsonl --rss RSS.json --callgrind CG.jsonl --machine JSON
                   --out DIR [--smoke] [--duration S] [--build-type T]
      the table (stdout and DIR/table.txt), DIR/results.json, DIR/chart.png (gnuplot).
"""

import argparse
import json
import os
import re
import subprocess
import sys

ALLOC = re.compile(r"^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign)('\d+)?$")


def parse_callgrind(path):
    """(total Ir, calls to the allocator) of one callgrind dump."""
    names = {}
    total = None
    allocs = 0
    callee = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                key, _, rest = line.rstrip("\n").partition("=")
                m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    name = names.get(m.group(1), "")
                else:
                    name = rest
                callee = name if key == "cfn" else None
            elif line.startswith("calls=") and callee is not None:
                if ALLOC.match(callee):
                    allocs += int(line[6:].split()[0])
                callee = None
            elif line.startswith(("summary:", "totals:")) and total is None:
                total = int(line.split()[1])
    return total or 0, allocs


def c_string(text, name, macros):
    """The string constant @name of C source @text (`static const gchar name[] = "..." MACRO
    "...";`), its literals and @macros (name -> text) concatenated; None when missing."""
    m = re.search(r"\b" + name + r"\[\]\s*=\s*(.*?);", text, re.S)
    if not m:
        return None
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|(\w+)', m.group(1))
    return "".join(lit if lit or not ident else macros.get(ident, "<" + ident + ">")
                   for lit, ident in parts)


def cmd_check_sql(args):
    """Exit 0 when bench/ceiling-mysql.c's text (--print-statement output: the part up to
    the payments rows, the part up to the events rows, the end) is the service's charge
    transaction: INSERT_PAYMENTS_SQL, INSERT_EVENTS_SQL and COMMIT_SQL of
    pay-repository-charge.c (its columns pay-payment-row.h's), sent as one text
    (pay_mysql_batch_run) in batch_work, on sessions with CLIENT_MULTI_STATEMENTS and READ
    COMMITTED, and the schema has no trigger."""
    src, mine = args[0], open(args[1]).read().split("\n")
    repo = open(os.path.join(src, "pay-repository-charge.c")).read()
    pool = open(os.path.join(src, "pay-mysql-pool.c")).read()
    header = open(os.path.join(src, "pay-schema.h")).read()
    schema = open(os.path.join(src, "schema.sql")).read()
    macros = dict(re.findall(r'#define (PAY_SCHEMA_\w+)\s+"(\w+)"', header))

    row = open(os.path.join(src, "pay-payment-row.h")).read()
    m = re.search(r"#define PAY_PAYMENT_ROW_COLUMNS\s*(?:\\\n)?(.*?)\n\n", row, re.S)
    macros["PAY_PAYMENT_ROW_COLUMNS"] = "".join(re.findall(r'"([^"]*)"', m.group(1))) if m else "?"

    def macro(name):
        m = re.search(r"#define " + name + r"\s*(?:\\\n)?(.*?)\n(?!\s)", repo, re.S)
        if not m:
            return "<" + name + ">"
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"|(\w+)', m.group(1))
        return "".join(lit if lit or not ident else macros.get(ident, "<" + ident + ">")
                       for lit, ident in parts)

    theirs = [macro("INSERT_PAYMENTS_SQL"), macro("INSERT_EVENTS_SQL"), macro("COMMIT_SQL")]
    work = re.search(r"\nbatch_work \(.*?\n}\n", repo, re.S)
    work = work.group(0) if work else ""
    ok = (theirs == mine[:3]
          and "pay_mysql_batch_run (conn, batch->sql->str" in work
          and "CLIENT_MULTI_STATEMENTS) == NULL" in pool
          and "'READ-COMMITTED'" in pool
          and "CREATE TRIGGER" not in schema)
    if not ok:
        print(f"service: {theirs}\nceiling: {mine[:3]}", file=sys.stderr)
    sys.exit(0 if ok else 1)


def cmd_callgrind(args):
    scenario, run, idle, bench = args
    ir_run, al_run = parse_callgrind(run)
    ir_idle, al_idle = parse_callgrind(idle)
    b = json.loads(open(bench).read())
    n = b.get("requests", 0) or 1
    print(json.dumps({
        "scenario": scenario, "requests": n, "status": b.get("status"),
        "ir_run": ir_run, "ir_idle": ir_idle,
        "ir_per_request": round((ir_run - ir_idle) / n),
        "allocs_per_request": round((al_run - al_idle) / n, 1),
    }))


# ---- the table ----------------------------------------------------------------------------

SCENARIOS = ["charge-ok", "charge-rejected", "query-hit", "query-miss", "refund"]


def fmt_rate(x):
    return "-" if x is None else f"{x:,.0f}"


def fmt_ms(us):
    return "-" if us is None else f"{us / 1000.0:.2f}"


# the points of the comparison with bench/peer, and the targets for each
# (throughput at least this many times the peer's; server CPU per request at most a third)
PEER_POINTS = [("charge-ok", 16, 3.0), ("query-hit", 64, 3.0), ("refund", 16, 3.0),
               ("charge-rejected", 64, 2.0)]
PEER_CPU_TARGET = 3.0


def server_cpu(r):
    """Server CPU per ok request, microseconds: the server process, mariadbd and
    redis-server (the load generator's own CPU is left out). None when not sampled."""
    cpu = (r or {}).get("cpu_us_per_ok") or {}
    vals = [cpu.get(n) for n in ("service", "mariadb", "redis")]
    if any(v is None or v < 0 for v in vals):
        return None
    return sum(vals)


def peer_section(peer_rows):
    """The table of the service against the Kitex Go peer, and its rows for results.json.
    With several rounds (scripts/bench --peer-rounds), each figure is the median of the
    rounds' and the per-round throughput ratios are listed too."""
    def runs(side, scenario, c):
        return [r for r in peer_rows
                if r.get("server") == side and r["scenario"] == scenario and r["connections"] == c]

    def median(vals):
        vals = sorted(v for v in vals if v is not None)
        if not vals:
            return None
        n = len(vals)
        return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2

    rounds = max([r.get("round", 1) for r in peer_rows] or [1])
    lines = ["against the Kitex Go peer (bench/peer: Kitex + database/sql + go-redis) on the same MariaDB",
             "and Redis, both driven by bench/peer's Kitex Go load generator (per worker one client, one",
             "connection, one request in flight); CPU = server + mariadbd + redis-server, us per ok request"
             + (f";\n  each figure the median of {rounds} rounds (the two servers' order swapped every round):"
                if rounds > 1 else ":")]
    hdr = (f"  {'scenario':<16} {'conns':>5} {'ours req/s':>10} {'peer req/s':>10} {'x peer':>6}  "
           f"{'ours p99':>8} {'peer p99':>8}  {'ours CPU':>8} {'peer CPU':>8} {'x less':>6}  targets")
    lines += [hdr, "  " + "-" * (len(hdr) - 2)]
    table = []
    notes = []
    for scenario, c, target in PEER_POINTS:
        ours, peer = runs("ours", scenario, c), runs("peer", scenario, c)
        if not ours and not peer:
            continue
        fig = {}
        for side, rs in (("ours", ours), ("peer", peer)):
            fig[side] = {"ok_rps": median(r["ok_rps"] for r in rs),
                         "p99_us": median(r["latency_us"]["p99"] for r in rs),
                         "server_cpu_us": median(server_cpu(r) for r in rs)}
        o_rate, p_rate = fig["ours"]["ok_rps"], fig["peer"]["ok_rps"]
        ratio = o_rate / p_rate if o_rate and p_rate else None
        o_cpu, p_cpu = fig["ours"]["server_cpu_us"], fig["peer"]["server_cpu_us"]
        less = p_cpu / o_cpu if o_cpu and p_cpu else None
        met = []
        if ratio is not None:
            met.append(f"{target:g}x {'MET' if ratio >= target else 'NOT MET'}")
        if less is not None:
            met.append(f"1/{PEER_CPU_TARGET:g} CPU {'MET' if less >= PEER_CPU_TARGET else 'NOT MET'}")
        cpu = lambda v: "-" if v is None else f"{v:.1f}"
        lines.append(f"  {scenario:<16} {c:>5} {fmt_rate(o_rate):>10} {fmt_rate(p_rate):>10} "
                     f"{'-' if ratio is None else f'{ratio:.2f}':>6}  {fmt_ms(fig['ours']['p99_us']):>8} "
                     f"{fmt_ms(fig['peer']['p99_us']):>8}  {cpu(o_cpu):>8} {cpu(p_cpu):>8} "
                     f"{'-' if less is None else f'{less:.2f}':>6}  " + ", ".join(met))
        per_round = []
        for n in range(1, rounds + 1):
            o = [r for r in ours if r.get("round", 1) == n]
            q = [r for r in peer if r.get("round", 1) == n]
            if o and q and q[0]["ok_rps"]:
                per_round.append(o[0]["ok_rps"] / q[0]["ok_rps"])
        if rounds > 1 and per_round:
            notes.append(f"  {scenario} @{c}: x peer by round " + " ".join(f"{v:.2f}" for v in per_round))
        for side, rs in (("ours", ours), ("peer", peer)):
            for r in rs:
                if r.get("errors"):
                    notes.append(f"  {scenario} @{c} {side} errors: "
                                 + ", ".join(f"{k}={v}" for k, v in r["errors"].items()))
                setup = 1 if scenario in ("query-hit", "refund") else 0
                if r.get("dials", 0) > c + setup:
                    notes.append(f"  {scenario} @{c} {side}: the clients dialled {r['dials']} times for {c} "
                                 "workers: connections were not all kept")
        table.append({"scenario": scenario, "connections": c, "rounds": rounds,
                      "ours": fig["ours"], "peer": fig["peer"], "ours_runs": ours, "peer_runs": peer,
                      "throughput_ratio": ratio, "throughput_ratio_by_round": per_round,
                      "cpu_ratio_peer_over_ours": less,
                      "throughput_target": target, "cpu_target": PEER_CPU_TARGET})
    lines += notes
    lines.append("  (p99 in ms; 'x peer' = our ok req/s / the peer's; 'x less' = the peer's server CPU "
                 "per request / ours; targets are reported, not asserted)")
    # where the CPU goes, by process
    names = ["client", "service", "mariadb", "redis"]
    lines.append("  CPU per ok request by process, us (medians; 'client' is the load generator):")
    lines.append(f"    {'scenario':<16} {'conns':>5} {'server':<6} " + " ".join(f"{n:>8}" for n in names))
    for scenario, c, _ in PEER_POINTS:
        for side in ("ours", "peer"):
            rs = runs(side, scenario, c)
            if not rs:
                continue
            vals = [median((r.get("cpu_us_per_ok") or {}).get(n) for r in rs) for n in names]
            lines.append(f"    {scenario:<16} {c:>5} {side:<6} "
                         + " ".join(f"{'-' if v is None or v < 0 else f'{v:.1f}':>8}" for v in vals))
    lines.append("")
    return lines, table


def cmd_report(a):
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    peer_rows = [json.loads(l) for l in open(a.peer) if l.strip()] if a.peer and os.path.exists(a.peer) else []
    rss = json.loads(open(a.rss).read()) if a.rss and os.path.exists(a.rss) else None
    cg = [json.loads(l) for l in open(a.callgrind) if l.strip()] if a.callgrind and os.path.exists(a.callgrind) else []
    machine = json.loads(a.machine) if a.machine else {}
    conns = sorted({r["connections"] for r in rows})

    def find(scenario, transport, c):
        for r in rows:
            if r["scenario"] == scenario and r["transport"] == transport and r["connections"] == c:
                return r
        return None

    def ok_rate(r):
        return r["ok_rps"] if r and r.get("status") != "not-implemented" else None

    # each row's ceiling: (label, rate)
    def ceiling(r):
        c = r["connections"]
        s = r["scenario"]
        if s in ("charge-ok", "refund"):
            m = find("mysql-insert", "mysql", c)
            return "mysql-insert", ok_rate(m)
        if s == "mysql-insert":
            m = find("mysql-insert-bare", "mysql", c)
            return "insert-bare", ok_rate(m)
        if s == "query-hit":
            m = find("redis-get", "redis", c)
            return "redis-get", ok_rate(m)
        if s == "charge-rejected" and r["transport"] == "rpc":
            m = find("rpc-floor", "floor", c)
            if m is not None:
                return "rpc-floor", ok_rate(m)
        if s in ("charge-rejected", "rpc-floor"):
            m = find("charge-ok", "http" if r["transport"] == "http" else "rpc", c)
            return "x charge-ok", ok_rate(m)
        return "-", None

    lines = []
    hdr = (f"{'scenario':<17} {'via':<5} {'conns':>5} {'req/s':>9} {'p50 ms':>7} {'p90 ms':>7} "
           f"{'p99 ms':>7} {'p99.9 ms':>8} {'errors':>7}  {'ceiling':<12} {'ratio':>6} {'x bare':>6}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    order = [("mysql-insert", "mysql"), ("mysql-insert-bare", "mysql"),
             ("mysql-insert-grouped", "mysql"), ("redis-get", "redis"), ("rpc-floor", "floor")] + \
            [(s, "rpc") for s in SCENARIOS] + [(s, "http") for s in SCENARIOS]
    table = []
    for s, t in order:
        for c in conns:
            r = find(s, t, c)
            if r is None:
                continue
            nerr = sum(r.get("errors", {}).values())
            lat = r.get("latency_us", {})
            if r.get("status") == "not-implemented":
                lines.append(f"{s:<17} {t:<5} {c:>5}   not measurable yet: the service answers "
                             f"{', '.join(r['errors'])} (not implemented)")
                table.append({**r, "ceiling": None, "ratio": None})
                continue
            label, base = ceiling(r)
            ratio = r["ok_rps"] / base if base else None
            rstr = "-" if ratio is None else f"{ratio:.2f}"
            bare = ok_rate(find("mysql-insert-bare", "mysql", c)) if s in ("charge-ok", "refund") else None
            bare_ratio = r["ok_rps"] / bare if bare else None
            xstr = "" if bare_ratio is None else f"{bare_ratio:.2f}"
            lines.append(f"{s:<17} {t:<5} {c:>5} {fmt_rate(r['ok_rps']):>9} {fmt_ms(lat.get('p50')):>7} "
                         f"{fmt_ms(lat.get('p90')):>7} {fmt_ms(lat.get('p99')):>7} "
                         f"{fmt_ms(lat.get('p999')):>8} {nerr:>7}  {label:<12} {rstr:>6} {xstr:>6}")
            table.append({**r, "ceiling": label if base else None, "ratio": ratio,
                          "ratio_to_insert_bare": bare_ratio})
        if any(find(s, t, c) for c in conns):
            lines.append("")

    # error kinds, when there are any
    errs = [(r["scenario"], r["transport"], r["connections"], r["errors"]) for r in rows
            if r.get("errors") and r.get("status") != "not-implemented"]
    if errs:
        lines.append("errors by kind:")
        for s, t, c, e in errs:
            lines.append(f"  {s} {t} {c}: " + ", ".join(f"{k}={v}" for k, v in e.items()))
        closed = [r for r in rows if r["transport"] == "http" and
                  r.get("errors", {}).get("socket-read", 0) >= 0.9 * max(1, r.get("requests", 0))]
        if closed:
            lines.append("  note: socket-read on (nearly) every HTTP request = the server closed the"
                         " connection after each response")
            lines.append("  (no keep-alive); wrk reconnects and counts a read error each time. The"
                         " answers themselves count as ok.")
        lines.append("")

    # where the CPU goes: microseconds of CPU per ok request, by process, over the
    # measured window (the clients sample /proc; --cpu of payment-bench / ceiling-mysql)
    cpu_rows = [r for r in rows if r.get("cpu_us_per_ok")]
    if cpu_rows:
        names = ["client", "service", "mariadb", "redis"]
        lines.append("CPU per request, microseconds (user + system, from /proc; all share "
                     f"{machine.get('nproc', '?')} vCPUs; for rpc-floor, 'service' is floor-rpc):")
        lines.append(f"  {'scenario':<17} {'via':<5} {'conns':>5} " +
                     " ".join(f"{n:>8}" for n in names) + f" {'total':>8}")
        for s, t in order:
            for c in conns:
                r = find(s, t, c)
                if r is None or not r.get("cpu_us_per_ok"):
                    continue
                cpu = r["cpu_us_per_ok"]
                vals = [cpu.get(n) for n in names]
                total = sum(v for v in vals if v is not None and v >= 0)
                lines.append(f"  {s:<17} {t:<5} {c:>5} " +
                             " ".join(f"{'-' if v is None or v < 0 else f'{v:.1f}':>8}" for v in vals) +
                             f" {total:>8.1f}")
        lines.append("")

    # the targets, reported (never asserted)
    lines.append("targets (reported, not asserted):")
    for c in (16, 64):
        r, m = find("charge-ok", "rpc", c), find("mysql-insert", "mysql", c)
        b = find("mysql-insert-bare", "mysql", c)
        if ok_rate(r) and ok_rate(m):
            v = r["ok_rps"] / m["ok_rps"]
            lines.append(f"  charge-ok rpc @{c}: {v:.2f} x the raw INSERT ceiling (target >= 0.8) "
                         f"{'MET' if v >= 0.8 else 'NOT MET'}"
                         + (f"; {r['ok_rps'] / b['ok_rps']:.2f} x the payments INSERT alone"
                            if ok_rate(b) else ""))
    top = max(conns) if conns else 0
    base = find("charge-ok", "rpc", top)
    for s in ("charge-rejected", "query-hit"):
        r = find(s, "rpc", top)
        if ok_rate(r) and ok_rate(base):
            v = r["ok_rps"] / base["ok_rps"]
            lines.append(f"  {s} rpc @{top}: {v:.1f} x charge-ok (target >= 5) {'MET' if v >= 5 else 'NOT MET'}")
        elif r is not None:
            lines.append(f"  {s} rpc @{top}: not measurable yet")
    floor = find("rpc-floor", "floor", top)
    if ok_rate(floor) and ok_rate(base):
        lines.append(f"  the transport floor @{top} (floor-rpc: one thread, no work per request): "
                     f"{floor['ok_rps'] / base['ok_rps']:.1f} x charge-ok, what the service could reach at best "
                     f"with its one main loop")
    r, m = find("charge-ok", "rpc", 16), find("mysql-insert", "mysql", 16)
    b = find("mysql-insert-bare", "mysql", 16)
    if r and m:
        lines.append(f"  p99 @16: charge-ok {fmt_ms(r['latency_us']['p99'])} ms; MariaDB: "
                     f"the same INSERT {fmt_ms(m['latency_us']['p99'])} ms"
                     + (f", the payments INSERT alone {fmt_ms(b['latency_us']['p99'])} ms" if b else ""))
    if rss:
        lines.append(f"  RSS: {rss['after_first_kb']} kB after {rss['first_requests']:,} requests, "
                     f"{rss['after_total_kb']} kB after {rss['total_requests']:,} "
                     f"({rss['growth_pct']:+.1f} %; target within 10 %) "
                     f"{'MET' if abs(rss['growth_pct']) <= 10 else 'NOT MET'}")
    for c in cg:
        if c.get("status") == "not-implemented":
            lines.append(f"  callgrind {c['scenario']}: not measurable yet (not implemented)")
        else:
            lines.append(f"  callgrind {c['scenario']}: {c['ir_per_request']:,} instructions/request, "
                         f"{c['allocs_per_request']} heap allocations/request")
    if not rows and not rss and not cg:
        lines = []          # only the peer comparison ran (--peer-only)
    peer_table = None
    if peer_rows:
        peer_lines, peer_table = peer_section(peer_rows)
        lines += [""] + peer_lines
    text = "\n".join(lines)
    print(text)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"machine": machine, "smoke": a.smoke, "duration_s": a.duration,
                   "build_type": a.build_type, "rows": table, "rss": rss, "callgrind": cg,
                   "peer": peer_table},
                  f, indent=1)
        f.write("\n")
    if rows:
        chart(rows, conns, a.out, machine, a.duration)
    # Smoke mode asserts no figure, only that every run got correct answers at all: a
    # scenario with none means the bench (or the service) has rotted.
    dead = [f"{r['scenario']} {r['transport']} @{r['connections']}" for r in rows if not r.get("ok_rps")]
    dead += [f"{r['scenario']} kitex @{r['connections']} against {r.get('server')}" for r in peer_rows
             if not r.get("ok_rps")]
    if dead:
        print("report.py: no correct answer at all in: " + ", ".join(dead), file=sys.stderr)
        if a.smoke:
            sys.exit(1)


def chart(rows, conns, out, machine, duration):
    series = [("mysql-insert", "mysql", "ceiling: MariaDB charge transaction",
               'lw 4 dt 2 lc rgb "#333333"'),
              ("mysql-insert-bare", "mysql", "reference: the payments INSERT alone",
               'lw 4 dt 2 lc rgb "#aaaaaa"'),
              ("mysql-insert-grouped", "mysql", "reference: the INSERT, 8 rows per statement",
               'lw 2 dt 4 lc rgb "#777777"'),
              ("redis-get", "redis", "ceiling: Redis GET", 'lw 4 dt 2 lc rgb "#bb0000"'),
              ("rpc-floor", "floor", "floor: a Thrift server doing no work", 'lw 4 dt 2 lc rgb "#2ca02c"')]
    colours = {"charge-ok": "#1f77b4", "charge-rejected": "#2ca02c", "query-hit": "#d62728",
               "query-miss": "#9467bd", "refund": "#ff7f0e"}
    for s in SCENARIOS:
        series.append((s, "rpc", f"{s} (Thrift)", f'lw 2 pt 7 lc rgb "{colours[s]}"'))
    for s in SCENARIOS:
        series.append((s, "http", f"{s} (HTTP)", f'lw 1 dt 3 pt 6 lc rgb "{colours[s]}"'))
    data = os.path.join(out, "chart.dat")
    plots = []
    idx = 0
    with open(data, "w") as f:
        for s, t, title, style in series:
            pts = [(r["connections"], r["ok_rps"]) for r in rows
                   if r["scenario"] == s and r["transport"] == t and r.get("status") != "not-implemented"
                   and r.get("ok_rps")]
            if not pts:
                continue
            f.write(f"# {title}\n")
            for c, v in sorted(pts):
                f.write(f"{c} {v:.1f}\n")
            f.write("\n\n")
            plots.append(f"'{data}' index {idx} using 1:2 with linespoints {style} title '{title}'")
            idx += 1
    if not plots:
        return
    cpu = machine.get("cpu", "")
    sub = f"{machine.get('nproc', '?')} CPU ({cpu}), {duration} s per point; MariaDB fsync per commit"
    script = f"""
set terminal pngcairo size 1100,700 font "sans,10"
set output '{os.path.join(out, "chart.png")}'
set title "payment service: throughput against connections\\n{{/*0.8 {sub}}}"
set xlabel "connections (one request in flight each)"
set ylabel "successful requests/s (log scale)"
set logscale xy
set xrange [{min(conns) * 0.8}:{max(conns) * 1.25}]
set xtics ({", ".join(str(c) for c in conns)})
set grid xtics ytics mytics
set key outside right top
set format y "%.0s%c"
plot {", ".join(plots)}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report.py: gnuplot failed: {e}", file=sys.stderr)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "callgrind":
        return cmd_callgrind(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "check-sql":
        return cmd_check_sql(sys.argv[2:])
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["report"])
    p.add_argument("--results", required=True)
    p.add_argument("--rss")
    p.add_argument("--callgrind")
    p.add_argument("--peer")
    p.add_argument("--machine")
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--duration", default="")
    p.add_argument("--build-type", default="")
    cmd_report(p.parse_args())


if __name__ == "__main__":
    main()
