//! A repository the hosts cannot reach (`[app] push = true`): opsctl keeps its
//! own mirror of it here, resolves the revision in it, and packs the revision's
//! tree (`git archive`), which each host's release is then unpacked from. The
//! hosts need no git access, no deploy key, and no git at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::remote::local::LocalRemote;
use crate::remote::{Command, Remote};

/// A tree bigger than this is refused (it is held in memory, once per deploy).
pub const MAX_TREE: usize = 512 << 20;
const MIRROR_TIMEOUT: Duration = Duration::from_secs(600);
const QUICK: Duration = Duration::from_secs(30);

/// The revision to deploy and its tree, packed here.
#[derive(Debug, Clone)]
pub struct PackedTree {
    pub revision: String,
    pub tar: Arc<Vec<u8>>,
}

/// `$XDG_STATE_HOME/opsctl/mirrors/<app>-<hash of the repository>.git`.
pub fn mirror_dir(app: &str, repository: &str) -> PathBuf {
    let state = crate::logging::log_file_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    mirror_dir_in(&state, app, repository)
}

fn mirror_dir_in(state: &Path, app: &str, repository: &str) -> PathBuf {
    let hash = Sha256::digest(repository.as_bytes());
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let name: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state.join("mirrors").join(format!("{name}-{short}.git"))
}

/// A repository path relative to here is made absolute: the mirror's git runs
/// elsewhere, and the hosts never see the path.
pub fn absolute(repository: &str) -> String {
    let p = Path::new(repository);
    if p.exists() {
        if let Ok(abs) = std::fs::canonicalize(p) {
            return abs.to_string_lossy().into_owned();
        }
    }
    repository.to_string()
}

/// Clones the mirror, or fetches into it (`--prune`: a deleted branch is gone).
pub fn update_mirror(dir: &Path, repository: &str) -> Command {
    let script = r#"set -e
if [ -d "$1" ]; then
  git --git-dir="$1" remote set-url origin "$2"
  git --git-dir="$1" fetch --quiet --prune --tags origin
else
  mkdir -p -- "$(dirname -- "$1")"
  rm -rf -- "$1.opsctl-tmp"
  git clone --quiet --mirror -- "$2" "$1.opsctl-tmp"
  mv -- "$1.opsctl-tmp" "$1"
fi"#;
    Command::shell_script(script)
        .arg(dir.to_string_lossy())
        .arg(repository)
        .timeout(MIRROR_TIMEOUT)
}

/// The full commit id `rev` names in the mirror (a tag, a branch, a commit id).
pub fn rev_parse(dir: &Path, rev: &str) -> Command {
    Command::new("git")
        .arg(format!("--git-dir={}", dir.to_string_lossy()))
        .args(["rev-parse", "--verify", "-q", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .timeout(QUICK)
}

/// The revision's tree as a tar stream.
pub fn archive(dir: &Path, revision: &str) -> Command {
    Command::new("git")
        .arg(format!("--git-dir={}", dir.to_string_lossy()))
        .args(["archive", "--format=tar", "--end-of-options"])
        .arg(revision)
        .max_output(MAX_TREE)
        .timeout(MIRROR_TIMEOUT)
}

/// Brings the mirror up to date, resolves `rev` and packs its tree. Changes
/// nothing on any host.
pub async fn pack(app: &str, repository: &str, rev: &str) -> Result<PackedTree, String> {
    let repository = absolute(repository);
    pack_into(&mirror_dir(app, &repository), &repository, rev).await
}

async fn pack_into(dir: &Path, repository: &str, rev: &str) -> Result<PackedTree, String> {
    if rev.is_empty() || rev.starts_with('-') || rev.chars().any(char::is_control) {
        return Err(format!("`{rev}` is not a revision"));
    }
    let here = LocalRemote::new("here");
    let run = |cmd: Command, what: String| {
        let here = here.clone();
        async move {
            let out = here.run(&cmd).await.map_err(|e| format!("{what}: {e}"))?;
            if out.success() {
                Ok(out)
            } else {
                Err(format!("{what}: {}", out.stderr_lossy().trim()))
            }
        }
    };
    run(
        update_mirror(dir, repository),
        format!("updating opsctl's mirror of {repository} here"),
    )
    .await?;
    let revision = run(
        rev_parse(dir, rev),
        format!("`{rev}` is not a revision of {repository}"),
    )
    .await?
    .stdout_lossy()
    .trim()
    .to_string();
    if !super::revision::is_full_sha(&revision) {
        return Err(format!("`{rev}` is not a revision of {repository}"));
    }
    let out = run(
        archive(dir, &revision),
        format!("git archive of {revision} here"),
    )
    .await?;
    if out.truncated {
        return Err(format!(
            "the tree of {revision} is over {} MiB: too big to upload from here",
            MAX_TREE >> 20
        ));
    }
    Ok(PackedTree {
        revision,
        tar: Arc::new(out.stdout),
    })
}

/// `84 KiB`, `3.2 MiB`.
pub fn size_words(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// A real repository here: a tag and a branch resolve, the tree packs to a
    /// tar with the files of that revision, a later commit is fetched into the
    /// mirror, and a name that is not there is a clear error.
    #[tokio::test]
    async fn packs_a_revision_from_a_local_repository() {
        let tmp = tempfile::tempdir().unwrap();
        // The mirror goes under the state dir; keep it inside the test's tempdir.
        let state = tmp.path().join("state");
        let repo = tmp.path().join("app");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("app.py"), "print('v1')\n").unwrap();
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "v1"]);
        git(&repo, &["tag", "v1"]);
        let repo_s = repo.to_string_lossy().into_owned();
        let dir = mirror_dir_in(&state, "shop", &repo_s);
        let packed = pack_into(&dir, &repo_s, "v1").await.unwrap();
        assert!(super::super::revision::is_full_sha(&packed.revision));
        let listing = tar_names(&packed.tar);
        assert_eq!(listing, ["app.py"]);

        std::fs::write(repo.join("new.py"), "x\n").unwrap();
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "v2"]);
        let main = pack_into(&dir, &repo_s, "main").await.unwrap();
        assert_ne!(main.revision, packed.revision);
        assert_eq!(tar_names(&main.tar), ["app.py", "new.py"]);
        let short = pack_into(&dir, &repo_s, &main.revision[..8]).await.unwrap();
        assert_eq!(short.revision, main.revision);

        let err = pack_into(&dir, &repo_s, "v9").await.unwrap_err();
        assert!(err.contains("`v9` is not a revision of"), "{err}");
        let err = pack_into(&dir, &repo_s, "--upload-pack=x")
            .await
            .unwrap_err();
        assert!(err.contains("is not a revision"), "{err}");
        let err = pack_into(&dir, "/nonexistent/repo.git", "v1")
            .await
            .unwrap_err();
        assert!(
            err.contains("updating opsctl's mirror of /nonexistent/repo.git"),
            "{err}"
        );
    }

    fn tar_names(tar: &[u8]) -> Vec<String> {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("t.tar");
        std::fs::write(&file, tar).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tf")
            .arg(&file)
            .output()
            .unwrap();
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn mirrors_are_named_by_app_and_repository() {
        let a = mirror_dir("shop", "git@example.com:shop.git");
        let b = mirror_dir("shop", "/srv/git/shop.git");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("shop-") && name.ends_with(".git"),
            "{name}"
        );
        assert!(
            mirror_dir("a/../b", "x")
                .to_string_lossy()
                .contains("a____b-")
        );
        assert_eq!(size_words(1000), "1 KiB");
        assert_eq!(size_words(3 << 20), "3.0 MiB");
    }
}
