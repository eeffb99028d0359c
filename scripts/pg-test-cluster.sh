#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 + PostGIS cluster:
#
#     bash scripts/pg-test-cluster.sh .venv/bin/python -m pytest -q
#
# The cluster is initdb'd into a fresh temporary folder, listens on 127.0.0.1 only (a free port) and on a unix
# socket inside that folder, and has one database with PostGIS created. The command runs with
# CORRIDOR_TEST_DATABASE_URL=postgresql+psycopg://corridor:<random password>@127.0.0.1:<port>/corridor_test
# (tests/databases.py makes one database per test from it); afterwards the cluster is stopped and its folder
# removed, whatever the command's outcome. The exit status is the command's.
#
# PostgreSQL refuses to run as root, so as root (CI) the server runs as the `postgres` user that the Debian
# package creates, owning the temporary folder. Durability is switched off (fsync, synchronous_commit,
# full_page_writes): the cluster never outlives the run, and tests creating a database each stay fast.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

bash scripts/pg-deps.sh

PG_BIN=/usr/lib/postgresql/15/bin
AS=()
if [ "$(id -u)" -eq 0 ]; then
    AS=(runuser -u postgres --)
fi

# clusters left behind by a run that was killed outright (its script gone, the server still up) are removed
for stale in /tmp/corridor-pg.* "${TMPDIR:-/tmp}"/corridor-pg.*; do
    [ -f "$stale/owner" ] || continue
    if ! kill -0 "$(cat "$stale/owner")" 2>/dev/null; then
        "${AS[@]}" "$PG_BIN/pg_ctl" -D "$stale/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$stale"
    fi
done

base="${TMPDIR:-/tmp}"
if [ ${#AS[@]} -gt 0 ]; then
    base=/tmp  # the postgres user must reach the folder: not under a private TMPDIR of root's
fi
dir=$(mktemp -d "$base/corridor-pg.XXXXXX")
chmod 700 "$dir"
echo $$ >"$dir/owner"
if [ ${#AS[@]} -gt 0 ]; then
    chown postgres:postgres "$dir"
fi

cleanup() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        "${AS[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$password" >"$dir/pw")
if [ ${#AS[@]} -gt 0 ]; then
    chown postgres:postgres "$dir/pw"
fi
"${AS[@]}" "$PG_BIN/initdb" -D "$dir/data" -U corridor --pwfile="$dir/pw" -A scram-sha-256 -E UTF8 \
    --locale=C.UTF-8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
rm -f "$dir/pw"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

started=0
for _ in 1 2 3 4 5; do
    port=$(free_port)
    opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c jit=off"
    if "${AS[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null; then
        started=1
        break
    fi
done
if [ "$started" -ne 1 ]; then
    echo "the throwaway PostgreSQL cluster did not start:" >&2
    tail -20 "$dir/server.log" >&2 || true
    exit 1
fi

export PGPASSWORD="$password"
psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U corridor "$@"
}
psql -d postgres -c "CREATE DATABASE corridor_test"
psql -d corridor_test -c "CREATE EXTENSION postgis"
unset PGPASSWORD

export CORRIDOR_TEST_DATABASE_URL="postgresql+psycopg://corridor:$password@127.0.0.1:$port/corridor_test"
echo "throwaway PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)"
set +e
"$@"
rc=$?
set -e
exit $rc
