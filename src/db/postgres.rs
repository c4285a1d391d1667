//! PostgreSQL: pg_stat_statements (1.8 to 1.11, PostgreSQL 13 to 17; older
//! versions name the time columns `total_time`), pg_stat_activity with
//! pg_blocking_pids, EXPLAIN, and cancel/terminate. Every query casts to plain
//! types, so one reader serves every version.

use std::collections::HashMap;

use sqlx::{Connection, PgConnection, Row};

use super::error::DbError;
use super::model::{Session, StatementTotals};

/// What the server is and whether it can tell us about statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub server_version: String,
    pub version_num: i64,
    /// pg_stat_statements' version when the extension exists in this database.
    pub pgss_version: Option<String>,
    pub pgss_preloaded: bool,
}

pub async fn capabilities(c: &mut PgConnection) -> Result<Capabilities, DbError> {
    let row = sqlx::query(
        "SELECT current_setting('server_version')::text, current_setting('server_version_num')::int8, \
         current_setting('shared_preload_libraries')::text, \
         (SELECT extversion::text FROM pg_extension WHERE extname = 'pg_stat_statements')",
    )
    .fetch_one(&mut *c)
    .await
    .map_err(|e| DbError::query("reading the server's version", e))?;
    let preload: String = row.try_get(2).unwrap_or_default();
    Ok(Capabilities {
        server_version: row.try_get(0).unwrap_or_default(),
        version_num: row.try_get(1).unwrap_or_default(),
        pgss_version: row.try_get(3).ok().flatten(),
        pgss_preloaded: preload
            .split(',')
            .any(|l| l.trim().trim_matches('"') == "pg_stat_statements"),
    })
}

/// The columns pg_stat_statements has in its version `v` (`1.8` renamed
/// `total_time` to `total_exec_time`).
fn time_column(v: &str) -> &'static str {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (1, 8) {
        "total_exec_time"
    } else {
        "total_time"
    }
}

/// Texts kept per queryid, so a refresh moves only the counters: the texts are
/// most of pg_stat_statements' bytes (the docs advise `showtext := false` for
/// frequent reads). Cleared past this many entries.
const TEXT_CACHE_MAX: usize = 50_000;

/// Every statement class of pg_stat_statements, cumulative. `texts` holds the
/// query texts already read (by queryid); only new classes' texts are fetched.
pub async fn statements(
    c: &mut PgConnection,
    caps: &Capabilities,
    texts: &mut HashMap<i64, String>,
) -> Result<Vec<StatementTotals>, DbError> {
    if !caps.pgss_preloaded {
        return Err(DbError::PgssNotPreloaded);
    }
    let Some(version) = &caps.pgss_version else {
        return Err(DbError::PgssNotCreated);
    };
    // One row per (queryid, database, user): pg_stat_statements keeps a second row
    // for a statement run inside a function (`toplevel`, 1.9+), which would make
    // the rates jump between the two.
    let sql = format!(
        "SELECT s.queryid, s.dbid::int8, s.userid::int8, sum(s.calls)::int8, \
         sum(s.{})::float8, sum(s.rows)::int8, sum(s.shared_blks_hit)::int8, sum(s.shared_blks_read)::int8 \
         FROM pg_stat_statements(false) s \
         WHERE s.queryid IS NOT NULL \
         GROUP BY s.queryid, s.dbid, s.userid",
        time_column(version)
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *c)
        .await
        .map_err(|e| DbError::query("reading pg_stat_statements", e))?;
    // Database and role names once per refresh (a few rows), not once per statement.
    let names = sqlx::query(
        "SELECT 'd', oid::int8, datname::text FROM pg_database \
         UNION ALL SELECT 'r', oid::int8, rolname::text FROM pg_roles",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(|e| DbError::query("reading database and role names", e))?;
    let mut databases: HashMap<i64, String> = HashMap::new();
    let mut roles: HashMap<i64, String> = HashMap::new();
    for r in &names {
        let (Ok(kind), Ok(oid), Ok(name)) = (
            r.try_get::<String, _>(0),
            r.try_get::<i64, _>(1),
            r.try_get::<String, _>(2),
        ) else {
            continue;
        };
        if kind == "d" {
            databases.insert(oid, name);
        } else {
            roles.insert(oid, name);
        }
    }
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.try_get::<i64, _>(0).ok())
        .collect();
    if texts.len() > TEXT_CACHE_MAX {
        texts.clear();
    }
    let mut missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|q| !texts.contains_key(q))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let found = sqlx::query(
            "SELECT s.queryid, min(s.query) FROM pg_stat_statements(true) s \
             WHERE s.queryid = ANY($1) AND s.query IS NOT NULL GROUP BY s.queryid",
        )
        .bind(&missing)
        .fetch_all(&mut *c)
        .await
        .map_err(|e| DbError::query("reading pg_stat_statements texts", e))?;
        for r in &found {
            if let (Ok(q), Ok(text)) = (r.try_get::<i64, _>(0), r.try_get::<String, _>(1)) {
                texts.insert(q, text);
            }
        }
    }
    Ok(rows
        .iter()
        .filter_map(|r| {
            let queryid: i64 = r.try_get(0).ok()?;
            // A class evicted between the two reads has no text: left for the next.
            let query = texts.get(&queryid)?.clone();
            Some(StatementTotals {
                queryid: queryid.to_string(),
                query,
                database: r
                    .try_get::<i64, _>(1)
                    .ok()
                    .and_then(|o| databases.get(&o).cloned()),
                user: r
                    .try_get::<i64, _>(2)
                    .ok()
                    .and_then(|o| roles.get(&o).cloned()),
                calls: r.try_get::<i64, _>(3).unwrap_or(0).max(0) as u64,
                total_ms: r.try_get::<f64, _>(4).unwrap_or(0.0),
                rows: r.try_get::<i64, _>(5).unwrap_or(0).max(0) as u64,
                shared_hit: r.try_get::<i64, _>(6).ok().map(|v| v.max(0) as u64),
                shared_read: r.try_get::<i64, _>(7).ok().map(|v| v.max(0) as u64),
            })
        })
        .collect())
}

/// Client sessions (not ours), with who blocks them.
pub async fn activity(c: &mut PgConnection) -> Result<Vec<Session>, DbError> {
    let rows = sqlx::query(
        "SELECT pid::int8, usename::text, datname::text, client_addr::text, state, \
         CASE WHEN wait_event IS NULL THEN NULL ELSE wait_event_type || ':' || wait_event END, \
         EXTRACT(EPOCH FROM now() - xact_start)::float8, \
         EXTRACT(EPOCH FROM now() - query_start)::float8, query, \
         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid)::int8[] END \
         FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
         ORDER BY query_start NULLS LAST",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(|e| DbError::query("reading pg_stat_activity", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let state: Option<String> = r.try_get(4).ok().flatten();
            let active = state.as_deref() == Some("active");
            Session {
                pid: r.try_get(0).unwrap_or(0),
                user: r.try_get(1).ok().flatten(),
                database: r.try_get(2).ok().flatten(),
                client: r.try_get(3).ok().flatten(),
                state,
                wait_event: r.try_get(5).ok().flatten(),
                xact_age_s: r.try_get(6).ok().flatten(),
                // The age of the last query only means something while it runs.
                query_age_s: if active {
                    r.try_get(7).ok().flatten()
                } else {
                    None
                },
                query: r.try_get(8).ok().flatten(),
                blocked_by: r.try_get::<Vec<i64>, _>(9).unwrap_or_default(),
            }
        })
        .collect())
}

/// The query a session runs now (for EXPLAIN of a running query).
pub async fn session_query(c: &mut PgConnection, pid: i64) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT query FROM pg_stat_activity WHERE pid = $1")
        .bind(pid as i32)
        .fetch_optional(&mut *c)
        .await
        .map_err(|e| DbError::query("reading pg_stat_activity", e))?;
    Ok(row.and_then(|r| r.try_get(0).ok()))
}

/// Planning takes the tables' locks: behind an `ACCESS EXCLUSIVE` it would wait.
const LOCK_WAIT: &str = "SET LOCAL lock_timeout = '2s'";

/// `EXPLAIN (FORMAT JSON)`; with `analyze`, the statement runs inside a
/// read-only transaction that is rolled back, so it can change nothing.
pub async fn explain(c: &mut PgConnection, sql: &str, analyze: bool) -> Result<String, DbError> {
    let stmt = if analyze {
        format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
    } else {
        format!("EXPLAIN (FORMAT JSON) {sql}")
    };
    explain_with(c, &stmt).await
}

/// The generic plan of a normalized statement (`$1` placeholders): the plan the
/// server uses when it does not know the values. PostgreSQL 16 says so in one
/// option; before it, the statement is prepared with generic plans forced and
/// executed with NULLs under EXPLAIN (EXPLAIN does not run it).
pub async fn explain_generic(
    c: &mut PgConnection,
    sql: &str,
    version_num: i64,
) -> Result<String, DbError> {
    if version_num >= 160000 {
        return explain_with(c, &format!("EXPLAIN (GENERIC_PLAN, FORMAT JSON) {sql}")).await;
    }
    let params = super::source::placeholder_count(sql);
    let stmt = if params == 0 {
        "EXPLAIN (FORMAT JSON) EXECUTE opsctl_generic".to_string()
    } else {
        let nulls = vec!["NULL"; params].join(", ");
        format!("EXPLAIN (FORMAT JSON) EXECUTE opsctl_generic({nulls})")
    };
    let prepare = format!("PREPARE opsctl_generic AS {sql}");
    let mut tx = c
        .begin()
        .await
        .map_err(|e| DbError::query("starting a transaction", e))?;
    let result = generic_steps(&mut tx, &prepare, &stmt).await;
    // A prepared statement outlives the transaction.
    let _ = sqlx::query("DEALLOCATE opsctl_generic")
        .execute(&mut *tx)
        .await;
    let _ = tx.rollback().await;
    plan_json(&result?)
}

async fn generic_steps(
    c: &mut PgConnection,
    prepare: &str,
    explain: &str,
) -> Result<sqlx::postgres::PgRow, DbError> {
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::query("making the transaction read-only", e))?;
    sqlx::query(LOCK_WAIT)
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::query("bounding lock waits", e))?;
    sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::query("forcing a generic plan", e))?;
    // The server reads the placeholders inside PREPARE as the prepared
    // statement's own, not as parameters of this one.
    sqlx::query(prepare)
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::query("preparing the statement", e))?;
    sqlx::query(explain)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| DbError::query("EXPLAIN", e))
}

async fn explain_with(c: &mut PgConnection, stmt: &str) -> Result<String, DbError> {
    let mut tx = c
        .begin()
        .await
        .map_err(|e| DbError::query("starting a transaction", e))?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| DbError::query("making the transaction read-only", e))?;
    sqlx::query(LOCK_WAIT)
        .execute(&mut *tx)
        .await
        .map_err(|e| DbError::query("bounding lock waits", e))?;
    // Prepared: one statement only, whatever the text holds.
    let result = sqlx::query(stmt).fetch_one(&mut *tx).await;
    // Whatever happened, nothing the statement did is kept.
    let _ = tx.rollback().await;
    let row = result.map_err(|e| DbError::query("EXPLAIN", e))?;
    plan_json(&row)
}

fn plan_json(row: &sqlx::postgres::PgRow) -> Result<String, DbError> {
    let plan: serde_json::Value = row
        .try_get::<serde_json::Value, _>(0)
        .or_else(|_| {
            row.try_get::<String, _>(0)
                .map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::Null))
        })
        .map_err(|e| DbError::query("reading EXPLAIN's output", e))?;
    Ok(plan.to_string())
}

/// `pg_cancel_backend` (the running query) or `pg_terminate_backend` (the session).
pub async fn signal(c: &mut PgConnection, pid: i64, terminate: bool) -> Result<bool, DbError> {
    let sql = if terminate {
        "SELECT pg_terminate_backend($1)"
    } else {
        "SELECT pg_cancel_backend($1)"
    };
    let row = sqlx::query(sql)
        .bind(pid as i32)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| {
            DbError::query(
                if terminate {
                    "terminating"
                } else {
                    "cancelling"
                },
                e,
            )
        })?;
    Ok(row.try_get::<bool, _>(0).unwrap_or(false))
}

/// The SQL `signal` runs, for plans.
pub fn signal_sql(pid: i64, terminate: bool) -> String {
    if terminate {
        format!("SELECT pg_terminate_backend({pid})")
    } else {
        format!("SELECT pg_cancel_backend({pid})")
    }
}

/// The planner's row counts (`pg_class.reltuples`) of the named tables, for the
/// plan view's big-table rule; for a table never analyzed, its live row count.
pub async fn table_rows(
    c: &mut PgConnection,
    tables: &[String],
) -> Result<Vec<(String, f64)>, DbError> {
    let rows = sqlx::query(
        // A table never analyzed has reltuples -1 (PostgreSQL 14+): the live
        // row count the statistics collector keeps stands in for it.
        "SELECT c.relname::text, \
         CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 ELSE s.n_live_tup::float8 END \
         FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'm') \
         AND pg_catalog.pg_table_is_visible(c.oid)",
    )
    .bind(tables)
    .fetch_all(&mut *c)
    .await
    .map_err(|e| DbError::query("reading pg_class", e))?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get::<f64, _>(1).ok()?)))
        .filter(|(_, n)| *n >= 0.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_waits_for_locks_as_long_as_its_message_says() {
        let said = format!("'{}s'", crate::db::error::EXPLAIN_LOCK_WAIT_S);
        assert!(LOCK_WAIT.ends_with(&said), "{LOCK_WAIT}");
    }

    #[test]
    fn time_columns_follow_the_extension_version() {
        assert_eq!(time_column("1.11"), "total_exec_time");
        assert_eq!(time_column("1.8"), "total_exec_time");
        assert_eq!(time_column("1.7"), "total_time");
        assert_eq!(time_column("1.10"), "total_exec_time");
    }
}
