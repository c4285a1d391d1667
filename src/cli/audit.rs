//! `opsctl audit`: the changes recorded in this machine's audit log, oldest
//! first, as a table or as JSON (`{"records": [...]}`). No profile is needed:
//! the log is local and holds the changes of every profile.
//!
//! Records are gathered per source and merged by time ([`audit::merge`]), so the
//! hosts' own logs can join this machine's later.

use std::io::Write;

use super::table::{Align, Table};
use super::{exit, since};
use crate::ops::AuditRecord;
use crate::ops::audit::{self, AuditLog};
use crate::sql::slowlog::time::format_micros;

/// Characters of a record's detail the table shows (`--json` has it whole).
const DETAIL_WIDTH: usize = 60;

#[derive(Debug, Default, clap::Args)]
pub struct AuditArgs {
    /// Only changes at or after this: a span back from now (30m, 2h, 7d), a date
    /// (2026-12-01, UTC) or a time (RFC 3339, or '2026-12-01 10:00' UTC).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Print JSON: {"records": [...]}, oldest first.
    #[arg(long)]
    pub json: bool,
    /// Also the audit logs on the profile's app hosts (every operator's changes
    /// of the app, from any machine); each record says where it was found.
    #[arg(long)]
    pub hosts: bool,
}

/// Lines read from the end of each host's log.
const HOST_LINES: usize = 10_000;

/// A record and the logs it was found in (`local`, host names).
struct Found {
    record: AuditRecord,
    on: Vec<String>,
}

/// One record per change ended: the same record written here and on the hosts
/// is shown once, with every place it was found.
fn dedupe(sources: Vec<(String, Vec<AuditRecord>)>) -> Vec<Found> {
    let mut order: Vec<AuditRecord> = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    let mut all: Vec<(String, AuditRecord)> = Vec::new();
    for (on, records) in sources {
        for r in records {
            all.push((on.clone(), r));
        }
    }
    for (on, r) in all {
        match found.iter_mut().find(|f| {
            f.record.plan_id == r.plan_id
                && f.record.at == r.at
                && f.record.outcome == r.outcome
                && !r.plan_id.is_empty()
        }) {
            Some(f) => {
                if !f.on.contains(&on) {
                    f.on.push(on);
                }
            }
            None => {
                order.push(r.clone());
                found.push(Found {
                    record: r,
                    on: vec![on],
                });
            }
        }
    }
    let merged = audit::merge([order]);
    let mut out = Vec::with_capacity(merged.len());
    for r in merged {
        if let Some(i) = found.iter().position(|f| f.record == r) {
            out.push(found.swap_remove(i));
        }
    }
    out
}

/// The app hosts' logs, read in parallel; a host that cannot be read is named.
async fn read_hosts(
    profile: Option<&str>,
    inventory: Option<&std::path::Path>,
) -> Result<Vec<(String, Vec<AuditRecord>)>, i32> {
    let loaded = super::config::load_profile(profile, inventory)?;
    let profile = loaded.profile;
    let Some(app) = profile.app.as_ref() else {
        eprintln!(
            "opsctl audit: --hosts reads the app's hosts, and the profile `{}` has no [app]",
            profile.name
        );
        return Err(exit::USAGE);
    };
    let hosts = crate::ops::deploy::app_hosts(&profile, app, &[]).map_err(|e| {
        eprintln!("opsctl audit: {e}");
        exit::USAGE
    })?;
    let logs = crate::ops::deploy::fleet::host_logs(&hosts);
    let reads = logs
        .iter()
        .map(|l| async move { (l.host.clone(), l.read(HOST_LINES).await) });
    let mut out = Vec::new();
    for (host, result) in futures::future::join_all(reads).await {
        match result {
            Ok((records, bad)) => {
                if bad > 0 {
                    eprintln!(
                        "opsctl audit: warning: {host}: {bad} line(s) of its log are not records, left out"
                    );
                }
                out.push((host, records));
            }
            Err(e) => eprintln!("opsctl audit: warning: cannot read the log on {e}"),
        }
    }
    Ok(out)
}

pub fn run(
    args: &AuditArgs,
    profile: Option<&str>,
    inventory: Option<&std::path::Path>,
) -> anyhow::Result<i32> {
    let since = match args.since.as_deref() {
        Some(v) => match since::parse(v, since::now_micros()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("opsctl audit: {e}");
                return Ok(exit::USAGE);
            }
        },
        None => None,
    };
    let log = AuditLog::open_default();
    let local = match read_local(&log) {
        Ok(records) => records,
        Err(code) => return Ok(code),
    };
    let mut sources = vec![("local".to_string(), local)];
    if args.hosts {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        match runtime.block_on(read_hosts(profile, inventory)) {
            Ok(found) => sources.extend(found),
            Err(code) => return Ok(code),
        }
    }
    let found: Vec<Found> = dedupe(sources)
        .into_iter()
        .filter(|f| since.is_none_or(|t| f.record.at_micros().is_some_and(|at| at >= t)))
        .collect();
    let records: Vec<AuditRecord> = found.iter().map(|f| f.record.clone()).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json = if args.hosts {
            to_json_with_places(&found)?
        } else {
            to_json(&records)?
        };
        super::emit(&mut out, &format!("{json}\n"))?;
    } else if !records.is_empty() {
        let text = if args.hosts {
            render_with_places(&found)
        } else {
            render(&records)
        };
        super::emit(&mut out, &text)?;
    } else if since.is_some() {
        eprintln!(
            "opsctl audit: no change recorded since {}",
            args.since.as_deref().unwrap_or("")
        );
    }
    out.flush()?;
    Ok(exit::OK)
}

/// This machine's log: its records, with a hint on stderr when there is no log
/// yet and a warning naming the lines that are not records.
fn read_local(log: &AuditLog) -> Result<Vec<AuditRecord>, i32> {
    let path = log.path().display().to_string();
    if !log.path().exists() {
        eprintln!("opsctl audit: no change recorded yet (the audit log will be {path})");
        return Ok(Vec::new());
    }
    let report = log.read().map_err(|e| {
        eprintln!("opsctl audit: {e}");
        exit::PROBLEM
    })?;
    if !report.bad_lines.is_empty() {
        eprintln!(
            "opsctl audit: warning: {path}: {} not a record, left out: {}",
            if report.bad_lines.len() == 1 {
                "line is"
            } else {
                "lines are"
            },
            line_list(&report.bad_lines)
        );
    }
    Ok(report.records)
}

/// `2, 5, 9` (at most 20, then `and N more`).
fn line_list(lines: &[usize]) -> String {
    const SHOWN: usize = 20;
    let mut text = lines
        .iter()
        .take(SHOWN)
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if lines.len() > SHOWN {
        text.push_str(&format!(" and {} more", lines.len() - SHOWN));
    }
    text
}

/// `{"records": [...]}`, each record's fields in the order the log has them.
fn to_json(records: &[AuditRecord]) -> serde_json::Result<String> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        records: &'a [AuditRecord],
    }
    serde_json::to_string(&Out { records })
}

/// As [`to_json`], each record with `found_on`: `local` and the hosts.
fn to_json_with_places(found: &[Found]) -> serde_json::Result<String> {
    let records: Vec<serde_json::Value> = found
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(&f.record)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("found_on".into(), serde_json::json!(f.on));
            }
            Ok(v)
        })
        .collect::<serde_json::Result<_>>()?;
    serde_json::to_string(&serde_json::json!({ "records": records }))
}

fn render_with_places(found: &[Found]) -> String {
    let records: Vec<AuditRecord> = found.iter().map(|f| f.record.clone()).collect();
    let text = render(&records);
    // The table's last column ends where its text does: pad to one column.
    let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let pad = |l: &str| format!("{l}{}", " ".repeat(width - l.chars().count()));
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(head) = lines.next() {
        out.push_str(&format!("{}  FOUND ON\n", pad(head)));
    }
    for (line, f) in lines.zip(found) {
        out.push_str(&format!("{}  {}\n", pad(line), f.on.join(",")));
    }
    out
}

/// `2026-12-01 10:00:05Z`, or the text as recorded when it is not a time.
fn short_at(r: &AuditRecord) -> String {
    r.at_micros()
        .map_or_else(|| r.at.clone(), |t| format!("{}Z", format_micros(t)))
}

/// One line of at most `max` characters, `…` where it was cut.
fn one_line(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn render(records: &[AuditRecord]) -> String {
    let l = Align::Left;
    let mut t = Table::new(&[
        ("AT", l),
        ("WHO", l),
        ("ENV", l),
        ("CHANGE", l),
        ("TARGET", l),
        ("OUTCOME", l),
        ("DETAIL", l),
    ]);
    for r in records {
        t.row(vec![
            short_at(r),
            r.who.clone(),
            r.environment.clone(),
            r.change.clone(),
            one_line(&r.target, 40),
            r.outcome.as_str().to_string(),
            one_line(&r.detail, DETAIL_WIDTH),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Outcome;

    fn record(at: &str, detail: &str) -> AuditRecord {
        AuditRecord {
            at: at.into(),
            who: "ana@ops1".into(),
            profile: "shop".into(),
            environment: "production".into(),
            change: "query.cancel".into(),
            target: "pid 42".into(),
            outcome: Outcome::RolledBack,
            detail: detail.into(),
            plan_id: "p1".into(),
            steps: vec![],
            duration_ms: 0.0,
            output_tail: String::new(),
        }
    }

    #[test]
    fn a_record_found_here_and_on_hosts_is_shown_once_with_its_places() {
        let a = record("2026-12-01T10:00:05Z", "deployed");
        let mut b = record("2026-12-01T09:00:00Z", "someone else's");
        b.plan_id = "p2".into();
        let found = dedupe(vec![
            ("local".into(), vec![a.clone()]),
            ("web1".into(), vec![b.clone(), a.clone()]),
            ("web2".into(), vec![a.clone()]),
        ]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].record.plan_id, "p2", "oldest first");
        assert_eq!(found[0].on, ["web1"]);
        assert_eq!(found[1].on, ["local", "web1", "web2"]);
        let json: serde_json::Value =
            serde_json::from_str(&to_json_with_places(&found).unwrap()).unwrap();
        assert_eq!(json["records"][1]["found_on"][2], "web2");
        assert_eq!(json["records"][1]["outcome"], "rolled-back");
        assert!(
            render_with_places(&found)
                .lines()
                .nth(2)
                .unwrap()
                .ends_with("local,web1,web2")
        );
        // FOUND ON is one column, however long each record's detail is.
        let table = render_with_places(&found);
        let starts: Vec<usize> = table
            .lines()
            .map(|l| l.chars().count() - l.split("  ").last().unwrap().chars().count())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{table}");
    }

    #[test]
    fn the_table_is_short_and_one_line_per_record() {
        let long = format!("first line\nsecond {}", "x".repeat(100));
        let text = render(&[record("2026-12-01T10:00:05.123Z", &long)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("AT  "), "{text}");
        assert!(
            lines[1].starts_with("2026-12-01 10:00:05Z  ana@ops1"),
            "{text}"
        );
        assert!(
            lines[1].contains("rolled-back  first line second xxx"),
            "{text}"
        );
        assert!(lines[1].ends_with('…'), "{text}");
        let detail = lines[1].split("rolled-back  ").nth(1).unwrap();
        assert_eq!(detail.chars().count(), DETAIL_WIDTH);
    }

    #[test]
    fn an_unreadable_time_is_shown_as_recorded() {
        assert_eq!(short_at(&record("yesterday", "")), "yesterday");
    }

    #[test]
    fn many_bad_lines_are_summed_up() {
        let lines: Vec<usize> = (1..=25).collect();
        assert!(line_list(&lines).ends_with("19, 20 and 5 more"));
        assert_eq!(line_list(&[3]), "3");
    }
}
