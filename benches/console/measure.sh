#!/usr/bin/env bash
# Console benchmarks with the release binary, each in a real terminal (tmux 160x48):
#   1. time to first frame on the embedded `local` profile (RUNS runs);
#   2. idle CPU of the console watching PROFILE (default: the sandbox profile) over
#      DURATION seconds, and its resident memory after DURATION and after RSS_AFTER;
#   3. the same idle CPU measurement for htop refreshing every 2 s (reference peer:
#      an idle terminal monitor, local only).
# Usage: cargo build --release && benches/console/measure.sh [PROFILE]
# For the 50-host figure: SANDBOX_HOSTS=50 tests/sandbox/up ssh first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/target/release/opsctl"
profile="${1:-$root/target/sandbox/sandbox.toml}"
RUNS="${RUNS:-20}"
DURATION="${DURATION:-60}"
RSS_AFTER="${RSS_AFTER:-600}"
WARMUP="${WARMUP:-10}"

[[ -x "$bin" ]] || { echo "no $bin: cargo build --release --bin opsctl" >&2; exit 1; }
command -v tmux >/dev/null || { echo "tmux missing: apt-get install -y tmux" >&2; exit 1; }
[[ -r "$profile" ]] || { echo "no profile $profile (tests/sandbox/up ssh?)" >&2; exit 1; }

tmp="$(mktemp -d)"
session="opsctl-bench-$$"
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# A private config/state dir: the user's settings must not change the numbers.
export XDG_CONFIG_HOME="$tmp" XDG_STATE_HOME="$tmp"
hz="$(getconf CLK_TCK)"

wait_gone() {
    local i
    for ((i = 0; i < 300; i++)); do
        tmux has-session -t "$session" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "session $session did not end" >&2
    return 1
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

percentiles() { # label, file of numbers
    sort -n "$2" | awk -v label="$1" '{v[NR] = $1} END {
        p50 = v[int((NR + 1) * 0.5)]; p90 = v[int((NR - 1) * 0.9) + 1];
        printf "%-44s n=%d  p50=%.1f  p90=%.1f  max=%.1f\n", label, NR, p50, p90, v[NR] }'
}

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Time to first frame.
: >"$tmp/inproc"
: >"$tmp/wall"
for ((i = 0; i < RUNS; i++)); do
    tmux new-session -d -s "$session" -x 160 -y 48 \
        "s=\$(date +%s%N); '$bin' console --exit-after-first-frame 2>'$tmp/ff'; e=\$(date +%s%N); echo \$(( (e - s) / 1000 )) >>'$tmp/wall'"
    wait_gone
    sed -n 's/^first frame after \([0-9.]*\) ms$/\1/p' "$tmp/ff" >>"$tmp/inproc"
done
percentiles "first frame, in process (ms)" "$tmp/inproc"
awk '{printf "%.3f\n", $1 / 1000}' "$tmp/wall" >"$tmp/wall_ms"
percentiles "exec to exit after first frame (ms)" "$tmp/wall_ms"

idle() { # label, command
    local label="$1" cmd="$2" pid t0 t1 cpu
    tmux new-session -d -s "$session" -x 160 -y 48 "exec $cmd"
    pid="$(tmux display-message -p -t "$session" '#{pane_pid}')"
    sleep "$WARMUP"
    t0="$(cpu_ticks "$pid")"
    sleep "$DURATION"
    t1="$(cpu_ticks "$pid")"
    cpu="$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v d="$DURATION" 'BEGIN {printf "%.2f", (b - a) / hz / d * 100}')"
    printf '%-44s cpu=%s%% of one core over %ss  rss=%s KiB\n' "$label" "$cpu" "$DURATION" "$(rss_kib "$pid")"
    if [[ "$label" == opsctl* && "$RSS_AFTER" -gt $((WARMUP + DURATION)) ]]; then
        sleep $((RSS_AFTER - WARMUP - DURATION))
        printf '%-44s rss=%s KiB after %ss\n' "$label" "$(rss_kib "$pid")" "$RSS_AFTER"
    fi
    tmux send-keys -t "$session" q
    wait_gone || tmux kill-session -t "$session"
}

hosts="$(grep -c '^\[\[hosts\]\]' "$profile")"
interval="$(sed -n 's/^interval_secs *= *//p' "$profile" | head -1)"
idle "opsctl console, $hosts hosts every ${interval:-5}s" "'$bin' --profile '$profile' console"
if command -v htop >/dev/null; then
    idle "htop -d 20 (2 s refresh), local" "htop -d 20"
fi
