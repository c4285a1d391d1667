//! Views rendered from fixed state on ratatui's TestBackend (insta snapshots), and
//! input-driven tests: keys in, state and rendered text out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, LogTarget, Overlay};
use super::event::Event;
use super::feed::Need;
use super::fixtures::{self, NOW};
use super::ui;
use super::views::fleet::{self, FleetView, SortColumn};
use super::views::host;
use super::widgets::confirm::ConfirmDialog;
use crate::config::Environment;
use crate::health::Status;

fn render(app: &mut App) -> String {
    app.prepare();
    let mut term = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    term.draw(|f| ui::draw(f, app)).unwrap();
    term.backend().to_string()
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn fleet_view(app: &App) -> &FleetView {
    app.view::<FleetView>()
        .expect("the fleet view is registered")
}

fn row_names(app: &App) -> Vec<String> {
    fleet_view(app)
        .host_order()
        .into_iter()
        .map(|h| app.hosts[h].name.clone())
        .collect()
}

fn selected_row(app: &App) -> Option<usize> {
    fleet_view(app).table.selected_row()
}

fn selected_host(app: &App) -> Option<usize> {
    fleet_view(app).table.selected().copied()
}

fn on_host_view(app: &App) -> bool {
    app.context() == host::CONTEXT
}

#[test]
fn fleet_80x24() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn fleet_160x48() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 160, 48);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn fleet_grouped_by_role() {
    let mut app = fixtures::mixed_fleet(Environment::Staging, 160, 24);
    keys(&mut app, "r");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn fleet_without_hosts() {
    let p = fixtures::profile("empty", Environment::Development, Vec::new());
    let mut app = App::new(&p, NOW, 80, 24);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn fleet_filter_matching_nothing() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 80, 24);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "nosuchhost");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn host_80x24() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn host_160x48() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 160, 48);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn host_waiting_for_data() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 100, 30);
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "host worker1");
    key(&mut app, KeyCode::Enter);
    assert!(on_host_view(&app));
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn host_unreachable() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 100, 30);
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "host cache1");
    key(&mut app, KeyCode::Enter);
    let text = render(&mut app);
    assert!(text.contains("unreachable: timeout after 5s"), "{text}");
    assert!(text.contains("last seen 3m ago"), "{text}");
}

#[test]
fn help_fleet_80x24() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    keys(&mut app, "?");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn help_host_160x48() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 160, 48);
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "?");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn palette_completing_hosts() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    keys(&mut app, ":host w");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn confirm_in_production() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    app.confirm(ConfirmDialog::new(
        "Deploy shop v42",
        vec![
            "1. lock shop on web1, web2".into(),
            "2. switch current -> releases/v42".into(),
        ],
        Environment::Production,
        "deploy-v42",
    ));
    keys(&mut app, "prod");
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn confirm_in_staging() {
    let mut app = fixtures::mixed_fleet(Environment::Staging, 80, 24);
    app.confirm(ConfirmDialog::new(
        "Restart gunicorn",
        vec!["systemctl restart gunicorn on web1".into()],
        Environment::Staging,
        "restart",
    ));
    insta::assert_snapshot!(render(&mut app));
}

// ---- input-driven tests ----

#[test]
fn default_sort_puts_the_worst_first_and_keys_change_it() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    assert_eq!(
        row_names(&app),
        ["cache1", "db1", "web2", "web1", "worker1"]
    );
    keys(&mut app, "s");
    assert_eq!(fleet_view(&app).sort(), SortColumn::Name);
    assert_eq!(
        row_names(&app),
        ["cache1", "db1", "web1", "web2", "worker1"]
    );
    keys(&mut app, "S");
    assert_eq!(
        row_names(&app),
        ["worker1", "web2", "web1", "db1", "cache1"]
    );
    let text = render(&mut app);
    assert!(text.contains("HOST▲"), "{text}");
}

#[test]
fn sorting_by_cpu_puts_hosts_without_figures_last() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, ":sort cpu");
    key(&mut app, KeyCode::Enter);
    let names = row_names(&app);
    assert_eq!(names[0], "web2", "91% cpu first: {names:?}");
    assert_eq!(&names[3..], ["cache1", "worker1"]);
    keys(&mut app, "S");
    assert_eq!(
        &row_names(&app)[3..],
        ["cache1", "worker1"],
        "still last when reversed"
    );
}

#[test]
fn selection_follows_the_host_across_resorts() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, "jj");
    assert_eq!(selected_host(&app), Some(1), "third row is web2");
    keys(&mut app, "s");
    assert_eq!(selected_host(&app), Some(1));
    assert_eq!(selected_row(&app), Some(3));
}

#[test]
fn filter_narrows_rows_and_negation_inverts() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "WEB");
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    assert_eq!(row_names(&app), ["web2", "web1"]);
    let text = render(&mut app);
    assert!(text.contains("filter `WEB`: 2 shown"), "{text}");
    assert!(!text.contains("db1"), "{text}");
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Home);
    for _ in 0..3 {
        key(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "!web");
    key(&mut app, KeyCode::Enter);
    assert_eq!(row_names(&app), ["cache1", "db1", "worker1"]);
    // Esc in the fleet clears the filter.
    key(&mut app, KeyCode::Esc);
    assert_eq!(row_names(&app).len(), 5);
}

#[test]
fn filter_matches_errors_and_status() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "timeout");
    assert_eq!(row_names(&app), ["cache1"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(
        row_names(&app).len(),
        5,
        "Esc while typing restores the previous filter"
    );
}

#[test]
fn enter_opens_the_host_and_esc_goes_back() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, "jjj");
    key(&mut app, KeyCode::Enter);
    assert!(on_host_view(&app));
    let text = render(&mut app);
    assert!(text.contains("web1"), "{text}");
    assert!(text.contains("journal nginx"), "{text}");
    assert!(
        text.contains("/api/orders/129"),
        "newest log line shown: {text}"
    );
    assert_eq!(
        app.needs(),
        vec![
            Need::HostHealth,
            Need::HttpChecks,
            Need::LogTail {
                host: 0,
                target: LogTarget::Unit("nginx".into())
            },
            Need::Processes { host: 0 },
        ]
    );
    key(&mut app, KeyCode::Esc);
    assert!(!on_host_view(&app));
    let text = render(&mut app);
    assert!(text.contains("CPU HISTORY"), "{text}");
}

#[test]
fn opening_another_host_stops_the_previous_tail() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, ":host db1");
    key(&mut app, KeyCode::Enter);
    let tails: Vec<Need> = app
        .needs()
        .into_iter()
        .filter(|n| matches!(n, Need::LogTail { .. }))
        .collect();
    assert_eq!(
        tails,
        vec![Need::LogTail {
            host: 2,
            target: LogTarget::Unit("nginx".into())
        }]
    );
}

#[test]
fn log_search_pause_and_follow() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "\" 502");
    key(&mut app, KeyCode::Enter);
    let text = render(&mut app);
    let shown: Vec<&str> = text.lines().filter(|l| l.contains("GET /api")).collect();
    assert_eq!(shown.len(), 4, "{text}");
    assert!(shown.iter().all(|l| l.contains("\" 502")), "{text}");
    // Pausing pins the view: new lines do not move it.
    keys(&mut app, "p");
    app.update(Event::LogLines {
        host: 0,
        lines: vec!["Nov 18 11:07:00 web1 nginx[913]: \"GET /api/new HTTP/1.1\" 502 1ms".into()],
    });
    let text = render(&mut app);
    assert!(!text.contains("/api/new"), "{text}");
    assert!(text.contains("paused"), "{text}");
    keys(&mut app, "G");
    let text = render(&mut app);
    assert!(
        text.contains("/api/new") && text.contains("following"),
        "{text}"
    );
}

#[test]
fn palette_completes_with_tab_and_runs_theme() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 80, 24);
    keys(&mut app, ":th");
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "li");
    key(&mut app, KeyCode::Tab);
    match &app.overlay {
        Some(Overlay::Palette(st)) => assert_eq!(st.input, "theme light"),
        other => panic!("palette closed: {other:?}"),
    }
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    assert_eq!(app.theme.name, "light");
    keys(&mut app, ":theme nope");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.theme.name, "light");
    let text = render(&mut app);
    assert!(text.contains("no theme `nope`"), "{text}");
}

#[test]
fn palette_quit_and_q_quit() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 80, 24);
    keys(&mut app, ":quit");
    key(&mut app, KeyCode::Enter);
    assert!(app.quit);
    let mut app = fixtures::mixed_fleet(Environment::Development, 80, 24);
    keys(&mut app, "q");
    assert!(app.quit);
    let mut app = fixtures::mixed_fleet(Environment::Development, 80, 24);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit);
}

#[test]
fn freeze_holds_updates_until_resumed() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, "f");
    let mut h = fixtures::healthy("web1", "10.0.0.11", &["web"], 1);
    h.status = Status::Unreachable;
    h.error = Some("auth failed".into());
    app.update(Event::Health {
        host: 0,
        health: Box::new(h),
        at: NOW,
    });
    assert_eq!(app.hosts[0].status(), Some(Status::Up));
    assert!(render(&mut app).contains("FROZEN"));
    keys(&mut app, "f");
    assert_eq!(app.hosts[0].status(), Some(Status::Unreachable));
    let text = render(&mut app);
    assert!(text.contains("unreachable: auth failed"), "{text}");
    assert!(
        text.contains("web1 unreachable: auth failed"),
        "alert shown: {text}"
    );
}

#[test]
fn bottom_bar_shows_only_keys_of_the_view() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    let fleet = render(&mut app);
    let last = fleet.lines().last().unwrap().to_string();
    assert!(
        last.contains("s sort") && last.contains("enter open"),
        "{last}"
    );
    assert!(!last.contains("follow"), "{last}");
    key(&mut app, KeyCode::Enter);
    let host = render(&mut app);
    let last = host.lines().last().unwrap().to_string();
    assert!(
        last.contains("p follow") && !last.contains("sort"),
        "{last}"
    );
}

#[test]
fn remapped_keys_drive_the_app_and_show_in_help() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    app.keymap = super::keymap::Keymap::with_remaps(&[super::keymap::Remap {
        action: "sort".into(),
        keys: vec!["o".into()],
        file: "c.toml".into(),
        line: 3,
    }])
    .unwrap();
    keys(&mut app, "s");
    assert_eq!(fleet_view(&app).sort(), SortColumn::Status);
    keys(&mut app, "o");
    assert_eq!(fleet_view(&app).sort(), SortColumn::Name);
    keys(&mut app, "?");
    let text = render(&mut app);
    assert!(text.contains("o  sort by next column"), "{text}");
}

#[test]
fn thousand_hosts_scroll_and_render_only_the_window() {
    let mut app = fixtures::large_fleet(1000, 120, 40);
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    let sel = selected_row(&app).unwrap();
    assert!(sel >= 60, "{sel}");
    let offset = fleet_view(&app).table.offset();
    assert!(offset <= sel && sel < offset + fleet::table_height(app.body().height) as usize);
    keys(&mut app, "G");
    assert_eq!(selected_row(&app), Some(999));
    let text = render(&mut app);
    let last_host = &app.hosts[*fleet_view(&app).table.rows()[999].key().unwrap()].name;
    assert!(text.contains(last_host.as_str()), "{text}");
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    let click = |row| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(fleet::first_row_y(app.body()) + 2));
    assert_eq!(selected_row(&app), Some(2));
    app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(selected_row(&app), Some(3));
    app.mouse = false;
    app.update(click(fleet::first_row_y(app.body())));
    assert_eq!(selected_row(&app), Some(3), "mouse off in config");
}

#[test]
fn no_color_frames_read_the_same() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 24);
    let coloured = render(&mut app);
    app.color_mode = super::theme::ColorMode::None;
    app.set_theme("dark").unwrap();
    assert_eq!(render(&mut app), coloured);
}

#[test]
fn http_checks_attach_to_hosts_by_url_or_resolve_address() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    app.check_resolve = vec![("shop-web2".into(), "10.0.0.12:443".into())];
    app.update(Event::Checks(vec![crate::health::CheckResult {
        name: "shop-web2".into(),
        url: "https://shop.example.com/health".into(),
        status: Status::Warn,
        http_status: Some(200),
        latency_ms: Some(1234.0),
        cert_days_left: Some(12.0),
        error: None,
    }]));
    let text = render(&mut app);
    let web2 = text.lines().find(|l| l.contains("web2 ")).unwrap();
    assert!(web2.contains("1234ms") && web2.contains("12d"), "{web2}");
    let web1 = text.lines().find(|l| l.contains("web1 ")).unwrap();
    assert!(
        !web1.contains("ms "),
        "the URL check on web1 was replaced: {web1}"
    );
}

fn colours_used(app: &mut App) -> Vec<ratatui::style::Color> {
    app.prepare();
    let mut term = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    term.draw(|f| ui::draw(f, app)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out: Vec<_> = buf.content().iter().flat_map(|c| [c.fg, c.bg]).collect();
    out.sort_by_key(|c| format!("{c:?}"));
    out.dedup();
    out
}

#[test]
fn frames_use_only_colours_the_terminal_has() {
    use super::theme::ColorMode;
    use ratatui::style::Color;
    for theme in ["dark", "light", "high-contrast"] {
        for (mode, ok) in [
            (
                ColorMode::None,
                (|c: &Color| *c == Color::Reset) as fn(&Color) -> bool,
            ),
            (ColorMode::Ansi16, |c: &Color| {
                !matches!(c, Color::Rgb(..) | Color::Indexed(_))
            }),
            (ColorMode::Indexed256, |c: &Color| {
                !matches!(c, Color::Rgb(..))
            }),
        ] {
            let mut app = fixtures::mixed_fleet(Environment::Production, 160, 48);
            app.color_mode = mode;
            app.set_theme(theme).unwrap();
            let fleet = colours_used(&mut app);
            keys(&mut app, ":host web1");
            key(&mut app, KeyCode::Enter);
            let host = colours_used(&mut app);
            for c in fleet.iter().chain(&host) {
                assert!(ok(c), "{theme} in {mode:?} uses {c:?}");
            }
            if mode != ColorMode::None {
                assert!(
                    fleet.len() > 3,
                    "{theme} in {mode:?} has colours: {fleet:?}"
                );
            }
        }
    }
    // The check above means something: in true colour the dark theme does use RGB.
    let mut app = fixtures::mixed_fleet(Environment::Production, 160, 48);
    assert!(
        colours_used(&mut app)
            .iter()
            .any(|c| matches!(c, Color::Rgb(..)))
    );
}

// ---- views as components ----

/// A frame with its styles: each row's text, then its runs of one style
/// (`start..end fg/bg +modifiers`), so a snapshot catches a colour change too.
fn render_styled(app: &mut App) -> String {
    app.prepare();
    let mut term = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    term.draw(|f| ui::draw(f, app)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut text = String::new();
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            text.push_str(c.symbol());
            let style = format!("{:?}/{:?} {:?}", c.fg, c.bg, c.modifier);
            match runs.last_mut() {
                Some((_, end, s)) if *s == style => *end = x + 1,
                _ => runs.push((x, x + 1, style)),
            }
        }
        out.push_str(&format!("{text}\n"));
        for (start, end, style) in runs {
            out.push_str(&format!("    {start}..{end} {style}\n"));
        }
    }
    out
}

#[test]
fn theme_dark_styles() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 12);
    app.set_theme("dark").unwrap();
    insta::assert_snapshot!(render_styled(&mut app));
}

#[test]
fn theme_light_styles() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 12);
    app.set_theme("light").unwrap();
    insta::assert_snapshot!(render_styled(&mut app));
}

#[test]
fn theme_high_contrast_styles() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 80, 12);
    app.set_theme("high-contrast").unwrap();
    insta::assert_snapshot!(render_styled(&mut app));
}

#[test]
fn clicks_on_the_tab_bar_hit_exactly_the_labels() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let click = |column| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row: 1,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    // " 1 Fleet " is columns 0-8, "│" is 9, " 2 Host " 10-17. Columns 18-39 used
    // to select the Host tab although nothing is drawn there.
    for column in [9, 18, 25, 39] {
        app.update(click(column));
        assert!(!on_host_view(&app), "column {column} is not on a label");
    }
    app.update(click(17));
    assert!(on_host_view(&app), "a click on the Host label shows it");
    app.update(click(3));
    assert!(!on_host_view(&app));
    let text = render(&mut app);
    let tab_row = text.lines().nth(1).unwrap();
    assert!(
        tab_row.starts_with("\" 1 Fleet │ 2 Host: cache1 "),
        "{tab_row}"
    );
}

#[test]
fn collectors_follow_the_views_on_screen() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    let tail = Need::LogTail {
        host: 0,
        target: LogTarget::Unit("nginx".into()),
    };
    assert_eq!(app.needs(), [Need::HostHealth, Need::HttpChecks]);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    assert!(app.needs().contains(&Need::Processes { host: 0 }));
    assert!(app.needs().contains(&tail));
    // Back on the fleet: processes are no longer probed, the log keeps following.
    key(&mut app, KeyCode::Esc);
    assert!(!app.needs().contains(&Need::Processes { host: 0 }));
    assert!(app.needs().contains(&tail));
    keys(&mut app, "2");
    assert!(app.needs().contains(&Need::Processes { host: 0 }));
}

#[test]
fn a_reopened_host_does_not_repeat_its_log() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    let before = app
        .view::<host::HostView>()
        .unwrap()
        .log()
        .unwrap()
        .lines
        .len();
    keys(&mut app, ":host db1");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, ":host web1");
    key(&mut app, KeyCode::Enter);
    // The restarted tail sends its backlog (the last lines) again, then a new one.
    let mut backlog: Vec<String> = app
        .view::<host::HostView>()
        .unwrap()
        .log()
        .unwrap()
        .lines
        .iter()
        .rev()
        .take(10)
        .rev()
        .cloned()
        .collect();
    backlog.push("a new line".into());
    app.update(Event::LogLines {
        host: 0,
        lines: backlog,
    });
    let log = app.view::<host::HostView>().unwrap().log().unwrap();
    assert_eq!(log.lines.len(), before + 1, "only the new line was added");
    assert_eq!(log.lines.back().map(String::as_str), Some("a new line"));
}

#[test]
fn a_changed_host_key_is_an_alarm_not_a_timeout() {
    let mut app = fixtures::mixed_fleet(Environment::Development, 160, 48);
    let mut h = fixtures::healthy("web1", "10.0.0.11", &["web"], 1);
    h.status = Status::Unreachable;
    h.error = Some("WARNING: HOST KEY FOR web1 HAS CHANGED".into());
    h.error_kind = Some(crate::health::ErrorKind::HostKeyChanged);
    app.update(Event::Health {
        host: 0,
        health: Box::new(h),
        at: NOW,
    });
    let text = render(&mut app);
    let web1 = text.lines().find(|l| l.contains("web1 ")).unwrap();
    assert!(web1.contains("HOST KEY CHANGED: WARNING"), "{web1}");
    assert!(!web1.contains("unreachable:"), "{web1}");
    assert!(
        text.contains("web1 HOST KEY CHANGED"),
        "the alert says so: {text}"
    );
    // cache1 timed out: still the plain unreachable wording.
    let cache1 = text.lines().find(|l| l.contains("cache1 ")).unwrap();
    assert!(cache1.contains("unreachable: timeout after 5s"), "{cache1}");
}

// ---- the Queries tab ----

use super::feed::Task;
use super::views::queries::{self, Pane, PlanState, QueriesView};

fn queries_view(app: &App) -> &QueriesView {
    app.view::<QueriesView>()
        .expect("the queries view is registered")
}

fn on_queries(app: &mut App) {
    keys(app, "3");
    assert_eq!(app.context(), queries::CONTEXT);
}

#[test]
fn queries_160x48() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 48);
    on_queries(&mut app);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn queries_80x24() {
    let mut app = fixtures::with_databases(Environment::Production, false, 80, 24);
    on_queries(&mut app);
    insta::assert_snapshot!(render(&mut app));
}

/// A slow-log window in which the top statement was slow 42 times, plus a class
/// the live statements do not have.
fn slow_window(top_id: &str) -> crate::sql::digest::window::WindowDigest {
    use crate::sql::digest::window::{WindowClass, WindowDigest};
    WindowDigest::new(
        "db1:/var/log/postgresql/postgresql-15-main.log",
        15,
        57,
        61.5,
        vec![
            WindowClass {
                id: top_id.to_string(),
                fingerprint: "select ...".into(),
                count: 42,
                total_s: 58.8,
                p95_s: 2.31,
                max_s: 3.9,
                example: Some(
                    "SELECT o.id, o.total FROM shop_order o JOIN shop_customer c ON c.id = o.customer_id WHERE c.email = 'ann@example.com'".into(),
                ),
            },
            WindowClass {
                id: "0x00000000000000000000000000000001".into(),
                fingerprint: "vacuum analyze ?".into(),
                count: 15,
                total_s: 2.7,
                p95_s: 0.25,
                max_s: 0.4,
                example: None,
            },
        ],
    )
}

#[test]
fn the_slow_log_window_joins_the_statements_by_class() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    let before = render(&mut app);
    assert!(
        !before.contains("SLOW"),
        "no slow log, no column:\n{before}"
    );
    let top = queries_view(&app)
        .state
        .get("shop")
        .and_then(|s| s.report.as_deref())
        .and_then(|r| {
            r.statements
                .iter()
                .max_by(|a, b| a.share.total_cmp(&b.share))
                .map(|s| s.id.clone())
        })
        .expect("the fixture has statements");
    app.update(Event::SlowLog {
        db: "shop".into(),
        result: Box::new(Ok(slow_window(&top))),
    });
    let text = render(&mut app);
    assert!(
        text.contains("slow log 15m: 57 events, 2 classes (1 not among the statements)"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    // A failed read keeps the last window and says why.
    app.update(Event::SlowLog {
        db: "shop".into(),
        result: Box::new(Err("db1: cannot read /var/log/postgresql/x.log".into())),
    });
    let text = render(&mut app);
    assert!(text.contains("slow log: db1: cannot read"), "{text}");
    assert!(text.contains("57 events"), "{text}");
}

#[test]
fn a_sort_keeps_its_column_when_the_slow_log_columns_appear() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    // LOAD, CALLS/s, MS/s, MEAN, ROWS/s, CALLS, TOTAL, HIT%, DB, QUERY: to QUERY.
    keys(&mut app, "sssssssss");
    let _ = render(&mut app);
    assert_eq!(queries_view(&app).statements.sort_column(), 9);
    app.update(Event::SlowLog {
        db: "shop".into(),
        result: Box::new(Ok(slow_window("0x0"))),
    });
    let text = render(&mut app);
    assert!(text.contains("QUERY▲") || text.contains("QUERY▼"), "{text}");
    assert_eq!(queries_view(&app).statements.sort_column(), 11);
}

#[test]
fn explain_of_a_class_the_slow_log_caught_uses_its_real_values() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    let top = queries_view(&app)
        .statements
        .selected()
        .and_then(|k| k.split('\u{1f}').next().map(str::to_string))
        .expect("a statement is selected");
    let id = queries_view(&app)
        .state
        .get("shop")
        .and_then(|s| s.report.as_deref())
        .and_then(|r| r.statements.iter().find(|s| s.queryid == top))
        .map(|s| s.id.clone())
        .expect("the selected statement");
    app.update(Event::SlowLog {
        db: "shop".into(),
        result: Box::new(Ok(slow_window(&id))),
    });
    let _ = render(&mut app);
    key(&mut app, KeyCode::Enter);
    let Some(Task::Explain { sql, .. }) = app.tasks.pop() else {
        panic!("an EXPLAIN task")
    };
    assert!(sql.contains("'ann@example.com'"), "{sql}");
    // A class the log did not catch keeps its normalized text (a generic plan).
    key(&mut app, KeyCode::Esc);
    keys(&mut app, "j");
    key(&mut app, KeyCode::Enter);
    let Some(Task::Explain { sql, .. }) = app.tasks.pop() else {
        panic!("an EXPLAIN task")
    };
    assert!(sql.contains("$1"), "{sql}");
}

#[test]
fn a_frozen_screen_holds_the_slow_log_too() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    keys(&mut app, "f");
    assert!(app.frozen);
    app.update(Event::SlowLog {
        db: "shop".into(),
        result: Box::new(Ok(slow_window("0x0"))),
    });
    assert!(!render(&mut app).contains("slow log 15m"));
    keys(&mut app, "f");
    assert!(render(&mut app).contains("slow log 15m"));
}

#[test]
fn queries_without_databases() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 100, 16);
    on_queries(&mut app);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn queries_collected_only_while_shown() {
    let mut app = fixtures::with_databases(Environment::Production, false, 120, 30);
    let wants = |app: &App| {
        app.needs()
            .iter()
            .any(|n| matches!(n, Need::Queries { db } if db == "shop"))
    };
    assert!(!wants(&app), "the fleet does not poll databases");
    on_queries(&mut app);
    assert!(wants(&app));
    keys(&mut app, "d");
    assert!(
        app.needs()
            .iter()
            .any(|n| matches!(n, Need::Queries { db } if db == "reports")),
        "d moves to the next database"
    );
    assert!(!wants(&app));
    keys(&mut app, "1");
    assert!(
        !app.needs()
            .iter()
            .any(|n| matches!(n, Need::Queries { .. }))
    );
}

#[test]
fn sessions_list_the_lock_chain_from_its_root() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 48);
    on_queries(&mut app);
    keys(&mut app, "t");
    let v = queries_view(&app);
    assert_eq!(v.focus, Pane::Sessions);
    let order: Vec<i64> = v
        .sessions
        .rows()
        .iter()
        .filter_map(|r| r.key().copied())
        .collect();
    assert_eq!(order[..3], [4107, 4110, 4111], "{order:?}");
    assert_eq!(v.sessions.selected(), Some(&4107));
    let text = render(&mut app);
    assert!(text.contains("blocks 2"), "{text}");
    assert!(text.contains("└ 4110"), "{text}");
}

/// A plan captured from the sandbox's PostgreSQL, as the feed renders it.
fn captured_plan_lines(fixture: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/explain")
        .join(fixture);
    let json = std::fs::read_to_string(path).expect("the fixture is there");
    let tree = crate::db::explain::parse(crate::config::Engine::Postgresql, &json)
        .expect("a captured plan parses");
    crate::db::explain::render(&tree)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn explain_of_a_statement_asks_and_shows_the_plan() {
    let mut app = fixtures::with_databases(Environment::Production, false, 120, 30);
    on_queries(&mut app);
    key(&mut app, KeyCode::Enter);
    let task = app.tasks.pop().expect("an EXPLAIN task");
    let Task::Explain {
        db,
        sql,
        analyze,
        tag,
    } = task
    else {
        panic!("{task:?}")
    };
    assert_eq!(db, "shop");
    assert!(sql.contains("c.email = $1"), "the top statement: {sql}");
    assert!(!analyze);
    assert!(render(&mut app).contains("asking shop for the plan"));
    app.update(Event::Explain {
        db,
        tag: tag.clone(),
        result: Ok(captured_plan_lines("pg/hash_spill.analyze.json")),
    });
    assert!(matches!(
        queries_view(&app).plan.as_ref().map(|p| &p.state),
        Some(PlanState::Lines(_))
    ));
    insta::assert_snapshot!(render(&mut app));
    // A late answer to an older request does not replace it.
    app.update(Event::Explain {
        db: "shop".into(),
        tag: "queries-explain-0".into(),
        result: Err("stale".into()),
    });
    assert!(!render(&mut app).contains("stale"));
    key(&mut app, KeyCode::Esc);
    assert!(queries_view(&app).plan.is_none());
    assert_eq!(app.context(), queries::CONTEXT, "Esc closes the plan only");
}

#[test]
fn a_failed_explain_says_why() {
    let mut app = fixtures::with_databases(Environment::Production, false, 120, 30);
    on_queries(&mut app);
    keys(&mut app, "tjA");
    let Some(Task::Explain {
        tag, analyze, sql, ..
    }) = app.tasks.pop()
    else {
        panic!("an EXPLAIN task")
    };
    assert!(analyze);
    assert!(sql.starts_with("UPDATE shop_stock"), "{sql}");
    app.update(Event::TaskFailed {
        tag,
        reason: "no database `shop` in the profile".into(),
    });
    assert!(render(&mut app).contains("no plan: no database `shop` in the profile"));
}

#[test]
fn cancel_in_production_needs_the_name_typed() {
    let mut app = fixtures::with_databases(Environment::Production, false, 100, 30);
    on_queries(&mut app);
    keys(&mut app, "c");
    assert!(app.overlay.is_none(), "statements are not sessions");
    assert!(app.tasks.is_empty());
    keys(&mut app, "tc");
    assert!(
        app.tasks.is_empty(),
        "nothing runs before the dialog is answered"
    );
    insta::assert_snapshot!(render(&mut app));
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none(), "Enter on Cancel cancels");
    assert!(app.tasks.is_empty());
    keys(&mut app, "c");
    keys(&mut app, "production");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let Some(Task::Signal {
        db,
        pid,
        kill,
        consent,
        tag,
    }) = app.tasks.pop()
    else {
        panic!("a signal task")
    };
    assert_eq!((db.as_str(), pid, kill), ("shop", 4107, false));
    assert_eq!(consent.typed.as_deref(), Some("production"));
    app.update(Event::ChangeDone {
        tag,
        ok: true,
        detail: "cancelled the query of session 4107".into(),
    });
    assert!(render(&mut app).contains("shop: cancelled the query of session 4107"));
}

#[test]
fn read_only_profiles_send_the_change_to_be_refused_and_audited() {
    let mut app = fixtures::with_databases(Environment::Production, true, 100, 30);
    on_queries(&mut app);
    keys(&mut app, "tK");
    assert!(app.overlay.is_none(), "no dialog for what will be refused");
    let Some(Task::Signal {
        kill, consent, tag, ..
    }) = app.tasks.pop()
    else {
        panic!("a signal task")
    };
    assert!(kill);
    assert_eq!(consent, crate::ops::Consent::default());
    app.update(Event::ChangeDone {
        tag,
        ok: false,
        detail: "refused: the profile `shop-prod` is read-only (read_only = true)".into(),
    });
    let text = render(&mut app);
    assert!(text.contains("end session 4107 on shop: refused"), "{text}");
}

#[test]
fn a_failed_refresh_keeps_the_last_figures() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    app.update(Event::Queries {
        db: "shop".into(),
        report: Err("connection refused (10.0.0.21:5432)".into()),
    });
    let text = render(&mut app);
    assert!(
        text.contains("refresh failed: connection refused"),
        "{text}"
    );
    assert!(
        text.contains("shop_product"),
        "the last report stays: {text}"
    );
}

#[test]
fn frozen_queries_hold_their_refresh() {
    let mut app = fixtures::with_databases(Environment::Production, false, 160, 30);
    on_queries(&mut app);
    keys(&mut app, "f");
    let mut r = fixtures::shop_report();
    r.activity.clear();
    app.update(Event::Queries {
        db: "shop".into(),
        report: Ok(std::sync::Arc::new(r)),
    });
    assert!(
        render(&mut app).contains("4107"),
        "frozen: the old sessions"
    );
    keys(&mut app, "f");
    assert!(
        !render(&mut app).contains("4107"),
        "resumed: the new refresh"
    );
}

#[test]
fn palette_switches_database() {
    let mut app = fixtures::with_databases(Environment::Production, false, 120, 30);
    keys(&mut app, ":db reports");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.context(), queries::CONTEXT);
    assert_eq!(queries_view(&app).database(), Some("reports"));
    assert!(render(&mut app).contains("connecting…"));
    keys(&mut app, ":db nope");
    key(&mut app, KeyCode::Enter);
    assert!(render(&mut app).contains("no database `nope`"));
}

// ---- the Audit tab ----

use super::event::AuditSnapshot;
use super::views::audit::{self, AuditView};

fn audit_view(app: &App) -> &AuditView {
    app.view::<AuditView>()
        .expect("the audit view is registered")
}

/// The Audit tab, the log read as `snapshot`.
fn on_audit(width: u16, height: u16, snapshot: AuditSnapshot) -> App {
    let mut app = fixtures::mixed_fleet(Environment::Production, width, height);
    keys(&mut app, "4");
    assert_eq!(app.context(), audit::CONTEXT);
    app.update(Event::Audit {
        path: fixtures::AUDIT_PATH.into(),
        result: Ok(std::sync::Arc::new(snapshot)),
    });
    app.prepare();
    app
}

fn audit_order(app: &App) -> Vec<String> {
    let v = audit_view(app);
    let entries = &v.log.as_ref().unwrap().entries;
    v.table
        .rows()
        .iter()
        .filter_map(|r| r.key())
        .map(|&i| entries[i].record.at.clone())
        .collect()
}

#[test]
fn audit_120x30() {
    let mut app = on_audit(120, 30, fixtures::audit_log());
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn audit_80x24() {
    let mut app = on_audit(80, 24, fixtures::audit_log());
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn audit_filtered() {
    let mut app = on_audit(120, 30, fixtures::audit_log());
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "deploy");
    key(&mut app, KeyCode::Enter);
    assert_eq!(audit_order(&app).len(), 3);
    insta::assert_snapshot!(render(&mut app));
    // `!` negates, Esc clears.
    key(&mut app, KeyCode::Char('/'));
    for _ in "deploy".chars() {
        key(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "!production");
    key(&mut app, KeyCode::Enter);
    assert_eq!(audit_order(&app), ["2026-11-11T09:12:03Z"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(audit_order(&app).len(), 5);
}

#[test]
fn audit_record_pane() {
    let mut app = on_audit(120, 30, fixtures::audit_log());
    // Newest first: the failed deploy is selected.
    key(&mut app, KeyCode::Enter);
    let pane = audit_view(&app).record.clone().expect("the record is open");
    assert_eq!(pane.index, 4);
    insta::assert_snapshot!(render(&mut app));
    key(&mut app, KeyCode::Esc);
    assert!(audit_view(&app).record.is_none());
    assert_eq!(app.context(), audit::CONTEXT, "Esc closes the record only");
}

#[test]
fn audit_empty() {
    let mut app = on_audit(100, 16, AuditSnapshot::default());
    let text = render(&mut app);
    assert!(
        text.contains(&format!(
            "no changes recorded yet (audit log: {})",
            fixtures::AUDIT_PATH
        )),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn audit_is_newest_first_and_sorts_by_column() {
    let mut app = on_audit(120, 30, fixtures::audit_log());
    let order = audit_order(&app);
    assert_eq!(
        order.first().map(String::as_str),
        Some("2026-11-18T10:58:22Z")
    );
    assert_eq!(
        order.last().map(String::as_str),
        Some("2026-11-11T09:12:03Z")
    );
    keys(&mut app, "S");
    assert_eq!(
        audit_order(&app).first().map(String::as_str),
        Some("2026-11-11T09:12:03Z"),
        "reversed: oldest first"
    );
    // s five times: AT, WHO, ENV, CHANGE, TARGET -> OUTCOME, worst first.
    keys(&mut app, "sssss");
    assert_eq!(audit_view(&app).table.sort_column(), 5);
    let v = audit_view(&app);
    let entries = &v.log.as_ref().unwrap().entries;
    let first = v.table.rows()[0].key().copied().unwrap();
    assert_eq!(entries[first].record.outcome, crate::ops::Outcome::Failed);
    assert!(render(&mut app).contains("OUTCOME▼"));
}

#[test]
fn audit_read_only_while_shown_and_new_records_keep_the_selection() {
    let mut app = fixtures::mixed_fleet(Environment::Production, 120, 30);
    let wants = |app: &App| app.needs().contains(&Need::AuditLog);
    assert!(!wants(&app));
    keys(&mut app, "4");
    assert!(wants(&app));
    let mut log = fixtures::audit_log();
    app.update(Event::Audit {
        path: fixtures::AUDIT_PATH.into(),
        result: Ok(std::sync::Arc::new(log.clone())),
    });
    app.prepare();
    keys(&mut app, "j");
    assert_eq!(audit_view(&app).table.selected(), Some(&3));
    // A change is recorded: it comes on top, the selection stays.
    let mut newer = log.entries[0].clone();
    newer.record.at = "2026-11-18T11:00:00Z".into();
    newer.at_us = newer.record.at_micros();
    log.entries.push(newer);
    app.update(Event::Audit {
        path: fixtures::AUDIT_PATH.into(),
        result: Ok(std::sync::Arc::new(log)),
    });
    app.prepare();
    assert_eq!(audit_view(&app).table.selected(), Some(&3));
    assert_eq!(audit_order(&app)[0], "2026-11-18T11:00:00Z");
    // A failed read keeps the records and says why.
    app.update(Event::Audit {
        path: fixtures::AUDIT_PATH.into(),
        result: Err("permission denied".into()),
    });
    let text = render(&mut app);
    assert!(
        text.contains("cannot read the audit log: permission denied"),
        "{text}"
    );
    assert!(text.contains("6 changes recorded"), "{text}");
    keys(&mut app, "1");
    assert!(!wants(&app));
}

#[test]
fn audit_frozen_holds_the_new_read() {
    let mut app = on_audit(120, 30, AuditSnapshot::default());
    keys(&mut app, "f");
    app.update(Event::Audit {
        path: fixtures::AUDIT_PATH.into(),
        result: Ok(std::sync::Arc::new(fixtures::audit_log())),
    });
    assert!(render(&mut app).contains("no changes recorded yet"));
    keys(&mut app, "f");
    assert!(render(&mut app).contains("5 changes recorded"));
}

#[test]
fn audit_outcomes_take_the_theme_colours() {
    use crate::ops::Outcome;
    let mut app = on_audit(120, 30, fixtures::audit_log());
    app.prepare();
    let mut term = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    term.draw(|f| ui::draw(f, &app)).unwrap();
    let buf = term.backend().buffer().clone();
    let line = |y: u16| -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    };
    let header = (0..buf.area.height)
        .find(|&y| line(y).contains("OUTCOME"))
        .unwrap();
    let text = line(header);
    let col = text[..text.find("OUTCOME").unwrap()].chars().count() as u16;
    let mut seen = Vec::new();
    // The first row is selected: the selection's colours cover it.
    for y in header + 2..header + 6 {
        let word: String = (col..col + 11)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect::<String>()
            .trim()
            .to_string();
        let outcome = match word.as_str() {
            "ok" => Outcome::Ok,
            "failed" => Outcome::Failed,
            "refused" => Outcome::Refused,
            "rolled-back" => Outcome::RolledBack,
            other => panic!("{other:?} in the OUTCOME column"),
        };
        assert_eq!(
            buf[(col, y)].fg,
            app.theme.outcome(outcome).fg.unwrap(),
            "{word}"
        );
        seen.push(outcome);
    }
    assert_eq!(
        seen,
        [
            Outcome::Ok,
            Outcome::RolledBack,
            Outcome::Refused,
            Outcome::Ok
        ],
        "newest first, under the failed deploy"
    );
}

// ---- the Deploy tab ----

use super::change_flow::Flow;
use super::event::StepView;
use super::feed::AppChange;
use super::views::deploy::{self, DeployView};

fn deploy_view(app: &App) -> &DeployView {
    app.view::<DeployView>()
        .expect("the deploy view is registered")
}

fn on_deploy(env: Environment, width: u16, height: u16, locked: bool) -> App {
    let mut app = fixtures::with_app(env, width, height);
    keys(&mut app, "5");
    assert_eq!(app.context(), deploy::CONTEXT);
    app.update(Event::Releases {
        result: Ok(std::sync::Arc::new(fixtures::deploy_status(locked))),
    });
    app.prepare();
    app
}

/// `d`, the plan arriving, and the dialog confirmed (typed in production).
fn confirm_deploy(app: &mut App) -> String {
    keys(app, "d");
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(change, AppChange::Deploy { rev: None });
    app.update(Event::ChangePlanned {
        tag: tag.clone(),
        result: Ok(fixtures::deploy_plan()),
    });
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    tag
}

#[test]
fn deploy_tab_shows_drift_and_the_lock_loudly() {
    let mut app = on_deploy(Environment::Production, 120, 30, true);
    let text = render(&mut app);
    assert!(
        text.contains("DRIFT: hosts run different revisions"),
        "{text}"
    );
    assert!(text.contains("lock held by ana@laptop on laptop"), "{text}");
    // The top bar says it on every tab.
    assert!(text.contains("LOCKED by ana@laptop (5m12s)"), "{text}");
    insta::assert_snapshot!(text);
    keys(&mut app, "1");
    assert!(render(&mut app).contains("LOCKED by ana@laptop"));
}

#[test]
fn deploy_plan_dialog_in_production() {
    let mut app = on_deploy(Environment::Production, 120, 34, false);
    confirm_deploy(&mut app);
    insta::assert_snapshot!(render(&mut app));
}

#[test]
fn deploy_progress_while_running_and_after_a_failure() {
    let mut app = on_deploy(Environment::Production, 120, 34, false);
    let tag = confirm_deploy(&mut app);
    keys(&mut app, "production");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let Some(Task::Apply { tag: t, consent }) = app.tasks.pop() else {
        panic!("an apply task")
    };
    assert_eq!(t, tag);
    assert_eq!(consent.typed.as_deref(), Some("production"));
    for i in 0..8 {
        app.update(Event::ChangeStep {
            tag: tag.clone(),
            index: i,
            state: StepView::Running,
        });
        app.update(Event::ChangeStep {
            tag: tag.clone(),
            index: i,
            state: StepView::Done,
        });
    }
    app.update(Event::ChangeStep {
        tag: tag.clone(),
        index: 8,
        state: StepView::Running,
    });
    app.update(Event::ChangeLine {
        tag: tag.clone(),
        text: "release 20261202031500_4d2a9e1 is ready on every host".into(),
    });
    let text = render(&mut app);
    assert!(
        text.contains("RUNNING Deploy shop v3 (4d2a9e1) 8/15"),
        "{text}"
    );
    insta::assert_snapshot!("deploy_progress_running", text);
    // A second change waits for this one.
    keys(&mut app, "b");
    assert!(app.tasks.is_empty());
    // Quitting would interrupt it: q asks again first.
    keys(&mut app, "q");
    assert!(!app.quit, "one q must not interrupt a running deploy");
    assert!(render(&mut app).contains("q again to interrupt it"));
    keys(&mut app, "j");
    keys(&mut app, "q");
    assert!(!app.quit, "another key in between asks again");
    for (p95, err) in [(24.0, 0.0), (26.0, 0.0), (118.0, 0.0), (131.0, 50.0)] {
        app.update(Event::ChangeSample {
            tag: tag.clone(),
            series: "p95 ms".into(),
            value: p95,
        });
        app.update(Event::ChangeSample {
            tag: tag.clone(),
            series: "errors %".into(),
            value: err,
        });
    }
    let text = render(&mut app);
    assert!(text.contains("watch p95 ms"), "{text}");
    assert!(text.contains("now 131, max 131"), "{text}");
    app.update(Event::ChangeStep {
        tag: tag.clone(),
        index: 8,
        state: StepView::Failed("the new master 25244 exited: its workers did not boot".into()),
    });
    app.update(Event::ChangeDone {
        tag: tag.clone(),
        ok: false,
        detail: "switch failed: web1: restart failed: the new master 25244 exited; every host is back where it started".into(),
    });
    let text = render(&mut app);
    assert!(!text.contains("RUNNING Deploy"), "{text}");
    insta::assert_snapshot!("deploy_progress_failed", text);
    assert!(matches!(deploy_view(&app).flow, Some(Flow::Finished(_))));
    key(&mut app, KeyCode::Esc);
    assert!(deploy_view(&app).flow.is_none());
    keys(&mut app, "q");
    assert!(app.quit, "nothing runs: q quits at once");
}

#[test]
fn deploy_in_read_only_goes_to_be_refused_without_a_dialog() {
    let mut app = on_deploy(Environment::Production, 120, 30, false);
    app.profile.read_only = true;
    keys(&mut app, "d");
    let Some(Task::Plan { tag, .. }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    app.update(Event::ChangePlanned {
        tag: tag.clone(),
        result: Ok(fixtures::deploy_plan()),
    });
    assert!(app.overlay.is_none());
    let Some(Task::Apply { consent, .. }) = app.tasks.pop() else {
        panic!("an apply task")
    };
    assert_eq!(consent, crate::ops::Consent::default());
}

#[test]
fn a_rollback_across_a_migration_is_confirmed_twice_in_production() {
    let mut app = on_deploy(Environment::Production, 120, 30, false);
    keys(&mut app, ":rollback");
    key(&mut app, KeyCode::Enter);
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(change, AppChange::Rollback { release: None });
    let mut plan = fixtures::deploy_plan();
    plan.title = "Roll shop back to v1 (61c13bf)".into();
    plan.ask_again = Some("the rollback crosses 1 database migration(s)".into());
    app.update(Event::ChangePlanned {
        tag,
        result: Ok(plan),
    });
    for _ in 0..2 {
        assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
        keys(&mut app, "production");
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Enter);
    }
    let Some(Task::Apply { consent, .. }) = app.tasks.pop() else {
        panic!("an apply task")
    };
    assert!(consent.again);
}

#[test]
fn a_plan_that_cannot_be_made_says_why() {
    let mut app = on_deploy(Environment::Staging, 120, 30, false);
    keys(&mut app, ":deploy v9");
    key(&mut app, KeyCode::Enter);
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(
        change,
        AppChange::Deploy {
            rev: Some("v9".into())
        }
    );
    app.update(Event::ChangePlanned {
        tag,
        result: Err("no branch, tag or commit `v9`".into()),
    });
    assert!(render(&mut app).contains("cannot plan it: no branch, tag or commit `v9`"));
    assert!(deploy_view(&app).flow.is_none());
}

// ---- the Scale tab ----

use super::views::scale::{self, ScaleView};
use crate::ops::scale::Delta;
use crate::ops::warm::{Phase, WarmStats};

fn scale_view(app: &App) -> &ScaleView {
    app.view::<ScaleView>()
        .expect("the scale view is registered")
}

fn on_scale(env: Environment, width: u16, height: u16) -> App {
    let mut app = fixtures::with_scale(env, width, height);
    keys(&mut app, "6");
    assert_eq!(app.context(), scale::CONTEXT);
    assert!(app.needs().contains(&Need::ScaleStatus));
    app.update(Event::ScaleStatus {
        result: Ok(std::sync::Arc::new(fixtures::scale_status())),
    });
    app.prepare();
    app
}

#[test]
fn scale_tab_counts_and_an_unreadable_host_160x48() {
    let mut app = on_scale(Environment::Production, 160, 48);
    let text = render(&mut app);
    assert!(text.contains("4 workers"), "{text}");
    assert!(text.contains("2 instances"), "{text}");
    assert!(
        text.contains("! /run/shop/gunicorn.pid: No such file or directory"),
        "{text}"
    );
    assert!(text.contains("CANNOT READ shop on web2"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn scale_tab_80x24() {
    let mut app = on_scale(Environment::Production, 80, 24);
    let text = render(&mut app);
    assert!(text.contains("CANNOT READ shop on web2"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn scale_tab_is_counted_only_while_shown() {
    let mut app = on_scale(Environment::Staging, 120, 30);
    // The fleet shows the counts too; the other tabs do not.
    keys(&mut app, "4");
    assert!(!app.needs().contains(&Need::ScaleStatus));
}

/// `+` on the first row, the plan arriving: the dialog is open.
fn plan_scale_up(app: &mut App) -> String {
    keys(app, "+");
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(
        change,
        AppChange::Scale {
            target: "shop".into(),
            delta: Delta::Add(1),
            host: "web1".into(),
        }
    );
    app.update(Event::ChangePlanned {
        tag: tag.clone(),
        result: Ok(fixtures::scale_plan()),
    });
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    tag
}

#[test]
fn scale_up_dialog_in_production() {
    let mut app = on_scale(Environment::Production, 120, 34);
    plan_scale_up(&mut app);
    let text = render(&mut app);
    assert!(
        text.contains("Scale shop +1 (workers: web1 4 → 5)"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    // Enter on Cancel (or before the name is typed) runs nothing.
    key(&mut app, KeyCode::Esc);
    assert!(app.tasks.is_empty());
}

#[test]
fn scale_up_confirmed_runs_and_says_how_it_ended() {
    let mut app = on_scale(Environment::Production, 120, 34);
    let tag = plan_scale_up(&mut app);
    keys(&mut app, "production");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let Some(Task::Apply { tag: t, consent }) = app.tasks.pop() else {
        panic!("an apply task")
    };
    assert_eq!(t, tag);
    assert_eq!(consent.typed.as_deref(), Some("production"));
    app.update(Event::ChangeStep {
        tag: tag.clone(),
        index: 0,
        state: StepView::Running,
    });
    let text = render(&mut app);
    assert!(text.contains("RUNNING Scale shop +1 "), "{text}");
    // One change at a time, from any tab.
    keys(&mut app, "-");
    assert!(app.tasks.is_empty());
    keys(&mut app, "q");
    assert!(!app.quit, "one q must not interrupt a running scale");
    app.update(Event::ChangeStep {
        tag: tag.clone(),
        index: 0,
        state: StepView::Done,
    });
    app.update(Event::ChangeDone {
        tag: tag.clone(),
        ok: true,
        detail: "shop: web1 4 → 5 workers".into(),
    });
    let text = render(&mut app);
    assert!(text.contains("shop: web1 4 → 5 workers"), "{text}");
    assert!(!text.contains("RUNNING"), "{text}");
    assert!(!app.change_running);
    key(&mut app, KeyCode::Esc);
    assert!(scale_view(&app).flow.is_none());
}

#[test]
fn scale_down_on_an_unreadable_host_is_planned_and_refused_with_the_reason() {
    let mut app = on_scale(Environment::Staging, 120, 30);
    keys(&mut app, "j");
    keys(&mut app, "-");
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(
        change,
        AppChange::Scale {
            target: "shop".into(),
            delta: Delta::Remove(1),
            host: "web2".into(),
        }
    );
    app.update(Event::ChangePlanned {
        tag,
        result: Err("web2: no such file; nothing was planned".into()),
    });
    assert!(render(&mut app).contains("cannot plan it: web2: no such file"));
    assert!(scale_view(&app).flow.is_none());
}

fn warm_stats(done: u64, total: Option<u64>) -> WarmStats {
    let mut s = WarmStats {
        phase: Phase::Warm,
        urls_seen: 1800,
        urls_total: total,
        urls_done: done,
        requests: done * 3,
        in_flight: 8,
        ok: done * 3 - 2,
        errors: 2,
        elapsed_s: 31.0,
        urls_per_s: 38.7,
        eta_s: Some(62.0),
        ..WarmStats::default()
    };
    s.by_cache.insert("HIT".into(), done * 2);
    s.by_cache.insert("MISS".into(), done);
    s
}

/// `w`, the plan, confirmed in production: the warm runs.
fn start_warm(app: &mut App) -> String {
    keys(app, "w");
    let Some(Task::Plan { change, tag }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    // cache1 has the `cache` role the profile's [warm] names.
    assert_eq!(change, AppChange::Warm { per_node: true });
    app.update(Event::ChangePlanned {
        tag: tag.clone(),
        result: Ok(fixtures::warm_plan()),
    });
    keys(app, "production");
    key(app, KeyCode::Tab);
    key(app, KeyCode::Enter);
    let Some(Task::Apply { tag: t, .. }) = app.tasks.pop() else {
        panic!("an apply task")
    };
    assert_eq!(t, tag);
    tag
}

#[test]
fn warm_panel_mid_run_and_done() {
    let mut app = on_scale(Environment::Production, 160, 48);
    let tag = start_warm(&mut app);
    assert!(render(&mut app).contains("reading the sitemaps…"));
    app.update(Event::WarmProgress {
        tag: tag.clone(),
        stats: Box::new(warm_stats(1200, Some(3600))),
    });
    // Another change's counters are not ours.
    app.update(Event::WarmProgress {
        tag: "warm-99".into(),
        stats: Box::new(warm_stats(1, None)),
    });
    let text = render(&mut app);
    assert!(text.contains("URLs 1200 / 3600"), "{text}");
    assert!(
        text.contains("38.7 URL/s · ETA 1m02s · 8 in flight · 2 error(s) · HIT 67%"),
        "{text}"
    );
    insta::assert_snapshot!("warm_panel_running", text);
    let mut done = warm_stats(3600, Some(3600));
    // As the warm's last update has it: totals, no rate of its own.
    done.phase = Phase::Done;
    done.in_flight = 0;
    done.elapsed_s = 93.0;
    done.urls_per_s = 0.0;
    done.eta_s = None;
    app.update(Event::WarmProgress {
        tag: tag.clone(),
        stats: Box::new(done),
    });
    app.update(Event::ChangeDone {
        tag: tag.clone(),
        ok: true,
        detail: "warmed 3600 URL(s) on cache1 in 1m33s: 10798 ok, 2 error(s); HIT before 12%"
            .into(),
    });
    let text = render(&mut app);
    assert!(text.contains("warmed 3600 URL(s) on cache1"), "{text}");
    assert!(text.contains("100%"), "{text}");
    assert!(
        text.contains("38.7 URL/s · ETA -"),
        "the average rate: {text}"
    );
    insta::assert_snapshot!("warm_panel_done", text);
}

#[test]
fn warm_panel_80x24() {
    let mut app = on_scale(Environment::Staging, 80, 24);
    let tag = start_warm(&mut app);
    app.update(Event::WarmProgress {
        tag,
        stats: Box::new(warm_stats(500, None)),
    });
    let text = render(&mut app);
    assert!(text.contains("URLs 500 / 1800+"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn warm_without_sitemaps_says_so() {
    let mut app = on_scale(Environment::Staging, 120, 30);
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char(':'),
        KeyModifiers::NONE,
    )));
    keys(&mut app, "warm");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.tasks.pop(), Some(Task::Plan { .. })));
    let mut app = fixtures::mixed_fleet(Environment::Staging, 120, 30);
    keys(&mut app, "6");
    keys(&mut app, "w");
    assert!(app.tasks.is_empty());
    let text = render(&mut app);
    assert!(text.contains("the profile has no [warm] section"), "{text}");
    assert!(
        text.contains("no [[scale]] targets in this profile"),
        "{text}"
    );
    keys(&mut app, "+");
    assert!(app.tasks.is_empty());
}

#[test]
fn help_in_the_scale_tab_lists_its_keys() {
    let mut app = on_scale(Environment::Staging, 120, 40);
    keys(&mut app, "?");
    let text = render(&mut app);
    assert!(text.contains("Keys — scale view"), "{text}");
    assert!(
        text.contains("one more on the selected target and host"),
        "{text}"
    );
    assert!(
        text.contains("warm the caches from the profile's [warm] sitemaps"),
        "{text}"
    );
}

#[test]
fn the_fleet_counts_scale_targets_while_shown_and_shows_each_hosts_count() {
    let mut app = fixtures::with_scale(Environment::Staging, 160, 48);
    assert_eq!(app.context(), fleet::CONTEXT);
    assert!(app.needs().contains(&Need::ScaleStatus));
    let before = render(&mut app);
    assert!(
        !before.contains(" APP"),
        "no column before counts came: {before}"
    );
    app.update(Event::ScaleStatus {
        result: Ok(std::sync::Arc::new(fixtures::scale_status())),
    });
    app.prepare();
    let text = render(&mut app);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(text.contains(" APP"), "{text}");
    // web1's first target is shop (4 workers); web2 could not be read.
    let end = |r: String| r.trim_end_matches([' ', '"']).to_string();
    assert!(end(row("web1")).ends_with("4 workers"), "{text}");
    assert!(end(row("web2")).ends_with('?'), "{text}");
    insta::assert_snapshot!(text);
    keys(&mut app, "4");
    assert!(
        !app.needs().contains(&Need::ScaleStatus),
        "not while unseen"
    );
}

#[test]
fn plus_on_a_fleet_host_plans_its_app_target_in_the_scale_tab() {
    let mut app = fixtures::with_scale(Environment::Production, 160, 48);
    // Select web1 (the rows sort by status, then name).
    let web1 = app
        .hosts
        .iter()
        .position(|h| h.name == "web1")
        .expect("web1 in the fixture");
    for _ in 0..app.hosts.len() {
        if app.selected_host == Some(web1) {
            break;
        }
        keys(&mut app, "j");
    }
    assert_eq!(app.selected_host, Some(web1));
    keys(&mut app, "+");
    assert_eq!(app.context(), scale::CONTEXT);
    let Some(Task::Plan { change, .. }) = app.tasks.pop() else {
        panic!("a plan task")
    };
    assert_eq!(
        change,
        AppChange::Scale {
            target: "shop".into(),
            delta: Delta::Add(1),
            host: "web1".into(),
        }
    );
}
