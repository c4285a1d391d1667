//! Fleet health: one batched probe per host, pure parsers of its output,
//! derived figures with thresholds, HTTP/TLS checks, bounded time series.
//!
//! Entry points:
//! - [`sweep`](fn@sweep): every host and HTTP check once, in parallel, each host bounded by
//!   the timeout (`opsctl health`). Results in input order. [`sweep_probes`] does
//!   the same over probes kept across sweeps (`opsctl health --watch`).
//! - [`HostProbe`]: one host polled again and again (the console). The first poll
//!   samples CPU and network twice inside the probe (0.5 s apart); later polls
//!   take deltas from the previous poll and return at once. Keep one `HostProbe`
//!   per host for the life of the view, and a [`HostSeries`] beside it:
//!
//! ```text
//! let mut probe = HostProbe::new(ProbeTarget::from_host(&host, &profile.health),
//!                                profile.health.thresholds.clone());
//! let mut series = HostSeries::for_settings(&profile.health);
//! loop {
//!     let h = probe.poll(remote.as_ref(), timeout).await;   // never fails
//!     series.push(&h, now);
//!     tx.send(Event::Health(h)).await?;
//!     interval.tick().await;
//! }
//! ```
//! - [`run_http_check`]: one HTTP(S) check.
//!
//! Layout: `probe.sh` (the script) -> [`parse`] (pure parsers) -> [`figures`]
//! (deltas, percentages) -> [`status`] (thresholds, reasons) -> [`probe`].

pub mod check_hosts;
pub mod figures;
pub mod http;
pub mod model;
pub mod parse;
pub mod poller;
pub mod probe;
pub mod series;
pub mod status;
pub mod sweep;

pub use http::run_http_check;
pub use model::{
    CheckResult, DiskUsage, ErrorKind, HostHealth, ProcessInfo, ServiceState, Status, SweepReport,
};
pub use probe::{HostProbe, PROBE_SCRIPT, ProbeTarget};
pub use series::{HostSeries, RingBuffer, Series};
pub use sweep::{ProbedHost, sweep, sweep_probes};
