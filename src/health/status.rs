//! Thresholds to statuses. A host's status is its worst figure; `reasons` names
//! each figure that is not up, in a few words ("disk / 93%", "unit nginx failed").
//!
//! Watched systemd units:
//! - `active` (running, exited, ...) is up;
//! - `failed` is critical: the unit crashed or could not start;
//! - `inactive` is warn: a stopped unit may be deliberate (or a timer-driven oneshot
//!   between runs), so it is flagged without paging anyone;
//! - `activating`, `deactivating`, `reloading` are warn (in transition);
//! - a unit systemd does not know (`LoadState=not-found`) is warn, reported as
//!   sub-state `not-found`: usually a typo in the profile or a host with another role;
//! - on a host without systemd the state is `unknown`, warn: we were asked to
//!   watch something we cannot see.

use crate::config::Thresholds;

use super::model::{HostHealth, ServiceState, Status};
use super::parse::{UnitProps, UnitsReport};

/// `Critical` at or above `crit`, `Warn` at or above `warn`.
pub fn level(value: f64, warn: f64, crit: f64) -> Status {
    if value >= crit {
        Status::Critical
    } else if value >= warn {
        Status::Warn
    } else {
        Status::Up
    }
}

/// `Critical` at or below `crit` days left, `Warn` at or below `warn`.
pub fn cert_level(days_left: f64, t: &Thresholds) -> Status {
    if days_left <= t.cert_crit_days {
        Status::Critical
    } else if days_left <= t.cert_warn_days {
        Status::Warn
    } else {
        Status::Up
    }
}

pub fn latency_level(ms: f64, t: &Thresholds) -> Status {
    level(ms, t.latency_warn_ms, t.latency_crit_ms)
}

/// The state of each watched unit, in the order they were named.
pub fn service_states(units: &[String], report: &UnitsReport) -> Vec<ServiceState> {
    let unknown = |name: &str, why: &str| ServiceState {
        name: name.to_string(),
        active: "unknown".to_string(),
        sub: why.to_string(),
        status: Status::Warn,
    };
    match report {
        UnitsReport::Missing => units.iter().map(|u| unknown(u, "not reported")).collect(),
        UnitsReport::NoSystemd => units.iter().map(|u| unknown(u, "no systemd")).collect(),
        UnitsReport::Units(blocks) => units
            .iter()
            .enumerate()
            .map(|(i, name)| {
                // Match by Id first. An alias ("sshd" answered as Id=ssh.service) has
                // no matching Id; systemctl answers in argument order, so when every
                // unit got a block, the block in its position is used, unless another
                // named unit claims it by Id.
                let block = blocks
                    .iter()
                    .find(|b| unit_matches(&b.id, name))
                    .or_else(|| {
                        blocks.get(i).filter(|b| {
                            blocks.len() == units.len()
                                && !units.iter().any(|u| unit_matches(&b.id, u))
                        })
                    });
                match block {
                    Some(b) => unit_state(name, b),
                    None => unknown(name, "not reported"),
                }
            })
            .collect(),
    }
}

fn unit_matches(id: &str, name: &str) -> bool {
    id == name || id.strip_suffix(".service") == Some(name)
}

fn unit_state(name: &str, b: &UnitProps) -> ServiceState {
    let not_found = b.load_state == "not-found";
    let status = if not_found {
        Status::Warn
    } else {
        match b.active_state.as_str() {
            "active" => Status::Up,
            "failed" => Status::Critical,
            _ => Status::Warn,
        }
    };
    ServiceState {
        name: name.to_string(),
        active: b.active_state.clone(),
        sub: if not_found {
            "not-found".to_string()
        } else {
            b.sub_state.clone()
        },
        status,
    }
}

/// The phrase for a unit that is not up.
fn unit_reason(s: &ServiceState) -> String {
    let what = if s.sub == "not-found" {
        "not found".to_string()
    } else if s.active == "unknown" {
        format!("unknown ({})", s.sub)
    } else {
        s.active.clone()
    };
    format!("unit {} {what}", s.name)
}

/// Sets the status of every disk and the host's status and reasons from its figures.
/// Expects figures already filled in; a missing figure raises nothing.
pub fn assess(h: &mut HostHealth, t: &Thresholds) {
    let mut status = Status::Up;
    let mut reasons = Vec::new();
    let mut note = |s: Status, reason: String| {
        if s > Status::Up {
            status = status.max(s);
            reasons.push(reason);
        }
    };
    if let Some(v) = h.cpu_pct {
        note(level(v, t.cpu_warn, t.cpu_crit), format!("cpu {v:.0}%"));
    }
    if let Some(v) = h.mem_used_pct {
        note(level(v, t.mem_warn, t.mem_crit), format!("mem {v:.0}%"));
    }
    if let Some(v) = h.swap_used_pct {
        note(level(v, t.swap_warn, t.swap_crit), format!("swap {v:.0}%"));
    }
    if let Some(v) = h.load_per_core() {
        note(
            level(v, t.load_warn, t.load_crit),
            format!("load {v:.1}/core"),
        );
    }
    for d in &mut h.disks {
        d.status = level(d.used_pct, t.disk_warn, t.disk_crit);
        note(d.status, format!("disk {} {:.0}%", d.mount, d.used_pct));
    }
    for s in &h.services {
        note(s.status, unit_reason(s));
    }
    h.status = status;
    h.reasons = reasons;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::model::DiskUsage;
    use crate::health::parse::parse_systemctl_show;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn levels_at_the_edges() {
        assert_eq!(level(84.9, 85.0, 95.0), Status::Up);
        assert_eq!(level(85.0, 85.0, 95.0), Status::Warn);
        assert_eq!(level(95.0, 85.0, 95.0), Status::Critical);
        let t = Thresholds::default();
        assert_eq!(cert_level(30.0, &t), Status::Up);
        assert_eq!(cert_level(21.0, &t), Status::Warn);
        assert_eq!(cert_level(-1.0, &t), Status::Critical);
        assert_eq!(latency_level(3500.0, &t), Status::Critical);
    }

    #[test]
    fn units_from_systemctl_show() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/health/systemctl-show.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let report = UnitsReport::Units(parse_systemctl_show(&text));
        let s = service_states(&names(&["nginx", "gunicorn", "redis"]), &report);
        let got: Vec<(&str, &str, Status)> = s
            .iter()
            .map(|s| (s.name.as_str(), s.sub.as_str(), s.status))
            .collect();
        assert_eq!(
            got,
            [
                ("nginx", "running", Status::Up),
                ("gunicorn", "failed", Status::Critical),
                ("redis", "not-found", Status::Warn),
            ]
        );
        // An alias is matched by position.
        let s = service_states(&names(&["nginx", "gunicorn", "cache"]), &report);
        assert_eq!(
            (s[2].sub.as_str(), s[2].status),
            ("not-found", Status::Warn)
        );
        // With a block missing, units are matched by Id.
        let UnitsReport::Units(mut blocks) = report else {
            unreachable!()
        };
        blocks.remove(0);
        let s = service_states(
            &names(&["nginx", "gunicorn.service"]),
            &UnitsReport::Units(blocks),
        );
        assert_eq!(s[0].active, "unknown");
        assert_eq!(s[1].status, Status::Critical);
    }

    #[test]
    fn no_systemd_is_unknown_and_warn() {
        let s = service_states(&names(&["nginx"]), &UnitsReport::NoSystemd);
        assert_eq!(
            (s[0].active.as_str(), s[0].status),
            ("unknown", Status::Warn)
        );
        assert_eq!(unit_reason(&s[0]), "unit nginx unknown (no systemd)");
    }

    #[test]
    fn host_status_is_the_worst_figure() {
        let mut h = HostHealth {
            cpu_pct: Some(50.0),
            mem_used_pct: Some(90.0),
            load1: Some(7.0),
            cores: Some(2),
            disks: vec![DiskUsage {
                mount: "/".into(),
                device: "/dev/vda".into(),
                fs_type: "ext4".into(),
                size_bytes: 100,
                used_bytes: 93,
                avail_bytes: 7,
                used_pct: 93.0,
                status: Status::Up,
            }],
            services: vec![ServiceState {
                name: "nginx".into(),
                active: "failed".into(),
                sub: "failed".into(),
                status: Status::Critical,
            }],
            ..HostHealth::default()
        };
        assess(&mut h, &Thresholds::default());
        assert_eq!(h.status, Status::Critical);
        assert_eq!(h.disks[0].status, Status::Critical);
        assert_eq!(
            h.reasons,
            [
                "mem 90%",
                "load 3.5/core",
                "disk / 93%",
                "unit nginx failed"
            ]
        );

        h.mem_used_pct = Some(10.0);
        h.load1 = Some(0.1);
        h.disks[0].used_pct = 81.0;
        h.services.clear();
        assess(&mut h, &Thresholds::default());
        assert_eq!(h.status, Status::Warn);
        assert_eq!(h.reasons, ["disk / 81%"]);
    }
}
