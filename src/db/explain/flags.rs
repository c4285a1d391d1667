//! The flags of [`super::Flag`], derived from the engine-neutral fields alone (the
//! engine parsers set `may_stop_early`, `procs` and `spill` where their dialect
//! tells them).

use super::{
    BIG_TABLE_ROWS, FILTER_DISCARD_MIN_ROWS, FILTER_DISCARD_RATIO, Flag, MISESTIMATE_FACTOR,
    PlanNode, RowsSource, finite,
};

/// Re-derives every node's flags.
pub(super) fn annotate(n: &mut PlanNode) {
    n.flags.clear();
    if let Some(f) = misestimate(n) {
        n.flags.push(f);
    }
    if let Some(f) = seq_scan_on_big_table(n) {
        n.flags.push(f);
    }
    if let Some((operation, disk_kb)) = n.spill.clone() {
        n.flags.push(Flag::DiskSpill { operation, disk_kb });
    }
    if let Some(f) = filter_discards_most(n) {
        n.flags.push(f);
    }
    for c in &mut n.children {
        annotate(c);
    }
}

fn ran(n: &PlanNode) -> bool {
    n.loops.is_none_or(|l| l > 0.0)
}

fn misestimate(n: &PlanNode) -> Option<Flag> {
    // PostgreSQL never counts the rows of bitmap set operations (always 0).
    if matches!(n.node.as_str(), "BitmapAnd" | "BitmapOr") || !ran(n) {
        return None;
    }
    let (estimated, actual) = (n.est_rows?, n.actual_rows?);
    let (e, a) = (estimated.max(1.0), actual.max(1.0));
    let factor = finite(if e > a { e / a } else { a / e })?;
    if factor < MISESTIMATE_FACTOR || (a < e && n.may_stop_early) {
        return None;
    }
    Some(Flag::Misestimate {
        factor,
        estimated,
        actual,
    })
}

fn seq_scan_on_big_table(n: &PlanNode) -> Option<Flag> {
    if !n.full_scan || n.relation.as_deref().is_some_and(|r| r.starts_with('<')) {
        return None;
    }
    let measured = n.actual_rows_read.filter(|_| ran(n) && n.loops.is_some());
    let (rows, source) = match measured.and_then(|r| finite(r * n.procs)) {
        Some(r) => (r, RowsSource::Measured),
        None => {
            let estimated = n
                .est_rows_read
                .or(n.est_rows)
                .and_then(|r| finite(r * n.planned_procs))
                .map(|r| (r, RowsSource::Estimated));
            let table = n.table_rows.map(|r| (r, RowsSource::TableSize));
            match (estimated, table) {
                (Some(e), Some(t)) => {
                    if t.0 >= e.0 {
                        t
                    } else {
                        e
                    }
                }
                (e, t) => e.or(t)?,
            }
        }
    };
    (rows >= BIG_TABLE_ROWS).then_some(Flag::SeqScanOnBigTable { rows, source })
}

fn filter_discards_most(n: &PlanNode) -> Option<Flag> {
    if !ran(n) {
        return None;
    }
    let loops = n.loops?;
    let removed = finite(n.rows_removed_by_filter? * loops)?;
    let kept = finite(n.actual_rows? * loops)?;
    (removed >= FILTER_DISCARD_MIN_ROWS && removed >= FILTER_DISCARD_RATIO * kept.max(1.0))
        .then_some(Flag::FilterDiscardsMost { removed, kept })
}
