//! `opsctl digest` end to end on the real binary, over logs captured from real servers.

use std::io::Write;

use assert_cmd::Command;
use predicates::prelude::*;

const MARIADB: &str = "tests/fixtures/sql/mariadb-10.11-slow.log";
const PG_DEBIAN: &str = "tests/fixtures/sql/pg15-debian-prefix.log";
const PG_JSON: &str = "tests/fixtures/sql/pg15-jsonlog.json";

fn opsctl() -> Command {
    Command::cargo_bin("opsctl").unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = opsctl()
        .arg("digest")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn text_profile_names_the_top_class() {
    opsctl()
        .args(["digest", MARIADB, "--limit", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("# Profile"))
        .stdout(predicate::str::contains("select sleep(?)"))
        .stdout(predicate::str::contains("(showing 5 of"));
}

#[test]
fn json_report_has_seconds_and_examples() {
    let v = json(&[MARIADB, "--limit", "3"]);
    let classes = v["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    let total: f64 = classes.iter().map(|c| c["total_s"].as_f64().unwrap()).sum();
    assert!(total <= v["total_s"].as_f64().unwrap() + 1e-9);
    for c in classes {
        assert!(c["id"].as_str().unwrap().starts_with("0x"));
        assert!(c["example"].is_string() && c["rows_examined"].is_u64() && c["p95_s"].is_f64());
    }
    assert_eq!(v["unparsed"], 0);
    assert!(v["events"].as_u64().unwrap() > 500);
}

#[test]
fn gzip_and_stdin_give_the_same_digest_as_the_plain_file() {
    let plain = json(&[MARIADB, "--limit", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("slow.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(MARIADB).unwrap()).unwrap();
    enc.finish().unwrap();
    let from_gz = json(&[gz.to_str().unwrap(), "--limit", "0"]);
    assert_eq!(plain["classes"], from_gz["classes"]);
    let out = opsctl()
        .args(["digest", "--json", "--limit", "0", "-"])
        .pipe_stdin(MARIADB)
        .unwrap()
        .output()
        .unwrap();
    assert!(out.status.success());
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plain["classes"], from_stdin["classes"]);
}

#[test]
fn markdown_for_incident_documents() {
    opsctl()
        .args([
            "digest",
            PG_DEBIAN,
            "--format",
            "markdown",
            "--limit",
            "4",
            "--details",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("## Slow-query digest"))
        .stdout(predicate::str::contains("| Rank | Query ID |"))
        .stdout(predicate::str::contains("```sql"));
}

#[test]
fn filters_and_order() {
    let all = json(&[PG_JSON, "--limit", "0"]);
    let by_count = json(&[PG_JSON, "--order-by", "count", "--limit", "0"]);
    let counts: Vec<u64> = by_count["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]));
    let none = json(&[PG_JSON, "--database", "no_such_db"]);
    assert_eq!(none["events"], 0);
    assert_eq!(none["filtered_out"], all["events"]);
    let future = json(&[PG_JSON, "--since", "2100-01-01"]);
    assert_eq!(future["events"], 0);
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    opsctl()
        .args(["digest", "/nonexistent/slow.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot open /nonexistent/slow.log",
        ));
    opsctl()
        .args(["digest", MARIADB, "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--since"));
    opsctl()
        .args(["digest", "--prefix", "%-10u ", PG_DEBIAN])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--prefix"));
    opsctl()
        .args(["digest", "-"])
        .write_stdin("just some text\nthat is no log\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--log-format"));
}

#[test]
fn damaged_input_is_reported_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.log");
    let data = std::fs::read(MARIADB).unwrap();
    let mut bad = b"not a log line\n".to_vec();
    bad.extend_from_slice(&data[..data.len() - 25]);
    std::fs::write(&path, bad).unwrap();
    let v = json(&[path.to_str().unwrap()]);
    assert_eq!(v["unparsed"], 1);
    assert_eq!(v["truncated"], 1);
    assert_eq!(v["issues"][0]["line"], 1);
    assert!(
        v["issues"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("bad.log")
    );
}
