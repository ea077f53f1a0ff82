#!/usr/bin/env bash
# The web UI in a real browser on the distributed backend, with direct transfers: run.mjs
# against a `stereospot serve` on the test PostgreSQL and S3 servers (the ctest fixtures
# postgres_server and s3_server), on a fresh schema and bucket. run.mjs then also checks that
# the page uploads to and plays from the store, not through the API server, with the store
# behind a CORS front that run.mjs starts (what a bucket's CORS rule does).
#
#   direct.sh BINARY ARTIFACTS CLIP PG_STATE_DIR S3_STATE_FILE
set -euo pipefail

fail() {
  echo "browser tests (direct transfers): FAILED: $*" >&2
  exit 1
}

[ $# -eq 5 ] || fail "usage: direct.sh BINARY ARTIFACTS CLIP PG_STATE_DIR S3_STATE_FILE"
binary=$1 artifacts=$2 clip=$3 pg_state=$4 s3_state=$5
here=$(cd "$(dirname "$0")" && pwd)
how="run it through ctest, whose fixtures postgres_server and s3_server start the servers (scripts/install-deps.sh installs what they need)"
[ -s "$pg_state/conninfo" ] || fail "the PostgreSQL test server is not running: $how"
[ -s "$s3_state" ] || fail "the S3 test server is not running: $how"

state() { sed -n "s/^$1=//p" "$s3_state" | head -n 1; }
endpoint=$(state S3_TEST_ENDPOINT)
region=$(state S3_TEST_REGION)
export AWS_ACCESS_KEY_ID=$(state S3_TEST_ACCESS_KEY)
export AWS_SECRET_ACCESS_KEY=$(state S3_TEST_SECRET_KEY)
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
bucket="browser-$suffix"

# The bucket, made with curl's own SigV4 signing through the checking proxy.
curl -fsS -X PUT --aws-sigv4 "aws:amz:$region:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/$bucket" >/dev/null \
  || fail "cannot create bucket $bucket at $endpoint"

# The server and the page reach the store through run.mjs's CORS front on this port.
front_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$artifacts"
toml_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
config="$artifacts/stereospot.toml"
cat >"$config" <<TOML
backend = "distributed"
[postgres]
conninfo = $(toml_string "$(cat "$pg_state/conninfo")")
schema = "browser_$suffix"
[s3]
endpoint = "http://127.0.0.1:$front_port"
region = $(toml_string "$region")
bucket = "$bucket"
TOML

exec node "$here/run.mjs" --binary "$binary" --artifacts "$artifacts" --clip "$clip" \
  --config "$config" --cors-port "$front_port" --cors-upstream "${endpoint#http://}"
