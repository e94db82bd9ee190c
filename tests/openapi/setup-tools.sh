#!/usr/bin/env bash
# Installs the pinned tools that check docs/openapi.yaml, each only when missing or when
# its pin changed (idempotent, safe to run concurrently: one install at a time under a
# lock, the others wait and then find it done):
#   tests/openapi/node_modules/   @redocly/cli from package-lock.json (npm ci)
#   tests/openapi/.venv/          schemathesis from requirements.txt (/usr/bin/python3 venv)
# Both are gitignored. Needs node, npm and python3-venv (scripts/install-deps installs them
# from Debian when missing).  Usage: tests/openapi/setup-tools.sh [npm|venv]...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(npm venv)

exec 9>"$here/.setup.lock"
flock 9

stamp_of() { sha256sum "$@" | sha256sum | cut -c1-64; }

for what in "${want[@]}"; do
  case $what in
    npm)
      for tool in node npm; do
        command -v "$tool" >/dev/null 2>&1 || {
          echo "setup-tools: '$tool' is missing; run scripts/install-deps" >&2; exit 1; }
      done
      stamp="$(stamp_of package.json package-lock.json) node-$(node --version)"
      if [ "$(cat node_modules/.payment-stamp 2>/dev/null || true)" != "$stamp" ]; then
        echo "setup-tools: npm ci (@redocly/cli) into $here/node_modules"
        t0=$(date +%s)
        npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error
        echo "$stamp" > node_modules/.payment-stamp
        echo "setup-tools: npm ci took $(( $(date +%s) - t0 )) s"
      fi
      ;;
    venv)
      py=/usr/bin/python3
      stamp="$(stamp_of requirements.txt) $("$py" --version 2>&1)"
      if [ "$(cat .venv/.payment-stamp 2>/dev/null || true)" != "$stamp" ]; then
        "$py" -c 'import ensurepip, venv' 2>/dev/null || {
          echo "setup-tools: $py cannot make a venv (python3-venv); run scripts/install-deps" >&2
          exit 1; }
        echo "setup-tools: pip install -r requirements.txt (schemathesis) into $here/.venv"
        t0=$(date +%s)
        rm -rf .venv
        "$py" -m venv .venv
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input \
          -r requirements.txt
        echo "$stamp" > .venv/.payment-stamp
        echo "setup-tools: venv took $(( $(date +%s) - t0 )) s"
      fi
      ;;
    *) echo "setup-tools: unknown tool set '$what' (npm, venv)" >&2; exit 2 ;;
  esac
done
