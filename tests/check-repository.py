#!/usr/bin/python3
"""Checks that the repository stands alone and that its contract document is current.

  check-repository.py standalone  no tracked file refers to our team's folder beside the
                                  repository (users get the repository and nothing else),
                                  and the Kitex vectors match their SHA256SUMS
  check-repository.py contract    docs/CONTRACT.md lists every configuration key of
                                  conf/payment.conf, every error code of
                                  src/core/pay-error.h and every route of the HTTP route
                                  table

Exit status 0 when the check holds, 1 with the findings on stderr otherwise."""

import configparser
import hashlib
import os
import re
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|\bshared/(vectors|CONTRACT|KITEX|STYLE|THRIFT)")


def tracked_files():
    """Files of the repository: git's list in a checkout, else every file outside build
    trees and tool caches."""
    try:
        out = subprocess.run(["git", "-C", TOP, "ls-files", "-z"], capture_output=True,
                             check=True).stdout
        return [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(TOP):
            rel = os.path.relpath(root, TOP)
            dirs[:] = [d for d in dirs if not (rel == "." and (d.startswith("build")
                       or d in (".git", ".devservers"))) and d not in ("node_modules", ".venv")]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
        return files


def check_standalone():
    findings = []
    for rel in tracked_files():
        path = os.path.join(TOP, rel)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if b"\0" in data:
            continue   # binary
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if OUTSIDE.search(line):
                findings.append(f"{rel}:{n}: refers outside the repository: {line.strip()}")
    vectors = os.path.join(TOP, "tests", "vectors", "kitex")
    sums = os.path.join(vectors, "SHA256SUMS")
    if not os.path.isfile(sums):
        findings.append(f"missing {os.path.relpath(sums, TOP)}")
    else:
        with open(sums) as f:
            for line in f:
                digest, name = line.split(None, 1)
                name = name.strip().lstrip("*")
                p = os.path.join(vectors, name)
                if not os.path.isfile(p):
                    findings.append(f"tests/vectors/kitex/{name}: missing")
                    continue
                with open(p, "rb") as g:
                    if hashlib.sha256(g.read()).hexdigest() != digest:
                        findings.append(f"tests/vectors/kitex/{name}: checksum differs")
    return findings


def check_contract():
    with open(os.path.join(TOP, "docs", "CONTRACT.md")) as f:
        contract = f.read()
    findings = []
    rows = set(re.findall(r"^\| *(\w+) *\| *(\w+)[^|]*\|", contract, re.M))
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(TOP, "conf", "payment.conf"))
    for group in conf.sections():
        for key in conf[group]:
            if (group, key) not in rows:
                findings.append(f"configuration key {group}.{key} is not in docs/CONTRACT.md §6")
    with open(os.path.join(TOP, "src", "core", "pay-error.h")) as f:
        codes = re.findall(r"^\s*X \(\s*\w+,\s*(\d+),", f.read(), re.M)
    assert codes, "no error codes found in pay-error.h"
    for code in codes:
        if code not in contract:
            findings.append(f"error code {code} is not in docs/CONTRACT.md §3")
    with open(os.path.join(TOP, "src", "transport", "http", "pay-http-server.c")) as f:
        routes = re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)"', f.read())
    assert routes, "no routes found in pay-http-server.c"
    for method, path in routes:
        if f"{method} {path}" not in contract:
            findings.append(f"route {method} {path} is not in docs/CONTRACT.md §4")
    return findings


def main():
    checks = {"standalone": check_standalone, "contract": check_contract}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        print(f"usage: {sys.argv[0]} {'|'.join(checks)}", file=sys.stderr)
        return 2
    findings = checks[sys.argv[1]]()
    for f in findings:
        print(f, file=sys.stderr)
    print(f"{sys.argv[1]}: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
