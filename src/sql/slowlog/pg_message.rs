//! The PostgreSQL log messages that carry statements, shared by the stderr, csvlog and
//! jsonlog parsers.

/// What a `duration: X ms` message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationKind {
    /// `statement: ...` (simple protocol, `log_min_duration_statement`).
    Statement,
    /// `execute <name>: ...` (extended protocol): the execution is the event.
    Execute,
    /// `parse <name>: ...` and `bind <name>: ...`: protocol steps before an execute.
    Step,
    /// `plan:` with an auto_explain plan after it.
    Plan,
    /// Just `duration: X ms` (`log_duration = on`).
    Bare,
}

/// A parsed `duration:` message: milliseconds, kind and the text after the kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duration<'a> {
    pub ms: f64,
    pub kind: DurationKind,
    pub text: &'a [u8],
}

/// Reads `duration: 12.345 ms  statement: SELECT ...` and its siblings.
/// `None` means the message is not a duration message; `Some(Err(()))` that it is one but
/// malformed.
#[allow(clippy::result_unit_err)]
pub fn duration(msg: &[u8]) -> Option<Result<Duration<'_>, ()>> {
    let rest = msg.strip_prefix(b"duration: ")?;
    let Some(sp) = rest.iter().position(|&b| b == b' ') else {
        return Some(Err(()));
    };
    let Some(ms) = super::parse_f64(&rest[..sp]) else {
        return Some(Err(()));
    };
    let Some(rest) = rest[sp..].strip_prefix(b" ms") else {
        return Some(Err(()));
    };
    if rest.iter().all(u8::is_ascii_whitespace) {
        return Some(Ok(Duration {
            ms,
            kind: DurationKind::Bare,
            text: b"",
        }));
    }
    let Some(rest) = rest.strip_prefix(b"  ") else {
        return Some(Err(()));
    };
    let (kind, text) = if let Some(t) = rest.strip_prefix(b"statement: ") {
        (DurationKind::Statement, t)
    } else if let Some(t) = rest.strip_prefix(b"plan:") {
        (DurationKind::Plan, t)
    } else if let Some(t) = named(rest, b"execute ") {
        (DurationKind::Execute, t)
    } else if let Some(t) = named(rest, b"parse ").or_else(|| named(rest, b"bind ")) {
        (DurationKind::Step, t)
    } else {
        return Some(Err(()));
    };
    Some(Ok(Duration { ms, kind, text }))
}

/// The statement of a `log_statement` entry: `statement: ...` or `execute <name>: ...`.
pub fn logged_statement(msg: &[u8]) -> Option<&[u8]> {
    msg.strip_prefix(b"statement: ")
        .or_else(|| named(msg, b"execute "))
}

/// `execute <name>: text` (the name may be `fetch from <unnamed>/C_1`): the text.
fn named<'a>(s: &'a [u8], verb: &[u8]) -> Option<&'a [u8]> {
    let rest = s.strip_prefix(verb)?;
    let colon = rest.windows(2).position(|w| w == b": ")?;
    Some(&rest[colon + 2..])
}

/// The query of an auto_explain plan block: the text after `Query Text: ` up to the first
/// plan node line. `sep` is the continuation separator (`\n\t` on stderr, `\n` in
/// csvlog/jsonlog).
pub fn plan_query(body: &[u8]) -> Option<&[u8]> {
    let start = super::find(body, b"Query Text: ")? + b"Query Text: ".len();
    let rest = &body[start..];
    let mut end = rest.len();
    let mut off = 0;
    for line in rest.split(|&b| b == b'\n') {
        if off > 0 && is_plan_node(line) {
            end = off - 1;
            break;
        }
        off += line.len() + 1;
    }
    let q = rest[..end.min(rest.len())].trim_ascii();
    (!q.is_empty()).then_some(q)
}

fn is_plan_node(line: &[u8]) -> bool {
    let l = line.trim_ascii_start();
    l.starts_with(b"->")
        || super::find(l, b"  (cost=").is_some()
        || super::find(l, b"  (actual ").is_some()
        || l.starts_with(b"Planning Time:")
        || l.starts_with(b"Execution Time:")
        || l.starts_with(b"Query Parameters:")
}

/// `parameters: $1 = '34', $2 = 'x'` from a DETAIL message.
pub fn parameters(detail: &[u8]) -> Option<&[u8]> {
    detail.strip_prefix(b"parameters: ")
}

/// Substitutes bind parameters into a statement for its example (`$1` → `'34'`).
pub fn substitute(statement: &[u8], params: &[u8]) -> Vec<u8> {
    let values = parse_params(params);
    let mut out = Vec::with_capacity(statement.len() + params.len());
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < statement.len() {
        let b = statement[i];
        if let Some(q) = quote {
            out.push(b);
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            out.push(b);
            i += 1;
            continue;
        }
        if b == b'$' {
            let mut j = i + 1;
            let mut n = 0usize;
            while j < statement.len() && statement[j].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(usize::from(statement[j] - b'0'));
                j += 1;
            }
            if j > i + 1
                && let Some((_, v)) = values.iter().find(|(k, _)| *k == n)
            {
                out.extend_from_slice(v);
                i = j;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn parse_params(s: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'$' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut n = 0usize;
        while j < s.len() && s[j].is_ascii_digit() {
            n = n
                .saturating_mul(10)
                .saturating_add(usize::from(s[j] - b'0'));
            j += 1;
        }
        let Some(rest) = s[j..].strip_prefix(b" = ") else {
            i = j;
            continue;
        };
        let vstart = j + 3;
        let vend = if rest.first() == Some(&b'\'') {
            let mut k = vstart + 1;
            loop {
                match s.get(k) {
                    None => break s.len(),
                    Some(b'\'') if s.get(k + 1) == Some(&b'\'') => k += 2,
                    Some(b'\'') => break k + 1,
                    Some(_) => k += 1,
                }
            }
        } else {
            s[vstart..]
                .iter()
                .position(|&b| b == b',')
                .map_or(s.len(), |p| vstart + p)
        };
        out.push((n, &s[vstart..vend]));
        i = vend;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_kinds() {
        let d = duration(b"duration: 0.423 ms  parse <unnamed>: SELECT 1")
            .unwrap()
            .unwrap();
        assert_eq!(d.kind, DurationKind::Step);
        let d = duration(b"duration: 0.026 ms  execute fetch from <unnamed>/C_1: SELECT $1")
            .unwrap()
            .unwrap();
        assert_eq!((d.kind, d.text), (DurationKind::Execute, &b"SELECT $1"[..]));
        let d = duration(b"duration: 20.188 ms  statement: SELECT pg_sleep(0.02);")
            .unwrap()
            .unwrap();
        assert_eq!((d.ms, d.kind), (20.188, DurationKind::Statement));
        assert_eq!(
            duration(b"duration: 1.0 ms").unwrap().unwrap().kind,
            DurationKind::Bare
        );
        assert_eq!(duration(b"duration: abc ms  statement: x"), Some(Err(())));
        assert_eq!(duration(b"checkpoint starting"), None);
    }

    #[test]
    fn plan_query_stops_at_the_plan() {
        let body = b"\n\tQuery Text: SELECT *\n\t  FROM t WHERE a = 1;\n\tSeq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual time=0.1..0.1 rows=0 loops=1)";
        assert_eq!(
            plan_query(body),
            Some(&b"SELECT *\n\t  FROM t WHERE a = 1;"[..])
        );
        assert_eq!(plan_query(b"no query here"), None);
    }

    #[test]
    fn parameters_are_substituted_outside_quotes() {
        let out = substitute(
            b"SELECT '$1', a FROM t WHERE id = $1 AND b = $2 AND c = $10",
            b"$1 = '34', $2 = 'it''s, ok', $10 = NULL",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "SELECT '$1', a FROM t WHERE id = '34' AND b = 'it''s, ok' AND c = NULL"
        );
    }
}
