//! The health gate a host passes after its switch, and the probes of the
//! post-deploy watch. Requests go from here to each host directly (not through
//! the load balancer, which would hide which host answers).

use std::time::{Duration, Instant};

use crate::config::app::{AppHealth, WatchSettings};
use crate::config::{HttpCheck, Thresholds};
use crate::health::http::run_http_check;

use super::fleet::AppHost;
use super::traffic::AccessLogs;

/// The health URL of `host`.
pub fn url_for(health: &AppHealth, host: &AppHost) -> String {
    health
        .url
        .replace("{address}", &host.address)
        .replace("{host}", &host.name)
}

fn check(health: &AppHealth, url: String, expect_body: Option<String>) -> HttpCheck {
    HttpCheck {
        name: "deploy gate".into(),
        url,
        expect_status: health.expect_status,
        expect_body,
        timeout_secs: health.timeout_secs,
        ca_file: health.ca_file.clone(),
        resolve: None,
        headers: Vec::new(),
        basic_auth: None,
    }
}

/// Passes when the host answers its health URL as expected, within the retries.
/// `Err` carries the last answer.
pub async fn pass(health: &AppHealth, host: &AppHost) -> Result<String, String> {
    let c = check(health, url_for(health, host), health.expect_body.clone());
    let thresholds = Thresholds::default();
    let mut last = String::new();
    for attempt in 1..=health.retries {
        let r = run_http_check(&c, &thresholds).await;
        let ok = r.http_status == Some(health.expect_status) && r.error.is_none();
        if ok {
            return Ok(format!(
                "{} answered {} in {:.0} ms",
                c.url,
                health.expect_status,
                r.latency_ms.unwrap_or(0.0)
            ));
        }
        last = r
            .error
            .unwrap_or_else(|| format!("status {:?}", r.http_status));
        if attempt < health.retries {
            tokio::time::sleep(Duration::from_secs_f64(health.interval_secs)).await;
        }
    }
    Err(format!(
        "{} failed its health gate after {} tries: {last}",
        c.url, health.retries
    ))
}

/// The URLs the watch probes on `host`: each watched path on the health URL's
/// origin, else the health URL itself.
pub fn watch_urls(health: &AppHealth, watch: &WatchSettings, host: &AppHost) -> Vec<String> {
    let url = url_for(health, host);
    if watch.paths.is_empty() {
        return vec![url];
    }
    let origin = origin(&url);
    watch.paths.iter().map(|p| format!("{origin}{p}")).collect()
}

/// `https://h:8000/healthz?x` → `https://h:8000`.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// What a round of probes saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub latencies_ms: Vec<f64>,
    /// Answers 5xx, or none at all.
    pub errors: usize,
}

impl Samples {
    pub fn total(&self) -> usize {
        self.latencies_ms.len() + self.errors
    }

    pub fn error_rate(&self) -> f64 {
        if self.total() == 0 {
            0.0
        } else {
            self.errors as f64 / self.total() as f64
        }
    }

    pub fn p95_ms(&self) -> Option<f64> {
        if self.latencies_ms.is_empty() {
            return None;
        }
        let mut v = self.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64) * 0.95).ceil() as usize;
        v.get(i.saturating_sub(1).min(v.len() - 1)).copied()
    }

    pub fn merge(&mut self, other: Samples) {
        self.latencies_ms.extend(other.latencies_ms);
        self.errors += other.errors;
    }
}

/// Probes each URL once, one after another; 4xx counts as an answer (a page that
/// is not there is not a broken app), 5xx and no answer as errors.
pub async fn probe(health: &AppHealth, urls: &[String]) -> Samples {
    let thresholds = Thresholds::default();
    let mut s = Samples::default();
    for url in urls {
        let c = check(health, url.clone(), None);
        let r = run_http_check(&c, &thresholds).await;
        match (r.http_status, r.latency_ms) {
            (Some(code), Some(ms)) if code < 500 => s.latencies_ms.push(ms),
            _ => s.errors += 1,
        }
    }
    s
}

/// Latencies the baseline counts, at least: with 16, its p95 is its slowest
/// probe, and one hiccup of a just-restarted worker blinds the watch (CI saw a
/// 250 ms baseline against a warm 25 ms).
const BASELINE_PROBES: usize = 48;
const BASELINE_MIN_ROUNDS: usize = 8;

/// Rounds the baseline takes for `urls`: enough for BASELINE_PROBES.
pub fn baseline_rounds(urls: usize) -> usize {
    BASELINE_PROBES
        .div_ceil(urls.max(1))
        .max(BASELINE_MIN_ROUNDS)
}

/// Probes `urls` (the watch's baseline, measured before any switch), after
/// twice the watch's warm-up: the workers it measures may have just started.
pub async fn baseline(health: &AppHealth, urls: &[String]) -> Samples {
    let mut all = Samples::default();
    for i in 0..baseline_rounds(urls.len()) + 2 * WARMUP_ROUNDS {
        let round = probe(health, urls).await;
        all.merge(warmed(round, i / 2));
    }
    all
}

/// Rounds whose latencies do not count: a worker's first requests (a fresh
/// process, cold caches and connections) are slow whatever the release.
const WARMUP_ROUNDS: usize = 2;

/// Round `i`'s samples as they count: a warm-up round keeps only its errors (an
/// error is an error however early).
fn warmed(mut round: Samples, i: usize) -> Samples {
    if i < WARMUP_ROUNDS {
        round.latencies_ms.clear();
    }
    round
}

/// Why the watch's probes would roll back, if they would.
pub fn regression(watch: &WatchSettings, base: &Samples, now: &Samples) -> Option<String> {
    regression_of(watch, base, now, "probes failed")
}

/// Why the real traffic in the access logs would roll back, if it would: judged
/// once it has `min_requests`, against the logs before the deploy when they had
/// as many (else by the absolute thresholds only).
pub fn traffic_regression(watch: &WatchSettings, logs: &AccessLogs<'_>) -> Option<String> {
    if logs.since.total() < watch.min_requests {
        return None;
    }
    let empty = Samples::default();
    let base = if logs.before.total() >= watch.min_requests {
        &logs.before
    } else {
        &empty
    };
    regression_of(watch, base, &logs.since, "requests answered 5xx")
        .map(|why| format!("access logs: {why}"))
}

fn regression_of(
    watch: &WatchSettings,
    base: &Samples,
    now: &Samples,
    failed: &str,
) -> Option<String> {
    if now.total() == 0 {
        return None;
    }
    let rate = now.error_rate();
    if rate > watch.max_error_rate {
        return Some(format!(
            "{:.0}% of {failed} ({} of {}; at most {:.0}% allowed)",
            rate * 100.0,
            now.errors,
            now.total(),
            watch.max_error_rate * 100.0
        ));
    }
    let p95 = now.p95_ms()?;
    if let Some(max) = watch.max_p95_ms {
        if p95 > max {
            return Some(format!("p95 latency {p95:.0} ms, above {max:.0} ms"));
        }
    }
    if let Some(b) = base.p95_ms() {
        // A floor keeps a 2 ms baseline from calling 7 ms a regression.
        let limit = (b * watch.max_p95_ratio).max(b + 20.0);
        if p95 > limit {
            return Some(format!(
                "p95 latency {p95:.0} ms, {:.1}x the {b:.0} ms before the deploy (at most {:.1}x)",
                p95 / b.max(0.001),
                watch.max_p95_ratio
            ));
        }
    }
    None
}

/// Probes the watch needs before it may roll back before its duration is over.
const EARLY_VERDICT_PROBES: usize = 20;

/// The access logs are read this often during the watch (a read per host).
const TRAFFIC_POLL: Duration = Duration::from_secs(2);

/// What one round of the watch saw: its probes, and the access logs' requests
/// when they were read in this round.
pub struct Round<'a> {
    pub probes: &'a Samples,
    pub traffic: Option<&'a Samples>,
}

/// Runs the watch: probes every host's URLs each interval for the duration, and
/// reads the access logs (when there are) every TRAFFIC_POLL; ends early at the
/// first regression of either (judged once enough requests are in). `on_round`
/// sees each round.
pub async fn watch(
    health: &AppHealth,
    watch: &WatchSettings,
    urls: &[String],
    base: &Samples,
    mut logs: Option<&mut AccessLogs<'_>>,
    mut on_round: impl FnMut(Round<'_>) + Send,
) -> Result<Samples, (String, Samples)> {
    let end = Instant::now() + Duration::from_secs_f64(watch.duration_secs);
    let mut all = Samples::default();
    let mut rounds = 0usize;
    let mut polled = Instant::now();
    while Instant::now() < end {
        let started = Instant::now();
        let round = probe(health, urls).await;
        let traffic = match logs.as_deref_mut() {
            Some(l) if polled.elapsed() >= TRAFFIC_POLL => {
                polled = Instant::now();
                Some(l.poll().await)
            }
            _ => None,
        };
        on_round(Round {
            probes: &round,
            traffic: traffic.as_ref(),
        });
        all.merge(warmed(round, rounds));
        rounds += 1;
        // Early judgement needs enough probes that one slow answer is not a verdict.
        if rounds >= WARMUP_ROUNDS + 3 && all.total() >= EARLY_VERDICT_PROBES {
            if let Some(why) = regression(watch, base, &all) {
                return Err((why, all));
            }
        }
        if let Some(why) = logs.as_deref().and_then(|l| traffic_regression(watch, l)) {
            return Err((why, all));
        }
        let interval = Duration::from_secs_f64(watch.interval_secs);
        if let Some(rest) = interval.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest.min(end.saturating_duration_since(Instant::now()))).await;
        }
    }
    if let Some(l) = logs.as_deref_mut() {
        let last = l.poll().await;
        on_round(Round {
            probes: &Samples::default(),
            traffic: Some(&last),
        });
    }
    let verdict = regression(watch, base, &all)
        .or_else(|| logs.as_deref().and_then(|l| traffic_regression(watch, l)));
    match verdict {
        Some(why) => Err((why, all)),
        None => Ok(all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch_settings() -> WatchSettings {
        WatchSettings {
            duration_secs: 10.0,
            paths: vec!["/products/".into()],
            interval_secs: 0.5,
            max_error_rate: 0.05,
            max_p95_ms: None,
            max_p95_ratio: 3.0,
            access_log: None,
            access_log_time_unit: Default::default(),
            min_requests: 20,
        }
    }

    fn samples(ms: &[f64], errors: usize) -> Samples {
        Samples {
            latencies_ms: ms.to_vec(),
            errors,
        }
    }

    #[test]
    fn a_slower_release_is_a_regression_and_noise_is_not() {
        let w = watch_settings();
        let base = samples(&[24.0, 25.0, 26.0, 30.0], 0);
        assert_eq!(
            regression(&w, &base, &samples(&[28.0, 35.0, 40.0], 0)),
            None
        );
        let why = regression(&w, &base, &samples(&[120.0, 122.0, 130.0], 0)).unwrap();
        assert!(why.contains("p95 latency 130 ms"), "{why}");
        let why = regression(&w, &base, &samples(&[25.0; 10], 2)).unwrap();
        assert!(why.contains("2 of 12"), "{why}");
        // Tiny baselines get a floor.
        let tiny = samples(&[2.0, 2.0], 0);
        assert_eq!(regression(&w, &tiny, &samples(&[9.0, 10.0], 0)), None);
        let mut abs = w.clone();
        abs.max_p95_ms = Some(50.0);
        assert!(regression(&abs, &base, &samples(&[60.0], 0)).is_some());
    }

    #[test]
    fn real_traffic_is_judged_once_there_is_enough_of_it() {
        let w = watch_settings();
        let before = samples(&[40.0; 30], 0);
        let logs = |since: Samples| AccessLogs::read_already(before.clone(), since);
        // Too few requests: no verdict, however bad.
        assert_eq!(traffic_regression(&w, &logs(samples(&[900.0; 5], 5))), None);
        assert_eq!(traffic_regression(&w, &logs(samples(&[42.0; 40], 1))), None);
        let why = traffic_regression(&w, &logs(samples(&[42.0; 30], 6))).unwrap();
        assert!(
            why.starts_with("access logs: 17% of requests answered 5xx (6 of 36"),
            "{why}"
        );
        let why = traffic_regression(&w, &logs(samples(&[400.0; 30], 0))).unwrap();
        assert!(why.contains("p95 latency 400 ms, 10.0x the 40 ms"), "{why}");
        // A baseline too small to compare with: only the absolute thresholds.
        let thin = AccessLogs::read_already(samples(&[40.0; 3], 0), samples(&[400.0; 30], 0));
        assert_eq!(traffic_regression(&w, &thin), None);
        let mut abs = w.clone();
        abs.max_p95_ms = Some(300.0);
        assert!(traffic_regression(&abs, &thin).is_some());
    }

    #[test]
    fn the_baseline_counts_enough_probes_for_a_p95_that_is_not_its_maximum() {
        assert_eq!(baseline_rounds(2), 24);
        assert_eq!(baseline_rounds(10), BASELINE_MIN_ROUNDS);
        assert_eq!(baseline_rounds(0), BASELINE_PROBES);
        // 48 probes with two hiccups: the p95 is not a hiccup.
        let mut ms = vec![25.0; 46];
        ms.extend([250.0, 240.0]);
        assert_eq!(samples(&ms, 0).p95_ms(), Some(25.0));
    }

    #[test]
    fn warm_up_rounds_keep_their_errors_not_their_latencies() {
        let r = warmed(samples(&[900.0, 800.0], 1), 0);
        assert!(r.latencies_ms.is_empty());
        assert_eq!(r.errors, 1);
        assert_eq!(
            warmed(samples(&[30.0], 0), WARMUP_ROUNDS).latencies_ms,
            [30.0]
        );
    }

    #[test]
    fn watched_paths_are_on_the_health_urls_origin() {
        let host = AppHost {
            name: "web1".into(),
            address: "127.0.0.2".into(),
            remote: std::sync::Arc::new(crate::remote::local::LocalRemote::new("web1")),
            path: "/srv/shop".into(),
        };
        let health = AppHealth {
            url: "http://{address}:8000/healthz".into(),
            expect_status: 200,
            expect_body: Some("ok".into()),
            timeout_secs: 2.0,
            retries: 1,
            interval_secs: 1.0,
            ca_file: None,
        };
        assert_eq!(url_for(&health, &host), "http://127.0.0.2:8000/healthz");
        assert_eq!(
            watch_urls(&health, &watch_settings(), &host),
            ["http://127.0.0.2:8000/products/"]
        );
        assert_eq!(origin("https://h/x"), "https://h");
        assert_eq!(origin("https://h"), "https://h");
    }

    #[test]
    fn p95_is_the_value_under_which_95_percent_fall() {
        let s = samples(&(1..=100).map(f64::from).collect::<Vec<_>>(), 0);
        assert_eq!(s.p95_ms(), Some(95.0));
        assert_eq!(samples(&[], 3).p95_ms(), None);
        assert_eq!(samples(&[], 3).error_rate(), 1.0);
    }
}
