//! Switching hosts from one release to another and back: the part deploys and
//! rollbacks share. Each host's state is kept as it changes, so that whoever
//! undoes a change (a failure, a regression, Ctrl-C) knows exactly what to undo.

use std::sync::Mutex;
use std::time::Instant;

use crate::config::AppSettings;
use crate::ops::engine::{Progress, StepState};
use crate::ops::plan::Step;
use crate::remote::{Command, Output};

use super::fleet::AppHost;
use super::{gate, layout, restart};

/// Where one host is in a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    /// The release current when the change started (what undo goes back to).
    pub started_on: Option<String>,
    /// The change made a release directory here.
    pub created: bool,
    /// `current` points at the change's release.
    pub switched: bool,
    /// The app may be serving the change's release (restarted, or a restart whose
    /// outcome is unknown): undo restarts it again.
    pub app_moved: bool,
}

/// Shared by the hosts of a change while it runs: the plan's steps, where
/// progress goes, what the change printed.
pub struct Road<'a> {
    pub app: &'a AppSettings,
    pub plan_id: &'a str,
    pub steps: &'a [Step],
    progress: Mutex<&'a mut dyn Progress>,
    output: Mutex<String>,
}

/// A step that failed: which one, and what it said.
#[derive(Debug, Clone)]
pub struct StepFailure {
    pub host: String,
    pub what: String,
    pub message: String,
    /// The exit status, when a command ran.
    pub status: Option<i32>,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} failed: {}", self.host, self.what, self.message)
    }
}

impl<'a> Road<'a> {
    pub fn new(
        app: &'a AppSettings,
        plan_id: &'a str,
        steps: &'a [Step],
        progress: &'a mut dyn Progress,
    ) -> Road<'a> {
        Road {
            app,
            plan_id,
            steps,
            progress: Mutex::new(progress),
            output: Mutex::new(String::new()),
        }
    }

    pub fn say(&self, line: &str) {
        if let Ok(mut o) = self.output.lock() {
            o.push_str(line);
            o.push('\n');
        }
        if let Ok(mut p) = self.progress.lock() {
            p.line(line);
        }
    }

    pub fn warn(&self, line: &str) {
        if let Ok(mut o) = self.output.lock() {
            o.push_str("! ");
            o.push_str(line);
            o.push('\n');
        }
        if let Ok(mut p) = self.progress.lock() {
            p.warn(line);
        }
    }

    /// A measurement of the change as it runs (the watch's latency, errors).
    pub fn sample(&self, series: &str, value: f64) {
        if let Ok(mut p) = self.progress.lock() {
            p.sample(series, value);
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    pub fn mark(&self, index: usize, state: StepState) {
        if let (Some(step), Ok(mut p)) = (self.steps.get(index), self.progress.lock()) {
            p.step(index, step, state);
        }
    }

    /// Runs plan step `index` (a command on `host`), reporting it.
    pub async fn run(
        &self,
        index: usize,
        host: &AppHost,
        cmd: &Command,
    ) -> Result<Output, StepFailure> {
        let what = self
            .steps
            .get(index)
            .map(|s| s.what.clone())
            .unwrap_or_default();
        self.mark(index, StepState::Started);
        let started = Instant::now();
        let result = host.remote.run(cmd).await;
        let took = started.elapsed().as_secs_f64();
        match result {
            Ok(out) if out.success() => {
                self.keep_output(&host.name, &out);
                self.mark(index, StepState::Done);
                tracing::info!(host = %host.name, step = %what, took, "step done");
                Ok(out)
            }
            Ok(out) => {
                self.keep_output(&host.name, &out);
                let message = last_lines(&out.stderr_lossy(), &out.stdout_lossy());
                self.mark(index, StepState::Failed(message.clone()));
                Err(StepFailure {
                    host: host.name.clone(),
                    what,
                    message,
                    status: out.status,
                })
            }
            Err(e) => {
                let message = e.to_string();
                self.mark(index, StepState::Failed(message.clone()));
                Err(StepFailure {
                    host: host.name.clone(),
                    what,
                    message,
                    status: None,
                })
            }
        }
    }

    /// Runs plan step `index`, the health gate of `host`.
    pub async fn gate(&self, index: usize, host: &AppHost) -> Result<(), StepFailure> {
        self.mark(index, StepState::Started);
        match gate::pass(&self.app.health, host).await {
            Ok(line) => {
                self.say(&format!("{}: {line}", host.name));
                self.mark(index, StepState::Done);
                Ok(())
            }
            Err(message) => {
                self.mark(index, StepState::Failed(message.clone()));
                Err(StepFailure {
                    host: host.name.clone(),
                    what: "health gate".into(),
                    message,
                    status: None,
                })
            }
        }
    }

    fn keep_output(&self, host: &str, out: &Output) {
        let text = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
        if text.trim().is_empty() {
            return;
        }
        if let Ok(mut o) = self.output.lock() {
            for l in text.lines().filter(|l| !l.trim().is_empty()) {
                o.push_str(host);
                o.push_str(": ");
                o.push_str(l);
                o.push('\n');
            }
        }
    }

    /// Switches `host` to `release`, restarts it and gates it (plan steps
    /// `switch`, `restart`, `gate`), keeping `state` up to date.
    pub async fn move_host(
        &self,
        host: &AppHost,
        release: &str,
        idx: MoveSteps,
        state: &Mutex<HostState>,
    ) -> Result<(), StepFailure> {
        self.run(
            idx.switch,
            host,
            &layout::switch(&host.path, release, self.plan_id),
        )
        .await?;
        set(state, |s| s.switched = true);
        if let (Some(i), Some(cmd)) = (idx.restart, restart::command(&host.path, &self.app.restart))
        {
            set(state, |s| s.app_moved = true);
            if let Err(e) = self.run(i, host, &cmd).await {
                if restart::old_still_serving(self.app.restart.strategy, e.status) {
                    set(state, |s| s.app_moved = false);
                }
                return Err(e);
            }
        }
        self.gate(idx.gate, host).await
    }

    /// Puts `host` back on the release it started on: `current` back, and the app
    /// restarted onto it if it may have moved. Says what it did; never fails
    /// silently (a host it cannot put back is named loudly).
    pub async fn put_back(&self, host: &AppHost, state: &Mutex<HostState>) -> Result<(), String> {
        let s = state.lock().map(|s| s.clone()).unwrap_or_default();
        if !s.switched && !s.app_moved {
            return Ok(());
        }
        let Some(back) = s.started_on.clone() else {
            return Err(format!(
                "{}: had no release before this one; it stays on the new release",
                host.name
            ));
        };
        let out = host
            .remote
            .run(&layout::switch(&host.path, &back, self.plan_id))
            .await;
        match out {
            Ok(o) if o.success() => set(state, |s| s.switched = false),
            Ok(o) => {
                return Err(format!(
                    "{}: switching back to {back}: {}",
                    host.name,
                    o.stderr_lossy().trim()
                ));
            }
            Err(e) => return Err(format!("{}: switching back to {back}: {e}", host.name)),
        }
        if s.app_moved {
            if let Some(cmd) = restart::command(&host.path, &self.app.restart) {
                let out = host.remote.run(&cmd).await;
                let ok = matches!(&out, Ok(o) if o.success());
                let no_master = matches!(&out, Ok(o) if o.status == Some(3));
                if !ok {
                    // No master left to restart (it died on the new release): start one.
                    match restart::start_command(&host.path, &host.name, &self.app.restart) {
                        Some(start) if no_master || out.is_err() => {
                            let started = host.remote.run(&start).await;
                            if !matches!(&started, Ok(o) if o.success()) {
                                return Err(format!(
                                    "{}: current is back on {back}, but the app did not start again: {}",
                                    host.name,
                                    describe(&started)
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "{}: current is back on {back}, but the restart failed: {}",
                                host.name,
                                describe(&out)
                            ));
                        }
                    }
                }
            }
            set(state, |s| s.app_moved = false);
        }
        match gate::pass(&self.app.health, host).await {
            Ok(_) => {
                self.say(&format!("{}: back on {back}, healthy", host.name));
                Ok(())
            }
            Err(e) => Err(format!("{}: back on {back}, but {e}", host.name)),
        }
    }
}

/// Puts every host back where it started, in parallel; one line per host that
/// could not be (also said as a warning).
pub async fn put_back_all(
    road: &Road<'_>,
    hosts: &[AppHost],
    states: &[Mutex<HostState>],
) -> Vec<String> {
    let backs = hosts.iter().zip(states).map(|(h, s)| road.put_back(h, s));
    let problems: Vec<String> = futures::future::join_all(backs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    for p in &problems {
        road.warn(p);
    }
    problems
}

/// The plan indexes of one host's switch.
#[derive(Debug, Clone, Copy)]
pub struct MoveSteps {
    pub switch: usize,
    pub restart: Option<usize>,
    pub gate: usize,
}

pub fn set(state: &Mutex<HostState>, f: impl FnOnce(&mut HostState)) {
    if let Ok(mut s) = state.lock() {
        f(&mut s);
    }
}

fn describe(r: &Result<Output, crate::remote::RemoteError>) -> String {
    match r {
        Ok(o) => last_lines(&o.stderr_lossy(), &o.stdout_lossy()),
        Err(e) => e.to_string(),
    }
}

/// The last lines a failed command wrote (stderr first), for a one-line reason.
fn last_lines(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        "exited with an error and said nothing".into()
    } else {
        tail.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_its_last_lines() {
        assert_eq!(last_lines("a\nb\n\nc\nd\n", "x"), "b / c / d");
        assert_eq!(last_lines("  \n", "only out"), "only out");
        assert_eq!(last_lines("", ""), "exited with an error and said nothing");
    }
}
