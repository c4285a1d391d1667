# switch.sh APP_PATH RELEASE_ID: current -> releases/ID, atomically (ln -sfn, then mv -T).
set -e
cd -- "$1"
[ -d "releases/$2" ]
ln -sfn -- "releases/$2" .current.tmp
mv -fT -- .current.tmp current
