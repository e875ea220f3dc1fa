#!/usr/bin/env bash
# A throwaway PostgreSQL (Debian's package) on 127.0.0.1, for checks and tests that need
# Dagster's production storage:
#   deployments/local-postgres.sh start DIR PORT   # prints postgresql://dagster:...@127.0.0.1:PORT/dagster
#   deployments/local-postgres.sh stop DIR
# `start` makes DIR (which must not exist yet), a cluster in DIR/data, and the role and database
# `dagster` with a random password; the server speaks TLS only (a self-signed certificate, so
# that `sslmode: require` of deployments/dagster.k8s.yaml holds) and listens on 127.0.0.1 only.
# The URL is also in DIR/url (mode 600). PostgreSQL refuses to run as root: as root the server
# runs as $ACAV_PG_USER (default `postgres`, the user Debian's package makes), who must be able
# to reach DIR (its parent folders need o+x). `stop` stops it; DIR is then yours to remove.
set -euo pipefail

die() { echo "local-postgres: error: $*" >&2; exit 1; }

usage() { die "usage: $0 start DIR PORT | stop DIR"; }

bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$dir/pg_ctl" ] || die "PostgreSQL is missing (apt-get install postgresql)"
    echo "$dir"
}

# Runs a command as the server's user: that user when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${ACAV_PG_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir="$1" port="$2" bin password data
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] ||
        die "PORT must be a TCP port number, not '$port'"
    [ ! -e "$dir" ] || die "$dir exists; start makes a fresh one"
    bin="$(bindir)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    data="$dir/data"
    if [ "$(id -u)" = 0 ]; then
        id "${ACAV_PG_USER:-postgres}" >/dev/null 2>&1 ||
            die "user ${ACAV_PG_USER:-postgres} does not exist; set ACAV_PG_USER"
        chown "${ACAV_PG_USER:-postgres}" "$dir"
    fi
    chmod 700 "$dir"
    as_owner test -w "$dir" ||
        die "user ${ACAV_PG_USER:-postgres} cannot write $dir (its parent folders need o+x)"

    password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    as_owner sh -c "umask 077; printf '%s\n' '$password' > '$dir/password'"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --pwfile="$dir/password" -E UTF8 --no-instructions >"$dir/initdb.log" ||
        die "initdb failed; see $dir/initdb.log"
    as_owner openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$data/server.key" \
        -out "$data/server.crt" 2>/dev/null
    as_owner chmod 600 "$data/server.key"
    # TLS or nothing over TCP; the local socket (in DIR) stays for this script's own psql.
    as_owner sh -c "cat > '$data/pg_hba.conf'" <<'EOF'
local   all   all                 peer map=owner
hostssl all   all   127.0.0.1/32  scram-sha-256
EOF
    as_owner sh -c "printf 'owner %s postgres\n' \"\$(id -un)\" > '$data/pg_ident.conf'"
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c ssl=on" start >/dev/null ||
        die "the server did not start; see $dir/server.log"
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE dagster LOGIN PASSWORD '$password'" \
        -c "CREATE DATABASE dagster OWNER dagster" >/dev/null
    local url="postgresql://dagster:$password@127.0.0.1:$port/dagster"
    (umask 077 && printf '%s\n' "$url" >"$dir/url")
    echo "$url"
}

stop() {
    local dir="$1"
    [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster made by start"
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

case "${1:-}" in
    start) [ $# = 3 ] || usage; start "$2" "$3" ;;
    stop) [ $# = 2 ] || usage; stop "$2" ;;
    *) usage ;;
esac
