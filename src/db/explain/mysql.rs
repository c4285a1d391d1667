//! MariaDB's `EXPLAIN FORMAT=JSON` / `ANALYZE FORMAT=JSON` and MySQL's
//! `EXPLAIN FORMAT=JSON`, both versions.
//!
//! The `query_block` form (MariaDB, MySQL version 1) is a tree of structures
//! (`query_block`, `nested_loop`, `filesort`, `temporary_table`, …) with the tables
//! as leaves; a `nested_loop` of two or more tables becomes one "Nested loop" node
//! whose children are the tables in join order. Members opsctl does not know are
//! searched for plan structures too, so a newer server's additions do not hide the
//! tables inside them.
//!
//! MariaDB reports times as totals over all loops: a query block's
//! `r_total_time_ms` includes everything in it; a table's own time is
//! `r_table_time_ms + r_other_time_ms`; a filesort's `r_total_time_ms` is the sort
//! alone over a temporary table and includes the table it reads otherwise; a join
//! buffer's own time is `r_unpack_time_ms + r_other_time_ms`.
//!
//! MySQL's iterator form (version 2) is already a tree of iterators (`inputs`),
//! each with estimated and (EXPLAIN ANALYZE) actual rows per loop and the time to
//! its last row per loop.

use serde_json::{Map, Value};

use super::{ExplainError, MAX_DEPTH, PlanFormat, PlanNode, PlanTree, add, finite, num, text};
use crate::config::Engine;

pub(super) fn parse(engine: Engine, value: Value) -> Result<PlanTree, ExplainError> {
    let name = if engine == Engine::Mysql {
        "MySQL"
    } else {
        "MariaDB"
    };
    let not_a_plan = |reason: &str| ExplainError::NotAPlan {
        engine: name,
        reason: reason.to_string(),
    };
    let top = match value {
        Value::Object(top) => top,
        // Some clients return the one-row result as a one-element array.
        Value::Array(mut items) if items.len() == 1 => match items.swap_remove(0) {
            Value::Object(top) => top,
            _ => return Err(not_a_plan("expected {\"query_block\": ...}")),
        },
        _ => return Err(not_a_plan("expected {\"query_block\": ...}")),
    };
    if let Some(block) = top.get("query_block") {
        let Value::Object(block) = block else {
            return Err(not_a_plan("\"query_block\" is not an object"));
        };
        let root = query_block(block, Ctx::default())?;
        let planning_ms = top
            .get("query_optimization")
            .and_then(|q| num(q.get("r_total_time_ms")));
        return Ok(PlanTree {
            engine,
            format: PlanFormat::QueryBlock,
            // MariaDB's ANALYZE adds it even when no table was read.
            analyzed: top.contains_key("query_optimization"),
            planning_ms,
            execution_ms: num(block.get("r_total_time_ms")),
            plan_ms: None,
            jit_ms: None,
            triggers: Vec::new(),
            settings: Vec::new(),
            root,
        });
    }
    let root = match top.get("query_plan") {
        Some(Value::Object(plan)) => plan,
        Some(_) => return Err(not_a_plan("\"query_plan\" is not an object")),
        None if top.contains_key("operation") => &top,
        None => return Err(not_a_plan("neither \"query_block\" nor \"query_plan\"")),
    };
    let root = iterator(root, false, 0)?;
    Ok(PlanTree {
        engine,
        format: PlanFormat::MysqlIterators,
        analyzed: false,
        planning_ms: None,
        execution_ms: None,
        plan_ms: None,
        jit_ms: None,
        triggers: Vec::new(),
        settings: Vec::new(),
        root,
    })
}

/// Where in the tree a structure sits.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    depth: usize,
    /// Below something that reads all its input (a sort, a temporary table, a
    /// materialization): a scan there cannot have stopped early.
    reads_all: bool,
}

impl Ctx {
    fn down(self) -> Result<Ctx, ExplainError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExplainError::TooDeep { limit: MAX_DEPTH });
        }
        Ok(Ctx {
            depth: self.depth + 1,
            ..self
        })
    }

    fn reading_all(self) -> Ctx {
        Ctx {
            reads_all: true,
            ..self
        }
    }
}

fn s(o: &Map<String, Value>, k: &str) -> Option<String> {
    text(o.get(k))
}

fn f(o: &Map<String, Value>, k: &str) -> Option<f64> {
    num(o.get(k))
}

fn flag(o: &Map<String, Value>, k: &str) -> bool {
    o.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Sets `total_ms` and `self_ms` from the node's own time, or (for a query block)
/// its inclusive time, and its children's.
fn settle(n: &mut PlanNode, own: Option<f64>, inclusive: Option<f64>) {
    // A negative time is no measurement (found by the fuzz properties).
    let own = own.filter(|t| *t >= 0.0);
    let inclusive = inclusive.filter(|t| *t >= 0.0);
    let children: Option<f64> = n.children.iter().map(|c| c.total_ms).fold(None, add);
    match inclusive {
        Some(total) => {
            n.total_ms = Some(total);
            n.self_ms = finite((total - children.unwrap_or(0.0)).max(0.0));
        }
        None => {
            n.total_ms = add(own, children);
            n.self_ms = own.or(n.total_ms.map(|_| 0.0));
        }
    }
}

fn query_block(b: &Map<String, Value>, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    let mut n = PlanNode::new("query_block");
    n.label = match (f(b, "select_id"), s(b, "operation")) {
        (Some(id), Some(op)) => format!("{op} select #{id}"),
        (Some(id), None) => format!("Select #{id}"),
        (None, Some(op)) => op,
        (None, None) => "Query block".to_string(),
    };
    n.cost = f(b, "cost").or_else(|| b.get("cost_info").and_then(|c| num(c.get("query_cost"))));
    n.loops = f(b, "r_loops");
    if let Some(h) = s(b, "having_condition") {
        n.details.push(format!("having: {h}"));
    }
    if let Some(m) = s(b, "message") {
        n.details.push(m);
    }
    if let Some(d) = s(b, "dependent") {
        n.details.push(format!("dependent: {d}"));
    }
    n.children = contents(b, ctx.down()?)?;
    settle(&mut n, None, f(b, "r_total_time_ms"));
    Ok(n)
}

/// The plan structures inside an object, in the object's member order.
fn contents(o: &Map<String, Value>, ctx: Ctx) -> Result<Vec<PlanNode>, ExplainError> {
    let mut out = Vec::new();
    for (key, value) in o {
        match (key.as_str(), value) {
            ("query_block", Value::Object(b)) => out.push(query_block(b, ctx)?),
            ("table", Value::Object(t)) => out.push(table(t, ctx)?),
            ("nested_loop", Value::Array(items)) => {
                let mut tables = Vec::new();
                for item in items {
                    if let Value::Object(item) = item {
                        tables.extend(contents(item, ctx.down()?)?);
                    }
                }
                if tables.len() >= 2 {
                    let mut n = PlanNode::new("nested_loop");
                    n.label = "Nested loop".to_string();
                    n.children = tables;
                    settle(&mut n, None, None);
                    out.push(n);
                } else {
                    out.extend(tables);
                }
            }
            ("union_result", Value::Object(u)) => out.push(union_result(u, ctx)?),
            ("filesort", Value::Object(fs)) => out.push(filesort(fs, ctx)?),
            ("block-nl-join", Value::Object(j)) => out.push(join_buffer(j, ctx)?),
            ("expression_cache", Value::Object(e)) => {
                let mut n = wrapper(e, "expression_cache", "Expression cache", ctx)?;
                if let Some(r) = f(e, "r_hit_ratio") {
                    n.details.push(format!("hit ratio: {r}%"));
                }
                out.push(n);
            }
            ("read_sorted_file", Value::Object(r)) => {
                let mut n = wrapper(r, "read_sorted_file", "Read sorted file", ctx)?;
                n.actual_rows = f(r, "r_rows");
                out.push(n);
            }
            ("temporary_table", Value::Object(t)) => out.push(wrapper(
                t,
                "temporary_table",
                "Temporary table",
                ctx.reading_all(),
            )?),
            ("duplicates_removal", v) => out.push(list_wrapper(
                v,
                "duplicates_removal",
                "Duplicates removal",
                ctx.reading_all(),
            )?),
            ("window_functions_computation", v) => out.push(list_wrapper(
                v,
                "window_functions_computation",
                "Window functions",
                ctx.reading_all(),
            )?),
            ("windowing", v) => out.push(list_wrapper(
                v,
                "windowing",
                "Windowing",
                ctx.reading_all(),
            )?),
            ("buffer_result", v) => out.push(list_wrapper(
                v,
                "buffer_result",
                "Buffer result",
                ctx.reading_all(),
            )?),
            ("ordering_operation" | "grouping_operation", Value::Object(op)) => {
                let (node, base) = if key == "ordering_operation" {
                    ("ordering_operation", "Ordering")
                } else {
                    ("grouping_operation", "Grouping")
                };
                let mut uses = Vec::new();
                if flag(op, "using_temporary_table") {
                    uses.push("temporary table");
                }
                if flag(op, "using_filesort") {
                    uses.push("filesort");
                }
                let label = if uses.is_empty() {
                    base.to_string()
                } else {
                    format!("{base} ({})", uses.join(", "))
                };
                let reads_all = !uses.is_empty();
                let inner = if reads_all { ctx.reading_all() } else { ctx };
                let mut n = wrapper(op, node, &label, inner)?;
                n.cost = op.get("cost_info").and_then(|c| num(c.get("sort_cost")));
                out.push(n);
            }
            ("materialized" | "materialized_from_subquery", Value::Object(m)) => {
                for mut c in contents(m, ctx.down()?.reading_all())? {
                    c.parent_relationship
                        .get_or_insert_with(|| "materialized".to_string());
                    out.push(c);
                }
            }
            (
                "subqueries"
                | "attached_subqueries"
                | "optimized_away_subqueries"
                | "select_list_subqueries"
                | "having_subqueries"
                | "order_by_subqueries"
                | "group_by_subqueries"
                | "update_value_subqueries",
                Value::Array(items),
            ) => {
                let rel = key.trim_end_matches("ies").replace('_', " ") + "y";
                for item in items {
                    if let Value::Object(item) = item {
                        for mut c in contents(item, ctx.down()?)? {
                            c.parent_relationship.get_or_insert_with(|| rel.clone());
                            out.push(c);
                        }
                    }
                }
            }
            // Anything else: look inside for plan structures.
            (_, Value::Object(inner)) => out.extend(contents(inner, ctx.down()?)?),
            (_, Value::Array(items)) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        out.extend(contents(inner, ctx.down()?)?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A structure that only groups what is inside it.
fn wrapper(
    o: &Map<String, Value>,
    node: &str,
    label: &str,
    ctx: Ctx,
) -> Result<PlanNode, ExplainError> {
    let mut n = PlanNode::new(node);
    n.label = label.to_string();
    n.loops = f(o, "r_loops");
    n.children = contents(o, ctx.down()?)?;
    settle(&mut n, None, None);
    Ok(n)
}

/// A wrapper whose value may be an object or (MariaDB) a list of join members.
fn list_wrapper(v: &Value, node: &str, label: &str, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    match v {
        Value::Object(o) => wrapper(o, node, label, ctx),
        Value::Array(items) => {
            let mut n = PlanNode::new(node);
            n.label = label.to_string();
            for item in items {
                if let Value::Object(item) = item {
                    n.children.extend(contents(item, ctx.down()?)?);
                }
            }
            settle(&mut n, None, None);
            Ok(n)
        }
        _ => {
            let mut n = PlanNode::new(node);
            n.label = label.to_string();
            Ok(n)
        }
    }
}

/// The words for an access type.
fn access_label(access: &str) -> String {
    let what = match access {
        "ALL" => "Full scan",
        "index" => "Full index scan",
        "range" => "Index range scan",
        "ref" => "Index lookup",
        "eq_ref" => "Unique index lookup",
        "ref_or_null" => "Index lookup or NULL",
        "const" => "Constant row",
        "system" => "System row",
        "index_merge" => "Index merge",
        "fulltext" => "Fulltext search",
        "unique_subquery" => "Unique subquery lookup",
        "index_subquery" => "Subquery index lookup",
        "hash_ALL" => "Hash join, full scan",
        "hash_index" | "hash_range" | "hash_index_merge" => "Hash join",
        _ => return access.to_string(),
    };
    format!("{what} ({access})")
}

fn table(t: &Map<String, Value>, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    let access = s(t, "access_type");
    let mut n = match &access {
        Some(a) => {
            let mut n = PlanNode::new(a.clone());
            n.label = access_label(a);
            n
        }
        None => {
            let mut n = PlanNode::new("table");
            n.label = s(t, "message").unwrap_or_else(|| "Table".to_string());
            n
        }
    };
    n.relation = s(t, "table_name");
    n.index = s(t, "key");
    let access = access.unwrap_or_default();
    n.full_scan = access == "ALL" || access == "hash_ALL";

    // Estimates: rows read per scan and the percentage left after the condition.
    n.est_rows_read = f(t, "rows").or_else(|| f(t, "rows_examined_per_scan"));
    let filtered = f(t, "filtered").unwrap_or(100.0).clamp(0.0, 100.0);
    n.est_rows = n.est_rows_read.and_then(|r| finite(r * filtered / 100.0));
    n.cost = f(t, "cost").or_else(|| {
        let ci = t.get("cost_info")?;
        add(num(ci.get("read_cost")), num(ci.get("eval_cost")))
    });

    // Measurements (MariaDB ANALYZE): averages per loop.
    n.loops = f(t, "r_loops");
    n.actual_rows_read = f(t, "r_rows");
    if let Some(read) = n.actual_rows_read {
        let kept = f(t, "r_filtered").unwrap_or(100.0).clamp(0.0, 100.0);
        n.actual_rows = finite(read * kept / 100.0);
        n.rows_removed_by_filter = finite(read * (100.0 - kept) / 100.0);
    }
    // const and system tables are read while optimizing, before the loops.
    n.never_executed = n.loops == Some(0.0) && !matches!(access.as_str(), "const" | "system");
    // A full scan that read less than the table outside a sort stopped early
    // (LIMIT, EXISTS): its estimate was the table, not what it would return.
    n.may_stop_early = !ctx.reads_all
        && matches!(access.as_str(), "ALL" | "index")
        && matches!((n.actual_rows_read, n.est_rows_read), (Some(a), Some(e)) if a < e);

    n.filter = s(t, "attached_condition");
    n.index_cond = s(t, "index_condition").or_else(|| s(t, "index_condition_bka"));
    if let Some(parts) = s(t, "used_key_parts") {
        n.details.push(format!("key parts: {parts}"));
    }
    if let Some(r) = s(t, "ref") {
        n.details.push(format!("ref: {r}"));
    }
    if flag(t, "using_index") {
        n.details.push("using index".to_string());
    }
    if let Some(j) = s(t, "using_join_buffer") {
        n.details.push(format!("join buffer: {j}"));
    }
    if let Some(pages) = t
        .get("r_engine_stats")
        .and_then(|e| num(e.get("pages_accessed")))
    {
        n.details.push(format!("pages accessed: {pages}"));
    }
    if let Some(m) = s(t, "message").filter(|_| n.node != "table") {
        n.details.push(m);
    }

    n.children = contents(t, ctx.down()?)?;
    settle(
        &mut n,
        add(f(t, "r_table_time_ms"), f(t, "r_other_time_ms")),
        None,
    );
    Ok(n)
}

fn filesort(fs: &Map<String, Value>, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    let mut n = PlanNode::new("filesort");
    n.label = "Filesort".to_string();
    n.loops = f(fs, "r_loops");
    n.actual_rows = f(fs, "r_output_rows");
    if let Some(k) = s(fs, "sort_key") {
        n.details.push(format!("sort key: {k}"));
    }
    if let Some(mode) = s(fs, "r_sort_mode") {
        n.details.push(format!("sort mode: {mode}"));
    }
    if let Some(b) = s(fs, "r_buffer_size") {
        n.details.push(format!("buffer: {b}"));
    }
    if flag(fs, "r_used_priority_queue") {
        n.details.push("priority queue (LIMIT)".to_string());
    }
    if let Some(passes) = f(fs, "r_sort_passes") {
        n.details.push(format!("sort passes: {passes}"));
        if passes > 0.0 {
            n.spill = Some(("filesort".to_string(), None));
        }
    }
    n.children = contents(fs, ctx.down()?.reading_all())?;
    // A filesort over a temporary table times the sort alone (the join filled the
    // table before); a filesort over a table reads it itself, and the table's
    // time is inside the filesort's.
    let time = f(fs, "r_total_time_ms");
    if n.children.iter().any(|c| c.node == "temporary_table") {
        settle(&mut n, time, None);
    } else {
        let children = n
            .children
            .iter()
            .filter_map(|c| c.total_ms)
            .fold(None, |a: Option<f64>, t| Some(a.unwrap_or(0.0) + t));
        let inclusive = match (time, children) {
            (Some(t), Some(c)) => Some(t.max(c)),
            (t, c) => t.or(c),
        };
        settle(&mut n, None, inclusive);
    }
    Ok(n)
}

fn join_buffer(j: &Map<String, Value>, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    let mut n = PlanNode::new("block-nl-join");
    let kind = s(j, "join_type").unwrap_or_else(|| "BNL".to_string());
    n.label = format!("Block nested loop ({kind})");
    n.loops = f(j, "r_loops");
    n.filter = s(j, "attached_condition");
    let buffer: Vec<String> = [s(j, "buffer_type"), s(j, "buffer_size")]
        .into_iter()
        .flatten()
        .collect();
    if !buffer.is_empty() {
        n.details
            .push(format!("join buffer: {}", buffer.join(", ")));
    }
    if let Some(r) = f(j, "r_filtered") {
        n.details
            .push(format!("rows left after the join condition: {r}%"));
    }
    n.children = contents(j, ctx.down()?)?;
    settle(
        &mut n,
        add(f(j, "r_unpack_time_ms"), f(j, "r_other_time_ms")),
        None,
    );
    Ok(n)
}

fn union_result(u: &Map<String, Value>, ctx: Ctx) -> Result<PlanNode, ExplainError> {
    let mut n = PlanNode::new("union_result");
    n.label = "Union result".to_string();
    n.relation = s(u, "table_name");
    n.loops = f(u, "r_loops");
    n.actual_rows = f(u, "r_rows");
    if let Some(Value::Array(specs)) = u.get("query_specifications") {
        for spec in specs {
            if let Value::Object(spec) = spec {
                for mut c in contents(spec, ctx.down()?.reading_all())? {
                    c.parent_relationship
                        .get_or_insert_with(|| "union member".to_string());
                    n.children.push(c);
                }
            }
        }
    }
    settle(&mut n, None, None);
    Ok(n)
}

/// One iterator of MySQL's version-2 JSON and, recursively, its `inputs`.
fn iterator(o: &Map<String, Value>, early: bool, depth: usize) -> Result<PlanNode, ExplainError> {
    if depth > MAX_DEPTH {
        return Err(ExplainError::TooDeep { limit: MAX_DEPTH });
    }
    let access = s(o, "access_type").unwrap_or_else(|| "unknown".to_string());
    let mut n = PlanNode::new(access.clone());
    match (s(o, "operation"), s(o, "heading")) {
        (Some(op), heading) => {
            n.label = op;
            n.subplan_name = heading;
        }
        // A heading alone ("Hash": the build side of a hash join) names the node.
        (None, Some(heading)) => n.label = heading,
        (None, None) => {}
    }
    n.relation = s(o, "table_name");
    n.alias = s(o, "alias").filter(|a| Some(a) != n.relation.as_ref());
    n.index = s(o, "index_name");
    if flag(o, "subquery") {
        n.parent_relationship = Some("subquery".to_string());
    }
    n.est_rows = f(o, "estimated_rows");
    n.actual_rows = f(o, "actual_rows");
    n.loops = f(o, "actual_loops");
    n.never_executed = n.loops == Some(0.0);
    n.cost = f(o, "estimated_total_cost");
    n.filter = s(o, "condition");
    n.join_cond = s(o, "hash_condition").or_else(|| s(o, "join_condition"));
    n.full_scan = access == "table" && n.label.starts_with("Table scan");
    if n.full_scan {
        n.est_rows_read = n.est_rows;
        n.actual_rows_read = n.actual_rows;
    }
    n.may_stop_early = early;
    if let Some(k) = s(o, "sort_fields") {
        n.details.push(format!("sort: {k}"));
    }
    if let Some(j) = s(o, "join_algorithm") {
        n.details.push(format!("join algorithm: {j}"));
    }

    let blocking = matches!(
        access.as_str(),
        "sort" | "aggregate" | "temp_table_aggregate" | "materialize" | "window"
    );
    let limit = access == "limit";
    let semi_anti = s(o, "join_type").is_some_and(|j| j.contains("semi") || j.contains("anti"));
    if let Some(Value::Array(inputs)) = o.get("inputs") {
        for (i, input) in inputs.iter().enumerate() {
            if let Value::Object(input) = input {
                let child_early = if limit || (semi_anti && i > 0) {
                    true
                } else if blocking {
                    false
                } else {
                    early
                };
                n.children.push(iterator(input, child_early, depth + 1)?);
            }
        }
    }
    // Time to the last row is an average per loop and includes the inputs.
    let total = f(o, "actual_last_row_ms").and_then(|t| finite(t * n.loops.unwrap_or(1.0)));
    settle(&mut n, None, total);
    Ok(n)
}
