//! `opsctl warm` as a change on the one road: a plan (what is read, which nodes,
//! how hard), refused on a read-only profile, confirmed in production, audited.
//! A warm only sends GETs, but at a rate that can hurt a cold backend: whoever
//! starts one in production says so.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::Profile;
use crate::ops::engine::{Applied, Change, ChangeError, Progress, StepState};
use crate::ops::plan::{Plan, Step};

use super::client::{self, BROWSER_ENCODINGS, ClientSettings, NodeAddr};
use super::run::{self, Node, Target};
use super::scope::Scope;
use super::source::{self, Fed, FeedCount, Feeder, Source};
use super::stats::{self, PassCounts, Phase, WarmObserver, WarmStats};

pub const DEFAULT_CONCURRENCY: usize = 8;
pub const MAX_CONCURRENCY: usize = 4096;
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
/// URLs read ahead of the requests.
const FEED_AHEAD: usize = 1024;

/// What is asked (the command line over the profile's `[warm]`).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub sitemaps: Vec<String>,
    /// URL lists: files, or `-` for stdin.
    pub lists: Vec<String>,
    pub base: Option<String>,
    pub concurrency: Option<usize>,
    pub rate: Option<f64>,
    /// Send every URL to each cache node (the hosts of the `[warm]` nodes role).
    pub per_node: bool,
    /// `NAME:VALUE`, values secret.
    pub headers: Vec<String>,
    /// Only sitemap pages changed at or after this (seconds since the epoch).
    pub changed_since: Option<i64>,
    pub allow_hosts: Vec<String>,
    pub verify: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WarmError {
    #[error(
        "nothing to warm: give --sitemap URL or --urls FILE (or `sitemaps` in the profile's [warm])"
    )]
    NoSource,
    #[error("no base URL: give --base https://SITE (a URL list has no origin of its own)")]
    NoBase,
    #[error("the base URL `{0}` is not an http(s) URL with a host")]
    BadBase(String),
    #[error("{0}")]
    Bad(String),
    #[error(transparent)]
    Client(#[from] client::ClientError),
}

/// Both passes, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct WarmReport {
    pub warm: PassCounts,
    pub verify: Option<PassCounts>,
    /// HIT share of each URL's first request on each node, before the warm.
    pub hit_ratio_before: Option<f64>,
    /// HIT share of the verify pass (with `--verify`).
    pub hit_ratio_after: Option<f64>,
}

/// A running read of the sources: what it hands over, the reader's thread, and
/// how far it has read.
pub struct Feed {
    pub rx: mpsc::Receiver<Fed>,
    pub reader: tokio::task::JoinHandle<()>,
    pub count: Arc<FeedCount>,
}

pub struct Warm {
    plan: Plan,
    sources: Vec<Source>,
    scope: Scope,
    changed_since: Option<i64>,
    target: Target,
    sitemap_client: reqwest::Client,
    verify: bool,
    observer: Arc<dyn WarmObserver>,
    /// Filled once the run ends (whole or interrupted mid-pass: what was counted).
    pub report: Option<WarmReport>,
}

impl Warm {
    pub async fn plan(profile: &Profile, req: &Request) -> Result<Warm, WarmError> {
        let settings = profile.warm.clone().unwrap_or_default();
        let mut sources: Vec<Source> = req.sitemaps.iter().cloned().map(Source::Sitemap).collect();
        sources.extend(req.lists.iter().cloned().map(Source::List));
        if sources.is_empty() {
            sources = settings
                .sitemaps
                .iter()
                .cloned()
                .map(Source::Sitemap)
                .collect();
        }
        if sources.is_empty() {
            return Err(WarmError::NoSource);
        }
        if sources
            .iter()
            .filter(|s| **s == Source::List("-".into()))
            .count()
            > 1
        {
            return Err(WarmError::Bad("stdin (`--urls -`) can be read once".into()));
        }
        let base = match req.base.clone().or(settings.base.clone()) {
            Some(b) => b,
            None => sources
                .iter()
                .find_map(|s| match s {
                    Source::Sitemap(u) if u.starts_with("http") => {
                        Url::parse(u).ok().map(|u| u.origin().ascii_serialization())
                    }
                    _ => None,
                })
                .ok_or(WarmError::NoBase)?,
        };
        let base_url = Url::parse(&base).map_err(|_| WarmError::BadBase(base.clone()))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host_str().is_none() {
            return Err(WarmError::BadBase(base));
        }
        let host = base_url.host_str().unwrap_or("").to_string();
        let port = base_url.port_or_known_default().unwrap_or(443);
        let mut allow = settings.allow_hosts.clone();
        allow.extend(req.allow_hosts.iter().cloned());
        let scope = Scope::new(base_url.clone(), &allow);

        let concurrency = req
            .concurrency
            .or(settings.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 || concurrency > MAX_CONCURRENCY {
            return Err(WarmError::Bad(format!(
                "concurrency {concurrency}: give 1 to {MAX_CONCURRENCY}"
            )));
        }
        let rate = req.rate.or(settings.rate);
        if let Some(r) = rate {
            if !(r.is_finite() && r > 0.0) {
                return Err(WarmError::Bad(format!(
                    "rate {r}: give requests per second above 0"
                )));
            }
        }
        let timeout_secs = settings.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        let encodings: Vec<String> = settings
            .encodings
            .clone()
            .unwrap_or_else(|| BROWSER_ENCODINGS.iter().map(|e| e.to_string()).collect());
        if encodings.is_empty() {
            return Err(WarmError::Bad(
                "[warm] encodings is empty: give at least one (\"\" sends none)".into(),
            ));
        }
        let mut headers = HeaderMap::new();
        let mut header_names = Vec::new();
        for h in &req.headers {
            let (name, value) = client::header(h)?;
            header_names.push(name.to_string());
            headers.append(name, value);
        }

        let role = settings.nodes.clone().unwrap_or_else(|| "lb".into());
        let addrs = if req.per_node || settings.per_node {
            if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
                return Err(WarmError::Bad(format!(
                    "--per-node needs the site's name in the base URL, not the address {host}: \
                     each node is sent the same Host"
                )));
            }
            node_addrs(profile, &role, port).await?
        } else {
            vec![NodeAddr {
                name: host.clone(),
                addr: None,
            }]
        };
        let client_settings = ClientSettings {
            host: host.clone(),
            ca_file: settings.ca_file.clone(),
            timeout: Duration::from_secs_f64(timeout_secs.max(0.1)),
            pool: concurrency,
        };
        let mut nodes = Vec::new();
        for a in &addrs {
            nodes.push(Node {
                name: a.name.clone(),
                address: a
                    .addr
                    .map_or_else(|| format!("{host}:{port} (DNS)"), |s| s.to_string()),
                client: client::build(&client_settings, a, Some(&headers))?,
            });
        }
        let sitemap_client = client::build(&client_settings, &addrs[0], None)?;
        let target = Target {
            nodes,
            host: host.clone(),
            encodings: encodings.into(),
            concurrency,
            rate,
        };

        let mut plan = Plan::new(
            "warm",
            host.clone(),
            format!("warm the caches of {host}"),
            &profile.name,
            profile.environment,
        );
        let read: Vec<String> = sources.iter().map(Source::describe).collect();
        plan = plan.step(Step::local(format!(
            "read {}{}",
            read.join(", "),
            req.changed_since
                .map_or(String::new(), |_| " (pages changed since the given time)"
                    .into())
        )));
        let how = format!(
            "GET every URL of {host} with {} Accept-Encoding variant(s), {concurrency} in flight{}{}",
            target.encodings.len(),
            rate.map_or(String::new(), |r| format!(", at most {r}/s")),
            if header_names.is_empty() {
                String::new()
            } else {
                format!(", with header(s) {}", header_names.join(", "))
            }
        );
        for n in &target.nodes {
            plan = plan.step(Step {
                on: Some(n.name.clone()),
                what: format!("{how} (at {})", n.address),
                argv: None,
                sql: None,
            });
        }
        if req.verify {
            plan = plan.step(Step::local(
                "verify: the same requests again, to measure the HIT ratio after",
            ));
        }
        if !allow.is_empty() {
            plan.warnings.push(format!(
                "also allowed: {} (warmed where DNS sends them, once)",
                allow.join(", ")
            ));
        }
        Ok(Warm {
            plan,
            sources,
            scope,
            changed_since: req.changed_since,
            target,
            sitemap_client,
            verify: req.verify,
            observer: Arc::new(stats::NoObserver),
            report: None,
        })
    }

    /// Who sees the progress (every 100 ms).
    pub fn observe(&mut self, observer: Arc<dyn WarmObserver>) {
        self.observer = observer;
    }

    /// Reads the sources only (no page is requested): what `--dry-run` lists.
    pub fn feed(&self) -> Feed {
        self.feed_from(self.sources.clone(), self.changed_since, None)
    }

    fn feed_from(
        &self,
        sources: Vec<Source>,
        changed_since: Option<i64>,
        spool: Option<PathBuf>,
    ) -> Feed {
        let (tx, rx) = mpsc::channel(FEED_AHEAD);
        let count = Arc::new(FeedCount::default());
        let feeder = Feeder {
            sources,
            scope: self.scope.clone(),
            changed_since,
            client: self.sitemap_client.clone(),
            spool,
            count: Arc::clone(&count),
        };
        Feed {
            rx,
            reader: source::spawn(feeder, tx),
            count,
        }
    }

    fn summary(report: &WarmReport, nodes: &[Node]) -> String {
        let w = &report.warm;
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let mut text = format!(
            "warmed {} URL(s) on {}: {} request(s), {} ok, {} error(s) in {:.1} s",
            w.urls,
            names.join(", "),
            w.requests,
            w.ok,
            w.errors,
            w.duration_s
        );
        let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0));
        match (&report.verify, report.hit_ratio_before) {
            (Some(_), before) => text.push_str(&format!(
                "; HIT ratio {} before, {} after",
                pct(before),
                pct(report.hit_ratio_after)
            )),
            (None, Some(before)) => {
                text.push_str(&format!("; HIT ratio before {}", pct(Some(before))))
            }
            (None, None) => {}
        }
        if w.uncacheable_count > 0 {
            text.push_str(&format!("; {} uncacheable", w.uncacheable_count));
        }
        text
    }
}

/// The addresses of the cache nodes: the hosts of `role`, each at its address
/// (an IP, or a name DNS answers) and the site's port.
async fn node_addrs(profile: &Profile, role: &str, port: u16) -> Result<Vec<NodeAddr>, WarmError> {
    let hosts: Vec<_> = profile
        .hosts
        .iter()
        .filter(|h| h.roles.iter().any(|r| r == role))
        .collect();
    if hosts.is_empty() {
        return Err(WarmError::Bad(format!(
            "--per-node: the profile `{}` has no host with the role `{role}` (the cache nodes; \
             [warm] nodes names another role)",
            profile.name
        )));
    }
    let mut out = Vec::new();
    for h in hosts {
        let address = h.address.clone().unwrap_or_else(|| h.name.clone());
        let addr = match address.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => tokio::net::lookup_host((address.as_str(), port))
                .await
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    WarmError::Bad(format!(
                        "--per-node: cannot resolve {}'s address `{address}`",
                        h.name
                    ))
                })?,
        };
        out.push(NodeAddr {
            name: h.name.clone(),
            addr: Some(addr),
        });
    }
    Ok(out)
}

/// The verify pass's list of URLs, removed however the warm ends.
struct Spool(PathBuf);

impl Spool {
    fn new(plan_id: &str) -> Spool {
        Spool(
            std::env::temp_dir().join(format!("opsctl-warm-{}-{plan_id}.urls", std::process::id())),
        )
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[async_trait]
impl Change for Warm {
    fn plan(&self) -> &Plan {
        &self.plan
    }

    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let steps = self.plan.steps.clone();
        let nodes = self.target.nodes.len();
        let spool = self.verify.then(|| Spool::new(&self.plan.id));
        for (i, s) in steps.iter().enumerate().take(1 + nodes) {
            progress.step(i, s, StepState::Started);
        }
        let feed = self.feed_from(
            self.sources.clone(),
            self.changed_since,
            spool.as_ref().map(|s| s.0.clone()),
        );
        let observer = Arc::clone(&self.observer);
        let warm = run::pass(
            &self.target,
            feed.rx,
            &feed.count,
            Phase::Warm,
            observer.as_ref(),
        )
        .await;
        let _ = feed.reader.await;
        for (i, s) in steps.iter().enumerate().take(1 + nodes) {
            progress.step(i, s, StepState::Done);
        }
        let mut report = WarmReport {
            hit_ratio_before: stats::ratio(&warm.first_by_cache),
            hit_ratio_after: None,
            warm,
            verify: None,
        };
        if let Some(spool) = &spool {
            let at = 1 + nodes;
            progress.step(at, &steps[at], StepState::Started);
            let feed = self.feed_from(
                vec![Source::List(spool.0.display().to_string())],
                None,
                None,
            );
            let verify = run::pass(
                &self.target,
                feed.rx,
                &feed.count,
                Phase::Verify,
                observer.as_ref(),
            )
            .await;
            let _ = feed.reader.await;
            progress.step(at, &steps[at], StepState::Done);
            report.hit_ratio_after = stats::ratio(&verify.by_cache);
            report.verify = Some(verify);
        }
        observer.update(&WarmStats {
            phase: Phase::Done,
            urls_seen: report.warm.urls,
            urls_total: Some(report.warm.urls),
            urls_done: report.warm.urls,
            requests: report.warm.requests,
            ok: report.warm.ok,
            errors: report.warm.errors,
            elapsed_s: report.warm.duration_s,
            by_cache: report.warm.by_cache.clone(),
            ..WarmStats::default()
        });
        let detail = Warm::summary(&report, &self.target.nodes);
        let nothing = report.warm.ok == 0 && report.warm.errors > 0;
        let first = report.warm.failures.first().cloned();
        self.report = Some(report);
        if nothing {
            let why = first.map_or(String::new(), |f| format!(": {}: {}", f.url, f.reason));
            return Err(ChangeError::failed(format!("nothing was warmed{why}")));
        }
        Ok(Applied::ok(detail))
    }

    async fn interrupted(&mut self) -> String {
        "the warm stopped; the pages already fetched stay cached".into()
    }
}
