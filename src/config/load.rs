//! Finding, parsing and validating profiles.
//!
//! `--profile NAME|PATH` or `OPSCTL_PROFILE`: a path when it names a file (or
//! contains `/` or ends in `.toml`), else `NAME.toml` in `./profiles/`, then in
//! the XDG config dir. With nothing given, the embedded `local` profile.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, nearest};
use super::profile::{HostEntry, LogSource, Profile, Transport};

/// The `local` profile compiled into the binary.
pub const EMBEDDED_LOCAL: &str = include_str!("../../profiles/local.toml");

/// Where a loaded profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    Embedded,
    File(PathBuf),
}

impl fmt::Display for ProfileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileSource::Embedded => f.write_str("(embedded local profile)"),
            ProfileSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub source: ProfileSource,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no profile named `{name}`; looked for {}{}",
        list_paths(searched),
        hint_available(available)
    )]
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
        available: Vec<String>,
    },
    #[error("cannot read profile {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    #[error(
        "the profile name is empty (--profile '' or OPSCTL_PROFILE=''); name a profile, a file, or leave it out for the embedded `local` profile"
    )]
    EmptyName,
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn hint_available(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!("\n  hint: profiles found: {}", available.join(", "))
    }
}

/// Directories searched for `NAME.toml`, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("profiles")];
    if let Some(config) = config_dir() {
        dirs.push(config.join("profiles"));
    }
    dirs
}

/// opsctl's XDG config directory (`$XDG_CONFIG_HOME/opsctl` or `~/.config/opsctl`).
pub fn config_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => home_dir()?.join(".config"),
    };
    Some(base.join("opsctl"))
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Expands a leading `~/` to the home directory.
pub fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if path == "~" => home_dir().unwrap_or_else(|| PathBuf::from(path)),
        _ => PathBuf::from(path),
    }
}

fn looks_like_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".toml") || Path::new(spec).is_file()
}

/// Finds the profile a `--profile` value names.
pub fn locate(spec: &str) -> Result<Option<PathBuf>, LoadError> {
    if looks_like_path(spec) {
        return Ok(Some(PathBuf::from(spec)));
    }
    let file = format!("{spec}.toml");
    let dirs = search_dirs();
    for dir in &dirs {
        let candidate = dir.join(&file);
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    if spec == "local" {
        return Ok(None);
    }
    Err(LoadError::NotFound {
        name: spec.to_string(),
        searched: dirs.iter().map(|d| d.join(&file)).collect(),
        available: available_profiles(),
    })
}

/// Names of the profiles found in the search directories.
pub fn available_profiles() -> Vec<String> {
    let mut names: Vec<String> = search_dirs()
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    names.push("local".to_string());
    names.sort();
    names.dedup();
    names
}

/// Loads the profile named by `spec`, or the embedded `local` profile.
pub fn load(spec: Option<&str>) -> Result<LoadedProfile, LoadError> {
    let path = match spec {
        None => None,
        Some(s) if s.trim().is_empty() => return Err(LoadError::EmptyName),
        Some(s) => locate(s)?,
    };
    match path {
        None => {
            let profile = parse_profile(EMBEDDED_LOCAL, "<embedded local>")
                .map_err(|d| LoadError::Invalid(Box::new(d)))?;
            Ok(LoadedProfile {
                profile,
                source: ProfileSource::Embedded,
            })
        }
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            let profile = parse_profile(&text, &path.display().to_string())
                .map_err(|d| LoadError::Invalid(Box::new(d)))?;
            super::secrets::register_profile(&profile);
            Ok(LoadedProfile {
                profile,
                source: ProfileSource::File(path),
            })
        }
    }
}

/// Parses and validates a profile. Pure: `file` is only used in messages.
pub fn parse_profile(text: &str, file: &str) -> Result<Profile, Diagnostic> {
    let profile: Profile = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => return Err(toml_error(text, file, &e)),
    };
    let doc = DeTable::parse(text).map_err(|e| toml_error(text, file, &e))?;
    let spans = Spans {
        text,
        file,
        doc: doc.get_ref(),
    };
    validate(&profile, &spans)?;
    Ok(profile)
}

/// Turns a TOML/serde error into a diagnostic with a nearest-key hint.
fn toml_error(text: &str, file: &str, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_string();
    let mut diag = match e.span() {
        Some(span) => Diagnostic::at(file, text, span, reword(&message)),
        None => Diagnostic::whole_file(file, reword(&message)),
    };
    if let Some(hint) = hint_for(&message) {
        diag = diag.with_hint(hint);
    }
    diag
}

/// serde says "field" and Rust's type names; users write keys and numbers.
fn reword(message: &str) -> String {
    let mut m = message
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key");
    for (rust, words) in [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
    ] {
        if let Some(at) = m.find(rust) {
            // Only a whole word: `expected u16`, not `expected u1600`.
            let end = at + rust.len();
            if !m[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                m.replace_range(at..end, words);
            }
        }
    }
    m
}

/// For "unknown field `x`, expected one of `a`, `b`" (and variants), suggest the nearest.
fn hint_for(message: &str) -> Option<String> {
    let (head, expected) = message.split_once("expected")?;
    let word = head.split('`').nth(1)?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if candidates.is_empty() {
        return None;
    }
    match nearest(word, candidates.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!("valid: {}", candidates.join(", "))),
    }
}

/// Locates values in the parsed document, for validation errors.
struct Spans<'a> {
    text: &'a str,
    file: &'a str,
    doc: &'a DeTable<'a>,
}

enum Seg<'s> {
    Key(&'s str),
    Index(usize),
}

impl Spans<'_> {
    /// Byte span of the value at `path`, or of the nearest existing parent.
    fn span(&self, path: &[Seg]) -> Range<usize> {
        let mut best = 0..0;
        let mut table: Option<&DeTable> = Some(self.doc);
        let mut value: Option<&DeValue> = None;
        for seg in path {
            let next = match (seg, table, value) {
                (Seg::Key(k), Some(t), _) => {
                    t.iter().find(|(key, _)| key.get_ref() == k).map(|(_, v)| v)
                }
                (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            best = next.span();
            value = Some(next.get_ref());
            table = match next.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        best
    }

    fn error(&self, path: &[Seg], message: impl Into<String>) -> Diagnostic {
        let span = self.span(path);
        if span == (0..0) {
            Diagnostic::whole_file(self.file, message)
        } else {
            Diagnostic::at(self.file, self.text, span, message)
        }
    }
}

fn validate(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use Seg::{Index, Key};
    if p.name.trim().is_empty() {
        return Err(s.error(&[Key("name")], "profile name is empty"));
    }
    let ssh = &p.ssh;
    for (key, v) in [
        ("connect_timeout_secs", ssh.connect_timeout_secs),
        ("command_timeout_secs", ssh.command_timeout_secs),
        ("keepalive_secs", ssh.keepalive_secs),
    ] {
        positive(v, s, &[Key("ssh"), Key(key)])?;
    }
    let h = &p.health;
    positive(h.interval_secs, s, &[Key("health"), Key("interval_secs")])?;
    if h.interval_secs > 3600.0 {
        return Err(s.error(
            &[Key("health"), Key("interval_secs")],
            "interval_secs must be at most 3600",
        ));
    }
    if h.retention_secs < h.interval_secs {
        return Err(s.error(
            &[Key("health"), Key("retention_secs")],
            "retention_secs must be at least interval_secs",
        ));
    }
    let t = &h.thresholds;
    for (warn_key, warn, crit_key, crit) in [
        ("cpu_warn", t.cpu_warn, "cpu_crit", t.cpu_crit),
        ("mem_warn", t.mem_warn, "mem_crit", t.mem_crit),
        ("swap_warn", t.swap_warn, "swap_crit", t.swap_crit),
        ("disk_warn", t.disk_warn, "disk_crit", t.disk_crit),
        ("load_warn", t.load_warn, "load_crit", t.load_crit),
        (
            "latency_warn_ms",
            t.latency_warn_ms,
            "latency_crit_ms",
            t.latency_crit_ms,
        ),
    ] {
        if !(warn.is_finite() && crit.is_finite() && warn >= 0.0) {
            return Err(s.error(
                &[Key("health"), Key("thresholds"), Key(warn_key)],
                format!("{warn_key} must be a number >= 0"),
            ));
        }
        if warn > crit {
            return Err(s.error(
                &[Key("health"), Key("thresholds"), Key(warn_key)],
                format!("{warn_key} ({warn}) is above {crit_key} ({crit})"),
            ));
        }
    }
    if t.cert_warn_days < t.cert_crit_days {
        return Err(s.error(
            &[Key("health"), Key("thresholds"), Key("cert_warn_days")],
            format!(
                "cert_warn_days ({}) must be at least cert_crit_days ({}): warn comes first",
                t.cert_warn_days, t.cert_crit_days
            ),
        ));
    }
    let mut check_names = HashSet::new();
    for (i, c) in h.http.iter().enumerate() {
        let at = |k| [Key("health"), Key("http"), Index(i), Key(k)];
        if !check_names.insert(c.name.as_str()) {
            return Err(s.error(
                &at("name"),
                format!("duplicate HTTP check name `{}`", c.name),
            ));
        }
        if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
            let hint = match c.url.split_once("://") {
                Some((scheme, _)) => format!("`{scheme}://` is not http:// or https://"),
                None => format!("e.g. https://{}", super::secrets::redact_url(&c.url)),
            };
            return Err(s
                .error(&at("url"), "url must start with http:// or https://")
                .with_hint(hint));
        }
        for (j, hdr) in c.headers.iter().enumerate() {
            let at = |k| {
                [
                    Key("health"),
                    Key("http"),
                    Index(i),
                    Key("headers"),
                    Index(j),
                    Key(k),
                ]
            };
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if hdr.name.is_empty() || !hdr.name.chars().all(token) {
                return Err(s.error(&at("name"), "not an HTTP header name"));
            }
            let sources = [&hdr.value, &hdr.value_env, &hdr.value_file]
                .iter()
                .filter(|v| v.is_some())
                .count();
            if sources != 1 {
                return Err(s
                    .error(
                        &at("name"),
                        "a header needs exactly one of value, value_env, value_file",
                    )
                    .with_hint(
                        "a secret value belongs in value_env or value_file, not the profile",
                    ));
            }
        }
        if let Some(auth) = &c.basic_auth {
            if auth.password_env.is_some() && auth.password_file.is_some() {
                return Err(s.error(
                    &at("basic_auth"),
                    "basic_auth takes one of password_env and password_file",
                ));
            }
        }
        if !(100..=599).contains(&c.expect_status) {
            return Err(s.error(
                &at("expect_status"),
                "expect_status must be an HTTP status (100-599)",
            ));
        }
        positive(c.timeout_secs, s, &at("timeout_secs"))?;
        if let Some(r) = &c.resolve
            && r.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(s.error(
                &at("resolve"),
                "resolve must be ip:port, e.g. 10.0.1.11:443",
            ));
        }
    }
    for (i, l) in h.logs.iter().enumerate() {
        log_source(l, s, &[Key("health"), Key("logs"), Index(i)])?;
    }
    validate_hosts(p, s)?;
    validate_databases(p, s)?;
    validate_app(p, s)?;
    validate_scale(p, s)?;
    validate_warm(p, s)
}

fn validate_warm(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use Seg::{Index, Key};
    let Some(w) = &p.warm else {
        return Ok(());
    };
    let web_url = |text: &str| {
        reqwest::Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
    };
    for (i, m) in w.sitemaps.iter().enumerate() {
        let is_url = m.starts_with("http://") || m.starts_with("https://");
        if (is_url && web_url(m).is_none()) || (!is_url && !m.starts_with('/')) {
            return Err(s
                .error(
                    &[Key("warm"), Key("sitemaps"), Index(i)],
                    format!("`{m}` is neither an http(s) URL nor an absolute file path"),
                )
                .with_hint("sitemaps = [\"https://shop.example.com/sitemap.xml\"]"));
        }
    }
    if let Some(b) = &w.base {
        if web_url(b).is_none() {
            return Err(s
                .error(
                    &[Key("warm"), Key("base")],
                    format!("`{b}` is not an http(s) URL with a host"),
                )
                .with_hint("base = \"https://shop.example.com\""));
        }
    }
    if let Some(c) = w.concurrency {
        if c == 0 || c > 4096 {
            return Err(s.error(
                &[Key("warm"), Key("concurrency")],
                format!("concurrency {c}: give 1 to 4096 requests in flight"),
            ));
        }
    }
    if let Some(r) = w.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(s.error(
                &[Key("warm"), Key("rate")],
                "rate must be a positive number of requests per second",
            ));
        }
    }
    if let Some(t) = w.timeout_secs {
        positive(t, s, &[Key("warm"), Key("timeout_secs")])?;
    }
    if let Some(role) = &w.nodes {
        if !p.hosts.iter().any(|h| h.roles.contains(role)) {
            return Err(s
                .error(
                    &[Key("warm"), Key("nodes")],
                    format!("no host of the profile has the role `{role}` (the cache nodes)"),
                )
                .with_hint("nodes = \"lb\" and roles = [\"lb\"] on the load balancers"));
        }
    }
    if w.encodings.as_ref().is_some_and(Vec::is_empty) {
        return Err(s
            .error(
                &[Key("warm"), Key("encodings")],
                "encodings is empty: nothing would be requested",
            )
            .with_hint(
                "encodings = [\"gzip, deflate, br\", \"\"] (\"\" sends no Accept-Encoding)",
            ));
    }
    for (i, h) in w.allow_hosts.iter().enumerate() {
        if h.trim().is_empty() || h.contains(['/', ':', ' ']) {
            return Err(s
                .error(
                    &[Key("warm"), Key("allow_hosts"), Index(i)],
                    format!("`{h}` is not a host name"),
                )
                .with_hint("allow_hosts = [\"static.example.com\"]"));
        }
    }
    Ok(())
}

fn validate_app(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use super::app::RestartStrategy;
    use Seg::{Index, Key};
    let Some(app) = &p.app else {
        return Ok(());
    };
    let at = |k| [Key("app"), Key(k)];
    if app.name.trim().is_empty() {
        return Err(s.error(&at("name"), "app name is empty"));
    }
    if !app.path.starts_with('/') {
        return Err(s
            .error(&at("path"), "app path must be absolute")
            .with_hint("path = \"/srv/shop\" ({host} becomes each host's name)"));
    }
    if app.repository.trim().is_empty() {
        return Err(s.error(&at("repository"), "repository is empty"));
    }
    let known: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
    for (i, h) in app.hosts.iter().enumerate() {
        if !known.contains(&h.as_str()) {
            return Err(s
                .error(
                    &[Key("app"), Key("hosts"), Index(i)],
                    format!("no host `{h}` in this profile"),
                )
                .with_hint(format!(
                    "hosts names [[hosts]] entries: {}",
                    known.join(", ")
                )));
        }
    }
    for (i, r) in app.roles.iter().enumerate() {
        if !p.hosts.iter().any(|h| h.roles.contains(r)) {
            return Err(s.error(
                &[Key("app"), Key("roles"), Index(i)],
                format!("no host of the profile has the role `{r}`"),
            ));
        }
    }
    if app.hosts.is_empty() && app.roles.is_empty() {
        return Err(s
            .error(&at("name"), "the app names no hosts")
            .with_hint("hosts = [\"web1\", \"web2\"] or roles = [\"web\"]"));
    }
    if app.keep_releases < 2 {
        return Err(s
            .error(&at("keep_releases"), "keep_releases must be at least 2")
            .with_hint("the current release and the one a rollback goes back to"));
    }
    if app.batch_size == 0 {
        return Err(s.error(&at("batch_size"), "batch_size must be at least 1"));
    }
    for (key, list) in [("build", &app.build), ("migrate", &app.migrate)] {
        for (i, argv) in list.iter().enumerate() {
            if argv.first().is_none_or(|a| a.is_empty()) {
                return Err(s
                    .error(
                        &[Key("app"), Key(key), Index(i)],
                        format!("{key} step {} is an empty command", i + 1),
                    )
                    .with_hint("each step is an argv: [\"python\", \"manage.py\", \"migrate\"]"));
            }
        }
    }
    for (key, name) in app
        .linked_files
        .iter()
        .map(|f| ("linked_files", f))
        .chain(app.linked_dirs.iter().map(|d| ("linked_dirs", d)))
    {
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|c| c == "..") {
            return Err(s.error(
                &at(key),
                format!("`{name}`: a linked path is relative to shared/, without `..`"),
            ));
        }
    }
    positive(app.step_timeout_secs, s, &at("step_timeout_secs"))?;
    let r = &app.restart;
    let rat = |k| [Key("app"), Key("restart"), Key(k)];
    positive(r.timeout_secs, s, &rat("timeout_secs"))?;
    match r.strategy {
        RestartStrategy::SystemdRestart | RestartStrategy::SystemdReload if r.unit.is_none() => {
            return Err(s
                .error(&rat("strategy"), "a systemd restart needs unit")
                .with_hint("unit = \"shop.service\""));
        }
        RestartStrategy::Command if r.argv.first().is_none_or(|a| a.is_empty()) => {
            return Err(s
                .error(&rat("strategy"), "strategy = \"command\" needs argv")
                .with_hint("argv = [\"/usr/local/bin/restart-shop\"]"));
        }
        _ => {}
    }
    let h = &app.health;
    let hat = |k| [Key("app"), Key("health"), Key(k)];
    if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
        return Err(s
            .error(&hat("url"), "health url must be http:// or https://")
            .with_hint("url = \"http://{address}:8000/healthz\""));
    }
    positive(h.timeout_secs, s, &hat("timeout_secs"))?;
    positive(h.interval_secs, s, &hat("interval_secs"))?;
    if h.retries == 0 {
        return Err(s.error(&hat("retries"), "retries must be at least 1"));
    }
    if let Some(w) = &app.watch {
        let wat = |k| [Key("app"), Key("watch"), Key(k)];
        positive(w.duration_secs, s, &wat("duration_secs"))?;
        positive(w.interval_secs, s, &wat("interval_secs"))?;
        if !(0.0..=1.0).contains(&w.max_error_rate) {
            return Err(s.error(&wat("max_error_rate"), "max_error_rate is a share, 0 to 1"));
        }
        if w.max_p95_ratio.is_nan() || w.max_p95_ratio <= 1.0 {
            return Err(s.error(&wat("max_p95_ratio"), "max_p95_ratio must be above 1"));
        }
        if let Some(ms) = w.max_p95_ms {
            if !(ms.is_finite() && ms > 0.0) {
                return Err(s.error(&wat("max_p95_ms"), "max_p95_ms must be positive"));
            }
        }
        if let Some(log) = &w.access_log {
            if log.trim().is_empty() || log.chars().any(char::is_control) {
                return Err(s.error(&wat("access_log"), "access_log must be a file's path"));
            }
        }
        if w.min_requests == 0 {
            return Err(s.error(&wat("min_requests"), "min_requests must be at least 1"));
        }
        for (i, path) in w.paths.iter().enumerate() {
            if !path.starts_with('/') {
                return Err(s.error(
                    &[Key("app"), Key("watch"), Key("paths"), Index(i)],
                    format!("`{path}`: a watched path starts with /"),
                ));
            }
        }
    }
    Ok(())
}

fn validate_databases(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use super::profile::{Engine, TlsMode};
    use Seg::{Index, Key};
    let mut names = HashSet::new();
    for (i, d) in p.databases.iter().enumerate() {
        let at = |k| [Key("databases"), Index(i), Key(k)];
        if d.name.trim().is_empty() || d.name.chars().any(char::is_whitespace) {
            return Err(s.error(
                &at("name"),
                "database name must be non-empty, without spaces",
            ));
        }
        if !names.insert(d.name.as_str()) {
            return Err(s.error(&at("name"), format!("duplicate database name `{}`", d.name)));
        }
        if d.host.trim().is_empty() {
            return Err(s.error(&at("host"), "host is empty"));
        }
        if d.port == Some(0) {
            return Err(s.error(&at("port"), "port must be 1-65535"));
        }
        let sources = [
            &d.password_env,
            &d.password_file,
            &d.passfile,
            &d.option_file,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count();
        if sources > 1 {
            return Err(s.error(
                &at("name"),
                "name one password source: password_env, password_file, passfile or option_file",
            ));
        }
        if d.passfile.is_some() && d.engine != Engine::Postgresql {
            return Err(s
                .error(&at("passfile"), "passfile is libpq's (PostgreSQL)")
                .with_hint("MariaDB/MySQL read option_file (a my.cnf with a [client] password)"));
        }
        if d.option_file.is_some() && d.engine == Engine::Postgresql {
            return Err(s
                .error(&at("option_file"), "option_file is MySQL's")
                .with_hint("PostgreSQL reads passfile (libpq's pgpass format)"));
        }
        if matches!(d.tls, TlsMode::VerifyCa | TlsMode::VerifyFull) && d.ca_file.is_none() {
            return Err(s
                .error(&at("tls"), "verify-ca and verify-full need ca_file")
                .with_hint("ca_file = \"/etc/ssl/certs/db-ca.pem\""));
        }
        if let Some(via) = &d.via {
            if !p.hosts.iter().any(|h| &h.name == via) {
                let known: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
                return Err(s
                    .error(&at("via"), format!("no host `{via}` in this profile"))
                    .with_hint(format!("via names a [[hosts]] entry: {}", known.join(", "))));
            }
        }
        positive(d.connect_timeout_secs, s, &at("connect_timeout_secs"))?;
        positive(d.query_timeout_secs, s, &at("query_timeout_secs"))?;
        if let Some(log) = &d.slow_log {
            if !p.hosts.iter().any(|h| h.name == log.host) {
                let known: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
                return Err(s
                    .error(
                        &at("slow_log"),
                        format!("slow_log: no host `{}` in this profile", log.host),
                    )
                    .with_hint(format!(
                        "host names a [[hosts]] entry: {}",
                        known.join(", ")
                    )));
            }
            if log.path.trim().is_empty() {
                return Err(s.error(&at("slow_log"), "slow_log: path is empty"));
            }
            if log.window_minutes == 0 || log.max_bytes == 0 {
                return Err(s.error(
                    &at("slow_log"),
                    "slow_log: window_minutes and max_bytes must be at least 1",
                ));
            }
        }
    }
    Ok(())
}

fn validate_hosts(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use Seg::{Index, Key};
    let mut names = HashSet::new();
    for (i, host) in p.hosts.iter().enumerate() {
        let at = |k| [Key("hosts"), Index(i), Key(k)];
        let name = host.name.as_str();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(s.error(&at("name"), "host name must be non-empty, without spaces"));
        }
        if !names.insert(name) {
            return Err(s.error(&at("name"), format!("duplicate host name `{name}`")));
        }
        if host.port == Some(0) {
            return Err(s.error(&at("port"), "port must be 1-65535"));
        }
        if let Some(addr) = &host.address {
            if addr.trim().is_empty() || addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(s
                    .error(
                        &at("address"),
                        "address must be a host name, an IP address or an ssh_config alias",
                    )
                    .with_hint("leave `address` out to use the host's name"));
            }
        }
        if host.transport == Transport::Local
            && (host.jump.as_deref().is_some_and(|j| !j.is_empty()))
        {
            return Err(s.error(&at("jump"), "a local host has no jump host"));
        }
        if let Some(logs) = &host.logs {
            for (j, l) in logs.iter().enumerate() {
                log_source(l, s, &[Key("hosts"), Index(i), Key("logs"), Index(j)])?;
            }
        }
        if let Some(path) = jump_loop(p, host) {
            let hint = match path.get(1) {
                Some(bastion) => format!("set jump = \"\" on `{bastion}` to reach it directly"),
                None => "set jump = \"\" on the bastion to reach it directly".to_string(),
            };
            let message = if path.len() == 2 {
                format!("host `{name}` is its own jump host")
            } else {
                format!(
                    "the jump hosts of `{name}` go round in a loop: {}",
                    path.join(" → ")
                )
            };
            return Err(s.error(&at("name"), message).with_hint(hint));
        }
        if let Some(jump) = effective_jump(p, host)
            && jump.split(',').any(|hop| hop.trim().is_empty())
        {
            return Err(s.error(&at("jump"), format!("empty hop in the jump chain `{jump}`")));
        }
    }
    Ok(())
}

/// The hops of a host's jump chain that are profile hosts, each expanded through its
/// own jump setting, until a hop repeats: the loop (`a → b → a`), if there is one.
fn jump_loop(p: &Profile, start: &HostEntry) -> Option<Vec<String>> {
    fn walk<'a>(p: &'a Profile, host: &'a HostEntry, path: &mut Vec<&'a str>) -> bool {
        let Some(jump) = effective_jump(p, host) else {
            return false;
        };
        for hop in jump.split(',').map(str::trim) {
            if path.contains(&hop) {
                path.push(hop);
                return true;
            }
            if let Some(next) = p.hosts.iter().find(|h| h.name == hop) {
                path.push(hop);
                if walk(p, next, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.name.as_str()];
    walk(p, start, &mut path)
        .then(|| path.into_iter().map(str::to_string).collect())
        .filter(|loop_path: &Vec<String>| loop_path.first() == loop_path.last())
}

/// The jump host a host entry uses: its own setting (`""` = none), else the profile's.
pub fn effective_jump<'a>(p: &'a Profile, host: &'a HostEntry) -> Option<&'a str> {
    if host.transport == Transport::Local {
        return None;
    }
    match host.jump.as_deref() {
        Some("") => None,
        Some(j) => Some(j),
        None => p.ssh.jump.as_deref().filter(|j| !j.is_empty()),
    }
}

fn log_source(l: &LogSource, s: &Spans, path: &[Seg]) -> Result<(), Diagnostic> {
    match (&l.unit, &l.file) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(s
            .error(path, "a log source names exactly one of `unit` or `file`")
            .with_hint("e.g. { unit = \"nginx\" } or { file = \"/var/log/syslog\" }")),
    }
}

fn validate_scale(p: &Profile, s: &Spans) -> Result<(), Diagnostic> {
    use super::scale::ScaleKind;
    use Seg::{Index, Key};
    let known: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
    for (i, t) in p.scale.iter().enumerate() {
        let at = |k| [Key("scale"), Index(i), Key(k)];
        if t.name.trim().is_empty() || t.name.starts_with(['+', '-', '=']) {
            return Err(s
                .error(&at("name"), "a scale target needs a name")
                .with_hint("name = \"web\" (the TARGET of `opsctl scale web +2`)"));
        }
        if p.scale[..i].iter().any(|o| o.name == t.name) {
            return Err(s.error(&at("name"), format!("a second scale target `{}`", t.name)));
        }
        if t.hosts.is_empty() && t.roles.is_empty() {
            return Err(s
                .error(
                    &at("name"),
                    format!("the scale target `{}` names no hosts", t.name),
                )
                .with_hint("hosts = [\"web1\"] or roles = [\"web\"]"));
        }
        for (j, h) in t.hosts.iter().enumerate() {
            if !known.contains(&h.as_str()) {
                return Err(s.error(
                    &[Key("scale"), Index(i), Key("hosts"), Index(j)],
                    format!("no host `{h}` in this profile"),
                ));
            }
        }
        for (j, r) in t.roles.iter().enumerate() {
            if !p.hosts.iter().any(|h| h.roles.contains(r)) {
                return Err(s.error(
                    &[Key("scale"), Index(i), Key("roles"), Index(j)],
                    format!("no host of the profile has the role `{r}`"),
                ));
            }
        }
        if let Some(max) = t.max
            && max < t.min
        {
            return Err(s.error(&at("max"), format!("max ({max}) is below min ({})", t.min)));
        }
        positive(t.timeout_secs, s, &at("timeout_secs"))?;
        positive(t.drain_timeout_secs, s, &at("drain_timeout_secs"))?;
        let missing = |key: &str, hint: &str| {
            Err(s
                .error(
                    &at("kind"),
                    format!("a `{}` scale target needs `{key}`", t.kind.as_str()),
                )
                .with_hint(hint.to_string()))
        };
        match t.kind {
            ScaleKind::Gunicorn => {
                let Some(f) = &t.pid_file else {
                    return missing("pid_file", "pid_file = \"shared/tmp/gunicorn.pid\"");
                };
                if !f.starts_with('/') && p.app.is_none() {
                    return Err(s
                        .error(
                            &at("pid_file"),
                            "a relative pid_file needs an [app] (its path)",
                        )
                        .with_hint("an absolute path: pid_file = \"/run/gunicorn/shop.pid\""));
                }
            }
            ScaleKind::Systemd => {
                if !t.unit.as_deref().is_some_and(|u| u.contains("{instance}")) {
                    return missing("unit", "unit = \"shop@{instance}.service\"");
                }
                if t.instances.is_empty() {
                    return missing("instances", "instances = [\"8001\", \"8002\", \"8003\"]");
                }
            }
            ScaleKind::NginxUpstream => {
                if t.upstream_file.is_none() {
                    return missing(
                        "upstream_file",
                        "upstream_file = \"/etc/nginx/shop-upstream.conf\"",
                    );
                }
                if t.pid_file.is_none() {
                    return missing("pid_file", "pid_file = \"/run/nginx.pid\"");
                }
                for key in ["test", "reload"] {
                    let argv = if key == "test" { &t.test } else { &t.reload };
                    if argv.first().is_none_or(|a| a.is_empty()) {
                        return Err(s.error(&at(key), format!("{key} is an empty command")));
                    }
                }
                if let Some(r) = &t.backends_role
                    && !p.hosts.iter().any(|h| h.roles.contains(r))
                {
                    return Err(s.error(
                        &at("backends_role"),
                        format!("no host of the profile has the role `{r}`"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn positive(v: f64, s: &Spans, path: &[Seg]) -> Result<(), Diagnostic> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        let key = match path.last() {
            Some(Seg::Key(k)) => *k,
            _ => "value",
        };
        Err(s.error(path, format!("{key} must be a positive number of seconds")))
    }
}

/// `--profile` with `--inventory`: the inventory alone makes a profile named after
/// the file; with a profile, its hosts are added to the profile's. Also returns the
/// inventory's warnings (what was not imported), for the caller to show.
pub fn load_with_inventory(
    spec: Option<&str>,
    inventory: Option<&Path>,
) -> Result<(LoadedProfile, Vec<super::inventory::Warning>), super::inventory::WithInventoryError> {
    let Some(path) = inventory else {
        return Ok((load(spec)?, Vec::new()));
    };
    let imported = super::inventory::import_file(path)?;
    let loaded = match spec {
        None => super::inventory::into_loaded(&imported, path)?,
        Some(spec) => super::inventory::merge(load(Some(spec))?, &imported)?,
    };
    Ok((loaded, imported.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Diagnostic {
        parse_profile(text, "p.toml").expect_err("profile should be refused")
    }

    #[test]
    fn embedded_local_profile_is_valid() {
        let p = parse_profile(EMBEDDED_LOCAL, "local").unwrap();
        assert_eq!(p.name, "local");
        assert_eq!(p.hosts.len(), 1);
        assert_eq!(p.hosts[0].transport, Transport::Local);
    }

    #[test]
    fn shipped_profiles_are_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            parse_profile(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
        assert!(seen >= 2);
    }

    #[test]
    fn profiles_dir_local_matches_embedded() {
        let on_disk = include_str!("../../profiles/local.toml");
        assert_eq!(on_disk, EMBEDDED_LOCAL);
    }

    #[test]
    fn unknown_key_points_at_it_with_a_hint() {
        let d = err("name = \"x\"\n[health]\nintervall_secs = 3\n");
        assert_eq!((d.line, d.col), (3, 1), "{d}");
        assert!(d.message.contains("unknown key `intervall_secs`"), "{d}");
        assert_eq!(d.hint.as_deref(), Some("did you mean `interval_secs`?"));
    }

    #[test]
    fn unknown_enum_value_gets_a_hint() {
        let d = err("name = \"x\"\nenvironment = \"prodution\"\n");
        assert_eq!(d.line, 2);
        assert_eq!(d.hint.as_deref(), Some("did you mean `production`?"));
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let d = err("name = \"x\"\n[[hosts]]\nname = \"a\"\nport = \"22\"\n");
        assert_eq!(d.line, 4, "{d}");
        assert!(d.to_string().starts_with("p.toml:4:"), "{d}");
    }

    #[test]
    fn type_errors_speak_of_numbers_not_rust_types() {
        let d = err("name = \"x\"\n[health]\ninterval_secs = \"fast\"\n");
        let text = d.to_string();
        assert!(text.contains("expected a number"), "{text}");
        assert!(!text.contains("f64"), "{text}");
        let d = err("name = \"x\"\n[[hosts]]\nname = \"a\"\nport = 70000\n");
        let text = d.to_string();
        assert!(text.contains("a whole number from 0 to 65535"), "{text}");
        assert!(!text.contains("u16"), "{text}");
    }

    #[test]
    fn the_app_section_is_checked_with_its_line() {
        let base = "name = \"x\"\n[[hosts]]\nname = \"web1\"\nroles = [\"web\"]\n[app]\nname = \"shop\"\npath = \"/srv/{host}\"\nroles = [\"web\"]\nrepository = \"/git/shop.git\"\n";
        let health = "[app.health]\nurl = \"http://{address}:8000/healthz\"\n";
        let p = parse_profile(&format!("{base}{health}"), "p.toml").unwrap();
        let app = p.app.unwrap();
        assert_eq!(app.path_on("web1"), "/srv/web1");
        assert_eq!(app.keep_releases, 5);
        for (extra, tail, why) in [
            ("hosts = [\"web9\"]\n", health, "no host `web9`"),
            ("keep_releases = 1\n", health, "at least 2"),
            ("build = [[]]\n", health, "build step 1 is an empty command"),
            (
                "linked_files = [\"../etc/passwd\"]\n",
                health,
                "without `..`",
            ),
            ("batch_size = 0\n", health, "batch_size"),
            (
                "",
                "[app.health]\nurl = \"ftp://x\"\n",
                "http:// or https://",
            ),
            (
                "",
                "[app.health]\nurl = \"http://x\"\nretries = 0\n",
                "retries",
            ),
            (
                "",
                "[app.restart]\nstrategy = \"systemd-reload\"\n[app.health]\nurl = \"http://x\"\n",
                "needs unit",
            ),
            (
                "",
                "[app.restart]\nstrategy = \"command\"\n[app.health]\nurl = \"http://x\"\n",
                "needs argv",
            ),
            (
                "",
                "[app.health]\nurl = \"http://x\"\n[app.watch]\nmax_p95_ratio = 0.5\n",
                "above 1",
            ),
            (
                "",
                "[app.health]\nurl = \"http://x\"\n[app.watch]\npaths = [\"products\"]\n",
                "starts with /",
            ),
            ("", "", "missing key `health`"),
        ] {
            let d = err(&format!("{base}{extra}{tail}"));
            assert!(d.to_string().contains(why), "{extra}{tail}: {d}");
        }
        let relative = base.replace("/srv/{host}", "srv");
        let d = err(&format!("{relative}{health}"));
        assert!(d.to_string().contains("must be absolute"), "{d}");
        assert_eq!(d.line, 7, "{d:?}");
    }

    #[test]
    fn databases_are_checked() {
        let base = "name = \"x\"\n[[hosts]]\nname = \"db1\"\n[[databases]]\nname = \"shop\"\nengine = \"postgresql\"\nhost = \"127.0.0.1\"\nuser = \"opsctl\"\n";
        parse_profile(base, "p.toml").unwrap();
        for (extra, why) in [
            ("via = \"db9\"\n", "no host `db9`"),
            (
                "password_env = \"A\"\npassword_file = \"/f\"\n",
                "one password source",
            ),
            ("option_file = \"~/.my.cnf\"\n", "option_file is MySQL's"),
            ("tls = \"verify-full\"\n", "need ca_file"),
            ("port = 0\n", "1-65535"),
            ("password = \"hunter2\"\n", "unknown key `password`"),
            (
                "slow_log = { host = \"db9\", path = \"/var/log/pg.log\" }\n",
                "slow_log: no host `db9`",
            ),
            (
                "slow_log = { host = \"db1\", path = \"\" }\n",
                "path is empty",
            ),
            (
                "slow_log = { host = \"db1\", path = \"/l\", window_minutes = 0 }\n",
                "at least 1",
            ),
        ] {
            let d = err(&format!("{base}{extra}"));
            assert!(d.to_string().contains(why), "{extra}: {d}");
        }
        let dup = format!(
            "{base}[[databases]]\nname = \"shop\"\nengine = \"mariadb\"\nhost = \"h\"\nuser = \"u\"\n"
        );
        assert!(err(&dup).message.contains("duplicate database"));
    }

    #[test]
    fn an_empty_address_is_refused() {
        for addr in ["", "  ", "web 1"] {
            let d = err(&format!(
                "name = \"x\"\n[[hosts]]\nname = \"a\"\naddress = {addr:?}\n"
            ));
            assert_eq!(d.line, 4, "{d}");
            assert!(d.message.contains("address must be"), "{d}");
        }
    }

    #[test]
    fn an_empty_profile_name_is_an_error_not_the_local_profile() {
        for spec in ["", " "] {
            let e = load(Some(spec)).unwrap_err();
            assert!(matches!(e, LoadError::EmptyName), "{e}");
            assert!(e.to_string().contains("profile name is empty"), "{e}");
        }
    }

    #[test]
    fn duplicate_host_names_are_refused_at_the_second() {
        let d = err("name = \"x\"\n[[hosts]]\nname = \"a\"\n[[hosts]]\nname = \"a\"\n");
        assert_eq!(d.line, 5, "{d}");
        assert!(d.message.contains("duplicate host name `a`"));
    }

    #[test]
    fn thresholds_must_be_ordered() {
        let d = err("name = \"x\"\n[health.thresholds]\ndisk_warn = 95\ndisk_crit = 90\n");
        assert_eq!(d.line, 3, "{d}");
        assert!(
            d.message.contains("disk_warn (95) is above disk_crit (90)"),
            "{d}"
        );
    }

    #[test]
    fn http_url_must_have_a_scheme() {
        let d = err("name = \"x\"\n[[health.http]]\nname = \"s\"\nurl = \"example.com\"\n");
        assert_eq!(d.line, 4, "{d}");
        assert_eq!(d.hint.as_deref(), Some("e.g. https://example.com"));
    }

    #[test]
    fn log_source_needs_exactly_one_kind() {
        let d = err("name = \"x\"\n[[health.logs]]\nunit = \"a\"\nfile = \"b\"\n");
        assert!(d.message.contains("exactly one"), "{d}");
    }

    #[test]
    fn bastions_may_have_bastions_but_not_loops() {
        let chain = "name = \"x\"\n[[hosts]]\nname = \"b1\"\njump = \"b2\"\n[[hosts]]\nname = \"b2\"\njump = \"b3\"\n[[hosts]]\nname = \"b3\"\njump = \"\"\n";
        parse_profile(chain, "p.toml").unwrap();
        let comma = "name = \"x\"\n[[hosts]]\nname = \"web\"\njump = \"outer,inner\"\n";
        parse_profile(comma, "p.toml").unwrap();
        let looped = "name = \"x\"\n[[hosts]]\nname = \"b1\"\njump = \"b2\"\n[[hosts]]\nname = \"b2\"\njump = \"b1\"\n";
        let d = err(looped);
        assert!(d.message.contains("loop: b1 → b2 → b1"), "{d}");
        let own = "name = \"x\"\n[ssh]\njump = \"bastion\"\n[[hosts]]\nname = \"bastion\"\n";
        let d = err(own);
        assert!(d.message.contains("is its own jump host"), "{d}");
        let empty = "name = \"x\"\n[[hosts]]\nname = \"a\"\njump = \"b,,c\"\n";
        assert!(err(empty).message.contains("empty hop"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let d = err("name = \"x\"\n[health\n");
        assert_eq!(d.line, 2, "{d}");
    }

    #[test]
    fn path_like_specs_are_paths() {
        assert!(looks_like_path("./x"));
        assert!(looks_like_path("x.toml"));
        assert!(!looks_like_path("production-no-such-file"));
    }
}
