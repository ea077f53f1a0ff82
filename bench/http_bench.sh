#!/usr/bin/env bash
# HTTP API under load: job detail requests (GET /api/v1/jobs/{id}, which reads the job and its
# segment completions) from wrk on loopback while `stereospot serve` converts a clip in the same
# process. Bounded in time. Reports p50 / p99 latency and requests per second.
# Bar (issue #7): p99 < 20 ms at 200 connections.
#
# Usage: bench/http_bench.sh BUILD_DIR [SECONDS] [CONNECTIONS]
#   e.g. bench/http_bench.sh build/release 15 200
# Needs wrk (scripts/install-deps.sh installs it) and ../shared/media/video.
set -euo pipefail
build=${1:-build/release}
seconds=${2:-15}
connections=${3:-200}
threads=${HTTP_BENCH_THREADS:-$(nproc)}  # more client threads than cores steal the server's CPU
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$build/src/cli/stereospot"
clip="${HTTP_BENCH_CLIP:-$root/../shared/media/video/intel_one-by-one-person-detection.mp4}"

command -v wrk >/dev/null || { echo "http_bench: wrk is missing; run scripts/install-deps.sh" >&2; exit 1; }
[ -x "$bin" ] || { echo "http_bench: $bin is missing; build the stereospot target first" >&2; exit 1; }
[ -f "$clip" ] || { echo "http_bench: clip $clip is missing (../shared/media)" >&2; exit 1; }

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" --data-dir "$data" --set log.level=warn serve --listen "127.0.0.1:$port" > "$data/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  sleep 0.1
done
curl -sf "$base/healthz" >/dev/null || { echo "http_bench: server did not start" >&2; cat "$data/serve.log" >&2; exit 1; }

job=$(curl -sf -X POST "$base/api/v1/jobs" -H 'Content-Type: application/json' \
  -d "{\"title\": \"http bench\", \"filename\": \"$(basename "$clip")\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])')
curl -sf -X PUT "$base/api/v1/jobs/$job/source" --data-binary "@$clip" \
  -H 'Content-Type: application/octet-stream' >/dev/null
status() {
  curl -sf "$base/api/v1/jobs/$job" | python3 -c \
    'import json, sys; j = json.load(sys.stdin); p = j["progress"]; print(j["status"], "%d/%d segments" % (p["segments_completed"], p["total_segments"]))'
}
# Let chunking start so the requests meet a converting job.
sleep 2
echo "job $job before: $(status)"
echo "wrk: $threads threads, $connections connections, ${seconds}s, GET /api/v1/jobs/{id}"
out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 5s --latency "$base/api/v1/jobs/$job")
echo "$out"
echo "job $job after: $(status)"

# wrk prints latencies as 1.23ms, 456.78us or 1.02s.
to_ms() {
  python3 -c 'import re, sys
v = sys.argv[1]
m = re.match(r"([0-9.]+)(us|ms|s)$", v)
n = float(m.group(1)); print("%.2f" % (n / 1000 if m.group(2) == "us" else n * 1000 if m.group(2) == "s" else n))' "$1"
}
p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}')
echo
echo "http_bench: job detail at $connections connections: p50 ${p50} ms, p99 ${p99} ms, ${rps} req/s"
[ -n "$errors" ] && echo "http_bench: errors: $errors"
if python3 -c "import sys; sys.exit(0 if float('$p99') < 20 else 1)"; then
  echo "http_bench: bar p99 < 20 ms: met"
else
  echo "http_bench: bar p99 < 20 ms: NOT met"
fi
