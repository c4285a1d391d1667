//! The event loop: one channel of events (input thread, collectors), a clock tick,
//! termination signals, and a frame limiter. State changes only in `App::update`;
//! a frame is drawn only when something changed, at most every `FRAME`.
//!
//! Collectors are started and stopped generically: after each batch of events the
//! loop compares what the views need ([`App::needs`]) with what runs, starts the
//! new needs through [`Feeds`] and drops the ones no view needs any more.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use super::app::App;
use super::event::Event;
use super::feed::{Feeds, Need, Running};
use super::ui;
use crate::health::poller::unix_now;

/// At most ~30 frames a second for input.
pub const FRAME: Duration = Duration::from_millis(33);
/// New data alone is drawn at most 5 times a second.
pub const DATA_FRAME: Duration = Duration::from_millis(200);
/// Events applied before a frame gets a chance to be drawn, so a burst of data
/// cannot starve the screen.
const MAX_BATCH: usize = 2048;
pub const CHANNEL_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Stop after the first frame (startup measurement).
    pub exit_after_first_frame: bool,
}

/// What the loop reports when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub first_frame: Option<Duration>,
    pub frames: u64,
}

/// Reads terminal input on a dedicated thread (crossterm's read blocks) and
/// forwards it. The thread ends when the channel closes or input fails.
pub fn spawn_input_thread(tx: mpsc::Sender<Event>) {
    let spawned = std::thread::Builder::new()
        .name("opsctl-input".into())
        .spawn(move || {
            use crossterm::event::{Event as CtEvent, KeyEventKind};
            loop {
                let ev = match crossterm::event::read() {
                    Ok(CtEvent::Key(k)) if k.kind != KeyEventKind::Release => Event::Key(k),
                    Ok(CtEvent::Mouse(m)) => Event::Mouse(m),
                    Ok(CtEvent::Resize(width, height)) => Event::Resize { width, height },
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!("terminal input failed: {e}");
                        let _ = tx.blocking_send(Event::Terminate);
                        return;
                    }
                };
                if tx.blocking_send(ev).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the input thread: {e}");
    }
}

fn draw<B: Backend>(term: &mut Terminal<B>, app: &mut App) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    app.prepare();
    term.draw(|f| ui::draw(f, app))
        .map_err(|e| anyhow::anyhow!("drawing the console: {e}"))?;
    app.dirty = false;
    app.data_dirty = false;
    Ok(())
}

/// The collectors running now, one per distinct need.
#[derive(Debug, Default)]
pub struct Collectors {
    running: HashMap<Need, Running>,
}

impl Collectors {
    /// Starts what `needs` adds and stops what it no longer names. A need that
    /// cannot start is reported back as an event (and retried on a later sync).
    pub fn sync(
        &mut self,
        needs: &[Need],
        feeds: &mut dyn Feeds,
        tx: &mpsc::Sender<Event>,
        failed: &mut Vec<Event>,
    ) {
        self.running.retain(|need, _| needs.contains(need));
        for need in needs {
            if self.running.contains_key(need) {
                continue;
            }
            match feeds.start(need, tx) {
                Ok(r) => {
                    tracing::debug!(?need, "collector started");
                    self.running.insert(need.clone(), r);
                }
                Err(e) => failed.push(Event::FeedFailed {
                    need: need.clone(),
                    reason: e.to_string(),
                }),
            }
        }
    }

    pub fn running(&self) -> impl Iterator<Item = &Need> {
        self.running.keys()
    }
}

/// Runs until the app asks to quit or a termination signal arrives.
/// `tx`/`rx` is the event channel; input and collectors send into `tx`.
pub async fn run<B: Backend>(
    mut app: App,
    term: &mut Terminal<B>,
    tx: mpsc::Sender<Event>,
    mut rx: mpsc::Receiver<Event>,
    mut feeds: Box<dyn Feeds>,
    opts: Options,
    started: Instant,
) -> anyhow::Result<Outcome>
where
    B::Error: Send + Sync + 'static,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;

    if let Ok(size) = term.size() {
        app.update(Event::Resize {
            width: size.width,
            height: size.height,
        });
    }
    draw(term, &mut app)?;
    let mut outcome = Outcome {
        first_frame: Some(started.elapsed()),
        frames: 1,
    };
    tracing::info!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "first frame"
    );
    if opts.exit_after_first_frame {
        return Ok(outcome);
    }

    let mut collectors = Collectors::default();
    // Needs whose start failed are not retried until the needs change.
    let mut last_needs: Vec<Need> = Vec::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now();

    // One-off tasks (EXPLAIN, changes) run to their end in the background; kept
    // here, by tag, until their answer arrives, so quitting stops the unfinished.
    let mut tasks: HashMap<String, Running> = HashMap::new();
    while !app.quit {
        for task in std::mem::take(&mut app.tasks) {
            let tag = task.tag().to_string();
            match feeds.run(task, &tx) {
                Ok(r) => {
                    tasks.insert(tag, r);
                }
                Err(e) => app.update(Event::TaskFailed {
                    tag,
                    reason: e.to_string(),
                }),
            }
        }
        let needs = app.needs();
        if needs != last_needs {
            let mut failed = Vec::new();
            collectors.sync(&needs, feeds.as_mut(), &tx, &mut failed);
            for ev in failed {
                app.update(ev);
            }
            last_needs = needs;
        }
        let next_frame = if app.dirty {
            Some(tokio::time::Instant::from_std(last_draw + FRAME))
        } else if app.data_dirty {
            Some(tokio::time::Instant::from_std(last_draw + DATA_FRAME))
        } else {
            None
        };
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => {
                    finish_task(&mut tasks, &ev);
                    app.update(ev);
                    for _ in 0..MAX_BATCH {
                        match rx.try_recv() {
                            Ok(ev) => {
                                finish_task(&mut tasks, &ev);
                                app.update(ev);
                            }
                            Err(_) => break,
                        }
                    }
                }
                None => break,
            },
            _ = clock.tick() => app.update(Event::Tick { now: unix_now() }),
            _ = sigterm.recv() => app.update(Event::Terminate),
            _ = sighup.recv() => app.update(Event::Terminate),
            _ = async { if let Some(t) = next_frame { tokio::time::sleep_until(t).await } }, if next_frame.is_some() => {
                draw(term, &mut app)?;
                outcome.frames += 1;
                last_draw = Instant::now();
            }
        }
    }
    // Dropping the collectors (and unfinished tasks) stops them.
    tracing::debug!("quitting with {} unfinished tasks", tasks.len());
    drop(collectors);
    drop(tasks);
    Ok(outcome)
}

/// A task whose answer arrived is done: its handle goes.
fn finish_task(tasks: &mut HashMap<String, Running>, ev: &Event) {
    if let Some(tag) = ev.ends_task() {
        tasks.remove(tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_dropped_when_its_answer_arrives_not_before() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let mut tasks = HashMap::new();
        tasks.insert("explain-1".to_string(), Running::new(Flag(dropped.clone())));
        finish_task(&mut tasks, &Event::Tick { now: 0 });
        finish_task(
            &mut tasks,
            &Event::ChangeDone {
                tag: "cancel-2".into(),
                ok: true,
                detail: String::new(),
            },
        );
        assert!(!dropped.load(Ordering::Relaxed), "another task's answer");
        finish_task(
            &mut tasks,
            &Event::Explain {
                db: "shop".into(),
                tag: "explain-1".into(),
                result: Ok(Vec::new()),
            },
        );
        assert!(dropped.load(Ordering::Relaxed));
        assert!(tasks.is_empty());
    }
    use crate::config::Environment;
    use crate::console::feed::{AbortOnDrop, FeedError, NoFeeds};
    use crate::console::fixtures;
    use crate::health::poller::{HostPoller, spawn_pollers};
    use crate::health::{HostHealth, Status};
    use async_trait::async_trait;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use std::sync::{Arc, Mutex};

    struct Fixed(Status);

    #[async_trait]
    impl HostPoller for Fixed {
        async fn poll(&mut self) -> HostHealth {
            HostHealth {
                status: self.0,
                error: (self.0 == Status::Unreachable).then(|| "auth failed".to_string()),
                ..HostHealth::default()
            }
        }
    }

    /// Feeds whose health need polls fixed statuses; records what was started.
    struct FixedFeeds {
        statuses: Vec<Status>,
        interval: Duration,
        started: Arc<Mutex<Vec<Need>>>,
    }

    impl Feeds for FixedFeeds {
        fn start(&mut self, need: &Need, tx: &mpsc::Sender<Event>) -> Result<Running, FeedError> {
            self.started.lock().unwrap().push(need.clone());
            match need {
                Need::HostHealth => {
                    let pollers: Vec<Box<dyn HostPoller>> = self
                        .statuses
                        .iter()
                        .map(|&s| Box::new(Fixed(s)) as Box<dyn HostPoller>)
                        .collect();
                    let tasks =
                        spawn_pollers(pollers, self.interval, tx.clone(), |r| Event::Health {
                            host: r.host,
                            health: Box::new(r.health),
                            at: r.at,
                        });
                    Ok(Running::new(
                        tasks.into_iter().map(AbortOnDrop).collect::<Vec<_>>(),
                    ))
                }
                other => Err(FeedError(format!("no {other:?} in this test"))),
            }
        }
    }

    #[tokio::test]
    async fn collector_events_reach_the_screen_and_q_quits() {
        let app = fixtures::mixed_fleet(Environment::Development, 120, 30);
        let n = app.hosts.len();
        let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let started = Arc::new(Mutex::new(Vec::new()));
        let collectors = Box::new(FixedFeeds {
            statuses: (0..n)
                .map(|i| {
                    if i == 0 {
                        Status::Unreachable
                    } else {
                        Status::Up
                    }
                })
                .collect(),
            interval: Duration::from_millis(20),
            started: started.clone(),
        });
        let keys = tx.clone();
        let driver = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            keys.send(Event::Key(KeyEvent::new(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
            )))
            .await
            .unwrap();
        });
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            run(
                app,
                &mut term,
                tx,
                rx,
                collectors,
                Options::default(),
                Instant::now(),
            ),
        )
        .await
        .expect("the loop ends on q")
        .unwrap();
        driver.await.unwrap();
        assert!(out.frames >= 2, "{out:?}");
        let screen = term.backend().to_string();
        assert!(screen.contains("unreachable: auth failed"), "{screen}");
        let started = started.lock().unwrap().clone();
        assert_eq!(
            started,
            [Need::HostHealth, Need::HttpChecks],
            "the fleet's needs, started once each"
        );
    }

    #[tokio::test]
    async fn redraws_are_limited_to_the_frame_rate() {
        let app = fixtures::mixed_fleet(Environment::Development, 80, 24);
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let keys = tx.clone();
        // 500 key presses over ~0.5 s: without a limiter that is 500 frames.
        let driver = tokio::spawn(async move {
            for i in 0..500 {
                let c = if i % 2 == 0 { 'j' } else { 'k' };
                keys.send(Event::Key(KeyEvent::new(
                    KeyCode::Char(c),
                    KeyModifiers::NONE,
                )))
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            keys.send(Event::Key(KeyEvent::new(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
            )))
            .await
            .unwrap();
        });
        let collectors = Box::new(NoFeeds);
        let started = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            run(
                app,
                &mut term,
                tx,
                rx,
                collectors,
                Options::default(),
                started,
            ),
        )
        .await
        .unwrap()
        .unwrap();
        driver.await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let max = (secs / FRAME.as_secs_f64()).ceil() as u64 + 2;
        assert!(out.frames <= max, "{} frames in {secs:.2}s", out.frames);
    }

    #[tokio::test]
    async fn new_data_alone_is_drawn_at_most_five_times_a_second() {
        let app = fixtures::mixed_fleet(Environment::Development, 80, 24);
        let n = app.hosts.len();
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        // Every host reports every 10 ms: 500 results a second.
        let collectors = Box::new(FixedFeeds {
            statuses: vec![Status::Up; n],
            interval: Duration::from_millis(10),
            started: Arc::new(Mutex::new(Vec::new())),
        });
        let keys = tx.clone();
        let driver = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            keys.send(Event::Key(KeyEvent::new(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
            )))
            .await
            .unwrap();
        });
        let started = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            run(
                app,
                &mut term,
                tx,
                rx,
                collectors,
                Options::default(),
                started,
            ),
        )
        .await
        .unwrap()
        .unwrap();
        driver.await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        // Data frames, plus the first frame, the clock ticks and the final key.
        let max = (secs / DATA_FRAME.as_secs_f64()).ceil() as u64 + secs.ceil() as u64 + 3;
        assert!(
            out.frames <= max,
            "{} frames in {secs:.2}s (max {max})",
            out.frames
        );
        assert!(out.frames >= 3, "data was drawn: {out:?}");
    }
}
