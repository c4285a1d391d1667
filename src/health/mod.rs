//! Fleet health: one batched probe per host, pure parsers of its output,
//! derived figures with thresholds, HTTP/TLS checks, bounded time series.
//!
//! Entry points: [`HostProbe`] (a host polled again and again, for the console),
//! [`sweep`] (every host and HTTP check once, for `opsctl health`) and
//! [`run_http_check`].

pub mod figures;
pub mod http;
pub mod model;
pub mod parse;
pub mod probe;
pub mod series;
pub mod status;
pub mod sweep;

pub use http::run_http_check;
pub use model::{
    CheckResult, DiskUsage, HostHealth, ProcessInfo, ServiceState, Status, SweepReport,
};
pub use probe::{HostProbe, PROBE_SCRIPT, ProbeTarget};
pub use series::{HostSeries, RingBuffer, Series};
pub use sweep::{ProbedHost, sweep, sweep_probes};
