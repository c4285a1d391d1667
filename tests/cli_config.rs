//! `opsctl config ...` and profile lookup, through the real binary.

use assert_cmd::Command;
use predicates::prelude::*;
use std::fs;

fn opsctl(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.current_dir(dir)
        .env_remove("OPSCTL_PROFILE")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"));
    cmd
}

#[test]
fn check_without_profile_uses_embedded_local() {
    let dir = tempfile::tempdir().unwrap();
    opsctl(dir.path())
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("profile `local`").and(predicate::str::contains("embedded")),
        );
}

#[test]
fn check_reports_unknown_key_with_position_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    fs::write(&path, "name = \"x\"\n[ssh]\nknown_host = \"strict\"\n").unwrap();
    opsctl(dir.path())
        .args(["config", "check", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("bad.toml:3:1: unknown key `known_host`")
                .and(predicate::str::contains("did you mean `known_hosts`?")),
        );
}

#[test]
fn check_takes_the_profile_as_argument_or_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    fs::write(&path, "name = \"given\"\n").unwrap();
    let path = path.to_str().unwrap();
    for args in [
        vec!["config", "check", path],
        vec!["config", "check", "--profile", path],
        vec!["--profile", path, "config", "check"],
    ] {
        opsctl(dir.path())
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("profile `given`"));
    }
}

#[test]
fn profiles_are_found_by_name_in_profiles_dir_then_xdg() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("xdg/opsctl/profiles")).unwrap();
    fs::write(
        dir.path().join("xdg/opsctl/profiles/stage.toml"),
        "name = \"from-xdg\"\nenvironment = \"staging\"\n",
    )
    .unwrap();
    opsctl(dir.path())
        .args(["--profile", "stage", "config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("profile `from-xdg` (staging"));
    // ./profiles/ wins over the XDG directory.
    fs::create_dir_all(dir.path().join("profiles")).unwrap();
    fs::write(
        dir.path().join("profiles/stage.toml"),
        "name = \"from-cwd\"\n",
    )
    .unwrap();
    opsctl(dir.path())
        .env("OPSCTL_PROFILE", "stage")
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("profile `from-cwd`"));
}

#[test]
fn missing_profile_lists_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    opsctl(dir.path())
        .args(["--profile", "nope", "config", "show"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no profile named `nope`")
                .and(predicate::str::contains("profiles/nope.toml")),
        );
}

#[test]
fn show_fills_defaults_and_redacts_url_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    fs::write(
        &path,
        "name = \"p\"\n[[health.http]]\nname = \"site\"\nurl = \"https://admin:hunter2@example.com/\"\n",
    )
    .unwrap();
    let out = opsctl(dir.path())
        .args([
            "--profile",
            path.to_str().unwrap(),
            "config",
            "show",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["health"]["http"][0]["url"],
        "https://admin:***@example.com/"
    );
    assert_eq!(v["health"]["interval_secs"], 5.0);
    assert_eq!(v["ssh"]["known_hosts"], "strict");
}

#[test]
fn paths_lists_search_dirs() {
    let dir = tempfile::tempdir().unwrap();
    opsctl(dir.path())
        .args(["config", "paths"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("xdg/opsctl/profiles")
                .and(predicate::str::contains("(embedded) local"))
                .and(predicate::str::contains("opsctl.log")),
        );
}

#[test]
fn example_production_profile_is_accepted() {
    let root = env!("CARGO_MANIFEST_DIR");
    opsctl(std::path::Path::new(root))
        .args(["config", "check", "example-production"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("shop-production").and(predicate::str::contains("6 hosts")),
        );
}

#[test]
fn an_empty_profile_name_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("opsctl")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("OPSCTL_PROFILE")
        .args(["--profile", "", "config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("profile name is empty"), "{err}");
}

#[test]
fn version_names_the_git_revision() {
    let out = assert_cmd::Command::cargo_bin("opsctl")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("opsctl 0."), "{text}");
    // Built from this checkout: the revision git reports (maybe with -dirty).
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(!head.is_empty());
    assert!(text.contains(&format!("(rev {head}")), "{text} vs {head}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = assert_cmd::Command::cargo_bin("opsctl")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("opsctl") && text.contains("digest"),
            "{shell}: {text}"
        );
    }
    let out = assert_cmd::Command::cargo_bin("opsctl")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(".TH opsctl 1") && text.contains("health"),
        "{text}"
    );
    let bad = assert_cmd::Command::cargo_bin("opsctl")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
