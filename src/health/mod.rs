//! Fleet health: one batched probe per host, pure parsers of its output,
//! derived figures with thresholds, HTTP/TLS checks, bounded time series.

pub mod model;

pub use model::{
    CheckResult, DiskUsage, HostHealth, ProcessInfo, ServiceState, Status, SweepReport,
};
