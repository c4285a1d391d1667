//! `opsctl digest HOST:PATH` against the sandbox's real sshd: a slow log and its
//! rotations read where they live, through the host's SSH, and digested exactly
//! as the same files read locally.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;

const MARIADB: &str = "tests/fixtures/sql/mariadb-10.11-slow.log";
const PG_DEBIAN: &str = "tests/fixtures/sql/pg15-debian-prefix.log";
const PG_JSON: &str = "tests/fixtures/sql/pg15-jsonlog.json";

fn profile() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox/sandbox.toml");
    assert!(
        p.is_file(),
        "the sandbox is not up: run tests/sandbox/up (tests/run does)"
    );
    p
}

fn opsctl() -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.env_remove("OPSCTL_PROFILE");
    cmd
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn gzip_into(src: &str, dst: &Path) {
    let out = Std::new("gzip")
        .args(["-c", "-9"])
        .arg(fixture(src))
        .output()
        .expect("gzip");
    assert!(out.status.success());
    std::fs::write(dst, out.stdout).unwrap();
}

/// A log directory as logrotate leaves it: the live file, `.1.gz`, `.2.gz`;
/// the oldest last written in 2001.
fn rotated_logs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(PG_JSON), dir.path().join("slow.log")).unwrap();
    gzip_into(MARIADB, &dir.path().join("slow.log.1.gz"));
    gzip_into(PG_DEBIAN, &dir.path().join("slow.log.2.gz"));
    let touched = Std::new("touch")
        .args(["-d", "2001-06-01 00:00:00"])
        .arg(dir.path().join("slow.log.2.gz"))
        .status()
        .unwrap();
    assert!(touched.success());
    dir
}

fn digest_json(args: &[&str]) -> (Value, String) {
    let out = opsctl()
        .arg("--profile")
        .arg(profile())
        .args(["digest", "--json", "--limit", "0"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn class_ids(v: &Value) -> Vec<(String, u64)> {
    let mut ids: Vec<(String, u64)> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn rotations_on_a_host_digest_like_the_same_files_read_here() {
    let dir = rotated_logs();
    let d = dir.path().display().to_string();
    let (remote, note) = digest_json(&[&format!("web1:{d}/slow.log*")]);
    let names: Vec<&str> = remote["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("web1:{d}/slow.log.2.gz"),
            format!("web1:{d}/slow.log.1.gz"),
            format!("web1:{d}/slow.log"),
        ],
        "oldest first: {note}"
    );
    assert!(note.contains("reading 3 file(s)"), "{note}");
    // Oldest first, as logrotate numbers them.
    let (local, _) = digest_json(&[
        &format!("{d}/slow.log.2.gz"),
        &format!("{d}/slow.log.1.gz"),
        &format!("{d}/slow.log"),
    ]);
    assert_eq!(remote["events"], local["events"]);
    assert!(remote["events"].as_u64().unwrap() > 1000, "{remote}");
    assert_eq!(class_ids(&remote), class_ids(&local));
}

#[test]
fn since_leaves_older_rotations_on_the_host() {
    let dir = rotated_logs();
    let d = dir.path().display().to_string();
    let (remote, note) = digest_json(&[&format!("web1:{d}/slow.log*"), "--since", "2002-01-01"]);
    assert_eq!(remote["files"].as_array().unwrap().len(), 2, "{note}");
    assert!(note.contains("1 older than --since"), "{note}");
    let (local, _) = digest_json(&[
        &format!("{d}/slow.log.1.gz"),
        &format!("{d}/slow.log"),
        "--since",
        "2002-01-01",
    ]);
    assert_eq!(remote["events"], local["events"]);
    assert_eq!(class_ids(&remote), class_ids(&local));
}

#[test]
fn a_wrong_host_or_pattern_says_so() {
    let out = opsctl()
        .arg("--profile")
        .arg(profile())
        .args(["digest", "nohost:/var/log/slow.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no host `nohost`") && err.contains("web1"),
        "{err}"
    );

    let out = opsctl()
        .arg("--profile")
        .arg(profile())
        .args(["digest", "web1:/nonexistent/opsctl/slow.log*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing matches"), "{err}");
}
