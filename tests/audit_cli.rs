//! `opsctl audit` end to end on the real binary, over logs written by the
//! library's `AuditLog` (or by hand, for what the library never writes).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use opsctl::ops::{AuditLog, AuditRecord, Outcome};
use predicates::prelude::*;

/// The binary with its state (the audit log) and config under `dir`, and no
/// profile: the embedded default.
fn opsctl(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.current_dir(dir)
        .env_remove("OPSCTL_PROFILE")
        .env_remove("OPSCTL_LOG")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .arg("audit");
    cmd
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("state/opsctl/audit.jsonl")
}

fn record(at: &str, outcome: Outcome, detail: &str) -> AuditRecord {
    AuditRecord {
        at: at.into(),
        who: "ana@ops1".into(),
        profile: "shop".into(),
        environment: "production".into(),
        change: "query.cancel".into(),
        target: "shop: pid 4107".into(),
        outcome,
        detail: detail.into(),
        plan_id: format!("plan-{detail}"),
        steps: vec!["db1: SELECT pg_cancel_backend(4107)".into()],
        duration_ms: 12.5,
        output_tail: "t".into(),
    }
}

fn rfc3339(ago_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(ago_secs);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn write(dir: &Path, records: &[AuditRecord]) {
    let log = AuditLog::at(log_path(dir));
    for r in records {
        log.append(r).unwrap();
    }
}

fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn details(v: &serde_json::Value) -> Vec<String> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["detail"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn json_has_the_contract_fields_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            record("2026-12-01T10:00:00Z", Outcome::Ok, "first"),
            record("2026-12-01T12:00:00Z", Outcome::RolledBack, "third"),
            // Written late (a clock step, a merged log): still in time order.
            record("2026-12-01T11:00:00Z", Outcome::Refused, "second"),
        ],
    );
    let v = json(&mut opsctl(dir.path()));
    assert_eq!(details(&v), ["first", "second", "third"]);
    let obj = v.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["records"]);
    let r = &v["records"][2];
    for key in [
        "at",
        "who",
        "profile",
        "environment",
        "change",
        "target",
        "outcome",
        "detail",
    ] {
        assert!(r[key].is_string(), "{key} in {r}");
    }
    assert_eq!(r["at"], "2026-12-01T12:00:00Z");
    assert_eq!(r["outcome"], "rolled-back");
    assert_eq!(v["records"][1]["outcome"], "refused");
    assert_eq!(r["plan_id"], "plan-third");
    assert_eq!(r["steps"][0], "db1: SELECT pg_cancel_backend(4107)");
    assert_eq!(r["duration_ms"], 12.5);
}

#[test]
fn text_is_a_table_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            record(
                "2026-12-01T10:00:00Z",
                Outcome::Failed,
                "connection refused",
            ),
            record("2026-12-01T11:00:00Z", Outcome::Ok, "cancelled"),
        ],
    );
    let out = opsctl(dir.path()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (h, col) in ["AT", "WHO", "ENV", "CHANGE", "TARGET", "OUTCOME", "DETAIL"]
        .iter()
        .zip(0..)
    {
        assert!(lines[0].contains(h), "column {col} {h}: {text}");
    }
    assert!(lines[1].starts_with("2026-12-01 10:00:00Z"), "{text}");
    assert!(lines[1].contains("failed") && lines[1].ends_with("connection refused"));
    assert!(lines[2].contains("production") && lines[2].ends_with("cancelled"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn since_takes_spans_dates_and_times() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            record(&rfc3339(3 * 86_400), Outcome::Ok, "3d"),
            record(&rfc3339(3 * 3600), Outcome::Ok, "3h"),
            record(&rfc3339(3600), Outcome::Ok, "1h"),
            record(&rfc3339(600), Outcome::Ok, "10m"),
        ],
    );
    let since = |v: &str| details(&json(opsctl(dir.path()).args(["--since", v])));
    assert_eq!(since("30m"), ["10m"]);
    assert_eq!(since("2h"), ["1h", "10m"]);
    assert_eq!(since("7d"), ["3d", "3h", "1h", "10m"]);
    assert_eq!(since("2000-01-01"), ["3d", "3h", "1h", "10m"]);
    assert!(since("2999-01-01").is_empty());
    assert_eq!(since(&rfc3339(2 * 3600)), ["1h", "10m"]);
    // Text output: the same filter.
    opsctl(dir.path())
        .args(["--since", "30m"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10m").and(predicate::str::contains(" 1h").not()));
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[record("2026-12-01T10:00:00Z", Outcome::Ok, "x")],
    );
    for bad in ["yesterday", "5y", "2026-13-01", "-2h"] {
        opsctl(dir.path())
            .arg(format!("--since={bad}"))
            .arg("--json")
            .assert()
            .code(2)
            .stdout("")
            .stderr(
                predicate::str::contains(format!("--since \"{bad}\""))
                    .and(predicate::str::contains("30m, 2h, 7d")),
            );
    }
}

#[test]
fn no_log_yet_is_an_empty_list_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path()).display().to_string();
    opsctl(dir.path())
        .arg("--json")
        .assert()
        .success()
        .stdout("{\"records\":[]}\n")
        .stderr(predicate::str::contains(path.as_str()));
    opsctl(dir.path()).assert().success().stdout("").stderr(
        predicate::str::contains("no change recorded yet")
            .and(predicate::str::contains(path.as_str())),
    );
    assert!(!log_path(dir.path()).exists(), "reading creates nothing");
}

#[test]
fn lines_that_are_not_records_are_named_and_the_rest_shown() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[record("2026-12-01T10:00:00Z", Outcome::Ok, "good one")],
    );
    let path = log_path(dir.path());
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"at\": \"2026-12-01T10:30:00Z\", truncated\n");
    text.push_str("not json at all\n");
    std::fs::write(&path, &text).unwrap();
    write(
        dir.path(),
        &[record("2026-12-01T11:00:00Z", Outcome::Ok, "good two")],
    );
    let out = opsctl(dir.path()).arg("--json").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(details(&v), ["good one", "good two"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("warning"), "{err}");
    assert!(
        err.contains("lines are not a record, left out: 2, 3"),
        "{err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn secrets_in_a_record_are_scrubbed_in_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Written by hand: the library scrubs what it writes, an older version or
    // another tool may not have.
    let mut r = record(
        "2026-12-01T10:00:00Z",
        Outcome::Failed,
        "connecting to postgres://shop:pw-s3cret-77@db1/shop failed",
    );
    r.output_tail = "retry https://deploy:tok-s3cret-88@git.example/shop.git".into();
    std::fs::write(&path, format!("{}\n", serde_json::to_string(&r).unwrap())).unwrap();
    for json in [false, true] {
        let mut cmd = opsctl(dir.path());
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("postgres://shop:***@db1/shop"), "{text}");
        assert!(
            !text.contains("pw-s3cret-77") && !text.contains("tok-s3cret-88"),
            "{text}"
        );
    }
}

#[test]
fn a_profile_is_not_needed_nor_loaded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[record("2026-12-01T10:00:00Z", Outcome::Ok, "x")],
    );
    // A profile that does not exist does not stop reading the local log.
    let v = json(opsctl(dir.path()).env("OPSCTL_PROFILE", "no-such-profile"));
    assert_eq!(details(&v), ["x"]);
}
