//! The console's views, one file each; [`super::registry`] lists them in tab order.

pub mod audit;
pub mod deploy;
pub mod fleet;
pub mod host;
pub mod queries;
pub mod scale;
