#!/usr/bin/env bash
# `make postgres`: make sure PostgreSQL's server binaries are on this machine, for the
# end-to-end test (tests/test_postgres.py starts its own throwaway server from them).
#
# Found under /usr/lib/postgresql/<version>/bin: nothing to do. Otherwise Debian's
# `postgresql` package is installed with apt-get (as root, or through `sudo -n`); the
# package lists are updated only when the install fails without them.
#
#   PG_BIN_GLOB   where to look for pg_ctl          (default /usr/lib/postgresql/*/bin)
#   DRY_RUN=1     print the commands instead of running them
#   APT_GET       the apt-get to run                (default apt-get; a stand-in for testing)
set -euo pipefail

PG_BIN_GLOB=${PG_BIN_GLOB:-/usr/lib/postgresql/*/bin}
DRY_RUN=${DRY_RUN:-}
APT_GET=${APT_GET:-apt-get}

found() {
    # shellcheck disable=SC2086  # the glob is meant to expand
    ls -d $PG_BIN_GLOB/pg_ctl 2>/dev/null | sort -V | tail -n 1
}

run() {
    echo "+ $*"
    if [ -z "$DRY_RUN" ]; then
        "$@"
    fi
}

if pg_ctl=$(found) && [ -n "$pg_ctl" ]; then
    echo "PostgreSQL server binaries: $(dirname "$pg_ctl")"
    exit 0
fi

echo "No PostgreSQL server binaries under $PG_BIN_GLOB: installing Debian's postgresql package."
if ! command -v "$APT_GET" >/dev/null 2>&1; then
    echo "apt-get not found: install PostgreSQL's server (initdb, pg_ctl, psql) by hand." >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "Installing packages needs root: run \`apt-get install -y postgresql\` as root," \
         "or \`make postgres\` with sudo rights." >&2
    exit 1
fi

install=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y postgresql)
if ! run "${install[@]}"; then
    echo "apt-get install failed; updating the package lists and trying again."
    run "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$APT_GET" update
    run "${install[@]}"
fi

if [ -z "$DRY_RUN" ]; then
    if ! pg_ctl=$(found) || [ -z "$pg_ctl" ]; then
        echo "postgresql installed, but no pg_ctl under $PG_BIN_GLOB." >&2
        exit 1
    fi
    echo "PostgreSQL server binaries: $(dirname "$pg_ctl")"
fi
