//! What views need collected, and the one interface through which the runtime
//! gets it collected. The console never reaches a host itself: an implementation
//! of [`Feeds`] (built by the `opsctl console` command over the profile's remotes)
//! starts the collectors of the source modules (`health`, `logs`, ...).

use tokio::sync::mpsc;

use super::event::Event;
use crate::logs::LogTarget;
use crate::ops::Consent;

/// One thing to collect while some view needs it. The runtime keeps each distinct
/// need running once, however many views ask for it, and stops it when none does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    /// Every host's health probe, at the profile's interval.
    HostHealth,
    /// The profile's HTTP/TLS checks, at the profile's interval.
    HttpChecks,
    /// The process list in host `host`'s probe (costly: only for hosts on screen).
    Processes { host: usize },
    /// Follow one log of host `host`.
    LogTail { host: usize, target: LogTarget },
    /// Statements and sessions of the profile's database `db`, at the interval.
    Queries { db: String },
    /// The local audit log, read again whenever it changes.
    AuditLog,
    /// The app's releases on its hosts and the deploy lock, every few seconds.
    Releases,
    /// The counts of every `[[scale]]` target on its hosts, every few seconds.
    ScaleStatus,
}

/// One piece of work a view asks for (an EXPLAIN, a change to production); its
/// result comes back as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// EXPLAIN `sql` on database `db`; the result is an [`Event::Explain`] with `tag`.
    Explain {
        db: String,
        sql: String,
        analyze: bool,
        tag: String,
    },
    /// Cancel the query of session `pid` on `db` (or end it with `kill`), through
    /// the change engine, with what the person said in the confirmation dialog
    /// (nothing, when no dialog was shown: the engine then refuses and audits).
    Signal {
        db: String,
        pid: i64,
        kill: bool,
        consent: Consent,
        tag: String,
    },
    /// Plan a change of the app (nothing runs yet); the answer is an
    /// [`Event::ChangePlanned`] with `tag`, and the plan is kept for [`Task::Apply`].
    Plan { change: AppChange, tag: String },
    /// Run the change planned with `tag` through the change engine, with what the
    /// person said in the dialog; progress comes as [`Event::ChangeStep`], the end
    /// as [`Event::ChangeDone`]. Quitting the console interrupts it cleanly.
    Apply { tag: String, consent: Consent },
}

/// The changes the console plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppChange {
    /// Deploy a revision (the app's branch when `None`).
    Deploy { rev: Option<String> },
    /// Roll back to the previous release (or the named one).
    Rollback { release: Option<String> },
    /// Change the count of a `[[scale]]` target on one of its hosts.
    Scale {
        target: String,
        delta: crate::ops::scale::Delta,
        host: String,
    },
    /// Warm the caches from the profile's `[warm]` sitemaps; its counters come
    /// as [`super::event::Event::WarmProgress`] while it runs.
    Warm { per_node: bool },
}

impl Task {
    /// The tag its result comes back with.
    pub fn tag(&self) -> &str {
        match self {
            Task::Explain { tag, .. }
            | Task::Signal { tag, .. }
            | Task::Plan { tag, .. }
            | Task::Apply { tag, .. } => tag,
        }
    }
}

/// A collector that runs until this is dropped.
pub struct Running {
    _guard: Box<dyn Send>,
}

impl Running {
    /// Keeps `guard` alive for as long as the collector should run; dropping it
    /// must stop the collector (an aborting task handle, a flag reset, ...).
    pub fn new(guard: impl Send + 'static) -> Running {
        Running {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Running")
    }
}

/// A tokio task that is aborted when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts collectors. Results arrive as [`Event`]s on `tx`.
pub trait Feeds: Send {
    /// Starts collecting `need`. `Err` says why it cannot be collected; the
    /// runtime reports it as an [`Event::FeedFailed`].
    fn start(&mut self, need: &Need, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError>;

    /// Runs a one-off task in the background; its result arrives as an event.
    fn run(&mut self, task: Task, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
        let _ = tx;
        Err(FeedError(format!("nothing runs {task:?} here")))
    }
}

/// Why a need cannot be collected (no road to that host, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeedError(pub String);

/// Feeds that collect nothing (tests of the frame, the startup measurement).
#[derive(Debug, Default)]
pub struct NoFeeds;

impl Feeds for NoFeeds {
    fn start(&mut self, need: &Need, _tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
        Err(FeedError(format!("nothing collects {need:?} here")))
    }
}
