//! Whether to trust the host key a server offers: the known_hosts verdict
//! ([`super::known_hosts`]) combined with the profile's policy (`strict` or
//! `accept-new`), and the messages that tell the user what to do.
//!
//! The SSH layer calls [`verify_host_key`] from russh's `check_server_key` and turns an
//! `Err(refusal)` into `RemoteError::HostKey(refusal)`. It may also call
//! [`preferred_host_key_algorithms`] to offer the already-known key types first, as
//! OpenSSH does, so that a server with several host keys presents the known one.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, PublicKey};

use super::known_hosts::{
    self, DEFAULT_SSH_PORT, KnownHostsFile, LearnLock, LineRef, Verdict, fingerprint,
    key_type_name, lookup_name,
};
use crate::remote::{KnownHostsPolicy, SshTarget, quote};

/// Why a host key was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyOutcome {
    /// A known_hosts line holds the key.
    Trusted { at: LineRef },
    /// The host was unknown and the policy is `accept-new`: the key was appended to
    /// this file.
    Learned { file: PathBuf },
}

/// What to do with an offered key, decided without touching any file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept {
        at: LineRef,
    },
    /// Unknown host under `accept-new`: append the key to `target.learn_file`.
    Learn,
    /// Refuse the connection; the refusal says why and what to do.
    Refuse(HostKeyRefusal),
}

/// Why a host key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyProblem {
    /// No known_hosts line for the host (under `strict`).
    Unknown,
    /// The host is known with other keys: possibly a man in the middle.
    Changed,
    /// An `@revoked` line holds the key.
    Revoked,
    /// The key could not be checked or recorded (known_hosts unwritable, a host
    /// certificate, ...).
    Unusable,
}

/// A refused host key: what kind of problem, and the complete message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostKeyRefusal {
    pub problem: HostKeyProblem,
    pub message: String,
}

impl HostKeyRefusal {
    pub fn new(problem: HostKeyProblem, message: impl Into<String>) -> Self {
        HostKeyRefusal {
            problem,
            message: message.into(),
        }
    }
}

/// Checks `key`, offered by `target`, against its known_hosts files
/// (`target.known_hosts_files`, then `target.learn_file` if it is not among them) and
/// applies `target.policy`:
///
/// - known key → `Ok(Trusted)`;
/// - unknown host: `strict` → `Err` with the fingerprint and the command to add the key;
///   `accept-new` → the key is appended to `target.learn_file` (under a lock, after
///   deciding again) → `Ok(Learned)`;
/// - changed key (the host has plain lines, none with this key, whatever their key
///   type — as OpenSSH decides) → always `Err`, loudly, naming file:line;
/// - revoked key (`@revoked` line for the host) → always `Err`, naming file:line.
///
/// Names, as OpenSSH: `target.hostname` is looked up as `host`, or `[host]:port` when the
/// port is not 22; a `target.known_hosts_name` that differs from `hostname` is a
/// HostKeyAlias and is looked up bare (no port). A host on a non-default port that is
/// unknown as `[host]:port` is also accepted when its bare name has this exact key.
///
/// The `Err` message is complete and meant for the user (`RemoteError::HostKey`).
/// Reads files and may append to one (milliseconds, see BENCHMARKS.md): fine
/// to call from russh's `check_server_key`.
pub fn verify_host_key(
    target: &SshTarget,
    key: &PublicKey,
) -> Result<HostKeyOutcome, HostKeyRefusal> {
    let files = load_target_files(target);
    match decide(target, &files, key) {
        Decision::Accept { at } => {
            tracing::debug!(host = %target.label, at = %at, "host key known");
            Ok(HostKeyOutcome::Trusted { at })
        }
        Decision::Refuse(message) => Err(message),
        Decision::Learn => learn(target, key),
    }
}

/// Appends the key of an unknown host under `accept-new`, deciding again under the
/// learn file's lock: another connection may have learned this host (or a different
/// key for it) since the files were read.
fn learn(target: &SshTarget, key: &PublicKey) -> Result<HostKeyOutcome, HostKeyRefusal> {
    let cannot_record = |e: std::io::Error| {
        HostKeyRefusal::new(
            HostKeyProblem::Unusable,
            format!(
                "cannot record the host key of {} in {}: {e}",
                describe(target),
                target.learn_file.display()
            ),
        )
    };
    let mut lock = LearnLock::acquire(&target.learn_file).map_err(cannot_record)?;
    match decide(target, &load_target_files(target), key) {
        Decision::Learn => {}
        Decision::Accept { at } => return Ok(HostKeyOutcome::Trusted { at }),
        Decision::Refuse(message) => return Err(message),
    }
    let (host, port) = lookup_host_port(target);
    lock.append(host, port, key).map_err(cannot_record)?;
    drop(lock);
    tracing::info!(
        host = %target.label,
        key_type = key_type_name(&key.algorithm()),
        fingerprint = %fingerprint(key),
        file = %target.learn_file.display(),
        "new host key learned (accept-new)"
    );
    Ok(HostKeyOutcome::Learned {
        file: target.learn_file.clone(),
    })
}

/// The decision of [`verify_host_key`] over already-loaded files (pure).
pub fn decide(target: &SshTarget, files: &[KnownHostsFile], key: &PublicKey) -> Decision {
    let (host, port) = lookup_host_port(target);
    let name = lookup_name(host, port);
    let mut verdict = known_hosts::check(files, &name, key);
    if port != DEFAULT_SSH_PORT
        && let Verdict::Unknown { .. } = verdict
    {
        // OpenSSH retries a non-default port without the port and accepts an exact match.
        match known_hosts::check(files, &lookup_name(host, DEFAULT_SSH_PORT), key) {
            found @ (Verdict::Trusted { .. } | Verdict::Revoked { .. }) => verdict = found,
            Verdict::Changed { .. } | Verdict::Unknown { .. } => {}
        }
    }
    match verdict {
        Verdict::Trusted { at } => Decision::Accept { at },
        Verdict::Revoked { at } => Decision::Refuse(HostKeyRefusal::new(
            HostKeyProblem::Revoked,
            revoked_message(target, key, &at),
        )),
        Verdict::Changed { known, same_type } => Decision::Refuse(HostKeyRefusal::new(
            HostKeyProblem::Changed,
            changed_message(target, key, &known, same_type, &name),
        )),
        Verdict::Unknown { cert_authority } => match target.policy {
            KnownHostsPolicy::AcceptNew => Decision::Learn,
            KnownHostsPolicy::Strict => Decision::Refuse(HostKeyRefusal::new(
                HostKeyProblem::Unknown,
                unknown_message(target, key, cert_authority.as_ref()),
            )),
        },
    }
}

/// Key algorithms already known for the target, to put first in the client's host-key
/// preferences (empty when the host is unknown: keep the default order then).
pub fn preferred_host_key_algorithms(target: &SshTarget) -> Vec<Algorithm> {
    let files = load_target_files(target);
    let (host, port) = lookup_host_port(target);
    let mut algorithms = known_hosts::known_algorithms(&files, &lookup_name(host, port));
    if algorithms.is_empty() && port != DEFAULT_SSH_PORT {
        algorithms = known_hosts::known_algorithms(&files, &lookup_name(host, DEFAULT_SSH_PORT));
    }
    algorithms
}

/// The target's files, keeping only the lines [`decide`] can look at (the name with and
/// without port), so large files cost a host-field scan, not a key decode per line.
pub fn load_target_files(target: &SshTarget) -> Vec<KnownHostsFile> {
    let (host, port) = lookup_host_port(target);
    let names = [lookup_name(host, port), lookup_name(host, DEFAULT_SSH_PORT)];
    known_hosts::load_files_for_names(&files_to_read(target), &names)
}

fn files_to_read(target: &SshTarget) -> Vec<PathBuf> {
    let mut files = target.known_hosts_files.clone();
    if !files.iter().any(|f| f == &target.learn_file) {
        // Keys learned by accept-new must be found next time.
        files.push(target.learn_file.clone());
    }
    files
}

/// The host name and port known_hosts is keyed by: a HostKeyAlias is used bare.
fn lookup_host_port(target: &SshTarget) -> (&str, u16) {
    if has_alias(target) {
        (&target.known_hosts_name, DEFAULT_SSH_PORT)
    } else {
        (&target.hostname, target.port)
    }
}

fn has_alias(target: &SshTarget) -> bool {
    !target.known_hosts_name.is_empty()
        && !target
            .known_hosts_name
            .eq_ignore_ascii_case(&target.hostname)
}

/// `web1 (10.0.0.5:22)`, or `10.0.0.5:22` when the label is the address.
fn describe(target: &SshTarget) -> String {
    let address = if target.hostname.contains(':') {
        format!("[{}]:{}", target.hostname, target.port)
    } else {
        format!("{}:{}", target.hostname, target.port)
    };
    if target.label.is_empty() || target.label == target.hostname {
        address
    } else {
        format!("{} ({address})", target.label)
    }
}

fn key_summary(key: &PublicKey) -> String {
    format!("{} {}", key_type_name(&key.algorithm()), fingerprint(key))
}

fn unknown_message(target: &SshTarget, key: &PublicKey, ca: Option<&LineRef>) -> String {
    let key_type = key_type_name(&key.algorithm()).to_ascii_lowercase();
    let file = quote(&target.learn_file.display().to_string());
    let how_to_add = if has_alias(target) {
        let line = PublicKey::new(key.key_data().clone(), "")
            .to_openssh()
            .unwrap_or_default();
        format!(
            "append this line to {file}: {} {}",
            target.known_hosts_name.to_ascii_lowercase(),
            line.trim_end()
        )
    } else {
        format!(
            "add it with: ssh-keyscan -p {} -t {key_type} {} >> {file}",
            target.port,
            quote(&target.hostname)
        )
    };
    let ca_note = match ca {
        Some(at) => format!(
            " (the @cert-authority line at {at} covers this host, but opsctl does not \
             support host certificates)"
        ),
        None => String::new(),
    };
    format!(
        "host key for {} is not known: {}{ca_note}. Verify it (on the host: ssh-keygen -lf \
         /etc/ssh/ssh_host_{key_type}_key.pub), then {how_to_add} (or set known_hosts = \
         \"accept-new\" in the profile)",
        describe(target),
        key_summary(key),
    )
}

fn changed_message(
    target: &SshTarget,
    key: &PublicKey,
    known: &known_hosts::KnownKey,
    same_type: bool,
    name: &str,
) -> String {
    let what_is_known = if same_type {
        format!(
            "{} holds {} {}",
            known.at, known.key_type, known.fingerprint
        )
    } else {
        format!(
            "only a key of another type is known for it ({} {} at {})",
            known.key_type, known.fingerprint, known.at
        )
    };
    format!(
        "WARNING: HOST KEY FOR {} HAS CHANGED! It offered {}, but {what_is_known}. Someone \
         could be eavesdropping on you right now (man-in-the-middle attack), or the host key \
         was just replaced (e.g. the host was reinstalled). opsctl refuses to connect. Check \
         the new key with the host's administrator; if it is right, remove the old key with: \
         ssh-keygen -R {} -f {} and connect again",
        describe(target),
        key_summary(key),
        quote(name),
        quote(&path_text(&known.at.file)),
    )
}

fn revoked_message(target: &SshTarget, key: &PublicKey, at: &LineRef) -> String {
    format!(
        "WARNING: REVOKED HOST KEY for {}: {} is marked @revoked at {at}. A stolen key could be \
         being used to impersonate this host. opsctl refuses to connect; the host needs a new \
         host key",
        describe(target),
        key_summary(key),
    )
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/known_hosts");

    fn key(name: &str) -> PublicKey {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{name}.pub")).unwrap();
        PublicKey::from_openssh(text.trim()).unwrap()
    }

    fn line(name: &str, key_name: &str) -> String {
        let k = PublicKey::new(key(key_name).key_data().clone(), "");
        format!("{name} {}\n", k.to_openssh().unwrap())
    }

    fn target(dir: &Path, policy: KnownHostsPolicy) -> SshTarget {
        SshTarget {
            label: "web1".into(),
            hostname: "10.0.0.5".into(),
            port: 22,
            user: "ops".into(),
            identity_files: vec![],
            identities_only: false,
            known_hosts_name: "10.0.0.5".into(),
            known_hosts_files: vec![dir.join("user_known_hosts"), dir.join("global_known_hosts")],
            learn_file: dir.join("user_known_hosts"),
            policy,
            jump: None,
            proxy_command: None,
            connect_timeout: Duration::from_secs(5),
            keepalive: Duration::from_secs(15),
        }
    }

    #[test]
    fn trusted_from_global_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("global_known_hosts"),
            line("10.0.0.5", "ed25519_a"),
        )
        .unwrap();
        let t = target(dir.path(), KnownHostsPolicy::Strict);
        let outcome = verify_host_key(&t, &key("ed25519_a")).unwrap();
        assert_eq!(
            outcome,
            HostKeyOutcome::Trusted {
                at: LineRef {
                    file: dir.path().join("global_known_hosts"),
                    line: 1
                }
            }
        );
        assert_eq!(preferred_host_key_algorithms(&t), vec![Algorithm::Ed25519]);
    }

    #[test]
    fn unknown_strict_refuses_with_fingerprint_and_command() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), KnownHostsPolicy::Strict);
        let err = verify_host_key(&t, &key("ed25519_a")).unwrap_err();
        let fp = fingerprint(&key("ed25519_a"));
        assert!(
            err.message.contains("web1 (10.0.0.5:22) is not known"),
            "{err}"
        );
        assert!(err.message.contains(&format!("ED25519 {fp}")), "{err}");
        let learn = dir.path().join("user_known_hosts");
        assert!(
            err.message.contains(&format!(
                "ssh-keyscan -p 22 -t ed25519 10.0.0.5 >> {}",
                quote(&learn.display().to_string())
            )),
            "{err}"
        );
        assert!(err.message.contains("accept-new"), "{err}");
        assert_eq!(err.problem, HostKeyProblem::Unknown);
        assert!(!learn.exists(), "strict must not write");
    }

    #[test]
    fn unknown_accept_new_learns_then_trusts() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = target(dir.path(), KnownHostsPolicy::AcceptNew);
        t.port = 2222;
        let learn = dir.path().join("user_known_hosts");
        assert_eq!(
            verify_host_key(&t, &key("ed25519_b")).unwrap(),
            HostKeyOutcome::Learned {
                file: learn.clone()
            }
        );
        let text = std::fs::read_to_string(&learn).unwrap();
        assert!(text.starts_with("[10.0.0.5]:2222 ssh-ed25519 "), "{text}");
        // Second connection: known now, nothing appended.
        assert!(matches!(
            verify_host_key(&t, &key("ed25519_b")).unwrap(),
            HostKeyOutcome::Trusted { .. }
        ));
        assert_eq!(std::fs::read_to_string(&learn).unwrap(), text);
        // A different key for the learned host is a change, even under accept-new.
        let err = verify_host_key(&t, &key("ed25519_a")).unwrap_err();
        assert!(
            err.message
                .starts_with("WARNING: HOST KEY FOR web1 (10.0.0.5:2222) HAS CHANGED"),
            "{err}"
        );
    }

    #[test]
    fn learning_decides_again_under_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), KnownHostsPolicy::AcceptNew);
        // Two connections both found the host unknown before either wrote.
        let files = load_target_files(&t);
        assert_eq!(decide(&t, &files, &key("ed25519_a")), Decision::Learn);
        assert_eq!(decide(&t, &files, &key("ed25519_b")), Decision::Learn);
        assert!(matches!(
            learn(&t, &key("ed25519_a")),
            Ok(HostKeyOutcome::Learned { .. })
        ));
        // The same key again: already there, not appended twice.
        assert!(matches!(
            learn(&t, &key("ed25519_a")),
            Ok(HostKeyOutcome::Trusted { .. })
        ));
        // A different key raced in: it is a change now, refused, not learned.
        let err = learn(&t, &key("ed25519_b")).unwrap_err();
        assert!(err.message.contains("HAS CHANGED"), "{err}");
        assert_eq!(err.problem, HostKeyProblem::Changed);
        let text = std::fs::read_to_string(&t.learn_file).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        // Threads racing through verify_host_key end with one line too.
        let t2 = SshTarget {
            hostname: "10.0.0.6".into(),
            known_hosts_name: "10.0.0.6".into(),
            ..t.clone()
        };
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    barrier.wait();
                    verify_host_key(&t2, &key("ecdsa256")).unwrap()
                });
            }
        });
        let text = std::fs::read_to_string(&t.learn_file).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn changed_is_refused_loudly_under_both_policies() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user_known_hosts");
        std::fs::write(
            &user,
            format!("# comment\n{}", line("10.0.0.5", "ed25519_a")),
        )
        .unwrap();
        for policy in [KnownHostsPolicy::Strict, KnownHostsPolicy::AcceptNew] {
            let t = target(dir.path(), policy);
            let err = verify_host_key(&t, &key("ed25519_b")).unwrap_err();
            assert!(err.message.contains("HAS CHANGED"), "{err}");
            assert!(
                err.message
                    .contains(&format!("{}:2 holds ED25519", user.display())),
                "{err}"
            );
            assert!(
                err.message.contains(&fingerprint(&key("ed25519_a"))),
                "{err}"
            );
            assert!(
                err.message.contains(&fingerprint(&key("ed25519_b"))),
                "{err}"
            );
            assert!(err.message.contains("eavesdropping"), "{err}");
            assert!(err.message.contains("ssh-keygen -R 10.0.0.5 -f "), "{err}");
        }
        // Nothing was appended by accept-new.
        assert_eq!(std::fs::read_to_string(&user).unwrap().lines().count(), 2);
        // Only another type known: still a change (OpenSSH agrees).
        let t = target(dir.path(), KnownHostsPolicy::AcceptNew);
        let err = verify_host_key(&t, &key("rsa2048")).unwrap_err();
        assert!(
            err.message.contains("only a key of another type is known"),
            "{err}"
        );
    }

    #[test]
    fn revoked_is_refused_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let global = dir.path().join("global_known_hosts");
        std::fs::write(&global, format!("@revoked {}", line("*", "ecdsa256"))).unwrap();
        std::fs::write(
            dir.path().join("user_known_hosts"),
            line("10.0.0.5", "ecdsa256"),
        )
        .unwrap();
        for policy in [KnownHostsPolicy::Strict, KnownHostsPolicy::AcceptNew] {
            let err = verify_host_key(&target(dir.path(), policy), &key("ecdsa256")).unwrap_err();
            assert!(err.message.contains("REVOKED"), "{err}");
            assert_eq!(err.problem, HostKeyProblem::Revoked);
            assert!(
                err.message.contains(&format!("{}:1", global.display())),
                "{err}"
            );
        }
    }

    #[test]
    fn non_default_port_falls_back_to_bare_host_match_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("user_known_hosts"),
            line("10.0.0.5", "ed25519_a"),
        )
        .unwrap();
        let mut t = target(dir.path(), KnownHostsPolicy::Strict);
        t.port = 2222;
        assert!(matches!(
            verify_host_key(&t, &key("ed25519_a")).unwrap(),
            HostKeyOutcome::Trusted { .. }
        ));
        // A different key under the bare name does not make [host]:port "changed".
        let err = verify_host_key(&t, &key("ed25519_b")).unwrap_err();
        assert!(err.message.contains("is not known"), "{err}");
        assert!(
            err.message
                .contains("ssh-keyscan -p 2222 -t ed25519 10.0.0.5"),
            "{err}"
        );
    }

    #[test]
    fn host_key_alias_is_looked_up_without_port() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("user_known_hosts"),
            line("backend-vip", "ed25519_a"),
        )
        .unwrap();
        let mut t = target(dir.path(), KnownHostsPolicy::Strict);
        t.port = 2222;
        t.known_hosts_name = "backend-vip".into();
        assert!(matches!(
            verify_host_key(&t, &key("ed25519_a")).unwrap(),
            HostKeyOutcome::Trusted { .. }
        ));
        let err = verify_host_key(&t, &key("ecdsa256")).unwrap_err();
        assert!(err.message.contains("HAS CHANGED"), "{err}");
        assert!(err.message.contains("ssh-keygen -R backend-vip"), "{err}");
        // Unknown alias: the suggestion is the exact line, keyed by the alias.
        t.known_hosts_name = "other-vip".into();
        let err = verify_host_key(&t, &key("ecdsa256")).unwrap_err();
        assert!(
            err.message.contains(": other-vip ecdsa-sha2-nistp256 AAAA"),
            "{err}"
        );
        t.policy = KnownHostsPolicy::AcceptNew;
        verify_host_key(&t, &key("ecdsa256")).unwrap();
        let text = std::fs::read_to_string(dir.path().join("user_known_hosts")).unwrap();
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("other-vip ecdsa-sha2-nistp256 "),
            "{text}"
        );
    }

    #[test]
    fn cert_authority_only_host_is_unknown_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("user_known_hosts"),
            format!("@cert-authority {}", line("10.0.0.*", "ed25519_b")),
        )
        .unwrap();
        let t = target(dir.path(), KnownHostsPolicy::Strict);
        let err = verify_host_key(&t, &key("ed25519_b")).unwrap_err();
        assert!(err.message.contains("is not known"), "{err}");
        assert!(
            err.message.contains("does not support host certificates"),
            "{err}"
        );
    }

    #[test]
    fn learn_failure_is_an_error_not_a_silent_accept() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = target(dir.path(), KnownHostsPolicy::AcceptNew);
        // The learn file's parent is a regular file: it cannot be created.
        std::fs::write(dir.path().join("blocker"), "").unwrap();
        t.learn_file = dir.path().join("blocker/known_hosts");
        let err = verify_host_key(&t, &key("ed25519_a")).unwrap_err();
        assert!(err.message.contains("cannot record the host key"), "{err}");
    }
}
