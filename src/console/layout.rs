//! Where everything goes on screen, computed from the terminal size alone (and
//! the tab titles). Drawing and mouse hit-testing both read this, so a click
//! lands on what was drawn there.

use ratatui::layout::Rect;

/// The frame's rectangles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLayout {
    pub top_bar: Rect,
    pub tab_bar: Rect,
    /// One rectangle per tab label, in tab order (those that fit).
    pub tabs: Vec<Rect>,
    /// Where the active view draws.
    pub body: Rect,
    /// The notice / filter line, when one is shown.
    pub notice: Option<Rect>,
    pub bottom_bar: Rect,
}

/// Rows above the body: the top bar and the tab bar.
const BODY_TOP: u16 = 2;
/// The separator between two tab labels (`│`).
pub const TAB_SEPARATOR: u16 = 1;

/// The label of tab `number` (1-based) with `title`, padded as drawn.
pub fn tab_label(number: usize, title: &str) -> String {
    format!(" {number} {title} ")
}

/// Whether the terminal is too small to draw anything but a note.
pub fn too_small(area: Rect) -> bool {
    area.height < 4 || area.width < 20
}

/// Lays out the frame in `area`. `labels` are the tab labels as drawn
/// ([`tab_label`]); `notice` says whether a notice line is shown.
pub fn frame(area: Rect, labels: &[String], notice: bool) -> FrameLayout {
    let row = |y: u16| Rect::new(area.x, y, area.width, 1);
    let chrome = BODY_TOP + 1 + u16::from(notice);
    let body_h = area
        .height
        .saturating_sub(chrome)
        .min(area.height.saturating_sub(BODY_TOP));
    let bottom_y = area.bottom().saturating_sub(1);
    let tab_y = area.y + 1;
    let mut tabs = Vec::with_capacity(labels.len());
    let mut x = area.x;
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            x = x.saturating_add(TAB_SEPARATOR);
        }
        let w = label.chars().count() as u16;
        if x >= area.right() {
            break;
        }
        let w = w.min(area.right() - x);
        tabs.push(Rect::new(x, tab_y, w, 1));
        x = x.saturating_add(w);
    }
    FrameLayout {
        top_bar: row(area.y),
        tab_bar: row(tab_y),
        tabs,
        body: Rect::new(area.x, area.y + BODY_TOP, area.width, body_h),
        notice: notice.then(|| row(area.bottom().saturating_sub(2))),
        bottom_bar: row(bottom_y),
    }
}

/// The tab whose label holds column `x` on row `y`, if any (0-based).
pub fn tab_at(layout: &FrameLayout, x: u16, y: u16) -> Option<usize> {
    layout
        .tabs
        .iter()
        .position(|r| y == r.y && x >= r.x && x < r.right())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sits_between_the_bars() {
        let l = frame(
            Rect::new(0, 0, 80, 24),
            &[tab_label(1, "Fleet"), tab_label(2, "Host")],
            false,
        );
        assert_eq!(l.body, Rect::new(0, 2, 80, 21));
        assert_eq!(l.bottom_bar.y, 23);
        assert_eq!(l.notice, None);
        let l = frame(Rect::new(0, 0, 80, 24), &[], true);
        assert_eq!(l.body.height, 20);
        assert_eq!(l.notice.map(|r| r.y), Some(22));
    }

    #[test]
    fn clicks_hit_exactly_the_drawn_tab_labels() {
        let labels = [tab_label(1, "Fleet"), tab_label(2, "Host: web1")];
        let l = frame(Rect::new(0, 0, 80, 24), &labels, false);
        // " 1 Fleet " is 9 columns, then the separator, then " 2 Host: web1 " (14).
        assert_eq!(l.tabs, [Rect::new(0, 1, 9, 1), Rect::new(10, 1, 14, 1)]);
        assert_eq!(tab_at(&l, 0, 1), Some(0));
        assert_eq!(tab_at(&l, 8, 1), Some(0));
        assert_eq!(tab_at(&l, 9, 1), None, "the separator");
        assert_eq!(tab_at(&l, 23, 1), Some(1));
        assert_eq!(tab_at(&l, 24, 1), None, "past the last label");
        assert_eq!(tab_at(&l, 30, 1), None);
        assert_eq!(tab_at(&l, 3, 2), None, "another row");
    }
}
