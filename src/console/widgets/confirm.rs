//! The confirmation dialog every change to production goes through. Cancel has the
//! focus when it opens, so a stray Enter never confirms; in production the
//! environment's name must be typed before Confirm can be chosen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::config::Environment;
use crate::console::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Pending,
    Cancelled,
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDialog {
    pub title: String,
    /// What will happen, one line each (the plan's steps).
    pub body: Vec<String>,
    pub environment: Environment,
    /// What must be typed in production (the environment's name).
    pub expected: String,
    pub typed: String,
    pub focus: Button,
    /// Identifies the change being confirmed, for whoever opened the dialog.
    pub tag: String,
}

impl ConfirmDialog {
    pub fn new(
        title: impl Into<String>,
        body: Vec<String>,
        environment: Environment,
        tag: impl Into<String>,
    ) -> Self {
        ConfirmDialog {
            title: title.into(),
            body,
            environment,
            expected: environment.as_str().to_string(),
            typed: String::new(),
            focus: Button::Cancel,
            tag: tag.into(),
        }
    }

    pub fn needs_typing(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Whether Confirm may be chosen now.
    pub fn armed(&self) -> bool {
        !self.needs_typing() || self.typed == self.expected
    }

    pub fn on_key(&mut self, key: KeyEvent) -> ConfirmOutcome {
        match key.code {
            KeyCode::Esc => return ConfirmOutcome::Cancelled,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return ConfirmOutcome::Cancelled;
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
                self.focus = match self.focus {
                    Button::Cancel if self.armed() => Button::Confirm,
                    _ => Button::Cancel,
                };
            }
            KeyCode::Enter => {
                return match self.focus {
                    Button::Confirm if self.armed() => ConfirmOutcome::Confirmed,
                    Button::Confirm => ConfirmOutcome::Pending,
                    Button::Cancel => ConfirmOutcome::Cancelled,
                };
            }
            KeyCode::Backspace if self.needs_typing() => {
                self.typed.pop();
                if !self.armed() {
                    self.focus = Button::Cancel;
                }
            }
            KeyCode::Char(c) if self.needs_typing() => {
                self.typed.push(c);
                if !self.armed() {
                    self.focus = Button::Cancel;
                }
            }
            _ => {}
        }
        ConfirmOutcome::Pending
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.min(72);
        let chrome: u16 = if self.needs_typing() { 7 } else { 5 };
        // The body is wrapped here, not by the Paragraph, so the dialog's height
        // is the height drawn: a body taller than the screen is cut, never the
        // prompt and the buttons.
        let inner = usize::from(width.saturating_sub(2)).max(1);
        let room = usize::from(area.height.saturating_sub(chrome));
        let mut body: Vec<String> = Vec::new();
        let mut used = 0;
        for (i, l) in self.body.iter().enumerate() {
            let last = i + 1 == self.body.len();
            let rows = wrap_words(l, inner);
            if used + rows.len() > room.saturating_sub(usize::from(!last)) {
                body.push(format!("… {} more line(s)", self.body.len() - i));
                used += 1;
                break;
            }
            used += rows.len();
            body.extend(rows);
        }
        let height = (used as u16 + chrome).min(area.height);
        let rect = Rect::new(
            area.x + (area.width.saturating_sub(width)) / 2,
            area.y + (area.height.saturating_sub(height)) / 2,
            width,
            height,
        );
        f.render_widget(Clear, rect);
        let border = if self.environment == Environment::Production {
            theme.environment(Environment::Production)
        } else {
            theme.border
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Span::styled(format!(" {} ", self.title), theme.header));
        let mut lines: Vec<Line> = body
            .iter()
            .map(|l| Line::from(Span::styled(l.clone(), theme.text)))
            .collect();
        lines.push(Line::default());
        if self.needs_typing() {
            lines.push(Line::from(vec![
                Span::styled("Type ", theme.text),
                Span::styled(self.expected.clone(), theme.environment(self.environment)),
                Span::styled(" to confirm:", theme.text),
            ]));
            lines.push(Line::from(Span::styled(
                format!("> {}_", self.typed),
                theme.accent,
            )));
        }
        let button = |label: &str, b: Button| {
            let mut style = if self.focus == b {
                theme.selection
            } else {
                theme.text
            };
            if b == Button::Confirm && !self.armed() {
                style = theme.muted.add_modifier(Modifier::CROSSED_OUT);
            }
            let text = if self.focus == b {
                format!("[> {label} <]")
            } else {
                format!("[  {label}  ]")
            };
            Span::styled(text, style)
        };
        lines.push(
            Line::from(vec![
                button("Cancel", Button::Cancel),
                Span::raw("   "),
                button("Confirm", Button::Confirm),
            ])
            .alignment(Alignment::Center),
        );
        f.render_widget(Paragraph::new(lines).block(block), rect);
    }
}

/// Greedy word wrap to `width` columns: breaks at spaces, and inside a word
/// only when the word alone is wider than the line (a long path).
fn wrap_words(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut row_len = 0;
    for word in line.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let gap = usize::from(row_len > 0);
        if row_len + gap + word.len() <= width {
            if gap == 1 {
                row.push(' ');
            }
            row.extend(word.iter());
            row_len += gap + word.len();
            continue;
        }
        if row_len > 0 {
            rows.push(std::mem::take(&mut row));
        }
        while word.len() > width {
            let rest = word.split_off(width);
            rows.push(word.iter().collect());
            word = rest;
        }
        row.extend(word.iter());
        row_len = word.len();
    }
    rows.push(row);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(d: &mut ConfirmDialog, s: &str) {
        for c in s.chars() {
            d.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn cancel_is_focused_and_enter_cancels() {
        let mut d = ConfirmDialog::new("Deploy", vec![], Environment::Staging, "t");
        assert_eq!(d.focus, Button::Cancel);
        assert_eq!(d.on_key(key(KeyCode::Enter)), ConfirmOutcome::Cancelled);
    }

    #[test]
    fn outside_production_tab_then_enter_confirms() {
        let mut d = ConfirmDialog::new("Deploy", vec![], Environment::Staging, "t");
        d.on_key(key(KeyCode::Tab));
        assert_eq!(d.on_key(key(KeyCode::Enter)), ConfirmOutcome::Confirmed);
    }

    #[test]
    fn production_needs_the_environment_name_typed() {
        let mut d = ConfirmDialog::new("Deploy", vec![], Environment::Production, "t");
        d.on_key(key(KeyCode::Tab));
        assert_eq!(d.focus, Button::Cancel, "confirm cannot take focus unarmed");
        typed(&mut d, "producti");
        d.on_key(key(KeyCode::Tab));
        assert_eq!(d.focus, Button::Cancel);
        typed(&mut d, "on");
        assert!(d.armed());
        d.on_key(key(KeyCode::Tab));
        assert_eq!(d.on_key(key(KeyCode::Enter)), ConfirmOutcome::Confirmed);
    }

    #[test]
    fn a_typo_disarms_and_moves_focus_back() {
        let mut d = ConfirmDialog::new("Deploy", vec![], Environment::Production, "t");
        typed(&mut d, "production");
        d.on_key(key(KeyCode::Tab));
        assert_eq!(d.focus, Button::Confirm);
        typed(&mut d, "x");
        assert_eq!(d.focus, Button::Cancel);
        assert_eq!(d.on_key(key(KeyCode::Enter)), ConfirmOutcome::Cancelled);
    }

    #[test]
    fn words_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(wrap_words("", 10), vec![""]);
        assert_eq!(wrap_words("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(
            wrap_words("1. /abcdefghij x", 5),
            vec!["1.", "/abcd", "efghi", "j x"]
        );
        for row in wrap_words(
            "migrate (once): /check/work/main/target/venv/bin/python manage.py",
            12,
        ) {
            assert!(row.chars().count() <= 12, "{row}");
        }
    }

    /// Word wrap takes more rows than characters / width; the dialog must still
    /// show its buttons (a CI path one directory deeper once hid them).
    #[test]
    fn long_paths_in_the_body_never_hide_the_buttons() {
        use ratatui::{Terminal, backend::TestBackend};
        let body: Vec<String> = (1..=14)
            .map(|i| {
                format!(
                    "{i}. web1: migrate (once): /check/work/main/target/sandbox-venv/bin/python manage.py migrate --noinput -v0"
                )
            })
            .collect();
        let d = ConfirmDialog::new("Deploy", body, Environment::Development, "t");
        for height in [12u16, 30, 48] {
            let mut terminal = Terminal::new(TestBackend::new(160, height)).expect("test backend");
            terminal
                .draw(|f| {
                    d.draw(
                        f,
                        f.area(),
                        &Theme::default_for(crate::console::theme::ColorMode::None),
                    )
                })
                .expect("draw");
            let screen: String = terminal
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect();
            assert!(screen.contains("Confirm"), "height {height}:\n{screen}");
        }
    }

    #[test]
    fn escape_cancels() {
        let mut d = ConfirmDialog::new("Deploy", vec![], Environment::Production, "t");
        assert_eq!(d.on_key(key(KeyCode::Esc)), ConfirmOutcome::Cancelled);
    }
}
