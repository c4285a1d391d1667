# restart.sh PID_FILE TIMEOUT SETTLE: gunicorn USR2; wait for the new master and as many
# workers as the old one had, unchanged for SETTLE seconds; then WINCH+TERM the old master
# and wait for it to exit. (What opsctl's gunicorn-usr2 restart waits for, with the
# same settle time, so both sides wait the same; without its lock and its cleanup of an
# unfinished upgrade.)
pidf="$1"; t="$2"; settle="$3"
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }
old="$(cat -- "$pidf")"
alive "$old" || { echo "no gunicorn master in $pidf" >&2; exit 3; }
want="$(pgrep -P "$old" | wc -l)"; [ "$want" -ge 1 ] || want=1
end=$(( $(date +%s) + t ))
kill -USR2 "$old"
new=""
while [ -z "$new" ] && [ "$(date +%s)" -lt "$end" ]; do
  for f in "$pidf.2" "$pidf"; do
    p="$(cat -- "$f" 2>/dev/null)"
    [ -n "$p" ] && [ "$p" != "$old" ] && { new="$p"; break; }
  done
  [ -n "$new" ] || sleep 0.1
done
[ -n "$new" ] || { echo "no new master after USR2" >&2; exit 4; }
need=$(( settle * 5 )); steady=0; seen=""
while :; do
  [ "$(date +%s)" -lt "$end" ] || { kill -TERM "$new"; echo "new master $new: workers not up" >&2; exit 5; }
  alive "$new" || { echo "new master $new exited" >&2; exit 5; }
  kids="$(pgrep -P "$new" | sort | tr '\n' ' ')"
  if [ "$(echo $kids | wc -w)" -ge "$want" ] && [ "$kids" = "$seen" ]; then steady=$((steady + 1)); else steady=0; fi
  seen="$kids"
  [ "$steady" -ge "$need" ] && break
  sleep 0.2
done
kill -WINCH "$old"; kill -TERM "$old"
while alive "$old"; do
  [ "$(date +%s)" -lt "$end" ] || { echo "old master $old does not exit" >&2; exit 6; }
  sleep 0.1
done
# gunicorn 20+ renames pid.2 to pid once the old master is gone.
i=0; while [ "$(cat -- "$pidf" 2>/dev/null)" != "$new" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "master $new serves"
