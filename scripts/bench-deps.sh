#!/usr/bin/env bash
# Debian packages for the benchmarks (not for the tests): wrk, the HTTP load generator bench/scale.py drives.
set -euo pipefail
command -v wrk >/dev/null && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing Debian packages: wrk"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
