#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (pinned in package-lock.json) and the
# recommended-strict rules of redocly.yaml: any finding fails (exit status non-zero).
# The ctest test openapi/lint runs this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
"$here/setup-tools.sh" npm
# No telemetry and no update check: the linter talks to nobody.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" \
  --format stylish "$top/docs/openapi.yaml"
