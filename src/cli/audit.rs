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
}

pub fn run(args: &AuditArgs) -> anyhow::Result<i32> {
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
    // One source today; the hosts' logs join here as more lists.
    let records = audit::merge([local]);
    let records = match since {
        Some(t) => audit::since(records, t),
        None => records,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        super::emit(&mut out, &format!("{}\n", to_json(&records)?))?;
    } else if !records.is_empty() {
        super::emit(&mut out, &render(&records))?;
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
