#!/bin/bash
# Entrypoint of the MariaDB stand-in: the official image's interface (see Dockerfile).
# First start on an empty data directory: install the system tables, start a server
# without networking, set the root password (root@localhost and root@'%'), create
# MARIADB_DATABASE and MARIADB_USER, run /docker-entrypoint-initdb.d in name order, stop
# that server. Then exec the command (mariadbd) as the mysql user.
set -euo pipefail

log() { echo "$(date -u +%FT%TZ) [standin-entrypoint] $*" >&2; }

# Options first: `docker run image --some-option` means mariadbd --some-option.
if [ "${1:0:1}" = "-" ]; then set -- mariadbd "$@"; fi
if [ "$1" != "mariadbd" ] && [ "$1" != "mysqld" ]; then exec "$@"; fi

# The official image accepts both spellings.
root_password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
allow_empty=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}
database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
user=${MARIADB_USER:-${MYSQL_USER:-}}
user_password=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock

sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; }
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

mkdir -p /run/mysqld
chown mysql:mysql "$datadir" /run/mysqld

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$root_password" ] && [ -z "$allow_empty" ]; then
    log "ERROR: database is uninitialized and the root password option is not specified"
    log "  set one of MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"
    exit 1
  fi
  log "initialising $datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=normal --skip-name-resolve >/dev/null
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" \
    --skip-log-bin >/dev/null 2>&1 &
  pid=$!
  client=(mariadb --protocol=socket --socket="$socket" -uroot)
  for _ in $(seq 1 300); do   # up to 30 s
    if "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { log "ERROR: the initialisation server exited"; exit 1; }
    sleep 0.1
  done
  "${client[@]}" -e 'SELECT 1' >/dev/null
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    # What the official entrypoint removes: anonymous users, root on other hosts.
    cat <<'SQL'
DROP USER IF EXISTS ''@'localhost', ''@'%', 'root'@'127.0.0.1', 'root'@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \'\'@\'', @@hostname, '\'');
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\'');
SQL
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$root_password");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$database" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
    fi
    if [ -n "$user" ] && [ -n "$user_password" ]; then
      echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$user_password");"
      if [ -n "$database" ]; then
        echo "GRANT ALL ON $(sql_name "$database").* TO $(sql_string "$user")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | "${client[@]}"
  client=(mariadb --protocol=socket --socket="$socket" -uroot)
  if [ -n "$root_password" ]; then client+=("-p$root_password"); fi
  if [ -n "$database" ]; then client+=("$database"); fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)     log "running $f"; . "$f" ;;
      *.sql)    log "running $f"; "${client[@]}" <"$f" ;;
      *.sql.gz) log "running $f"; gzip -dc "$f" | "${client[@]}" ;;
      *)        log "ignoring $f" ;;
    esac
  done
  kill -TERM "$pid"
  wait "$pid" || true
  log "initialised"
fi

exec "$@" --user=mysql
