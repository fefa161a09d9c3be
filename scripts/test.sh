#!/usr/bin/env bash
# The full test run behind `make test`: every test, on SQLite and on a real PostgreSQL
# server, browser tests on Debian's Chromium. See docs/testing.md.
#
#   bash scripts/test.sh                          everything
#   bash scripts/test.sh tests/metrics -k store   any pytest arguments pass through
#
# Environment:
#   BEACONPORT_TEST_PG_URL          use this PostgreSQL server instead of starting one
#   BEACONPORT_TEST_WORKERS         pytest-xdist workers (default 2; 0: one process)
#   BEACONPORT_REQUIRE_SERVICES=1   fail, rather than skip, when PostgreSQL is missing
set -uo pipefail
cd "$(dirname "$0")/.."

export GX_ANALYTICS_ENABLED=false
PYTEST=.venv/bin/pytest
WORKERS="${BEACONPORT_TEST_WORKERS:-2}"
# Each run has its own PostgreSQL cluster, so that two runs in one work tree (or a
# person using scripts/postgres.sh by hand) never stop each other's server.
RUN_PG_DIR=".test-services/pg-run-$$"

loud() {
    local bar="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    printf '\n%s\n' "$bar" >&2
    printf '!!! %s\n' "$@" >&2
    printf '%s\n\n' "$bar" >&2
}

# Clusters of earlier runs that died without cleaning up (their shell is gone).
sweep_stale_clusters() {
    local dir pid
    for dir in .test-services/pg-run-*; do
        [[ -d "$dir" ]] || continue
        pid="${dir##*-}"
        if [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
            BEACONPORT_PG_DIR="$dir" bash scripts/postgres.sh stop 2>/dev/null
            rm -rf -- "$dir"
        fi
    done
}

stop_our_cluster() {
    [[ -d "$RUN_PG_DIR" ]] || return 0
    BEACONPORT_PG_DIR="$RUN_PG_DIR" bash scripts/postgres.sh stop
    rm -rf -- "$RUN_PG_DIR"
}

bash scripts/install-test-deps.sh

if [[ -n "${BEACONPORT_TEST_PG_URL:-}" ]]; then
    echo "PostgreSQL tests use the server given in BEACONPORT_TEST_PG_URL"
else
    sweep_stale_clusters
    trap stop_our_cluster EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    BEACONPORT_PG_DIR="$RUN_PG_DIR" bash scripts/postgres.sh start >/dev/null
    status=$?
    if [[ $status -eq 0 ]]; then
        BEACONPORT_TEST_PG_URL="$(cat "$RUN_PG_DIR/url")"
        export BEACONPORT_TEST_PG_URL
    elif [[ $status -eq 3 && "${BEACONPORT_REQUIRE_SERVICES:-}" != "1" ]]; then
        loud "No PostgreSQL server binaries: every 'postgresql' test will be SKIPPED." \
            "Install Debian's 'postgresql' package (as root: make test does it) to run them."
    else
        loud "Could not start the test PostgreSQL server (scripts/postgres.sh exited $status)." \
            "See the messages above."
        exit 1
    fi
fi

args=()
if [[ "$WORKERS" != "0" ]]; then
    args+=(-n "$WORKERS")
fi
if [[ $# -eq 0 ]]; then
    set -- tests
fi

"$PYTEST" "${args[@]}" "$@"
status=$?
if [[ $status -eq 5 ]]; then
    loud "pytest collected NO tests: a run that tests nothing is a failure." \
        "Check the arguments given (${*}) and that tests/ holds test_*.py files."
    exit 1
fi
exit $status
