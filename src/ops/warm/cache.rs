//! What a response says about the cache in front of the app: the cache result
//! (nginx `X-Cache-Status`, Varnish `X-Varnish`/`Age`, CDNs `X-Cache`,
//! `CF-Cache-Status`) and, for pages no shared cache may keep, why not.

/// A response's headers, as lower-case names and their values (repeated names
/// repeated), so the classification is a pure function of text.
pub type Headers<'a> = [(&'a str, &'a str)];

/// The cache result, normalised to upper-case words: `HIT`, `MISS`, `EXPIRED`,
/// `STALE`, `UPDATING`, `REVALIDATED`, `BYPASS`, `DYNAMIC`, or `NONE` when no
/// header tells (no cache in front, or one that does not say).
pub fn result(headers: &Headers<'_>) -> &'static str {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    // The nearest cache speaks first: nginx's own header, then Cloudflare's, then
    // the generic X-Cache (Fastly, CloudFront, Squid), then Varnish's.
    for name in ["x-cache-status", "cf-cache-status", "x-cache"] {
        if let Some(v) = get(name) {
            if let Some(word) = word(v) {
                return word;
            }
        }
    }
    if let Some(v) = get("x-varnish") {
        // One transaction id: fetched from the backend; two: served from cache.
        return if v.split_whitespace().count() >= 2 {
            "HIT"
        } else {
            "MISS"
        };
    }
    if let Some(age) = get("age").and_then(|a| a.parse::<u64>().ok()) {
        return if age > 0 { "HIT" } else { "MISS" };
    }
    "NONE"
}

/// The cache word in a header value: `HIT`, `TCP_MISS`, `Hit from cloudfront`,
/// `HIT, MISS` (Fastly's shield then edge: the last, nearest one counts).
fn word(value: &str) -> Option<&'static str> {
    const WORDS: [&str; 9] = [
        "REVALIDATED",
        "UPDATING",
        "EXPIRED",
        "DYNAMIC",
        "BYPASS",
        "STALE",
        "MISS",
        "HIT",
        "PASS",
    ];
    let last = value
        .rsplit(',')
        .next()
        .unwrap_or(value)
        .to_ascii_uppercase();
    WORDS
        .iter()
        .find(|w| last.contains(**w))
        .map(|w| if *w == "PASS" { "BYPASS" } else { *w })
}

/// Why a shared cache will not keep this page, `None` when nothing says so.
pub fn uncacheable(headers: &Headers<'_>) -> Option<String> {
    let all = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let mut why = Vec::new();
    if all("set-cookie").next().is_some() {
        why.push("Set-Cookie".to_string());
    }
    for cc in all("cache-control") {
        for d in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            let name = d.split('=').next().unwrap_or("").trim();
            if matches!(name, "private" | "no-store") {
                why.push(format!("Cache-Control: {name}"));
            }
        }
    }
    for vary in all("vary") {
        for v in vary.split(',').map(str::trim) {
            if v.eq_ignore_ascii_case("cookie") || v == "*" {
                why.push(format!("Vary: {v}"));
            }
        }
    }
    why.dedup();
    (!why.is_empty()).then(|| why.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cache_speaks_its_dialect() {
        let r = |h: &[(&str, &str)]| result(h);
        assert_eq!(r(&[("x-cache-status", "HIT")]), "HIT");
        assert_eq!(r(&[("X-Cache-Status", "EXPIRED")]), "EXPIRED");
        assert_eq!(r(&[("cf-cache-status", "DYNAMIC")]), "DYNAMIC");
        assert_eq!(r(&[("x-cache", "Hit from cloudfront")]), "HIT");
        assert_eq!(r(&[("x-cache", "TCP_MISS from squid")]), "MISS");
        assert_eq!(r(&[("x-cache", "HIT, MISS")]), "MISS");
        assert_eq!(r(&[("x-varnish", "32768 32770"), ("age", "12")]), "HIT");
        assert_eq!(r(&[("x-varnish", "32768")]), "MISS");
        assert_eq!(r(&[("age", "0")]), "MISS");
        assert_eq!(r(&[("age", "31")]), "HIT");
        assert_eq!(r(&[("x-cache", "pass")]), "BYPASS");
        assert_eq!(r(&[("content-type", "text/html")]), "NONE");
        // nginx's header wins over an Age passed through from upstream.
        assert_eq!(r(&[("age", "100"), ("x-cache-status", "MISS")]), "MISS");
    }

    #[test]
    fn uncacheable_pages_say_why() {
        assert_eq!(
            uncacheable(&[("cache-control", "public, max-age=300")]),
            None
        );
        assert_eq!(
            uncacheable(&[("Set-Cookie", "sessionid=abc; HttpOnly")]).as_deref(),
            Some("Set-Cookie")
        );
        assert_eq!(
            uncacheable(&[("cache-control", "private, max-age=0")]).as_deref(),
            Some("Cache-Control: private")
        );
        assert_eq!(
            uncacheable(&[
                ("cache-control", "no-store"),
                ("vary", "Accept-Encoding, Cookie")
            ])
            .as_deref(),
            Some("Cache-Control: no-store, Vary: Cookie")
        );
        assert_eq!(uncacheable(&[("vary", "Accept-Encoding")]), None);
    }
}
