#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
#   scripts/postgres.sh start   initdb a fresh cluster and start it; print its URL
#   scripts/postgres.sh stop    stop it and delete its data
#   scripts/postgres.sh url     print the URL of the running test server
#
# The cluster lives in .test-services/pg/data (or $BEACONPORT_PG_DIR/data), listens
# only on 127.0.0.1 on a free port (its unix socket goes in a private temporary
# directory), trusts every local connection and runs with fsync off: it holds nothing
# but test data and is deleted by `stop`. No password or secret is involved. As root, the server runs as the
# `postgres` user that Debian's package creates; otherwise as the calling user.
# `start` shares a cluster that is already running there and answering, and otherwise
# first removes whatever a previous run left behind.
#
# The URL (postgresql+psycopg://postgres@127.0.0.1:PORT/postgres) is also written to
# .test-services/pg/url (or $BEACONPORT_PG_DIR/url); tests read it from BEACONPORT_TEST_PG_URL (scripts/test.sh).
#
# Exit status of `start`: 0 running, 3 no PostgreSQL server binaries found (the
# postgresql tests will be skipped), 1 any other failure.
#
# Environment: BEACONPORT_PG_BIN_GLOB where to look for the server binaries
# (default /usr/lib/postgresql/*/bin; the newest version found is used);
# BEACONPORT_PG_DIR the cluster's folder instead of .test-services/pg (scripts/test.sh
# gives each run its own, so that runs and people sharing a work tree never stop one
# another's server).
set -euo pipefail
umask 022

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${BEACONPORT_PG_DIR:-.test-services/pg}"
[[ "$STATE" == /* ]] || STATE="$ROOT/$STATE"
DATA="$STATE/data"
PG_BIN_GLOB="${BEACONPORT_PG_BIN_GLOB:-/usr/lib/postgresql/*/bin}"
SUPERUSER=postgres

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir found=""
    # The glob is expanded on purpose; sort -V puts the newest major version last.
    # shellcheck disable=SC2086
    for dir in $(printf '%s\n' $PG_BIN_GLOB | sort -V); do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && found="$dir"
    done
    [[ -n "$found" ]] && echo "$found"
}

run_user() {
    if [[ "$(id -u)" == "0" ]]; then
        if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
    else
        id -un
    fi
}

# Run a command as the server's user, from a directory that user can enter.
as_pg() {
    if [[ "$(id -u)" == "0" ]]; then
        (cd / && runuser -u "$(run_user)" -- "$@")
    else
        (cd / && "$@")
    fi
}

free_port() {
    # Ask the kernel for one; without a usable python3, a random high port (start retries).
    python3 - 2>/dev/null <<'PY' || echo $((20000 + RANDOM % 40000))
import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

# Stop whatever cluster is in $DATA (if any) and delete it with its temporary directory.
cleanup() {
    local bindir pid real
    real="$(readlink -f "$DATA" || echo "$DATA")"
    if [[ -f "$real/postmaster.pid" ]]; then
        bindir="$(cat "$STATE/bindir" 2>/dev/null || find_bindir || true)"
        if [[ -n "$bindir" ]]; then
            as_pg "$bindir/pg_ctl" -D "$real" stop -m immediate -w -t 20 >/dev/null 2>&1 || true
        fi
        # A server that pg_ctl could not stop: end that one process (ours) by its id.
        pid="$(head -n 1 "$real/postmaster.pid" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
            && grep -q postgres "/proc/$pid/comm" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ -f "$STATE/tmpdir" ]]; then
        rm -rf -- "$(cat "$STATE/tmpdir")"
    fi
    if [[ -L "$DATA" ]]; then rm -f -- "$DATA"; else rm -rf -- "$DATA"; fi
    rm -f -- "$STATE/url" "$STATE/port" "$STATE/tmpdir" "$STATE/bindir"
}

start() {
    local bindir user tmp real_data server_log port attempt url
    if ! bindir="$(find_bindir)"; then
        log "no PostgreSQL server binaries (initdb, pg_ctl) under $PG_BIN_GLOB"
        log "install Debian's 'postgresql' package (scripts/install-test-deps.sh does it as root)"
        return 3
    fi
    if [[ -f "$STATE/url" ]] && running \
        && "$bindir/pg_isready" -q -h 127.0.0.1 -p "$(cat "$STATE/port")" -t 5; then
        # Someone may be testing against it: share it rather than pull it from under them.
        log "reusing the test cluster already running in $STATE"
        cat "$STATE/url"
        return 0
    fi
    cleanup
    mkdir -p "$STATE"
    user="$(run_user)"
    echo "$bindir" >"$STATE/bindir"

    # A private temporary directory for the unix socket (its path must stay short,
    # about 100 bytes) and, when the server's user cannot reach the work tree (say a
    # clone under /root), for the data too, linked from .test-services/pg/data.
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/beaconport-pg.XXXXXX")"
    echo "$tmp" >"$STATE/tmpdir"
    chmod 755 "$tmp"
    mkdir -p "$tmp/run"
    if [[ "$(id -u)" == "0" ]]; then chown "$user" "$tmp/run"; fi
    if as_pg test -x "$STATE"; then
        real_data="$DATA"
        server_log="$STATE/server.log"
    else
        log "user '$user' cannot reach $STATE; keeping the cluster in $tmp/data instead"
        real_data="$tmp/data"
        server_log="$tmp/server.log"
        ln -s "$real_data" "$DATA"
    fi
    mkdir -p "$real_data"
    : >"$server_log"
    if [[ "$(id -u)" == "0" ]]; then chown "$user" "$real_data" "$server_log"; fi
    chmod 700 "$real_data"

    if ! as_pg "$bindir/initdb" -D "$real_data" -U "$SUPERUSER" --auth=trust --encoding=UTF8 \
        --locale=C --no-sync >"$STATE/initdb.log" 2>&1; then
        log "initdb failed; its output:"
        cat "$STATE/initdb.log" >&2
        return 1
    fi
    # Only this throwaway cluster: trust connections over the socket and 127.0.0.1.
    as_pg tee "$real_data/pg_hba.conf" >/dev/null <<'HBA'
# Throwaway test cluster (scripts/postgres.sh): trust local connections only.
local all all              trust
host  all all 127.0.0.1/32 trust
HBA

    for attempt in 1 2 3; do
        port="$(free_port)"
        if as_pg "$bindir/pg_ctl" -D "$real_data" -l "$server_log" -w -t 60 -s start -o \
            "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"; then
            url="postgresql+psycopg://$SUPERUSER@127.0.0.1:$port/postgres"
            echo "$port" >"$STATE/port"
            echo "$url" >"$STATE/url"
            log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running as" \
                "'$user' on 127.0.0.1:$port (data in $DATA)"
            echo "$url"
            return 0
        fi
        log "start attempt $attempt on port $port failed; server log:"
        tail -n 20 "$server_log" >&2 || true
    done
    return 1
}

stop() {
    cleanup
    log "stopped and removed the test cluster"
}

running() {
    local pid state
    pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    # Alive, and not a zombie waiting to be reaped.
    state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)"
    [[ -n "$state" && "$state" != "Z" ]]
}

url() {
    if [[ -f "$STATE/url" ]] && running; then
        cat "$STATE/url"
    else
        log "no test cluster is running (run: scripts/postgres.sh start)"
        return 1
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) url ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 64
    ;;
esac
