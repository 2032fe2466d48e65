#!/usr/bin/env bash
# Scenario 8 of `make bench` (also runnable alone): the WAL of a SQLite queue while a long reader runs
# beside a daemon writing at full speed, and after the reader ends.
#
#   bash benchmarks/wal.sh BIN_DIR [N_URLS]     (default 1,000,000)
#
# N_URLS URLs (one report each) are enqueued, all due, on the loopback takedown-testsite (a third 404,
# the rest 200); takedownd checks them with concurrency 100 (every check a status change: evidence,
# event, tallies: the heaviest writes there are). Once it has recorded its first checks,
# `takedownctl export` streams every report (N_URLS rows) from one read snapshot to /dev/null. The -wal
# file's size is sampled every 50 ms throughout. Then (8b) the daemon's checks/s alone, during
# `takedownctl backup`, and during sqlite3's `VACUUM INTO` of the same queue.
# Prints one line of figures (KEY=VALUE) on stdout.
set -euo pipefail
BIN_DIR=${1:?usage: wal.sh BIN_DIR [N_URLS]}
N=${2:-1000000}
LIMIT_MB=16   # SQLiteStore.walSizeLimit
work=$(mktemp -d "${TMPDIR:-/tmp}/tdwal.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n "${KEEP:-}" ]] || rm -rf "$work"; }
trap cleanup EXIT
log() { printf '[wal %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

"$BIN_DIR/takedown-testsite" --port-file "$work/port" >"$work/site.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
db="$work/takedown.sqlite"
cat >"$work/takedown.toml" <<TOML
database = "$db"
[probe]
concurrency = 100
per_host_connections = 100
allow_private_addresses = true
[schedule]
confirmations = 1
TOML
awk -v n="$N" -v p="$port" 'BEGIN { for (i = 0; i < n; i++) printf "http://127.0.0.1:%d/%s/%d\n", p, (i % 3 == 0 ? "gone" : "ok"), i }' >"$work/urls.txt"
log "enqueue $N URLs"
"$BIN_DIR/takedownctl" enqueue --config "$work/takedown.toml" --campaign bench --file "$work/urls.txt" >/dev/null
rm -f "$work/urls.txt"

wal_size() { stat -c %s "$db-wal" 2>/dev/null || echo 0; }
"$BIN_DIR/takedownd" --config "$work/takedown.toml" >"$work/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
# Until the daemon's first batch is committed.
for _ in $(seq 600); do
  [[ "$(sqlite3 "$db" 'SELECT count(*) > 0 FROM checks' 2>/dev/null)" == 1 ]] && break
  sleep 0.1
done
checks_at() { sqlite3 "$db" 'SELECT count(*) FROM checks' 2>/dev/null || echo 0; }
c0=$(checks_at)
log "daemon is recording; export starts"
t0=$(date +%s%N)
"$BIN_DIR/takedownctl" export --config "$work/takedown.toml" --format csv -o /dev/null >&2 &
export_pid=$!
peak=0
while kill -0 "$export_pid" 2>/dev/null; do
  s=$(wal_size); ((s > peak)) && peak=$s
  sleep 0.05
done
wait "$export_pid"
t1=$(date +%s%N)
c1=$(checks_at)
log "export done; waiting for the WAL to shrink"
back_ms=-1
after_peak=0
for _ in $(seq 600); do   # up to 30 s
  s=$(wal_size); ((s > after_peak)) && after_peak=$s
  if ((s <= LIMIT_MB * 1048576)); then back_ms=$((($(date +%s%N) - t1) / 1000000)); break; fi
  sleep 0.05
done
final=$(wal_size)
c2=$(checks_at)

# 8b: does a backup slow the daemon down? Its checks/s over 3 s alone, then while `takedownctl backup`
# runs (backup API + verification), then while sqlite3's VACUUM INTO copies the same queue.
rate_while() {  # command...: sets RATE (the daemon's checks/s while the command ran) and RATE_S (its seconds)
  local a b t0 t1
  a=$(checks_at); t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || RATE_S=failed
  t1=$(date +%s%N); b=$(checks_at)
  [[ "${RATE_S:-}" == failed ]] || RATE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  RATE=$(awk -v n=$((b - a)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
}
RATE_S=""; rate_while sleep 3; alone=$RATE
RATE_S=""; rate_while "$BIN_DIR/takedownctl" backup --config "$work/takedown.toml" "$work/backup.sqlite"
during_backup=$RATE; backup_s=$RATE_S
RATE_S=""; rate_while sqlite3 "$db" "VACUUM INTO '$work/vacuum.sqlite'"
during_vacuum=$RATE; vacuum_s=$RATE_S
kill -TERM "$daemon"
wait "$daemon" || true
echo "urls=$N export_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') checks_during_export=$((c1 - c0)) wal_peak_mb=$(awk -v s="$peak" 'BEGIN { printf "%.1f", s / 1048576 }') wal_back_under_limit_ms=$back_ms wal_after_mb=$(awk -v s="$final" 'BEGIN { printf "%.1f", s / 1048576 }') limit_mb=$LIMIT_MB checks_total=$c2 checks_per_s_alone=$alone checks_per_s_during_backup=$during_backup backup_s=$backup_s checks_per_s_during_vacuum_into=$during_vacuum vacuum_into_s=$vacuum_s"
