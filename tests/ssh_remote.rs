//! SshRemote against the sandbox's real sshd hosts (tests/sandbox/up must have run).
//!
//! Hosts 1..N-1 are shared by tests running in parallel; the last host is stopped
//! and killed by the fault tests, which take the `FAULTS` lock and always restore it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opsctl::config::{KnownHostsPolicy, Profile};
use opsctl::remote::ssh::SshRemote;
use opsctl::remote::{Command, Remote, RemoteError, SshTarget, StreamEvent};

static FAULTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sandbox_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox")
}

fn profile() -> Profile {
    let path = sandbox_dir().join("sandbox.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "sandbox is not up ({}: {e}): run tests/sandbox/up",
            path.display()
        )
    });
    let profile: Profile = toml::from_str(&text).expect("sandbox.toml is a valid profile");
    assert!(
        profile.hosts.len() >= 3,
        "the ssh tests need at least 3 sandbox hosts (SANDBOX_HOSTS)"
    );
    profile
}

fn known_hosts() -> PathBuf {
    sandbox_dir().join("ssh/known_hosts")
}

fn client_key() -> PathBuf {
    sandbox_dir().join("ssh/client_ed25519")
}

/// Sandbox host `n` (1-based), strict host-key checking against the sandbox's known_hosts.
fn target(n: usize) -> SshTarget {
    let profile = profile();
    let host = &profile.hosts[n - 1];
    let address = host.address.clone().expect("sandbox hosts have addresses");
    SshTarget {
        label: host.name.clone(),
        hostname: address.clone(),
        port: host.port.expect("sandbox hosts have ports"),
        user: profile
            .ssh
            .user
            .clone()
            .expect("sandbox profile names the user"),
        identity_files: vec![client_key()],
        identities_only: true,
        known_hosts_name: address,
        known_hosts_files: vec![known_hosts()],
        learn_file: known_hosts(),
        policy: KnownHostsPolicy::Strict,
        jump: None,
        proxy_command: None,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(15),
    }
}

/// The host the fault tests stop and kill; no other test uses it.
fn fault_host() -> usize {
    profile().hosts.len()
}

fn sh(script: &str) -> Command {
    Command::shell_script(script)
}

/// The known_hosts lines of one sandbox host, as `[addr]:port algo key`.
fn known_lines_of(n: usize) -> Vec<String> {
    let t = target(n);
    let label = format!("[{}]:{}", t.hostname, t.port);
    std::fs::read_to_string(known_hosts())
        .unwrap()
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(label.as_str()))
        .map(str::to_string)
        .collect()
}

fn host_key_message(err: RemoteError) -> String {
    match err {
        RemoteError::HostKey(r) => r.message,
        other => panic!("expected a host-key refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn runs_commands_with_exit_codes_and_stderr() {
    let r = SshRemote::new(target(1));
    assert!(!r.is_connected(), "new() must not connect");
    let out = r.run(&sh("echo out; echo err >&2; exit 3")).await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status, Some(3));
    assert!(r.is_connected());
    let out = r.run(&Command::new("true")).await.unwrap();
    assert!(out.success());
    assert_eq!(r.name(), "web1");
}

#[tokio::test]
async fn signal_death_has_no_exit_code() {
    let r = SshRemote::new(target(1));
    let out = r.run(&sh("kill -KILL $$")).await.unwrap();
    assert_eq!(out.status, None);
}

#[tokio::test]
async fn stdin_is_delivered_then_closed() {
    let r = SshRemote::new(target(1));
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = r
        .run(
            &Command::new("cat")
                .stdin(data.clone())
                .timeout(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(out.status, Some(0));
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "stdin came back altered");
    // Without stdin the command sees EOF at once instead of waiting forever.
    let out = r
        .run(&Command::new("wc").arg("-c").timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(out.stdout_lossy().trim(), "0");
}

#[tokio::test]
async fn large_output_arrives_whole() {
    let r = SshRemote::new(target(2));
    let size = 20 * 1024 * 1024;
    let started = Instant::now();
    let out = r
        .run(
            &sh(r#"head -c "$1" /dev/zero | tr '\0' x; head -c 100000 /dev/zero >&2"#)
                .arg(size.to_string())
                .timeout(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(out.status, Some(0));
    assert_eq!(out.stdout.len(), size);
    assert!(out.stdout.iter().all(|b| *b == b'x'));
    assert_eq!(out.stderr.len(), 100_000);
    eprintln!("20 MiB over ssh in {:?}", started.elapsed());
}

#[tokio::test]
async fn arguments_arrive_verbatim() {
    let r = SshRemote::new(target(1));
    let nasty = [
        "plain",
        "two words",
        "$(touch /tmp/opsctl-pwned)",
        "`id`",
        "a'b\"c",
        ";|&<>*?[]{}~#!\\",
        "line\nbreak",
        "",
        "-n",
        "$HOME",
    ];
    let out = r
        .run(&Command::new("printf").arg("%s\\0").args(nasty))
        .await
        .unwrap();
    assert_eq!(out.status, Some(0), "{}", out.stderr_lossy());
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    assert_eq!(got.len(), nasty.len() + 1);
    for (want, have) in nasty.iter().zip(got) {
        assert_eq!(want.as_bytes(), have);
    }
}

/// Waits up to 5 s for the process whose pid the remote command wrote to `file` to end.
async fn remote_process_ends(file: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Ok(pid) = text.trim().parse::<i32>()
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the command never wrote its pid");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The sandbox hosts are this machine: /proc shows the remote process.
    while Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim().to_string()));
        match state {
            None => return true,
            Some(s) if s.starts_with('Z') => return true,
            Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

#[tokio::test]
async fn timeout_bounds_a_command_ends_it_and_leaves_the_connection_usable() {
    let r = SshRemote::new(target(2));
    r.run(&Command::new("true")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let started = Instant::now();
    let err = r
        .run(
            &sh(r#"echo $$ > "$1"; exec sleep 20"#)
                .arg(pidfile.to_str().unwrap())
                .timeout(Duration::from_millis(700)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        remote_process_ends(&pidfile).await,
        "the timed-out command must not keep running"
    );
    let out = r
        .run(&Command::new("echo").arg("still here"))
        .await
        .unwrap();
    assert_eq!(out.stdout, b"still here\n");
}

#[tokio::test]
async fn many_concurrent_commands_share_one_connection() {
    let r = SshRemote::new(target(3));
    // More than OpenSSH's default MaxSessions (10), all at once and before any connection.
    let runs = (0..24).map(|i| {
        let r = r.clone();
        async move {
            r.run(&sh(r#"echo "$SSH_CONNECTION $1""#).arg(i.to_string()))
                .await
        }
    });
    let outs = futures::future::join_all(runs).await;
    let mut client_ports = std::collections::BTreeSet::new();
    for (i, out) in outs.into_iter().enumerate() {
        let out = out.unwrap();
        let line = out.stdout_lossy();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 5, "{line:?}");
        assert_eq!(fields[4], i.to_string());
        client_ports.insert(fields[1].to_string());
    }
    assert_eq!(
        client_ports.len(),
        1,
        "one TCP connection, got {client_ports:?}"
    );
}

#[tokio::test]
async fn streams_lines_then_exit() {
    let r = SshRemote::new(target(1));
    let mut rx = r
        .stream(&sh(
            "echo a; echo b; printf 'no newline'; echo e >&2; exit 4",
        ))
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut exit = None;
    while let Some(ev) = rx.recv().await {
        assert!(exit.is_none(), "event after Exit: {ev:?}");
        match ev {
            StreamEvent::Stdout(l) => out.push(l),
            StreamEvent::Stderr(l) => err.push(l),
            StreamEvent::Exit(s) => exit = Some(s),
        }
    }
    assert_eq!(out, ["a", "b", "no newline"]);
    assert_eq!(err, ["e"]);
    assert_eq!(exit, Some(Some(4)));
}

#[tokio::test]
async fn dropped_streams_end_their_commands_and_channels() {
    let r = SshRemote::new(target(2));
    let dir = tempfile::tempdir().unwrap();
    // sshd allows 10 sessions per connection; leaked ones would exhaust them.
    for i in 0..12 {
        let pidfile = dir.path().join(format!("pid{i}"));
        let mut rx = r
            .stream(
                &sh(r#"echo $$ > "$1"; echo started; exec sleep 30"#)
                    .arg(pidfile.to_str().unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(rx.recv().await, Some(StreamEvent::Stdout("started".into())));
        drop(rx);
        assert!(
            remote_process_ends(&pidfile).await,
            "stream {i}: the command outlived its dropped stream"
        );
    }
    let out = r.run(&Command::new("true")).await.unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn read_and_write_files_through_run() {
    let r = SshRemote::new(target(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let path = path.to_str().unwrap();
    let data = b"line one\n\0binary\xff".to_vec();
    r.write_file(path, &data, 0o640).await.unwrap();
    assert_eq!(r.read_file(path, 1000).await.unwrap(), data);
    let err = r.read_file(path, 3).await.unwrap_err();
    assert!(matches!(err, RemoteError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn unknown_host_is_refused_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    // Knows host 2 only.
    std::fs::write(&kh, known_lines_of(2).join("\n") + "\n").unwrap();
    let mut t = target(1);
    t.known_hosts_files = vec![kh.clone()];
    t.learn_file = kh.clone();
    let err = SshRemote::new(t)
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    let msg = host_key_message(err);
    assert!(msg.contains("127.0.0.2"), "{msg}");
    assert!(msg.contains("SHA256:"), "fingerprint missing: {msg}");
    let after = std::fs::read_to_string(&kh).unwrap();
    assert!(
        !after.contains("[127.0.0.2]"),
        "strict must not learn: {after}"
    );
}

#[tokio::test]
async fn accept_new_learns_then_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let mut t = target(1);
    t.known_hosts_files = vec![kh.clone()];
    t.learn_file = kh.clone();
    t.policy = KnownHostsPolicy::AcceptNew;
    let out = SshRemote::new(t.clone())
        .run(&Command::new("true"))
        .await
        .unwrap();
    assert!(out.success());
    let learned = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(learned.lines().count(), 1, "{learned}");
    // The learned key is one of the host's real keys.
    let learned_key: Vec<&str> = learned.split_whitespace().skip(1).take(2).collect();
    assert!(
        known_lines_of(1).iter().any(|l| {
            let k: Vec<&str> = l.split_whitespace().skip(1).take(2).collect();
            k == learned_key
        }),
        "{learned}"
    );
    // A second, strict connection trusts the learned line.
    t.policy = KnownHostsPolicy::Strict;
    let out = SshRemote::new(t).run(&Command::new("true")).await.unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn changed_key_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    // Host 2's keys written down as host 1's: to the client, host 1's key "changed".
    let impostor: Vec<String> = known_lines_of(2)
        .iter()
        .map(|l| l.replacen("[127.0.0.3]", "[127.0.0.2]", 1))
        .collect();
    std::fs::write(&kh, impostor.join("\n") + "\n").unwrap();
    for policy in [KnownHostsPolicy::Strict, KnownHostsPolicy::AcceptNew] {
        let mut t = target(1);
        t.known_hosts_files = vec![kh.clone()];
        t.learn_file = kh.clone();
        t.policy = policy;
        let err = SshRemote::new(t)
            .run(&Command::new("true"))
            .await
            .unwrap_err();
        let msg = host_key_message(err);
        assert!(msg.contains(&kh.display().to_string()), "{msg}");
        assert!(msg.to_lowercase().contains("changed"), "{msg}");
        // The sandbox writes ed25519 first, and that is the key russh negotiates.
        assert!(msg.contains(":1"), "line number missing: {msg}");
    }
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap().lines().count(),
        impostor.len(),
        "nothing may be learned over a changed key"
    );
}

#[tokio::test]
async fn hashed_known_hosts_entries_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::copy(known_hosts(), &kh).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let hashed = std::fs::read_to_string(&kh).unwrap();
    assert!(hashed.lines().all(|l| l.starts_with("|1|")), "{hashed}");
    let mut t = target(1);
    t.known_hosts_files = vec![kh.clone()];
    t.learn_file = kh;
    let out = SshRemote::new(t).run(&Command::new("true")).await.unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn wildcard_known_hosts_entries_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let lines: Vec<String> = known_lines_of(1)
        .iter()
        .map(|l| l.replacen("[127.0.0.2]:", "[127.0.0.?]:", 1))
        .collect();
    std::fs::write(&kh, lines.join("\n") + "\n").unwrap();
    let mut t = target(1);
    t.known_hosts_files = vec![kh.clone()];
    t.learn_file = kh;
    let out = SshRemote::new(t).run(&Command::new("true")).await.unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn missing_identity_files_are_skipped() {
    let mut t = target(1);
    t.identity_files = vec![PathBuf::from("/nonexistent/id_ed25519"), client_key()];
    let out = SshRemote::new(t).run(&Command::new("true")).await.unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn rejected_key_names_user_host_and_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_stranger");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let mut t = target(1);
    t.identity_files = vec![key.clone()];
    let user = t.user.clone();
    let err = SshRemote::new(t)
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Auth { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{user}@web1")), "{msg}");
    assert!(msg.contains(&key.display().to_string()), "{msg}");
    assert!(msg.contains("publickey"), "{msg}");
}

#[tokio::test]
async fn encrypted_key_without_agent_says_to_use_ssh_add() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_locked");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let mut t = target(1);
    t.identity_files = vec![key.clone()];
    let err = SshRemote::new(t)
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RemoteError::Auth { .. }), "{err:?}");
    assert!(
        msg.contains(&format!(
            "key {} is encrypted: load it into ssh-agent with ssh-add",
            key.display()
        )),
        "{msg}"
    );
}

/// An ssh-agent of our own (not the user's), stopped when dropped.
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent (openssh-client) runs");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket, dir }
    }

    /// Adds an encrypted key, answering the passphrase prompt through SSH_ASKPASS.
    fn add(&self, key: &Path, passphrase: &str) {
        let askpass = self.dir.path().join("askpass");
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{passphrase}'\n")).unwrap();
        std::process::Command::new("chmod")
            .arg("700")
            .arg(&askpass)
            .status()
            .unwrap();
        let out = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", "none")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "ssh-add: {out:?}");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of a sandbox client key, encrypted with `passphrase` (same public key, so
/// still authorized).
fn encrypted_copy(dir: &Path, kind: &str, passphrase: &str) -> PathBuf {
    let src = sandbox_dir().join(format!("ssh/client_{kind}"));
    let dst = dir.join(format!("locked_{kind}"));
    std::fs::copy(&src, &dst).unwrap();
    let mut pub_src = src.into_os_string();
    pub_src.push(".pub");
    let mut pub_dst = dst.clone().into_os_string();
    pub_dst.push(".pub");
    std::fs::copy(pub_src, pub_dst).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", passphrase, "-f"])
        .arg(&dst)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dst
}

#[tokio::test]
async fn agent_signs_for_encrypted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<PathBuf> = ["ed25519", "rsa"]
        .iter()
        .map(|kind| encrypted_copy(dir.path(), kind, "s3cret"))
        .collect();

    // Without an agent the key is useless, and the error says what to do.
    let mut t = target(1);
    t.identity_files = vec![keys[0].clone()];
    let err = SshRemote::with_agent(t.clone(), None)
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ssh-add"), "{err}");

    let agent = Agent::start();
    for key in &keys {
        agent.add(key, "s3cret");
        let mut t = target(1);
        t.identity_files = vec![key.clone()];
        let out = SshRemote::with_agent(t, Some(agent.socket.clone()))
            .run(&Command::new("true"))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        assert!(out.success());
    }

    // identities_only: agent keys not named by an identity file are not offered...
    let stranger = dir.path().join("id_stranger");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let mut t = target(1);
    t.identity_files = vec![stranger];
    let err = SshRemote::with_agent(t.clone(), Some(agent.socket.clone()))
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains("agent key"), "{err}");
    // ...and are, without it.
    t.identities_only = false;
    let out = SshRemote::with_agent(t, Some(agent.socket.clone()))
        .run(&Command::new("true"))
        .await
        .unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn every_client_key_type_logs_in() {
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let mut t = target(1);
        t.identity_files = vec![sandbox_dir().join(format!("ssh/client_{kind}"))];
        let out = SshRemote::new(t)
            .run(&Command::new("true"))
            .await
            .unwrap_or_else(|e| panic!("{kind} key: {e}"));
        assert!(out.success());
    }
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_and_backs_off() {
    let mut t = target(1);
    t.port = 1;
    let r = SshRemote::new(t);
    let err = r.run(&Command::new("true")).await.unwrap_err();
    assert!(matches!(err, RemoteError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
    // Within the backoff window a short operation fails fast with the last error...
    let again = r
        .run(&Command::new("true").timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    // (Had it waited, it would have timed out: a Timeout, not the Connect error.)
    assert_eq!(again, err);
    // ...and a longer one waits out the backoff, then tries again.
    let started = Instant::now();
    let third = r
        .run(&Command::new("true").timeout(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(matches!(third, RemoteError::Connect { .. }), "{third:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

/// Whether a TCP connection to `addr:port` with local port `local_port` belongs to this process.
fn socket_is_ours(remote: &str, port: u16, local_port: u16) -> Option<bool> {
    let ip: std::net::Ipv4Addr = remote.parse().ok()?;
    let remote_hex = format!("{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), port);
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = tcp.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let local_port_hex = f.get(1)?.rsplit(':').next()?;
        (f.get(2)? == &remote_hex.as_str()
            && u16::from_str_radix(local_port_hex, 16).ok()? == local_port)
            .then(|| f.get(9).map(|s| s.to_string()))?
    })?;
    let ours = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|link| link.to_string_lossy() == format!("socket:[{inode}]"));
    Some(ours)
}

#[tokio::test]
async fn proxy_jump_through_a_bastion() {
    let mut t = target(2);
    t.jump = Some(Box::new(target(1)));
    let r = SshRemote::new(t.clone());
    let out = r.run(&sh(r#"echo "$SSH_CONNECTION""#)).await.unwrap();
    let line = out.stdout_lossy();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "{line:?}");
    // We reached host 2...
    assert_eq!(fields[2], t.hostname);
    assert_eq!(fields[3], t.port.to_string());
    // ...over a TCP connection the bastion's sshd made, not this process.
    let client_port: u16 = fields[1].parse().unwrap();
    assert_eq!(
        socket_is_ours(&t.hostname, t.port, client_port),
        Some(false),
        "the connection to {} should come from the bastion",
        t.hostname
    );

    // The final host is verified too: a bastion does not vouch for it.
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, known_lines_of(1).join("\n") + "\n").unwrap();
    let mut unknown = t.clone();
    unknown.known_hosts_files = vec![kh.clone()];
    unknown.learn_file = kh;
    let err = SshRemote::new(unknown)
        .run(&Command::new("true"))
        .await
        .unwrap_err();
    let msg = host_key_message(err);
    assert!(msg.contains("127.0.0.3"), "{msg}");
}

#[tokio::test]
async fn forward_reaches_a_port_seen_from_the_host() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = SshRemote::new(target(1));
    let t2 = target(2);
    let fwd = r.forward(&t2.hostname, t2.port).await.unwrap();
    assert!(fwd.local_addr.ip().is_loopback());
    for _ in 0..2 {
        let mut conn = tokio::net::TcpStream::connect(fwd.local_addr)
            .await
            .unwrap();
        let mut banner = [0u8; 8];
        tokio::time::timeout(Duration::from_secs(5), conn.read_exact(&mut banner))
            .await
            .expect("banner within 5 s")
            .unwrap();
        assert_eq!(&banner, b"SSH-2.0-");
        conn.shutdown().await.unwrap();
    }
    // Nothing listens on port 1: the local connection is closed, not left hanging.
    let dead = r.forward("127.0.0.1", 1).await.unwrap();
    let mut conn = tokio::net::TcpStream::connect(dead.local_addr)
        .await
        .unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("closed within 5 s");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    drop(fwd);
}

/// The sandbox sshd of host `n`: its pid and how to start it again.
struct Sshd {
    dir: PathBuf,
}

impl Sshd {
    fn of(n: usize) -> Sshd {
        Sshd {
            dir: sandbox_dir().join(format!("ssh/host{n}")),
        }
    }

    fn pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.dir.join("sshd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let config = self.dir.join("sshd_config");
        String::from_utf8_lossy(&cmdline)
            .contains(config.to_str()?)
            .then_some(pid)
    }

    /// The listener and every process under it (the per-connection sshd processes).
    fn tree(&self) -> Vec<i32> {
        let Some(root) = self.pid() else {
            return Vec::new();
        };
        let mut parents: Vec<(i32, i32)> = Vec::new();
        // No panic: this runs from Drop guards too.
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return vec![root];
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Fields after the parenthesised command name: state, ppid, ...
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
        let mut tree = vec![root];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            tree.extend(
                parents
                    .iter()
                    .filter(|(_, pp)| *pp == parent)
                    .map(|(p, _)| *p),
            );
            i += 1;
        }
        tree
    }

    fn signal_tree(&self, sig: i32) {
        for pid in self.tree() {
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Starts the host's sshd again with its own config; waits until it runs.
    fn start(&self) -> Result<(), String> {
        let out = std::process::Command::new("/usr/sbin/sshd")
            .arg("-f")
            .arg(self.dir.join("sshd_config"))
            .arg("-E")
            .arg(self.dir.join("sshd.log"))
            .output()
            .map_err(|e| format!("running sshd: {e}"))?;
        if !out.status.success() {
            return Err(format!("restarting sshd: {out:?}"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.pid().is_none() {
            if Instant::now() > deadline {
                return Err("restarted sshd wrote no pid file within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// The fault host's sshd, with the lock that keeps fault tests apart.
async fn fault_sshd() -> (tokio::sync::MutexGuard<'static, ()>, usize, Sshd) {
    let faults = FAULTS.lock().await;
    let n = fault_host();
    let sshd = Sshd::of(n);
    assert!(
        sshd.pid().is_some(),
        "sshd of host{n} is not running: run tests/sandbox/up"
    );
    (faults, n, sshd)
}

/// Resumes a stopped sshd, even when the test fails.
struct Resume<'a>(&'a Sshd);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.signal_tree(libc::SIGCONT);
    }
}

/// Starts a killed sshd again, even when the test fails.
struct Restart<'a>(&'a Sshd);

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        if self.0.pid().is_none() {
            // No panic here: this may run while a failed test unwinds.
            if let Err(e) = self.0.start() {
                eprintln!("could not restore the sandbox host: {e}; run tests/sandbox/up");
            }
        }
    }
}

#[tokio::test]
async fn hung_host_times_out_while_others_answer() {
    let (_faults, n, sshd) = fault_sshd().await;

    let mut quick_keepalive = target(n);
    quick_keepalive.keepalive = Duration::from_secs(1);
    let connected = SshRemote::new(quick_keepalive);
    connected.run(&Command::new("true")).await.unwrap();
    let healthy = SshRemote::new(target(1));
    healthy.run(&Command::new("true")).await.unwrap();

    sshd.signal_tree(libc::SIGSTOP);
    let _resume = Resume(&sshd);

    let bound = Duration::from_secs(4);
    let fresh = SshRemote::new(target(n));
    let started = Instant::now();
    let probe = Command::new("true").timeout(bound);
    let (on_existing, on_fresh, on_healthy) =
        tokio::join!(connected.run(&probe), fresh.run(&probe), async {
            let r = healthy.run(&sh("echo ok")).await;
            (r, started.elapsed())
        },);
    let elapsed = started.elapsed();
    for err in [on_existing.unwrap_err(), on_fresh.unwrap_err()] {
        assert!(matches!(err, RemoteError::Timeout { .. }), "{err:?}");
    }
    // The bound holds (with slack for a loaded machine)...
    assert!(elapsed < bound + Duration::from_secs(2), "{elapsed:?}");
    // ...and the healthy host answered without waiting for the hung one's timeout.
    let (healthy_out, healthy_time) = on_healthy;
    assert_eq!(healthy_out.unwrap().stdout, b"ok\n");
    assert!(healthy_time < bound, "{healthy_time:?}");

    // Unanswered keepalives (every 1 s, 3 allowed) declare the connection dead.
    let deadline = Instant::now() + Duration::from_secs(8);
    while connected.is_connected() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !connected.is_connected(),
        "keepalives should have given up on the hung host"
    );

    // Resumed, the host answers again on the very same remotes.
    sshd.signal_tree(libc::SIGCONT);
    let out = connected
        .run(
            &Command::new("echo")
                .arg("back")
                .timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, b"back\n");
    let out = fresh
        .run(&Command::new("true").timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(out.success());
}

#[tokio::test]
async fn killed_host_fails_then_reconnects_after_restart() {
    let (_faults, n, sshd) = fault_sshd().await;

    let r = SshRemote::new(target(n));
    let before = r.run(&sh(r#"echo "$SSH_CONNECTION""#)).await.unwrap();
    let _restart = Restart(&sshd);
    // A command running when the host dies ends with Disconnected, promptly.
    let running = {
        let r = r.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = r
                .run(
                    &Command::new("sleep")
                        .arg("20")
                        .timeout(Duration::from_secs(15)),
                )
                .await;
            (result, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    sshd.signal_tree(libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sshd.pid().is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (result, took) = running.await.unwrap();
    let err = result.unwrap_err();
    assert!(matches!(err, RemoteError::Disconnected { .. }), "{err:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // With nothing listening, the next operation cannot connect.
    let err = r
        .run(&Command::new("true").timeout(Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Connect { .. }), "{err:?}");

    sshd.start().unwrap();
    let after = r
        .run(&sh(r#"echo "$SSH_CONNECTION""#).timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(after.success());
    assert_ne!(
        before.stdout, after.stdout,
        "a new connection (new client port)"
    );
}

#[tokio::test]
async fn a_brief_hang_leaks_no_sessions() {
    // Commands given up on while a host hangs must not leave channels that the
    // server confirms later and then holds for ever: a dozen of them would take
    // every session OpenSSH allows (MaxSessions 10) on the connection.
    let (_faults, n, sshd) = fault_sshd().await;
    let r = SshRemote::new(target(n));
    let whoami = sh(r#"echo "$SSH_CONNECTION""#).timeout(Duration::from_secs(10));
    let before = r.run(&whoami).await.unwrap();

    sshd.signal_tree(libc::SIGSTOP);
    let resume = Resume(&sshd);
    for _ in 0..12 {
        let err = r
            .run(&Command::new("true").timeout(Duration::from_millis(250)))
            .await
            .unwrap_err();
        assert!(matches!(err, RemoteError::Timeout { .. }), "{err:?}");
    }
    drop(resume);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // As many commands at once as opsctl runs on one connection, all on that
    // connection: they fit only if the hang left no sessions taken.
    let runs = (0..8).map(|_| r.run(&whoami));
    for (i, out) in futures::future::join_all(runs)
        .await
        .into_iter()
        .enumerate()
    {
        let out = out.unwrap_or_else(|e| panic!("command {i} after the hang: {e}"));
        assert_eq!(
            out.stdout_lossy(),
            before.stdout_lossy(),
            "command {i}: the connection was replaced (its sessions were used up)"
        );
    }
}

#[tokio::test]
async fn commands_move_to_a_new_connection_when_sessions_run_out() {
    // Long streams (log tails) give back their command slot, so they can hold every
    // session the server allows; a command then gets a connection of its own,
    // and the streams keep running on theirs.
    let r = SshRemote::new(target(1));
    let whoami = sh(r#"echo "$SSH_CONNECTION""#).timeout(Duration::from_secs(20));
    let before = r.run(&whoami).await.unwrap();
    let mut streams = Vec::new();
    for i in 0..10 {
        let mut rx = r
            .stream(&sh("echo started; exec sleep 30"))
            .await
            .unwrap_or_else(|e| panic!("stream {i}: {e}"));
        assert_eq!(rx.recv().await, Some(StreamEvent::Stdout("started".into())));
        streams.push(rx);
    }
    let after = r.run(&whoami).await.unwrap();
    assert_ne!(
        after.stdout, before.stdout,
        "a new connection (new client port)"
    );
    for (i, rx) in streams.iter_mut().enumerate() {
        assert!(
            matches!(
                rx.try_recv(),
                Err(tokio::sync::mpsc::error::TryRecvError::Empty)
            ),
            "stream {i} ended when the command moved"
        );
    }
}

#[tokio::test]
async fn a_flood_of_output_over_ssh_is_cut_and_the_connection_stays_usable() {
    let r = SshRemote::new(target(1));
    // `yes` never ends: without a bound the client would buffer until memory runs out.
    let cmd = Command::new("yes")
        .max_output(2 << 20)
        .timeout(Duration::from_secs(20));
    let started = Instant::now();
    let out = r.run(&cmd).await.unwrap();
    assert!(out.truncated, "{} bytes", out.stdout.len());
    assert_eq!(out.stdout.len(), 2 << 20);
    assert!(started.elapsed() < Duration::from_secs(15));
    let after = r
        .run(&Command::new("echo").arg("still here"))
        .await
        .unwrap();
    assert_eq!(after.stdout_lossy().trim(), "still here");
    assert!(!after.truncated);
}

#[tokio::test]
async fn an_endless_line_over_ssh_is_cut() {
    let r = SshRemote::new(target(1));
    let cmd = Command::shell_script("head -c 3000000 /dev/zero | tr '\\0' y; echo; echo done");
    let mut rx = r.stream(&cmd).await.unwrap();
    let mut lines = Vec::new();
    while let Some(ev) = rx.recv().await {
        match ev {
            StreamEvent::Stdout(l) => lines.push(l),
            StreamEvent::Exit(_) => break,
            StreamEvent::Stderr(_) => {}
        }
    }
    assert_eq!(
        lines.len(),
        2,
        "{:?}",
        lines.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(lines[0].ends_with(opsctl::remote::lines::CUT_MARK));
    assert_eq!(lines[1], "done");
}
