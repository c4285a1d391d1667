//! What collects the console's needs over the profile's remotes: the health
//! pollers, the HTTP checks, the process lists of hosts on screen, log tails.
//! This is the one place the console's view of the world meets the sources.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::{DatabaseEntry, Environment, HttpCheck, SlowLogSpec, Thresholds, secrets};
use crate::console::event::{AuditEntry, AuditSnapshot, Event};
use crate::console::feed::{AbortOnDrop, AppChange, FeedError, Feeds, Need, Running, Task};

use super::deploy_feed::{self, AppRoad, ChangeRoad, Changes};
use crate::config::Profile;
use crate::db::DbTarget;
use crate::db::source::{Source, explain_guard};
use crate::health::poller::{self, HostPoller};
use crate::logs::files::{self, StreamReader};
use crate::logs::{self, TailEvent};
use crate::ops::query_signal::{QuerySignal, Signal};
use crate::ops::{AuditLog, Consent, OpsContext, apply};
use crate::remote::Remote;
use crate::sql::digest::{self, window::WindowDigest};

/// A slow log and the remote it is read through.
type SlowLogRoad = (Arc<dyn Remote>, SlowLogSpec);

/// Resets a host's "list processes" flag when dropped.
struct ProcessesOn(Arc<AtomicBool>);

impl Drop for ProcessesOn {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// What the Queries tab's collectors need to know of the profile.
pub struct DbSettings {
    pub databases: Vec<DatabaseEntry>,
    /// Host names, in profile order (the remotes' order), for `via`.
    pub host_names: Vec<String>,
    pub profile: String,
    pub environment: Environment,
    pub read_only: bool,
}

pub struct HostFeeds {
    /// Taken by the first `HostHealth` need (pollers keep per-host state).
    pollers: Option<Vec<Box<dyn HostPoller>>>,
    /// Per host: whether its probe lists processes.
    processes: Vec<Arc<AtomicBool>>,
    remotes: Vec<Arc<dyn Remote>>,
    interval: Duration,
    http_checks: Vec<HttpCheck>,
    thresholds: Thresholds,
    db: Arc<DbSettings>,
    /// The app the Deploy tab deploys, or why it cannot be reached.
    app: Option<Result<Arc<AppRoad>, String>>,
    /// The profile, for what is planned from it (scale, warm); `None` in tests
    /// that plan nothing.
    profile: Option<Arc<Profile>>,
    changes: Changes,
}

impl HostFeeds {
    pub fn new(
        pollers: Vec<Box<dyn HostPoller>>,
        processes: Vec<Arc<AtomicBool>>,
        remotes: Vec<Arc<dyn Remote>>,
        interval: Duration,
        http_checks: Vec<HttpCheck>,
        thresholds: Thresholds,
        db: DbSettings,
    ) -> Self {
        HostFeeds {
            pollers: Some(pollers),
            processes,
            remotes,
            interval,
            http_checks,
            thresholds,
            db: Arc::new(db),
            app: None,
            profile: None,
            changes: Changes::default(),
        }
    }

    /// The profile scale targets and warms are planned from.
    pub fn with_profile(mut self, profile: Arc<Profile>) -> Self {
        self.profile = Some(profile);
        self
    }

    fn profile(&self) -> Result<Arc<Profile>, FeedError> {
        self.profile
            .clone()
            .ok_or_else(|| FeedError("no profile to plan from here".into()))
    }

    /// The app of the profile (`opsctl console` waits on `changes` before it exits).
    pub fn with_app(mut self, app: Option<Result<AppRoad, String>>, changes: Changes) -> Self {
        self.app = app.map(|r| r.map(Arc::new));
        self.changes = changes;
        self
    }

    fn app(&self) -> Result<Arc<AppRoad>, FeedError> {
        match &self.app {
            Some(Ok(a)) => Ok(a.clone()),
            Some(Err(e)) => Err(FeedError(e.clone())),
            None => Err(FeedError(
                "the profile has no [app] section (see the README's \"Deploys\")".into(),
            )),
        }
    }

    /// The remote a database's slow log is read through, and where it is.
    fn slow_log(&self, name: &str) -> Result<Option<SlowLogRoad>, FeedError> {
        let Some(spec) = self
            .db
            .databases
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.slow_log.clone())
        else {
            return Ok(None);
        };
        let i = self
            .db
            .host_names
            .iter()
            .position(|h| *h == spec.host)
            .ok_or_else(|| FeedError(format!("slow_log: no host `{}`", spec.host)))?;
        let remote =
            self.remotes.get(i).cloned().ok_or_else(|| {
                FeedError(format!("slow_log: host `{}` has no remote", spec.host))
            })?;
        Ok(Some((remote, spec)))
    }

    /// The target of database `name`, and the remote it is reached through.
    fn database(&self, name: &str) -> Result<(DbTarget, Option<Arc<dyn Remote>>), FeedError> {
        let entry = self
            .db
            .databases
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| FeedError(format!("no database `{name}` in the profile")))?;
        let target = DbTarget::from_entry(entry);
        let via = match &target.via {
            Some(host) => {
                let i = self
                    .db
                    .host_names
                    .iter()
                    .position(|h| h == host)
                    .ok_or_else(|| FeedError(format!("via: no host `{host}`")))?;
                self.remotes.get(i).cloned()
            }
            None => None,
        };
        Ok((target, via))
    }
}

/// How often the Queries tab re-reads a slow log's window: a digest of minutes
/// moves slowly, and each read costs the host a tail and a gzip.
const SLOW_LOG_EVERY: Duration = Duration::from_secs(30);

/// Digests the last minutes of a database's slow log every [`SLOW_LOG_EVERY`]
/// until dropped.
async fn watch_slow_log(
    db: String,
    remote: Arc<dyn Remote>,
    spec: SlowLogSpec,
    tx: mpsc::Sender<Event>,
) {
    let mut ticks = tokio::time::interval(SLOW_LOG_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = slow_log_window(&remote, &spec)
            .await
            .map_err(|e| secrets::scrub(&e).into_owned());
        let event = Event::SlowLog {
            db: db.clone(),
            result: Box::new(result),
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// One read of a slow log's window: the end of the file, digested from
/// `window_minutes` ago.
async fn slow_log_window(
    remote: &Arc<dyn Remote>,
    spec: &SlowLogSpec,
) -> Result<WindowDigest, String> {
    let label = format!("{}:{}", remote.name(), spec.path);
    let rx = files::fetch_tail(remote.as_ref(), &spec.path, spec.max_bytes)
        .await
        .map_err(|e| e.to_string())?;
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let since = now_us - i64::from(spec.window_minutes) * 60_000_000;
    let minutes = spec.window_minutes;
    // The digest reads with blocking I/O: off the runtime's workers.
    tokio::task::spawn_blocking(move || {
        let reader = files::decoded(StreamReader::new(rx, label.clone()))
            .map_err(|e| format!("{label}: {e}"))?;
        let mut opts = digest::RunOptions {
            threads: 1,
            ..digest::RunOptions::default()
        };
        opts.filter.since = Some(since);
        let source = digest::Source {
            name: label.clone(),
            reader,
        };
        let out = match digest::run(vec![source], &opts) {
            Ok(out) => out,
            // An empty log (nothing slow yet) has no format to detect.
            Err(digest::RunError::UnknownFormat { .. }) => {
                tracing::debug!("slow log {label}: no format recognized");
                digest::run::RunOutput::default()
            }
            Err(e) => return Err(e.to_string()),
        };
        let d = digest::Digest::build(out, digest::OrderBy::default(), None);
        tracing::debug!(
            "slow log {label}: {} events in the window, files {:?}",
            d.events,
            d.files
        );
        Ok(WindowDigest::from_digest(&d, label, minutes))
    })
    .await
    .map_err(|e| format!("the slow log's digest stopped: {e}"))?
}

/// Refreshes one database every `interval` until dropped; a connection lost is
/// reopened at the next refresh.
async fn watch_database(
    name: String,
    target: DbTarget,
    via: Option<Arc<dyn Remote>>,
    interval: Duration,
    tx: mpsc::Sender<Event>,
) {
    let mut source: Option<Source> = None;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if source.is_none() {
            match Source::open(&target, via.clone()).await {
                Ok(s) => source = Some(s),
                Err(e) => {
                    let report = Err(secrets::scrub(&e.to_string()).into_owned());
                    if tx
                        .send(Event::Queries {
                            db: name.clone(),
                            report,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(s) = source.as_mut() else { continue };
        let result = s.refresh().await;
        let report = match result {
            Ok(r) => Ok(r),
            Err(e) => {
                // Reconnect next time: the connection may be what failed.
                source = None;
                Err(secrets::scrub(&e.to_string()).into_owned())
            }
        };
        if tx
            .send(Event::Queries {
                db: name.clone(),
                report: report.map(Arc::new),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// How often the Audit tab's feed looks at the log: a stat each time, a read
/// only when the log changed.
const AUDIT_EVERY: Duration = Duration::from_secs(2);

/// What the log looked like at the last look: a change of any part means it
/// must be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Missing,
    File {
        len: u64,
        modified: Option<std::time::SystemTime>,
        inode: u64,
    },
    Unreadable(std::io::ErrorKind),
}

impl Seen {
    fn of(meta: std::io::Result<std::fs::Metadata>) -> Seen {
        use std::os::unix::fs::MetadataExt;
        match meta {
            Ok(m) => Seen::File {
                len: m.len(),
                modified: m.modified().ok(),
                inode: m.ino(),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::Missing,
            Err(e) => Seen::Unreadable(e.kind()),
        }
    }
}

/// Sends the audit log to the Audit tab at once, then again each time it
/// changes, looking every `every` until dropped. The stat and the read run off
/// the runtime's workers (tokio's file system calls, `spawn_blocking`).
async fn watch_audit_log(log: AuditLog, every: Duration, tx: mpsc::Sender<Event>) {
    let path = log.path().display().to_string();
    let mut last: Option<Seen> = None;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let seen = Seen::of(tokio::fs::metadata(log.path()).await);
        if last.as_ref() == Some(&seen) {
            continue;
        }
        last = Some(seen);
        let reading = log.clone();
        let result = tokio::task::spawn_blocking(move || read_audit(&reading))
            .await
            .map_err(|e| format!("the audit log's read stopped: {e}"))
            .and_then(|r| r);
        let event = Event::Audit {
            path: path.clone(),
            result: result.map(Arc::new),
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// The log as the Audit tab shows it: records scrubbed, times read, each
/// with this machine's zone offset at its time.
fn read_audit(log: &AuditLog) -> Result<AuditSnapshot, String> {
    let report = log
        .read()
        .map_err(|e| secrets::scrub(&e.to_string()).into_owned())?;
    let entries = report
        .records
        .into_iter()
        .map(|r| {
            let record = r.scrubbed();
            let at_us = record.at_micros();
            AuditEntry {
                utc_offset_s: at_us.map_or(0, |t| utc_offset_at(t.div_euclid(1_000_000))),
                at_us,
                record,
            }
        })
        .collect();
    Ok(AuditSnapshot {
        entries,
        bad_lines: report.bad_lines,
    })
}

/// Seconds east of UTC of this machine's zone (TZ, /etc/localtime) at Unix time
/// `t`; 0 when it cannot be told.
fn utc_offset_at(t: i64) -> i32 {
    // time_t is 64 bits on every target opsctl builds for.
    let t = t as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which we own; it is the
    // thread-safe variant (time's own local offset refuses to work in a
    // process with several threads).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let out = unsafe { libc::localtime_r(&t, &mut tm) };
    if out.is_null() {
        return 0;
    }
    i32::try_from(tm.tm_gmtoff).unwrap_or(0)
}

/// Progress of a console change: only its warnings are kept, for the notice
/// that ends it (the steps are in the audit log).
#[derive(Default)]
struct Warnings(Vec<String>);

impl crate::ops::Progress for Warnings {
    fn step(&mut self, _: usize, _: &crate::ops::Step, _: crate::ops::engine::StepState) {}
    fn line(&mut self, _: &str) {}
    fn warn(&mut self, text: &str) {
        self.0.push(text.to_string());
    }
}

fn aborting(tasks: Vec<tokio::task::JoinHandle<()>>) -> Running {
    Running::new(tasks.into_iter().map(AbortOnDrop).collect::<Vec<_>>())
}

impl Feeds for HostFeeds {
    fn start(&mut self, need: &Need, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
        match need {
            Need::HostHealth => {
                let pollers = self.pollers.take().ok_or_else(|| {
                    FeedError("the health pollers already ran and cannot restart".into())
                })?;
                let tasks =
                    poller::spawn_pollers(pollers, self.interval, tx.clone(), |r| Event::Health {
                        host: r.host,
                        health: Box::new(r.health),
                        at: r.at,
                    });
                Ok(aborting(tasks))
            }
            Need::HttpChecks => {
                let task = poller::spawn_http_checks(
                    self.http_checks.clone(),
                    self.thresholds.clone(),
                    self.interval,
                    tx.clone(),
                    Event::Checks,
                );
                Ok(aborting(task.into_iter().collect()))
            }
            Need::Processes { host } => {
                let flag = self
                    .processes
                    .get(*host)
                    .ok_or_else(|| FeedError(format!("no host #{host}")))?;
                flag.store(true, Ordering::Relaxed);
                Ok(Running::new(ProcessesOn(flag.clone())))
            }
            Need::Queries { db } => {
                let (target, via) = self.database(db)?;
                let mut tasks = vec![tokio::spawn(watch_database(
                    db.clone(),
                    target,
                    via,
                    self.interval,
                    tx.clone(),
                ))];
                if let Some((remote, spec)) = self.slow_log(db)? {
                    tasks.push(tokio::spawn(watch_slow_log(
                        db.clone(),
                        remote,
                        spec,
                        tx.clone(),
                    )));
                }
                Ok(aborting(tasks))
            }
            Need::Releases => Ok(Running::new(AbortOnDrop(tokio::spawn(
                deploy_feed::watch_releases(self.app()?, tx.clone()),
            )))),
            Need::ScaleStatus => Ok(Running::new(AbortOnDrop(tokio::spawn(
                deploy_feed::watch_scale(self.profile()?, tx.clone()),
            )))),
            Need::AuditLog => Ok(Running::new(AbortOnDrop(tokio::spawn(watch_audit_log(
                AuditLog::open_default(),
                AUDIT_EVERY,
                tx.clone(),
            ))))),
            Need::LogTail { host, target } => {
                let remote = self
                    .remotes
                    .get(*host)
                    .cloned()
                    .ok_or_else(|| FeedError("this host cannot be reached for logs".into()))?;
                let host = *host;
                let task = logs::spawn_tail(remote, target.clone(), tx.clone(), move |e| match e {
                    TailEvent::Lines(lines) => Event::LogLines { host, lines },
                    TailEvent::Ended(reason) => Event::LogEnded { host, reason },
                });
                Ok(Running::new(AbortOnDrop(task)))
            }
        }
    }

    fn run(&mut self, task: Task, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
        let tx = tx.clone();
        match task {
            Task::Explain {
                db,
                sql,
                analyze,
                tag,
            } => {
                let (target, via) = self.database(&db)?;
                let handle = tokio::spawn(async move {
                    let result = async {
                        let mut s = Source::open(&target, via).await?;
                        let stmt = explain_guard(s.engine(), &sql, analyze)?;
                        let plan = s.plan(&stmt, analyze).await?;
                        Ok::<_, crate::db::DbError>(
                            plan.render()
                                .lines()
                                .map(str::to_string)
                                .collect::<Vec<_>>(),
                        )
                    }
                    .await
                    .map_err(|e| secrets::scrub(&e.to_string()).into_owned());
                    let _ = tx.send(Event::Explain { db, tag, result }).await;
                });
                Ok(Running::new(AbortOnDrop(handle)))
            }
            Task::Signal {
                db,
                pid,
                kill,
                consent,
                tag,
            } => {
                let (target, via) = self.database(&db)?;
                let settings = self.db.clone();
                let handle = tokio::spawn(async move {
                    let (ok, detail) =
                        match signal(&settings, &target, via, pid, kill, &consent).await {
                            Ok(d) => (true, d),
                            Err(e) => (false, e),
                        };
                    let detail = secrets::scrub(&detail).into_owned();
                    let _ = tx.send(Event::ChangeDone { tag, ok, detail }).await;
                });
                Ok(Running::new(AbortOnDrop(handle)))
            }
            Task::Plan {
                change: change @ (AppChange::Scale { .. } | AppChange::Warm { .. }),
                tag,
            } => {
                let handle = deploy_feed::plan_profile_change(
                    self.profile()?,
                    self.changes.clone(),
                    change,
                    tag,
                    tx,
                );
                Ok(Running::new(AbortOnDrop(handle)))
            }
            Task::Plan { change, tag } => {
                let handle =
                    deploy_feed::plan_change(self.app()?, self.changes.clone(), change, tag, tx);
                Ok(Running::new(AbortOnDrop(handle)))
            }
            Task::Apply { tag, consent } => {
                let road = match &self.profile {
                    Some(p) => ChangeRoad::of(p),
                    None => {
                        let app = self.app()?;
                        ChangeRoad {
                            profile: app.profile.clone(),
                            environment: app.environment,
                            read_only: app.read_only,
                        }
                    }
                };
                deploy_feed::apply_change(&road, &self.changes, tag, consent, tx)
            }
        }
    }
}

/// Cancels or kills through the change engine: the one road.
async fn signal(
    settings: &DbSettings,
    target: &DbTarget,
    via: Option<Arc<dyn Remote>>,
    pid: i64,
    kill: bool,
    consent: &Consent,
) -> Result<String, String> {
    let mut source = Source::open(target, via).await.map_err(|e| e.to_string())?;
    let sessions = source.sessions().await.map_err(|e| e.to_string())?;
    let session = sessions.iter().find(|s| s.pid == pid).cloned();
    let which = if kill { Signal::Kill } else { Signal::Cancel };
    let mut change = QuerySignal::plan(
        &mut source,
        pid,
        which,
        session.as_ref(),
        &settings.profile,
        settings.environment,
    );
    let cx = OpsContext {
        profile: settings.profile.clone(),
        environment: settings.environment,
        read_only: settings.read_only,
        audit: AuditLog::open_default(),
    };
    let mut warnings = Warnings::default();
    let result = apply(
        &mut change,
        &cx,
        consent,
        &mut warnings,
        std::future::pending(),
    )
    .await;
    let with_warnings = |text: String| {
        std::iter::once(text)
            .chain(warnings.0.iter().map(|w| format!("warning: {w}")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match result {
        Ok(a) => Ok(with_warnings(a.detail)),
        Err(e) => Err(with_warnings(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local::LocalRemote;

    /// A PostgreSQL stderr log (Debian's prefix) whose lines are `ages` seconds old.
    fn pg_log(ages: &[(i64, &str)]) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        ages.iter()
            .map(|(age, stmt)| {
                let at = crate::sql::slowlog::time::format_micros((now - age) * 1_000_000);
                format!("{at}.000 UTC [42] shop@shop LOG:  duration: 12.5 ms  statement: {stmt}\n")
            })
            .collect()
    }

    fn spec(path: &std::path::Path, max_bytes: u64) -> SlowLogSpec {
        SlowLogSpec {
            host: "db1".into(),
            path: path.display().to_string(),
            window_minutes: 15,
            max_bytes,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_window_counts_the_last_minutes_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("postgresql.log");
        let mut text = pg_log(&[(3600, "SELECT 1 FROM old_table")]);
        for _ in 0..5 {
            text.push_str(&pg_log(&[(60, "SELECT * FROM shop_order WHERE id = 7")]));
        }
        text.push_str(&pg_log(&[(30, "SELECT * FROM shop_order WHERE id = 8")]));
        std::fs::write(&log, &text).unwrap();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("db1"));
        let w = slow_log_window(&remote, &spec(&log, 16 << 20))
            .await
            .unwrap();
        assert_eq!(w.events, 6, "{w:?}");
        assert_eq!(w.classes().len(), 1, "{w:?}");
        assert_eq!(w.classes()[0].count, 6);
        assert!(
            w.classes()[0]
                .example
                .as_deref()
                .is_some_and(|e| e.contains("id = "))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_bigger_than_the_budget_is_read_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("postgresql.log");
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&pg_log(&[(7200, &format!("SELECT {i} FROM padding"))]));
        }
        // A multi-line statement, cut by the budget: its continuation lines must
        // not make the tail look like another format.
        text.push_str(&pg_log(&[(20, "SELECT a,\n\tb,\n\tc FROM wide")]));
        text.push_str(&"\t1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\n".repeat(200));
        for _ in 0..3 {
            text.push_str(&pg_log(&[(10, "UPDATE shop_stock SET n = n - 1")]));
        }
        std::fs::write(&log, &text).unwrap();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("db1"));
        let w = slow_log_window(&remote, &spec(&log, 4096)).await.unwrap();
        assert_eq!(w.events, 3, "{w:?}");
    }

    fn audit_record(at: &str, detail: &str) -> crate::ops::AuditRecord {
        crate::ops::AuditRecord {
            at: at.into(),
            who: "ana".into(),
            profile: "shop".into(),
            environment: "staging".into(),
            change: "query.cancel".into(),
            target: "pid 1".into(),
            outcome: crate::ops::Outcome::Ok,
            detail: detail.into(),
            plan_id: "p".into(),
            steps: vec![],
            duration_ms: 1.0,
            output_tail: String::new(),
        }
    }

    async fn next_audit(rx: &mut mpsc::Receiver<Event>) -> Result<Arc<AuditSnapshot>, String> {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Event::Audit { result, .. })) => result,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_audit_feed_sends_the_log_when_it_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("opsctl/audit.jsonl"));
        let (tx, mut rx) = mpsc::channel(8);
        let task = AbortOnDrop(tokio::spawn(watch_audit_log(
            log.clone(),
            Duration::from_millis(20),
            tx,
        )));
        // No log yet: an empty list at once.
        assert!(next_audit(&mut rx).await.unwrap().entries.is_empty());
        log.append(&audit_record("2026-12-01T10:00:00Z", "one"))
            .unwrap();
        let snap = next_audit(&mut rx).await.unwrap();
        assert_eq!(snap.entries.len(), 1);
        assert_eq!(
            snap.entries[0].at_us,
            crate::sql::slowlog::time::parse_iso(b"2026-12-01T10:00:00Z")
        );
        // Unchanged: nothing more is sent.
        assert!(
            tokio::time::timeout(Duration::from_millis(150), rx.recv())
                .await
                .is_err()
        );
        // Lines written by hand, a secret among them: scrubbed, bad lines counted.
        let mut raw = std::fs::read_to_string(log.path()).unwrap();
        let mut secret = audit_record("2026-12-01T11:00:00Z", "postgres://u:pw7301@db/x");
        secret.steps = vec!["https://t:tk7302@h/".into()];
        raw.push_str("garbage\n");
        raw.push_str(&format!("{}\n", serde_json::to_string(&secret).unwrap()));
        std::fs::write(log.path(), raw).unwrap();
        let snap = next_audit(&mut rx).await.unwrap();
        assert_eq!(snap.entries.len(), 2);
        assert_eq!(snap.bad_lines, [2]);
        let text = format!("{:?}", snap.entries[1].record);
        assert!(
            !text.contains("pw7301") && !text.contains("tk7302"),
            "{text}"
        );
        drop(task);
    }

    #[test]
    fn the_zone_offset_is_found_for_an_instant() {
        // Whatever this machine's zone, an offset is within a day.
        let off = utc_offset_at(1_795_000_000);
        assert!(off.abs() < 86_400, "{off}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_log_is_an_error_not_an_empty_window() {
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("db1"));
        let err = slow_log_window(
            &remote,
            &spec(std::path::Path::new("/nonexistent/pg.log"), 1024),
        )
        .await
        .unwrap_err();
        assert!(err.contains("cannot read /nonexistent/pg.log"), "{err}");
    }
}
