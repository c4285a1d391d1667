use std::io::Cursor;

use super::*;
use crate::sql::slowlog::time::parse_iso;

const MARIADB: &[u8] = include_bytes!("../../../tests/fixtures/sql/mariadb-10.11-slow.log");
const PG_DEBIAN: &[u8] = include_bytes!("../../../tests/fixtures/sql/pg15-debian-prefix.log");

fn source(data: &'static [u8]) -> Source {
    Source {
        name: "fixture".into(),
        reader: Box::new(Cursor::new(data)),
    }
}

fn digest(data: &'static [u8], opts: &RunOptions, order: OrderBy) -> Digest {
    Digest::build(run(vec![source(data)], opts).unwrap(), order, None)
}

/// Sum of `# Query_time:` values, read independently of the parser.
fn query_time_sum(data: &[u8]) -> (usize, f64) {
    let text = String::from_utf8_lossy(data);
    let times: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# Query_time: "))
        .map(|r| r.split_whitespace().next().unwrap().parse::<f64>().unwrap())
        .collect();
    (times.len(), times.iter().sum())
}

#[test]
fn mariadb_digest_accounts_for_every_event_and_second() {
    let d = digest(MARIADB, &RunOptions::default(), OrderBy::Total);
    let (n, total) = query_time_sum(MARIADB);
    assert_eq!(d.events as usize, n);
    assert_eq!(
        d.classes.iter().map(|c| c.stats.count).sum::<u64>() as usize,
        n
    );
    assert!(
        (d.total_time - total).abs() < 1e-6,
        "{} vs {total}",
        d.total_time
    );
    assert_eq!(d.issues.unparsed, 0);
    // Ranked by total time.
    assert!(
        d.classes
            .windows(2)
            .all(|w| w[0].stats.sum >= w[1].stats.sum)
    );
    // The sleeps dominate this workload; their example is the slowest one.
    let top = &d.classes[0];
    assert!(
        top.fingerprint.starts_with("select sleep(?)"),
        "{}",
        top.fingerprint
    );
    let ex = top.stats.example.as_ref().unwrap();
    assert_eq!(ex.query_time, top.stats.max);
    assert!(ex.text.starts_with("SELECT SLEEP("));
    // IN lists of any length are one class.
    let in_classes = d
        .classes
        .iter()
        .filter(|c| c.fingerprint.contains("`author_id` in(?+)"))
        .count();
    assert_eq!(in_classes, 1);
    for c in &d.classes {
        let s = &c.stats;
        assert!(s.min <= s.mean() + 1e-12 && s.mean() <= s.max + 1e-12);
        let p95 = s.quantile(0.95);
        assert!(p95 <= s.max && p95 >= s.min, "{p95} {s:?}");
    }
}

#[test]
fn threads_and_chunk_sizes_do_not_change_the_digest() {
    let one = RunOptions {
        threads: 1,
        ..RunOptions::default()
    };
    let many = RunOptions {
        threads: 3,
        chunk_size: 4096,
        ..RunOptions::default()
    };
    for data in [MARIADB, PG_DEBIAN] {
        let a = digest(data, &one, OrderBy::Total);
        let b = digest(data, &many, OrderBy::Total);
        assert_eq!(a.events, b.events);
        assert_eq!(a.classes.len(), b.classes.len());
        for (x, y) in a.classes.iter().zip(&b.classes) {
            assert_eq!(x.id, y.id);
            assert_eq!(x.stats.count, y.stats.count);
            assert!((x.stats.sum - y.stats.sum).abs() < 1e-9);
            assert_eq!(x.stats.sketch, y.stats.sketch);
            assert_eq!(
                x.stats.example.as_ref().map(|e| e.line),
                y.stats.example.as_ref().map(|e| e.line)
            );
            assert_eq!(x.stats.databases.sorted(), y.stats.databases.sorted());
        }
    }
}

#[test]
fn order_by_and_limit() {
    let opts = RunOptions::default();
    let d = Digest::build(
        run(vec![source(MARIADB)], &opts).unwrap(),
        OrderBy::Count,
        Some(5),
    );
    assert_eq!(d.classes.len(), 5);
    assert!(d.classes_total > 5);
    assert!(
        d.classes
            .windows(2)
            .all(|w| w[0].stats.count >= w[1].stats.count)
    );
    let d = digest(MARIADB, &opts, OrderBy::Max);
    assert!(
        d.classes
            .windows(2)
            .all(|w| w[0].stats.max >= w[1].stats.max)
    );
    let d = digest(MARIADB, &opts, OrderBy::P95);
    assert!(
        d.classes
            .windows(2)
            .all(|w| w[0].stats.quantile(0.95) >= w[1].stats.quantile(0.95))
    );
}

#[test]
fn filters_by_database_user_and_time() {
    let all = digest(MARIADB, &RunOptions::default(), OrderBy::Total);
    let mut opts = RunOptions::default();
    opts.filter.databases = vec!["digest_other".into()];
    let other = digest(MARIADB, &opts, OrderBy::Total);
    assert!(other.events > 0 && other.events < all.events);
    assert_eq!(other.events + other.filtered_out, all.events);
    assert!(other.classes.iter().all(|c| {
        c.stats
            .databases
            .sorted()
            .iter()
            .all(|(d, _)| d == "digest_other")
    }));

    let mut opts = RunOptions::default();
    opts.filter.users = vec!["nobody".into()];
    assert_eq!(digest(MARIADB, &opts, OrderBy::Total).events, 0);

    // The first server run of the fixture ends before the restart banner's second run.
    let first = all
        .classes
        .iter()
        .filter_map(|c| c.stats.first_seen)
        .min()
        .unwrap();
    let last = all
        .classes
        .iter()
        .filter_map(|c| c.stats.last_seen)
        .max()
        .unwrap();
    assert!(first < last);
    let mid = first + (last - first) / 2;
    let mut early = RunOptions::default();
    early.filter.until = Some(mid);
    let mut late = RunOptions::default();
    late.filter.since = Some(mid);
    let (e, l) = (
        digest(MARIADB, &early, OrderBy::Total),
        digest(MARIADB, &late, OrderBy::Total),
    );
    assert_eq!(e.events + l.events, all.events);
    assert!(e.classes.iter().all(|c| c.stats.last_seen.unwrap() < mid));
    assert!(l.classes.iter().all(|c| c.stats.first_seen.unwrap() >= mid));
    assert!(parse_iso(b"2026-11-22").is_some());
}

#[test]
fn postgres_digest_counts_statements_not_plans_and_fills_parameters() {
    let d = digest(PG_DEBIAN, &RunOptions::default(), OrderBy::Total);
    assert!(d.plans > 0 && !d.plans_as_events);
    assert!(d.counters.protocol_steps > 0);
    let execute = d
        .classes
        .iter()
        .find(|c| {
            c.fingerprint
                .contains("\"blog_comment\".\"post_id\" = ? order by")
        })
        .unwrap();
    let ex = execute.stats.example.as_ref().unwrap();
    assert!(
        !ex.text.contains("$1") && ex.text.contains("= '"),
        "{}",
        ex.text
    );
    // Quoted identifiers keep their text: Django's PostgreSQL SQL stays readable.
    assert!(d.classes.iter().any(|c| {
        c.fingerprint
            .contains("from \"auth_user\" where \"auth_user\".\"id\" = ? limit ?")
    }));
}

#[test]
fn plans_are_the_events_when_no_statement_was_logged() {
    let only_plans: Vec<u8> = String::from_utf8_lossy(PG_DEBIAN)
        .split_inclusive('\n')
        .filter(|l| !l.contains("  statement: ") && !l.contains("  execute "))
        .collect::<String>()
        .into_bytes();
    let data: &'static [u8] = Box::leak(only_plans.into_boxed_slice());
    let d = digest(data, &RunOptions::default(), OrderBy::Total);
    assert!(d.plans_as_events);
    assert_eq!(d.events, d.plans);
    assert!(d.classes[0].fingerprint.contains("pg_sleep"));
}

#[test]
fn reports_render_every_class() {
    let d = Digest::build(
        run(vec![source(MARIADB)], &RunOptions::default()).unwrap(),
        OrderBy::Total,
        Some(10),
    );
    let t = report::text(&d, 3);
    assert_eq!(
        t.lines()
            .filter(|l| l.starts_with("# Query ") && l.contains(": 0x"))
            .count(),
        3
    );
    for c in &d.classes {
        assert!(t.contains(&c.id.to_string()));
    }
    // Counts agree with their noun: the fixture's third class ran once.
    assert_eq!(d.classes[2].stats.count, 1);
    assert!(t.contains("\n# 1 call, "), "{t}");
    assert!(t.contains("\n# 14 calls, "), "{t}");
    let md = report::markdown(&d, 2);
    assert!(md.contains("| Rank | Query ID |") && md.contains("```sql"));
    let j: serde_json::Value = serde_json::from_str(&report::json(&d)).unwrap();
    assert_eq!(j["classes"].as_array().unwrap().len(), 10);
    assert_eq!(j["events"].as_u64().unwrap(), d.events);
    let top = &j["classes"][0];
    assert!((top["total_s"].as_f64().unwrap() - d.classes[0].stats.sum).abs() < 1e-9);
    assert!(
        top["example"]
            .as_str()
            .unwrap()
            .starts_with("SELECT SLEEP(")
    );
}
