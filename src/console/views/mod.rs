//! The console's views. Each draws from `&App` only.

pub mod fleet;
pub mod help;
pub mod host;
