//! Keeping secrets out of everything opsctl writes: tables, JSON, Markdown, the
//! console, logs, error messages and diagnostics.
//!
//! Two nets. The structural one knows where secrets sit in a URL (the password of
//! `user:password@`, the value of `?token=`, `&api_key=`, ...) and in free text that
//! contains URLs. The second knows the actual values: every secret opsctl reads
//! (an environment variable or a file named by the profile for a password or a
//! header, a URL's credentials) is registered here, and [`scrub`] replaces it
//! wherever it turns up, whatever printed it. Output paths call [`scrub`]; the log
//! writers do too.

use std::borrow::Cow;
use std::sync::RwLock;

use super::profile::Profile;

/// What a hidden value is shown as.
pub const MASK: &str = "***";

/// Shorter values are not registered: masking every `ab` in the output would make
/// it unreadable and protect nothing (such a secret is guessed at once anyway).
const MIN_SECRET_LEN: usize = 4;

/// Query parameters whose values are secrets (compared case-insensitively; also as
/// a suffix, so `x_api_key` and `access_token` count).
const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "auth",
    "sig",
    "signature",
    "credential",
    "credentials",
    "session",
    "sessionid",
    "code",
];

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers a secret value so [`scrub`] hides it from now on.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    if let Ok(mut known) = KNOWN.write() {
        if !known.iter().any(|k| k == secret) {
            known.push(secret.to_string());
            // Longest first: a secret that contains another is masked whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }
}

/// Registers the secrets a profile holds in its text: URL passwords and secret
/// query values, header values written in the profile.
pub fn register_profile(p: &Profile) {
    for check in &p.health.http {
        for s in url_secrets(&check.url) {
            register(&s);
        }
        for h in &check.headers {
            if let Some(v) = &h.value {
                register(v);
            }
        }
    }
}

/// The secret parts of a URL: the userinfo's password (or the whole userinfo when it
/// is a token) and the values of secret query parameters.
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some((_, rest)) = url.split_once("://") else {
        return out;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        match userinfo.split_once(':') {
            Some((_, password)) => out.push(password.to_string()),
            None => out.push(userinfo.to_string()),
        }
    }
    if let Some(query) = tail.split_once('?').map(|(_, q)| q) {
        let query = query.split('#').next().unwrap_or(query);
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                if is_secret_param(k) && !v.is_empty() {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|p| {
        lower == *p || lower.ends_with(&format!("_{p}")) || lower.ends_with(&format!("-{p}"))
    }) || lower.ends_with("token")
        || lower.ends_with("key")
}

/// A URL with its password and secret query values replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let shown = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:{MASK}"),
                None => MASK.to_string(),
            };
            format!("{shown}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if is_secret_param(k) && !v.is_empty() => format!("{k}={MASK}"),
                    _ => pair.to_string(),
                })
                .collect();
            let mut t = format!("{path}?{}", query.join("&"));
            if let Some(f) = fragment {
                t.push('#');
                t.push_str(f);
            }
            t
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Characters that end a URL inside free text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')' | ']' | '}' | ',')
}

/// Redacts every URL in free text (an error message, a diagnostic's source line).
pub fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The scheme: the letters before `://`.
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |p| p + 1);
        let end = rest[i..].find(ends_url).map_or(rest.len(), |p| i + p);
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `text` with every known secret and every URL credential hidden.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let urls = redact_urls_in(text);
    let known = match KNOWN.read() {
        Ok(k) => k,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !known.iter().any(|k| urls.contains(k.as_str())) {
        return urls;
    }
    let mut s = urls.into_owned();
    for k in known.iter() {
        if s.contains(k.as_str()) {
            s = s.replace(k.as_str(), MASK);
        }
    }
    Cow::Owned(s)
}

/// A copy of the profile that is safe to print.
pub fn redact_profile(p: &Profile) -> Profile {
    let mut shown = p.clone();
    for check in &mut shown.health.http {
        check.url = redact_url(&check.url);
        for h in &mut check.headers {
            if h.value.is_some() {
                h.value = Some(MASK.to_string());
            }
        }
    }
    shown
}

/// A secret the profile points at could not be read. Names the variable or file,
/// never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (the profile reads a secret from it)")]
    EnvMissing(String),
    #[error("environment variable {0} is empty (the profile reads a secret from it)")]
    EnvEmpty(String),
    #[error("cannot read the secret file {path}: {why}")]
    File { path: String, why: String },
    #[error("the secret file {0} is empty")]
    FileEmpty(String),
}

/// Reads a secret from an environment variable and registers it.
pub fn from_env(var: &str) -> Result<String, SecretError> {
    let value = std::env::var(var).map_err(|_| SecretError::EnvMissing(var.to_string()))?;
    if value.is_empty() {
        return Err(SecretError::EnvEmpty(var.to_string()));
    }
    register(&value);
    Ok(value)
}

/// Reads a secret from a file (`~` expanded; one trailing newline dropped) and
/// registers it.
pub fn from_file(path: &str) -> Result<String, SecretError> {
    let full = super::load::expand_tilde(path);
    let text = std::fs::read_to_string(&full).map_err(|e| SecretError::File {
        path: path.to_string(),
        why: e.to_string(),
    })?;
    let value = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text)
        .to_string();
    if value.is_empty() {
        return Err(SecretError::FileEmpty(path.to_string()));
    }
    register(&value);
    Ok(value)
}

/// A writer that scrubs what goes through it (one `write` at a time: the log
/// formatter writes each event whole).
pub struct ScrubWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for ScrubWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
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

    #[test]
    fn secret_query_values_are_hidden_and_others_kept() {
        assert_eq!(
            redact_url("https://h/health?token=abc123&page=2&api_key=zz9#top"),
            "https://h/health?token=***&page=2&api_key=***#top"
        );
        assert_eq!(
            redact_url("https://h/?X-Amz-Signature=f00d"),
            "https://h/?X-Amz-Signature=***"
        );
        assert_eq!(redact_url("https://h/?q=shoes"), "https://h/?q=shoes");
        assert_eq!(
            url_secrets("https://u:pw99@h/x?access_token=t0k3n&q=1"),
            ["pw99", "t0k3n"]
        );
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        let msg = "error sending request for url (https://ops:hunter22@10.0.0.5/healthz?token=abc): refused";
        assert_eq!(
            redact_urls_in(msg),
            "error sending request for url (https://ops:***@10.0.0.5/healthz?token=***): refused"
        );
        assert_eq!(
            redact_urls_in("url = \"htp://user:pw@x\""),
            "url = \"htp://user:***@x\""
        );
        assert_eq!(redact_urls_in("no url here"), "no url here");
    }

    #[test]
    fn registered_values_are_scrubbed_anywhere() {
        register("Bearer-xyzzy-4711");
        register("ab"); // too short to register
        let text = "header Authorization: Bearer-xyzzy-4711 sent; ab stays";
        assert_eq!(scrub(text), "header Authorization: *** sent; ab stays");
        let mut w = ScrubWriter(Vec::new());
        std::io::Write::write_all(&mut w, b"log: Bearer-xyzzy-4711\n").unwrap();
        assert_eq!(w.0, b"log: ***\n");
    }
}
