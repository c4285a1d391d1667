//! Where a warm's URLs come from: sitemaps (over HTTP, or files) followed
//! through their indexes, and URL lists (a file, or `-` for stdin). Read on a
//! blocking thread, one entry at a time, and handed to the runner through a
//! bounded channel: a sitemap of a million URLs is never held, and the reader
//! waits while the requests catch up.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use reqwest::Url;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::lastmod;
use super::scope::{Scope, list_line};
use super::sitemap::{Kind, SitemapReader, decompressed};

/// At most this many sitemaps are read in one warm (the spec allows 50,000 in an
/// index; a loop of indexes must end).
pub const MAX_SITEMAPS: usize = 100_000;
/// The longest line of a URL list.
const MAX_LINE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A sitemap or sitemap index: an http(s) URL, or a file path.
    Sitemap(String),
    /// One URL (or path relative to the base) per line; `-` is stdin.
    List(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Sitemap(s) => format!("sitemap {s}"),
            Source::List(l) if l == "-" => "URL list on stdin".into(),
            Source::List(l) => format!("URL list {l}"),
        }
    }
}

/// What the reader hands the runner.
#[derive(Debug)]
pub enum Fed {
    Url(Url),
    /// A URL the scope refused (another host, not http): no request is sent.
    Refused {
        url: String,
        reason: String,
    },
    /// A source (or a sitemap an index named) that could not be read whole.
    Failed {
        source: String,
        reason: String,
    },
}

/// How far the reader has read: it runs ahead of the requests (by the channel's
/// bound), so the progress knows the total as soon as the sources end, long
/// before the last URL is requested.
#[derive(Debug, Default)]
pub struct FeedCount {
    urls: AtomicU64,
    done: AtomicBool,
}

impl FeedCount {
    /// URLs read so far, and whether that is all of them.
    pub fn read(&self) -> (u64, bool) {
        let done = self.done.load(Ordering::Acquire);
        (self.urls.load(Ordering::Acquire), done)
    }
}

/// What to read, and what to keep of it.
pub struct Feeder {
    pub sources: Vec<Source>,
    pub scope: Scope,
    /// Only pages whose `<lastmod>` is at or after this (seconds since the epoch).
    pub changed_since: Option<i64>,
    /// Fetches the sitemaps (through the first cache node).
    pub client: reqwest::Client,
    /// Every URL handed on is also written here, one per line (the `--verify`
    /// pass reads the same URLs back without fetching the sitemaps again).
    pub spool: Option<PathBuf>,
    pub count: Arc<FeedCount>,
}

/// Starts reading on a blocking thread. The thread ends at the end of the
/// sources, or as soon as the receiver is gone (the warm was interrupted).
pub fn spawn(feeder: Feeder, tx: mpsc::Sender<Fed>) -> tokio::task::JoinHandle<()> {
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut spool = match feeder.spool.as_deref().map(create_private).transpose() {
            Ok(f) => f.map(BufWriter::new),
            Err(e) => {
                let _ = tx.blocking_send(Fed::Failed {
                    source: "the --verify spool".into(),
                    reason: e.to_string(),
                });
                return;
            }
        };
        let mut reading = Reading {
            feeder: &feeder,
            tx: &tx,
            handle: &handle,
            spool: spool.as_mut(),
        };
        let _ = reading.all();
        feeder.count.done.store(true, Ordering::Release);
        if let Some(mut s) = spool {
            if let Err(e) = s.flush() {
                let _ = tx.blocking_send(Fed::Failed {
                    source: "the --verify spool".into(),
                    reason: e.to_string(),
                });
            }
        }
    })
}

/// The receiver is gone: stop reading.
struct Gone;

struct Reading<'a> {
    feeder: &'a Feeder,
    tx: &'a mpsc::Sender<Fed>,
    handle: &'a Handle,
    spool: Option<&'a mut BufWriter<File>>,
}

impl Reading<'_> {
    fn send(&self, fed: Fed) -> Result<(), Gone> {
        self.tx.blocking_send(fed).map_err(|_| Gone)
    }

    fn failed(&self, source: &str, reason: String) -> Result<(), Gone> {
        self.send(Fed::Failed {
            source: source.to_string(),
            reason,
        })
    }

    fn all(&mut self) -> Result<(), Gone> {
        let mut queue: VecDeque<String> = VecDeque::new();
        let mut seen: HashSet<String> = HashSet::new();
        for source in &self.feeder.sources {
            match source {
                Source::Sitemap(s) => {
                    if seen.insert(s.clone()) {
                        queue.push_back(s.clone());
                    }
                    // Each top-level sitemap is read with the indexes it names
                    // before the next: the order of the command line holds.
                    while let Some(next) = queue.pop_front() {
                        self.sitemap(&next, &mut queue, &mut seen)?;
                    }
                }
                Source::List(path) => self.list(path)?,
            }
        }
        Ok(())
    }

    fn page(&mut self, loc: &str) -> Result<(), Gone> {
        match self.feeder.scope.check(loc) {
            Ok(url) => {
                if let Some(spool) = self.spool.as_mut() {
                    if let Err(e) = writeln!(spool, "{url}") {
                        self.spool = None;
                        self.failed("the --verify spool", e.to_string())?;
                    }
                }
                self.feeder.count.urls.fetch_add(1, Ordering::AcqRel);
                self.send(Fed::Url(url))
            }
            Err(e) => self.send(Fed::Refused {
                url: loc.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn sitemap(
        &mut self,
        at: &str,
        queue: &mut VecDeque<String>,
        seen: &mut HashSet<String>,
    ) -> Result<(), Gone> {
        let input = match self.open_sitemap(at) {
            Ok(i) => i,
            Err(reason) => return self.failed(at, reason),
        };
        let named_gz = at
            .split(['?', '#'])
            .next()
            .is_some_and(|p| p.ends_with(".gz"));
        let input = match decompressed(input, named_gz) {
            Ok(i) => i,
            Err(e) => return self.failed(at, e.to_string()),
        };
        let mut reader = SitemapReader::new(input);
        loop {
            match reader.next_entry() {
                Ok(None) => return Ok(()),
                Ok(Some(entry)) => match entry.kind {
                    Kind::Page => {
                        if lastmod::changed_since(
                            entry.lastmod.as_deref(),
                            self.feeder.changed_since,
                        ) {
                            self.page(&entry.loc)?;
                        }
                    }
                    Kind::Sitemap => match self.feeder.scope.check(&entry.loc) {
                        Ok(url) => {
                            let url = url.to_string();
                            if seen.len() >= MAX_SITEMAPS {
                                self.failed(
                                    &url,
                                    format!("more than {MAX_SITEMAPS} sitemaps; not read"),
                                )?;
                            } else if seen.insert(url.clone()) {
                                queue.push_back(url);
                            }
                        }
                        Err(e) => self.send(Fed::Refused {
                            url: entry.loc,
                            reason: e.to_string(),
                        })?,
                    },
                },
                Err(e) => return self.failed(at, e.to_string()),
            }
        }
    }

    /// The sitemap's bytes, as they arrive.
    fn open_sitemap(&self, at: &str) -> Result<Box<dyn BufRead + Send>, String> {
        if !(at.starts_with("http://") || at.starts_with("https://")) {
            let f = File::open(Path::new(at)).map_err(|e| format!("cannot open it: {e}"))?;
            return Ok(Box::new(BufReader::with_capacity(64 * 1024, f)));
        }
        let url = Url::parse(at).map_err(|e| format!("not a URL: {e}"))?;
        let client = self.feeder.client.clone();
        let resp = self
            .handle
            .block_on(async move { client.get(url).send().await })
            .map_err(|e| super::client::describe(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        Ok(Box::new(BufReader::with_capacity(
            64 * 1024,
            Body {
                resp,
                handle: self.handle.clone(),
                chunk: Vec::new(),
                at: 0,
            },
        )))
    }

    fn list(&mut self, path: &str) -> Result<(), Gone> {
        let input: Box<dyn BufRead> = if path == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            match File::open(path) {
                Ok(f) => Box::new(BufReader::new(f)),
                Err(e) => return self.failed(path, format!("cannot open it: {e}")),
            }
        };
        let mut input = input;
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            number += 1;
            match (&mut input).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return self.failed(path, format!("cannot read it: {e}")),
            }
            if line.len() as u64 >= MAX_LINE && !line.ends_with(b"\n") {
                return self.failed(
                    path,
                    format!("line {number} is longer than {MAX_LINE} bytes"),
                );
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                self.send(Fed::Refused {
                    url: format!("{path}:{number}"),
                    reason: "not UTF-8".into(),
                })?;
                continue;
            };
            if let Some(url) = list_line(text) {
                let url = url.to_string();
                self.page(&url)?;
            }
        }
    }
}

/// A new file only its owner reads (URLs can carry tokens).
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// A response body read as `Read` on a blocking thread, chunk by chunk: the
/// sitemap parser pulls, the body arrives at the pace it is parsed.
struct Body {
    resp: reqwest::Response,
    handle: Handle,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.chunk.len() {
            let next = self
                .handle
                .block_on(self.resp.chunk())
                .map_err(|e| std::io::Error::other(super::client::describe(&e)))?;
            match next {
                Some(bytes) => {
                    self.chunk.clear();
                    self.chunk.extend_from_slice(&bytes);
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = (self.chunk.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
