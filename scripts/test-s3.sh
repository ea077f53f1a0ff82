#!/usr/bin/env bash
# Starts or stops the S3 test server of tests/s3: s3rver (npm, installed by `npm ci` in
# tests/s3) behind the SigV4-checking proxy of ../shared/tools/sigv4-proxy, both on free
# 127.0.0.1 ports, with their data and logs in a fresh temp directory.
#
#   scripts/test-s3.sh start STATE_FILE   # writes STATE_FILE (KEY=VALUE lines) for the tests
#   scripts/test-s3.sh stop STATE_FILE    # stops both servers and removes the temp directory
#
# STATE_FILE holds S3_TEST_ENDPOINT (the proxy: use this one), S3_TEST_VHOST_ENDPOINT (the
# proxy again, named so that virtual-hosted BUCKET.s3.localhost URLs reach it),
# S3_TEST_DIRECT_ENDPOINT (s3rver itself, for benchmarks), S3_TEST_REGION, S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY (s3rver's fixed
# S3RVER/S3RVER test credentials) and the pids. ctest runs this as the s3_server fixture.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
state=${2:-}
[ -n "$cmd" ] && [ -n "$state" ] || { echo "usage: $0 start|stop STATE_FILE" >&2; exit 2; }

fail() {
  echo "test-s3: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {  # port pid name log
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || fail "$3 exited at start; its log ($4):
$(tail -20 "$4")"
    sleep 0.1
  done
  fail "$3 did not open port $1 within 10 s; its log ($4):
$(tail -20 "$4")"
}

stop() {
  [ -f "$state" ] || return 0
  # shellcheck disable=SC1090
  . "$state"
  for pid in "${S3_TEST_PROXY_PID:-}" "${S3_TEST_S3RVER_PID:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  if [ -n "${S3_TEST_DIR:-}" ] && [ -d "$S3_TEST_DIR" ]; then rm -rf "$S3_TEST_DIR"; fi
  rm -f "$state"
}

case "$cmd" in
  start)
    command -v node >/dev/null 2>&1 ||
      fail "node is not installed: install nodejs (scripts/install-deps.sh does), then run 'npm ci' in tests/s3"
    s3rver="$root/tests/s3/node_modules/s3rver/bin/s3rver.js"
    [ -f "$s3rver" ] ||
      fail "s3rver is not installed: run 'npm ci' in tests/s3 (scripts/install-deps.sh does it)"
    proxy="$root/../shared/tools/sigv4-proxy/sigv4_proxy.py"
    [ -f "$proxy" ] || fail "the SigV4 proxy is missing: expected $proxy (the shared folder beside the repo)"
    command -v python3 >/dev/null 2>&1 || fail "python3 is not installed (the SigV4 proxy needs it)"
    stop  # a previous run's leftovers
    dir=$(mktemp -d "${TMPDIR:-/tmp}/stereospot-s3.XXXXXX")
    mkdir -p "$dir/data"
    s3_port=$(free_port)
    # Node 20 needs the legacy OpenSSL provider for s3rver's paged listings (proxy README).
    # With the service endpoint "localhost", s3rver takes Host: BUCKET.s3.localhost as a
    # virtual-hosted request for BUCKET (curl resolves *.localhost to the loopback itself).
    setsid node --openssl-legacy-provider "$s3rver" -d "$dir/data" -a 127.0.0.1 -p "$s3_port" \
      --service-endpoint localhost --silent </dev/null >"$dir/s3rver.log" 2>&1 &
    s3_pid=$!
    proxy_port=$(free_port)
    setsid python3 "$proxy" "$proxy_port" "127.0.0.1:$s3_port" S3RVER xml \
      </dev/null >"$dir/proxy.log" 2>&1 &
    proxy_pid=$!
    cat >"$state" <<STATE
S3_TEST_DIR=$dir
S3_TEST_S3RVER_PID=$s3_pid
S3_TEST_PROXY_PID=$proxy_pid
S3_TEST_ENDPOINT=http://127.0.0.1:$proxy_port
S3_TEST_DIRECT_ENDPOINT=http://127.0.0.1:$s3_port
S3_TEST_VHOST_ENDPOINT=http://s3.localhost:$proxy_port
S3_TEST_REGION=us-east-1
S3_TEST_ACCESS_KEY=S3RVER
S3_TEST_SECRET_KEY=S3RVER
S3_TEST_PROXY_LOG=$dir/proxy.log
STATE
    wait_port "$s3_port" "$s3_pid" s3rver "$dir/s3rver.log"
    wait_port "$proxy_port" "$proxy_pid" "sigv4 proxy" "$dir/proxy.log"
    echo "test-s3: s3rver on 127.0.0.1:$s3_port behind the SigV4 proxy on 127.0.0.1:$proxy_port ($dir)"
    ;;
  stop)
    stop
    echo "test-s3: stopped"
    ;;
  *)
    echo "usage: $0 start|stop STATE_FILE" >&2
    exit 2
    ;;
esac
