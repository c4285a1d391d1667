//! Cost of one host-key check against large known_hosts files: opsctl's matcher (read +
//! parse + match, what `verify_host_key` does per connection; and match only), russh's
//! own `check_known_hosts_path`, and OpenSSH's `ssh-keygen -F` (a process per lookup).
//!
//! Run: `cargo bench --bench known_hosts` (prints a Markdown table).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use opsctl::remote::ssh::known_hosts::{
    KnownHostsFile, Verdict, check, load_files, load_files_for_names, lookup_name,
};
use russh::keys::PublicKey;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/known_hosts");

fn key_line(name: &str) -> String {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}.pub")).unwrap();
    let mut f = text.split_whitespace();
    format!("{} {}", f.next().unwrap(), f.next().unwrap())
}

/// `lines` entries for host-N.bench.test (every other one hashed by ssh-keygen -H, done
/// on the plain half separately), keys cycling over the fixture keys; the queried host
/// is the last line.
fn make_file(dir: &Path, lines: usize) -> std::path::PathBuf {
    let keys = ["ed25519_a", "ecdsa256", "rsa2048", "ed25519_b"].map(key_line);
    let plain = dir.join(format!("plain_{lines}"));
    let hashed_part = dir.join(format!("hashed_part_{lines}"));
    let mut a = String::new();
    let mut b = String::new();
    for i in 0..lines {
        let line = format!("host-{i}.bench.test {}\n", keys[i % keys.len()]);
        if i % 2 == 0 {
            a.push_str(&line)
        } else {
            b.push_str(&line)
        }
    }
    std::fs::write(&plain, &a).unwrap();
    std::fs::write(&hashed_part, &b).unwrap();
    let ok = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&hashed_part)
        .output();
    assert!(
        ok.map(|o| o.status.success()).unwrap_or(false),
        "ssh-keygen -H failed"
    );
    let out = dir.join(format!("known_hosts_{lines}"));
    // Interleave so plain and hashed lines alternate, as in a long-lived file.
    let a = std::fs::read_to_string(&plain).unwrap();
    let b = std::fs::read_to_string(&hashed_part).unwrap();
    let mut text = String::new();
    let mut bi = b.lines();
    for l in a.lines() {
        text.push_str(l);
        text.push('\n');
        if let Some(h) = bi.next() {
            text.push_str(h);
            text.push('\n');
        }
    }
    std::fs::write(&out, text).unwrap();
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Duration {
    f();
    median(
        (0..iterations)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then only a
    // quick smoke run (one small file, one iteration) checks that the bench works.
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[1_000, 10_000, 50_000]
    } else {
        &[200]
    };
    let dir = tempfile::tempdir().unwrap();
    let key = PublicKey::from_openssh(&key_line("ed25519_b")).unwrap();
    println!(
        "| lines | opsctl verify path (read, filter, check) | opsctl read + parse all + check \
         | opsctl check on parsed file | russh check_known_hosts_path | ssh-keygen -F (process) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &lines in sizes {
        let path = make_file(dir.path(), lines);
        let host = format!("host-{}.bench.test", lines - 1);
        let name = lookup_name(&host, 22);
        let paths = vec![path.clone()];
        let iterations = match (full, lines > 10_000) {
            (false, _) => 1,
            (true, true) => 5,
            (true, false) => 21,
        };

        let full = time(iterations, || {
            let files = load_files(&paths);
            black_box(check(&files, &name, &key));
        });
        // What verify_host_key does: keys decoded only for the host's lines.
        let names = [name.clone()];
        let filtered = time(iterations, || {
            let files = load_files_for_names(&paths, &names);
            black_box(check(&files, &name, &key));
        });
        let files = vec![KnownHostsFile::load(&path).unwrap()];
        assert!(
            matches!(check(&files, &name, &key), Verdict::Trusted { .. }),
            "the bench must find the host"
        );
        let matched = time(iterations, || {
            black_box(check(&files, &name, &key));
        });
        let russh = time(iterations, || {
            let r = russh::keys::check_known_hosts_path(&host, 22, &key, &path);
            black_box(r.ok());
        });
        assert!(
            russh::keys::check_known_hosts_path(&host, 22, &key, &path).unwrap(),
            "russh must find the host too"
        );
        let keygen = time(iterations, || {
            let out = Command::new("ssh-keygen")
                .arg("-F")
                .arg(&host)
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            black_box(out.stdout.len());
        });
        println!(
            "| {lines} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            ms(filtered),
            ms(full),
            ms(matched),
            ms(russh),
            ms(keygen)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
