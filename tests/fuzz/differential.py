#!/usr/bin/env python3
"""Differential test of the service's JSON grammar (src/transport/http/pay-json-strict.c)
against a reference: Python's json module, held to the same rules. Any input on which the
two disagree (one accepts, the other refuses) fails the run and is printed.

  differential.py --tool PATH/json-verdicts [--generated N] [--seed S] [DIR_OR_FILE...]

Inputs: every file under the DIR_OR_FILE arguments (the committed corpus and regressions in
ctest; the corpus a fuzzing run grew in scripts/fuzz), the hand-written TABLE below, and N
(default 20000) inputs generated from it by seeded random edits, biased towards the bytes
and fragments JSON is made of.

The reference is json.loads with:
- the bytes decoded as strict UTF-8 (no overlong forms, encoded surrogates or code points
  past U+10FFFF; a BOM then fails json.loads itself);
- duplicate member names refused (object_pairs_hook), NaN/Infinity refused
  (parse_constant);
- then, on the value, the rules Python's json does not have: a NUL or a surrogate code
  point in any string or name (Python accepts a lone "\\ud800" escape, which names no
  character: we refuse it), an integer literal outside int64 (Python's ints have no
  bound), nesting deeper than MAX_DEPTH (Python's limit is its recursion limit).
Python's json (its C scanner) otherwise reads exactly RFC 8259: number syntax, the eight
escapes and \\uXXXX, whitespace, no trailing data. Standard library only."""

import argparse
import json
import os
import random
import subprocess
import sys

MAX_DEPTH = 16          # PAY_JSON_MAX_DEPTH
INT64 = (-2 ** 63, 2 ** 63 - 1)

BASE = (b'{"amount":19.99,"order_id":1001,"user_id":7,"credit_card":{"credit_card_number":'
        b'"4111 1111 1111 1111","credit_card_cvv":123,"credit_card_expiration_year":2030,'
        b'"credit_card_expiration_month":12},"payment_method":"credit_card",'
        b'"extra":[1,-2.5e3,true,false,null,"caf\\u00e9\\ud83d\\ude00",{},[]]}')

# Each rule of the grammar, both ways, plus the places where Python's json and RFC 8259
# part ways.
TABLE = [
    b'{}', b'[]', b'""', b'0', b'-0', b'-0.0e-0', b'1E+2', b'true', b'null', b' \t\r\n{} ',
    b'', b' ', b'{', b'}', b'[1,]', b'[,1]', b'[1 2]', b'{"a":1,}', b'{"a" 1}', b'{"a":}',
    b'{1:1}', b'{"a":1,,"b":2}', b'["a":1]', b'{"a":1}{}', b'{"a":1} x', b'True', b'nul',
    b'NaN', b'-Infinity', b'Infinity', b'[NaN]', b'01', b'-01', b'+1', b'.5', b'5.', b'1e',
    b'1e+', b'0x10', b'1.2.3', b'--1', b'-', b'\xef\xbb\xbf{}', b'\x0c{}', b'{}\x00',
    b'\xc2\xa0{}', b'/*c*/{}', b"{'a':1}", b'{a:1}',
    # strings
    b'"\\u0000"', b'"a\\u0000b"', b'{"\\u0000":1}', b'"\x00"', b'"\x1f"', b'"\x7f"',
    b'"\t"', b'"\\t"', b'"\\x41"', b'"\\u00e"', b'"\\u00G0"', b'"\\U0041"', b'"\\/"',
    b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\udc00"', b'"\\udc00\\ud800"', b'"\\ud800x"',
    b'"\\ud800\\u0041"', b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b'"\xc0\xaf"', b'"\xf4\x90\x80\x80"',
    b'"\xe2\x82\xac"', b'"\xe2\x82"', b'"\xff"', b'"abc', b'"\\"', b'"\\\\"',
    # duplicates
    b'{"a":1,"a":1}', b'{"a":1,"\\u0061":2}', b'{"a":{"b":1},"c":{"b":1}}', b'[{"a":1},{"a":1}]',
    b'{"x":[{"k":1,"k":2}]}', b'{"":1,"":2}', b'{"a":null,"a":null}',
    # numbers
    b'9223372036854775807', b'9223372036854775808', b'-9223372036854775808',
    b'-9223372036854775809', b'100000000000000000000', b'1e400', b'-1e400', b'1e-400',
    b'9007199254740993.0', b'1.0000000000000001', b'4503599627370496.5', b'1e999999999999',
    b'0.' + b'0' * 400 + b'1', b'1' + b'0' * 400 + b'.0', b'[' + b'1,' * 500 + b'1]',
    # nesting
    b'[' * MAX_DEPTH + b']' * MAX_DEPTH, b'[' * (MAX_DEPTH + 1) + b']' * (MAX_DEPTH + 1),
    b'{"a":' * MAX_DEPTH + b'1' + b'}' * MAX_DEPTH,
    b'{"a":' * (MAX_DEPTH + 1) + b'1' + b'}' * (MAX_DEPTH + 1), b'[' * 5000 + b']' * 5000,
    BASE,
]

# What the random edits insert: JSON's own bytes and fragments, and some that are not.
FRAGMENTS = [b'{', b'}', b'[', b']', b',', b':', b'"', b'\\', b'\\u', b'\\u0000', b'\\ud800',
             b'\\udc00', b'0', b'1', b'-', b'.', b'e', b'E', b'+', b' ', b'\n', b'\t', b'\x00',
             b'\x1f', b'\x7f', b'\xc3\xa9', b'\xed\xa0\x80', b'\xc0\xaf', b'\xff', b'true',
             b'null', b'NaN', b'"a"', b'"amount":1,', b'"amount":', b'9007199254740993.0',
             b'9223372036854775808', b'1e400', b"'", b'/*', b'\xef\xbb\xbf']


class Refused(ValueError):
    pass


def _pairs(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise Refused(f"duplicate member {k!r}")
        seen.add(k)
    return dict(pairs)


def _constant(name):
    raise Refused(f"constant {name}")


def _check_string(s):
    if "\0" in s:
        raise Refused("NUL in a string")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in s):
        raise Refused("surrogate in a string")


def _check(value, depth=0):
    """The rules Python's json lacks, on a parsed value; iterative in spirit, bounded by
    MAX_DEPTH since deeper containers are refused before their children are looked at."""
    if isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            raise Refused("nested too deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if isinstance(k, str):
                _check_string(k)
            _check(v, depth + 1)
    elif isinstance(value, str):
        _check_string(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not INT64[0] <= value <= INT64[1]:
            raise Refused("integer outside int64")


def reference(raw):
    """(accepted, why)."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
        _check(value)
    except (ValueError, RecursionError) as e:
        return False, f"{type(e).__name__}: {e}"
    return True, "accepted"


def generated(count, seed):
    rng = random.Random(seed)
    pool = TABLE
    for _ in range(count):
        data = bytearray(rng.choice(pool))
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(data))
            op = rng.random()
            if op < 0.4:
                data[at:at] = rng.choice(FRAGMENTS)
            elif op < 0.7 and data:
                del data[min(at, len(data) - 1):min(at, len(data) - 1) + rng.randint(1, 3)]
            elif data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
        yield bytes(data)


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                full = os.path.join(p, name)
                if os.path.isfile(full):
                    with open(full, "rb") as f:
                        yield full, f.read()
        elif os.path.isfile(p):
            with open(p, "rb") as f:
                yield p, f.read()


def verdicts(tool, inputs):
    feed = "".join(data.hex() + "\n" for _, data in inputs).encode()
    r = subprocess.run([tool], input=feed, capture_output=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"differential: {tool} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
    lines = r.stdout.decode().splitlines()
    if len(lines) != len(inputs):
        sys.exit(f"differential: {len(lines)} verdicts for {len(inputs)} inputs")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--generated", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()

    inputs = list(files(args.paths))
    inputs += [(f"table[{i}]", data) for i, data in enumerate(TABLE)]
    inputs += [(f"generated[{i}]", data)
               for i, data in enumerate(generated(args.generated, args.seed))]
    ours = verdicts(args.tool, inputs)

    disagreements = 0
    accepted = 0
    for (name, data), verdict in zip(inputs, ours):
        ref_ok, why = reference(data)
        our_ok = verdict == "accept"
        accepted += our_ok
        if ref_ok != our_ok:
            disagreements += 1
            if disagreements <= 20:
                print(f"DISAGREE {name}: ours {verdict!r}, reference {why!r}\n"
                      f"  input {data[:200]!r}{'...' if len(data) > 200 else ''}")
    print(f"differential: {len(inputs)} inputs, {accepted} accepted by ours, "
          f"{disagreements} disagreement(s) with the reference")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
