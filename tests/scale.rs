//! `opsctl scale` against the sandbox: gunicorn masters on web1/web2 (TTIN/TTOU
//! over real SSH) and the nginx load balancers lb1/lb2 (their upstream include
//! files, `nginx -t`, graceful reloads), under load. The tests take turns and
//! each leaves the sandbox as it found it: 2 workers per master, both backends.
//! Every wait and child process is bounded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

mod common;
use common::{sandbox, var};

struct Run {
    dir: tempfile::TempDir,
    profile: PathBuf,
}

impl Run {
    /// The sandbox profile, changed by `edit`.
    fn new(edit: impl FnOnce(&mut toml::Table)) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap();
        let mut doc: toml::Table = text.parse().unwrap();
        assert!(
            doc.get("scale").is_some(),
            "the sandbox profile has no [[scale]]: run tests/sandbox/up again"
        );
        edit(&mut doc);
        let profile = dir.path().join("profile.toml");
        std::fs::write(&profile, toml::to_string(&doc).unwrap()).unwrap();
        Run { dir, profile }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-s", "INT", "-k", "10", "120"])
            .arg(assert_cmd::cargo::cargo_bin("opsctl"))
            .arg("--profile")
            .arg(&self.profile)
            .args(args)
            .env_remove("OPSCTL_PROFILE")
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("OPSCTL_OPERATOR", "scale-test")
            .stdin(Stdio::null());
        c
    }

    fn opsctl(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        common::audit(&self.dir.path().join("state"))
    }

    /// `scale status --json`: target → host → count.
    fn counts(&self) -> BTreeMap<(String, String), u64> {
        let out = self.opsctl(&["scale", "status", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut m = BTreeMap::new();
        for t in v["targets"].as_array().unwrap() {
            for h in t["hosts"].as_array().unwrap() {
                m.insert(
                    (
                        t["name"].as_str().unwrap().to_string(),
                        h["host"].as_str().unwrap().to_string(),
                    ),
                    h["current"].as_u64().unwrap_or(u64::MAX),
                );
            }
        }
        m
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pid_file(host: &str) -> PathBuf {
    sandbox().join(format!("deploy/{host}/shared/tmp/gunicorn.pid"))
}

fn master(host: &str) -> u32 {
    std::fs::read_to_string(pid_file(host))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn children(pid: u32) -> Vec<u32> {
    let out = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &pid.to_string()])
        .output()
        .unwrap();
    let mut v: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

fn upstream(lb: &str) -> PathBuf {
    sandbox().join(format!("nginx/{lb}/upstream.conf"))
}

fn nginx_master(lb: &str) -> u32 {
    std::fs::read_to_string(sandbox().join(format!("nginx/{lb}/nginx.pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Puts the sandbox back: 2 workers on each master, both backends on both lbs.
fn restore() {
    let run = Run::new(|_| {});
    for host in ["web1", "web2"] {
        let n = children(master(host)).len();
        if n != 2 {
            let out = run.opsctl(&["scale", "web", "=2", "--host", host]);
            assert!(out.status.success(), "restoring {host}: {}", text(&out));
        }
    }
    for lb in ["lb1", "lb2"] {
        let t = std::fs::read_to_string(upstream(lb)).unwrap();
        let active = t
            .lines()
            .filter(|l| l.starts_with("server ") && !l.contains(" down"))
            .count();
        if active != 2 {
            let out = run.opsctl(&["scale", "backends", "=2"]);
            assert!(
                out.status.success(),
                "restoring the backends: {}",
                text(&out)
            );
            break;
        }
    }
}

/// The status of a GET of `url`, or why there is none (curl's own words: a
/// failure that never reached nginx leaves no trace in its logs).
fn curl(url: &str) -> Result<u16, String> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--cacert")
        .arg(sandbox().join("tls/ca.pem"))
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    match String::from_utf8_lossy(&out.stdout).trim().parse() {
        Ok(code) if code != 0 => Ok(code),
        _ => Err(format!(
            "curl exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Requests `urls` in turn from `threads` threads until stopped (at most 120 s),
/// counting answers that are not 200.
struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handles: Vec<std::thread::JoinHandle<(usize, Vec<String>)>>,
}

impl Load {
    fn start(urls: &[String], threads: usize) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles = (0..threads)
            .map(|i| {
                let s = stop.clone();
                let urls = urls.to_vec();
                std::thread::spawn(move || {
                    let mut n = 0;
                    let mut bad = Vec::new();
                    let end = Instant::now() + Duration::from_secs(120);
                    while !s.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < end {
                        let url = &urls[(n + i) % urls.len()];
                        n += 1;
                        match curl(url) {
                            Ok(200) => {}
                            other => bad.push(format!("{url}: {other:?}")),
                        }
                    }
                    (n, bad)
                })
            })
            .collect();
        Load { stop, handles }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut n = 0;
        let mut bad = Vec::new();
        for h in self.handles {
            let (k, b) = h.join().unwrap();
            n += k;
            bad.extend(b);
        }
        (n, bad)
    }
}

#[test]
fn scaling_gunicorn_up_and_down_changes_the_worker_count_and_nothing_else_under_load() {
    let _t = turn();
    restore();
    let run = Run::new(|_| {});
    let url = var("SANDBOX_WEB1_URL");
    let load = Load::start(&[format!("{url}/products/"), format!("{url}/healthz")], 2);
    let m1 = master("web1");
    let m2 = master("web2");
    let before = children(m1);
    let web2_before = children(m2);
    assert_eq!(before.len(), 2, "the sandbox runs 2 workers per master");

    let out = run.opsctl(&["scale", "web", "+2", "--host", "web1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("web1 2 → 4 workers"),
        "{}",
        text(&out)
    );
    let after = children(m1);
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(
        before.iter().all(|p| after.contains(p)),
        "the old workers kept serving: {before:?} {after:?}"
    );
    assert_eq!(master("web1"), m1, "the master is the same process");
    assert_eq!(children(m2), web2_before, "web2 was not asked");
    assert_eq!(run.counts()[&("web".into(), "web1".into())], 4);

    let out = run.opsctl(&["scale", "web", "-2", "--host", "web1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(children(m1).len(), 2);
    assert_eq!(master("web1"), m1);
    let (n, bad) = load.finish();
    assert!(n > 10, "the load ran: {n} requests");
    assert!(bad.is_empty(), "requests failed while scaling: {bad:?}");

    let audit = run.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|r| r["change"] == "scale" && r["outcome"] == "ok"),
        "{audit:?}"
    );
    assert_eq!(audit[0]["target"], "web +2");
    assert!(
        !sandbox().join("deploy/web1/.opsctl-lock").exists(),
        "the lock was released"
    );
}

#[test]
fn bounds_refuse_before_anything_is_sent() {
    let _t = turn();
    restore();
    let run = Run::new(|_| {});
    let m1 = master("web1");
    let before = children(m1);
    for (args, says) in [
        (&["scale", "web", "-2"][..], "below the target's min of 1"),
        (&["scale", "web", "=7"][..], "above the target's max of 6"),
        (&["scale", "web", "=2"][..], "nothing to change"),
        (
            &["scale", "backends", "-2"][..],
            "the last backend is never removed",
        ),
        (&["scale", "backends", "+1"][..], "only 0 backends to add"),
        (
            &["scale", "backends", "-1", "--member", "db1"][..],
            "is not an active backend",
        ),
    ] {
        let out = run.opsctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {}", text(&out));
    }
    assert_eq!(children(m1), before);
    for lb in ["lb1", "lb2"] {
        let t = std::fs::read_to_string(upstream(lb)).unwrap();
        assert!(!t.contains(" down"), "{t}");
    }
}

#[test]
fn a_read_only_or_unconfirmed_production_profile_is_refused_and_audited() {
    let _t = turn();
    restore();
    let m1 = master("web1");
    let before = children(m1);
    let ro = Run::new(|doc| {
        doc.insert("read_only".into(), toml::Value::Boolean(true));
    });
    let out = ro.opsctl(&["scale", "web", "+1", "--host", "web1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read-only"),
        "{}",
        text(&out)
    );
    assert_eq!(ro.audit()[0]["outcome"], "refused");

    let prod = Run::new(|doc| {
        doc.insert(
            "environment".into(),
            toml::Value::String("production".into()),
        );
    });
    let out = prod.opsctl(&["scale", "web", "+1", "--host", "web1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--confirm production"),
        "{}",
        text(&out)
    );
    assert_eq!(prod.audit()[0]["outcome"], "refused");
    assert_eq!(children(m1), before, "nothing was sent");
}

#[test]
fn draining_a_backend_under_load_loses_no_request_and_it_comes_back() {
    let _t = turn();
    restore();
    let run = Run::new(|_| {});
    let lb1 = var("SANDBOX_LB1_URL");
    let lb2 = var("SANDBOX_LB2_URL");
    // Uncached pages, one of them slow (~200 ms): requests are in flight on web2
    // when it is drained.
    let urls = [
        format!("{lb1}/search/?q=ZZ"),
        format!("{lb1}/healthz"),
        format!("{lb2}/healthz"),
        format!("{lb2}/orders/"),
    ];
    let load = Load::start(&urls, 4);
    std::thread::sleep(Duration::from_millis(500));
    let masters = [nginx_master("lb1"), nginx_master("lb2")];

    let out = run.opsctl(&["scale", "backends", "-1", "--member", "web2"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the old workers"), "the drain waited: {err}");
    for lb in ["lb1", "lb2"] {
        let t = std::fs::read_to_string(upstream(lb)).unwrap();
        assert!(!t.contains("127.0.0.3:8000"), "{lb}: {t}");
        assert!(
            t.contains("server 127.0.0.2:8000 max_fails=2 fail_timeout=5s;"),
            "{t}"
        );
        assert!(
            t.starts_with("# Generated"),
            "the rest of the file is kept: {t}"
        );
    }
    // Only web1 serves now: its access log grows, web2's does not.
    let web2_log = sandbox().join("deploy/web2/shared/log/gunicorn-access.log");
    let size = std::fs::metadata(&web2_log).map(|m| m.len()).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        std::fs::metadata(&web2_log).map(|m| m.len()).unwrap_or(0),
        size,
        "a drained backend gets no requests"
    );

    let out = run.opsctl(&["scale", "backends", "+1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added 127.0.0.3:8000"),
        "{}",
        text(&out)
    );
    let (n, bad) = load.finish();
    assert!(n > 10, "the load ran: {n}");
    assert!(bad.is_empty(), "requests failed while draining: {bad:?}");
    assert_eq!(
        [nginx_master("lb1"), nginx_master("lb2")],
        masters,
        "reloads, not restarts"
    );
    let c = run.counts();
    assert_eq!(c[&("backends".into(), "lb1".into())], 2);
    assert_eq!(c[&("backends".into(), "lb2".into())], 2);
}

/// A scale target of its own on web1: a "master" that ignores TTIN (so the count
/// never arrives) with one child, from a pid file in `dir`.
struct DeafMaster {
    child: Child,
    pid_file: PathBuf,
}

impl DeafMaster {
    fn start(dir: &Path) -> DeafMaster {
        let child = Command::new("sh")
            .args(["-c", "trap '' TTIN TTOU; sleep 100 & wait"])
            .spawn()
            .unwrap();
        let pid_file = dir.join("deaf.pid");
        std::fs::write(&pid_file, format!("{}\n", child.id())).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while children(child.id()).is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        DeafMaster { child, pid_file }
    }
}

impl Drop for DeafMaster {
    fn drop(&mut self) {
        for c in children(self.child.id()) {
            let _ = Command::new("kill").arg(c.to_string()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_deaf_target(doc: &mut toml::Table, pid_file: &Path, timeout: f64) {
    let mut t = toml::Table::new();
    t.insert("name".into(), "deaf".into());
    t.insert("kind".into(), "gunicorn".into());
    t.insert("hosts".into(), toml::Value::Array(vec!["web1".into()]));
    t.insert("pid_file".into(), pid_file.display().to_string().into());
    t.insert("timeout_secs".into(), toml::Value::Float(timeout));
    doc.get_mut("scale")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(toml::Value::Table(t));
}

#[test]
fn a_count_that_never_arrives_times_out_and_says_what_there_is() {
    let _t = turn();
    let dir = tempfile::tempdir().unwrap();
    let deaf = DeafMaster::start(dir.path());
    let run = Run::new(|doc| with_deaf_target(doc, &deaf.pid_file, 1.0));
    let started = Instant::now();
    let out = run.opsctl(&["scale", "deaf", "+1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has 1 workers, not 2"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "bounded");
    let audit = run.audit();
    assert_eq!(audit[0]["outcome"], "failed", "{audit:?}");
    assert!(
        audit[0]["detail"].as_str().unwrap().contains("not 2"),
        "{audit:?}"
    );
}

#[test]
fn an_interrupted_scale_says_what_each_host_has_and_releases_the_lock() {
    let _t = turn();
    let dir = tempfile::tempdir().unwrap();
    let deaf = DeafMaster::start(dir.path());
    let run = Run::new(|doc| with_deaf_target(doc, &deaf.pid_file, 60.0));
    let mut child = run
        .cmd(&["scale", "deaf", "+1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let end = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < end {
        let Some(Ok(line)) = lines.next() else { break };
        // The step's progress line: the script runs on web1 (and waits there).
        let running = line.starts_with('[') && line.contains("1/1 web1");
        seen.push(line);
        if running {
            break;
        }
    }
    assert!(seen.iter().any(|l| l.contains("1/1 web1")), "{seen:?}");
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest:?}");
    let said = rest.join("\n");
    assert!(said.contains("web1 has 1 workers now"), "{said}");
    assert!(said.contains("lock released"), "{said}");
    let audit = run.audit();
    assert_eq!(audit[0]["outcome"], "failed");
    assert!(
        audit[0]["detail"].as_str().unwrap().contains("interrupted"),
        "{audit:?}"
    );
    assert!(!sandbox().join("deploy/web1/.opsctl-lock").exists());
}

#[test]
fn a_failing_config_check_puts_the_file_back_and_reloads_nothing() {
    let _t = turn();
    restore();
    let run = Run::new(|doc| {
        let scale = doc.get_mut("scale").unwrap().as_array_mut().unwrap();
        for t in scale.iter_mut() {
            let t = t.as_table_mut().unwrap();
            if t["name"].as_str() == Some("backends") {
                // The check of lb2 fails (after lb1's passed and its file was written).
                t.insert(
                    "test".into(),
                    toml::Value::Array(vec![
                        "sh".into(),
                        "-c".into(),
                        "[ \"$0\" = lb1 ] || { echo 'emerg: bad upstream' >&2; exit 1; }".into(),
                        "{host}".into(),
                    ]),
                );
            }
        }
    });
    let files = [
        std::fs::read(upstream("lb1")).unwrap(),
        std::fs::read(upstream("lb2")).unwrap(),
    ];
    let workers = [children(nginx_master("lb1")), children(nginx_master("lb2"))];
    let out = run.opsctl(&["scale", "backends", "-1", "--member", "web2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lb2: the configuration check failed: emerg: bad upstream"),
        "{err}"
    );
    assert!(err.contains("nothing was reloaded"), "{err}");
    assert_eq!(
        std::fs::read(upstream("lb1")).unwrap(),
        files[0],
        "lb1's file is back"
    );
    assert_eq!(std::fs::read(upstream("lb2")).unwrap(), files[1]);
    assert_eq!(
        [children(nginx_master("lb1")), children(nginx_master("lb2"))],
        workers,
        "no reload: the same nginx workers serve"
    );
    assert_eq!(run.audit()[0]["outcome"], "failed");
}
