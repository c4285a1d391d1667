//! Live databases: PostgreSQL (pg_stat_statements, pg_stat_activity) and
//! MariaDB/MySQL (performance_schema, the processlist) read into one model
//! ([`model`]), reached directly or through an SSH tunnel ([`connect`]), with
//! EXPLAIN and cancel/kill. `opsctl queries` and the console's Queries tab read
//! from here.

pub mod connect;
pub mod error;
pub mod explain;
pub mod model;
pub mod mysql;
pub mod password;
pub mod postgres;
pub mod rates;
pub mod source;
pub mod target;

pub use connect::{Conn, Connected, connect};
pub use error::DbError;
pub use model::{Report, Session, Snapshot, Statement};
pub use target::{DbTarget, TargetError};
