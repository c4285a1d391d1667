//! MariaDB (10.5+) and MySQL (8): performance_schema's statement digests, the
//! processlist with InnoDB transactions and lock waits, EXPLAIN FORMAT=JSON, and
//! KILL QUERY / KILL.

use sqlx::{Connection, MySqlConnection, Row};

use super::error::DbError;
use super::model::{Session, StatementTotals};
use crate::config::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub server_version: String,
    pub engine: Engine,
    pub performance_schema: bool,
}

pub async fn capabilities(c: &mut MySqlConnection) -> Result<Capabilities, DbError> {
    let row = sqlx::query("SELECT CAST(VERSION() AS CHAR), CAST(@@performance_schema AS SIGNED)")
        .fetch_one(&mut *c)
        .await
        .map_err(|e| DbError::query("reading the server's version", e))?;
    let version: String = row.try_get(0).unwrap_or_default();
    let engine = if version.to_ascii_lowercase().contains("mariadb") {
        Engine::Mariadb
    } else {
        Engine::Mysql
    };
    Ok(Capabilities {
        server_version: version,
        engine,
        performance_schema: row.try_get::<i64, _>(1).unwrap_or(0) == 1,
    })
}

/// performance_schema timers count picoseconds.
const PS_PER_MS: f64 = 1e9;

pub async fn statements(
    c: &mut MySqlConnection,
    caps: &Capabilities,
) -> Result<Vec<StatementTotals>, DbError> {
    if !caps.performance_schema {
        return Err(DbError::PerformanceSchemaOff);
    }
    let rows = sqlx::query(
        "SELECT CAST(DIGEST AS CHAR), CAST(DIGEST_TEXT AS CHAR), CAST(SCHEMA_NAME AS CHAR), \
         CAST(COUNT_STAR AS SIGNED), CAST(SUM_TIMER_WAIT AS DOUBLE), CAST(SUM_ROWS_SENT AS SIGNED) \
         FROM performance_schema.events_statements_summary_by_digest \
         WHERE DIGEST IS NOT NULL",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(|e| DbError::query("reading performance_schema statement digests", e))?;
    Ok(rows
        .iter()
        .map(|r| StatementTotals {
            queryid: r
                .try_get::<Option<String>, _>(0)
                .ok()
                .flatten()
                .unwrap_or_default(),
            query: r
                .try_get::<Option<String>, _>(1)
                .ok()
                .flatten()
                .unwrap_or_default(),
            database: r.try_get(2).ok().flatten(),
            user: None,
            calls: r.try_get::<i64, _>(3).unwrap_or(0).max(0) as u64,
            total_ms: r.try_get::<f64, _>(4).unwrap_or(0.0) / PS_PER_MS,
            rows: r.try_get::<i64, _>(5).unwrap_or(0).max(0) as u64,
            shared_hit: None,
            shared_read: None,
        })
        .collect())
}

/// Client threads (not ours), with their transaction's age and who blocks them.
pub async fn activity(c: &mut MySqlConnection, engine: Engine) -> Result<Vec<Session>, DbError> {
    let rows = sqlx::query(
        "SELECT CAST(p.ID AS SIGNED), CAST(p.USER AS CHAR), CAST(p.DB AS CHAR), CAST(p.HOST AS CHAR), \
         CAST(p.COMMAND AS CHAR), CAST(p.STATE AS CHAR), CAST(p.TIME AS DOUBLE), CAST(p.INFO AS CHAR), \
         CAST(TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6 AS DOUBLE) \
         FROM information_schema.PROCESSLIST p \
         LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID \
         WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump') \
         ORDER BY p.TIME DESC",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(|e| DbError::query("reading the processlist", e))?;
    let waits = lock_waits(c, engine).await.unwrap_or_default();
    Ok(rows
        .iter()
        .map(|r| {
            let pid: i64 = r.try_get(0).unwrap_or(0);
            let command: Option<String> = r.try_get(4).ok().flatten();
            let xact: Option<f64> = r.try_get(8).ok().flatten();
            let state = match (command.as_deref(), xact) {
                (Some("Sleep"), Some(_)) => Some("idle in transaction".to_string()),
                (Some("Sleep"), None) => Some("idle".to_string()),
                (Some("Query"), _) => Some("active".to_string()),
                (other, _) => other.map(str::to_lowercase),
            };
            let running = state.as_deref() == Some("active");
            Session {
                pid,
                user: r.try_get(1).ok().flatten(),
                database: r.try_get(2).ok().flatten(),
                client: r.try_get(3).ok().flatten(),
                state,
                wait_event: r
                    .try_get::<Option<String>, _>(5)
                    .ok()
                    .flatten()
                    .filter(|s| !s.is_empty()),
                xact_age_s: xact,
                query_age_s: if running {
                    r.try_get(6).ok().flatten()
                } else {
                    None
                },
                query: r.try_get(7).ok().flatten(),
                blocked_by: waits
                    .iter()
                    .filter(|(w, _)| *w == pid)
                    .map(|(_, b)| *b)
                    .collect(),
            }
        })
        .collect())
}

/// (waiting thread, blocking thread) pairs: MariaDB's INNODB_LOCK_WAITS, MySQL 8's
/// performance_schema.data_lock_waits.
async fn lock_waits(c: &mut MySqlConnection, engine: Engine) -> Result<Vec<(i64, i64)>, DbError> {
    let sql = match engine {
        Engine::Mysql => {
            "SELECT CAST(r.trx_mysql_thread_id AS SIGNED), CAST(b.trx_mysql_thread_id AS SIGNED) \
             FROM performance_schema.data_lock_waits w \
             JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID \
             JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID"
        }
        _ => {
            "SELECT CAST(r.trx_mysql_thread_id AS SIGNED), CAST(b.trx_mysql_thread_id AS SIGNED) \
             FROM information_schema.INNODB_LOCK_WAITS w \
             JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id \
             JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id"
        }
    };
    let rows = sqlx::query(sql)
        .fetch_all(&mut *c)
        .await
        .map_err(|e| DbError::query("reading InnoDB lock waits", e))?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
        .collect())
}

pub async fn session_query(c: &mut MySqlConnection, id: i64) -> Result<Option<String>, DbError> {
    let row =
        sqlx::query("SELECT CAST(INFO AS CHAR) FROM information_schema.PROCESSLIST WHERE ID = ?")
            .bind(id)
            .fetch_optional(&mut *c)
            .await
            .map_err(|e| DbError::query("reading the processlist", e))?;
    Ok(row.and_then(|r| r.try_get(0).ok()))
}

/// `EXPLAIN FORMAT=JSON`; with `analyze`, MariaDB's `ANALYZE FORMAT=JSON` (which
/// runs the statement) inside a read-only transaction that is rolled back.
pub async fn explain(
    c: &mut MySqlConnection,
    engine: Engine,
    sql: &str,
    analyze: bool,
) -> Result<String, DbError> {
    let stmt = match (analyze, engine) {
        (true, Engine::Mysql) => format!("EXPLAIN ANALYZE FORMAT=JSON {sql}"),
        (true, _) => format!("ANALYZE FORMAT=JSON {sql}"),
        (false, _) => format!("EXPLAIN FORMAT=JSON {sql}"),
    };
    // The statement runs (with ANALYZE) inside a read-only transaction that is
    // rolled back: it can change nothing.
    sqlx::query("SET SESSION TRANSACTION READ ONLY")
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::query("making the session's transactions read-only", e))?;
    // Planning waits for the tables' metadata locks: bounded, so a plan asked
    // for in the middle of a lock chain does not join it. Restored after.
    sqlx::query(
        "SET @opsctl_lock_wait = @@session.lock_wait_timeout, SESSION lock_wait_timeout = ?",
    )
    .bind(super::error::EXPLAIN_LOCK_WAIT_S)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::query("bounding lock waits", e))?;
    let result = async {
        let mut tx = c.begin().await?;
        let row = sqlx::query(&stmt).fetch_one(&mut *tx).await;
        let _ = tx.rollback().await;
        row
    }
    .await;
    let _ = sqlx::query("SET SESSION TRANSACTION READ WRITE")
        .execute(&mut *c)
        .await;
    let _ = sqlx::query("SET SESSION lock_wait_timeout = @opsctl_lock_wait")
        .execute(&mut *c)
        .await;
    let row = result.map_err(|e| DbError::query("EXPLAIN", e))?;
    row.try_get::<String, _>(0)
        .map_err(|e| DbError::query("reading EXPLAIN's output", e))
}

pub async fn signal(c: &mut MySqlConnection, id: i64, kill: bool) -> Result<bool, DbError> {
    // KILL may be prepared; the id is bound, not pasted.
    let sql = if kill { "KILL ?" } else { "KILL QUERY ?" };
    let done = sqlx::query(sql).bind(id).execute(&mut *c).await;
    match done {
        Ok(_) => Ok(true),
        // ER_NO_SUCH_THREAD: the session is gone.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("1094") => Ok(false),
        Err(e) => Err(DbError::query(if kill { "KILL" } else { "KILL QUERY" }, e)),
    }
}

/// `KILL QUERY id` or `KILL id` (the id is a number: nothing else reaches the text).
pub fn signal_sql(id: i64, kill: bool) -> String {
    if kill {
        format!("KILL {id}")
    } else {
        format!("KILL QUERY {id}")
    }
}

/// The estimated row counts (`information_schema.tables.table_rows`) of the named
/// tables of the current database, for the plan view's big-table rule.
pub async fn table_rows(
    c: &mut MySqlConnection,
    tables: &[String],
) -> Result<Vec<(String, f64)>, DbError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; tables.len()].join(", ");
    // Only placeholders are pasted: the names themselves travel as binds.
    let sql = format!(
        "SELECT table_name, CAST(table_rows AS DOUBLE) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name IN ({marks})"
    );
    let mut q = sqlx::query(&sql);
    for t in tables {
        q = q.bind(t);
    }
    let rows = q
        .fetch_all(&mut *c)
        .await
        .map_err(|e| DbError::query("reading information_schema.tables", e))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.try_get(0).ok()?;
            let n: Option<f64> = r.try_get(1).ok()?;
            Some((name, n?))
        })
        .collect())
}
