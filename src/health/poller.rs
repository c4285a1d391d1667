//! Polling for a live view: one task per host probes at an interval, one task runs
//! the HTTP checks. Results go out on a channel of the caller's event type
//! (`wrap` turns a result into it), so this module knows nothing of its readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{CheckResult, HostHealth, HostProbe, Status, run_http_check};
use crate::config::{HttpCheck, Thresholds};
use crate::remote::Remote;

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// How long one poll may take. A poll right after a successful one gets at most
/// one interval (at least a second), so a host that hangs shows as unreachable
/// within two intervals instead of after the full SSH timeouts. The first poll and
/// polls of a host that is not answering get the profile's whole connect + command
/// budget: connecting may be slow, and a slow host must not be cut off for ever.
pub fn poll_timeout(full: Duration, interval: Duration, last_ok: bool) -> Duration {
    if last_ok {
        full.min(interval.max(Duration::from_secs(1)))
    } else {
        full
    }
}

/// Something that can report one host's health, again and again.
#[async_trait]
pub trait HostPoller: Send {
    async fn poll(&mut self) -> HostHealth;
}

/// The health probe over a host's remote.
pub struct ProbePoller {
    pub probe: HostProbe,
    pub remote: Arc<dyn Remote>,
    /// The profile's connect + command budget.
    pub full_timeout: Duration,
    pub interval: Duration,
    /// Whether polls list processes; flipped by whoever shows them.
    pub processes: Arc<AtomicBool>,
    last_ok: bool,
}

impl ProbePoller {
    pub fn new(
        probe: HostProbe,
        remote: Arc<dyn Remote>,
        full_timeout: Duration,
        interval: Duration,
    ) -> Self {
        ProbePoller {
            probe,
            remote,
            full_timeout,
            interval,
            processes: Arc::new(AtomicBool::new(false)),
            last_ok: false,
        }
    }
}

#[async_trait]
impl HostPoller for ProbePoller {
    async fn poll(&mut self) -> HostHealth {
        let timeout = poll_timeout(self.full_timeout, self.interval, self.last_ok);
        self.probe
            .set_processes(self.processes.load(Ordering::Relaxed));
        let health = self.probe.poll(self.remote.as_ref(), timeout).await;
        self.last_ok = health.status != Status::Unreachable;
        health
    }
}

/// One poll's result: host index (in the order pollers were given), health, Unix time.
#[derive(Debug, Clone, PartialEq)]
pub struct PollResult {
    pub host: usize,
    pub health: HostHealth,
    pub at: i64,
}

/// Polls start in slots: at most [`SLOTS_PER_SEC`] a second, with at most
/// [`HOSTS_PER_SLOT`] hosts each. One wakeup then handles several hosts' polls
/// (a fleet polled one host at a time costs the client a park/unpark per poll:
/// measured, 50 hosts every 2 s, 2.6 % of a core spread evenly vs 1.7 % in four
/// slots a second), while a large fleet is still spread over the interval.
const SLOTS_PER_SEC: u32 = 2;
const HOSTS_PER_SLOT: u32 = 32;

/// When host `host` of `n` first polls (then every `interval`).
pub fn start_delay(host: usize, n: u32, interval: Duration) -> Duration {
    let by_rate = (interval.as_secs_f64() * f64::from(SLOTS_PER_SEC)).round() as u32;
    let slots = by_rate.max(n.div_ceil(HOSTS_PER_SLOT)).clamp(1, n.max(1));
    let slot = u32::try_from(host).unwrap_or(0) % slots;
    interval / slots * slot
}

/// Starts one polling task per host. Host `i` of `pollers` reports as host `i`.
/// Starts are spread over the interval in slots (see [`start_delay`]).
pub fn spawn_pollers<E, F>(
    pollers: Vec<Box<dyn HostPoller>>,
    interval: Duration,
    tx: mpsc::Sender<E>,
    wrap: F,
) -> Vec<JoinHandle<()>>
where
    E: Send + 'static,
    F: Fn(PollResult) -> E + Send + Sync + 'static,
{
    let n = u32::try_from(pollers.len().max(1)).unwrap_or(u32::MAX);
    let wrap = Arc::new(wrap);
    pollers
        .into_iter()
        .enumerate()
        .map(|(host, mut poller)| {
            let tx = tx.clone();
            let wrap = wrap.clone();
            let delay = start_delay(host, n, interval);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let health = poller.poll().await;
                    let ev = wrap(PollResult {
                        host,
                        health,
                        at: unix_now(),
                    });
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

/// Runs the HTTP/TLS checks every interval (all at once) and sends the results
/// together. `None` when there are no checks.
pub fn spawn_http_checks<E, F>(
    checks: Vec<HttpCheck>,
    thresholds: Thresholds,
    interval: Duration,
    tx: mpsc::Sender<E>,
    wrap: F,
) -> Option<JoinHandle<()>>
where
    E: Send + 'static,
    F: Fn(Vec<CheckResult>) -> E + Send + 'static,
{
    if checks.is_empty() {
        return None;
    }
    super::http::ensure_crypto_provider();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let results =
                futures::future::join_all(checks.iter().map(|c| run_http_check(c, &thresholds)))
                    .await;
            if tx.send(wrap(results)).await.is_err() {
                return;
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(u32);

    #[async_trait]
    impl HostPoller for Counting {
        async fn poll(&mut self) -> HostHealth {
            self.0 += 1;
            HostHealth {
                name: format!("poll{}", self.0),
                status: Status::Up,
                ..HostHealth::default()
            }
        }
    }

    #[tokio::test]
    async fn pollers_report_per_host_at_the_interval() {
        let (tx, mut rx) = mpsc::channel(16);
        let tasks = spawn_pollers(
            vec![Box::new(Counting(0)), Box::new(Counting(100))],
            Duration::from_millis(40),
            tx,
            |r| r,
        );
        let mut seen = std::collections::BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seen.values().filter(|&&n| n >= 2).count() < 2 {
            let r = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            *seen.entry(r.host).or_insert(0) += 1;
            let expect = if r.host == 0 { "poll" } else { "poll1" };
            assert!(
                r.health.name.starts_with(expect),
                "{}: {}",
                r.host,
                r.health.name
            );
        }
        for t in tasks {
            t.abort();
        }
    }

    #[test]
    fn polls_start_in_slots_spread_over_the_interval() {
        let i = Duration::from_secs(2);
        // 50 hosts every 2 s: four slots, half a second apart.
        let delays: std::collections::BTreeSet<u128> =
            (0..50).map(|h| start_delay(h, 50, i).as_millis()).collect();
        assert_eq!(delays.into_iter().collect::<Vec<_>>(), [0, 500, 1000, 1500]);
        // 1,000 hosts: no slot holds more than 32.
        let mut per_slot = std::collections::BTreeMap::new();
        for h in 0..1000 {
            *per_slot.entry(start_delay(h, 1000, i)).or_insert(0) += 1;
        }
        assert!(per_slot.values().all(|&c| c <= 32), "{per_slot:?}");
        assert!(per_slot.keys().all(|d| *d < i));
        // Two hosts: two slots; one host: at once.
        assert_eq!(start_delay(1, 2, i), Duration::from_secs(1));
        assert_eq!(start_delay(0, 1, i), Duration::ZERO);
    }

    #[test]
    fn polls_after_a_good_one_are_bounded_by_the_interval() {
        let full = Duration::from_secs(15);
        assert_eq!(poll_timeout(full, Duration::from_secs(2), false), full);
        assert_eq!(
            poll_timeout(full, Duration::from_secs(2), true),
            Duration::from_secs(2)
        );
        assert_eq!(
            poll_timeout(full, Duration::from_millis(100), true),
            Duration::from_secs(1)
        );
        assert_eq!(poll_timeout(full, Duration::from_secs(60), true), full);
    }

    #[tokio::test]
    async fn the_process_flag_reaches_the_probe() {
        use crate::health::ProbeTarget;
        use crate::remote::local::LocalRemote;
        let probe = HostProbe::new(ProbeTarget::default(), Thresholds::default())
            .with_sample_pause(Duration::ZERO);
        let mut poller = ProbePoller::new(
            probe,
            Arc::new(LocalRemote::new("local")),
            Duration::from_secs(10),
            Duration::from_secs(1),
        );
        let h = poller.poll().await;
        assert!(
            h.top.is_empty(),
            "processes are off by default: {:?}",
            h.top
        );
        poller.processes.store(true, Ordering::Relaxed);
        let h = poller.poll().await;
        assert!(!h.top.is_empty(), "processes on: {h:?}");
    }
}
