//! `opsctl warm` on the real binary against a small HTTP site served by the test
//! (a cache of its own: MISS the first time a page and encoding is asked, HIT
//! after): sitemap indexes and gzipped children, bad input of every kind, the
//! scope, consent and audit, the rate bound, timeouts, Ctrl-C, secret headers,
//! and a generated sitemap of a million URLs read with memory flat.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// The test's site. Pages: `/p/N` (cacheable), `/private` (no-store),
/// `/missing` (404), `/slow` (answers after 5 s). Sitemaps: `/sitemap.xml` (an
/// index of `/pages.xml` and `/more.xml.gz`), `/big.xml?n=N` (generated as it is
/// sent), and broken ones.
struct Site {
    addr: SocketAddr,
    pages: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Site {
    fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let pages = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let cached = Arc::new(Mutex::new(HashSet::new()));
        let (p, s, st) = (pages.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (p, s, c) = (p.clone(), s.clone(), cached.clone());
                std::thread::spawn(move || serve(conn, addr, &p, &s, &c));
            }
        });
        Site {
            addr,
            pages,
            seen,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn page_requests(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    conn: TcpStream,
    addr: SocketAddr,
    pages: &AtomicU64,
    seen: &Mutex<Vec<String>>,
    cached: &Mutex<HashSet<(String, String)>>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let _ = conn.set_nodelay(true);
    let mut out = conn;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let path = head
            .first()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("/")
            .to_string();
        let header = |name: &str| {
            head.iter()
                .skip(1)
                .find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let encoding = header("accept-encoding");
        seen.lock().unwrap().push(format!(
            "{path} enc={encoding} auth={}",
            header("authorization")
        ));
        let base = format!("http://{addr}");
        let (status, extra, body): (&str, String, Vec<u8>) = match path.as_str() {
            "/sitemap.xml" => (
                "200 OK",
                String::new(),
                format!(
                    "<?xml version=\"1.0\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                     <sitemap><loc>{base}/pages.xml</loc></sitemap>\
                     <sitemap><loc>{base}/more.xml.gz</loc></sitemap></sitemapindex>\n"
                )
                .into_bytes(),
            ),
            "/pages.xml" => (
                "200 OK",
                String::new(),
                urlset(&[
                    format!("{base}/p/1"),
                    format!("{base}/p/2"),
                    "/p/3".into(),
                    format!("{base}/private"),
                    format!("{base}/missing"),
                    "https://elsewhere.example/p/1".into(),
                ])
                .into_bytes(),
            ),
            "/more.xml.gz" => {
                let xml = urlset(&[format!("{base}/p/4"), format!("{base}/p/5")]);
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                gz.write_all(xml.as_bytes()).unwrap();
                ("200 OK", String::new(), gz.finish().unwrap())
            }
            "/broken.xml" => (
                "200 OK",
                String::new(),
                b"<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>/p/1</loc></url><url><loc>/p/2</lo".to_vec(),
            ),
            "/notxml.xml" => ("200 OK", String::new(), b"{\"this\": \"is json\"}".to_vec()),
            "/page.xml" => (
                "200 OK",
                String::new(),
                b"<html><body>not a sitemap</body></html>".to_vec(),
            ),
            "/fake.xml.gz" => ("200 OK", String::new(), urlset(&["/p/1".into()]).into_bytes()),
            "/gone.xml" => ("404 Not Found", String::new(), b"no".to_vec()),
            p if p.starts_with("/big.xml?n=") => {
                let n: u64 = p["/big.xml?n=".len()..].parse().unwrap();
                big_sitemap(&mut out, &base, n);
                return;
            }
            p => {
                pages.fetch_add(1, Ordering::Relaxed);
                match p {
                    "/missing" => ("404 Not Found", "X-Cache-Status: MISS\r\n".into(), b"missing".to_vec()),
                    "/private" => (
                        "200 OK",
                        "Cache-Control: private, no-store\r\nX-Cache-Status: BYPASS\r\n".into(),
                        b"yours only".to_vec(),
                    ),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(5));
                        ("200 OK", String::new(), b"late".to_vec())
                    }
                    _ => {
                        let hit = !cached.lock().unwrap().insert((p.to_string(), encoding.clone()));
                        (
                            "200 OK",
                            format!(
                                "Cache-Control: public, max-age=300\r\nX-Cache-Status: {}\r\n",
                                if hit { "HIT" } else { "MISS" }
                            ),
                            format!("<html>{p}</html>").into_bytes(),
                        )
                    }
                }
            }
        };
        // One write per response: two small ones meet Nagle and delayed ACKs.
        let mut resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(&body);
        if out.write_all(&resp).is_err() {
            return;
        }
    }
}

fn urlset(locs: &[String]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for l in locs {
        s.push_str(&format!(
            "  <url><loc>{l}</loc><lastmod>2026-11-30</lastmod></url>\n"
        ));
    }
    s.push_str("</urlset>\n");
    s
}

/// A sitemap of `n` URLs written as it is generated (no length: the connection
/// closes at its end), so neither side holds it whole.
fn big_sitemap(out: &mut TcpStream, base: &str, n: u64) {
    let _ = out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, out);
    let _ = w.write_all(
        b"<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for i in 0..n {
        if writeln!(w, "<url><loc>{base}/p/{i}</loc></url>").is_err() {
            return;
        }
    }
    let _ = w.write_all(b"</urlset>\n");
    let _ = w.flush();
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(environment: &str, warm: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("profile.toml"),
            format!(
                "name = \"shop\"\nenvironment = \"{environment}\"\n\n[[hosts]]\nname = \"box\"\ntransport = \"local\"\n\n[warm]\n{warm}"
            ),
        )
        .unwrap();
        Env { dir }
    }

    fn opsctl(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("opsctl").unwrap();
        self.prepare(&mut cmd);
        cmd.args(args).timeout(Duration::from_secs(120));
        cmd
    }

    fn prepare(&self, cmd: &mut Command) {
        cmd.current_dir(self.dir.path())
            .env_remove("OPSCTL_PROFILE")
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .arg("--profile")
            .arg(self.dir.path().join("profile.toml"));
    }

    fn audit(&self) -> Vec<Value> {
        let path = self.dir.path().join("state/opsctl/audit.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_index_is_followed_and_every_page_warmed_then_verified() {
    let site = Site::start();
    let env = Env::new("development", "");
    let out = env
        .opsctl(&[
            "warm",
            "--sitemap",
            &site.url("/sitemap.xml"),
            "--verify",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    // /missing answered 404 and elsewhere.example was refused: exit 1.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = json(&out.stdout);
    // /p/1..5, /private, /missing (elsewhere.example is out of scope).
    assert_eq!(doc["urls"], 7, "{doc}");
    // Three encodings each (the browsers' two, and none).
    assert_eq!(doc["requests"], 21, "{doc}");
    assert_eq!(doc["ok"], 18, "{doc}");
    assert_eq!(doc["errors"], 4, "{doc}");
    assert_eq!(doc["by_status"]["200"], 18, "{doc}");
    assert_eq!(doc["by_status"]["404"], 3, "{doc}");
    assert_eq!(doc["by_cache"]["MISS"], 18, "{doc}");
    assert!(doc["duration_s"].as_f64().unwrap() > 0.0);
    assert!(!doc["slowest"].as_array().unwrap().is_empty());
    let failures = doc["failures"].as_array().unwrap();
    let reason_of = |url: &str| {
        failures
            .iter()
            .filter(|f| f["url"].as_str().unwrap().contains(url))
            .map(|f| f["reason"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(reason_of("/missing"), ["HTTP 404"; 3], "{doc}");
    assert!(
        reason_of("elsewhere.example")[0].contains("outside the base host"),
        "{doc}"
    );
    let unc = doc["uncacheable"].as_array().unwrap();
    assert_eq!(unc.len(), 1, "{doc}");
    assert!(unc[0]["url"].as_str().unwrap().ends_with("/private"));
    assert!(
        unc[0]["reason"].as_str().unwrap().contains("no-store"),
        "{doc}"
    );
    // The verify pass asked the same again: everything cacheable is a HIT now.
    assert_eq!(doc["verify"]["by_cache"]["HIT"], 15, "{doc}");
    assert_eq!(doc["hit_ratio_before"], 0.0, "{doc}");
    let after = doc["hit_ratio_after"].as_f64().unwrap();
    assert!(after > 0.7, "{doc}");
    // Each page once per encoding per pass; nothing asked off the list.
    assert_eq!(site.page_requests(), 42);
    let seen = site.seen.lock().unwrap().clone();
    for enc in ["gzip, deflate, br, zstd", "gzip, deflate, br", ""] {
        assert!(
            seen.iter().any(|s| s == &format!("/p/3 enc={enc} auth=")),
            "{seen:?}"
        );
    }
    let audit = env.audit();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["change"], "warm");
    assert_eq!(audit[0]["outcome"], "ok");
}

#[test]
fn every_kind_of_bad_sitemap_is_a_clear_error_and_nothing_is_warmed() {
    let site = Site::start();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/sitemap.xml", closed.local_addr().unwrap());
    drop(closed);
    let env = Env::new("development", "");
    let cases = [
        (dead, "connection refused"),
        (site.url("/notxml.xml"), "not XML"),
        (site.url("/page.xml"), "root element is <html>"),
        (site.url("/fake.xml.gz"), "named .gz but not gzip"),
        (site.url("/gone.xml"), "HTTP 404"),
        (site.url("/broken.xml"), "broken sitemap"),
    ];
    for (url, why) in &cases {
        let out = env
            .opsctl(&["warm", "--sitemap", url, "--base", &site.url("/")])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains(why), "{url}: expected {why:?} in {stderr}");
        assert!(stderr.contains(url.as_str()), "{url}: {stderr}");
    }
    // The broken sitemap's one whole entry before the break was warmed (three
    // encodings); no other page was.
    assert_eq!(site.page_requests(), 3);
    // A file that is not there, and a base that is no URL: usage errors.
    let out = env
        .opsctl(&[
            "warm",
            "--sitemap",
            "/nowhere/sitemap.xml",
            "--base",
            &site.url("/"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot open it"),
        "{}",
        text(&out.stderr)
    );
    let out = env
        .opsctl(&["warm", "--urls", "-", "--base", "shop"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not an http(s) URL"));
    let out = env.opsctl(&["warm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing to warm"));
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            "-",
            "--base",
            &site.url("/"),
            "--rate",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_dry_run_lists_the_urls_and_requests_no_page() {
    let site = Site::start();
    let env = Env::new("production", "");
    let out = env
        .opsctl(&["warm", "--sitemap", &site.url("/sitemap.xml"), "--dry-run"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert_eq!(lines[0], site.url("/p/1"));
    assert_eq!(lines[2], site.url("/p/3"), "relative locs join the base");
    assert!(
        lines.contains(&site.url("/p/5").as_str()),
        "the gzipped child"
    );
    // The refused URL is an error of the dry run too.
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("elsewhere.example"));
    assert_eq!(site.page_requests(), 0);
    assert!(env.audit().is_empty(), "a dry run changes nothing");
    // The list feeds --urls as it is.
    std::fs::write(env.path("urls.txt"), stdout.as_bytes()).unwrap();
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            env.path("urls.txt").to_str().unwrap(),
            "--base",
            &site.url("/"),
            "--dry-run",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out.stdout);
    assert_eq!(doc["count"], 7);
    assert_eq!(doc["urls"][4], site.url("/missing"));
    assert_eq!(doc["urls"][6], site.url("/p/5"));
    assert_eq!(doc["plan"]["change"], "warm");
}

#[test]
fn production_needs_its_name_and_read_only_refuses() {
    let site = Site::start();
    let env = Env::new("production", "");
    let sitemap = site.url("/pages.xml");
    let out = env
        .opsctl(&["warm", "--sitemap", &sitemap])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--confirm production"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(site.page_requests(), 0);
    let out = env
        .opsctl(&["warm", "--sitemap", &sitemap, "--confirm", "staging"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(site.page_requests(), 0);
    let audit = env.audit();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|r| r["outcome"] == "refused"));
    let out = env
        .opsctl(&["warm", "--sitemap", &sitemap, "--confirm", "production"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "/missing is a 404");
    assert_eq!(site.page_requests(), 15);
    assert!(
        text(&out.stdout).contains("warmed 5 URL(s)"),
        "{}",
        text(&out.stdout)
    );

    let ro = Env::new("development", "");
    let profile = std::fs::read_to_string(ro.path("profile.toml")).unwrap();
    std::fs::write(
        ro.path("profile.toml"),
        profile.replace(
            "environment = \"development\"",
            "environment = \"development\"\nread_only = true",
        ),
    )
    .unwrap();
    let out = ro
        .opsctl(&["warm", "--sitemap", &sitemap])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(site.page_requests(), 15);
}

#[test]
fn the_rate_and_the_concurrency_hold() {
    let site = Site::start();
    let env = Env::new("development", "encodings = [\"\"]\n");
    let list: String = (0..20).map(|i| format!("/p/{i}\n")).collect();
    std::fs::write(env.path("urls.txt"), list).unwrap();
    let started = Instant::now();
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            env.path("urls.txt").to_str().unwrap(),
            "--base",
            &site.url("/"),
            "--rate",
            "20/s",
            "--concurrency",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out.stdout);
    assert_eq!(doc["requests"], 20);
    // 20 requests at 20/s: the last starts 0.95 s after the first.
    assert!(doc["duration_s"].as_f64().unwrap() >= 0.9, "{doc}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_slow_page_times_out_and_ctrl_c_stops_the_warm() {
    let site = Site::start();
    let env = Env::new("development", "encodings = [\"\"]\ntimeout_secs = 1\n");
    std::fs::write(env.path("urls.txt"), "/slow\n/p/1\n").unwrap();
    let started = Instant::now();
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            env.path("urls.txt").to_str().unwrap(),
            "--base",
            &site.url("/"),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out.stdout);
    assert_eq!(doc["failures"][0]["reason"], "timeout", "{doc}");
    assert_eq!(doc["ok"], 1);

    // Ctrl-C while the slow pages are in flight: the warm ends at once, audited.
    let env = Env::new("development", "encodings = [\"\"]\n");
    std::fs::write(env.path("urls.txt"), "/slow\n".repeat(8)).unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("opsctl"));
    cmd.current_dir(env.dir.path())
        .env_remove("OPSCTL_PROFILE")
        .env("HOME", env.dir.path())
        .env("XDG_STATE_HOME", env.dir.path().join("state"))
        .arg("--profile")
        .arg(env.path("profile.toml"))
        .args(["warm", "--urls", env.path("urls.txt").to_str().unwrap()])
        .args(["--base", &site.url("/")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while site.page_requests() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(site.page_requests() >= 3, "the warm did not start");
    let stopped = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "took {:?}",
        stopped.elapsed()
    );
    assert_eq!(status, Some(1));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    let audit = env.audit();
    assert_eq!(audit.last().unwrap()["outcome"], "failed", "{audit:?}");
    assert!(
        audit.last().unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
}

fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("opsctl did not end within {limit:?}");
}

#[test]
fn a_secret_header_is_sent_and_never_shown() {
    let site = Site::start();
    let env = Env::new("development", "encodings = [\"\"]\n");
    std::fs::write(env.path("urls.txt"), "/p/1\n/missing\n").unwrap();
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            env.path("urls.txt").to_str().unwrap(),
            "--base",
            &site.url("/"),
            "--header",
            "Authorization: Bearer tok-5ecr3t-xyz",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let seen = site.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.ends_with("auth=Bearer tok-5ecr3t-xyz")),
        "{seen:?}"
    );
    let everything = format!(
        "{}{}{}",
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(env.path("state/opsctl/audit.jsonl")).unwrap()
    );
    assert!(!everything.contains("5ecr3t"), "{everything}");
    assert!(everything.contains("Authorization") || everything.contains("authorization"));
    let out = env
        .opsctl(&[
            "warm",
            "--urls",
            "-",
            "--base",
            &site.url("/"),
            "--header",
            "NoColon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected NAME:VALUE"));
}

/// The peak resident memory of a run of opsctl (VmHWM, read until it exits).
fn peak_rss_kib(env: &Env, args: &[&str]) -> (u64, std::process::ExitStatus, Duration) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("opsctl"));
    cmd.current_dir(env.dir.path())
        .env_remove("OPSCTL_PROFILE")
        .env("HOME", env.dir.path())
        .env("XDG_STATE_HOME", env.dir.path().join("state"))
        .arg("--profile")
        .arg(env.path("profile.toml"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (peak, status, started.elapsed());
        }
        assert!(Instant::now() < deadline, "opsctl warm ran past 300 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_million_url_sitemap_is_warmed_with_memory_flat() {
    let site = Site::start();
    let env = Env::new("development", "encodings = [\"\"]\n");
    let small = site.url("/big.xml?n=10000");
    let big_n: u64 = 1_000_000;
    let big = site.url(&format!("/big.xml?n={big_n}"));
    let (small_kib, status, _) = peak_rss_kib(&env, &["warm", "--sitemap", &small, "-c", "32"]);
    assert!(status.success());
    assert_eq!(site.page_requests(), 10_000);
    let (big_kib, status, took) = peak_rss_kib(&env, &["warm", "--sitemap", &big, "-c", "32"]);
    assert!(status.success(), "{status:?}");
    assert_eq!(site.page_requests(), 10_000 + big_n);
    // A hundred times the URLs, the same memory (give or take the allocator).
    assert!(
        big_kib < small_kib + 16 * 1024,
        "10k URLs: {small_kib} KiB, 1M URLs: {big_kib} KiB"
    );
    eprintln!("1M URLs in {took:?}, peak {big_kib} KiB (10k: {small_kib} KiB)");
}
