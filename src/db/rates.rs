//! From two snapshots of cumulative counters to what is happening now: calls,
//! time and rows per second over the interval (pgcenter's way), each statement
//! tagged with opsctl's fingerprint class id. Pure.

use std::collections::HashMap;

use super::model::{Snapshot, Statement, StatementTotals};
use crate::config::Engine;
use crate::sql::fingerprint::{ClassId, Dialect, Fingerprinter, Options};

fn key(s: &StatementTotals) -> (&str, Option<&str>, Option<&str>) {
    (s.queryid.as_str(), s.database.as_deref(), s.user.as_deref())
}

/// Fingerprints and class ids already computed, by query text: a busy server's
/// thousands of statements are fingerprinted once, not on every refresh.
#[derive(Default)]
pub struct Classes {
    known: HashMap<String, (String, String)>,
    fp: Fingerprinter,
}

impl Classes {
    /// Past this many texts the cache starts over (statements come and go).
    const MAX: usize = 50_000;

    /// The fingerprint and class id of `query`.
    fn of(&mut self, query: &str, opts: Options) -> (String, String) {
        if let Some(known) = self.known.get(query) {
            return known.clone();
        }
        if self.known.len() >= Self::MAX {
            self.known.clear();
        }
        let fingerprint =
            String::from_utf8_lossy(self.fp.fingerprint(query.as_bytes(), opts)).into_owned();
        let id = ClassId::of(fingerprint.as_bytes()).to_string();
        self.known
            .insert(query.to_string(), (fingerprint.clone(), id.clone()));
        (fingerprint, id)
    }
}

/// The statements of `now`, with rates against `before` when given.
pub fn statements(
    engine: Engine,
    before: Option<&Snapshot>,
    now: &Snapshot,
    classes: &mut Classes,
) -> Vec<Statement> {
    let dialect = if engine == Engine::Postgresql {
        Dialect::Postgres
    } else {
        Dialect::MySql
    };
    let opts = Options::new(dialect);
    let prev: HashMap<_, &StatementTotals> = before
        .map(|b| b.statements.iter().map(|s| (key(s), s)).collect())
        .unwrap_or_default();
    let interval = before.map(|b| now.at - b.at).filter(|d| *d > 0.0);
    // Deltas, where a previous value exists and the counters did not go back
    // (pg_stat_statements_reset, a server restart).
    let deltas: Vec<Option<(f64, f64, f64)>> = now
        .statements
        .iter()
        .map(|s| {
            // No interval (the first snapshot): no deltas.
            interval?;
            match prev.get(&key(s)) {
                Some(p) if s.calls >= p.calls => Some((
                    (s.calls - p.calls) as f64,
                    (s.total_ms - p.total_ms).max(0.0),
                    s.rows.saturating_sub(p.rows) as f64,
                )),
                Some(_) => None,
                // New since the last snapshot: all of it happened in the interval.
                None => Some((s.calls as f64, s.total_ms, s.rows as f64)),
            }
        })
        .collect();
    let interval_time: f64 = deltas.iter().flatten().map(|d| d.1).sum();
    let total_time: f64 = now.statements.iter().map(|s| s.total_ms).sum();
    now.statements
        .iter()
        .zip(deltas)
        .map(|(s, d)| {
            let (fingerprint, id) = classes.of(&s.query, opts);
            let per_s = |v: f64| interval.map(|i| v / i);
            let share = match (interval, d) {
                (Some(_), Some((_, t, _))) if interval_time > 0.0 => t / interval_time,
                (Some(_), _) if interval_time > 0.0 => 0.0,
                _ if total_time > 0.0 => s.total_ms / total_time,
                _ => 0.0,
            };
            let hit_pct = match (s.shared_hit, s.shared_read) {
                (Some(h), Some(r)) if h + r > 0 => Some(h as f64 * 100.0 / (h + r) as f64),
                _ => None,
            };
            Statement {
                id,
                queryid: s.queryid.clone(),
                fingerprint,
                query: s.query.clone(),
                database: s.database.clone(),
                user: s.user.clone(),
                calls: s.calls,
                total_ms: s.total_ms,
                rows: s.rows,
                mean_ms: if s.calls > 0 {
                    s.total_ms / s.calls as f64
                } else {
                    0.0
                },
                calls_per_s: d.and_then(|d| per_s(d.0)),
                time_ms_per_s: d.and_then(|d| per_s(d.1)),
                rows_per_s: d.and_then(|d| per_s(d.2)),
                interval_mean_ms: d.and_then(|d| (d.0 > 0.0).then(|| d.1 / d.0)),
                share,
                hit_pct,
            }
        })
        .collect()
}

/// How `opsctl queries --order-by` sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderBy {
    /// Time per second now (since reset without a previous snapshot).
    Time,
    Calls,
    Mean,
    Rows,
}

/// Sorts worst first by `order`, using interval rates when there are any.
pub fn sort(statements: &mut [Statement], order: OrderBy) {
    let key = |s: &Statement| -> f64 {
        match order {
            OrderBy::Time => s.time_ms_per_s.unwrap_or(s.total_ms),
            OrderBy::Calls => s.calls_per_s.unwrap_or(s.calls as f64),
            OrderBy::Mean => s.interval_mean_ms.unwrap_or(s.mean_ms),
            OrderBy::Rows => s.rows_per_s.unwrap_or(s.rows as f64),
        }
    };
    statements.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.queryid.cmp(&b.queryid)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(queryid: &str, query: &str, calls: u64, total_ms: f64, rows: u64) -> StatementTotals {
        StatementTotals {
            queryid: queryid.into(),
            query: query.into(),
            database: Some("shop".into()),
            user: Some("shop".into()),
            calls,
            total_ms,
            rows,
            shared_hit: Some(90),
            shared_read: Some(10),
        }
    }

    #[test]
    fn rates_come_from_the_interval_not_the_totals() {
        let before = Snapshot {
            at: 100.0,
            statements: vec![
                t("1", "SELECT * FROM p WHERE id = $1", 1000, 5000.0, 1000),
                t("2", "UPDATE o SET s = $1", 10, 100.0, 10),
            ],
        };
        let now = Snapshot {
            at: 102.0,
            statements: vec![
                t("1", "SELECT * FROM p WHERE id = $1", 1100, 5200.0, 1100),
                t("2", "UPDATE o SET s = $1", 10, 100.0, 10),
                t("3", "SELECT pg_sleep($1)", 1, 600.0, 1),
            ],
        };
        let s = statements(
            Engine::Postgresql,
            Some(&before),
            &now,
            &mut Classes::default(),
        );
        assert_eq!(s[0].calls_per_s, Some(50.0));
        assert_eq!(s[0].time_ms_per_s, Some(100.0));
        assert_eq!(s[0].interval_mean_ms, Some(2.0));
        assert_eq!(s[0].mean_ms, 5200.0 / 1100.0);
        assert_eq!(s[1].calls_per_s, Some(0.0));
        assert_eq!(
            s[2].time_ms_per_s,
            Some(300.0),
            "new statements count whole"
        );
        assert!((s[0].share - 200.0 / 800.0).abs() < 1e-9);
        assert_eq!(s[0].hit_pct, Some(90.0));
        // The class id is the digest's: literals and $n are the same class.
        let lit = crate::sql::fingerprint::fingerprint(
            "select * from p where id = 42",
            Options::new(Dialect::Postgres),
        );
        assert_eq!(s[0].fingerprint, lit);
    }

    #[test]
    fn a_reset_gives_no_rate_and_the_first_snapshot_shows_totals() {
        let before = Snapshot {
            at: 0.0,
            statements: vec![t("1", "SELECT 1", 1000, 10.0, 1)],
        };
        let now = Snapshot {
            at: 1.0,
            statements: vec![t("1", "SELECT 1", 5, 1.0, 1)],
        };
        let s = statements(
            Engine::Mariadb,
            Some(&before),
            &now,
            &mut Classes::default(),
        );
        assert_eq!(s[0].calls_per_s, None);
        let first = statements(Engine::Mariadb, None, &now, &mut Classes::default());
        assert_eq!(first[0].calls_per_s, None);
        assert_eq!(first[0].share, 1.0);
    }

    #[test]
    fn sorting_prefers_the_interval() {
        let before = Snapshot {
            at: 0.0,
            statements: vec![
                t("big", "SELECT 1", 10, 1_000_000.0, 1),
                t("hot", "SELECT 2", 0, 0.0, 0),
            ],
        };
        let now = Snapshot {
            at: 1.0,
            statements: vec![
                t("big", "SELECT 1", 10, 1_000_000.0, 1),
                t("hot", "SELECT 2", 100, 500.0, 100),
            ],
        };
        let mut s = statements(
            Engine::Postgresql,
            Some(&before),
            &now,
            &mut Classes::default(),
        );
        sort(&mut s, OrderBy::Time);
        assert_eq!(s[0].queryid, "hot", "what burns now comes first");
    }
}
