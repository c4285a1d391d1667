//! Access-log lines in the NCSA *combined* format, with the timing fields servers
//! append to it: nginx's `$request_time` (seconds), gunicorn's `%(L)s` (seconds),
//! Apache's `%D` (microseconds). nginx, Apache, gunicorn and most proxies write
//! this shape by default or by the first line of their docs.
//!
//! `addr ident user [time] "request" status bytes "referer" "agent" extra...`

/// One request, borrowed from its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub remote_addr: &'a str,
    pub user: &'a str,
    /// `02/Dec/2026:04:44:22 +0000`, as written.
    pub time_local: &'a str,
    /// The request line, unescaped (`GET /x HTTP/1.1`); see `method` and `path`.
    pub request: String,
    pub status: u16,
    pub bytes: Option<u64>,
    pub referer: String,
    pub user_agent: String,
    /// The fields after the user agent (`0.025 0.026 127.0.0.3:8000 MISS`).
    pub extra: Vec<&'a str>,
}

/// The unit of the first timing field after the user agent (a profile setting).
pub use crate::config::app::TimeUnit;

impl Entry<'_> {
    /// The request's method, when the request line has one (a garbage request
    /// line still has a status).
    pub fn method(&self) -> Option<&str> {
        self.request
            .split(' ')
            .next()
            .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()))
    }

    pub fn path(&self) -> Option<&str> {
        self.method()?;
        self.request.split(' ').nth(1).filter(|p| !p.is_empty())
    }

    /// The request's duration in milliseconds: the first extra field, read in
    /// `unit`; `None` when the line has no such field or it is `-`.
    pub fn duration_ms(&self, unit: TimeUnit) -> Option<f64> {
        let v: f64 = self.extra.first()?.parse().ok()?;
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        Some(match unit {
            TimeUnit::Seconds => v * 1000.0,
            TimeUnit::Milliseconds => v,
            TimeUnit::Microseconds => v / 1000.0,
        })
    }

    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }
}

/// Parses one line; `None` when it is not combined-shaped (a line cut by a
/// byte budget, an error-log line in the wrong file).
pub fn parse(line: &str) -> Option<Entry<'_>> {
    let mut rest = line.trim_end_matches(['\r', '\n']);
    let remote_addr = word(&mut rest)?;
    let _ident = word(&mut rest)?;
    let user = word(&mut rest)?;
    rest = rest.trim_start().strip_prefix('[')?;
    let close = rest.find(']')?;
    let time_local = &rest[..close];
    rest = &rest[close + 1..];
    let request = quoted(&mut rest)?;
    let status: u16 = word(&mut rest)?.parse().ok()?;
    if !(100..=999).contains(&status) {
        return None;
    }
    let bytes = word(&mut rest)?.parse().ok();
    // Common log format stops here; combined goes on with referer and agent.
    let (referer, user_agent) = match quoted(&mut rest) {
        Some(r) => (r, quoted(&mut rest).unwrap_or_default()),
        None => (String::new(), String::new()),
    };
    let extra = rest.split_ascii_whitespace().collect();
    Some(Entry {
        remote_addr,
        user,
        time_local,
        request,
        status,
        bytes,
        referer,
        user_agent,
        extra,
    })
}

fn word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let s = rest.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    *rest = &s[end..];
    Some(&s[..end])
}

/// A `"..."` field; `\"` and `\\` are unescaped, nginx's `\x22` kept as written.
fn quoted(rest: &mut &str) -> Option<String> {
    let s = rest.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return None,
            },
            '"' => {
                *rest = &s[i + 1..];
                return Some(out);
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/access_logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn gunicorn_lines_captured_in_the_sandbox_parse_with_their_time() {
        let text = fixture("gunicorn-web1.log");
        let entries: Vec<Entry> = text.lines().map(|l| parse(l).unwrap()).collect();
        assert_eq!(entries.len(), text.lines().count());
        let first = &entries[0];
        assert_eq!(first.remote_addr, "127.0.0.1");
        assert_eq!(first.method(), Some("GET"));
        assert_eq!(first.path(), Some("/healthz"));
        assert_eq!(first.status, 200);
        assert_eq!(first.bytes, Some(3));
        assert_eq!(first.user_agent, "curl/7.88.1");
        assert_eq!(first.time_local, "02/Dec/2026:02:49:04 +0000");
        let ms = first.duration_ms(TimeUnit::Seconds).unwrap();
        assert!((ms - 101.684).abs() < 1e-6, "{ms}");
        assert!(
            entries
                .iter()
                .any(|e| e.status == 201 && e.method() == Some("POST"))
        );
        assert!(entries.iter().any(|e| e.status == 404));
        assert!(
            entries
                .iter()
                .any(|e| e.user_agent.starts_with("opsctl-health/"))
        );
        assert!(
            entries
                .iter()
                .all(|e| e.duration_ms(TimeUnit::Seconds).is_some())
        );
    }

    #[test]
    fn nginx_timed_lines_keep_their_upstream_fields() {
        let text = fixture("nginx-lb1.log");
        let entries: Vec<Entry> = text.lines().map(|l| parse(l).unwrap()).collect();
        let miss = entries
            .iter()
            .find(|e| e.extra.last() == Some(&"MISS"))
            .unwrap();
        assert_eq!(miss.extra.len(), 4, "{miss:?}");
        assert!(miss.extra[2].ends_with(":8000"));
        let hit = entries
            .iter()
            .find(|e| e.extra.last() == Some(&"HIT"))
            .unwrap();
        assert_eq!(hit.extra[1], "-", "no upstream time on a cache hit");
        assert!(hit.duration_ms(TimeUnit::Seconds).is_some());
        assert!(entries.iter().any(|e| e.status == 499));
        assert!(!entries.iter().any(Entry::is_server_error));
    }

    #[test]
    fn escapes_units_and_broken_lines() {
        let l = r#"10.0.0.1 - bob [01/Jan/2026:00:00:00 +0100] "GET /a?q=\"x\" HTTP/1.1" 502 - "-" "ua \"quoted\"" 1500"#;
        let e = parse(l).unwrap();
        assert_eq!(e.user, "bob");
        assert_eq!(e.request, r#"GET /a?q="x" HTTP/1.1"#);
        assert_eq!(e.path(), Some(r#"/a?q="x""#));
        assert_eq!(e.user_agent, r#"ua "quoted""#);
        assert_eq!(e.bytes, None);
        assert!(e.is_server_error());
        assert_eq!(e.duration_ms(TimeUnit::Microseconds), Some(1.5));
        assert_eq!(e.duration_ms(TimeUnit::Milliseconds), Some(1500.0));
        // Common log format: no referer, agent or time.
        let c = parse(r#"h - - [t] "GET / HTTP/1.0" 200 12"#).unwrap();
        assert_eq!((c.status, c.duration_ms(TimeUnit::Seconds)), (200, None));
        // A garbage request line still counts by its status.
        let g = parse(r#"h - - [t] "\x16\x03\x01" 400 0 "-" "-" 0.001"#).unwrap();
        assert_eq!((g.method(), g.status), (None, 400));
        for bad in [
            "",
            "cut off in the midd",
            r#"h - - [t] "GET / HTTP/1.1" 2000 1"#,
            r#"h - - [t "GET / HTTP/1.1" 200 1"#,
            r#"h - - [t] "GET / HTTP/1.1 200 1"#,
            "2026/12/02 04:00:00 [error] 12#12: *1 connect() failed",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
