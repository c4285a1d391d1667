# record.sh APP_PATH LINE KEEP: append LINE to revisions.log, keep the newest KEEP releases
# (never the current one).
set -e
cd -- "$1"
printf '%s\n' "$2" >> revisions.log
cur="$(basename "$(readlink current)")"
ls -1 releases | sort | head -n "-$3" | while read -r r; do
  [ "$r" = "$cur" ] || rm -rf -- "releases/$r"
done
