//! PostgreSQL jsonlog (`log_destination = jsonlog`, PostgreSQL 15+): one JSON object per
//! line; the DETAIL (bind parameters) is a field of the same object.

use std::borrow::Cow;

use serde::Deserialize;

use super::{ChunkInfo, Counters, Event, Issues, Lines, pg_csv, pg_message, time};

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dbname: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
}

fn bytes<'s>(c: &'s Option<Cow<'_, str>>) -> Option<&'s [u8]> {
    c.as_deref().map(str::as_bytes).filter(|s| !s.is_empty())
}

pub fn parse(
    chunk: &[u8],
    info: &ChunkInfo,
    issues: &mut Issues,
    counters: &mut Counters,
    sink: &mut dyn FnMut(&Event<'_>),
) {
    for (off, line, n) in Lines::new(chunk, info.first_line) {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let rec: Record<'_> = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                let at_end = off + line.len() >= chunk.len();
                if info.last && at_end && e.is_eof() {
                    issues.truncated(n, "truncated last record", line);
                } else {
                    issues.unparsed(n, "not a jsonlog record", line);
                }
                continue;
            }
        };
        if rec.error_severity.as_deref() != Some("LOG") {
            counters.other_lines += 1;
            continue;
        }
        let Some(message) = rec.message.as_deref() else {
            counters.other_lines += 1;
            continue;
        };
        let Some((kind, (s, e), ms)) =
            pg_csv::event_from_message(n, message.as_bytes(), issues, counters)
        else {
            continue;
        };
        // Escapes in the JSON string made the message owned: so is the statement.
        let statement: Cow<'_, [u8]> = match &rec.message {
            Some(Cow::Borrowed(m)) => Cow::Borrowed(&m.as_bytes()[s..e]),
            _ => Cow::Owned(message.as_bytes()[s..e].to_vec()),
        };
        let mut ev = Event::new(n, statement);
        ev.kind = kind;
        ev.query_time = ms / 1000.0;
        ev.time = bytes(&rec.timestamp).and_then(time::parse_iso);
        ev.user = bytes(&rec.user);
        ev.db = bytes(&rec.dbname);
        if let Some(p) = rec
            .detail
            .as_deref()
            .and_then(|d| pg_message::parameters(d.as_bytes()))
        {
            ev.params = Some(Cow::Owned(p.to_vec()));
        }
        sink(&ev);
    }
}
