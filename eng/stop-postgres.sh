#!/usr/bin/env bash
# Stops the throwaway PostgreSQL started by eng/start-postgres.sh and removes its state dir.
# Idempotent: does nothing when no server runs. Honours $STEFNA_PG_DIR (default /tmp/stefna-postgres);
# pass --keep to keep the data dir.
set -uo pipefail

STATE_DIR="${STEFNA_PG_DIR:-/tmp/stefna-postgres}"
DATA="$STATE_DIR/data"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -n 1)"

as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ -n "$PG_BIN" && -f "$DATA/postmaster.pid" ]]; then
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
fi
if [[ "${1:-}" != "--keep" && -d "$STATE_DIR" ]]; then
  rm -rf "$STATE_DIR"
fi
echo "stop-postgres: stopped ($STATE_DIR)" >&2
exit 0
