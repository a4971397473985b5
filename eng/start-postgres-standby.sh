#!/usr/bin/env bash
# Starts a streaming standby of a server started by eng/start-postgres.sh, for failover proofs (no Docker needed).
#
#   STEFNA_PG_DIR=<standby state dir> eng/start-postgres-standby.sh <primary state dir>
#
# - pg_basebackup -R -X stream from the primary (over 127.0.0.1, as the initdb user: trust for replication on
#   loopback is initdb's default), so the copy is a hot standby that follows the primary's WAL stream.
# - As root the standby runs as the `postgres` user on a data dir it owns, like the primary.
# - Started by eng/start-postgres.sh (same options, its own free port; hot_standby is on by default); promote it
#   with `pg_ctl promote`.
# - eng/stop-postgres.sh with the same STEFNA_PG_DIR stops and removes it.
# The last line printed is `STEFNA_TEST_POSTGRES=<connection string of the standby>`.
set -euo pipefail

PRIMARY_DIR="${1:?usage: STEFNA_PG_DIR=<standby dir> $0 <primary state dir>}"
STATE_DIR="${STEFNA_PG_DIR:?STEFNA_PG_DIR must name the standby state dir}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -n 1)"
[[ -x "$PG_BIN/pg_basebackup" ]] || { echo "start-postgres-standby: no pg_basebackup under /usr/lib/postgresql" >&2; exit 1; }
PRIMARY_PORT="$(cat "$PRIMARY_DIR/port")"

as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$STATE_DIR"
[[ "$(id -u)" -eq 0 ]] && chown postgres: "$STATE_DIR"
DATA="$STATE_DIR/data"
rm -rf "$DATA"
as_owner "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast --no-sync \
  >"$STATE_DIR/basebackup.log" 2>&1 || { cat "$STATE_DIR/basebackup.log" >&2; exit 1; }

# A data dir with PG_VERSION is started as it is (no initdb): start-postgres.sh picks a free port and the same options.
STEFNA_PG_DIR="$STATE_DIR" bash "$(dirname "$0")/start-postgres.sh"
