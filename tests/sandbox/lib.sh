# Shared by tests/sandbox/up and tests/sandbox/down: paths and small helpers.
# Sourced, not executed.

SANDBOX_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SANDBOX_LIB_DIR/../.." && pwd)"
STATE_DIR="$REPO_ROOT/target/sandbox"
COMPONENTS_DIR="$SANDBOX_LIB_DIR/components"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

# Every component, in start order: the file names under components/ (sorted), ssh first
# because the other components' hosts are reached through it.
all_components() {
    local f name
    [[ -f "$COMPONENTS_DIR/ssh.sh" ]] && echo ssh
    for f in "$COMPONENTS_DIR"/*.sh; do
        name="$(basename "$f" .sh)"
        [[ "$name" == ssh ]] || echo "$name"
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
# SIGTERM), then TERM, wait up to 5 s, then KILL.
stop_pid() {
    local pid="$1" i
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        # A zombie child of ours counts as gone.
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
        sleep 0.1
    done
    log "pid $pid ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
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
