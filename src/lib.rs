//! opsctl: a terminal ops console and profiler for production hosting.
//!
//! Layers (each uses only those below it): `cli`/`console` faces; `health`
//! sources; `remote`, `sql`, `config` foundations.

pub mod cli;
pub mod config;
pub mod console;
pub mod health;
pub mod logging;
pub mod logs;
pub mod remote;
pub mod sql;
