//! One database, read again and again: each refresh takes a snapshot of the
//! statement counters and the sessions, and turns the counters into rates
//! against the previous snapshot. What a refresh costs the server is two or
//! three catalog queries of its own.

use std::sync::Arc;
use std::time::Instant;

use super::connect::{Conn, Connected, connect};
use super::error::DbError;
use super::model::{Report, Session, Snapshot};
use super::target::DbTarget;
use super::{mysql, postgres, rates};
use crate::config::Engine;
use crate::remote::Remote;

enum Caps {
    Pg(postgres::Capabilities),
    My(mysql::Capabilities),
}

pub struct Source {
    db: Connected,
    caps: Caps,
    previous: Option<Snapshot>,
    started: Instant,
}

impl Source {
    /// Connects and learns what the server can tell.
    pub async fn open(t: &DbTarget, via: Option<Arc<dyn Remote>>) -> Result<Source, DbError> {
        let mut db = connect(t, via).await?;
        let target = db.target.clone();
        let caps = Connected::bounded(&target, "reading the server's version", async {
            Ok(match &mut db.conn {
                Conn::Pg(c) => Caps::Pg(postgres::capabilities(c).await?),
                Conn::My(c) => Caps::My(mysql::capabilities(c).await?),
            })
        })
        .await?;
        Ok(Source {
            db,
            caps,
            previous: None,
            started: Instant::now(),
        })
    }

    pub fn target(&self) -> &DbTarget {
        &self.db.target
    }

    pub fn engine(&self) -> Engine {
        match &self.caps {
            Caps::Pg(_) => Engine::Postgresql,
            Caps::My(c) => c.engine,
        }
    }

    pub fn server_version(&self) -> &str {
        match &self.caps {
            Caps::Pg(c) => &c.server_version,
            Caps::My(c) => &c.server_version,
        }
    }

    /// Statements (with rates against the last refresh) and sessions.
    pub async fn refresh(&mut self) -> Result<Report, DbError> {
        let target = self.db.target.clone();
        let at = self.started.elapsed().as_secs_f64();
        let engine = self.engine();
        let (statements, activity) = {
            let (caps, conn) = (&self.caps, &mut self.db.conn);
            Connected::bounded(&target, "reading statements and sessions", async move {
                Ok(match (caps, conn) {
                    (Caps::Pg(caps), Conn::Pg(c)) => (
                        postgres::statements(c, caps).await?,
                        postgres::activity(c).await?,
                    ),
                    (Caps::My(caps), Conn::My(c)) => (
                        mysql::statements(c, caps).await?,
                        mysql::activity(c, caps.engine).await?,
                    ),
                    _ => return Err(DbError::Refusal("engine mismatch".into())),
                })
            })
            .await?
        };
        let now = Snapshot { at, statements };
        let statements = rates::statements(engine, self.previous.as_ref(), &now);
        let interval_s = self.previous.as_ref().map(|p| at - p.at);
        self.previous = Some(now);
        Ok(Report {
            engine,
            server_version: self.server_version().to_string(),
            statements,
            activity,
            interval_s,
        })
    }

    fn timed_out(&self, what: &str) -> DbError {
        DbError::Timeout {
            target: self.db.target.describe(),
            what: what.to_string(),
            after: self.db.target.query_timeout,
        }
    }

    /// The sessions only (for a cancel's plan).
    pub async fn sessions(&mut self) -> Result<Vec<Session>, DbError> {
        let limit = self.db.target.query_timeout;
        let engine = self.engine();
        let work = async {
            match &mut self.db.conn {
                Conn::Pg(c) => postgres::activity(c).await,
                Conn::My(c) => mysql::activity(c, engine).await,
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out("reading sessions")),
        }
    }

    /// The query session `pid` runs now.
    pub async fn session_query(&mut self, pid: i64) -> Result<Option<String>, DbError> {
        let limit = self.db.target.query_timeout;
        let work = async {
            match &mut self.db.conn {
                Conn::Pg(c) => postgres::session_query(c, pid).await,
                Conn::My(c) => mysql::session_query(c, pid).await,
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out("reading a session's query")),
        }
    }

    /// EXPLAIN's JSON for `sql` (see [`explain_guard`] for what is let through).
    pub async fn explain_json(&mut self, sql: &str, analyze: bool) -> Result<String, DbError> {
        let limit = self.db.target.query_timeout;
        let engine = self.engine();
        let work = async {
            match &mut self.db.conn {
                Conn::Pg(c) => postgres::explain(c, sql, analyze).await,
                Conn::My(c) => mysql::explain(c, engine, sql, analyze).await,
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out("EXPLAIN")),
        }
    }

    /// Cancels the query of session `pid` (or ends the session with `terminate`).
    pub async fn signal(&mut self, pid: i64, terminate: bool) -> Result<bool, DbError> {
        let limit = self.db.target.query_timeout;
        let work = async {
            match &mut self.db.conn {
                Conn::Pg(c) => postgres::signal(c, pid, terminate).await,
                Conn::My(c) => mysql::signal(c, pid, terminate).await,
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out("signalling a session")),
        }
    }

    /// The SQL [`Source::signal`] runs, for plans.
    pub fn signal_sql(&self, pid: i64, terminate: bool) -> String {
        match self.engine() {
            Engine::Postgresql => postgres::signal_sql(pid, terminate),
            _ => mysql::signal_sql(pid, terminate),
        }
    }
}

/// Whether `sql` may go to EXPLAIN: one statement (no `;` but a trailing one), not
/// normalized (`$1`, `?`), and with `analyze` one that only reads.
pub fn explain_guard(engine: Engine, sql: &str, analyze: bool) -> Result<String, DbError> {
    let sql = sql.trim().trim_end_matches(';').trim();
    if sql.is_empty() {
        return Err(DbError::Refusal("nothing to explain".into()));
    }
    if sql.contains(';') {
        return Err(DbError::Refusal(
            "EXPLAIN takes one statement; this text has a `;` inside".into(),
        ));
    }
    if looks_normalized(engine, sql) {
        return Err(DbError::Refusal(
            "the statement is normalized (its literals are placeholders such as $1 or ?): \
             EXPLAIN needs real values; give a literal example (the digest of the slow log has \
             one for each class: opsctl digest)"
                .into(),
        ));
    }
    if analyze {
        let first = sql
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if !matches!(first.as_str(), "select" | "with" | "values" | "table") {
            return Err(DbError::Refusal(format!(
                "--analyze runs the statement: only read-only statements (SELECT, WITH, VALUES, TABLE), not {}",
                first.to_uppercase()
            )));
        }
    }
    Ok(sql.to_string())
}

/// A `$1` (PostgreSQL) or a bare `?` (MySQL digest text) outside quotes.
fn looks_normalized(engine: Engine, sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' || c == b'`' => quote = Some(c),
            None if engine == Engine::Postgresql
                && c == b'$'
                && b.get(i + 1).is_some_and(u8::is_ascii_digit) =>
            {
                return true;
            }
            None if engine != Engine::Postgresql && c == b'?' => return true,
            None => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_lets_through_one_literal_statement() {
        let pg = Engine::Postgresql;
        assert_eq!(
            explain_guard(pg, " SELECT * FROM p WHERE id = 42; ", false).unwrap(),
            "SELECT * FROM p WHERE id = 42"
        );
        assert!(explain_guard(pg, "SELECT 1; DROP TABLE p", false).is_err());
        let e = explain_guard(pg, "SELECT * FROM p WHERE id = $1", false).unwrap_err();
        assert!(e.to_string().contains("normalized"), "{e}");
        assert!(explain_guard(pg, "SELECT '$1 is text'", false).is_ok());
        let e = explain_guard(pg, "UPDATE p SET x = 1", true).unwrap_err();
        assert!(e.to_string().contains("only read-only"), "{e}");
        assert!(explain_guard(pg, "UPDATE p SET x = 1", false).is_ok());
        let my = Engine::Mariadb;
        assert!(explain_guard(my, "SELECT * FROM t WHERE a = ?", false).is_err());
        assert!(explain_guard(my, "SELECT '?' FROM t", false).is_ok());
    }
}
