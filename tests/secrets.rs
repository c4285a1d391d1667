//! Secrets never leave opsctl: a secret is planted in every place a profile can
//! hold one or point at one (URL credentials, a secret query value, a header value
//! written in the profile, header and basic-auth values read from environment
//! variables and files), the checks really run against a loopback server, and
//! every output path is searched: table, JSON, Markdown, `config show`, the
//! console's frames, the log file, stderr logs, and error messages (a check that
//! fails, a profile that does not load).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command as Std;
use std::time::{Duration, Instant};

use assert_cmd::Command;

const URL_PASSWORD: &str = "PWurl5f3aQ";
const QUERY_TOKEN: &str = "TOKquery81c2";
const HEADER_PLAIN: &str = "HDRplain77abZ";
const HEADER_ENV: &str = "HDRenv3e9dY";
const HEADER_FILE: &str = "HDRfile1a2bX";
const PASSWORD_ENV: &str = "PWenvc0deW";
const PASSWORD_FILE: &str = "PWfile9b1fV";

const ALL: [&str; 7] = [
    URL_PASSWORD,
    QUERY_TOKEN,
    HEADER_PLAIN,
    HEADER_ENV,
    HEADER_FILE,
    PASSWORD_ENV,
    PASSWORD_FILE,
];

/// A server that answers every request with 503 and remembers what it received,
/// so the test also proves the secrets were really sent (and so really read).
fn serve() -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8192];
            let n = conn.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = conn.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (port, rx)
}

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn write_profile(dir: &Path, port: u16) -> std::path::PathBuf {
    std::fs::write(dir.join("header.secret"), format!("{HEADER_FILE}\n")).unwrap();
    std::fs::write(dir.join("password.secret"), format!("{PASSWORD_FILE}\n")).unwrap();
    let closed = closed_port();
    let text = format!(
        r#"name = "secrets"
environment = "production"

[health]
interval_secs = 1

[[health.http]]
name = "userinfo"
url = "http://monitor:{URL_PASSWORD}@127.0.0.1:{port}/healthz?token={QUERY_TOKEN}&page=2"

[[health.http]]
name = "headers"
url = "http://127.0.0.1:{port}/api"
headers = [
  {{ name = "X-Plain", value = "{HEADER_PLAIN}" }},
  {{ name = "Authorization", value_env = "OPSCTL_TEST_HEADER" }},
  {{ name = "X-From-File", value_file = "{hf}" }},
]
basic_auth = {{ user = "monitor", password_env = "OPSCTL_TEST_PASSWORD" }}

[[health.http]]
name = "file-auth"
url = "http://127.0.0.1:{port}/admin"
basic_auth = {{ user = "admin", password_file = "{pf}" }}

[[health.http]]
name = "refused"
url = "http://ops:{URL_PASSWORD}@127.0.0.1:{closed}/x?api_key={QUERY_TOKEN}"

[[hosts]]
name = "localhost"
transport = "local"
"#,
        hf = dir.join("header.secret").display(),
        pf = dir.join("password.secret").display(),
    );
    let path = dir.join("secrets.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn opsctl(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.current_dir(dir)
        .env_remove("OPSCTL_PROFILE")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("OPSCTL_TEST_HEADER", HEADER_ENV)
        .env("OPSCTL_TEST_PASSWORD", PASSWORD_ENV)
        // Every crate's debug logs, reqwest's and hyper's included.
        .env("OPSCTL_LOG", "debug");
    cmd
}

fn assert_clean(what: &str, text: &str) {
    for s in ALL {
        assert!(!text.contains(s), "{what} shows the secret {s}:\n{text}");
    }
}

#[test]
fn no_output_path_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (port, received) = serve();
    let profile = write_profile(dir.path(), port);
    let p = profile.to_str().unwrap();
    for args in [
        vec!["--profile", p, "health"],
        vec!["--profile", p, "health", "--json"],
        vec!["--profile", p, "health", "--markdown"],
        vec!["--profile", p, "config", "show"],
        vec!["--profile", p, "config", "show", "--json"],
        vec!["--profile", p, "config", "check"],
    ] {
        let out = opsctl(dir.path()).args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_clean(&format!("stdout of {args:?}"), &stdout);
        assert_clean(&format!("stderr of {args:?}"), &stderr);
        if args.contains(&"health") {
            assert!(
                stdout.contains("503") || stdout.contains("wrong status"),
                "{stdout}"
            );
            assert!(stdout.contains("connection refused"), "{stdout}");
        }
        if args == ["--profile", p, "config", "show"] {
            assert!(
                stdout.contains("OPSCTL_TEST_HEADER"),
                "env var names are shown: {stdout}"
            );
            assert!(stdout.contains("monitor:***@"), "{stdout}");
        }
    }
    // The secrets were really read and sent: the server saw them.
    let seen: String = received.try_iter().collect::<Vec<_>>().join("\n");
    assert!(
        seen.contains(HEADER_PLAIN) && seen.contains(HEADER_ENV),
        "{seen}"
    );
    assert!(seen.contains(HEADER_FILE), "{seen}");
    assert!(
        seen.contains("Authorization: Basic") || seen.contains("authorization: Basic"),
        "{seen}"
    );
    assert!(seen.contains(QUERY_TOKEN), "{seen}");
}

#[test]
fn profile_errors_do_not_echo_secrets() {
    let dir = tempfile::tempdir().unwrap();
    for (text, what) in [
        (
            format!(
                "name = \"x\"\n[[health.http]]\nname = \"a\"\nurl = \"htp://user:{URL_PASSWORD}@host/x\"\n"
            ),
            "a bad scheme",
        ),
        (
            format!("name = \"x\"\n[health]\npassword = \"{PASSWORD_FILE}\"\n"),
            "a secret in the wrong place",
        ),
        (
            format!(
                "name = \"x\"\n[[health.http]]\nname = \"a\"\nurl = \"https://h/?token={QUERY_TOKEN}\"\ntimeout_secs = \"slow\"\n"
            ),
            "a type error near a secret URL",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, &text).unwrap();
        let out = opsctl(dir.path())
            .args(["--profile", path.to_str().unwrap(), "config", "check"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("bad.toml:"), "{what}: {stderr}");
        assert_clean(what, &stderr);
    }
}

#[test]
fn the_console_and_its_log_show_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _received) = serve();
    let profile = write_profile(dir.path(), port);
    let bin = assert_cmd::cargo::cargo_bin("opsctl");
    let session = format!("opsctl-secrets-{}", std::process::id());
    let env = format!(
        "XDG_STATE_HOME={state} XDG_CONFIG_HOME={config} OPSCTL_LOG=debug OPSCTL_TEST_HEADER={HEADER_ENV} OPSCTL_TEST_PASSWORD={PASSWORD_ENV}",
        state = dir.path().join("state").display(),
        config = dir.path().join("config").display(),
    );
    let cmd = format!(
        "env {env} {} --profile {}",
        bin.display(),
        profile.display()
    );
    let started = Std::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "160",
            "-y",
            "48",
            &cmd,
        ])
        .status()
        .expect("tmux: apt-get install -y tmux");
    assert!(started.success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Std::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .status();
        }
    }
    let _kill = Kill(session.clone());
    let capture = || {
        let out = Std::new("tmux")
            .args(["capture-pane", "-p", "-t", &session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Wait for the checks to have run (their latency reaches the fleet row).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut frames = Vec::new();
    loop {
        let screen = capture();
        frames.push(screen.clone());
        if screen.contains("localhost") && screen.contains("up") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Look at the host view, help and the palette too.
    for keys in [
        &["Enter"][..],
        &["?"],
        &["Escape"],
        &[":", "h"],
        &["Escape"],
    ] {
        let mut args = vec!["send-keys", "-t", session.as_str()];
        args.extend_from_slice(keys);
        Std::new("tmux").args(&args).status().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        frames.push(capture());
    }
    Std::new("tmux")
        .args(["send-keys", "-t", &session, "q"])
        .status()
        .unwrap();
    for f in &frames {
        assert_clean("a console frame", f);
    }
    assert!(frames.iter().any(|f| f.contains("localhost")), "{frames:?}");
    let log = dir.path().join("state/opsctl/opsctl.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.is_empty(),
        "the console logged at debug level to {}",
        log.display()
    );
    assert_clean("the console's log file", &text);
}
