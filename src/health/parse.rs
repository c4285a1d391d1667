//! Pure parsers of the probe script's output (see `probe.sh`) and of the /proc
//! files and commands it prints. Nothing here panics on garbage: the text comes
//! from a host we do not control. Every list is capped so a hostile or broken host
//! cannot make us allocate without bound.

use super::model::ProcessInfo;

/// Only this much of a probe's output is read; a real one is a few kilobytes.
pub const MAX_PROBE_BYTES: usize = 1 << 20;
const MAX_SAMPLES: usize = 2;
const MAX_INTERFACES: usize = 512;
const MAX_MOUNTS: usize = 512;
const MAX_UNITS: usize = 256;
const MAX_PROCESSES: usize = 20;
/// Commands, mounts and names longer than this are cut (on a char boundary).
const MAX_TEXT: usize = 256;

/// The first line the probe prints; without it the script did not run.
pub const PROBE_HEADER: &str = "==opsctl-probe 1==";

/// Aggregate CPU time from the `cpu` line of /proc/stat, in jiffies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq + steal (guest time is
    /// already counted in user and nice).
    pub total: u64,
    /// idle + iowait: time the CPU had nothing to run.
    pub idle: u64,
}

/// Byte counters of one interface from /proc/net/dev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetCounters {
    pub iface: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Counters that only mean something as a difference between two moments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawSample {
    /// Seconds since boot (/proc/uptime): the host's own clock for rates, and a
    /// reboot shows as it going backwards.
    pub uptime_secs: Option<f64>,
    pub cpu: Option<CpuTimes>,
    pub net: Vec<NetCounters>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemInfo {
    pub total_kb: Option<u64>,
    /// MemAvailable, or on kernels before 3.14 MemFree + Buffers + Cached + SReclaimable.
    pub available_kb: Option<u64>,
    pub swap_total_kb: Option<u64>,
    pub swap_free_kb: Option<u64>,
}

/// One line of `df -PkT` (or `df -Pk`, then without a type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfEntry {
    pub device: String,
    pub fs_type: Option<String>,
    pub size_kb: u64,
    pub used_kb: u64,
    pub avail_kb: u64,
    pub mount: String,
}

/// One block of `systemctl show -p Id,LoadState,ActiveState,SubState`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitProps {
    pub id: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
}

/// What the probe could say about the watched units.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnitsReport {
    /// The section is missing (output cut short) or no units were asked for.
    #[default]
    Missing,
    /// The host does not run systemd (or has no systemctl).
    NoSystemd,
    /// systemd answered; one block per unit it understood.
    Units(Vec<UnitProps>),
}

/// Everything one run of the probe script reported, unprocessed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeOutput {
    /// [`PROBE_HEADER`] was seen; nothing before it is parsed.
    pub header: bool,
    /// The closing `==end==` marker arrived: the output is not cut short.
    pub complete: bool,
    /// One or two samples (two when the script was asked to pause between them).
    pub samples: Vec<RawSample>,
    pub loadavg: Option<[f64; 3]>,
    pub meminfo: Option<MemInfo>,
    pub cores: Option<u32>,
    pub procs: Option<u32>,
    pub disks: Vec<DfEntry>,
    /// `df` had to be stopped (a hung network mount); `disks` holds what it printed.
    pub df_timed_out: bool,
    pub units: UnitsReport,
    pub top_cpu: Vec<ProcessInfo>,
    pub top_mem: Vec<ProcessInfo>,
}

/// Splits probe output into its sections and parses each one.
pub fn parse_probe(output: &[u8]) -> ProbeOutput {
    let bytes = &output[..output.len().min(MAX_PROBE_BYTES)];
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();
    let mut out = ProbeOutput::default();
    // The open section: its name and where its body starts in `text`.
    let mut section: Option<(&str, usize)> = None;
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        // A chatty shell startup file (.bashrc echoing over SSH) may print before
        // the script does: everything before the header is skipped.
        if !out.header {
            out.header = line == PROBE_HEADER;
            continue;
        }
        let Some(name) = marker(line) else {
            continue;
        };
        if let Some((prev, from)) = section {
            apply_section(&mut out, prev, &text[from..line_start]);
        }
        section = if name == "end" {
            out.complete = true;
            None
        } else {
            Some((name, pos))
        };
    }
    if let Some((prev, from)) = section {
        apply_section(&mut out, prev, &text[from..]);
    }
    out
}

/// `==name==` on a line of its own; names are lower-case words with `-`.
fn marker(line: &str) -> Option<&str> {
    let name = line.strip_prefix("==")?.strip_suffix("==")?;
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    ok.then_some(name)
}

fn apply_section(out: &mut ProbeOutput, name: &str, body: &str) {
    match name {
        // Each sample starts with its uptime; stat and netdev fill the newest sample.
        "uptime" if out.samples.len() < MAX_SAMPLES => {
            out.samples.push(RawSample {
                uptime_secs: parse_uptime(body),
                ..RawSample::default()
            });
        }
        "stat" => {
            if let Some(s) = out.samples.last_mut()
                && s.cpu.is_none()
            {
                s.cpu = parse_stat_cpu(body);
            }
        }
        "netdev" => {
            if let Some(s) = out.samples.last_mut()
                && s.net.is_empty()
            {
                s.net = parse_net_dev(body);
            }
        }
        "loadavg" => out.loadavg = parse_loadavg(body),
        "meminfo" => out.meminfo = Some(parse_meminfo(body)),
        "nproc" => out.cores = first_u32(body).filter(|n| *n > 0),
        "procs" => out.procs = first_u32(body),
        "df" => out.disks = parse_df(body),
        "df-timeout" => out.df_timed_out = true,
        "units" => out.units = parse_units_section(body),
        "ps-cpu" => out.top_cpu = parse_ps(body),
        "ps-mem" => out.top_mem = parse_ps(body),
        _ => {}
    }
}

/// A finite float; `"nan"` and `"inf"` parse in Rust but are never real figures.
fn finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn first_u32(body: &str) -> Option<u32> {
    body.split_whitespace().next()?.parse().ok()
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// /proc/uptime: seconds since boot, then idle seconds summed over CPUs.
pub fn parse_uptime(text: &str) -> Option<f64> {
    finite(text.split_whitespace().next()?).filter(|v| *v >= 0.0)
}

/// /proc/loadavg: `0.52 0.58 0.59 3/118 12345`.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace();
    let mut load = [0.0; 3];
    for slot in &mut load {
        *slot = finite(it.next()?).filter(|v| *v >= 0.0)?;
    }
    Some(load)
}

/// The aggregate `cpu ` line of /proc/stat (the rest of the file is ignored).
pub fn parse_stat_cpu(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    // user nice system idle is the oldest format (Linux 2.4); the rest came later.
    if fields.len() < 4 {
        return None;
    }
    let total = fields.iter().fold(0u64, |acc, v| acc.saturating_add(*v));
    let idle = fields[3].saturating_add(fields.get(4).copied().unwrap_or(0));
    Some(CpuTimes { total, idle })
}

/// /proc/meminfo, values in kB.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut m = MemInfo::default();
    let (mut free, mut buffers, mut cached, mut reclaimable) = (None, None, None, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        match key.trim() {
            "MemTotal" => m.total_kb = Some(value),
            "MemAvailable" => m.available_kb = Some(value),
            "MemFree" => free = Some(value),
            "Buffers" => buffers = Some(value),
            "Cached" => cached = Some(value),
            "SReclaimable" => reclaimable = Some(value),
            "SwapTotal" => m.swap_total_kb = Some(value),
            "SwapFree" => m.swap_free_kb = Some(value),
            _ => {}
        }
    }
    if m.available_kb.is_none()
        && let Some(free) = free
    {
        let estimate = [buffers, cached, reclaimable]
            .iter()
            .flatten()
            .fold(free, |acc, v| acc.saturating_add(*v));
        m.available_kb = Some(estimate);
    }
    m
}

/// /proc/net/dev: two header lines, then `iface: rx_bytes ... (8 rx fields) tx_bytes ...`.
pub fn parse_net_dev(text: &str) -> Vec<NetCounters> {
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_INTERFACES {
            break;
        }
        // Old kernels glue a large rx count to the colon ("eth0:123456"), so split there.
        let Some((iface, counters)) = line.split_once(':') else {
            continue;
        };
        let iface = iface.trim();
        if iface.is_empty() || iface.contains('|') || iface.contains(char::is_whitespace) {
            continue;
        }
        let fields: Vec<&str> = counters.split_whitespace().collect();
        let (Some(rx), Some(tx)) = (
            fields.first().and_then(|f| f.parse::<u64>().ok()),
            fields.get(8).and_then(|f| f.parse::<u64>().ok()),
        ) else {
            continue;
        };
        out.push(NetCounters {
            iface: clip(iface),
            rx_bytes: rx,
            tx_bytes: tx,
        });
    }
    out
}

/// Splits off the first `n` whitespace-separated fields; the rest of the line (which
/// may hold spaces, as a mount point or a command name can) is returned trimmed.
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some((fields, rest.trim()))
}

/// `df -PkT` or `df -Pk` output (POSIX format, 1024-byte blocks). The header tells
/// whether a Type column is present. A device name may contain spaces, so a line
/// is anchored on its `Capacity` field (`NN%`) preceded by three numbers.
pub fn parse_df(text: &str) -> Vec<DfEntry> {
    let mut with_type = false;
    let mut out: Vec<DfEntry> = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_MOUNTS {
            break;
        }
        if line.starts_with("Filesystem") {
            with_type = line.split_whitespace().any(|w| w == "Type");
            continue;
        }
        if let Some(entry) = parse_df_line(line, with_type)
            // Bind mounts and busybox list some mounts twice; the first one wins.
            && !out.iter().any(|e| e.mount == entry.mount)
        {
            out.push(entry);
        }
    }
    out
}

fn parse_df_line(line: &str, with_type: bool) -> Option<DfEntry> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let min_prefix = if with_type { 2 } else { 1 };
    let k = (min_prefix + 3..tokens.len()).find(|&k| {
        let cap = tokens[k];
        (cap == "-"
            || cap
                .strip_suffix('%')
                .is_some_and(|p| p.parse::<u32>().is_ok()))
            && tokens[k - 3..k].iter().all(|t| t.parse::<u64>().is_ok())
    })?;
    let (prefix_fields, mount) = split_fields(line, k + 1)?;
    if mount.is_empty() {
        return None;
    }
    let num = |i: usize| tokens[i].parse::<u64>().ok();
    let (size_kb, used_kb, avail_kb) = (num(k - 3)?, num(k - 2)?, num(k - 1)?);
    let prefix = &prefix_fields[..k - 3];
    let (device, fs_type) = if with_type {
        let (ty, dev) = prefix.split_last()?;
        (dev.join(" "), Some(clip(ty)))
    } else {
        (prefix.join(" "), None)
    };
    Some(DfEntry {
        device: clip(&device),
        fs_type,
        size_kb,
        used_kb,
        avail_kb,
        mount: clip(mount),
    })
}

/// The `units` section: `systemd=no`, or `systemd=yes` followed by `systemctl show` output.
pub fn parse_units_section(text: &str) -> UnitsReport {
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("systemd=no") => UnitsReport::NoSystemd,
        Some("systemd=yes") => {
            let rest: Vec<&str> = lines.collect();
            UnitsReport::Units(parse_systemctl_show(&rest.join("\n")))
        }
        _ => UnitsReport::Missing,
    }
}

/// `systemctl show -p ...` for several units: `Key=Value` lines, one block per unit,
/// blocks separated by blank lines, in the order the units were named.
pub fn parse_systemctl_show(text: &str) -> Vec<UnitProps> {
    let mut out = Vec::new();
    let mut cur = UnitProps::default();
    let mut any = false;
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if any && out.len() < MAX_UNITS {
                out.push(std::mem::take(&mut cur));
            }
            any = false;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = clip(value.trim());
        match key.trim() {
            "Id" => cur.id = value,
            "LoadState" => cur.load_state = value,
            "ActiveState" => cur.active_state = value,
            "SubState" => cur.sub_state = value,
            _ => continue,
        }
        any = true;
    }
    out
}

/// `ps -eo pid,user:32,pcpu,pmem,rss,comm` (header line first; RSS in KiB).
/// `%CPU` here is ps's lifetime average, not the current rate.
pub fn parse_ps(text: &str) -> Vec<ProcessInfo> {
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_PROCESSES {
            break;
        }
        let Some((f, command)) = split_fields(line, 5) else {
            continue;
        };
        let (Ok(pid), Some(cpu_pct), Some(mem_pct), Ok(rss_kb)) = (
            f[0].parse::<u32>(),
            finite(f[2]).filter(|v| *v >= 0.0),
            finite(f[3]).filter(|v| *v >= 0.0),
            f[4].parse::<u64>(),
        ) else {
            continue;
        };
        out.push(ProcessInfo {
            pid,
            user: clip(f[1]),
            cpu_pct,
            mem_pct,
            rss_bytes: rss_kb.saturating_mul(1024),
            command: clip(command),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/health/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn real_double_sample_probe_parses_completely() {
        let p = parse_probe(fixture("probe-local-double.txt").as_bytes());
        assert!(p.header && p.complete);
        assert_eq!(p.samples.len(), 2);
        let (a, b) = (&p.samples[0], &p.samples[1]);
        assert!(b.uptime_secs.unwrap() > a.uptime_secs.unwrap());
        assert!(b.cpu.unwrap().total >= a.cpu.unwrap().total);
        let ifaces: Vec<&str> = a.net.iter().map(|n| n.iface.as_str()).collect();
        assert_eq!(ifaces, ["lo", "ifb0", "ifb1", "eth0"]);
        assert_eq!(p.cores, Some(2));
        assert!(p.procs.unwrap() > 0);
        assert!(p.loadavg.is_some());
        let mem = p.meminfo.unwrap();
        assert_eq!(mem.total_kb, Some(24684092));
        assert!(mem.available_kb.unwrap() <= mem.total_kb.unwrap());
        assert!(
            p.disks
                .iter()
                .any(|d| d.mount == "/" && d.fs_type.as_deref() == Some("ext4"))
        );
        // This machine has no systemd: the script says so instead of calling systemctl.
        assert_eq!(p.units, UnitsReport::NoSystemd);
        assert_eq!(p.top_cpu.len(), 10);
        assert_eq!(p.top_mem.len(), 10);
        assert!(
            p.top_mem
                .windows(2)
                .all(|w| w[0].rss_bytes >= w[1].rss_bytes)
        );
    }

    #[test]
    fn single_sample_without_units() {
        let p = parse_probe(fixture("probe-local-single.txt").as_bytes());
        assert!(p.complete);
        assert_eq!(p.samples.len(), 1);
        assert_eq!(p.units, UnitsReport::Missing);
    }

    #[test]
    fn busybox_host_without_ps_columns() {
        // Captured with busybox sh and busybox applets only (an Alpine-like host).
        let p = parse_probe(fixture("probe-busybox.txt").as_bytes());
        assert!(p.complete);
        assert_eq!(p.samples.len(), 2);
        assert!(p.top_cpu.is_empty());
        assert_eq!(p.units, UnitsReport::NoSystemd);
        // busybox lists /dev/shm twice; it is kept once.
        assert_eq!(p.disks.iter().filter(|d| d.mount == "/dev/shm").count(), 1);
        assert!(
            p.disks
                .iter()
                .any(|d| d.device == "model_tools_unavailable" && d.size_kb == 4)
        );
    }

    #[test]
    fn stat_cpu_line() {
        let t = parse_stat_cpu(&fixture("proc-stat.txt")).unwrap();
        let line = fixture("proc-stat.txt");
        let nums: Vec<u64> = line
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(t.total, nums[..8].iter().sum::<u64>());
        assert_eq!(t.idle, nums[3] + nums[4]);
        assert_eq!(parse_stat_cpu("cpu0 1 2 3 4\n"), None);
        assert_eq!(
            parse_stat_cpu("cpu  1 2 3 4\n"),
            Some(CpuTimes { total: 10, idle: 4 })
        );
        assert_eq!(parse_stat_cpu("cpu  1 2 x 4\n"), None);
    }

    #[test]
    fn meminfo_and_old_kernel_fallback() {
        let m = parse_meminfo(&fixture("proc-meminfo.txt"));
        assert!(m.total_kb.unwrap() > 0);
        assert_eq!(m.swap_total_kb, Some(0));
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n";
        assert_eq!(parse_meminfo(old).available_kb, Some(400));
    }

    #[test]
    fn net_dev_handles_glued_counters() {
        let real = parse_net_dev(&fixture("netdev-a.txt"));
        assert!(real.iter().any(|n| n.iface == "lo"));
        let glued = "Inter-|...\n face |...\n  eth0:4294967296 10 0 0 0 0 0 0 77 5 0 0 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(glued),
            vec![NetCounters {
                iface: "eth0".into(),
                rx_bytes: 4294967296,
                tx_bytes: 77
            }]
        );
    }

    #[test]
    fn df_with_and_without_type() {
        let t = parse_df(&fixture("df-PkT.txt"));
        let p = parse_df(&fixture("df-Pk.txt"));
        assert_eq!(t.len(), p.len());
        for (a, b) in t.iter().zip(&p) {
            assert_eq!((&a.device, &a.mount), (&b.device, &b.mount));
            assert!(a.fs_type.is_some() && b.fs_type.is_none());
        }
        let root = t.iter().find(|d| d.mount == "/").unwrap();
        assert_eq!(root.device, "/dev/vda");
        assert!(root.used_kb + root.avail_kb <= root.size_kb);
    }

    #[test]
    fn df_mount_with_spaces() {
        let text = "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n\
                    /dev/sdb1 ext4 1000 930 70 93% /srv/my data\n";
        let d = parse_df(text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].mount, "/srv/my data");
        assert_eq!(d[0].fs_type.as_deref(), Some("ext4"));
        assert_eq!((d[0].size_kb, d[0].used_kb, d[0].avail_kb), (1000, 930, 70));
    }

    #[test]
    fn systemctl_show_blocks() {
        let text = fixture("systemctl-show.txt");
        let units = parse_systemctl_show(&text);
        assert_eq!(units.len(), 3);
        assert_eq!(units[0].id, "nginx.service");
        assert_eq!(units[0].active_state, "active");
        assert_eq!(units[1].active_state, "failed");
        assert_eq!(units[2].load_state, "not-found");
    }

    #[test]
    fn ps_keeps_spaces_in_commands() {
        let rows =
            parse_ps("  PID USER %CPU %MEM RSS COMMAND\n  42 www-data 12.5 1.0 2048 Web Content\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].command, "Web Content");
        assert_eq!(rows[0].rss_bytes, 2048 * 1024);
        let real = parse_ps(&fixture("ps-cpu.txt"));
        assert_eq!(real.len(), 10);
        assert!(real.windows(2).all(|w| w[0].cpu_pct >= w[1].cpu_pct));
    }

    #[test]
    fn garbage_and_truncation() {
        let p = parse_probe(b"sh: 1: Syntax error\n==loadavg==\n1 2 3 1/1 1\n==end==\n");
        assert!(!p.header && !p.complete && p.loadavg.is_none());
        let mut chatty = b"Welcome to web1!\n".to_vec();
        chatty.extend_from_slice(fixture("probe-local-single.txt").as_bytes());
        let p = parse_probe(&chatty);
        assert!(p.header && p.complete && p.loadavg.is_some());
        let full = fixture("probe-local-double.txt");
        let cut = &full[..full.find("==df==").unwrap()];
        let p = parse_probe(cut.as_bytes());
        assert!(p.header && !p.complete);
        assert!(p.disks.is_empty());
        assert!(p.meminfo.is_some());
        assert_eq!(parse_loadavg("nan 1 2 1/2 3"), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = parse_probe(&data);
        }

        #[test]
        fn mutated_real_capture_never_panics(
            edits in proptest::collection::vec((0usize..8192, proptest::prelude::any::<u8>()), 1..64),
            cut in 0usize..8192,
        ) {
            let mut data = fixture("probe-local-double.txt").into_bytes();
            for (at, byte) in edits {
                let at = at % data.len();
                data[at] = byte;
            }
            data.truncate(cut.max(1));
            let p = parse_probe(&data);
            proptest::prop_assert!(p.samples.len() <= MAX_SAMPLES);
        }

        #[test]
        fn arbitrary_sections_never_panic(
            parts in proptest::collection::vec(
                (proptest::sample::select(vec!["uptime", "stat", "netdev", "loadavg", "meminfo", "nproc", "procs", "df", "units", "ps-cpu", "ps-mem", "end"]),
                 "([ -~\n%=:|]|\\PC){0,200}"),
                0..16)
        ) {
            let mut text = String::from(PROBE_HEADER);
            text.push('\n');
            for (name, body) in parts {
                text.push_str(&format!("=={name}==\n{body}\n"));
            }
            let p = parse_probe(text.as_bytes());
            proptest::prop_assert!(p.samples.len() <= MAX_SAMPLES);
        }
    }
}
