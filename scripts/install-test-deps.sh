#!/usr/bin/env bash
# Install the system packages the full test run needs: a PostgreSQL server (for the
# `postgresql` tests) and Debian's Chromium (for the `browser` tests).
#
# Idempotent: does nothing when both are present. When something is missing it installs
# it with apt-get if running as root; otherwise (not root, no apt-get, or apt-get
# failing, e.g. offline) it prints a loud warning naming the tests that will be skipped
# and exits 0, so that the rest of the suite still runs. The test run's summary repeats
# the warning for every skipped test.
#
# Environment (mainly for testing this script):
#   BEACONPORT_PG_BIN_GLOB   where to look for PostgreSQL's initdb
#                            (default /usr/lib/postgresql/*/bin)
#   BEACONPORT_CHROMIUM_PATH the Chromium binary (default /usr/bin/chromium)
#   BEACONPORT_NO_APT=1      never call apt-get; only report what is missing
set -uo pipefail

PG_BIN_GLOB="${BEACONPORT_PG_BIN_GLOB:-/usr/lib/postgresql/*/bin}"
CHROMIUM="${BEACONPORT_CHROMIUM_PATH:-/usr/bin/chromium}"

have_postgres() {
    local dir
    for dir in $PG_BIN_GLOB; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && return 0
    done
    return 1
}

have_chromium() {
    [[ -x "$CHROMIUM" ]]
}

missing_packages() {
    local pkgs=()
    have_postgres || pkgs+=(postgresql)
    have_chromium || pkgs+=(chromium fonts-dejavu-core)
    echo "${pkgs[*]}"
}

warn() {
    local bar="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    {
        echo
        echo "$bar"
        echo "!!! WARNING: test services missing: $1"
        have_postgres || echo "!!!   no PostgreSQL server (initdb under $PG_BIN_GLOB):" \
            "every 'postgresql' test will be SKIPPED"
        have_chromium || echo "!!!   no Chromium at $CHROMIUM: every 'browser' test will be SKIPPED"
        echo "!!! To run them: as root, 'apt-get install postgresql chromium fonts-dejavu-core'"
        echo "!!! (Debian), then run 'make test' again."
        echo "$bar"
        echo
    } >&2
}

packages="$(missing_packages)"
if [[ -z "$packages" ]]; then
    echo "test services: PostgreSQL server and Chromium present"
    exit 0
fi

if [[ "${BEACONPORT_NO_APT:-}" == "1" ]]; then
    warn "BEACONPORT_NO_APT=1, not installing: $packages"
    exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
    warn "not root, cannot install: $packages"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    warn "no apt-get on this machine, cannot install: $packages"
    exit 0
fi

echo "test services: installing $packages with apt-get (a few minutes the first time)"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # $packages is a list of package names
if ! apt-get update -qq; then
    warn "'apt-get update' failed (offline?), cannot install: $packages"
    exit 0
fi
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $packages >/dev/null; then
    warn "'apt-get install $packages' failed"
    exit 0
fi

packages="$(missing_packages)"
if [[ -n "$packages" ]]; then
    warn "still missing after apt-get install: $packages"
    exit 0
fi
echo "test services: PostgreSQL server and Chromium installed"
