//! Cross-check of the known_hosts matcher against OpenSSH's own `ssh-keygen -F`: for
//! each file and queried name, the lines we find must be the lines ssh-keygen finds.
//!
//! Known, documented differences (both checked below, not hidden):
//! - `ssh-keygen -F` does not parse keys, so it also lists lines whose key is broken
//!   (bad base64, key type not matching the key blob). `ssh` itself ignores such lines,
//!   and so do we: they are in `skipped` instead.
//! - `ssh-keygen -F` hashes the query as given, while `ssh` lowercases the host name
//!   first. We lowercase (like `ssh`), and query ssh-keygen with the lowercased name.
//! - Negation behaves the same in ssh-keygen 9.2 and in our matcher: a line whose
//!   negated pattern matches is not listed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use opsctl::config::known_hosts::{KnownHostsFile, lookup_name};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/known_hosts");

/// `ssh-keygen` is needed; on CI its absence is a failure, elsewhere the test is skipped
/// with a message.
fn have_ssh_keygen() -> bool {
    let found = Command::new("ssh-keygen")
        .arg("-?")
        .output()
        .map(|_| true)
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "ssh-keygen is missing (install openssh-client)"
        );
        eprintln!("ssh-keygen not found: known_hosts cross-check skipped");
    }
    found
}

/// Line numbers `ssh-keygen -F name -f file` reports (`# Host NAME found: line N ...`).
fn ssh_keygen_lines(file: &Path, name: &str) -> BTreeSet<usize> {
    let out = Command::new("ssh-keygen")
        .arg("-F")
        .arg(name)
        .arg("-f")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix(&format!("# Host {name} found: line ")) {
            let n = rest.split_whitespace().next().unwrap();
            lines.insert(n.parse().unwrap());
        }
    }
    lines
}

fn our_lines(file: &KnownHostsFile, name: &str) -> BTreeSet<usize> {
    file.matching_lines(name).map(|l| l.line).collect()
}

/// Compares every query; returns how many (query, line) matches were seen in total so a
/// test can assert the check was not vacuous.
fn cross_check(path: &Path, queries: &[(&str, u16)]) -> usize {
    let file = KnownHostsFile::parse(path, &std::fs::read_to_string(path).unwrap());
    let skipped: BTreeSet<usize> = file.skipped.iter().map(|s| s.line).collect();
    let mut total = 0;
    for &(host, port) in queries {
        let name = lookup_name(host, port);
        let theirs = ssh_keygen_lines(path, &name);
        let ours = our_lines(&file, &name);
        assert!(
            ours.is_subset(&theirs),
            "{}: {name}: we match {ours:?}, ssh-keygen {theirs:?}",
            path.display()
        );
        let only_theirs: BTreeSet<usize> = theirs.difference(&ours).copied().collect();
        assert!(
            only_theirs.is_subset(&skipped),
            "{}: {name}: ssh-keygen also matches {only_theirs:?}, which we neither match nor \
             skip as malformed (skipped: {skipped:?})",
            path.display()
        );
        total += ours.len();
    }
    total
}

const QUERIES: &[(&str, u16)] = &[
    ("web1.example.com", 22),
    ("WEB1.Example.com", 22),
    ("10.0.0.5", 22),
    ("10.0.0.5", 2222),
    ("web2.example.com", 22),
    ("foo.example.com", 22),
    ("bad.example.com", 22),
    ("example.com", 22),
    ("db1.internal", 22),
    ("db12.internal", 22),
    ("git.example.org", 22),
    ("git.example.org", 2222),
    ("a.ports.test", 2200),
    ("a.ports.test", 22),
    ("a.ports.test", 3200),
    ("revoked.example.net", 22),
    ("x.ca.example", 22),
    ("multi.test", 22),
    ("broken.test", 22),
    ("broken2.test", 22),
    ("broken3.test", 22),
    ("indented.test", 22),
    ("hashed1.example.com", 22),
    ("hashed2.example.com", 2200),
    ("hashed2.example.com", 22),
    ("10.1.2.3", 22),
    ("nothing.invalid", 22),
    ("::1", 22),
    ("::1", 2222),
];

#[test]
fn fixtures_match_ssh_keygen_f() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = PathBuf::from(FIXTURES);
    let mixed = cross_check(&dir.join("mixed"), QUERIES);
    let hashed = cross_check(&dir.join("hashed"), QUERIES);
    let plain = cross_check(&dir.join("plain_for_hashing"), QUERIES);
    assert!(mixed > 30, "mixed: only {mixed} matches");
    assert_eq!(hashed, 3);
    assert_eq!(plain, 3);
}

#[test]
fn the_documented_differences_are_the_only_ones() {
    if !have_ssh_keygen() {
        return;
    }
    let path = PathBuf::from(FIXTURES).join("mixed");
    let file = KnownHostsFile::parse(&path, &std::fs::read_to_string(&path).unwrap());
    // Lines 18 and 19 hold broken keys that ssh-keygen -F still lists.
    assert_eq!(
        ssh_keygen_lines(&path, "broken2.test"),
        BTreeSet::from([12, 18])
    );
    assert_eq!(our_lines(&file, "broken2.test"), BTreeSet::from([12]));
    assert_eq!(
        ssh_keygen_lines(&path, "broken3.test"),
        BTreeSet::from([12, 19])
    );
    assert_eq!(our_lines(&file, "broken3.test"), BTreeSet::from([12]));
    // Negation: neither lists line 5 (`*.example.com,!bad.example.com`) for bad.example.com.
    assert_eq!(
        ssh_keygen_lines(&path, "bad.example.com"),
        BTreeSet::from([12])
    );
    assert_eq!(our_lines(&file, "bad.example.com"), BTreeSet::from([12]));
    // ssh-keygen hashes the query as given; ssh (and we) lowercase it first.
    let hashed = PathBuf::from(FIXTURES).join("hashed");
    assert!(ssh_keygen_lines(&hashed, "HASHED1.example.com").is_empty());
    assert_eq!(
        ssh_keygen_lines(&hashed, "hashed1.example.com"),
        BTreeSet::from([1])
    );
}

/// Fresh keys and a file hashed by `ssh-keygen -H` at test time, so the check does not
/// depend only on committed fixtures.
#[test]
fn generated_file_and_its_hashed_copy_match_ssh_keygen_f() {
    if !have_ssh_keygen() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(&key_path)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    let public = public.trim();
    let names = [
        "alpha.test",
        "beta.test,gamma.test",
        "[delta.test]:2022",
        "*.wild.test,!no.wild.test",
        "h?.q.test",
        "10.9.8.7",
        "[10.9.8.7]:2200",
    ];
    let text: String = names.iter().map(|n| format!("{n} {public}\n")).collect();
    let plain = dir.path().join("known_hosts");
    std::fs::write(&plain, &text).unwrap();
    let hashed = dir.path().join("known_hosts_hashed");
    std::fs::write(&hashed, &text).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&hashed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hashed_text = std::fs::read_to_string(&hashed).unwrap();
    assert!(hashed_text.contains("|1|"), "{hashed_text}");

    let queries: &[(&str, u16)] = &[
        ("alpha.test", 22),
        ("alpha.test", 2022),
        ("beta.test", 22),
        ("gamma.test", 22),
        ("delta.test", 22),
        ("delta.test", 2022),
        ("a.wild.test", 22),
        ("no.wild.test", 22),
        ("wild.test", 22),
        ("h1.q.test", 22),
        ("h12.q.test", 22),
        ("10.9.8.7", 22),
        ("10.9.8.7", 2200),
        ("10.9.8.77", 22),
    ];
    let plain_matches = cross_check(&plain, queries);
    let hashed_matches = cross_check(&hashed, queries);
    // alpha, beta, gamma, [delta]:2022, a.wild, h1.q, 10.9.8.7, [10.9.8.7]:2200.
    assert_eq!(plain_matches, 8);
    // -H leaves wildcard lines unhashed; they still match the same way.
    assert_eq!(hashed_matches, 8);
}
