//! The one road every change takes: consent (read-only refusal at this single
//! choke point, the environment's confirmation), a writable audit log, the run
//! with progress (interruptible: Ctrl-C and SIGTERM end it cleanly), and an
//! audit record of how it ended, whatever the outcome.

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;

use super::audit::{AuditError, AuditLog, AuditRecord, Outcome};
use super::consent::{self, Consent, Refusal};
use super::lock::{Holder, LockError, LockSpec};
use super::plan::{Plan, Step};
use crate::config::Environment;

/// What the road needs to know about where the change happens.
#[derive(Debug, Clone)]
pub struct OpsContext {
    pub profile: String,
    pub environment: Environment,
    pub read_only: bool,
    pub audit: AuditLog,
}

/// Where a running change reports what it is doing.
pub trait Progress: Send {
    /// Step `index` (0-based) of the plan started, finished or failed.
    fn step(&mut self, index: usize, step: &Step, state: StepState);
    /// A line of output worth showing while it runs.
    fn line(&mut self, text: &str);
    /// Something the user must hear of even though the change ended (it ran but
    /// could not be audited). Also logged; by default nothing more.
    fn warn(&mut self, _text: &str) {}
    /// A measurement of the running change, one point of `series` (the watch's
    /// p95 latency per round, ...). By default nothing.
    fn sample(&mut self, _series: &str, _value: f64) {}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Started,
    Done,
    Failed(String),
}

/// Progress nobody watches.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn step(&mut self, _: usize, _: &Step, _: StepState) {}
    fn line(&mut self, _: &str) {}
}

/// How a change that ran ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `Ok`, or `RolledBack` when it undid itself (a failed health gate, a watch).
    pub outcome: Outcome,
    pub detail: String,
    pub output: String,
}

impl Applied {
    pub fn ok(detail: impl Into<String>) -> Applied {
        Applied {
            outcome: Outcome::Ok,
            detail: detail.into(),
            output: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// It ran and failed; `detail` says what happened where.
    #[error("{detail}")]
    Failed { detail: String, output: String },
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// Nothing ran: without an audit log, no change.
    #[error("{0}; nothing was changed (a change that cannot be audited is not made)")]
    AuditUnavailable(AuditError),
}

impl ChangeError {
    pub fn failed(detail: impl Into<String>) -> ChangeError {
        ChangeError::Failed {
            detail: detail.into(),
            output: String::new(),
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            ChangeError::Refused(_) => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }
}

/// A change to production.
#[async_trait]
pub trait Change: Send {
    fn plan(&self) -> &Plan;

    /// The app hosts whose audit log also gets this change's record.
    fn host_logs(&self) -> Vec<super::audit::HostLog> {
        Vec::new()
    }

    /// The lock this change takes, where two operators could collide (deploys,
    /// rollbacks, scaling); `None` for changes that cannot collide.
    fn lock(&self) -> Option<LockSpec> {
        None
    }

    /// Runs the plan.
    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError>;

    /// The run was interrupted (its future dropped): leave things whole (release a
    /// lock, switch a half-switched host back) and say what state they are in.
    async fn interrupted(&mut self) -> String {
        "interrupted before it finished".to_string()
    }
}

/// Takes `change` down the road: consent, audit, run, audit. `interrupt`
/// resolving (Ctrl-C, SIGTERM, the console quitting) stops the run.
pub async fn apply(
    change: &mut dyn Change,
    cx: &OpsContext,
    consent: &Consent,
    progress: &mut dyn Progress,
    interrupt: impl Future<Output = ()> + Send,
) -> Result<Applied, ChangeError> {
    let plan = change.plan().clone();
    let consented = consent::check(&cx.profile, cx.read_only, plan.environment, consent)
        .and_then(|()| consent::check_again(plan.environment, plan.ask_again.as_ref(), consent));
    if let Err(refusal) = consented {
        let record = AuditRecord::for_plan(&plan, Outcome::Refused, refusal.to_string());
        if let Err(e) = cx.audit.append(&record) {
            tracing::error!("cannot audit a refusal: {e}");
        }
        return Err(ChangeError::Refused(refusal));
    }
    // The record of a change must be possible before the change is.
    probe_writable(&cx.audit).map_err(ChangeError::AuditUnavailable)?;
    let lock = change.lock();
    if let Some(lock) = &lock {
        if let Err(e) = lock.acquire(&holder_of(&plan)).await {
            let (outcome, err) = match e {
                LockError::Held { .. } => (
                    Outcome::Refused,
                    ChangeError::Refused(Refusal::Locked(e.to_string())),
                ),
                LockError::Remote { .. } => (
                    Outcome::Failed,
                    ChangeError::failed(format!("{e}; nothing was changed")),
                ),
            };
            let record = AuditRecord::for_plan(&plan, outcome, err.to_string());
            if let Err(e) = cx.audit.append(&record) {
                tracing::error!("cannot audit a refusal: {e}");
            }
            return Err(err);
        }
        progress.line(&format!("lock taken on {} ({})", lock.host, lock.dir()));
    }
    tracing::info!(plan = %plan.id, change = %plan.change, target = %plan.target, "change starts");
    let started = Instant::now();
    let result = {
        let run = change.run(progress);
        tokio::pin!(run);
        tokio::pin!(interrupt);
        tokio::select! {
            r = &mut run => Some(r),
            () = &mut interrupt => None,
        }
    };
    let result = match result {
        Some(r) => r,
        None => Err(ChangeError::Interrupted(change.interrupted().await)),
    };
    if let Some(lock) = &lock {
        // Released however the change ended: done, failed, interrupted.
        match lock.release(&plan.id).await {
            Ok(true) => progress.line(&format!("lock released on {}", lock.host)),
            Ok(false) => progress.warn(&format!(
                "the lock on {} was no longer this change's (broken by someone?); left as it is",
                lock.host
            )),
            Err(e) => {
                tracing::error!("cannot release the lock on {}: {e}", lock.host);
                progress.warn(&format!(
                    "cannot release the lock on {} ({}): {e}; `opsctl lock break` frees it",
                    lock.host,
                    lock.dir()
                ));
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let mut record = match &result {
        Ok(applied) => AuditRecord::for_plan(&plan, applied.outcome, applied.detail.clone())
            .with_output(&applied.output),
        Err(e) => {
            let output = match e {
                ChangeError::Failed { output, .. } => output.as_str(),
                _ => "",
            };
            AuditRecord::for_plan(&plan, e.outcome(), e.to_string()).with_output(output)
        }
    };
    record.duration_ms = elapsed;
    // Every operator of the app sees it there, from any machine (`opsctl audit --hosts`).
    let logs = change.host_logs();
    let writes = logs.iter().map(|l| l.append(&record));
    for e in futures::future::join_all(writes)
        .await
        .into_iter()
        .filter_map(Result::err)
    {
        tracing::warn!("cannot write the record on a host: {e}");
        progress.warn(&format!("the change's record could not be written on {e}"));
    }
    if let Err(e) = cx.audit.append(&record) {
        // The change happened: say so loudly rather than pretend it did not.
        // Logged (stderr for a subcommand, the log file for the console, which
        // must not print) and handed to whoever shows the change.
        tracing::error!("the change ran but could not be audited: {e}");
        progress.warn(&format!("the change ran but could not be audited: {e}"));
    }
    result
}

fn holder_of(plan: &Plan) -> Holder {
    Holder {
        who: super::audit::operator(),
        from: super::audit::machine(),
        since: super::audit::now_rfc3339(),
        what: plan.title.clone(),
        plan_id: plan.id.clone(),
        change: plan.change.clone(),
        pid: std::process::id(),
    }
}

fn probe_writable(log: &AuditLog) -> Result<(), AuditError> {
    let io = |source| AuditError::Io {
        path: log.path().to_path_buf(),
        source,
    };
    if let Some(dir) = log.path().parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log.path())
        .map(|_| ())
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct Fake {
        plan: Plan,
        ran: Arc<AtomicBool>,
        fail: bool,
        hang: bool,
    }

    #[async_trait]
    impl Change for Fake {
        fn plan(&self) -> &Plan {
            &self.plan
        }
        async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
            self.ran.store(true, Ordering::SeqCst);
            progress.step(0, &self.plan.steps[0], StepState::Started);
            if self.hang {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
            if self.fail {
                return Err(ChangeError::Failed {
                    detail: "step 1 failed on db1".into(),
                    output: "ERROR: permission denied".into(),
                });
            }
            Ok(Applied::ok("done"))
        }
        async fn interrupted(&mut self) -> String {
            "stopped; nothing was half-done".into()
        }
    }

    fn fake(env: Environment, fail: bool, hang: bool) -> (Fake, Arc<AtomicBool>) {
        let ran = Arc::new(AtomicBool::new(false));
        let plan =
            Plan::new("test.change", "t", "A test change", "shop", env).step(Step::local("do it"));
        (
            Fake {
                plan,
                ran: ran.clone(),
                fail,
                hang,
            },
            ran,
        )
    }

    fn cx(dir: &std::path::Path, read_only: bool, env: Environment) -> OpsContext {
        OpsContext {
            profile: "shop".into(),
            environment: env,
            read_only,
            audit: AuditLog::at(dir.join("audit.jsonl")),
        }
    }

    fn never() -> impl Future<Output = ()> + Send {
        std::future::pending()
    }

    #[tokio::test]
    async fn refused_changes_never_run_and_are_audited() {
        let dir = tempfile::tempdir().unwrap();
        for (read_only, env, consent) in [
            (
                true,
                Environment::Development,
                Consent::typed("development"),
            ),
            (false, Environment::Production, Consent::yes()),
            (false, Environment::Staging, Consent::default()),
        ] {
            let (mut c, ran) = fake(env, false, false);
            let cx = cx(dir.path(), read_only, env);
            let r = apply(&mut c, &cx, &consent, &mut Quiet, never()).await;
            assert!(matches!(r, Err(ChangeError::Refused(_))), "{r:?}");
            assert!(!ran.load(Ordering::SeqCst), "a refused change must not run");
        }
        let log = AuditLog::at(dir.path().join("audit.jsonl")).read().unwrap();
        assert_eq!(log.records.len(), 3);
        assert!(log.records.iter().all(|r| r.outcome == Outcome::Refused));
        assert!(log.records[0].detail.contains("read-only"));
    }

    #[tokio::test]
    async fn successes_and_failures_are_audited_with_their_output() {
        let dir = tempfile::tempdir().unwrap();
        let cx = cx(dir.path(), false, Environment::Production);
        let (mut ok, _) = fake(Environment::Production, false, false);
        apply(
            &mut ok,
            &cx,
            &Consent::typed("production"),
            &mut Quiet,
            never(),
        )
        .await
        .unwrap();
        let (mut bad, _) = fake(Environment::Production, true, false);
        let e = apply(
            &mut bad,
            &cx,
            &Consent::typed("production"),
            &mut Quiet,
            never(),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("step 1 failed on db1"));
        let log = cx.audit.read().unwrap();
        assert_eq!(log.records[0].outcome, Outcome::Ok);
        assert_eq!(log.records[1].outcome, Outcome::Failed);
        assert_eq!(log.records[1].output_tail, "ERROR: permission denied");
    }

    #[tokio::test]
    async fn an_interrupted_change_is_cleaned_up_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let cx = cx(dir.path(), false, Environment::Development);
        let (mut c, _) = fake(Environment::Development, false, true);
        let interrupt = tokio::time::sleep(std::time::Duration::from_millis(50));
        let e = apply(&mut c, &cx, &Consent::default(), &mut Quiet, interrupt)
            .await
            .unwrap_err();
        assert!(matches!(e, ChangeError::Interrupted(_)), "{e:?}");
        assert!(e.to_string().contains("nothing was half-done"));
        let log = cx.audit.read().unwrap();
        assert_eq!(log.records[0].outcome, Outcome::Failed);
        assert!(log.records[0].detail.contains("interrupted"));
    }

    #[tokio::test]
    async fn without_a_writable_audit_log_nothing_runs() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the log file should be: it cannot be opened for writing.
        std::fs::create_dir_all(dir.path().join("audit.jsonl")).unwrap();
        let cx = cx(dir.path(), false, Environment::Development);
        let (mut c, ran) = fake(Environment::Development, false, false);
        let e = apply(&mut c, &cx, &Consent::default(), &mut Quiet, never())
            .await
            .unwrap_err();
        assert!(matches!(e, ChangeError::AuditUnavailable(_)), "{e:?}");
        assert!(!ran.load(Ordering::SeqCst));
    }
}
