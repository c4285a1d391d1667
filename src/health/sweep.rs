//! One health sweep of a fleet: every host and every HTTP check at once, each
//! bounded by its own timeout, so one hung host never delays the others.

use std::sync::Arc;
use std::time::Duration;

use crate::config::HealthSettings;
use crate::remote::Remote;

use super::http::run_http_check;
use super::model::{CheckResult, HostHealth, Status, SweepReport};
use super::probe::{HostProbe, ProbeTarget};
use crate::remote::ErrorKind;

/// Extra time a probe task gets beyond `timeout` before it is abandoned. The probe
/// bounds itself; this only guards against a `Remote` that blocks its thread.
const TASK_GRACE: Duration = Duration::from_secs(1);

/// Probes every host (the first poll of a fresh [`HostProbe`], so CPU and network
/// figures come from the script's own double sample) and runs the profile's HTTP
/// checks, all in parallel. Each host is bounded by `timeout`; each check by its own
/// `timeout_secs`. Results are in input order.
pub async fn sweep(
    hosts: Vec<(ProbeTarget, Arc<dyn Remote>)>,
    settings: &HealthSettings,
    timeout: Duration,
) -> SweepReport {
    let probes = hosts
        .into_iter()
        .map(|(target, remote)| (HostProbe::new(target, settings.thresholds.clone()), remote))
        .collect();
    sweep_probes(probes, settings, timeout).await.0
}

/// A host's probe state with the road to it; kept across sweeps so later sweeps
/// compute CPU and network figures from deltas instead of pausing to sample twice.
pub type ProbedHost = (HostProbe, Arc<dyn Remote>);

/// [`sweep`] over probes that live across sweeps (`opsctl health --watch`): returns
/// the report and the probes, updated, for the next sweep.
pub async fn sweep_probes(
    probes: Vec<ProbedHost>,
    settings: &HealthSettings,
    timeout: Duration,
) -> (SweepReport, Vec<ProbedHost>) {
    let host_tasks: Vec<_> = probes
        .into_iter()
        .map(|(probe, remote)| {
            let fallback = probe.clone();
            let task_remote = remote.clone();
            let task = tokio::spawn(async move {
                let mut probe = probe;
                let health = probe.poll(task_remote.as_ref(), timeout).await;
                (health, probe)
            });
            (fallback, remote, task)
        })
        .collect();
    let check_tasks: Vec<_> = settings
        .http
        .iter()
        .map(|check| {
            let check = check.clone();
            let thresholds = settings.thresholds.clone();
            tokio::spawn(async move { run_http_check(&check, &thresholds).await })
        })
        .collect();

    let hosts = futures::future::join_all(host_tasks.into_iter().map(
        |(fallback, remote, task)| async move {
            let (health, probe) = finish_host(fallback, task, timeout).await;
            (health, (probe, remote))
        },
    ));
    let checks = futures::future::join_all(settings.http.iter().zip(check_tasks).map(
        |(check, task)| async move {
            task.await.unwrap_or_else(|e| CheckResult {
                name: check.name.clone(),
                url: check.url.clone(),
                status: Status::Critical,
                http_status: None,
                latency_ms: None,
                cert_days_left: None,
                error: Some(format!("check task failed: {e}")),
            })
        },
    ));
    let (hosts, checks) = futures::join!(hosts, checks);
    let (hosts, probes): (Vec<HostHealth>, Vec<ProbedHost>) = hosts.into_iter().unzip();
    (SweepReport { hosts, checks }, probes)
}

async fn finish_host(
    fallback: HostProbe,
    mut task: tokio::task::JoinHandle<(HostHealth, HostProbe)>,
    timeout: Duration,
) -> (HostHealth, HostProbe) {
    match tokio::time::timeout(timeout + TASK_GRACE, &mut task).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => (
            fallback.unreachable(ErrorKind::Other, format!("probe task failed: {e}")),
            fallback,
        ),
        Err(_) => {
            task.abort();
            let health = fallback.unreachable(
                ErrorKind::Timeout,
                format!(
                    "health probe timed out after {}",
                    crate::remote::seconds(timeout)
                ),
            );
            (health, fallback)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpCheck;
    use crate::remote::local::LocalRemote;
    use crate::remote::{Command, Forward, LineStream, Output, RemoteError};
    use std::time::Instant;

    /// A host that accepts the command and never answers.
    struct Hung;

    #[async_trait::async_trait]
    impl Remote for Hung {
        fn name(&self) -> &str {
            "hung"
        }
        async fn run(&self, _: &Command) -> Result<Output, RemoteError> {
            std::future::pending().await
        }
        async fn stream(&self, _: &Command) -> Result<LineStream, RemoteError> {
            std::future::pending().await
        }
        async fn forward(&self, _: &str, _: u16) -> Result<Forward, RemoteError> {
            std::future::pending().await
        }
    }

    fn target(name: &str) -> ProbeTarget {
        ProbeTarget {
            name: name.into(),
            address: name.into(),
            roles: Vec::new(),
            services: Vec::new(),
        }
    }

    /// The console runs probes and sweeps on spawned tasks: their futures must be Send.
    #[allow(dead_code)]
    fn futures_are_send(probe: &mut HostProbe, remote: &dyn Remote, settings: &HealthSettings) {
        fn send<T: Send>(_: &T) {}
        send(&probe.poll(remote, Duration::from_secs(1)));
        send(&sweep(Vec::new(), settings, Duration::from_secs(1)));
        send(&sweep_probes(Vec::new(), settings, Duration::from_secs(1)));
        send(&run_http_check(&settings.http[0], &settings.thresholds));
    }

    #[tokio::test]
    async fn a_hung_host_does_not_hold_up_the_sweep() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = HealthSettings {
            http: vec![HttpCheck {
                name: "closed".into(),
                url: format!("http://127.0.0.1:{port}/"),
                expect_status: 200,
                expect_body: None,
                timeout_secs: 2.0,
                ca_file: None,
                resolve: None,
                headers: Vec::new(),
                basic_auth: None,
            }],
            ..HealthSettings::default()
        };
        let hosts: Vec<(ProbeTarget, Arc<dyn Remote>)> = vec![
            (target("stuck"), Arc::new(Hung)),
            (target("local"), Arc::new(LocalRemote::new("local"))),
        ];
        let timeout = Duration::from_secs(3);
        let started = Instant::now();
        let report = sweep(hosts, &settings, timeout).await;
        let took = started.elapsed();
        assert!(took < timeout + Duration::from_millis(500), "{took:?}");
        assert!(
            took >= timeout,
            "the hung host is waited for, up to the timeout"
        );

        let names: Vec<&str> = report.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["stuck", "local"]);
        let stuck = &report.hosts[0];
        assert_eq!(stuck.status, Status::Unreachable);
        assert_eq!(
            stuck.error.as_deref(),
            Some("health probe on stuck timed out after 3s")
        );
        let local = &report.hosts[1];
        assert_ne!(local.status, Status::Unreachable, "{:?}", local.error);
        assert!(local.cpu_pct.is_some());
        assert_eq!(report.checks.len(), 1);
        assert_eq!(
            report.checks[0].error.as_deref(),
            Some("connection refused")
        );
        assert_eq!(report.worst(), Status::Unreachable);
    }

    #[tokio::test]
    async fn probes_carry_over_so_later_sweeps_use_deltas() {
        let settings = HealthSettings::default();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("local"));
        let probes = vec![(
            HostProbe::new(target("local"), settings.thresholds.clone()),
            remote,
        )];
        let timeout = Duration::from_secs(10);
        let (first, probes) = sweep_probes(probes, &settings, timeout).await;
        assert!(first.hosts[0].cpu_pct.is_some());
        let (second, probes) = sweep_probes(probes, &settings, timeout).await;
        assert_eq!(probes.len(), 1);
        assert!(
            second.hosts[0].cpu_pct.is_some(),
            "CPU from the delta to the first sweep"
        );
        assert!(probes[0].0.last_seen().is_some());
    }
}
