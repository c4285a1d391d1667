//! Records the git revision the binary is built from, for `opsctl --version`.

use std::process::Command;

fn main() {
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    let text = match rev {
        Some(r) if dirty => format!("{r}-dirty"),
        Some(r) => r,
        // A source tarball without .git: say so rather than invent a revision.
        None => "unknown revision".to_string(),
    };
    println!("cargo:rustc-env=OPSCTL_GIT_REVISION={text}");
    // Rebuild when HEAD moves (a commit, a checkout) or the index changes.
    for path in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(r) = head.strip_prefix("ref: ") {
            let r = format!(".git/{}", r.trim());
            if std::path::Path::new(&r).exists() {
                println!("cargo:rerun-if-changed={r}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
