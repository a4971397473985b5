#!/usr/bin/env bash
# Soak (not part of CI): jobs trickle in for a while across two worker processes on PostgreSQL while faults are
# injected; at the end it reports jobs lost, completions duplicated, stray result files, stray Cloudinary assets and
# worker memory (and machine load) over time.
#
#   eng/soak.sh [--minutes 20] [--jobs 20000] [--out artifacts/soak]
#
# - Its own throwaway PostgreSQL (eng/start-postgres.sh, STEFNA_PG_DIR=/tmp/stefna-soak-pg), one database.
# - Two worker processes (tests/Stefna.Sdk.Postgres.WorkerHost) on the queue-test type: emulated provider latency
#   (40 ms + 0..60 ms jitter) and emulated 503 answers (5 % of calls, retried by the SDK like real ones).
# - Storage: each job's result goes to local files or to Cloudinary, chosen by its id (WorkerHost --split-storage). The
#   Cloudinary is the kit's emulator in a process of its own (WorkerHost --cloudinary-emulator) on 127.0.0.1, answering
#   429 with Cloudinary's rate-limit headers (X-RateLimit-Limit, -Remaining: 0, -Reset: 1) on --cloudinary-429-percent
#   (default 3) % of API calls, uploads and destroys alike.
# - Faults: a SIGKILL of a random worker every 44-88 s (restarted at once), a PostgreSQL restart (pg_ctl restart -m
#   fast) every 4 minutes (both scaled to the length: --minutes 2 kills every 4-8 s and restarts every 24 s), provider
#   503s and latency (above), Cloudinary 429s (above).
# - Jobs are enqueued every round (about 10 s), as many as are due by the clock, over the first 90 % of the time; then it waits (up to 5 min) for
#   the queue to drain. An audit trigger counts completions per job.
# - Figures go to stdout as `NAME: VALUE` lines and to <out>/soak-<time>.txt; memory samples (VmRSS of each worker,
#   every 10 s, with the 1-minute load average and the completed count) to <out>/soak-<time>-memory.csv; the emulator's
#   counters to <out>/soak-<time>-cloudinary.txt.
set -euo pipefail

MINUTES=20
JOBS=20000
CLOUDINARY_429_PERCENT=3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/artifacts/soak"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) MINUTES="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --cloudinary-429-percent) CLOUDINARY_429_PERCENT="$2"; shift 2 ;;
    *) echo "soak: unknown option $1" >&2; exit 2 ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
REPORT="$OUT/soak-$STAMP.txt"
MEMORY="$OUT/soak-$STAMP-memory.csv"
export STEFNA_PG_DIR="${STEFNA_SOAK_PG_DIR:-/tmp/stefna-soak-pg}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -n 1)"
IMAGES="$(mktemp -d /tmp/stefna-soak-images.XXXXXX)"
as_owner() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
log() { echo "soak: $*" >&2; }

log "building the worker host"
dotnet build "$ROOT/tests/Stefna.Sdk.Postgres.WorkerHost" -c Release -v q -nologo >/dev/null
HOST_DLL="$(ls "$ROOT"/tests/Stefna.Sdk.Postgres.WorkerHost/bin/Release/net*/Stefna.Sdk.Postgres.WorkerHost.dll | head -n 1)"

SERVER="$(bash "$ROOT/eng/start-postgres.sh" | tail -n 1)"
SERVER="${SERVER#STEFNA_TEST_POSTGRES=}"
PORT="$(cat "$STEFNA_PG_DIR/port")"
psql_() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -X -q -At "$@"; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS stefna_soak" -c "CREATE DATABASE stefna_soak"
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=stefna_soak"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  bash "$ROOT/eng/stop-postgres.sh" >/dev/null 2>&1 || true
  rm -rf "$IMAGES"
}
trap cleanup EXIT

dotnet "$HOST_DLL" --conn "$CONN" --images "$IMAGES" --migrate-only >/dev/null
psql_ -d stefna_soak <<'SQL'
CREATE TABLE completion_audit (job_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION audit_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO completion_audit (job_id) VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER queue_test_media_audit AFTER UPDATE ON queue_test_media
  FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION audit_completion();
SQL

CLOUDINARY_STATS="$OUT/soak-$STAMP-cloudinary.txt"
dotnet "$HOST_DLL" --cloudinary-emulator "$CLOUDINARY_STATS" --rate-limit-percent "$CLOUDINARY_429_PERCENT" --run-minutes $((MINUTES + 20)) \
  >"$OUT/soak-$STAMP-cloudinary.log" 2>&1 &
EMULATOR_PID=$!
PIDS+=("$EMULATOR_PID")
for _ in $(seq 1 120); do grep -q '^EMULATOR ' "$OUT/soak-$STAMP-cloudinary.log" 2>/dev/null && break; sleep 1; done
read -r _ CLOUDINARY_BASE CLOUDINARY_URL < <(grep '^EMULATOR ' "$OUT/soak-$STAMP-cloudinary.log")
log "Cloudinary emulator at $CLOUDINARY_BASE ($CLOUDINARY_429_PERCENT % of calls answered 429)"

start_worker() {
  dotnet "$HOST_DLL" --conn "$CONN;Application Name=soak-$1" --images "$IMAGES" --delay-ms 40 --jitter-ms 60 --fail-percent 5 \
    --cloudinary "$CLOUDINARY_URL" --cloudinary-api-base "$CLOUDINARY_BASE" --split-storage \
    --lease-seconds 5 --concurrency 32 --no-exit-when-idle --run-minutes $((MINUTES + 10)) >>"$OUT/soak-$STAMP-worker-$1.log" 2>&1 &
  echo $!
}
WORKERS=("$(start_worker 1)" "$(start_worker 2)")
PIDS+=("${WORKERS[@]}")

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
echo "seconds,worker1_rss_kb,worker2_rss_kb,completed,load1" > "$MEMORY"

total_seconds=$((MINUTES * 60))
enqueue_until=$((total_seconds * 9 / 10))
enqueued=0; kills=0; restarts=0
# Fault intervals scale with the length (20 minutes: a kill every 44-88 s, a database restart every 240 s).
kill_every=$(( total_seconds / 27 > 5 ? total_seconds / 27 : 5 ))
restart_every=$(( total_seconds / 5 ))
next_kill=$((kill_every + RANDOM % kill_every)); next_restart=$restart_every
start=$(date +%s)
while true; do
  now=$(( $(date +%s) - start ))
  (( now >= total_seconds )) && break
  # Paced by the clock, not by rounds (a round takes longer than 10 s on a loaded machine): enqueue what is due by
  # 10 s from now, so all the jobs are in by 90 % of the time.
  due=$(( JOBS * (now + 10 < enqueue_until ? now + 10 : enqueue_until) / enqueue_until ))
  if (( due > enqueued )); then
    n=$(( due - enqueued ))
    dotnet "$HOST_DLL" --conn "$CONN" --images "$IMAGES" --enqueue "$n" >/dev/null 2>&1 && enqueued=$((enqueued + n)) || log "enqueue of $n failed (database restarting?); retried next round"
  fi
  if (( now >= next_kill )); then
    i=$((RANDOM % 2))
    kill -9 "${WORKERS[$i]}" 2>/dev/null || true
    WORKERS[$i]="$(start_worker $((i + 1)))"; PIDS+=("${WORKERS[$i]}")
    kills=$((kills + 1)); next_kill=$((now + kill_every + RANDOM % kill_every))
    log "t=${now}s SIGKILL worker $((i + 1)) (kill $kills)"
  fi
  if (( now >= next_restart )); then
    as_owner "$PG_BIN/pg_ctl" -D "$STEFNA_PG_DIR/data" -l "$STEFNA_PG_DIR/server.log" -m fast -w -t 60 restart >/dev/null
    restarts=$((restarts + 1)); next_restart=$((now + restart_every))
    log "t=${now}s PostgreSQL restarted (restart $restarts)"
  fi
  completed="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE status = 'completed'" 2>/dev/null || echo "")"
  echo "$now,$(rss_kb "${WORKERS[0]}"),$(rss_kb "${WORKERS[1]}"),$completed,$(cut -d' ' -f1 /proc/loadavg)" >> "$MEMORY"
  sleep 10
done

log "enqueued $enqueued; waiting for the queue to drain"
drain_deadline=$(( $(date +%s) + 300 ))
while (( $(date +%s) < drain_deadline )); do
  unfinished="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE status IN ('queued', 'processing')")"
  [[ "$unfinished" == "0" ]] && break
  sleep 5
done
for pid in "${WORKERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${WORKERS[@]}"; do wait "$pid" 2>/dev/null || true; done
kill -TERM "$EMULATOR_PID" 2>/dev/null || true
wait "$EMULATOR_PID" 2>/dev/null || true

completed="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE status = 'completed'")"
failed="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE status = 'failed'")"
unfinished="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE status IN ('queued', 'processing')")"
rows="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media")"
duplicated="$(psql_ -d stefna_soak -c "SELECT count(*) - count(DISTINCT job_id) FROM completion_audit")"
reclaimed="$(psql_ -d stefna_soak -c "SELECT count(*) FROM queue_test_media WHERE attempts > 1")"
psql_ -d stefna_soak -c "SELECT image_url FROM queue_test_media WHERE image_url IS NOT NULL AND image_url NOT LIKE 'http%'" | sed 's|^file://||' | sort > "$OUT/.referenced"
{ find "$IMAGES/results" -type f 2>/dev/null || true; } | sort > "$OUT/.files"
stray="$(comm -13 "$OUT/.referenced" "$OUT/.files" | wc -l || true)"
missing="$(comm -23 "$OUT/.referenced" "$OUT/.files" | wc -l || true)"
local_results="$(wc -l < "$OUT/.referenced")"
# Cloudinary: the public id is the delivery URL's path after the version, without the extension.
psql_ -d stefna_soak -c "SELECT image_url FROM queue_test_media WHERE image_url LIKE 'http%'" | sed -E 's|.*/image/upload/v[0-9]+/||; s|\.[a-z]+$||' | sort > "$OUT/.referenced-cloud"
sort "$CLOUDINARY_STATS.assets" > "$OUT/.assets" 2>/dev/null || : > "$OUT/.assets"
stray_assets="$(comm -13 "$OUT/.referenced-cloud" "$OUT/.assets" | wc -l || true)"
missing_assets="$(comm -23 "$OUT/.referenced-cloud" "$OUT/.assets" | wc -l || true)"
cloud_results="$(wc -l < "$OUT/.referenced-cloud")"
rm -f "$OUT/.referenced" "$OUT/.files" "$OUT/.referenced-cloud" "$OUT/.assets"
cstat() { awk -F': ' -v k="$1" '$1 == k {print $2}' "$CLOUDINARY_STATS" 2>/dev/null; }
# Memory over time: the highest RSS of either worker in each fifth of the run, and the load average.
rss_by_fifth="$(awk -F, -v T="$total_seconds" 'NR > 1 { f = int($1 * 5 / T); if (f > 4) f = 4; m = ($2 > $3 ? $2 : $3); if (m > max[f]) max[f] = m } END { s = ""; for (i = 0; i < 5; i++) s = s (i ? ", " : "") int(max[i] / 1024) " MB"; print s }' "$MEMORY")"
load="$(awk -F, 'NR > 1 && $5 != "" { n++; sum += $5; if ($5 > max) max = $5 } END { if (n) printf "mean %.1f, max %.1f", sum / n, max }' "$MEMORY")"
peak1="$(cut -d, -f2 "$MEMORY" | tail -n +2 | sort -n | tail -n 1)"
peak2="$(cut -d, -f3 "$MEMORY" | tail -n +2 | sort -n | tail -n 1)"
{
  echo "soak: $MINUTES min, $enqueued jobs enqueued ($rows rows), 2 worker processes, $kills SIGKILLs, $restarts PostgreSQL restarts, provider 503 on 5 % of calls, latency 40-100 ms, Cloudinary 429 on $CLOUDINARY_429_PERCENT % of calls"
  echo "jobs lost: $((rows - completed - failed)) (goal = 0; unfinished at the end: $unfinished)"
  echo "jobs failed: $failed"
  echo "completions duplicated: $duplicated (goal = 0)"
  echo "jobs re-claimed: $reclaimed"
  echo "stray result files: $stray (goal = 0)"
  echo "referenced result files missing: $missing (goal = 0; $local_results results in local files)"
  echo "stray Cloudinary assets: $stray_assets (goal = 0)"
  echo "referenced Cloudinary assets missing: $missing_assets (goal = 0; $cloud_results results in Cloudinary)"
  echo "Cloudinary calls: $(cstat uploads) uploads, $(cstat 'destroy calls') destroy calls ($(cstat 'assets destroyed') assets destroyed), $(cstat 'answered 429') answered 429"
  echo "worker RSS, highest in each fifth of the run: $rss_by_fifth"
  echo "machine load average (1 min, 2 cores): $load"
  echo "worker peak RSS: ${peak1:-0} KB, ${peak2:-0} KB (samples every 10 s in $(basename "$MEMORY"))"
} | tee "$REPORT"
