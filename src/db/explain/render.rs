//! The plan as indented text, one line per node, for `opsctl queries explain`.
//!
//! ```text
//! PostgreSQL · EXPLAIN ANALYZE · planning 0.114 ms · execution 36.47 ms · 2 flags
//! Seq Scan on shop_shipment  rows est 1 · actual 1  self 36.32 ms 100.0%  !! seq scan on big table: 400,000 rows  !! filter removed 399,999 rows, kept 1
//! ```
//! Children hang below their parent with `├─ ` / `└─ `; flags follow `!!`.

use std::fmt::Write as _;

use super::{Flag, PlanFormat, PlanNode, PlanTree, RowsSource};

/// The tree as text: a header line, then one line per node.
pub fn render(tree: &PlanTree) -> String {
    let mut out = String::new();
    out.push_str(&header(tree));
    out.push('\n');
    line(&mut out, &tree.root, tree.analyzed, "", "");
    for t in &tree.triggers {
        let mut l = format!("Trigger {}", t.name);
        if let Some(r) = &t.relation {
            let _ = write!(l, " on {r}");
        }
        if let Some(c) = t.calls {
            let _ = write!(l, "  calls {}", rows(c));
        }
        if let Some(ms) = t.time_ms {
            let _ = write!(l, "  {} ms", millis(ms));
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn header(tree: &PlanTree) -> String {
    let engine = match (tree.engine, tree.format) {
        (_, PlanFormat::Postgresql) => "PostgreSQL",
        (crate::config::Engine::Mysql, _) => "MySQL",
        _ => "MariaDB",
    };
    let mut parts = vec![engine.to_string()];
    parts.push(if tree.analyzed {
        "EXPLAIN ANALYZE".to_string()
    } else {
        "EXPLAIN".to_string()
    });
    if let Some(ms) = tree.planning_ms {
        parts.push(format!("planning {} ms", millis(ms)));
    }
    if let Some(ms) = tree.execution_ms {
        parts.push(format!("execution {} ms", millis(ms)));
    }
    if let Some(ms) = tree.jit_ms {
        parts.push(format!("JIT {} ms", millis(ms)));
    }
    let flags = tree.flag_count();
    parts.push(match flags {
        0 => "no flags".to_string(),
        1 => "1 flag".to_string(),
        n => format!("{n} flags"),
    });
    parts.join(" · ")
}

/// One node's line, then its children's.
fn line(out: &mut String, n: &PlanNode, analyzed: bool, lead: &str, rest: &str) {
    out.push_str(lead);
    out.push_str(&describe(n, analyzed));
    out.push('\n');
    let count = n.children.len();
    for (i, c) in n.children.iter().enumerate() {
        let last = i + 1 == count;
        let lead = format!("{rest}{}", if last { "└─ " } else { "├─ " });
        let rest = format!("{rest}{}", if last { "   " } else { "│  " });
        line(out, c, analyzed, &lead, &rest);
    }
}

fn describe(n: &PlanNode, analyzed: bool) -> String {
    let mut l = String::new();
    let role = n.subplan_name.clone().or_else(|| {
        n.parent_relationship
            .clone()
            .filter(|r| !matches!(r.as_str(), "Outer" | "Inner" | "Member" | "Subquery"))
    });
    if let Some(role) = role {
        let _ = write!(l, "{role}: ");
    }
    let label = clean(&n.label);
    l.push_str(&label);
    // MySQL's iterator labels already say "Table scan on d using idx".
    if let Some(i) = n
        .index
        .as_deref()
        .filter(|i| !label.contains(&format!(" using {i}")))
    {
        let _ = write!(l, " using {}", clean(i));
    }
    let named = |x: &Option<String>| {
        x.as_deref()
            .is_some_and(|x| label.contains(&format!(" on {x}")))
    };
    if !named(&n.relation) && !named(&n.alias) {
        if let Some(r) = &n.relation {
            let _ = write!(l, " on {}", clean(r));
            if let Some(a) = &n.alias {
                let _ = write!(l, " {}", clean(a));
            }
        }
    }

    let mut facts = Vec::new();
    match (n.est_rows, n.actual_rows) {
        (Some(e), Some(a)) => facts.push(format!("rows est {} · actual {}", rows(e), rows(a))),
        (Some(e), None) => facts.push(format!("rows est {}", rows(e))),
        (None, Some(a)) => facts.push(format!("rows actual {}", rows(a))),
        (None, None) => {}
    }
    if let Some(loops) = n.loops.filter(|l| *l > 1.0) {
        facts.push(format!("× {} loops", rows(loops)));
    }
    if n.never_executed {
        facts.push("(never executed)".to_string());
    } else if let Some(s) = n.self_ms {
        let share = n
            .time_share
            .map(|t| format!(" {:.1}%", t * 100.0))
            .unwrap_or_default();
        facts.push(format!("self {} ms{share}", millis(s)));
    }
    if !analyzed {
        if let Some(c) = n.cost {
            facts.push(format!("cost {c:.2}"));
        }
    }
    for f in &n.flags {
        facts.push(format!("!! {}", flag(f)));
    }
    for f in facts {
        l.push_str("  ");
        l.push_str(&f);
    }
    l
}

/// A flag in words.
pub(super) fn flag(f: &Flag) -> String {
    match f {
        Flag::Misestimate {
            factor,
            estimated,
            actual,
        } => {
            let way = if actual < estimated { "over" } else { "under" };
            format!(
                "{}x {way}-estimate (est {}, actual {})",
                factor_text(*factor),
                rows(*estimated),
                rows(*actual)
            )
        }
        Flag::SeqScanOnBigTable { rows: r, source } => {
            let how = match source {
                RowsSource::Measured => "rows read",
                RowsSource::Estimated => "rows estimated",
                RowsSource::TableSize => "rows in the table",
            };
            format!("seq scan on big table: {} {how}", rows(*r))
        }
        Flag::DiskSpill { operation, disk_kb } => match disk_kb {
            Some(kb) => format!("{operation} spilled to disk: {} kB", rows(*kb)),
            None => format!("{operation} spilled to disk"),
        },
        Flag::FilterDiscardsMost { removed, kept } => {
            format!(
                "filter removed {} rows, kept {}",
                rows(*removed),
                rows(*kept)
            )
        }
    }
}

/// Control characters (a newline in a condition) would break the one-line layout.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn factor_text(x: f64) -> String {
    if x < 100.0 {
        format!("{x:.0}")
    } else {
        rows(x)
    }
}

/// Row counts: whole numbers with thousands separators, small fractions with up to
/// two decimals.
pub(super) fn rows(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.abs() >= 100.0 || x.fract() == 0.0 {
        return thousands(&format!("{:.0}", x.round()));
    }
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

pub(super) fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3}")
    } else if ms < 100.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}
