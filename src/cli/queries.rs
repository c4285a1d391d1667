//! `opsctl queries`: what the database is doing now (statements as rates over the
//! last interval, sessions with who blocks whom), EXPLAIN, and cancel/kill as
//! planned, confirmed, audited changes.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use super::exit;
use super::table::{Align, Table};
use crate::config::resolve;
use crate::config::ssh_lookup::SshConfigCache;
use crate::config::{Profile, secrets};
use crate::db::model::{Report, Session, blocking_tree};
use crate::db::rates::{self, OrderBy};
use crate::db::source::{Source, explain_guard};
use crate::db::{DbError, DbTarget, target};
use crate::ops::engine::{ChangeError, OpsContext, Quiet};
use crate::ops::query_signal::{QuerySignal, Signal};
use crate::ops::{AuditLog, Consent, apply};
use crate::remote::Remote;

#[derive(Debug, clap::Args)]
pub struct QueriesArgs {
    #[command(subcommand)]
    pub command: Option<QueriesCommand>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print JSON (with --watch: one document per line).
    #[arg(long, global = true)]
    pub json: bool,
    /// Refresh every --interval until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between the two snapshots rates come from (and between refreshes).
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    /// Rank statements by this measure (per second over the interval).
    #[arg(long, value_enum, default_value_t = OrderBy::Time)]
    pub order_by: OrderBy,
    /// Statements to show (0 = all).
    #[arg(long, default_value_t = 15)]
    pub limit: usize,
    /// With --watch: stop after this many refreshes.
    #[arg(long, requires = "watch")]
    pub count: Option<u64>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// A database of the profile's [[databases]].
    #[arg(long, global = true, conflicts_with = "url")]
    pub db: Option<String>,
    /// postgres://user@host:port/db or mysql://... (default: $DATABASE_URL, then PGHOST/PGDATABASE).
    #[arg(long, global = true)]
    pub url: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum QueriesCommand {
    /// The plan of a statement, or of what session PID runs now.
    Explain {
        /// The statement. With literal values; normalized PostgreSQL text (`$1`)
        /// gets the generic plan.
        sql: Option<String>,
        /// Explain the query session PID runs now.
        #[arg(long, conflicts_with = "sql")]
        pid: Option<i64>,
        /// Run it (read-only statements only, in a transaction that is rolled back).
        #[arg(long)]
        analyze: bool,
    },
    /// Cancel the query session PID runs (pg_cancel_backend / KILL QUERY).
    Cancel(SignalArgs),
    /// End session PID (pg_terminate_backend / KILL).
    Kill(SignalArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct SignalArgs {
    pub pid: i64,
    /// Confirm a change outside production.
    #[arg(long)]
    pub yes: bool,
    /// Confirm a change in production: the environment's name.
    #[arg(long, value_name = "ENVIRONMENT")]
    pub confirm: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("opsctl queries: {}", secrets::scrub(&e.to_string()));
    exit::PROBLEM
}

/// The remote of the profile host a database is reached through.
fn tunnel_for(profile: &Profile, t: &DbTarget) -> Result<Option<Arc<dyn Remote>>, i32> {
    let Some(via) = &t.via else {
        return Ok(None);
    };
    let Some(entry) = profile.hosts.iter().find(|h| &h.name == via) else {
        eprintln!(
            "opsctl queries: database `{}`: via = {via:?} is not a host of the profile",
            t.name
        );
        return Err(exit::USAGE);
    };
    let cache = SshConfigCache::for_profile(profile);
    let lookup = |a: &str, u: Option<&str>, p: Option<u16>| cache.get(a, u, p);
    match resolve::resolve_entry(profile, entry, &lookup) {
        Ok(h) => Ok(Some(h.remote())),
        Err(e) => {
            eprintln!("opsctl queries: {e}");
            Err(exit::USAGE)
        }
    }
}

async fn open(profile: &Profile, args: &DbArgs) -> Result<Source, i32> {
    let t = target::choose(&profile.databases, args.db.as_deref(), args.url.as_deref()).map_err(
        |e| {
            eprintln!("opsctl queries: {}", secrets::scrub(&e.to_string()));
            exit::USAGE
        },
    )?;
    let via = tunnel_for(profile, &t)?;
    Source::open(&t, via).await.map_err(|e| match e {
        DbError::Target(_) => {
            eprintln!("opsctl queries: {}", secrets::scrub(&e.to_string()));
            exit::USAGE
        }
        e => fail(e),
    })
}

pub async fn run(profile: &Profile, args: &QueriesArgs) -> anyhow::Result<i32> {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        eprintln!("opsctl queries: --interval must be a positive number of seconds");
        return Ok(exit::USAGE);
    }
    let mut source = match open(profile, &args.db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    match &args.command {
        None => report(&mut source, args).await,
        Some(QueriesCommand::Explain { sql, pid, analyze }) => {
            explain(&mut source, sql.as_deref(), *pid, *analyze, args.json).await
        }
        Some(QueriesCommand::Cancel(s)) => {
            signal(profile, &mut source, s, Signal::Cancel, args.json).await
        }
        Some(QueriesCommand::Kill(s)) => {
            signal(profile, &mut source, s, Signal::Kill, args.json).await
        }
    }
}

async fn report(source: &mut Source, args: &QueriesArgs) -> anyhow::Result<i32> {
    let interval = Duration::from_secs_f64(args.interval);
    // Rates need two snapshots: the first is only the baseline.
    if let Err(e) = source.refresh().await {
        return Ok(fail(e));
    }
    let mut shown = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(exit::OK),
        }
        let mut rep = match source.refresh().await {
            Ok(r) => r,
            Err(e) => return Ok(fail(e)),
        };
        rates::sort(&mut rep.statements, args.order_by);
        if args.limit > 0 {
            rep.statements.truncate(args.limit);
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if args.json {
            super::emit(&mut out, &format!("{}\n", serde_json::to_string(&rep)?))?;
        } else {
            if args.watch && stdout.is_terminal() {
                write!(out, "\x1b[H\x1b[2J")?;
            }
            super::emit(&mut out, &render(source, &rep))?;
        }
        out.flush()?;
        shown += 1;
        if !args.watch || args.count.is_some_and(|c| shown >= c) {
            return Ok(exit::OK);
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn one_line(q: &str, max: usize) -> String {
    let q: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if q.chars().count() > max {
        format!("{}…", q.chars().take(max - 1).collect::<String>())
    } else {
        q
    }
}

fn age(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) if s >= 3600.0 => format!("{:.1}h", s / 3600.0),
        Some(s) if s >= 60.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{s:.1}s"),
    }
}

/// The human view: statements, sessions, then the blocking tree.
pub fn render(source: &Source, rep: &Report) -> String {
    let mut out = format!(
        "{} {} ({}){}\n\n",
        rep.engine.as_str(),
        rep.server_version,
        source.target().describe(),
        rep.interval_s
            .map(|i| format!(", rates over the last {i:.1}s"))
            .unwrap_or_default()
    );
    let mut t = Table::new(&[
        ("CLASS", Align::Left),
        ("CALLS/S", Align::Right),
        ("MS/S", Align::Right),
        ("MEAN MS", Align::Right),
        ("ROWS/S", Align::Right),
        ("SHARE", Align::Right),
        ("HIT%", Align::Right),
        ("QUERY", Align::Left),
    ]);
    for s in &rep.statements {
        t.row(vec![
            s.id.chars().take(10).collect(),
            ms(s.calls_per_s),
            ms(s.time_ms_per_s),
            ms(s.interval_mean_ms.or(Some(s.mean_ms))),
            ms(s.rows_per_s),
            format!("{:.0}%", s.share * 100.0),
            s.hit_pct.map_or_else(|| "-".into(), |h| format!("{h:.0}")),
            one_line(&s.query, 70),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    let mut a = Table::new(&[
        ("PID", Align::Right),
        ("USER", Align::Left),
        ("DB", Align::Left),
        ("STATE", Align::Left),
        ("WAIT", Align::Left),
        ("XACT", Align::Right),
        ("QUERY AGE", Align::Right),
        ("BLOCKED BY", Align::Left),
        ("QUERY", Align::Left),
    ]);
    for s in &rep.activity {
        let state = s.state.clone().unwrap_or_default();
        a.row(vec![
            s.pid.to_string(),
            s.user.clone().unwrap_or_default(),
            s.database.clone().unwrap_or_default(),
            if s.idle_in_transaction() {
                format!("! {state}")
            } else {
                state
            },
            s.wait_event.clone().unwrap_or_default(),
            age(s.xact_age_s),
            age(s.query_age_s),
            s.blocked_by
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            s.query
                .as_deref()
                .map(|q| one_line(q, 60))
                .unwrap_or_default(),
        ]);
    }
    out.push_str(&a.render());
    let tree = blocking_tree(&rep.activity);
    if !tree.is_empty() {
        out.push_str("\nblocking (root blockers first):\n");
        fn walk(out: &mut String, n: &crate::db::model::BlockNode, depth: usize, all: &[Session]) {
            let q = all
                .iter()
                .find(|s| s.pid == n.pid)
                .and_then(|s| s.query.as_deref())
                .map(|q| one_line(q, 60))
                .unwrap_or_default();
            out.push_str(&format!("{}{} {q}\n", "  ".repeat(depth + 1), n.pid));
            for w in &n.waiting {
                walk(out, w, depth + 1, all);
            }
        }
        for root in &tree {
            walk(&mut out, root, 0, &rep.activity);
        }
    }
    out
}

async fn explain(
    source: &mut Source,
    sql: Option<&str>,
    pid: Option<i64>,
    analyze: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let text = match (sql, pid) {
        (Some(s), _) => s.to_string(),
        (None, Some(p)) => match source.session_query(p).await {
            Ok(Some(q)) if !q.trim().is_empty() => q,
            Ok(_) => {
                eprintln!("opsctl queries explain: session {p} runs no query now");
                return Ok(exit::PROBLEM);
            }
            Err(e) => return Ok(fail(e)),
        },
        (None, None) => {
            eprintln!("opsctl queries explain: give a statement or --pid PID");
            return Ok(exit::USAGE);
        }
    };
    let stmt = match explain_guard(source.engine(), &text, analyze) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("opsctl queries explain: {e}");
            return Ok(exit::USAGE);
        }
    };
    let plan = match source.plan(&stmt, analyze).await {
        Ok(p) => p,
        Err(e) => return Ok(fail(e)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let server: serde_json::Value = serde_json::from_str(&plan.json)
            .unwrap_or(serde_json::Value::String(plan.json.clone()));
        let doc = match &plan.tree {
            Ok(tree) => serde_json::json!({ "plan": tree, "server_json": server }),
            Err(e) => {
                serde_json::json!({ "plan": null, "error": e.to_string(), "server_json": server })
            }
        };
        super::emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(&doc)?),
        )?;
    } else {
        super::emit(&mut out, &plan.render())?;
    }
    Ok(exit::OK)
}

async fn signal(
    profile: &Profile,
    source: &mut Source,
    args: &SignalArgs,
    signal: Signal,
    json: bool,
) -> anyhow::Result<i32> {
    let sessions = match source.sessions().await {
        Ok(s) => s,
        Err(e) => return Ok(fail(e)),
    };
    let session = sessions.iter().find(|s| s.pid == args.pid).cloned();
    let mut change = QuerySignal::plan(
        source,
        args.pid,
        signal,
        session.as_ref(),
        &profile.name,
        profile.environment,
    );
    let plan = crate::ops::Change::plan(&change).clone();
    if args.dry_run {
        super::print_dry_run(&plan, json)?;
        return Ok(exit::OK);
    }
    if session.is_none() {
        eprintln!(
            "opsctl queries: no session {} on {} (sessions: {})",
            args.pid,
            plan.target,
            sessions
                .iter()
                .map(|s| s.pid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(exit::PROBLEM);
    }
    let cx = OpsContext {
        profile: profile.name.clone(),
        environment: profile.environment,
        read_only: profile.read_only,
        audit: AuditLog::open_default(),
    };
    let consent = Consent {
        yes: args.yes,
        typed: args.confirm.clone(),
        again: false,
    };
    eprint!("{}", secrets::scrub(&plan.render()));
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match apply(&mut change, &cx, &consent, &mut Quiet, interrupt).await {
        Ok(done) => {
            println!("{}", secrets::scrub(&done.detail));
            Ok(exit::OK)
        }
        Err(ChangeError::Refused(r)) => {
            eprintln!("opsctl queries: {r}");
            Ok(exit::PROBLEM)
        }
        Err(e) => Ok(fail(e)),
    }
}
