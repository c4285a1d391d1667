//! What collects the console's needs over the profile's remotes: the health
//! pollers, the HTTP checks, the process lists of hosts on screen, log tails.
//! This is the one place the console's view of the world meets the sources.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::{HttpCheck, Thresholds};
use crate::console::event::Event;
use crate::console::feed::{AbortOnDrop, FeedError, Feeds, Need, Running};
use crate::health::poller::{self, HostPoller};
use crate::logs::{self, TailEvent};
use crate::remote::Remote;

/// Resets a host's "list processes" flag when dropped.
struct ProcessesOn(Arc<AtomicBool>);

impl Drop for ProcessesOn {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

pub struct HostFeeds {
    /// Taken by the first `HostHealth` need (pollers keep per-host state).
    pollers: Option<Vec<Box<dyn HostPoller>>>,
    /// Per host: whether its probe lists processes.
    processes: Vec<Arc<AtomicBool>>,
    remotes: Vec<Arc<dyn Remote>>,
    interval: Duration,
    http_checks: Vec<HttpCheck>,
    thresholds: Thresholds,
}

impl HostFeeds {
    pub fn new(
        pollers: Vec<Box<dyn HostPoller>>,
        processes: Vec<Arc<AtomicBool>>,
        remotes: Vec<Arc<dyn Remote>>,
        interval: Duration,
        http_checks: Vec<HttpCheck>,
        thresholds: Thresholds,
    ) -> Self {
        HostFeeds {
            pollers: Some(pollers),
            processes,
            remotes,
            interval,
            http_checks,
            thresholds,
        }
    }
}

fn aborting(tasks: Vec<tokio::task::JoinHandle<()>>) -> Running {
    Running::new(tasks.into_iter().map(AbortOnDrop).collect::<Vec<_>>())
}

impl Feeds for HostFeeds {
    fn start(&mut self, need: &Need, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
        match need {
            Need::HostHealth => {
                let pollers = self.pollers.take().ok_or_else(|| {
                    FeedError("the health pollers already ran and cannot restart".into())
                })?;
                let tasks =
                    poller::spawn_pollers(pollers, self.interval, tx.clone(), |r| Event::Health {
                        host: r.host,
                        health: Box::new(r.health),
                        at: r.at,
                    });
                Ok(aborting(tasks))
            }
            Need::HttpChecks => {
                let task = poller::spawn_http_checks(
                    self.http_checks.clone(),
                    self.thresholds.clone(),
                    self.interval,
                    tx.clone(),
                    Event::Checks,
                );
                Ok(aborting(task.into_iter().collect()))
            }
            Need::Processes { host } => {
                let flag = self
                    .processes
                    .get(*host)
                    .ok_or_else(|| FeedError(format!("no host #{host}")))?;
                flag.store(true, Ordering::Relaxed);
                Ok(Running::new(ProcessesOn(flag.clone())))
            }
            Need::LogTail { host, target } => {
                let remote = self
                    .remotes
                    .get(*host)
                    .cloned()
                    .ok_or_else(|| FeedError("this host cannot be reached for logs".into()))?;
                let host = *host;
                let task = logs::spawn_tail(remote, target.clone(), tx.clone(), move |e| match e {
                    TailEvent::Lines(lines) => Event::LogLines { host, lines },
                    TailEvent::Ended(reason) => Event::LogEnded { host, reason },
                });
                Ok(Running::new(AbortOnDrop(task)))
            }
        }
    }
}
