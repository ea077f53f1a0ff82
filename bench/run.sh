#!/usr/bin/env bash
# Runs every benchmark against its baseline, bounded in time. Usage: bench/run.sh BUILD_DIR
# Each program prints its own ratios against the baseline it runs side by side (raw SQLite, the
# ffmpeg CLI); see the comment at the top of each source file.
set -euo pipefail
build=${1:-build/release}
bench="$build/bench"
root=$(cd "$(dirname "$0")/.." && pwd)
run() { echo; echo "== $*"; "$@"; }

run "$bench/queue_bench" "" 3
[ -x "$bench/media_bench" ] && run "$bench/media_bench" --gb 1
[ -x "$bench/stereo_bench" ] && run taskset -c 1 "$bench/stereo_bench" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
[ -x "$bench/stereo_flicker" ] && run "$bench/stereo_flicker"
[ -x "$bench/onnx_depth_bench" ] && run "$bench/onnx_depth_bench"
[ -x "$build/src/cli/stereospot" ] && command -v wrk >/dev/null &&
  run bash "$(dirname "$0")/http_bench.sh" "$build"
[ -x "$build/src/cli/stereospot" ] && run bash "$(dirname "$0")/convert_bench.sh" "$build" \
  "${CONVERT_BENCH_SECONDS:-60}"
# The distributed backend: PostgreSQL queues and job store beside SQLite, on a throwaway
# durable server started here; the S3 adapter beside curl, on the s3rver that s3_bench starts.
if [ -x "$bench/pg_queue_bench" ]; then
  pg_state=$(mktemp -d "${TMPDIR:-/tmp}/stereospot-bench-pg.XXXXXX")
  if STEREOSPOT_TEST_PG_DURABLE=1 "$root/scripts/test-postgres.sh" start "$pg_state" >/dev/null; then
    run "$bench/pg_queue_bench" "$(cat "$pg_state/conninfo")" 3 || true
    "$root/scripts/test-postgres.sh" stop "$pg_state" || true
  else
    echo "pg_queue_bench skipped: no PostgreSQL server binaries (apt-get install postgresql-15)"
  fi
  rm -rf "$pg_state"
fi
[ -x "$bench/s3_bench" ] && { run "$bench/s3_bench" || true; }
exit 0
