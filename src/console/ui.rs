//! The frame every view plugs into: top bar, tabs, the view, a notice line, and a
//! bottom bar of the keys valid here. `draw` is a pure function of `&App`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::action::{Action, Context};
use super::app::{App, FilterTarget, NoticeLevel, Overlay, Tab};
use super::palette;
use super::views::{fleet, help, host};
use crate::config::Environment;

/// The row of the tab bar (for mouse clicks).
pub const TABS_ROW: u16 = 1;
const BODY_TOP: u16 = 2;

fn has_notice_line(app: &App) -> bool {
    matches!(app.overlay, Some(Overlay::FilterInput { .. })) || app.current_notice().is_some()
}

/// Rows of the body (between the tab bar and the bottom bars).
pub fn body_height(app: &App) -> u16 {
    let chrome = BODY_TOP + 1 + u16::from(has_notice_line(app));
    app.height.saturating_sub(chrome)
}

/// Rows of host lines the fleet table shows (its header excluded).
pub fn fleet_table_height(app: &App) -> u16 {
    body_height(app).saturating_sub(1)
}

pub fn fleet_first_row_y(_app: &App) -> u16 {
    BODY_TOP + 1
}

pub fn log_pane_height(app: &App) -> u16 {
    host::log_text_height(body_height(app))
}

/// `HH:MM:SS UTC` of a Unix time.
fn clock(now: i64) -> String {
    let s = now.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, (s % 3600) / 60, s % 60)
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.height < 4 || area.width < 20 {
        f.render_widget(Paragraph::new("terminal too small"), area);
        return;
    }
    let t = &app.theme;
    f.render_widget(Block::default().style(t.text), area);
    draw_top_bar(f, Rect::new(area.x, area.y, area.width, 1), app);
    draw_tabs(f, Rect::new(area.x, area.y + TABS_ROW, area.width, 1), app);
    let body = Rect::new(
        area.x,
        area.y + BODY_TOP,
        area.width,
        body_height(app).min(area.height - BODY_TOP),
    );
    match app.tab {
        Tab::Fleet => fleet::draw(f, body, app),
        Tab::Host => host::draw(f, body, app),
    }
    if has_notice_line(app) {
        draw_notice(f, Rect::new(area.x, area.bottom() - 2, area.width, 1), app);
    }
    draw_bottom_bar(f, Rect::new(area.x, area.bottom() - 1, area.width, 1), app);
    match &app.overlay {
        Some(Overlay::Help) => help::draw(f, body, app),
        Some(Overlay::Palette(st)) => draw_palette(f, body, app, st),
        Some(Overlay::Confirm(d)) => d.draw(f, body, t),
        _ => {}
    }
}

fn draw_top_bar(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    f.render_widget(Block::default().style(t.bar), area);
    let mut left = vec![
        Span::styled(" opsctl ", t.bar.add_modifier(Modifier::BOLD)),
        Span::styled(format!(" {} ", app.profile.name), t.bar),
    ];
    let env = app.profile.environment;
    let env_text = if env == Environment::Production {
        env.as_str().to_uppercase()
    } else {
        env.as_str().to_string()
    };
    left.push(Span::styled(format!(" {env_text} "), t.environment(env)));
    if app.profile.read_only {
        left.push(Span::styled(" ", t.bar));
        left.push(Span::styled(
            " READ-ONLY ",
            t.selection.add_modifier(Modifier::BOLD),
        ));
    }
    if app.frozen {
        left.push(Span::styled(" ", t.bar));
        left.push(Span::styled(
            " FROZEN ",
            t.highlight.add_modifier(Modifier::BOLD),
        ));
    }
    let age = match app.data_age() {
        Some(a) => format!("data {}s ago", a),
        None => "no data yet".to_string(),
    };
    let right = format!("{age} │ {} ", clock(app.now));
    f.render_widget(Paragraph::new(Line::from(left)), area);
    let rw = right.chars().count() as u16;
    if rw < area.width {
        let r = Rect::new(area.right() - rw, area.y, rw, 1);
        f.render_widget(Paragraph::new(Span::styled(right, t.bar)), r);
    }
}

fn draw_tabs(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let host_label = match &app.host_view {
        Some(hv) => format!(" 2 Host: {} ", app.hosts[hv.host].name),
        None => " 2 Host ".to_string(),
    };
    let tab = |label: String, on: bool| {
        if on {
            Span::styled(label, t.selection.add_modifier(Modifier::BOLD))
        } else {
            Span::styled(label, t.muted)
        }
    };
    let mut spans = vec![
        tab(" 1 Fleet ".to_string(), app.tab == Tab::Fleet),
        Span::styled("│", t.border),
        tab(host_label, app.tab == Tab::Host),
    ];
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let summary = fleet::summary(app);
    let room = (area.width as usize).saturating_sub(used + 2);
    if summary.chars().count() <= room {
        spans.push(Span::raw(" ".repeat(room - summary.chars().count() + 1)));
        spans.push(Span::styled(summary, t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_notice(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let line = if let Some(Overlay::FilterInput { target, input, .. }) = &app.overlay {
        let what = match target {
            FilterTarget::Fleet => "filter",
            FilterTarget::Log => "search log",
        };
        Line::from(vec![
            Span::styled(format!("{what} /"), t.accent),
            Span::styled(format!("{input}_"), t.text),
            Span::styled("   (! negates · Enter keeps · Esc cancels)", t.muted),
        ])
    } else if let Some(n) = app.current_notice() {
        let style = match n.level {
            NoticeLevel::Info => t.accent,
            NoticeLevel::Alert => t.status(crate::health::Status::Critical),
        };
        let mark = match n.level {
            NoticeLevel::Info => "›",
            NoticeLevel::Alert => "!",
        };
        Line::from(Span::styled(format!("{mark} {}", n.text), style))
    } else {
        Line::default()
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The keys valid in the focused view or overlay, as (keys, label) pairs.
pub fn key_hints(app: &App) -> Vec<(String, String)> {
    let fixed = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect::<Vec<_>>()
    };
    match &app.overlay {
        Some(Overlay::Help) => return fixed(&[("esc", "close")]),
        Some(Overlay::Palette(_)) => {
            return fixed(&[
                ("enter", "run"),
                ("tab", "complete"),
                ("↑↓", "choose"),
                ("esc", "close"),
            ]);
        }
        Some(Overlay::FilterInput { .. }) => return fixed(&[("enter", "keep"), ("esc", "cancel")]),
        Some(Overlay::Confirm(_)) => {
            return fixed(&[("tab", "switch"), ("enter", "choose"), ("esc", "cancel")]);
        }
        None => {}
    }
    let ctx = app.context();
    let actions: &[Action] = match ctx {
        Context::Host => &[
            Action::Down,
            Action::LogFollow,
            Action::Filter,
            Action::Back,
            Action::Freeze,
            Action::Palette,
            Action::Help,
            Action::Quit,
        ],
        _ => &[
            Action::Down,
            Action::Open,
            Action::Filter,
            Action::SortNext,
            Action::SortReverse,
            Action::GroupByRole,
            Action::Freeze,
            Action::Palette,
            Action::Help,
            Action::Quit,
        ],
    };
    actions
        .iter()
        .filter_map(|&a| {
            let key = app.keymap.key_for(ctx, a)?;
            if a == Action::Down {
                let up = app.keymap.key_for(ctx, Action::Up)?;
                let label = if ctx == Context::Host {
                    "scroll"
                } else {
                    "move"
                };
                return Some((format!("{key}/{up}"), label.to_string()));
            }
            let label = match (a, ctx) {
                (Action::Filter, Context::Host) => "search",
                (Action::Freeze, _) if app.frozen => "resume",
                _ => a.label(),
            };
            Some((key.to_string(), label.to_string()))
        })
        .collect()
}

fn draw_bottom_bar(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    f.render_widget(Block::default().style(t.bar), area);
    let mut spans = vec![Span::styled(" ", t.bar)];
    for (k, l) in key_hints(app) {
        spans.push(Span::styled(k, t.bar.add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(format!(" {l}  "), t.bar));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_palette(f: &mut Frame, area: Rect, app: &App, st: &palette::PaletteState) {
    let t = &app.theme;
    let cands = palette::candidates(&st.input, &app.completions());
    let shown = cands.len().min(8);
    let width = area.width.min(60);
    let height = (shown as u16 + 3).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + 1.min(area.height),
        width,
        height,
    );
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.accent)
        .title(Span::styled(" Command ", t.header));
    let mut lines = vec![Line::from(vec![
        Span::styled(":", t.accent),
        Span::styled(format!("{}_", st.input), t.text),
    ])];
    let start = st.selected.saturating_sub(shown.saturating_sub(1));
    for (i, c) in cands.iter().enumerate().skip(start).take(shown) {
        let style = if i == st.selected {
            t.selection
        } else {
            t.text
        };
        let text_w = c.text.chars().count();
        let pad = 24usize.saturating_sub(text_w);
        lines.push(Line::from(vec![
            Span::styled(format!(" {}{}", c.text, " ".repeat(pad)), style),
            Span::styled(
                format!(" {}", c.note),
                if i == st.selected { style } else { t.muted },
            ),
        ]));
    }
    f.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats_utc() {
        assert_eq!(clock(0), "00:00:00 UTC");
        assert_eq!(clock(1_795_000_000), "11:06:40 UTC");
    }
}
