//! What goes wrong reaching a database, said so the reader knows what to do: the
//! grant to add, the extension to create, the setting to change. No message ever
//! carries a password (connections are built from parts, never from a URL with
//! one, and every message is scrubbed).

use std::time::Duration;

use super::password::PasswordError;
use super::target::TargetError;
use crate::config::secrets;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(
        "cannot reach {target}: connection refused (is the server running, listening on that address?)"
    )]
    Refused { target: String },
    #[error("cannot reach {target}: {why}")]
    Unreachable { target: String, why: String },
    #[error("{what} on {target} timed out after {}", crate::remote::seconds(*after))]
    Timeout {
        target: String,
        what: String,
        after: Duration,
    },
    #[error("authentication failed for {user} on {target}: {why}")]
    AuthFailed {
        target: String,
        user: String,
        why: String,
    },
    #[error("database `{database}` does not exist on {target}")]
    DatabaseMissing { target: String, database: String },
    #[error("TLS with {target}: {why}")]
    Tls { target: String, why: String },
    #[error(
        "pg_stat_statements is not loaded: add it to shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'pg_stat_statements') and restart PostgreSQL"
    )]
    PgssNotPreloaded,
    #[error(
        "pg_stat_statements is loaded but not created in this database: run CREATE EXTENSION pg_stat_statements;"
    )]
    PgssNotCreated,
    #[error(
        "performance_schema is off: set performance_schema = ON in the server's configuration ([mysqld]) and restart it"
    )]
    PerformanceSchemaOff,
    #[error("{what}: permission denied; {grant}")]
    Privilege { what: String, grant: String },
    #[error("{what}: {why}")]
    Query { what: String, why: String },
    #[error("the SSH tunnel through {via}: {why}")]
    Tunnel { via: String, why: String },
    #[error("{0}")]
    Refusal(String),
}

impl DbError {
    /// A failed query, read for the problems that have a known fix.
    pub fn query(what: &str, e: sqlx::Error) -> DbError {
        if let sqlx::Error::Database(db) = &e {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let message = db.message().to_string();
            // PostgreSQL: 42501 insufficient_privilege; MySQL: 1142/1227/1044.
            if code == "42501" || code == "1142" || code == "1227" || code == "1044" {
                return DbError::Privilege {
                    what: what.to_string(),
                    grant: grant_hint(what, &message),
                };
            }
            if code == "55000" && message.contains("pg_stat_statements") {
                return DbError::PgssNotPreloaded;
            }
            if code == "42P01" && message.contains("pg_stat_statements") {
                return DbError::PgssNotCreated;
            }
            // PostgreSQL 55P03 lock_not_available; MySQL/MariaDB 1205 lock wait timeout.
            if code == "55P03" || code == "1205" {
                return DbError::Query {
                    what: what.to_string(),
                    why: format!(
                        "a table it needs is locked by another session (opsctl gave up after \
                         {} s rather than queue behind it; the sessions' blocking tree shows who \
                         holds the lock)",
                        EXPLAIN_LOCK_WAIT_S
                    ),
                };
            }
        }
        DbError::Query {
            what: what.to_string(),
            why: secrets::scrub(&describe(&e)).into_owned(),
        }
    }
}

/// How long an EXPLAIN waits for a lock before it gives up: a plan asked for in
/// the middle of a lock chain must not join the queue it is looking at.
pub const EXPLAIN_LOCK_WAIT_S: u32 = 2;

fn grant_hint(what: &str, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if what.contains("performance_schema") {
        "GRANT SELECT ON performance_schema.* TO the user".into()
    } else if what.contains("processlist") || m.contains("process") {
        "GRANT PROCESS ON *.* TO the user (to see other users' queries)".into()
    } else if what.contains("cancel") || what.contains("terminat") {
        "grant pg_signal_backend: GRANT pg_signal_backend TO the user".into()
    } else if what.contains("KILL") {
        "the user needs CONNECTION ADMIN (MariaDB: GRANT CONNECTION ADMIN ON *.* TO ...) or SUPER"
            .into()
    } else if what.contains("pg_stat") {
        "grant pg_read_all_stats (or pg_monitor): GRANT pg_monitor TO the user".into()
    } else {
        format!("the server said: {message}")
    }
}

/// The innermost words of a sqlx error.
pub fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} ({code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::Io(io) => io.to_string(),
        other => {
            let mut text = other.to_string();
            let mut cur: Option<&(dyn std::error::Error + 'static)> =
                std::error::Error::source(other);
            while let Some(s) = cur {
                text = s.to_string();
                cur = s.source();
            }
            text
        }
    }
}
