//! `?`: every binding live in the current view, from the keymap (so remaps show).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::action::{Action, GLOBAL_KEYS};
use crate::console::app::App;
use crate::console::palette;
use crate::console::registry;

/// What an action does in the view on screen, as help says it.
fn describe(app: &App, action: Action) -> String {
    if let Some(n) = action.tab_number() {
        let title = registry::VIEWS
            .get(n - 1)
            .map_or("", |e| e.spec.title)
            .to_lowercase();
        return format!("{title} tab");
    }
    app.active_view()
        .and_then(|v| v.spec().describe(action))
        .or_else(|| {
            GLOBAL_KEYS
                .iter()
                .find(|k| k.action == action)
                .map(|k| k.describe)
        })
        .unwrap_or(action.name())
        .to_string()
}

pub fn lines(app: &App) -> Vec<(String, String)> {
    app.keymap
        .bindings_for(app.context())
        .into_iter()
        .map(|(action, keys)| {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            (keys.join(" "), describe(app, action))
        })
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let entries = lines(app);
    let footer = palette::footer();
    let key_w = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4);
    let desc_w = entries
        .iter()
        .map(|(_, d)| d.chars().count())
        .max()
        .unwrap_or(10);
    let col_w = key_w + 2 + desc_w;
    let avail_rows = area.height.saturating_sub(4) as usize;
    let columns = if entries.len() > avail_rows && (col_w * 2 + 7) as u16 <= area.width {
        2
    } else {
        1
    };
    let per_col = entries.len().div_ceil(columns);
    let width = ((col_w * columns + 3 * (columns - 1) + 4).max(footer.chars().count() + 4) as u16)
        .min(area.width);
    let height = ((per_col + 4) as u16).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    f.render_widget(Clear, rect);
    let mut out: Vec<Line> = Vec::with_capacity(per_col + 2);
    for row in 0..per_col {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some((k, d)) = entries.get(c * per_col + row) {
                if c > 0 {
                    spans.push(Span::raw("   "));
                }
                spans.push(Span::styled(format!("{k:>key_w$}  "), t.accent));
                spans.push(Span::styled(format!("{d:<desc_w$}"), t.text));
            }
        }
        out.push(Line::from(spans));
    }
    out.push(Line::default());
    out.push(Line::from(Span::styled(footer, t.muted)));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" Keys — {} view ", app.context().as_str()),
            t.header,
        ));
    f.render_widget(Paragraph::new(out).block(block), rect);
}
