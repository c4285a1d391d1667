//! Which database to reach and how: a profile `[[databases]]` entry, a URL
//! (`--url`, `DATABASE_URL`) or libpq's environment (`PGHOST`, `PGUSER`, ...).
//! A password never comes from the profile; a URL may carry one (it is
//! registered as a secret at once, so nothing prints it).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{DatabaseEntry, Engine, TlsMode, secrets};

/// Where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    Env(String),
    File(String),
    /// A libpq passfile (`host:port:db:user:password`), matched on the target.
    Passfile(PathBuf),
    /// A MySQL option file's `[client]` (or `[mysql]`) password.
    OptionFile(PathBuf),
    /// Given in a URL (already registered as a secret).
    Given(String),
}

/// Everything needed to connect, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DbTarget {
    /// What the user calls it (`--db` name, or the URL's host/db).
    pub name: String,
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: Option<String>,
    pub password: PasswordSource,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    /// A profile host to tunnel through.
    pub via: Option<String>,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
}

/// A database spec that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no database named `{name}` in the profile{}", known_list(known))]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "which database? name one with --db NAME (the profile's [[databases]]) or --url postgres://... | mysql://..., or set DATABASE_URL"
    )]
    NoneGiven,
    #[error("--url {url}: {why}")]
    BadUrl { url: String, why: String },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it has no [[databases]])".into()
    } else {
        format!(" (have: {})", known.join(", "))
    }
}

fn secs(v: f64, default: f64) -> Duration {
    Duration::from_secs_f64(if v.is_finite() && v > 0.0 { v } else { default })
}

impl DbTarget {
    /// The target of a profile entry.
    pub fn from_entry(e: &DatabaseEntry) -> DbTarget {
        let password = match (
            &e.password_env,
            &e.password_file,
            &e.passfile,
            &e.option_file,
        ) {
            (Some(v), _, _, _) => PasswordSource::Env(v.clone()),
            (None, Some(f), _, _) => PasswordSource::File(f.clone()),
            (None, None, Some(p), _) => {
                PasswordSource::Passfile(crate::config::load::expand_tilde(p))
            }
            (None, None, None, Some(o)) => {
                PasswordSource::OptionFile(crate::config::load::expand_tilde(o))
            }
            (None, None, None, None) => default_password_source(e.engine),
        };
        DbTarget {
            name: e.name.clone(),
            engine: e.engine,
            host: e.host.clone(),
            port: e.port.unwrap_or_else(|| e.engine.default_port()),
            user: e.user.clone(),
            database: e.database.clone(),
            password,
            tls: e.tls,
            ca_file: e.ca_file.as_deref().map(crate::config::load::expand_tilde),
            via: e.via.clone(),
            connect_timeout: secs(e.connect_timeout_secs, 5.0),
            query_timeout: secs(e.query_timeout_secs, 10.0),
        }
    }

    /// `host:port/db` as shown in tables and errors (never a password).
    pub fn describe(&self) -> String {
        let via = self
            .via
            .as_ref()
            .map(|v| format!(" via {v}"))
            .unwrap_or_default();
        match &self.database {
            Some(db) => format!(
                "{} {}@{}:{}/{db}{via}",
                self.engine.as_str(),
                self.user,
                self.host,
                self.port
            ),
            None => format!(
                "{} {}@{}:{}{via}",
                self.engine.as_str(),
                self.user,
                self.host,
                self.port
            ),
        }
    }
}

/// libpq's passfile (`PGPASSFILE`, else `~/.pgpass`) or MySQL's `~/.my.cnf`.
fn default_password_source(engine: Engine) -> PasswordSource {
    match engine {
        Engine::Postgresql => match std::env::var_os("PGPASSFILE") {
            Some(f) if !f.is_empty() => PasswordSource::Passfile(PathBuf::from(f)),
            _ => match crate::config::load::home_dir() {
                Some(h) => PasswordSource::Passfile(h.join(".pgpass")),
                None => PasswordSource::None,
            },
        },
        Engine::Mariadb | Engine::Mysql => match crate::config::load::home_dir() {
            Some(h) => PasswordSource::OptionFile(h.join(".my.cnf")),
            None => PasswordSource::None,
        },
    }
}

/// Picks the database: `--db NAME` in the profile, else `--url`, else
/// `DATABASE_URL`, else libpq's environment (`PGHOST`/`PGDATABASE`), else the
/// profile's only database.
pub fn choose(
    entries: &[DatabaseEntry],
    db: Option<&str>,
    url: Option<&str>,
) -> Result<DbTarget, TargetError> {
    if let Some(name) = db {
        return entries
            .iter()
            .find(|e| e.name == name)
            .map(DbTarget::from_entry)
            .ok_or_else(|| TargetError::Unknown {
                name: name.to_string(),
                known: entries.iter().map(|e| e.name.clone()).collect(),
            });
    }
    if let Some(u) = url {
        return parse_url(u);
    }
    if let Ok(u) = std::env::var("DATABASE_URL") {
        if !u.trim().is_empty() {
            return parse_url(&u);
        }
    }
    if let Some(t) = from_libpq_env() {
        return Ok(t);
    }
    match entries {
        [only] => Ok(DbTarget::from_entry(only)),
        _ => Err(TargetError::NoneGiven),
    }
}

/// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGPASSFILE`: used when
/// `PGHOST` or `PGDATABASE` is set.
pub fn from_libpq_env() -> Option<DbTarget> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let host = var("PGHOST");
    let database = var("PGDATABASE");
    if host.is_none() && database.is_none() {
        return None;
    }
    let user = var("PGUSER")
        .or_else(|| var("USER"))
        .unwrap_or_else(|| "postgres".into());
    let password = match var("PGPASSWORD") {
        Some(p) => {
            secrets::register(&p);
            PasswordSource::Env("PGPASSWORD".into())
        }
        None => default_password_source(Engine::Postgresql),
    };
    let host = host.unwrap_or_else(|| "localhost".into());
    Some(DbTarget {
        name: format!("{host}/{}", database.clone().unwrap_or_default()),
        engine: Engine::Postgresql,
        port: var("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(5432),
        host,
        user,
        database,
        password,
        tls: TlsMode::Prefer,
        ca_file: None,
        via: None,
        connect_timeout: Duration::from_secs(5),
        query_timeout: Duration::from_secs(10),
    })
}

/// `postgres://user:pass@host:port/db?sslmode=...` or `mysql://` / `mariadb://`.
pub fn parse_url(url: &str) -> Result<DbTarget, TargetError> {
    let shown = secrets::redact_url(url);
    let bad = |why: &str| TargetError::BadUrl {
        url: shown.clone(),
        why: why.to_string(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let engine = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Engine::Postgresql,
        "mysql" => Engine::Mysql,
        "mariadb" => Engine::Mariadb,
        other => {
            return Err(bad(&format!(
                "unknown scheme `{other}` (use postgres://, mysql:// or mariadb://)"
            )));
        }
    };
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pw)) => (Some(decode(user)), Some(decode(pw))),
            None => (Some(decode(u)), None),
        },
        None => (None, None),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, rest) = v6.split_once(']').ok_or_else(|| bad("`[` without `]`"))?;
        (h.to_string(), rest.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("the port is not 1-65535"))?,
        None => engine.default_port(),
    };
    let mut tls = TlsMode::Prefer;
    let mut ca_file = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" | "ssl-mode" => {
                tls = match v.to_ascii_lowercase().as_str() {
                    "disable" | "disabled" => TlsMode::Disable,
                    "prefer" | "preferred" | "allow" => TlsMode::Prefer,
                    "require" | "required" => TlsMode::Require,
                    "verify-ca" | "verify_ca" => TlsMode::VerifyCa,
                    "verify-full" | "verify_identity" => TlsMode::VerifyFull,
                    other => return Err(bad(&format!("unknown sslmode `{other}`"))),
                }
            }
            "sslrootcert" | "ssl-ca" => ca_file = Some(PathBuf::from(decode(v))),
            _ => {}
        }
    }
    let password = match password {
        Some(p) => {
            secrets::register(&p);
            PasswordSource::Given(p)
        }
        None => default_password_source(engine),
    };
    let database = path.map(decode).filter(|d| !d.is_empty());
    let user = user
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| match engine {
            Engine::Postgresql => std::env::var("USER").unwrap_or_else(|_| "postgres".into()),
            _ => "root".into(),
        });
    Ok(DbTarget {
        name: match &database {
            Some(db) => format!("{host}/{db}"),
            None => host.clone(),
        },
        engine,
        host,
        port,
        user,
        database,
        password,
        tls,
        ca_file,
        via: None,
        connect_timeout: Duration::from_secs(5),
        query_timeout: Duration::from_secs(10),
    })
}

/// Percent-decoding of a URL part.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_both_engines() {
        let t =
            parse_url("postgres://opsctl:s3cr%40t!@127.0.0.4:5433/shop?sslmode=require").unwrap();
        assert_eq!(t.engine, Engine::Postgresql);
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("127.0.0.4", 5433, "opsctl")
        );
        assert_eq!(t.database.as_deref(), Some("shop"));
        assert_eq!(t.password, PasswordSource::Given("s3cr@t!".into()));
        assert_eq!(t.tls, TlsMode::Require);
        assert!(!t.describe().contains("s3cr"), "{}", t.describe());
        let m = parse_url("mariadb://shop@db1/shop_reports").unwrap();
        assert_eq!((m.engine, m.port), (Engine::Mariadb, 3306));
        let v6 = parse_url("mysql://u@[::1]:3307").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 3307));
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for (url, why) in [
            ("redis://u:pw9999@h", "unknown scheme"),
            ("postgres://u:pw9999@:5432/x", "no host"),
            ("postgres://u:pw9999@h:0/x", "1-65535"),
            ("postgres://u:pw9999@h/x?sslmode=maybe", "sslmode"),
            ("nothing", "no scheme"),
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("pw9999"), "{e}");
        }
    }

    #[test]
    fn choosing_by_name_lists_what_there_is() {
        let e = choose(&[], Some("shop"), None).unwrap_err();
        assert!(e.to_string().contains("has no [[databases]]"), "{e}");
    }
}
