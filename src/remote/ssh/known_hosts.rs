//! known_hosts files with OpenSSH's semantics: markers (`@revoked`, `@cert-authority`),
//! hashed names (`|1|salt|hash`), `*`/`?` wildcards, `!` negation, `[host]:port` names
//! and several files read in order (user files, then the global one).
//!
//! The verdict follows OpenSSH 9.x (`hostfile.c`, checked against a live `sshd` on this
//! machine):
//! - only lines whose host field matches the looked-up name count (this includes
//!   `@revoked` lines: a revocation is scoped by its host patterns, as in OpenSSH);
//! - a matching `@revoked` line with the offered key wins over everything;
//! - a plain line with the offered key makes the host trusted;
//! - plain lines for the host that all hold other keys make the key *changed*, whatever
//!   their type (OpenSSH says "REMOTE HOST IDENTIFICATION HAS CHANGED" even when only a
//!   key of another algorithm is known);
//! - otherwise the key is unknown. `@cert-authority` lines never match a plain key
//!   (opsctl does not do host certificates).
//!
//! Parsing is a pure function over text ([`KnownHostsFile::parse`], or
//! [`KnownHostsFile::parse_for_names`] which decodes only the keys of the looked-up
//! host's lines: the fast path for one check). The IO is [`KnownHostsFile::load`] /
//! [`load_files`] and, for accept-new, [`append_known_host`] / [`LearnLock`].
//!
//! Differences from `ssh-keygen -F` (see tests/known_hosts.rs): it lists lines whose
//! key does not decode (we skip them, as `ssh` does) and does not lowercase the query
//! for hashed names (`ssh` and we do).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

pub use super::pattern::{PatternMatch, glob_match, match_pattern_list};

/// The port OpenSSH looks up as the bare host name.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// What a line's leading `@marker` says about its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// No marker: the key is a host key of the matching hosts.
    HostKey,
    /// `@cert-authority`: the key signs host certificates (unsupported by opsctl).
    CertAuthority,
    /// `@revoked`: the key must never be accepted for the matching hosts.
    Revoked,
}

/// The host field of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostField {
    /// `|1|salt|hash`: HMAC-SHA1 of the name, keyed with the salt.
    Hashed { salt: [u8; 20], hash: [u8; 20] },
    /// Comma-separated patterns, as written.
    Patterns(String),
}

impl HostField {
    /// Whether `name` (already in lookup form: lowercase, `[host]:port` for non-22
    /// ports) is covered by this field. A negated pattern that matches makes the whole
    /// field not match.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            HostField::Hashed { salt, hash } => hashed_name(salt, name) == *hash,
            HostField::Patterns(list) => match_pattern_list(name, list) == PatternMatch::Positive,
        }
    }
}

/// One valid line of a known_hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHostLine {
    /// 1-based line number in its file.
    pub line: usize,
    pub marker: Marker,
    pub hosts: HostField,
    pub key: PublicKey,
}

/// A line that was not understood and is ignored (OpenSSH ignores them too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    pub line: usize,
    pub reason: String,
}

/// A parsed known_hosts file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownHostsFile {
    pub path: PathBuf,
    pub lines: Vec<KnownHostLine>,
    pub skipped: Vec<SkippedLine>,
}

impl KnownHostsFile {
    /// Parses the text of a known_hosts file. Never fails: lines that cannot be
    /// understood are listed in `skipped`.
    pub fn parse(path: impl Into<PathBuf>, text: &str) -> KnownHostsFile {
        KnownHostsFile::parse_lines(path.into(), text, None)
    }

    /// Like [`KnownHostsFile::parse`], but keeps only the lines covering one of `names`
    /// (lookup form, see [`lookup_name`]), and decodes only their keys: for a host-key
    /// check this gives the same verdict at a fraction of the cost on large files.
    /// Lines of other hosts are neither kept nor checked for a malformed key.
    pub fn parse_for_names(
        path: impl Into<PathBuf>,
        text: &str,
        names: &[String],
    ) -> KnownHostsFile {
        let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        KnownHostsFile::parse_lines(path.into(), text, Some(&names))
    }

    fn skip(&mut self, line: usize, problem: LineProblem) {
        self.skipped.push(SkippedLine {
            line,
            reason: problem.to_string(),
        });
    }

    fn parse_lines(path: PathBuf, text: &str, names: Option<&[String]>) -> KnownHostsFile {
        let mut file = KnownHostsFile {
            path,
            ..KnownHostsFile::default()
        };
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let head = match parse_head(raw) {
                Ok(Some(head)) => head,
                Ok(None) => continue,
                Err(problem) => {
                    file.skip(line, problem);
                    continue;
                }
            };
            if let Some(names) = names {
                match names.iter().try_fold(false, |hit, n| {
                    Ok::<bool, LineProblem>(hit || raw_field_matches(head.hosts, n)?)
                }) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(problem) => {
                        file.skip(line, problem);
                        continue;
                    }
                }
            }
            let hosts = match parse_host_field(head.hosts) {
                Ok(hosts) => hosts,
                Err(problem) => {
                    file.skip(line, problem);
                    continue;
                }
            };
            match PublicKey::from_openssh(&format!("{} {}", head.key_type, head.key_data)) {
                Ok(key) => file.lines.push(KnownHostLine {
                    line,
                    marker: head.marker,
                    hosts,
                    key,
                }),
                Err(e) => file.skipped.push(SkippedLine {
                    line,
                    reason: format!("bad {} key: {e}", head.key_type),
                }),
            }
        }
        file
    }

    /// Reads and parses a file. A missing file is an empty one (like OpenSSH); other
    /// read errors (permissions, a directory) are returned.
    pub fn load(path: &Path) -> io::Result<KnownHostsFile> {
        KnownHostsFile::load_with(path, None)
    }

    /// [`KnownHostsFile::load`] keeping only lines for `names`, as in
    /// [`KnownHostsFile::parse_for_names`].
    pub fn load_for_names(path: &Path, names: &[String]) -> io::Result<KnownHostsFile> {
        KnownHostsFile::load_with(path, Some(names))
    }

    fn load_with(path: &Path, names: Option<&[String]>) -> io::Result<KnownHostsFile> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&bytes);
        let file = match names {
            Some(names) => KnownHostsFile::parse_for_names(path, &text, names),
            None => KnownHostsFile::parse(path, &text),
        };
        for skipped in &file.skipped {
            tracing::debug!(
                file = %path.display(),
                line = skipped.line,
                reason = %skipped.reason,
                "known_hosts line ignored"
            );
        }
        Ok(file)
    }

    /// Lines whose host field covers `name` (lookup form, see [`lookup_name`]), in
    /// file order, whatever their marker.
    pub fn matching_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a KnownHostLine> {
        self.lines.iter().filter(move |l| l.hosts.matches(name))
    }
}

/// Loads files in order, skipping (with a warning) those that cannot be read, so one
/// unreadable global file does not lock the user out of hosts known elsewhere.
pub fn load_files(paths: &[PathBuf]) -> Vec<KnownHostsFile> {
    load_files_with(paths, None)
}

/// [`load_files`] keeping only the lines for `names` (see
/// [`KnownHostsFile::parse_for_names`]): what a host-key check needs.
pub fn load_files_for_names(paths: &[PathBuf], names: &[String]) -> Vec<KnownHostsFile> {
    load_files_with(paths, Some(names))
}

fn load_files_with(paths: &[PathBuf], names: Option<&[String]>) -> Vec<KnownHostsFile> {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        match KnownHostsFile::load_with(path, names) {
            Ok(file) => files.push(file),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read known_hosts file")
            }
        }
    }
    files
}

/// A line split into its parts, the key not yet decoded.
struct LineHead<'a> {
    marker: Marker,
    hosts: &'a str,
    key_type: &'a str,
    key_data: &'a str,
}

/// Why a known_hosts line is skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum LineProblem {
    #[error("unknown marker @{0}")]
    UnknownMarker(String),
    #[error("marker without host names")]
    NoHosts,
    #[error("no key type")]
    NoKeyType,
    #[error("no key data")]
    NoKeyData,
    #[error("unknown host hash scheme")]
    HashScheme,
    #[error("malformed hashed host")]
    MalformedHash,
    #[error("bad hashed-host salt")]
    BadSalt,
    #[error("bad hashed-host hash")]
    BadHash,
}

/// The parts of a line, `None` for blank and comment lines.
fn parse_head(raw: &str) -> Result<Option<LineHead<'_>>, LineProblem> {
    let rest = raw.trim_start_matches([' ', '\t']);
    if rest.is_empty() || rest.starts_with('#') || rest.trim().is_empty() {
        return Ok(None);
    }
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let mut first = fields.next().unwrap_or_default();
    let marker = if let Some(name) = first.strip_prefix('@') {
        let marker = match name {
            "cert-authority" => Marker::CertAuthority,
            "revoked" => Marker::Revoked,
            _ => return Err(LineProblem::UnknownMarker(name.to_string())),
        };
        first = fields.next().ok_or(LineProblem::NoHosts)?;
        marker
    } else {
        Marker::HostKey
    };
    let hosts = first;
    let key_type = fields.next().ok_or(LineProblem::NoKeyType)?;
    if key_type.starts_with('#') {
        return Err(LineProblem::NoKeyType);
    }
    let key_data = fields.next().ok_or(LineProblem::NoKeyData)?;
    Ok(Some(LineHead {
        marker,
        hosts,
        key_type,
        key_data,
    }))
}

fn parse_host_field(field: &str) -> Result<HostField, LineProblem> {
    if field.starts_with('|') {
        let (salt, hash) = parse_hashed(field)?;
        Ok(HostField::Hashed { salt, hash })
    } else {
        Ok(HostField::Patterns(field.to_string()))
    }
}

/// Whether a raw host field covers `name`, without building a [`HostField`] (the hot
/// path when scanning a large file for one host).
fn raw_field_matches(field: &str, name: &str) -> Result<bool, LineProblem> {
    if field.starts_with('|') {
        let (salt, hash) = parse_hashed(field)?;
        Ok(hashed_name(&salt, name) == hash)
    } else {
        Ok(match_pattern_list(name, field) == PatternMatch::Positive)
    }
}

/// `|1|salt|hash`. Only the `|1|` (HMAC-SHA1) scheme exists; the whole field is one
/// hashed name.
fn parse_hashed(field: &str) -> Result<([u8; 20], [u8; 20]), LineProblem> {
    let rest = field.strip_prefix("|1|").ok_or(LineProblem::HashScheme)?;
    let (salt, hash) = rest.split_once('|').ok_or(LineProblem::MalformedHash)?;
    Ok((
        decode_20(salt).ok_or(LineProblem::BadSalt)?,
        decode_20(hash).ok_or(LineProblem::BadHash)?,
    ))
}

fn decode_20(text: &str) -> Option<[u8; 20]> {
    let mut buf = [0u8; 32];
    let n = BASE64.decode_slice(text, &mut buf).ok()?;
    buf[..n].try_into().ok()
}

fn hashed_name(salt: &[u8], name: &str) -> [u8; 20] {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
        return [0; 20];
    };
    mac.update(name.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The name OpenSSH looks up for a host and port: the lowercase host, written
/// `[host]:port` unless the port is 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == DEFAULT_SSH_PORT {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// OpenSSH's key type family: ECDSA keys of every curve are one type, as in `sshkey.c`.
pub fn key_type_name(algorithm: &Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Dsa => "DSA",
        Algorithm::Ecdsa { .. } => "ECDSA",
        Algorithm::Ed25519 => "ED25519",
        Algorithm::Rsa { .. } => "RSA",
        Algorithm::SkEcdsaSha2NistP256 => "ECDSA-SK",
        Algorithm::SkEd25519 => "ED25519-SK",
        _ => "UNKNOWN",
    }
}

/// `SHA256:...` as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Where a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for LineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A key known for the host, where it is written and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub at: LineRef,
    /// OpenSSH's type name: `ED25519`, `RSA`, `ECDSA`...
    pub key_type: &'static str,
    /// `SHA256:...`
    pub fingerprint: String,
}

/// What the known_hosts files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A plain line for the host holds this key.
    Trusted { at: LineRef },
    /// A `@revoked` line for the host holds this key (wins over a trusting line).
    Revoked { at: LineRef },
    /// The host has plain lines, none with this key. `known` is the first line with a
    /// key of the offered key's type if there is one, else the first line for the host;
    /// `same_type` says which.
    Changed { known: KnownKey, same_type: bool },
    /// No plain line for the host. `cert_authority` is set when a `@cert-authority`
    /// line covers the host (certificates are not supported, so it cannot help).
    Unknown { cert_authority: Option<LineRef> },
}

/// The verdict for `key` offered by the host looked up as `name` (see [`lookup_name`]).
pub fn check(files: &[KnownHostsFile], name: &str, key: &PublicKey) -> Verdict {
    let name = name.to_ascii_lowercase();
    let offered_type = key_type_name(&key.algorithm());
    let mut trusted = None;
    let mut first_other: Option<KnownKey> = None;
    let mut first_same_type: Option<KnownKey> = None;
    let mut cert_authority = None;
    for file in files {
        for line in file.matching_lines(&name) {
            let at = LineRef {
                file: file.path.clone(),
                line: line.line,
            };
            let same_key = line.key.key_data() == key.key_data();
            match line.marker {
                Marker::Revoked if same_key => return Verdict::Revoked { at },
                Marker::Revoked => {}
                Marker::CertAuthority => {
                    cert_authority.get_or_insert(at);
                }
                Marker::HostKey if same_key => {
                    trusted.get_or_insert(at);
                }
                Marker::HostKey => {
                    let known = KnownKey {
                        at,
                        key_type: key_type_name(&line.key.algorithm()),
                        fingerprint: fingerprint(&line.key),
                    };
                    if known.key_type == offered_type && first_same_type.is_none() {
                        first_same_type = Some(known.clone());
                    }
                    first_other.get_or_insert(known);
                }
            }
        }
    }
    if let Some(at) = trusted {
        return Verdict::Trusted { at };
    }
    match (first_same_type, first_other) {
        (Some(known), _) => Verdict::Changed {
            known,
            same_type: true,
        },
        (None, Some(known)) => Verdict::Changed {
            known,
            same_type: false,
        },
        (None, None) => Verdict::Unknown { cert_authority },
    }
}

/// Key algorithms of the plain keys known for `name`, first-seen first, for ordering
/// the client's host-key algorithm preferences the way OpenSSH does (so a server with
/// several host keys offers the one already known instead of looking "changed").
/// RSA keys yield `rsa-sha2-512` and `rsa-sha2-256`.
pub fn known_algorithms(files: &[KnownHostsFile], name: &str) -> Vec<Algorithm> {
    let name = name.to_ascii_lowercase();
    let mut out: Vec<Algorithm> = Vec::new();
    for file in files {
        for line in file.matching_lines(&name) {
            if line.marker != Marker::HostKey {
                continue;
            }
            let algorithms = match line.key.algorithm() {
                Algorithm::Rsa { .. } => vec![
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha512),
                    },
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha256),
                    },
                ],
                other => vec![other],
            };
            for algorithm in algorithms {
                if !out.contains(&algorithm) {
                    out.push(algorithm);
                }
            }
        }
    }
    out
}

/// Appends `host` (or `[host]:port`) with `key` to `file`, as OpenSSH's accept-new
/// does: the name lowercase and unhashed, the key without its comment. Creates the
/// file (0600) and its directory (0700) when missing; never rewrites existing lines;
/// starts a new line first if the file does not end with one.
pub fn append_known_host(file: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    check_host_for_writing(host)?;
    LearnLock::acquire(file)?.append(host, port, key)
}

/// An exclusive lock (`flock`) on a known_hosts file, held while deciding to learn a
/// key and appending it, so concurrent connections to one new host (a bastion used by
/// a whole fleet sweep) append it once, and never two different keys. Other opsctl
/// processes honour it too; OpenSSH does not lock, but only ever appends.
pub struct LearnLock {
    file: std::fs::File,
}

impl LearnLock {
    /// Opens (creating it 0600, and its directory 0700, if missing) and locks `path`;
    /// blocks while another holder has it.
    pub fn acquire(path: &Path) -> io::Result<LearnLock> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor owned by `file`, which outlives the lock.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(LearnLock { file })
    }

    /// Appends one line (see [`append_known_host`]). The lock is released on drop.
    pub fn append(&mut self, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
        check_host_for_writing(host)?;
        let bare = PublicKey::new(key.key_data().clone(), "");
        let key_text = bare.to_openssh().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("encoding key: {e}"))
        })?;
        let entry = format!("{} {}\n", lookup_name(host, port), key_text.trim_end());
        let needs_newline = ends_without_newline(&mut self.file)?;
        let mut data = Vec::with_capacity(entry.len() + 1);
        if needs_newline {
            data.push(b'\n');
        }
        data.extend_from_slice(entry.as_bytes());
        // One write call so a concurrent reader never sees half a line from us.
        self.file.write_all(&data)?;
        self.file.sync_all()
    }
}

/// A name that could break the line format (or inject a second line) is refused.
fn check_host_for_writing(host: &str) -> io::Result<()> {
    let bad = host.is_empty()
        || host.starts_with(['@', '|', '#', '!'])
        || host.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, ',' | '*' | '?' | '[' | ']')
        });
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to write host name {host:?} to known_hosts"),
        ));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn ends_without_newline(f: &mut std::fs::File) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/known_hosts");

    fn fixture_text(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    fn key(name: &str) -> PublicKey {
        PublicKey::from_openssh(fixture_text(&format!("{name}.pub")).trim()).unwrap()
    }

    fn file(name: &str) -> KnownHostsFile {
        KnownHostsFile::parse(format!("/kh/{name}"), &fixture_text(name))
    }

    fn at(file: &str, line: usize) -> LineRef {
        LineRef {
            file: PathBuf::from(format!("/kh/{file}")),
            line,
        }
    }

    fn lines_for(f: &KnownHostsFile, name: &str) -> Vec<usize> {
        f.matching_lines(name).map(|l| l.line).collect()
    }

    #[test]
    fn glob_wildcards() {
        assert!(glob_match("*.example.com", "a.example.com"));
        assert!(glob_match("*.example.com", "a.b.example.com"));
        assert!(!glob_match("*.example.com", "example.com"));
        assert!(glob_match("db?", "db1"));
        assert!(!glob_match("db?", "db12"));
        assert!(!glob_match("db?", "db"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("[*.ports.test]:22??", "[a.ports.test]:2200"));
        assert!(!glob_match("[*.ports.test]:22??", "[a.ports.test]:22"));
        assert!(glob_match("**x", "x"));
    }

    #[test]
    fn negation_overrides_positive_match() {
        let list = "*.example.com,!bad.example.com";
        assert_eq!(
            match_pattern_list("good.example.com", list),
            PatternMatch::Positive
        );
        assert_eq!(
            match_pattern_list("bad.example.com", list),
            PatternMatch::Negated
        );
        assert_eq!(
            match_pattern_list("BAD.Example.com", list),
            PatternMatch::Negated
        );
        assert_eq!(match_pattern_list("other.org", list), PatternMatch::None);
        // Order does not matter: a negation listed first still wins.
        assert_eq!(
            match_pattern_list("bad.example.com", "!bad.example.com,*.example.com"),
            PatternMatch::Negated
        );
    }

    #[test]
    fn lookup_name_brackets_non_default_ports() {
        assert_eq!(lookup_name("Web1.Example.com", 22), "web1.example.com");
        assert_eq!(lookup_name("web1", 2222), "[web1]:2222");
        assert_eq!(lookup_name("::1", 2222), "[::1]:2222");
    }

    #[test]
    fn parses_mixed_fixture_and_skips_malformed_lines() {
        let f = file("mixed");
        let skipped: Vec<usize> = f.skipped.iter().map(|s| s.line).collect();
        // @bogus-marker, truncated key, bad base64, type/blob mismatch, bad hash.
        assert_eq!(skipped, vec![16, 17, 18, 19, 20]);
        assert!(f.skipped[0].reason.contains("marker"), "{:?}", f.skipped[0]);
        let markers: Vec<(usize, Marker)> = f
            .lines
            .iter()
            .filter(|l| l.marker != Marker::HostKey)
            .map(|l| (l.line, l.marker))
            .collect();
        assert_eq!(
            markers,
            vec![
                (10, Marker::Revoked),
                (12, Marker::Revoked),
                (13, Marker::CertAuthority)
            ]
        );
        // Comment and blank lines are neither entries nor skipped.
        assert!(f.lines.iter().all(|l| l.line > 2));
    }

    #[test]
    fn matching_follows_patterns_case_and_ports() {
        let f = file("mixed");
        // Line 12 is `@revoked *`: it covers every name.
        assert_eq!(lines_for(&f, "web1.example.com"), vec![3, 5, 12]);
        assert_eq!(lines_for(&f, "10.0.0.5"), vec![3, 12]);
        assert_eq!(lines_for(&f, "WEB2.example.com"), vec![4, 5, 12]);
        assert_eq!(lines_for(&f, "bad.example.com"), vec![12]);
        assert_eq!(lines_for(&f, "db1.internal"), vec![6, 12]);
        assert_eq!(lines_for(&f, "db12.internal"), vec![12]);
        assert_eq!(
            lines_for(&f, &lookup_name("git.example.org", 22)),
            vec![8, 12]
        );
        assert_eq!(
            lines_for(&f, &lookup_name("git.example.org", 2222)),
            vec![7, 12]
        );
        assert_eq!(
            lines_for(&f, &lookup_name("a.ports.test", 2201)),
            vec![9, 12]
        );
        assert_eq!(lines_for(&f, "indented.test"), vec![12, 21]);
    }

    #[test]
    fn hashed_names_match_lowercased_lookup() {
        let f = file("hashed");
        assert!(f.skipped.is_empty(), "{:?}", f.skipped);
        assert_eq!(lines_for(&f, "hashed1.example.com"), vec![1]);
        assert_eq!(
            lines_for(&f, &lookup_name("HASHED1.example.com", 22)),
            vec![1]
        );
        assert_eq!(
            lines_for(&f, &lookup_name("hashed2.example.com", 2200)),
            vec![2]
        );
        assert_eq!(lines_for(&f, "hashed2.example.com"), Vec::<usize>::new());
        assert_eq!(lines_for(&f, "10.1.2.3"), vec![3]);
        assert_eq!(lines_for(&f, "10.1.2.4"), Vec::<usize>::new());
    }

    #[test]
    fn verdict_trusted_changed_unknown() {
        let files = [file("mixed")];
        assert_eq!(
            check(&files, "web1.example.com", &key("ed25519_a")),
            Verdict::Trusted { at: at("mixed", 3) }
        );
        // Also covered by the wildcard line 5 with an ECDSA key: the matching line wins.
        assert_eq!(
            check(&files, "web1.example.com", &key("ecdsa256")),
            Verdict::Trusted { at: at("mixed", 5) }
        );
        match check(&files, "web1.example.com", &key("ed25519_b")) {
            Verdict::Changed { known, same_type } => {
                assert!(same_type);
                assert_eq!(known.at, at("mixed", 3));
                assert_eq!(known.key_type, "ED25519");
                assert_eq!(known.fingerprint, fingerprint(&key("ed25519_a")));
            }
            other => panic!("{other:?}"),
        }
        // Only an RSA key is known: an ED25519 key is "changed" (as OpenSSH says).
        match check(&files, "web2.example.com", &key("ed25519_a")) {
            Verdict::Changed { known, same_type } => {
                assert!(!same_type);
                assert_eq!(known.at, at("mixed", 4));
                assert_eq!(known.key_type, "RSA");
            }
            other => panic!("{other:?}"),
        }
        // Line 12 revokes this key for every host, known or not.
        match check(&files, "db.example.com", &key("ecdsa384")) {
            Verdict::Revoked { at: a } => assert_eq!(a, at("mixed", 12)),
            other => panic!("{other:?}"),
        }
        // ECDSA keys of different curves are one type for OpenSSH.
        let p256 = KnownHostsFile::parse(
            "/kh/p256",
            &format!("e.test {}", key("ecdsa256").to_openssh().unwrap()),
        );
        match check(&[p256], "e.test", &key("ecdsa384")) {
            Verdict::Changed { known, same_type } => {
                assert!(same_type);
                assert_eq!(known.key_type, "ECDSA");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check(&files, "unknown.test", &key("ed25519_a")),
            Verdict::Unknown {
                cert_authority: None
            }
        );
        // The negated name has no plain line: unknown, not changed.
        assert_eq!(
            check(&files, "bad.example.com", &key("ecdsa256")),
            Verdict::Unknown {
                cert_authority: None
            }
        );
    }

    #[test]
    fn revoked_wins_over_trusted_and_is_scoped_by_host() {
        let files = [file("mixed")];
        assert_eq!(
            check(&files, "revoked.example.net", &key("ed25519_a")),
            Verdict::Revoked {
                at: at("mixed", 10)
            }
        );
        // Same key, other host: the revocation on line 10 does not apply (as in OpenSSH).
        assert_eq!(
            check(&files, "multi.test", &key("ed25519_a")),
            Verdict::Trusted {
                at: at("mixed", 14)
            }
        );
        // A revocation in a later file still wins over a trusting earlier file.
        let user = KnownHostsFile::parse(
            "/kh/user",
            &format!("host.test {}", key("ecdsa384").to_openssh().unwrap()),
        );
        assert_eq!(
            check(&[user, file("mixed")], "host.test", &key("ecdsa384")),
            Verdict::Revoked {
                at: at("mixed", 12)
            }
        );
    }

    #[test]
    fn filtered_parse_gives_the_same_verdicts() {
        let text = fixture_text("mixed");
        let full = [file("mixed")];
        let names = [
            "web1.example.com",
            "10.0.0.5",
            "web2.example.com",
            "bad.example.com",
            "db1.internal",
            "[git.example.org]:2222",
            "revoked.example.net",
            "x.ca.example",
            "multi.test",
            "broken2.test",
            "nothing.test",
        ];
        let keys = ["ed25519_a", "ed25519_b", "ecdsa256", "ecdsa384", "rsa2048"].map(key);
        for name in names {
            let filtered = [KnownHostsFile::parse_for_names(
                "/kh/mixed",
                &text,
                &[name.to_string()],
            )];
            assert!(filtered[0].lines.len() < full[0].lines.len());
            for k in &keys {
                assert_eq!(check(&filtered, name, k), check(&full, name, k), "{name}");
            }
            assert_eq!(
                known_algorithms(&filtered, name),
                known_algorithms(&full, name)
            );
        }
    }

    #[test]
    fn cert_authority_lines_never_trust_a_plain_key() {
        let files = [file("mixed")];
        assert_eq!(
            check(&files, "x.ca.example", &key("ed25519_b")),
            Verdict::Unknown {
                cert_authority: Some(at("mixed", 13))
            }
        );
    }

    #[test]
    fn several_keys_per_host() {
        let files = [file("mixed")];
        assert_eq!(
            check(&files, "multi.test", &key("rsa2048")),
            Verdict::Trusted {
                at: at("mixed", 15)
            }
        );
        assert_eq!(
            known_algorithms(&files, "multi.test"),
            vec![
                Algorithm::Ed25519,
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512)
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256)
                },
            ]
        );
    }

    #[test]
    fn files_are_read_in_order() {
        let a = KnownHostsFile::parse(
            "/kh/a",
            &format!("h.test {}", key("ed25519_a").to_openssh().unwrap()),
        );
        let b = KnownHostsFile::parse(
            "/kh/b",
            &format!("h.test {}", key("ed25519_b").to_openssh().unwrap()),
        );
        let files = [a, b];
        assert_eq!(
            check(&files, "h.test", &key("ed25519_b")),
            Verdict::Trusted { at: at("b", 1) }
        );
        match check(&files, "h.test", &key("ecdsa256")) {
            Verdict::Changed { known, .. } => assert_eq!(known.at, at("a", 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // fingerprints.txt is `ssh-keygen -l -E sha256 -f KEY.pub` for each fixture key.
        let listing = fixture_text("fingerprints.txt");
        let mut seen = 0;
        for line in listing.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let k = match fields[2] {
                "host-a-ed25519" => key("ed25519_a"),
                "host-b-ed25519" => key("ed25519_b"),
                "ecdsa256" => key("ecdsa256"),
                "ecdsa384" => key("ecdsa384"),
                "rsa2048" => key("rsa2048"),
                other => panic!("unexpected {other}"),
            };
            assert_eq!(fingerprint(&k), fields[1]);
            assert_eq!(format!("({})", key_type_name(&k.algorithm())), fields[3]);
            seen += 1;
        }
        assert_eq!(seen, 5);
    }

    #[test]
    fn missing_file_is_empty_and_garbage_never_panics() {
        let f = KnownHostsFile::load(Path::new("/nonexistent/opsctl/known_hosts")).unwrap();
        assert!(f.lines.is_empty() && f.skipped.is_empty());
        for text in [
            "@",
            "@revoked",
            "|1|",
            "|1|a|b c d",
            "h ssh-ed25519 #",
            "\u{0}\u{1}",
            " \t ",
        ] {
            let f = KnownHostsFile::parse("/x", text);
            assert!(f.lines.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn append_creates_private_file_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/.ssh/known_hosts");
        append_known_host(&path, "Web9.Example.com", 22, &key("ed25519_a")).unwrap();
        append_known_host(&path, "web9.example.com", 2222, &key("rsa2048")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("web9.example.com ssh-ed25519 "),
            "{first}"
        );
        assert!(
            !first.contains("host-a-ed25519"),
            "comment must not be copied"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dmode, 0o700);
        }
        let files = load_files(std::slice::from_ref(&path));
        assert_eq!(
            check(
                &files,
                &lookup_name("web9.example.com", 22),
                &key("ed25519_a")
            ),
            Verdict::Trusted {
                at: LineRef {
                    file: path.clone(),
                    line: 1
                }
            }
        );
        assert!(matches!(
            check(
                &files,
                &lookup_name("web9.example.com", 2222),
                &key("rsa2048")
            ),
            Verdict::Trusted { .. }
        ));
    }

    #[test]
    fn append_keeps_existing_lines_and_fixes_missing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let original = fixture_text("no_trailing_newline");
        assert!(!original.ends_with('\n'));
        std::fs::write(&path, &original).unwrap();
        append_known_host(&path, "new.test", 22, &key("ed25519_b")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&original));
        let f = KnownHostsFile::parse(&path, &text);
        assert!(f.skipped.is_empty(), "{:?}", f.skipped);
        assert_eq!(lines_for(&f, "nonewline.test"), vec![1]);
        assert_eq!(lines_for(&f, "new.test"), vec![2]);
    }

    #[test]
    fn append_refuses_names_that_break_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        for bad in ["a b", "a\nevil.test", "*.x", "a,b", "@revoked", "|1|x", ""] {
            let err = append_known_host(&path, bad, 22, &key("ed25519_a")).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(!path.exists());
    }

    /// The glob as a regex, for checking the backtracking matcher.
    fn glob_as_regex(pattern: &str) -> regex::Regex {
        let mut re = String::from("(?is)^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn glob_agrees_with_a_regex(pattern in "[ab*?.\\[\\]:]{0,8}", text in "[abAB.\\[\\]:]{0,10}") {
            proptest::prop_assert_eq!(
                glob_match(&pattern, &text),
                glob_as_regex(&pattern).is_match(&text),
                "pattern {:?} text {:?}", pattern, text
            );
        }

        #[test]
        fn parsing_never_panics(text in "(@revoked |@cert-authority |\\|1\\|)?[ -~\t|,!*?]{0,60}(\n[ -~]{0,40}){0,3}") {
            let f = KnownHostsFile::parse("/p", &text);
            let g = KnownHostsFile::parse_for_names("/p", &text, &["a".to_string(), "[a]:2".to_string()]);
            for name in ["a", "[a]:2"] {
                let k = PublicKey::from_openssh(
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICeEt0oP3Asc1noBkFHYgUyhpIlnTa+xJvAvRNe12JfE",
                ).unwrap();
                proptest::prop_assert_eq!(check(std::slice::from_ref(&g), name, &k), check(std::slice::from_ref(&f), name, &k));
            }
        }
    }
}
