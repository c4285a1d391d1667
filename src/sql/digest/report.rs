//! Rendering a digest: a pt-query-digest-style text profile, Markdown for incident
//! documents, and JSON for scripts.

use std::fmt::Write;

use serde::Serialize;

use crate::sql::slowlog::time::format_micros;

use super::{Class, Digest};

/// Width of the fingerprint column in the profile table.
const ITEM_WIDTH: usize = 60;

fn short(s: &str, width: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= width {
        return one_line;
    }
    let mut t: String = one_line.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A duration with a unit that keeps three significant figures.
pub fn human_secs(s: f64) -> String {
    if s == 0.0 {
        "0".into()
    } else if s < 1e-3 {
        format!("{:.0}us", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2}ms", s * 1e3)
    } else {
        format!("{s:.2}s")
    }
}

fn share(c: &Class, d: &Digest) -> f64 {
    if d.total_time > 0.0 {
        100.0 * c.stats.sum / d.total_time
    } else {
        0.0
    }
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "-".into(), format_micros)
}

fn names(n: &super::class::Names) -> String {
    let mut parts: Vec<String> = n
        .sorted()
        .into_iter()
        .map(|(k, c)| format!("{k} ({c})"))
        .collect();
    if n.others > 0 {
        parts.push(format!("others ({})", n.others));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn header_lines(d: &Digest) -> Vec<String> {
    let mut v = vec![format!(
        "{} events, {} classes, total {} in {} file{}",
        d.events,
        d.classes_total,
        human_secs(d.total_time),
        d.files.len(),
        if d.files.len() == 1 { "" } else { "s" }
    )];
    for f in &d.files {
        v.push(format!("file {}: {}, {} bytes", f.name, f.format, f.bytes));
    }
    let mut notes = Vec::new();
    if d.issues.unparsed > 0 {
        notes.push(format!("{} unparsed", d.issues.unparsed));
    }
    if d.issues.truncated > 0 {
        notes.push(format!("{} truncated", d.issues.truncated));
    }
    if d.filtered_out > 0 {
        notes.push(format!("{} filtered out", d.filtered_out));
    }
    if d.counters.protocol_steps > 0 {
        notes.push(format!(
            "{} parse/bind steps not counted as events",
            d.counters.protocol_steps
        ));
    }
    if d.counters.durations_without_statement > 0 {
        notes.push(format!(
            "{} duration lines without a statement (set log_min_duration_statement to log statements with their durations)",
            d.counters.durations_without_statement
        ));
    }
    if d.counters.statements_without_duration > 0 {
        notes.push(format!(
            "{} statements without a duration (set log_duration = on, or log_min_duration_statement)",
            d.counters.statements_without_duration
        ));
    }
    if d.plans > 0 {
        notes.push(if d.plans_as_events {
            format!(
                "{} auto_explain plans used as events (no statements logged)",
                d.plans
            )
        } else {
            format!(
                "{} auto_explain plans (their statements are counted from the duration lines)",
                d.plans
            )
        });
    }
    if !notes.is_empty() {
        v.push(notes.join(", "));
    }
    for s in &d.issues.samples {
        v.push(format!(
            "  {}:{}: {}: {}",
            s.file, s.line, s.reason, s.excerpt
        ));
    }
    v
}

/// The text report: profile table plus the top `details` classes in detail.
pub fn text(d: &Digest, details: usize) -> String {
    let mut o = String::new();
    for l in header_lines(d) {
        let _ = writeln!(o, "# {l}");
    }
    let _ = writeln!(o, "\n# Profile");
    let _ = writeln!(
        o,
        "# Rank Query ID                           Response time    Calls    R/Call       P95    V/M  Item"
    );
    let _ = writeln!(
        o,
        "# ==== ================================== ================ ======== ========= ========= ===== {}",
        "=".repeat(20)
    );
    for (i, c) in d.classes.iter().enumerate() {
        let s = &c.stats;
        let _ = writeln!(
            o,
            "# {:>4} {} {:>9.4} {:>5.1}% {:>8} {:>9.4} {:>9.4} {:>5.2}  {}",
            i + 1,
            c.id,
            s.sum,
            share(c, d),
            s.count,
            s.mean(),
            s.quantile(0.95),
            s.variance_to_mean(),
            short(&c.fingerprint, ITEM_WIDTH)
        );
    }
    if d.classes_total > d.classes.len() {
        let _ = writeln!(
            o,
            "# (showing {} of {} classes; --limit 0 shows all)",
            d.classes.len(),
            d.classes_total
        );
    }
    for (i, c) in d.classes.iter().take(details).enumerate() {
        let s = &c.stats;
        let _ = writeln!(o, "\n# Query {}: {}", i + 1, c.id);
        let _ = writeln!(
            o,
            "# {} call{}, {:.1}% of total time, first seen {}, last seen {}",
            s.count,
            if s.count == 1 { "" } else { "s" },
            share(c, d),
            when(s.first_seen),
            when(s.last_seen)
        );
        let _ = writeln!(
            o,
            "# {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "Attribute", "total", "min", "max", "avg", "95%", "99%", "median"
        );
        let _ = writeln!(
            o,
            "# {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "Query time",
            human_secs(s.sum),
            human_secs(s.min),
            human_secs(s.max),
            human_secs(s.mean()),
            human_secs(s.quantile(0.95)),
            human_secs(s.quantile(0.99)),
            human_secs(s.quantile(0.5))
        );
        if s.lock_sum > 0.0 {
            let _ = writeln!(
                o,
                "# {:<14} {:>9} {:>9} {:>9}",
                "Lock time",
                human_secs(s.lock_sum),
                "",
                human_secs(s.lock_max)
            );
        }
        if s.has_rows {
            let _ = writeln!(o, "# {:<14} {:>9}", "Rows sent", s.rows_sent);
            let _ = writeln!(
                o,
                "# {:<14} {:>9} {:>9} {:>9}",
                "Rows examined", s.rows_examined, "", s.rows_examined_max
            );
        }
        let _ = writeln!(o, "# Databases      {}", names(&s.databases));
        let _ = writeln!(o, "# Users          {}", names(&s.users));
        let _ = writeln!(
            o,
            "# Fingerprint\n#    {}",
            c.fingerprint.replace('\n', " ")
        );
        if let Some(ex) = &s.example {
            let _ = writeln!(
                o,
                "# Example (slowest: {}{}{})",
                human_secs(ex.query_time),
                ex.db
                    .as_deref()
                    .map(|d| format!(", database {d}"))
                    .unwrap_or_default(),
                ex.time
                    .map(|t| format!(", at {}", format_micros(t)))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                o,
                "{}{}",
                ex.text.trim_end(),
                if ex.truncated {
                    " /* …truncated */"
                } else {
                    ""
                }
            );
        }
    }
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}

/// The Markdown report, for pasting into an incident document.
pub fn markdown(d: &Digest, details: usize) -> String {
    let mut o = String::from("## Slow-query digest\n\n");
    for l in header_lines(d) {
        let _ = writeln!(o, "- {}", md_cell(l.trim()));
    }
    let _ = writeln!(
        o,
        "\n| Rank | Query ID | Total | % | Calls | Mean | P95 | V/M | Fingerprint |"
    );
    let _ = writeln!(o, "|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for (i, c) in d.classes.iter().enumerate() {
        let s = &c.stats;
        let _ = writeln!(
            o,
            "| {} | `{}` | {} | {:.1} | {} | {} | {} | {:.2} | `{}` |",
            i + 1,
            c.id,
            human_secs(s.sum),
            share(c, d),
            s.count,
            human_secs(s.mean()),
            human_secs(s.quantile(0.95)),
            s.variance_to_mean(),
            md_cell(&short(&c.fingerprint, 80))
        );
    }
    for (i, c) in d.classes.iter().take(details).enumerate() {
        let s = &c.stats;
        let _ = writeln!(o, "\n### {}. `{}`\n", i + 1, c.id);
        let _ = writeln!(
            o,
            "{} call{}, {:.1}% of time; mean {}, p95 {}, max {}; databases {}; users {}; first seen {}, last seen {}\n",
            s.count,
            if s.count == 1 { "" } else { "s" },
            share(c, d),
            human_secs(s.mean()),
            human_secs(s.quantile(0.95)),
            human_secs(s.max),
            md_cell(&names(&s.databases)),
            md_cell(&names(&s.users)),
            when(s.first_seen),
            when(s.last_seen)
        );
        if let Some(ex) = &s.example {
            // A fence longer than any backtick run in the example.
            let fence = "`".repeat(3.max(longest_run(&ex.text, '`') + 1));
            let _ = writeln!(o, "{fence}sql\n{}\n{fence}", ex.text.trim_end());
        }
    }
    o
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        cur = if c == ch { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

#[derive(Serialize)]
struct JsonName {
    name: String,
    count: u64,
}

#[derive(Serialize)]
struct JsonClass {
    rank: usize,
    id: String,
    fingerprint: String,
    count: u64,
    total_s: f64,
    share: f64,
    mean_s: f64,
    min_s: f64,
    max_s: f64,
    p50_s: f64,
    p95_s: f64,
    p99_s: f64,
    variance_to_mean: f64,
    lock_s: f64,
    rows_sent: Option<u64>,
    rows_examined: Option<u64>,
    rows_examined_max: Option<u64>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    databases: Vec<JsonName>,
    users: Vec<JsonName>,
    example: Option<String>,
    example_s: Option<f64>,
    example_truncated: bool,
}

#[derive(Serialize)]
struct JsonDigest<'a> {
    classes: Vec<JsonClass>,
    classes_total: usize,
    events: u64,
    total_s: f64,
    unparsed: u64,
    truncated: u64,
    filtered_out: u64,
    plans: u64,
    plans_as_events: bool,
    issues: &'a [crate::sql::slowlog::Issue],
    counters: &'a crate::sql::slowlog::Counters,
    files: &'a [super::FileSummary],
}

fn json_names(n: &super::class::Names) -> Vec<JsonName> {
    let mut v: Vec<JsonName> = n
        .sorted()
        .into_iter()
        .map(|(name, count)| JsonName { name, count })
        .collect();
    if n.others > 0 {
        v.push(JsonName {
            name: "(others)".into(),
            count: n.others,
        });
    }
    v
}

/// The JSON report (`total_s` and every `*_s` in seconds).
pub fn json(d: &Digest) -> String {
    let classes = d
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let s = &c.stats;
            JsonClass {
                rank: i + 1,
                id: c.id.to_string(),
                fingerprint: c.fingerprint.clone(),
                count: s.count,
                total_s: s.sum,
                share: share(c, d) / 100.0,
                mean_s: s.mean(),
                min_s: s.min,
                max_s: s.max,
                p50_s: s.quantile(0.5),
                p95_s: s.quantile(0.95),
                p99_s: s.quantile(0.99),
                variance_to_mean: s.variance_to_mean(),
                lock_s: s.lock_sum,
                rows_sent: s.has_rows.then_some(s.rows_sent),
                rows_examined: s.has_rows.then_some(s.rows_examined),
                rows_examined_max: s.has_rows.then_some(s.rows_examined_max),
                first_seen: s.first_seen.map(format_micros),
                last_seen: s.last_seen.map(format_micros),
                databases: json_names(&s.databases),
                users: json_names(&s.users),
                example: s.example.as_ref().map(|e| e.text.clone()),
                example_s: s.example.as_ref().map(|e| e.query_time),
                example_truncated: s.example.as_ref().is_some_and(|e| e.truncated),
            }
        })
        .collect();
    let doc = JsonDigest {
        classes,
        classes_total: d.classes_total,
        events: d.events,
        total_s: d.total_time,
        unparsed: d.issues.unparsed,
        truncated: d.issues.truncated,
        filtered_out: d.filtered_out,
        plans: d.plans,
        plans_as_events: d.plans_as_events,
        issues: &d.issues.samples,
        counters: &d.counters,
        files: &d.files,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
