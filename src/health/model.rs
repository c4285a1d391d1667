//! What a health sweep reports about a host and an HTTP check. These types are
//! shared by `opsctl health` (table and JSON) and the console's fleet and host views.

use serde::Serialize;

pub use crate::remote::ErrorKind;

/// Status of a figure, a host or a check. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Up,
    Warn,
    Critical,
    Unreachable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Warn => "warn",
            Status::Critical => "critical",
            Status::Unreachable => "unreachable",
        }
    }

    /// A symbol so status reads without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Up => "●",
            Status::Warn => "▲",
            Status::Critical => "✖",
            Status::Unreachable => "?",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskUsage {
    pub mount: String,
    pub device: String,
    pub fs_type: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub avail_bytes: u64,
    /// Used share of what is usable (used / (used + avail)), as `df` reports it.
    pub used_pct: f64,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceState {
    pub name: String,
    /// systemd ActiveState: active, inactive, failed, activating, ..., or "unknown"
    /// when the host has no systemd or did not answer for this unit.
    pub active: String,
    /// systemd SubState: running, dead, exited, ...; "not-found" when systemd has no
    /// such unit; with "unknown" above, why ("no systemd", "not reported").
    pub sub: String,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub user: String,
    pub cpu_pct: f64,
    pub mem_pct: f64,
    pub rss_bytes: u64,
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct HostHealth {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub status: Status,
    /// Why the host is unreachable (host key refused, timeout, auth failed, ...).
    pub error: Option<String>,
    /// The kind of that failure, for scripts and for the console's colours.
    pub error_kind: Option<ErrorKind>,
    /// Why the host is warn or critical, one short phrase per figure ("disk / 93%").
    pub reasons: Vec<String>,
    /// Unix time (seconds) of the last successful probe.
    pub last_seen: Option<i64>,
    pub load1: Option<f64>,
    pub load5: Option<f64>,
    pub load15: Option<f64>,
    pub cores: Option<u32>,
    pub cpu_pct: Option<f64>,
    pub mem_total_bytes: Option<u64>,
    pub mem_used_pct: Option<f64>,
    pub swap_used_pct: Option<f64>,
    pub disks: Vec<DiskUsage>,
    /// Bytes per second over all non-loopback interfaces.
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
    pub uptime_secs: Option<f64>,
    pub procs: Option<u32>,
    pub services: Vec<ServiceState>,
    /// Top processes by CPU (then memory), for the host view.
    pub top: Vec<ProcessInfo>,
    /// How long the probe took, milliseconds.
    pub probe_ms: Option<f64>,
}

impl HostHealth {
    /// Load average per core, 1 minute.
    pub fn load_per_core(&self) -> Option<f64> {
        match (self.load1, self.cores) {
            (Some(l), Some(c)) if c > 0 => Some(l / f64::from(c)),
            _ => None,
        }
    }

    pub fn worst_disk(&self) -> Option<&DiskUsage> {
        self.disks
            .iter()
            .max_by(|a, b| a.used_pct.total_cmp(&b.used_pct))
    }

    pub fn failed_services(&self) -> impl Iterator<Item = &ServiceState> {
        self.services.iter().filter(|s| s.status != Status::Up)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub url: String,
    pub status: Status,
    pub http_status: Option<u16>,
    pub latency_ms: Option<f64>,
    /// Days until the server certificate expires (HTTPS only); negative when expired.
    pub cert_days_left: Option<f64>,
    pub error: Option<String>,
}

/// One sweep of the fleet, in profile order.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SweepReport {
    pub hosts: Vec<HostHealth>,
    pub checks: Vec<CheckResult>,
}

impl SweepReport {
    /// Worst status over hosts and checks.
    pub fn worst(&self) -> Status {
        self.hosts
            .iter()
            .map(|h| h.status)
            .chain(self.checks.iter().map(|c| c.status))
            .max()
            .unwrap_or(Status::Up)
    }
}
