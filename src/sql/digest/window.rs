//! The last minutes of a slow log, cut down to what the console shows beside
//! the live statements: per class id, how often a statement was slow and how slow.

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
    pub classes: Vec<WindowClass>,
}

impl WindowDigest {
    pub fn from_digest(d: &Digest, source: impl Into<String>, minutes: u32) -> WindowDigest {
        WindowDigest {
            source: source.into(),
            minutes,
            events: d.events,
            total_s: d.total_time,
            classes: d
                .classes
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
        }
    }

    pub fn class(&self, id: &str) -> Option<&WindowClass> {
        self.classes.iter().find(|c| c.id == id)
    }

    /// Classes of the window that `live` (the live statements' ids) does not have.
    pub fn not_in<'a>(&self, live: impl Iterator<Item = &'a str>) -> usize {
        let live: std::collections::HashSet<&str> = live.collect();
        self.classes
            .iter()
            .filter(|c| !live.contains(c.id.as_str()))
            .count()
    }
}
