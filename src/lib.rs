//! opsctl: a terminal ops console and profiler for production hosting.
//!
//! Layers (each uses only those below it): `cli`/`console` faces; `health`
//! sources; `remote`, `sql`, `config` foundations.

// Library code never unwraps: data from outside (hosts, files, servers) must not
// panic opsctl. Unit tests may (clippy.toml: allow-unwrap-in-tests).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod health;
pub mod logging;
pub mod logs;
pub mod ops;
pub mod remote;
pub mod sql;
pub mod web;
