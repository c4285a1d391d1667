//! `opsctl digest`: slow-query log digest (the pt-query-digest / pgbadger peer).
//!
//! The edge: opens files (`-` for stdin, gzip detected by its magic bytes) and
//! slow logs where they live (`HOST:PATTERN`, read through the host's Remote),
//! shows a progress bar on a terminal, and prints the engine's report.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::cli::exit;
use crate::config::load::LoadedProfile;
use crate::logs::files::{self, LogFile, StreamReader};
use crate::remote::Remote;
use crate::sql::digest::{
    self, Digest, FormatChoice, OrderBy, RunError, RunOptions, Source, report,
};
use crate::sql::slowlog::{Prefix, time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormatArg {
    #[default]
    Auto,
    /// MySQL 5.7/8.0 or MariaDB slow query log.
    Mysql,
    /// PostgreSQL stderr log (see --prefix).
    Pg,
    /// PostgreSQL csvlog.
    Pgcsv,
    /// PostgreSQL jsonlog (PostgreSQL 15+).
    Pgjson,
}

#[derive(Debug, clap::Args)]
pub struct DigestArgs {
    /// Slow-query logs to read (`-` for stdin, `.gz` transparently), or
    /// `HOST:PATH` for a log on a profile host, PATH a glob that takes the
    /// rotations too (`db1:'/var/log/postgresql/postgresql-15-main.log*'`).
    /// Default: stdin.
    pub files: Vec<String>,
    /// Print JSON (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Log format (detected from the first lines by default).
    #[arg(long, value_enum, default_value_t)]
    pub log_format: LogFormatArg,
    /// PostgreSQL log_line_prefix of stderr logs, e.g. '%m [%p] %q%u@%d ' (as in
    /// postgresql.conf; default: detected among common prefixes).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Rank classes by this measure.
    #[arg(long, value_enum, default_value_t)]
    pub order_by: OrderBy,
    /// Number of classes to show (0 = all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Number of top classes shown in detail in text and Markdown output.
    #[arg(long, default_value_t = 5)]
    pub details: usize,
    /// Only events at or after this time (UTC): `2024-01-02`, `2024-01-02 03:04[:05]`,
    /// or RFC 3339.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events before this time (UTC), same forms as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Only events in this database (repeatable).
    #[arg(long = "database", value_name = "DB")]
    pub databases: Vec<String>,
    /// Only events of this user (repeatable).
    #[arg(long = "user", value_name = "USER")]
    pub users: Vec<String>,
    /// MySQL sql_mode ANSI_QUOTES: "..." is an identifier, not a string.
    #[arg(long)]
    pub ansi_quotes: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn usage(msg: &str) -> anyhow::Result<i32> {
    eprintln!("opsctl digest: {msg}");
    Ok(exit::USAGE)
}

/// A `--since`/`--until` value that is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {value:?} is not a time; use 2024-01-02, '2024-01-02 03:04:05' or RFC 3339")]
struct BadTime {
    flag: String,
    value: String,
}

fn parse_time(s: &str, flag: &str) -> Result<i64, BadTime> {
    time::parse_iso(s.trim().as_bytes()).ok_or_else(|| BadTime {
        flag: flag.to_string(),
        value: s.to_string(),
    })
}

/// Counts bytes read from the underlying file for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open(name: &str, read: &Arc<AtomicU64>) -> std::io::Result<(Source, Option<u64>)> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if name == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(name)?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    Ok((wrap(name, raw, read)?, size))
}

/// Buffers a reader, counts what it reads and undoes gzip when it starts with
/// gzip's magic bytes.
fn wrap(name: &str, raw: Box<dyn Read + Send>, read: &Arc<AtomicU64>) -> std::io::Result<Source> {
    let counted = Counting {
        inner: raw,
        read: Arc::clone(read),
    };
    Ok(Source {
        name: name.to_string(),
        reader: files::decoded(counted)?,
    })
}

/// `HOST:PATH` when HOST is not empty and holds no `/` (a local path with a colon
/// in a directory name stays local) and no local file has the whole name.
fn remote_spec(name: &str) -> Option<(&str, &str)> {
    let (host, path) = name.split_once(':')?;
    let plausible = !host.is_empty() && !host.contains('/') && !path.is_empty();
    (plausible && !std::path::Path::new(name).exists()).then_some((host, path))
}

/// A file on a host, fetched when the digest first reads it (rotations are read
/// one after another, not all at once).
struct RemoteFile {
    handle: tokio::runtime::Handle,
    remote: Arc<dyn Remote>,
    path: String,
    label: String,
    compress: bool,
    stream: Option<StreamReader>,
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stream.is_none() {
            let rx = self
                .handle
                .block_on(files::fetch(
                    self.remote.as_ref(),
                    &self.path,
                    self.compress,
                ))
                .map_err(std::io::Error::other)?;
            self.stream = Some(StreamReader::new(rx, self.label.clone()));
        }
        match &mut self.stream {
            Some(s) => s.read(buf),
            None => Ok(0),
        }
    }
}

/// The road to a profile host for `HOST:PATH`, and whether to compress on the
/// wire (over SSH, not for this machine).
fn host_remote(loaded: &LoadedProfile, host: &str) -> Result<(Arc<dyn Remote>, bool), String> {
    let profile = &loaded.profile;
    let Some(entry) = profile.hosts.iter().find(|h| h.name == host) else {
        let names: Vec<&str> = profile.hosts.iter().map(|h| h.name.as_str()).collect();
        return Err(format!(
            "no host `{host}` in profile `{}` (hosts: {}), and no local file of that name",
            profile.name,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let cache = crate::config::ssh_lookup::SshConfigCache::for_profile(profile);
    let lookup = |a: &str, u: Option<&str>, p: Option<u16>| cache.get(a, u, p);
    let resolved = crate::config::resolve::resolve_entry(profile, entry, &lookup)
        .map_err(|e| e.to_string())?;
    let compress = resolved.ssh.is_some();
    Ok((resolved.remote(), compress))
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// Lists `pattern` on the host and gives one source per file to read, oldest first.
fn remote_sources(
    runtime: &tokio::runtime::Runtime,
    remote: &Arc<dyn Remote>,
    compress: bool,
    host: &str,
    pattern: &str,
    since: Option<i64>,
    read: &Arc<AtomicU64>,
) -> Result<Vec<Source>, String> {
    let listing = runtime
        .block_on(files::list(remote.as_ref(), pattern, since))
        .map_err(|e| e.to_string())?;
    for u in &listing.unreadable {
        eprintln!("opsctl digest: {host}:{u}: not readable by the SSH user, left out");
    }
    if listing.files.is_empty() {
        return Err(if listing.skipped_old.is_empty() {
            format!("{host}: nothing matches {pattern}")
        } else {
            format!(
                "{host}: the {} file(s) matching {pattern} were last written before --since",
                listing.skipped_old.len()
            )
        });
    }
    let total: u64 = listing.files.iter().map(|f| f.size).sum();
    let mut note = format!(
        "opsctl digest: {host}: reading {} file(s), {}",
        listing.files.len(),
        human_bytes(total)
    );
    if !listing.skipped_old.is_empty() {
        let old: u64 = listing.skipped_old.iter().map(|f| f.size).sum();
        note.push_str(&format!(
            "; {} older than --since ({}) left on the host",
            listing.skipped_old.len(),
            human_bytes(old)
        ));
    }
    eprintln!("{note}");
    listing
        .files
        .into_iter()
        .map(|LogFile { path, .. }| {
            let label = format!("{host}:{path}");
            let raw = RemoteFile {
                handle: runtime.handle().clone(),
                remote: Arc::clone(remote),
                path,
                label: label.clone(),
                compress,
                stream: None,
            };
            // Wrapped on first read: peeking at the gzip magic starts the fetch,
            // and the digest reads its sources one after another, so one file at
            // a time is in flight (sshd allows few sessions per connection).
            let read = Arc::clone(read);
            let name = label.clone();
            let make = move || wrap(&name, Box::new(raw), &read).map(|s| s.reader);
            Ok(Source {
                name: label,
                reader: Box::new(Lazy::Pending(Some(Box::new(make)))),
            })
        })
        .collect()
}

type MakeReader = Box<dyn FnOnce() -> std::io::Result<Box<dyn Read + Send>> + Send>;

/// A reader made when it is first read.
enum Lazy {
    Pending(Option<MakeReader>),
    Ready(Box<dyn Read + Send>),
}

impl Read for Lazy {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Lazy::Pending(make) = self {
            let Some(make) = make.take() else {
                return Ok(0);
            };
            *self = Lazy::Ready(make()?);
        }
        match self {
            Lazy::Ready(r) => r.read(buf),
            Lazy::Pending(_) => Ok(0),
        }
    }
}

/// Runs the digest. The profile is loaded only when a `HOST:PATH` needs it.
pub fn run(
    args: &DigestArgs,
    profile_spec: Option<&str>,
    inventory: Option<&std::path::Path>,
) -> anyhow::Result<i32> {
    let format = if args.json {
        OutputFormat::Json
    } else {
        args.format
    };
    let prefix = match args.prefix.as_deref().map(Prefix::parse) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return usage(&format!("--prefix: {e}")),
    };
    let mut opts = RunOptions {
        format: match args.log_format {
            LogFormatArg::Auto => FormatChoice::Auto,
            LogFormatArg::Mysql => FormatChoice::MySql,
            LogFormatArg::Pg => FormatChoice::PgStderr,
            LogFormatArg::Pgcsv => FormatChoice::PgCsv,
            LogFormatArg::Pgjson => FormatChoice::PgJson,
        },
        prefix,
        ansi_quotes: args.ansi_quotes,
        ..RunOptions::default()
    };
    if let Some(t) = args.threads {
        if t == 0 {
            return usage("--threads must be at least 1");
        }
        opts.threads = t;
    }
    for (flag, value, slot) in [
        ("--since", &args.since, &mut opts.filter.since),
        ("--until", &args.until, &mut opts.filter.until),
    ] {
        if let Some(v) = value {
            match parse_time(v, flag) {
                Ok(t) => *slot = Some(t),
                Err(e) => return usage(&e.to_string()),
            }
        }
    }
    opts.filter.databases.clone_from(&args.databases);
    opts.filter.users.clone_from(&args.users);

    if args.files.is_empty() && std::io::stdin().is_terminal() {
        return usage("no input: name slow-log files, or pipe a log into `opsctl digest -`");
    }
    let names: Vec<String> = if args.files.is_empty() {
        vec!["-".into()]
    } else {
        args.files.clone()
    };
    if names.iter().filter(|n| *n == "-").count() > 1 {
        return usage("stdin (-) can be read only once");
    }
    let read = Arc::new(AtomicU64::new(0));
    let mut sources = Vec::new();
    let mut total = Some(0u64);
    let mut loaded: Option<LoadedProfile> = None;
    let mut runtime: Option<tokio::runtime::Runtime> = None;
    for n in &names {
        if let Some((host, pattern)) = remote_spec(n) {
            if loaded.is_none() {
                match super::config::load_profile(profile_spec, inventory) {
                    Ok(l) => loaded = Some(l),
                    Err(code) => return Ok(code),
                }
            }
            let Some(profile) = loaded.as_ref() else {
                return Ok(exit::USAGE);
            };
            let (remote, compress) = match host_remote(profile, host) {
                Ok(r) => r,
                Err(e) => return usage(&e),
            };
            if runtime.is_none() {
                runtime = Some(
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()?,
                );
            }
            let Some(rt) = runtime.as_ref() else {
                return Ok(exit::USAGE);
            };
            match remote_sources(
                rt,
                &remote,
                compress,
                host,
                pattern,
                // The digest's times are microseconds; files' are seconds.
                opts.filter.since.map(|us| us.div_euclid(1_000_000)),
                &read,
            ) {
                Ok(mut s) => {
                    // Compressed bytes read say nothing against file sizes.
                    total = None;
                    sources.append(&mut s);
                }
                Err(e) => {
                    eprintln!("opsctl digest: {}", crate::config::secrets::scrub(&e));
                    return Ok(exit::PROBLEM);
                }
            }
            continue;
        }
        match open(n, &read) {
            Ok((s, size)) => {
                total = total.zip(size).map(|(a, b)| a + b);
                sources.push(s);
            }
            Err(e) => return usage(&format!("cannot open {n}: {e}")),
        }
    }

    let done = Arc::new(AtomicBool::new(false));
    let bar = (std::io::stderr().is_terminal() && total.is_none_or(|t| t > 16 << 20)).then(|| {
        let (read, done) = (Arc::clone(&read), Arc::clone(&done));
        std::thread::spawn(move || progress(&read, &done, total))
    });
    let result = digest::run(sources, &opts);
    done.store(true, Ordering::Relaxed);
    if let Some(h) = bar {
        let _ = h.join();
    }
    let out = match result {
        Ok(o) => o,
        Err(e @ RunError::UnknownFormat { .. }) => return usage(&e.to_string()),
        Err(e) => {
            eprintln!("opsctl digest: {e}");
            return Ok(exit::PROBLEM);
        }
    };
    let d = Digest::build(out, args.order_by, Some(args.limit));
    let text = match format {
        OutputFormat::Text => report::text(&d, args.details),
        OutputFormat::Markdown => report::markdown(&d, args.details),
        OutputFormat::Json => report::json(&d),
    };
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(text.as_bytes()).and_then(|()| {
        if text.ends_with('\n') {
            Ok(())
        } else {
            stdout.write_all(b"\n")
        }
    });
    match written {
        Ok(()) => Ok(exit::OK),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(e.into()),
    }
}

fn progress(read: &AtomicU64, done: &AtomicBool, total: Option<u64>) {
    let start = std::time::Instant::now();
    let mut shown = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let n = read.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(1e-3);
        let rate = n as f64 / secs / 1e6;
        let line = match total {
            Some(t) if t > 0 => {
                let frac = (n as f64 / t as f64).min(1.0);
                let filled = (frac * 30.0) as usize;
                format!(
                    "\r[{}{}] {:>5.1}% {:>7.1} MB/s",
                    "#".repeat(filled),
                    " ".repeat(30 - filled),
                    frac * 100.0,
                    rate
                )
            }
            _ => format!("\r{:>9.1} MB read {:>7.1} MB/s", n as f64 / 1e6, rate),
        };
        eprint!("{line}");
        shown = true;
    }
    if shown {
        eprint!("\r{}\r", " ".repeat(60));
    }
}
