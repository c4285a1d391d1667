//! PostgreSQL stderr logs (`log_destination = stderr`) with any `log_line_prefix`.
//!
//! A log entry is one prefixed line plus continuation lines that PostgreSQL indents with a
//! tab. Statements come from `duration: X ms  statement:` / `execute <name>:` entries; a
//! following `DETAIL:  parameters:` entry of the same process belongs to the execute.

use std::borrow::Cow;

use super::pg_message::{self, DurationKind};
use super::pg_prefix::{PrefixMatch, Severity};
use super::{ChunkInfo, Counters, Event, EventKind, Issues, Lines, Prefix};

/// Statements logged by `log_statement` that wait for their `duration:` entry, by process.
type Waiting<'a> = Vec<(Option<&'a [u8]>, Event<'a>)>;
/// Sessions followed at once; beyond this the oldest waiting statement is given up.
const WAITING_CAP: usize = 1024;

struct Entry<'a> {
    line: u64,
    m: PrefixMatch,
    /// The first line (with its prefix) through the last continuation line.
    text: &'a [u8],
}

pub fn parse(
    prefix: &Prefix,
    chunk: &[u8],
    info: &ChunkInfo,
    issues: &mut Issues,
    counters: &mut Counters,
    sink: &mut dyn FnMut(&Event<'_>),
) {
    let mut pending: Option<Event<'_>> = None;
    let mut pending_pid: Option<&[u8]> = None;
    let mut waiting: Waiting<'_> = Vec::new();
    let mut current: Option<(u64, PrefixMatch, usize)> = None;
    let mut end_of_current = 0usize;
    let mut complete = true;

    for (off, line, n) in Lines::new(chunk, info.first_line) {
        complete = off + line.len() < chunk.len();
        if line.first() == Some(&b'\t') {
            if current.is_some() {
                end_of_current = off + line.len();
            } else {
                issues.unparsed(n, "continuation line without an entry", line);
            }
            continue;
        }
        if let Some((l, m, start)) = current.take() {
            let e = Entry {
                line: l,
                m,
                text: &chunk[start..end_of_current],
            };
            entry(
                e,
                chunk,
                start,
                &mut pending,
                &mut pending_pid,
                &mut waiting,
                issues,
                counters,
                sink,
            );
        }
        if line.is_empty() {
            continue;
        }
        match prefix.match_line(line) {
            Some(m) => {
                current = Some((n, m, off));
                end_of_current = off + line.len();
            }
            None if info.last && !complete => issues.truncated(n, "truncated last line", line),
            None => issues.unparsed(n, "line does not match log_line_prefix", line),
        }
    }
    if let Some((l, m, start)) = current.take() {
        if info.last && !complete {
            flush(&mut pending, sink);
            issues.truncated(l, "truncated last entry", &chunk[start..end_of_current]);
        } else {
            let e = Entry {
                line: l,
                m,
                text: &chunk[start..end_of_current],
            };
            entry(
                e,
                chunk,
                start,
                &mut pending,
                &mut pending_pid,
                &mut waiting,
                issues,
                counters,
                sink,
            );
        }
    }
    flush(&mut pending, sink);
    counters.statements_without_duration += waiting.len() as u64;
}

fn flush(pending: &mut Option<Event<'_>>, sink: &mut dyn FnMut(&Event<'_>)) {
    if let Some(e) = pending.take() {
        sink(&e);
    }
}

#[allow(clippy::too_many_arguments)]
fn entry<'a>(
    e: Entry<'a>,
    chunk: &'a [u8],
    start: usize,
    pending: &mut Option<Event<'a>>,
    pending_pid: &mut Option<&'a [u8]>,
    waiting: &mut Waiting<'a>,
    issues: &mut Issues,
    counters: &mut Counters,
    sink: &mut dyn FnMut(&Event<'_>),
) {
    let range = |r: Option<(usize, usize)>| r.map(|(s, t)| &chunk[start + s..start + t]);
    let pid = range(e.m.pid);
    let msg = &e.text[e.m.msg..];
    if e.m.severity == Severity::Detail
        && let Some(params) = pg_message::parameters(msg)
        && pending.is_some()
        && *pending_pid == pid
    {
        if let Some(p) = pending.as_mut() {
            p.params = Some(Cow::Borrowed(params));
        }
        flush(pending, sink);
        return;
    }
    flush(pending, sink);
    if e.m.severity == Severity::Detail
        && let Some(params) = pg_message::parameters(msg)
        && let Some(w) = waiting.iter_mut().find(|(p, _)| *p == pid)
    {
        w.1.params = Some(Cow::Borrowed(params));
        return;
    }
    if e.m.severity != Severity::Log {
        counters.other_lines += 1;
        return;
    }
    let d = match pg_message::duration(msg) {
        None => {
            // `log_statement = all`: the statement now, its duration in a later entry of
            // the same process (`log_duration = on`).
            match pg_message::logged_statement(msg) {
                Some(text) if !text.trim_ascii().is_empty() => {
                    let mut ev = Event::new(e.line, Cow::Borrowed(text));
                    ev.time = e.m.time;
                    ev.user = range(e.m.user);
                    ev.db = range(e.m.db);
                    if let Some(i) = waiting.iter().position(|(p, _)| *p == pid) {
                        waiting.remove(i);
                        counters.statements_without_duration += 1;
                    } else if waiting.len() >= WAITING_CAP {
                        waiting.remove(0);
                        counters.statements_without_duration += 1;
                    }
                    waiting.push((pid, ev));
                }
                _ => counters.other_lines += 1,
            }
            return;
        }
        Some(Err(())) => {
            issues.unparsed(e.line, "malformed duration message", msg);
            return;
        }
        Some(Ok(d)) => d,
    };
    let (kind, statement) = match d.kind {
        DurationKind::Step => {
            counters.protocol_steps += 1;
            return;
        }
        DurationKind::Bare => {
            match waiting.iter().position(|(p, _)| *p == pid) {
                Some(i) => {
                    let (_, mut ev) = waiting.remove(i);
                    ev.query_time = d.ms / 1000.0;
                    sink(&ev);
                }
                None => counters.durations_without_statement += 1,
            }
            return;
        }
        DurationKind::Statement | DurationKind::Execute => (EventKind::Statement, d.text),
        DurationKind::Plan => match pg_message::plan_query(d.text) {
            Some(q) => (EventKind::Plan, q),
            None => {
                issues.unparsed(e.line, "auto_explain plan without Query Text", msg);
                return;
            }
        },
    };
    if statement.trim_ascii().is_empty() {
        issues.unparsed(e.line, "duration entry without a statement", msg);
        return;
    }
    let mut ev = Event::new(e.line, Cow::Borrowed(statement));
    ev.kind = kind;
    ev.time = e.m.time;
    ev.query_time = d.ms / 1000.0;
    ev.user = range(e.m.user);
    ev.db = range(e.m.db);
    if d.kind == DurationKind::Execute {
        // Wait for a `DETAIL:  parameters:` entry.
        *pending = Some(ev);
        *pending_pid = pid;
    } else {
        sink(&ev);
    }
}

/// Event boundary: a line that starts an entry (not a tab continuation) and is not a
/// DETAIL/STATEMENT/CONTEXT line belonging to the entry before it.
pub fn last_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(p) = buf[..end].iter().rposition(|&b| b == b'\n') {
        let start = p + 1;
        if start < buf.len() && buf[start] != b'\t' {
            let head = &buf[start..buf.len().min(start + 300)];
            let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
            let attached = [
                &b" DETAIL:  "[..],
                b" STATEMENT:  ",
                b" CONTEXT:  ",
                b" HINT:  ",
            ]
            .iter()
            .any(|m| super::find(line, m).is_some());
            if !attached {
                return Some(start);
            }
        }
        end = p;
    }
    None
}
