//! `opsctl health` through the real binary: the local profile, and the sandbox's
//! real sshd hosts (started by tests/run; see tests/sandbox).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

fn sandbox() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox");
    assert!(
        dir.join("sandbox.toml").is_file(),
        "the sandbox is not up: run tests/sandbox/up (tests/run does)"
    );
    dir
}

/// The sandbox's SSH port (tests/sandbox may run on another port than 2222).
fn port() -> u16 {
    let text = std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap();
    let profile: toml::Table = text.parse().expect("sandbox.toml is TOML");
    // The hosts' port, not a [[databases]] entry's.
    profile["hosts"][0]["port"]
        .as_integer()
        .and_then(|p| u16::try_from(p).ok())
        .expect("sandbox.toml names the hosts' port")
}

fn opsctl(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.current_dir(cwd).env_remove("OPSCTL_PROFILE");
    cmd
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn host<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {report}"))
}

/// The sandbox profile with extra text appended (more hosts, other settings).
fn sandbox_profile_with(dir: &Path, extra: &str, replace: Option<(&str, &str)>) -> PathBuf {
    let mut text = std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap();
    if let Some((from, to)) = replace {
        assert!(text.contains(from), "sandbox.toml has no {from:?}");
        text = text.replace(from, to);
    }
    text.push_str(extra);
    let path = dir.join("profile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn local_profile_reports_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = opsctl(dir.path())
        .args(["health", "--json"])
        .output()
        .unwrap();
    let report = json(&out.stdout);
    let h = host(&report, "localhost");
    assert_ne!(h["status"], "unreachable", "{h}");
    assert!(h["load1"].as_f64().unwrap() >= 0.0);
    let mem = h["mem_used_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&mem), "{mem}");
    assert!(
        h["cpu_pct"].as_f64().is_some(),
        "one sweep measures CPU: {h}"
    );
    assert!(!h["disks"].as_array().unwrap().is_empty());
    assert!(h["procs"].as_u64().unwrap() > 0);
    // Exit status follows the worst status.
    let all_up = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["status"] == "up")
        && report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "up");
    assert_eq!(out.status.code(), Some(if all_up { 0 } else { 1 }));
}

#[test]
fn sandbox_hosts_are_probed_over_ssh() {
    let state = sandbox();
    let out = opsctl(&state)
        .args(["--profile", "sandbox.toml", "health", "--json"])
        .output()
        .unwrap();
    let report = json(&out.stdout);
    let hosts = report["hosts"].as_array().unwrap();
    assert!(hosts.len() >= 5, "the site has five hosts: {report}");
    for h in hosts {
        assert_ne!(h["status"], "unreachable", "{h}");
        assert!(h["uptime_secs"].as_f64().unwrap() > 0.0);
    }
    // The human table names every host.
    let out = opsctl(&state)
        .args(["--profile", "sandbox.toml", "health", "web1", "web2"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("web1") && table.contains("web2"), "{table}");
    assert!(!table.contains("db1"), "only the named targets: {table}");
}

#[test]
fn dead_and_hung_hosts_do_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    // A "hung" host: TCP accepts, then silence (the listener never answers).
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let extra = format!(
        "\n[[hosts]]\nname = \"dead\"\naddress = \"127.0.0.254\"\nport = {}\n\
         \n[[hosts]]\nname = \"hung\"\naddress = \"127.0.0.1\"\nport = {hung_port}\n",
        port()
    );
    let profile = sandbox_profile_with(dir.path(), &extra, None);
    let started = Instant::now();
    let out = opsctl(dir.path())
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "health",
            "--json",
            "--timeout",
            "3",
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out.stdout);
    for name in ["dead", "hung"] {
        let h = host(&report, name);
        assert_eq!(h["status"], "unreachable", "{h}");
        assert!(h["error"].as_str().is_some_and(|e| !e.is_empty()), "{h}");
    }
    assert!(
        host(&report, "hung")["error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    for name in ["web1", "web2", "db1", "lb1", "lb2"] {
        assert_ne!(host(&report, name)["status"], "unreachable", "{name}");
    }
    drop(hung);
}

#[test]
fn unknown_host_key_is_refused_under_strict_and_learned_under_accept_new() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, "").unwrap();
    let sandbox_known = sandbox().join("ssh/known_hosts");
    let swap = (
        sandbox_known.to_str().unwrap().to_string(),
        known.to_str().unwrap().to_string(),
    );
    let profile = sandbox_profile_with(dir.path(), "", Some((&swap.0, &swap.1)));
    let out = opsctl(dir.path())
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "health",
            "--json",
            "web1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out.stdout);
    let h = host(&report, "web1");
    assert_eq!(h["status"], "unreachable");
    let err = h["error"].as_str().unwrap();
    assert!(
        err.contains("is not known") && err.contains("SHA256:"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&known).unwrap(),
        "",
        "strict never writes"
    );

    let text = std::fs::read_to_string(&profile)
        .unwrap()
        .replace("[ssh]\n", "[ssh]\nknown_hosts = \"accept-new\"\n");
    std::fs::write(&profile, text).unwrap();
    let out = opsctl(dir.path())
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "health",
            "--json",
            "web1",
        ])
        .output()
        .unwrap();
    let report = json(&out.stdout);
    assert_ne!(host(&report, "web1")["status"], "unreachable", "{report}");
    let learned = std::fs::read_to_string(&known).unwrap();
    assert_eq!(learned.lines().count(), 1, "{learned}");
    assert!(
        learned.starts_with(&format!("[127.0.0.2]:{} ", port())),
        "{learned}"
    );
}

#[test]
fn changed_host_key_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Claim web1's address holds web2's keys.
    let sandbox_known = std::fs::read_to_string(sandbox().join("ssh/known_hosts")).unwrap();
    let forged: String = sandbox_known
        .lines()
        .filter(|l| l.starts_with(&format!("[127.0.0.3]:{} ", port())))
        .map(|l| format!("{}\n", l.replacen("[127.0.0.3]", "[127.0.0.2]", 1)))
        .collect();
    assert!(!forged.is_empty());
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, &forged).unwrap();
    let path = sandbox().join("ssh/known_hosts");
    let profile = sandbox_profile_with(
        dir.path(),
        "",
        Some((path.to_str().unwrap(), known.to_str().unwrap())),
    );
    let out = opsctl(dir.path())
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "health",
            "--json",
            "web1",
        ])
        .output()
        .unwrap();
    let report = json(&out.stdout);
    let err = host(&report, "web1")["error"].as_str().unwrap().to_string();
    assert!(err.contains("HAS CHANGED"), "{err}");
    assert!(err.contains(&format!("{}:", known.display())), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    opsctl(dir.path())
        .args(["health", "bad host"])
        .assert()
        .code(2);
    opsctl(dir.path())
        .args(["health", "--timeout", "-1"])
        .assert()
        .code(2);
}
