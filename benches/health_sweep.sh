#!/bin/sh
# Health sweep benchmark: opsctl's engine (N hosts in parallel, all this machine via
# LocalRemote) against the same probe script started N times in parallel by xargs -P,
# the floor for "run one script on N hosts". Also the probe parser's speed.
# Usage: benches/health_sweep.sh [HOSTS] [PROFILE]   (PROFILE: dev or release; default dev)
set -eu
cd "$(dirname "$0")/.."
hosts=${1:-50}
profile=${2:-dev}
if [ "$profile" = release ]; then flag=--release; dir=release; else flag=; dir=debug; fi
cargo build -q $flag --example health_sweep
bin=target/$dir/examples/health_sweep
script=src/health/probe.sh

echo "== opsctl sweep, $hosts local hosts (first poll: 0.5 s in-script double sample)"
for run in 1 2 3; do "$bin" "$hosts" 20000 | sed "s/^/run $run: /"; done

echo "== xargs -P $hosts running the same script (sh -c SCRIPT sh 0.5 nginx)"
for run in 1 2 3; do
  start=$(date +%s%N)
  seq "$hosts" | xargs -P "$hosts" -I{} sh -c "$(cat "$script")" sh 0.5 nginx >/dev/null
  end=$(date +%s%N)
  echo "run $run: xargs hosts=$hosts wall_ms=$(( (end - start) / 1000000 ))"
done
