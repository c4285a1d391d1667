//! One pass of a warm: every URL the feeder hands over, requested on each cache
//! node with each encoding in the stampede-safe order ([`super::order`]), with at
//! most `concurrency` requests in flight and at most `rate` started per second.
//! Counts go into a [`PassCounts`]; the observer sees a snapshot every 100 ms.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use reqwest::Url;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::order::{self, Slot};
use super::source::{Fed, FeedCount};
use super::stats::{Answer, PassCounts, Phase, WarmObserver, WarmStats};

/// Where and how the requests go.
pub struct Target {
    /// One client per cache node (or one for the site by DNS), with its name and
    /// address for the report.
    pub nodes: Vec<Node>,
    /// The site's host: URLs of other (allowed) hosts go to the first node's
    /// client only, which reaches them by DNS.
    pub host: String,
    /// Shared with every request in flight (each names its own by index).
    pub encodings: Arc<[String]>,
    pub concurrency: usize,
    /// Requests started per second, at most.
    pub rate: Option<f64>,
}

pub struct Node {
    pub name: String,
    pub address: String,
    pub client: reqwest::Client,
}

/// A URL whose requests are not all answered yet.
struct Pending {
    url: Arc<Url>,
    nodes: usize,
    left: usize,
}

type Done = (u64, Slot, Result<Answer, String>, f64);

/// Runs one pass over what `rx` hands over, to its end.
pub async fn pass(
    target: &Target,
    mut rx: mpsc::Receiver<Fed>,
    read: &FeedCount,
    phase: Phase,
    observer: &dyn WarmObserver,
) -> PassCounts {
    let names: Vec<(String, String)> = target
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.address.clone()))
        .collect();
    let mut counts = PassCounts::new(&names);
    let concurrency = target.concurrency.max(1);
    let encodings = target.encodings.len().max(1);
    let interval = target
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let started = Instant::now();
    let mut next_start = started;
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut ready: VecDeque<(u64, Slot)> = VecDeque::new();
    let mut in_flight: FuturesUnordered<_> = FuturesUnordered::new();
    let mut next_id = 0u64;
    let mut fed_done = false;
    // New URLs are taken while the ones begun are few: memory is bounded by the
    // concurrency, not by the sitemap.
    let open_limit = concurrency * 2;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    loop {
        while in_flight.len() < concurrency {
            let Some((id, slot)) = ready.pop_front() else {
                break;
            };
            let Some(p) = pending.get(&id) else { continue };
            let start_at = interval.map(|every| {
                let at = next_start.max(Instant::now());
                next_start = at + every;
                at
            });
            let Some(node) = target.nodes.get(slot.node) else {
                continue;
            };
            let client = node.client.clone();
            let url = Arc::clone(&p.url);
            let encodings = Arc::clone(&target.encodings);
            in_flight.push(async move {
                if let Some(at) = start_at {
                    tokio::time::sleep_until(at).await;
                }
                let encoding = encodings.get(slot.encoding).map_or("", String::as_str);
                let (result, ms) = super::client::get(&client, &url, encoding).await;
                (id, slot, result, ms) as Done
            });
        }
        // Nothing in flight means nothing ready or pending either: every pending
        // URL has a request in flight, or one waiting for an answer in flight.
        if in_flight.is_empty() && fed_done {
            break;
        }
        let want_urls = !fed_done && pending.len() < open_limit;
        tokio::select! {
            Some((id, slot, result, ms)) = in_flight.next(), if !in_flight.is_empty() => {
                let Some(p) = pending.get_mut(&id) else { continue };
                counts.record(
                    p.url.as_str(),
                    slot.node,
                    target.encodings.get(slot.encoding).map_or("", String::as_str),
                    slot.first_on_node(),
                    slot == Slot::FIRST,
                    &result,
                    ms,
                );
                for next in order::after(slot, p.nodes, encodings) {
                    ready.push_back((id, next));
                }
                p.left -= 1;
                if p.left == 0 {
                    pending.remove(&id);
                    counts.urls += 1;
                }
            }
            fed = rx.recv(), if want_urls => match fed {
                Some(Fed::Url(url)) => {
                    let nodes = if url.host_str() == Some(target.host.as_str()) {
                        target.nodes.len().max(1)
                    } else {
                        1
                    };
                    pending.insert(next_id, Pending {
                        url: Arc::new(url),
                        nodes,
                        left: order::per_url(nodes, encodings),
                    });
                    ready.push_back((next_id, Slot::FIRST));
                    next_id += 1;
                }
                Some(Fed::Refused { url, reason }) => counts.fail(&url, "", reason),
                Some(Fed::Failed { source, reason }) => {
                    counts.fail(&source, "", format!("cannot read it: {reason}"));
                }
                None => fed_done = true,
            },
            _ = tick.tick() => {
                observer.update(&snapshot(&counts, phase, read, in_flight.len(), started));
            }
        }
    }
    counts.duration_s = started.elapsed().as_secs_f64();
    observer.update(&snapshot(&counts, phase, read, 0, started));
    counts
}

fn snapshot(
    counts: &PassCounts,
    phase: Phase,
    read: &FeedCount,
    in_flight: usize,
    started: Instant,
) -> WarmStats {
    let elapsed_s = started.elapsed().as_secs_f64();
    let urls_per_s = if elapsed_s > 0.0 {
        counts.urls as f64 / elapsed_s
    } else {
        0.0
    };
    let (seen, all_read) = read.read();
    let urls_total = all_read.then_some(seen);
    let eta_s = urls_total
        .filter(|_| urls_per_s > 0.0)
        .map(|total| total.saturating_sub(counts.urls) as f64 / urls_per_s);
    WarmStats {
        phase,
        urls_seen: seen,
        urls_total,
        urls_done: counts.urls,
        requests: counts.requests,
        in_flight,
        ok: counts.ok,
        errors: counts.errors,
        elapsed_s,
        urls_per_s,
        eta_s,
        by_cache: counts.by_cache.clone(),
    }
}
