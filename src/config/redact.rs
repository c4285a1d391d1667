//! Keeping secrets out of what opsctl prints: profiles name secrets (env vars,
//! files), but a URL can still carry `user:password@`.

use super::profile::Profile;

/// Replaces the password of a URL's userinfo with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_string()
            };
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// A copy of the profile that is safe to print.
pub fn redact_profile(p: &Profile) -> Profile {
    let mut shown = p.clone();
    for check in &mut shown.health.http {
        check.url = redact_url(&check.url);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url("https://admin:s3cret@shop.example.com/health?x=1"),
            "https://admin:***@shop.example.com/health?x=1"
        );
        assert_eq!(redact_url("https://token@h/"), "https://***@h/");
        assert_eq!(redact_url("https://h/p@q"), "https://h/p@q");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
