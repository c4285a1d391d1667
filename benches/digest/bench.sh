#!/usr/bin/env bash
# Benchmark of `opsctl digest` against pt-query-digest and pgbadger, in one run.
#
# Usage: benches/digest/bench.sh [SIZE_MB]        (default 100)
# Needs: python3, /usr/bin/time, percona-toolkit, pgbadger (Debian packages).
# The logs are generated into $DIGEST_BENCH_DIR (default /tmp/opsctl-digest-bench),
# never into the repository.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=${1:-100}
W=${DIGEST_BENCH_DIR:-/tmp/opsctl-digest-bench}
PREFIX='%m [%p] %q%u@%d '
mkdir -p "$W"

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/opsctl

for k in mysql pg; do
  if [ ! -s "$W/$k-$SIZE.log" ]; then
    echo "generating $W/$k-$SIZE.log" >&2
    python3 "$HERE/gen.py" "$k" "$SIZE" > "$W/$k-$SIZE.log"
  fi
done
MY="$W/mysql-$SIZE.log"
PG="$W/pg-$SIZE.log"

# name, input bytes, command...: prints a table row. Wall time depends on what else the
# machine runs; CPU time (user+sys, all threads) is the steadier measure on a shared box.
run() {
  local name=$1 bytes=$2
  shift 2
  /usr/bin/time -f "%e %M %U %S" -o "$W/$name.time" "$@" > "$W/$name.out" 2> "$W/$name.err" || {
    echo "$name failed:" >&2
    tail -5 "$W/$name.err" >&2
    return 1
  }
  read -r secs kb user sys < "$W/$name.time"
  python3 -c "s=max(float('$secs'),0.01); c=max(float('$user')+float('$sys'),0.01); print(f'| $name | {s:.2f} | {$bytes/1e6/s:.1f} | {c:.2f} | {$bytes/1e6/c:.1f} | {$kb/1024:.0f} |')"
}

MYB=$(stat -c %s "$MY")
PGB=$(stat -c %s "$PG")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GB RAM"
echo "inputs: $MY ($MYB bytes), $PG ($PGB bytes)"
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | MB/s (wall) | CPU s | MB per CPU-s | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|"
run opsctl-mysql "$MYB" "$BIN" digest --json --limit 10 "$MY"
run opsctl-mysql-1thread "$MYB" "$BIN" digest --json --limit 10 --threads 1 "$MY"
run opsctl-pg "$PGB" "$BIN" digest --json --limit 10 --prefix "$PREFIX" "$PG"
run opsctl-pg-1thread "$PGB" "$BIN" digest --json --limit 10 --threads 1 --prefix "$PREFIX" "$PG"
# Memory is flat in the size of the input: four times the log through stdin.
run opsctl-mysql-x4-stdin "$((MYB * 4))" sh -c "cat '$MY' '$MY' '$MY' '$MY' | '$BIN' digest --json --limit 10 -"
run pt-query-digest "$MYB" pt-query-digest --limit 10 --output json "$MY"
run pgbadger-j2 "$PGB" pgbadger --quiet -j 2 -f stderr -p "$PREFIX" -x json -o "$W/pgbadger.json" "$PG"

python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
def secs(name):
    return float(open(f"{w}/{name}.time").read().split()[0])
def cpu(name):
    f = open(f"{w}/{name}.time").read().split()
    return float(f[2]) + float(f[3])
print()
print(f"speed-up vs pt-query-digest: {secs('pt-query-digest') / secs('opsctl-mysql'):.0f}x wall, {cpu('pt-query-digest') / cpu('opsctl-mysql'):.0f}x CPU")
print(f"speed-up vs pgbadger -j 2:   {secs('pgbadger-j2') / secs('opsctl-pg'):.0f}x wall, {cpu('pgbadger-j2') / cpu('opsctl-pg'):.0f}x CPU")
ours = json.load(open(f"{w}/opsctl-mysql.out"))["classes"]
pt = json.load(open(f"{w}/pt-query-digest.out"))["classes"][:10]
same = 0
print("| pt rank | Query ID | pt calls | our rank | our calls | note |")
print("|---:|---|---:|---:|---:|---|")
for rank, p in enumerate(pt):
    pid = "0x" + p["checksum"]
    cnt = p["query_count"]
    at = next((i for i, c in enumerate(ours) if c["id"] == pid), None)
    if at is None:
        print(f"| {rank + 1} | {pid} | {cnt} | - | - | not in our top 10: {p['fingerprint'][:60]} |")
        continue
    c = ours[at]
    note = "same" if c["count"] == cnt else f"pt splits {c['count'] - cnt} calls into other classes (quirks)" if c["count"] > cnt else "pt has more calls"
    same += at == rank
    print(f"| {rank + 1} | {pid} | {cnt} | {at + 1} | {c['count']} | {note} |")
print(f"top-10 classes by total time: {same}/10 same class at the same rank as pt-query-digest")
PY
