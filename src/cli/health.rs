//! `opsctl health [TARGET...]`: one sweep of the fleet (or the named targets),
//! a table by default, `--json` for scripts; `--watch` repeats every interval.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::exit;
use super::table::{Align, Table, plural};
use crate::config::Profile;
use crate::config::resolve::{self, ResolvedHost};
use crate::config::ssh_lookup::SshConfigCache;
use crate::health::{
    self, CheckResult, HostHealth, HostProbe, ProbeTarget, ProbedHost, Status, SweepReport,
};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Hosts to probe: profile host names, ssh_config aliases or [user@]host[:port].
    /// Default: every host of the profile.
    pub targets: Vec<String>,
    /// Print JSON (with --watch: one JSON document per line).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown tables (for incident notes).
    #[arg(long)]
    pub markdown: bool,
    /// Sweep again every health interval until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Per-host bound in seconds for connecting and probing
    /// (default: the profile's connect + command timeouts).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// With --watch: stop after this many sweeps.
    #[arg(long, requires = "watch")]
    pub count: Option<u64>,
    /// With --watch: seconds between sweeps (default: the profile's health interval).
    #[arg(long, requires = "watch")]
    pub interval: Option<f64>,
    /// Print the probe script that runs on each host, and exit.
    #[arg(long, hide = true)]
    pub print_probe: bool,
}

/// One sweep as JSON: the report plus when it ran and how long it took.
#[derive(serde::Serialize)]
struct JsonSweep<'a> {
    #[serde(flatten)]
    report: &'a SweepReport,
    /// Unix time (seconds) the sweep started.
    at: i64,
    elapsed_ms: f64,
}

pub async fn run(profile: &Profile, args: &HealthArgs) -> anyhow::Result<i32> {
    if args.print_probe {
        print!("{}", health::PROBE_SCRIPT);
        return Ok(exit::OK);
    }
    let cache = SshConfigCache::for_profile(profile);
    let lookup = |alias: &str, user: Option<&str>, port: Option<u16>| cache.get(alias, user, port);
    let hosts = if args.targets.is_empty() {
        resolve::resolve_all(profile, &lookup)
    } else {
        resolve::resolve_targets(profile, &args.targets, &lookup)
    };
    let hosts = match hosts {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let timeout = match args.timeout {
        Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t),
        Some(_) => {
            eprintln!("error: --timeout must be a positive number of seconds");
            return Ok(exit::USAGE);
        }
        None => Duration::from_secs_f64(
            profile.ssh.connect_timeout_secs + profile.ssh.command_timeout_secs,
        ),
    };
    // Probes and remotes live across sweeps: --watch reuses connections, and later
    // sweeps take CPU and network figures from deltas.
    let mut fleet: Vec<ProbedHost> = hosts
        .iter()
        .map(|h| {
            let probe = HostProbe::new(probe_target(h), profile.health.thresholds.clone());
            (probe, h.remote())
        })
        .collect();
    let interval = match args.interval {
        Some(i) if i.is_finite() && i >= 0.0 => Duration::from_secs_f64(i),
        Some(_) => {
            eprintln!("error: --interval must be a number of seconds >= 0");
            return Ok(exit::USAGE);
        }
        None => Duration::from_secs_f64(profile.health.interval_secs),
    };
    let mut code;
    let mut sweeps = 0u64;
    loop {
        let at = unix_now();
        let started = std::time::Instant::now();
        let (report, probes) = health::sweep_probes(fleet, &profile.health, timeout).await;
        fleet = probes;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        sweeps += 1;
        code = if report.worst() == Status::Up {
            exit::OK
        } else {
            exit::PROBLEM
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if args.json {
            let shown = JsonSweep {
                report: &report,
                at,
                elapsed_ms,
            };
            super::emit(&mut out, &format!("{}\n", serde_json::to_string(&shown)?))?;
        } else if args.markdown {
            super::emit(&mut out, &render_markdown(&report))?;
        } else {
            if args.watch && stdout.is_terminal() {
                // Home + clear, so the table updates in place.
                write!(out, "\x1b[H\x1b[2J")?;
            }
            super::emit(&mut out, &render(&report))?;
        }
        out.flush()?;
        if !args.watch || args.count.is_some_and(|c| sweeps >= c) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(code)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub fn probe_target(h: &ResolvedHost) -> ProbeTarget {
    ProbeTarget {
        name: h.name.clone(),
        address: h.address.clone(),
        roles: h.roles.clone(),
        services: h.services.clone(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0}%"))
}

/// Bytes per second, short (`1.2M/s`).
pub fn rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(b) => format!("{}/s", bytes(b)),
    }
}

pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = b.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 10.0 {
        format!("{v:.0}{}", UNITS[unit])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

/// Uptime, short (`12d`, `5h`, `42m`).
pub fn duration(secs: Option<f64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s >= 86_400.0 => format!("{:.0}d", (s / 86_400.0).floor()),
        Some(s) if s >= 3_600.0 => format!("{:.0}h", (s / 3_600.0).floor()),
        Some(s) => format!("{:.0}m", (s / 60.0).floor()),
    }
}

fn load(h: &HostHealth) -> String {
    match (h.load1, h.load5, h.load15) {
        (Some(a), Some(b), Some(c)) => format!("{a:.2} {b:.2} {c:.2}"),
        _ => "-".into(),
    }
}

fn units(h: &HostHealth) -> String {
    if h.services.is_empty() {
        return "-".into();
    }
    let bad: Vec<String> = h
        .failed_services()
        .map(|s| format!("{} {}", s.name, s.active))
        .collect();
    if bad.is_empty() {
        format!("{} ok", h.services.len())
    } else {
        bad.join(", ")
    }
}

fn note(h: &HostHealth) -> String {
    match &h.error {
        Some(e) => e.clone(),
        None => h.reasons.join("; "),
    }
}

/// The human table for a sweep.
pub fn render(report: &SweepReport) -> String {
    let mut out = hosts_table(report).render();
    if !report.checks.is_empty() {
        out.push('\n');
        out.push_str(&checks_table(&report.checks).render());
    }
    out.push_str(&format!("\n{}\n", summary(report)));
    out
}

/// The sweep as Markdown: the hosts, the checks, the counts.
pub fn render_markdown(report: &SweepReport) -> String {
    let mut out = hosts_table(report).render_markdown();
    if !report.checks.is_empty() {
        out.push('\n');
        out.push_str(&checks_table(&report.checks).render_markdown());
    }
    out.push_str(&format!("\n{}\n", summary(report)));
    out
}

fn hosts_table(report: &SweepReport) -> Table {
    let mut t = Table::new(&[
        ("STATUS", Align::Left),
        ("HOST", Align::Left),
        ("ADDRESS", Align::Left),
        ("LOAD 1/5/15", Align::Left),
        ("CPU", Align::Right),
        ("MEM", Align::Right),
        ("DISK", Align::Left),
        ("NET IN/OUT", Align::Left),
        ("UP", Align::Right),
        ("UNITS", Align::Left),
        ("NOTE", Align::Left),
    ]);
    for h in &report.hosts {
        let disk = h
            .worst_disk()
            .map_or_else(|| "-".into(), |d| format!("{:.0}% {}", d.used_pct, d.mount));
        t.row(vec![
            format!("{} {}", h.status.symbol(), h.status.as_str()),
            h.name.clone(),
            h.address.clone(),
            load(h),
            pct(h.cpu_pct),
            pct(h.mem_used_pct),
            disk,
            format!("{} {}", rate(h.net_rx_bps), rate(h.net_tx_bps)),
            duration(h.uptime_secs),
            units(h),
            note(h),
        ]);
    }
    t
}

fn summary(report: &SweepReport) -> String {
    let counts = [
        Status::Up,
        Status::Warn,
        Status::Critical,
        Status::Unreachable,
    ]
    .iter()
    .map(|s| {
        let n = report.hosts.iter().filter(|h| h.status == *s).count();
        format!("{n} {}", s.as_str())
    })
    .collect::<Vec<_>>()
    .join(", ");
    let n = report.hosts.len();
    format!("{n} host{}: {counts}", plural(n))
}

fn checks_table(checks: &[CheckResult]) -> Table {
    let mut t = Table::new(&[
        ("STATUS", Align::Left),
        ("CHECK", Align::Left),
        ("HTTP", Align::Right),
        ("LATENCY", Align::Right),
        ("CERT", Align::Right),
        ("URL", Align::Left),
        ("NOTE", Align::Left),
    ]);
    for c in checks {
        t.row(vec![
            format!("{} {}", c.status.symbol(), c.status.as_str()),
            c.name.clone(),
            c.http_status.map_or_else(|| "-".into(), |s| s.to_string()),
            c.latency_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms:.0}ms")),
            c.cert_days_left
                .map_or_else(|| "-".into(), |d| format!("{d:.0}d")),
            crate::config::secrets::redact_url(&c.url),
            c.error.clone().unwrap_or_default(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::DiskUsage;

    fn host(name: &str, status: Status) -> HostHealth {
        HostHealth {
            name: name.into(),
            address: format!("10.0.0.{}", name.len()),
            status,
            ..Default::default()
        }
    }

    #[test]
    fn table_shows_figures_and_errors() {
        let mut up = host("web1", Status::Up);
        up.load1 = Some(0.5);
        up.load5 = Some(0.25);
        up.load15 = Some(0.125);
        up.cpu_pct = Some(12.4);
        up.mem_used_pct = Some(45.0);
        up.uptime_secs = Some(3.0 * 86_400.0 + 5.0);
        up.net_rx_bps = Some(1536.0);
        up.net_tx_bps = Some(10.0);
        up.disks.push(DiskUsage {
            mount: "/".into(),
            device: "/dev/vda".into(),
            fs_type: "ext4".into(),
            size_bytes: 100,
            used_bytes: 93,
            avail_bytes: 7,
            used_pct: 93.0,
            status: Status::Critical,
        });
        let mut down = host("db1", Status::Unreachable);
        down.error = Some("host key refused: changed".into());
        let text = render(&SweepReport {
            hosts: vec![up, down],
            checks: vec![],
        });
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STATUS"), "{text}");
        assert!(
            lines[1].contains("web1") && lines[1].contains("0.50 0.25 0.12"),
            "{text}"
        );
        assert!(
            lines[1].contains("12%") && lines[1].contains("93% /"),
            "{text}"
        );
        assert!(
            lines[1].contains("1.5K/s 10B/s") && lines[1].contains("3d"),
            "{text}"
        );
        assert!(
            lines[2].contains("? unreachable") && lines[2].ends_with("host key refused: changed"),
            "{text}"
        );
        assert!(
            text.ends_with("2 hosts: 1 up, 0 warn, 0 critical, 1 unreachable\n"),
            "{text}"
        );
        let one = render(&SweepReport {
            hosts: vec![host("web1", Status::Up)],
            checks: vec![],
        });
        assert!(
            one.ends_with("\n1 host: 1 up, 0 warn, 0 critical, 0 unreachable\n"),
            "{one}"
        );
    }

    #[test]
    fn units_render() {
        assert_eq!(bytes(0.0), "0B");
        assert_eq!(bytes(1024.0 * 1024.0 * 5.5), "5.5M");
        assert_eq!(duration(Some(7200.0)), "2h");
        assert_eq!(duration(Some(59.0)), "0m");
    }
}
