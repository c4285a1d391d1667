# opsctl health probe. [--no-processes] PAUSE UNIT...: PAUSE is the seconds between the
# two CPU/network samples ("0": one sample); the units are the systemd units to report.
# --no-processes leaves out the process lists (only the host view shows them).
# Every section starts with a line "==name==".
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
probe() {
  procs=yes
  if [ "${1:-}" = "--no-processes" ]; then procs=; shift; fi
  pause=${1:-0}
  [ $# -gt 0 ] && shift
  echo "==opsctl-probe 1=="
  sample() {
    echo "==uptime=="; cat /proc/uptime
    echo "==stat=="; head -n 1 /proc/stat
    echo "==netdev=="; head -n 512 /proc/net/dev
  }
  sample
  case $pause in
    ''|0|0.0) ;;
    *) sleep "$pause" && sample ;;
  esac
  echo "==loadavg=="; cat /proc/loadavg
  echo "==meminfo=="; cat /proc/meminfo
  echo "==nproc=="; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
  echo "==procs=="
  n=0
  for d in /proc/[0-9]*; do n=$((n + 1)); done
  echo "$n"
  to=
  command -v timeout >/dev/null 2>&1 && to="timeout 3"
  echo "==df=="
  # A stale NFS mount hangs df: bounded by timeout, and no second try after one.
  out=$($to df -PkT 2>/dev/null)
  rc=$?
  # GNU timeout exits 124 when it had to stop df, busybox's 143 (SIGTERM).
  case $rc in 124|143) timed_out=1 ;; *) timed_out= ;; esac
  if [ -z "$out" ] && [ -z "$timed_out" ]; then out=$($to df -Pk 2>/dev/null); fi
  printf '%s\n' "$out" | head -n 512
  [ -n "$timed_out" ] && echo "==df-timeout=="
  echo "==units=="
  if [ $# -gt 0 ]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      echo "systemd=yes"
      $to systemctl show -p Id,LoadState,ActiveState,SubState -- "$@" 2>/dev/null
    else
      echo "systemd=no"
    fi
  fi
  if [ -n "$procs" ]; then
    echo "==ps-cpu=="
    ps -eo pid,user:32,pcpu,pmem,rss,comm --sort=-pcpu 2>/dev/null | head -n 11
    echo "==ps-mem=="
    ps -eo pid,user:32,pcpu,pmem,rss,comm --sort=-rss 2>/dev/null | head -n 11
  fi
  echo "==end=="
}
# Written at once: the reply leaves in one or two SSH packets instead of one per
# section, so the client wakes once per poll rather than some twenty times.
report=$(probe "$@")
printf '%s\n' "$report"
