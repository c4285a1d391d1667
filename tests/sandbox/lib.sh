# Shared by tests/sandbox/up and tests/sandbox/down: paths and small helpers.
# Sourced, not executed.

SANDBOX_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SANDBOX_LIB_DIR/../.." && pwd)"
STATE_DIR="$REPO_ROOT/target/sandbox"
COMPONENTS_DIR="$SANDBOX_LIB_DIR/components"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

# Every component, in start order: ssh first (the site's machines), then the databases,
# the app servers (which migrate into both databases) and the load balancers in front.
# `down` stops them in reverse.
SANDBOX_COMPONENTS=(ssh postgres mariadb app nginx)
all_components() {
    printf '%s\n' "${SANDBOX_COMPONENTS[@]}"
}

# The site: host N (1-based) of the ssh component is a named machine of the site on its
# own loopback address 127.0.0.(N+1). Hosts past the site (SANDBOX_HOSTS > 5, e.g. the
# benchmarks' 50) are plain workers named sandboxN.
SITE_HOSTS=(web1 web2 db1 lb1 lb2)
# SANDBOX_WEB_HOSTS=N (2..20, default 2; opt-in, for the deploy benchmark): N web hosts.
# web3..webN come after the five above (host 6 = web3 on 127.0.0.7, ...), so the
# addresses of web1 web2 db1 lb1 lb2 never move. env.sh exports SANDBOX_WEB_HOSTS too,
# as the list of web host names ("web1 web2 ..."): a shell that sourced it passes that
# list, which counts as its length.
sandbox_web_host_count() {
    local v="${SANDBOX_WEB_HOSTS:-2}" w n=0 words=()
    if [[ "$v" =~ ^[0-9]+$ ]]; then
        ((10#$v >= 2 && 10#$v <= 20)) || die "SANDBOX_WEB_HOSTS must be 2..20, not '$v'"
        echo "$((10#$v))"
        return 0
    fi
    read -r -a words <<<"$v"
    for w in "${words[@]}"; do
        n=$((n + 1))
        [[ "$w" == "web$n" ]] ||
            die "SANDBOX_WEB_HOSTS must be a number of web hosts (2..20), not '$v'"
    done
    ((n >= 2 && n <= 20)) || die "SANDBOX_WEB_HOSTS must be 2..20, not '$v'"
    echo "$n"
}
SANDBOX_WEB_HOST_COUNT="$(sandbox_web_host_count)" || exit 1
for ((_w = 3; _w <= SANDBOX_WEB_HOST_COUNT; _w++)); do SITE_HOSTS+=("web$_w"); done
unset _w
site_host_name() {
    if (($1 >= 1 && $1 <= ${#SITE_HOSTS[@]})); then echo "${SITE_HOSTS[$1 - 1]}"; else echo "sandbox$1"; fi
}
site_host_role() { site_role_of_name "$(site_host_name "$1")"; }
site_role_of_name() {
    case "$1" in
        web*) echo web ;;
        db*) echo db ;;
        lb*) echo lb ;;
        *) echo worker ;;
    esac
}
site_host_addr() { echo "127.0.0.$(($1 + 1))"; }
# The address of a site host by name (web1 -> 127.0.0.2).
site_addr_of() {
    local i
    for ((i = 1; i <= ${#SITE_HOSTS[@]}; i++)); do
        [[ "${SITE_HOSTS[$i - 1]}" == "$1" ]] && { site_host_addr "$i"; return 0; }
    done
    die "no site host '$1' (known: ${SITE_HOSTS[*]})"
}
site_hosts_with_role() {
    local i
    for ((i = 1; i <= ${#SITE_HOSTS[@]}; i++)); do
        [[ "$(site_host_role "$i")" == "$1" ]] && echo "${SITE_HOSTS[$i - 1]}"
    done
}

load_component() {
    local name="$1"
    [[ "$name" =~ ^[a-z0-9_]+$ ]] || die "bad component name '$name'"
    [[ -f "$COMPONENTS_DIR/$name.sh" ]] ||
        die "unknown component '$name' (known: $(all_components | tr '\n' ' '))"
    # shellcheck source=/dev/null
    source "$COMPONENTS_DIR/$name.sh"
}

# True when PID is alive and its command line mentions MARK, so we only ever signal
# processes this sandbox started (a stale pid file may name an unrelated process).
pid_is_ours() {
    local pid="$1" mark="$2"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$mark"
}

# Stops one process we started: resume it first (a SIGSTOPped process never handles
# SIGTERM), then SIG (default TERM), wait up to SECS (default 5) s, then KILL.
stop_pid() {
    local pid="$1" sig="${2:-TERM}" secs="${3:-5}" i
    kill -CONT "$pid" 2>/dev/null || true
    kill -"$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        # A zombie child of ours counts as gone.
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
        sleep 0.1
    done
    log "pid $pid ignored SIG$sig for ${secs}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

# The first line of a pid file (postmaster.pid has more), or nothing.
read_pid() { head -n1 "$1" 2>/dev/null | tr -dc '0-9' || true; }

# Waits until HOST:PORT accepts TCP connections, at most SECS s.
wait_tcp() {
    local host="$1" port="$2" secs="${3:-30}" i
    for ((i = 0; i < secs * 10; i++)); do
        timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the $2 package (tests/install-deps does: apt-get install -y $2)"
}
need_file() {
    [[ -e "$1" ]] || die "$1 not found: install the $2 package (tests/install-deps does: apt-get install -y $2)"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Runs a command as USER when we are root (databases refuse to run as root), else as us.
as_user() {
    local user="$1"
    shift
    if is_root; then runuser -u "$user" -- "$@"; else "$@"; fi
}

# Makes sure USER can reach DIR: every directory on the way needs the search (x) bit for
# others. Adds only that bit, and only where it is missing.
ensure_traversable() {
    local user="$1" dir="$2" d
    is_root || return 0
    d="$dir"
    while [[ "$d" != / && -n "$d" ]]; do
        if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
            log "letting $user traverse $d (chmod o+x)"
            chmod o+x "$d"
        fi
        d="$(dirname "$d")"
    done
}

# Secrets: generated once into target/sandbox/secrets/NAME (mode 600), never printed.
SECRETS_DIR="$STATE_DIR/secrets"
secret_file() {
    local f="$SECRETS_DIR/$1"
    mkdir -p "$SECRETS_DIR"
    chmod 700 "$SECRETS_DIR"
    if [[ ! -s "$f" ]]; then
        (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$f.new" && mv -f "$f.new" "$f")
    fi
    chmod 600 "$f"
    echo "$f"
}

# Starts components this one needs (idempotent: running ones are left alone), once per run.
SANDBOX_STARTED=" "
sandbox_require() {
    local c
    for c in "$@"; do
        [[ "$SANDBOX_STARTED" == *" $c "* ]] && continue
        load_component "$c"
        "${c}_up"
        SANDBOX_STARTED+="$c "
    done
}

# What tests and tools need to know about the sandbox: each component writes
# env.d/COMPONENT.env (`export KEY='value'` lines) when it is up and removes it when it
# stops; `sandbox_publish` merges them into env.sh and env.json, and writes the profile.
ENV_D="$STATE_DIR/env.d"
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# env_write COMPONENT KEY VALUE [KEY VALUE ...]
env_write() {
    local comp="$1" out
    shift
    mkdir -p "$ENV_D"
    out="$ENV_D/$comp.env.new"
    : >"$out"
    while (($# >= 2)); do
        printf 'export %s=%s\n' "$1" "$(shell_quote "$2")" >>"$out"
        shift 2
    done
    mv -f "$out" "$ENV_D/$comp.env"
}
env_remove() { rm -f "$ENV_D/$1.env"; }

sandbox_publish() {
    local c f have=0
    mkdir -p "$STATE_DIR"
    {
        echo "# Generated by tests/sandbox/up: what the sandbox runs and where (source it)."
        for c in $(all_components); do
            f="$ENV_D/$c.env"
            [[ -f "$f" ]] || continue
            have=1
            echo "# $c"
            cat "$f"
        done
    } >"$STATE_DIR/env.sh.new"
    if ((have)); then
        mv -f "$STATE_DIR/env.sh.new" "$STATE_DIR/env.sh"
        /usr/bin/python3 - "$STATE_DIR/env.sh" "$STATE_DIR/env.json.new" <<'PY'
import json, shlex, sys
env = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("export "):
        continue
    key, _, value = shlex.split(line[len("export "):])[0].partition("=")
    env[key] = value
with open(sys.argv[2], "w") as f:
    json.dump(env, f, indent=1, sort_keys=True)
    f.write("\n")
PY
        mv -f "$STATE_DIR/env.json.new" "$STATE_DIR/env.json"
    else
        rm -f "$STATE_DIR/env.sh.new" "$STATE_DIR/env.sh" "$STATE_DIR/env.json"
    fi
    sandbox_write_profile
}

# The opsctl profile of the site, from what is up: hosts (ssh), their logs, and the
# site's HTTP checks through the load balancers (nginx). Without hosts there is no
# profile: tests then say "run tests/sandbox/up" instead of failing on refused connections.
sandbox_write_profile() {
    local out="$STATE_DIR/sandbox.toml.new" n name role lb
    if [[ ! -f "$ENV_D/ssh.env" ]]; then
        rm -f "$STATE_DIR/sandbox.toml"
        return 0
    fi
    (
        # shellcheck source=/dev/null
        for f in "$ENV_D"/*.env; do source "$f"; done
        {
            echo "# Generated by tests/sandbox/up: the sandbox site (see target/sandbox/env.sh)."
            echo 'name = "sandbox"'
            echo 'environment = "development"'
            echo
            echo '[ssh]'
            echo "user = \"$SANDBOX_SSH_USER\""
            echo "identity_files = [\"$SANDBOX_SSH_KEY\"]"
            echo "known_hosts_files = [\"$SANDBOX_KNOWN_HOSTS\"]"
            echo 'use_ssh_config = false'
            echo
            echo '[health]'
            echo 'interval_secs = 2'
            echo 'services = []'
            if [[ -n "${SANDBOX_LB_HOSTS:-}" ]]; then
                # The first check is the site's health URL (its origin also serves /sitemap.xml).
                for lb in $SANDBOX_LB_HOSTS; do
                    local upper="${lb^^}" url
                    url="SANDBOX_${upper}_URL"
                    echo
                    echo '[[health.http]]'
                    echo "name = \"site via $lb\""
                    echo "url = \"${!url}/healthz\""
                    echo 'expect_body = "ok"'
                    echo "ca_file = \"$SANDBOX_CA_FILE\""
                done
            fi
            # The databases, watched by the monitoring user (never the app's): directly,
            # and PostgreSQL once more through db1's SSH (as behind a bastion).
            # The slow logs are on the db host (the console digests their last minutes).
            local dbhost="" m
            for ((m = 1; m <= ${SANDBOX_HOSTS:-0}; m++)); do
                if [[ "$(site_host_role "$m")" == db ]]; then
                    dbhost="$(site_host_name "$m")"
                    break
                fi
            done
            if [[ -n "${SANDBOX_PG_HOST:-}" ]]; then
                local via
                for via in "" db1; do
                    echo
                    echo '[[databases]]'
                    echo "name = \"shop${via:+-via-$via}\""
                    echo 'engine = "postgresql"'
                    echo "host = \"$SANDBOX_PG_HOST\""
                    echo "port = $SANDBOX_PG_PORT"
                    echo "user = \"$SANDBOX_PG_MONITOR_USER\""
                    echo "database = \"$SANDBOX_PG_DB\""
                    echo "password_file = \"$SANDBOX_PG_MONITOR_PASSWORD_FILE\""
                    [[ -n "$via" ]] && echo "via = \"$via\""
                    if [[ -z "$via" && -n "$dbhost" && -n "${SANDBOX_PG_LOG:-}" ]]; then
                        echo "slow_log = { host = \"$dbhost\", path = \"$SANDBOX_PG_LOG\" }"
                    fi
                done
            fi
            if [[ -n "${SANDBOX_MARIADB_HOST:-}" ]]; then
                echo
                echo '[[databases]]'
                echo 'name = "reports"'
                echo 'engine = "mariadb"'
                echo "host = \"$SANDBOX_MARIADB_HOST\""
                echo "port = $SANDBOX_MARIADB_PORT"
                echo "user = \"$SANDBOX_MARIADB_MONITOR_USER\""
                echo "database = \"$SANDBOX_MARIADB_DB\""
                echo "password_file = \"$SANDBOX_MARIADB_MONITOR_PASSWORD_FILE\""
                if [[ -n "$dbhost" && -n "${SANDBOX_MARIADB_SLOW_LOG:-}" ]]; then
                    echo "slow_log = { host = \"$dbhost\", path = \"$SANDBOX_MARIADB_SLOW_LOG\" }"
                fi
            fi
            # The shop, deployed to the web hosts Capistrano style (opsctl deploy/rollback).
            if [[ -n "${SANDBOX_DEPLOY_DIR:-}" && -n "${SANDBOX_GIT_REPO:-}" ]]; then
                local py="$SANDBOX_PYTHON"
                echo
                echo '[app]'
                echo 'name = "shop"'
                echo "path = \"$SANDBOX_DEPLOY_DIR/{host}\""
                echo 'roles = ["web"]'
                echo "repository = \"$SANDBOX_GIT_REPO\""
                echo 'branch = "v1"'
                echo 'keep_releases = 5'
                echo 'linked_files = [".env"]'
                echo 'linked_dirs = ["log"]'
                echo "build = [[\"$py\", \"manage.py\", \"collectstatic\", \"--noinput\", \"-v0\"]]"
                echo "migrate = [[\"$py\", \"manage.py\", \"migrate\", \"--noinput\", \"-v0\"], [\"$py\", \"manage.py\", \"migrate\", \"--database\", \"reports\", \"--noinput\", \"-v0\"]]"
                echo 'step_timeout_secs = 120'
                echo
                echo '[app.restart]'
                echo 'strategy = "gunicorn-usr2"'
                echo 'pid_file = "shared/tmp/gunicorn.pid"'
                echo 'timeout_secs = 60'
                echo 'settle_secs = 4'
                echo "start = [\"$SANDBOX_GUNICORN_START\", \"{host}\"]"
                echo
                echo '[app.health]'
                echo "url = \"http://{address}:$SANDBOX_GUNICORN_PORT/healthz\""
                echo 'expect_body = "ok"'
                echo 'timeout_secs = 3'
                echo 'retries = 10'
                echo 'interval_secs = 0.5'
                echo
                echo '[app.watch]'
                echo 'duration_secs = 10'
                echo 'paths = ["/products/"]'
                echo 'interval_secs = 0.25'
                echo 'access_log = "shared/log/gunicorn-access.log"'
                # What `opsctl scale` may change: each web host's gunicorn workers.
                echo
                echo '[[scale]]'
                echo 'name = "web"'
                echo 'kind = "gunicorn"'
                echo 'roles = ["web"]'
                echo 'pid_file = "shared/tmp/gunicorn.pid"'
                echo 'min = 1'
                echo 'max = 6'
            fi
            # ... and the load balancers' backends (drained before they are removed).
            if [[ -n "${SANDBOX_LB_HOSTS:-}" && -n "${SANDBOX_NGINX_BIN:-}" ]]; then
                local ngx="$STATE_DIR/nginx/{host}"
                local base="\"$SANDBOX_NGINX_BIN\", \"-p\", \"$ngx/\", \"-e\", \"$ngx/logs/error.log\", \"-c\", \"$ngx/nginx.conf\""
                echo
                echo '[[scale]]'
                echo 'name = "backends"'
                echo 'kind = "nginx-upstream"'
                echo 'roles = ["lb"]'
                echo "upstream_file = \"$ngx/upstream.conf\""
                echo "pid_file = \"$ngx/nginx.pid\""
                echo "test = [$base, \"-t\", \"-q\"]"
                echo "reload = [$base, \"-s\", \"reload\"]"
                echo 'backends_role = "web"'
                echo "backend_port = ${SANDBOX_GUNICORN_PORT:-8000}"
                echo 'server_params = "max_fails=2 fail_timeout=5s"'
                echo 'min = 1'
                echo 'drain_timeout_secs = 30'
            fi
            # What `opsctl warm` warms: the shop's sitemap, on each load balancer's cache
            # (the site's name is not in DNS: --per-node is the only way there).
            if [[ -n "${SANDBOX_LB_HOSTS:-}" && -n "${SANDBOX_SITE_NAME:-}" ]]; then
                local site="https://$SANDBOX_SITE_NAME"
                [[ "${SANDBOX_HTTPS_PORT:-443}" == 443 ]] || site+=":$SANDBOX_HTTPS_PORT"
                echo
                echo '[warm]'
                echo "sitemaps = [\"$site/sitemap.xml\"]"
                echo "base = \"$site\""
                echo 'nodes = "lb"'
                echo 'per_node = true'
                echo "ca_file = \"$SANDBOX_CA_FILE\""
                echo 'concurrency = 8'
            fi
            # The hosts as the ssh component named them when it started them (a later
            # `up` of another component may run without that SANDBOX_WEB_HOSTS).
            local names=()
            read -r -a names <<<"${SANDBOX_HOST_NAMES:-}"
            for ((n = 1; n <= SANDBOX_HOSTS; n++)); do
                name="${names[n - 1]:-$(site_host_name "$n")}"
                role="$(site_role_of_name "$name")"
                local logs=()
                case "$role" in
                    web) [[ -n "${SANDBOX_DEPLOY_DIR:-}" ]] &&
                        logs+=("$SANDBOX_DEPLOY_DIR/$name/shared/log/gunicorn-access.log"
                            "$SANDBOX_DEPLOY_DIR/$name/shared/log/gunicorn-error.log") ;;
                    db) [[ -n "${SANDBOX_PG_LOG:-}" ]] && logs+=("$SANDBOX_PG_LOG")
                        [[ -n "${SANDBOX_MARIADB_SLOW_LOG:-}" ]] && logs+=("$SANDBOX_MARIADB_SLOW_LOG") ;;
                    lb) local v="SANDBOX_${name^^}_ACCESS_LOG"
                        [[ -n "${!v:-}" ]] && logs+=("${!v}") ;;
                esac
                # The host view tails the first; sshd logs every session, so every host has one.
                logs+=("$SANDBOX_SSH_DIR/host$n/sshd.log")
                echo
                echo '[[hosts]]'
                echo "name = \"$name\""
                echo "address = \"$(site_host_addr "$n")\""
                echo "port = $SANDBOX_SSH_PORT"
                echo "roles = [\"$role\"]"
                local l sep="" line="logs = ["
                for l in "${logs[@]}"; do
                    line+="$sep{ file = \"$l\" }"
                    sep=", "
                done
                echo "$line]"
            done
        } >"$out"
    )
    mv -f "$out" "$STATE_DIR/sandbox.toml"
}

# Waits until HOST:PORT answers with an SSH banner, at most TRIES * 0.1 s.
wait_ssh_banner() {
    local host="$1" port="$2" tries="${3:-100}" i banner
    for ((i = 0; i < tries; i++)); do
        banner="$(timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port && head -c 8 <&3" 2>/dev/null || true)"
        [[ "$banner" == SSH-2.0- ]] && return 0
        sleep 0.1
    done
    return 1
}
