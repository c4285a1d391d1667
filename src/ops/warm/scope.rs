//! Which URLs a warm may send requests to: those of the base URL's host (and
//! port and scheme), plus the hosts named with `--allow-host`. A sitemap is
//! outside data: one that names another site must not turn opsctl into a
//! crawler of someone else's servers.

use reqwest::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("`{url}` is not a URL ({why})")]
    NotAUrl { url: String, why: String },
    #[error("`{url}` is not http or https")]
    Scheme { url: String },
    #[error("`{url}` is outside the base host {base} (allow it with --allow-host {host})")]
    Outside {
        url: String,
        base: String,
        host: String,
    },
}

#[derive(Debug, Clone)]
pub struct Scope {
    base: Url,
    allowed: Vec<String>,
}

impl Scope {
    pub fn new(base: Url, allow_hosts: &[String]) -> Scope {
        Scope {
            base,
            allowed: allow_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The base's host (what `Host` and SNI say on every node).
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or("")
    }

    /// `text` (absolute, or a path relative to the base) as a URL in scope.
    pub fn check(&self, text: &str) -> Result<Url, ScopeError> {
        let url = self
            .base
            .join(text.trim())
            .map_err(|e| ScopeError::NotAUrl {
                url: text.to_string(),
                why: e.to_string(),
            })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ScopeError::Scheme {
                url: text.to_string(),
            });
        }
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let same_origin = url.scheme() == self.base.scheme()
            && host == self.host().to_ascii_lowercase()
            && url.port_or_known_default() == self.base.port_or_known_default();
        if same_origin || self.allowed.contains(&host) {
            Ok(url)
        } else {
            Err(ScopeError::Outside {
                url: text.to_string(),
                base: self.host().to_string(),
                host,
            })
        }
    }
}

/// The URLs of a list (`--urls FILE`): one per line, blank lines and `#`
/// comments skipped.
pub fn list_line(line: &str) -> Option<&str> {
    let t = line.trim();
    (!t.is_empty() && !t.starts_with('#')).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_base_host_unless_allowed() {
        let base = Url::parse("https://shop.test/").unwrap();
        let s = Scope::new(base.clone(), &[]);
        assert_eq!(
            s.check("/products/1/").unwrap().as_str(),
            "https://shop.test/products/1/"
        );
        assert!(s.check("https://SHOP.test/a").is_ok());
        let e = s.check("https://evil.test/a").unwrap_err().to_string();
        assert!(e.contains("outside the base host shop.test"), "{e}");
        assert!(e.contains("--allow-host evil.test"), "{e}");
        assert!(
            s.check("http://shop.test/a").is_err(),
            "another scheme is another origin"
        );
        assert!(s.check("https://shop.test:8443/a").is_err());
        assert!(matches!(
            s.check("ftp://shop.test/a"),
            Err(ScopeError::Scheme { .. })
        ));
        let s = Scope::new(base, &["cdn.test".into()]);
        assert!(s.check("https://cdn.test/a.css").is_ok());
    }

    #[test]
    fn list_lines() {
        assert_eq!(list_line("  /a \n"), Some("/a"));
        assert_eq!(list_line("# comment"), None);
        assert_eq!(list_line("   "), None);
    }
}
