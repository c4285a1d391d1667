//! `opsctl deploy`, `rollback`, `releases` and `lock` against the sandbox's real shop:
//! two web hosts under real SSH, gunicorn masters upgraded with USR2, nginx in front.
//! The tests take turns (they deploy to the same hosts) and each leaves both hosts
//! on v1, as the sandbox keeps them. Every wait and child process is bounded.

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

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const HOSTS: [&str; 2] = ["web1", "web2"];

/// The sandbox profile with its `[app]` changed by `edit`, written into `dir`.
fn profile(dir: &Path, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let text = std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap();
    let mut doc: toml::Table = text.parse().unwrap();
    edit(&mut doc);
    let path = dir.join("profile.toml");
    std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
    path
}

fn app(doc: &mut toml::Table) -> &mut toml::Table {
    doc.get_mut("app")
        .and_then(|a| a.as_table_mut())
        .expect("the sandbox profile has an [app]")
}

/// No post-deploy watch (tests of other things need not wait for it).
fn no_watch(doc: &mut toml::Table) {
    app(doc).remove("watch");
}

struct Run {
    dir: tempfile::TempDir,
    profile: PathBuf,
}

impl Run {
    fn new(edit: impl FnOnce(&mut toml::Table)) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let profile = profile(dir.path(), edit);
        Run { dir, profile }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-s", "INT", "-k", "10", "240"])
            .arg(assert_cmd::cargo::cargo_bin("opsctl"))
            .arg("--profile")
            .arg(&self.profile)
            .args(args)
            .env_remove("OPSCTL_PROFILE")
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("OPSCTL_OPERATOR", "deploy-test")
            .stdin(Stdio::null());
        c
    }

    fn opsctl(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        common::audit(&self.dir.path().join("state"))
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

fn deploy_dir(host: &str) -> PathBuf {
    PathBuf::from(var("SANDBOX_DEPLOY_DIR")).join(host)
}

/// The host's current release id and its revision.
fn current(host: &str) -> (String, String) {
    let dir = deploy_dir(host);
    let link = std::fs::read_link(dir.join("current")).unwrap();
    let id = link.file_name().unwrap().to_string_lossy().into_owned();
    let rev = std::fs::read_to_string(dir.join("current/REVISION")).unwrap();
    (id, rev.trim().to_string())
}

fn rev(tag: &str) -> String {
    var(&format!(
        "SANDBOX_APP_REV_{}",
        tag.to_uppercase().replace('-', "_")
    ))
}

fn releases(host: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(deploy_dir(host).join("releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn http(url: &str) -> Option<(u16, String)> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "5",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            url,
        ])
        .output()
        .ok()?;
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = body.rsplit_once('\n')?;
    Some((code.trim().parse().ok()?, body.to_string()))
}

/// What gunicorn on `host` serves: `/version`'s answer.
fn version(host: &str) -> String {
    let url = format!(
        "{}/version",
        var(&format!("SANDBOX_{}_URL", host.to_uppercase()))
    );
    http(&url)
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default()
}

/// Puts both hosts back on v1 (through opsctl itself) if a test left them elsewhere.
fn back_to_v1() {
    if HOSTS.iter().all(|h| current(h).1 == rev("v1")) {
        return;
    }
    let run = Run::new(no_watch);
    let out = run.opsctl(&["deploy", "v1"]);
    assert!(out.status.success(), "restoring v1: {}", text(&out));
}

fn lock_free(run: &Run) {
    let out = run.opsctl(&["lock", "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["held"], false, "the lock is still held: {v}");
    assert!(!deploy_dir("web1").join(".opsctl-lock").exists());
}

/// Polls a URL until stopped, counting answers that are not 200.
struct Poller {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<(usize, Vec<String>)>>,
}

impl Poller {
    fn start(url: String) -> Poller {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut n = 0;
            let mut bad = Vec::new();
            let end = Instant::now() + Duration::from_secs(300);
            while !s.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < end {
                n += 1;
                match http(&url) {
                    Some((200, _)) => {}
                    other => bad.push(format!("{other:?}")),
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (n, bad)
        });
        Poller {
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.take().unwrap().join().unwrap()
    }
}

/// Starts `opsctl ARGS` and returns it once a progress line on stderr contains `when`.
fn start_until(run: &Run, args: &[&str], when: &str) -> (Child, Vec<String>) {
    let mut child = run
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                // Progress lines only (`[HH:MM:SS] N/M host: step ...`): the plan
                // printed before the run names the same steps.
                let hit = line.starts_with('[') && line.contains(when);
                seen.push(line);
                if hit {
                    // Keep draining stderr so the child never blocks on it.
                    std::thread::spawn(move || while rx.recv().is_ok() {});
                    return (child, seen);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("never saw {when:?}; stderr:\n{}", seen.join("\n"));
}

fn wait(mut child: Child, secs: u64) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("opsctl did not end within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(child: &Child, sig: i32) {
    // `timeout` forwards the signal to opsctl.
    let pid = child.id() as i32;
    // SAFETY: kill(2) on the pid of a child we started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// The load generator, ended if the test fails first (it must not load the next test).
struct Load(Option<Child>);

impl Load {
    fn finish(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn deploy_under_load_then_roll_back_with_zero_failed_requests() {
    let _t = turn();
    back_to_v1();
    let run = Run::new(no_watch);
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();

    // The plan first: nothing changes on any host.
    let out = run.opsctl(&["deploy", "v2", "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["change"], "deploy");
    assert!(plan["steps"].as_array().unwrap().len() >= 10, "{plan}");
    let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    assert_eq!(before, after, "--dry-run changed a host");
    let rels: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();

    let load = Load(Some(
        Command::new(root().join("tests/sandbox/load"))
            .args(["--seconds", "40", "--rps", "15"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    std::thread::sleep(Duration::from_secs(2));
    let out = run.opsctl(&["deploy", "v2"]);
    assert!(out.status.success(), "{}", text(&out));
    for h in HOSTS {
        assert_eq!(current(h).1, rev("v2"), "{h} is not on v2");
        assert_eq!(version(h), "v2", "{h} does not serve v2");
    }
    let id = current("web1").0;
    assert_eq!(current("web2").0, id, "one release id on every host");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("migrate (once)"), "{stderr}");

    // releases: consistent, the new one current, with who and what.
    let out = run.opsctl(&["releases", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["consistent"], true, "{r}");
    for h in r["hosts"].as_array().unwrap() {
        assert_eq!(h["current"], id.as_str());
        let cur = h["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["current"] == true)
            .unwrap();
        assert_eq!(cur["ref"], "v2");
        assert_eq!(cur["revision"], rev("v2").as_str());
        assert_eq!(cur["deployed_by"], "deploy-test");
    }
    for h in HOSTS {
        let log = std::fs::read_to_string(deploy_dir(h).join("revisions.log")).unwrap();
        let want = format!("deployed as release {id} by deploy-test");
        assert!(log.lines().last().unwrap().contains(&want), "{h}: {log}");
    }

    // Back to v1: the rollback crosses v2's migration. Production asks again.
    let prod = Run::new(|doc| {
        no_watch(doc);
        doc.insert("environment".into(), "production".into());
    });
    let out = prod.opsctl(&["rollback", "--confirm", "production"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--cross-migrations"),
        "{}",
        text(&out)
    );
    assert_eq!(
        current("web1").1,
        rev("v2"),
        "a refused rollback changed web1"
    );
    let out = run.opsctl(&["rollback"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0002_review"),
        "{}",
        text(&out)
    );
    for (h, b) in HOSTS.iter().zip(&rels) {
        assert_eq!(current(h).1, rev("v1"), "{h} is not back on v1");
        assert!(
            b.contains(&current(h).0),
            "{h}: rolled back to its previous release"
        );
        let log = std::fs::read_to_string(deploy_dir(h).join("revisions.log")).unwrap();
        assert!(
            log.lines()
                .last()
                .unwrap()
                .starts_with("deploy-test rolled back to release"),
            "{log}"
        );
    }
    let load = load.finish();
    let said = String::from_utf8_lossy(&load.stdout);
    assert!(said.contains("requests in"), "{said}");
    let failed: Vec<&str> = said
        .split_whitespace()
        .filter(|w| w.starts_with("error:") || w.starts_with('5'))
        .collect();
    assert!(
        failed.is_empty(),
        "requests failed during the deploy: {said}"
    );

    let audit = run.audit();
    let last: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r["change"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(last, [("deploy", "ok"), ("rollback", "ok")], "{audit:?}");
    // The hosts keep the same records: any operator sees them with --hosts.
    let out = run.opsctl(&["audit", "--hosts", "--json", "--since", "10m"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mine: Vec<&Value> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["plan_id"] == audit[0]["plan_id"] || r["plan_id"] == audit[1]["plan_id"])
        .collect();
    assert_eq!(mine.len(), 2, "{v}");
    for r in mine {
        assert_eq!(
            r["found_on"],
            serde_json::json!(["local", "web1", "web2"]),
            "{r}"
        );
    }
    lock_free(&run);
}

#[test]
fn a_release_that_cannot_boot_is_switched_back_and_the_next_host_never_switched() {
    let _t = turn();
    back_to_v1();
    let run = Run::new(no_watch);
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    let rels: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();
    let poll = Poller::start(format!("{}/healthz", var("SANDBOX_WEB1_URL")));
    let out = run.opsctl(&["deploy", "v3-broken"]);
    let (n, bad) = poll.finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("web1: restart"), "{stderr}");
    assert!(stderr.contains("workers did not boot"), "{stderr}");
    // The plan lists web2's switch; the progress must never start it.
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with('[') && l.contains("web2: switch current")),
        "web2 must never be switched: {stderr}"
    );
    // Every host on the release it started with; the failed release is gone.
    let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    assert_eq!(before, after);
    let rels_after: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();
    assert_eq!(rels, rels_after, "the failed release was left behind");
    assert!(n > 10, "the poller ran {n} times");
    assert!(
        bad.is_empty(),
        "web1 served errors during the failed deploy: {bad:?}"
    );
    for h in HOSTS {
        assert_eq!(
            http(&format!(
                "{}/healthz",
                var(&format!("SANDBOX_{}_URL", h.to_uppercase()))
            ))
            .map(|x| x.0),
            Some(200)
        );
    }
    let audit = run.audit();
    let rec = audit.last().unwrap();
    assert_eq!(rec["outcome"], "failed");
    let detail = rec["detail"].as_str().unwrap();
    assert!(detail.contains("web1: restart"), "{detail}");
    assert!(
        detail.contains("every host is back where it started"),
        "{detail}"
    );
    lock_free(&run);
}

/// Each fault point of a deploy: the build, the migration, the health gate; each
/// ends with every host where it started and the lock free.
#[test]
fn failures_at_build_migrate_and_gate_leave_every_host_where_it_started() {
    let _t = turn();
    back_to_v1();
    type Edit = fn(&mut toml::Table);
    let faults: [(&str, Edit, &str); 3] = [
        (
            "build",
            |doc| {
                no_watch(doc);
                let a = app(doc);
                a.insert(
                    "build".into(),
                    toml::Value::try_from(vec![vec![
                        "sh",
                        "-c",
                        "echo static files broke >&2; exit 7",
                    ]])
                    .unwrap(),
                );
            },
            "static files broke",
        ),
        (
            "migrate",
            |doc| {
                no_watch(doc);
                app(doc).insert(
                    "migrate".into(),
                    toml::Value::try_from(vec![vec![
                        "sh",
                        "-c",
                        "echo migration 0002 failed >&2; exit 1",
                    ]])
                    .unwrap(),
                );
            },
            "migration 0002 failed",
        ),
        (
            "gate",
            |doc| {
                no_watch(doc);
                let h = app(doc)
                    .get_mut("health")
                    .and_then(|h| h.as_table_mut())
                    .unwrap();
                h.insert("expect_body".into(), "never-in-the-body".into());
                h.insert("retries".into(), 2.into());
            },
            "failed its health gate",
        ),
    ];
    for (name, edit, says) in faults {
        let run = Run::new(edit);
        let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
        let rels: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();
        let out = run.opsctl(&["deploy", "v2"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{name}: {err}");
        let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
        assert_eq!(before, after, "{name}: a host was left on another release");
        let rels_after: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();
        assert_eq!(
            rels, rels_after,
            "{name}: the failed release was left behind"
        );
        for h in HOSTS {
            assert_eq!(version(h), "v1", "{name}: {h} does not serve v1");
        }
        let rec = run.audit().pop().unwrap();
        assert_eq!(rec["outcome"], "failed", "{name}: {rec}");
        assert!(
            rec["detail"].as_str().unwrap().contains(says),
            "{name}: {rec}"
        );
        lock_free(&run);
    }
    // The gate failure switched web1 and restarted it: it must serve v1 again.
    assert_eq!(current("web1").1, rev("v1"));
}

#[test]
fn a_slow_release_is_rolled_back_by_the_watch() {
    let _t = turn();
    back_to_v1();
    let run = Run::new(|doc| {
        let w = app(doc)
            .get_mut("watch")
            .and_then(|w| w.as_table_mut())
            .expect("the sandbox profile watches /products/");
        w.insert("duration_secs".into(), 12.into());
        // v4-slow is ~5x slower; 2x leaves room for a noisy baseline on 2 cores.
        w.insert("max_p95_ratio".into(), 2.0.into());
    });
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    let out = run.opsctl(&["deploy", "v4-slow"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("p95 latency"), "{err}");
    let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    assert_eq!(before, after, "the watch did not put every host back");
    let rec = run.audit().pop().unwrap();
    assert_eq!(rec["outcome"], "rolled-back", "{rec}");
    assert!(
        rec["detail"]
            .as_str()
            .unwrap()
            .contains("post-deploy watch")
    );
    lock_free(&run);
}

/// p95 of `n` requests to `url`, as curl times them, in ms.
fn p95_ms(url: &str, n: usize) -> f64 {
    let mut ms: Vec<f64> = (0..n)
        .filter_map(|_| {
            let out = Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "5",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{time_total}",
                    url,
                ])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|s| s * 1000.0)
        .collect();
    assert!(ms.len() >= n / 2, "{url} hardly answered");
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)]
}

/// The watch probes only /healthz (as fast on v4-slow as on v1); the slow page
/// is seen in the real traffic of the gunicorn access logs, and rolls back.
#[test]
fn the_watch_rolls_back_on_what_the_access_logs_show() {
    let _t = turn();
    back_to_v1();
    let products: Vec<String> = HOSTS
        .iter()
        .map(|h| {
            format!(
                "{}/products/",
                var(&format!("SANDBOX_{}_URL", h.to_uppercase()))
            )
        })
        .collect();
    // The threshold from what v1 does here now: v4-slow is several times slower.
    let v1 = products.iter().map(|u| p95_ms(u, 20)).fold(0.0, f64::max);
    let limit = (v1 * 2.5).max(v1 + 40.0);
    let run = Run::new(|doc| {
        let w = app(doc)
            .get_mut("watch")
            .and_then(|w| w.as_table_mut())
            .expect("the sandbox profile has a watch");
        w.insert("duration_secs".into(), 15.into());
        w.insert("paths".into(), toml::Value::Array(vec!["/healthz".into()]));
        w.insert("max_p95_ms".into(), limit.into());
        w.insert("max_p95_ratio".into(), 1000.0.into());
        w.insert("min_requests".into(), 20.into());
        assert_eq!(
            w.get("access_log").and_then(|v| v.as_str()),
            Some("shared/log/gunicorn-access.log"),
            "the sandbox profile reads the gunicorn access logs"
        );
    });
    let visitors: Vec<Poller> = products.iter().cloned().map(Poller::start).collect();
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    let out = run.opsctl(&["deploy", "v4-slow"]);
    let seen: Vec<(usize, Vec<String>)> = visitors.into_iter().map(Poller::finish).collect();
    assert_eq!(
        out.status.code(),
        Some(1),
        "v1 p95 {v1:.0} ms, limit {limit:.0} ms: {}",
        text(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("watch: access logs: p95 latency"), "{err}");
    assert!(
        err.contains("watch: access logs: ") && err.contains("before the deploy"),
        "{err}"
    );
    assert_eq!(before, HOSTS.iter().map(|h| current(h)).collect::<Vec<_>>());
    for (n, _) in &seen {
        assert!(*n > 20, "the visitors sent {n} requests");
    }
    let rec = run.audit().pop().unwrap();
    assert_eq!(rec["outcome"], "rolled-back", "{rec}");
    assert!(
        rec["detail"].as_str().unwrap().contains("access logs"),
        "{rec}"
    );
    lock_free(&run);
}

/// A repository only this machine reaches (a path relative to where opsctl
/// runs): the hosts cannot fetch it, so without `push` the plan fails; with it,
/// opsctl packs the revision here and every host's release comes from that.
#[test]
fn a_repository_only_this_machine_reaches_is_pushed_from_here() {
    let _t = turn();
    back_to_v1();
    let here = tempfile::tempdir().unwrap();
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    let work = here.path().join("work");
    git(
        here.path(),
        &[
            "clone",
            "-q",
            "--branch",
            "v2",
            &var("SANDBOX_GIT_REPO"),
            "work",
        ],
    );
    std::fs::write(work.join("PUSHED_FROM_HERE"), "yes\n").unwrap();
    git(&work, &["add", "PUSHED_FROM_HERE"]);
    git(
        &work,
        &[
            "commit",
            "-q",
            "-m",
            "a commit the hosts' repository never had",
        ],
    );
    git(&work, &["tag", "pushed-test"]);
    git(here.path(), &["clone", "-q", "--bare", "work", "shop.git"]);
    let out = Command::new("git")
        .args(["-C", "work", "rev-parse", "HEAD"])
        .current_dir(here.path())
        .output()
        .unwrap();
    let pushed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let state = |push: bool| {
        move |doc: &mut toml::Table| {
            no_watch(doc);
            app(doc).insert("repository".into(), "shop.git".into());
            app(doc).insert("push".into(), push.into());
        }
    };
    let fetched = Run::new(state(false));
    let out = fetched
        .cmd(&["deploy", "pushed-test"])
        .current_dir(here.path())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("git ls-remote shop.git"),
        "{}",
        text(&out)
    );

    let run = Run::new(state(true));
    let dry = run
        .cmd(&["deploy", "pushed-test", "--dry-run"])
        .current_dir(here.path())
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", text(&dry));
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(plan.contains("uploaded from here"), "{plan}");
    assert!(!plan.contains("update the repository mirror"), "{plan}");
    let out = run
        .cmd(&["deploy", "pushed-test"])
        .current_dir(here.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for h in HOSTS {
        assert_eq!(current(h).1, pushed, "{h}");
        assert!(
            deploy_dir(h).join("current/PUSHED_FROM_HERE").is_file(),
            "{h}"
        );
        assert_eq!(version(h), "v2", "{h}");
    }
    // opsctl's own mirror is in its state dir, not on the hosts.
    let mirrors = run.dir.path().join("state/opsctl/mirrors");
    assert_eq!(
        std::fs::read_dir(&mirrors).unwrap().count(),
        1,
        "{mirrors:?}"
    );
    lock_free(&run);
    back_to_v1();
}

#[test]
fn a_second_deploy_is_refused_with_the_holder_and_signals_release_the_lock() {
    let _t = turn();
    back_to_v1();
    // A slow build keeps the first deploy in its prepare phase for a while.
    let slow = Run::new(|doc| {
        no_watch(doc);
        app(doc).insert(
            "build".into(),
            toml::Value::try_from(vec![vec!["sleep", "20"]]).unwrap(),
        );
    });
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    let rels: Vec<_> = HOSTS.iter().map(|h| releases(h)).collect();
    let (first, _) = start_until(&slow, &["deploy", "v2"], "build: sleep 20 ...");
    let other = Run::new(no_watch);
    let out = other.opsctl(&["deploy", "v2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by deploy-test"), "{err}");
    assert!(err.contains("Deploy shop v2"), "{err}");
    let status = other.opsctl(&["lock", "status", "--json"]);
    let v: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["held"], true);
    assert_eq!(v["holder"]["who"], "deploy-test");
    assert_eq!(other.audit().pop().unwrap()["outcome"], "refused");

    // SIGTERM during the prepare phase.
    signal(&first, libc::SIGTERM);
    let s = wait(first, 60);
    assert_eq!(s.code(), Some(1));
    lock_free(&other);
    let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    assert_eq!(before, after);
    assert_eq!(rels, HOSTS.iter().map(|h| releases(h)).collect::<Vec<_>>());
    let rec = slow.audit().pop().unwrap();
    assert!(
        rec["detail"].as_str().unwrap().contains("interrupted"),
        "{rec}"
    );

    // Ctrl-C (SIGINT) in the middle of web1's restart: web1 goes back to v1.
    let run = Run::new(no_watch);
    let (second, _) = start_until(
        &run,
        &["deploy", "v2"],
        "web1: restart (gunicorn USR2, then WINCH+TERM of the old master) ...",
    );
    std::thread::sleep(Duration::from_millis(1500));
    signal(&second, libc::SIGINT);
    let s = wait(second, 120);
    assert_eq!(s.code(), Some(1));
    lock_free(&run);
    for h in HOSTS {
        assert_eq!(current(h).1, rev("v1"), "{h} was left on the new release");
        let (code, _) = http(&format!(
            "{}/healthz",
            var(&format!("SANDBOX_{}_URL", h.to_uppercase()))
        ))
        .unwrap();
        assert_eq!(code, 200, "{h} does not serve after the interrupted deploy");
    }
    // Exactly one master serves web1, and it runs v1.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..20 {
        assert_eq!(version("web1"), "v1", "web1 serves another release");
    }
    // No upgrade left half-done: one gunicorn master serves web1 (a `.pid.2`
    // naming a master that is gone is harmless: the next restart clears it).
    let pid_file = PathBuf::from(var("SANDBOX_WEB1_GUNICORN_PID_FILE"));
    let half = PathBuf::from(format!("{}.2", pid_file.display()));
    let masters = || -> (Vec<i32>, String) {
        let ps = Command::new("ps")
            .args(["-eo", "pid,ppid,args"])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let procs: Vec<(i32, i32)> = ps
            .lines()
            .filter(|l| l.contains("--name shop-web1"))
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
            })
            .collect();
        let pids: Vec<i32> = procs.iter().map(|p| p.0).collect();
        let masters = procs
            .iter()
            .filter(|(_, ppid)| !pids.contains(ppid))
            .map(|p| p.0)
            .collect();
        (masters, ps)
    };
    let end = Instant::now() + Duration::from_secs(20);
    let (mut found, mut ps) = masters();
    while found.len() != 1 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
        (found, ps) = masters();
    }
    assert_eq!(
        found.len(),
        1,
        "web1 has {} gunicorn masters:\n{ps}",
        found.len()
    );
    if let Some(p2) = std::fs::read_to_string(&half)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    {
        // SAFETY: kill(2) with signal 0 only asks whether the process exists.
        let alive = unsafe { libc::kill(p2, 0) } == 0;
        assert!(
            !alive || found.contains(&p2),
            "{} names a live second master {p2}:\n{ps}",
            half.display()
        );
    }
}

#[test]
fn read_only_and_production_refuse_and_bad_input_is_a_usage_error() {
    let _t = turn();
    back_to_v1();
    let before: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    let ro = Run::new(|doc| {
        doc.insert("read_only".into(), true.into());
    });
    let out = ro.opsctl(&["deploy", "v2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    let prod = Run::new(|doc| {
        doc.insert("environment".into(), "production".into());
    });
    let out = prod.opsctl(&["deploy", "v2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--confirm production"));
    let out = prod.opsctl(&["deploy", "v2", "--confirm", "staging"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = prod.opsctl(&["lock", "break", "--confirm", "production"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not held"));
    let out = prod.opsctl(&["deploy", "no-such-tag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-tag"));
    let out = prod.opsctl(&["rollback", "20990101000000_nothere"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let after: Vec<_> = HOSTS.iter().map(|h| current(h)).collect();
    assert_eq!(before, after);
    let outcomes: Vec<String> = ro
        .audit()
        .into_iter()
        .chain(prod.audit())
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["refused", "refused", "refused"]);

    // A lock left behind is named, and breaking it is a confirmed, audited change.
    let lock = deploy_dir("web1").join(".opsctl-lock");
    std::fs::create_dir_all(&lock).unwrap();
    std::fs::write(
        lock.join("holder.json"),
        r#"{"who":"ana@laptop","from":"laptop","since":"2026-12-01T10:00:00Z","what":"Deploy shop v9","plan_id":"x"}"#,
    )
    .unwrap();
    let out = prod.opsctl(&["lock", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("held by ana@laptop on laptop"),
        "{}",
        text(&out)
    );
    let out = prod.opsctl(&["lock", "break"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(lock.exists(), "an unconfirmed break must not break it");
    let out = prod.opsctl(&["lock", "break", "--confirm", "production"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!lock.exists());
    let rec = prod.audit().pop().unwrap();
    assert_eq!(rec["change"], "lock.break");
    assert_eq!(rec["outcome"], "ok");
}

/// The console in tmux: the real binary, its Deploy tab, a deploy and a rollback
/// from keys, each through the confirmation dialog.
#[test]
fn the_deploy_tab_deploys_and_rolls_back_from_keys_in_tmux() {
    let _t = turn();
    back_to_v1();
    let run = Run::new(no_watch);
    let name = format!("opsctl-deploy-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux not runnable ({e}): apt-get install -y tmux"))
    };
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .output();
        }
    }
    let script = format!(
        "env XDG_CONFIG_HOME='{state}' XDG_STATE_HOME='{state}' OPSCTL_OPERATOR=deploy-test '{bin}' --profile '{profile}' console; echo opsctl-exit=$?; sleep 30",
        state = run.dir.path().join("state").display(),
        bin = env!("CARGO_BIN_EXE_opsctl"),
        profile = run.profile.display(),
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "160",
        "-y",
        "48",
        &script,
    ]);
    assert!(started.status.success(), "{started:?}");
    let _kill = Kill(name.clone());
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", name.as_str()];
        a.extend_from_slice(k);
        assert!(tmux(&a).status.success());
    };
    let wait = |what: &str, secs: u64, ok: &dyn Fn(&str) -> bool| -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen =
                String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &name]).stdout)
                    .into_owned();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait("the fleet", 30, &|s| {
        s.contains("web1") && s.contains("web2")
    });
    keys(&["5"]);
    wait("the releases", 30, &|s| s.contains("every host runs v1"));
    keys(&[":"]);
    keys(&["-l", "deploy v2"]);
    keys(&["Enter"]);
    wait("the plan dialog", 60, &|s| {
        s.contains("Deploy shop v2") && s.contains("Confirm")
    });
    keys(&["Tab"]);
    keys(&["Enter"]);
    let screen = wait("the deploy to end", 150, &|s| {
        s.contains("· done") || s.contains("· FAILED")
    });
    assert!(screen.contains("· done"), "{screen}");
    assert!(screen.contains("✓"), "{screen}");
    for h in HOSTS {
        assert_eq!(current(h).1, rev("v2"), "{h} is not on v2");
    }
    keys(&["Escape"]);
    wait("the new release listed", 30, &|s| {
        s.contains("every host runs v2")
    });
    keys(&["b"]);
    wait("the rollback dialog", 60, &|s| {
        s.contains("Roll shop back") && s.contains("Confirm")
    });
    keys(&["Tab"]);
    keys(&["Enter"]);
    let screen = wait("the rollback to end", 150, &|s| {
        s.contains("· done") || s.contains("· FAILED")
    });
    assert!(screen.contains("· done"), "{screen}");
    for h in HOSTS {
        assert_eq!(current(h).1, rev("v1"), "{h} is not back on v1");
    }
    keys(&["q"]);
    let screen = wait("the console to exit", 30, &|s| s.contains("opsctl-exit="));
    assert!(screen.contains("opsctl-exit=0"), "{screen}");
    let outcomes: Vec<(String, String)> = run
        .audit()
        .iter()
        .map(|r| {
            (
                r["change"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("deploy".to_string(), "ok".to_string()),
            ("rollback".into(), "ok".into())
        ]
    );
    lock_free(&run);
}
