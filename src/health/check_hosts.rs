//! Which HTTP checks are aimed at which host: by the URL's host (name or address),
//! or by the check's `resolve = "ip:port"` override.

use super::CheckResult;
use crate::config::HttpCheck;

/// The host part of a URL (`https://user@host:port/path` -> `host`).
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// (check name, `resolve` address) of the checks that set one.
pub fn resolve_overrides(checks: &[HttpCheck]) -> Vec<(String, String)> {
    checks
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.resolve.clone()?)))
        .collect()
}

/// The results of checks aimed at the host known as `name` at `address`.
pub fn checks_for<'a>(
    results: &'a [CheckResult],
    resolve: &'a [(String, String)],
    name: &'a str,
    address: &'a str,
) -> impl Iterator<Item = &'a CheckResult> + 'a {
    let is_this = move |h: &str| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(address);
    results.iter().filter(move |c| {
        let resolved = resolve
            .iter()
            .find(|(check, _)| *check == c.name)
            .map(|(_, addr)| url_host(addr));
        is_this(url_host(&c.url)) || resolved.is_some_and(is_this)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Status;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://web1.example.com:8443/health"),
            "web1.example.com"
        );
        assert_eq!(url_host("http://u:p@10.0.0.2/x"), "10.0.0.2");
        assert_eq!(url_host("https://[::1]:443/"), "::1");
        assert_eq!(url_host("web1"), "web1");
        assert_eq!(url_host("10.0.0.5:443"), "10.0.0.5");
    }

    fn result(name: &str, url: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            url: url.into(),
            status: Status::Up,
            http_status: Some(200),
            latency_ms: Some(1.0),
            cert_days_left: None,
            error: None,
        }
    }

    #[test]
    fn checks_match_by_url_host_or_resolve_address() {
        let results = [
            result("a", "https://WEB1/health"),
            result("b", "https://shop.example.com/"),
            result("c", "http://10.0.0.12:8000/"),
        ];
        let resolve = vec![("b".to_string(), "10.0.0.11:443".to_string())];
        let names: Vec<&str> = checks_for(&results, &resolve, "web1", "10.0.0.11")
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        let names: Vec<&str> = checks_for(&results, &resolve, "web2", "10.0.0.12")
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["c"]);
    }
}
