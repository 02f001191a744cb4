#!/bin/sh
# gauntlet-entrypoint — PID 1 of the local `gauntlet-deps` image (built by `gauntlet image build`).
#
#   gauntlet-entrypoint postgres [postgres args...]  Postgres 15 on 5432, user/password postgres
#   gauntlet-entrypoint redis [redis-server args...] Redis on 6379, no persistence
#   gauntlet-entrypoint init                         initialise PGDATA (used once, at image build)
#
# Both servers are exec'ed through setpriv rather than run as children: PID 1 then *is* the
# server, so `docker stop` (STOPSIGNAL SIGINT), `docker kill` and the chaos faults reach it
# directly instead of a shell that would swallow them. setpriv execs; runuser/su would fork.
set -eu

PGBIN=/usr/lib/postgresql/15/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
# The password baked into the image's pre-initialised data directory.
BAKED_PASSWORD=postgres

usage() {
    echo "usage: gauntlet-entrypoint postgres|redis [server args...]" >&2
    # 64 = EX_USAGE (sysexits.h): the caller asked for something this image does not serve.
    exit 64
}

as_user() {
    user="$1"
    shift
    setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# initdb with the settings every Gauntlet Postgres shares. Runs at image build (so containers
# skip the ~1 s initdb) and again only when PGDATA is empty, e.g. a fresh volume mounted over it.
init_pgdata() {
    password="$1"
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile="$(mktemp)"
    printf '%s\n' "$password" >"$pwfile"
    chown postgres "$pwfile"
    # Local socket trusted: only processes inside the container reach it (docker exec psql, and
    # the single-user password change below). TCP always needs the scram password.
    as_user postgres "$PGBIN/initdb" --pgdata="$PGDATA" --username=postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    # Published ports arrive on the container's eth0, not loopback: accept any source address.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    cat >>"$PGDATA/postgresql.conf" <<'EOF'
# --- gauntlet ---
listen_addresses = '*'
port = 5432
# fsync off: test data is disposable, and fsync on fuse-overlayfs costs milliseconds per commit,
# which would measure the disk instead of the service. It only matters if the *kernel* dies:
# killing or restarting postgres (our chaos faults) loses nothing, since written WAL stays in the
# page cache. synchronous_commit stays on for that reason — turning it off would lose
# acknowledged writes on a postgres crash and break the ledger check.
fsync = off
full_page_writes = off
# JIT compiles plans with LLVM (excluded from the image); for short OLTP queries it only adds
# latency, so it is off as in most production tuning guides.
jit = off
EOF
}

# Apply POSTGRES_PASSWORD (if it differs from what the data directory holds) in single-user
# mode before the server starts: no TCP, no race with clients, ~100 ms.
apply_password() {
    password="$1"
    escaped="$(printf '%s' "$password" | sed "s/'/''/g")"
    echo "ALTER ROLE postgres PASSWORD '$escaped';" |
        as_user postgres "$PGBIN/postgres" --single -D "$PGDATA" postgres >/dev/null
}

run_postgres() {
    password="${POSTGRES_PASSWORD:-$BAKED_PASSWORD}"
    # Unix socket directory: /run is not a tmpfs in containers, but make sure it exists.
    mkdir -p /run/postgresql
    chown postgres:postgres /run/postgresql
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        init_pgdata "$password"
    elif [ "$password" != "$BAKED_PASSWORD" ]; then
        apply_password "$password"
    fi
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" -D "$PGDATA" "$@"
}

run_redis() {
    cd /var/lib/redis
    # --bind 0.0.0.0 / --protected-mode no: clients come through the published port on eth0 and
    #   there is no password, which protected mode would answer with DENIED.
    # --save "" / --appendonly no: cache data is disposable; no RDB fork or AOF fsync stalls to
    #   distort latency numbers, and a restarted Redis starts empty like a fresh cache.
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server \
        --bind 0.0.0.0 --port 6379 --protected-mode no --save "" --appendonly no "$@"
}

[ $# -ge 1 ] || usage
role="$1"
shift
case "$role" in
postgres) run_postgres "$@" ;;
redis) run_redis "$@" ;;
init) init_pgdata "${POSTGRES_PASSWORD:-$BAKED_PASSWORD}" ;;
*) usage ;;
esac
