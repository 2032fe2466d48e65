#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (with AddressSanitizer) and runs each for a fixed time.
# Usage: Tests/Fuzz/run.sh [seconds per target] [targets...]
# A crash leaves its input in .build-fuzz/artifacts/ and fails the run; turn each one into a regression
# test (Tests/TakedownCoreTests/HostileInputTests.swift or ReliabilityHostileInputTests.swift).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(url csv config)
scratch="$PWD/.build-fuzz"
# The main package is a path dependency: SwiftPM does not notice its new source files in a cached
# build plan, so drop the plan (the per-file build state stays, the rebuild is incremental).
rm -f "$scratch/release.yaml" "$scratch/release/description.json"
nice -n 10 swift build --package-path Tests/Fuzz --scratch-path "$scratch" -c release \
  --sanitize=fuzzer --sanitize=address
mkdir -p "$scratch/artifacts"
status=0
total=0
for t in "${targets[@]}"; do
  case "$t" in
    url) exe=FuzzURLNormalizer; max_len=9000; fork="" ;;
    csv) exe=FuzzCSV; max_len=4096; fork="" ;;
    # toml++ asserts on many malformed shapes (TOMLGuard screens the known ones): fork mode keeps fuzzing
    # past a new crash and saves each one, so the first does not end the run.
    config) exe=FuzzConfig; max_len=4096; fork="-fork=1 -ignore_crashes=1" ;;
    *) echo "unknown fuzz target $t (url, csv, config)"; exit 64 ;;
  esac
  corpus="$scratch/corpus/$t"
  mkdir -p "$corpus"
  cp -n Tests/Fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  before=$(ls "$scratch/artifacts" | wc -l)
  log="$scratch/$t.log"
  # TOMLKit leaks a few bytes per parse: suppressed by name (lsan.supp), every other leak counts.
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/Tests/Fuzz/lsan.supp:print_suppressions=0" \
    "$scratch/release/$exe" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$t-" $fork "$corpus" >"$log" 2>&1 || status=1
  runs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
  # Fork mode prints no final stats: take the last progress line ("#N: cov: ...").
  [ -n "$runs" ] || runs=$(grep -a -o '^#[0-9]*' "$log" | tr -d '#' | tail -1 || true)
  after=$(ls "$scratch/artifacts" | wc -l)
  echo "FUZZ $t executions=${runs:-0} seconds=$seconds corpus=$(ls "$corpus" | wc -l) new_crashes=$((after - before))"
  total=$((total + ${runs:-0}))
  if [ "$after" -gt "$before" ]; then
    status=1
    grep -a -E 'Assertion|Fatal error|precondition|ERROR: (AddressSanitizer|LeakSanitizer)' "$log" | sort | uniq -c | head -10 || true
  fi
done
echo "FUZZ total executions=$total"
exit $status
