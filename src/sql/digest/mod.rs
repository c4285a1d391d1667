//! The digest: query classes with their statistics, ordered and limited for a report.

pub mod aggregate;
pub mod class;
pub mod report;
pub mod run;
pub mod sketch;
pub mod window;

use crate::sql::fingerprint::ClassId;
use crate::sql::slowlog::{Counters, Issues};

pub use aggregate::{Aggregator, Filter};
pub use class::ClassStats;
pub use run::{FileSummary, FormatChoice, RunError, RunOptions, Source, run};

/// How classes are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OrderBy {
    /// Total query time (the default: what costs the server most).
    #[default]
    Total,
    Count,
    Mean,
    Max,
    P95,
}

/// One query class of the digest.
#[derive(Debug, Clone)]
pub struct Class {
    pub id: ClassId,
    pub fingerprint: String,
    pub stats: ClassStats,
}

/// The finished digest over all inputs.
#[derive(Debug, Clone)]
pub struct Digest {
    /// Ranked and limited.
    pub classes: Vec<Class>,
    /// Classes before the limit.
    pub classes_total: usize,
    pub events: u64,
    pub total_time: f64,
    pub filtered_out: u64,
    /// auto_explain plans seen; they are the events only when no statement was logged.
    pub plans: u64,
    pub plans_as_events: bool,
    pub issues: Issues,
    pub counters: Counters,
    pub files: Vec<FileSummary>,
}

impl Digest {
    /// Builds the report view from the merged aggregate.
    pub fn build(out: run::RunOutput, order: OrderBy, limit: Option<usize>) -> Digest {
        let run::RunOutput {
            agg,
            issues,
            counters,
            files,
            ..
        } = out;
        let plans: u64 = agg.plans.values().map(|c| c.count).sum();
        let plans_as_events = agg.statements.is_empty() && plans > 0;
        let filtered_out = if plans_as_events {
            agg.filtered_out_plans
        } else {
            agg.filtered_out
        };
        let map = if plans_as_events {
            agg.plans
        } else {
            agg.statements
        };
        let events: u64 = map.values().map(|c| c.count).sum();
        let total_time: f64 = map.values().map(|c| c.sum).sum();
        let mut classes: Vec<Class> = map
            .into_iter()
            .map(|(fp, stats)| Class {
                id: ClassId::of(&fp),
                fingerprint: String::from_utf8_lossy(&fp).into_owned(),
                stats,
            })
            .collect();
        let key = |c: &Class| -> f64 {
            match order {
                OrderBy::Total => c.stats.sum,
                OrderBy::Count => c.stats.count as f64,
                OrderBy::Mean => c.stats.mean(),
                OrderBy::Max => c.stats.max,
                OrderBy::P95 => c.stats.quantile(0.95),
            }
        };
        // Ties broken by total time, then id, so the order is stable across runs.
        classes.sort_by(|a, b| {
            key(b)
                .total_cmp(&key(a))
                .then_with(|| b.stats.sum.total_cmp(&a.stats.sum))
                .then_with(|| a.id.cmp(&b.id))
        });
        let classes_total = classes.len();
        if let Some(n) = limit.filter(|n| *n > 0) {
            classes.truncate(n);
        }
        Digest {
            classes,
            classes_total,
            events,
            total_time,
            filtered_out,
            plans,
            plans_as_events,
            issues,
            counters,
            files,
        }
    }
}

#[cfg(test)]
mod tests;
