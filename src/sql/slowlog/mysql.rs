//! MySQL 5.7/8.0 and MariaDB slow query logs.
//!
//! An event is a run of `# ` header lines (`# Time:`, `# User@Host:`, `# Thread_id:`,
//! `# Query_time:` and the `log_slow_extra` / `log_slow_verbosity` lines) followed by the
//! statement lines, which may start with `use db;` and `SET timestamp=N;`. MariaDB omits
//! `# Time:` while the second does not change, and servers print a banner
//! (`mariadbd, Version: ... started with:`) in the middle of the file when they restart.

use std::borrow::Cow;

use super::{ChunkInfo, Counters, Event, Issues, Lines, parse_f64, parse_u64, time};

#[derive(Default)]
struct Pending<'a> {
    line: u64,
    started: bool,
    has_query_time: bool,
    query_time: f64,
    lock_time: Option<f64>,
    rows_sent: Option<u64>,
    rows_examined: Option<u64>,
    user: Option<&'a [u8]>,
    schema: Option<&'a [u8]>,
    use_db: Option<&'a [u8]>,
    set_time: Option<i64>,
    header_time: Option<i64>,
    stmt: Option<(usize, usize)>,
    admin: Option<&'a [u8]>,
}

/// Line kinds that start a new event when they follow a statement.
fn is_event_start(line: &[u8]) -> bool {
    line.starts_with(b"# Time: ") || line.starts_with(b"# User@Host: ")
}

fn is_banner(line: &[u8]) -> bool {
    line.ends_with(b"started with:") && super::find(line, b", Version: ").is_some()
}

fn is_banner_tail(line: &[u8]) -> bool {
    line.starts_with(b"Tcp port: ")
        || (line.starts_with(b"Time")
            && super::find(line, b"Command").is_some()
            && line.ends_with(b"Argument"))
}

struct State<'a, 'c> {
    chunk: &'a [u8],
    carry_db: Option<&'c [u8]>,
    time: Option<i64>,
    last_db: Option<&'a [u8]>,
}

pub fn parse(
    chunk: &[u8],
    info: &ChunkInfo,
    issues: &mut Issues,
    counters: &mut Counters,
    sink: &mut dyn FnMut(&Event<'_>),
) {
    let mut st = State {
        chunk,
        carry_db: info.carry.db.as_deref(),
        time: info.carry.time,
        last_db: None,
    };
    let mut ev = Pending::default();
    let mut stray: Option<(u64, usize)> = None;
    let mut last_line_complete = true;
    for (off, line, n) in Lines::new(chunk, info.first_line) {
        last_line_complete = off + line.len() < chunk.len();
        if line.starts_with(b"#") {
            if ev.stmt.is_some() || (ev.admin.is_some() && is_event_start(line)) {
                flush(&mut st, &mut ev, issues, sink, false);
            }
            if let Some((l, o)) = stray.take() {
                issues.unparsed(l, "text outside an event", &chunk[o..]);
            }
            header(&mut st, &mut ev, line, n);
            continue;
        }
        if is_banner(line) || is_banner_tail(line) {
            if ev.started || ev.stmt.is_some() {
                flush(&mut st, &mut ev, issues, sink, false);
            }
            counters.other_lines += 1;
            continue;
        }
        if !ev.started {
            if !line.iter().all(u8::is_ascii_whitespace) && stray.is_none() {
                stray = Some((n, off));
            }
            continue;
        }
        if ev.stmt.is_none() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some(db) = use_line(line) {
                ev.use_db = Some(db);
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"SET timestamp=")
                && let Some(t) = rest.strip_suffix(b";").and_then(parse_u64)
            {
                ev.set_time = Some(i64::try_from(t).unwrap_or(0).saturating_mul(1_000_000));
                continue;
            }
            ev.stmt = Some((off, off + line.len()));
        } else if let Some((s, _)) = ev.stmt {
            ev.stmt = Some((s, off + line.len()));
        }
    }
    if let Some((l, o)) = stray.take() {
        issues.unparsed(l, "text outside an event", &chunk[o..]);
    }
    if ev.started {
        let truncated = info.last
            && (!last_line_complete
                || ev
                    .stmt
                    .is_none_or(|(s, e)| !chunk[s..e].trim_ascii_end().ends_with(b";")))
            && ev.admin.is_none();
        flush(&mut st, &mut ev, issues, sink, truncated);
    }
}

fn use_line(line: &[u8]) -> Option<&[u8]> {
    if line.len() < 5 || !line[..4].eq_ignore_ascii_case(b"use ") {
        return None;
    }
    let rest = line[4..].trim_ascii().strip_suffix(b";")?.trim_ascii();
    let rest = rest
        .strip_prefix(b"`")
        .and_then(|r| r.strip_suffix(b"`"))
        .unwrap_or(rest);
    (!rest.is_empty() && !rest.contains(&b' ')).then_some(rest)
}

fn header<'a>(st: &mut State<'a, '_>, ev: &mut Pending<'a>, line: &'a [u8], n: u64) {
    if !ev.started {
        ev.started = true;
        ev.line = n;
    }
    if let Some(t) = line.strip_prefix(b"# Time: ") {
        let t = t.trim_ascii();
        let parsed = time::parse_iso(t).or_else(|| time::parse_yymmdd(t));
        ev.header_time = parsed;
        if parsed.is_some() {
            st.time = parsed;
        }
        return;
    }
    if let Some(rest) = line.strip_prefix(b"# User@Host: ") {
        let end = rest
            .iter()
            .position(|&b| b == b'[' || b == b' ')
            .unwrap_or(rest.len());
        ev.user = Some(&rest[..end]);
        return;
    }
    if let Some(rest) = line.strip_prefix(b"# administrator command: ") {
        ev.admin = Some(rest);
        return;
    }
    // Generic `# Key: value  Key: value` header.
    let body = &line[1..];
    let mut toks = body
        .split(u8::is_ascii_whitespace)
        .filter(|t| !t.is_empty())
        .peekable();
    while let Some(tok) = toks.next() {
        let Some(key) = tok.strip_suffix(b":") else {
            continue;
        };
        let value = match toks.peek() {
            Some(v) if !v.ends_with(b":") => toks.next().unwrap_or_default(),
            _ => b"".as_slice(),
        };
        match key {
            b"Query_time" => {
                if let Some(v) = parse_f64(value) {
                    ev.query_time = v;
                    ev.has_query_time = true;
                }
            }
            b"Lock_time" => ev.lock_time = parse_f64(value),
            b"Rows_sent" => ev.rows_sent = parse_u64(value),
            b"Rows_examined" => ev.rows_examined = parse_u64(value),
            b"Schema" if !value.is_empty() => ev.schema = Some(value),
            _ => {}
        }
    }
}

fn flush<'a>(
    st: &mut State<'a, '_>,
    ev: &mut Pending<'a>,
    issues: &mut Issues,
    sink: &mut dyn FnMut(&Event<'_>),
    truncated: bool,
) {
    let p = std::mem::take(ev);
    if p.use_db.is_some() {
        st.last_db = p.use_db;
    }
    let stmt: Option<Cow<'_, [u8]>> = match (p.stmt, p.admin) {
        (Some((s, e)), _) => Some(Cow::Borrowed(&st.chunk[s..e])),
        (None, Some(cmd)) => {
            let mut v = b"administrator command: ".to_vec();
            v.extend_from_slice(cmd.trim_ascii());
            Some(Cow::Owned(v))
        }
        (None, None) => None,
    };
    let text = p.stmt.map_or(&b""[..], |(s, e)| &st.chunk[s..e]);
    if truncated {
        issues.truncated(p.line, "truncated last event", text);
        return;
    }
    let Some(statement) = stmt else {
        issues.unparsed(p.line, "event without a statement", b"");
        return;
    };
    if !p.has_query_time {
        issues.unparsed(p.line, "event without # Query_time", &statement);
        return;
    }
    let db = p.schema.or(p.use_db).or(st.last_db).or(st.carry_db);
    let mut e = Event::new(p.line, statement);
    e.time = p.set_time.or(p.header_time).or(st.time);
    e.query_time = p.query_time;
    e.lock_time = p.lock_time;
    e.rows_sent = p.rows_sent;
    e.rows_examined = p.rows_examined;
    e.db = db;
    e.user = p.user;
    sink(&e);
}

/// Event boundary: a `# Time:` line, or a `# User@Host:` line not preceded by one.
pub fn last_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(p) = buf[..end].iter().rposition(|&b| b == b'\n') {
        let start = p + 1;
        let line = &buf[start..];
        if line.starts_with(b"# Time: ") {
            return Some(start);
        }
        if line.starts_with(b"# User@Host: ") {
            // Include a `# Time:` line right before it.
            let prev_start = buf[..p]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |q| q + 1);
            if buf[prev_start..].starts_with(b"# Time: ") {
                return (prev_start > 0).then_some(prev_start);
            }
            return Some(start);
        }
        end = p;
    }
    None
}

/// The `use` database and `# Time:` in force at the end of `chunk`.
pub fn carry_after(chunk: &[u8], before: &Carry) -> Carry {
    let mut carry = before.clone();
    let mut found_db = false;
    let mut found_time = false;
    let mut end = chunk.len();
    loop {
        let start = chunk[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = &chunk[start..end];
        if !found_db && let Some(db) = use_line(line) {
            carry.db = Some(db.to_vec());
            found_db = true;
        } else if !found_db && line.starts_with(b"# Thread_id:") {
            // MariaDB names the schema in every event: nothing to inherit past here.
            found_db = true;
        }
        if !found_time && let Some(t) = line.strip_prefix(b"# Time: ") {
            let t = t.trim_ascii();
            if let Some(v) = time::parse_iso(t).or_else(|| time::parse_yymmdd(t)) {
                carry.time = Some(v);
            }
            found_time = true;
        }
        if (found_db && found_time) || start == 0 {
            break;
        }
        end = start - 1;
    }
    carry
}

use super::Carry;
