#!/usr/bin/env bash
# Build the events consumer example: examples/events-consumer/build.sh OUT_BINARY
#
# Needs only Go (>= the version go.mod names) and the Go module proxy (nats.go, pinned in
# go.mod/go.sum). Idempotent; a second run takes about a second (Go's build cache).
# scripts/test builds build/events-consumer with it; integration/test_events and
# test_events_consumer run that binary (PAYMENT_EVENTS_CONSUMER overrides the path).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUT_BINARY" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"

# Never download a toolchain; /usr/local/go/bin when a non-login shell lacks it on PATH.
export GOTOOLCHAIN=local
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) PATH=$PATH:/usr/local/go/bin ;; esac
# go.sum pins every module: a build never changes go.mod (-mod=readonly); no VCS
# stamping (the tree may be a dirty checkout); no C toolchain needed.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

cd "$here"
go build -o "$out" .
echo "build.sh: built $out ($(go list -m -f '{{.Path}} {{.Version}}' github.com/nats-io/nats.go))" >&2
