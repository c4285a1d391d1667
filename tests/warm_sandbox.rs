//! `opsctl warm` against the sandbox: the shop's sitemap index and its gzipped
//! child read over TLS (the sandbox CA) through the first load balancer, and
//! pages sent to both load balancers' nginx caches by address under the site's
//! name (`--per-node`, the profile's default there), going from MISS to HIT on
//! each. A node that is down fails alone.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{sandbox, var};

/// The tests take turns: one empties the caches the others count on.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

struct Run {
    dir: tempfile::TempDir,
    profile: PathBuf,
}

impl Run {
    fn new(edit: impl FnOnce(&mut toml::Table)) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(sandbox().join("sandbox.toml")).unwrap();
        let mut doc: toml::Table = text.parse().unwrap();
        assert!(
            doc.get("warm").is_some(),
            "the sandbox profile has no [warm]: run tests/sandbox/up again"
        );
        edit(&mut doc);
        let profile = dir.path().join("profile.toml");
        std::fs::write(&profile, toml::to_string(&doc).unwrap()).unwrap();
        Run { dir, profile }
    }

    fn opsctl(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .args(["-s", "INT", "-k", "10", "180"])
            .arg(assert_cmd::cargo::cargo_bin("opsctl"))
            .arg("--profile")
            .arg(&self.profile)
            .args(args)
            .env_remove("OPSCTL_PROFILE")
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn site() -> String {
    let port = var("SANDBOX_HTTPS_PORT");
    let name = var("SANDBOX_SITE_NAME");
    if port == "443" {
        format!("https://{name}")
    } else {
        format!("https://{name}:{port}")
    }
}

#[test]
fn the_shops_sitemap_is_read_over_tls_through_the_first_node() {
    let _turn = turn();
    let run = Run::new(|_| {});
    let out = run.opsctl(&["warm", "--dry-run", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    let urls: Vec<&str> = doc["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(doc["count"].as_u64(), Some(urls.len() as u64));
    // The home page, the list and its pages, every product (the gzipped child).
    assert!(urls.len() > 100, "{urls:?}");
    let site = site();
    assert_eq!(urls[0], format!("{site}/"));
    assert!(urls.iter().all(|u| u.starts_with(&site)), "{urls:?}");
    assert!(urls.iter().any(|u| u.contains("/products/?page=2")));
    assert!(urls.iter().filter(|u| u.ends_with("/")).count() > 100);
    // The plan names both load balancers by address.
    let steps = doc["plan"]["steps"].as_array().unwrap();
    let on: Vec<&str> = steps.iter().filter_map(|s| s["on"].as_str()).collect();
    assert_eq!(on, ["lb1", "lb2"], "{steps:?}");
}

#[test]
fn pages_go_from_miss_to_hit_on_both_load_balancers() {
    let _turn = turn();
    let run = Run::new(|_| {});
    // Pages no one asked yet: the cache key holds the query, Django ignores it.
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        line_count(&var("SANDBOX_LB1_ACCESS_LOG"))
    );
    let mut list = format!("/?warm={nonce}\n/products/?page=2&warm={nonce}\n");
    for id in 1..=18 {
        list.push_str(&format!("/products/{id}/?warm={nonce}\n"));
    }
    let file = run.dir.path().join("urls.txt");
    std::fs::write(&file, &list).unwrap();
    let logs = [var("SANDBOX_LB1_ACCESS_LOG"), var("SANDBOX_LB2_ACCESS_LOG")];
    let before: Vec<usize> = logs.iter().map(|l| line_count(l)).collect();
    let out = run.opsctl(&[
        "warm",
        "--urls",
        file.to_str().unwrap(),
        "--verify",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["urls"], 20, "{doc}");
    // Two nodes, three encodings.
    assert_eq!(doc["requests"], 120, "{doc}");
    assert_eq!(doc["ok"], 120, "{doc}");
    assert_eq!(doc["hit_ratio_before"], 0.0, "{doc}");
    assert_eq!(doc["hit_ratio_after"], 1.0, "{doc}");
    for (i, name) in ["lb1", "lb2"].iter().enumerate() {
        let node = &doc["nodes"][i];
        assert_eq!(node["name"], *name);
        // Each page's first request on each node found it cold.
        assert!(node["by_cache"]["MISS"].as_u64().unwrap() >= 20, "{node}");
        assert_eq!(node["errors"], 0);
        let after = &doc["verify"]["nodes"][i];
        assert_eq!(after["by_cache"]["HIT"], 60, "{after}");
    }
    // Both nginx logs have the warm's requests, under the site's name, MISS first.
    for (log, from) in logs.iter().zip(before) {
        let text = std::fs::read_to_string(log).unwrap();
        let ours: Vec<&str> = text
            .lines()
            .skip(from)
            .filter(|l| l.contains(&format!("warm={nonce}")) && l.contains("opsctl-warm/"))
            .collect();
        assert_eq!(ours.len(), 120, "{log}: {ours:?}");
        let home: Vec<&str> = ours
            .iter()
            .filter(|l| l.contains(&format!("GET /?warm={nonce} ")))
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(home.first(), Some(&"MISS"), "{log}: {home:?}");
        assert!(home[1..].iter().all(|c| *c == "HIT"), "{log}: {home:?}");
    }
}

/// Empties a load balancer's nginx cache: its files removed, nginx takes each
/// missing one for a MISS (the usual manual purge).
fn purge(dir: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        // nginx's cache manager may remove an expired file first.
        if let Err(e) = removed {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::NotFound,
                "{}: {e}",
                path.display()
            );
        }
    }
}

#[test]
fn warming_the_shops_sitemap_turns_every_page_from_miss_to_hit_on_every_node() {
    let _turn = turn();
    let run = Run::new(|doc| {
        // Twice the default: the backend renders every MISS, the pages are many.
        doc["warm"]
            .as_table_mut()
            .unwrap()
            .insert("concurrency".into(), 16.into());
    });
    purge(&var("SANDBOX_LB1_CACHE_DIR"));
    purge(&var("SANDBOX_LB2_CACHE_DIR"));
    let out = run.opsctl(&["warm", "--verify", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    let urls = doc["urls"].as_u64().unwrap();
    assert!(urls > 100, "{doc}");
    assert_eq!(doc["errors"], 0);
    // Before: each page's first request on each node was a MISS; after: all HIT.
    assert_eq!(
        doc["first_by_cache"]["MISS"].as_u64(),
        Some(2 * urls),
        "{}",
        doc["first_by_cache"]
    );
    assert_eq!(doc["hit_ratio_before"], 0.0);
    assert_eq!(doc["hit_ratio_after"], 1.0);
    for i in 0..2 {
        assert_eq!(
            doc["nodes"][i]["by_cache"]["MISS"].as_u64(),
            Some(urls),
            "{}",
            doc["nodes"][i]
        );
        assert_eq!(
            doc["verify"]["nodes"][i]["by_cache"]["HIT"].as_u64(),
            Some(3 * urls)
        );
    }
    assert_eq!(doc["uncacheable_count"], 0, "{}", doc["uncacheable"]);
}

fn line_count(path: &str) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn a_cache_node_that_is_down_fails_alone() {
    let _turn = turn();
    // A third load balancer that is not there.
    let run = Run::new(|doc| {
        let hosts = doc["hosts"].as_array_mut().unwrap();
        let mut lb3 = toml::Table::new();
        lb3.insert("name".into(), "lb3".into());
        lb3.insert("address".into(), "127.0.0.250".into());
        lb3.insert("transport".into(), "local".into());
        lb3.insert("roles".into(), toml::Value::Array(vec!["lb".into()]));
        hosts.push(toml::Value::Table(lb3));
    });
    let file = run.dir.path().join("urls.txt");
    std::fs::write(&file, "/\n/products/\n").unwrap();
    let out = run.opsctl(&["warm", "--urls", file.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["outcome"], "ok", "the other nodes were warmed");
    assert_eq!(doc["ok"], 12, "{doc}");
    assert_eq!(doc["errors"], 6, "{doc}");
    let failures = doc["failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .all(|f| f["node"] == "lb3" && f["reason"] == "connection refused"),
        "{failures:?}"
    );
    assert_eq!(doc["nodes"][2]["errors"], 6);
}
