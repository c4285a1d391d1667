//! `opsctl queries` against the sandbox's real PostgreSQL and MariaDB (tests/sandbox/up):
//! statements counted after a known workload, a sleeping session seen and
//! cancelled, a lock wait shown with its blocker as the root, the same through an
//! SSH tunnel via db1, EXPLAIN, and every failure with its message (wrong password,
//! missing extension, unreachable server, read-only, production without the typed
//! name), the password never shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

fn sandbox() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sandbox");
    assert!(
        dir.join("env.json").is_file() && dir.join("sandbox.toml").is_file(),
        "the sandbox is not up: run tests/sandbox/up (tests/run does)"
    );
    dir
}

fn env() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(sandbox().join("env.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn var(k: &str) -> String {
    env()
        .get(k)
        .cloned()
        .unwrap_or_else(|| panic!("{k} is not in env.json: is the component up?"))
}

fn profile() -> PathBuf {
    sandbox().join("sandbox.toml")
}

/// A unique word for this test run, so its statements are its own.
fn marker(what: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("opsctl_test_{what}_{}", n % 1_000_000_000)
}

fn opsctl(state: &Path) -> Command {
    let mut c = Command::cargo_bin("opsctl").unwrap();
    c.env_remove("OPSCTL_PROFILE")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .env("XDG_STATE_HOME", state)
        .env("OPSCTL_OPERATOR", "queries-test");
    c
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// psql as the app's user (the monitoring user opsctl connects as is another).
fn psql() -> Std {
    let mut c = Std::new("psql");
    c.env("PGPASSFILE", var("SANDBOX_PGPASSFILE"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(var("SANDBOX_PG_HOST"))
        .arg("-p")
        .arg(var("SANDBOX_PG_PORT"))
        .arg("-U")
        .arg(var("SANDBOX_PG_USER"))
        .arg(var("SANDBOX_PG_DB"));
    c
}

fn psql_run(sql: &str) -> String {
    let out = psql()
        .args(["-At", "-c", sql])
        .output()
        .expect("psql: apt-get install postgresql-client");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A session that stays busy until killed (by the test, or dropped).
struct Busy(Child);

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn psql_background(sql: &str) -> Busy {
    let mut c = psql();
    c.args(["-At", "-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Busy(c.spawn().unwrap())
}

/// MariaDB as the app's user, from a private option file.
fn mariadb(dir: &Path) -> Std {
    let cnf = dir.join("shop.cnf");
    if !cnf.exists() {
        let pw = std::fs::read_to_string(var("SANDBOX_MARIADB_PASSWORD_FILE")).unwrap();
        std::fs::write(
            &cnf,
            format!(
                "[client]\nuser = {}\npassword = {}\nhost = {}\nport = {}\n",
                var("SANDBOX_MARIADB_USER"),
                pw.trim(),
                var("SANDBOX_MARIADB_HOST"),
                var("SANDBOX_MARIADB_PORT")
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut c = Std::new("mariadb");
    c.arg(format!("--defaults-file={}", cnf.display()))
        .arg(var("SANDBOX_MARIADB_DB"));
    c
}

/// Waits (bounded) for `ok` on `opsctl queries --json` of `db`.
fn wait_report(state: &Path, db: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = opsctl(state)
            .args([
                "--profile",
                profile().to_str().unwrap(),
                "queries",
                "--db",
                db,
                "--json",
            ])
            .args(["--limit", "0", "--interval", "0.3"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = json(&out);
        if ok(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {report}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The test's SELECT on its own table (not the CREATE TABLE that made it, which
/// the server counts too and may list first).
fn statement<'a>(report: &'a Value, word: &str) -> Option<&'a Value> {
    report["statements"].as_array().unwrap().iter().find(|s| {
        s["query"].as_str().is_some_and(|q| {
            q.contains(word) && q.trim_start().to_ascii_uppercase().starts_with("SELECT")
        })
    })
}

#[test]
fn postgres_statements_are_counted_and_tagged_with_their_class() {
    let state = tempfile::tempdir().unwrap();
    // pg_stat_statements groups by structure, relations by OID: a new table makes a
    // new class whose text is ours (a column alias alone would not).
    let word = marker("pgcount");
    psql_run(&format!("CREATE TABLE {word} (id int)"));
    for i in 0..7 {
        psql_run(&format!("SELECT count(*) FROM {word} WHERE id > {i}"));
    }
    let report = wait_report(state.path(), "shop", "the statement", |r| {
        statement(r, &word).is_some_and(|s| s["calls"] == 7)
    });
    assert_eq!(report["engine"], "postgresql");
    assert!(
        report["server_version"].as_str().unwrap().starts_with("15"),
        "{report}"
    );
    let s = statement(&report, &word).unwrap();
    // The class id is opsctl's fingerprint's, the same as `opsctl digest` gives.
    let fp = s["fingerprint"].as_str().unwrap();
    assert!(fp.contains("id > ?"), "{fp}");
    assert!(s["id"].as_str().unwrap().starts_with("0x"), "{s}");
    psql_run(&format!("DROP TABLE {word}"));
    assert!(s["queryid"].as_str().unwrap().parse::<i64>().is_ok(), "{s}");
    for key in ["calls_per_s", "total_ms", "mean_ms", "rows", "share"] {
        assert!(s.get(key).is_some(), "{key} in {s}");
    }
    // The activity list is there, and has no session of ours.
    assert!(report["activity"].is_array());
}

#[test]
fn mariadb_digests_are_counted() {
    let state = tempfile::tempdir().unwrap();
    let word = marker("mycount");
    for i in 0..5 {
        let out = mariadb(state.path())
            .args(["-e", &format!("SELECT {i} AS {word}")])
            .output()
            .expect("mariadb client: apt-get install mariadb-client");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = wait_report(state.path(), "reports", "the digest", |r| {
        statement(r, &word).is_some_and(|s| s["calls"] == 5)
    });
    assert_eq!(report["engine"], "mariadb");
    let s = statement(&report, &word).unwrap();
    assert!(
        s["query"].as_str().unwrap().contains('?'),
        "normalized: {s}"
    );
}

#[test]
fn a_sleeping_session_is_seen_then_cancelled_and_audited() {
    let state = tempfile::tempdir().unwrap();
    let word = marker("sleep");
    let busy = psql_background(&format!("SELECT pg_sleep(60), '{word}'"));
    let report = wait_report(state.path(), "shop", "the sleeping session", |r| {
        r["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["query"].as_str().is_some_and(|q| q.contains(&word)))
    });
    let session = report["activity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["query"].as_str().is_some_and(|q| q.contains(&word)))
        .unwrap()
        .clone();
    assert_eq!(session["state"], "active");
    assert_eq!(session["user"], "shop");
    assert!(session["query_age_s"].as_f64().unwrap() >= 0.0);
    let pid = session["pid"].as_i64().unwrap().to_string();
    let p = profile();
    let p = p.to_str().unwrap();

    // --dry-run shows the plan and changes nothing.
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "cancel",
            &pid,
            "--dry-run",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains(&format!("pg_cancel_backend({pid})")),
        "{plan}"
    );
    assert!(plan.contains("dry run"), "{plan}");

    // Read-only refuses, and production needs the name typed.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(profile()).unwrap();
    let ro = dir.path().join("ro.toml");
    std::fs::write(
        &ro,
        text.replacen(
            "environment = \"development\"",
            "environment = \"development\"\nread_only = true",
            1,
        ),
    )
    .unwrap();
    let out = opsctl(state.path())
        .args([
            "--profile",
            ro.to_str().unwrap(),
            "queries",
            "--db",
            "shop",
            "cancel",
            &pid,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    let prod = dir.path().join("prod.toml");
    std::fs::write(
        &prod,
        text.replacen(
            "environment = \"development\"",
            "environment = \"production\"",
            1,
        ),
    )
    .unwrap();
    for extra in [&["--yes"][..], &["--confirm", "staging"]] {
        let out = opsctl(state.path())
            .args([
                "--profile",
                prod.to_str().unwrap(),
                "queries",
                "--db",
                "shop",
                "cancel",
                &pid,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("production"),
            "{extra:?}"
        );
    }
    let still = psql_run(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid} AND state = 'active'"
    ));
    assert_eq!(still, "1", "the refused cancels did nothing");

    // The real thing, confirmed as production requires.
    let out = opsctl(state.path())
        .args([
            "--profile",
            prod.to_str().unwrap(),
            "queries",
            "--db",
            "shop",
            "cancel",
            &pid,
        ])
        .args(["--confirm", "production"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut busy = busy;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = busy.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the cancelled psql did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "psql saw its query cancelled");
    let mut err = String::new();
    use std::io::Read;
    busy.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("canceling statement due to user request"),
        "{err}"
    );

    // Four records: refused (read-only), refused, refused, ok.
    let audit = std::fs::read_to_string(state.path().join("opsctl/audit.jsonl")).unwrap();
    let records: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["refused", "refused", "refused", "ok"], "{audit}");
    assert!(
        records
            .iter()
            .all(|r| r["change"] == "query.cancel" && r["who"] == "queries-test")
    );
    assert_eq!(records[3]["environment"], "production");
}

#[test]
fn a_lock_wait_shows_the_blocker_as_root() {
    let state = tempfile::tempdir().unwrap();
    let word = marker("lock");
    psql_run(&format!(
        "CREATE TABLE IF NOT EXISTS {word} (id int primary key, v int); INSERT INTO {word} VALUES (1, 0) ON CONFLICT DO NOTHING"
    ));
    let _holder = psql_background(&format!(
        "BEGIN; UPDATE {word} SET v = 1 WHERE id = 1; SELECT pg_sleep(30); COMMIT"
    ));
    std::thread::sleep(Duration::from_millis(500));
    let _waiter = psql_background(&format!("UPDATE {word} SET v = 2 WHERE id = 1"));
    let report = wait_report(state.path(), "shop", "the lock wait", |r| {
        r["activity"].as_array().unwrap().iter().any(|s| {
            !s["blocked_by"].as_array().unwrap().is_empty()
                && s["query"].as_str().is_some_and(|q| q.contains(&word))
        })
    });
    let sessions = report["activity"].as_array().unwrap();
    let waiter = sessions
        .iter()
        .find(|s| {
            s["query"]
                .as_str()
                .is_some_and(|q| q.starts_with("UPDATE") && q.contains("v = 2"))
        })
        .unwrap();
    let blocker_pid = waiter["blocked_by"][0].as_i64().unwrap();
    let blocker = sessions.iter().find(|s| s["pid"] == blocker_pid).unwrap();
    assert!(
        blocker["query"].as_str().unwrap().contains("pg_sleep"),
        "{blocker}"
    );
    // The human view lists the blocker first, its waiter under it.
    let out = opsctl(state.path())
        .args([
            "--profile",
            profile().to_str().unwrap(),
            "queries",
            "--db",
            "shop",
            "--interval",
            "0.2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let tree = text
        .split("blocking (root blockers first):")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let first = tree.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        first.trim_start().starts_with(&blocker_pid.to_string()),
        "{tree}"
    );
    psql_run(&format!("SELECT pg_terminate_backend({blocker_pid})"));
    let _ = psql()
        .args(["-c", &format!("DROP TABLE IF EXISTS {word}")])
        .output();
}

#[test]
fn explain_behind_an_exclusive_lock_gives_up_instead_of_queueing() {
    let state = tempfile::tempdir().unwrap();
    let word = marker("locked");
    psql_run(&format!("CREATE TABLE IF NOT EXISTS {word} (id int)"));
    let _holder = psql_background(&format!(
        "BEGIN; LOCK TABLE {word} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT"
    ));
    // The holder has its lock once the server shows it sleeping.
    let held = Instant::now();
    while psql_run(&format!(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE c.relname = '{word}' AND l.mode = 'AccessExclusiveLock' AND l.granted"
    )) != "1"
    {
        assert!(
            held.elapsed() < Duration::from_secs(10),
            "the lock is never held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    let out = opsctl(state.path())
        .args([
            "--profile",
            profile().to_str().unwrap(),
            "queries",
            "--db",
            "shop",
            "explain",
            &format!("SELECT count(*) FROM {word}"),
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("locked by another session"), "{err}");
    assert!(
        took < Duration::from_secs(8),
        "gave up after its lock wait, not the query timeout: {took:?}"
    );
    psql_run(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%LOCK TABLE {word}%' AND pid <> pg_backend_pid()"
    ));
    let _ = psql()
        .args(["-c", &format!("DROP TABLE IF EXISTS {word}")])
        .output();
}

#[test]
fn through_the_ssh_tunnel_via_db1() {
    let state = tempfile::tempdir().unwrap();
    let word = marker("tunnel");
    psql_run(&format!(
        "CREATE TABLE {word} (id int); SELECT count(*) FROM {word}"
    ));
    let db1_log = sandbox().join("ssh/host3/sshd.log");
    let before = std::fs::metadata(&db1_log).map_or(0, |m| m.len());
    let report = wait_report(state.path(), "shop-via-db1", "the statement", |r| {
        statement(r, &word).is_some()
    });
    assert_eq!(report["engine"], "postgresql");
    let log = std::fs::read(&db1_log).unwrap();
    let hop = String::from_utf8_lossy(&log[before as usize..]);
    assert!(
        hop.contains(&format!(
            "target {} port {}",
            var("SANDBOX_PG_HOST"),
            var("SANDBOX_PG_PORT")
        )),
        "db1 forwarded to PostgreSQL:\n{hop}"
    );
    psql_run(&format!("DROP TABLE {word}"));
}

#[test]
fn explain_shows_the_plan_and_refuses_what_it_must() {
    let state = tempfile::tempdir().unwrap();
    let p = profile();
    let p = p.to_str().unwrap();
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "explain",
            "SELECT * FROM shop_product WHERE id = 7",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = &plan["plan"]["root"];
    assert_eq!(root["relation"], "shop_product", "{plan}");
    assert_eq!(root["index"], "shop_product_pkey", "{plan}");
    assert!(
        root["table_rows"].as_f64().is_some_and(|n| n > 0.0),
        "the table's size is looked up: {plan}"
    );
    assert!(
        plan["server_json"].is_array(),
        "the server's own JSON is kept"
    );
    // A table never analyzed (a fresh sandbox's, a new one) still has a size.
    let fresh = marker("fresh");
    psql_run(&format!(
        "CREATE TABLE {fresh} (id int); INSERT INTO {fresh} SELECT generate_series(1, 500)"
    ));
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "explain",
            &format!("SELECT * FROM {fresh}"),
            "--json",
        ])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    psql_run(&format!("DROP TABLE {fresh}"));
    assert_eq!(
        plan["plan"]["root"]["table_rows"].as_f64(),
        Some(500.0),
        "{plan}"
    );
    // Normalized text (as pg_stat_statements shows it) gets the generic plan: the
    // parameter stays a parameter in the plan.
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "explain",
            "SELECT * FROM shop_product WHERE id = $1",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        plan["plan"]["root"]["index_cond"]
            .as_str()
            .is_some_and(|c| c.contains("$1")),
        "generic plan: {plan}"
    );
    // As text: the tree, one line per node, with what ANALYZE measured.
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "explain",
            "--analyze",
            "SELECT count(*) FROM shop_product p JOIN shop_orderline l ON l.product_id = p.id",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("PostgreSQL · EXPLAIN ANALYZE"), "{text}");
    assert!(text.contains("on shop_orderline"), "{text}");
    assert!(text.contains("actual"), "{text}");
    for (db, sql, analyze, why) in [
        (
            "shop",
            "SELECT * FROM shop_product WHERE id = $1",
            true,
            "needs real values",
        ),
        (
            "shop",
            "SELECT 1; DROP TABLE shop_product",
            false,
            "one statement",
        ),
        (
            "reports",
            "SELECT * FROM information_schema.TABLES WHERE TABLE_NAME = ?",
            false,
            "without its values",
        ),
    ] {
        let mut args = vec!["--profile", p, "queries", "--db", db, "explain", sql];
        if analyze {
            args.push("--analyze");
        }
        let out = opsctl(state.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{sql}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{sql}");
    }
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "shop",
            "explain",
            "--analyze",
            "DELETE FROM shop_product",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only read-only"));
    assert!(
        psql_run("SELECT count(*) > 0 FROM shop_product") == "t",
        "nothing was deleted"
    );
    // MariaDB too.
    let out = opsctl(state.path())
        .args([
            "--profile",
            p,
            "queries",
            "--db",
            "reports",
            "explain",
            "SELECT * FROM information_schema.TABLES LIMIT 1",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["plan"]["engine"], "mariadb", "{plan}");
    assert_eq!(plan["plan"]["format"], "query-block", "{plan}");
}

#[test]
fn failures_say_what_to_do_and_never_show_the_password() {
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.password");
    let secret = "wrong-pw-5e9a71";
    std::fs::write(&wrong, secret).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A database without the extension.
    let bare = marker("bare");
    psql_run(&format!("CREATE DATABASE {bare}"));
    let host = var("SANDBOX_PG_HOST");
    let port = var("SANDBOX_PG_PORT");
    let monitor_pw = var("SANDBOX_PG_MONITOR_PASSWORD_FILE");
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            r#"name = "failures"
[[databases]]
name = "wrongpw"
engine = "postgresql"
host = "{host}"
port = {port}
user = "opsctl"
database = "shop"
password_file = "{}"
[[databases]]
name = "noext"
engine = "postgresql"
host = "{host}"
port = {port}
user = "opsctl"
database = "{bare}"
password_file = "{monitor_pw}"
[[databases]]
name = "nodb"
engine = "postgresql"
host = "{host}"
port = {port}
user = "opsctl"
database = "no_such_db_x"
password_file = "{monitor_pw}"
[[databases]]
name = "closed"
engine = "mariadb"
host = "127.0.0.1"
port = {closed}
user = "opsctl"
password_file = "{}"
"#,
            wrong.display(),
            wrong.display()
        ),
    )
    .unwrap();
    for (db, want) in [
        ("wrongpw", "authentication failed for opsctl"),
        ("noext", "CREATE EXTENSION pg_stat_statements"),
        ("nodb", "database `no_such_db_x` does not exist"),
        ("closed", "connection refused"),
    ] {
        let out = opsctl(state.path())
            .env("OPSCTL_LOG", "debug")
            .args([
                "--profile",
                profile.to_str().unwrap(),
                "queries",
                "--db",
                db,
                "--json",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{db}: {stderr}");
        assert!(stderr.contains(want), "{db}: {stderr}");
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{db} shows the password"
        );
    }
    // An unknown name lists the known ones.
    let out = opsctl(state.path())
        .args([
            "--profile",
            profile.to_str().unwrap(),
            "queries",
            "--db",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("have: wrongpw, noext, nodb, closed"));
    // A URL with a password: usable, never echoed.
    let pw = std::fs::read_to_string(&monitor_pw).unwrap();
    let url = format!("postgres://opsctl:{}@{host}:{port}/nope_db", pw.trim());
    let out = opsctl(state.path())
        .args(["queries", "--url", &url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!stderr.contains(pw.trim()), "{stderr}");
    psql_run(&format!("DROP DATABASE IF EXISTS {bare}"));
}
