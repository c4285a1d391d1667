# Component "app": the Django shop (tests/sandbox/app) with django-silk, served by gunicorn
# on web1 and web2 (127.0.0.2 / 127.0.0.3, port SANDBOX_GUNICORN_PORT, default 8000),
# and on web3..webN (127.0.0.7..) with SANDBOX_WEB_HOSTS=N (lib.sh),
# deployed Capistrano style from a local git repository with several tagged versions.
# Needs postgres and mariadb (started if they are not).
#
# Layout:
#   target/sandbox-venv/             the Python venv (kept by down; rebuilt only when
#                                    tests/sandbox/app/requirements.txt changes)
#   target/sandbox/git/shop.git      bare repository: v1 = tests/sandbox/app, then
#                                    tests/sandbox/app-versions/*.patch (v2, v3-broken, v4-slow)
#   target/sandbox/deploy/<host>/    one tree per web host:
#     releases/<id>/                 id = UTC time + '_' + short revision, 20261201194500_1a2b3c4
#                                    (git archive of the revision, REVISION, collected static
#                                    files in public/static, .env and log linked to shared/)
#     shared/.env                    settings and secrets (mode 600)
#     shared/log/                    gunicorn-access.log, gunicorn-error.log, gunicorn-stdout.log
#     shared/tmp/gunicorn.pid        the master's pid (during a USR2 upgrade the new master
#                                    writes gunicorn.pid.2, renamed once the old one exits)
#     shared/tmp/gunicorn.ctl        gunicorn's control socket (gunicornc)
#     current -> releases/<id>
#     revisions.log                  "Branch v1 (at 1a2b3c4) deployed as release <id> by root"
# Sourced by tests/sandbox/up and down, and by tests/sandbox/bin/*.

APP_SRC="$SANDBOX_LIB_DIR/app"
APP_VERSIONS_DIR="$SANDBOX_LIB_DIR/app-versions"
# The tags, in history order; each after v1 is app-versions/<tag>.patch on the one before.
APP_TAGS=(v1 v2 v3-broken v4-slow)
APP_VENV="${SANDBOX_VENV:-$REPO_ROOT/target/sandbox-venv}"
APP_PYTHON="$APP_VENV/bin/python"
APP_GIT_DIR="$STATE_DIR/git"
APP_REPO="$APP_GIT_DIR/shop.git"
APP_DEPLOY_DIR="$STATE_DIR/deploy"
APP_BIN="$SANDBOX_LIB_DIR/bin"

app_port() { echo "${SANDBOX_GUNICORN_PORT:-8000}"; }
app_workers() { echo "${SANDBOX_GUNICORN_WORKERS:-2}"; }
app_web_hosts() { site_hosts_with_role web; }
# Every web host tree on disk (web1, web2, and web3.. of an earlier, larger sandbox).
app_host_trees() {
    local d
    shopt -s nullglob
    for d in "$APP_DEPLOY_DIR"/web*/; do
        d="$(basename "$d")"
        [[ "$d" =~ ^web[0-9]+$ ]] && echo "$d"
    done
    shopt -u nullglob
}
app_host_dir() { echo "$APP_DEPLOY_DIR/$1"; }
app_pid_file() { echo "$APP_DEPLOY_DIR/$1/shared/tmp/gunicorn.pid"; }

app_check_tools() {
    need_file /usr/bin/python3 python3
    /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3 cannot make venvs: install the python3-venv package"
    need_cmd git git
    need_cmd curl curl
}

# The venv, from requirements.txt; rebuilt only when that file changes.
app_venv() {
    local req="$APP_SRC/requirements.txt" want have
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    have="$(cat "$APP_VENV/.requirements.sha256" 2>/dev/null || true)"
    [[ "$want" == "$have" && -x "$APP_VENV/bin/gunicorn" ]] && return 0
    log "app: building the venv $APP_VENV (pip install -r $req)"
    rm -rf "$APP_VENV"
    # The system Python, whatever else is first in PATH (pyenv, ...).
    /usr/bin/python3 -m venv "$APP_VENV" || die "python3 -m venv $APP_VENV failed"
    "$APP_PYTHON" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" \
        >"$STATE_DIR/app-pip.log" 2>&1 ||
        die "pip install -r $req failed; see $STATE_DIR/app-pip.log"
    echo "$want" >"$APP_VENV/.requirements.sha256"
}

# A hash of the sources of every version (the app tree and the patches).
app_source_hash() {
    (
        cd "$SANDBOX_LIB_DIR" &&
            find app app-versions -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 |
            sort -z | xargs -0 sha256sum
    ) | sha256sum | cut -d' ' -f1
}

# The bare repository: v1 is tests/sandbox/app, each later tag a patch (git am) on the
# one before. Fixed dates make the same sources give the same commits.
app_build_repo() {
    local hash tag work
    hash="$(app_source_hash)"
    if [[ "$(cat "$APP_GIT_DIR/source.sha256" 2>/dev/null)" == "$hash" && -d "$APP_REPO" ]]; then
        return 0
    fi
    log "app: building $APP_REPO (${APP_TAGS[*]})"
    mkdir -p "$APP_GIT_DIR"
    work="$(mktemp -d "$APP_GIT_DIR/build.XXXXXX")"
    tar -C "$APP_SRC" --exclude=__pycache__ --exclude='*.pyc' -cf - . | tar -C "$work" -xf -
    (
        cd "$work"
        export GIT_AUTHOR_NAME="Sandbox Developer" GIT_AUTHOR_EMAIL="dev@shop.sandbox.test"
        export GIT_COMMITTER_NAME="Sandbox Developer" GIT_COMMITTER_EMAIL="dev@shop.sandbox.test"
        export GIT_AUTHOR_DATE="2026-11-02T10:00:00+0000" GIT_COMMITTER_DATE="2026-11-02T10:00:00+0000"
        git init -q -b main .
        git config user.name "$GIT_AUTHOR_NAME"
        git config user.email "$GIT_AUTHOR_EMAIL"
        git add -A
        git commit -q -m "Shop v1: products, orders, parcel search, reports"
        git tag v1
        for tag in "${APP_TAGS[@]:1}"; do
            git am -q --committer-date-is-author-date "$APP_VERSIONS_DIR/$tag.patch" ||
                { echo "app-versions/$tag.patch does not apply on the version before it" >&2; exit 1; }
            git tag "$tag"
        done
    ) >"$APP_GIT_DIR/build.log" 2>&1 || { rm -rf "$work"; die "building the app repository failed; see $APP_GIT_DIR/build.log"; }
    rm -rf "$APP_REPO.new"
    git clone -q --bare "$work" "$APP_REPO.new"
    rm -rf "$APP_REPO" "$work"
    mv "$APP_REPO.new" "$APP_REPO"
    echo "$hash" >"$APP_GIT_DIR/source.sha256"
}

app_rev() { git --git-dir="$APP_REPO" rev-parse --verify -q "$1^{commit}"; }

# shared/ of a web host: the settings and secrets file, logs, pid directory.
app_prepare_host() {
    local host="$1" dir shared allowed n
    dir="$(app_host_dir "$host")"
    shared="$dir/shared"
    mkdir -p "$dir/releases" "$shared/log" "$shared/tmp"
    allowed="shop.sandbox.test,localhost"
    for ((n = 1; n <= 6; n++)); do allowed+=",127.0.0.$n"; done
    # web3.. (SANDBOX_WEB_HOSTS > 2) are past 127.0.0.6: the health gate asks each by its address.
    local web addr
    for web in $(app_web_hosts); do
        addr="$(site_addr_of "$web")"
        [[ ",$allowed," == *",$addr,"* ]] || allowed+=",$addr"
    done
    (
        umask 077
        cat >"$shared/.env.new" <<ENV
# Settings and secrets of the shop on $host (linked into each release as .env).
SHOP_SECRET_KEY=$(cat "$(secret_file django-secret-key)")
SHOP_DEBUG=0
SHOP_ALLOWED_HOSTS=$allowed
SHOP_DB_HOST=$SANDBOX_PG_HOST
SHOP_DB_PORT=$SANDBOX_PG_PORT
SHOP_DB_NAME=shop
SHOP_DB_USER=shop
SHOP_DB_PASSWORD=$(cat "$SANDBOX_PG_PASSWORD_FILE")
SHOP_REPORTS_DB_HOST=$SANDBOX_MARIADB_HOST
SHOP_REPORTS_DB_PORT=$SANDBOX_MARIADB_PORT
SHOP_REPORTS_DB_NAME=shop_reports
SHOP_REPORTS_DB_USER=shop
SHOP_REPORTS_DB_PASSWORD=$(cat "$SANDBOX_MARIADB_PASSWORD_FILE")
ENV
    )
    if cmp -s "$shared/.env.new" "$shared/.env"; then rm -f "$shared/.env.new"; else mv -f "$shared/.env.new" "$shared/.env"; fi
}

# Builds a release of REF for HOST (not yet current); prints its directory.
app_release_create() {
    local host="$1" ref="$2" sha dir id rel
    sha="$(app_rev "$ref")" || die "no revision '$ref' in $APP_REPO"
    dir="$(app_host_dir "$host")"
    [[ -f "$dir/shared/.env" ]] || die "$dir/shared/.env missing: run tests/sandbox/up app"
    id="$(date -u +%Y%m%d%H%M%S)_${sha:0:7}"
    rel="$dir/releases/$id"
    [[ ! -e "$rel" ]] || die "release $rel exists already (two deploys of one revision in one second)"
    mkdir -p "$rel"
    git --git-dir="$APP_REPO" archive "$sha" | tar -x -C "$rel"
    echo "$sha" >"$rel/REVISION"
    date -u +%Y%m%d%H%M%S >"$rel/REVISION_TIME"
    ln -s ../../shared/.env "$rel/.env"
    ln -s ../../shared/log "$rel/log"
    (cd "$rel" && "$APP_PYTHON" manage.py collectstatic --noinput -v0) >>"$dir/shared/log/deploy.log" 2>&1 ||
        die "collectstatic failed for $rel; see $dir/shared/log/deploy.log"
    echo "$rel"
}

# Points HOST's current at RELEASE_DIR (atomically) and logs it as Capistrano does.
app_release_switch() {
    local host="$1" rel="$2" ref="$3" dir id sha
    dir="$(app_host_dir "$host")"
    id="$(basename "$rel")"
    sha="$(cat "$rel/REVISION")"
    ln -sfn "releases/$id" "$dir/current.new"
    mv -Tf "$dir/current.new" "$dir/current"
    echo "Branch $ref (at ${sha:0:7}) deployed as release $id by $(id -un)" >>"$dir/revisions.log"
    # Capistrano's keep_releases: the newest 5 (and always the current one).
    local old
    ls -1 "$dir/releases" | sort | head -n -5 | while read -r old; do
        [[ "$old" == "$id" ]] || rm -rf "${dir:?}/releases/$old"
    done
}

# True when HOST's current release is a revision of the repository (else: redeploy v1).
app_current_is_valid() {
    local dir rev
    dir="$(app_host_dir "$1")"
    [[ -L "$dir/current" && -f "$dir/current/REVISION" && -f "$dir/current/manage.py" ]] || return 1
    rev="$(cat "$dir/current/REVISION")"
    git --git-dir="$APP_REPO" tag --points-at "$rev" 2>/dev/null | grep -q .
}

# migrate (both databases) and seed, from web1's current release, when the databases
# have not seen this revision yet. Stamps live with each database's state, so a new
# cluster is migrated and seeded again.
app_migrate_and_seed() {
    local host="$1" dir rev want pg_stamp my_stamp
    dir="$(app_host_dir "$host")"
    rev="$(cat "$dir/current/REVISION")"
    want="$rev $(cat "$APP_VENV/.requirements.sha256")"
    pg_stamp="$STATE_DIR/postgres/shop-migrated.stamp"
    my_stamp="$STATE_DIR/mariadb/reports-migrated.stamp"
    if [[ "$(cat "$pg_stamp" 2>/dev/null)" == "$want" && "$(cat "$my_stamp" 2>/dev/null)" == "$want" ]]; then
        return 0
    fi
    log "app: migrate and seed (release $(basename "$(readlink "$dir/current")"))"
    (
        cd "$dir/current"
        "$APP_PYTHON" manage.py migrate --noinput -v0 &&
            "$APP_PYTHON" manage.py migrate --database reports --noinput -v0 &&
            "$APP_PYTHON" manage.py seed
    ) >>"$dir/shared/log/deploy.log" 2>&1 || die "migrate/seed failed; see $dir/shared/log/deploy.log"
    echo "$want" >"$pg_stamp"
    echo "$want" >"$my_stamp"
}

app_up() {
    app_check_tools
    sandbox_require postgres mariadb
    # shellcheck source=/dev/null
    source "$ENV_D/postgres.env"
    # shellcheck source=/dev/null
    source "$ENV_D/mariadb.env"
    app_venv
    app_build_repo
    local host rel first=""
    # Web hosts of an earlier, larger sandbox (SANDBOX_WEB_HOSTS) are not part of this one.
    for host in $(app_host_trees); do
        [[ " $(app_web_hosts | paste -sd' ') " == *" $host "* ]] && continue
        [[ -n "$(read_pid "$(app_pid_file "$host")")" ]] || continue
        log "app: stopping gunicorn on $host (not a web host of this sandbox)"
        "$APP_BIN/gunicorn-stop" "$host"
    done
    for host in $(app_web_hosts); do
        app_prepare_host "$host"
        if ! app_current_is_valid "$host"; then
            "$APP_BIN/gunicorn-stop" "$host"
            rel="$(app_release_create "$host" v1)"
            app_release_switch "$host" "$rel" v1
            log "app: $host: deployed v1 as $(basename "$rel")"
        fi
        [[ -n "$first" ]] || first="$host"
    done
    app_migrate_and_seed "$first"
    for host in $(app_web_hosts); do
        "$APP_BIN/gunicorn-start" "$host" && continue
        # A demo or a test left another release current (v3-broken never starts): the
        # sandbox's own state is v1.
        if [[ "$(cat "$(app_host_dir "$host")/current/REVISION" 2>/dev/null)" != "$(app_rev v1)" ]]; then
            log "app: $host: the current release does not start; deploying v1 again"
            "$APP_BIN/gunicorn-stop" "$host"
            rel="$(app_release_create "$host" v1)"
            app_release_switch "$host" "$rel" v1
            "$APP_BIN/gunicorn-start" "$host" && continue
        fi
        die "gunicorn on $host did not become healthy"
    done

    local vars=() tag upper
    for tag in "${APP_TAGS[@]}"; do
        upper="${tag^^}"
        vars+=("SANDBOX_APP_REV_${upper//-/_}" "$(app_rev "$tag")")
    done
    for host in $(app_web_hosts); do
        upper="${host^^}"
        local d
        d="$(app_host_dir "$host")"
        vars+=(
            "SANDBOX_${upper}_URL" "http://$(site_addr_of "$host"):$(app_port)"
            "SANDBOX_${upper}_DEPLOY" "$d"
            "SANDBOX_${upper}_CURRENT" "$d/current"
            "SANDBOX_${upper}_SHARED" "$d/shared"
            "SANDBOX_${upper}_ENV_FILE" "$d/shared/.env"
            "SANDBOX_${upper}_REVISIONS_LOG" "$d/revisions.log"
            "SANDBOX_${upper}_GUNICORN_PID_FILE" "$(app_pid_file "$host")"
            "SANDBOX_${upper}_GUNICORN_CTL" "$d/shared/tmp/gunicorn.ctl"
            "SANDBOX_${upper}_GUNICORN_ACCESS_LOG" "$d/shared/log/gunicorn-access.log"
            "SANDBOX_${upper}_GUNICORN_ERROR_LOG" "$d/shared/log/gunicorn-error.log"
        )
    done
    env_write app \
        SANDBOX_VENV "$APP_VENV" \
        SANDBOX_PYTHON "$APP_PYTHON" \
        SANDBOX_PY_SPY "$APP_VENV/bin/py-spy" \
        SANDBOX_SECRETS_DIR "$SECRETS_DIR" \
        SANDBOX_APP_SOURCE "$APP_SRC" \
        SANDBOX_GIT_REPO "$APP_REPO" \
        SANDBOX_APP_TAGS "${APP_TAGS[*]}" \
        SANDBOX_APP_HOT_VIEW /products/ \
        SANDBOX_APP_NEW_VIEW_V2 /products/1/reviews/ \
        SANDBOX_SHOP_PRODUCTS 1500 \
        SANDBOX_SHOP_CUSTOMERS 2000 \
        SANDBOX_DEPLOY_DIR "$APP_DEPLOY_DIR" \
        SANDBOX_RELEASE_ID_FORMAT '%Y%m%d%H%M%S_<short revision>' \
        SANDBOX_WEB_HOSTS "$(app_web_hosts | paste -sd' ')" \
        SANDBOX_GUNICORN_PORT "$(app_port)" \
        SANDBOX_GUNICORN_WORKERS "$(app_workers)" \
        SANDBOX_GUNICORN_START "$APP_BIN/gunicorn-start" \
        SANDBOX_GUNICORN_STOP "$APP_BIN/gunicorn-stop" \
        SANDBOX_DEPLOY_RELEASE "$APP_BIN/deploy-release" \
        "${vars[@]}"
    log "app: gunicorn on $(for h in $(app_web_hosts); do printf '%s:%s ' "$(site_addr_of "$h")" "$(app_port)"; done)(release $(basename "$(readlink "$(app_host_dir "$first")/current")"))"
}

app_down() {
    local host
    # Whatever runs, with or without the SANDBOX_WEB_HOSTS it was started with.
    for host in $( (app_web_hosts; app_host_trees) | awk '!seen[$0]++'); do
        "$APP_BIN/gunicorn-stop" "$host"
    done
    env_remove app
}
