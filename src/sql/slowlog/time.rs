//! Timestamp parsing for slow logs, without allocation: the parsers call this per event.
//!
//! Times are microseconds since the Unix epoch. Zone abbreviations other than UTC/GMT/Z
//! and numeric offsets are read as UTC (PostgreSQL's `log_timezone` names are not
//! resolvable without a zone database); MariaDB's `YYMMDD` times have no zone and are the
//! server's local time, read as UTC.

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn to_micros(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, frac: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Some(secs * 1_000_000 + frac)
}

/// Reads `.ffffff` at the start of `s`: (microseconds, bytes used).
fn fraction(s: &[u8]) -> (i64, usize) {
    if s.first() != Some(&b'.') {
        return (0, 0);
    }
    let mut micros = 0i64;
    let mut scale = 100_000i64;
    let mut i = 1;
    while i < s.len() && s[i].is_ascii_digit() {
        micros += i64::from(s[i] - b'0') * scale;
        scale /= 10;
        i += 1;
    }
    (micros, i)
}

/// Reads a zone suffix: `Z`, `+hh:mm`, `+hhmm`, `+hh`, ` UTC`, ` +03`, ` CET` (as UTC).
/// Returns the offset in seconds east of UTC.
fn zone(s: &[u8]) -> i64 {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    match s.first() {
        Some(b'+' | b'-') => {
            let sign = if s[0] == b'-' { -1 } else { 1 };
            let rest: Vec<u8> = s[1..]
                .iter()
                .copied()
                .filter(u8::is_ascii_digit)
                .take(4)
                .collect();
            let h = rest.get(..2).and_then(digits).unwrap_or(0);
            let m = rest.get(2..4).and_then(digits).unwrap_or(0);
            sign * i64::from(h * 3600 + m * 60)
        }
        _ => 0,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][zone]`: MySQL's `# Time:`, PostgreSQL's `%m`/`%t`,
/// csvlog and jsonlog timestamps, and `--since`/`--until`.
pub fn parse_iso(s: &[u8]) -> Option<i64> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let y = i64::from(digits(&s[0..4])?);
    let mo = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if s.len() == 10 {
        return to_micros(y, mo, d, 0, 0, 0, 0);
    }
    if !matches!(s[10], b'T' | b' ') || s.len() < 16 || s[13] != b':' {
        return None;
    }
    let h = digits(&s[11..13])?;
    let mi = digits(&s[14..16])?;
    let (sec, rest) = if s.len() >= 19 && s[16] == b':' {
        (digits(&s[17..19])?, &s[19..])
    } else {
        (0, &s[16..])
    };
    let (frac, used) = fraction(rest);
    let off = zone(&rest[used..]);
    to_micros(y, mo, d, h, mi, sec, frac).map(|t| t - off * 1_000_000)
}

/// MariaDB / MySQL 5.5 `YYMMDD HH:MM:SS` (hour may be space-padded: `240101  2:03:04`).
pub fn parse_yymmdd(s: &[u8]) -> Option<i64> {
    if s.len() < 13 || s[6] != b' ' {
        return None;
    }
    let yy = digits(&s[0..2])?;
    let mo = digits(&s[2..4])?;
    let d = digits(&s[4..6])?;
    let rest = trim_start(&s[7..]);
    let colon = rest.iter().position(|&b| b == b':')?;
    let h = digits(&rest[..colon])?;
    let rest = &rest[colon + 1..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let mi = digits(&rest[0..2])?;
    let sec = digits(&rest[3..5])?;
    let (frac, _) = fraction(&rest[5..]);
    to_micros(2000 + i64::from(yy), mo, d, h, mi, sec, frac)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s.iter().position(|b| *b != b' ').unwrap_or(s.len());
    &s[i..]
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_micros(t: i64) -> String {
    let secs = t.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        // 2024-01-02 03:04:05 UTC = 1704164645 (date -u -d '2024-01-02 03:04:05' +%s)
        let t = 1_704_164_645_000_000;
        assert_eq!(parse_iso(b"2024-01-02T03:04:05Z"), Some(t));
        assert_eq!(parse_iso(b"2024-01-02T03:04:05.250000Z"), Some(t + 250_000));
        assert_eq!(parse_iso(b"2024-01-02 03:04:05.123 UTC"), Some(t + 123_000));
        assert_eq!(parse_iso(b"2024-01-02 05:04:05+02:00"), Some(t));
        assert_eq!(parse_iso(b"2024-01-02 06:04:05 +03"), Some(t));
        assert_eq!(
            parse_iso(b"2024-01-02"),
            Some(t - (3 * 3600 + 4 * 60 + 5) * 1_000_000)
        );
        assert_eq!(parse_iso(b"2024-13-02 03:04:05"), None);
        assert_eq!(parse_iso(b"garbage"), None);
    }

    #[test]
    fn yymmdd_forms() {
        let t = 1_704_164_645_000_000;
        assert_eq!(parse_yymmdd(b"240102  3:04:05"), Some(t));
        assert_eq!(parse_yymmdd(b"240102 03:04:05"), Some(t));
        assert_eq!(parse_yymmdd(b"240102 3:04"), None);
    }

    #[test]
    fn format_roundtrip() {
        assert_eq!(format_micros(1_704_164_645_000_000), "2024-01-02 03:04:05");
        assert_eq!(format_micros(0), "1970-01-01 00:00:00");
        let t = parse_iso(b"2026-11-22 12:15:00").unwrap();
        assert_eq!(format_micros(t), "2026-11-22 12:15:00");
    }
}
