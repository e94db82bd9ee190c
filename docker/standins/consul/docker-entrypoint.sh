#!/bin/bash
# Entrypoint of the Consul stand-in, as the official image's docker-entrypoint.sh:
# options alone or `agent ...` run the agent with the image's data and config
# directories (as the consul user); `version` or any other consul subcommand runs
# `consul <subcommand>`; anything else runs as given.
set -euo pipefail

data_dir=${CONSUL_DATA_DIR:-/consul/data}
config_dir=${CONSUL_CONFIG_DIR:-/consul/config}

# An address of the named interface, for -bind / -client.
address_of() {
  ip -o -4 addr show dev "$1" | awk '{ split($4, a, "/"); print a[1]; exit }'
}
bind=()
client=()
if [ -n "${CONSUL_BIND_INTERFACE:-}" ]; then
  addr=$(address_of "$CONSUL_BIND_INTERFACE")
  [ -n "$addr" ] || { echo "no address on $CONSUL_BIND_INTERFACE" >&2; exit 1; }
  bind=("-bind=$addr")
fi
if [ -n "${CONSUL_CLIENT_INTERFACE:-}" ]; then
  addr=$(address_of "$CONSUL_CLIENT_INTERFACE")
  [ -n "$addr" ] || { echo "no address on $CONSUL_CLIENT_INTERFACE" >&2; exit 1; }
  client=("-client=$addr")
fi
if [ -n "${CONSUL_LOCAL_CONFIG:-}" ]; then
  printf '%s' "$CONSUL_LOCAL_CONFIG" >"$config_dir/local.json"
fi

if [ "${1:0:1}" = "-" ]; then set -- agent "$@"; fi

if [ "$1" = "agent" ]; then
  shift
  set -- consul agent -data-dir="$data_dir" -config-dir="$config_dir" \
    "${bind[@]}" "${client[@]}" "$@"
elif [ "$1" = "version" ] || consul --help 2>&1 | grep -qE "^    $1 "; then
  set -- consul "$@"
fi

if [ "$1" = "consul" ] && [ "${2:-}" = "agent" ] && [ "$(id -u)" = 0 ]; then
  chown -R consul:consul "$data_dir" "$config_dir" 2>/dev/null || true
  exec setpriv --reuid=consul --regid=consul --init-groups "$@"
fi
exec "$@"
