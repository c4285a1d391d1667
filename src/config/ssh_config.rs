//! What OpenSSH's configuration says about a host: resolved by `ssh -G` when the
//! OpenSSH client is installed (so `Include`, `Match`, canonicalisation and every
//! other rule behave exactly as for `ssh`), else by a small fallback reader of
//! `~/.ssh/config` and `/etc/ssh/ssh_config` that understands `Host` blocks only.
//!
//! [`parse_ssh_g`] and [`parse_fallback`] are pure; [`resolve`] / [`resolve_with`] run
//! `ssh -G` (argv, no shell, bounded by a timeout) or read the files.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

use super::KnownHostsPolicy;
use crate::remote::ssh::pattern::{PatternMatch, match_patterns};

/// `ssh -G` normally answers in milliseconds; a `Match exec` can take longer.
pub const DEFAULT_SSH_G_TIMEOUT: Duration = Duration::from_secs(5);

/// The host's settings after applying OpenSSH's configuration (and the `-l`/`-p`
/// overrides passed to [`resolve`], which win over the files as on `ssh`'s command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfigResolved {
    /// What to connect to (HostName, else the alias).
    pub hostname: String,
    pub user: String,
    pub port: u16,
    /// In order; `~` and `%` tokens expanded. OpenSSH's default files (`~/.ssh/id_rsa`,
    /// `id_ecdsa`, `id_ed25519`, ...) are listed when none is configured; files that do
    /// not exist are for the caller to skip.
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    /// `ProxyJump`, as written (`[user@]host[:port]`, comma-separated for a chain).
    pub proxy_jump: Option<String>,
    /// `ProxyCommand`, as written (`%h`, `%p`, ... not yet expanded).
    pub proxy_command: Option<String>,
    pub user_known_hosts_files: Vec<PathBuf>,
    pub global_known_hosts_files: Vec<PathBuf>,
    pub strict_host_key_checking: StrictHostKeyChecking,
    pub host_key_alias: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub server_alive_interval: Option<Duration>,
    pub resolved_by: ResolvedBy,
}

impl SshConfigResolved {
    /// known_hosts files to read, in OpenSSH's order: user files, then global ones.
    pub fn known_hosts_files(&self) -> Vec<PathBuf> {
        self.user_known_hosts_files
            .iter()
            .chain(&self.global_known_hosts_files)
            .cloned()
            .collect()
    }

    /// Where OpenSSH writes learned keys: the first user known_hosts file.
    pub fn learn_file(&self) -> PathBuf {
        self.user_known_hosts_files
            .first()
            .cloned()
            .unwrap_or_else(|| LocalIdentity::current().home.join(".ssh/known_hosts"))
    }

    /// The name to look up in known_hosts: HostKeyAlias, else the host name.
    pub fn known_hosts_name(&self) -> &str {
        self.host_key_alias.as_deref().unwrap_or(&self.hostname)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrictHostKeyChecking {
    /// `yes`: unknown hosts are refused.
    Yes,
    /// `ask` (OpenSSH's default): the user is asked; opsctl cannot ask, so strict.
    #[default]
    Ask,
    /// `accept-new`: unknown hosts are learned, changed keys refused.
    AcceptNew,
    /// `no`/`off`: OpenSSH accepts new keys (and some changed ones).
    No,
}

impl StrictHostKeyChecking {
    fn parse(value: &str) -> Option<StrictHostKeyChecking> {
        match value.to_ascii_lowercase().as_str() {
            "yes" | "true" => Some(StrictHostKeyChecking::Yes),
            "ask" => Some(StrictHostKeyChecking::Ask),
            "accept-new" => Some(StrictHostKeyChecking::AcceptNew),
            "no" | "false" | "off" => Some(StrictHostKeyChecking::No),
            _ => None,
        }
    }

    /// The opsctl policy closest to this setting without weakening it: `no` becomes
    /// `accept-new` (a changed key is always refused by opsctl), `ask` becomes strict.
    pub fn as_policy(self) -> KnownHostsPolicy {
        match self {
            StrictHostKeyChecking::Yes | StrictHostKeyChecking::Ask => KnownHostsPolicy::Strict,
            StrictHostKeyChecking::AcceptNew | StrictHostKeyChecking::No => {
                KnownHostsPolicy::AcceptNew
            }
        }
    }
}

/// How the settings were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedBy {
    /// `ssh -G`: exactly what `ssh` would use.
    SshG,
    /// The fallback reader; `unsupported` lists what it ignored (`Include`, `Match`
    /// blocks) with file and line, so a caller can warn that the result may differ
    /// from `ssh`'s.
    Fallback { unsupported: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshConfigError {
    #[error("ssh -G {alias} failed{}: {stderr}", status.map(|s| format!(" (exit {s})")).unwrap_or_default())]
    SshG {
        alias: String,
        status: Option<i32>,
        stderr: String,
    },
    #[error(
        "ssh -G {alias} did not answer within {}s (a `Match exec` in the ssh configuration?)",
        after.as_secs_f64()
    )]
    Timeout { alias: String, after: Duration },
    #[error("ssh -G {alias}: {reason}")]
    Output { alias: String, reason: String },
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    BadRequest(String),
}

/// How to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Read only this file (`ssh -F`), instead of `~/.ssh/config` and `/etc/ssh/ssh_config`.
    pub config_file: Option<PathBuf>,
    /// Bound on `ssh -G`.
    pub timeout: Duration,
    /// The OpenSSH client to run; `None` forces the fallback reader.
    pub ssh_program: Option<PathBuf>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            config_file: None,
            timeout: DEFAULT_SSH_G_TIMEOUT,
            ssh_program: Some(PathBuf::from("ssh")),
        }
    }
}

/// Resolves `alias` (a host name or ssh_config `Host` alias) the way `ssh` would, with
/// `user` and `port` as `ssh -l user -p port` (they win over the configuration).
///
/// Blocking (runs a process for up to [`DEFAULT_SSH_G_TIMEOUT`]): from async code call
/// it through `tokio::task::spawn_blocking`.
pub fn resolve(
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
) -> Result<SshConfigResolved, SshConfigError> {
    resolve_with(alias, user, port, &ResolveOptions::default())
}

/// [`resolve`] with explicit options. When the ssh program cannot be started (not
/// installed) the fallback reader is used; when it runs and fails (a configuration
/// error), that error is returned rather than guessed around.
pub fn resolve_with(
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    options: &ResolveOptions,
) -> Result<SshConfigResolved, SshConfigError> {
    check_request(alias, user)?;
    let local = LocalIdentity::current();
    if let Some(program) = &options.ssh_program {
        match run_ssh_g(program, alias, user, port, options) {
            Ok(output) => {
                return parse_ssh_g(&output, alias, &local).map_err(|reason| {
                    SshConfigError::Output {
                        alias: alias.to_string(),
                        reason: reason.to_string(),
                    }
                });
            }
            Err(SshGFailure::NotInstalled) => {
                tracing::debug!(program = %program.display(), "ssh not found; reading ssh_config directly")
            }
            Err(SshGFailure::Failed(e)) => return Err(e),
        }
    }
    let paths = match &options.config_file {
        Some(path) => vec![path.clone()],
        None => vec![
            local.home.join(".ssh/config"),
            PathBuf::from("/etc/ssh/ssh_config"),
        ],
    };
    let mut files = Vec::new();
    for path in paths {
        match std::fs::read(&path) {
            Ok(bytes) => files.push((path, String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(SshConfigError::Io(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    }
    let resolved = parse_fallback(&files, alias, user, port, &local);
    if let ResolvedBy::Fallback { unsupported } = &resolved.resolved_by {
        for what in unsupported {
            tracing::warn!(alias, what = %what, "ssh_config feature not supported without the ssh client; ignored");
        }
    }
    Ok(resolved)
}

fn check_request(alias: &str, user: Option<&str>) -> Result<(), SshConfigError> {
    let bad = |s: &str| {
        s.is_empty() || s.starts_with('-') || s.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if bad(alias) {
        return Err(SshConfigError::BadRequest(format!(
            "not a host name: {alias:?}"
        )));
    }
    if let Some(user) = user
        && bad(user)
    {
        return Err(SshConfigError::BadRequest(format!(
            "not a user name: {user:?}"
        )));
    }
    Ok(())
}

enum SshGFailure {
    NotInstalled,
    Failed(SshConfigError),
}

fn run_ssh_g(
    program: &Path,
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    options: &ResolveOptions,
) -> Result<String, SshGFailure> {
    let mut cmd = Command::new(program);
    cmd.arg("-G");
    if let Some(file) = &options.config_file {
        cmd.arg("-F").arg(file);
    }
    if let Some(user) = user {
        cmd.arg("-l").arg(user);
    }
    if let Some(port) = port {
        cmd.arg("-p").arg(port.to_string());
    }
    cmd.arg("--").arg(alias);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a timed-out `Match exec` child dies with it.
        cmd.process_group(0);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SshGFailure::NotInstalled);
        }
        Err(e) => {
            return Err(SshGFailure::Failed(SshConfigError::Io(format!(
                "cannot run {}: {e}",
                program.display()
            ))));
        }
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + options.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                #[cfg(unix)]
                // SAFETY: signalling the process group of the child we spawned above.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(SshGFailure::Failed(SshConfigError::Timeout {
                    alias: alias.to_string(),
                    after: options.timeout,
                }));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                return Err(SshGFailure::Failed(SshConfigError::Io(format!(
                    "waiting for ssh -G: {e}"
                ))));
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr
            .lines()
            .filter(|l| !l.starts_with("Pseudo-terminal will not be allocated"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SshGFailure::Failed(SshConfigError::SshG {
            alias: alias.to_string(),
            status: status.code(),
            stderr,
        }));
    }
    String::from_utf8(stdout).map_err(|_| {
        SshGFailure::Failed(SshConfigError::Output {
            alias: alias.to_string(),
            reason: "output is not UTF-8".to_string(),
        })
    })
}

/// Reads a pipe to the end on its own thread (so neither pipe can fill and block ssh).
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Parses `ssh -G` output (`keyword value` lines, keywords lowercase). `alias` is the
/// name given to `ssh` (for `%n`). `identityfile` values are printed unexpanded by
/// `ssh -G`, so `~` and `%` tokens are expanded here; known_hosts paths come expanded.
/// `ssh -G` output without what every host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadSshGOutput(&'static str);

pub fn parse_ssh_g(
    output: &str,
    alias: &str,
    local: &LocalIdentity,
) -> Result<SshConfigResolved, BadSshGOutput> {
    let mut values: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in output.lines() {
        let line = line.trim_end();
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        values.entry(key).or_default().push(value);
    }
    let first = |key: &str| values.get(key).and_then(|v| v.first().copied());
    let hostname = first("hostname")
        .ok_or(BadSshGOutput("no hostname in the output"))?
        .to_string();
    let user = first("user")
        .ok_or(BadSshGOutput("no user in the output"))?
        .to_string();
    let port = first("port")
        .ok_or(BadSshGOutput("no port in the output"))?
        .parse::<u16>()
        .map_err(|_| BadSshGOutput("bad port in the output"))?;
    let host_key_alias = first("hostkeyalias").map(str::to_string);
    let tokens = Tokens {
        alias,
        hostname: &hostname,
        port,
        user: &user,
        host_key_alias: host_key_alias.as_deref(),
        local,
    };
    let identity_files = values
        .get("identityfile")
        .map(|v| v.iter().map(|f| tokens.expand_path(f)).collect())
        .unwrap_or_default();
    let path_list = |key: &str| -> Vec<PathBuf> {
        first(key)
            .map(|v| {
                v.split_whitespace()
                    .map(|f| tokens.expand_path(f))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(SshConfigResolved {
        identity_files,
        identities_only: first("identitiesonly").is_some_and(is_yes),
        proxy_jump: first("proxyjump")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(str::to_string),
        proxy_command: first("proxycommand")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(str::to_string),
        user_known_hosts_files: path_list("userknownhostsfile"),
        global_known_hosts_files: path_list("globalknownhostsfile"),
        strict_host_key_checking: first("stricthostkeychecking")
            .and_then(StrictHostKeyChecking::parse)
            .unwrap_or_default(),
        host_key_alias,
        connect_timeout: first("connecttimeout").and_then(seconds),
        server_alive_interval: first("serveraliveinterval").and_then(seconds),
        hostname,
        user,
        port,
        resolved_by: ResolvedBy::SshG,
    })
}

fn is_yes(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "yes" | "true")
}

/// A positive number of seconds; `none` and `0` mean unset.
fn seconds(value: &str) -> Option<Duration> {
    value
        .parse::<u64>()
        .ok()
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
}

/// OpenSSH's defaults when the configuration names no identity file.
const DEFAULT_IDENTITY_FILES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

/// The fallback reader: `Host` blocks (patterns, `!` negation, `*`/`?`), options before
/// the first `Host`, first value wins (IdentityFile accumulates), files read in order.
/// `Include` and `Match` are not supported: they are skipped (a `Match` block's options
/// are not applied) and listed in `resolved_by`.
pub fn parse_fallback(
    files: &[(PathBuf, String)],
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    local: &LocalIdentity,
) -> SshConfigResolved {
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    let mut identity_files: Vec<String> = Vec::new();
    let mut unsupported = Vec::new();
    for (path, text) in files {
        // Options before the first Host apply to every host.
        let mut active = true;
        for (index, raw) in text.lines().enumerate() {
            let Some((keyword, args)) = split_config_line(raw) else {
                continue;
            };
            let at = format!("{}:{}", path.display(), index + 1);
            match keyword.as_str() {
                "host" => active = host_block_matches(&args, alias),
                "match" => {
                    unsupported.push(format!("Match at {at}"));
                    active = false;
                }
                "include" => {
                    if active {
                        unsupported.push(format!("Include at {at}"));
                    }
                }
                _ if !active => {}
                "identityfile" => identity_files.extend(args.first().cloned()),
                // The rest of the line is one shell command, quotes and all.
                "proxycommand" => {
                    let rest = raw.trim_start();
                    let rest = rest[keyword.len()..].trim_start();
                    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
                    found
                        .entry(keyword)
                        .or_insert_with(|| vec![rest.to_string()]);
                }
                _ => {
                    found.entry(keyword).or_insert(args);
                }
            }
        }
    }
    let first = |key: &str| found.get(key).and_then(|v| v.first()).map(String::as_str);
    let hostname = first("hostname").map(|h| h.replace("%h", alias).replace("%%", "%"));
    let hostname = hostname.unwrap_or_else(|| alias.to_string());
    let user = user
        .map(str::to_string)
        .or_else(|| first("user").map(str::to_string))
        .unwrap_or_else(|| local.user.clone());
    let port = port
        .or_else(|| first("port").and_then(|p| p.parse().ok()))
        .unwrap_or(22);
    let host_key_alias = first("hostkeyalias").map(str::to_string);
    let tokens = Tokens {
        alias,
        hostname: &hostname,
        port,
        user: &user,
        host_key_alias: host_key_alias.as_deref(),
        local,
    };
    let identity_files = if identity_files.is_empty() {
        DEFAULT_IDENTITY_FILES
            .iter()
            .map(|f| tokens.expand_path(f))
            .collect()
    } else {
        identity_files
            .iter()
            .map(|f| tokens.expand_path(f))
            .collect()
    };
    let path_list = |key: &str, default: &[&str]| -> Vec<PathBuf> {
        match found.get(key) {
            Some(list) => list.iter().map(|f| tokens.expand_path(f)).collect(),
            None => default.iter().map(|f| tokens.expand_path(f)).collect(),
        }
    };
    SshConfigResolved {
        identity_files,
        identities_only: first("identitiesonly").is_some_and(is_yes),
        proxy_jump: first("proxyjump")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(str::to_string),
        proxy_command: first("proxycommand")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(str::to_string),
        user_known_hosts_files: path_list(
            "userknownhostsfile",
            &["~/.ssh/known_hosts", "~/.ssh/known_hosts2"],
        ),
        global_known_hosts_files: path_list(
            "globalknownhostsfile",
            &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
        ),
        strict_host_key_checking: first("stricthostkeychecking")
            .and_then(StrictHostKeyChecking::parse)
            .unwrap_or_default(),
        host_key_alias,
        connect_timeout: first("connecttimeout").and_then(seconds),
        server_alive_interval: first("serveraliveinterval").and_then(seconds),
        hostname,
        user,
        port,
        resolved_by: ResolvedBy::Fallback { unsupported },
    }
}

/// `(lowercase keyword, arguments)`; `None` for blank and comment lines. Arguments are
/// separated by whitespace (or one `=` after the keyword) and may be double-quoted.
fn split_config_line(raw: &str) -> Option<(String, Vec<String>)> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let split_at = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..split_at].to_ascii_lowercase();
    let mut rest = line[split_at..].trim_start();
    if let Some(after_eq) = rest.strip_prefix('=') {
        rest = after_eq.trim_start();
    }
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut has_arg = false;
    for c in rest.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_arg = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_arg {
                    args.push(std::mem::take(&mut current));
                    has_arg = false;
                }
            }
            c => {
                current.push(c);
                has_arg = true;
            }
        }
    }
    if has_arg {
        args.push(current);
    }
    Some((keyword, args))
}

/// A `Host` line matches when one pattern matches and no negated one does.
fn host_block_matches(patterns: &[String], alias: &str) -> bool {
    match_patterns(alias, patterns.iter().map(String::as_str)) == PatternMatch::Positive
}

/// The local side for `~` and `%` expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIdentity {
    pub user: String,
    pub home: PathBuf,
    pub uid: u32,
    /// Short local host name, for `%l`.
    pub hostname: String,
}

impl LocalIdentity {
    /// The user running opsctl, from the passwd database as OpenSSH does (`USER` and
    /// `HOME` only when it has no entry).
    pub fn current() -> LocalIdentity {
        #[cfg(unix)]
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        #[cfg(not(unix))]
        let uid = 0;
        let (pw_name, pw_dir) = passwd_entry(uid);
        let user = pw_name
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| uid.to_string());
        let home = pw_dir
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("/"));
        LocalIdentity {
            user,
            home,
            uid,
            hostname: local_hostname(),
        }
    }
}

#[cfg(unix)]
fn passwd_entry(uid: u32) -> (Option<String>, Option<PathBuf>) {
    use std::ffi::CStr;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value to be filled by getpwuid_r.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives the reads below.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return (None, None);
    }
    // SAFETY: on success pw_name and pw_dir point to NUL-terminated strings inside buf.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: as above.
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) }
        .to_string_lossy()
        .into_owned();
    (Some(name), Some(PathBuf::from(dir)))
}

#[cfg(not(unix))]
fn passwd_entry(_uid: u32) -> (Option<String>, Option<PathBuf>) {
    (None, None)
}

fn local_hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for buf.len() bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            return name.split('.').next().unwrap_or_default().to_string();
        }
    }
    String::new()
}

/// What a `ProxyCommand`'s `%` tokens stand for (OpenSSH: `%h %p %r %n %%`, and
/// the local `%u %l %d`).
#[derive(Debug, Clone, Copy)]
pub struct ProxyTokens<'a> {
    /// The name given to ssh (`%n`).
    pub alias: &'a str,
    pub hostname: &'a str,
    pub port: u16,
    pub user: &'a str,
}

/// A `ProxyCommand` that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyCommandError {
    #[error("ProxyCommand `{command}`: unsupported token %{token}")]
    Token { command: String, token: char },
    #[error("ProxyCommand `{0}` ends with a lone %")]
    LoneEscape(String),
    #[error("ProxyCommand is empty")]
    Empty,
}

/// Expands a `ProxyCommand`'s tokens. Every value put in is shell-quoted, so a
/// host name can never become shell syntax (OpenSSH pastes them as they are).
pub fn expand_proxy_command(
    template: &str,
    t: &ProxyTokens<'_>,
    local: &LocalIdentity,
) -> Result<String, ProxyCommandError> {
    use crate::remote::quote;
    if template.trim().is_empty() {
        return Err(ProxyCommandError::Empty);
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push_str(&quote(t.hostname)),
            Some('p') => out.push_str(&t.port.to_string()),
            Some('r') => out.push_str(&quote(t.user)),
            Some('n') => out.push_str(&quote(t.alias)),
            Some('u') => out.push_str(&quote(&local.user)),
            Some('l') => out.push_str(&quote(&local.hostname)),
            Some('d') => out.push_str(&quote(&local.home.display().to_string())),
            Some(token) => {
                return Err(ProxyCommandError::Token {
                    command: template.to_string(),
                    token,
                });
            }
            None => return Err(ProxyCommandError::LoneEscape(template.to_string())),
        }
    }
    Ok(out)
}

/// The values OpenSSH's `%` tokens stand for.
struct Tokens<'a> {
    alias: &'a str,
    hostname: &'a str,
    port: u16,
    user: &'a str,
    host_key_alias: Option<&'a str>,
    local: &'a LocalIdentity,
}

impl Tokens<'_> {
    /// `~` / `~/...` and `%d %h %p %r %u %n %i %l %L %k %C %%`. An unknown token is kept
    /// as written (the file will then not exist and be skipped, with a debug log).
    fn expand_path(&self, raw: &str) -> PathBuf {
        let tilde = if raw == "~" {
            self.local.home.display().to_string()
        } else if let Some(rest) = raw.strip_prefix("~/") {
            format!("{}/{rest}", self.local.home.display())
        } else {
            raw.to_string()
        };
        PathBuf::from(self.expand(&tilde))
    }

    fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('d') => out.push_str(&self.local.home.display().to_string()),
                Some('h') => out.push_str(self.hostname),
                Some('p') => out.push_str(&self.port.to_string()),
                Some('r') => out.push_str(self.user),
                Some('u') => out.push_str(&self.local.user),
                Some('n') => out.push_str(self.alias),
                Some('i') => out.push_str(&self.local.uid.to_string()),
                Some('l') | Some('L') => out.push_str(&self.local.hostname),
                Some('k') => out.push_str(self.host_key_alias.unwrap_or(self.hostname)),
                Some('C') => out.push_str(&self.connection_hash()),
                Some(other) => {
                    tracing::debug!(token = %other, path = text, "unsupported % token in ssh_config path");
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }

    /// `%C`: SHA-1 of `%l%h%p%r`, hex (OpenSSH 9.2).
    fn connection_hash(&self) -> String {
        let digest = Sha1::digest(format!(
            "{}{}{}{}",
            self.local.hostname, self.hostname, self.port, self.user
        ));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn proxy_command_tokens_are_expanded_and_quoted() {
        let local = LocalIdentity {
            user: "me".into(),
            home: PathBuf::from("/home/me"),
            uid: 1000,
            hostname: "laptop".into(),
        };
        let t = ProxyTokens {
            alias: "web1",
            hostname: "10.0.0.5",
            port: 2222,
            user: "deploy",
        };
        assert_eq!(
            expand_proxy_command("ssh -W %h:%p -l %r bastion # 100%%", &t, &local).unwrap(),
            "ssh -W 10.0.0.5:2222 -l deploy bastion # 100%"
        );
        let nasty = ProxyTokens {
            hostname: "x;touch /tmp/p",
            ..t
        };
        assert_eq!(
            expand_proxy_command("nc %h %p", &nasty, &local).unwrap(),
            "nc 'x;touch /tmp/p' 2222"
        );
        assert!(matches!(
            expand_proxy_command("nc %Z", &t, &local),
            Err(ProxyCommandError::Token { token: 'Z', .. })
        ));
        assert!(expand_proxy_command("nc %", &t, &local).is_err());
        assert!(expand_proxy_command(" ", &t, &local).is_err());
    }

    #[test]
    fn proxy_command_is_read_from_ssh_g_and_the_fallback() {
        let local = LocalIdentity::current();
        let out = "hostname 10.1.2.3\nuser bob\nport 22\nproxycommand nc %h %p -x %r\n";
        let r = parse_ssh_g(out, "pc", &local).unwrap();
        assert_eq!(r.proxy_command.as_deref(), Some("nc %h %p -x %r"));
        let none = parse_ssh_g(
            "hostname h\nuser u\nport 22\nproxycommand none\n",
            "h",
            &local,
        )
        .unwrap();
        assert_eq!(none.proxy_command, None);
        let file = "Host pc\n  ProxyCommand /usr/bin/corkscrew \"proxy host\" 8080 %h %p\n";
        let r = parse_fallback(
            &[(PathBuf::from("cfg"), file.to_string())],
            "pc",
            None,
            None,
            &local,
        );
        assert_eq!(
            r.proxy_command.as_deref(),
            Some("/usr/bin/corkscrew \"proxy host\" 8080 %h %p")
        );
    }
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ssh_config");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    /// The identity the fixtures were captured with (root on the build machine).
    fn root() -> LocalIdentity {
        LocalIdentity {
            user: "root".into(),
            home: PathBuf::from("/root"),
            uid: 0,
            hostname: "buildhost".into(),
        }
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn ssh_g_output_for_a_host_block() {
        let r = parse_ssh_g(&fixture("ssh_G_web1.txt"), "web1", &root()).unwrap();
        assert_eq!(r.hostname, "10.0.0.5");
        assert_eq!(r.user, "deploy");
        assert_eq!(r.port, 2222);
        assert_eq!(
            r.identity_files,
            paths(&[
                "/root/.ssh/web1_ed25519",
                "/etc/opsctl/keys/deploy@10.0.0.5"
            ])
        );
        assert!(r.identities_only);
        assert_eq!(r.proxy_jump.as_deref(), Some("bastion.example.com"));
        assert_eq!(
            r.user_known_hosts_files,
            paths(&["/root/.ssh/known_hosts", "/root/.ssh/known_hosts.d/prod"])
        );
        assert_eq!(
            r.global_known_hosts_files,
            paths(&["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"])
        );
        assert_eq!(r.strict_host_key_checking, StrictHostKeyChecking::AcceptNew);
        assert_eq!(r.host_key_alias, None);
        // Global options before the first Host apply.
        assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(r.server_alive_interval, Some(Duration::from_secs(20)));
        assert_eq!(r.known_hosts_name(), "10.0.0.5");
        assert_eq!(r.learn_file(), PathBuf::from("/root/.ssh/known_hosts"));
        assert_eq!(r.known_hosts_files().len(), 4);
        assert_eq!(r.resolved_by, ResolvedBy::SshG);
    }

    #[test]
    fn ssh_g_output_with_match_negation_and_defaults() {
        let r = parse_ssh_g(&fixture("ssh_G_db1.internal.txt"), "db1.internal", &root()).unwrap();
        assert_eq!(r.hostname, "db1.internal");
        assert_eq!(r.user, "internal-user");
        // From the `Match host` block.
        assert_eq!(r.port, 5022);
        assert_eq!(r.host_key_alias.as_deref(), Some("internal-alias"));
        assert_eq!(r.known_hosts_name(), "internal-alias");
        assert_eq!(
            r.global_known_hosts_files,
            paths(&["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts.extra"])
        );
        // OpenSSH's default identity files, kept.
        assert_eq!(r.identity_files.len(), 7);
        assert_eq!(r.identity_files[3], PathBuf::from("/root/.ssh/id_ed25519"));
        assert!(!r.identities_only);
        assert_eq!(r.strict_host_key_checking, StrictHostKeyChecking::Ask);
        assert_eq!(r.proxy_jump, None);

        // `Host *.internal !skip.internal`: the negation sends it to `Host *`.
        let r = parse_ssh_g(
            &fixture("ssh_G_skip.internal.txt"),
            "skip.internal",
            &root(),
        )
        .unwrap();
        assert_eq!((r.user.as_str(), r.port), ("fallback", 2200));
        assert_eq!(r.host_key_alias, None);

        let r = parse_ssh_g(
            &fixture("ssh_G_included-host.txt"),
            "included-host",
            &root(),
        )
        .unwrap();
        assert_eq!(
            (r.hostname.as_str(), r.user.as_str()),
            ("192.0.2.10", "from-include")
        );
    }

    #[test]
    fn ssh_g_command_line_overrides_and_chains() {
        let r = parse_ssh_g(
            &fixture("ssh_G_web1_l_override_p_1234.txt"),
            "web1",
            &root(),
        )
        .unwrap();
        assert_eq!((r.user.as_str(), r.port), ("override", 1234));
        assert_eq!(
            r.identity_files[1],
            PathBuf::from("/etc/opsctl/keys/override@10.0.0.5")
        );
        let r = parse_ssh_g(&fixture("ssh_G_proxyjump_chain.txt"), "b", &root()).unwrap();
        assert_eq!(r.proxy_jump.as_deref(), Some("u@j1:2200,j2"));
        assert_eq!(r.strict_host_key_checking, StrictHostKeyChecking::No);
        assert_eq!(r.connect_timeout, None);
        assert_eq!(r.server_alive_interval, None);
    }

    #[test]
    fn ssh_g_garbage_is_an_error_not_a_panic() {
        assert!(parse_ssh_g("", "x", &root()).is_err());
        assert!(parse_ssh_g("hostname x\nuser y\nport nope\n", "x", &root()).is_err());
        assert!(parse_ssh_g("hostname x\nuser y\nport 22\n", "x", &root()).is_ok());
    }

    #[test]
    fn token_expansion() {
        let local = root();
        let t = Tokens {
            alias: "web",
            hostname: "10.0.0.5",
            port: 2222,
            user: "deploy",
            host_key_alias: None,
            local: &local,
        };
        assert_eq!(t.expand_path("~"), PathBuf::from("/root"));
        assert_eq!(
            t.expand_path("~/.ssh/%n_%r@%h:%p"),
            PathBuf::from("/root/.ssh/web_deploy@10.0.0.5:2222")
        );
        assert_eq!(
            t.expand("%d/%u/%i/%l/%k/100%%"),
            "/root/root/0/buildhost/10.0.0.5/100%"
        );
        assert_eq!(t.expand("%Z%"), "%Z%");
        // %C is SHA-1 of %l%h%p%r.
        let expected: String = Sha1::digest("buildhost10.0.0.52222deploy")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(t.expand("%C"), expected);
        assert_eq!(expected.len(), 40);
    }

    #[test]
    fn fallback_reads_host_blocks_first_value_wins() {
        let files = vec![(PathBuf::from("/f/config"), fixture("config"))];
        let r = parse_fallback(&files, "web1", None, None, &root());
        assert_eq!(r.hostname, "10.0.0.5");
        assert_eq!(r.user, "deploy");
        assert_eq!(r.port, 2222);
        assert_eq!(
            r.identity_files,
            paths(&[
                "/root/.ssh/web1_ed25519",
                "/etc/opsctl/keys/deploy@10.0.0.5"
            ])
        );
        assert!(r.identities_only);
        assert_eq!(r.proxy_jump.as_deref(), Some("bastion.example.com"));
        assert_eq!(
            r.user_known_hosts_files,
            paths(&["/root/.ssh/known_hosts", "/root/.ssh/known_hosts.d/prod"])
        );
        assert_eq!(r.strict_host_key_checking, StrictHostKeyChecking::AcceptNew);
        assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(r.server_alive_interval, Some(Duration::from_secs(20)));
        match &r.resolved_by {
            ResolvedBy::Fallback { unsupported } => {
                assert_eq!(
                    unsupported,
                    &vec![
                        "Include at /f/config:4".to_string(),
                        "Match at /f/config:22".to_string()
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        // Command-line user and port win; the rest still comes from the file.
        let r = parse_fallback(&files, "web1", Some("override"), Some(1234), &root());
        assert_eq!((r.user.as_str(), r.port), ("override", 1234));
        assert_eq!(
            r.identity_files[1],
            PathBuf::from("/etc/opsctl/keys/override@10.0.0.5")
        );
    }

    #[test]
    fn fallback_negation_defaults_and_ignored_match() {
        let files = vec![(PathBuf::from("/f/config"), fixture("config"))];
        let r = parse_fallback(&files, "db1.internal", None, None, &root());
        assert_eq!(r.user, "internal-user");
        assert_eq!(r.host_key_alias.as_deref(), Some("internal-alias"));
        // The Match block is not applied by the fallback: `Host *` gives the port.
        assert_eq!(r.port, 2200);
        assert_eq!(r.identity_files.len(), 7);
        assert_eq!(
            r.global_known_hosts_files,
            paths(&["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts.extra"])
        );
        let r = parse_fallback(&files, "skip.internal", None, None, &root());
        assert_eq!((r.user.as_str(), r.port), ("fallback", 2200));
        assert_eq!(r.host_key_alias, None);
        // Nothing configured at all: the alias, the local user, port 22, defaults.
        let r = parse_fallback(&[], "plain.test", None, None, &root());
        assert_eq!(
            (r.hostname.as_str(), r.user.as_str(), r.port),
            ("plain.test", "root", 22)
        );
        assert_eq!(
            r.user_known_hosts_files,
            paths(&["/root/.ssh/known_hosts", "/root/.ssh/known_hosts2"])
        );
        assert_eq!(r.strict_host_key_checking, StrictHostKeyChecking::Ask);
    }

    #[test]
    fn fallback_line_syntax() {
        assert_eq!(split_config_line("  # c"), None);
        assert_eq!(
            split_config_line("HostName=example.org"),
            Some(("hostname".into(), vec!["example.org".into()]))
        );
        assert_eq!(
            split_config_line("IdentityFile \"/path/with space/key\"  "),
            Some(("identityfile".into(), vec!["/path/with space/key".into()]))
        );
        assert_eq!(
            split_config_line("Host a b !c"),
            Some(("host".into(), vec!["a".into(), "b".into(), "!c".into()]))
        );
        // Garbage never panics.
        for s in ["=", "\"", "Host \"", "Port 99999999", "Host"] {
            let files = vec![(PathBuf::from("/g"), s.to_string())];
            let _ = parse_fallback(&files, "x", None, None, &root());
        }
    }

    #[test]
    fn requests_that_look_like_options_are_refused() {
        let opts = ResolveOptions {
            ssh_program: None,
            ..ResolveOptions::default()
        };
        for alias in ["-oProxyCommand=x", "", "a b"] {
            assert!(matches!(
                resolve_with(alias, None, None, &opts),
                Err(SshConfigError::BadRequest(_))
            ));
        }
        assert!(matches!(
            resolve_with("h", Some("-l"), None, &opts),
            Err(SshConfigError::BadRequest(_))
        ));
    }

    #[test]
    fn missing_ssh_program_uses_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "Host fb\n  HostName 192.0.2.7\n  Port 2201\n").unwrap();
        let opts = ResolveOptions {
            config_file: Some(config),
            ssh_program: Some(dir.path().join("no-such-ssh")),
            ..ResolveOptions::default()
        };
        let r = resolve_with("fb", None, None, &opts).unwrap();
        assert_eq!((r.hostname.as_str(), r.port), ("192.0.2.7", 2201));
        assert!(matches!(r.resolved_by, ResolvedBy::Fallback { .. }));
    }

    #[test]
    fn policy_mapping_never_weakens() {
        assert_eq!(
            StrictHostKeyChecking::Yes.as_policy(),
            KnownHostsPolicy::Strict
        );
        assert_eq!(
            StrictHostKeyChecking::Ask.as_policy(),
            KnownHostsPolicy::Strict
        );
        assert_eq!(
            StrictHostKeyChecking::AcceptNew.as_policy(),
            KnownHostsPolicy::AcceptNew
        );
        assert_eq!(
            StrictHostKeyChecking::No.as_policy(),
            KnownHostsPolicy::AcceptNew
        );
    }

    /// The real `ssh` here; on CI its absence is a failure, elsewhere a skip.
    fn have_ssh() -> bool {
        let found = Command::new("ssh")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            assert!(
                std::env::var_os("CI").is_none()
                    && std::env::var_os("OPSCTL_STRICT_TESTS").is_none(),
                "ssh (openssh-client) is missing"
            );
            eprintln!("ssh not found: live ssh -G test skipped");
        }
        found
    }

    /// A config with global options, Include, Host negation and Match, written at test
    /// time (Include needs an absolute path).
    fn live_config(dir: &Path) -> PathBuf {
        let included = dir.join("included.conf");
        std::fs::write(&included, fixture("included.conf")).unwrap();
        let text =
            fixture("config").replace("/tmp/sshcfg/included.conf", &included.display().to_string());
        let config = dir.join("config");
        std::fs::write(&config, text).unwrap();
        config
    }

    #[test]
    fn live_ssh_g_resolution() {
        if !have_ssh() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let opts = ResolveOptions {
            config_file: Some(live_config(dir.path())),
            ..ResolveOptions::default()
        };
        let local = LocalIdentity::current();
        let r = resolve_with("web1", None, None, &opts).unwrap();
        assert_eq!(r.resolved_by, ResolvedBy::SshG);
        assert_eq!(
            (r.hostname.as_str(), r.user.as_str(), r.port),
            ("10.0.0.5", "deploy", 2222)
        );
        assert_eq!(r.identity_files[0], local.home.join(".ssh/web1_ed25519"));
        assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));
        let r = resolve_with("db1.internal", None, None, &opts).unwrap();
        assert_eq!(r.port, 5022, "Match block applied by ssh -G");
        let r = resolve_with("included-host", None, None, &opts).unwrap();
        assert_eq!(r.user, "from-include");
        let r = resolve_with("web1", Some("someone"), Some(40022), &opts).unwrap();
        assert_eq!((r.user.as_str(), r.port), ("someone", 40022));
    }

    /// Where the fallback claims support (no Include/Match involved), it must agree
    /// with `ssh -G` on the same file.
    #[test]
    fn fallback_agrees_with_ssh_g_on_supported_features() {
        if !have_ssh() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let config = live_config(dir.path());
        let with_ssh = ResolveOptions {
            config_file: Some(config.clone()),
            ..ResolveOptions::default()
        };
        let without = ResolveOptions {
            ssh_program: None,
            ..with_ssh.clone()
        };
        for (alias, user, port) in [
            ("web1", None, None),
            ("web1.example.com", Some("x"), Some(2)),
            ("skip.internal", None, None),
            ("other.internal", None, None),
            ("unlisted.test", None, None),
        ] {
            let a = resolve_with(alias, user, port, &with_ssh).unwrap();
            let b = resolve_with(alias, user, port, &without).unwrap();
            assert_eq!(
                SshConfigResolved {
                    resolved_by: ResolvedBy::SshG,
                    ..b
                },
                a,
                "{alias}"
            );
        }
    }

    #[test]
    fn live_ssh_g_errors_and_timeout() {
        if !have_ssh() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "Port notanumber\n").unwrap();
        let opts = ResolveOptions {
            config_file: Some(bad),
            ..ResolveOptions::default()
        };
        match resolve_with("h", None, None, &opts) {
            Err(SshConfigError::SshG { stderr, status, .. }) => {
                assert_eq!(status, Some(255));
                assert!(
                    stderr.contains("notanumber") || stderr.contains("port"),
                    "{stderr}"
                );
            }
            other => panic!("{other:?}"),
        }
        let slow = dir.path().join("slow");
        std::fs::write(&slow, "Match exec \"sleep 19.25\"\n  User x\n").unwrap();
        let opts = ResolveOptions {
            config_file: Some(slow),
            timeout: Duration::from_millis(300),
            ..ResolveOptions::default()
        };
        let started = Instant::now();
        let err = resolve_with("h", None, None, &opts).unwrap_err();
        assert!(matches!(err, SshConfigError::Timeout { .. }), "{err:?}");
        assert!(err.to_string().contains("Match exec"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // The `Match exec` child was killed with ssh (same process group).
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !process_running("sleep\x0019.25"),
            "Match exec child left running"
        );
    }

    fn process_running(cmdline: &str) -> bool {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return false;
        };
        entries.flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).trim_end_matches('\0') == cmdline)
                .unwrap_or(false)
        })
    }
}
