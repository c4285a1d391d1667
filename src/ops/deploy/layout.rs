//! The commands that read and change an app's tree on a host. Every one is a fixed
//! script with the data (paths, ids, revisions) passed as positional parameters:
//! nothing from the profile or the host is ever pasted into a shell string.

use std::time::Duration;

use crate::remote::Command;

/// The time part of a release id, as Capistrano writes it.
pub const RELEASE_TIME_FORMAT: &str = "%Y%m%d%H%M%S";

const QUICK: Duration = Duration::from_secs(30);

/// A release id: UTC time and short revision, `20261202031500_61c13bf`. Ids sort
/// as their releases were made.
pub fn release_id(now: time::OffsetDateTime, revision: &str) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    let short: String = revision.chars().take(7).collect();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}_{short}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// `sh -c 'cd DIR && exec ARGV'`: runs a profile's argv in a directory.
pub fn in_dir(dir: &str, argv: &[String], timeout: Duration) -> Command {
    Command::shell_script(r#"cd -- "$1" || exit 3; shift; exec "$@""#)
        .arg(dir)
        .args(argv.iter().cloned())
        .timeout(timeout)
}

/// Creates the app's tree if needed and brings its mirror of the repository up
/// to date (a bare `git clone --mirror` in `PATH/repo`, as Capistrano keeps one).
pub fn update_mirror(path: &str, repository: &str, timeout: Duration) -> Command {
    let script = r#"set -e
mkdir -p -- "$1/releases" "$1/shared"
cd -- "$1"
if [ -d repo ]; then
  git --git-dir=repo remote set-url origin "$2"
  git --git-dir=repo fetch --quiet --prune origin
else
  rm -rf repo.opsctl-tmp
  git clone --quiet --mirror -- "$2" repo.opsctl-tmp
  mv -- repo.opsctl-tmp repo
fi"#;
    Command::shell_script(script)
        .arg(path)
        .arg(repository)
        .timeout(timeout)
}

/// `git ls-remote REPO REV REV^{}`, run on a host (it reaches the repository).
pub fn ls_remote(repository: &str, rev: &str) -> Command {
    Command::new("git")
        .args(["ls-remote", "--"])
        .arg(repository)
        .arg(rev)
        .arg(format!("{rev}^{{}}"))
        .timeout(QUICK)
}

/// The full commit id of `rev` in the host's mirror, if it has one.
pub fn mirror_rev_parse(path: &str, rev: &str) -> Command {
    Command::shell_script(r#"exec git --git-dir="$1/repo" rev-parse --verify -q "$2^{commit}""#)
        .arg(path)
        .arg(rev)
        .timeout(QUICK)
}

/// What a new release records about itself, in files of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub id: String,
    pub revision: String,
    /// What was asked for (a tag, a branch).
    pub git_ref: String,
    pub deployed_by: String,
}

/// Where a release's tree comes from.
#[derive(Debug, Clone, Copy)]
pub enum Tree<'a> {
    /// The host's mirror of the repository (`PATH/repo`).
    Mirror,
    /// A tar of it, packed here and sent as the command's stdin (`[app] push`).
    Upload(&'a [u8]),
}

/// Builds `releases/<id>`: the revision's tree, from the host's mirror or from
/// the tar sent with it (unpacked beside its final place and renamed, so a
/// release directory is never half-written), its REVISION, REF, REVISION_TIME
/// and DEPLOYED_BY files, and the links to `shared/`.
pub fn create_release(
    path: &str,
    info: &ReleaseInfo,
    tree: Tree<'_>,
    linked_files: &[String],
    linked_dirs: &[String],
    timeout: Duration,
) -> Command {
    let script = r#"set -e
if [ "$6" = upload ]; then mkdir -p -- "$1/releases" "$1/shared"; fi
cd -- "$1"
rel="releases/$2"
if [ -e "$rel" ]; then echo "release $rel exists already" >&2; exit 3; fi
rm -rf -- "$rel.tmp"
mkdir -p -- "$rel.tmp"
if [ "$6" = upload ]; then
  cat > "$rel.tmp.tar" || { rm -rf -- "$rel.tmp" "$rel.tmp.tar"; exit 3; }
else
  git --git-dir=repo cat-file -e "$3^{commit}" 2>/dev/null || { rm -rf -- "$rel.tmp"; echo "revision $3 is not in the repository" >&2; exit 3; }
  git --git-dir=repo archive --format=tar "$3" > "$rel.tmp.tar" || { rm -rf -- "$rel.tmp" "$rel.tmp.tar"; exit 3; }
fi
tar -x -f "$rel.tmp.tar" -C "$rel.tmp" || { rm -rf -- "$rel.tmp" "$rel.tmp.tar"; exit 3; }
rm -f -- "$rel.tmp.tar"
printf '%s\n' "$3" > "$rel.tmp/REVISION"
printf '%s\n' "$4" > "$rel.tmp/REF"
printf '%s\n' "$5" > "$rel.tmp/DEPLOYED_BY"
date -u +%Y%m%d%H%M%S > "$rel.tmp/REVISION_TIME"
shift 6
while [ "$#" -ge 3 ]; do
  kind="$1"; name="$2"; target="$3"; shift 3
  if [ "$kind" = dir ]; then mkdir -p -- "shared/$name"; fi
  if [ ! -e "shared/$name" ]; then
    echo "shared/$name is missing on this host (a linked file must exist before the first deploy)" >&2
    rm -rf -- "$rel.tmp"; exit 3
  fi
  mkdir -p -- "$(dirname -- "$rel.tmp/$name")"
  rm -rf -- "$rel.tmp/$name"
  ln -s -- "$target" "$rel.tmp/$name"
done
mv -- "$rel.tmp" "$rel""#;
    let mut cmd = Command::shell_script(script)
        .arg(path)
        .arg(&info.id)
        .arg(&info.revision)
        .arg(&info.git_ref)
        .arg(&info.deployed_by)
        .arg(match tree {
            Tree::Mirror => "mirror",
            Tree::Upload(_) => "upload",
        });
    if let Tree::Upload(tar) = tree {
        cmd = cmd.stdin(tar.to_vec());
    }
    for (kind, list) in [("file", linked_files), ("dir", linked_dirs)] {
        for name in list {
            cmd = cmd.arg(kind).arg(name).arg(link_target(name));
        }
    }
    cmd.timeout(timeout)
}

/// The relative link from `releases/<id>/NAME` to `shared/NAME`.
fn link_target(name: &str) -> String {
    let depth = 2 + name.trim_matches('/').matches('/').count();
    format!("{}shared/{}", "../".repeat(depth), name.trim_matches('/'))
}

/// The directory of a release on its host.
pub fn release_dir(path: &str, id: &str) -> String {
    format!("{}/releases/{id}", path.trim_end_matches('/'))
}

/// Points `current` at `releases/<id>` in one rename: `ln -sfn` to a temporary
/// name, then `mv -T` over `current`. At every instant `current` is whole.
pub fn switch(path: &str, id: &str, plan_id: &str) -> Command {
    let script = r#"cd -- "$1" || exit 3
[ -d "releases/$2" ] || { echo "no release $2 on this host" >&2; exit 3; }
ln -sfn -- "releases/$2" "$3" && mv -fT -- "$3" current"#;
    Command::shell_script(script)
        .arg(path)
        .arg(id)
        .arg(format!(".current.opsctl-{plan_id}"))
        .timeout(QUICK)
}

/// The release `current` points at (`releases/<id>` → `<id>`), empty when none.
pub fn read_current(path: &str) -> Command {
    Command::shell_script(r#"readlink -- "$1/current" 2>/dev/null || true"#)
        .arg(path)
        .timeout(QUICK)
}

/// The id in a `current` link's target.
pub fn current_id(link: &str) -> Option<String> {
    let t = link.trim().trim_end_matches('/');
    let id = t.rsplit('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

/// Removes a release that is not current (a failed deploy's, or pruning).
pub fn remove_release(path: &str, id: &str) -> Command {
    let script = r#"cd -- "$1/releases" 2>/dev/null || exit 0
[ "$(readlink -- ../current)" = "releases/$2" ] && { echo "release $2 is current; not removed" >&2; exit 3; }
rm -rf -- "$2" "$2.tmp" "$2.tmp.tar""#;
    Command::shell_script(script)
        .arg(path)
        .arg(id)
        .timeout(QUICK)
}

/// Appends one line to the host's `revisions.log`.
pub fn append_revisions_log(path: &str, line: &str) -> Command {
    Command::shell_script(r#"printf '%s\n' "$2" >> "$1/revisions.log""#)
        .arg(path)
        .arg(line.replace(['\n', '\r'], " "))
        .timeout(QUICK)
}

/// Removes the oldest releases beyond `keep`, never `current` nor the `protect`ed
/// ones (the release a rollback would go back to). Prints each one removed.
pub fn prune(path: &str, keep: usize, protect: &[String]) -> Command {
    let script = r#"cd -- "$1/releases" 2>/dev/null || exit 0
keep="$2"; shift 2
cur="$(readlink -- ../current 2>/dev/null)"
ls -1 | grep -v '\.tmp' | sort -r | tail -n +"$((keep + 1))" | while IFS= read -r r; do
  [ "$cur" = "releases/$r" ] && continue
  skip=0
  for p in "$@"; do [ "$p" = "$r" ] && skip=1; done
  [ "$skip" = 1 ] && continue
  rm -rf -- "$r" && printf 'pruned %s\n' "$r"
done"#;
    Command::shell_script(script)
        .arg(path)
        .arg(keep.to_string())
        .args(protect.iter().cloned())
        .timeout(Duration::from_secs(120))
}

/// The release's migration files (paths matching `pattern` inside it), sorted.
pub fn migrations(path: &str, id: &str, pattern: &str) -> Command {
    Command::shell_script(r#"cd -- "$1/releases/$2" || exit 3; find . -path "./$3" -type f | sort"#)
        .arg(path)
        .arg(id)
        .arg(pattern)
        .timeout(QUICK)
}

/// One line for `revisions.log`, as Capistrano writes it.
pub fn revisions_line(git_ref: &str, revision: &str, id: &str, who: &str) -> String {
    let short: String = revision.chars().take(7).collect();
    format!("Branch {git_ref} (at {short}) deployed as release {id} by {who}")
}

/// The line for a rollback, as Capistrano writes it.
pub fn rollback_line(who: &str, id: &str) -> String {
    format!("{who} rolled back to release {id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_ids_are_utc_time_and_short_revision() {
        let t = time::macros::datetime!(2026-12-02 03:15:00 +01:00);
        assert_eq!(release_id(t, "61c13bf0123456789"), "20261202021500_61c13bf");
    }

    #[test]
    fn links_reach_shared_from_any_depth() {
        assert_eq!(link_target(".env"), "../../shared/.env");
        assert_eq!(
            link_target("public/uploads"),
            "../../../shared/public/uploads"
        );
    }

    #[test]
    fn current_ids_come_from_the_link() {
        assert_eq!(
            current_id("releases/20261202021500_61c13bf\n").as_deref(),
            Some("20261202021500_61c13bf")
        );
        assert_eq!(current_id("/srv/shop/releases/x/").as_deref(), Some("x"));
        assert_eq!(current_id(""), None);
    }

    #[test]
    fn data_is_passed_as_arguments_never_in_the_script() {
        let evil = "v1'; rm -rf / #";
        let cmd = switch("/srv/$(id)", evil, "p1");
        let argv = cmd.argv();
        assert_eq!(argv[0], "sh");
        assert!(!argv[2].contains(evil) && !argv[2].contains("$(id)"));
        assert_eq!(argv[4], "/srv/$(id)");
        assert_eq!(argv[5], evil);
    }

    #[tokio::test]
    async fn a_release_is_made_switched_pruned_and_its_migrations_listed() {
        use crate::remote::Remote;
        use crate::remote::local::LocalRemote;
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("src");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .current_dir(&repo)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        std::fs::create_dir_all(repo.join("shop/migrations")).unwrap();
        std::fs::write(repo.join("shop/migrations/0001_initial.py"), "x").unwrap();
        std::fs::write(repo.join("shop/migrations/__init__.py"), "").unwrap();
        git(&["init", "-q", "-b", "main"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "one"]);
        let rev = git(&["rev-parse", "HEAD"]).trim().to_string();
        let app = tmp.path().join("app").to_string_lossy().into_owned();
        let local = LocalRemote::new("web1");
        let t = Duration::from_secs(30);
        let ok = |out: crate::remote::Output| {
            assert!(out.success(), "{}", out.stderr_lossy());
            out
        };
        ok(local
            .run(&update_mirror(&app, &repo.to_string_lossy(), t))
            .await
            .unwrap());
        std::fs::write(format!("{app}/shared/.env"), "SECRET=1").unwrap();
        for (n, id) in ["r1", "r2", "r3"].iter().enumerate() {
            let info = ReleaseInfo {
                id: format!("2026120203150{n}_{id}"),
                revision: rev.clone(),
                git_ref: "main".into(),
                deployed_by: "ana".into(),
            };
            ok(local
                .run(&create_release(
                    &app,
                    &info,
                    Tree::Mirror,
                    &[".env".into()],
                    &["log".into()],
                    t,
                ))
                .await
                .unwrap());
            ok(local.run(&switch(&app, &info.id, "p")).await.unwrap());
        }
        let rel = release_dir(&app, "20261202031502_r3");
        assert_eq!(
            std::fs::read_to_string(format!("{rel}/.env")).unwrap(),
            "SECRET=1"
        );
        assert!(std::path::Path::new(&format!("{app}/shared/log")).is_dir());
        let cur = ok(local.run(&read_current(&app)).await.unwrap()).stdout_lossy();
        assert_eq!(current_id(&cur).as_deref(), Some("20261202031502_r3"));
        // The current release is never removed.
        let out = local
            .run(&remove_release(&app, "20261202031502_r3"))
            .await
            .unwrap();
        assert!(!out.success());
        let out = ok(local
            .run(&prune(&app, 1, &["20261202031501_r2".into()]))
            .await
            .unwrap());
        assert_eq!(out.stdout_lossy().trim(), "pruned 20261202031500_r1");
        let m = ok(local
            .run(&migrations(
                &app,
                "20261202031502_r3",
                "*/migrations/[0-9]*.py",
            ))
            .await
            .unwrap());
        assert_eq!(m.stdout_lossy().trim(), "./shop/migrations/0001_initial.py");
        // A revision the repository does not have makes no release.
        let info = ReleaseInfo {
            id: "20261202031509_bad".into(),
            revision: "0".repeat(40),
            git_ref: "nope".into(),
            deployed_by: "ana".into(),
        };
        let out = local
            .run(&create_release(&app, &info, Tree::Mirror, &[], &[], t))
            .await
            .unwrap();
        assert!(!out.success());
        assert!(out.stderr_lossy().contains("not in the repository"));
        assert!(!std::path::Path::new(&release_dir(&app, &info.id)).exists());

        // Pushed from here: a host with no mirror and no app directory yet gets
        // its release from the tar sent with the command.
        let tar = std::process::Command::new("git")
            .args(["archive", "--format=tar", &rev])
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(tar.status.success());
        let fresh = tmp.path().join("fresh").to_string_lossy().into_owned();
        std::fs::create_dir_all(format!("{fresh}/shared")).unwrap();
        std::fs::write(format!("{fresh}/shared/.env"), "SECRET=2").unwrap();
        let info = ReleaseInfo {
            id: "20261202031510_up".into(),
            revision: rev.clone(),
            git_ref: "main".into(),
            deployed_by: "ana".into(),
        };
        ok(local
            .run(&create_release(
                &fresh,
                &info,
                Tree::Upload(&tar.stdout),
                &[".env".into()],
                &[],
                t,
            ))
            .await
            .unwrap());
        let rel = release_dir(&fresh, &info.id);
        assert!(std::path::Path::new(&format!("{rel}/shop/migrations/0001_initial.py")).exists());
        assert_eq!(
            std::fs::read_to_string(format!("{rel}/REVISION"))
                .unwrap()
                .trim(),
            rev
        );
        assert!(!std::path::Path::new(&format!("{fresh}/repo")).exists());
        // A tar that is not one leaves nothing behind.
        let info = ReleaseInfo {
            id: "20261202031511_junk".into(),
            ..info
        };
        let out = local
            .run(&create_release(
                &fresh,
                &info,
                Tree::Upload(b"not a tar"),
                &[],
                &[],
                t,
            ))
            .await
            .unwrap();
        assert!(!out.success());
        let left: Vec<_> = std::fs::read_dir(format!("{fresh}/releases"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["20261202031510_up"], "nothing half-made is left");
    }
}
