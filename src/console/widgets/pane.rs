//! A bordered pane inside a view: its block (accented when it has the keys), the
//! muted line it shows when it has nothing, and the scrolling of a pane of text
//! lines (a plan, a record) that covers a view until Esc.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::action::Action;
use crate::console::theme::Theme;

/// The pane's border and title; `focused` panes take the accent colour.
pub fn block<'a>(theme: &Theme, title: Vec<Span<'a>>, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { theme.accent } else { theme.border })
        .title(Line::from(title))
}

/// `msg`, muted, on the second line inside the pane (under a table's header).
pub fn empty_line(f: &mut Frame, inner: Rect, theme: &Theme, msg: &str) {
    let y = inner.y + 1;
    if y < inner.bottom() {
        f.render_widget(
            Paragraph::new(Span::styled(msg.to_string(), theme.muted)),
            Rect::new(inner.x, y, inner.width, 1),
        );
    }
}

/// Moves `offset`, the first line shown of a pane of `total` lines that shows
/// `page` at once, as `action` asks; `false` when the action does not scroll.
pub fn scroll(offset: &mut usize, action: Action, total: usize, page: usize) -> bool {
    let page = page.max(1);
    let max = total.saturating_sub(page);
    *offset = match action {
        Action::UP => offset.saturating_sub(1),
        Action::DOWN => (*offset + 1).min(max),
        Action::PAGE_UP => offset.saturating_sub(page),
        Action::PAGE_DOWN => (*offset + page).min(max),
        Action::TOP => 0,
        Action::BOTTOM => max,
        _ => return false,
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_stays_within_the_lines() {
        let after = |offset: usize, action, total| {
            let mut o = offset;
            scroll(&mut o, action, total, 10).then_some(o)
        };
        assert_eq!(after(0, Action::UP, 50), Some(0));
        assert_eq!(after(39, Action::DOWN, 50), Some(40));
        assert_eq!(after(40, Action::DOWN, 50), Some(40));
        assert_eq!(after(35, Action::PAGE_DOWN, 50), Some(40));
        assert_eq!(after(5, Action::PAGE_UP, 50), Some(0));
        assert_eq!(after(5, Action::BOTTOM, 8), Some(0), "it all fits");
        assert_eq!(after(5, Action::OPEN, 50), None);
    }
}
