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

/// A boxed database future. Boxed where lifetimes are concrete: sqlx's executors
/// otherwise defeat the compiler's proof that a task holding it is `Send`.
type DbFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, DbError>> + Send + 'a>>;

enum Caps {
    Pg(postgres::Capabilities),
    My(mysql::Capabilities),
}

pub struct Source {
    db: Connected,
    caps: Caps,
    previous: Option<Snapshot>,
    started: Instant,
    /// PostgreSQL query texts by queryid: a refresh reads only new ones.
    texts: std::collections::HashMap<i64, String>,
    classes: rates::Classes,
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
            texts: std::collections::HashMap::new(),
            classes: rates::Classes::default(),
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
            let (caps, conn, texts) = (&self.caps, &mut self.db.conn, &mut self.texts);
            Connected::bounded(&target, "reading statements and sessions", async move {
                Ok(match (caps, conn) {
                    (Caps::Pg(caps), Conn::Pg(c)) => (
                        postgres::statements(c, caps, texts).await?,
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
        let statements = rates::statements(engine, self.previous.as_ref(), &now, &mut self.classes);
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

    /// EXPLAIN's JSON for a statement [`explain_guard`] let through.
    ///
    /// Boxed here, where its lifetimes are concrete: sqlx's executors otherwise
    /// defeat the compiler's proof that a task holding this future is `Send`.
    pub fn explain_json<'a>(
        &'a mut self,
        sql: &'a Explainable,
        analyze: bool,
    ) -> DbFuture<'a, String> {
        Box::pin(async move {
            let limit = self.db.target.query_timeout;
            let engine = self.engine();
            let version = match &self.caps {
                Caps::Pg(c) => c.version_num,
                Caps::My(_) => 0,
            };
            let work: DbFuture<'_, String> = match &mut self.db.conn {
                Conn::Pg(c) if sql.generic => {
                    Box::pin(postgres::explain_generic(c, &sql.sql, version))
                }
                Conn::Pg(c) => Box::pin(postgres::explain(c, &sql.sql, analyze)),
                Conn::My(c) => Box::pin(mysql::explain(c, engine, &sql.sql, analyze)),
            };
            match tokio::time::timeout(limit, work).await {
                Ok(r) => r,
                Err(_) => Err(DbError::Timeout {
                    target: self.db.target.describe(),
                    what: "EXPLAIN".into(),
                    after: limit,
                }),
            }
        })
    }

    /// The plan of a statement [`explain_guard`] let through: the server's JSON
    /// and the tree read from it, its full scans given their tables' sizes so a
    /// plain EXPLAIN of a big table is flagged too. The sizes are best effort: a
    /// plan is still shown when they cannot be read.
    pub fn plan<'a>(&'a mut self, sql: &'a Explainable, analyze: bool) -> DbFuture<'a, Plan> {
        Box::pin(async move {
            let json = self.explain_json(sql, analyze).await?;
            let engine = self.engine();
            let tree = match super::explain::parse(engine, &json) {
                Ok(mut tree) => {
                    let tables = tree.relations();
                    if !tables.is_empty() {
                        let sizes = self.table_rows(tables).await.unwrap_or_default();
                        tree.set_table_rows(|t| {
                            sizes.iter().find(|(n, _)| n == t).map(|(_, r)| *r)
                        });
                    }
                    Ok(tree)
                }
                Err(e) => Err(e),
            };
            Ok(Plan { json, tree })
        })
    }

    fn table_rows(&mut self, tables: Vec<String>) -> DbFuture<'_, Vec<(String, f64)>> {
        Box::pin(async move {
            let limit = self.db.target.query_timeout;
            let work: DbFuture<'_, Vec<(String, f64)>> = match &mut self.db.conn {
                Conn::Pg(c) => Box::pin(postgres::table_rows(c, &tables)),
                Conn::My(c) => Box::pin(mysql::table_rows(c, &tables)),
            };
            match tokio::time::timeout(limit, work).await {
                Ok(r) => r,
                Err(_) => Err(self.timed_out("reading table sizes")),
            }
        })
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
        signal_sql(self.engine(), pid, terminate)
    }
}

/// The SQL that cancels (or with `terminate` ends) session `pid` on `engine`.
pub fn signal_sql(engine: Engine, pid: i64, terminate: bool) -> String {
    match engine {
        Engine::Postgresql => postgres::signal_sql(pid, terminate),
        _ => mysql::signal_sql(pid, terminate),
    }
}

/// An EXPLAIN as the server gave it and as opsctl read it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub json: String,
    pub tree: Result<super::explain::PlanTree, super::explain::ExplainError>,
}

impl Plan {
    /// The plan as text: the tree, or the server's JSON pretty-printed when it
    /// could not be read (with the reason first).
    pub fn render(&self) -> String {
        match &self.tree {
            Ok(tree) => super::explain::render(tree),
            Err(e) => {
                let pretty = serde_json::from_str::<serde_json::Value>(&self.json)
                    .ok()
                    .and_then(|v| serde_json::to_string_pretty(&v).ok())
                    .unwrap_or_else(|| self.json.clone());
                format!(
                    "(opsctl could not read this plan: {e}; the server's JSON follows)\n{pretty}"
                )
            }
        }
    }
}

/// A statement EXPLAIN may be given, as [`explain_guard`] let it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explainable {
    pub sql: String,
    /// Normalized PostgreSQL text (`$1`): planned as a generic plan, the plan the
    /// server uses when it does not know the values.
    pub generic: bool,
}

/// Whether `sql` may go to EXPLAIN: one statement (no `;` but a trailing one);
/// normalized text (`$1`, `?`) only on PostgreSQL and without `analyze` (a
/// generic plan); and with `analyze` one that only reads.
pub fn explain_guard(engine: Engine, sql: &str, analyze: bool) -> Result<Explainable, DbError> {
    let sql = sql.trim().trim_end_matches(';').trim();
    if sql.is_empty() {
        return Err(DbError::Refusal("nothing to explain".into()));
    }
    if sql.contains(';') {
        return Err(DbError::Refusal(
            "EXPLAIN takes one statement; this text has a `;` inside".into(),
        ));
    }
    let generic = looks_normalized(engine, sql);
    if generic && (analyze || engine != Engine::Postgresql) {
        let why = if analyze {
            "ANALYZE runs the statement, and it needs real values"
        } else {
            "MariaDB/MySQL cannot plan a statement without its values"
        };
        return Err(DbError::Refusal(format!(
            "the statement is normalized (its literals are placeholders such as $1 or ?): \
             {why}; give a literal example (the digest of the slow log has one for each \
             class: opsctl digest), or explain a session running it"
        )));
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
    Ok(Explainable {
        sql: sql.to_string(),
        generic,
    })
}

/// The highest `$N` placeholder outside quotes (how many parameters a generic
/// plan must be given).
pub fn placeholder_count(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut quote: Option<u8> = None;
    let mut max = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'$' => {
                let digits: String = b[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .map(|&d| d as char)
                    .collect();
                if let Ok(n) = digits.parse::<usize>() {
                    max = max.max(n);
                }
                i += digits.len();
            }
            None => {}
        }
        i += 1;
    }
    max
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
        let ok = explain_guard(pg, " SELECT * FROM p WHERE id = 42; ", false).unwrap();
        assert_eq!(ok.sql, "SELECT * FROM p WHERE id = 42");
        assert!(!ok.generic);
        assert!(explain_guard(pg, "SELECT 1; DROP TABLE p", false).is_err());
        assert!(
            !explain_guard(pg, "SELECT '$1 is text'", false)
                .unwrap()
                .generic
        );
        let e = explain_guard(pg, "UPDATE p SET x = 1", true).unwrap_err();
        assert!(e.to_string().contains("only read-only"), "{e}");
        assert!(explain_guard(pg, "UPDATE p SET x = 1", false).is_ok());
        let my = Engine::Mariadb;
        let e = explain_guard(my, "SELECT * FROM t WHERE a = ?", false).unwrap_err();
        assert!(e.to_string().contains("without its values"), "{e}");
        assert!(explain_guard(my, "SELECT '?' FROM t", false).is_ok());
    }

    #[test]
    fn normalized_postgresql_text_gets_a_generic_plan_but_never_analyze() {
        let pg = Engine::Postgresql;
        let g = explain_guard(pg, "SELECT * FROM p WHERE id = $1 AND n > $2", false).unwrap();
        assert!(g.generic);
        let e = explain_guard(pg, "SELECT * FROM p WHERE id = $1", true).unwrap_err();
        assert!(e.to_string().contains("needs real values"), "{e}");
    }

    #[test]
    fn placeholders_are_counted_outside_quotes() {
        assert_eq!(
            placeholder_count("SELECT $1, $12, '$40' FROM t WHERE a = $3"),
            12
        );
        assert_eq!(placeholder_count("SELECT 1"), 0);
        assert_eq!(placeholder_count("SELECT $"), 0);
    }
}
