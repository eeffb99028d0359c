#!/usr/bin/env bash
# Debian packages for corridor's PostgreSQL test pass: the PostgreSQL 15 server binaries and PostGIS 3
# (scripts/pg-test-cluster.sh starts a throwaway cluster from them). Installs only what is missing.
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
need=()
[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || need+=(postgresql postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
