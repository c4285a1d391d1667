//! Collectors: tokio tasks that reach hosts and send typed events to the UI. One
//! task per host polls at the profile's interval; a log tail task streams the
//! open host's journal unit or file. Nothing here touches the UI state.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::app::LogTarget;
use super::event::Event;
use crate::config::{HttpCheck, Thresholds};
use crate::health::{HostHealth, HostProbe, run_http_check};
use crate::remote::{Command, Remote, StreamEvent};

/// Lines a log tail asks for when it starts, so the pane is not empty.
const LOG_BACKLOG: &str = "200";
/// Lines sent to the UI in one event at most (a burst becomes few events).
const LOG_BATCH: usize = 256;

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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

/// The health engine's probe over a host's remote.
pub struct ProbePoller {
    pub probe: HostProbe,
    pub remote: Arc<dyn Remote>,
    /// The profile's connect + command budget.
    pub full_timeout: Duration,
    pub interval: Duration,
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
            last_ok: false,
        }
    }
}

#[async_trait]
impl HostPoller for ProbePoller {
    async fn poll(&mut self) -> HostHealth {
        let timeout = poll_timeout(self.full_timeout, self.interval, self.last_ok);
        let health = self.probe.poll(self.remote.as_ref(), timeout).await;
        self.last_ok = health.status != crate::health::Status::Unreachable;
        health
    }
}

/// Runs the profile's HTTP/TLS checks every interval (all at once) and sends the
/// results as one event.
pub fn spawn_http_checks(
    checks: Vec<HttpCheck>,
    thresholds: Thresholds,
    interval: Duration,
    tx: mpsc::Sender<Event>,
) -> Option<JoinHandle<()>> {
    if checks.is_empty() {
        return None;
    }
    crate::health::http::ensure_crypto_provider();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let results =
                futures::future::join_all(checks.iter().map(|c| run_http_check(c, &thresholds)))
                    .await;
            if tx.send(Event::Checks(results)).await.is_err() {
                return;
            }
        }
    }))
}

/// Starts one polling task per host. Host `i` of `pollers` reports as host `i`.
/// Starts are spread over the interval so a large fleet does not poll in bursts.
pub fn spawn_pollers(
    pollers: Vec<Box<dyn HostPoller>>,
    interval: Duration,
    tx: mpsc::Sender<Event>,
) -> Vec<JoinHandle<()>> {
    let n = pollers.len().max(1) as u32;
    pollers
        .into_iter()
        .enumerate()
        .map(|(host, mut poller)| {
            let tx = tx.clone();
            let delay = interval / n * host as u32;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let health = poller.poll().await;
                    let ev = Event::Health {
                        host,
                        health: Box::new(health),
                        at: unix_now(),
                    };
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

/// The command that follows a log source, as argv (never a shell string).
pub fn tail_command(target: &LogTarget) -> Command {
    match target {
        LogTarget::Unit(unit) => Command::new("journalctl")
            .args([
                "--no-pager",
                "-o",
                "short-iso",
                "-n",
                LOG_BACKLOG,
                "-f",
                "-u",
            ])
            .arg(unit.clone()),
        LogTarget::File(path) => Command::new("tail")
            .args(["-n", LOG_BACKLOG, "-F", "--"])
            .arg(path.clone()),
    }
}

/// Streams a log source into `LogLines` events until the command ends or the task
/// is aborted (which drops the stream and so stops the remote command).
pub fn spawn_log_tail(
    host: usize,
    remote: Arc<dyn Remote>,
    target: LogTarget,
    tx: mpsc::Sender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let cmd = tail_command(&target);
        let mut stream = match remote.stream(&cmd).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx
                    .send(Event::LogEnded {
                        host,
                        reason: e.to_string(),
                    })
                    .await;
                return;
            }
        };
        let mut last_err = String::new();
        while let Some(first) = stream.recv().await {
            let mut lines = Vec::new();
            let mut ended = None;
            let mut take = |ev: StreamEvent, lines: &mut Vec<String>| match ev {
                StreamEvent::Stdout(l) => lines.push(l),
                StreamEvent::Stderr(l) => {
                    last_err = l.clone();
                    lines.push(l);
                }
                StreamEvent::Exit(code) => ended = Some(code),
            };
            take(first, &mut lines);
            while lines.len() < LOG_BATCH {
                match stream.try_recv() {
                    Ok(ev) => take(ev, &mut lines),
                    Err(_) => break,
                }
            }
            if !lines.is_empty() && tx.send(Event::LogLines { host, lines }).await.is_err() {
                return;
            }
            if let Some(code) = ended {
                let reason = match code {
                    Some(c) if !last_err.is_empty() => format!("exit {c}: {last_err}"),
                    Some(c) => format!("{} exited with {c}", cmd.program()),
                    None => format!("{} ended", cmd.program()),
                };
                let _ = tx.send(Event::LogEnded { host, reason }).await;
                return;
            }
        }
        let _ = tx
            .send(Event::LogEnded {
                host,
                reason: "connection closed".into(),
            })
            .await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Status;
    use crate::remote::local::LocalRemote;

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
        );
        let mut seen = std::collections::BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seen.values().filter(|&&n| n >= 2).count() < 2 {
            let ev = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            if let Event::Health { host, health, .. } = ev {
                *seen.entry(host).or_insert(0) += 1;
                let expect = if host == 0 { "poll" } else { "poll1" };
                assert!(health.name.starts_with(expect), "{host}: {}", health.name);
            }
        }
        for t in tasks {
            t.abort();
        }
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

    #[test]
    fn tail_commands_are_argv() {
        let c = tail_command(&LogTarget::Unit("nginx; rm -rf /".into()));
        assert_eq!(c.argv().last().unwrap(), "nginx; rm -rf /");
        assert!(
            c.to_shell().ends_with("'nginx; rm -rf /'"),
            "{}",
            c.to_shell()
        );
        let c = tail_command(&LogTarget::File("/var/log/x.log".into()));
        assert_eq!(c.argv()[..4], ["tail", "-n", "200", "-F"]);
    }

    #[tokio::test]
    async fn log_tail_streams_a_real_file_and_sees_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("local"));
        let task = spawn_log_tail(3, remote, LogTarget::File(path.display().to_string()), tx);
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut appended = false;
        while !got.contains(&"three".to_string()) {
            let ev = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            match ev {
                Event::LogLines { host, lines } => {
                    assert_eq!(host, 3);
                    got.extend(lines);
                }
                other => panic!("{other:?}"),
            }
            if !appended && got.contains(&"two".to_string()) {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                writeln!(f, "three").unwrap();
                appended = true;
            }
        }
        assert_eq!(got, ["one", "two", "three"]);
        task.abort();
    }

    #[tokio::test]
    async fn a_missing_file_shows_the_error_in_the_pane() {
        // tail -F keeps retrying a missing file; its complaint is what the user needs.
        let (tx, mut rx) = mpsc::channel(16);
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("local"));
        let task = spawn_log_tail(
            0,
            remote,
            LogTarget::File("/nonexistent/dir/x.log".into()),
            tx,
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        match tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::LogLines { lines, .. } => {
                assert!(
                    lines.iter().any(|l| l.contains("/nonexistent/dir/x.log")),
                    "{lines:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        task.abort();
    }
}
