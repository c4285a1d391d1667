//! The live counters of a warm, and the snapshot ([`WarmStats`]) handed to
//! whoever draws its progress (the stderr line, the console's panel) through a
//! [`WarmObserver`]. Everything kept is bounded: counts by key, the slowest few,
//! the first failures and uncacheable pages.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many of the slowest requests, failures and uncacheable pages are kept.
pub const KEEP_SLOWEST: usize = 10;
pub const KEEP_FAILURES: usize = 100;
pub const KEEP_UNCACHEABLE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Reading sitemaps and sending the warming requests.
    #[default]
    Warm,
    /// The `--verify` pass: the same requests again, to see the HIT ratio after.
    Verify,
    Done,
}

/// A snapshot of a running warm: cheap to copy, everything a progress line or
/// panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct WarmStats {
    pub phase: Phase,
    /// URLs read from the sitemaps or the list so far (in scope).
    pub urls_seen: u64,
    /// Known once every source has been read to its end.
    pub urls_total: Option<u64>,
    /// URLs whose every request (each node, each encoding) has answered.
    pub urls_done: u64,
    pub requests: u64,
    pub in_flight: usize,
    pub ok: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    /// URLs done per second since the phase started.
    pub urls_per_s: f64,
    pub eta_s: Option<f64>,
    /// Requests per cache result (`HIT`, `MISS`, ...), this phase.
    pub by_cache: BTreeMap<String, u64>,
}

impl WarmStats {
    /// HITs over requests that said anything about the cache, this phase.
    pub fn hit_ratio(&self) -> Option<f64> {
        ratio(&self.by_cache)
    }
}

/// HIT share of the requests with a cache result (`NONE` left out).
pub fn ratio(by_cache: &BTreeMap<String, u64>) -> Option<f64> {
    let told: u64 = by_cache
        .iter()
        .filter(|(k, _)| k.as_str() != "NONE")
        .map(|(_, v)| *v)
        .sum();
    (told > 0).then(|| by_cache.get("HIT").copied().unwrap_or(0) as f64 / told as f64)
}

/// Someone watching a warm. Called from the warm's task at most every 100 ms and
/// once at the end of each phase; must not block.
pub trait WarmObserver: Send + Sync {
    fn update(&self, stats: &WarmStats);
}

/// Nobody watching.
#[derive(Debug, Default)]
pub struct NoObserver;

impl WarmObserver for NoObserver {
    fn update(&self, _: &WarmStats) {}
}

/// One request, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timed {
    pub url: String,
    pub node: String,
    pub encoding: String,
    pub status: Option<u16>,
    pub ms: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub url: String,
    /// The node, or `""` for a URL refused before any request (or a sitemap).
    pub node: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncacheable {
    pub url: String,
    pub reason: String,
}

/// One node's share of a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NodeCounts {
    pub name: String,
    pub address: String,
    pub requests: u64,
    pub errors: u64,
    pub by_cache: BTreeMap<String, u64>,
}

/// What one pass (warm or verify) counted.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct PassCounts {
    pub urls: u64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub duration_s: f64,
    pub by_status: BTreeMap<String, u64>,
    pub by_cache: BTreeMap<String, u64>,
    /// Cache results of the first request of each URL on each node: the cache as
    /// it was before this pass touched it.
    pub first_by_cache: BTreeMap<String, u64>,
    pub slowest: Vec<Timed>,
    pub failures: Vec<Failure>,
    pub uncacheable: Vec<Uncacheable>,
    pub uncacheable_count: u64,
    pub nodes: Vec<NodeCounts>,
}

impl PassCounts {
    pub fn new(nodes: &[(String, String)]) -> PassCounts {
        PassCounts {
            nodes: nodes
                .iter()
                .map(|(name, address)| NodeCounts {
                    name: name.clone(),
                    address: address.clone(),
                    ..NodeCounts::default()
                })
                .collect(),
            ..PassCounts::default()
        }
    }

    /// A request answered (`status`) or failed (`Err(reason)`).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        url: &str,
        node: usize,
        encoding: &str,
        first_on_node: bool,
        first_of_url: bool,
        result: &Result<Answer, String>,
        ms: f64,
    ) {
        self.requests += 1;
        // Names are copied only for what is kept (a failure, one of the slowest):
        // this runs for every request, thousands a second.
        let node_name =
            |nodes: &[NodeCounts]| nodes.get(node).map(|n| n.name.clone()).unwrap_or_default();
        match result {
            Ok(a) => {
                *self.by_status.entry(a.status.to_string()).or_insert(0) += 1;
                *self.by_cache.entry(a.cache.to_string()).or_insert(0) += 1;
                if first_on_node {
                    *self.first_by_cache.entry(a.cache.to_string()).or_insert(0) += 1;
                }
                if let Some(n) = self.nodes.get_mut(node) {
                    n.requests += 1;
                    *n.by_cache.entry(a.cache.to_string()).or_insert(0) += 1;
                }
                if a.status < 400 {
                    self.ok += 1;
                } else {
                    let name = node_name(&self.nodes);
                    self.fail(url, &name, format!("HTTP {}", a.status));
                    if let Some(n) = self.nodes.get_mut(node) {
                        n.errors += 1;
                    }
                }
                if first_of_url {
                    if let Some(why) = &a.uncacheable {
                        self.uncacheable_count += 1;
                        if self.uncacheable.len() < KEEP_UNCACHEABLE {
                            self.uncacheable.push(Uncacheable {
                                url: url.to_string(),
                                reason: why.clone(),
                            });
                        }
                    }
                }
                if self.is_slowest(ms) {
                    let node = node_name(&self.nodes);
                    self.slow(Timed {
                        url: url.to_string(),
                        node,
                        encoding: encoding.to_string(),
                        status: Some(a.status),
                        ms,
                    });
                }
            }
            Err(reason) => {
                *self.by_status.entry("error".into()).or_insert(0) += 1;
                if let Some(n) = self.nodes.get_mut(node) {
                    n.requests += 1;
                    n.errors += 1;
                }
                let name = node_name(&self.nodes);
                self.fail(url, &name, reason.clone());
            }
        }
    }

    /// A failure that is no request: a URL refused, a sitemap unreadable.
    pub fn fail(&mut self, url: &str, node: &str, reason: String) {
        self.errors += 1;
        if self.failures.len() < KEEP_FAILURES {
            self.failures.push(Failure {
                url: url.to_string(),
                node: node.to_string(),
                reason,
            });
        }
    }

    fn is_slowest(&self, ms: f64) -> bool {
        self.slowest.len() < KEEP_SLOWEST || self.slowest.last().is_some_and(|last| last.ms < ms)
    }

    fn slow(&mut self, t: Timed) {
        let at = self.slowest.partition_point(|s| s.ms >= t.ms);
        self.slowest.insert(at, t);
        self.slowest.truncate(KEEP_SLOWEST);
    }
}

/// What a response said, reduced to what the report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub cache: &'static str,
    pub uncacheable: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(status: u16, cache: &'static str) -> Result<Answer, String> {
        Ok(Answer {
            status,
            cache,
            uncacheable: None,
        })
    }

    #[test]
    fn counts_keep_the_slowest_and_the_first_failures() {
        let mut p = PassCounts::new(&[("lb1".into(), "127.0.0.5:443".into())]);
        for i in 0..50u16 {
            p.record(
                "/a",
                0,
                "gzip",
                i == 0,
                i == 0,
                &ok(200, "MISS"),
                f64::from(i),
            );
        }
        p.record("/b", 0, "", true, true, &ok(404, "HIT"), 1.0);
        p.record(
            "/c",
            0,
            "",
            true,
            true,
            &Err("connection refused".into()),
            2.0,
        );
        assert_eq!(p.requests, 52);
        assert_eq!(p.ok, 50);
        assert_eq!(p.errors, 2);
        assert_eq!(p.slowest.len(), KEEP_SLOWEST);
        assert_eq!(p.slowest[0].ms, 49.0);
        assert_eq!(p.slowest[9].ms, 40.0);
        assert_eq!(p.by_status["200"], 50);
        assert_eq!(p.by_status["error"], 1);
        assert_eq!(p.failures[0].reason, "HTTP 404");
        assert_eq!(p.failures[1].node, "lb1");
        assert_eq!(p.first_by_cache["MISS"], 1);
        assert_eq!(p.nodes[0].errors, 2);
        assert_eq!(ratio(&p.by_cache), Some(1.0 / 51.0));
    }

    #[test]
    fn no_cache_header_is_no_ratio() {
        let mut m = BTreeMap::new();
        m.insert("NONE".to_string(), 3);
        assert_eq!(ratio(&m), None);
    }
}
