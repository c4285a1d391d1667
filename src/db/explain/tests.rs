//! Fixture tests over plans captured from the sandbox's PostgreSQL 15 and MariaDB
//! 10.11 (tests/fixtures/explain/, each with the statement that produced it), the
//! hand-written MySQL ones, edge cases, and "never panics" properties.

use proptest::prelude::*;
use serde_json::json;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/explain");

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn pg(name: &str) -> PlanTree {
    parse(Engine::Postgresql, &fixture(&format!("pg/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn maria(name: &str) -> PlanTree {
    parse(Engine::Mariadb, &fixture(&format!("mariadb/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn mysql(name: &str) -> PlanTree {
    parse(Engine::Mysql, &fixture(&format!("mysql/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first node (parents first) whose engine type is `node`.
fn find<'a>(tree: &'a PlanTree, node: &str) -> &'a PlanNode {
    tree.nodes()
        .into_iter()
        .find(|n| n.node == node)
        .unwrap_or_else(|| panic!("no {node} in\n{}", render(tree)))
}

fn find_rel<'a>(tree: &'a PlanTree, node: &str, relation: &str) -> &'a PlanNode {
    tree.nodes()
        .into_iter()
        .find(|n| n.node == node && n.relation.as_deref() == Some(relation))
        .unwrap_or_else(|| panic!("no {node} on {relation} in\n{}", render(tree)))
}

fn kinds(n: &PlanNode) -> Vec<&'static str> {
    n.flags
        .iter()
        .map(|f| match f {
            Flag::Misestimate { .. } => "misestimate",
            Flag::SeqScanOnBigTable { .. } => "seq_scan_on_big_table",
            Flag::DiskSpill { .. } => "disk_spill",
            Flag::FilterDiscardsMost { .. } => "filter_discards_most",
        })
        .collect()
}

/// Every flag in the tree, with the node type it sits on.
fn all_flags(tree: &PlanTree) -> Vec<(String, &'static str)> {
    tree.nodes()
        .into_iter()
        .flat_map(|n| kinds(n).into_iter().map(|k| (n.node.clone(), k)))
        .collect()
}

fn labels(tree: &PlanTree) -> Vec<String> {
    tree.nodes().into_iter().map(|n| n.label.clone()).collect()
}

fn misestimate(n: &PlanNode) -> (f64, f64, f64) {
    n.flags
        .iter()
        .find_map(|f| match f {
            Flag::Misestimate {
                factor,
                estimated,
                actual,
            } => Some((*factor, *estimated, *actual)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no misestimate on {}", n.label))
}

fn big_scan(n: &PlanNode) -> (f64, RowsSource) {
    n.flags
        .iter()
        .find_map(|f| match f {
            Flag::SeqScanOnBigTable { rows, source } => Some((*rows, *source)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no seq scan flag on {}", n.label))
}

fn spill(n: &PlanNode) -> (String, Option<f64>) {
    n.flags
        .iter()
        .find_map(|f| match f {
            Flag::DiskSpill { operation, disk_kb } => Some((operation.clone(), *disk_kb)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no spill on {}", n.label))
}

/// All fixture files of a directory, with the engine that reads them.
fn every_fixture() -> Vec<(Engine, String)> {
    let mut out = Vec::new();
    for (dir, engine) in [
        ("pg", Engine::Postgresql),
        ("mariadb", Engine::Mariadb),
        ("mysql", Engine::Mysql),
    ] {
        let mut names: Vec<String> = std::fs::read_dir(format!("{FIXTURES}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| (engine, format!("{dir}/{n}"))));
    }
    out
}

// ---------------------------------------------------------------- every fixture

#[test]
fn every_fixture_parses_renders_and_serializes() {
    let all = every_fixture();
    assert!(all.len() >= 70, "fixtures went missing: {}", all.len());
    for (engine, path) in all {
        let text = fixture(&path);
        let tree = parse(engine, &text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let analyzed_file = path.contains(".analyze.") || path.contains("v2_analyze");
        assert_eq!(tree.analyzed, analyzed_file, "{path}");

        let out = render(&tree);
        assert_eq!(
            out.lines().count(),
            tree.nodes().len() + 1 + tree.triggers.len(),
            "{path}\n{out}"
        );
        assert!(out.lines().next().unwrap().contains(if analyzed_file {
            "EXPLAIN ANALYZE"
        } else {
            "EXPLAIN"
        }));

        let v = serde_json::to_value(&tree).unwrap();
        assert_eq!(v["engine"], engine.as_str(), "{path}");
        assert!(v["root"]["node"].is_string(), "{path}");

        for n in tree.nodes() {
            assert!(!n.node.is_empty() && !n.label.is_empty(), "{path}");
            if let Some(s) = n.self_ms {
                assert!(s >= 0.0 && s.is_finite(), "{path}: {} self {s}", n.label);
            }
            if let Some(t) = n.time_share {
                assert!((0.0..=1.0).contains(&t), "{path}: {} share {t}", n.label);
            }
            if !tree.analyzed {
                assert!(
                    n.actual_rows.is_none() && n.loops.is_none() && n.total_ms.is_none(),
                    "{path}"
                );
                assert!(!n.never_executed);
            }
        }
        if tree.analyzed && tree.root.total_ms.is_some() {
            // Self times add up to the plan's time (they are clamped at zero, so
            // never to much more).
            let sum: f64 = tree.nodes().iter().filter_map(|n| n.self_ms).sum();
            let plan = tree.plan_ms.unwrap();
            assert!(
                sum <= plan * 1.05 + 0.05,
                "{path}: self sum {sum} > plan {plan}\n{out}"
            );
            assert!(
                sum >= plan * 0.5,
                "{path}: self sum {sum} << plan {plan}\n{out}"
            );
        }
    }
}

#[test]
fn plain_postgresql_fixtures_have_costs_and_estimates_everywhere() {
    for (engine, path) in every_fixture() {
        if engine != Engine::Postgresql {
            continue;
        }
        let tree = parse(engine, &fixture(&path)).unwrap();
        for n in tree.nodes() {
            assert!(
                n.cost.is_some() && n.est_rows.is_some(),
                "{path}: {}",
                n.label
            );
        }
        if tree.analyzed {
            assert!(
                tree.planning_ms.is_some() && tree.execution_ms.is_some(),
                "{path}"
            );
            assert!(tree.root.buffers.is_some(), "{path}: BUFFERS was on");
        }
    }
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn pg_serial_seq_scan_on_the_big_table() {
    let t = pg("seqscan_serial.analyze");
    let scan = &t.root;
    assert_eq!(
        (scan.node.as_str(), scan.label.as_str()),
        ("Seq Scan", "Seq Scan")
    );
    assert_eq!(scan.relation.as_deref(), Some("shop_shipment"));
    assert!(scan.full_scan && scan.children.is_empty());
    assert!(scan.filter.as_deref().unwrap().contains("tracking_code"));
    assert_eq!(
        (scan.est_rows, scan.actual_rows, scan.loops),
        (Some(1.0), Some(1.0), Some(1.0))
    );
    assert_eq!(scan.rows_removed_by_filter, Some(399_999.0));
    assert_eq!(scan.actual_rows_read, Some(400_000.0));
    assert_eq!(
        kinds(scan),
        ["seq_scan_on_big_table", "filter_discards_most"]
    );
    assert_eq!(big_scan(scan), (400_000.0, RowsSource::Measured));
    assert!(scan.flags.contains(&Flag::FilterDiscardsMost {
        removed: 399_999.0,
        kept: 1.0
    }));
    assert_eq!(scan.time_share, Some(1.0));
    let b = scan.buffers.as_ref().unwrap();
    assert!(
        b.shared_hit.unwrap() + b.shared_read.unwrap() > 3_000.0,
        "the table is ~3,800 pages"
    );
    let out = render(&t);
    assert!(
        out.contains("Seq Scan on shop_shipment  rows est 1 · actual 1"),
        "{out}"
    );
    assert!(
        out.contains("!! seq scan on big table: 400,000 rows read"),
        "{out}"
    );
    assert!(
        out.contains("!! filter removed 399,999 rows, kept 1"),
        "{out}"
    );
}

#[test]
fn pg_plain_selective_seq_scan_needs_the_table_size() {
    let mut t = pg("seqscan_serial.plain");
    assert!(!t.analyzed);
    assert_eq!(t.root.node, "Seq Scan");
    assert_eq!(t.root.cost, Some(8810.0));
    // Plan Rows is what the filter lets through: one row says nothing of the table.
    assert!(t.root.flags.is_empty());
    assert_eq!(t.relations(), ["shop_shipment"]);
    t.set_table_rows(|rel| (rel == "shop_shipment").then_some(400_000.0));
    assert_eq!(t.root.table_rows, Some(400_000.0));
    assert_eq!(big_scan(&t.root), (400_000.0, RowsSource::TableSize));
    assert!(render(&t).contains("400,000 rows in the table"));
}

#[test]
fn pg_parallel_seq_scan_counts_all_workers() {
    let t = pg("seqscan_parallel.analyze");
    assert_eq!(t.root.node, "Gather");
    assert!(t.root.details.iter().any(|d| d == "Workers Launched: 2"));
    let scan = &t.root.children[0];
    assert_eq!(
        (scan.node.as_str(), scan.label.as_str()),
        ("Seq Scan", "Parallel Seq Scan")
    );
    assert!(scan.parallel);
    assert_eq!(scan.loops, Some(3.0));
    let (rows, source) = big_scan(scan);
    assert_eq!(source, RowsSource::Measured);
    assert!((399_990.0..=400_000.0).contains(&rows), "{rows}");
    // The workers' time is the wall time they shared, not three times it.
    assert!(scan.total_ms.unwrap() <= t.root.total_ms.unwrap());
    assert!(
        all_flags(&t).iter().all(|(n, _)| n == "Seq Scan"),
        "{:?}",
        all_flags(&t)
    );

    let plain = pg("seqscan_parallel.plain");
    assert_eq!(labels(&plain), ["Gather", "Parallel Seq Scan"]);
    assert!(all_flags(&plain).is_empty());
}

#[test]
fn pg_parallel_aggregate_labels_and_estimated_pass() {
    let t = pg("parallel_aggregate.plain");
    assert_eq!(
        labels(&t),
        [
            "Finalize GroupAggregate",
            "Gather Merge",
            "Sort",
            "Partial HashAggregate",
            "Parallel Seq Scan"
        ]
    );
    let scan = find(&t, "Seq Scan");
    // 166,667 rows per process × PostgreSQL's divisor for two workers (2.4).
    let (rows, source) = big_scan(scan);
    assert_eq!(source, RowsSource::Estimated);
    assert!((rows - 400_000.0).abs() < 2.0, "{rows}");
    assert_eq!(all_flags(&t).len(), 1);

    let a = pg("parallel_aggregate.analyze");
    let scan = find(&a, "Seq Scan");
    assert_eq!(big_scan(scan).1, RowsSource::Measured);
    assert!((big_scan(scan).0 - 400_000.0).abs() < 2.0);
    assert_eq!(all_flags(&a).len(), 1, "{}", render(&a));
}

#[test]
fn pg_index_scans_carry_no_flags() {
    for name in ["index_scan", "index_only_scan"] {
        for mode in ["plain", "analyze"] {
            let t = pg(&format!("{name}.{mode}"));
            assert!(t.root.node.starts_with("Index"), "{name}");
            assert_eq!(t.root.relation.as_deref(), Some("shop_order"));
            assert_eq!(t.root.index.as_deref(), Some("shop_order_pkey"));
            assert!(t.root.index_cond.is_some());
            assert!(!t.root.full_scan);
            assert!(all_flags(&t).is_empty(), "{name}.{mode}");
        }
    }
    assert_eq!(pg("index_only_scan.analyze").root.label, "Index Only Scan");
    assert!(
        pg("index_only_scan.analyze")
            .root
            .details
            .iter()
            .any(|d| d.starts_with("Heap Fetches"))
    );
}

#[test]
fn pg_bitmap_scan() {
    let t = pg("bitmap_scan.analyze");
    assert_eq!(t.root.node, "Bitmap Heap Scan");
    assert_eq!(t.root.relation.as_deref(), Some("shop_shipment"));
    assert!(
        t.root.index_cond.as_deref().unwrap().contains("order_id"),
        "Recheck Cond"
    );
    let idx = &t.root.children[0];
    assert_eq!(idx.node, "Bitmap Index Scan");
    assert_eq!(
        idx.index.as_deref(),
        Some("shop_shipment_order_id_21305c8c")
    );
    assert!(all_flags(&t).is_empty());
}

#[test]
fn pg_nested_loop() {
    let t = pg("nested_loop.analyze");
    assert_eq!(t.root.node, "Nested Loop");
    let [outer, inner] = &t.root.children[..] else {
        panic!()
    };
    assert_eq!(outer.parent_relationship.as_deref(), Some("Outer"));
    assert_eq!(
        (inner.node.as_str(), inner.relation.as_deref()),
        ("Index Scan", Some("shop_customer"))
    );
    assert_eq!(inner.alias.as_deref(), Some("c"));
    assert_eq!(inner.parent_relationship.as_deref(), Some("Inner"));
    assert_eq!(inner.loops, Some(9.0));
    assert_eq!(inner.actual_total_rows, Some(9.0));
    // Inner time is per loop × loops.
    assert!(inner.total_ms.unwrap() > 0.0 && inner.total_ms.unwrap() <= t.root.total_ms.unwrap());
    assert!(all_flags(&t).is_empty());
    assert!(render(&t).contains("× 9 loops"));
}

#[test]
fn pg_never_executed_inner_side() {
    let t = pg("nested_loop_never_executed.analyze");
    let inner = &t.root.children[1];
    assert!(inner.never_executed);
    assert_eq!(inner.loops, Some(0.0));
    assert!(!t.root.children[0].never_executed);
    assert!(all_flags(&t).is_empty());
    assert!(render(&t).contains("(never executed)"));
}

#[test]
fn pg_hash_join_aggregate_sort() {
    let t = pg("hash_join_aggregate.analyze");
    assert_eq!(
        labels(&t),
        [
            "Sort",
            "HashAggregate",
            "Hash Join",
            "Seq Scan",
            "Hash",
            "Seq Scan"
        ]
    );
    let join = find(&t, "Hash Join");
    assert!(join.join_cond.as_deref().unwrap().contains("customer_id"));
    assert!(
        find(&t, "Sort")
            .details
            .iter()
            .any(|d| d.starts_with("Sort Method: quicksort"))
    );
    // 3,000-row tables are small: no seq scan flag, and nothing else.
    assert!(all_flags(&t).is_empty(), "{:?}", all_flags(&t));
}

#[test]
fn pg_merge_join_inputs_may_stop_early() {
    let t = pg("merge_join.analyze");
    assert_eq!(t.root.node, "Merge Join");
    assert!(t.root.join_cond.is_some());
    assert!(t.root.children.iter().all(|c| c.may_stop_early));
    assert!(all_flags(&t).is_empty());
}

#[test]
fn pg_sort_spilling_to_disk() {
    let t = pg("sort_spill.analyze");
    assert_eq!(t.root.node, "Sort");
    let (op, kb) = spill(&t.root);
    assert_eq!(op, "sort");
    assert!(kb.unwrap() > 1_000.0);
    assert!(
        t.root
            .details
            .iter()
            .any(|d| d.starts_with("Sort Method: external merge  Disk: "))
    );
    assert!(t.root.buffers.as_ref().unwrap().temp_written.unwrap() > 0.0);
    assert_eq!(kinds(&t.root.children[0]), ["seq_scan_on_big_table"]);
    assert!(render(&t).contains("!! sort spilled to disk: "));
    // Plain EXPLAIN cannot know.
    assert!(pg("sort_spill.plain").root.flags.is_empty());
}

#[test]
fn pg_hash_and_hash_aggregate_spilling() {
    let t = pg("hash_spill.analyze");
    assert_eq!(t.root.label, "HashAggregate");
    let (op, kb) = spill(&t.root);
    assert_eq!(op, "hash aggregate");
    assert!(kb.unwrap() > 0.0);
    let hash = find(&t, "Hash");
    assert_eq!(spill(hash), ("hash".to_string(), None));
    assert_eq!(
        kinds(find_rel(&t, "Seq Scan", "shop_shipment")),
        ["seq_scan_on_big_table"]
    );
    assert!(kinds(find_rel(&t, "Seq Scan", "shop_order")).is_empty());
    assert!(t.jit_ms.is_some(), "this one crossed jit_above_cost");
}

#[test]
fn pg_misestimate_of_a_function() {
    let t = pg("misestimate_function.analyze");
    let (factor, est, act) = misestimate(&t.root);
    assert_eq!((est, act), (2_000.0, 400_000.0));
    assert_eq!(factor, 200.0);
    assert!(render(&t).contains("!! 200x under-estimate (est 2,000, actual 400,000)"));
    assert!(pg("misestimate_function.plain").root.flags.is_empty());
}

#[test]
fn pg_misestimate_of_correlated_columns() {
    let t = pg("misestimate_correlated.analyze");
    assert_eq!(t.root.node, "Index Scan");
    let (factor, est, act) = misestimate(&t.root);
    assert_eq!(act, 16_000.0);
    assert!(est < 1_000.0 && factor > 15.0, "{factor}");
    assert_eq!(kinds(&t.root), ["misestimate"]);
}

#[test]
fn pg_over_estimate_with_nothing_found() {
    let t = pg("misestimate_over.analyze");
    let (factor, est, act) = misestimate(&t.root);
    assert_eq!(act, 0.0);
    assert_eq!(factor, est, "zero actual rows count as one");
    assert!(t.root.flags.contains(&Flag::FilterDiscardsMost {
        removed: 40_000.0,
        kept: 0.0
    }));
    assert!(render(&t).contains("x over-estimate"));
}

#[test]
fn pg_limit_stops_a_scan_early_without_flags() {
    let t = pg("limit_seqscan.analyze");
    assert_eq!(t.root.node, "Limit");
    let scan = &t.root.children[0];
    assert!(scan.may_stop_early);
    assert!(scan.est_rows.unwrap() > 10_000.0 && scan.actual_rows == Some(10.0));
    // Reading 10 of 80,000 estimated rows is what a LIMIT does: no misestimate, and
    // the scan read a few dozen rows, not a big table.
    assert!(all_flags(&t).is_empty(), "{:?}", all_flags(&t));
    // Without ANALYZE, the estimate says it is a big table.
    let plain = pg("limit_seqscan.plain");
    assert_eq!(big_scan(&plain.root.children[0]).1, RowsSource::Estimated);
}

#[test]
fn pg_cte_initplan_and_subplan() {
    let t = pg("cte_subplans.analyze");
    assert_eq!(t.root.node, "Limit");
    let names: Vec<_> = t
        .nodes()
        .iter()
        .filter_map(|n| n.subplan_name.clone())
        .collect();
    assert_eq!(
        names,
        ["CTE per_customer", "InitPlan 3 (returns $3)", "SubPlan 2"]
    );
    let cte = &t.root.children[0];
    assert_eq!(cte.parent_relationship.as_deref(), Some("InitPlan"));
    assert_eq!(cte.label, "HashAggregate");
    let scans: Vec<_> = t
        .nodes()
        .into_iter()
        .filter(|n| n.node == "CTE Scan")
        .collect();
    assert_eq!(scans.len(), 2);
    assert!(
        scans
            .iter()
            .all(|s| s.relation.as_deref() == Some("per_customer"))
    );
    let sub = find(&t, "Result")
        .children
        .iter()
        .find(|c| c.parent_relationship.as_deref() == Some("SubPlan"))
        .unwrap();
    assert_eq!(sub.loops, Some(20.0));
    // The CTE's time is not subtracted twice from the Limit: it keeps a small,
    // non-negative share, and the CTE's own work shows on the CTE.
    assert!(t.root.self_ms.unwrap() < 0.1);
    assert!(cte.self_ms.unwrap() > 0.5);
    // The top-N Sort under the Limit returns 20 of 517 estimated rows: expected.
    assert!(all_flags(&t).is_empty(), "{:?}", all_flags(&t));
    let out = render(&t);
    assert!(out.contains("├─ CTE per_customer: HashAggregate"), "{out}");
    assert!(out.contains("└─ SubPlan 2: Aggregate"), "{out}");
}

#[test]
fn pg_anti_join_and_append() {
    let t = pg("anti_join_union.analyze");
    assert_eq!(t.root.node, "Append");
    assert!(
        t.root
            .children
            .iter()
            .all(|c| c.parent_relationship.as_deref() == Some("Member"))
    );
    assert_eq!(t.root.children[0].label, "Hash Anti Join");
    assert!(all_flags(&t).is_empty());
}

#[test]
fn pg_window_function() {
    let t = pg("window_function.analyze");
    assert_eq!(labels(&t), ["WindowAgg", "Sort", "Seq Scan"]);
    assert!(all_flags(&t).is_empty());
}

#[test]
fn pg_every_option_verbose_settings_wal() {
    let t = pg("verbose_settings_wal.analyze");
    assert_eq!(t.settings, ["work_mem = 1MB"]);
    let sort = find(&t, "Sort");
    assert!(sort.flags.is_empty(), "per-worker sorts were in memory");
    let b = t.root.buffers.as_ref().unwrap();
    assert!(b.io_read_ms.is_some() && b.shared_hit.is_some());
    assert_eq!(
        all_flags(&t),
        [("Seq Scan".to_string(), "seq_scan_on_big_table")]
    );
}

#[test]
fn pg_jit_block() {
    let t = pg("jit.analyze");
    assert!(t.jit_ms.unwrap() > 0.0);
    assert!(render(&t).lines().next().unwrap().contains("JIT "));
    assert!(
        pg("jit.plain").jit_ms.is_none(),
        "plain EXPLAIN has no JIT timing"
    );
}

#[test]
fn pg_update_is_explained_not_analyzed() {
    let t = pg("update_plain.plain");
    assert!(!t.analyzed);
    assert_eq!(
        (t.root.node.as_str(), t.root.label.as_str()),
        ("ModifyTable", "Update")
    );
    assert_eq!(t.root.relation.as_deref(), Some("shop_order"));
    assert_eq!(t.root.children[0].node, "Bitmap Heap Scan");
}

// ---------------------------------------------------------------- MariaDB

#[test]
fn maria_full_scan() {
    let t = maria("full_scan.analyze");
    assert!(t.analyzed);
    assert!(t.planning_ms.is_some() && t.execution_ms.is_some());
    assert_eq!(t.root.node, "query_block");
    let scan = &t.root.children[0];
    assert_eq!(
        (scan.node.as_str(), scan.label.as_str()),
        ("ALL", "Full scan (ALL)")
    );
    assert_eq!(scan.relation.as_deref(), Some("reports_dailysales"));
    assert!(scan.full_scan);
    assert!(scan.filter.as_deref().unwrap().contains("revenue"));
    assert_eq!(
        (scan.est_rows_read, scan.actual_rows_read),
        (Some(14_517.0), Some(14_600.0))
    );
    assert_eq!(big_scan(scan), (14_600.0, RowsSource::Measured));
    // 44% kept: neither a misestimate nor a filter discarding most rows.
    assert_eq!(kinds(scan), ["seq_scan_on_big_table"]);
    assert!(scan.self_ms.unwrap() > 0.0);

    let plain = maria("full_scan.explain");
    assert!(!plain.analyzed);
    assert_eq!(
        big_scan(&plain.root.children[0]),
        (14_517.0, RowsSource::Estimated)
    );
}

#[test]
fn maria_index_accesses_carry_no_flags() {
    for (name, access) in [
        ("ref_lookup", "ref"),
        ("const_lookup", "const"),
        ("range_scan", "range"),
    ] {
        for mode in ["explain", "analyze"] {
            let t = maria(&format!("{name}.{mode}"));
            let table = find(&t, access);
            assert_eq!(
                table.relation.as_deref(),
                Some("reports_dailysales"),
                "{name}"
            );
            assert!(table.index.is_some(), "{name}");
            assert!(
                !table.never_executed,
                "{name}: const tables are read while optimizing"
            );
            assert!(
                all_flags(&t).is_empty(),
                "{name}.{mode}: {:?}",
                all_flags(&t)
            );
        }
    }
    let range = maria("range_scan.analyze");
    assert_eq!(
        labels(&range)[..3],
        ["Select #1", "Filesort", "Temporary table"]
    );
    assert!(find(&range, "range").index_cond.is_some());
}

#[test]
fn maria_join_by_ref() {
    let t = maria("join_ref.analyze");
    let nl = find(&t, "nested_loop");
    let [a, b] = &nl.children[..] else {
        panic!("{}", render(&t))
    };
    assert_eq!(
        (a.node.as_str(), a.relation.as_deref()),
        ("range", Some("a"))
    );
    assert_eq!((b.node.as_str(), b.relation.as_deref()), ("ref", Some("b")));
    assert_eq!(b.loops, Some(199.0));
    assert!(b.details.iter().any(|d| d == "ref: shop_reports.a.day"));
    assert!(all_flags(&t).is_empty());
    // Table times are MariaDB totals over the loops.
    assert!(b.total_ms.unwrap() > a.total_ms.unwrap());
}

#[test]
fn maria_join_buffer() {
    let t = maria("join_buffer.analyze");
    let nl = find(&t, "nested_loop");
    assert_eq!(nl.children.len(), 2);
    let bnl = &nl.children[1];
    assert_eq!(
        (bnl.node.as_str(), bnl.label.as_str()),
        ("block-nl-join", "Block nested loop (BNL)")
    );
    assert!(
        bnl.filter
            .as_deref()
            .unwrap()
            .contains("d.category = m.app")
    );
    assert!(
        bnl.details
            .iter()
            .any(|d| d.starts_with("join buffer: flat"))
    );
    assert!(
        bnl.self_ms.unwrap() > 1.0,
        "unpacking the buffer is the join's work"
    );
    assert_eq!(bnl.children[0].relation.as_deref(), Some("d"));
    assert_eq!(
        all_flags(&t),
        [("ALL".to_string(), "seq_scan_on_big_table")]
    );
}

#[test]
fn maria_group_by_with_temporary_and_filesort() {
    let t = maria("group_filesort.analyze");
    assert_eq!(
        labels(&t),
        [
            "Select #1",
            "Filesort",
            "Temporary table",
            "Full scan (ALL)"
        ]
    );
    let fs = find(&t, "filesort");
    assert_eq!(fs.actual_rows, Some(40.0));
    assert!(fs.details.iter().any(|d| d.starts_with("sort key: sum(")));
    assert!(fs.flags.is_empty(), "no sort passes: in memory");
    assert_eq!(
        all_flags(&t),
        [("ALL".to_string(), "seq_scan_on_big_table")]
    );
}

#[test]
fn maria_filesort_with_merge_passes_spills() {
    let t = maria("sort_spill.analyze");
    let fs = find(&t, "filesort");
    assert_eq!(spill(fs), ("filesort".to_string(), None));
    assert!(fs.details.iter().any(|d| d == "sort passes: 4"));
    assert_eq!(find(&t, "read_sorted_file").actual_rows, Some(14_600.0));
}

#[test]
fn maria_subqueries() {
    let t = maria("subquery.analyze");
    let subs: Vec<_> = t
        .root
        .children
        .iter()
        .filter(|c| c.parent_relationship.as_deref() == Some("subquery"))
        .collect();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].label, "Select #3");
    assert_eq!(subs[0].children[0].label, "Select tables optimized away");
    assert_eq!(subs[1].node, "expression_cache");
    assert!(subs[1].details.iter().any(|d| d.starts_with("hit ratio")));
    let x = find_rel(&t, "ref", "x");
    assert_eq!(x.loops, Some(40.0));
    assert_eq!(x.actual_rows, Some(19.5), "r_rows 40 × r_filtered 48.75%");
    assert!(all_flags(&t).is_empty());
}

#[test]
fn maria_derived_table_and_union() {
    let t = maria("derived_union.analyze");
    let union = find(&t, "union_result");
    assert_eq!(union.relation.as_deref(), Some("<union1,3>"));
    assert_eq!(union.actual_rows, Some(6.0));
    assert_eq!(union.children.len(), 2);
    assert!(
        union
            .children
            .iter()
            .all(|c| c.parent_relationship.as_deref() == Some("union member"))
    );
    assert_eq!(union.children[1].label, "UNION select #3");
    let derived = find_rel(&t, "ALL", "<derived2>");
    assert_eq!(
        derived.children[0].parent_relationship.as_deref(),
        Some("materialized")
    );
    // A temporary table is not a big table on disk.
    assert!(!kinds(derived).contains(&"seq_scan_on_big_table"));
    assert_eq!(
        kinds(find_rel(&t, "ALL", "reports_dailysales")),
        ["seq_scan_on_big_table"]
    );
}

#[test]
fn maria_cte_derived_estimate_is_a_misestimate() {
    let t = maria("cte.analyze");
    // MariaDB estimates the grouped derived table at the base table's size.
    let derived = find_rel(&t, "ALL", "<derived2>");
    assert!(!derived.may_stop_early, "a filesort reads everything");
    let (factor, est, act) = misestimate(derived);
    assert_eq!((est, act), (14_517.0, 365.0));
    assert!(factor > 39.0);
    assert!(
        find_rel(&t, "ref", "<derived3>").children[0]
            .label
            .starts_with("Select #3")
    );
}

#[test]
fn maria_limit_stops_a_full_scan_early_without_flags() {
    let t = maria("limit_scan.analyze");
    let scan = find(&t, "ALL");
    assert!(scan.may_stop_early);
    assert!(all_flags(&t).is_empty(), "{:?}", all_flags(&t));
    assert_eq!(
        kinds(find(&maria("limit_scan.explain"), "ALL")),
        ["seq_scan_on_big_table"]
    );
}

#[test]
fn maria_misestimated_condition() {
    let t = maria("misestimate.analyze");
    let table = find(&t, "ref");
    let (factor, est, act) = misestimate(table);
    assert_eq!((factor, est, act), (40.0, 40.0, 0.0));
    assert!(
        maria("misestimate.explain")
            .nodes()
            .iter()
            .all(|n| n.flags.is_empty())
    );
}

#[test]
fn maria_semijoin_materialization() {
    let t = maria("semijoin_materialized.analyze");
    let sub = find_rel(&t, "eq_ref", "<subquery2>");
    assert_eq!(sub.loops, Some(14_600.0));
    assert_eq!(
        sub.children[0].parent_relationship.as_deref(),
        Some("materialized")
    );
    assert_eq!(
        find_rel(&t, "ALL", "django_migrations").est_rows_read,
        Some(26.0)
    );
}

#[test]
fn maria_impossible_where_reads_nothing() {
    let t = maria("impossible_where.analyze");
    assert!(t.analyzed, "ANALYZE ran, even though no table was read");
    assert_eq!(t.root.children[0].label, "Impossible WHERE");
    assert!(all_flags(&t).is_empty());
}

// ---------------------------------------------------------------- MySQL

#[test]
fn mysql_v1_grouping_and_hash_join_buffer() {
    let t = mysql("v1_group_hash_join");
    assert_eq!(t.format, PlanFormat::QueryBlock);
    assert_eq!(t.root.cost, Some(39_371.5));
    assert_eq!(
        labels(&t)[1..4],
        [
            "Ordering (filesort)",
            "Grouping (temporary table)",
            "Nested loop"
        ]
    );
    let d = find_rel(&t, "ALL", "d");
    assert_eq!(d.est_rows_read, Some(14_517.0));
    assert!(
        (d.est_rows.unwrap() - 483.4).abs() < 0.1,
        "rows × filtered ('3.33' is a string)"
    );
    assert!((d.cost.unwrap() - 2874.57).abs() < 1e-6);
    assert!(d.details.iter().any(|x| x == "join buffer: hash join"));
    assert_eq!(big_scan(d), (14_517.0, RowsSource::Estimated));
    assert!(find_rel(&t, "ALL", "m").flags.is_empty());
}

#[test]
fn mysql_v1_union_and_attached_subquery() {
    let t = mysql("v1_subqueries");
    let union = find(&t, "union_result");
    assert_eq!(union.children.len(), 2);
    let attached = find(&t, "ref").children.first().unwrap();
    assert_eq!(
        attached.parent_relationship.as_deref(),
        Some("attached subquery")
    );
    assert!(
        attached
            .details
            .iter()
            .any(|d| d == "Select tables optimized away")
    );
    assert!(all_flags(&t).is_empty());
}

#[test]
fn mysql_v2_explain() {
    let t = mysql("v2_explain");
    assert_eq!(t.format, PlanFormat::MysqlIterators);
    assert!(!t.analyzed);
    assert_eq!(t.root.node, "limit");
    let scan = find(&t, "table");
    assert!(scan.full_scan);
    assert_eq!(scan.relation.as_deref(), Some("reports_dailysales"));
    assert_eq!(big_scan(scan), (14_517.0, RowsSource::Estimated));
    assert!(
        find(&t, "filter")
            .filter
            .as_deref()
            .unwrap()
            .contains("revenue")
    );
    let out = render(&t);
    assert!(
        out.contains("Table scan on reports_dailysales  rows est 14,517"),
        "no doubled 'on': {out}"
    );
}

#[test]
fn mysql_v2_explain_analyze() {
    let t = mysql("v2_analyze");
    assert!(t.analyzed);
    assert_eq!(t.root.total_ms, Some(12.765));
    let join = find(&t, "join");
    assert!(
        join.join_cond
            .as_deref()
            .unwrap()
            .contains("m.app = d.category")
    );
    let (factor, _, act) = misestimate(join);
    assert_eq!(act, 0.0);
    assert!(factor > 30_000.0);
    let d = find_rel(&t, "table", "reports_dailysales");
    assert_eq!(d.alias.as_deref(), Some("d"));
    assert_eq!(big_scan(d), (14_600.0, RowsSource::Measured));
    assert_eq!(find(&t, "unknown").label, "Hash");
    // The internal temporary table is not a big table.
    assert!(!kinds(&t.root).contains(&"seq_scan_on_big_table"));
}

// ---------------------------------------------------------------- edges

#[test]
fn malformed_input_is_a_typed_error() {
    for engine in [Engine::Postgresql, Engine::Mariadb, Engine::Mysql] {
        assert_eq!(parse(engine, ""), Err(ExplainError::Empty));
        assert_eq!(parse(engine, " \n\t"), Err(ExplainError::Empty));
        assert!(matches!(
            parse(engine, "QUERY PLAN\n---"),
            Err(ExplainError::Json { line: 1, .. })
        ));
        assert!(matches!(
            parse(engine, "[{\"Plan\": "),
            Err(ExplainError::Json { .. })
        ));
        for not_plan in [
            "{}",
            "[]",
            "[1]",
            "42",
            "null",
            "\"{}\"",
            "{\"Plan\": 5}",
            "{\"query_block\": []}",
        ] {
            assert!(
                matches!(parse(engine, not_plan), Err(ExplainError::NotAPlan { .. })),
                "{engine:?} {not_plan}: {:?}",
                parse(engine, not_plan)
            );
        }
    }
    // The wrong engine's JSON says what was expected.
    let err = parse(
        Engine::Postgresql,
        &fixture("mariadb/full_scan.analyze.json"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the JSON is not PostgreSQL EXPLAIN output: no \"Plan\" member"
    );
    assert!(parse(Engine::Mariadb, &fixture("pg/index_scan.plain.json")).is_err());
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let mut plan = String::from("{\"Node Type\": \"Result\"}");
    for _ in 0..5_000 {
        plan = format!("{{\"Node Type\": \"Result\", \"Plans\": [{plan}]}}");
    }
    assert!(parse(Engine::Postgresql, &plan).is_err());
    let mut block = String::from("{}");
    for _ in 0..5_000 {
        block = format!("{{\"query_block\": {block}}}");
    }
    assert!(parse(Engine::Mariadb, &block).is_err());
}

#[test]
fn lenient_shapes() {
    // The Plan object alone, without the array; a node without a type.
    let t = parse(
        Engine::Postgresql,
        r#"{"Node Type": "Seq Scan", "Relation Name": "t", "Plans": [{}]}"#,
    )
    .unwrap();
    assert_eq!(t.root.relation.as_deref(), Some("t"));
    assert_eq!(t.root.children[0].node, "Unknown");
    // JSON encoded once more as a string (a driver returning text of a json column).
    let inner = fixture("pg/index_scan.plain.json");
    let twice = serde_json::to_string(&inner).unwrap();
    assert_eq!(
        parse(Engine::Postgresql, &twice).unwrap().root.node,
        "Index Scan"
    );
    // A one-row result as an array; numbers as strings.
    let t = parse(Engine::Mariadb, r#"[{"query_block": {"select_id": "1", "table": {"table_name": "t", "access_type": "ALL", "rows": "20000"}}}]"#).unwrap();
    assert_eq!(t.root.label, "Select #1");
    assert_eq!(kinds(&t.root.children[0]), ["seq_scan_on_big_table"]);
    // Unknown MariaDB structures are searched for the tables inside them.
    let t = parse(Engine::Mariadb, r#"{"query_block": {"select_id": 1, "some_future_thing": {"x": [{"table": {"table_name": "inner", "access_type": "ref", "rows": 3}}]}}}"#).unwrap();
    assert_eq!(t.root.children[0].relation.as_deref(), Some("inner"));
}

#[test]
fn odd_numbers_never_panic() {
    let json = json!([{"Plan": {
        "Node Type": "Seq Scan", "Plan Rows": -5, "Total Cost": 1e308, "Actual Rows": 1e308,
        "Actual Loops": 1e308, "Actual Total Time": 1e308, "Rows Removed by Filter": 1e308,
        "Plans": [{"Node Type": "Gather", "Actual Loops": 0, "Workers Planned": -3,
                   "Plans": [{"Node Type": "Seq Scan", "Actual Loops": 1e308, "Actual Total Time": -1}]}]
    }, "Planning Time": "soon"}]);
    let t = parse(Engine::Postgresql, &json.to_string()).unwrap();
    let _ = render(&t);
    let _ = serde_json::to_string(&t).unwrap();
    assert!(t.nodes().iter().all(|n| n.self_ms.is_none_or(|s| s >= 0.0)));
}

#[test]
fn misestimate_guards_zeros_and_bitmap_nodes() {
    let node = |est: f64, act: f64, ty: &str| {
        let json = json!([{"Plan": {"Node Type": ty, "Plan Rows": est, "Actual Rows": act, "Actual Loops": 1, "Actual Total Time": 1.0}}]);
        parse(Engine::Postgresql, &json.to_string())
            .unwrap()
            .root
            .flags
    };
    assert!(node(0.0, 0.0, "Result").is_empty());
    assert!(node(1.0, 0.0, "Result").is_empty());
    assert!(node(9.0, 0.0, "Result").is_empty());
    assert_eq!(
        node(10.0, 0.0, "Result"),
        [Flag::Misestimate {
            factor: 10.0,
            estimated: 10.0,
            actual: 0.0
        }]
    );
    assert_eq!(
        node(0.0, 12.0, "Result"),
        [Flag::Misestimate {
            factor: 12.0,
            estimated: 0.0,
            actual: 12.0
        }]
    );
    assert!(
        node(1000.0, 0.0, "BitmapAnd").is_empty(),
        "PostgreSQL does not count them"
    );
    assert!(node(1.0, 9.9, "Result").is_empty());
}

#[test]
fn postgresql_text_format_labels() {
    let label = |plan: serde_json::Value| {
        parse(Engine::Postgresql, &json!([{"Plan": plan}]).to_string())
            .unwrap()
            .root
            .label
    };
    assert_eq!(
        label(json!({"Node Type": "Nested Loop", "Join Type": "Left"})),
        "Nested Loop Left Join"
    );
    assert_eq!(
        label(json!({"Node Type": "Hash Join", "Join Type": "Right Anti"})),
        "Hash Right Anti Join"
    );
    assert_eq!(
        label(json!({"Node Type": "Merge Join", "Join Type": "Full"})),
        "Merge Full Join"
    );
    assert_eq!(
        label(json!({"Node Type": "Index Scan", "Scan Direction": "Backward"})),
        "Index Scan Backward"
    );
    assert_eq!(
        label(json!({"Node Type": "SetOp", "Strategy": "Hashed", "Command": "Except"})),
        "HashSetOp Except"
    );
    assert_eq!(
        label(json!({"Node Type": "Aggregate", "Strategy": "Sorted", "Partial Mode": "Partial"})),
        "Partial GroupAggregate"
    );
    assert_eq!(
        label(json!({"Node Type": "Aggregate", "Strategy": "Mixed"})),
        "MixedAggregate"
    );
    assert_eq!(
        label(json!({"Node Type": "Foreign Scan", "Async Capable": true})),
        "Async Foreign Scan"
    );
    assert_eq!(
        label(json!({"Node Type": "Custom Scan", "Custom Plan Provider": "Columnar"})),
        "Custom Scan (Columnar)"
    );
    assert_eq!(
        label(json!({"Node Type": "ModifyTable", "Operation": "Delete"})),
        "Delete"
    );
}

#[test]
fn postgresql_17_shapes() {
    // PostgreSQL 17: InitPlans are named without "(returns $n)" and referenced as
    // (InitPlan 1).col1; I/O times are split; SERIALIZE adds a block; WindowAgg
    // reports its storage.
    let json = json!([{
        "Plan": {
            "Node Type": "WindowAgg", "Plan Rows": 10, "Total Cost": 5.0,
            "Actual Rows": 10, "Actual Loops": 1, "Actual Total Time": 10.0,
            "Storage": "Disk", "Maximum Storage": 2048,
            "Shared Hit Blocks": 3, "Shared I/O Read Time": 0.5, "Local I/O Read Time": 0.25,
            "Plans": [
                {"Node Type": "Result", "Parent Relationship": "InitPlan", "Subplan Name": "InitPlan 1",
                 "Plan Rows": 1, "Actual Rows": 1, "Actual Loops": 1, "Actual Total Time": 4.0},
                {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "t",
                 "Filter": "(x > (InitPlan 1).col1)", "Plan Rows": 10, "Actual Rows": 10,
                 "Actual Loops": 1, "Actual Total Time": 9.0}
            ]
        },
        "Serialization": {"Time": 0.1, "Output Volume": 1, "Format": "text"},
        "Planning Time": 0.2, "Execution Time": 10.5
    }]);
    let t = parse(Engine::Postgresql, &json.to_string()).unwrap();
    assert_eq!(spill(&t.root), ("windowagg".to_string(), Some(2048.0)));
    assert_eq!(t.root.buffers.as_ref().unwrap().io_read_ms, Some(0.75));
    // The InitPlan ran inside the scan that uses its value: 9 - 4 = 5 ms there, and
    // the WindowAgg keeps 10 - 9 = 1 ms.
    let scan = &t.root.children[1];
    assert_eq!(scan.self_ms, Some(5.0));
    assert_eq!(t.root.self_ms, Some(1.0));
    assert_eq!(t.root.children[0].self_ms, Some(4.0));
}

#[test]
fn initplan_parameters() {
    assert_eq!(
        pg::initplan_params_for_test("InitPlan 1 (returns $0,$1)"),
        ["$0", "$1"]
    );
    assert_eq!(
        pg::initplan_params_for_test("InitPlan 3 (returns $3)"),
        ["$3"]
    );
    assert_eq!(pg::initplan_params_for_test("InitPlan 2"), ["(InitPlan 2)"]);
    assert!(pg::mentions_for_test("(n > $3)", "$3"));
    assert!(!pg::mentions_for_test("(n > $31)", "$3"));
    assert!(pg::mentions_for_test("($31 = $3)", "$3"));
    assert!(!pg::mentions_for_test(
        "(x > (InitPlan 12).col1)",
        "(InitPlan 1)"
    ));
}

#[test]
fn incremental_and_per_worker_sorts_spill() {
    let inc = json!([{"Plan": {"Node Type": "Incremental Sort", "Plan Rows": 5, "Actual Rows": 5, "Actual Loops": 1,
        "Full-sort Groups": {"Group Count": 1, "Sort Methods Used": ["external merge"],
                             "Sort Space Disk": {"Average Sort Space Used": 100, "Peak Sort Space Used": 120}}}}]);
    let t = parse(Engine::Postgresql, &inc.to_string()).unwrap();
    assert_eq!(
        spill(&t.root),
        ("incremental sort".to_string(), Some(120.0))
    );
    let workers = json!([{"Plan": {"Node Type": "Sort", "Sort Method": "quicksort", "Sort Space Type": "Memory",
        "Workers": [{"Worker Number": 0, "Sort Method": "external merge", "Sort Space Used": 900, "Sort Space Type": "Disk"},
                    {"Worker Number": 1, "Sort Method": "external merge", "Sort Space Used": 950, "Sort Space Type": "Disk"}]}}]);
    let t = parse(Engine::Postgresql, &workers.to_string()).unwrap();
    assert_eq!(spill(&t.root), ("sort".to_string(), Some(950.0)));
}

#[test]
fn triggers_are_kept_and_rendered() {
    let json = json!([{"Plan": {"Node Type": "ModifyTable", "Operation": "Insert", "Relation Name": "t",
        "Plan Rows": 1, "Actual Rows": 0, "Actual Loops": 1, "Actual Total Time": 0.5},
        "Triggers": [{"Trigger Name": "RI_ConstraintTrigger_c_1", "Relation": "t", "Time": 0.25, "Calls": 1}],
        "Execution Time": 0.8}]);
    let t = parse(Engine::Postgresql, &json.to_string()).unwrap();
    assert_eq!(t.triggers.len(), 1);
    let out = render(&t);
    assert!(
        out.ends_with("Trigger RI_ConstraintTrigger_c_1 on t  calls 1  0.250 ms\n"),
        "{out}"
    );
}

#[test]
fn serialized_shape_for_the_cli() {
    let t = pg("seqscan_serial.analyze");
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["engine"], "postgresql");
    assert_eq!(v["format"], "postgresql");
    assert_eq!(v["analyzed"], true);
    assert_eq!(v["root"]["node"], "Seq Scan");
    assert_eq!(v["root"]["relation"], "shop_shipment");
    assert_eq!(
        v["root"]["flags"][0],
        json!({"kind": "seq_scan_on_big_table", "rows": 400000.0, "source": "measured"})
    );
    assert_eq!(v["root"]["flags"][1]["kind"], "filter_discards_most");
    assert!(v["root"].get("may_stop_early").is_none() && v["root"].get("procs").is_none());
    assert_eq!(
        serde_json::to_value(maria("cte.analyze")).unwrap()["format"],
        "query-block"
    );
}

#[test]
fn render_keeps_one_line_per_node() {
    let json =
        json!([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "a\nb", "Filter": "x\ny"}}]);
    let out = render(&parse(Engine::Postgresql, &json.to_string()).unwrap());
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(render::rows(1234567.0), "1,234,567");
    assert_eq!(render::rows(-1234.0), "-1,234");
    assert_eq!(render::rows(19.5), "19.5");
    assert_eq!(render::rows(0.333), "0.33");
    assert_eq!(render::rows(1e300).len(), 301 + 100);
    assert_eq!(render::millis(0.0123), "0.012");
    assert_eq!(render::millis(12.345), "12.35");
    assert_eq!(render::millis(1234.56), "1234.6");
}

// ---------------------------------------------------------------- never panics

/// Any JSON value.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[ -~]{0,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON built from the members the parsers look at, so the walk goes deep.
fn plan_like_json() -> impl Strategy<Value = serde_json::Value> {
    const KEYS: &[&str] = &[
        "Plan",
        "Plans",
        "Node Type",
        "Parent Relationship",
        "Subplan Name",
        "Relation Name",
        "CTE Name",
        "Plan Rows",
        "Actual Rows",
        "Actual Loops",
        "Actual Total Time",
        "Rows Removed by Filter",
        "Workers Planned",
        "Sort Space Type",
        "Hash Batches",
        "Disk Usage",
        "Workers",
        "Filter",
        "Strategy",
        "Join Type",
        "Parallel Aware",
        "query_block",
        "nested_loop",
        "table",
        "table_name",
        "access_type",
        "rows",
        "r_rows",
        "r_loops",
        "filtered",
        "r_filtered",
        "r_total_time_ms",
        "r_table_time_ms",
        "filesort",
        "temporary_table",
        "union_result",
        "query_specifications",
        "subqueries",
        "materialized",
        "block-nl-join",
        "expression_cache",
        "read_sorted_file",
        "r_sort_passes",
        "query_plan",
        "inputs",
        "operation",
        "estimated_rows",
        "actual_rows",
        "actual_loops",
        "actual_last_row_ms",
        "heading",
    ];
    const WORDS: &[&str] = &[
        "Seq Scan",
        "Gather",
        "Gather Merge",
        "Limit",
        "CTE Scan",
        "InitPlan",
        "SubPlan",
        "InitPlan 1 (returns $0)",
        "CTE x",
        "Disk",
        "ALL",
        "ref",
        "table",
        "limit",
        "sort",
        "$0",
        "Hashed",
        "Semi",
        "Inner",
        "Merge Join",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-3i64..100_000).prop_map(serde_json::Value::from),
        (-1.0e6f64..1.0e6).prop_map(serde_json::Value::from),
        prop::sample::select(WORDS).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(8, 128, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..7).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn never_panics(text: &str) {
    for engine in [Engine::Postgresql, Engine::Mariadb, Engine::Mysql] {
        if let Ok(mut tree) = parse(engine, text) {
            let _ = render(&tree);
            let _ = serde_json::to_string(&tree).unwrap();
            tree.set_table_rows(|_| Some(1e6));
            for n in tree.nodes() {
                assert!(n.time_share.is_none_or(|s| (0.0..=1.0).contains(&s)));
                assert!(n.self_ms.is_none_or(|s| s >= 0.0));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_json(v in any_json()) {
        never_panics(&v.to_string());
    }

    #[test]
    fn never_panics_on_plan_like_json(v in plan_like_json()) {
        never_panics(&v.to_string());
        never_panics(&serde_json::json!([v]).to_string());
        never_panics(&serde_json::json!({"query_block": v}).to_string());
        never_panics(&serde_json::json!({"Plan": v}).to_string());
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        never_panics(&s);
    }

    /// A real plan with one value (a number, a name, a whole subtree) replaced by
    /// anything: deep in the structure, where the walkers trust the shape most.
    #[test]
    fn never_panics_on_mutated_fixtures(which in 0usize..80, at in 0usize..400, v in any_json()) {
        let all = every_fixture();
        let (_, path) = &all[which % all.len()];
        let Ok(mut tree) = serde_json::from_str::<serde_json::Value>(&fixture(path)) else {
            return Ok(());
        };
        fn replace(node: &mut serde_json::Value, at: &mut usize, v: &serde_json::Value) -> bool {
            if *at == 0 {
                *node = v.clone();
                return true;
            }
            *at -= 1;
            match node {
                serde_json::Value::Array(items) => items.iter_mut().any(|i| replace(i, at, v)),
                serde_json::Value::Object(map) => map.values_mut().any(|i| replace(i, at, v)),
                _ => false,
            }
        }
        let mut at = at;
        replace(&mut tree, &mut at, &v);
        never_panics(&tree.to_string());
    }

    #[test]
    fn never_panics_on_cut_fixtures(cut in 0usize..20_000, which in 0usize..80) {
        let all = every_fixture();
        let (_, path) = &all[which % all.len()];
        let text = fixture(path);
        let mut end = cut.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        never_panics(&text[..end]);
    }
}
