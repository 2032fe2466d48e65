#!/usr/bin/env bash
# bounded.sh LIMIT_SECONDS COMMAND...: runs COMMAND with its output line-buffered (a CI log then ends
# where the run stood, not at a 4 KiB buffer boundary). A run still going after LIMIT seconds is a hang:
# the process tree, each process's kernel state and every thread's stack (gdb, where installed) of the
# test bundle and the daemons under it are printed, then the whole tree is killed and the exit status
# is 124, as timeout(1)'s. A hang is then a red run that says where it stood, never a silent CI timeout.
set -uo pipefail
limit=$1; shift
stdbuf=$(command -v stdbuf || true)
set -m   # the command gets a process group of its own: the tests' daemons are in it too
${stdbuf:+$stdbuf -oL -eL} "$@" &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null' INT TERM
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
    echo "bounded.sh: '$*' still running after ${limit} s: treated as hung. Where it stood:"
    # Every descendant (Foundation starts each child in a process group of its own), and the PostgreSQL
    # servers the tests started: a lock wait shows in their process titles.
    tree=$(ps -e -o pid= -o ppid= | awk -v root="$pid" '
      { parent[$1] = $2 }
      END { for (p in parent) { q = p; while (q != "" && q != 0 && q != root) q = parent[q]; if (q == root) print p }; print root }')
    ps -eo pid,ppid,etimes,stat,wchan:30,args --forest \
      | awk -v list=" $(echo $tree) " 'NR == 1 || index(list, " " $1 " ") || /postgres/' | grep -v ' awk ' | cut -c1-220
    for p in $tree; do
      comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
      case "$comm" in
        *xctest*|*PackageTests*|takedownd|takedownctl|swiftpm-testing*)
          echo "=== pid $p ($comm): $(tr '\0' ' ' < "/proc/$p/cmdline" | cut -c1-200)"
          if command -v gdb >/dev/null; then
            timeout 90 gdb -p "$p" -batch -nx -ex 'thread apply all bt 30' 2>&1 | grep -E '^(#|Thread )' | cut -c1-240
          fi ;;
      esac
    done
    kill -KILL -- -"$pid" $tree 2>/dev/null
    wait "$pid" 2>/dev/null
    exit 124
  fi
  sleep 2
done
wait "$pid"
