//! `<lastmod>` and `--changed-since`: W3C datetimes (the sitemap protocol's
//! format) as seconds since the epoch. Every precision the note allows is read:
//! `2026`, `2026-11`, `2026-11-30`, `2026-11-30T10:00Z`, `...T10:00:05+01:00`,
//! `...T10:00:05.25Z`. A bare date is midnight UTC.

/// Seconds since the epoch, `None` for text that is not a W3C datetime.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, rest) = match t.find('T') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i32 = num(parts.next()?, 4)?;
    let month: u8 = match parts.next() {
        Some(m) => num(m, 2)?,
        None => 1,
    };
    let day: u8 = match parts.next() {
        Some(d) => num(d, 2)?,
        None => 1,
    };
    if parts.next().is_some() {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let Some(rest) = rest else {
        return Some(date.midnight().assume_utc().unix_timestamp());
    };
    // hh:mm[:ss[.fraction]] then Z or ±hh:mm.
    let (clock, offset_secs) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0i64)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':')?;
        let h: i64 = num(h, 2)?;
        let m: i64 = num(m, 2)?;
        (c, sign * (h * 3600 + m * 60))
    };
    let mut hms = clock.split(':');
    let h: u8 = num(hms.next()?, 2)?;
    let m: u8 = num(hms.next()?, 2)?;
    let s: u8 = match hms.next() {
        Some(s) => {
            let whole = s.split('.').next()?;
            num(whole, 2)?
        }
        None => 0,
    };
    if hms.next().is_some() {
        return None;
    }
    let t = time::Time::from_hms(h, m, s).ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp() - offset_secs)
}

fn num<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether an entry with `lastmod` passes `--changed-since since`: entries without
/// a (readable) lastmod pass, since nothing says they did not change.
pub fn changed_since(lastmod: Option<&str>, since: Option<i64>) -> bool {
    match (since, lastmod.and_then(parse)) {
        (Some(since), Some(at)) => at >= since,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_w3c_precision() {
        let day = parse("2026-11-30").unwrap();
        assert_eq!(day, 1_795_996_800);
        assert_eq!(parse("2026-11-30T00:00Z"), Some(day));
        assert_eq!(parse("2026-11-30T01:00:00+01:00"), Some(day));
        assert_eq!(parse("2026-11-29T23:30:00.5-00:30"), Some(day));
        assert_eq!(parse("2026-11-30T10:00:05Z"), Some(day + 36_005));
        assert_eq!(parse("2026"), parse("2026-01-01"));
        assert_eq!(parse("2026-11"), parse("2026-11-01"));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "26-11-30",
            "2026-11-30T25:00Z",
            "2026-11-30T10:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_dates_pass_the_filter() {
        let since = parse("2026-11-01");
        assert!(changed_since(Some("2026-11-30"), since));
        assert!(!changed_since(Some("2026-10-30"), since));
        assert!(changed_since(None, since));
        assert!(changed_since(Some("garbage"), since));
        assert!(changed_since(Some("2020-01-01"), None));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }
    }
}
