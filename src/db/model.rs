//! One model for both engines: statements (cumulative counters from
//! pg_stat_statements or performance_schema digests, and the rates between two
//! snapshots), sessions (pg_stat_activity / the processlist) and who blocks whom.

use serde::Serialize;

use crate::config::Engine;

/// One statement class as the server counts it, since the counters were reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementTotals {
    /// The engine's own id (pg_stat_statements `queryid`, a MySQL digest).
    pub queryid: String,
    /// The normalized text (`$1`, `?`).
    pub query: String,
    pub database: Option<String>,
    pub user: Option<String>,
    pub calls: u64,
    pub total_ms: f64,
    pub rows: u64,
    /// PostgreSQL shared buffers hit and read (None on MariaDB/MySQL).
    pub shared_hit: Option<u64>,
    pub shared_read: Option<u64>,
}

/// What the server said at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Monotonic seconds (for rates).
    pub at: f64,
    pub statements: Vec<StatementTotals>,
}

/// A statement as shown: rates over the last interval, and the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// opsctl's fingerprint class id (the same as `opsctl digest`'s).
    pub id: String,
    pub queryid: String,
    /// opsctl's fingerprint of the text.
    pub fingerprint: String,
    pub query: String,
    pub database: Option<String>,
    pub user: Option<String>,
    /// Since reset.
    pub calls: u64,
    pub total_ms: f64,
    pub rows: u64,
    pub mean_ms: f64,
    /// Over the last interval (None for the first snapshot).
    pub calls_per_s: Option<f64>,
    pub time_ms_per_s: Option<f64>,
    pub rows_per_s: Option<f64>,
    /// Mean time of the calls in the last interval.
    pub interval_mean_ms: Option<f64>,
    /// Share of all statements' time: over the last interval, else since reset.
    pub share: f64,
    /// Shared-buffer hit ratio in percent (PostgreSQL).
    pub hit_pct: Option<f64>,
}

/// A connection to the server and what it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub pid: i64,
    pub user: Option<String>,
    pub database: Option<String>,
    pub client: Option<String>,
    /// active, idle, idle in transaction, ... (the processlist's command on MySQL).
    pub state: Option<String>,
    pub wait_event: Option<String>,
    pub xact_age_s: Option<f64>,
    pub query_age_s: Option<f64>,
    pub query: Option<String>,
    /// The sessions this one waits for.
    pub blocked_by: Vec<i64>,
}

impl Session {
    /// Idle in a transaction: holds locks and a snapshot while doing nothing.
    pub fn idle_in_transaction(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| s.starts_with("idle in transaction"))
    }
}

/// Everything one refresh shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub engine: Engine,
    pub server_version: String,
    pub statements: Vec<Statement>,
    pub activity: Vec<Session>,
    /// Seconds between this snapshot and the previous one (rates are over it).
    pub interval_s: Option<f64>,
}

/// A node of the blocking tree: a session, and the sessions waiting on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockNode {
    pub pid: i64,
    pub waiting: Vec<BlockNode>,
}

/// Who blocks whom, root blockers first (those blocking the most sessions, then by
/// pid). A session waiting on several appears under each.
pub fn blocking_tree(sessions: &[Session]) -> Vec<BlockNode> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut waiters: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for s in sessions {
        for &b in &s.blocked_by {
            if b != s.pid {
                waiters.entry(b).or_default().insert(s.pid);
            }
        }
    }
    let blocked: BTreeSet<i64> = sessions
        .iter()
        .filter(|s| !s.blocked_by.is_empty())
        .map(|s| s.pid)
        .collect();
    fn build(pid: i64, waiters: &BTreeMap<i64, BTreeSet<i64>>, path: &mut Vec<i64>) -> BlockNode {
        path.push(pid);
        // A deadlock cycle ends where it comes back to a session already on the path.
        let next: Vec<i64> = waiters
            .get(&pid)
            .map(|w| w.iter().copied().filter(|p| !path.contains(p)).collect())
            .unwrap_or_default();
        let waiting = next.into_iter().map(|p| build(p, waiters, path)).collect();
        path.pop();
        BlockNode { pid, waiting }
    }
    fn size(n: &BlockNode) -> usize {
        n.waiting.iter().map(|w| 1 + size(w)).sum()
    }
    let mut roots: Vec<BlockNode> = waiters
        .keys()
        .filter(|pid| !blocked.contains(pid))
        .map(|&pid| build(pid, &waiters, &mut Vec::new()))
        .collect();
    // A cycle with no outside root (a deadlock being resolved): show it from its
    // smallest pid.
    if roots.is_empty() {
        if let Some(&pid) = waiters.keys().next() {
            roots.push(build(pid, &waiters, &mut Vec::new()));
        }
    }
    roots.sort_by(|a, b| size(b).cmp(&size(a)).then(a.pid.cmp(&b.pid)));
    roots
}

/// The order a session list reads best in, as (index into `sessions`, depth):
/// each blocking tree from its root (waiters indented under what they wait for),
/// then the other sessions busiest first: running queries by age, idle
/// transactions by age, then idle ones by pid.
pub fn session_order(sessions: &[Session]) -> Vec<(usize, usize)> {
    use std::collections::HashSet;
    let index_of = |pid: i64| sessions.iter().position(|s| s.pid == pid);
    let mut out = Vec::with_capacity(sessions.len());
    let mut seen: HashSet<i64> = HashSet::new();
    fn walk(
        n: &BlockNode,
        depth: usize,
        index_of: &dyn Fn(i64) -> Option<usize>,
        seen: &mut HashSet<i64>,
        out: &mut Vec<(usize, usize)>,
    ) {
        // A session waiting on several blockers is listed under the first.
        if seen.insert(n.pid) {
            if let Some(i) = index_of(n.pid) {
                out.push((i, depth));
            }
        }
        for w in &n.waiting {
            walk(w, depth + 1, index_of, seen, out);
        }
    }
    for root in blocking_tree(sessions) {
        walk(&root, 0, &index_of, &mut seen, &mut out);
    }
    let rank = |s: &Session| -> u8 {
        match s.state.as_deref() {
            Some("active") => 0,
            _ if s.idle_in_transaction() => 1,
            _ => 2,
        }
    };
    let mut rest: Vec<usize> = (0..sessions.len())
        .filter(|&i| !seen.contains(&sessions[i].pid))
        .collect();
    rest.sort_by(|&a, &b| {
        let (x, y) = (&sessions[a], &sessions[b]);
        let age = |s: &Session| {
            if rank(s) == 1 {
                s.xact_age_s
            } else {
                s.query_age_s
            }
            .unwrap_or(0.0)
        };
        rank(x)
            .cmp(&rank(y))
            .then_with(|| {
                if rank(x) == 2 {
                    std::cmp::Ordering::Equal
                } else {
                    age(y).total_cmp(&age(x))
                }
            })
            .then(x.pid.cmp(&y.pid))
    });
    out.extend(rest.into_iter().map(|i| (i, 0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pid: i64, blocked_by: &[i64]) -> Session {
        Session {
            pid,
            user: None,
            database: None,
            client: None,
            state: Some("active".into()),
            wait_event: None,
            xact_age_s: None,
            query_age_s: None,
            query: None,
            blocked_by: blocked_by.to_vec(),
        }
    }

    #[test]
    fn the_root_blocker_comes_first() {
        // 10 blocks 11 and 12; 12 blocks 13; 20 blocks 21.
        let tree = blocking_tree(&[
            s(10, &[]),
            s(11, &[10]),
            s(12, &[10]),
            s(13, &[12]),
            s(20, &[]),
            s(21, &[20]),
            s(30, &[]),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].pid, 10);
        assert_eq!(
            tree[0].waiting.iter().map(|n| n.pid).collect::<Vec<_>>(),
            [11, 12]
        );
        assert_eq!(tree[0].waiting[1].waiting[0].pid, 13);
        assert_eq!(tree[1].pid, 20);
    }

    #[test]
    fn a_deadlock_cycle_does_not_loop() {
        let tree = blocking_tree(&[s(1, &[2]), s(2, &[1])]);
        assert_eq!(tree.len(), 1);
        assert_eq!(tree[0].pid, 1);
        assert_eq!(tree[0].waiting[0].pid, 2);
        assert!(tree[0].waiting[0].waiting.is_empty());
    }

    #[test]
    fn sessions_read_trees_first_then_the_busiest() {
        let mut idle = s(5, &[]);
        idle.state = Some("idle".into());
        let mut old_query = s(6, &[]);
        old_query.query_age_s = Some(90.0);
        let mut new_query = s(7, &[]);
        new_query.query_age_s = Some(2.0);
        let mut idle_tx = s(8, &[]);
        idle_tx.state = Some("idle in transaction".into());
        idle_tx.xact_age_s = Some(300.0);
        let all = [
            idle,
            new_query,
            s(11, &[10]),
            idle_tx,
            s(10, &[]),
            old_query,
            s(12, &[10, 11]),
        ];
        let order: Vec<(i64, usize)> = session_order(&all)
            .into_iter()
            .map(|(i, d)| (all[i].pid, d))
            .collect();
        assert_eq!(
            order,
            [(10, 0), (11, 1), (12, 2), (6, 0), (7, 0), (8, 0), (5, 0)]
        );
    }

    #[test]
    fn idle_in_transaction_is_recognised() {
        let mut x = s(1, &[]);
        x.state = Some("idle in transaction (aborted)".into());
        assert!(x.idle_in_transaction());
    }
}
