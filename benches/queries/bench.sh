#!/usr/bin/env bash
# One refresh of live statements + sessions on a busy server: opsctl queries
# against pg_activity and pg_top (PostgreSQL) and against the same two catalog
# reads through the mariadb client (MariaDB), in one run, on the sandbox's servers
# loaded with DISTINCT statement classes and SESSIONS open sessions.
#
#   benches/queries/bench.sh [DISTINCT] [SESSIONS] [REFRESHES]    (5000 200 10)
#
# Measured per refresh, in steady state (a run of REFRESHES+1 refreshes minus a
# run of 1, divided by REFRESHES, so connecting and the first snapshot are left
# out): bytes on the wire both ways (a counting relay sits in front of the
# server), the tool's CPU time, and the server time of the tool's own statements (from
# pg_stat_statements / performance_schema, reset before each tool).
# Needs: the sandbox (started here), pg_activity (apt install pg-activity),
# pg_top (apt install pgtop), tmux, mariadb client, a release build of opsctl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DISTINCT="${1:-5000}"
SESSIONS="${2:-200}"
REFRESHES="${3:-10}"

for tool in pg_activity pg_top tmux mariadb psql; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install pg-activity pgtop tmux mariadb-client postgresql-client)" >&2
        exit 2
    }
done
cargo build --release --quiet
OPSCTL="$PWD/target/release/opsctl"
tests/sandbox/up postgres mariadb >/dev/null
# shellcheck disable=SC1091
source target/sandbox/env.sh
VENV_PY="$PWD/target/sandbox-venv/bin/python"
[[ -x "$VENV_PY" ]] || { echo "bench: the sandbox venv is missing: tests/sandbox/up app" >&2; exit 2; }

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # The servers' statistics are left as the sandbox's tests expect them, not
    # full of the benchmark's 5,000 classes (MariaDB's digest table is bounded).
    if declare -F pg_admin >/dev/null; then
        # A backend in pg_sleep does not notice its client died until it wakes.
        pg_admin "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3600)'" >/dev/null 2>&1 || true
        pg_admin "SELECT pg_stat_statements_reset()" >/dev/null 2>&1 || true
        my_admin "TRUNCATE performance_schema.events_statements_summary_by_digest" >/dev/null 2>&1 || true
    fi
    tmux kill-session -t opsctl-bench 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export PGPASSFILE="$work/pgpass"
printf '127.0.0.1:*:*:%s:%s\n' "$SANDBOX_PG_MONITOR_USER" "$(cat "$SANDBOX_PG_MONITOR_PASSWORD_FILE")" >"$PGPASSFILE"
chmod 600 "$PGPASSFILE"
# The sandbox's superuser, over its socket (resets need it).
pg_admin() { psql -X -At -h "$SANDBOX_PG_SOCKET_DIR" -p "$SANDBOX_PG_PORT" -U postgres -d "$SANDBOX_PG_DB" -c "$1"; }
my_cnf="$work/my.cnf"
printf '[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\n' "$SANDBOX_MARIADB_MONITOR_USER" "$(cat "$SANDBOX_MARIADB_MONITOR_PASSWORD_FILE")" >"$my_cnf"
my_admin() { mariadb --defaults-file="$SANDBOX_MARIADB_SERVER_CNF" -u "$(id -un)" -N -e "$1"; }

echo "bench: loading $DISTINCT distinct statements and $SESSIONS sessions into each server"
pg_admin "SELECT pg_stat_statements_reset()" >/dev/null
"$VENV_PY" benches/queries/load.py postgresql "$DISTINCT" "$SESSIONS" >"$work/load-pg.log" 2>&1 &
pids+=($!)
"$VENV_PY" benches/queries/load.py mariadb "$DISTINCT" "$SESSIONS" >"$work/load-my.log" 2>&1 &
pids+=($!)
for f in load-pg load-my; do
    for _ in $(seq 600); do grep -q "sessions held" "$work/$f.log" 2>/dev/null && break; sleep 0.2; done
    grep -q "sessions held" "$work/$f.log" || { cat "$work/$f.log" >&2; exit 1; }
done
pg_classes="$(pg_admin "SELECT count(*) FROM pg_stat_statements")"
pg_sessions="$(pg_admin "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")"

relay() { # PORT HOST TARGET_PORT NAME
    python3 benches/queries/relay.py "$1" "$2" "$3" "$work/$4.counts" &
    pids+=($!)
    for _ in $(seq 50); do [[ -s "$work/$4.counts" ]] && return; sleep 0.1; done
}
relay 56432 "$SANDBOX_PG_HOST" "$SANDBOX_PG_PORT" pg
relay 53306 "$SANDBOX_MARIADB_HOST" "$SANDBOX_MARIADB_PORT" my
bytes() { awk '{print $1 + $2}' "$work/$1.counts"; }

# The server time of the monitoring user's statements since the last reset, ms.
pg_own_ms() {
    pg_admin "SELECT coalesce(round(sum(total_exec_time + total_plan_time)::numeric, 2), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '$SANDBOX_PG_MONITOR_USER'"
}
pg_reset_own() {
    pg_admin "SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = '$SANDBOX_PG_MONITOR_USER'))" >/dev/null
}

# measure NAME RELAY COMMAND...: runs COMMAND with refresh count N substituted
# for {N} (1, then REFRESHES+1); prints bytes, seconds and server ms per refresh.
results=()
# cpu=no: the tool runs elsewhere (a terminal), its CPU is not ours to count.
cpu=yes
measure() {
    local name="$1" counts="$2"
    shift 2
    local runs=(1 $((REFRESHES + 1))) b=() t=() s=() n
    for n in "${runs[@]}"; do
        local before start end cmd=()
        before="$(bytes "$counts")"
        [[ "$counts" == pg ]] && pg_reset_own
        for a in "$@"; do cmd+=("${a//\{N\}/$n}"); done
        local TIMEFORMAT='%3U %3S'
        { time "${cmd[@]}" >/dev/null 2>"$work/err.log"; } 2>"$work/time" ||
            { echo "bench: $name failed:" >&2; cat "$work/err.log" >&2; exit 1; }
        sleep 0.5 # the relay counts a connection when it closes
        b+=($(($(bytes "$counts") - before)))
        t+=("$(awk '{print $1 + $2}' "$work/time")")
        if [[ "$counts" == pg ]]; then s+=("$(pg_own_ms)"); else s+=("-"); fi
    done
    local per_b per_t per_s
    per_b=$(((b[1] - b[0]) / REFRESHES))
    per_t="$(printf '%.1f' "$(echo "(${t[1]} - ${t[0]}) / $REFRESHES * 1000" | bc -l)")"
    [[ "$cpu" == yes ]] || per_t="-"
    if [[ "${s[0]}" == "-" ]]; then per_s="-"; else per_s="$(printf '%.2f' "$(echo "(${s[1]} - ${s[0]}) / $REFRESHES" | bc -l)")"; fi
    results+=("| $name | $per_b | $per_t | $per_s | ${b[0]} |")
}

pg_url="postgres://$SANDBOX_PG_MONITOR_USER@127.0.0.1:56432/$SANDBOX_PG_DB?sslmode=disable"
measure "opsctl queries (PostgreSQL)" pg \
    "$OPSCTL" queries --url "$pg_url" --watch --json --limit 20 --interval 1 --count "{N}"
measure "pg_top -b (PostgreSQL)" pg \
    pg_top -b -x "{N}" -s 1 -h 127.0.0.1 -p 56432 -U "$SANDBOX_PG_MONITOR_USER" -d "$SANDBOX_PG_DB"
# pg_activity has no batch mode: it runs on a terminal (tmux) for N refreshes of 1 s.
pg_activity_for() {
    tmux kill-session -t opsctl-bench 2>/dev/null || true
    tmux new -d -s opsctl-bench -x 200 -y 60 \
        "PGPASSFILE=$PGPASSFILE pg_activity --refresh 1 --no-db-size -h 127.0.0.1 -p 56432 -U $SANDBOX_PG_MONITOR_USER -d $SANDBOX_PG_DB"
    sleep "$1"
    tmux kill-session -t opsctl-bench
}
cpu=no measure "pg_activity --refresh 1 (PostgreSQL)" pg pg_activity_for "{N}"

my_url="mysql://$SANDBOX_MARIADB_MONITOR_USER:$(cat "$SANDBOX_MARIADB_MONITOR_PASSWORD_FILE")@127.0.0.1:53306/$SANDBOX_MARIADB_DB"
measure "opsctl queries (MariaDB)" my \
    "$OPSCTL" queries --url "$my_url" --watch --json --limit 20 --interval 1 --count "{N}"
# The same two catalog reads, N times, through the mariadb client.
my_refresh="SELECT CAST(DIGEST AS CHAR), CAST(DIGEST_TEXT AS CHAR), CAST(SCHEMA_NAME AS CHAR), CAST(COUNT_STAR AS SIGNED), CAST(SUM_TIMER_WAIT AS DOUBLE), CAST(SUM_ROWS_SENT AS SIGNED) FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NOT NULL; SELECT p.ID, p.USER, p.DB, p.HOST, p.COMMAND, p.STATE, p.TIME, p.INFO, TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6 FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump') ORDER BY p.TIME DESC; SELECT SLEEP(1);"
mariadb_for() {
    local sql="" i
    for ((i = 0; i < $1; i++)); do sql+="$my_refresh"; done
    mariadb --defaults-extra-file="$my_cnf" -P 53306 -D "$SANDBOX_MARIADB_DB" -e "$sql"
}
measure "mariadb client, same reads (MariaDB)" my mariadb_for "{N}"
my_classes="$(my_admin "SELECT count(*) FROM performance_schema.events_statements_summary_by_digest")"
my_sessions="$(my_admin "SELECT count(*) FROM information_schema.PROCESSLIST")"

echo
echo "PostgreSQL: $pg_classes statement classes, $pg_sessions sessions; MariaDB: $my_classes digests, $my_sessions threads; $REFRESHES refreshes of 1 s"
echo
echo "| tool | bytes per refresh | client CPU ms per refresh | server ms per refresh | bytes of a first refresh (connect + snapshot) |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}"
