//! The Deploy tab's side of the world: the app's releases and lock every few
//! seconds, changes planned (and kept until confirmed), and changes run through
//! the change engine with their progress sent as events.
//!
//! A change the console runs is never aborted mid-step: quitting (or SIGTERM)
//! interrupts it through the engine, which puts every host back and releases the
//! lock; the console waits for that after restoring the terminal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::{AppSettings, Environment, Profile, secrets};
use crate::console::event::{DeployStatus, Event, PlannedChange, StepView};
use crate::console::feed::{AppChange, FeedError, Running};
use crate::ops::deploy::{self, AppHost, Deploy, Rollback};
use crate::ops::engine::{Change, Progress, StepState};
use crate::ops::lock::LockSpec;
use crate::ops::plan::Step;
use crate::ops::scale::{self, Scale};
use crate::ops::warm::{self, Warm, WarmObserver, WarmStats};
use crate::ops::{AuditLog, Consent, OpsContext, apply};

/// How often the releases and the lock are read.
const RELEASES_EVERY: Duration = Duration::from_secs(5);

/// How long the console waits, after its screen is gone, for changes it
/// interrupted to put their hosts back.
pub const UNDO_WAIT: Duration = Duration::from_secs(240);

/// The app, its hosts and the profile facts its changes need.
pub struct AppRoad {
    pub profile: String,
    pub environment: Environment,
    pub read_only: bool,
    pub app: AppSettings,
    pub hosts: Vec<AppHost>,
}

impl AppRoad {
    /// `None` when the profile has no `[app]`; `Err` when its hosts cannot be resolved.
    pub fn of(profile: &Profile) -> Option<Result<AppRoad, String>> {
        let app = profile.app.as_ref()?;
        Some(deploy::app_hosts(profile, app, &[]).map(|hosts| AppRoad {
            profile: profile.name.clone(),
            environment: profile.environment,
            read_only: profile.read_only,
            app: app.clone(),
            hosts,
        }))
    }

    fn lock(&self) -> Option<LockSpec> {
        deploy::fleet::lock_on_first(&self.hosts)
    }
}

/// The profile facts the engine checks a change against.
pub struct ChangeRoad {
    pub profile: String,
    pub environment: Environment,
    pub read_only: bool,
}

impl ChangeRoad {
    pub fn of(profile: &Profile) -> ChangeRoad {
        ChangeRoad {
            profile: profile.name.clone(),
            environment: profile.environment,
            read_only: profile.read_only,
        }
    }
}

/// Changes planned but not yet confirmed, and changes running.
#[derive(Clone, Default)]
pub struct Changes {
    planned: Arc<Mutex<HashMap<String, Box<dyn Change>>>>,
    running: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Changes {
    /// Waits (bounded) for every running change to end; how many did not.
    pub async fn settle(&self, within: Duration) -> usize {
        let handles: Vec<_> = match self.running.lock() {
            Ok(mut r) => r.drain(..).collect(),
            Err(_) => return 0,
        };
        let mut left = 0;
        let deadline = tokio::time::Instant::now() + within;
        for h in handles {
            if h.is_finished() {
                continue;
            }
            if tokio::time::timeout_at(deadline, h).await.is_err() {
                left += 1;
            }
        }
        left
    }

    /// Whether a change is running now.
    pub fn busy(&self) -> bool {
        self.running
            .lock()
            .map(|r| r.iter().any(|h| !h.is_finished()))
            .unwrap_or(false)
    }
}

pub async fn watch_releases(road: Arc<AppRoad>, tx: mpsc::Sender<Event>) {
    let mut ticks = tokio::time::interval(RELEASES_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let fleet = deploy::releases::read(&road.hosts).await;
        let (lock, lock_error) = match road.lock() {
            Some(l) => match l.status().await {
                Ok(s) => (s, None),
                Err(e) => (None, Some(secrets::scrub(&e.to_string()).into_owned())),
            },
            None => (None, None),
        };
        let status = DeployStatus {
            fleet,
            lock,
            lock_error,
        };
        if tx
            .send(Event::Releases {
                result: Ok(Arc::new(status)),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

fn summary_of(change: &dyn Change) -> PlannedChange {
    let plan = change.plan();
    PlannedChange {
        title: plan.title.clone(),
        summary: plan.grouped_lines(),
        steps: plan
            .steps
            .iter()
            .map(|s| match &s.on {
                Some(h) => format!("{h}: {}", s.what),
                None => s.what.clone(),
            })
            .collect(),
        ask_again: plan.ask_again.as_ref().map(|a| a.why.clone()),
    }
}

/// Plans `what` (reading the hosts, changing nothing) and keeps the plan for
/// [`apply_change`].
pub fn plan_change(
    road: Arc<AppRoad>,
    changes: Changes,
    what: AppChange,
    tag: String,
    tx: mpsc::Sender<Event>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let hosts = road.hosts.clone();
        let planned: Result<Box<dyn Change>, String> = match &what {
            AppChange::Deploy { rev } => Deploy::plan(
                &road.profile,
                road.environment,
                &road.app,
                hosts,
                rev.as_deref(),
            )
            .await
            .map(|d| Box::new(d) as Box<dyn Change>),
            AppChange::Rollback { release } => Rollback::plan(
                &road.profile,
                road.environment,
                &road.app,
                hosts,
                release.as_deref(),
            )
            .await
            .map(|r| Box::new(r) as Box<dyn Change>),
            AppChange::Scale { .. } | AppChange::Warm { .. } => {
                Err("a scale or a warm is planned from the profile, not the app".to_string())
            }
        };
        keep_plan(&changes, planned, tag, tx).await;
    })
}

/// Plans a scale or a warm of the profile (reading the hosts or nothing,
/// changing nothing) and keeps the plan for [`apply_change`].
pub fn plan_profile_change(
    profile: Arc<Profile>,
    changes: Changes,
    what: AppChange,
    tag: String,
    tx: mpsc::Sender<Event>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let planned: Result<Box<dyn Change>, String> = match &what {
            AppChange::Scale {
                target,
                delta,
                host,
            } => {
                let req = scale::Request {
                    target: target.clone(),
                    delta: *delta,
                    hosts: vec![host.clone()],
                    member: None,
                };
                Scale::plan(&profile, &req)
                    .await
                    .map(|c| Box::new(c) as Box<dyn Change>)
            }
            AppChange::Warm { per_node } => {
                let req = warm::Request {
                    per_node: *per_node,
                    ..Default::default()
                };
                match Warm::plan(&profile, &req).await {
                    Ok(mut w) => {
                        w.observe(Arc::new(WarmEvents {
                            tag: tag.clone(),
                            tx: tx.clone(),
                        }));
                        Ok(Box::new(w) as Box<dyn Change>)
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            AppChange::Deploy { .. } | AppChange::Rollback { .. } => {
                Err("a deploy or a rollback is planned from the app".to_string())
            }
        };
        keep_plan(&changes, planned, tag, tx).await;
    })
}

/// Sends a warm's counters to the console. Called from the warm's task every
/// 100 ms: a full channel drops a snapshot (the next one says more anyway),
/// never blocks the warm.
struct WarmEvents {
    tag: String,
    tx: mpsc::Sender<Event>,
}

impl WarmObserver for WarmEvents {
    fn update(&self, stats: &WarmStats) {
        let _ = self.tx.try_send(Event::WarmProgress {
            tag: self.tag.clone(),
            stats: Box::new(stats.clone()),
        });
    }
}

/// How often the scale targets are counted.
const SCALE_EVERY: Duration = Duration::from_secs(3);

/// Counts every `[[scale]]` target on its hosts, every few seconds.
pub async fn watch_scale(profile: Arc<Profile>, tx: mpsc::Sender<Event>) {
    let mut ticks = tokio::time::interval(SCALE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let mut targets = scale::status::read_all(&profile).await;
        for h in targets.iter_mut().flat_map(|t| t.hosts.iter_mut()) {
            if let Some(e) = &mut h.error {
                *e = secrets::scrub(e).into_owned();
            }
        }
        if tx
            .send(Event::ScaleStatus {
                result: Ok(Arc::new(targets)),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Keeps a plan for [`apply_change`] and tells the console what it is.
async fn keep_plan(
    changes: &Changes,
    planned: Result<Box<dyn Change>, String>,
    tag: String,
    tx: mpsc::Sender<Event>,
) {
    let result = match planned {
        Ok(change) => {
            let summary = summary_of(change.as_ref());
            if let Ok(mut p) = changes.planned.lock() {
                // One dialog at a time: a plan never confirmed goes.
                p.clear();
                p.insert(tag.clone(), change);
            }
            Ok(summary)
        }
        Err(e) => Err(secrets::scrub(&e).into_owned()),
    };
    let _ = tx.send(Event::ChangePlanned { tag, result }).await;
}

/// Sends a change's progress to the console. Never blocks the change: a full
/// channel drops a line (and says so in the log), never a step's end, which the
/// final [`Event::ChangeDone`] repeats anyway.
struct EventProgress {
    tag: String,
    tx: mpsc::Sender<Event>,
}

impl EventProgress {
    fn send(&self, e: Event) {
        if let Err(e) = self.tx.try_send(e) {
            tracing::warn!(tag = %self.tag, "progress event dropped: {e}");
        }
    }
}

impl Progress for EventProgress {
    fn step(&mut self, index: usize, _step: &Step, state: StepState) {
        let state = match state {
            StepState::Started => StepView::Running,
            StepState::Done => StepView::Done,
            StepState::Failed(why) => StepView::Failed(secrets::scrub(&why).into_owned()),
        };
        self.send(Event::ChangeStep {
            tag: self.tag.clone(),
            index,
            state,
        });
    }

    fn line(&mut self, text: &str) {
        tracing::info!(tag = %self.tag, "{text}");
        self.send(Event::ChangeLine {
            tag: self.tag.clone(),
            text: secrets::scrub(text).into_owned(),
        });
    }

    fn sample(&mut self, series: &str, value: f64) {
        self.send(Event::ChangeSample {
            tag: self.tag.clone(),
            series: series.to_string(),
            value,
        });
    }

    fn warn(&mut self, text: &str) {
        tracing::warn!(tag = %self.tag, "{text}");
        self.send(Event::ChangeLine {
            tag: self.tag.clone(),
            text: format!("⚠ {}", secrets::scrub(text)),
        });
    }
}

/// Interrupts a running change when dropped (the console quits): the change
/// then puts its hosts back and releases its lock on its own.
struct InterruptOnDrop(Option<oneshot::Sender<()>>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs the change planned with `tag`, as the profile `road` describes.
pub fn apply_change(
    road: &ChangeRoad,
    changes: &Changes,
    tag: String,
    consent: Consent,
    tx: mpsc::Sender<Event>,
) -> Result<Running, FeedError> {
    let mut change = changes
        .planned
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&tag))
        .ok_or_else(|| FeedError(format!("no planned change `{tag}` (plan it again)")))?;
    let cx = OpsContext {
        profile: road.profile.clone(),
        environment: road.environment,
        read_only: road.read_only,
        audit: AuditLog::open_default(),
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let mut progress = EventProgress {
            tag: tag.clone(),
            tx: tx.clone(),
        };
        let interrupt = async {
            let _ = stop_rx.await;
        };
        let result = apply(change.as_mut(), &cx, &consent, &mut progress, interrupt).await;
        let (ok, detail) = match result {
            Ok(a) => (a.outcome == crate::ops::Outcome::Ok, a.detail),
            Err(e) => (false, e.to_string()),
        };
        let detail = secrets::scrub(&detail).into_owned();
        let _ = tx.send(Event::ChangeDone { tag, ok, detail }).await;
    });
    if let Ok(mut r) = changes.running.lock() {
        r.retain(|h| !h.is_finished());
        r.push(handle);
    }
    Ok(Running::new(InterruptOnDrop(Some(stop_tx))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_observer_never_blocks_a_full_channel() {
        let (tx, mut rx) = mpsc::channel(1);
        let observer = WarmEvents {
            tag: "warm-1".into(),
            tx,
        };
        for done in 0..5 {
            observer.update(&WarmStats {
                urls_done: done,
                ..WarmStats::default()
            });
        }
        // The first snapshot went in; the rest were dropped, not waited for.
        match rx.try_recv() {
            Ok(Event::WarmProgress { tag, stats }) => {
                assert_eq!(tag, "warm-1");
                assert_eq!(stats.urls_done, 0);
            }
            other => panic!("{other:?}"),
        }
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_warm_without_sitemaps_is_a_plan_error_not_a_panic() {
        let profile: Profile = toml::from_str("name = \"bare\"\n").unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let changes = Changes::default();
        plan_profile_change(
            Arc::new(profile),
            changes.clone(),
            AppChange::Warm { per_node: false },
            "warm-1".into(),
            tx,
        )
        .await
        .unwrap();
        match rx.recv().await {
            Some(Event::ChangePlanned { tag, result }) => {
                assert_eq!(tag, "warm-1");
                let e = result.unwrap_err();
                assert!(e.contains("nothing to warm"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(changes.planned.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_scale_target_is_a_plan_error() {
        let profile: Profile = toml::from_str("name = \"bare\"\n").unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        plan_profile_change(
            Arc::new(profile),
            Changes::default(),
            AppChange::Scale {
                target: "shop".into(),
                delta: scale::Delta::Add(1),
                host: "web1".into(),
            },
            "scale-1".into(),
            tx,
        )
        .await
        .unwrap();
        match rx.recv().await {
            Some(Event::ChangePlanned { result, .. }) => {
                let e = result.unwrap_err();
                assert!(e.contains("no [[scale]] targets"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}
