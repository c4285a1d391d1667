//! HTTP checks: status, latency, expected body text and, for HTTPS, the days until
//! the server certificate expires. reqwest over rustls with the ring provider.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{HttpCheck, Thresholds, secrets};

use super::model::{CheckResult, Status};
use super::status::{cert_level, latency_level};

/// At most this much of a body is read to look for the expected text.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// A CA file larger than this is not a CA file.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Installs ring as rustls's process-wide crypto provider, once. Another part of
/// the program may have installed it first; that is fine.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Runs one HTTP check, bounded by its `timeout_secs`. Never fails: every problem
/// becomes a critical result with a short error ("connection refused",
/// "certificate not trusted (unknown issuer)", "wrong status 503 (expected 200)").
///
/// Redirects are not followed, so `expect_status` can name a redirect. Latency is
/// the time to the response headers. With `resolve = "ip:port"` the request goes to
/// that address; a port written in the URL itself takes precedence over its port.
pub async fn run_http_check(check: &HttpCheck, thresholds: &Thresholds) -> CheckResult {
    let mut result = check_once(check, thresholds).await;
    // Whatever went wrong, the message never carries a secret.
    result.error = result.error.map(|e| secrets::scrub(&e).into_owned());
    result
}

/// The request with the check's headers and basic authentication; their secrets
/// are read now (and registered, so no output shows them).
fn request(
    client: &reqwest::Client,
    check: &HttpCheck,
) -> Result<reqwest::RequestBuilder, secrets::SecretError> {
    let mut req = client.get(&check.url);
    for h in &check.headers {
        let value = match (&h.value, &h.value_env, &h.value_file) {
            (Some(v), _, _) => v.clone(),
            (None, Some(var), _) => secrets::from_env(var)?,
            (None, None, Some(file)) => secrets::from_file(file)?,
            (None, None, None) => continue,
        };
        req = req.header(h.name.as_str(), value);
    }
    if let Some(auth) = &check.basic_auth {
        let password = match (&auth.password_env, &auth.password_file) {
            (Some(var), _) => Some(secrets::from_env(var)?),
            (None, Some(file)) => Some(secrets::from_file(file)?),
            (None, None) => None,
        };
        req = req.basic_auth(&auth.user, password);
    }
    Ok(req)
}

async fn check_once(check: &HttpCheck, thresholds: &Thresholds) -> CheckResult {
    let mut result = CheckResult {
        name: check.name.clone(),
        url: secrets::redact_url(&check.url),
        status: Status::Critical,
        http_status: None,
        latency_ms: None,
        cert_days_left: None,
        error: None,
    };
    let timeout = check_timeout(check);
    let client = match build_client(check, timeout) {
        Ok(c) => c,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let req = match request(&client, check) {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let started = Instant::now();
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(describe_error(&e, timeout));
            return result;
        }
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    result.latency_ms = Some(latency_ms);
    result.http_status = Some(resp.status().as_u16());
    result.cert_days_left = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(|der| cert_days_left(der, unix_now()));

    let mut status = latency_level(latency_ms, thresholds);
    if let Some(days) = result.cert_days_left {
        status = status.max(cert_level(days, thresholds));
    }
    if resp.status().as_u16() != check.expect_status {
        result.error = Some(format!(
            "wrong status {} (expected {})",
            resp.status().as_u16(),
            check.expect_status
        ));
        status = Status::Critical;
    } else if let Some(want) = check.expect_body.as_deref() {
        match read_body(&mut resp).await {
            Ok(body) if contains(&body, want.as_bytes()) => {}
            Ok(_) => {
                result.error = Some(format!("body missing {want:?}"));
                status = Status::Critical;
            }
            Err(e) => {
                result.error = Some(format!("reading body: {}", describe_error(&e, timeout)));
                status = Status::Critical;
            }
        }
    }
    result.status = status;
    result
}

fn check_timeout(check: &HttpCheck) -> Duration {
    let secs = check.timeout_secs;
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(3600.0))
    } else {
        Duration::from_secs(5)
    }
}

/// Why a check could not even be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckSetupError {
    #[error("ca_file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("resolve {0:?} is not ip:port (e.g. 127.0.0.1:8443)")]
    Resolve(String),
    #[error("bad url: {0}")]
    Url(String),
    #[error("url has no host name to resolve")]
    NoHost,
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

fn build_client(check: &HttpCheck, timeout: Duration) -> Result<reqwest::Client, CheckSetupError> {
    ensure_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_info(true)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("opsctl-health/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &check.ca_file {
        for cert in read_ca_file(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(addr) = &check.resolve {
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| CheckSetupError::Resolve(addr.clone()))?;
        let url =
            reqwest::Url::parse(&check.url).map_err(|e| CheckSetupError::Url(e.to_string()))?;
        let host = url.host_str().ok_or(CheckSetupError::NoHost)?;
        builder = builder.resolve(host, addr);
    }
    builder
        .build()
        .map_err(|e| CheckSetupError::Client(innermost(&e)))
}

fn read_ca_file(path: &str) -> Result<Vec<reqwest::Certificate>, CheckSetupError> {
    use std::io::Read;
    let bad = |why: String| CheckSetupError::CaFile {
        path: path.to_string(),
        why,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES)
        .read_to_end(&mut pem)
        .map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not PEM certificates: {}", innermost(&e))))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

async fn read_body(resp: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Days from `now` until the certificate's notAfter; negative once expired.
pub fn cert_days_left(der: &[u8], now: i64) -> Option<f64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    Some((not_after - now) as f64 / 86_400.0)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A short, clear reason for a failed request.
fn describe_error(err: &reqwest::Error, timeout: Duration) -> String {
    describe_request_error(err, &format!("timeout after {}s", timeout.as_secs_f64()))
}

/// A short, clear reason for a failed request ("connection refused",
/// "certificate not trusted (unknown issuer)"); `timed_out` says a timeout.
pub fn describe_request_error(err: &reqwest::Error, timed_out: &str) -> String {
    if err.is_timeout() {
        return timed_out.to_string();
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return describe_tls(tls);
        }
        let mut next = e.source();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => return timed_out.to_string(),
                _ => {}
            }
            // io::Error hides its payload from source() (it skips a level); step
            // into it explicitly. hyper nests io::Errors, so this may repeat.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
            }
        }
        cur = next;
    }
    if err.is_connect() {
        format!("cannot connect: {}", innermost(err))
    } else {
        format!("request failed: {}", innermost(err))
    }
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "certificate not trusted (unknown issuer)".into(),
            C::Expired | C::ExpiredContext { .. } => "certificate expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "certificate not valid for this host name".into()
            }
            C::Revoked => "certificate revoked".into(),
            other => format!("certificate rejected: {other:?}"),
        },
        other => format!("TLS error: {other}"),
    }
}

/// The deepest error's message: reqwest's outer messages ("error sending request
/// for url ...") repeat the URL and say little.
pub fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn check(url: &str) -> HttpCheck {
        HttpCheck {
            name: "app".into(),
            url: url.into(),
            expect_status: 200,
            expect_body: None,
            timeout_secs: 3.0,
            ca_file: None,
            resolve: None,
            headers: Vec::new(),
            basic_auth: None,
        }
    }

    /// A one-shot-per-connection HTTP server on loopback answering `response` verbatim.
    async fn serve(response: &'static str, delay: Duration) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let _ = sock.write_all(response.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        addr
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nstatus ok";
    const UNAVAILABLE: &str =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown";

    #[tokio::test]
    async fn plain_http_ok_and_body() {
        let addr = serve(OK, Duration::ZERO).await;
        let mut c = check(&format!("http://{addr}/health"));
        c.expect_body = Some("ok".into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert_eq!(r.status, Status::Up, "{:?}", r.error);
        assert_eq!(r.http_status, Some(200));
        assert!(r.latency_ms.unwrap() >= 0.0);
        assert_eq!(r.cert_days_left, None);

        c.expect_body = Some("healthy".into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert_eq!(r.status, Status::Critical);
        assert_eq!(r.error.as_deref(), Some("body missing \"healthy\""));
    }

    #[tokio::test]
    async fn wrong_status() {
        let addr = serve(UNAVAILABLE, Duration::ZERO).await;
        let r = run_http_check(&check(&format!("http://{addr}/")), &Thresholds::default()).await;
        assert_eq!(r.status, Status::Critical);
        assert_eq!(r.http_status, Some(503));
        assert_eq!(r.error.as_deref(), Some("wrong status 503 (expected 200)"));
    }

    #[tokio::test]
    async fn connection_refused() {
        // A port that was just free: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = run_http_check(
            &check(&format!("http://127.0.0.1:{port}/")),
            &Thresholds::default(),
        )
        .await;
        assert_eq!(r.status, Status::Critical);
        assert_eq!(r.error.as_deref(), Some("connection refused"));
    }

    #[tokio::test]
    async fn slow_answer_warns_then_times_out() {
        let addr = serve(OK, Duration::from_millis(300)).await;
        let t = Thresholds {
            latency_warn_ms: 100.0,
            latency_crit_ms: 10_000.0,
            ..Thresholds::default()
        };
        let r = run_http_check(&check(&format!("http://{addr}/")), &t).await;
        assert_eq!(r.status, Status::Warn);
        assert!(r.latency_ms.unwrap() >= 300.0);

        let mut c = check(&format!("http://{addr}/"));
        c.timeout_secs = 0.1;
        let started = Instant::now();
        let r = run_http_check(&c, &t).await;
        assert_eq!(r.error.as_deref(), Some("timeout after 0.1s"));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn bad_settings_are_explained() {
        let mut c = check("http://127.0.0.1:1/");
        c.resolve = Some("not-an-address".into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert!(r.error.unwrap().contains("is not ip:port"));
        let mut c = check("http://127.0.0.1:1/");
        c.ca_file = Some("/nonexistent/ca.pem".into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert!(r.error.unwrap().starts_with("ca_file /nonexistent/ca.pem"));
    }

    /// A CA and a leaf certificate for `opsctl.test` valid `days` days, made with
    /// the openssl command-line tool.
    fn make_certs(dir: &Path, days: u32) {
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl is installed");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let days = days.to_string();
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=opsctl test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=opsctl.test",
        ]);
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=DNS:opsctl.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            &days,
            "-extfile",
            "leaf.ext",
        ]);
    }

    /// A TLS server on loopback in a thread: rustls over std sockets, one canned answer
    /// per connection.
    fn serve_tls(dir: &Path) -> SocketAddr {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        ensure_crypto_provider();
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("leaf.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for sock in listener.incoming().take(16) {
                let Ok(mut sock) = sock else { continue };
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                let config = config.clone();
                std::thread::spawn(move || {
                    let mut conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
                    let mut buf = [0u8; 4096];
                    if tls.read(&mut buf).is_ok() {
                        let _ = tls.write_all(OK.as_bytes());
                        let _ = tls.flush();
                    }
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn https_with_ca_file_and_resolve_reports_cert_days() {
        let dir = tempfile::tempdir().unwrap();
        make_certs(dir.path(), 30);
        let addr = serve_tls(dir.path());
        let mut c = check("https://opsctl.test/health");
        c.resolve = Some(addr.to_string());
        c.ca_file = Some(dir.path().join("ca.pem").to_str().unwrap().into());
        c.expect_body = Some("ok".into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert_eq!(r.error, None);
        assert_eq!(r.status, Status::Up);
        let days = r.cert_days_left.unwrap();
        assert!((days - 30.0).abs() <= 1.0, "{days}");

        // A certificate with 5 days left is critical under the default 7-day threshold.
        let dir5 = tempfile::tempdir().unwrap();
        make_certs(dir5.path(), 5);
        let addr5 = serve_tls(dir5.path());
        c.resolve = Some(addr5.to_string());
        c.ca_file = Some(dir5.path().join("ca.pem").to_str().unwrap().into());
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert_eq!(r.status, Status::Critical);
        assert!((r.cert_days_left.unwrap() - 5.0).abs() <= 1.0);
        assert_eq!(r.error, None, "the figure says why");

        // Without the CA the certificate is not trusted.
        c.ca_file = None;
        let r = run_http_check(&c, &Thresholds::default()).await;
        assert_eq!(r.status, Status::Critical);
        assert_eq!(
            r.error.as_deref(),
            Some("certificate not trusted (unknown issuer)")
        );
    }

    #[test]
    fn days_left_from_der() {
        let dir = tempfile::tempdir().unwrap();
        make_certs(dir.path(), 10);
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let der = CertificateDer::from_pem_file(dir.path().join("leaf.pem")).unwrap();
        let days = cert_days_left(&der, unix_now()).unwrap();
        assert!((days - 10.0).abs() <= 1.0);
        assert_eq!(cert_days_left(b"garbage", 0), None);
    }
}
