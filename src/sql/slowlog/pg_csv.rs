//! PostgreSQL csvlog (`log_destination = csvlog`): one CSV record per log entry, with
//! quoted fields that may span lines. The DETAIL (bind parameters) is a column of the
//! same record.

use std::borrow::Cow;

use super::pg_message::{self, DurationKind};
use super::{ChunkInfo, Counters, Event, EventKind, Issues, time};

const LOG_TIME: usize = 0;
const USER: usize = 1;
const DB: usize = 2;
const SEVERITY: usize = 11;
const MESSAGE: usize = 13;
const DETAIL: usize = 14;
const MAX_FIELDS: usize = 32;

/// `YYYY-MM-DD HH:MM:SS` at the start of a line: how every csvlog record begins.
pub fn looks_like_record_start(line: &[u8]) -> bool {
    line.len() >= 19
        && line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[7] == b'-'
        && line[10] == b' '
        && line[13] == b':'
        && line[16] == b':'
}

#[derive(Clone, Copy, Default)]
struct Field {
    start: usize,
    end: usize,
    /// Quoted with `""` escapes inside.
    escaped: bool,
}

/// Reads one record at `pos`: its fields and the offset after its newline, or `None`
/// when the record is not terminated (a quote or the line runs to the end of the buffer).
fn record(buf: &[u8], pos: usize, fields: &mut Vec<Field>) -> Option<usize> {
    fields.clear();
    let mut i = pos;
    loop {
        let mut f = Field {
            start: i,
            end: i,
            escaped: false,
        };
        if buf.get(i) == Some(&b'"') {
            let mut j = i + 1;
            loop {
                match buf.get(j) {
                    None => return None,
                    Some(b'"') if buf.get(j + 1) == Some(&b'"') => {
                        f.escaped = true;
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            f.start = i + 1;
            f.end = j;
            i = j + 1;
        } else {
            let end = buf[i..]
                .iter()
                .position(|&b| b == b',' || b == b'\n')
                .map_or(buf.len(), |p| i + p);
            f.end = end;
            i = end;
        }
        if fields.len() < MAX_FIELDS {
            fields.push(f);
        }
        match buf.get(i) {
            Some(b',') => i += 1,
            Some(b'\n') => return Some(i + 1),
            Some(b'\r') if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            None => return None,
            Some(_) => {
                // Garbage after a closing quote: skip to the end of the line.
                let nl = buf[i..].iter().position(|&b| b == b'\n')?;
                return Some(i + nl + 1);
            }
        }
    }
}

fn text<'a>(buf: &'a [u8], f: Option<&Field>) -> Cow<'a, [u8]> {
    match f {
        None => Cow::Borrowed(&b""[..]),
        Some(f) if f.escaped => {
            let mut v = Vec::with_capacity(f.end - f.start);
            let s = &buf[f.start..f.end];
            let mut i = 0;
            while i < s.len() {
                v.push(s[i]);
                i += if s[i] == b'"' && s.get(i + 1) == Some(&b'"') {
                    2
                } else {
                    1
                };
            }
            Cow::Owned(v)
        }
        Some(f) => Cow::Borrowed(&buf[f.start..f.end]),
    }
}

pub fn parse(
    chunk: &[u8],
    info: &ChunkInfo,
    issues: &mut Issues,
    counters: &mut Counters,
    sink: &mut dyn FnMut(&Event<'_>),
) {
    let mut fields = Vec::with_capacity(MAX_FIELDS);
    let mut pos = 0;
    let mut line = info.first_line;
    while pos < chunk.len() {
        let Some(next) = record(chunk, pos, &mut fields) else {
            let rest = &chunk[pos..];
            if info.last {
                issues.truncated(line, "truncated last record", rest);
            } else {
                issues.unparsed(line, "unterminated CSV record", rest);
            }
            return;
        };
        let raw = &chunk[pos..next];
        let here = line;
        line += raw.iter().filter(|&&b| b == b'\n').count() as u64;
        pos = next;
        if fields.len() <= DETAIL || !looks_like_record_start(raw) {
            issues.unparsed(here, "not a csvlog record", raw);
            continue;
        }
        let severity = &chunk[fields[SEVERITY].start..fields[SEVERITY].end];
        if severity != b"LOG" {
            counters.other_lines += 1;
            continue;
        }
        let message = text(chunk, fields.get(MESSAGE));
        let Some(event) = event_from_message(here, &message, issues, counters) else {
            continue;
        };
        let (kind, stmt, ms) = event;
        let statement: Cow<'_, [u8]> = match &message {
            Cow::Borrowed(m) => Cow::Borrowed(&m[stmt.0..stmt.1]),
            Cow::Owned(m) => Cow::Owned(m[stmt.0..stmt.1].to_vec()),
        };
        let mut ev = Event::new(here, statement);
        ev.kind = kind;
        ev.query_time = ms / 1000.0;
        let f = |i: usize| {
            fields
                .get(i)
                .map(|f| &chunk[f.start..f.end])
                .filter(|s| !s.is_empty())
        };
        ev.time = f(LOG_TIME).and_then(time::parse_iso);
        ev.user = f(USER);
        ev.db = f(DB);
        let detail = text(chunk, fields.get(DETAIL));
        if let Some(p) = pg_message::parameters(&detail) {
            ev.params = Some(Cow::Owned(p.to_vec()));
        }
        sink(&ev);
    }
}

/// Shared by csvlog and jsonlog: the event kind, the statement's range inside `message`
/// and the duration in ms, or `None` (counted) when the message is not an event.
pub(crate) fn event_from_message(
    line: u64,
    message: &[u8],
    issues: &mut Issues,
    counters: &mut Counters,
) -> Option<(EventKind, (usize, usize), f64)> {
    let d = match pg_message::duration(message) {
        None => {
            counters.other_lines += 1;
            return None;
        }
        Some(Err(())) => {
            issues.unparsed(line, "malformed duration message", message);
            return None;
        }
        Some(Ok(d)) => d,
    };
    let (kind, stmt) = match d.kind {
        DurationKind::Step => {
            counters.protocol_steps += 1;
            return None;
        }
        DurationKind::Bare => {
            counters.durations_without_statement += 1;
            return None;
        }
        DurationKind::Statement | DurationKind::Execute => (EventKind::Statement, d.text),
        DurationKind::Plan => match pg_message::plan_query(d.text) {
            Some(q) => (EventKind::Plan, q),
            None => {
                issues.unparsed(line, "auto_explain plan without Query Text", message);
                return None;
            }
        },
    };
    if stmt.trim_ascii().is_empty() {
        issues.unparsed(line, "duration entry without a statement", message);
        return None;
    }
    let start = stmt.as_ptr() as usize - message.as_ptr() as usize;
    Some((kind, (start, start + stmt.len()), d.ms))
}

/// Record boundary: a line that starts with a timestamp.
pub fn last_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(p) = buf[..end].iter().rposition(|&b| b == b'\n') {
        let start = p + 1;
        if looks_like_record_start(&buf[start..]) {
            return Some(start);
        }
        end = p;
    }
    None
}
