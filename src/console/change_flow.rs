//! A change asked for from a tab, from its plan to how it ended: planning,
//! the confirmation dialog (twice when production asks again), the run through
//! the change engine with its steps, lines and samples, the outcome. The Deploy
//! and Scale tabs hold one each; what differs between them (the top bar's
//! banner, the wording of the second confirmation) stays in the tab.

use crate::config::Environment;
use crate::console::app::{App, NoticeLevel};
use crate::console::event::{Event, PlannedChange, StepView};
use crate::console::feed::Task;
use crate::console::view::{Cx, Request};
use crate::console::widgets::confirm::ConfirmDialog;
use crate::console::widgets::table::one_line;
use crate::ops::Consent;

/// Lines of the change's output kept for the panel.
const SAID_KEPT: usize = 40;

/// One step of the running change, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    pub text: String,
    pub state: Option<StepView>,
    /// Unix seconds it started and ended (the console's clock).
    pub started: Option<i64>,
    pub ended: Option<i64>,
}

/// Where a change asked for in a tab is.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    Planning {
        tag: String,
        what: String,
    },
    Confirming {
        tag: String,
        plan: PlannedChange,
    },
    /// Production: the plan asked to be confirmed again (a migration crossed).
    ConfirmingAgain {
        tag: String,
        plan: PlannedChange,
    },
    Running(Progress),
    Finished(Progress),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub tag: String,
    pub title: String,
    pub steps: Vec<StepRow>,
    pub said: Vec<String>,
    pub started: i64,
    /// How it ended: ok, and what happened.
    pub outcome: Option<(bool, String)>,
    /// Measurements as they came (the watch's p95 and errors per round).
    pub samples: Vec<(String, Vec<f64>)>,
}

/// What an event did to the flow, for the tab to follow up (its banner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Took {
    /// The plan came and its dialog is up.
    Planned,
    /// The change was sent to the engine (a read-only profile's at once: the
    /// engine refuses it and audits the attempt).
    Started,
    Step,
    Line,
    Sample,
    /// It ended, well or not.
    Done(bool),
    /// Its task failed before the engine had it (or the plan could not be made).
    Failed,
}

/// The tag of the change being planned or run.
pub fn our_tag(flow: &Option<Flow>) -> Option<&str> {
    match flow {
        Some(Flow::Planning { tag, .. }) => Some(tag),
        Some(Flow::Running(p)) => Some(&p.tag),
        _ => None,
    }
}

/// What is under way, for "one change at a time".
pub fn busy(flow: &Option<Flow>) -> Option<&str> {
    match flow {
        Some(Flow::Planning { what, .. }) => Some(what),
        Some(Flow::Running(p)) => Some(&p.title),
        _ => None,
    }
}

/// The running (or finished) change's progress.
pub fn progress(flow: &Option<Flow>) -> Option<&Progress> {
    match flow {
        Some(Flow::Running(p)) | Some(Flow::Finished(p)) => Some(p),
        _ => None,
    }
}

fn progress_mut<'a>(flow: &'a mut Option<Flow>, tag: &str) -> Option<&'a mut Progress> {
    match flow {
        Some(Flow::Running(p)) if p.tag == tag => Some(p),
        _ => None,
    }
}

/// Sends the confirmed plan to the engine. The dialog armed Confirm only once
/// production's name was typed; in staging confirming it is the yes; a
/// read-only profile said nothing (and is refused).
pub fn start(
    flow: &mut Option<Flow>,
    tag: &str,
    plan: &PlannedChange,
    again: bool,
    cx: &mut Cx<'_>,
) {
    let env = cx.app.profile.environment;
    let mut consent = match env {
        _ if cx.app.profile.read_only => Consent::default(),
        Environment::Production => Consent::typed(env.as_str()),
        _ => Consent::yes(),
    };
    consent.again = again;
    *flow = Some(Flow::Running(Progress {
        tag: tag.to_string(),
        title: plan.title.clone(),
        steps: plan
            .steps
            .iter()
            .map(|s| StepRow {
                text: s.clone(),
                state: None,
                started: None,
                ended: None,
            })
            .collect(),
        said: Vec::new(),
        started: cx.app.now,
        outcome: None,
        samples: Vec::new(),
    }));
    cx.request(Request::Task(Task::Apply {
        tag: tag.to_string(),
        consent,
    }));
}

/// Takes the change events of this flow's own change; `None` for the others.
pub fn on_event(flow: &mut Option<Flow>, event: &Event, cx: &mut Cx<'_>) -> Option<Took> {
    match event {
        Event::ChangePlanned { tag, result } => {
            if !matches!(flow, Some(Flow::Planning { tag: t, .. }) if t == tag) {
                return None;
            }
            cx.app.dirty = true;
            match result {
                Ok(plan) if cx.app.profile.read_only => {
                    let plan = plan.clone();
                    start(flow, tag, &plan, false, cx);
                    Some(Took::Started)
                }
                Ok(plan) => {
                    let mut body = plan.summary.clone();
                    if let Some(why) = &plan.ask_again {
                        body.push(format!("! {why}"));
                    }
                    cx.request(Request::Confirm(ConfirmDialog::new(
                        plan.title.clone(),
                        body,
                        cx.app.profile.environment,
                        tag.clone(),
                    )));
                    *flow = Some(Flow::Confirming {
                        tag: tag.clone(),
                        plan: plan.clone(),
                    });
                    Some(Took::Planned)
                }
                Err(e) => {
                    *flow = None;
                    cx.notify(NoticeLevel::Alert, format!("cannot plan it: {e}"));
                    Some(Took::Failed)
                }
            }
        }
        Event::ChangeStep { tag, index, state } => {
            let now = cx.app.now;
            let s = progress_mut(flow, tag)?.steps.get_mut(*index)?;
            if *state == StepView::Running {
                s.started = Some(now);
            } else {
                s.ended = Some(now);
            }
            s.state = Some(state.clone());
            cx.app.dirty = true;
            Some(Took::Step)
        }
        Event::ChangeLine { tag, text } => {
            let p = progress_mut(flow, tag)?;
            p.said.push(text.clone());
            if p.said.len() > SAID_KEPT {
                p.said.remove(0);
            }
            cx.app.dirty = true;
            Some(Took::Line)
        }
        Event::ChangeSample { tag, series, value } => {
            let p = progress_mut(flow, tag)?;
            match p.samples.iter_mut().find(|(s, _)| s == series) {
                Some((_, v)) => v.push(*value),
                None => p.samples.push((series.clone(), vec![*value])),
            }
            cx.app.dirty = true;
            Some(Took::Sample)
        }
        Event::ChangeDone { tag, ok, detail } => {
            let mut p = progress_mut(flow, tag)?.clone();
            p.outcome = Some((*ok, detail.clone()));
            *flow = Some(Flow::Finished(p));
            let level = if *ok {
                NoticeLevel::Info
            } else {
                NoticeLevel::Alert
            };
            cx.notify(level, one_line(detail, 300));
            cx.app.dirty = true;
            Some(Took::Done(*ok))
        }
        Event::TaskFailed { tag, reason } if our_tag(flow) == Some(tag) => {
            *flow = None;
            cx.notify(NoticeLevel::Alert, reason.clone());
            Some(Took::Failed)
        }
        _ => None,
    }
}

/// The dialog `tag` was confirmed. A plan that asks again (production) gets its
/// second dialog, worded by `again` (title and lines, from the plan); otherwise
/// the change starts (`Some(Took::Started)`).
pub fn confirmed(
    flow: &mut Option<Flow>,
    tag: &str,
    cx: &mut Cx<'_>,
    again: impl FnOnce(&PlannedChange) -> (String, Vec<String>),
) -> Option<Took> {
    let env = cx.app.profile.environment;
    match flow.clone() {
        Some(Flow::Confirming { tag: t, plan }) if t == tag => {
            if plan.ask_again.is_some() && env == Environment::Production {
                let (title, body) = again(&plan);
                cx.request(Request::Confirm(ConfirmDialog::new(
                    title,
                    body,
                    env,
                    format!("{tag}#again"),
                )));
                *flow = Some(Flow::ConfirmingAgain { tag: t, plan });
                None
            } else {
                start(flow, tag, &plan, false, cx);
                Some(Took::Started)
            }
        }
        Some(Flow::ConfirmingAgain { tag: t, plan }) if format!("{t}#again") == tag => {
            start(flow, &t, &plan, true, cx);
            Some(Took::Started)
        }
        _ => None,
    }
}

/// Leaves the banner of the top bar to others once `by`'s change is over.
pub fn release_banner(app: &mut App, by: crate::console::action::Context) {
    if app.change_by == Some(by) {
        app.change_by = None;
        app.change_running = false;
        app.change_banner = None;
        app.dirty = true;
    }
}
