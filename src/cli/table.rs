//! Plain-text tables for subcommand output: columns padded to their widest
//! cell (in characters), two spaces apart, no trailing spaces.

/// The `s` a count's noun takes: `1 host`, `2 hosts`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&str, Align)]) -> Self {
        Table {
            headers: headers.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|(h, _)| h.clone()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (_, align)) in self.headers.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

impl Table {
    /// The same table as GitHub-flavoured Markdown (for incident notes): `|` in
    /// cells escaped, right-aligned columns marked `--:`.
    pub fn render_markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|(h, _)| cell(h)).collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        let rule: Vec<&str> = self
            .headers
            .iter()
            .map(|(_, a)| match a {
                Align::Left => "---",
                Align::Right => "--:",
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for row in &self.rows {
            let cells: Vec<String> = (0..self.headers.len())
                .map(|i| cell(row.get(i).map_or("", String::as_str)))
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_escape_pipes_and_mark_alignment() {
        let mut t = Table::new(&[("HOST", Align::Left), ("CPU", Align::Right)]);
        t.row(vec!["web|1".into(), "5%".into()]);
        assert_eq!(
            t.render_markdown(),
            "| HOST | CPU |\n| --- | --: |\n| web\\|1 | 5% |\n"
        );
    }

    #[test]
    fn pads_by_characters_and_trims() {
        let mut t = Table::new(&[("A", Align::Left), ("N", Align::Right), ("Z", Align::Left)]);
        t.row(vec!["é".into(), "10".into(), "".into()]);
        t.row(vec!["long".into(), "1".into(), "x".into()]);
        assert_eq!(t.render(), "A      N  Z\né     10\nlong   1  x\n");
    }
}
