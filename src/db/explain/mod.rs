//! EXPLAIN plans of both engines read into one engine-neutral tree.
//!
//! Pure: [`parse`] takes the JSON text a server returned and gives a [`PlanTree`];
//! [`render`] turns a tree into the indented text `opsctl queries explain` prints.
//! Nothing here talks to a database (the statements that produce the JSON live in
//! the sources beside this module).
//!
//! Inputs understood:
//! - PostgreSQL 13 to 17: `EXPLAIN (FORMAT JSON)` and `EXPLAIN (ANALYZE, BUFFERS[,
//!   VERBOSE, SETTINGS, WAL], FORMAT JSON)`: `[{"Plan": {...}, "Planning Time", ...}]`
//!   (the bare object, or the `Plan` object alone, are accepted too).
//! - MariaDB 10.5+: `EXPLAIN FORMAT=JSON` and `ANALYZE FORMAT=JSON`
//!   (`{"query_block": ...}`, with `r_*` members when analyzed).
//! - MySQL 5.7/8.x `EXPLAIN FORMAT=JSON` version 1 (`{"query_block": ...}`, the same
//!   walker as MariaDB) and version 2 (`explain_json_format_version = 2`, MySQL 8.3+,
//!   also `EXPLAIN ANALYZE FORMAT=JSON`: `{"query_plan": {"operation", "inputs"}}`).
//!
//! Row counts are **per loop**, the way both engines report them: `est_rows` and
//! `actual_rows` are what one execution of the node returns; `loops` says how many
//! executions there were and `actual_total_rows` is `actual_rows × loops`. Times are
//! **totals over all loops**: `total_ms` includes the node's children, `self_ms`
//! does not, `time_share` is `self_ms` over the plan's total time.
//!
//! Flags ([`Flag`]) point at what a DBA looks at first; each one's rule and
//! threshold is documented on its variant and the constants below.

mod flags;
mod mysql;
mod pg;
mod render;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

use crate::config::Engine;

pub use render::render;

/// Estimated and actual rows that differ by this factor or more (either way) are
/// flagged as a [`Flag::Misestimate`]. Both sides count as at least one row, so an
/// estimate of 1 against 0 actual rows is not a misestimate.
pub const MISESTIMATE_FACTOR: f64 = 10.0;

/// A full table scan that reads this many rows or more in one pass is flagged as
/// a [`Flag::SeqScanOnBigTable`].
pub const BIG_TABLE_ROWS: f64 = 10_000.0;

/// A filter that throws away this many times more rows than it keeps …
pub const FILTER_DISCARD_RATIO: f64 = 10.0;
/// … and at least this many rows in total (over all loops) is flagged as a
/// [`Flag::FilterDiscardsMost`].
pub const FILTER_DISCARD_MIN_ROWS: f64 = 1_000.0;

/// Deeper plans than this are refused ([`ExplainError::TooDeep`]); real plans are
/// a few dozen levels at most.
pub const MAX_DEPTH: usize = 200;

/// Why a text is not a plan opsctl can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("the EXPLAIN output is empty")]
    Empty,
    #[error("the EXPLAIN output is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the JSON is not {engine} EXPLAIN output: {reason}")]
    NotAPlan {
        engine: &'static str,
        reason: String,
    },
    #[error("the plan is nested more than {limit} levels deep")]
    TooDeep { limit: usize },
}

/// Which JSON dialect the tree was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanFormat {
    /// PostgreSQL's `EXPLAIN (FORMAT JSON)`.
    Postgresql,
    /// The `query_block` form of MariaDB and of MySQL's `explain_json_format_version = 1`.
    QueryBlock,
    /// MySQL's iterator form, `explain_json_format_version = 2`.
    MysqlIterators,
}

/// One plan: the tree and what the server said about the statement as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanTree {
    pub engine: Engine,
    pub format: PlanFormat,
    /// The plan carries measurements (ANALYZE), not only estimates.
    pub analyzed: bool,
    /// PostgreSQL `Planning Time`; MariaDB `query_optimization.r_total_time_ms`.
    pub planning_ms: Option<f64>,
    /// PostgreSQL `Execution Time`; MariaDB the top query block's `r_total_time_ms`.
    pub execution_ms: Option<f64>,
    /// The time [`PlanNode::time_share`] is measured against: the root's `total_ms`
    /// (or `execution_ms` when the root has none).
    pub plan_ms: Option<f64>,
    /// PostgreSQL `JIT` → `Timing` → `Total`.
    pub jit_ms: Option<f64>,
    /// PostgreSQL `Triggers` (ANALYZE of a write).
    pub triggers: Vec<Trigger>,
    /// PostgreSQL `Settings` (the SETTINGS option), as `name = value`.
    pub settings: Vec<String>,
    pub root: PlanNode,
}

/// Time spent in one trigger (PostgreSQL `Triggers`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    pub name: String,
    pub relation: Option<String>,
    pub calls: Option<f64>,
    pub time_ms: Option<f64>,
}

/// Buffer counts (PostgreSQL `BUFFERS`): blocks, inclusive of the node's children,
/// as PostgreSQL reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Buffers {
    pub shared_hit: Option<f64>,
    pub shared_read: Option<f64>,
    pub shared_dirtied: Option<f64>,
    pub shared_written: Option<f64>,
    pub local_hit: Option<f64>,
    pub local_read: Option<f64>,
    pub local_dirtied: Option<f64>,
    pub local_written: Option<f64>,
    pub temp_read: Option<f64>,
    pub temp_written: Option<f64>,
    /// Time reading blocks (`track_io_timing`), all kinds summed.
    pub io_read_ms: Option<f64>,
    /// Time writing blocks (`track_io_timing`), all kinds summed.
    pub io_write_ms: Option<f64>,
}

/// Where a full scan's row count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowsSource {
    /// Counted during ANALYZE: rows returned plus rows the filter removed.
    Measured,
    /// The planner's estimate. For PostgreSQL without ANALYZE this is the rows the
    /// scan *returns* (after its filter), a lower bound of what it reads.
    Estimated,
    /// The table's size, given by [`PlanTree::set_table_rows`].
    TableSize,
}

/// Something in a node worth a look. Serialized as `{"kind": "misestimate", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// Estimated and actual rows per loop differ by [`MISESTIMATE_FACTOR`] or more.
    /// `factor` is the larger over the smaller (each counted as at least one row);
    /// `actual < estimated` is an over-estimate. Not raised for nodes that never ran,
    /// nor as an over-estimate where stopping early is expected: below a LIMIT (up to
    /// the first node that reads all its input: a sort, hash or aggregate), on the
    /// inner side of a semi or anti join, under a merge join, and for a MariaDB full
    /// scan that read fewer rows than the table holds outside a sort.
    /// For MariaDB/MySQL the rows compared are those left after the table's
    /// condition (`rows × filtered`, `r_rows × r_filtered`).
    Misestimate {
        factor: f64,
        estimated: f64,
        actual: f64,
    },
    /// A full table scan (PostgreSQL `Seq Scan`, MariaDB/MySQL access type `ALL`,
    /// MySQL iterator `Table scan`) reading [`BIG_TABLE_ROWS`] or more rows in one
    /// pass (all parallel workers together). `rows` is what ANALYZE measured when
    /// the node ran (so a scan a LIMIT stopped early is not flagged), else the
    /// larger of the estimate and the table's size; `source` says which. MariaDB's
    /// internal temporary tables (`<derived2>`, `<subquery3>`, `<union1,2>`) are not
    /// tables on disk and are left out.
    SeqScanOnBigTable { rows: f64, source: RowsSource },
    /// A sort, hash or aggregate that did not fit its memory and used temporary
    /// files: PostgreSQL `Sort Space Type: Disk` (also per worker and in incremental
    /// sorts), `Hash Batches` > 1, `HashAgg Batches` > 1 or `Disk Usage` > 0,
    /// `Storage: Disk`; MariaDB filesort `r_sort_passes` > 0. `disk_kb` when the
    /// server says how much.
    DiskSpill {
        operation: String,
        disk_kb: Option<f64>,
    },
    /// Measured: the node's filter removed [`FILTER_DISCARD_RATIO`] times more rows
    /// than it kept and at least [`FILTER_DISCARD_MIN_ROWS`] rows (totals over all
    /// loops; PostgreSQL `Rows Removed by Filter`, MariaDB `r_rows × (1 − r_filtered)`).
    /// Usually a missing or unusable index.
    FilterDiscardsMost { removed: f64, kept: f64 },
}

/// One node of a plan, engine-neutral. Absent numbers are `None` (plain EXPLAIN
/// has no actuals; MariaDB has no costs before 11.0; …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlanNode {
    /// The engine's own word: PostgreSQL `Node Type` ("Seq Scan", "Hash Join"),
    /// MariaDB/MySQL v1 the access type of a table ("ALL", "ref", "eq_ref", …) or
    /// the structure ("query_block", "filesort", "block-nl-join", …), MySQL v2
    /// `access_type` ("table", "index", "filter", "join", …).
    pub node: String,
    /// How the engine's text EXPLAIN names it: "Parallel Seq Scan", "Hash Left
    /// Join", "Finalize GroupAggregate", "ALL", "Filesort", "Table scan on t".
    pub label: String,
    /// The table (PostgreSQL `Relation Name`, `CTE Name`, `Function Name`; MariaDB
    /// and MySQL `table_name`, which is the alias when the query gives one).
    pub relation: Option<String>,
    /// PostgreSQL `Alias` when it differs from the relation.
    pub alias: Option<String>,
    pub index: Option<String>,
    /// PostgreSQL `Parent Relationship` (Outer, Inner, InitPlan, SubPlan, Member,
    /// Subquery); MariaDB/MySQL where the block sits ("subquery", "materialized",
    /// "union member", …).
    pub parent_relationship: Option<String>,
    /// PostgreSQL `Subplan Name` ("CTE recent", "InitPlan 1 (returns $0)").
    pub subplan_name: Option<String>,
    /// Estimated rows returned per loop.
    pub est_rows: Option<f64>,
    /// Measured rows returned per loop (an average over the loops).
    pub actual_rows: Option<f64>,
    /// How many times the node ran (PostgreSQL `Actual Loops`, MariaDB `r_loops`).
    pub loops: Option<f64>,
    /// `actual_rows × loops`.
    pub actual_total_rows: Option<f64>,
    /// Rows a table access reads per loop before its condition (MariaDB `rows`,
    /// MySQL `rows_examined_per_scan`, MySQL v2 table scans `estimated_rows`).
    pub est_rows_read: Option<f64>,
    /// Measured rows a scan read per loop: PostgreSQL rows returned plus rows
    /// removed by the filter and the index recheck; MariaDB `r_rows`.
    pub actual_rows_read: Option<f64>,
    /// Measured rows per loop the node's filter removed (PostgreSQL `Rows Removed by
    /// Filter` plus `Rows Removed by Join Filter`).
    pub rows_removed_by_filter: Option<f64>,
    /// The table's size when known ([`PlanTree::set_table_rows`]).
    pub table_rows: Option<f64>,
    /// The node reads a whole table: PostgreSQL `Seq Scan`, MariaDB/MySQL `ALL`,
    /// MySQL v2 `Table scan`.
    pub full_scan: bool,
    /// PostgreSQL's parallel-aware nodes ("Parallel Seq Scan").
    pub parallel: bool,
    /// ANALYZE ran the statement and this node never ran (`loops` = 0).
    pub never_executed: bool,
    /// Time in this node and its children, over all loops. Inside a PostgreSQL
    /// parallel section, the per-process average (the wall time the workers shared).
    pub total_ms: Option<f64>,
    /// `total_ms` without the children's. Approximate around CTEs and InitPlans
    /// (their time is taken from the node that reads them) and never negative.
    pub self_ms: Option<f64>,
    /// `self_ms` over the plan's time ([`PlanTree::plan_ms`]), 0 to 1.
    pub time_share: Option<f64>,
    /// The engine's cost estimate: PostgreSQL `Total Cost` (inclusive), MariaDB
    /// 11+ `cost`, MySQL `query_cost` of a block or `read_cost + eval_cost` of a
    /// table, MySQL v2 `estimated_total_cost`.
    pub cost: Option<f64>,
    /// PostgreSQL `Startup Cost`.
    pub startup_cost: Option<f64>,
    /// The condition applied to the rows (PostgreSQL `Filter`, MariaDB/MySQL
    /// `attached_condition`, MySQL v2 `condition`).
    pub filter: Option<String>,
    /// The condition the index is searched with (PostgreSQL `Index Cond` / `Recheck
    /// Cond`, MariaDB/MySQL `index_condition`).
    pub index_cond: Option<String>,
    /// The join condition (PostgreSQL `Hash Cond`, `Merge Cond` or `Join Filter`).
    pub join_cond: Option<String>,
    pub buffers: Option<Buffers>,
    /// Other facts, one short line each ("Sort Method: external merge  Disk:
    /// 10232kB", "Workers Launched: 2", "join buffer: BNL, flat, 53KiB").
    pub details: Vec<String>,
    pub flags: Vec<Flag>,
    pub children: Vec<PlanNode>,

    /// Stopping before reading everything is expected here (LIMIT above, …).
    #[serde(skip)]
    pub(crate) may_stop_early: bool,
    /// Processes that shared this node (PostgreSQL parallel workers + leader, as
    /// measured): one pass over a table is `rows per loop × procs`.
    #[serde(skip)]
    pub(crate) procs: f64,
    /// The planner's share divisor for the same (estimates are per process).
    #[serde(skip)]
    pub(crate) planned_procs: f64,
    /// The engine said this node used temporary files: what spilled and how many kB.
    #[serde(skip)]
    pub(crate) spill: Option<(String, Option<f64>)>,
}

impl PlanNode {
    pub(crate) fn new(node: impl Into<String>) -> Self {
        let node = node.into();
        PlanNode {
            label: node.clone(),
            node,
            procs: 1.0,
            planned_procs: 1.0,
            ..PlanNode::default()
        }
    }
}

impl PlanTree {
    /// Every node, parents before children.
    pub fn nodes(&self) -> Vec<&PlanNode> {
        fn walk<'a>(n: &'a PlanNode, out: &mut Vec<&'a PlanNode>) {
            out.push(n);
            for c in &n.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// How many flags the whole tree carries.
    pub fn flag_count(&self) -> usize {
        self.nodes().iter().map(|n| n.flags.len()).sum()
    }

    /// The tables the plan scans, sorted, each once (to look their sizes up).
    pub fn relations(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .nodes()
            .iter()
            .filter_map(|n| n.relation.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Gives full scans their table's size (e.g. PostgreSQL `pg_class.reltuples`,
    /// MariaDB `information_schema.tables.table_rows`) and re-derives the flags, so
    /// a plain EXPLAIN of a selective filter on a big table is flagged too.
    pub fn set_table_rows(&mut self, rows: impl Fn(&str) -> Option<f64>) {
        fn walk(n: &mut PlanNode, rows: &dyn Fn(&str) -> Option<f64>) {
            if let Some(r) = n.relation.as_deref().and_then(rows) {
                n.table_rows = finite(r);
            }
            for c in &mut n.children {
                walk(c, rows);
            }
        }
        walk(&mut self.root, &rows);
        flags::annotate(&mut self.root);
    }
}

/// Reads the JSON text of an EXPLAIN from `engine` into a tree. Never panics.
pub fn parse(engine: Engine, json: &str) -> Result<PlanTree, ExplainError> {
    if json.trim().is_empty() {
        return Err(ExplainError::Empty);
    }
    let mut value: Value = from_str(json)?;
    // A driver may hand the JSON over once more encoded as a JSON string.
    if let Value::String(inner) = &value {
        value = from_str(inner)?;
    }
    let mut tree = match engine {
        Engine::Postgresql => pg::parse(value)?,
        Engine::Mariadb | Engine::Mysql => mysql::parse(engine, value)?,
    };
    finish(&mut tree);
    Ok(tree)
}

fn from_str(json: &str) -> Result<Value, ExplainError> {
    serde_json::from_str(json).map_err(|e| ExplainError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// What every engine shares once its tree is built: totals, time shares, flags.
fn finish(tree: &mut PlanTree) {
    fn any_measured(n: &PlanNode) -> bool {
        n.loops.is_some() || n.actual_rows.is_some() || n.children.iter().any(any_measured)
    }
    tree.analyzed = tree.analyzed || any_measured(&tree.root);
    tree.plan_ms = tree
        .root
        .total_ms
        .filter(|t| *t > 0.0)
        .or(tree.execution_ms.filter(|t| *t > 0.0));
    fn shares(n: &mut PlanNode, plan: Option<f64>) {
        if let Some(a) = n.actual_rows {
            n.actual_total_rows = finite(a * n.loops.unwrap_or(1.0));
        }
        n.time_share = match (n.self_ms, plan) {
            (Some(s), Some(p)) if p > 0.0 => finite((s / p).clamp(0.0, 1.0)),
            _ => None,
        };
        for c in &mut n.children {
            shares(c, plan);
        }
    }
    let plan = tree.plan_ms;
    shares(&mut tree.root, plan);
    flags::annotate(&mut tree.root);
}

/// `Some(x)` for a finite number.
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A number from JSON: a number, or a string holding one ("10.00", MySQL's costs).
pub(crate) fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64().and_then(finite),
        Value::String(s) => s.trim().parse::<f64>().ok().and_then(finite),
        _ => None,
    }
}

/// A string from JSON (numbers and booleans spelled out; arrays of strings joined).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(|i| text(Some(i))).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

/// `a + b` where either may be missing.
pub(crate) fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => finite(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}
