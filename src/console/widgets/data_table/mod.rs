//! One table for every list in the console (in the spirit of bottom's
//! `DataTable`): it owns the row order (filtered, sorted by typed columns,
//! optionally grouped), the selection (kept on the same item across re-sorts),
//! and the scroll position, and it renders only the rows on screen.
//!
//! The items stay with their owner: a view hands them to [`DataTable::rebuild`]
//! whenever they change (items may borrow from the view's data; the table keeps
//! only indices and keys), and builds the cells of the visible rows when drawn.

mod sort;

pub use sort::{SortBy, SortKey};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::table::{self, Column, Row};
use crate::console::filter::Filter;

/// A row the table can order and find again.
pub trait TableItem {
    /// What identifies the item across rebuilds (a host index, a statement id).
    type Key: Clone + PartialEq;
    fn key(&self) -> Self::Key;
    /// Whether the filter keeps this item.
    fn keeps(&self, filter: &Filter) -> bool;
    /// Orders items the sort column finds equal (a name).
    fn tiebreak(&self) -> &str;
    /// The group the item is listed under when the table is grouped.
    fn group(&self) -> &str {
        ""
    }
}

/// A column: how it looks, and how it sorts (if it does).
pub struct ColumnDef<T> {
    pub column: Column,
    pub sort: Option<SortBy<T>>,
}

impl<T> ColumnDef<T> {
    pub fn new(title: &str, width: u16, right: bool, priority: u8) -> Self {
        ColumnDef {
            column: Column {
                title: title.to_string(),
                width,
                right,
                priority,
            },
            sort: None,
        }
    }

    pub fn sorted_by(mut self, by: SortBy<T>) -> Self {
        self.sort = Some(by);
        self
    }
}

/// A line of the table in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRow<K> {
    Group {
        label: String,
        count: usize,
    },
    /// Item `index` of the slice last given to `rebuild`.
    Item {
        index: usize,
        key: K,
    },
}

impl<K> TableRow<K> {
    pub fn key(&self) -> Option<&K> {
        match self {
            TableRow::Item { key, .. } => Some(key),
            TableRow::Group { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataTable<K> {
    sort: usize,
    reverse: bool,
    grouped: bool,
    filter: Filter,
    rows: Vec<TableRow<K>>,
    selected: Option<K>,
    /// First visible row.
    offset: usize,
    /// The order is out of date (sort, filter or items changed).
    stale: bool,
}

impl<K: Clone + PartialEq> DataTable<K> {
    /// A table sorted by column `sort`.
    pub fn new(sort: usize) -> Self {
        DataTable {
            sort,
            reverse: false,
            grouped: false,
            filter: Filter::default(),
            rows: Vec::new(),
            selected: None,
            offset: 0,
            stale: true,
        }
    }

    pub fn rows(&self) -> &[TableRow<K>] {
        &self.rows
    }

    pub fn sort_column(&self) -> usize {
        self.sort
    }

    pub fn reversed(&self) -> bool {
        self.reverse
    }

    pub fn grouped(&self) -> bool {
        self.grouped
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn selected(&self) -> Option<&K> {
        self.selected.as_ref()
    }

    /// Whether `rebuild` must run before the rows are read.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The items changed: the order must be rebuilt.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Sorts by column `col` in its natural direction.
    pub fn sort_by(&mut self, col: usize) {
        self.sort = col;
        self.reverse = false;
        self.stale = true;
    }

    /// Sorts by the next sortable column after the current one.
    pub fn sort_next<T>(&mut self, columns: &[ColumnDef<T>]) {
        let n = columns.len();
        let next = (1..=n)
            .map(|step| (self.sort + step) % n)
            .find(|&c| columns[c].sort.is_some());
        if let Some(c) = next {
            self.sort_by(c);
        }
    }

    pub fn toggle_reverse(&mut self) {
        self.reverse = !self.reverse;
        self.stale = true;
    }

    pub fn toggle_grouped(&mut self) {
        self.grouped = !self.grouped;
        self.stale = true;
    }

    pub fn set_filter(&mut self, text: &str) {
        self.filter = Filter::new(text);
        self.stale = true;
    }

    pub fn select(&mut self, key: K) {
        self.selected = Some(key);
    }

    /// Recomputes the row order from `items`: filter, sort (stable, ties by the
    /// items' tiebreak then position), group. The selection stays on its item;
    /// when that item is gone it moves to the first row.
    pub fn rebuild<T: TableItem<Key = K>>(&mut self, items: &[T], columns: &[ColumnDef<T>]) {
        let mut idx: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].keeps(&self.filter))
            .collect();
        let by = columns.get(self.sort).and_then(|c| c.sort);
        idx.sort_by(|&a, &b| {
            let (x, y) = (&items[a], &items[b]);
            by.map_or(std::cmp::Ordering::Equal, |s| s.compare(x, y, self.reverse))
                .then_with(|| x.tiebreak().cmp(y.tiebreak()))
                .then(a.cmp(&b))
        });
        let item_row = |i: usize| TableRow::Item {
            index: i,
            key: items[i].key(),
        };
        self.rows = if self.grouped {
            idx.sort_by(|&a, &b| items[a].group().cmp(items[b].group()));
            let mut rows = Vec::with_capacity(idx.len() + 8);
            let mut i = 0;
            while i < idx.len() {
                let group = items[idx[i]].group();
                let end = idx[i..]
                    .iter()
                    .position(|&j| items[j].group() != group)
                    .map_or(idx.len(), |p| i + p);
                rows.push(TableRow::Group {
                    label: group.to_string(),
                    count: end - i,
                });
                rows.extend(idx[i..end].iter().map(|&j| item_row(j)));
                i = end;
            }
            rows
        } else {
            idx.into_iter().map(item_row).collect()
        };
        self.stale = false;
        if self
            .selected
            .as_ref()
            .is_none_or(|s| self.row_of(s).is_none())
        {
            self.selected = self.rows.iter().find_map(|r| r.key().cloned());
        }
    }

    fn row_of(&self, key: &K) -> Option<usize> {
        self.rows.iter().position(|r| r.key() == Some(key))
    }

    /// The display row of the selection.
    pub fn selected_row(&self) -> Option<usize> {
        self.selected.as_ref().and_then(|k| self.row_of(k))
    }

    /// The item index of the selection (into the slice last given to `rebuild`).
    pub fn selected_index(&self) -> Option<usize> {
        let row = self.selected_row()?;
        match &self.rows[row] {
            TableRow::Item { index, .. } => Some(*index),
            TableRow::Group { .. } => None,
        }
    }

    /// Moves the selection by `delta` items (group lines are skipped), clamped.
    pub fn move_selection(&mut self, delta: isize, height: usize) {
        let keys: Vec<&K> = self.rows.iter().filter_map(TableRow::key).collect();
        if keys.is_empty() {
            return;
        }
        let cur = self
            .selected
            .as_ref()
            .and_then(|s| keys.iter().position(|k| *k == s))
            .unwrap_or(0) as isize;
        let last = keys.len() as isize - 1;
        let next = cur.saturating_add(delta).clamp(0, last) as usize;
        self.selected = Some(keys[next].clone());
        self.ensure_visible(height);
    }

    /// Applies a navigation action (a row up or down, a page, the top, the
    /// bottom) for a table showing `page` rows; `false` for any other action.
    pub fn navigate(&mut self, action: crate::console::action::Action, page: usize) -> bool {
        use crate::console::action::Action;
        let step = page as isize;
        let delta = match action {
            Action::UP => -1,
            Action::DOWN => 1,
            Action::PAGE_UP => -step,
            Action::PAGE_DOWN => step,
            Action::TOP => isize::MIN / 2,
            Action::BOTTOM => isize::MAX / 2,
            _ => return false,
        };
        self.move_selection(delta, page);
        true
    }

    /// Scrolls so the selection is within `height` rows.
    pub fn ensure_visible(&mut self, height: usize) {
        let h = height.max(1);
        let max_offset = self.rows.len().saturating_sub(h);
        if let Some(pos) = self.selected_row() {
            if pos < self.offset {
                self.offset = pos;
            } else if pos >= self.offset + h {
                self.offset = pos + 1 - h;
            }
        }
        self.offset = self.offset.min(max_offset);
    }

    /// The first visible row for a window of `height` rows, with the selection
    /// in view even if the stored offset is stale (pure: no write-back).
    pub fn window_start(&self, height: usize) -> usize {
        let total = self.rows.len();
        let mut offset = self.offset.min(total.saturating_sub(height));
        if let Some(sel) = self.selected_row() {
            if sel < offset {
                offset = sel;
            } else if height > 0 && sel >= offset + height {
                offset = sel + 1 - height;
            }
        }
        offset
    }

    /// The item key on visible line `line` (0 = first row under the header).
    pub fn key_at(&self, line: usize) -> Option<&K> {
        self.rows.get(self.offset + line).and_then(TableRow::key)
    }

    /// Draws the header (the sort column marked ▼, or ▲ reversed) and the rows
    /// that fit; `row` builds the cells of one visible row only.
    pub fn render<'a, T>(
        &self,
        buf: &mut Buffer,
        area: Rect,
        columns: &[ColumnDef<T>],
        header_style: Style,
        selection_style: Style,
        mut row: impl FnMut(&TableRow<K>) -> Row<'a>,
    ) {
        let mut cols: Vec<Column> = columns.iter().map(|c| c.column.clone()).collect();
        if let Some(c) = cols.get_mut(self.sort) {
            let marker = if self.reverse { "▲" } else { "▼" };
            c.title = format!("{}{marker}", c.title);
        }
        let height = area.height.saturating_sub(1) as usize;
        let start = self.window_start(height);
        let end = (start + height).min(self.rows.len());
        let visible: Vec<Row> = self.rows[start..end].iter().map(&mut row).collect();
        let selected = self
            .selected_row()
            .filter(|s| (start..end).contains(s))
            .map(|s| s - start);
        table::render(
            buf,
            area,
            &cols,
            header_style,
            &visible,
            selected,
            selection_style,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::widgets::table::Cell;

    struct Item {
        name: &'static str,
        cpu: Option<f64>,
        role: &'static str,
    }

    impl TableItem for Item {
        type Key = &'static str;
        fn key(&self) -> &'static str {
            self.name
        }
        fn keeps(&self, f: &Filter) -> bool {
            f.keeps([self.name, self.role])
        }
        fn tiebreak(&self) -> &str {
            self.name
        }
        fn group(&self) -> &str {
            self.role
        }
    }

    fn items() -> Vec<Item> {
        let i = |name, cpu, role| Item { name, cpu, role };
        vec![
            i("web1", Some(30.0), "web"),
            i("db1", Some(80.0), "db"),
            i("web2", None, "web"),
            i("cache1", Some(30.0), "cache"),
        ]
    }

    fn columns() -> Vec<ColumnDef<Item>> {
        vec![
            ColumnDef::new("NAME", 8, false, 0)
                .sorted_by(SortBy::ascending(|i: &Item| SortKey::Text(i.name))),
            ColumnDef::new("CPU", 4, true, 0)
                .sorted_by(SortBy::descending(|i: &Item| SortKey::Num(i.cpu))),
            ColumnDef::new("HISTORY", 8, false, 1),
        ]
    }

    fn order(t: &DataTable<&'static str>) -> Vec<String> {
        t.rows()
            .iter()
            .map(|r| match r {
                TableRow::Item { key, .. } => key.to_string(),
                TableRow::Group { label, count } => format!("[{label} {count}]"),
            })
            .collect()
    }

    #[test]
    fn sorts_filters_and_groups() {
        let (items, cols) = (items(), columns());
        let mut t = DataTable::new(1);
        t.rebuild(&items, &cols);
        assert_eq!(order(&t), ["db1", "cache1", "web1", "web2"]);
        t.toggle_reverse();
        t.rebuild(&items, &cols);
        assert_eq!(order(&t), ["cache1", "web1", "db1", "web2"]);
        t.sort_next(&cols);
        assert_eq!(t.sort_column(), 0, "the history column does not sort");
        t.sort_next(&cols);
        assert_eq!(t.sort_column(), 1);
        t.set_filter("web");
        t.rebuild(&items, &cols);
        assert_eq!(order(&t), ["web1", "web2"]);
        t.set_filter("!web");
        t.toggle_grouped();
        t.rebuild(&items, &cols);
        assert_eq!(order(&t), ["[cache 1]", "cache1", "[db 1]", "db1"]);
    }

    #[test]
    fn selection_follows_its_item_and_skips_group_lines() {
        let (items, cols) = (items(), columns());
        let mut t = DataTable::new(1);
        t.rebuild(&items, &cols);
        assert_eq!(t.selected(), Some(&"db1"));
        t.move_selection(2, 10);
        assert_eq!(t.selected(), Some(&"web1"));
        t.sort_by(0);
        t.rebuild(&items, &cols);
        assert_eq!(t.selected(), Some(&"web1"));
        assert_eq!(t.selected_row(), Some(2));
        t.toggle_grouped();
        t.rebuild(&items, &cols);
        t.move_selection(-1, 10);
        assert_eq!(t.selected(), Some(&"db1"), "{:?}", order(&t));
        t.move_selection(-100, 10);
        assert_eq!(t.selected(), Some(&"cache1"));
        t.set_filter("web2");
        t.rebuild(&items, &cols);
        assert_eq!(
            t.selected(),
            Some(&"web2"),
            "a filtered-out selection moves"
        );
    }

    struct Numbered(usize);

    impl TableItem for Numbered {
        type Key = usize;
        fn key(&self) -> usize {
            self.0
        }
        fn keeps(&self, _: &Filter) -> bool {
            true
        }
        fn tiebreak(&self) -> &str {
            ""
        }
    }

    #[test]
    fn renders_only_the_visible_window_with_the_sort_marker() {
        let many: Vec<Numbered> = (0..1000).map(Numbered).collect();
        let cols: Vec<ColumnDef<Numbered>> = vec![
            ColumnDef::new("NAME", 8, false, 0)
                .sorted_by(SortBy::ascending(|_: &Numbered| SortKey::Rank(0))),
        ];
        let mut t = DataTable::new(0);
        t.rebuild(&many, &cols);
        t.move_selection(500, 5);
        let mut built = 0;
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, 6));
        t.render(
            &mut buf,
            Rect::new(0, 0, 30, 6),
            &cols,
            Style::default(),
            Style::default(),
            |r| {
                built += 1;
                let index = match r {
                    TableRow::Item { index, .. } => *index,
                    TableRow::Group { .. } => 0,
                };
                Row::Cells {
                    cells: vec![Cell::new(index.to_string())],
                    style: Style::default(),
                }
            },
        );
        assert_eq!(built, 5, "only the rows on screen are built");
        let header: String = (0..30).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(header.starts_with("NAME▼"), "{header}");
        let last: String = (0..4).map(|x| buf[(x, 5)].symbol().to_string()).collect();
        assert_eq!(last.trim(), "500", "the selection is in view");
    }
}
