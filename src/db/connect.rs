//! Connecting: directly, or through an SSH tunnel (the Remote's TCP forward)
//! via a profile host, so a database that listens only on its server's
//! loopback is reached through the bastion. Bounded by the target's connect
//! timeout; the password is handed over as a value, never in a URL.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, MySqlConnection, PgConnection};

use super::error::{DbError, describe};
use super::password::password_for;
use super::target::DbTarget;
use crate::config::{Engine, TlsMode};
use crate::remote::{Forward, Remote};

/// A live connection of either engine.
pub enum Conn {
    Pg(PgConnection),
    My(MySqlConnection),
}

/// A connection and what keeps it up (the tunnel, when there is one).
pub struct Connected {
    pub conn: Conn,
    pub target: DbTarget,
    _tunnel: Option<Forward>,
}

impl Connected {
    /// Runs `fut` bounded by the target's query timeout.
    pub async fn bounded<T>(
        target: &DbTarget,
        what: &str,
        fut: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        match tokio::time::timeout(target.query_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(DbError::Timeout {
                target: target.describe(),
                what: what.to_string(),
                after: target.query_timeout,
            }),
        }
    }
}

/// Connects to `t`; `via` is the remote of `t.via`'s host when the target names one.
pub async fn connect(t: &DbTarget, via: Option<Arc<dyn Remote>>) -> Result<Connected, DbError> {
    let password = password_for(t)?;
    let (host, port, tunnel) = match (&t.via, via) {
        (Some(name), Some(remote)) => {
            let fwd = remote
                .forward(&t.host, t.port)
                .await
                .map_err(|e| DbError::Tunnel {
                    via: name.clone(),
                    why: e.to_string(),
                })?;
            let addr = fwd.local_addr;
            (addr.ip().to_string(), addr.port(), Some(fwd))
        }
        (Some(name), None) => {
            return Err(DbError::Tunnel {
                via: name.clone(),
                why: "no such host in the profile".into(),
            });
        }
        (None, _) => (t.host.clone(), t.port, None),
    };
    let work = async {
        match t.engine {
            Engine::Postgresql => {
                let mut o = PgConnectOptions::new()
                    .host(&host)
                    .port(port)
                    .username(&t.user)
                    .application_name("opsctl")
                    .ssl_mode(match t.tls {
                        TlsMode::Disable => PgSslMode::Disable,
                        TlsMode::Prefer => PgSslMode::Prefer,
                        TlsMode::Require => PgSslMode::Require,
                        TlsMode::VerifyCa => PgSslMode::VerifyCa,
                        TlsMode::VerifyFull => PgSslMode::VerifyFull,
                    })
                    // The server stops a statement of ours that runs too long, too.
                    .options([(
                        "statement_timeout",
                        format!("{}", t.query_timeout.as_millis()),
                    )])
                    .disable_statement_logging();
                if let Some(p) = &password {
                    o = o.password(p);
                }
                if let Some(db) = &t.database {
                    o = o.database(db);
                }
                if let Some(ca) = &t.ca_file {
                    o = o.ssl_root_cert(ca);
                }
                PgConnection::connect_with(&o).await.map(Conn::Pg)
            }
            Engine::Mariadb | Engine::Mysql => {
                let mut o = MySqlConnectOptions::new()
                    .host(&host)
                    .port(port)
                    .username(&t.user)
                    .ssl_mode(match t.tls {
                        TlsMode::Disable => MySqlSslMode::Disabled,
                        TlsMode::Prefer => MySqlSslMode::Preferred,
                        TlsMode::Require => MySqlSslMode::Required,
                        TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
                        TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
                    })
                    .disable_statement_logging();
                if let Some(p) = &password {
                    o = o.password(p);
                }
                if let Some(db) = &t.database {
                    o = o.database(db);
                }
                if let Some(ca) = &t.ca_file {
                    o = o.ssl_ca(ca);
                }
                MySqlConnection::connect_with(&o).await.map(Conn::My)
            }
        }
    };
    let conn = match tokio::time::timeout(t.connect_timeout, work).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(connect_error(t, e)),
        Err(_) => {
            return Err(DbError::Timeout {
                target: t.describe(),
                what: "connecting".into(),
                after: t.connect_timeout,
            });
        }
    };
    Ok(Connected {
        conn,
        target: t.clone(),
        _tunnel: tunnel,
    })
}

/// A failed connection, said for what it is.
fn connect_error(t: &DbTarget, e: sqlx::Error) -> DbError {
    let target = t.describe();
    match &e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            DbError::Refused { target }
        }
        sqlx::Error::Io(io) => DbError::Unreachable {
            target,
            why: io.to_string(),
        },
        sqlx::Error::Tls(_) => DbError::Tls {
            target,
            why: describe(&e),
        },
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match code.as_str() {
                // PostgreSQL invalid_password / invalid_authorization_specification;
                // MySQL ER_ACCESS_DENIED_ERROR.
                "28P01" | "28000" | "1045" => DbError::AuthFailed {
                    target,
                    user: t.user.clone(),
                    why: db.message().to_string(),
                },
                // PostgreSQL invalid_catalog_name; MySQL ER_BAD_DB_ERROR.
                "3D000" | "1049" => DbError::DatabaseMissing {
                    target,
                    database: t.database.clone().unwrap_or_default(),
                },
                _ => DbError::Query {
                    what: format!("connecting to {target}"),
                    why: describe(&e),
                },
            }
        }
        _ => DbError::Unreachable {
            target,
            why: describe(&e),
        },
    }
}

/// A default that fits a connection's bound on a refresh.
pub const REFRESH_BUDGET: Duration = Duration::from_secs(10);
