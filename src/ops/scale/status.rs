//! What each scale target has now, per host: the count `opsctl scale status`,
//! the Scale tab and every plan start from.

use serde::Serialize;

use crate::config::{Profile, ScaleKind, ScaleTarget};
use crate::ops::deploy::AppHost;

use super::upstream::UpstreamFile;
use super::{gunicorn, hosts, systemd};

/// Largest upstream include file opsctl reads.
pub const UPSTREAM_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostCount {
    pub host: String,
    /// Workers, running instances, or backends not marked down.
    pub current: Option<u32>,
    /// `master 4242`, the backends, the instances.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub kind: &'static str,
    /// `workers`, `instances`, `backends`.
    pub unit: &'static str,
    pub min: u32,
    pub max: Option<u32>,
    pub hosts: Vec<HostCount>,
}

/// What one host has of one target; the state behind the count (the master's
/// pid, the file's text) for a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum HostState {
    Gunicorn {
        pid_file: String,
        master: gunicorn::Master,
    },
    Systemd {
        units: Vec<systemd::UnitState>,
    },
    Nginx {
        file: String,
        text: String,
        upstream: UpstreamFile,
    },
}

impl HostState {
    pub fn count(&self) -> u32 {
        let n = match self {
            HostState::Gunicorn { master, .. } => master.workers.len(),
            HostState::Systemd { units } => units.iter().filter(|u| u.is_up()).count(),
            HostState::Nginx { upstream, .. } => upstream.active().len(),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    pub fn detail(&self) -> String {
        match self {
            HostState::Gunicorn { master, .. } => format!("master {}", master.pid),
            HostState::Systemd { units } => units
                .iter()
                .filter(|u| u.is_up())
                .map(|u| u.id.clone())
                .collect::<Vec<_>>()
                .join(" "),
            HostState::Nginx { upstream, .. } => upstream
                .members()
                .map(|m| {
                    if m.down {
                        format!("{} (down)", m.address)
                    } else {
                        m.address.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Reads the state of `target` on `host`.
pub async fn read_host(target: &ScaleTarget, host: &AppHost) -> Result<HostState, String> {
    let remote = &host.remote;
    match target.kind {
        ScaleKind::Gunicorn => {
            let app_path = (!host.path.is_empty()).then_some(host.path.as_str());
            let pid_file = target
                .pid_file_on(app_path, &host.name)
                .ok_or("no pid_file for this host")?;
            let out = remote
                .run(&gunicorn::status_command(&pid_file))
                .await
                .map_err(|e| e.to_string())?;
            if !out.success() {
                return Err(out.stderr_lossy().trim().to_string());
            }
            let master = gunicorn::parse_status(&out.stdout_lossy())?;
            Ok(HostState::Gunicorn { pid_file, master })
        }
        ScaleKind::Systemd => {
            let units: Vec<String> = target
                .instances
                .iter()
                .filter_map(|i| target.unit_of(i))
                .collect();
            let out = remote
                .run(&systemd::show_command(&units))
                .await
                .map_err(|e| e.to_string())?;
            if !out.success() {
                return Err(format!("systemctl show: {}", out.stderr_lossy().trim()));
            }
            Ok(HostState::Systemd {
                units: systemd::parse_show(&out.stdout_lossy()),
            })
        }
        ScaleKind::NginxUpstream => {
            let file = target
                .upstream_file_on(&host.name)
                .ok_or("no upstream_file")?;
            let bytes = remote
                .read_file(&file, UPSTREAM_LIMIT)
                .await
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))?;
            let upstream = UpstreamFile::parse(&text).map_err(|e| format!("{file}: {e}"))?;
            Ok(HostState::Nginx {
                file,
                text,
                upstream,
            })
        }
    }
}

/// Every host of `target`, read at once.
pub async fn read_target(
    target: &ScaleTarget,
    hosts: &[AppHost],
) -> Vec<(AppHost, Result<HostState, String>)> {
    let reads = hosts.iter().map(|h| read_host(target, h));
    let states = futures::future::join_all(reads).await;
    hosts.iter().cloned().zip(states).collect()
}

/// The status of every target of the profile (hosts that cannot be resolved
/// are an error row, not a missing one).
pub async fn read_all(profile: &Profile) -> Vec<TargetStatus> {
    let mut out = Vec::new();
    for t in &profile.scale {
        out.push(read_status(profile, t).await);
    }
    out
}

pub async fn read_status(profile: &Profile, t: &ScaleTarget) -> TargetStatus {
    let mut status = TargetStatus {
        name: t.name.clone(),
        kind: t.kind.as_str(),
        unit: t.kind.unit_word(),
        min: t.min,
        max: t.max,
        hosts: Vec::new(),
    };
    match hosts::target_hosts(profile, t, &[]) {
        Err(e) => status.hosts.push(HostCount {
            host: String::new(),
            current: None,
            detail: String::new(),
            error: Some(e),
        }),
        Ok(hosts) => {
            for (h, state) in read_target(t, &hosts).await {
                status.hosts.push(match state {
                    Ok(s) => HostCount {
                        host: h.name,
                        current: Some(s.count()),
                        detail: s.detail(),
                        error: None,
                    },
                    Err(e) => HostCount {
                        host: h.name,
                        current: None,
                        detail: String::new(),
                        error: Some(e),
                    },
                });
            }
        }
    }
    status
}
