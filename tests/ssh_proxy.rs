//! Reaching hosts the way operators' networks require, against the sandbox's real
//! sshd (tests/sandbox/up): an ssh_config `ProxyCommand` (here a relay script that
//! logs its arguments and hops through web1 with `ssh -W`), and `ProxyJump`-style
//! chains of bastions. Each test proves the path in the relay's or the bastions'
//! own logs (the sandbox's sshd logs forwarded connections at DEBUG1).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

fn sandbox_text() -> String {
    std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap()
}

/// The sandbox's SSH user and port, as its profile says.
fn user_and_port() -> (String, u16) {
    let profile: toml::Table = sandbox_text().parse().expect("the sandbox profile is TOML");
    let user = profile["ssh"]["user"]
        .as_str()
        .expect("the sandbox profile names the user")
        .to_string();
    // The hosts' port, not a [[databases]] entry's.
    let port = profile["hosts"][0]["port"]
        .as_integer()
        .and_then(|p| u16::try_from(p).ok())
        .expect("the sandbox profile names the hosts' port");
    (user, port)
}

fn sshd_log(n: usize) -> PathBuf {
    sandbox().join(format!("ssh/host{n}/sshd.log"))
}

/// The lines a host's sshd logged after `from` bytes.
fn log_since(n: usize, from: u64) -> String {
    let text = std::fs::read(sshd_log(n)).unwrap();
    String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned()
}

fn log_len(n: usize) -> u64 {
    std::fs::metadata(sshd_log(n)).map_or(0, |m| m.len())
}

fn health(dir: &Path, profile: &Path, target: &str) -> Value {
    let out = Command::cargo_bin("opsctl")
        .unwrap()
        .current_dir(dir)
        .env_remove("OPSCTL_PROFILE")
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "health",
            "--json",
            "--timeout",
            "15",
            target,
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["hosts"][0].clone()
}

/// A profile with the sandbox's SSH settings, an ssh_config of its own and `hosts`.
fn profile_with(dir: &Path, ssh_config: &str, hosts: &str) -> PathBuf {
    let s = sandbox();
    let known = s.join("ssh/known_hosts");
    let (user, _) = user_and_port();
    let cfg = dir.join("ssh_config");
    std::fs::write(&cfg, ssh_config).unwrap();
    let text = format!(
        r#"name = "proxy-test"
[ssh]
user = "{user}"
identity_files = ["{key}"]
known_hosts_files = ["{known}", "{extra}"]
use_ssh_config = true
config_file = "{cfg}"
connect_timeout_secs = 10
[health]
services = []
{hosts}"#,
        key = s.join("ssh/client_ed25519").display(),
        known = known.display(),
        extra = dir.join("known_hosts").display(),
        cfg = cfg.display(),
    );
    let path = dir.join("profile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// web2's host keys under another name (a host that exists only behind the proxy).
fn known_as(dir: &Path, name: &str, port: u16) {
    let known = std::fs::read_to_string(sandbox().join("ssh/known_hosts")).unwrap();
    let lines: String = known
        .lines()
        .filter(|l| l.starts_with(&format!("[127.0.0.3]:{port} ")))
        .map(|l| l.replacen("[127.0.0.3]", &format!("[{name}]"), 1) + "\n")
        .collect();
    assert!(
        !lines.is_empty(),
        "web2's keys are in the sandbox known_hosts"
    );
    std::fs::write(dir.join("known_hosts"), lines).unwrap();
}

#[test]
fn proxy_command_carries_the_session_through_a_relay() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox();
    let (user, port) = user_and_port();
    // The relay logs how it was called, then hops through web1 to web2 (ssh -W):
    // the name it is given does not resolve, so only the proxy can reach it.
    let relay = dir.path().join("relay.sh");
    let relay_log = dir.path().join("relay.log");
    std::fs::write(
        &relay,
        format!(
            "#!/bin/sh\necho \"relay $1 $2 $3\" >> {log}\nexec ssh -F /dev/null -i {key} -o IdentitiesOnly=yes \
             -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes -o BatchMode=yes \
             -p {port} -W 127.0.0.3:$2 {user}@127.0.0.2\n",
            log = relay_log.display(),
            key = s.join("ssh/client_ed25519").display(),
            known = s.join("ssh/known_hosts").display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&relay, std::fs::Permissions::from_mode(0o755)).unwrap();
    known_as(dir.path(), "web2.behind.invalid", port);
    let cfg = format!(
        "Host hidden-web2\n  HostName web2.behind.invalid\n  Port {port}\n  ProxyCommand {} %h %p %r\n\
         Host broken-proxy\n  HostName 127.0.0.3\n  Port {port}\n  ProxyCommand sh -c 'echo proxy says no >&2; exit 3'\n",
        relay.display()
    );
    let profile = profile_with(
        dir.path(),
        &cfg,
        "[[hosts]]\nname = \"web2-proxied\"\naddress = \"hidden-web2\"\n\
         [[hosts]]\nname = \"broken\"\naddress = \"broken-proxy\"\n",
    );
    let web1_before = log_len(1);
    let h = health(dir.path(), &profile, "web2-proxied");
    // Reached and probed (its load may make it "warn" on a busy machine).
    assert_ne!(h["status"], "unreachable", "{h}");
    assert!(h["error"].is_null(), "{h}");
    assert!(h["uptime_secs"].as_f64().unwrap() > 0.0);
    // The relay ran with the tokens expanded, and web1 forwarded to web2.
    let relay_said = std::fs::read_to_string(&relay_log).unwrap();
    assert!(
        relay_said.contains(&format!("relay web2.behind.invalid {port} {user}")),
        "{relay_said}"
    );
    let hop = log_since(1, web1_before);
    assert!(
        hop.contains(&format!(
            "server_request_direct_tcpip: originator 127.0.0.1 port 65535, target 127.0.0.3 port {port}"
        )) || hop.contains(&format!("target 127.0.0.3 port {port}")),
        "web1's sshd log shows the hop to web2:\n{hop}"
    );
    // A proxy that fails says why, in its own words.
    let h = health(dir.path(), &profile, "broken");
    assert_eq!(h["status"], "unreachable", "{h}");
    let err = h["error"].as_str().unwrap();
    assert!(err.contains("ProxyCommand"), "{err}");
    assert!(
        err.contains("exited with status 3") && err.contains("proxy says no"),
        "{err}"
    );
}

#[test]
fn a_jump_chain_is_reached_hop_by_hop() {
    let dir = tempfile::tempdir().unwrap();
    let (_, port) = user_and_port();
    // db1 through web2, which is reached through web1.
    let profile = profile_with(
        dir.path(),
        "",
        &format!(
            "[[hosts]]\nname = \"web1\"\naddress = \"127.0.0.2\"\nport = {port}\njump = \"\"\n\
             [[hosts]]\nname = \"web2\"\naddress = \"127.0.0.3\"\nport = {port}\njump = \"\"\n\
             [[hosts]]\nname = \"db1\"\naddress = \"127.0.0.4\"\nport = {port}\njump = \"web1,web2\"\n"
        ),
    );
    let (web1, web2) = (log_len(1), log_len(2));
    let h = health(dir.path(), &profile, "db1");
    assert_ne!(h["status"], "unreachable", "{h}");
    assert!(h["error"].is_null(), "{h}");
    let first = log_since(1, web1);
    let second = log_since(2, web2);
    assert!(
        first.contains(&format!("target 127.0.0.3 port {port}")),
        "web1 forwarded to web2:\n{first}"
    );
    assert!(
        second.contains(&format!("target 127.0.0.4 port {port}")),
        "web2 forwarded to db1:\n{second}"
    );
    assert!(
        !first.contains(&format!("target 127.0.0.4 port {port}")),
        "web1 did not skip a hop:\n{first}"
    );
    // The same chain given as an ssh_config ProxyJump.
    let profile = profile_with(
        dir.path(),
        &format!(
            "Host chained-db\n  HostName 127.0.0.4\n  Port {port}\n  ProxyJump 127.0.0.2:{port},127.0.0.3:{port}\n"
        ),
        "[[hosts]]\nname = \"db1-chained\"\naddress = \"chained-db\"\n",
    );
    let web2 = log_len(2);
    let h = health(dir.path(), &profile, "db1-chained");
    assert_ne!(h["status"], "unreachable", "{h}");
    assert!(log_since(2, web2).contains(&format!("target 127.0.0.4 port {port}")));
}
