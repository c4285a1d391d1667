#!/usr/bin/env bash
# The console while hosts keep hanging and coming back: every ROUND seconds, STOP
# random sandbox hosts (their whole sshd tree, so established connections hang too)
# are frozen with SIGSTOP and the previous round's are resumed. Prints the console's
# resident memory and open file descriptors each round, then, after every host is
# resumed, how many rows are still unreachable (should be none).
# Usage: cargo build --release && SANDBOX_HOSTS=50 tests/sandbox/up ssh &&
#        DURATION=600 benches/console/churn.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/target/release/opsctl"
profile="$root/target/sandbox/sandbox.toml"
ssh_state="$root/target/sandbox/ssh"
DURATION="${DURATION:-600}"
ROUND="${ROUND:-20}"
STOP="${STOP:-10}"
RECOVER="${RECOVER:-30}"

[[ -x "$bin" ]] || { echo "no $bin: cargo build --release --bin opsctl" >&2; exit 1; }
[[ -r "$profile" ]] || { echo "no profile $profile (tests/sandbox/up ssh?)" >&2; exit 1; }
hosts="$(grep -c '^\[\[hosts\]\]' "$profile")"
(( STOP < hosts )) || { echo "STOP=$STOP must be below the $hosts sandbox hosts" >&2; exit 1; }

tmp="$(mktemp -d)"
session="opsctl-churn-$$"
stopped=()
# The sshd listener of sandbox host N and every process under it.
tree() {
    local p="$1" c
    echo "$p"
    for c in $(pgrep -P "$p" || true); do tree "$c"; done
}
resume_all() {
    local p
    for p in "${stopped[@]}"; do
        # shellcheck disable=SC2046
        kill -CONT $(tree "$p") 2>/dev/null || true
    done
    stopped=()
}
cleanup() {
    resume_all
    tmux kill-session -t "$session" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$tmp" XDG_STATE_HOME="$tmp"

tmux new-session -d -s "$session" -x 160 -y 48 "exec '$bin' --profile '$profile' console"
sleep 5
pid="$(tmux display-message -p -t "$session" '#{pane_pid}')"
stat() { echo "rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") KiB fds=$(ls "/proc/$pid/fd" | wc -l)"; }
echo "start: $hosts hosts, $STOP frozen per ${ROUND}s round; $(stat)"
start=$SECONDS
while (( SECONDS - start < DURATION )); do
    resume_all
    for n in $(shuf -i "1-$hosts" -n "$STOP"); do
        p="$(cat "$ssh_state/host$n/sshd.pid")"
        stopped+=("$p")
        # shellcheck disable=SC2046
        kill -STOP $(tree "$p") 2>/dev/null || true
    done
    sleep "$ROUND"
    echo "$((SECONDS - start)) s: $(stat)"
done
resume_all
sleep "$RECOVER"
# One line per host row: the fleet view fits 50 hosts in 48 rows only in part, so
# count what is on screen.
unreachable="$(tmux capture-pane -p -t "$session" | grep -c 'unreachable:' || true)"
echo "${RECOVER}s after resuming every host: $(stat); rows still unreachable on screen: $unreachable"
tmux send-keys -t "$session" q
