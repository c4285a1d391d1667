//! PostgreSQL `log_line_prefix` matching, so stderr logs with any prefix can be read
//! (`--prefix`, like pgbadger's).

use super::time;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Lit(Vec<u8>),
    Esc(u8),
    /// `%q`: non-session processes stop the prefix here.
    Stop,
}

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    spec: String,
    items: Vec<Item>,
}

/// What a prefix match found on one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixMatch {
    /// Offset of the message (`LOG:  ...`) after the prefix and severity.
    pub msg: usize,
    pub severity: Severity,
    pub time: Option<i64>,
    pub pid: Option<(usize, usize)>,
    pub user: Option<(usize, usize)>,
    pub db: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Severity {
    #[default]
    Log,
    Detail,
    Error,
    Statement,
    Other,
}

const SEVERITIES: &[(&[u8], Severity)] = &[
    (b"LOG:  ", Severity::Log),
    (b"DETAIL:  ", Severity::Detail),
    (b"ERROR:  ", Severity::Error),
    (b"STATEMENT:  ", Severity::Statement),
    (b"WARNING:  ", Severity::Other),
    (b"FATAL:  ", Severity::Other),
    (b"PANIC:  ", Severity::Other),
    (b"HINT:  ", Severity::Other),
    (b"CONTEXT:  ", Severity::Other),
    (b"NOTICE:  ", Severity::Other),
    (b"INFO:  ", Severity::Other),
    (b"QUERY:  ", Severity::Other),
    (b"LOCATION:  ", Severity::Other),
    (b"DEBUG1:  ", Severity::Other),
    (b"DEBUG2:  ", Severity::Other),
    (b"DEBUG3:  ", Severity::Other),
    (b"DEBUG4:  ", Severity::Other),
    (b"DEBUG5:  ", Severity::Other),
];

/// The severity at the start of `s` and its length.
pub fn severity(s: &[u8]) -> Option<(Severity, usize)> {
    SEVERITIES
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|(p, sev)| (*sev, p.len()))
}

/// A `log_line_prefix` opsctl cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("log_line_prefix ends with a lone %")]
    LoneEscape,
    #[error(
        "unsupported log_line_prefix escape %{0} (padded escapes like %-10u are not supported)"
    )]
    Unsupported(char),
}

impl Prefix {
    /// Compiles a `log_line_prefix` such as `'%m [%p] %q%u@%d '`.
    pub fn parse(spec: &str) -> Result<Prefix, PrefixError> {
        let b = spec.as_bytes();
        let mut items = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                // Padding such as `%-10u` is not supported by us: say so.
                let Some(&c) = b.get(i + 1) else {
                    return Err(PrefixError::LoneEscape);
                };
                if c == b'%' {
                    lit.push(b'%');
                } else if b"amnptsuderhlcvxieqbQk".contains(&c) {
                    if !lit.is_empty() {
                        items.push(Item::Lit(std::mem::take(&mut lit)));
                    }
                    items.push(if c == b'q' { Item::Stop } else { Item::Esc(c) });
                } else {
                    return Err(PrefixError::Unsupported(c as char));
                }
                i += 2;
            } else {
                lit.push(b[i]);
                i += 1;
            }
        }
        if !lit.is_empty() {
            items.push(Item::Lit(lit));
        }
        Ok(Prefix {
            spec: spec.to_string(),
            items,
        })
    }

    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Prefixes tried when the user gives none: PostgreSQL's default, Debian's, and the
    /// ones pgbadger's documentation recommends.
    pub fn candidates() -> Vec<Prefix> {
        [
            "%m [%p] ",
            "%m [%p] %q%u@%d ",
            "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
            "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
            "%t [%p]: [%l-1] user=%u,db=%d ",
            "%t [%p]: [%l-1] ",
            "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
            "%t [%p] ",
            "%m %u@%d [%p] ",
            "%m [%p] %u@%d ",
            "%t ",
            "%m ",
        ]
        .iter()
        .filter_map(|s| Prefix::parse(s).ok())
        .collect()
    }

    /// Matches the prefix and severity at the start of `line`.
    pub fn match_line(&self, line: &[u8]) -> Option<PrefixMatch> {
        let mut m = PrefixMatch::default();
        let mut pos = 0;
        for (k, item) in self.items.iter().enumerate() {
            match item {
                Item::Lit(l) => {
                    if !line[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Item::Stop => {
                    if let Some((sev, len)) = severity(&line[pos..]) {
                        m.severity = sev;
                        m.msg = pos + len;
                        return Some(m);
                    }
                }
                Item::Esc(c) => {
                    let next = self.items.get(k + 1);
                    pos = self.escape(*c, line, pos, next, &mut m)?;
                }
            }
        }
        let (sev, len) = severity(&line[pos..])?;
        m.severity = sev;
        m.msg = pos + len;
        Some(m)
    }

    fn escape(
        &self,
        c: u8,
        line: &[u8],
        pos: usize,
        next: Option<&Item>,
        m: &mut PrefixMatch,
    ) -> Option<usize> {
        let rest = &line[pos..];
        match c {
            b'm' | b't' | b's' => {
                // `2024-01-02 03:04:05[.123] ZONE`
                let base = 19;
                if rest.len() < base {
                    return None;
                }
                let mut end = base;
                if c == b'm' && rest.get(end) == Some(&b'.') {
                    end += 1;
                    while end < rest.len() && rest[end].is_ascii_digit() {
                        end += 1;
                    }
                }
                if rest.get(end) == Some(&b' ') {
                    let zone_end = rest[end + 1..]
                        .iter()
                        .position(|&b| b == b' ')
                        .map_or(rest.len(), |p| end + 1 + p);
                    let zone = &rest[end + 1..zone_end];
                    // A zone is short and has no `[`; otherwise the space belonged to the prefix.
                    if !zone.is_empty() && zone.len() <= 6 && !zone.contains(&b'[') {
                        end = zone_end;
                    }
                }
                let t = time::parse_iso(&rest[..end])?;
                if c != b's' {
                    m.time = Some(t);
                }
                Some(pos + end)
            }
            b'n' => {
                let end = rest
                    .iter()
                    .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                    .unwrap_or(rest.len());
                let secs: f64 = super::parse_f64(&rest[..end])?;
                m.time = Some((secs * 1e6) as i64);
                Some(pos + end)
            }
            b'p' | b'l' | b'x' | b'k' | b'Q' => {
                let end = rest
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(rest.len());
                if end == 0 && c == b'p' {
                    return None;
                }
                if c == b'p' {
                    m.pid = Some((pos, pos + end));
                }
                Some(pos + end)
            }
            _ => {
                // Free text (%u %d %a %h %r %c %v %e %i %b): up to the next literal.
                let stop = match next {
                    Some(Item::Lit(l)) => l[0],
                    _ => b' ',
                };
                let end = rest.iter().position(|&b| b == stop).unwrap_or(rest.len());
                let range = Some((pos, pos + end));
                match c {
                    b'u' => m.user = range.filter(|_| end > 0),
                    b'd' => m.db = range.filter(|_| end > 0),
                    _ => {}
                }
                Some(pos + end)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_prefix_session_and_background_lines() {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let line = b"2026-11-22 12:14:56.317 UTC [26299] postgres@digest_fx LOG:  duration: 20.069 ms  plan:";
        let m = p.match_line(line).unwrap();
        assert_eq!(m.severity, Severity::Log);
        assert_eq!(&line[m.msg..], b"duration: 20.069 ms  plan:");
        let (s, e) = m.user.unwrap();
        assert_eq!(&line[s..e], b"postgres");
        let (s, e) = m.db.unwrap();
        assert_eq!(&line[s..e], b"digest_fx");
        assert_eq!(m.time, time::parse_iso(b"2026-11-22 12:14:56.317"));
        let bg = b"2026-11-22 12:14:50.001 UTC [26243] LOG:  checkpoint starting: time";
        let m = p.match_line(bg).unwrap();
        assert_eq!(&bg[m.msg..], b"checkpoint starting: time");
        assert_eq!(m.user, None);
    }

    #[test]
    fn pgbadger_prefix() {
        let p = Prefix::parse("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ").unwrap();
        let line = b"2026-11-22 12:15:02 UTC [26700]: [5-1] user=postgres,db=digest_fx,app=psql,client=127.0.0.1 LOG:  duration: 0.1 ms  statement: select 1";
        let m = p.match_line(line).unwrap();
        let (s, e) = m.db.unwrap();
        assert_eq!(&line[s..e], b"digest_fx");
        assert!(line[m.msg..].starts_with(b"duration"));
        assert!(p.match_line(b"\tcontinuation").is_none());
        assert!(p.match_line(b"2026-11-22 12:15:02 UTC [x]").is_none());
    }

    #[test]
    fn bad_specs_are_errors() {
        assert!(Prefix::parse("%m %").is_err());
        assert!(Prefix::parse("%-10u ").is_err());
        assert!(Prefix::parse("%% %m ").is_ok());
    }
}
