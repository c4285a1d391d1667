//! Streaming slow-log parsers: MySQL/MariaDB slow logs and PostgreSQL stderr (any
//! `log_line_prefix`), csvlog and jsonlog.
//!
//! Parsers work on chunks of bytes that start at an event boundary (see
//! [`LogFormat::last_boundary`]), so a reader can cut a file of any size into chunks and
//! parse them in parallel with constant memory. Each parser calls back with borrowed
//! [`Event`]s and records what it could not read in [`Issues`]: nothing is dropped silently.

use std::borrow::Cow;

pub mod mysql;
pub mod pg_csv;
pub mod pg_json;
pub mod pg_message;
pub mod pg_prefix;
pub mod pg_stderr;
pub mod time;

pub use pg_prefix::Prefix;

/// Which statement a PostgreSQL auto_explain block comes from, or a regular statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A logged statement with its duration.
    Statement,
    /// An auto_explain plan (`duration: X ms  plan:`): the same execution is usually also
    /// logged as a statement, so the digest counts plans only when there are no statements.
    Plan,
}

/// One executed statement, borrowed from the chunk it was parsed from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// 1-based line of the event's first line in its file.
    pub line: u64,
    pub kind: EventKind,
    /// Microseconds since the Unix epoch.
    pub time: Option<i64>,
    /// Seconds.
    pub query_time: f64,
    pub lock_time: Option<f64>,
    pub rows_sent: Option<u64>,
    pub rows_examined: Option<u64>,
    pub db: Option<&'a [u8]>,
    pub user: Option<&'a [u8]>,
    pub statement: Cow<'a, [u8]>,
    /// PostgreSQL bind parameters (`$1 = '42', $2 = 'x'`), for the example statement.
    pub params: Option<Cow<'a, [u8]>>,
}

impl<'a> Event<'a> {
    pub fn new(line: u64, statement: Cow<'a, [u8]>) -> Self {
        Event {
            line,
            kind: EventKind::Statement,
            time: None,
            query_time: 0.0,
            lock_time: None,
            rows_sent: None,
            rows_examined: None,
            db: None,
            user: None,
            statement,
            params: None,
        }
    }
}

/// A place in the input the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub excerpt: String,
}

/// Unreadable and truncated events, with the first few kept for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Issues {
    pub unparsed: u64,
    pub truncated: u64,
    pub samples: Vec<Issue>,
}

/// How many issue samples a report keeps.
pub const ISSUE_SAMPLES: usize = 5;

impl Issues {
    pub fn unparsed(&mut self, line: u64, reason: &str, text: &[u8]) {
        self.unparsed += 1;
        self.sample(line, reason, text);
    }

    pub fn truncated(&mut self, line: u64, reason: &str, text: &[u8]) {
        self.truncated += 1;
        self.sample(line, reason, text);
    }

    fn sample(&mut self, line: u64, reason: &str, text: &[u8]) {
        // Keep the earliest lines: chunks finish out of order.
        if self.samples.len() >= ISSUE_SAMPLES && self.samples.iter().all(|s| s.line < line) {
            return;
        }
        let cut = &text[..text.len().min(120)];
        let excerpt = String::from_utf8_lossy(cut).replace(['\n', '\t'], " ");
        self.samples.push(Issue {
            file: String::new(),
            line,
            reason: reason.to_string(),
            excerpt,
        });
        self.samples.sort_by_key(|s| s.line);
        self.samples.truncate(ISSUE_SAMPLES);
    }

    pub fn merge(&mut self, other: Issues) {
        self.unparsed += other.unparsed;
        self.truncated += other.truncated;
        self.samples.extend(other.samples);
        self.samples.sort_by_key(|s| s.line);
        self.samples.truncate(ISSUE_SAMPLES);
    }
}

/// Log lines that are neither events nor errors, counted so the report can say what the
/// log contained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// PostgreSQL `parse`/`bind` steps of the extended protocol (the `execute` is the event).
    pub protocol_steps: u64,
    /// PostgreSQL `duration: X ms` lines without a statement (`log_duration = on`).
    pub durations_without_statement: u64,
    /// PostgreSQL `log_statement` entries whose duration never came (`log_duration = off`).
    pub statements_without_duration: u64,
    /// Other log lines: connections, checkpoints, errors, server banners.
    pub other_lines: u64,
}

impl Counters {
    pub fn merge(&mut self, o: Counters) {
        self.protocol_steps += o.protocol_steps;
        self.durations_without_statement += o.durations_without_statement;
        self.statements_without_duration += o.statements_without_duration;
        self.other_lines += o.other_lines;
    }
}

/// State at the end of one chunk that the next chunk's events inherit (MySQL prints
/// `use db;` and `# Time:` only when they change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carry {
    pub db: Option<Vec<u8>>,
    pub time: Option<i64>,
}

/// Where a chunk sits in its file.
#[derive(Debug, Clone, Default)]
pub struct ChunkInfo {
    /// Line number of the chunk's first line.
    pub first_line: u64,
    /// Whether the chunk ends the file (its last event may be truncated).
    pub last: bool,
    pub carry: Carry,
}

/// The formats we read.
#[derive(Debug, Clone)]
pub enum LogFormat {
    MySql,
    PgStderr(Prefix),
    PgCsv,
    PgJson,
}

impl LogFormat {
    pub fn name(&self) -> String {
        match self {
            LogFormat::MySql => "mysql slow log".into(),
            LogFormat::PgStderr(p) => format!("postgresql stderr log (prefix '{}')", p.spec()),
            LogFormat::PgCsv => "postgresql csvlog".into(),
            LogFormat::PgJson => "postgresql jsonlog".into(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        !matches!(self, LogFormat::MySql)
    }

    /// Guesses the format from the head of a file. `prefix` is the user's
    /// `log_line_prefix` for stderr logs; without it, common prefixes are tried.
    pub fn detect(head: &[u8], prefix: Option<&Prefix>) -> Option<LogFormat> {
        let mut lines = head
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .take(200);
        let lines_vec: Vec<&[u8]> = lines.by_ref().collect();
        let mysql_marks = lines_vec
            .iter()
            .filter(|l| {
                l.starts_with(b"# Time: ")
                    || l.starts_with(b"# User@Host: ")
                    || l.starts_with(b"# Query_time: ")
            })
            .count();
        if mysql_marks > 0 {
            return Some(LogFormat::MySql);
        }
        let first = *lines_vec.first()?;
        if first.starts_with(b"{\"timestamp\":") {
            return Some(LogFormat::PgJson);
        }
        if let Some(p) = prefix {
            return Some(LogFormat::PgStderr(p.clone()));
        }
        if pg_csv::looks_like_record_start(first) && first.contains(&b',') && !first.contains(&b'[')
        {
            return Some(LogFormat::PgCsv);
        }
        // The first candidate wins a tie: the list goes from common to specific.
        let mut best: Option<(usize, Prefix)> = None;
        for p in Prefix::candidates() {
            let n = lines_vec
                .iter()
                .filter(|l| p.match_line(l).is_some())
                .count();
            if best.as_ref().is_none_or(|(b, _)| n > *b) {
                best = Some((n, p));
            }
        }
        let best = best?;
        let starts = lines_vec.iter().filter(|l| !l.starts_with(b"\t")).count();
        (best.0 > 0 && best.0 * 2 >= starts).then_some(LogFormat::PgStderr(best.1))
    }

    /// The start of the last event that begins after offset 0 in `buf`, so that
    /// `buf[..b]` holds only whole events (when more input follows).
    pub fn last_boundary(&self, buf: &[u8]) -> Option<usize> {
        match self {
            LogFormat::MySql => mysql::last_boundary(buf),
            LogFormat::PgStderr(_) => pg_stderr::last_boundary(buf),
            LogFormat::PgCsv => pg_csv::last_boundary(buf),
            LogFormat::PgJson => last_line_start(buf),
        }
    }

    /// Parses one chunk, calling `sink` for every complete event.
    pub fn parse_chunk(
        &self,
        chunk: &[u8],
        info: &ChunkInfo,
        issues: &mut Issues,
        counters: &mut Counters,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        match self {
            LogFormat::MySql => mysql::parse(chunk, info, issues, counters, sink),
            LogFormat::PgStderr(p) => pg_stderr::parse(p, chunk, info, issues, counters, sink),
            LogFormat::PgCsv => pg_csv::parse(chunk, info, issues, counters, sink),
            LogFormat::PgJson => pg_json::parse(chunk, info, issues, counters, sink),
        }
    }

    /// What the next chunk inherits from the end of `chunk`.
    pub fn carry_after(&self, chunk: &[u8], before: &Carry) -> Carry {
        match self {
            LogFormat::MySql => mysql::carry_after(chunk, before),
            _ => Carry::default(),
        }
    }
}

/// Start of the last line (after a `\n`) in `buf`, if it is not at 0.
pub fn last_line_start(buf: &[u8]) -> Option<usize> {
    let end = buf.len().checked_sub(1)?;
    let p = buf[..end].iter().rposition(|&b| b == b'\n')?;
    Some(p + 1)
}

/// Iterates `(offset, line without '\n', line number)` over a chunk.
pub(crate) struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(buf: &'a [u8], first_line: u64) -> Self {
        Lines {
            buf,
            pos: 0,
            line: first_line,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8], u64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.buf[start..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => (&rest[..p], start + p + 1),
            None => (rest, self.buf.len()),
        };
        self.pos = next;
        let n = self.line;
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((start, line, n))
    }
}

/// Position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses a decimal number such as `0.000123` or `12.5`.
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.trim().parse().ok()
}

pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests;
