//! Probing one host: one fixed shell script per poll (`probe.sh`) collects every
//! figure in a single round trip; [`HostProbe`] keeps the previous raw sample so
//! CPU and network figures come from deltas between polls.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{HealthSettings, HostEntry, Thresholds};
use crate::remote::{Command, Remote, RemoteError};

use super::figures::{
    cpu_busy_pct, disk_used_pct, is_real_disk, mem_used_pct, net_rates, swap_used_pct,
};
use super::model::{DiskUsage, ErrorKind, HostHealth, ProcessInfo, Status};
use super::parse::{ProbeOutput, RawSample, parse_probe};
use super::status::{assess, service_states};

/// The probe: a POSIX sh script (dash, bash, busybox sh). `$1` is the pause in
/// seconds between its two CPU/network samples (`0` takes one sample); the
/// systemd units to report follow as `$2...`, never pasted into the script.
/// A leading `--no-processes` leaves out the two `ps` runs.
pub const PROBE_SCRIPT: &str = include_str!("probe.sh");

/// Pause between the two in-script samples when there is no previous poll.
pub const DEFAULT_SAMPLE_PAUSE: Duration = Duration::from_millis(500);

/// Processes kept for the host view: the top by CPU, then the top by memory.
const TOP_BY_CPU: usize = 10;
const TOP_BY_MEM: usize = 5;

/// A host to probe, as the profile names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeTarget {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    /// systemd units to watch on this host (profile-wide ones included).
    pub services: Vec<String>,
}

impl ProbeTarget {
    /// The target for a profile host: its address defaults to its name, and the
    /// watched units are the profile's followed by the host's own, without repeats.
    pub fn from_host(host: &HostEntry, settings: &HealthSettings) -> Self {
        let mut services: Vec<String> = Vec::new();
        for s in settings.services.iter().chain(&host.services) {
            if !services.contains(s) {
                services.push(s.clone());
            }
        }
        ProbeTarget {
            name: host.name.clone(),
            address: host.address.clone().unwrap_or_else(|| host.name.clone()),
            roles: host.roles.clone(),
            services,
        }
    }
}

/// The remote command for one probe; `processes` asks for the process lists.
pub fn probe_command(
    units: &[String],
    pause: Duration,
    timeout: Duration,
    processes: bool,
) -> Command {
    let pause = if pause.is_zero() {
        "0".to_string()
    } else {
        format!("{:.3}", pause.as_secs_f64())
    };
    let mut cmd = Command::shell_script(PROBE_SCRIPT);
    if !processes {
        cmd = cmd.arg("--no-processes");
    }
    cmd.arg(pause).args(units.iter().cloned()).timeout(timeout)
}

/// Polls one host again and again, keeping what deltas need.
#[derive(Debug, Clone)]
pub struct HostProbe {
    target: ProbeTarget,
    thresholds: Thresholds,
    sample_pause: Duration,
    previous: Option<RawSample>,
    last_seen: Option<i64>,
    processes: bool,
}

impl HostProbe {
    pub fn new(target: ProbeTarget, thresholds: Thresholds) -> Self {
        HostProbe {
            target,
            thresholds,
            sample_pause: DEFAULT_SAMPLE_PAUSE,
            previous: None,
            last_seen: None,
            processes: true,
        }
    }

    /// Whether polls list the top processes (on by default; the console turns it
    /// on only for the host on screen).
    pub fn set_processes(&mut self, on: bool) {
        self.processes = on;
    }

    /// Pause between the two in-script samples of a first poll (default 0.5 s).
    /// Zero makes a first poll report no CPU % or network rates.
    pub fn with_sample_pause(mut self, pause: Duration) -> Self {
        self.sample_pause = pause;
        self
    }

    pub fn target(&self) -> &ProbeTarget {
        &self.target
    }

    /// Unix time of the last successful poll.
    pub fn last_seen(&self) -> Option<i64> {
        self.last_seen
    }

    /// Runs the probe once, bounded by `timeout` (the script's own pause included).
    ///
    /// The first poll samples CPU and network twice inside the script, a short
    /// pause apart; later polls compare with the previous poll and do not pause.
    /// A failed probe gives `Status::Unreachable` with the error and the previous
    /// `last_seen`; it does not forget the previous sample, so the next good poll
    /// still has deltas (over the longer interval).
    pub async fn poll(&mut self, remote: &dyn Remote, timeout: Duration) -> HostHealth {
        let pause = if self.previous.is_some() {
            Duration::ZERO
        } else {
            self.sample_pause
        };
        let cmd = probe_command(&self.target.services, pause, timeout, self.processes);
        let started = Instant::now();
        // The remote bounds the command too; this also bounds a remote that never answers.
        let result = match tokio::time::timeout(timeout, remote.run(&cmd)).await {
            Ok(r) => r,
            Err(_) => Err(RemoteError::Timeout {
                what: format!("health probe on {}", self.target.name),
                after: timeout,
            }),
        };
        let elapsed = started.elapsed();
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                tracing::debug!(host = %self.target.name, error = %e, "health probe failed");
                return self.unreachable(e.kind(), e.to_string());
            }
        };
        let parsed = parse_probe(&out.stdout);
        if !parsed.header {
            let why = out.stderr_lossy();
            let why = why.lines().next().unwrap_or("no output").trim();
            let code = out.status.map_or("signal".to_string(), |c| c.to_string());
            return self.unreachable(
                ErrorKind::CommandFailed,
                format!("probe script failed (exit {code}): {why}"),
            );
        }
        let now = unix_now();
        let (mut health, last) = assemble(
            &self.target,
            &parsed,
            self.previous.as_ref(),
            &self.thresholds,
            now,
        );
        // The pause is ours, not the host's slowness.
        health.probe_ms = Some(elapsed.saturating_sub(pause).as_secs_f64() * 1000.0);
        if let Some(last) = last {
            self.previous = Some(last);
        }
        self.last_seen = Some(now);
        health
    }

    /// What this host looks like when it could not be probed.
    pub fn unreachable(&self, kind: ErrorKind, error: String) -> HostHealth {
        HostHealth {
            name: self.target.name.clone(),
            address: self.target.address.clone(),
            roles: self.target.roles.clone(),
            status: Status::Unreachable,
            error: Some(error),
            error_kind: Some(kind),
            last_seen: self.last_seen,
            ..HostHealth::default()
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Builds a host's health from one parsed probe and the previous poll's sample.
/// Returns the sample to keep for the next poll. Pure: the same inputs always
/// give the same report.
pub fn assemble(
    target: &ProbeTarget,
    p: &ProbeOutput,
    previous: Option<&RawSample>,
    thresholds: &Thresholds,
    now: i64,
) -> (HostHealth, Option<RawSample>) {
    let last = p.samples.last();
    // Two samples in this output beat a previous poll: they are closer together.
    let pair = match (p.samples.first(), last, previous) {
        (Some(a), Some(b), _) if p.samples.len() >= 2 => Some((a, b)),
        (_, Some(b), Some(prev)) => Some((prev, b)),
        _ => None,
    };
    let rebooted = pair.is_some_and(|(a, b)| match (a.uptime_secs, b.uptime_secs) {
        (Some(x), Some(y)) => y < x,
        _ => false,
    });
    let pair = pair.filter(|_| !rebooted);
    let cpu_pct = pair.and_then(|(a, b)| cpu_busy_pct(a.cpu?, b.cpu?));
    let rates = pair.and_then(|(a, b)| net_rates(a, b));

    let mem = p.meminfo.unwrap_or_default();
    let disks = p
        .disks
        .iter()
        .filter(|d| is_real_disk(d))
        .map(|d| DiskUsage {
            mount: d.mount.clone(),
            device: d.device.clone(),
            fs_type: d.fs_type.clone().unwrap_or_default(),
            size_bytes: d.size_kb.saturating_mul(1024),
            used_bytes: d.used_kb.saturating_mul(1024),
            avail_bytes: d.avail_kb.saturating_mul(1024),
            used_pct: disk_used_pct(d),
            status: Status::Up,
        })
        .collect();

    let mut h = HostHealth {
        name: target.name.clone(),
        address: target.address.clone(),
        roles: target.roles.clone(),
        status: Status::Up,
        error: None,
        error_kind: None,
        reasons: Vec::new(),
        last_seen: Some(now),
        load1: p.loadavg.map(|l| l[0]),
        load5: p.loadavg.map(|l| l[1]),
        load15: p.loadavg.map(|l| l[2]),
        cores: p.cores,
        cpu_pct,
        mem_total_bytes: mem.total_kb.map(|kb| kb.saturating_mul(1024)),
        mem_used_pct: mem_used_pct(&mem),
        swap_used_pct: swap_used_pct(&mem),
        disks,
        net_rx_bps: rates.map(|r| r.0),
        net_tx_bps: rates.map(|r| r.1),
        uptime_secs: last.and_then(|s| s.uptime_secs),
        procs: p.procs,
        services: service_states(&target.services, &p.units),
        top: top_processes(&p.top_cpu, &p.top_mem),
        probe_ms: None,
    };
    assess(&mut h, thresholds);
    if p.df_timed_out {
        h.reasons
            .push("df timed out (hung network mount?)".to_string());
        h.status = h.status.max(Status::Warn);
    }
    if !p.complete {
        // A cut-short probe (slow df, killed script) still reports what it got.
        h.reasons.push("probe output incomplete".to_string());
        h.status = h.status.max(Status::Warn);
    }
    (h, last.cloned())
}

/// The top processes by CPU, then the biggest by memory not already listed.
fn top_processes(by_cpu: &[ProcessInfo], by_mem: &[ProcessInfo]) -> Vec<ProcessInfo> {
    let mut top: Vec<ProcessInfo> = by_cpu.iter().take(TOP_BY_CPU).cloned().collect();
    let extra: Vec<ProcessInfo> = by_mem
        .iter()
        .filter(|m| !top.iter().any(|t| t.pid == m.pid))
        .take(TOP_BY_MEM)
        .cloned()
        .collect();
    top.extend(extra);
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::parse::parse_probe;
    use crate::remote::local::LocalRemote;
    use std::path::Path;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/health/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn target(services: &[&str]) -> ProbeTarget {
        ProbeTarget {
            name: "web1".into(),
            address: "10.0.0.1".into(),
            roles: vec!["web".into()],
            services: services.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn real_capture_gives_sane_figures() {
        let p = parse_probe(&fixture("probe-local-double.txt"));
        let (h, last) = assemble(
            &target(&[]),
            &p,
            None,
            &Thresholds::default(),
            1_700_000_000,
        );
        let cpu = h.cpu_pct.unwrap();
        assert!((0.0..=100.0).contains(&cpu));
        assert!(h.net_rx_bps.unwrap() >= 0.0);
        assert_eq!(h.swap_used_pct, None, "this machine has no swap");
        assert_eq!(
            h.disks.len(),
            1,
            "only / is a real disk here: {:?}",
            h.disks
        );
        assert_eq!(h.disks[0].mount, "/");
        assert_eq!(h.last_seen, Some(1_700_000_000));
        assert_eq!(last.as_ref(), p.samples.last());
        assert!(h.top.len() >= 10);
        assert_eq!(h.roles, ["web"]);
    }

    #[test]
    fn single_sample_needs_a_previous_poll() {
        let earlier = parse_probe(&fixture("probe-local-double.txt"));
        let single = parse_probe(&fixture("probe-local-single.txt"));
        let t = Thresholds::default();
        let (h, _) = assemble(&target(&[]), &single, None, &t, 0);
        assert_eq!((h.cpu_pct, h.net_rx_bps), (None, None));
        // The single-sample capture was taken after the double one: deltas work.
        let (h, _) = assemble(&target(&[]), &single, earlier.samples.last(), &t, 0);
        assert!(h.cpu_pct.is_some() && h.net_tx_bps.is_some());
        // A previous sample with a later uptime means the host rebooted: no deltas.
        let mut before_reboot = earlier.samples.last().cloned().unwrap();
        before_reboot.uptime_secs = Some(1e9);
        let (h, _) = assemble(&target(&[]), &single, Some(&before_reboot), &t, 0);
        assert_eq!((h.cpu_pct, h.net_rx_bps), (None, None));
    }

    #[test]
    fn crafted_full_disk_and_swap() {
        let p = parse_probe(&fixture("probe-crafted-full-disk.txt"));
        let (h, _) = assemble(&target(&[]), &p, None, &Thresholds::default(), 0);
        assert_eq!(h.status, Status::Critical);
        assert!(
            h.reasons.contains(&"disk / 95%".to_string()),
            "{:?}",
            h.reasons
        );
        assert!(
            h.reasons.contains(&"swap 75%".to_string()),
            "{:?}",
            h.reasons
        );
    }

    #[test]
    fn crafted_failed_unit() {
        let p = parse_probe(&fixture("probe-crafted-units.txt"));
        let (h, _) = assemble(
            &target(&["nginx", "gunicorn", "redis"]),
            &p,
            None,
            &Thresholds::default(),
            0,
        );
        assert_eq!(h.status, Status::Critical);
        assert!(h.reasons.contains(&"unit gunicorn failed".to_string()));
        assert!(h.reasons.contains(&"unit redis not found".to_string()));
        assert!(!h.reasons.iter().any(|r| r.contains("nginx")));
    }

    #[test]
    fn no_systemd_host_reports_units_unknown() {
        let p = parse_probe(&fixture("probe-local-double.txt"));
        let (h, _) = assemble(
            &target(&["nginx", "ssh.service"]),
            &p,
            None,
            &Thresholds::default(),
            0,
        );
        assert!(h.services.iter().all(|s| s.active == "unknown"));
        assert_eq!(h.services.len(), 2);
    }

    #[test]
    fn cut_short_output_is_flagged() {
        let full = fixture("probe-local-double.txt");
        let text = String::from_utf8(full).unwrap();
        let cut = &text[..text.find("==ps-cpu==").unwrap()];
        let (h, _) = assemble(
            &target(&[]),
            &parse_probe(cut.as_bytes()),
            None,
            &Thresholds::default(),
            0,
        );
        assert!(h.status >= Status::Warn);
        assert!(h.reasons.iter().any(|r| r == "probe output incomplete"));
        assert!(!h.disks.is_empty());
    }

    #[test]
    fn from_host_merges_units() {
        let host: HostEntry =
            toml::from_str("name = 'db1'\nservices = ['postgresql', 'nginx']").unwrap();
        let settings = HealthSettings {
            services: vec!["nginx".into(), "ssh".into()],
            ..HealthSettings::default()
        };
        let t = ProbeTarget::from_host(&host, &settings);
        assert_eq!(t.address, "db1");
        assert_eq!(t.services, ["nginx", "ssh", "postgresql"]);
    }

    #[test]
    fn unit_names_are_arguments_not_script() {
        let nasty = "x; touch /tmp/opsctl-pwned";
        let cmd = probe_command(
            &[nasty.to_string()],
            Duration::ZERO,
            Duration::from_secs(1),
            true,
        );
        assert_eq!(cmd.argv()[2], PROBE_SCRIPT);
        assert_eq!(cmd.argv().last().map(String::as_str), Some(nasty));
    }

    /// Runs the probe script with `shell`, PATH set to `path` (then the script's own
    /// fallback directories).
    fn run_script(shell: &[&str], path: &str, args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(PROBE_SCRIPT)
            .arg("sh")
            .args(args)
            .env_clear()
            .env("PATH", path)
            .output()
            .unwrap_or_else(|e| panic!("{shell:?}: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn section_names(output: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(output)
            .lines()
            .filter(|l| l.starts_with("==") && l.ends_with("=="))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn fixtures_match_the_current_script() {
        // If probe.sh changes its sections, the captured fixtures must be retaken.
        let live = run_script(&["dash"], "/usr/bin:/bin", &["0.05", "nginx"]);
        assert_eq!(
            section_names(&live),
            section_names(&fixture("probe-local-double.txt"))
        );
        let live = run_script(&["dash"], "/usr/bin:/bin", &["0"]);
        assert_eq!(
            section_names(&live),
            section_names(&fixture("probe-local-single.txt"))
        );
    }

    #[test]
    fn no_processes_leaves_out_only_the_process_lists() {
        let with = section_names(&run_script(&["dash"], "/usr/bin:/bin", &["0", "nginx"]));
        let without = section_names(&run_script(
            &["dash"],
            "/usr/bin:/bin",
            &["--no-processes", "0", "nginx"],
        ));
        let expected: Vec<String> = with
            .iter()
            .filter(|s| !s.starts_with("==ps-"))
            .cloned()
            .collect();
        assert_eq!(without, expected);
        assert!(with.len() > without.len(), "{with:?}");
        let cmd = probe_command(&[], Duration::ZERO, Duration::from_secs(1), false);
        assert_eq!(cmd.argv()[4], "--no-processes", "{:?}", cmd.argv());
    }

    #[test]
    fn runs_under_busybox_sh_and_applets() {
        // An Alpine-like host: busybox sh, and busybox applets first on PATH.
        let dir = tempfile::tempdir().unwrap();
        let busybox = "/usr/bin/busybox";
        assert!(Path::new(busybox).exists(), "apt-get install busybox");
        for applet in [
            "cat", "head", "sleep", "nproc", "getconf", "df", "ps", "timeout",
        ] {
            std::os::unix::fs::symlink(busybox, dir.path().join(applet)).unwrap();
        }
        let path = dir.path().to_str().unwrap();
        let out = run_script(&[busybox, "sh"], path, &["0.05", "nginx"]);
        assert_eq!(
            section_names(&out),
            section_names(&fixture("probe-busybox.txt"))
        );
        let p = parse_probe(&out);
        let (h, _) = assemble(&target(&["nginx"]), &p, None, &Thresholds::default(), 0);
        assert!(p.complete);
        assert!(h.cpu_pct.is_some() && h.mem_used_pct.is_some() && h.cores.is_some());
        assert!(h.disks.iter().any(|d| d.mount == "/"));
    }

    #[test]
    fn the_report_leaves_in_one_piece() {
        // Every write of the probe becomes an SSH packet and a client wakeup; the
        // report must come out at the end, not section by section. With a 0.4 s
        // pause between samples, nothing may arrive before that pause is over.
        use std::io::Read;
        let mut child = std::process::Command::new("dash")
            .arg("-c")
            .arg(PROBE_SCRIPT)
            .args(["sh", "0.4"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        let waited = started.elapsed();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        assert!(child.wait().unwrap().success());
        assert!(
            waited >= Duration::from_millis(400),
            "first byte after {waited:?}: the probe writes before it is done"
        );
        assert!(parse_probe(&[&first[..], &rest].concat()).complete);
    }

    #[test]
    fn hung_df_is_cut_short_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let df = dir.path().join("df");
        std::fs::write(&df, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&df, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let path = format!("{}:/usr/bin:/bin", dir.path().display());
        let started = Instant::now();
        let out = run_script(&["sh"], &path, &["0"]);
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        let p = parse_probe(&out);
        assert!(p.df_timed_out && p.complete);
        // Only the timeout may raise the status, whatever this machine's load.
        let never = Thresholds {
            cpu_warn: f64::INFINITY,
            cpu_crit: f64::INFINITY,
            mem_warn: f64::INFINITY,
            mem_crit: f64::INFINITY,
            swap_warn: f64::INFINITY,
            swap_crit: f64::INFINITY,
            load_warn: f64::INFINITY,
            load_crit: f64::INFINITY,
            ..Thresholds::default()
        };
        let (h, _) = assemble(&target(&[]), &p, None, &never, 0);
        assert!(h.disks.is_empty());
        assert_eq!(h.status, Status::Warn, "{:?}", h.reasons);
        assert!(
            h.reasons
                .contains(&"df timed out (hung network mount?)".to_string())
        );
    }

    #[tokio::test]
    async fn polls_this_machine() {
        let remote = LocalRemote::new("local");
        let mut probe = HostProbe::new(target(&["nginx"]), Thresholds::default())
            .with_sample_pause(Duration::from_millis(200));
        let h = probe.poll(&remote, Duration::from_secs(10)).await;
        assert_ne!(h.status, Status::Unreachable, "{:?}", h.error);
        assert!(h.load1.unwrap() >= 0.0);
        let mem = h.mem_used_pct.unwrap();
        assert!((0.0..=100.0).contains(&mem));
        assert!(!h.disks.is_empty());
        assert!(h.procs.unwrap() > 0);
        assert!(h.cores.unwrap() > 0);
        assert!(h.uptime_secs.unwrap() > 0.0);
        assert!(h.cpu_pct.is_some(), "first poll samples twice");
        assert_eq!(h.services.len(), 1);
        assert!(h.last_seen.is_some());

        // The second poll has no pause and takes its deltas from the first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let h2 = probe.poll(&remote, Duration::from_secs(10)).await;
        let cpu = h2.cpu_pct.expect("cpu % from the previous poll");
        assert!((0.0..=100.0).contains(&cpu));
        assert!(h2.net_rx_bps.unwrap() >= 0.0);
    }

    #[tokio::test]
    async fn failed_probe_keeps_last_seen() {
        struct Broken;
        #[async_trait::async_trait]
        impl Remote for Broken {
            fn name(&self) -> &str {
                "broken"
            }
            async fn run(&self, _: &Command) -> Result<crate::remote::Output, RemoteError> {
                Err(RemoteError::Connect {
                    host: "web1".into(),
                    reason: "connection refused".into(),
                    cause: crate::remote::ConnectCause::Refused,
                })
            }
            async fn stream(&self, _: &Command) -> Result<crate::remote::LineStream, RemoteError> {
                Err(RemoteError::Other("no".into()))
            }
            async fn forward(
                &self,
                _: &str,
                _: u16,
            ) -> Result<crate::remote::Forward, RemoteError> {
                Err(RemoteError::Other("no".into()))
            }
        }
        let mut probe =
            HostProbe::new(target(&[]), Thresholds::default()).with_sample_pause(Duration::ZERO);
        let good = probe
            .poll(&LocalRemote::new("local"), Duration::from_secs(10))
            .await;
        assert!(good.last_seen.is_some());
        let bad = probe.poll(&Broken, Duration::from_secs(10)).await;
        assert_eq!(bad.status, Status::Unreachable);
        assert_eq!(bad.error_kind, Some(ErrorKind::Refused));
        assert_eq!(
            bad.error.as_deref(),
            Some("cannot connect to web1: connection refused")
        );
        assert_eq!(bad.last_seen, good.last_seen);
        assert_eq!(bad.name, "web1");
    }
}
