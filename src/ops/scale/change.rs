//! `opsctl scale TARGET +N|-N|=N` as a change on the one road (plan, refusal,
//! consent, the app's lock, run, audit). The plan is made from what each host
//! has now; the run checks it still has that before it touches anything.

use std::time::Duration;

use async_trait::async_trait;

use crate::config::app::AppHealth;
use crate::config::{Profile, ScaleKind, ScaleTarget};
use crate::ops::audit::HostLog;
use crate::ops::deploy::{self, AppHost};
use crate::ops::engine::{Applied, Change, ChangeError, Progress, StepState};
use crate::ops::lock::LockSpec;
use crate::ops::plan::{Plan, Step};

use super::delta::Delta;
use super::status::{self, HostState, UPSTREAM_LIMIT};
use super::upstream::UpstreamFile;
use super::{gunicorn, hosts, nginx, systemd};

/// What is asked: `opsctl scale TARGET DELTA [--host H]... [--member M]`.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: String,
    pub delta: Delta,
    pub hosts: Vec<String>,
    /// nginx: the backend to drain (a host name or `ADDRESS:PORT`).
    pub member: Option<String>,
}

pub struct Scale {
    plan: Plan,
    target: ScaleTarget,
    work: Work,
    lock: Option<LockSpec>,
    logs: Vec<HostLog>,
    /// Upstream files written and not yet reloaded (restored if the run stops).
    pending: Vec<(AppHost, String, String)>,
    /// Backends marked down and reloaded (a stopped run leaves them so: drained).
    downed: Vec<String>,
}

enum Work {
    Gunicorn(Vec<GunicornHost>),
    Systemd(Vec<SystemdHost>),
    Nginx(NginxWork),
}

struct GunicornHost {
    host: AppHost,
    pid_file: String,
    from: u32,
    to: u32,
}

struct SystemdHost {
    host: AppHost,
    start: Vec<String>,
    stop: Vec<String>,
    to: u32,
}

struct Lb {
    host: AppHost,
    file: String,
    text: String,
    pid_file: String,
}

struct NginxWork {
    lbs: Vec<Lb>,
    /// Backends to drain (mark down, reload, wait), then remove unless `keep_down`.
    drain: Vec<String>,
    /// Backends to bring in: those marked down lose `down`, the others are added.
    add: Vec<String>,
    /// No pool to add backends back from: a drained backend stays as a `down` line.
    keep_down: bool,
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.1))
}

impl Scale {
    pub async fn plan(profile: &Profile, req: &Request) -> Result<Scale, String> {
        let target = hosts::find(profile, &req.target)?.clone();
        let hosts = hosts::target_hosts(profile, &target, &req.hosts)?;
        let mut states = Vec::new();
        for (h, s) in status::read_target(&target, &hosts).await {
            match s {
                Ok(s) => states.push((h, s)),
                Err(e) => return Err(format!("{}: {e}; nothing was planned", h.name)),
            }
        }
        let unit = target.kind.unit_word();
        let mut plan = Plan::new(
            "scale",
            format!("{} {}", target.name, req.delta),
            String::new(),
            &profile.name,
            profile.environment,
        );
        let mut changes = Vec::new();
        let work = match target.kind {
            ScaleKind::Gunicorn => {
                let mut out = Vec::new();
                for (host, state) in states {
                    let HostState::Gunicorn { pid_file, master } = state else {
                        continue;
                    };
                    let from = u32::try_from(master.workers.len()).unwrap_or(u32::MAX);
                    let to = req
                        .delta
                        .apply(from, target.min, target.max, unit)
                        .map_err(|e| format!("{}: {e}", host.name))?;
                    if from == to {
                        continue;
                    }
                    let (sig, n) = if to > from {
                        ("TTIN", to - from)
                    } else {
                        ("TTOU", from - to)
                    };
                    let cmd =
                        gunicorn::scale_command(&pid_file, from, to, seconds(target.timeout_secs));
                    plan = plan.step(Step::remote(
                        &host.name,
                        format!(
                            "{from} → {to} workers ({sig} ×{n} to master {}, then count them)",
                            master.pid
                        ),
                        &cmd,
                    ));
                    changes.push(format!("{} {from} → {to}", host.name));
                    out.push(GunicornHost {
                        host,
                        pid_file,
                        from,
                        to,
                    });
                }
                plan.warnings.push(
                    "gunicorn forgets this count when its master restarts (a deploy, a HUP): set `workers` in its config to keep it".into(),
                );
                Work::Gunicorn(out)
            }
            ScaleKind::Systemd => {
                let mut out = Vec::new();
                for (host, state) in states {
                    let HostState::Systemd { units } = state else {
                        continue;
                    };
                    let up = |id: &str| units.iter().any(|u| u.id == id && u.is_up());
                    let names: Vec<String> = target
                        .instances
                        .iter()
                        .filter_map(|i| target.unit_of(i))
                        .collect();
                    let running: Vec<&String> = names.iter().filter(|n| up(n)).collect();
                    let from = u32::try_from(running.len()).unwrap_or(u32::MAX);
                    let mut to = req
                        .delta
                        .apply(from, target.min, target.max, unit)
                        .map_err(|e| format!("{}: {e}", host.name))?;
                    let idle: Vec<String> = names.iter().filter(|n| !up(n)).cloned().collect();
                    if to > from && (to - from) as usize > idle.len() {
                        return Err(format!(
                            "{}: {from} of {} instances run; the profile lists no more to start (instances = [...])",
                            host.name,
                            names.len()
                        ));
                    }
                    to = to.min(u32::try_from(names.len()).unwrap_or(u32::MAX));
                    if from == to {
                        continue;
                    }
                    let (start, stop): (Vec<String>, Vec<String>) = if to > from {
                        (
                            idle.into_iter().take((to - from) as usize).collect(),
                            Vec::new(),
                        )
                    } else {
                        (
                            Vec::new(),
                            running
                                .iter()
                                .rev()
                                .take((from - to) as usize)
                                .map(|s| s.to_string())
                                .collect(),
                        )
                    };
                    let timeout = seconds(target.timeout_secs);
                    let (what, cmd) = if start.is_empty() {
                        (
                            format!("{from} → {to} instances: stop {}", stop.join(" ")),
                            systemd::stop_command(&stop, timeout),
                        )
                    } else {
                        (
                            format!("{from} → {to} instances: start {}", start.join(" ")),
                            systemd::start_command(&start, timeout),
                        )
                    };
                    plan = plan.step(Step::remote(&host.name, what, &cmd));
                    changes.push(format!("{} {from} → {to}", host.name));
                    out.push(SystemdHost {
                        host,
                        start,
                        stop,
                        to,
                    });
                }
                Work::Systemd(out)
            }
            ScaleKind::NginxUpstream => {
                let (work, lines) = nginx_plan(profile, &target, req, states, &mut plan).await?;
                changes.push(lines);
                Work::Nginx(work)
            }
        };
        if plan.steps.is_empty() {
            return Err(format!(
                "nothing to change: every host already has what {} {} asks",
                target.name, req.delta
            ));
        }
        plan.title = format!(
            "Scale {} {} ({unit}: {})",
            target.name,
            req.delta,
            changes.join(", ")
        );
        let (lock, logs) = match &profile.app {
            Some(app) => match deploy::app_hosts(profile, app, &[]) {
                Ok(app_hosts) => (
                    deploy::fleet::lock_on_first(&app_hosts),
                    deploy::fleet::host_logs(&app_hosts),
                ),
                Err(_) => (None, Vec::new()),
            },
            None => (None, Vec::new()),
        };
        Ok(Scale {
            plan,
            target,
            work,
            lock,
            logs,
            pending: Vec::new(),
            downed: Vec::new(),
        })
    }

    async fn run_gunicorn(
        hosts: &[GunicornHost],
        timeout: Duration,
        progress: &mut dyn Progress,
        plan: &Plan,
    ) -> Result<Applied, ChangeError> {
        let mut done = Vec::new();
        let mut output = String::new();
        for (i, h) in hosts.iter().enumerate() {
            progress.step(i, &plan.steps[i], StepState::Started);
            let cmd = gunicorn::scale_command(&h.pid_file, h.from, h.to, timeout);
            let out = h
                .host
                .remote
                .run(&cmd)
                .await
                .map_err(|e| failed(&done, format!("{}: {e}", h.host.name), &output))?;
            for line in out.stdout_lossy().lines() {
                progress.line(&format!("{}: {line}", h.host.name));
            }
            output.push_str(&out.stdout_lossy());
            output.push_str(&out.stderr_lossy());
            if !out.success() {
                let why = out.stderr_lossy().trim().to_string();
                let why = match out.status {
                    Some(gunicorn::MOVED) => format!("{}: {why} (plan again)", h.host.name),
                    _ => format!("{}: {why}", h.host.name),
                };
                progress.step(i, &plan.steps[i], StepState::Failed(why.clone()));
                return Err(failed(&done, why, &output));
            }
            progress.step(i, &plan.steps[i], StepState::Done);
            done.push(format!("{} {} → {} workers", h.host.name, h.from, h.to));
        }
        Ok(Applied {
            outcome: crate::ops::Outcome::Ok,
            detail: format!("scaled: {}", done.join(", ")),
            output,
        })
    }

    async fn run_systemd(
        hosts: &[SystemdHost],
        target: &ScaleTarget,
        progress: &mut dyn Progress,
        plan: &Plan,
    ) -> Result<Applied, ChangeError> {
        let timeout = seconds(target.timeout_secs);
        let mut done = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            progress.step(i, &plan.steps[i], StepState::Started);
            let cmd = if h.start.is_empty() {
                systemd::stop_command(&h.stop, timeout)
            } else {
                systemd::start_command(&h.start, timeout)
            };
            let out = h
                .host
                .remote
                .run(&cmd)
                .await
                .map_err(|e| failed(&done, format!("{}: {e}", h.host.name), ""))?;
            if !out.success() {
                let why = format!("{}: systemctl: {}", h.host.name, out.stderr_lossy().trim());
                progress.step(i, &plan.steps[i], StepState::Failed(why.clone()));
                return Err(failed(&done, why, ""));
            }
            // Started is not running: count what systemd says until it agrees.
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let now = match status::read_host(target, &h.host).await {
                    Ok(s) => s.count(),
                    Err(e) => return Err(failed(&done, format!("{}: {e}", h.host.name), "")),
                };
                if now == h.to {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    let why = format!(
                        "{}: {now} instances run, not {}, after {:.0}s",
                        h.host.name,
                        h.to,
                        timeout.as_secs_f64()
                    );
                    progress.step(i, &plan.steps[i], StepState::Failed(why.clone()));
                    return Err(failed(&done, why, ""));
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            progress.step(i, &plan.steps[i], StepState::Done);
            done.push(format!("{} → {} instances", h.host.name, h.to));
        }
        Ok(Applied::ok(format!("scaled: {}", done.join(", "))))
    }
}

/// A failure after `done` hosts changed: says which did.
fn failed(done: &[String], why: String, output: &str) -> ChangeError {
    let detail = if done.is_empty() {
        why
    } else {
        format!("{why}; already changed: {}", done.join(", "))
    };
    ChangeError::Failed {
        detail,
        output: output.to_string(),
    }
}

/// `web2` (a profile host) or `127.0.0.3:8000` as the upstream's address.
fn member_address(profile: &Profile, target: &ScaleTarget, m: &str) -> String {
    match profile.hosts.iter().find(|h| h.name == m) {
        Some(h) => format!(
            "{}:{}",
            h.address.as_deref().unwrap_or(&h.name),
            target.backend_port
        ),
        None => m.to_string(),
    }
}

/// The backends the pool offers: hosts of `backends_role` at `backend_port`.
fn pool(profile: &Profile, target: &ScaleTarget) -> Option<Vec<String>> {
    let role = target.backends_role.as_ref()?;
    Some(
        profile
            .hosts
            .iter()
            .filter(|h| h.roles.contains(role))
            .map(|h| {
                format!(
                    "{}:{}",
                    h.address.as_deref().unwrap_or(&h.name),
                    target.backend_port
                )
            })
            .collect(),
    )
}

async fn nginx_plan(
    profile: &Profile,
    target: &ScaleTarget,
    req: &Request,
    states: Vec<(AppHost, HostState)>,
    plan: &mut Plan,
) -> Result<(NginxWork, String), String> {
    let mut lbs = Vec::new();
    let mut files = Vec::new();
    for (host, state) in states {
        let HostState::Nginx {
            file,
            text,
            upstream,
        } = state
        else {
            continue;
        };
        let pid_file = target
            .pid_file
            .as_deref()
            .map(|p| p.replace("{host}", &host.name))
            .unwrap_or_default();
        files.push(upstream);
        lbs.push(Lb {
            host,
            file,
            text,
            pid_file,
        });
    }
    let Some(first) = files.first() else {
        return Err("no load balancer to change".into());
    };
    let active: Vec<String> = first.active().iter().map(|m| m.address.clone()).collect();
    let from = u32::try_from(active.len()).unwrap_or(u32::MAX);
    let to = req
        .delta
        .apply(from, target.min.max(1), target.max, "backends")
        .map_err(|e| {
            if to_below(req.delta, from) {
                format!("{e}; the last backend is never removed")
            } else {
                e
            }
        })?;
    let pool = pool(profile, target);
    let mut drain = Vec::new();
    let mut add = Vec::new();
    if to < from {
        let n = (from - to) as usize;
        match &req.member {
            Some(m) => {
                let addr = member_address(profile, target, m);
                if !active.contains(&addr) {
                    return Err(format!(
                        "`{m}` ({addr}) is not an active backend (active: {})",
                        active.join(", ")
                    ));
                }
                if n != 1 {
                    return Err("--member names one backend: use -1 with it".into());
                }
                drain.push(addr);
            }
            None => drain.extend(active.iter().rev().take(n).cloned()),
        }
    } else if to > from {
        let n = (to - from) as usize;
        if req.member.is_some() {
            return Err("--member names the backend to drain (with -1)".into());
        }
        let downs = first
            .members()
            .filter(|m| m.down)
            .map(|m| m.address.clone());
        let absent = pool
            .iter()
            .flatten()
            .filter(|a| !first.members().any(|m| &m.address == *a))
            .cloned();
        add = downs.chain(absent).take(n).collect();
        if add.len() < n {
            return Err(format!(
                "only {} backends to add ({}); backends_role names the hosts that may be added",
                add.len(),
                if add.is_empty() {
                    "none".to_string()
                } else {
                    add.join(", ")
                }
            ));
        }
    }
    // Never the last healthy backend: one that stays must answer its health URL.
    let staying: Vec<&String> = active.iter().filter(|a| !drain.contains(a)).collect();
    if !drain.is_empty()
        && let Some(app) = &profile.app
    {
        let mut healthy = None;
        let mut why = Vec::new();
        for a in &staying {
            match backend_health(profile, &app.health, a).await {
                Ok(()) => {
                    healthy = Some(a.to_string());
                    break;
                }
                Err(e) => why.push(e),
            }
        }
        if healthy.is_none() {
            return Err(format!(
                "no backend that stays is healthy ({}): draining {} would leave none",
                why.join("; "),
                drain.join(", ")
            ));
        }
    }
    let keep_down = pool.is_none();
    let t = seconds(target.timeout_secs);
    let drain_t = seconds(target.drain_timeout_secs);
    for lb in &lbs {
        let name = &lb.host.name;
        let edit = if drain.is_empty() {
            format!("add {} to {}", add.join(", "), lb.file)
        } else {
            format!("mark {} down in {}", drain.join(", "), lb.file)
        };
        plan.steps.push(Step {
            on: Some(name.clone()),
            what: edit,
            argv: None,
            sql: None,
        });
        let test = ScaleTarget::argv_on(&target.test, name);
        plan.steps.push(Step::remote(
            name,
            "check the configuration (the old file back if it fails)",
            &nginx::test_command(&test, t),
        ));
    }
    let reload_what = if drain.is_empty() {
        "reload gracefully".to_string()
    } else {
        format!(
            "reload gracefully, then wait (≤{:.0}s) until the old workers, which hold every request to {}, have exited",
            drain_t.as_secs_f64(),
            drain.join(", ")
        )
    };
    for lb in &lbs {
        let reload = ScaleTarget::argv_on(&target.reload, &lb.host.name);
        plan.steps.push(Step::remote(
            &lb.host.name,
            reload_what.clone(),
            &nginx::reload_command(&lb.pid_file, &reload, drain_t),
        ));
    }
    if !drain.is_empty() && !keep_down {
        for lb in &lbs {
            plan.steps.push(Step {
                on: Some(lb.host.name.clone()),
                what: format!(
                    "remove {} from {}, check, reload",
                    drain.join(", "),
                    lb.file
                ),
                argv: None,
                sql: None,
            });
        }
    }
    if !drain.is_empty() && keep_down {
        plan.warnings.push(format!(
            "{} stays in the file as `down` (no backends_role to add it back from)",
            drain.join(", ")
        ));
    }
    let line = format!(
        "{from} → {to} on {}",
        lbs.iter()
            .map(|l| l.host.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((
        NginxWork {
            lbs,
            drain,
            add,
            keep_down,
        },
        line,
    ))
}

fn to_below(delta: Delta, from: u32) -> bool {
    match delta {
        Delta::Remove(n) => n >= from,
        Delta::Set(n) => n < 1,
        Delta::Add(_) => false,
    }
}

async fn backend_health(
    profile: &Profile,
    health: &AppHealth,
    address: &str,
) -> Result<(), String> {
    let ip = address.rsplit_once(':').map_or(address, |(ip, _)| ip);
    let name = profile
        .hosts
        .iter()
        .find(|h| h.address.as_deref() == Some(ip))
        .map_or(ip.to_string(), |h| h.name.clone());
    let host = AppHost {
        name,
        address: ip.to_string(),
        remote: std::sync::Arc::new(crate::remote::local::LocalRemote::new("health")),
        path: String::new(),
    };
    let once = AppHealth {
        retries: 1,
        ..health.clone()
    };
    deploy::gate::pass(&once, &host).await.map(|_| ())
}

impl Scale {
    /// Writes `edit` of each load balancer's file and checks it; one failure puts
    /// every file back (nothing was reloaded, so nothing served changed).
    async fn write_and_test(
        &mut self,
        edit: &(dyn Fn(&mut UpstreamFile) -> Result<(), String> + Sync),
        first_step: usize,
        progress: &mut dyn Progress,
    ) -> Result<usize, ChangeError> {
        let Work::Nginx(work) = &self.work else {
            return Ok(first_step);
        };
        let t = seconds(self.target.timeout_secs);
        let mut step = first_step;
        let mut pending = Vec::new();
        let mut result = Ok(());
        for lb in &work.lbs {
            let name = lb.host.name.clone();
            let now = match lb.host.remote.read_file(&lb.file, UPSTREAM_LIMIT).await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => {
                    result = Err(format!("{name}: {e}"));
                    break;
                }
            };
            if first_step == 0 && now != lb.text {
                result = Err(format!(
                    "{name}: {} changed since the plan (plan again)",
                    lb.file
                ));
                break;
            }
            let mut file = match UpstreamFile::parse(&now) {
                Ok(f) => f,
                Err(e) => {
                    result = Err(format!("{name}: {}: {e}", lb.file));
                    break;
                }
            };
            if let Err(e) = edit(&mut file) {
                result = Err(format!("{name}: {e}"));
                break;
            }
            if let Some(s) = self.plan.steps.get(step) {
                progress.step(step, s, StepState::Started);
            }
            if let Err(e) = lb
                .host
                .remote
                .write_file(&lb.file, file.render().as_bytes(), 0o644)
                .await
            {
                result = Err(format!("{name}: {e}"));
                break;
            }
            pending.push((lb.host.clone(), lb.file.clone(), now));
            self.pending = pending.clone();
            if let Some(s) = self.plan.steps.get(step) {
                progress.step(step, s, StepState::Done);
            }
            step += 1;
            let test = ScaleTarget::argv_on(&self.target.test, &name);
            if let Some(s) = self.plan.steps.get(step) {
                progress.step(step, s, StepState::Started);
            }
            let out = lb.host.remote.run(&nginx::test_command(&test, t)).await;
            match out {
                Ok(o) if o.success() => {
                    if let Some(s) = self.plan.steps.get(step) {
                        progress.step(step, s, StepState::Done);
                    }
                }
                Ok(o) => {
                    let why = format!(
                        "{name}: the configuration check failed: {}",
                        o.stderr_lossy().trim()
                    );
                    if let Some(s) = self.plan.steps.get(step) {
                        progress.step(step, s, StepState::Failed(why.clone()));
                    }
                    result = Err(why);
                    break;
                }
                Err(e) => {
                    result = Err(format!("{name}: {e}"));
                    break;
                }
            }
            step += 1;
        }
        if let Err(why) = result {
            let restored = self.restore().await;
            return Err(ChangeError::failed(format!(
                "{why}; {restored}; nothing was reloaded: the running nginx never saw the change"
            )));
        }
        Ok(step)
    }

    /// Puts back the files written and not reloaded.
    async fn restore(&mut self) -> String {
        let mut bad = Vec::new();
        for (host, file, text) in std::mem::take(&mut self.pending) {
            if let Err(e) = host.remote.write_file(&file, text.as_bytes(), 0o644).await {
                bad.push(format!("{}: {file}: {e}", host.name));
            }
        }
        if bad.is_empty() {
            "the upstream files are as they were".into()
        } else {
            format!("COULD NOT PUT BACK {}", bad.join("; "))
        }
    }

    async fn reload_all(
        &mut self,
        drain: bool,
        first_step: usize,
        progress: &mut dyn Progress,
    ) -> Result<usize, ChangeError> {
        let Work::Nginx(work) = &self.work else {
            return Ok(first_step);
        };
        let drain_t = seconds(if drain {
            self.target.drain_timeout_secs
        } else {
            self.target.timeout_secs
        });
        let mut step = first_step;
        for (k, lb) in work.lbs.iter().enumerate() {
            let reload = ScaleTarget::argv_on(&self.target.reload, &lb.host.name);
            if let Some(s) = self.plan.steps.get(step) {
                progress.step(step, s, StepState::Started);
            }
            let out = lb
                .host
                .remote
                .run(&nginx::reload_command(&lb.pid_file, &reload, drain_t))
                .await;
            // Reloaded (or not): this load balancer's file is no longer pending.
            let ok = match &out {
                Ok(o) => o.success() || o.status == Some(nginx::DRAIN_TIMED_OUT),
                Err(_) => false,
            };
            if ok {
                self.pending.retain(|(h, _, _)| h.name != lb.host.name);
            }
            match out {
                Ok(o) if o.success() => {
                    for l in o.stdout_lossy().lines() {
                        progress.line(&format!("{}: {l}", lb.host.name));
                    }
                    if let Some(s) = self.plan.steps.get(step) {
                        progress.step(step, s, StepState::Done);
                    }
                }
                Ok(o) => {
                    let why = format!("{}: {}", lb.host.name, o.stderr_lossy().trim());
                    if let Some(s) = self.plan.steps.get(step) {
                        progress.step(step, s, StepState::Failed(why.clone()));
                    }
                    let rest: Vec<&str> = work.lbs[k + 1..]
                        .iter()
                        .map(|l| l.host.name.as_str())
                        .collect();
                    let restored = if rest.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; not reloaded: {} ({})",
                            rest.join(", "),
                            self.restore().await
                        )
                    };
                    return Err(ChangeError::failed(format!("{why}{restored}")));
                }
                Err(e) => {
                    return Err(ChangeError::failed(format!("{}: {e}", lb.host.name)));
                }
            }
            step += 1;
        }
        Ok(step)
    }

    async fn run_nginx(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let Work::Nginx(work) = &self.work else {
            return Ok(Applied::ok(""));
        };
        let drain = work.drain.clone();
        let add = work.add.clone();
        let keep_down = work.keep_down;
        let params = self.target.server_params.clone();
        let lbs: Vec<String> = work.lbs.iter().map(|l| l.host.name.clone()).collect();
        let edit = |f: &mut UpstreamFile| -> Result<(), String> {
            for a in &drain {
                f.set_down(a, true).map_err(|e| e.to_string())?;
            }
            for a in &add {
                if f.members().any(|m| &m.address == a) {
                    f.set_down(a, false).map_err(|e| e.to_string())?;
                } else {
                    f.add(a, &params).map_err(|e| e.to_string())?;
                }
            }
            // Never the last backend, whatever the file said since the plan.
            if f.active().is_empty() {
                return Err("the change would leave no active backend in the file".into());
            }
            Ok(())
        };
        let step = self.write_and_test(&edit, 0, progress).await?;
        let step = match self.reload_all(!drain.is_empty(), step, progress).await {
            Ok(s) => s,
            Err(e) => {
                if !drain.is_empty() {
                    self.downed = drain.clone();
                }
                return Err(e);
            }
        };
        self.downed = drain.clone();
        if !drain.is_empty() && !keep_down {
            let removal = |f: &mut UpstreamFile| -> Result<(), String> {
                for a in &drain {
                    f.remove(a).map_err(|e| e.to_string())?;
                }
                Ok(())
            };
            if let Some(s) = self.plan.steps.get(step) {
                progress.step(step, s, StepState::Started);
            }
            let but = |e: ChangeError| {
                ChangeError::failed(format!(
                    "{} drained and marked down, but: {e}",
                    drain.join(", ")
                ))
            };
            // The removal's own write/check/reload are not steps of the plan.
            self.write_and_test(&removal, usize::MAX / 2, progress)
                .await
                .map_err(but)?;
            self.reload_all(false, usize::MAX / 2, progress)
                .await
                .map_err(but)?;
            for (i, s) in self.plan.steps.iter().enumerate().skip(step) {
                progress.step(i, s, StepState::Done);
            }
        }
        let detail = if drain.is_empty() {
            format!("added {} on {}", add.join(", "), lbs.join(", "))
        } else if keep_down {
            format!(
                "drained {} on {} (marked down)",
                drain.join(", "),
                lbs.join(", ")
            )
        } else {
            format!(
                "drained and removed {} on {}",
                drain.join(", "),
                lbs.join(", ")
            )
        };
        Ok(Applied::ok(detail))
    }
}

#[async_trait]
impl Change for Scale {
    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn host_logs(&self) -> Vec<HostLog> {
        self.logs.clone()
    }

    fn lock(&self) -> Option<LockSpec> {
        self.lock.clone()
    }

    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let timeout = seconds(self.target.timeout_secs);
        match &self.work {
            Work::Gunicorn(hosts) => {
                Scale::run_gunicorn(hosts, timeout, progress, &self.plan).await
            }
            Work::Systemd(hosts) => {
                Scale::run_systemd(hosts, &self.target, progress, &self.plan).await
            }
            Work::Nginx(_) => self.run_nginx(progress).await,
        }
    }

    async fn interrupted(&mut self) -> String {
        let mut said = Vec::new();
        if !self.pending.is_empty() {
            said.push(self.restore().await);
        }
        if !self.downed.is_empty() {
            said.push(format!(
                "{} stays marked down (reloaded): `opsctl scale {} +{}` brings it back",
                self.downed.join(", "),
                self.target.name,
                self.downed.len()
            ));
        }
        let hosts: Vec<AppHost> = match &self.work {
            Work::Gunicorn(h) => h.iter().map(|h| h.host.clone()).collect(),
            Work::Systemd(h) => h.iter().map(|h| h.host.clone()).collect(),
            Work::Nginx(_) => Vec::new(),
        };
        for h in hosts {
            match status::read_host(&self.target, &h).await {
                Ok(s) => said.push(format!(
                    "{} has {} {} now",
                    h.name,
                    s.count(),
                    self.target.kind.unit_word()
                )),
                Err(e) => said.push(format!("{}: cannot read the count: {e}", h.name)),
            }
        }
        if said.is_empty() {
            "interrupted before it changed anything".into()
        } else {
            said.join("; ")
        }
    }
}
