#!/usr/bin/env bash
# The plain-ssh peer of `opsctl deploy`: the same steps as fab_deploy.py (the same
# remote/ scripts), one `ssh` per step (every step connects: no ControlMaster),
# prepare on every host at once (background jobs), then BATCH_SIZE hosts at a time.
#
#   ssh_deploy.sh REV BATCH_SIZE [HOST...]     (HOST...: default all the sandbox's web hosts)
#
# Strict host-key checking against the sandbox's known_hosts, the sandbox's key only.
# Progress lines on stderr in opsctl's shape, read by timed.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
source "$here/../../target/sandbox/env.sh"
rev_name="$1"
batch="$2"
STEP_TIMEOUT=120
rev="$(timeout 30 git --git-dir "$SANDBOX_GIT_REPO" rev-parse "$rev_name^{commit}")"
rid="$(date -u +%Y%m%d%H%M%S)_${rev:0:7}"
if (($# > 2)); then
    hosts=("${@:3}")
else
    read -r -a hosts <<<"$SANDBOX_WEB_HOSTS"
fi
PY="$SANDBOX_PYTHON"

addr() { local v="SANDBOX_${1^^}_ADDR"; echo "${!v}"; }
dir() { local v="SANDBOX_${1^^}_DEPLOY"; echo "${!v}"; }
ssh_opts=(-q -p "$SANDBOX_SSH_PORT" -l "$SANDBOX_SSH_USER" -i "$SANDBOX_SSH_KEY" -F /dev/null
    -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SANDBOX_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null)
# step HOST WHAT SCRIPT ARGS...: run remote/SCRIPT.sh with ARGS;
# step HOST WHAT -C DIR ARGV...: run ARGV in DIR.
step() {
    local h="$1" what="$2" s="$3" q d
    shift 3
    echo "$h: $what ..." >&2
    if [[ "$s" == -C ]]; then
        printf -v d '%q' "$1"
        shift
        printf -v q '%q ' "$@"
        timeout "$STEP_TIMEOUT" ssh -n "${ssh_opts[@]}" "$(addr "$h")" "cd $d && $q" >/dev/null || { echo "$h: $what FAILED" >&2; return 1; }
    else
        printf -v q '%q ' "$@"
        # The script goes in on stdin.
        timeout "$STEP_TIMEOUT" ssh "${ssh_opts[@]}" "$(addr "$h")" "sh -s -- $q" <"$here/remote/$s.sh" >/dev/null ||
            { echo "$h: $what FAILED" >&2; return 1; }
    fi
    echo "$h: $what done" >&2
}
gate() {
    local h="$1" i
    echo "$h: health gate ..." >&2
    for i in $(seq 10); do
        if [[ "$(curl -sS -m 3 "http://$(addr "$h"):$SANDBOX_GUNICORN_PORT/healthz" 2>/dev/null)" == ok ]]; then
            echo "$h: health gate done" >&2
            return 0
        fi
        sleep 0.5
    done
    echo "$h: health gate FAILED" >&2
    return 1
}
prepare() {
    local h="$1" p
    p="$(dir "$h")"
    step "$h" "update the repository mirror" mirror "$p" "$SANDBOX_GIT_REPO"
    step "$h" "make release $rid" release "$p" "$rid" "$rev"
    step "$h" "build: collectstatic" -C "$p/releases/$rid" "$PY" manage.py collectstatic --noinput -v0
}
switch() {
    local h="$1" p
    p="$(dir "$h")"
    step "$h" "switch current to $rid" switch "$p" "$rid"
    step "$h" "restart (gunicorn USR2)" restart "$p/shared/tmp/gunicorn.pid" 60 4
    gate "$h"
}
# wait_all PIDS...: fails if any failed
wait_all() {
    local p rc=0
    for p in "$@"; do wait "$p" || rc=1; done
    return "$rc"
}

pids=()
for h in "${hosts[@]}"; do
    prepare "$h" &
    pids+=($!)
done
wait_all "${pids[@]}"
first="${hosts[0]}"
rel="$(dir "$first")/releases/$rid"
step "$first" "migrate (once): default" -C "$rel" "$PY" manage.py migrate --noinput -v0
step "$first" "migrate (once): reports" -C "$rel" "$PY" manage.py migrate --database reports --noinput -v0
for ((i = 0; i < ${#hosts[@]}; i += batch)); do
    pids=()
    for h in "${hosts[@]:i:batch}"; do
        switch "$h" &
        pids+=($!)
    done
    wait_all "${pids[@]}"
done
for h in "${hosts[@]}"; do
    step "$h" "record in revisions.log, keep 5 releases" record "$(dir "$h")" \
        "Branch $rev_name (at ${rev:0:7}) deployed as release $rid by ssh-loop" 5
done
echo "deployed $rev_name (${rev:0:7}) as release $rid on ${hosts[*]}"
