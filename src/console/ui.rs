//! The frame every view plugs into: top bar, tabs, the view, a notice line, and a
//! bottom bar of the keys valid here. `draw` is a pure function of `&App`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::action::GLOBAL_HINTS;
use super::app::{App, NoticeLevel, Overlay};
use super::layout;
use super::palette;
use super::widgets::help;
use crate::config::Environment;

/// `HH:MM:SS UTC` of a Unix time.
fn clock(now: i64) -> String {
    let s = now.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, (s % 3600) / 60, s % 60)
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if layout::too_small(area) {
        f.render_widget(Paragraph::new("terminal too small"), area);
        return;
    }
    let t = &app.theme;
    let labels = app.tab_labels();
    let l = layout::frame(area, &labels, app.has_notice_line());
    f.render_widget(Block::default().style(t.text), area);
    draw_top_bar(f, l.top_bar, app);
    draw_tabs(f, &l, &labels, app);
    if let Some(view) = app.active_view() {
        view.draw(f, l.body, app);
    }
    if let Some(r) = l.notice {
        draw_notice(f, r, app);
    }
    draw_bottom_bar(f, l.bottom_bar, app);
    match &app.overlay {
        Some(Overlay::Help) => help::draw(f, l.body, app),
        Some(Overlay::Palette(st)) => draw_palette(f, l.body, app, st),
        Some(Overlay::Confirm(d)) => d.draw(f, l.body, t),
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
    if let Some(b) = &app.change_banner {
        left.push(Span::styled(" ", t.bar));
        left.push(Span::styled(
            format!(" {b} "),
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

fn draw_tabs(f: &mut Frame, l: &layout::FrameLayout, labels: &[String], app: &App) {
    let t = &app.theme;
    let mut spans = Vec::with_capacity(labels.len() * 2 + 2);
    for (i, label) in labels.iter().enumerate().take(l.tabs.len()) {
        if i > 0 {
            spans.push(Span::styled("│", t.border));
        }
        spans.push(if i == app.active {
            Span::styled(label.clone(), t.selection.add_modifier(Modifier::BOLD))
        } else {
            Span::styled(label.clone(), t.muted)
        });
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    // The view on screen may say something about itself; otherwise the first
    // view (the fleet) tells how the fleet is doing.
    let summary = app
        .active_view()
        .and_then(|v| v.summary(app))
        .or_else(|| app.views.first().and_then(|v| v.summary(app)))
        .unwrap_or_default();
    let room = (l.tab_bar.width as usize).saturating_sub(used + 2);
    if !summary.is_empty() && summary.chars().count() <= room {
        spans.push(Span::raw(" ".repeat(room - summary.chars().count() + 1)));
        spans.push(Span::styled(summary, t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), l.tab_bar);
}

fn draw_notice(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let line = if let Some(Overlay::FilterInput { input, .. }) = &app.overlay {
        let what = app.active_view().map_or("filter", |v| v.filter_prompt());
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
    let Some(view) = app.active_view() else {
        return Vec::new();
    };
    view.spec()
        .hints
        .iter()
        .chain(GLOBAL_HINTS)
        .filter_map(|hint| {
            let keys: Option<Vec<String>> = hint
                .actions
                .iter()
                .map(|&a| app.keymap.key_for(ctx, a).map(|k| k.to_string()))
                .collect();
            let label = if hint.actions == [super::action::Action::FREEZE] && app.frozen {
                "resume"
            } else {
                view.hint_label(hint)
            };
            Some((keys?.join("/"), label.to_string()))
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
