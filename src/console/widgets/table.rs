//! A table that draws only the rows it is handed (the caller slices the visible
//! window), with columns dropped by priority when the terminal is narrow and cells
//! that may span several columns (an unreachable host's error).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: String,
    pub width: u16,
    pub right: bool,
    /// Lower is more important; columns with the highest priority go first when
    /// the table does not fit.
    pub priority: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'a> {
    pub content: Line<'a>,
    /// How many columns this cell covers.
    pub span: usize,
}

impl<'a> Cell<'a> {
    pub fn new(content: impl Into<Line<'a>>) -> Self {
        Cell {
            content: content.into(),
            span: 1,
        }
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Cell::new(Line::from(Span::styled(text.into(), style)))
    }

    pub fn spanning(mut self, span: usize) -> Self {
        self.span = span.max(1);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    Cells {
        cells: Vec<Cell<'a>>,
        style: Style,
    },
    /// One line across the whole table (group headers).
    Full(Line<'a>),
}

/// `text` on one line (white space folded) of at most `max` characters, `…`
/// where it was cut.
pub fn one_line(text: &str, max: usize) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        format!(
            "{}…",
            text.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        text
    }
}

const GAP: u16 = 1;

/// Which columns fit in `width`, in order; the last kept column absorbs spare width.
pub fn fit_columns(columns: &[Column], width: u16) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let total = |k: &[usize]| -> u32 {
        k.iter().map(|&i| u32::from(columns[i].width)).sum::<u32>()
            + u32::from(GAP) * k.len().saturating_sub(1) as u32
    };
    while total(&keep) > u32::from(width) && keep.len() > 1 {
        // Drop the least important column, the rightmost among equals.
        let Some(pos) = keep
            .iter()
            .enumerate()
            .max_by_key(|(pos, i)| (columns[**i].priority, *pos))
            .map(|(pos, _)| pos)
        else {
            break;
        };
        keep.remove(pos);
    }
    keep
}

/// Draws the header and `rows` (already the visible window) into `area`.
/// `selected` is an index into `rows`.
pub fn render(
    buf: &mut Buffer,
    area: Rect,
    columns: &[Column],
    header_style: Style,
    rows: &[Row<'_>],
    selected: Option<usize>,
    selection_style: Style,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let keep = fit_columns(columns, area.width);
    let header: Vec<Cell> = keep
        .iter()
        .map(|&i| Cell::styled(columns[i].title.clone(), header_style))
        .collect();
    draw_cells(
        buf,
        area.x,
        area.y,
        area.width,
        columns,
        &keep,
        &header,
        header_style,
        None,
    );
    for (n, row) in rows.iter().enumerate() {
        let y = area.y + 1 + n as u16;
        if y >= area.bottom() {
            break;
        }
        let sel = (selected == Some(n)).then_some(selection_style);
        match row {
            Row::Full(line) => {
                let style = sel.unwrap_or_default();
                buf.set_style(Rect::new(area.x, y, area.width, 1), style);
                buf.set_line(area.x, y, line, area.width);
            }
            Row::Cells { cells, style } => {
                // Cells are given for every column; pick the ones kept.
                let visible = project(cells, &keep);
                draw_cells(
                    buf, area.x, y, area.width, columns, &keep, &visible, *style, sel,
                );
            }
        }
    }
}

/// Maps cells (one per original column, some spanning) onto kept columns: a spanning
/// cell covers as many kept columns as its original span reaches.
fn project<'a>(cells: &[Cell<'a>], keep: &[usize]) -> Vec<Cell<'a>> {
    let mut out = Vec::with_capacity(keep.len());
    let mut col = 0;
    for cell in cells {
        let range = col..col + cell.span;
        let covered = keep.iter().filter(|i| range.contains(i)).count();
        if covered > 0 {
            let mut c = cell.clone();
            c.span = covered;
            out.push(c);
        }
        col += cell.span;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn draw_cells(
    buf: &mut Buffer,
    x0: u16,
    y: u16,
    width: u16,
    columns: &[Column],
    keep: &[usize],
    cells: &[Cell<'_>],
    style: Style,
    selection: Option<Style>,
) {
    let row_area = Rect::new(x0, y, width, 1);
    buf.set_style(row_area, style);
    let mut x = x0;
    let right_edge = x0 + width;
    let mut k = 0;
    for (n, cell) in cells.iter().enumerate() {
        if k >= keep.len() || x >= right_edge {
            break;
        }
        let cols = &keep[k..(k + cell.span).min(keep.len())];
        // The last cell takes the spare width, unless right-aligned text would
        // drift away from its header.
        let reaches_end = n + 1 == cells.len() || k + cell.span >= keep.len();
        let is_last = reaches_end && (cell.span > 1 || !columns[cols[cols.len() - 1]].right);
        let mut w: u16 = cols.iter().map(|&i| columns[i].width).sum::<u16>()
            + GAP * (cols.len() as u16).saturating_sub(1);
        if is_last {
            w = right_edge - x;
        }
        w = w.min(right_edge - x);
        let right = cols.len() == 1 && columns[cols[0]].right;
        let text_w = cell.content.width() as u16;
        let cx = if right && text_w < w {
            x + (w - text_w)
        } else {
            x
        };
        buf.set_line(cx, y, &cell.content, w - (cx - x));
        x = x.saturating_add(w + GAP);
        k += cell.span;
    }
    if let Some(sel) = selection {
        buf.set_style(row_area, sel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(title: &str, width: u16, priority: u8) -> Column {
        Column {
            title: title.into(),
            width,
            right: false,
            priority,
        }
    }

    #[test]
    fn narrow_tables_drop_the_least_important_columns() {
        let cols = [
            col("a", 5, 0),
            col("b", 5, 3),
            col("c", 5, 1),
            col("d", 5, 3),
        ];
        assert_eq!(fit_columns(&cols, 100), vec![0, 1, 2, 3]);
        assert_eq!(fit_columns(&cols, 17), vec![0, 1, 2]);
        assert_eq!(fit_columns(&cols, 11), vec![0, 2]);
        assert_eq!(fit_columns(&cols, 1), vec![0]);
    }

    #[test]
    fn spanning_cells_follow_kept_columns() {
        let cells = vec![Cell::new("x"), Cell::new("err").spanning(3)];
        let p = project(&cells, &[0, 2]);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].span, 1);
    }

    #[test]
    fn renders_header_and_rows_with_right_alignment() {
        let cols = [
            col("name", 6, 0),
            Column {
                title: "cpu".into(),
                width: 4,
                right: true,
                priority: 0,
            },
        ];
        let rows = vec![Row::Cells {
            cells: vec![Cell::new("web1"), Cell::new("7%")],
            style: Style::default(),
        }];
        let mut buf = Buffer::empty(Rect::new(0, 0, 11, 2));
        let area = buf.area;
        render(
            &mut buf,
            area,
            &cols,
            Style::default(),
            &rows,
            None,
            Style::default(),
        );
        let text: Vec<String> = (0..2)
            .map(|y| (0..11).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        assert_eq!(text, vec!["name    cpu", "web1     7%"]);
    }
}
