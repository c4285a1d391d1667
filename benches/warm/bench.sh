#!/usr/bin/env bash
# opsctl warm vs an `xargs -P` curl loop and a wget spider, on the same URLs of the
# same server in the same run.
#
#   benches/warm/bench.sh [URLS] [CONCURRENCIES...]     (default: 20000 URLs; 8 32 128)
#
# The server is a private nginx on 127.0.0.9:8099 that answers every path with a small
# page (what a cache HIT costs it), started and stopped here by its pid file; the URLs
# are a generated sitemap it serves. Every tool sends one GET per URL without
# Accept-Encoding (opsctl with `encodings = [""]`, one node), reads the body and keeps
# the connections open: the tools are measured, not the backend. Needs a release build
# (`cargo build --release`), nginx, curl and wget.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n="${1:-20000}"
shift || true
concurrencies=("${@:-8 32 128}")
read -r -a concurrencies <<<"${concurrencies[*]}"
opsctl="$root/target/release/opsctl"
[[ -x "$opsctl" ]] || { echo "bench: build first: cargo build --release" >&2; exit 2; }
for tool in nginx curl wget xargs; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "bench: $tool is missing" >&2; exit 2; }
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
addr=127.0.0.9
port=8099
work="$(mktemp -d /tmp/opsctl-bench-warm.XXXXXX)"
mkdir -p "$work/logs" "$work/www"
cleanup() {
    if [[ -s "$work/nginx.pid" ]]; then
        kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
        for _ in $(seq 50); do [[ -e "$work/nginx.pid" ]] || break; sleep 0.1; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000;
    server {
        listen $addr:$port reuseport backlog=4096;
        location = /sitemap.xml { root $work/www; }
        location / { default_type text/html; add_header X-Cache-Status HIT; return 200 "<html>cached page</html>"; }
    }
}
CONF
user_opt=()
[[ "$(id -u)" == 0 ]] && user_opt=(-g "user root;")
"$NGINX" -p "$work/" -c "$work/nginx.conf" -e "$work/logs/error.log" "${user_opt[@]}"

base="http://$addr:$port"
{
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    seq 1 "$n" | sed "s|.*|<url><loc>$base/products/&/</loc></url>|"
    echo '</urlset>'
} >"$work/www/sitemap.xml"
seq 1 "$n" | sed "s|.*|$base/products/&/|" >"$work/urls.txt"
cat >"$work/profile.toml" <<TOML
name = "bench"
environment = "development"

[[hosts]]
name = "local"
transport = "local"

[warm]
encodings = [""]
TOML

secs() { python3 -c 'import sys; print(f"{float(sys.argv[1]):.2f}")' "$1"; }
run_timed() {
    local t0 t1
    t0="$(date +%s.%N)"
    "$@" >/dev/null 2>&1 || true
    t1="$(date +%s.%N)"
    python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}
rate() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / float(sys.argv[2]):.0f}")' "$n" "$1"; }

echo "# $n URLs, $(nproc) cores, $(date -u +%FT%TZ)"
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[2]) / float(sys.argv[1]):.1f}")' "$1" "$2"; }
printf '| c | opsctl warm s | URLs/s | curl loop (1 URL per curl) s | URLs/s | opsctl / loop | curl, 50 URLs per curl s | URLs/s | opsctl / batched |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
export XDG_STATE_HOME="$work/state" HOME="$work"
for c in "${concurrencies[@]}"; do
    o="$(run_timed "$opsctl" --profile "$work/profile.toml" warm --sitemap "$base/sitemap.xml" -c "$c")"
    # The usual loop: one curl per URL, c at once.
    k="$(run_timed sh -c "xargs -P $c -n 1 curl -s -o /dev/null < '$work/urls.txt'")"
    # A kinder one: 50 URLs per curl (one connection reused within a batch).
    b="$(run_timed sh -c "xargs -P $c -n 50 curl -s -o /dev/null < '$work/urls.txt'")"
    printf '| %s | %s | %s | %s | %s | %sx | %s | %s | %sx |\n' "$c" "$(secs "$o")" "$(rate "$o")" \
        "$(secs "$k")" "$(rate "$k")" "$(ratio "$o" "$k")" "$(secs "$b")" "$(rate "$b")" "$(ratio "$o" "$b")"
done
# wget's spider is one connection, one URL after another (it has no parallelism).
w="$(run_timed wget -q --spider -i "$work/urls.txt")"
o="$(run_timed "$opsctl" --profile "$work/profile.toml" warm --sitemap "$base/sitemap.xml" -c 1)"
printf '\n| c | opsctl warm s | URLs/s | wget --spider s | URLs/s | opsctl / wget |\n|---|---|---|---|---|---|\n'
printf '| 1 | %s | %s | %s | %s | %sx |\n' "$(secs "$o")" "$(rate "$o")" "$(secs "$w")" "$(rate "$w")" "$(ratio "$o" "$w")"
# Check the run was real: opsctl's own count of the last run.
"$opsctl" --profile "$work/profile.toml" warm --sitemap "$base/sitemap.xml" -c 32 --json 2>/dev/null |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print("\ncheck: %s URLs, %s ok, %s errors, by_cache %s" % (d["urls"], d["ok"], d["errors"], d["by_cache"]))'
