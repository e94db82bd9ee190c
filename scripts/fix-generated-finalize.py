#!/usr/bin/env python3
"""Make every generated struct finalizer chain up to its parent class.

thrift 0.17's c_glib generator writes `<type>_finalize (GObject *object)` functions that
free the struct's members and stop there: GObject's own finalize never runs, so every
request leaks the instance's qdata and bookkeeping (docs/THRIFT_C_GLIB.md, defect 1). This
rewrites each such function so its last statement is the chain-up. Finalizers that already
chain up (the processor's) are left alone. The rewrite is deterministic, so regenerating
and diffing detects drift.
"""
import re
import sys

FINALIZE = re.compile(r"^(?P<name>[a-z0-9_]+)_finalize \(GObject \*object\)\n\{\n", re.M)
CHAIN = ("  /* chain up: added by scripts/fix-generated-finalize.py */\n"
         "  G_OBJECT_CLASS (g_type_class_peek_parent (g_type_class_peek ({name}_get_type ())))->finalize (object);\n")


def fix(text):
    out, pos, count = [], 0, 0
    for m in FINALIZE.finditer(text):
        # the function body ends at the first line that is a lone closing brace
        end = text.index("\n}\n", m.end()) + 1
        body = text[m.end():end]
        if "->finalize (" in body:
            continue
        out.append(text[pos:end])
        out.append(CHAIN.format(name=m.group("name")))
        pos = end
        count += 1
    out.append(text[pos:])
    return "".join(out), count


def main(paths):
    total = 0
    for path in paths:
        with open(path) as f:
            text = f.read()
        new, count = fix(text)
        total += count
        with open(path, "w") as f:
            f.write(new)
    if total == 0:
        sys.exit("fix-generated-finalize: no finalizer found; has the generator changed?")


if __name__ == "__main__":
    main(sys.argv[1:])
