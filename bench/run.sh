#!/usr/bin/env bash
# Runs every benchmark against its baseline, bounded in time. Usage: bench/run.sh BUILD_DIR
# Each program prints its own ratios against the baseline it runs side by side (raw SQLite, the
# ffmpeg CLI); see the comment at the top of each source file.
set -euo pipefail
build=${1:-build/release}
bench="$build/bench"
run() { echo; echo "== $*"; "$@"; }

run "$bench/queue_bench" "" 3
[ -x "$bench/media_bench" ] && run "$bench/media_bench" --gb 1
[ -x "$bench/stereo_bench" ] && run taskset -c 1 "$bench/stereo_bench" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
[ -x "$bench/stereo_flicker" ] && run "$bench/stereo_flicker"
[ -x "$bench/onnx_depth_bench" ] && run "$bench/onnx_depth_bench"
[ -x "$build/src/cli/stereospot" ] && run bash "$(dirname "$0")/convert_bench.sh" "$build" \
  "${CONVERT_BENCH_SECONDS:-60}"
exit 0
