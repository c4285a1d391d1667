//! Figures derived from raw probe data: CPU busy share from jiffy deltas, network
//! rates from counter deltas, memory and swap use, which filesystems count as disks.
//! Pure functions; a figure that cannot be computed honestly is `None`, never a guess.

use super::parse::{CpuTimes, DfEntry, MemInfo, RawSample};

/// Filesystems that hold no persistent data of their own. Overlay (containers) is
/// kept: it fills up like a real disk.
const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "ramfs",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "efivarfs",
    "selinuxfs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "nfsd",
];

/// Device names pseudo filesystems show in `df -Pk`, where there is no type column.
const PSEUDO_DEVICES: &[&str] = &[
    "tmpfs", "devtmpfs", "udev", "none", "shm", "proc", "sysfs", "cgroup", "cgroup2", "devpts",
    "mqueue", "ramfs", "lxcfs",
];

/// CPU busy share (0-100) between two readings of /proc/stat. `None` when no time
/// passed or the counters went backwards (a reboot between polls).
pub fn cpu_busy_pct(prev: CpuTimes, cur: CpuTimes) -> Option<f64> {
    let total = cur.total.checked_sub(prev.total)?;
    if total == 0 {
        return None;
    }
    // iowait is known to step backwards on some kernels, so idle is not checked_sub.
    let idle = cur.idle.saturating_sub(prev.idle).min(total);
    Some(((total - idle) as f64 / total as f64 * 100.0).clamp(0.0, 100.0))
}

/// Receive and transmit bytes per second, summed over non-loopback interfaces,
/// between two samples, timed by the host's own uptime clock.
///
/// An interface whose counter went backwards (driver reset, interface recreated,
/// 32-bit wrap) or that appeared in between contributes nothing for this interval
/// rather than a huge bogus rate. `None` when the interval is unknown or not positive
/// (including a reboot, where uptime restarts).
pub fn net_rates(prev: &RawSample, cur: &RawSample) -> Option<(f64, f64)> {
    let secs = cur.uptime_secs? - prev.uptime_secs?;
    if secs <= 0.0 || !secs.is_finite() {
        return None;
    }
    let (mut rx, mut tx) = (0u64, 0u64);
    for c in cur.net.iter().filter(|c| c.iface != "lo") {
        let Some(p) = prev.net.iter().find(|p| p.iface == c.iface) else {
            continue;
        };
        rx = rx.saturating_add(c.rx_bytes.saturating_sub(p.rx_bytes));
        tx = tx.saturating_add(c.tx_bytes.saturating_sub(p.tx_bytes));
    }
    Some((rx as f64 / secs, tx as f64 / secs))
}

/// Memory in use (0-100): what is not available for new work (MemAvailable), so
/// page cache does not count as used.
pub fn mem_used_pct(m: &MemInfo) -> Option<f64> {
    let total = m.total_kb.filter(|t| *t > 0)?;
    let avail = m.available_kb?.min(total);
    Some((total - avail) as f64 / total as f64 * 100.0)
}

/// Swap in use (0-100); `None` on a host without swap.
pub fn swap_used_pct(m: &MemInfo) -> Option<f64> {
    let total = m.swap_total_kb.filter(|t| *t > 0)?;
    let free = m.swap_free_kb?.min(total);
    Some((total - free) as f64 / total as f64 * 100.0)
}

/// Whether a `df` line is a real disk worth watching.
pub fn is_real_disk(d: &DfEntry) -> bool {
    if d.size_kb == 0 {
        return false;
    }
    match &d.fs_type {
        Some(t) => !PSEUDO_FS.contains(&t.as_str()),
        None => !PSEUDO_DEVICES.contains(&d.device.as_str()),
    }
}

/// Used share as `df` computes its Capacity column: used / (used + available), so
/// the blocks reserved for root count as full.
pub fn disk_used_pct(d: &DfEntry) -> f64 {
    let usable = d.used_kb.saturating_add(d.avail_kb);
    if usable == 0 {
        return 0.0;
    }
    d.used_kb as f64 / usable as f64 * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::parse::{
        NetCounters, parse_df, parse_net_dev, parse_stat_cpu, parse_uptime,
    };

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/health/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn cpu_from_known_deltas() {
        // 100 jiffies passed, 25 of them idle or iowait: 75 % busy.
        let a = parse_stat_cpu("cpu  100 0 50 800 50 0 0 0 0 0\n").unwrap();
        let b = parse_stat_cpu("cpu  160 0 65 820 55 0 0 0 0 0\n").unwrap();
        assert_eq!(cpu_busy_pct(a, b), Some(75.0));
        assert_eq!(cpu_busy_pct(a, a), None);
        assert_eq!(
            cpu_busy_pct(b, a),
            None,
            "counters going back mean a reboot"
        );
    }

    #[test]
    fn cpu_from_two_real_samples() {
        let a = parse_stat_cpu(&fixture("stat-a.txt")).unwrap();
        let b = parse_stat_cpu(&fixture("stat-b.txt")).unwrap();
        let pct = cpu_busy_pct(a, b).unwrap();
        let want = ((b.total - a.total) - (b.idle - a.idle)) as f64 / (b.total - a.total) as f64;
        assert!((pct - want * 100.0).abs() < 1e-9);
    }

    #[test]
    fn net_rates_skip_loopback_and_resets() {
        let sample = |up: f64, lo: u64, eth: u64, wg: u64| RawSample {
            uptime_secs: Some(up),
            cpu: None,
            net: vec![
                NetCounters {
                    iface: "lo".into(),
                    rx_bytes: lo,
                    tx_bytes: lo,
                },
                NetCounters {
                    iface: "eth0".into(),
                    rx_bytes: eth,
                    tx_bytes: eth / 2,
                },
                NetCounters {
                    iface: "wg0".into(),
                    rx_bytes: wg,
                    tx_bytes: 0,
                },
            ],
        };
        let a = sample(100.0, 0, 1_000, 5_000);
        let b = sample(102.0, 1_000_000, 3_000, 10);
        // eth0: 2000 rx / 1000 tx over 2 s; wg0 went backwards (reset): ignored.
        assert_eq!(net_rates(&a, &b), Some((1000.0, 500.0)));
        assert_eq!(net_rates(&b, &a), None, "uptime going back means a reboot");
    }

    #[test]
    fn net_rates_from_real_samples() {
        let a = RawSample {
            uptime_secs: parse_uptime(&fixture("uptime-a.txt")),
            cpu: None,
            net: parse_net_dev(&fixture("netdev-a.txt")),
        };
        let b = RawSample {
            uptime_secs: parse_uptime(&fixture("uptime-b.txt")),
            cpu: None,
            net: parse_net_dev(&fixture("netdev-b.txt")),
        };
        let (rx, tx) = net_rates(&a, &b).unwrap();
        assert!(rx >= 0.0 && tx >= 0.0);
    }

    #[test]
    fn memory_and_swap() {
        let m = MemInfo {
            total_kb: Some(1000),
            available_kb: Some(250),
            swap_total_kb: Some(0),
            swap_free_kb: Some(0),
        };
        assert_eq!(mem_used_pct(&m), Some(75.0));
        assert_eq!(swap_used_pct(&m), None);
        let s = MemInfo {
            swap_total_kb: Some(400),
            swap_free_kb: Some(100),
            ..m
        };
        assert_eq!(swap_used_pct(&s), Some(75.0));
    }

    #[test]
    fn pseudo_filesystems_are_skipped() {
        let with_type = parse_df(&fixture("df-PkT.txt"));
        let real: Vec<&str> = with_type
            .iter()
            .filter(|d| is_real_disk(d))
            .map(|d| d.mount.as_str())
            .collect();
        assert_eq!(real, ["/"]);
        let no_type = parse_df(&fixture("df-Pk.txt"));
        let real: Vec<&str> = no_type
            .iter()
            .filter(|d| is_real_disk(d))
            .map(|d| d.mount.as_str())
            .collect();
        // Without a type column a tmpfs with an odd device name cannot be told apart.
        assert!(real.contains(&"/"));
        assert!(!real.contains(&"/dev/shm"));
    }

    #[test]
    fn df_percent_matches_df_rounding() {
        for d in parse_df(&fixture("df-PkT.txt"))
            .iter()
            .filter(|d| is_real_disk(d))
        {
            let line = fixture("df-PkT.txt");
            let cap: f64 = line
                .lines()
                .find(|l| l.ends_with(&format!(" {}", d.mount)))
                .and_then(|l| l.split_whitespace().find(|w| w.ends_with('%')))
                .and_then(|w| w.trim_end_matches('%').parse().ok())
                .unwrap();
            // df rounds up.
            assert_eq!(disk_used_pct(d).ceil(), cap);
        }
    }
}
