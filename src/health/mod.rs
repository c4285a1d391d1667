//! Fleet health: one batched probe per host, pure parsers of its output,
//! derived figures with thresholds, HTTP/TLS checks, bounded time series.

pub mod figures;
pub mod model;
pub mod parse;
pub mod probe;
pub mod status;

pub use model::{
    CheckResult, DiskUsage, HostHealth, ProcessInfo, ServiceState, Status, SweepReport,
};
pub use probe::{HostProbe, PROBE_SCRIPT, ProbeTarget};
