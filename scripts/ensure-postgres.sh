#!/usr/bin/env bash
# Usage: scripts/ensure-postgres.sh URL
# Makes sure the PostgreSQL database named by URL (SQLAlchemy form, e.g.
# postgresql+psycopg2://postgres@127.0.0.1:5432/test) accepts connections: starts the local cluster
# if it is stopped, installs PostgreSQL if it is missing (local hosts only), and creates the
# database if it does not exist. Used by `make test` when WAYMARK_TEST_POSTGRES_URL is set.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

url="${1:?usage: ensure-postgres.sh URL}"
rest="${url#*://}"
userinfo=""
if [[ "$rest" == *@* ]]; then
    userinfo="${rest%%@*}"
    rest="${rest#*@}"
fi
user="${userinfo%%:*}"
user="${user:-postgres}"
if [[ "$userinfo" == *:* ]]; then
    export PGPASSWORD="${userinfo#*:}"
fi
hostport="${rest%%/*}"
db="${rest#*/}"
db="${db%%\?*}"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=5432
if [ -z "$db" ] || [ "$db" = "$rest" ]; then
    die "no database name in $url"
fi

# The newest PostgreSQL version with a cluster configured under /etc/postgresql.
newest_cluster_version() {
    find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n1
}

local_host=0
case "$host" in 127.0.0.1 | localhost | ::1 | "") local_host=1 ;; esac

if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    apt_install postgresql-client
fi

if ! pg_isready -q -h "$host" -p "$port"; then
    [ "$local_host" -eq 1 ] || die "PostgreSQL at $host:$port is not accepting connections"
    if ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
        apt_install postgresql
        pg_version="$(newest_cluster_version)"
        # A fresh Debian cluster asks for a password on TCP; the tests connect as postgres with
        # none, as on the machines this project runs on, so trust loopback connections (only on a
        # cluster this script has just installed).
        step "Trusting loopback connections in /etc/postgresql/$pg_version/main/pg_hba.conf (new cluster)"
        as_root sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+).*/\1trust/' \
            "/etc/postgresql/$pg_version/main/pg_hba.conf"
    fi
    pg_version="$(newest_cluster_version)"
    step "Starting PostgreSQL $pg_version (not accepting connections at $host:$port)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start ||
        as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main restart
    for _ in $(seq 1 30); do
        pg_isready -q -h "$host" -p "$port" && break
        sleep 1
    done
    pg_isready -h "$host" -p "$port" || die "PostgreSQL did not start at $host:$port"
fi

exists="$(psql -h "$host" -p "$port" -U "$user" -d postgres -XtAc "select 1 from pg_database where datname = '$db'")" ||
    die "cannot connect to PostgreSQL at $host:$port as $user"
if [ "$exists" != "1" ]; then
    step "Creating PostgreSQL database $db"
    createdb -h "$host" -p "$port" -U "$user" "$db"
fi
psql -h "$host" -p "$port" -U "$user" -d "$db" -XqtAc 'select 1' >/dev/null ||
    die "cannot connect to database $db at $host:$port as $user"
note "PostgreSQL ready: $user@$host:$port/$db"
