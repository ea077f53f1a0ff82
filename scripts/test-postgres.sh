#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL adapter's tests and benchmarks.
#
#   scripts/test-postgres.sh start [STATE_DIR]   start one; prints an `export STEREOSPOT_TEST_PG=...`
#   scripts/test-postgres.sh stop  [STATE_DIR]   stop it and delete its files
#   eval "$(scripts/test-postgres.sh start)"     use it from a shell
#
# The cluster lives in a fresh temporary directory (mktemp), listens on 127.0.0.1 only, on a
# free port, with its unix socket in that directory, and trusts the user `stereospot`. STATE_DIR
# (default: $TMPDIR/stereospot-test-pg-$UID) receives `conninfo` and `cluster_dir`; ctest's
# postgres fixture passes its own. initdb refuses to run as root, so as root the server runs as
# the `postgres` system user when it exists, else as `nobody`.
# STEREOSPOT_TEST_PG_DURABLE=1 keeps fsync on (for benchmarks); tests run with fsync off.
# STEREOSPOT_PG_BIN overrides where initdb and pg_ctl are looked for.
set -euo pipefail

cmd=${1:-}
state_dir=${2:-${TMPDIR:-/tmp}/stereospot-test-pg-$(id -u)}

die() {
  echo "test-postgres: $*" >&2
  exit 1
}

find_bin() {
  local dir dirs=(/usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin)
  [ -n "${STEREOSPOT_PG_BIN:-}" ] && dirs=("$STEREOSPOT_PG_BIN")
  for dir in "${dirs[@]}"; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop_cluster() {
  [ -f "$state_dir/cluster_dir" ] || return 0
  local dir
  dir=$(cat "$state_dir/cluster_dir")
  owner=$(cat "$state_dir/owner" 2>/dev/null || id -un)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  rm -f "$state_dir/cluster_dir" "$state_dir/conninfo" "$state_dir/owner"
}

bin=$(find_bin)

case "$cmd" in
  start)
    if [ -z "$bin" ]; then
      die "PostgreSQL server binaries (initdb, pg_ctl) are not installed; install them with" \
        "'apt-get install postgresql-15' (or run scripts/install-deps.sh)"
    fi
    mkdir -p "$state_dir"
    stop_cluster  # a cluster left by an interrupted run
    owner=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
      command -v runuser >/dev/null || die "running as root needs runuser (util-linux)"
      if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/stereospot-pg.XXXXXX")
    chmod 700 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
    echo "$dir" >"$state_dir/cluster_dir"
    echo "$owner" >"$state_dir/owner"
    if ! as_owner "$bin/initdb" -D "$dir/data" -U stereospot -A trust -E UTF8 --no-locale \
      --no-sync >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      stop_cluster
      die "initdb failed"
    fi
    fsync=off
    [ "${STEREOSPOT_TEST_PG_DURABLE:-0}" = 1 ] && fsync=on
    started=""
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 30000))
      port_in_use "$port" && continue
      # Another process may take the port between the check and the bind: then retry.
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" \
        -o "-c fsync=$fsync -c max_connections=300 -c shared_buffers=64MB" \
        start >/dev/null 2>&1; then
        started=1
        break
      fi
      echo "test-postgres: start on port $port failed (attempt $attempt)" >&2
    done
    if [ -z "$started" ]; then
      tail -n 20 "$dir/server.log" >&2 || true
      stop_cluster
      die "the server did not start"
    fi
    conninfo="host=127.0.0.1 port=$port user=stereospot dbname=postgres"
    echo "$conninfo" >"$state_dir/conninfo"
    echo "export STEREOSPOT_TEST_PG='$conninfo'"
    ;;
  stop)
    if [ -z "$bin" ]; then
      [ -f "$state_dir/cluster_dir" ] && rm -rf "$(cat "$state_dir/cluster_dir")"
      exit 0
    fi
    stop_cluster
    ;;
  *)
    echo "usage: $0 start|stop [STATE_DIR]" >&2
    exit 2
    ;;
esac
