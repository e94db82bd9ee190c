#!/bin/bash
# Entrypoint of the Redis stand-in, as the official image's: options alone mean
# redis-server with them; redis-server without a configuration file gets
# `--protected-mode no` (other containers connect without a password, as with the
# official image); the server runs as the redis user.
set -euo pipefail

if [ "${1:0:1}" = "-" ] || [[ "${1:-}" == *.conf ]]; then set -- redis-server "$@"; fi

if [ "$1" = "redis-server" ]; then
  config=0
  [[ "${2:-}" == *.conf ]] && config=1
  if [ "$config" = 0 ]; then
    shift
    set -- redis-server --protected-mode no "$@"
  fi
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
