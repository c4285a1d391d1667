//! Host patterns as Ansible reads them: an optional `:port` (`host:22`,
//! `[2001:db8::1]:22`) and `[begin:end(:step)]` ranges (`web[01:03]`, `db-[a:c]`),
//! several ranges in one pattern expanding left to right.

/// Patterns are expanded into at most this many hosts (a typo such as
/// `web[1:100000000]` must not eat the machine).
pub const MAX_HOSTS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("host range must be begin:end or begin:end:step, got `[{0}]`")]
    Shape(String),
    #[error("host range must specify an end value, got `[{0}]`")]
    NoEnd(String),
    #[error("host range must specify begin and end of the same length (zero padding), got `[{0}]`")]
    Padding(String),
    #[error("host range must have begin <= end, got `[{0}]`")]
    Order(String),
    #[error("host range bounds must be numbers or single letters, got `[{0}]`")]
    Bounds(String),
    #[error("host range step must not be zero, got `[{0}]`")]
    ZeroStep(String),
    #[error("`{0}` has unbalanced `[` `]`: a range is written `[begin:end]`")]
    Unbalanced(String),
    #[error("the pattern expands to more than {MAX_HOSTS} hosts")]
    TooMany,
    #[error("port {0} is not a port (1-65535)")]
    Port(String),
}

/// Splits `pattern` into host names and the port it names, as Ansible's
/// `_expand_hostpattern` does: the port is taken only when what is left is a valid
/// host name or address (with ranges); otherwise the whole pattern is one name.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), RangeError> {
    let (host, port) = match split_port(pattern) {
        Some((host, port)) if valid_host(host) => (host, Some(port)),
        _ => (pattern, None),
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| RangeError::Port(p.to_string()))?,
        ),
    };
    let hosts = if host.contains('[') {
        let mut out = Vec::new();
        expand_ranges(host, &mut out)?;
        out
    } else {
        vec![host.to_string()]
    };
    Ok((hosts, port))
}

/// `[host]:port` (for IPv6 addresses), then `host:port` where `host` has no `:`
/// outside complete `[...]` ranges.
fn split_port(pattern: &str) -> Option<(&str, &str)> {
    let mut address = pattern;
    let mut port = None;
    if let Some(rest) = address.strip_prefix('[')
        && let Some((inner, p)) = rest.rsplit_once("]:")
        && !inner.is_empty()
        && is_digits(p)
    {
        address = inner;
        port = Some(p);
    }
    if let Some((host, p)) = host_port(address) {
        address = host;
        port = Some(p);
    }
    port.map(|p| (address, p))
}

fn host_port(s: &str) -> Option<(&str, &str)> {
    let mut in_range = false;
    for (i, c) in s.char_indices() {
        match c {
            '[' if !in_range => in_range = true,
            ']' if in_range => in_range = false,
            '[' | ']' => return None,
            ':' if !in_range => {
                let port = &s[i + 1..];
                return is_digits(port).then_some((&s[..i], port));
            }
            _ => {}
        }
    }
    None
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Loosely Ansible's address patterns: a host name of labels (word characters,
/// `-`, ranges), an IPv4 address, or an IPv6 address (hex digits and colons).
fn valid_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let plain = strip_ranges(host);
    let Some(plain) = plain else { return false };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '\u{0}')
            && !l.starts_with('-')
            && !l.ends_with(['-', '_'])
    };
    let hostname = plain.split('.').all(label_ok);
    let ipv6 = plain.contains(':')
        && plain
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '\u{0}');
    hostname || ipv6
}

/// The host with each well-formed range replaced by a NUL placeholder; None when
/// a bracket is not a range.
fn strip_ranges(host: &str) -> Option<String> {
    let mut out = String::with_capacity(host.len());
    let mut rest = host;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']')?;
        let inner = &after[..close];
        let parts: Vec<&str> = inner.split(':').collect();
        let bound =
            |s: &str| is_digits(s) || (s.len() == 1 && s.bytes().all(|b| b.is_ascii_lowercase()));
        let ok = (parts.len() == 2 || parts.len() == 3)
            && bound(parts[0])
            && bound(parts[1])
            && parts.get(2).is_none_or(|s| is_digits(s));
        if !ok {
            return None;
        }
        out.push('\u{0}');
        rest = &after[close + 1..];
    }
    if rest.contains(']') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Ansible's `expand_hostname_range`: the first `[...]` is expanded, and each result
/// expanded again until no range is left.
fn expand_ranges(line: &str, out: &mut Vec<String>) -> Result<(), RangeError> {
    let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
        return Err(RangeError::Unbalanced(line.to_string()));
    };
    if close < open || line.contains('|') {
        return Err(RangeError::Unbalanced(line.to_string()));
    }
    let head = &line[..open];
    let nrange = &line[open + 1..close];
    let tail = &line[close + 1..];
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(RangeError::Shape(nrange.to_string()));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(RangeError::NoEnd(nrange.to_string()));
    }
    let step = bounds.get(2).copied();
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err(RangeError::Padding(nrange.to_string()));
        }
        Some(beg.len())
    } else {
        None
    };
    let step_num = match step {
        None => Some(1),
        Some(s) => python_int(s),
    };
    let seq: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end), step_num) {
        (Some(b), Some(e), Some(step)) if step != 0 => {
            if b > e {
                return Err(RangeError::Order(nrange.to_string()));
            }
            if step < 0 {
                Vec::new()
            } else {
                let step = usize::try_from(step).unwrap_or(usize::MAX);
                LETTERS[b..=e]
                    .chars()
                    .step_by(step)
                    .map(String::from)
                    .collect()
            }
        }
        _ => {
            let (Some(b), Some(e)) = (python_int(beg), python_int(end)) else {
                return Err(RangeError::Bounds(nrange.to_string()));
            };
            let step = step_num.ok_or_else(|| RangeError::Bounds(nrange.to_string()))?;
            if step == 0 {
                return Err(RangeError::ZeroStep(nrange.to_string()));
            }
            let mut seq = Vec::new();
            if step > 0 {
                let mut i = b;
                while i <= e {
                    if seq.len() + out.len() >= MAX_HOSTS {
                        return Err(RangeError::TooMany);
                    }
                    seq.push(i.to_string());
                    i = match i.checked_add(step) {
                        Some(n) => n,
                        None => break,
                    };
                }
            }
            seq
        }
    };
    for item in seq {
        let item = match width {
            Some(w) => zfill(&item, w),
            None => item,
        };
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            expand_ranges(&name, out)?;
        } else {
            if out.len() >= MAX_HOSTS {
                return Err(RangeError::TooMany);
            }
            out.push(name);
        }
    }
    Ok(())
}

/// Python's `int(s)` for the forms a range uses: optional sign, digits, `_` between digits.
fn python_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `str.zfill`: pad with zeros after the sign.
fn zfill(s: &str, width: usize) -> String {
    let (sign, digits) = match s.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", s),
    };
    let len = sign.len() + digits.len();
    if len >= width {
        return s.to_string();
    }
    format!("{sign}{}{digits}", "0".repeat(width - len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(p: &str) -> Vec<String> {
        expand_host_pattern(p).unwrap().0
    }

    #[test]
    fn numeric_ranges_keep_zero_padding() {
        assert_eq!(
            hosts("www[01:03].example.com"),
            [
                "www01.example.com",
                "www02.example.com",
                "www03.example.com"
            ]
        );
        assert_eq!(hosts("web[8:11]"), ["web8", "web9", "web10", "web11"]);
        assert_eq!(hosts("h[:2]"), ["h0", "h1", "h2"]);
    }

    #[test]
    fn steps_and_letters() {
        assert_eq!(hosts("www[01:10:4]"), ["www01", "www05", "www09"]);
        assert_eq!(
            hosts("db-[a:c].example.com"),
            ["db-a.example.com", "db-b.example.com", "db-c.example.com"]
        );
        assert_eq!(hosts("x[a:e:2]"), ["xa", "xc", "xe"]);
    }

    #[test]
    fn several_ranges_expand_left_to_right() {
        assert_eq!(hosts("r[1:2]-[a:b]"), ["r1-a", "r1-b", "r2-a", "r2-b"]);
    }

    #[test]
    fn ports_are_split_off_names_and_bracketed_addresses() {
        assert_eq!(
            expand_host_pattern("badwolf.example.com:5309").unwrap(),
            (vec!["badwolf.example.com".to_string()], Some(5309))
        );
        assert_eq!(
            expand_host_pattern("web[1:2]:2222").unwrap(),
            (vec!["web1".to_string(), "web2".to_string()], Some(2222))
        );
        assert_eq!(
            expand_host_pattern("[2001:db8::1]:22").unwrap(),
            (vec!["2001:db8::1".to_string()], Some(22))
        );
        assert_eq!(
            expand_host_pattern("192.0.2.10:2200").unwrap(),
            (vec!["192.0.2.10".to_string()], Some(2200))
        );
        // A bare IPv6 address has no port.
        assert_eq!(
            expand_host_pattern("fe80::1").unwrap(),
            (vec!["fe80::1".to_string()], None)
        );
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(matches!(
            expand_host_pattern("w[1:2:3:4]"),
            Err(RangeError::Shape(_))
        ));
        assert!(matches!(
            expand_host_pattern("w[1:]"),
            Err(RangeError::NoEnd(_))
        ));
        assert!(matches!(
            expand_host_pattern("w[01:100]"),
            Err(RangeError::Padding(_))
        ));
        assert!(matches!(
            expand_host_pattern("w[c:a]"),
            Err(RangeError::Order(_))
        ));
        assert!(matches!(
            expand_host_pattern("w[a:5]"),
            Err(RangeError::Bounds(_))
        ));
        assert!(matches!(
            expand_host_pattern("w[1:3:0]"),
            Err(RangeError::ZeroStep(_))
        ));
        assert!(matches!(
            expand_host_pattern("w]x["),
            Err(RangeError::Unbalanced(_))
        ));
        assert!(matches!(
            expand_host_pattern("h:70000"),
            Err(RangeError::Port(_))
        ));
    }

    #[test]
    fn huge_ranges_are_bounded() {
        assert_eq!(
            expand_host_pattern("w[1:100000000]"),
            Err(RangeError::TooMany)
        );
        assert_eq!(
            expand_host_pattern("w[1:1000]-[1:1000]"),
            Err(RangeError::TooMany)
        );
    }

    #[test]
    fn zfill_pads_after_the_sign() {
        assert_eq!(zfill("5", 3), "005");
        assert_eq!(zfill("-5", 3), "-05");
        assert_eq!(zfill("1234", 3), "1234");
    }
}
