#!/usr/bin/env bash
# Browser libraries of the dashboard, fetched from the npm registry at pinned versions and checked against
# pinned SHA-256 digests, then unpacked into corridor/web/static/vendor/ (not committed). Served by corridor
# itself: no page loads anything from another host.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=corridor/web/static/vendor
WORK=build/npm
mkdir -p "$WORK"
fetch() {  # name version sha256 subdir licence-file
    local name=$1 version=$2 sum=$3 sub=$4
    local tgz="$WORK/${name}-${version}.tgz"
    if [ ! -f "$tgz" ] || ! echo "$sum  $tgz" | sha256sum --check --status; then
        (cd "$WORK" && npm pack --silent "${name}@${version}" >/dev/null)
    fi
    echo "$sum  $tgz" | sha256sum --check --status || { echo "checksum mismatch for $tgz" >&2; exit 1; }
    rm -rf "${DEST:?}/$sub"
    mkdir -p "$DEST/$sub"
    tar xzf "$tgz" -C "$DEST/$sub" --strip-components=2 package/dist
    tar xzf "$tgz" -C "$DEST/$sub" --strip-components=1 "package/$5"
    find "$DEST/$sub" -name '*.map' -delete
}
fetch leaflet 1.9.4 84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77 leaflet LICENSE
fetch leaflet.markercluster 1.5.3 fc6b0b1d00b6c708ae54e43ee4a11ac345e41660e19f0a570190bb35babb1a1c markercluster MIT-LICENCE.txt
touch "$DEST/.stamp"
