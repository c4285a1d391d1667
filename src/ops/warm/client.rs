//! HTTP for warming: one reqwest client per cache node (a client's connection
//! pool is keyed by host, so reaching two nodes under one Host name needs two
//! clients, each resolving the site's name to its node's address: the Host
//! header and TLS SNI stay the site's), and the one request a warm sends.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::cache;
use super::stats::Answer;
use crate::health::http::innermost;

/// The Accept-Encoding values browsers send (the cache key often includes it):
/// Chrome, Edge and Firefox; Safari and older browsers; and none (curl, bots).
pub const BROWSER_ENCODINGS: [&str; 3] = ["gzip, deflate, br, zstd", "gzip, deflate, br", ""];

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read the CA file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
    #[error("bad header `{0}`: expected NAME:VALUE")]
    Header(String),
}

/// Where requests go: the site's own name, or one node's address.
#[derive(Debug, Clone)]
pub struct NodeAddr {
    pub name: String,
    /// `None`: wherever DNS sends the site's name.
    pub addr: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub host: String,
    pub ca_file: Option<String>,
    pub timeout: Duration,
    pub pool: usize,
}

/// A client for `node`. A page client (`pages`: the `--header`s every page
/// request carries, set once here rather than copied per request) bounds each
/// request end to end; the sitemap client bounds only connecting (a sitemap is
/// read at the pace of the warm).
pub fn build(
    settings: &ClientSettings,
    node: &NodeAddr,
    pages: Option<&HeaderMap>,
) -> Result<reqwest::Client, ClientError> {
    crate::health::http::ensure_crypto_provider();
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(settings.pool)
        .user_agent(concat!("opsctl-warm/", env!("CARGO_PKG_VERSION")));
    if let Some(headers) = pages {
        b = b.timeout(settings.timeout).default_headers(headers.clone());
    }
    if let Some(path) = &settings.ca_file {
        for cert in read_ca(path)? {
            b = b.add_root_certificate(cert);
        }
    }
    if let Some(addr) = node.addr {
        b = b.resolve(&settings.host, addr);
    }
    b.build().map_err(|e| ClientError::Build(innermost(&e)))
}

fn read_ca(path: &str) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let bad = |why: String| ClientError::CaFile {
        path: path.to_string(),
        why,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not PEM certificates: {}", innermost(&e))))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// `--header NAME:VALUE` parsed. The value is registered as a secret: it may be
/// an Authorization, and no output or audit record may show it.
pub fn header(text: &str) -> Result<(HeaderName, HeaderValue), ClientError> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| ClientError::Header(name_only(text)))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| ClientError::Header(name_only(text)))?;
    let value = value.trim();
    crate::config::secrets::register(value);
    let mut value =
        HeaderValue::from_str(value).map_err(|_| ClientError::Header(name.to_string()))?;
    value.set_sensitive(true);
    Ok((name, value))
}

fn name_only(text: &str) -> String {
    text.split(':').next().unwrap_or("").trim().to_string()
}

/// Sends one GET and reads its body to the end (a cache stores what the client
/// took whole). Returns what it said and the time to the last byte.
pub async fn get(
    client: &reqwest::Client,
    url: &reqwest::Url,
    encoding: &str,
) -> (Result<Answer, String>, f64) {
    let started = Instant::now();
    let mut req = client.get(url.clone());
    if !encoding.is_empty() {
        req = req.header(reqwest::header::ACCEPT_ENCODING, encoding);
    }
    let result = async {
        let mut resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        // Classified from borrowed headers before the body is read: no copies.
        let (cache, uncacheable) = {
            let view: Vec<(&str, &str)> = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
                .collect();
            (cache::result(&view), cache::uncacheable(&view))
        };
        while resp.chunk().await.map_err(|e| describe(&e))?.is_some() {}
        Ok(Answer {
            status,
            cache,
            uncacheable,
        })
    }
    .await;
    (result, started.elapsed().as_secs_f64() * 1000.0)
}

/// A short reason: "connection refused", "timeout", "certificate not trusted".
pub fn describe(err: &reqwest::Error) -> String {
    crate::health::http::describe_request_error(err, "timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_their_values_stay_secret() {
        let (n, v) = header("Authorization: Bearer s3cr3t-token-value").unwrap();
        assert_eq!(n.as_str(), "authorization");
        assert!(v.is_sensitive());
        assert_eq!(
            crate::config::secrets::scrub("sent Bearer s3cr3t-token-value"),
            "sent ***"
        );
        let e = header("no-colon-here").unwrap_err().to_string();
        assert!(e.contains("NAME:VALUE"), "{e}");
        assert!(header("bad name: x").is_err());
    }
}
