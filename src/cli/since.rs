//! `--since` values: a span back from now (`90s`, `30m`, `2h`, `7d`, `2w`), or a
//! time read by the slow-log engine's ISO parser (`2026-12-01`, UTC midnight;
//! `2026-12-01 03:04[:05]`; RFC 3339 with its offset).

use crate::sql::slowlog::time;

/// A `--since` value that is neither a span nor a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--since {0:?} is neither a span back from now (30m, 2h, 7d) nor a time \
     (2026-12-01, '2026-12-01 10:00', RFC 3339)"
)]
pub struct BadSince(pub String);

/// The time `value` names, in microseconds since the epoch, `now_us` being now.
pub fn parse(value: &str, now_us: i64) -> Result<i64, BadSince> {
    let v = value.trim();
    if let Some(span) = span_micros(v) {
        return Ok(now_us.saturating_sub(span));
    }
    time::parse_iso(v.as_bytes()).ok_or_else(|| BadSince(value.to_string()))
}

/// `30m` as microseconds: a whole number and one unit (s, m, h, d, w).
fn span_micros(v: &str) -> Option<i64> {
    let unit = v.chars().last()?;
    let secs_per: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let digits = &v[..v.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    n.checked_mul(secs_per)?.checked_mul(1_000_000)
}

/// Now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000_000;

    #[test]
    fn spans_count_back_from_now() {
        assert_eq!(parse("30m", NOW), Ok(NOW - 30 * 60_000_000));
        assert_eq!(parse("2h", NOW), Ok(NOW - 2 * 3_600_000_000));
        assert_eq!(parse(" 7d ", NOW), Ok(NOW - 7 * 86_400_000_000));
        assert_eq!(parse("90s", NOW), Ok(NOW - 90_000_000));
        assert_eq!(parse("1w", NOW), Ok(NOW - 7 * 86_400_000_000));
    }

    #[test]
    fn dates_and_rfc3339_are_times() {
        let day = parse("2026-12-01", NOW).unwrap();
        assert_eq!(day, time::days_from_civil(2026, 12, 1) * 86_400_000_000);
        assert_eq!(parse("2026-12-01T00:00:00Z", NOW), Ok(day));
        assert_eq!(
            parse("2026-12-01T01:00:00+01:00", NOW),
            Ok(day),
            "an offset is honoured"
        );
        assert_eq!(parse("2026-12-01 10:30", NOW), Ok(day + 37_800_000_000));
    }

    #[test]
    fn anything_else_is_refused_with_the_value() {
        for bad in [
            "",
            "m",
            "30",
            "-5m",
            "3.5h",
            "2 h",
            "5y",
            "yesterday",
            "2026-13-01",
        ] {
            let e = parse(bad, NOW).unwrap_err();
            assert_eq!(e.0, bad);
        }
        assert!(parse("99999999999999999d", NOW).is_err(), "overflow");
        assert!(
            BadSince("x".into()).to_string().contains("30m, 2h, 7d"),
            "the message shows the forms"
        );
    }
}
