//! The last minutes of a slow log, cut down to what the console shows beside
//! the live statements: per class id, how often a statement was slow and how slow.

use std::collections::{HashMap, HashSet};

use super::Digest;

/// One class of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowClass {
    /// The class id (`0x…`), the same as the live statements'.
    pub id: String,
    pub fingerprint: String,
    pub count: u64,
    pub total_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    /// The slowest statement of the class as logged, with its real values (for
    /// EXPLAIN of a class the live statistics show only normalized); `None` when
    /// the log cut it short.
    pub example: Option<String>,
}

/// A digest of a slow log's last `minutes`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDigest {
    /// Where the log is (`db1:/var/log/...`).
    pub source: String,
    pub minutes: u32,
    pub events: u64,
    pub total_s: f64,
    /// By total time, the worst first.
    classes: Vec<WindowClass>,
    /// Class id → index in `classes`: the console looks up thousands of live
    /// statements in thousands of classes on every rebuild.
    by_id: HashMap<String, usize>,
}

impl WindowDigest {
    pub fn new(
        source: impl Into<String>,
        minutes: u32,
        events: u64,
        total_s: f64,
        classes: Vec<WindowClass>,
    ) -> WindowDigest {
        let by_id = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        WindowDigest {
            source: source.into(),
            minutes,
            events,
            total_s,
            classes,
            by_id,
        }
    }

    pub fn from_digest(d: &Digest, source: impl Into<String>, minutes: u32) -> WindowDigest {
        WindowDigest::new(
            source,
            minutes,
            d.events,
            d.total_time,
            d.classes
                .iter()
                .map(|c| WindowClass {
                    id: c.id.to_string(),
                    fingerprint: c.fingerprint.clone(),
                    count: c.stats.count,
                    total_s: c.stats.sum,
                    p95_s: c.stats.quantile(0.95),
                    max_s: c.stats.max,
                    example: c
                        .stats
                        .example
                        .as_ref()
                        .filter(|e| !e.truncated)
                        .map(|e| e.text.clone()),
                })
                .collect(),
        )
    }

    /// By total time, the worst first.
    pub fn classes(&self) -> &[WindowClass] {
        &self.classes
    }

    pub fn class(&self, id: &str) -> Option<&WindowClass> {
        self.by_id.get(id).and_then(|&i| self.classes.get(i))
    }

    /// Classes of the window that `live` (the live statements' ids) does not have.
    pub fn not_in<'a>(&self, live: impl Iterator<Item = &'a str>) -> usize {
        let live: HashSet<&str> = live.filter(|id| self.by_id.contains_key(*id)).collect();
        self.classes.len() - live.len()
    }
}
