//! Cancelling a running query or ending a session: `pg_cancel_backend` /
//! `pg_terminate_backend`, `KILL QUERY` / `KILL`. A change to production like
//! any other: planned (which session, its query, the exact SQL), confirmed,
//! refused under read-only, audited.

use async_trait::async_trait;

use super::engine::{Applied, Change, ChangeError, Progress, StepState};
use super::plan::{Plan, Step};
use crate::config::Environment;
use crate::db::model::Session;
use crate::db::source::Source;

/// Cancel the running query, or end the whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Cancel,
    Kill,
}

impl Signal {
    pub fn change(self) -> &'static str {
        match self {
            Signal::Cancel => "query.cancel",
            Signal::Kill => "query.kill",
        }
    }
}

pub struct QuerySignal<'a> {
    source: &'a mut Source,
    pid: i64,
    signal: Signal,
    plan: Plan,
}

/// The first line of a query, cut for a plan line.
fn short(q: &str) -> String {
    let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 100 {
        format!("{}…", one.chars().take(99).collect::<String>())
    } else {
        one
    }
}

impl<'a> QuerySignal<'a> {
    /// Plans the signal for session `pid` as it is now (`session`: what the server
    /// says of it; `None` if it is not there, which the plan says).
    pub fn plan(
        source: &'a mut Source,
        pid: i64,
        signal: Signal,
        session: Option<&Session>,
        profile: &str,
        environment: Environment,
    ) -> QuerySignal<'a> {
        let db = source.target().name.clone();
        let verb = match signal {
            Signal::Cancel => "Cancel the query of",
            Signal::Kill => "End",
        };
        let title = format!("{verb} session {pid} on {db}");
        let what = match session {
            Some(s) => format!(
                "session {pid}: {} on {}, {}{}",
                s.user.as_deref().unwrap_or("?"),
                s.database.as_deref().unwrap_or("?"),
                s.state.as_deref().unwrap_or("?"),
                s.query
                    .as_deref()
                    .map(|q| format!(", running: {}", short(q)))
                    .unwrap_or_default()
            ),
            None => format!("session {pid} (not in the session list right now)"),
        };
        let sql = source.signal_sql(pid, signal == Signal::Kill);
        let mut plan = Plan::new(
            signal.change(),
            format!("{db} pid {pid}"),
            title,
            profile,
            environment,
        )
        .step(Step::sql(db.clone(), what, sql));
        if signal == Signal::Kill {
            plan.warnings.push(
                "the session's open transaction is rolled back and its client disconnected".into(),
            );
        }
        QuerySignal {
            source,
            pid,
            signal,
            plan,
        }
    }
}

#[async_trait]
impl Change for QuerySignal<'_> {
    fn plan(&self) -> &Plan {
        &self.plan
    }

    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let step = self.plan.steps[0].clone();
        progress.step(0, &step, StepState::Started);
        match self
            .source
            .signal(self.pid, self.signal == Signal::Kill)
            .await
        {
            Ok(true) => {
                progress.step(0, &step, StepState::Done);
                Ok(Applied::ok(format!(
                    "{} session {}",
                    match self.signal {
                        Signal::Cancel => "cancelled the query of",
                        Signal::Kill => "ended",
                    },
                    self.pid
                )))
            }
            Ok(false) => {
                let why = format!(
                    "no session {} on {} (it may have ended)",
                    self.pid,
                    self.source.target().name
                );
                progress.step(0, &step, StepState::Failed(why.clone()));
                Err(ChangeError::failed(why))
            }
            Err(e) => {
                progress.step(0, &step, StepState::Failed(e.to_string()));
                Err(ChangeError::failed(e.to_string()))
            }
        }
    }
}
