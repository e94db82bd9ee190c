#!/usr/bin/env bash
# Build the Kitex Go test client: tests/kitex/build.sh OUT_BINARY
#
# 1. installs Kitex's own code generator (`kitex`, the version pinned in go.mod) into a
#    private GOBIN next to OUT_BINARY;
# 2. generates Go code from ../../idl/payment.thrift into tests/kitex/kitex_gen/ (afresh
#    on every run, so the test always uses the real kitex tool on our IDL);
# 3. go build -o OUT_BINARY .
#
# Needs only Go (>= 1.24) and the Go module proxy. Idempotent; a second run takes a
# couple of seconds (Go's build cache).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUT_BINARY" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
outdir="$(dirname "$out")"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
out="$outdir/$(basename "$out")"

toolbin="$outdir/kitex-tools/bin"
mkdir -p "$toolbin"

# Resolve missing requirements from the proxy instead of failing; no VCS stamping (the
# tree is a git checkout that may be dirty or owned by someone else); no C toolchain needed.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOBIN="$toolbin"
# The kitex tool runs `go` itself: make sure it finds the same toolchain.
export PATH="$toolbin:$PATH"

cd "$here"

# Serialise concurrent builds of this directory (kitex_gen is shared).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$outdir/.kitex-client-build.lock"
    flock 9
fi

# The kitex tool at the version go.mod pins (the `tool` directive). Built from inside
# this module rather than with `go install ...@version`: that form asks the proxy for the
# module's version list (deprecation check), which the proxy here refuses.
want="$(go list -m -f '{{.Version}}' github.com/cloudwego/kitex)"
have="$("$toolbin/kitex" --version 2>&1 || true)"
if [ "$have" != "$want" ]; then
    echo "build.sh: installing kitex tool $want into $toolbin" >&2
    go install github.com/cloudwego/kitex/tool/cmd/kitex
fi

# Fresh code from the IDL.
rm -rf kitex_gen
"$toolbin/kitex" -module paymenttest/kitexclient -gen-path kitex_gen ../../idl/payment.thrift >&2
test -f kitex_gen/payment/paymentservice/client.go

go build -o "$out" .
echo "build.sh: built $out (kitex $want)" >&2
