# mirror.sh APP_PATH REPOSITORY: update the bare mirror in APP_PATH/repo (clone it the first time).
set -e
mkdir -p -- "$1/releases" "$1/shared"
cd -- "$1"
if [ -d repo ]; then
  git --git-dir=repo fetch --quiet --prune origin
else
  git clone --quiet --mirror -- "$2" repo.tmp && mv -- repo.tmp repo
fi
