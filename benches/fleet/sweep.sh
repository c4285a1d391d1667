#!/usr/bin/env bash
# Fleet sweep benchmark: one probe command on every sandbox host in parallel, through
# opsctl's SshRemote (examples/ssh_sweep.rs), parallel-ssh and an Ansible ad-hoc command.
#
#   benches/fleet/sweep.sh [HOST_COUNT...]     (default: 20 50)
#
# Env: RUNS (repetitions per measurement, default 5), PROBE (the command),
# SWEEP_BUILD (release, the default, or debug),
# ANSIBLE (path of the ansible binary; default /tmp/ansible-venv/bin/ansible, made with
# `python3 -m venv /tmp/ansible-venv && /tmp/ansible-venv/bin/pip install ansible-core`).
# Needs: openssh-server (sandbox), pssh (parallel-ssh). Starts the sandbox hosts it
# needs (tests/sandbox/up ssh) and leaves them running; stop with tests/sandbox/down.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(20 50)
RUNS="${RUNS:-5}"
# Default probe: opsctl's own health probe (every sandbox host is this machine, so
# the peers run it from a file), one sample as in opsctl's steady polling.
probe_file="$root/target/bench-health-probe.sh"
PROBE="${PROBE:-sh $probe_file 0}"
ANSIBLE="${ANSIBLE:-/tmp/ansible-venv/bin/ansible}"
state="$root/target/sandbox"
key="$state/ssh/client_ed25519"
known="$state/ssh/known_hosts"
user="$(id -un)"
port="${SANDBOX_SSH_PORT:-2222}"
work="$(mktemp -d /tmp/opsctl-sweep.XXXXXX)"
cm_dir="$work/cm"
mkdir -p "$cm_dir"

command -v parallel-ssh >/dev/null || { echo "parallel-ssh missing: apt-get install -y pssh" >&2; exit 1; }
have_ansible=1
[[ -x "$ANSIBLE" ]] || { echo "note: $ANSIBLE missing; Ansible is skipped" >&2; have_ansible=0; }

if [[ "${SWEEP_BUILD:-release}" == debug ]]; then
    cargo build --quiet --example ssh_sweep
    sweep_bin="$root/target/debug/examples/ssh_sweep"
else
    cargo build --release --quiet --example ssh_sweep
    sweep_bin="$root/target/release/examples/ssh_sweep"
fi

cargo build --release --quiet
"$root/target/release/opsctl" health --print-probe >"$probe_file"

# Median of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# Runs "$@" and prints "wall cpu" seconds (cpu = user + system, children included);
# fails loudly if the command fails.
timed() {
    /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/out" 2>&1 ||
        { echo "failed: $*" >&2; tail -n 20 "$work/out" >&2; return 1; }
    awk '{printf "%s %.3f\n", $1, $2 + $3}' "$work/time"
}

ssh_opts=(-o BatchMode=yes -o "UserKnownHostsFile=$known" -o StrictHostKeyChecking=yes
    -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$key")
mux_opts=(-o ControlMaster=auto -o "ControlPath=$cm_dir/%C" -o ControlPersist=120)

cleanup_masters() {
    local a
    for ((i = 1; i <= max_hosts; i++)); do
        a="127.0.0.$((i + 1))"
        ssh "${ssh_opts[@]}" "${mux_opts[@]}" -p "$port" -O exit "$user@$a" >/dev/null 2>&1 || true
    done
}
max_hosts=0
for n in "${counts[@]}"; do ((n > max_hosts)) && max_hosts=$n; done
trap 'cleanup_masters; rm -rf "$work"' EXIT

results="$work/results"
: >"$results"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$results"; }

for n in "${counts[@]}"; do
    SANDBOX_HOSTS="$n" tests/sandbox/up ssh
    hosts="$work/hosts.$n"
    : >"$hosts"
    for ((i = 1; i <= n; i++)); do echo "127.0.0.$((i + 1)):$port" >>"$hosts"; done
    inv="$work/inventory.$n.ini"
    {
        echo "[sandbox]"
        for ((i = 1; i <= n; i++)); do
            echo "sandbox$i ansible_host=127.0.0.$((i + 1)) ansible_port=$port"
        done
        echo "[sandbox:vars]"
        echo "ansible_user=$user"
        echo "ansible_ssh_private_key_file=$key"
        echo "ansible_python_interpreter=/usr/bin/python3"
        echo "ansible_ssh_common_args='-o UserKnownHostsFile=$known -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'"
    } >"$inv"

    # opsctl, first sweep: a fresh process per run (connect + run); the wall time is
    # the sweep as the program measures it, the CPU time the whole process's.
    first=() first_cpu=()
    for ((r = 0; r < RUNS; r++)); do
        read -r _ cpu < <(timed "$sweep_bin" "$state/sandbox.toml" "$PROBE" 0)
        grep -q "^first .* $n/$n\$" "$work/out" || { cat "$work/out" >&2; exit 1; }
        first+=("$(awk '$1=="first"{print $2}' "$work/out")")
        first_cpu+=("$cpu")
    done
    record "$n" "opsctl SshRemote" "first (connect + run)" \
        "$(printf '%s\n' "${first[@]}" | median)" "$(printf '%s\n' "${first_cpu[@]}" | median)"
    # Steady state: one process, one connecting sweep then RUNS sweeps on the same
    # connections; CPU per sweep = (whole process - median first-only process) / RUNS.
    read -r _ cpu < <(timed "$sweep_bin" "$state/sandbox.toml" "$PROBE" "$RUNS")
    [[ "$(grep -c "^steady .* $n/$n\$" "$work/out")" == "$RUNS" ]] || { cat "$work/out" >&2; exit 1; }
    steady="$(awk '$1=="steady"{print $2}' "$work/out" | median)"
    steady_cpu="$(echo "($cpu - $(printf '%s\n' "${first_cpu[@]}" | median)) / $RUNS" | bc -l)"
    record "$n" "opsctl SshRemote" "steady (reused connections)" "$steady" "$steady_cpu"

    pssh_args=(-h "$hosts" -l "$user" -p "$n" -t 60)
    for o in "${ssh_opts[@]}"; do pssh_args+=(-x "$o"); done
    measure() { # LABEL SWEEP COMMAND...: RUNS runs, median wall and CPU
        local label="$1" sweep="$2" w=() c=() wall cpu
        shift 2
        for ((r = 0; r < RUNS; r++)); do
            read -r wall cpu < <(timed "$@")
            w+=("$wall") c+=("$cpu")
        done
        record "$n" "$label" "$sweep" "$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${c[@]}" | median)"
    }
    measure "parallel-ssh" "every run (connect + run)" parallel-ssh "${pssh_args[@]}" "$PROBE"

    mux_args=("${pssh_args[@]}")
    for o in "${mux_opts[@]}"; do mux_args+=(-x "$o"); done
    timed parallel-ssh "${mux_args[@]}" true >/dev/null # opens the masters
    measure "parallel-ssh + ControlMaster" "steady (reused connections)" parallel-ssh "${mux_args[@]}" "$PROBE"
    cleanup_masters

    if ((have_ansible)); then
        export ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible-cp" ANSIBLE_HOST_KEY_CHECKING=True
        export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCALHOST_WARNING=False
        ansible_run=("$ANSIBLE" sandbox -i "$inv" -f "$n" -m shell -a "$PROBE")
        w=() c=() sw=() sc=()
        for ((r = 0; r < RUNS; r++)); do
            rm -rf "$ANSIBLE_SSH_CONTROL_PATH_DIR"
            read -r wall cpu < <(timed "${ansible_run[@]}")
            w+=("$wall") c+=("$cpu")
            read -r wall cpu < <(timed "${ansible_run[@]}")
            sw+=("$wall") sc+=("$cpu")
        done
        record "$n" "ansible -m shell" "first (connect + run)" \
            "$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${c[@]}" | median)"
        record "$n" "ansible -m shell" "steady (ControlPersist)" \
            "$(printf '%s\n' "${sw[@]}" | median)" "$(printf '%s\n' "${sc[@]}" | median)"
        for f in "$ANSIBLE_SSH_CONTROL_PATH_DIR"/*; do
            [[ -S "$f" ]] && ssh -o ControlPath="$f" -O exit dummy >/dev/null 2>&1 || true
        done
    fi
done

echo
echo "| hosts | tool | sweep | wall s (median of $RUNS) | client CPU s |"
echo "|---|---|---|---|---|"
awk -F'\t' '{printf "| %s | %s | %s | %.3f | %.3f |\n", $1, $2, $3, $4, $5}' "$results"
