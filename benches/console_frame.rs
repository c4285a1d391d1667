//! Frame benchmark: build + render of the fleet view with 1,000 synthetic hosts.
//! Run: `cargo bench --bench console_frame` (numbers in BENCHMARKS.md).
//!
//! Each measured frame is what the event loop does per redraw: apply the input
//! (one row down, so every frame differs), re-derive the row order, draw the frame
//! and flush the diff to a backend. Two backends: ratatui's TestBackend, and the
//! real crossterm backend writing its escape codes into a sink.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsctl::console::app::App;
use opsctl::console::event::Event;
use opsctl::console::fixtures;
use opsctl::console::ui;
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn measure<B: Backend>(
    label: &str,
    app: &mut App,
    term: &mut Terminal<B>,
    frames: usize,
    health_each_frame: bool,
) where
    B::Error: std::fmt::Debug,
{
    let down = Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    let n = app.hosts.len();
    let mut times = Vec::with_capacity(frames);
    for f in 0..frames {
        // A new probe result for 1/30 of the fleet per frame: a 1,000-host fleet at a
        // 1 s interval drawn at 30 fps.
        let fresh: Vec<Event> = if health_each_frame {
            (0..n / 30)
                .map(|k| {
                    let host = (f * (n / 30) + k) % n;
                    let h = fixtures::healthy(&app.hosts[host].name, "", &[], (f * 31 + k) as u64);
                    Event::Health {
                        host,
                        health: Box::new(h),
                        at: fixtures::NOW,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let t = Instant::now();
        app.update(down.clone());
        for ev in fresh {
            app.update(ev);
        }
        app.prepare();
        term.draw(|fr| ui::draw(fr, app)).expect("draw");
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<58} frames={frames:<5} p50={:.3} ms  p99={:.3} ms  max={:.3} ms",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().expect("frames")),
    );
}

/// The Queries tab with a busy server: a new report (5,000 statements re-ranked,
/// 200 sessions re-treed) every `every` frames, one row down each frame.
fn measure_queries<B: Backend>(
    label: &str,
    app: &mut App,
    term: &mut Terminal<B>,
    frames: usize,
    every: usize,
) where
    B::Error: std::fmt::Debug,
{
    let down = Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    let mut times = Vec::with_capacity(frames);
    for f in 0..frames {
        let fresh = (f % every == 0).then(|| Event::Queries {
            db: "shop".into(),
            report: Ok(std::sync::Arc::new(fixtures::busy_report(
                5000, 200, f as u64,
            ))),
        });
        let t = Instant::now();
        app.update(down.clone());
        if let Some(ev) = fresh {
            app.update(ev);
        }
        app.prepare();
        term.draw(|fr| ui::draw(fr, app)).expect("draw");
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<58} frames={frames:<5} p50={:.3} ms  p99={:.3} ms  max={:.3} ms",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().expect("frames")),
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then a quick
    // smoke run (few frames, one size) only checks that the bench works.
    let full = std::env::args().any(|a| a == "--bench");
    let frames = std::env::var("FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 2000 } else { 20 });
    let sizes: &[(u16, u16)] = if full {
        &[(80, 24), (160, 48), (300, 100)]
    } else {
        &[(80, 24)]
    };
    for &(w, h) in sizes {
        let mut app = fixtures::large_fleet(1000, w, h);
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        measure(
            &format!("fleet 1000 hosts {w}x{h} TestBackend, scroll"),
            &mut app,
            &mut term,
            frames,
            false,
        );
        measure(
            &format!("fleet 1000 hosts {w}x{h} TestBackend, scroll + 33 probes"),
            &mut app,
            &mut term,
            frames,
            true,
        );
        let mut app = fixtures::large_fleet(1000, w, h);
        let mut term = Terminal::with_options(
            CrosstermBackend::new(std::io::sink()),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
            },
        )
        .expect("terminal");
        measure(
            &format!("fleet 1000 hosts {w}x{h} crossterm->sink, scroll + 33 probes"),
            &mut app,
            &mut term,
            frames,
            true,
        );
    }
    // The host view redraws charts from the ring buffers every frame.
    let mut app = fixtures::large_fleet(1000, 160, 48);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    measure(
        "host view 160x48 TestBackend, + 33 probes",
        &mut app,
        &mut term,
        frames,
        true,
    );
    // The Queries tab on a server with 5,000 statements and 200 sessions. The
    // report's building (what the feed does off the UI thread) is not timed.
    let mut app = fixtures::with_databases(opsctl::config::Environment::Production, false, 160, 48);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('3'),
        KeyModifiers::NONE,
    )));
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    measure_queries(
        "queries 5000 statements 200 sessions 160x48, scroll",
        &mut app,
        &mut term,
        frames,
        usize::MAX,
    );
    measure_queries(
        "queries 5000 statements 200 sessions 160x48, + new report every 30 frames",
        &mut app,
        &mut term,
        frames,
        30,
    );
}
