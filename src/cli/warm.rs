//! `opsctl warm`: fetch every URL of the sitemaps (or a list) through the cache
//! nodes so the first visitors after a deploy or a purge get HITs. A change on
//! the one road (refused read-only, confirmed in production, audited). Exit
//! status: 0 every request answered below 400, 1 some failed (or the change was
//! refused), 2 usage or profile errors.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::deploy::{ChangeArgs, StderrProgress, context};
use super::exit;
use crate::config::{Profile, secrets};
use crate::ops::engine::{Applied, ChangeError};
use crate::ops::warm::source::Fed;
use crate::ops::warm::stats::{Phase, ratio};
use crate::ops::warm::{Request, Warm, WarmObserver, WarmReport, WarmStats};
use crate::ops::{Outcome, apply, interrupt};

/// How many failures and uncacheable pages the text report lists.
const SHOWN: usize = 20;

#[derive(Debug, clap::Args)]
pub struct WarmArgs {
    /// A sitemap or sitemap index: URL or file (repeatable; default: the profile's [warm] sitemaps).
    #[arg(long = "sitemap", value_name = "URL")]
    pub sitemaps: Vec<String>,
    /// A list of URLs, one per line (`-`: stdin; repeatable).
    #[arg(long = "urls", value_name = "FILE")]
    pub lists: Vec<String>,
    /// The site's URL: relative URLs join it, and only its host is warmed.
    #[arg(long, value_name = "URL")]
    pub base: Option<String>,
    /// Requests in flight at once (default 8).
    #[arg(long, short = 'c', value_name = "N")]
    pub concurrency: Option<usize>,
    /// Requests started per second, at most.
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Send every URL to each cache node (the hosts of the [warm] nodes role, default `lb`).
    #[arg(long)]
    pub per_node: bool,
    /// An extra request header, NAME:VALUE (repeatable; values are never shown).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Only sitemap pages whose <lastmod> is this recent: 2h, 7d, 2026-12-01.
    #[arg(long, value_name = "WHEN")]
    pub changed_since: Option<String>,
    /// Another host the sitemaps may name (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Then request everything again and report the HIT ratio before and after.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// `200`, `200/s`, `12.5`.
fn parse_rate(text: &str) -> Result<f64, String> {
    let n = text.trim().trim_end_matches("/s");
    match n.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "`{text}` is not a rate: give requests per second, e.g. 200 or 200/s"
        )),
    }
}

pub async fn run(profile: &Profile, args: &WarmArgs) -> anyhow::Result<i32> {
    let changed_since = match &args.changed_since {
        None => None,
        Some(w) => match super::since::parse(w, super::since::now_micros()) {
            Ok(us) => Some(us.div_euclid(1_000_000)),
            Err(e) => {
                let text = e.to_string().replace("--since", "--changed-since");
                eprintln!("opsctl warm: {text}");
                return Ok(exit::USAGE);
            }
        },
    };
    let req = Request {
        sitemaps: args.sitemaps.clone(),
        lists: args.lists.clone(),
        base: args.base.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        per_node: args.per_node,
        headers: args.headers.clone(),
        changed_since,
        allow_hosts: args.allow_hosts.clone(),
        verify: args.verify,
    };
    let mut warm = match Warm::plan(profile, &req).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("opsctl warm: {}", secrets::scrub(&e.to_string()));
            return Ok(exit::USAGE);
        }
    };
    if args.change.dry_run {
        return dry_run(&warm, args.change.json).await;
    }
    let plan = crate::ops::engine::Change::plan(&warm).clone();
    eprint!("{}", secrets::scrub(&plan.render()));
    warm.observe(Arc::new(StderrBar::new()));
    let mut progress = StderrProgress::new(plan.steps.len());
    let result = apply(
        &mut warm,
        &context(profile),
        &args.change.consent(false),
        &mut progress,
        interrupt::signals(),
    )
    .await;
    let (code, outcome, detail) = match &result {
        Ok(Applied { detail, .. }) => {
            let failed = warm.report.as_ref().is_some_and(|r| r.warm.errors > 0);
            let code = if failed { exit::PROBLEM } else { exit::OK };
            (code, Outcome::Ok, detail.clone())
        }
        Err(ChangeError::Refused(r)) => (exit::PROBLEM, Outcome::Refused, r.to_string()),
        Err(e) => (exit::PROBLEM, Outcome::Failed, e.to_string()),
    };
    let mut out = std::io::stdout().lock();
    if args.change.json {
        let doc = report_json(warm.report.as_ref(), outcome, &detail, &plan);
        super::emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(&doc)?),
        )?;
    } else {
        if let Some(r) = &warm.report {
            eprint!("{}", secrets::scrub(&report_text(r)));
        }
        if result.is_ok() {
            super::emit(&mut out, &format!("{detail}\n"))?;
        } else {
            eprintln!("opsctl warm: {}", secrets::scrub(&detail));
        }
    }
    Ok(code)
}

/// The `--json` document: the warm pass's counts at the top (the contract:
/// urls, requests, ok, errors, duration_s, by_status, by_cache, slowest), then
/// the rest.
fn report_json(
    report: Option<&WarmReport>,
    outcome: Outcome,
    detail: &str,
    plan: &crate::ops::Plan,
) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "outcome": outcome.as_str(),
        "detail": detail,
        "plan": plan,
    });
    if let (Some(r), Some(map)) = (report, doc.as_object_mut()) {
        let w = &r.warm;
        map.insert("urls".into(), w.urls.into());
        map.insert("requests".into(), w.requests.into());
        map.insert("ok".into(), w.ok.into());
        map.insert("errors".into(), w.errors.into());
        map.insert("duration_s".into(), w.duration_s.into());
        map.insert("by_status".into(), serde_json::json!(w.by_status));
        map.insert("by_cache".into(), serde_json::json!(w.by_cache));
        map.insert("slowest".into(), serde_json::json!(w.slowest));
        map.insert("failures".into(), serde_json::json!(w.failures));
        map.insert("uncacheable".into(), serde_json::json!(w.uncacheable));
        map.insert("uncacheable_count".into(), w.uncacheable_count.into());
        map.insert("first_by_cache".into(), serde_json::json!(w.first_by_cache));
        map.insert("nodes".into(), serde_json::json!(w.nodes));
        map.insert(
            "hit_ratio_before".into(),
            serde_json::json!(r.hit_ratio_before),
        );
        map.insert(
            "hit_ratio_after".into(),
            serde_json::json!(r.hit_ratio_after),
        );
        map.insert("verify".into(), serde_json::json!(r.verify));
    }
    doc
}

/// What went wrong and what no cache may keep, for people (bounded lists).
pub fn report_text(r: &WarmReport) -> String {
    let w = &r.warm;
    let mut text = String::new();
    let failures: Vec<String> = w
        .failures
        .iter()
        .map(|f| match f.node.as_str() {
            "" => format!("! {}: {}", f.url, f.reason),
            node => format!("! {} (on {node}): {}", f.url, f.reason),
        })
        .collect();
    listed(&mut text, "error(s)", w.errors, &failures);
    let uncacheable: Vec<String> = w
        .uncacheable
        .iter()
        .map(|u| format!("- {}: {}", u.url, u.reason))
        .collect();
    listed(
        &mut text,
        "page(s) no shared cache keeps",
        w.uncacheable_count,
        &uncacheable,
    );
    if !w.by_cache.is_empty() {
        let parts: Vec<String> = w.by_cache.iter().map(|(k, v)| format!("{k} {v}")).collect();
        text.push_str(&format!("cache: {}\n", parts.join(", ")));
    }
    if let Some(v) = &r.verify {
        let parts: Vec<String> = v.by_cache.iter().map(|(k, n)| format!("{k} {n}")).collect();
        text.push_str(&format!("verify: {}\n", parts.join(", ")));
    }
    for s in w.slowest.iter().take(3) {
        text.push_str(&format!(
            "slow: {:.0} ms {} on {} ({})\n",
            s.ms,
            s.url,
            s.node,
            if s.encoding.is_empty() {
                "no Accept-Encoding"
            } else {
                &s.encoding
            }
        ));
    }
    text
}

/// `N what:` and the first [`SHOWN`] lines of a bounded list, then how many more.
fn listed(text: &mut String, what: &str, count: u64, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    text.push_str(&format!("{count} {what}:\n"));
    for l in lines.iter().take(SHOWN) {
        text.push_str(&format!("  {l}\n"));
    }
    let more = count.saturating_sub(SHOWN as u64);
    if more > 0 {
        text.push_str(&format!(
            "  ... and {more} more (--json lists the first 100)\n"
        ));
    }
}

/// `--dry-run`: the plan on stderr, then the URLs it would warm on stdout (one
/// per line, so they can be piped back with `--urls -`), read from the sources
/// as they stream; with `--json` one document. No page is requested.
async fn dry_run(warm: &Warm, json: bool) -> anyhow::Result<i32> {
    let plan = crate::ops::engine::Change::plan(warm).clone();
    let feed = warm.feed();
    let (mut rx, reader) = (feed.rx, feed.reader);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem_count = 0u64;
    let mut urls = 0u64;
    if json {
        write!(
            out,
            "{{\"plan\": {},\n\"urls\": [",
            serde_json::to_string(&plan)?
        )?;
    } else {
        eprint!("{}", secrets::scrub(&plan.render()));
    }
    while let Some(fed) = rx.recv().await {
        match fed {
            Fed::Url(u) => {
                if json {
                    let sep = if urls == 0 { "\n" } else { ",\n" };
                    write!(out, "{sep}{}", serde_json::to_string(u.as_str())?)?;
                } else {
                    writeln!(out, "{}", secrets::scrub(u.as_str()))?;
                }
                urls += 1;
            }
            Fed::Refused { url, reason }
            | Fed::Failed {
                source: url,
                reason,
            } => {
                problem_count += 1;
                if problems.len() < 100 {
                    problems.push((url, reason));
                }
            }
        }
    }
    let _ = reader.await;
    if json {
        let errors: Vec<serde_json::Value> = problems
            .iter()
            .map(|(u, r)| serde_json::json!({"url": u, "reason": r}))
            .collect();
        writeln!(
            out,
            "],\n\"count\": {urls},\n\"errors\": {problem_count},\n\"failures\": {}}}",
            serde_json::to_string(&errors)?
        )?;
    }
    out.flush()?;
    drop(out);
    if !json {
        for (u, r) in problems.iter().take(SHOWN) {
            eprintln!("  ! {}: {}", secrets::scrub(u), secrets::scrub(r));
        }
        eprintln!(
            "(dry run: {urls} URL(s) to warm, {problem_count} error(s); no page was requested)"
        );
    }
    Ok(if problem_count > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

/// The progress line on stderr: redrawn in place on a terminal (at most 5 times
/// a second), a plain line every 5 s otherwise (CI logs, pipes).
pub struct StderrBar {
    tty: bool,
    last: Mutex<Option<Instant>>,
}

impl StderrBar {
    pub fn new() -> StderrBar {
        StderrBar {
            tty: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }
}

impl Default for StderrBar {
    fn default() -> Self {
        StderrBar::new()
    }
}

impl WarmObserver for StderrBar {
    fn update(&self, s: &WarmStats) {
        let ended =
            s.phase == Phase::Done || (s.urls_total == Some(s.urls_done) && s.in_flight == 0);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let every = if self.tty { 0.2 } else { 5.0 };
        if !ended && last.is_some_and(|t| t.elapsed().as_secs_f64() < every) {
            return;
        }
        *last = Some(Instant::now());
        if s.phase == Phase::Done {
            return;
        }
        let line = progress_line(s, 24);
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}{}", if ended { "\n" } else { "" })
        } else {
            writeln!(err, "{line}")
        };
        if ended {
            *last = None;
        }
    }
}

/// `warm  1200/5000 URLs [#####.............]  24%  950 URL/s  ETA 4s  8 in flight  0 errors  HIT 12%`
pub fn progress_line(s: &WarmStats, width: usize) -> String {
    let phase = match s.phase {
        Phase::Warm => "warm",
        Phase::Verify => "verify",
        Phase::Done => "done",
    };
    let (count, bar, pct) = match s.urls_total {
        Some(total) if total > 0 => {
            let share = (s.urls_done as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (share * width as f64).round() as usize;
            (
                format!("{}/{total} URLs", s.urls_done),
                format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled)),
                format!("{:>3.0}%", share * 100.0),
            )
        }
        _ => (
            format!("{}/{}+ URLs", s.urls_done, s.urls_seen),
            format!("[{}]", "?".repeat(width)),
            "  -%".to_string(),
        ),
    };
    let eta = s
        .eta_s
        .map_or("ETA -".to_string(), |e| format!("ETA {}", short_secs(e)));
    let hit = ratio(&s.by_cache).map_or(String::new(), |r| format!("  HIT {:.0}%", r * 100.0));
    format!(
        "{phase:<6} {count} {bar} {pct}  {:.0} URL/s  {eta}  {} in flight  {} error(s){hit}",
        s.urls_per_s, s.in_flight, s.errors
    )
}

fn short_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_says_rate_eta_and_hits() {
        let mut s = WarmStats {
            urls_seen: 5000,
            urls_total: Some(5000),
            urls_done: 1250,
            in_flight: 8,
            urls_per_s: 950.4,
            eta_s: Some(125.0),
            ..WarmStats::default()
        };
        s.by_cache.insert("HIT".into(), 1);
        s.by_cache.insert("MISS".into(), 3);
        assert_eq!(
            progress_line(&s, 8),
            "warm   1250/5000 URLs [##......]  25%  950 URL/s  ETA 2m05s  8 in flight  0 error(s)  HIT 25%"
        );
        s.urls_total = None;
        assert!(progress_line(&s, 4).contains("1250/5000+ URLs [????]   -%"));
    }

    #[test]
    fn rates_take_a_per_second_suffix_and_refuse_nonsense() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("12.5"), Ok(12.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("inf").is_err());
    }
}
