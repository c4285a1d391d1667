//! PostgreSQL's `EXPLAIN (FORMAT JSON)`, with or without ANALYZE/BUFFERS/VERBOSE/
//! SETTINGS/WAL, PostgreSQL 13 to 17 (keys a version lacks are simply absent).

use serde_json::{Map, Value};

use super::{
    Buffers, ExplainError, MAX_DEPTH, PlanFormat, PlanNode, PlanTree, Trigger, add, finite, num,
    text,
};
use crate::config::Engine;

const ENGINE: &str = "PostgreSQL";

pub(super) fn parse(value: Value) -> Result<PlanTree, ExplainError> {
    let top = match value {
        Value::Array(mut items) => {
            if items.is_empty() {
                return Err(not_a_plan("an empty array"));
            }
            items.swap_remove(0)
        }
        other => other,
    };
    let Value::Object(top) = top else {
        return Err(not_a_plan("expected [{\"Plan\": {...}}]"));
    };
    // `[{"Plan": ...}]`, or the `Plan` object itself.
    let (plan, top) = match top.get("Plan") {
        Some(Value::Object(plan)) => (plan.clone(), top),
        Some(_) => return Err(not_a_plan("\"Plan\" is not an object")),
        None if top.contains_key("Node Type") => (top, Map::new()),
        None => return Err(not_a_plan("no \"Plan\" member")),
    };

    let mut root = node(&plan, (1.0, 1.0), 0)?;
    times(&mut root);
    mark_early(&mut root, false);

    let triggers = match top.get("Triggers") {
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_object)
            .map(|t| Trigger {
                name: text(t.get("Trigger Name")).unwrap_or_default(),
                relation: text(t.get("Relation")),
                calls: num(t.get("Calls")),
                time_ms: num(t.get("Time")),
            })
            .collect(),
        _ => Vec::new(),
    };
    let settings = match top.get("Settings") {
        Some(Value::Object(s)) => s
            .iter()
            .map(|(k, v)| format!("{k} = {}", text(Some(v)).unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    };
    let jit_ms = top
        .get("JIT")
        .and_then(|j| j.get("Timing"))
        .and_then(|t| t.get("Total"))
        .and_then(|t| num(Some(t)));

    Ok(PlanTree {
        engine: Engine::Postgresql,
        format: PlanFormat::Postgresql,
        analyzed: false,
        planning_ms: num(top.get("Planning Time")),
        execution_ms: num(top.get("Execution Time")),
        plan_ms: None,
        jit_ms,
        triggers,
        settings,
        root,
    })
}

fn not_a_plan(reason: &str) -> ExplainError {
    ExplainError::NotAPlan {
        engine: ENGINE,
        reason: reason.to_string(),
    }
}

/// One plan node and, recursively, its `Plans`.
/// `procs`: the processes sharing this node, (measured, planned).
fn node(p: &Map<String, Value>, procs: (f64, f64), depth: usize) -> Result<PlanNode, ExplainError> {
    if depth > MAX_DEPTH {
        return Err(ExplainError::TooDeep { limit: MAX_DEPTH });
    }
    let s = |k: &str| text(p.get(k));
    let f = |k: &str| num(p.get(k));
    let node_type = s("Node Type").unwrap_or_else(|| "Unknown".to_string());
    let mut n = PlanNode::new(node_type.clone());
    n.parallel = p
        .get("Parallel Aware")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    n.label = label(&node_type, p, n.parallel);

    n.relation = s("Relation Name")
        .or_else(|| s("CTE Name"))
        .or_else(|| s("Function Name"))
        .or_else(|| s("Tuplestore Name"))
        .or_else(|| s("Table Function Name"));
    n.alias = s("Alias").filter(|a| Some(a) != n.relation.as_ref());
    n.index = s("Index Name");
    n.parent_relationship = s("Parent Relationship");
    n.subplan_name = s("Subplan Name");

    n.est_rows = f("Plan Rows");
    n.cost = f("Total Cost");
    n.startup_cost = f("Startup Cost");
    n.loops = f("Actual Loops");
    // Per loop for now; `inclusive` turns it into the total over all loops.
    n.total_ms = f("Actual Total Time");
    n.actual_rows = f("Actual Rows");
    n.never_executed = n.loops == Some(0.0);

    n.filter = s("Filter");
    n.index_cond = s("Index Cond")
        .or_else(|| s("Recheck Cond"))
        .or_else(|| s("TID Cond"));
    n.join_cond = s("Hash Cond")
        .or_else(|| s("Merge Cond"))
        .or_else(|| s("Join Filter"));
    n.rows_removed_by_filter = add(
        f("Rows Removed by Filter"),
        f("Rows Removed by Join Filter"),
    );
    n.full_scan = node_type == "Seq Scan";
    if node_type.ends_with("Scan") {
        let read = add(
            n.actual_rows,
            add(
                f("Rows Removed by Filter"),
                f("Rows Removed by Index Recheck"),
            ),
        );
        n.actual_rows_read = read.filter(|_| n.actual_rows.is_some());
    }
    n.buffers = buffers(p);
    n.details = details(p);
    n.spill = spill(&node_type, p);
    (n.procs, n.planned_procs) = procs;

    let gather = node_type == "Gather" || node_type == "Gather Merge";
    if let Some(Value::Array(children)) = p.get("Plans") {
        for c in children {
            if let Value::Object(c) = c {
                let child_procs = if gather { parallel_procs(p, c) } else { procs };
                n.children.push(node(c, child_procs, depth + 1)?);
            }
        }
    }
    Ok(n)
}

/// How many processes share the work below a Gather: (measured, planned). Measured
/// is the child's loops over the Gather's; planned is PostgreSQL's own divisor for
/// per-process estimates (workers, plus the leader's share of `1 - 0.3 × workers`
/// while that is positive). Without ANALYZE both are the planned one.
fn parallel_procs(gather: &Map<String, Value>, child: &Map<String, Value>) -> (f64, f64) {
    let workers = num(gather.get("Workers Planned"))
        .unwrap_or(0.0)
        .clamp(0.0, 1024.0);
    let planned = (workers + (1.0 - 0.3 * workers).max(0.0)).max(1.0);
    let measured = match (
        num(child.get("Actual Loops")),
        num(gather.get("Actual Loops")),
    ) {
        (Some(c), Some(g)) if c > 0.0 && g > 0.0 => finite(c / g).unwrap_or(1.0).max(1.0),
        _ => planned,
    };
    (measured, planned)
}

/// Whether the node used temporary files, and how many kB when it says.
fn spill(node_type: &str, p: &Map<String, Value>) -> Option<(String, Option<f64>)> {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    let f = |k: &str| num(p.get(k));
    if s("Sort Space Type") == Some("Disk") {
        return Some(("sort".to_string(), f("Sort Space Used")));
    }
    // Per-worker sorts (VERBOSE, parallel): the leader's line may be in memory.
    if let Some(Value::Array(workers)) = p.get("Workers") {
        let disk: Vec<Option<f64>> = workers
            .iter()
            .filter(|w| w.get("Sort Space Type").and_then(Value::as_str) == Some("Disk"))
            .map(|w| num(w.get("Sort Space Used")))
            .collect();
        if !disk.is_empty() {
            let kb = disk
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            return Some(("sort".to_string(), kb));
        }
    }
    // Incremental Sort: its group summaries carry "Sort Space Disk" when they spilled.
    for groups in ["Full-sort Groups", "Pre-sorted Groups"] {
        if let Some(disk) = p.get(groups).and_then(|g| g.get("Sort Space Disk")) {
            return Some((
                "incremental sort".to_string(),
                num(disk.get("Peak Sort Space Used")),
            ));
        }
    }
    if f("Hash Batches").is_some_and(|b| b > 1.0)
        || f("Original Hash Batches").is_some_and(|b| b > 1.0)
    {
        return Some(("hash".to_string(), None));
    }
    if f("HashAgg Batches").is_some_and(|b| b > 1.0) || f("Disk Usage").is_some_and(|d| d > 0.0) {
        return Some(("hash aggregate".to_string(), f("Disk Usage")));
    }
    if s("Storage") == Some("Disk") {
        return Some((node_type.to_lowercase(), f("Maximum Storage")));
    }
    None
}

/// The name PostgreSQL's text format prints for a node.
fn label(node_type: &str, p: &Map<String, Value>, parallel: bool) -> String {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    let mut name = match node_type {
        "Aggregate" => {
            let base = match s("Strategy") {
                Some("Sorted") => "GroupAggregate",
                Some("Hashed") => "HashAggregate",
                Some("Mixed") => "MixedAggregate",
                _ => "Aggregate",
            };
            match s("Partial Mode") {
                Some(mode @ ("Partial" | "Finalize")) => format!("{mode} {base}"),
                _ => base.to_string(),
            }
        }
        "SetOp" => {
            let base = if s("Strategy") == Some("Hashed") {
                "HashSetOp"
            } else {
                "SetOp"
            };
            match s("Command") {
                Some(cmd) => format!("{base} {cmd}"),
                None => base.to_string(),
            }
        }
        "Nested Loop" | "Hash Join" | "Merge Join" => match s("Join Type") {
            Some(jt) if jt != "Inner" => match node_type {
                "Nested Loop" => format!("Nested Loop {jt} Join"),
                "Hash Join" => format!("Hash {jt} Join"),
                _ => format!("Merge {jt} Join"),
            },
            _ => node_type.to_string(),
        },
        "ModifyTable" => s("Operation").unwrap_or("ModifyTable").to_string(),
        "Custom Scan" => match s("Custom Plan Provider") {
            Some(provider) => format!("Custom Scan ({provider})"),
            None => node_type.to_string(),
        },
        _ => node_type.to_string(),
    };
    if s("Scan Direction") == Some("Backward") {
        name.push_str(" Backward");
    }
    if parallel {
        name = format!("Parallel {name}");
    }
    if p.get("Async Capable").and_then(Value::as_bool) == Some(true) {
        name = format!("Async {name}");
    }
    name
}

fn buffers(p: &Map<String, Value>) -> Option<Buffers> {
    let f = |k: &str| num(p.get(k));
    let b = Buffers {
        shared_hit: f("Shared Hit Blocks"),
        shared_read: f("Shared Read Blocks"),
        shared_dirtied: f("Shared Dirtied Blocks"),
        shared_written: f("Shared Written Blocks"),
        local_hit: f("Local Hit Blocks"),
        local_read: f("Local Read Blocks"),
        local_dirtied: f("Local Dirtied Blocks"),
        local_written: f("Local Written Blocks"),
        temp_read: f("Temp Read Blocks"),
        temp_written: f("Temp Written Blocks"),
        // PostgreSQL 13-16 "I/O Read Time"; 15+ adds "Temp I/O Read Time"; 17 splits
        // shared and local.
        io_read_ms: add(
            add(f("I/O Read Time"), f("Shared I/O Read Time")),
            add(f("Local I/O Read Time"), f("Temp I/O Read Time")),
        ),
        io_write_ms: add(
            add(f("I/O Write Time"), f("Shared I/O Write Time")),
            add(f("Local I/O Write Time"), f("Temp I/O Write Time")),
        ),
    };
    (b != Buffers::default()).then_some(b)
}

/// Short facts about a node, one line each, in the words of the text format.
fn details(p: &Map<String, Value>) -> Vec<String> {
    let s = |k: &str| text(p.get(k));
    let mut out = Vec::new();
    for key in [
        "Sort Key",
        "Presorted Key",
        "Group Key",
        "Hash Key",
        "Cache Key",
        "One-Time Filter",
        "Join Filter",
        "Recheck Cond",
        "Workers Planned",
        "Workers Launched",
        "Heap Fetches",
        "Rows Removed by Index Recheck",
        "Planned Partitions",
        "Peak Memory Usage",
        "Cache Hits",
        "Cache Misses",
        "Cache Evictions",
        "Command",
    ] {
        if let Some(v) = s(key) {
            out.push(format!("{key}: {v}"));
        }
    }
    if let Some(method) = s("Sort Method") {
        let space = match (num(p.get("Sort Space Used")), s("Sort Space Type")) {
            (Some(kb), Some(kind)) => format!("  {kind}: {kb}kB"),
            _ => String::new(),
        };
        out.push(format!("Sort Method: {method}{space}"));
    }
    if let Some(batches) = s("Hash Batches") {
        let mut line = format!("Batches: {batches}");
        if let Some(orig) = s("Original Hash Batches").filter(|o| *o != batches) {
            line.push_str(&format!(" (originally {orig})"));
        }
        if let Some(buckets) = s("Hash Buckets") {
            line = format!("Buckets: {buckets}  {line}");
        }
        out.push(line);
    }
    if let Some(batches) = s("HashAgg Batches") {
        let disk = num(p.get("Disk Usage"))
            .map(|d| format!("  Disk Usage: {d}kB"))
            .unwrap_or_default();
        out.push(format!("Batches: {batches}{disk}"));
    }
    if let Some(storage) = s("Storage") {
        let max = num(p.get("Maximum Storage"))
            .map(|d| format!("  Maximum Storage: {d}kB"))
            .unwrap_or_default();
        out.push(format!("Storage: {storage}{max}"));
    }
    out
}

/// Where reading fewer rows than estimated is expected, not a misestimate: below a
/// Limit, on the inner side of a semi or anti join, under a merge join (it stops
/// when one side runs out), inside a SubPlan or non-CTE InitPlan (EXISTS stops at
/// the first row). A node that reads all its input before returning anything
/// (Sort, Hash, a hashed or plain Aggregate, a hashed SetOp) ends that for its
/// children.
fn mark_early(n: &mut PlanNode, early: bool) {
    n.may_stop_early = early;
    let blocking = matches!(n.node.as_str(), "Sort" | "Hash")
        || (n.node == "Aggregate" && !n.label.contains("GroupAggregate"))
        || n.label.starts_with("HashSetOp");
    let semi_anti = n.label.contains("Semi Join") || n.label.contains("Anti Join");
    let limit = n.node == "Limit";
    let merge = n.node == "Merge Join";
    for c in &mut n.children {
        let rel = c.parent_relationship.as_deref();
        let sub = matches!(rel, Some("SubPlan")) || (matches!(rel, Some("InitPlan")) && !is_cte(c));
        let child_early = if limit || merge || sub || (semi_anti && rel == Some("Inner")) {
            true
        } else if blocking || is_cte(c) {
            false
        } else {
            early
        };
        mark_early(c, child_early);
    }
}

/// Inclusive and self times over the whole tree (ANALYZE only).
///
/// A node's inclusive time is `Actual Total Time × Actual Loops`, except inside a
/// parallel section (below Gather / Gather Merge), where the loops ran side by side
/// in several processes: there it is divided by the number of processes (the
/// Gather's child's loops over the Gather's loops).
///
/// Self time is inclusive minus the children's inclusive times, with two
/// exceptions. A CTE's plan runs while a `CTE Scan` reads it, so its time is inside
/// that scan's time: the CTE is not subtracted from the node it hangs under, it is
/// subtracted from the CTE Scans that read it (first come, first served). An
/// InitPlan runs where its parameter is used: its time is subtracted from the
/// first node below (or at) its parent whose expressions use the parameter
/// (`$1` up to PostgreSQL 16, `(InitPlan 1)` from 17), else from its parent.
fn times(root: &mut PlanNode) {
    inclusive(root);
    let mut ctes: Vec<(String, f64)> = Vec::new();
    collect_ctes(root, &mut ctes);
    self_times(root);
    take_initplans(root, 0, &mut Vec::new());
    cte_scans(root, &mut ctes);
}

/// `total_ms` holds `Actual Total Time` (per loop) until here.
fn inclusive(n: &mut PlanNode) {
    let (loops, procs) = (n.loops.unwrap_or(1.0), n.procs);
    n.total_ms = n
        .total_ms
        .and_then(|per_loop| finite(per_loop * loops / procs));
    for c in &mut n.children {
        inclusive(c);
    }
}

fn collect_ctes(n: &PlanNode, out: &mut Vec<(String, f64)>) {
    if let Some(name) = n
        .subplan_name
        .as_deref()
        .and_then(|s| s.strip_prefix("CTE "))
    {
        out.push((name.to_string(), n.total_ms.unwrap_or(0.0)));
    }
    for c in &n.children {
        collect_ctes(c, out);
    }
}

fn is_cte(n: &PlanNode) -> bool {
    n.subplan_name
        .as_deref()
        .is_some_and(|s| s.starts_with("CTE "))
}

fn is_initplan(n: &PlanNode) -> bool {
    n.parent_relationship.as_deref() == Some("InitPlan") && !is_cte(n)
}

/// Self time: inclusive minus the children that are neither CTEs nor InitPlans
/// (those are settled by [`take_initplans`] and [`cte_scans`]).
fn self_times(n: &mut PlanNode) {
    for c in &mut n.children {
        self_times(c);
    }
    let Some(total) = n.total_ms else { return };
    let children: f64 = n
        .children
        .iter()
        .filter(|c| !is_cte(c) && !is_initplan(c))
        .filter_map(|c| c.total_ms)
        .sum();
    n.self_ms = finite((total - children).max(0.0));
}

/// The parameters an InitPlan sets, as they appear in expressions.
fn initplan_params(name: &str) -> Vec<String> {
    // "InitPlan 1 (returns $0,$1)" (PostgreSQL 13-16) or "InitPlan 1" (17+).
    if let Some(start) = name.find("(returns ") {
        let inner = &name[start + "(returns ".len()..];
        let inner = inner.split(')').next().unwrap_or("");
        return inner
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
    }
    vec![format!("({})", name.trim())]
}

/// `token` occurs in `hay` and is not the start of a longer `$N` (`$1` vs `$12`).
fn mentions(hay: &str, token: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(token) {
        let end = from + i + token.len();
        let longer = token.starts_with('$') && hay[end..].starts_with(|c: char| c.is_ascii_digit());
        if !longer {
            return true;
        }
        from = end;
    }
    false
}

fn node_mentions(n: &PlanNode, params: &[String]) -> bool {
    let exprs = [&n.filter, &n.index_cond, &n.join_cond];
    let in_fields = exprs
        .iter()
        .filter_map(|e| e.as_deref())
        .any(|e| params.iter().any(|p| mentions(e, p)));
    in_fields
        || n.details
            .iter()
            .any(|d| params.iter().any(|p| mentions(d, p)))
}

/// An InitPlan not yet charged to a node: its parameters, its time, and the depth
/// of the node it hangs under.
struct PendingInitPlan {
    params: Vec<String>,
    ms: f64,
    owner: usize,
}

fn charge(n: &mut PlanNode, ms: f64) {
    if let Some(s) = n.self_ms {
        n.self_ms = finite((s - ms).max(0.0));
    }
}

/// Subtracts each InitPlan's time from the node that evaluates it.
fn take_initplans(n: &mut PlanNode, depth: usize, pending: &mut Vec<PendingInitPlan>) {
    for c in n.children.iter().filter(|c| is_initplan(c)) {
        pending.push(PendingInitPlan {
            params: initplan_params(c.subplan_name.as_deref().unwrap_or("")),
            ms: c.total_ms.unwrap_or(0.0),
            owner: depth,
        });
    }
    // The InitPlans above (and at) this node whose parameter this node uses.
    let mut i = 0;
    while i < pending.len() {
        if node_mentions(n, &pending[i].params) {
            let p = pending.remove(i);
            charge(n, p.ms);
        } else {
            i += 1;
        }
    }
    for c in &mut n.children {
        take_initplans(c, depth + 1, pending);
    }
    // This node's own InitPlans that nothing below used: they ran here.
    let mut i = 0;
    while i < pending.len() {
        if pending[i].owner == depth {
            let p = pending.remove(i);
            charge(n, p.ms);
        } else {
            i += 1;
        }
    }
}

/// Subtracts each CTE's time from the CTE Scans that read it.
fn cte_scans(n: &mut PlanNode, budgets: &mut Vec<(String, f64)>) {
    if n.node == "CTE Scan" {
        if let (Some(name), Some(s)) = (n.relation.as_deref(), n.self_ms) {
            if let Some(b) = budgets.iter_mut().find(|(cte, _)| cte == name) {
                let take = b.1.min(s).max(0.0);
                b.1 -= take;
                n.self_ms = finite(s - take);
            }
        }
    }
    for c in &mut n.children {
        cte_scans(c, budgets);
    }
}

#[cfg(test)]
pub(super) fn initplan_params_for_test(name: &str) -> Vec<String> {
    initplan_params(name)
}

#[cfg(test)]
pub(super) fn mentions_for_test(hay: &str, token: &str) -> bool {
    mentions(hay, token)
}
