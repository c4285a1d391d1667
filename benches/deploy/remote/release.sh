# release.sh APP_PATH RELEASE_ID REVISION: git archive the revision into releases/ID
# (beside, then renamed), write REVISION, link shared/.env and shared/log.
set -e
cd -- "$1"
rel="releases/$2"
[ ! -e "$rel" ] || { echo "release $rel exists already" >&2; exit 3; }
rm -rf -- "$rel.tmp"
mkdir -p -- "$rel.tmp"
git --git-dir=repo archive --format=tar "$3" | tar -x -f - -C "$rel.tmp"
printf '%s\n' "$3" > "$rel.tmp/REVISION"
date -u +%Y%m%d%H%M%S > "$rel.tmp/REVISION_TIME"
ln -s ../../shared/.env "$rel.tmp/.env"
mkdir -p shared/log
rm -rf -- "$rel.tmp/log"
ln -s ../../shared/log "$rel.tmp/log"
mv -- "$rel.tmp" "$rel"
