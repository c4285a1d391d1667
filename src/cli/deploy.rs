//! `opsctl deploy`, `rollback`, `releases` and `lock`: the app's releases on its
//! hosts, and changing them through the change engine (plan, refusal, consent,
//! lock, run, audit). Exit status: 0 done, 1 the change failed or was refused,
//! 2 usage or profile errors.

use std::io::Write;
use std::time::Instant;

use super::exit;
use super::table::{Align, Table};
use crate::config::{AppSettings, Profile, secrets};
use crate::ops::deploy::{self, AppHost, Deploy, FleetReleases, Rollback};
use crate::ops::engine::{Applied, Change, ChangeError, OpsContext, Progress, StepState};
use crate::ops::lock::{LockSpec, age_words};
use crate::ops::lock_break::LockBreak;
use crate::ops::plan::Step;
use crate::ops::{AuditLog, Consent, Outcome, apply, interrupt};

/// What every change on the command line says about itself.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// Print the plan and stop: nothing runs on any host.
    #[arg(long)]
    pub dry_run: bool,
    /// Staging's confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Production's confirmation: the environment's name.
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
    /// Print the plan (with --dry-run) or the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ChangeArgs {
    pub(crate) fn consent(&self, again: bool) -> Consent {
        Consent {
            yes: self.yes,
            typed: self.confirm.clone(),
            again,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Branch, tag or commit (default: the app's branch).
    pub rev: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// A release id, or a ref/revision of one (default: each host's previous release).
    pub release: Option<String>,
    /// Production: confirm again a rollback that crosses a database migration.
    #[arg(long)]
    pub cross_migrations: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReleasesArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum LockCommand {
    /// Who holds the deploy lock, since when, for what.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Remove the lock whoever holds it (a confirmed, audited change).
    Break(ChangeArgs),
}

fn app_of<'p>(profile: &'p Profile, cmd: &str) -> Result<&'p AppSettings, i32> {
    profile.app.as_ref().ok_or_else(|| {
        eprintln!(
            "opsctl {cmd}: the profile `{}` has no [app] section (name, path, hosts, repository, health); see the README's \"Deploys\"",
            profile.name
        );
        exit::USAGE
    })
}

fn hosts_of(profile: &Profile, app: &AppSettings, cmd: &str) -> Result<Vec<AppHost>, i32> {
    deploy::app_hosts(profile, app, &[]).map_err(|e| {
        eprintln!("opsctl {cmd}: {}", secrets::scrub(&e));
        exit::USAGE
    })
}

pub(crate) fn context(profile: &Profile) -> OpsContext {
    OpsContext {
        profile: profile.name.clone(),
        environment: profile.environment,
        read_only: profile.read_only,
        audit: AuditLog::open_default(),
    }
}

pub async fn run_deploy(profile: &Profile, args: &DeployArgs) -> anyhow::Result<i32> {
    let app = match app_of(profile, "deploy") {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let hosts = match hosts_of(profile, app, "deploy") {
        Ok(h) => h,
        Err(code) => return Ok(code),
    };
    let mut change = match Deploy::plan(
        &profile.name,
        profile.environment,
        app,
        hosts,
        args.rev.as_deref(),
    )
    .await
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!("opsctl deploy: {}", secrets::scrub(&e));
            return Ok(exit::USAGE);
        }
    };
    execute(profile, &mut change, &args.change, false, "deploy").await
}

pub async fn run_rollback(profile: &Profile, args: &RollbackArgs) -> anyhow::Result<i32> {
    let app = match app_of(profile, "rollback") {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let hosts = match hosts_of(profile, app, "rollback") {
        Ok(h) => h,
        Err(code) => return Ok(code),
    };
    let mut change = match Rollback::plan(
        &profile.name,
        profile.environment,
        app,
        hosts,
        args.release.as_deref(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("opsctl rollback: {}", secrets::scrub(&e));
            return Ok(exit::USAGE);
        }
    };
    execute(
        profile,
        &mut change,
        &args.change,
        args.cross_migrations,
        "rollback",
    )
    .await
}

/// The plan (and with --dry-run nothing more), then the change engine.
pub(crate) async fn execute(
    profile: &Profile,
    change: &mut dyn Change,
    args: &ChangeArgs,
    again: bool,
    cmd: &str,
) -> anyhow::Result<i32> {
    let plan = change.plan().clone();
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        drop(out);
        super::print_dry_run(&plan, args.json)?;
        return Ok(exit::OK);
    }
    eprint!("{}", secrets::scrub(&plan.render()));
    let mut progress = StderrProgress::new(plan.steps.len());
    let result = apply(
        change,
        &context(profile),
        &args.consent(again),
        &mut progress,
        interrupt::signals(),
    )
    .await;
    let (code, outcome, detail) = match &result {
        Ok(Applied {
            outcome: Outcome::Ok,
            detail,
            ..
        }) => (exit::OK, Outcome::Ok, detail.clone()),
        Ok(Applied {
            outcome, detail, ..
        }) => (exit::PROBLEM, *outcome, detail.clone()),
        Err(ChangeError::Refused(r)) => (exit::PROBLEM, Outcome::Refused, r.to_string()),
        Err(e) => (exit::PROBLEM, Outcome::Failed, e.to_string()),
    };
    if args.json {
        let doc = serde_json::json!({
            "outcome": outcome.as_str(),
            "detail": detail,
            "plan": plan,
        });
        super::emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(&doc)?),
        )?;
    } else if code == exit::OK {
        super::emit(&mut out, &format!("{detail}\n"))?;
    } else {
        eprintln!("opsctl {cmd}: {}", secrets::scrub(&detail));
    }
    Ok(code)
}

pub async fn run_releases(profile: &Profile, args: &ReleasesArgs) -> anyhow::Result<i32> {
    let app = match app_of(profile, "releases") {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let hosts = match hosts_of(profile, app, "releases") {
        Ok(h) => h,
        Err(code) => return Ok(code),
    };
    let fleet = deploy::releases::read(&hosts).await;
    let mut out = std::io::stdout().lock();
    if args.json {
        super::emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(&fleet)?),
        )?;
    } else {
        super::emit(&mut out, &releases_text(&fleet))?;
    }
    let unreadable = fleet.hosts.iter().any(|h| h.error.is_some());
    Ok(if unreadable { exit::PROBLEM } else { exit::OK })
}

/// Releases per host, newest first, the current one marked; drift said loudly.
pub fn releases_text(fleet: &FleetReleases) -> String {
    let mut text = String::new();
    for d in fleet.drift() {
        text.push_str(&format!("!! DRIFT: {d}\n"));
    }
    let l = Align::Left;
    let mut t = Table::new(&[
        ("HOST", l),
        ("", l),
        ("RELEASE", l),
        ("REF", l),
        ("REVISION", l),
        ("DEPLOYED", l),
        ("BY", l),
    ]);
    for h in &fleet.hosts {
        if let Some(e) = &h.error {
            t.row(vec![
                h.host.clone(),
                "!".into(),
                format!("({e})"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        }
        for r in h.releases.iter().rev() {
            t.row(vec![
                h.host.clone(),
                if r.current { "*".into() } else { String::new() },
                r.id.clone(),
                r.git_ref.clone(),
                deploy::releases::short(&r.revision).to_string(),
                r.deployed_at.clone(),
                r.deployed_by.clone(),
            ]);
        }
    }
    text.push_str(&t.render());
    if fleet.consistent {
        text.push_str("* current; every host runs the same revision\n");
    } else {
        text.push_str("* current; the hosts DISAGREE (see above)\n");
    }
    text
}

fn lock_of(profile: &Profile, cmd: &str) -> Result<LockSpec, i32> {
    let app = app_of(profile, cmd)?;
    let hosts = hosts_of(profile, app, cmd)?;
    deploy::fleet::lock_on_first(&hosts).ok_or(exit::USAGE)
}

pub async fn run_lock(profile: &Profile, cmd: &LockCommand) -> anyhow::Result<i32> {
    let lock = match lock_of(profile, "lock") {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let status = match lock.status().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("opsctl lock: {}", secrets::scrub(&e.to_string()));
            return Ok(exit::PROBLEM);
        }
    };
    let mut out = std::io::stdout().lock();
    match cmd {
        LockCommand::Status { json } => {
            if *json {
                let doc = match &status {
                    Some((h, age)) => serde_json::json!({
                        "held": true,
                        "holder": {
                            "who": h.who, "since": h.since, "what": h.what,
                            "from": h.from, "plan_id": h.plan_id, "change": h.change,
                            "age_secs": age,
                        },
                        "host": lock.host, "path": lock.dir(),
                    }),
                    None => serde_json::json!({
                        "held": false, "holder": null, "host": lock.host, "path": lock.dir(),
                    }),
                };
                super::emit(
                    &mut out,
                    &format!("{}\n", serde_json::to_string_pretty(&doc)?),
                )?;
            } else {
                let text = match &status {
                    Some((h, age)) => format!(
                        "held by {}{} since {} ({} ago): {} (plan {}; {} on {})\n",
                        h.who,
                        if h.from.is_empty() {
                            String::new()
                        } else {
                            format!(" on {}", h.from)
                        },
                        h.since,
                        age_words(*age),
                        h.what,
                        h.plan_id,
                        lock.dir(),
                        lock.host
                    ),
                    None => format!("free ({} on {})\n", lock.dir(), lock.host),
                };
                super::emit(&mut out, &text)?;
            }
            Ok(exit::OK)
        }
        LockCommand::Break(args) => {
            let Some((holder, age)) = status else {
                super::emit(&mut out, "the lock is not held; nothing to break\n")?;
                return Ok(exit::OK);
            };
            let mut change =
                LockBreak::plan(lock, &holder, age, &profile.name, profile.environment);
            drop(out);
            execute(profile, &mut change, args, false, "lock break").await
        }
    }
}

/// Progress on stderr: one line per step as it starts and ends, with its time.
pub struct StderrProgress {
    total: usize,
    started: Vec<Option<Instant>>,
}

impl StderrProgress {
    pub fn new(total: usize) -> StderrProgress {
        StderrProgress {
            total,
            started: vec![None; total],
        }
    }
}

fn clock() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

impl Progress for StderrProgress {
    fn step(&mut self, index: usize, step: &Step, state: StepState) {
        let head = format!(
            "[{}] {:>2}/{} {}",
            clock(),
            index + 1,
            self.total,
            match &step.on {
                Some(h) => format!("{h}: {}", step.what),
                None => step.what.clone(),
            }
        );
        let line = match state {
            StepState::Started => {
                if let Some(s) = self.started.get_mut(index) {
                    *s = Some(Instant::now());
                }
                format!("{head} ...")
            }
            StepState::Done => format!("{head} done{}", took(self.started.get(index))),
            StepState::Failed(why) => {
                format!("{head} FAILED{}: {why}", took(self.started.get(index)))
            }
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", secrets::scrub(&line));
    }

    fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{}] {}", clock(), secrets::scrub(text));
    }

    fn warn(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{}] WARNING: {}", clock(), secrets::scrub(text));
    }
}

fn took(started: Option<&Option<Instant>>) -> String {
    match started.copied().flatten() {
        Some(s) => format!(" ({:.1}s)", s.elapsed().as_secs_f64()),
        None => String::new(),
    }
}
