#!/usr/bin/env bash
# pg-test-server.sh: a throwaway PostgreSQL server for tests and benchmarks, in DIR only.
#
#   pg-test-server.sh start DIR [PORT]   initdb (once) and start; prints the URL
#   pg-test-server.sh stop DIR           stop if running (idempotent)
#   pg-test-server.sh url DIR            print the URL of a started server
#   pg-test-server.sh reap DIR SECONDS   stop the server and remove DIR once no process
#                                        listed in DIR.users/<pid> has lived for SECONDS
#                                        (test processes share one server this way)
#
# Trust authentication, listening on 127.0.0.1 only (and a unix socket in DIR). The data
# is disposable, so fsync and synchronous commit are off unless PG_TEST_DURABLE=1 (the
# benchmark sets it so that its figures include real commits, with production checkpoint
# spacing). initdb refuses to run as
# root: as root, everything runs as the `postgres` system user and DIR is given to it.
# PG_TEST_INITDB_CACHE=CACHEDIR: initdb once into CACHEDIR and copy it for every start
# (tests start one server per test process; a copy costs a fraction of an initdb).
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [PORT] | stop DIR | url DIR" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
action=$1
dir=$2
port=${3:-}

bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bin_dir" || ! -x "$bin_dir/initdb" ]]; then
  echo "pg-test-server: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin;" \
       "install them with: apt-get install postgresql" >&2
  exit 3
fi

# Runs a server binary as the owner of the data (postgres when we are root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

data="$dir/data"
log="$dir/postgres.log"

url_of() {
  echo "postgresql://postgres@127.0.0.1:$1/postgres"
}

running() {
  [[ -f "$data/postmaster.pid" ]] && as_owner "$bin_dir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "pg-test-server: no free port found" >&2
  return 1
}

case "$action" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      if ! id postgres >/dev/null 2>&1; then
        echo "pg-test-server: running as root needs the 'postgres' system user" \
             "(apt-get install postgresql creates it)" >&2
        exit 3
      fi
      chown postgres: "$dir"
      chmod 700 "$dir"
    fi
    if running; then
      url_of "$(cat "$dir/port")"
      exit 0
    fi
    cache=${PG_TEST_INITDB_CACHE:-}
    if [[ ! -f "$data/PG_VERSION" && -n "$cache" ]]; then
      mkdir -p "$(dirname "$cache")"
      (
        flock 9
        if [[ ! -f "$cache/PG_VERSION" ]]; then
          rm -rf "$cache.tmp"
          mkdir -p "$cache.tmp"
          [[ $(id -u) -eq 0 ]] && chown postgres: "$cache.tmp"
          as_owner "$bin_dir/initdb" -D "$cache.tmp" -U postgres -A trust -E UTF8 \
            --no-locale --wal-segsize=1 -N >"$dir/initdb.log" 2>&1 || exit 4
          mv "$cache.tmp" "$cache"
        fi
      ) 9>"$cache.lock" || {
        echo "pg-test-server: initdb into the cache $cache failed, see $dir/initdb.log:" >&2
        tail -n 20 "$dir/initdb.log" >&2 || true
        exit 4
      }
      cp -a "$cache" "$data"
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
      # -N: no fsync of the fresh cluster (disposable); C locale: byte-wise, fast, the
      # same everywhere; 1 MB WAL segments: a smaller directory to copy.
      as_owner "$bin_dir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale \
        --wal-segsize=1 -N >"$dir/initdb.log" 2>&1 || {
        echo "pg-test-server: initdb failed, see $dir/initdb.log:" >&2
        tail -n 20 "$dir/initdb.log" >&2
        exit 4
      }
    fi
    durability=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    if [[ "${PG_TEST_DURABLE:-0}" == 1 ]]; then
      # A production server's checkpoint spacing: --wal-segsize=1 (small test clusters)
      # makes initdb scale max_wal_size down to 64MB, a checkpoint every second or two
      # under a write load; PostgreSQL's default is 1GB.
      durability=(-c max_wal_size=1GB)
    fi
    # A given port is tried once; a picked one is retried (another process may take it
    # between the check and the bind).
    tries=1
    [[ -z "$port" ]] && tries=5
    for _ in $(seq 1 "$tries"); do
      p=${port:-$(pick_port)}
      opts="-c listen_addresses=127.0.0.1 -c port=$p -c unix_socket_directories=$dir"
      opts+=" -c max_connections=100 ${durability[*]:-}"
      if as_owner "$bin_dir/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$opts" start \
           >/dev/null 2>&1; then
        echo "$p" >"$dir/port"
        url_of "$p"
        exit 0
      fi
    done
    echo "pg-test-server: the server did not start, see $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 5
    ;;
  stop)
    if running; then
      as_owner "$bin_dir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    fi
    exit 0
    ;;
  url)
    running || { echo "pg-test-server: not running in $dir" >&2; exit 1; }
    url_of "$(cat "$dir/port")"
    ;;
  reap)
    idle_limit=${3:-10}
    idle=0
    while true; do
      sleep 1
      alive=0
      for f in "$dir.users"/*; do
        [[ -e "$f" ]] || continue
        if kill -0 "${f##*/}" 2>/dev/null; then alive=1; else rm -f "$f"; fi
      done
      if [[ $alive == 1 ]]; then idle=0; else idle=$((idle + 1)); fi
      if [[ $idle -ge $idle_limit ]]; then
        # Under the users' lock: a process registering now either came first (and keeps
        # the server) or finds it gone and starts a new one.
        (
          flock 9
          if [[ -z "$(ls -A "$dir.users" 2>/dev/null)" ]]; then
            "$0" stop "$dir"
            rm -rf "$dir" "$dir.users"
            exit 0
          fi
          exit 1
        ) 9>"$dir.lock" && exit 0
        idle=0
      fi
    done
    ;;
  *)
    usage
    ;;
esac
