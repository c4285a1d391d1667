//! Benchmark driver (run by benches/health_sweep.sh): one health sweep of N hosts,
//! all of them this machine through `LocalRemote`, and the probe parser's speed.
//! Usage: health_sweep [HOSTS] [PARSE_ITERATIONS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsctl::config::HealthSettings;
use opsctl::health::parse::parse_probe;
use opsctl::health::{ProbeTarget, Status, sweep};
use opsctl::remote::Remote;
use opsctl::remote::local::LocalRemote;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let hosts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let iterations: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);

    let targets: Vec<(ProbeTarget, Arc<dyn Remote>)> = (0..hosts)
        .map(|i| {
            let name = format!("local{i}");
            let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new(name.clone()));
            let target = ProbeTarget {
                name: name.clone(),
                address: name,
                roles: Vec::new(),
                services: vec!["nginx".into()],
            };
            (target, remote)
        })
        .collect();
    let started = Instant::now();
    let report = sweep(targets, &HealthSettings::default(), Duration::from_secs(20)).await;
    let sweep_ms = started.elapsed().as_secs_f64() * 1000.0;
    let reached = report
        .hosts
        .iter()
        .filter(|h| h.status != Status::Unreachable)
        .count();
    println!("sweep hosts={hosts} reached={reached} wall_ms={sweep_ms:.0}");

    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/health/probe-local-double.txt"
    );
    let text = std::fs::read(fixture).expect("fixture present");
    let started = Instant::now();
    let cpu_before = cpu_secs();
    let mut disks = 0;
    for _ in 0..iterations {
        disks += parse_probe(std::hint::black_box(&text)).disks.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_before;
    println!(
        "parse iterations={iterations} bytes={} wall_us_per_probe={:.1} cpu_us_per_probe={:.1} cpu_MB_per_s={:.1} (disks seen {disks})",
        text.len(),
        secs * 1e6 / iterations as f64,
        cpu * 1e6 / iterations as f64,
        (text.len() * iterations) as f64 / cpu / 1e6
    );
}

/// CPU time of this process (user + system): meaningful on a busy machine where
/// wall time is not.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
