#!/usr/bin/env bash
# Build the Kitex Go peer and its load generator: bench/peer/build.sh OUT_DIR
#
# 1. generates Go code from ../../idl/payment.thrift into bench/peer/kitex_gen/ (afresh on
#    every run, gitignored) with Kitex's own code generator at the version go.mod pins
#    (`go tool kitex`: go.mod's tool directive; Go builds and caches it), and copies the
#    service's ../../src/storage/schema.sql to server/schema.sql (gitignored), which the
#    peer embeds;
# 2. go build -o OUT_DIR/payment-peer ./server and -o OUT_DIR/peer-loadgen ./loadgen.
#
# Needs only Go (>= 1.24) and the Go module proxy. Idempotent; a second run takes about a
# second (Go's build cache; the module versions are tests/kitex's, so the module and
# build caches are shared with the Kitex test client).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
outdir="$(cd "$1" && pwd)"

# Missing requirements come from the proxy instead of failing; no VCS stamping (the tree
# may be dirty or owned by someone else); no C toolchain needed.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false"
export CGO_ENABLED=0

cd "$here"

# Serialise concurrent builds of this directory (kitex_gen is shared).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$outdir/.peer-build.lock"
    flock 9
fi

rm -rf kitex_gen
go tool kitex -module paymentpeer -gen-path kitex_gen ../../idl/payment.thrift >&2
test -f kitex_gen/payment/paymentservice/server.go
cp ../../src/storage/schema.sql server/schema.sql

go build -o "$outdir/payment-peer" ./server
go build -o "$outdir/peer-loadgen" ./loadgen
echo "build.sh: built $outdir/payment-peer and $outdir/peer-loadgen" \
     "(kitex $(go list -m -f '{{.Version}}' github.com/cloudwego/kitex))" >&2
