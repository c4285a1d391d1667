//! `opsctl rollback`: every host to its previous (or a named) release, gated like
//! a deploy. A rollback that crosses a database migration says so, and production
//! confirms it a second time.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::config::{AppSettings, Environment};
use crate::ops::audit::operator;
use crate::ops::consent::AskAgain;
use crate::ops::engine::{Applied, Change, ChangeError, Progress};
use crate::ops::lock::LockSpec;
use crate::ops::plan::{Plan, Step};

use super::fleet::AppHost;
use super::layout;
use super::releases::{FleetReleases, HostReleases, Release, short};
use super::rolling::{HostState, MoveSteps, Road};
use super::{gate, restart};

pub struct Rollback {
    plan: Plan,
    app: AppSettings,
    hosts: Vec<AppHost>,
    /// Per host: the release it goes back to.
    targets: Vec<Release>,
    moves: Vec<MoveSteps>,
    records: Vec<usize>,
    state: Vec<Mutex<HostState>>,
}

/// The release `want` names among a host's: an id, else the newest release of
/// that ref or revision (prefix) that is not current.
fn find<'a>(h: &'a HostReleases, want: &str) -> Option<&'a Release> {
    if let Some(r) = h.releases.iter().find(|r| r.id == want) {
        return Some(r);
    }
    h.releases
        .iter()
        .rev()
        .filter(|r| !r.current)
        .find(|r| r.git_ref == want || (want.len() >= 7 && r.revision.starts_with(want)))
}

/// Migration files the current release has and the target lacks.
pub fn crossed(current: &str, target: &str) -> Vec<String> {
    let have: std::collections::BTreeSet<&str> = target.lines().map(str::trim).collect();
    current
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !have.contains(l))
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

impl Rollback {
    pub async fn plan(
        profile: &str,
        environment: Environment,
        app: &AppSettings,
        hosts: Vec<AppHost>,
        release: Option<&str>,
    ) -> Result<Rollback, String> {
        let now = super::releases::read(&hosts).await;
        let mut targets = Vec::new();
        for h in &hosts {
            let Some(r) = now.hosts.iter().find(|r| r.host == h.name) else {
                return Err(format!("{}: not read", h.name));
            };
            if let Some(e) = &r.error {
                return Err(format!("{}: {e}", h.name));
            }
            let Some(cur) = r.current_release() else {
                return Err(format!("{}: no current release to roll back from", h.name));
            };
            let target = match release {
                Some(want) => find(r, want).ok_or_else(|| {
                    format!(
                        "{}: no release `{want}` (it has: {})",
                        h.name,
                        r.releases
                            .iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
                None => r.previous_release().ok_or_else(|| {
                    format!("{}: no release before {} to roll back to", h.name, cur.id)
                })?,
            };
            if target.id == cur.id {
                return Err(format!("{}: {} is already current", h.name, target.id));
            }
            targets.push(target.clone());
        }
        let mut plan = Self::build(profile, environment, app, hosts, targets, &now);
        // Migrations, read on the first host: the current release's and the target's.
        let (first, target) = (&plan.hosts[0], &plan.targets[0]);
        let cur = now.hosts[0].current.clone();
        let list = |id: String| {
            let cmd = layout::migrations(&first.path, &id, &app.migrations);
            async move { first.remote.run(&cmd).await }
        };
        match (list(cur.clone()).await, list(target.id.clone()).await) {
            (Ok(a), Ok(b)) if a.success() && b.success() => {
                let gone = crossed(&a.stdout_lossy(), &b.stdout_lossy());
                if !gone.is_empty() {
                    let why = format!(
                        "the rollback crosses {} database migration(s) that {} does not have: {}",
                        gone.len(),
                        target.id,
                        gone.join(", ")
                    );
                    plan.plan.warnings.push(format!(
                        "{why}; the database keeps them (roll the schema back first if the old code cannot run on it)"
                    ));
                    plan.plan.ask_again = Some(AskAgain {
                        why,
                        flag: "--cross-migrations".into(),
                    });
                }
            }
            _ => plan.plan.warnings.push(
                "could not compare the releases' migrations; check them before confirming".into(),
            ),
        }
        Ok(plan)
    }

    fn build(
        profile: &str,
        environment: Environment,
        app: &AppSettings,
        hosts: Vec<AppHost>,
        targets: Vec<Release>,
        now: &FleetReleases,
    ) -> Rollback {
        let label = targets
            .first()
            .map(|t| format!("{} ({})", t.git_ref, short(&t.revision)))
            .unwrap_or_default();
        let mut plan = Plan::new(
            "rollback",
            format!("{} {label}", app.name),
            format!("Roll {} back to {label}", app.name),
            profile,
            environment,
        );
        let plan_id = plan.id.clone();
        let mut moves = Vec::new();
        let mut state = Vec::new();
        for (h, t) in hosts.iter().zip(&targets) {
            let started_on = now
                .hosts
                .iter()
                .find(|r| r.host == h.name)
                .map(|r| r.current.clone());
            state.push(Mutex::new(HostState {
                started_on,
                ..HostState::default()
            }));
            let switch = push(
                &mut plan,
                Step::remote(
                    &h.name,
                    format!("switch current back to {}", t.id),
                    &layout::switch(&h.path, &t.id, &plan_id),
                ),
            );
            let restart = restart::command(&h.path, &app.restart)
                .map(|cmd| push(&mut plan, Step::remote(&h.name, "restart", &cmd)));
            let gate = push(
                &mut plan,
                Step {
                    on: Some(h.name.clone()),
                    what: format!("health gate: GET {}", gate::url_for(&app.health, h)),
                    argv: None,
                    sql: None,
                },
            );
            moves.push(MoveSteps {
                switch,
                restart,
                gate,
            });
        }
        let who = operator();
        let records = hosts
            .iter()
            .zip(&targets)
            .map(|(h, t)| {
                push(
                    &mut plan,
                    Step::remote(
                        &h.name,
                        "record in revisions.log",
                        &layout::append_revisions_log(&h.path, &layout::rollback_line(&who, &t.id)),
                    ),
                )
            })
            .collect();
        Rollback {
            plan,
            app: app.clone(),
            hosts,
            targets,
            moves,
            records,
            state,
        }
    }

    async fn undo(&self, road: &Road<'_>) -> Vec<String> {
        super::rolling::put_back_all(road, &self.hosts, &self.state).await
    }
}

#[async_trait]
impl Change for Rollback {
    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn host_logs(&self) -> Vec<crate::ops::audit::HostLog> {
        super::fleet::host_logs(&self.hosts)
    }

    fn lock(&self) -> Option<LockSpec> {
        super::fleet::lock_on_first(&self.hosts)
    }

    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let steps = self.plan.steps.clone();
        let plan_id = self.plan.id.clone();
        let this = &*self;
        let road = Road::new(&this.app, &plan_id, &steps, progress);
        let all: Vec<usize> = (0..this.hosts.len()).collect();
        for batch in all.chunks(this.app.batch_size.max(1)) {
            let moves = batch.iter().map(|&i| {
                road.move_host(
                    &this.hosts[i],
                    &this.targets[i].id,
                    this.moves[i],
                    &this.state[i],
                )
            });
            let failures: Vec<String> = futures::future::join_all(moves)
                .await
                .into_iter()
                .filter_map(Result::err)
                .map(|f| f.to_string())
                .collect();
            if !failures.is_empty() {
                let why = failures.join("; ");
                let problems = this.undo(&road).await;
                let detail = if problems.is_empty() {
                    format!("rollback failed: {why}; every host is back on the release it was on")
                } else {
                    format!(
                        "rollback failed: {why}; NOT every host could be put back: {}",
                        problems.join("; ")
                    )
                };
                return Err(ChangeError::Failed {
                    detail,
                    output: road.output(),
                });
            }
        }
        let who = operator();
        for ((h, t), &i) in this.hosts.iter().zip(&this.targets).zip(&this.records) {
            if let Err(f) = road
                .run(
                    i,
                    h,
                    &layout::append_revisions_log(&h.path, &layout::rollback_line(&who, &t.id)),
                )
                .await
            {
                road.warn(&f.to_string());
            }
        }
        Ok(Applied {
            outcome: crate::ops::Outcome::Ok,
            detail: format!(
                "rolled back to {}",
                this.hosts
                    .iter()
                    .zip(&this.targets)
                    .map(|(h, t)| format!("{} on {}", h.name, t.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            output: road.output(),
        })
    }

    async fn interrupted(&mut self) -> String {
        let steps = self.plan.steps.clone();
        let plan_id = self.plan.id.clone();
        let mut quiet = crate::ops::engine::Quiet;
        let road = Road::new(&self.app, &plan_id, &steps, &mut quiet);
        let problems = self.undo(&road).await;
        if problems.is_empty() {
            "stopped; every host is back on the release it was on".into()
        } else {
            format!(
                "stopped; NOT every host could be put back: {}",
                problems.join("; ")
            )
        }
    }
}

/// Appends a step to the plan; its index.
fn push(plan: &mut Plan, s: Step) -> usize {
    plan.steps.push(s);
    plan.steps.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollback_crosses_the_migrations_the_target_lacks() {
        let cur = "./shop/migrations/0001_initial.py\n./shop/migrations/0002_review.py\n";
        let old = "./shop/migrations/0001_initial.py\n";
        assert_eq!(crossed(cur, old), ["shop/migrations/0002_review.py"]);
        assert!(crossed(old, cur).is_empty());
        assert!(crossed(old, old).is_empty());
    }
}
