//! End to end: the real binary in tmux against the sandbox (tests/sandbox/up).
//! The fleet shows the sandbox hosts; a SIGSTOPped sshd turns its row unreachable
//! within two intervals while the console keeps answering keys; `q` exits with
//! status 0 and leaves the terminal as it found it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opsctl::config::Profile;

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tmux not runnable ({e}): apt-get install -y tmux"))
}

/// Ends our tmux session (only ours, by its unique name) however the test ends.
struct Session(String);

impl Session {
    fn capture(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.0]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.0.as_str()];
        args.extend_from_slice(keys);
        assert!(tmux(&args).status.success(), "send-keys {keys:?}");
    }

    fn format(&self, f: &str) -> String {
        let out = tmux(&["display-message", "-p", "-t", &self.0, f]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `ok` holds, at most `limit`; returns the screen and when.
    fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> (String, Instant) {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if ok(&screen) {
                return (screen, Instant::now());
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.0]);
    }
}

/// The sshd listener and every process under it: the per-connection sshd
/// processes carry established sessions, so a hung host means stopping them all.
fn process_tree(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the parenthesised command name: state, then the parent pid.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if let Some(ppid) = ppid {
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

fn signal_tree(root: i32, sig: i32) {
    for pid in process_tree(root) {
        // SAFETY: kill(2) on the sandbox sshd (checked by sshd_pid) and its children.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Resumes a stopped sshd tree however the test ends, so no host stays frozen.
struct Stopped(i32);

impl Drop for Stopped {
    fn drop(&mut self) {
        signal_tree(self.0, libc::SIGCONT);
    }
}

/// A probed, reachable host: up, warn or critical (a busy test machine may well
/// run its sandbox hosts hot), not unreachable and not waiting.
fn reachable(row: &str) -> bool {
    ['●', '▲', '✖'].iter().any(|&c| row.starts_with(c)) && !row.contains("unreachable")
}

fn row<'a>(screen: &'a str, host: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(host))
}

fn sshd_pid(root: &Path, n: usize) -> i32 {
    let dir = root.join(format!("target/sandbox/ssh/host{n}"));
    let text = std::fs::read_to_string(dir.join("sshd.pid"))
        .unwrap_or_else(|e| panic!("{}: {e}; is the sandbox up?", dir.display()));
    let pid: i32 = text.trim().parse().expect("pid file holds a pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(&format!("host{n}/sshd_config")),
        "pid {pid} is not the sandbox's sshd for host{n}: {cmdline}"
    );
    pid
}

#[test]
fn console_watches_the_sandbox_fleet_in_tmux() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let profile_path = root.join("target/sandbox/sandbox.toml");
    let text = std::fs::read_to_string(&profile_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; start the sandbox first: tests/sandbox/up",
            profile_path.display()
        )
    });
    let profile: Profile = toml::from_str(&text).expect("the sandbox profile parses");
    let names: Vec<String> = profile.hosts.iter().map(|h| h.name.clone()).collect();
    assert!(
        names.len() >= 2,
        "the sandbox needs at least two hosts: {names:?}"
    );
    let interval = profile.health.interval_secs;
    // The last host (hostN/ in the sandbox layout) is the one we stop.
    let victim_n = names.len();
    let victim = names[victim_n - 1].clone();
    let pid = sshd_pid(&root, victim_n);

    let home = tempfile::tempdir().expect("tempdir");
    let exit_file = home.path().join("exit");
    let bin = env!("CARGO_BIN_EXE_opsctl");
    // A private config and state dir: the user's keymap must not change the test.
    let script = format!(
        "env XDG_CONFIG_HOME={cfg} XDG_STATE_HOME={cfg} {bin} --profile {profile} console; \
         echo EXIT=$? > {exit}; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' ' >> {exit}; \
         echo opsctl-done; sleep 60",
        cfg = sh_quote(&home.path().display().to_string()),
        bin = sh_quote(bin),
        profile = sh_quote(&profile_path.display().to_string()),
        exit = sh_quote(&exit_file.display().to_string()),
    );
    let session = Session(format!("opsctl-e2e-{}", std::process::id()));
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.0,
        "-x",
        "160",
        "-y",
        "48",
        &script,
    ]);
    assert!(
        started.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&started.stderr)
    );

    // Every sandbox host appears and is probed.
    let (screen, _) = session.wait_for("every host probed", Duration::from_secs(30), |s| {
        names.iter().all(|n| row(s, n).is_some_and(reachable))
    });
    assert!(screen.contains("sandbox"), "{screen}");
    assert_eq!(
        session.format("#{alternate_on}"),
        "1",
        "the console uses the alternate screen"
    );

    // A hung host: its row turns unreachable within two intervals.
    let stopped_at = Instant::now();
    let stopped = Stopped(pid);
    signal_tree(pid, libc::SIGSTOP);
    let (screen, seen_at) = session.wait_for(
        "the stopped host unreachable",
        Duration::from_secs(60),
        |s| row(s, &victim).is_some_and(|r| r.contains("unreachable")),
    );
    let took = seen_at - stopped_at;
    let bound = Duration::from_secs_f64(2.0 * interval + 1.5);
    assert!(
        took <= bound,
        "unreachable after {took:?}, more than two intervals ({bound:?}):\n{screen}"
    );
    for n in &names[..victim_n - 1] {
        assert!(
            row(&screen, n).is_some_and(reachable),
            "{n} still reachable:\n{screen}"
        );
    }

    // The console keeps answering keys while the host hangs.
    session.keys(&["/"]);
    session.keys(&["-l", &names[0]]);
    let (screen, _) = session.wait_for("the filter applied", Duration::from_secs(5), |s| {
        s.contains(&format!("filter /{}_", names[0])) && row(s, &victim).is_none()
    });
    assert!(row(&screen, &names[0]).is_some(), "{screen}");
    session.keys(&["Escape"]);
    session.keys(&["?"]);
    session.wait_for("the help overlay", Duration::from_secs(5), |s| {
        s.contains("Keys — fleet view")
    });
    session.keys(&["Escape"]);
    session.wait_for("help closed, all rows back", Duration::from_secs(5), |s| {
        !s.contains("Keys — fleet view") && names.iter().all(|n| row(s, n).is_some())
    });

    // Resumed, the host comes back.
    drop(stopped);
    session.wait_for(
        "the resumed host reachable again",
        Duration::from_secs(60),
        |s| row(s, &victim).is_some_and(reachable),
    );

    // The Queries tab: the database's live statements and its slow log's last
    // minutes, read from db1 over SSH and joined to them.
    session.keys(&["3"]);
    let (screen, _) = session.wait_for(
        "the Queries tab with the slow log's window",
        Duration::from_secs(30),
        |s| s.contains("Statements (") && s.contains("slow log 15m:") && s.contains("SLOW p95"),
    );
    assert!(
        !screen.contains("slow log: "),
        "the slow log read failed:\n{screen}"
    );
    session.keys(&["1"]);
    session.wait_for("back on the fleet", Duration::from_secs(5), |s| {
        names.iter().all(|n| row(s, n).is_some())
    });

    session.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let text = std::fs::read_to_string(&exit_file).unwrap_or_default();
        if text.contains("EXIT=") && text.contains("echo") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "opsctl did not exit after q:\n{}",
            session.capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.starts_with("EXIT=0"), "{status}");
    // Cooked mode again: canonical input and echo on (stty prints `-icanon` when off).
    let modes: Vec<&str> = status
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(modes, ["icanon", "echo"], "{status:?}");
    let screen = session
        .wait_for("the shell after exit", Duration::from_secs(5), |s| {
            s.contains("opsctl-done")
        })
        .0;
    assert_eq!(
        session.format("#{alternate_on}"),
        "0",
        "alternate screen left:\n{screen}"
    );
    assert_eq!(session.format("#{cursor_flag}"), "1", "cursor shown again");
    assert!(
        !screen.contains("HOST"),
        "the fleet table is gone:\n{screen}"
    );
}

/// A stand-in systemctl (as tests/scale_cli.rs): a unit is active while
/// `$FAKE_SYSTEMD/<unit>` exists.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_SYSTEMD/calls"
cmd="$1"; shift
case "$cmd" in
  show) shift; [ "$1" = "--" ] && shift
        first=1
        for u in "$@"; do
          [ "$first" = 1 ] || echo
          first=0
          echo "Id=$u"
          if [ -e "$FAKE_SYSTEMD/$u" ]; then echo "ActiveState=active"; echo "SubState=running"
          else echo "ActiveState=inactive"; echo "SubState=dead"; fi
        done ;;
  start) [ "$1" = "--" ] && shift; for u in "$@"; do touch "$FAKE_SYSTEMD/$u"; done ;;
  stop) [ "$1" = "--" ] && shift; for u in "$@"; do rm -f "$FAKE_SYSTEMD/$u"; done ;;
  *) echo "unknown command $cmd" >&2; exit 1 ;;
esac
"#;

/// The Scale tab on a local host (no sandbox): the systemd target's count
/// shows, `+` is planned, confirmed and run, and the count goes up.
#[test]
fn console_scales_a_systemd_target_from_the_scale_tab() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin_dir = dir.path().join("bin");
    let units = dir.path().join("units");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::create_dir_all(&units).unwrap();
    let fake = bin_dir.join("systemctl");
    std::fs::write(&fake, FAKE_SYSTEMCTL).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(units.join("shop@8001.service"), "").unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        r#"name = "units"
environment = "staging"

[[hosts]]
name = "app1"
transport = "local"
roles = ["app"]

[[scale]]
name = "shop"
kind = "systemd"
roles = ["app"]
unit = "shop@{instance}.service"
instances = ["8001", "8002", "8003"]
min = 1
max = 3
timeout_secs = 5
"#,
    )
    .unwrap();
    let exit_file = dir.path().join("exit");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!(
        "env HOME={home} XDG_CONFIG_HOME={home} XDG_STATE_HOME={home} PATH={path} FAKE_SYSTEMD={units} \
         {bin} --profile {profile} console; echo EXIT=$? > {exit}; sleep 60",
        home = sh_quote(&dir.path().display().to_string()),
        path = sh_quote(&path),
        units = sh_quote(&units.display().to_string()),
        bin = sh_quote(&opsctl_bin()),
        profile = sh_quote(&profile.display().to_string()),
        exit = sh_quote(&exit_file.display().to_string()),
    );
    let session = Session(format!("opsctl-scale-e2e-{}", std::process::id()));
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.0,
        "-x",
        "160",
        "-y",
        "48",
        &script,
    ]);
    assert!(
        started.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let shop_row = |s: &str| {
        s.lines()
            .find(|l| l.contains("shop") && l.contains("app1"))
            .map(str::to_string)
    };
    session.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("6 Scale")
    });
    session.keys(&["6"]);
    let (screen, _) = session.wait_for("the count", Duration::from_secs(20), |s| {
        shop_row(s).is_some_and(|r| r.contains("1 instances"))
    });
    assert!(screen.contains("every host counted"), "{screen}");
    session.keys(&["+"]);
    let (screen, _) = session.wait_for("the plan's dialog", Duration::from_secs(20), |s| {
        s.contains("Scale shop +1") && s.contains("Confirm")
    });
    assert!(screen.contains("start shop@8002.service"), "{screen}");
    session.keys(&["Tab"]);
    session.keys(&["Enter"]);
    let (screen, _) = session.wait_for("the count up", Duration::from_secs(30), |s| {
        shop_row(s).is_some_and(|r| r.contains("2 instances"))
    });
    assert!(
        screen.contains("shop@8001.service shop@8002.service"),
        "{screen}"
    );
    assert!(units.join("shop@8002.service").exists());
    // From the fleet view: `-` on the host scales its app target down, through
    // the same dialog (the Scale tab comes up with it).
    session.keys(&["Escape"]);
    session.keys(&["1"]);
    session.wait_for("the fleet view", Duration::from_secs(10), |s| {
        s.contains("+/- scale") && s.contains("app1")
    });
    session.keys(&["-"]);
    let (screen, _) = session.wait_for("the -1 dialog", Duration::from_secs(20), |s| {
        s.contains("Scale shop -1") && s.contains("Confirm")
    });
    assert!(screen.contains("stop shop@8002.service"), "{screen}");
    session.keys(&["Tab"]);
    session.keys(&["Enter"]);
    session.wait_for("the count down", Duration::from_secs(30), |s| {
        shop_row(s).is_some_and(|r| r.contains("1 instances"))
    });
    assert!(!units.join("shop@8002.service").exists());
    session.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(&exit_file).unwrap_or_default();
        if text.contains("EXIT=") {
            assert!(text.starts_with("EXIT=0"), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "opsctl did not exit after q:\n{}",
            session.capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The binary under test.
fn opsctl_bin() -> String {
    env!("CARGO_BIN_EXE_opsctl").to_string()
}
