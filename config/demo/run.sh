#!/usr/bin/env bash
# `make run`: starts the loopback demo site, enqueues the sample queue into a new SQLite file under
# ./demo, and runs takedownd in the foreground until Ctrl-C.
set -euo pipefail
BIN=${BIN:-.build/debug}
DIR=${DEMO_DIR:-$PWD/demo}
mkdir -p "$DIR"
rm -f "$DIR/port"
"$BIN/takedown-testsite" --port-file "$DIR/port" >"$DIR/site.log" 2>&1 &
SITE=$!
trap 'kill $SITE 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$DIR/port" ] && break; sleep 0.05; done
PORT=$(cat "$DIR/port")
sed -e "s|@PORT@|$PORT|g" -e "s|@DIR@|$DIR|g" config/demo/takedown.toml >"$DIR/takedown.toml"
sed -e "s|@PORT@|$PORT|g" config/demo/sample-urls.txt >"$DIR/sample-urls.txt"
"$BIN/takedownctl" enqueue --config "$DIR/takedown.toml" --campaign demo --notice DEMO-1 \
  --rightholder "Demo Studio" --deadline "$(date -u -d '+7 days' +%Y-%m-%d)" --file "$DIR/sample-urls.txt"
cat <<MSG
Demo site on 127.0.0.1:$PORT; database $DIR/takedown.sqlite.
In another terminal:  $BIN/takedownctl summary --config $DIR/takedown.toml
                      $BIN/takedownctl list --config $DIR/takedown.toml
Stop with Ctrl-C.
MSG
"$BIN/takedownd" --config "$DIR/takedown.toml"
