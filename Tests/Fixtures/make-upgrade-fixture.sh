#!/usr/bin/env bash
# Makes the upgrade fixtures: a small but complete queue written by one release's binaries, so that the
# next release's tests can open it and check that its migrations keep every row.
#
#   bash Tests/Fixtures/make-upgrade-fixture.sh [BIN_DIR]      (default .build/debug)
#
# Writes Tests/Fixtures/upgrade-v1.sqlite and Tests/Fixtures/upgrade-v1-postgres.sql (a plain-SQL
# pg_dump of the same steps run against a private PostgreSQL cluster), and records the commit the
# binaries were built from in Tests/Fixtures/upgrade-v1.commit. Needs python3 (the loopback site) and
# PostgreSQL's server binaries (/usr/lib/postgresql/*/bin). Only 127.0.0.1 is contacted: the two host
# names below are resolved by the daemon's probe.resolve, never by the system resolver.
#
# What the queue holds (the upgrade tests assert these facts, so change them together):
#   - 12 URLs on two hosts, video.example and files.example (port $PORT), imported from a CSV with two
#     extra columns (Platform, Ticket) in campaigns spring-2026 and autumn-2026, plus an enqueue;
#   - every status: online (/ok/1, /ok/2, /moved/1), taken_down (/gone/1 404, /gone/2 404, /410/1,
#     /451/1, /marker/1 by removal marker), unreachable (/error/1, 503), reappeared (/flip/1),
#     cancelled (/flip/2), pending (/new/1, enqueued last);
#   - checks with evidence (redirect chain, headers, marker, rule, vantage), events, summaries, a node.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN_DIR=${1:-.build/debug}
PORT=${PORT:-47231}
OUT=Tests/Fixtures
ctl="$BIN_DIR/takedownctl"
daemon="$BIN_DIR/takedownd"
for b in "$ctl" "$daemon"; do [ -x "$b" ] || { echo "no $b: build first (swift build)"; exit 1; }; done
commit=$(git rev-parse HEAD)
if ! git diff --quiet HEAD -- Sources Package.swift; then
  echo "Sources differ from HEAD ($commit): commit first, the fixture must name the code that made it"; exit 1
fi

work=$(mktemp -d /tmp/takedown-fixture-XXXXXX)
chmod 755 "$work"
server_pid=""
pg_dir=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  if [ -n "$pg_dir" ] && [ -d "$pg_dir/data" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The site: answers by path; /flip/ answers 404 until $work/flip-up exists, then 200.
cat >"$work/site.py" <<'PY'
import http.server, os, sys
state = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        p = self.path
        page = [("Content-Type", "text/html; charset=utf-8"), ("Server", "fixture-site")]
        if p.startswith("/ok/") or p.startswith("/new/"): self.answer(200, b"<html><body>A video</body></html>", page)
        elif p.startswith("/gone/"): self.answer(404, b"not found")
        elif p.startswith("/410/"): self.answer(410)
        elif p.startswith("/451/"): self.answer(451)
        elif p.startswith("/moved/"): self.answer(301, b"", [("Location", "/ok/" + p[7:])])
        elif p.startswith("/error/"): self.answer(503, b"busy")
        elif p.startswith("/marker/"): self.answer(200, b"<html><body>This video has been removed</body></html>", page)
        elif p.startswith("/flip/"):
            if os.path.exists(state): self.answer(200, b"<html><body>Back again</body></html>", page)
            else: self.answer(404, b"not found")
        else: self.answer(404)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$work/site.py" "$PORT" "$work/flip-up" &
server_pid=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

v="http://video.example:$PORT"
f="http://files.example:$PORT"
cat >"$work/notices.csv" <<CSV
url,campaign,notice,rightholder,work,reported_at,deadline,Platform,Ticket
$v/ok/1,spring-2026,DMCA-1,Studio A,The Film,2026-03-01T10:00:00Z,2026-03-15,video,T-1
$v/ok/2,spring-2026,DMCA-1,Studio A,The Film,2026-03-01T10:00:00Z,2026-03-15,video,T-2
$v/gone/1,spring-2026,DMCA-2,Studio A,The Film,2026-03-02T00:00:00Z,,video,T-3
$v/gone/2,spring-2026,DMCA-2,Studio A,The Film,2026-03-02T00:00:00Z,,video,
$v/410/1,spring-2026,DMCA-3,Studio B,"Song, Live",2026-03-03,2026-04-01,video,T-5
$f/451/1,autumn-2026,N-10,Studio B,"Song, Live",2026-09-01,2026-09-30,files,T-6
$f/moved/1,autumn-2026,N-10,Studio B,"Song, Live",2026-09-01,2026-09-30,files,T-7
$f/error/1,autumn-2026,N-11,Studio C,Game,2026-09-02,,files,T-8
$f/marker/1,autumn-2026,N-11,Studio C,Game,2026-09-02,,files,T-9
$v/flip/1,autumn-2026,N-12,Studio C,Game,2026-09-03,,video,T-10
$v/flip/2,autumn-2026,N-12,Studio C,Game,2026-09-03,,video,T-11
$v/gone/1,autumn-2026,N-13,Studio A,The Film,2026-09-04,2026-09-10,video,T-12
CSV

make_queue() { # $1: the database setting
  local db=$1 conf="$work/takedown.toml"
  cat >"$conf" <<TOML
database = "$db"
node_name = "fixture-node"
[probe]
concurrency = 8
allow_private_addresses = true
resolve = ["video.example:$PORT:127.0.0.1", "files.example:$PORT:127.0.0.1"]
vantage = "fixture-vantage"
connect_timeout = "2s"
timeout = "5s"
[schedule]
confirmations = 2
confirm_interval = "0s"
watch_interval = "1s"
recheck_interval = "1h"
backoff_base = "1h"
[[rule]]
hosts = ["files.example"]
removal_markers = ["has been removed"]
TOML
  rm -f "$work/flip-up"
  "$ctl" import --config "$conf" --csv "$work/notices.csv"
  "$ctl" enqueue --config "$conf" --campaign autumn-2026 --notice N-14 --rightholder "Studio A" \
    --work "The Film" --deadline 2026-10-01 "$v/ok/1" "$v/gone/2"
  "$daemon" --config "$conf" --once >"$work/daemon1.log"
  touch "$work/flip-up"
  sleep 1.2   # watch_interval: the taken-down URLs are due again, /flip/1 now answers
  "$daemon" --config "$conf" --once >"$work/daemon2.log"
  "$ctl" cancel --config "$conf" "$v/flip/2"
  "$ctl" enqueue --config "$conf" --campaign spring-2026 --notice DMCA-9 "$v/new/1"
  "$ctl" summary --config "$conf"
}

# SQLite.
db="$work/upgrade-v1.sqlite"
make_queue "$db"
sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
cp "$db" "$OUT/upgrade-v1.sqlite"

# PostgreSQL: a private cluster on a Unix socket in $work, as the tests make one.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_dir="$work/pg"
mkdir -p "$pg_dir"
[ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
as_pg "$PG_BIN/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -o "-k $pg_dir -c listen_addresses=" -w start >/dev/null
"$PG_BIN/createdb" -h "$pg_dir" -U postgres takedown
make_queue "postgresql:///takedown?host=$pg_dir&user=postgres"
"$PG_BIN/pg_dump" -h "$pg_dir" -U postgres --no-owner --no-privileges takedown >"$OUT/upgrade-v1-postgres.sql"

echo "$commit" >"$OUT/upgrade-v1.commit"
ls -l "$OUT"/upgrade-v1*
echo "fixtures made by $commit"
