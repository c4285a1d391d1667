//! `opsctl deploy`: prepare everywhere, then switch in batches behind the health
//! gate, then watch; any failure puts every host back where it started.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::config::{AppSettings, Environment};
use crate::ops::audit::{Outcome, operator};
use crate::ops::engine::{Applied, Change, ChangeError, Progress, StepState};
use crate::ops::lock::LockSpec;
use crate::ops::plan::{Plan, Step};

use super::fleet::AppHost;
use super::layout::{self, ReleaseInfo, Tree};
use super::releases::FleetReleases;
use super::rolling::{HostState, MoveSteps, Road, set};
use super::traffic::AccessLogs;
use super::{gate, push, restart, revision};

/// Plan indexes of one host's steps.
#[derive(Debug, Clone)]
struct HostSteps {
    /// `None` when the tree is pushed from here.
    mirror: Option<usize>,
    create: usize,
    build: Vec<usize>,
    switch: MoveSteps,
    record: usize,
}

pub struct Deploy {
    plan: Plan,
    app: AppSettings,
    hosts: Vec<AppHost>,
    info: ReleaseInfo,
    /// The release's tree, packed here (`[app] push`).
    tree: Option<std::sync::Arc<Vec<u8>>>,
    steps: Vec<HostSteps>,
    migrate: Vec<usize>,
    watch: Option<usize>,
    state: Vec<Mutex<HostState>>,
}

impl Deploy {
    /// Plans a deploy of `rev` (the app's branch when `None`): resolves it on the
    /// first host (or, with `push`, in opsctl's mirror here, packing its tree)
    /// and reads what every host runs now. Changes nothing on any host.
    pub async fn plan(
        profile: &str,
        environment: Environment,
        app: &AppSettings,
        hosts: Vec<AppHost>,
        rev: Option<&str>,
    ) -> Result<Deploy, String> {
        let first = hosts.first().ok_or("the app has no hosts")?;
        let asked = rev.unwrap_or(&app.branch).to_string();
        let (revision, tree) = if app.push {
            let packed = push::pack(&app.name, &app.repository, &asked).await?;
            (packed.revision, Some(packed.tar))
        } else {
            (
                revision::resolve(first, &app.repository, &asked).await?,
                None,
            )
        };
        let now = super::releases::read(&hosts).await;
        let id = layout::release_id(time::OffsetDateTime::now_utc(), &revision);
        let info = ReleaseInfo {
            id,
            revision,
            git_ref: asked,
            deployed_by: operator().replace(char::is_control, " "),
        };
        Ok(Self::build(
            profile,
            environment,
            app,
            hosts,
            info,
            tree,
            &now,
        ))
    }

    fn build(
        profile: &str,
        environment: Environment,
        app: &AppSettings,
        hosts: Vec<AppHost>,
        info: ReleaseInfo,
        tree: Option<std::sync::Arc<Vec<u8>>>,
        now: &FleetReleases,
    ) -> Deploy {
        let short = super::releases::short(&info.revision).to_string();
        let mut plan = Plan::new(
            "deploy",
            format!("{} {}", app.name, info.git_ref),
            format!(
                "Deploy {} {} ({short}) as release {}",
                app.name, info.git_ref, info.id
            ),
            profile,
            environment,
        );
        let plan_id = plan.id.clone();
        let step_timeout = std::time::Duration::from_secs_f64(app.step_timeout_secs);
        let mut idx: Vec<HostSteps> = Vec::new();
        let mut state = Vec::new();
        for h in &hosts {
            let started_on = now
                .hosts
                .iter()
                .find(|r| r.host == h.name)
                .and_then(|r| (!r.current.is_empty()).then(|| r.current.clone()));
            if started_on.is_none() {
                plan.warnings.push(format!(
                    "{}: no current release (a first deploy: a failure cannot switch it back)",
                    h.name
                ));
            }
            state.push(Mutex::new(HostState {
                started_on,
                ..HostState::default()
            }));
            let mirror = tree.is_none().then(|| {
                add_step(
                    &mut plan,
                    Step::remote(
                        &h.name,
                        "update the repository mirror",
                        &layout::update_mirror(&h.path, &app.repository, step_timeout),
                    ),
                )
            });
            let (what, from) = match &tree {
                Some(tar) => (
                    format!(
                        "make release {} from its tree, uploaded from here ({})",
                        info.id,
                        push::size_words(tar.len())
                    ),
                    Tree::Upload(tar),
                ),
                None => (format!("make release {}", info.id), Tree::Mirror),
            };
            let create = add_step(
                &mut plan,
                Step::remote(
                    &h.name,
                    what,
                    &layout::create_release(
                        &h.path,
                        &info,
                        from,
                        &app.linked_files,
                        &app.linked_dirs,
                        step_timeout,
                    ),
                ),
            );
            let dir = layout::release_dir(&h.path, &info.id);
            let build = app
                .build
                .iter()
                .map(|argv| {
                    add_step(
                        &mut plan,
                        Step::remote(
                            &h.name,
                            format!("build: {}", argv.join(" ")),
                            &layout::in_dir(&dir, argv, step_timeout),
                        ),
                    )
                })
                .collect();
            idx.push(HostSteps {
                mirror,
                create,
                build,
                switch: MoveSteps {
                    switch: 0,
                    restart: None,
                    gate: 0,
                },
                record: 0,
            });
        }
        let migrate = match hosts.first() {
            Some(h) => {
                let dir = layout::release_dir(&h.path, &info.id);
                app.migrate
                    .iter()
                    .map(|argv| {
                        add_step(
                            &mut plan,
                            Step::remote(
                                &h.name,
                                format!("migrate (once): {}", argv.join(" ")),
                                &layout::in_dir(&dir, argv, step_timeout),
                            ),
                        )
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        for (i, h) in hosts.iter().enumerate() {
            let switch = add_step(
                &mut plan,
                Step::remote(
                    &h.name,
                    format!("switch current to {}", info.id),
                    &layout::switch(&h.path, &info.id, &plan_id),
                ),
            );
            let restart = restart::command(&h.path, &app.restart).map(|cmd| {
                add_step(
                    &mut plan,
                    Step::remote(&h.name, format!("restart ({})", strategy_name(app)), &cmd),
                )
            });
            let gate = add_step(
                &mut plan,
                Step {
                    on: Some(h.name.clone()),
                    what: format!(
                        "health gate: GET {} expects {}{} ({} tries)",
                        gate::url_for(&app.health, h),
                        app.health.expect_status,
                        app.health
                            .expect_body
                            .as_ref()
                            .map(|b| format!(" and {b:?}"))
                            .unwrap_or_default(),
                        app.health.retries
                    ),
                    argv: None,
                    sql: None,
                },
            );
            idx[i].switch = MoveSteps {
                switch,
                restart,
                gate,
            };
        }
        let watch = app.watch.as_ref().map(|w| {
            add_step(
                &mut plan,
                Step::local(format!(
                    "watch {:.0}s: {}; roll back on >{:.0}% errors or p95 >{:.1}x{}",
                    w.duration_secs,
                    if w.paths.is_empty() {
                        "the health URLs".to_string()
                    } else {
                        w.paths.join(", ")
                    } + &w
                        .access_log
                        .as_ref()
                        .map(|l| format!(" and the access logs ({l})"))
                        .unwrap_or_default(),
                    w.max_error_rate * 100.0,
                    w.max_p95_ratio,
                    w.max_p95_ms
                        .map(|ms| format!(" or >{ms:.0} ms"))
                        .unwrap_or_default()
                )),
            )
        });
        for (i, h) in hosts.iter().enumerate() {
            idx[i].record = add_step(
                &mut plan,
                Step::remote(
                    &h.name,
                    format!(
                        "record in revisions.log, keep {} releases",
                        app.keep_releases
                    ),
                    &layout::append_revisions_log(
                        &h.path,
                        &layout::revisions_line(
                            &info.git_ref,
                            &info.revision,
                            &info.id,
                            &info.deployed_by,
                        ),
                    ),
                ),
            );
        }
        if hosts.len() > app.batch_size {
            plan.warnings.push(format!(
                "rolling: {} host(s) at a time; a failed gate puts every switched host back",
                app.batch_size
            ));
        }
        Deploy {
            plan,
            app: app.clone(),
            hosts,
            info,
            tree,
            steps: idx,
            migrate,
            watch,
            state,
        }
    }

    pub fn release(&self) -> &ReleaseInfo {
        &self.info
    }

    fn snapshot(&self) -> Vec<HostState> {
        self.state
            .iter()
            .map(|s| s.lock().map(|s| s.clone()).unwrap_or_default())
            .collect()
    }

    /// Puts every host back where it started and removes the new release. Returns
    /// one line per host that could not be put back.
    async fn undo(&self, road: &Road<'_>) -> Vec<String> {
        let mut problems = super::rolling::put_back_all(road, &self.hosts, &self.state).await;
        for (h, s) in self.hosts.iter().zip(&self.state) {
            let st = s.lock().map(|s| s.clone()).unwrap_or_default();
            if st.created && !st.switched {
                match h
                    .remote
                    .run(&layout::remove_release(&h.path, &self.info.id))
                    .await
                {
                    Ok(o) if o.success() => set(s, |s| s.created = false),
                    Ok(o) => problems.push(format!(
                        "{}: release {} left in place: {}",
                        h.name,
                        self.info.id,
                        o.stderr_lossy().trim()
                    )),
                    Err(e) => problems.push(format!(
                        "{}: release {} left in place: {e}",
                        h.name, self.info.id
                    )),
                }
            }
        }
        problems
    }

    /// Where every host ended: `web1 on 2026…_61c13bf, web2 on …`.
    fn whereabouts(&self) -> String {
        self.hosts
            .iter()
            .zip(self.snapshot())
            .map(|(h, s)| {
                let on = if s.switched {
                    self.info.id.clone()
                } else {
                    s.started_on.clone().unwrap_or_else(|| "no release".into())
                };
                format!("{} on {on}", h.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    async fn prepare(&self, road: &Road<'_>) -> Result<(), String> {
        let step_timeout = std::time::Duration::from_secs_f64(self.app.step_timeout_secs);
        let work =
            self.hosts
                .iter()
                .zip(&self.steps)
                .zip(&self.state)
                .map(|((h, idx), st)| async move {
                    if let Some(mirror) = idx.mirror {
                        road.run(
                            mirror,
                            h,
                            &layout::update_mirror(&h.path, &self.app.repository, step_timeout),
                        )
                        .await?;
                    }
                    set(st, |s| s.created = true);
                    let from = match &self.tree {
                        Some(tar) => Tree::Upload(tar),
                        None => Tree::Mirror,
                    };
                    road.run(
                        idx.create,
                        h,
                        &layout::create_release(
                            &h.path,
                            &self.info,
                            from,
                            &self.app.linked_files,
                            &self.app.linked_dirs,
                            step_timeout,
                        ),
                    )
                    .await?;
                    let dir = layout::release_dir(&h.path, &self.info.id);
                    for (argv, &i) in self.app.build.iter().zip(&idx.build) {
                        road.run(i, h, &layout::in_dir(&dir, argv, step_timeout))
                            .await?;
                    }
                    Ok::<(), super::rolling::StepFailure>(())
                });
        let failures: Vec<String> = futures::future::join_all(work)
            .await
            .into_iter()
            .filter_map(Result::err)
            .map(|f| f.to_string())
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    async fn migrate(&self, road: &Road<'_>) -> Result<(), String> {
        let Some(h) = self.hosts.first() else {
            return Ok(());
        };
        let step_timeout = std::time::Duration::from_secs_f64(self.app.step_timeout_secs);
        let dir = layout::release_dir(&h.path, &self.info.id);
        for (argv, &i) in self.app.migrate.iter().zip(&self.migrate) {
            road.run(i, h, &layout::in_dir(&dir, argv, step_timeout))
                .await
                .map_err(|f| f.to_string())?;
        }
        Ok(())
    }

    async fn switch_all(&self, road: &Road<'_>) -> Result<(), String> {
        let all: Vec<usize> = (0..self.hosts.len()).collect();
        for batch in all.chunks(self.app.batch_size.max(1)) {
            let moves = batch.iter().map(|&i| {
                road.move_host(
                    &self.hosts[i],
                    &self.info.id,
                    self.steps[i].switch,
                    &self.state[i],
                )
            });
            let failures: Vec<String> = futures::future::join_all(moves)
                .await
                .into_iter()
                .filter_map(Result::err)
                .map(|f| f.to_string())
                .collect();
            if !failures.is_empty() {
                return Err(failures.join("; "));
            }
        }
        Ok(())
    }

    async fn record(&self, road: &Road<'_>) {
        let line = layout::revisions_line(
            &self.info.git_ref,
            &self.info.revision,
            &self.info.id,
            &self.info.deployed_by,
        );
        for ((h, idx), st) in self.hosts.iter().zip(&self.steps).zip(&self.state) {
            if let Err(f) = road
                .run(idx.record, h, &layout::append_revisions_log(&h.path, &line))
                .await
            {
                road.warn(&f.to_string());
            }
            let protect: Vec<String> = st
                .lock()
                .ok()
                .and_then(|s| s.started_on.clone())
                .into_iter()
                .collect();
            match h
                .remote
                .run(&layout::prune(&h.path, self.app.keep_releases, &protect))
                .await
            {
                Ok(o) if o.success() => {
                    for l in o.stdout_lossy().lines() {
                        road.say(&format!("{}: {l}", h.name));
                    }
                }
                Ok(o) => road.warn(&format!("{}: pruning: {}", h.name, o.stderr_lossy().trim())),
                Err(e) => road.warn(&format!("{}: pruning: {e}", h.name)),
            }
        }
    }
}

/// `412 requests, 0 answered 5xx, p95 38 ms before the deploy`.
fn traffic_words(s: &gate::Samples, when: &str) -> String {
    match s.p95_ms() {
        Some(p95) => format!(
            "{} requests, {} answered 5xx, p95 {p95:.0} ms {when}",
            s.total(),
            s.errors
        ),
        None => format!("{} requests {when}", s.total()),
    }
}

fn strategy_name(app: &AppSettings) -> &'static str {
    use crate::config::RestartStrategy::*;
    match app.restart.strategy {
        GunicornUsr2 => "gunicorn USR2, then WINCH+TERM of the old master",
        GunicornHup => "gunicorn HUP",
        SystemdRestart => "systemctl restart",
        SystemdReload => "systemctl reload",
        Command => "the app's restart command",
        None => "none",
    }
}

/// A deploy's failure, with where every host ended.
fn failed(what: &str, why: &str, ends: &str, problems: &[String], output: String) -> ChangeError {
    let mut detail = format!("{what} failed: {why}; every host is back where it started ({ends})");
    if !problems.is_empty() {
        detail = format!(
            "{what} failed: {why}; NOT every host could be put back: {} (hosts: {ends})",
            problems.join("; ")
        );
    }
    ChangeError::Failed { detail, output }
}

#[async_trait]
impl Change for Deploy {
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

        // The watch's baseline: the release every host runs now.
        let watch_urls: Vec<String> = match &this.app.watch {
            Some(w) => this
                .hosts
                .iter()
                .flat_map(|h| gate::watch_urls(&this.app.health, w, h))
                .collect(),
            None => Vec::new(),
        };
        let base = if this.app.watch.is_some() {
            gate::baseline(&this.app.health, &watch_urls).await
        } else {
            gate::Samples::default()
        };
        let mut logs = match &this.app.watch {
            Some(w) => {
                let (logs, problems) = AccessLogs::open(&this.hosts, w).await;
                for p in problems {
                    road.warn(&format!("watch: access log left out: {p}"));
                }
                logs
            }
            None => None,
        };

        if let Err(why) = this.prepare(&road).await {
            let problems = this.undo(&road).await;
            return Err(failed(
                "prepare",
                &why,
                &this.whereabouts(),
                &problems,
                road.output(),
            ));
        }
        road.say(&format!("release {} is ready on every host", this.info.id));
        if let Err(why) = this.migrate(&road).await {
            let problems = this.undo(&road).await;
            return Err(failed(
                "migrate",
                &why,
                &this.whereabouts(),
                &problems,
                road.output(),
            ));
        }
        if let Err(why) = this.switch_all(&road).await {
            road.say(&format!("{why}; putting every switched host back"));
            let problems = this.undo(&road).await;
            return Err(failed(
                "switch",
                &why,
                &this.whereabouts(),
                &problems,
                road.output(),
            ));
        }
        if let (Some(w), Some(i)) = (&this.app.watch, this.watch) {
            road.mark(i, StepState::Started);
            road.say(&format!(
                "watch: p95 {:.0} ms before the deploy ({} probes)",
                base.p95_ms().unwrap_or(0.0),
                base.total()
            ));
            if let Some(l) = logs.as_mut() {
                l.skip_to_now().await;
                road.say(&format!(
                    "watch: access logs: {}",
                    traffic_words(&l.before, "before the deploy")
                ));
            }
            let said = |round: gate::Round<'_>| {
                if let Some(p95) = round.probes.p95_ms() {
                    road.sample("p95 ms", p95);
                }
                if round.probes.total() > 0 {
                    road.sample("errors %", round.probes.error_rate() * 100.0);
                }
                if let Some(t) = round.traffic.filter(|t| t.total() > 0) {
                    if let Some(p95) = t.p95_ms() {
                        road.sample("log p95", p95);
                    }
                    road.sample("log 5xx %", t.error_rate() * 100.0);
                }
            };
            let verdict =
                gate::watch(&this.app.health, w, &watch_urls, &base, logs.as_mut(), said).await;
            if let Some(l) = &logs {
                road.say(&format!(
                    "watch: access logs: {}",
                    traffic_words(&l.since, "since the deploy")
                ));
            }
            match verdict {
                Ok(s) => {
                    road.say(&format!(
                        "watch: {} probes, {} errors, p95 {:.0} ms (before: {:.0} ms)",
                        s.total(),
                        s.errors,
                        s.p95_ms().unwrap_or(0.0),
                        base.p95_ms().unwrap_or(0.0)
                    ));
                    road.mark(i, StepState::Done);
                }
                Err((why, _)) => {
                    road.mark(i, StepState::Failed(why.clone()));
                    road.say(&format!("watch: {why}; rolling back every host"));
                    let problems = this.undo(&road).await;
                    let detail = if problems.is_empty() {
                        format!(
                            "rolled back by the post-deploy watch: {why}; every host is back where it started ({})",
                            this.whereabouts()
                        )
                    } else {
                        format!(
                            "the post-deploy watch saw {why}, and NOT every host could be put back: {}",
                            problems.join("; ")
                        )
                    };
                    return Ok(Applied {
                        outcome: Outcome::RolledBack,
                        detail,
                        output: road.output(),
                    });
                }
            }
        }
        this.record(&road).await;
        Ok(Applied {
            outcome: Outcome::Ok,
            detail: format!(
                "deployed {} ({}) as release {} on {}",
                this.info.git_ref,
                super::releases::short(&this.info.revision),
                this.info.id,
                this.hosts
                    .iter()
                    .map(|h| h.name.as_str())
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
            format!(
                "stopped; every host is back where it started ({})",
                self.whereabouts()
            )
        } else {
            format!(
                "stopped; NOT every host could be put back: {} ({})",
                problems.join("; "),
                self.whereabouts()
            )
        }
    }
}

/// For tests: the plan of a deploy whose revision and hosts' state are known.
#[cfg(test)]
pub(crate) fn planned(
    app: &AppSettings,
    hosts: Vec<AppHost>,
    info: ReleaseInfo,
    now: &FleetReleases,
) -> Deploy {
    Deploy::build("shop", Environment::Production, app, hosts, info, None, now)
}

/// Appends a step to the plan; its index.
fn add_step(plan: &mut Plan, s: Step) -> usize {
    plan.steps.push(s);
    plan.steps.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::deploy::releases::parse_listing;

    fn app() -> AppSettings {
        let text = r#"
name = "shop"
path = "/srv/{host}/shop"
hosts = ["web1", "web2"]
repository = "/srv/git/shop.git"
linked_files = [".env"]
build = [["python", "manage.py", "collectstatic", "--noinput"]]
migrate = [["python", "manage.py", "migrate", "--noinput"]]
[health]
url = "http://{address}:8000/healthz"
expect_body = "ok"
[watch]
duration_secs = 30
paths = ["/products/"]
"#;
        toml::from_str(text).unwrap()
    }

    fn host(name: &str, addr: &str) -> AppHost {
        AppHost {
            name: name.into(),
            address: addr.into(),
            remote: std::sync::Arc::new(crate::remote::local::LocalRemote::new(name)),
            path: format!("/srv/{name}/shop"),
        }
    }

    #[test]
    fn a_deploy_prepares_everywhere_migrates_once_then_switches_host_by_host() {
        let info = ReleaseInfo {
            id: "20261202031500_82fc383".into(),
            revision: "82fc3839ab0316f926233287cc311f85eb9abaf8".into(),
            git_ref: "v2".into(),
            deployed_by: "ana".into(),
        };
        let now = FleetReleases::new(vec![
            parse_listing("web1", "CURRENT\treleases/r1\nREL\tr1\tabc\tv1\troot\t\n"),
            parse_listing("web2", "CURRENT\t\n"),
        ]);
        let d = planned(
            &app(),
            vec![host("web1", "127.0.0.2"), host("web2", "127.0.0.3")],
            info,
            &now,
        );
        let lines = d.plan().summary_lines();
        let want = [
            "1. web1: update the repository mirror",
            "2. web1: make release 20261202031500_82fc383",
            "3. web1: build: python manage.py collectstatic --noinput",
            "4. web2: update the repository mirror",
            "5. web2: make release 20261202031500_82fc383",
            "6. web2: build: python manage.py collectstatic --noinput",
            "7. web1: migrate (once): python manage.py migrate --noinput",
            "8. web1: switch current to 20261202031500_82fc383",
            "9. web1: restart (gunicorn USR2, then WINCH+TERM of the old master)",
            "10. web1: health gate: GET http://127.0.0.2:8000/healthz expects 200 and \"ok\" (10 tries)",
            "11. web2: switch current to 20261202031500_82fc383",
        ];
        assert_eq!(&lines[..want.len()], want, "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("watch 30s: /products/")));
        // web2 has no release yet: the plan says a failure cannot switch it back.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("! web2: no current release")),
            "{lines:#?}"
        );
        let json = serde_json::to_value(d.plan()).unwrap();
        let build = &json["steps"][2]["argv"];
        assert_eq!(build[4], "/srv/web1/shop/releases/20261202031500_82fc383");
        assert_eq!(build[5], "python");
        assert_eq!(d.lock().unwrap().dir(), "/srv/web1/shop/.opsctl-lock");
        assert_eq!(d.state[0].lock().unwrap().started_on.as_deref(), Some("r1"));
    }

    #[test]
    fn a_pushed_tree_replaces_the_hosts_mirror_steps() {
        let info = ReleaseInfo {
            id: "20261202031500_82fc383".into(),
            revision: "82fc3839ab0316f926233287cc311f85eb9abaf8".into(),
            git_ref: "v2".into(),
            deployed_by: "ana".into(),
        };
        let now = FleetReleases::new(vec![parse_listing("web1", "CURRENT\t\n")]);
        let mut app = app();
        app.push = true;
        let d = Deploy::build(
            "shop",
            Environment::Production,
            &app,
            vec![host("web1", "127.0.0.2")],
            info,
            Some(std::sync::Arc::new(vec![0; 2048])),
            &now,
        );
        let lines = d.plan().summary_lines();
        assert!(!lines.iter().any(|l| l.contains("mirror")), "{lines:#?}");
        assert_eq!(
            lines[0],
            "1. web1: make release 20261202031500_82fc383 from its tree, uploaded from here (2 KiB)"
        );
        assert_eq!(d.steps[0].mirror, None);
        let json = serde_json::to_value(d.plan()).unwrap();
        assert!(
            json["steps"][0]["argv"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "upload")
        );
    }
}
