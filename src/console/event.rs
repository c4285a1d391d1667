//! Everything that can change the console's state arrives as one of these, through
//! one channel: input from the terminal thread, data from collector tasks, ticks.

use std::sync::Arc;

use crossterm::event::{KeyEvent, MouseEvent};

use super::feed::Need;
use crate::db::model::Report;
use crate::health::{CheckResult, HostHealth};
use crate::ops::AuditRecord;
use crate::sql::digest::window::WindowDigest;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock moved; `now` is Unix time in seconds.
    Tick {
        now: i64,
    },
    /// A probe of host `host` (index into the profile's hosts) finished at `at`.
    Health {
        host: usize,
        health: Box<HostHealth>,
        at: i64,
    },
    /// The latest HTTP/TLS check results of the profile.
    Checks(Vec<CheckResult>),
    /// Lines from the log tail of host `host`.
    LogLines {
        host: usize,
        lines: Vec<String>,
    },
    /// The log tail of host `host` stopped (command ended or failed).
    LogEnded {
        host: usize,
        reason: String,
    },
    /// A need could not be collected at all.
    FeedFailed {
        need: Need,
        reason: String,
    },
    /// A refresh of database `db`: the report, or why there is none.
    Queries {
        db: String,
        /// Shared, not copied: the view keeps it as it came (5,000 statements
        /// are not cloned on the UI task).
        report: Result<Arc<Report>, String>,
    },
    /// The last minutes of database `db`'s slow log, digested, or why not.
    SlowLog {
        db: String,
        result: Box<Result<WindowDigest, String>>,
    },
    /// An EXPLAIN asked for with `tag`: the plan as text lines, or why not.
    Explain {
        db: String,
        tag: String,
        result: Result<Vec<String>, String>,
    },
    /// A change asked for with `tag` ended: `ok`, and what happened.
    ChangeDone {
        tag: String,
        ok: bool,
        detail: String,
    },
    /// A task asked for with `tag` could not be started at all.
    TaskFailed {
        tag: String,
        reason: String,
    },
    /// The local audit log, read because it changed (or for the first time).
    Audit {
        /// Where the log is (the empty state names it).
        path: String,
        /// Shared, not copied: a long log is not cloned on the UI task.
        result: Result<Arc<AuditSnapshot>, String>,
    },
    /// The app's releases on every host and the deploy lock, or why not.
    Releases {
        result: Result<Arc<DeployStatus>, String>,
    },
    /// A change planned for `tag` (a deploy, a rollback): what it will do, to
    /// be confirmed; or why it cannot be planned.
    ChangePlanned {
        tag: String,
        result: Result<PlannedChange, String>,
    },
    /// A running change (`tag`) moved: step `index` of its plan changed state.
    ChangeStep {
        tag: String,
        index: usize,
        state: StepView,
    },
    /// A line a running change (`tag`) said.
    ChangeLine {
        tag: String,
        text: String,
    },
    /// A measurement of a running change (`tag`): one point of `series`.
    ChangeSample {
        tag: String,
        series: String,
        value: f64,
    },
    /// Every `[[scale]]` target's count per host (a host that cannot be read is
    /// a row with its error), or why none could be read.
    ScaleStatus {
        result: Result<Arc<Vec<crate::ops::scale::TargetStatus>>, String>,
    },
    /// A running warm (`tag`): its counters now (about every 100 ms).
    WarmProgress {
        tag: String,
        stats: Box<crate::ops::warm::stats::WarmStats>,
    },
    /// The process was asked to stop (SIGTERM, SIGHUP).
    Terminate,
}

/// What the Deploy tab shows of the app.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployStatus {
    pub fleet: crate::ops::deploy::FleetReleases,
    /// Who holds the deploy lock, and for how many seconds.
    pub lock: Option<(crate::ops::lock::Holder, i64)>,
    /// Why the lock could not be read.
    pub lock_error: Option<String>,
}

/// A planned change, as the confirmation dialog and the progress pane show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    pub title: String,
    /// One line per step (no commands), then the warnings.
    pub summary: Vec<String>,
    /// The steps, `host: what`, in plan order (the progress pane's lines).
    pub steps: Vec<String>,
    /// Production confirms a second time, for this reason.
    pub ask_again: Option<String>,
}

/// A step's state as the progress pane draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepView {
    Running,
    Done,
    Failed(String),
}

impl Event {
    /// The tag of the one-off task this event ends (its answer), if any.
    pub fn ends_task(&self) -> Option<&str> {
        match self {
            Event::Explain { tag, .. }
            | Event::ChangePlanned { tag, .. }
            | Event::ChangeDone { tag, .. }
            | Event::TaskFailed { tag, .. } => Some(tag),
            _ => None,
        }
    }
}

/// The audit log as the Audit tab shows it: every record, oldest first (a
/// record's index here is what the tab knows it by).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditSnapshot {
    pub entries: Vec<AuditEntry>,
    /// Lines of the log that are not records (1-based).
    pub bad_lines: Vec<usize>,
}

/// One record, its time read once (sorting, local display).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub record: AuditRecord,
    /// Microseconds since the epoch; `None` when `at` is not a time.
    pub at_us: Option<i64>,
    /// Seconds east of UTC of this machine's zone at that time, for showing it
    /// in local time (found by the feed: the view does no IO).
    pub utc_offset_s: i32,
}
