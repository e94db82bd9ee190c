#!/usr/bin/env bash
# Fails when gen-c_glib/ differs from what scripts/gen-thrift makes of idl/payment.thrift.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$top/scripts/gen-thrift" --out "$tmp"
if ! diff -ru "$top/gen-c_glib" "$tmp"; then
  echo "gen-c_glib/ is stale: run scripts/gen-thrift and commit the result" >&2
  exit 1
fi
echo "gen-c_glib/ matches idl/payment.thrift"
