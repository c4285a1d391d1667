#!/usr/bin/env bash
# Deploys, in one run on the sandbox's web hosts: `opsctl deploy` against the same
# steps done by Fabric (fab_deploy.py) and by a plain ssh loop (ssh_deploy.sh).
#
#   benches/deploy/bench.sh [--rounds N] [--no-load] [--web-hosts H] [--batches "B..."]
#
# N = 3 rounds; H = 2 web hosts (web1..webH; more than 2 need a sandbox started with
# SANDBOX_WEB_HOSTS=H or more); batch sizes "1 2" for 2 hosts, else "1 ceil(H/2)"
# (10 hosts: "1 5"). Every tool deploys to the same H hosts, in the same order, with the
# same batch sizes.
# Each round, for each batch_size, each tool deploys v2 then v1 (so 2N timed
# deploys per tool and batch size, interleaved so that drift hits every tool alike).
# Then, unless --no-load, one more round (v2, v1) per tool and batch size with wrk
# sending ~25 requests a second (2 paced connections) through nginx (https://127.0.0.5/, uncached routes:
# /healthz, /version, /products/1/reviews/, /reports/; load.lua), counting 5xx answers
# and socket errors: the failed requests.
#
# opsctl runs from profile copies (profile.py): the batch_size, the H hosts (when the
# sandbox has more web hosts than H), and [app.watch] removed: the watch probes for a fixed 10 s after the switch, a step the peers do not
# have. Everything else is the sandbox's profile: the restart waits for the new
# master's workers to stay up settle_secs = 4 s; the peers' restart (remote/restart.sh)
# waits the same 4 s.
# Where the time goes comes from each tool's progress lines, stamped as they arrive
# (timed.py). Logs and results: target/bench-deploy/<UTC time>/.
#
# Needs: the sandbox up (tests/sandbox/up), wrk, python3 (Fabric is installed from
# PyPI into target/bench-venv). Ends with the hosts on v1, as it found them (it puts
# them on v1 first if they were not).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROUNDS=3
LOAD=yes
WEB_HOSTS=2
BATCHES=""
usage() { echo "usage: benches/deploy/bench.sh [--rounds N] [--no-load] [--web-hosts H] [--batches \"B ...\"]" >&2; exit 2; }
while (($#)); do
    case "$1" in
    --rounds) (($# >= 2)) || usage; ROUNDS="$2"; shift 2 ;;
    --no-load) LOAD=no; shift ;;
    --web-hosts) (($# >= 2)) || usage; WEB_HOSTS="$2"; shift 2 ;;
    --batches) (($# >= 2)) || usage; BATCHES="$2"; shift 2 ;;
    *) usage ;;
    esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ ]] || usage
if ! [[ "$WEB_HOSTS" =~ ^[0-9]+$ ]] || ((WEB_HOSTS < 1)); then
    echo "bench: --web-hosts must be a number of hosts, not '$WEB_HOSTS'" >&2
    exit 2
fi
if [[ -z "$BATCHES" ]]; then
    if ((WEB_HOSTS == 1)); then BATCHES=1; elif ((WEB_HOSTS == 2)); then BATCHES="1 2"; else BATCHES="1 $(((WEB_HOSTS + 1) / 2))"; fi
fi
read -r -a batches <<<"$BATCHES"
((${#batches[@]})) || usage
for b in "${batches[@]}"; do
    if ! [[ "$b" =~ ^[0-9]+$ ]] || ((b < 1 || b > WEB_HOSTS)); then
        echo "bench: a batch size must be 1..$WEB_HOSTS, not '$b'" >&2
        exit 2
    fi
done
DEPLOY_TIMEOUT=300
here=benches/deploy

[[ -f target/sandbox/env.sh ]] || { echo "bench: the sandbox is not up: tests/sandbox/up" >&2; exit 2; }
# shellcheck disable=SC1091
source target/sandbox/env.sh
read -r -a all_web <<<"${SANDBOX_WEB_HOSTS:-}"
((WEB_HOSTS <= ${#all_web[@]})) || {
    echo "bench: --web-hosts $WEB_HOSTS, but the sandbox has ${#all_web[@]} web hosts (${all_web[*]}): SANDBOX_WEB_HOSTS=$WEB_HOSTS tests/sandbox/up" >&2
    exit 2
}
hosts=("${all_web[@]:0:WEB_HOSTS}")
for h in "${hosts[@]}"; do
    u="SANDBOX_${h^^}_URL"
    [[ "$(curl -sS -m 5 "${!u}/healthz")" == ok ]] || { echo "bench: $h does not answer /healthz: tests/sandbox/up" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 2; }

# Another engineer builds on this machine: every cargo command takes the shared lock.
# (OPSCTL=path skips the build: for trying the script with another binary.)
if [[ -z "${OPSCTL:-}" ]]; then
    flock /tmp/opsctl-cargo.lock timeout 1800 cargo build --release --quiet
    OPSCTL="$PWD/target/release/opsctl"
fi

# BENCH_VENV=DIR: a venv with Fabric already in it (e.g. another checkout's).
VENV="${BENCH_VENV:-target/bench-venv}"
tools=(opsctl fabric ssh-loop)
if ! "$VENV/bin/python" -c 'import fabric' 2>/dev/null; then
    timeout 120 python3 -m venv "$VENV" && timeout 600 "$VENV/bin/pip" install -q fabric ||
        { echo "bench: fabric does not install from PyPI: the ssh loop is the only peer" >&2; tools=(opsctl ssh-loop); }
fi
[[ " ${tools[*]} " == *" fabric "* ]] && echo "bench: fabric $("$VENV/bin/python" -c 'import fabric, paramiko; print(fabric.__version__, "/ paramiko", paramiko.__version__)')"

work="target/bench-deploy/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$work/logs"
results="$work/results.jsonl"
# The app's hosts are the profile's web hosts; fewer than the sandbox has: named.
only=()
((WEB_HOSTS == ${#all_web[@]})) || only=("$(IFS=,; echo "${hosts[*]}")")
for b in "${batches[@]}"; do python3 "$here/profile.py" "$SANDBOX_PROFILE" "$work/b$b.toml" "$b" "${only[@]}" >/dev/null; done
# The batch with the most hosts at once puts them back on v1 quickest.
restore_batch="$(printf '%s\n' "${batches[@]}" | sort -n | tail -n1)"

wrk_pid=""
on_v1() {
    local h
    for h in "${hosts[@]}"; do
        [[ "$(curl -sS -m 5 "http://$(v="SANDBOX_${h^^}_ADDR"; echo "${!v}"):$SANDBOX_GUNICORN_PORT/version")" == v1 ]] || return 1
    done
}
back_to_v1() {
    on_v1 && return 0
    echo "bench: putting the hosts back on v1" >&2
    timeout "$DEPLOY_TIMEOUT" "$OPSCTL" --profile "$work/b$restore_batch.toml" deploy v1 >>"$work/logs/restore.log" 2>&1 ||
        { echo "bench: deploy v1 failed: see $work/logs/restore.log" >&2; return 1; }
}
cleanup() {
    local rc=$?
    if [[ -n "$wrk_pid" ]]; then kill -INT "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
    back_to_v1 || rc=1
    exit "$rc"
}
trap cleanup EXIT
back_to_v1

deploy_cmd() { # TOOL BATCH REV
    case "$1" in
    opsctl) echo "$OPSCTL --profile $work/b$2.toml deploy $3" ;;
    fabric) echo "$VENV/bin/python $here/fab_deploy.py $3 $2 ${hosts[*]}" ;;
    ssh-loop) echo "$here/ssh_deploy.sh $3 $2 ${hosts[*]}" ;;
    esac
}
# one TOOL BATCH REV [load]: one timed deploy, a JSON line into $results
one() {
    local tool="$1" batch="$2" rev="$3" load="${4:-}" label out wrk_out
    label="$tool b$batch $rev${load:+ load}"
    wrk_out="$work/logs/${label// /_}.wrk"
    if [[ -n "$load" ]]; then
        timeout -s INT $((DEPLOY_TIMEOUT + 30)) wrk -t1 -c2 -d$((DEPLOY_TIMEOUT + 20))s --timeout 5s \
            -s "$here/load.lua" "$SANDBOX_SITE_URL/" >"$wrk_out" 2>&1 &
        wrk_pid=$!
        sleep 1
    fi
    # shellcheck disable=SC2046 # deploy_cmd's words are paths without spaces
    out="$(python3 "$here/timed.py" "$DEPLOY_TIMEOUT" "$label" "$work/logs/${label// /_}.log" -- $(deploy_cmd "$tool" "$batch" "$rev"))" || true
    if [[ -n "$load" ]]; then
        sleep 1
        kill -INT "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
        wrk_pid=""
        out="$(python3 - "$out" "$wrk_out" <<'EOF'
import json, re, sys
r = json.loads(sys.argv[1])
m = re.search(r"LOAD (.*)", open(sys.argv[2]).read())
if m is None:
    sys.exit("bench: wrk printed no counts: " + sys.argv[2])
d = dict(kv.split("=") for kv in m.group(1).split())
r["load"] = {"requests": int(d["requests"]), "2xx3xx": int(d["ok"]), "4xx": int(d["4xx"]), "5xx": int(d["5xx"]),
             "socket": sum(int(d[k]) for k in ("connect", "read", "write", "timeout")), "p99_ms": float(d["p99_ms"])}
print(json.dumps(r))
EOF
)"
    fi
    echo "$out" >>"$results"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-22s %s %6.1f s%s" % (r["label"], "ok  " if r["ok"] else "FAILED", r["wall"], "  load: %(requests)d requests, %(5xx)d 5xx, %(socket)d socket errors" % r["load"] if "load" in r else ""))' "$out"
    python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["ok"] else 1)' "$out" ||
        { echo "bench: $label failed; its log: $work/logs/${label// /_}.log" >&2; tail -n 15 "$work/logs/${label// /_}.log" >&2; exit 1; }
}

echo "bench: $ROUNDS rounds (v2 then v1) x batch ${batches[*]} x ${tools[*]}, on ${#hosts[@]} web hosts (${hosts[*]}); $(nproc) cores; $(date -u +%TZ)"
for ((r = 1; r <= ROUNDS; r++)); do
    echo "round $r ($(date -u +%TZ))"
    for b in "${batches[@]}"; do
        for t in "${tools[@]}"; do one "$t" "$b" v2; one "$t" "$b" v1; done
    done
done
if [[ "$LOAD" == yes ]]; then
    echo "under load (wrk through nginx, lb1; $(date -u +%TZ))"
    for b in "${batches[@]}"; do
        for t in "${tools[@]}"; do one "$t" "$b" v2 load; one "$t" "$b" v1 load; done
    done
fi
on_v1 || { echo "bench: the hosts are not on v1 after the last round" >&2; exit 1; }

echo
echo "$(nproc) cores, $(date -u +%FT%TZ); opsctl $("$OPSCTL" --version 2>/dev/null | awk '{print $2}'); results: $results"
python3 "$here/report.py" "$results" | tee "$work/table.md"
echo "(${#hosts[@]} web hosts: ${hosts[*]}; batches ${batches[*]})" | tee -a "$work/table.md"
