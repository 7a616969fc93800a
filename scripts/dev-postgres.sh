#!/usr/bin/env bash
# A local PostgreSQL for `make dev`, from Debian's postgresql package: data under
# ~/.cache/moorage/dev-postgres (as root: /var/lib/moorage/dev-postgres, since the server runs
# as the postgres user, who cannot enter /root), on 127.0.0.1:$MOORAGE_DEV_PG_PORT (default 54329).
# Usage: dev-postgres.sh start|stop|url
set -euo pipefail
if [[ $(id -u) -eq 0 ]]; then
  ROOT="${MOORAGE_DEV_PG_DIR:-/var/lib/moorage/dev-postgres}"
else
  ROOT="${MOORAGE_DEV_PG_DIR:-${MOORAGE_CACHE:-$HOME/.cache/moorage}/dev-postgres}"
fi
PORT="${MOORAGE_DEV_PG_PORT:-54329}"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA="$ROOT/data"
PASSWORD_FILE="$ROOT/password"

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

init() {
  [[ -f "$DATA/PG_VERSION" ]] && return
  mkdir -p "$ROOT"
  head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$PASSWORD_FILE"
  [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$ROOT" && chmod 755 "$ROOT"
  as_pg "$PG_BIN/initdb" -D "$DATA" -U moorage --pwfile "$PASSWORD_FILE" -A scram-sha-256 -E UTF8 \
    --no-instructions >/dev/null
  cat >> "$DATA/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$ROOT'
CONF
}

url() { echo "postgresql://moorage:$(cat "$PASSWORD_FILE")@127.0.0.1:$PORT/moorage"; }

case "${1:-start}" in
  start)
    init
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w start >/dev/null
    fi
    PGPASSWORD=$(cat "$PASSWORD_FILE") "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U moorage -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'moorage'" | grep -q 1 \
      || PGPASSWORD=$(cat "$PASSWORD_FILE") "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U moorage moorage
    echo "dev PostgreSQL running on 127.0.0.1:$PORT (data: $DATA)" >&2
    ;;
  stop) as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast stop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
