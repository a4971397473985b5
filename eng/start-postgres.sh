#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for tests, CI and benchmarks (no Docker needed).
#
#   eng/start-postgres.sh [conn-file]
#
# - Uses the newest /usr/lib/postgresql/*/bin (installs Debian's `postgresql` package when none is there).
# - initdb refuses to run as root, so as root the server runs as the `postgres` user on a data dir it owns.
# - Listens on 127.0.0.1 only, on a free port below the ephemeral range, with trust authentication (a throwaway server holding test data).
# - Durability is switched off (fsync, synchronous_commit, full_page_writes): the data is thrown away anyway.
# - Idempotent: when the server of this state dir is already running it is reused.
# - State dir: $STEFNA_PG_DIR (default /tmp/stefna-postgres); eng/stop-postgres.sh stops it.
# The last line printed is `STEFNA_TEST_POSTGRES=<connection string>`; it is also written to [conn-file] if given.
set -euo pipefail

STATE_DIR="${STEFNA_PG_DIR:-/tmp/stefna-postgres}"
CONN_OUT="${1:-}"

log() { echo "start-postgres: $*" >&2; }

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

PG_BIN="$(find_bin || true)"
if [[ -z "$PG_BIN" ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    log "no PostgreSQL server binaries under /usr/lib/postgresql and not root to install them (apt-get install postgresql)"; exit 1
  fi
  log "installing PostgreSQL (apt-get install postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
  PG_BIN="$(find_bin)" || { log "PostgreSQL installation did not provide server binaries"; exit 1; }
fi

# Run server tools as an unprivileged user when we are root.
as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

emit() {
  local port="$1"
  local conn="Host=127.0.0.1;Port=${port};Username=postgres;Database=postgres"
  if [[ -n "$CONN_OUT" ]]; then
    mkdir -p "$(dirname "$CONN_OUT")"
    printf '%s\n' "$conn" > "$CONN_OUT"
  fi
  echo "STEFNA_TEST_POSTGRES=${conn}"
}

port_free() {
  # A refused connection means nobody listens there.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

mkdir -p "$STATE_DIR"
if [[ "$(id -u)" -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown postgres: "$STATE_DIR"
fi
DATA="$STATE_DIR/data"

# Reuse a running server of this state dir.
if [[ -f "$STATE_DIR/port" && -f "$DATA/postmaster.pid" ]] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "reusing the running server in $STATE_DIR"
  emit "$(cat "$STATE_DIR/port")"
  exit 0
fi

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  rm -rf "$DATA"
  as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$STATE_DIR/initdb.log" 2>&1 \
    || as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$STATE_DIR/initdb.log" 2>&1 \
    || { cat "$STATE_DIR/initdb.log" >&2; exit 1; }
fi

# The port is taken below the kernel's ephemeral range (where outgoing connections get their local ports, 32768 and up
# by default), so while a test restarts its own server (same port) no client socket can take the port meanwhile.
ephemeral_low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true)"
[[ "$ephemeral_low" =~ ^[0-9]+$ && "$ephemeral_low" -gt 21000 ]] || ephemeral_low=32768
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  port=$(( 20000 + (RANDOM * 32768 + RANDOM) % (ephemeral_low - 20000) ))
  port_free "$port" || continue
  if as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$STATE_DIR/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$STATE_DIR' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB" >/dev/null; then
    echo "$port" > "$STATE_DIR/port"
    chmod 644 "$STATE_DIR/port"
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$port (data $DATA)"
    emit "$port"
    exit 0
  fi
  log "start on port $port failed (attempt $attempt); see $STATE_DIR/server.log"
  tail -n 5 "$STATE_DIR/server.log" >&2 || true
done
log "could not start PostgreSQL"
exit 1
