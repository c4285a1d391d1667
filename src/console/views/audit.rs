//! The Audit tab: every change recorded in this machine's audit log (done,
//! failed, refused, rolled back), newest first; `/` filters, `s` sorts, Enter
//! opens the whole record (its steps, its output's tail) until Esc.
//!
//! The log is read by a feed ([`Need::AuditLog`]) whenever it changes; the view
//! only keeps what the feed sent and draws it.

use std::any::Any;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Profile;
use crate::console::action::{Action, Context, Hint, KeySpec, table_nav};
use crate::console::app::App;
use crate::console::event::{AuditEntry, AuditSnapshot, Event};
use crate::console::feed::Need;
use crate::console::filter::Filter;
use crate::console::keymap::{KeyChord, KeyCodeKey};
use crate::console::view::{
    CommandError, CommandSpec, Cx, Handled, Request, Subject, View, ViewSpec,
};
use crate::console::widgets::data_table::{
    ColumnDef, DataTable, SortBy, SortKey, TableItem, TableRow,
};
use crate::console::widgets::pane;
use crate::console::widgets::table::{Cell, Row, one_line};
use crate::health::Status;
use crate::ops::Outcome;
use crate::sql::slowlog::time::format_micros;

pub const CONTEXT: Context = Context::new("audit");

const NAV: [KeySpec; 7] = table_nav();
const OWN_KEYS: &[KeySpec] = &[
    KeySpec::new(
        Action::OPEN,
        &[KeyChord::plain(KeyCodeKey::Enter)],
        "show the whole record (Esc closes it)",
        "record",
    ),
    KeySpec::new(
        Action::SORT_NEXT,
        &[KeyChord::ch('s')],
        "sort by next column",
        "sort",
    ),
    KeySpec::new(
        Action::SORT_REVERSE,
        &[KeyChord::ch('S')],
        "reverse sort",
        "reverse",
    ),
];

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Audit",
    keys: &[&NAV, OWN_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "move"),
        Hint::new(&[Action::OPEN], "record"),
        Hint::new(&[Action::FILTER], "filter"),
        Hint::new(&[Action::SORT_NEXT], "sort"),
        Hint::new(&[Action::SORT_REVERSE], "reverse"),
    ],
    commands: &[CommandSpec::new("audit", "the Audit tab: changes recorded")],
};

pub fn build(_profile: &Profile) -> Box<dyn View> {
    Box::new(AuditView::default())
}

/// The record shown whole, covering the table until Esc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPane {
    /// Index of the record in the snapshot (oldest first).
    pub index: usize,
    /// First line shown.
    pub scroll: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditView {
    /// Where the log is, once the feed said.
    pub path: Option<String>,
    /// The latest good read.
    pub log: Option<Arc<AuditSnapshot>>,
    /// Why the latest read failed (the last good records stay on screen).
    pub error: Option<String>,
    /// Keyed by the record's index in the snapshot: the log only grows, so an
    /// index names the same record across reads.
    pub table: DataTable<usize>,
    pub record: Option<RecordPane>,
    /// A read that arrived while updates were frozen.
    held: Option<(String, Result<Arc<AuditSnapshot>, String>)>,
}

impl Default for AuditView {
    fn default() -> Self {
        AuditView {
            path: None,
            log: None,
            error: None,
            // Column 0 (AT) sorts newest first.
            table: DataTable::new(0),
            record: None,
            held: None,
        }
    }
}

/// A record as the table orders it.
struct Item<'a> {
    e: &'a AuditEntry,
    index: usize,
    /// Local short time (filtered on as shown).
    at: String,
}

impl TableItem for Item<'_> {
    type Key = usize;

    fn key(&self) -> usize {
        self.index
    }

    fn keeps(&self, filter: &Filter) -> bool {
        let r = &self.e.record;
        filter.keeps([
            self.at.as_str(),
            r.at.as_str(),
            r.who.as_str(),
            r.profile.as_str(),
            r.environment.as_str(),
            r.change.as_str(),
            r.target.as_str(),
            r.outcome.as_str(),
            r.detail.as_str(),
            r.plan_id.as_str(),
        ])
    }

    fn tiebreak(&self) -> &str {
        &self.e.record.at
    }
}

fn outcome_rank(o: Outcome) -> i64 {
    match o {
        Outcome::Failed => 0,
        Outcome::RolledBack => 1,
        Outcome::Refused => 2,
        Outcome::Ok => 3,
    }
}

fn columns<'a>() -> Vec<ColumnDef<Item<'a>>> {
    let c = ColumnDef::new;
    let text = |title, width, priority, key: for<'x> fn(&'x Item<'a>) -> SortKey<'x>| {
        c(title, width, false, priority).sorted_by(SortBy::ascending(key))
    };
    vec![
        c("AT", 14, false, 0).sorted_by(SortBy::descending(|i: &Item| {
            SortKey::Num(i.e.at_us.map(|t| t as f64))
        })),
        text("WHO", 10, 2, |i| SortKey::Text(&i.e.record.who)),
        text("ENV", 10, 3, |i| SortKey::Text(&i.e.record.environment)),
        text("CHANGE", 12, 0, |i| SortKey::Text(&i.e.record.change)),
        text("TARGET", 14, 1, |i| SortKey::Text(&i.e.record.target)),
        // Worst first: failed, rolled back, refused, ok.
        c("OUTCOME", 11, false, 0).sorted_by(SortBy::ascending(|i: &Item| {
            SortKey::Rank(outcome_rank(i.e.record.outcome))
        })),
        c("DURATION", 8, true, 3).sorted_by(SortBy::descending(|i: &Item| {
            SortKey::Num(Some(i.e.record.duration_ms))
        })),
        // Last: it takes the width left.
        text("DETAIL", 16, 1, |i| SortKey::Text(&i.e.record.detail)),
    ]
}

/// `12-01 10:00:05` in this machine's zone at that time; the text as recorded
/// when it is not a time.
fn local_short(e: &AuditEntry) -> String {
    match e.at_us {
        // format_micros gives `YYYY-MM-DD HH:MM:SS`; the year goes.
        Some(t) => {
            let local = format_micros(t + i64::from(e.utc_offset_s) * 1_000_000);
            local.get(5..).unwrap_or(&local).to_string()
        }
        None => e.record.at.clone(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` local, for the record pane.
fn local_full(e: &AuditEntry) -> Option<String> {
    e.at_us
        .map(|t| format_micros(t + i64::from(e.utc_offset_s) * 1_000_000))
}

/// `UTC+01:00`, `UTC-03:30`, `UTC`.
fn zone_name(offset_s: i32) -> String {
    if offset_s == 0 {
        return "UTC".into();
    }
    let sign = if offset_s < 0 { '-' } else { '+' };
    let a = offset_s.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// A change's duration: milliseconds below a second, then seconds, minutes.
fn duration_text(ms: f64) -> String {
    match ms {
        ms if !ms.is_finite() || ms <= 0.0 => "-".into(),
        ms if ms < 1000.0 => format!("{ms:.0}ms"),
        ms if ms < 60_000.0 => format!("{:.1}s", ms / 1000.0),
        ms => format!("{:.1}m", ms / 60_000.0),
    }
}

fn items(log: Option<&AuditSnapshot>) -> Vec<Item<'_>> {
    log.map(|l| {
        l.entries
            .iter()
            .enumerate()
            .map(|(index, e)| Item {
                e,
                index,
                at: local_short(e),
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Rows of the table inside its border, header excluded, for a body of `height`.
fn table_rows(height: u16) -> usize {
    height.saturating_sub(HEADER + 3).max(1) as usize
}

/// Lines above the table: the log's facts, then where it is and what is wrong.
const HEADER: u16 = 2;

/// Lines of the record pane, wrapped to `width` characters: what is drawn
/// and what is scrolled are the same lines.
fn record_lines(e: &AuditEntry, width: usize) -> Vec<(String, LineKind)> {
    let r = &e.record;
    let mut out: Vec<(String, LineKind)> = Vec::new();
    let at = match local_full(e) {
        Some(local) => format!("{local} {} · {}", zone_name(e.utc_offset_s), r.at),
        None => r.at.clone(),
    };
    let field = |name: &str, value: &str| format!("{name:<12} {value}");
    out.push((field("at", &at), LineKind::Text));
    out.push((field("who", &r.who), LineKind::Text));
    out.push((field("profile", &r.profile), LineKind::Text));
    out.push((field("environment", &r.environment), LineKind::Text));
    out.push((field("change", &r.change), LineKind::Text));
    out.push((field("target", &r.target), LineKind::Text));
    out.push((field("outcome", r.outcome.as_str()), LineKind::Outcome));
    out.push((
        field("duration", &duration_text(r.duration_ms)),
        LineKind::Text,
    ));
    out.push((field("plan", &r.plan_id), LineKind::Text));
    let mut detail = r.detail.lines();
    out.push((field("detail", detail.next().unwrap_or("")), LineKind::Text));
    for more in detail {
        out.push((format!("{:<12} {more}", ""), LineKind::Text));
    }
    out.push((String::new(), LineKind::Text));
    out.push((format!("steps ({})", r.steps.len()), LineKind::Heading));
    if r.steps.is_empty() {
        out.push(("  none recorded".into(), LineKind::Muted));
    }
    for (i, step) in r.steps.iter().enumerate() {
        out.push((format!("  {}. {step}", i + 1), LineKind::Text));
    }
    out.push((String::new(), LineKind::Text));
    out.push(("output (tail)".into(), LineKind::Heading));
    if r.output_tail.trim().is_empty() {
        out.push(("  none recorded".into(), LineKind::Muted));
    }
    for line in r.output_tail.lines() {
        out.push((format!("  {line}"), LineKind::Output));
    }
    wrap(out, width)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Text,
    Heading,
    Muted,
    Outcome,
    Output,
}

/// Cuts lines longer than `width` characters into several (tabs as spaces).
fn wrap(lines: Vec<(String, LineKind)>, width: usize) -> Vec<(String, LineKind)> {
    let width = width.max(8);
    let mut out = Vec::with_capacity(lines.len());
    for (line, kind) in lines {
        let line = line.replace('\t', "    ");
        let chars: Vec<char> = line.chars().filter(|c| !c.is_control()).collect();
        if chars.len() <= width {
            out.push((chars.into_iter().collect(), kind));
            continue;
        }
        for chunk in chars.chunks(width) {
            out.push((chunk.iter().collect(), kind));
        }
    }
    out
}

/// The record pane's inside for a body of `body`: its width, its height.
fn pane_inner(body: Rect) -> (usize, usize) {
    (
        body.width.saturating_sub(2) as usize,
        body.height.saturating_sub(HEADER + 2).max(1) as usize,
    )
}

impl AuditView {
    fn entries(&self) -> &[AuditEntry] {
        self.log.as_deref().map_or(&[], |l| l.entries.as_slice())
    }

    fn apply(&mut self, path: String, result: Result<Arc<AuditSnapshot>, String>) {
        self.path = Some(path);
        match result {
            Ok(log) => {
                self.log = Some(log);
                self.error = None;
                if self
                    .record
                    .as_ref()
                    .is_some_and(|p| p.index >= self.entries().len())
                {
                    self.record = None;
                }
            }
            Err(e) => self.error = Some(e),
        }
        self.table.invalidate();
    }

    fn rebuild(&mut self, body: Rect) {
        if self.table.is_stale() {
            self.table.rebuild(&items(self.log.as_deref()), &columns());
            self.table.ensure_visible(table_rows(body.height));
        }
    }

    fn open_selected(&mut self) {
        if let Some(&index) = self.table.selected() {
            self.record = Some(RecordPane { index, scroll: 0 });
        }
    }

    fn scroll_record(&mut self, action: Action, body: Rect) -> bool {
        let (width, page) = pane_inner(body);
        let Some(p) = &mut self.record else {
            return false;
        };
        let total = self
            .log
            .as_deref()
            .and_then(|l| l.entries.get(p.index))
            .map_or(0, |e| record_lines(e, width).len());
        pane::scroll(&mut p.scroll, action, total, page)
    }
}

impl View for AuditView {
    fn spec(&self) -> &'static ViewSpec {
        &SPEC
    }

    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled {
        if self.record.is_some() {
            if action == Action::BACK {
                self.record = None;
                return Handled::Yes;
            }
            if self.scroll_record(action, cx.body) {
                return Handled::Yes;
            }
        }
        self.rebuild(cx.body);
        let page = table_rows(cx.body.height);
        if self.table.navigate(action, page) {
            return Handled::Yes;
        }
        match action {
            Action::OPEN => self.open_selected(),
            Action::SORT_NEXT => self.table.sort_next(&columns()),
            Action::SORT_REVERSE => self.table.toggle_reverse(),
            Action::BACK if !self.table.filter().is_empty() => self.set_filter("", cx),
            _ => return Handled::No,
        }
        self.rebuild(cx.body);
        Handled::Yes
    }

    fn command(&mut self, name: &str, _arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        if name != "audit" {
            return Err(CommandError::unknown(&SPEC, name));
        }
        cx.request(Request::Open {
            view: CONTEXT,
            subject: Subject::Current,
        });
        Ok(())
    }

    fn on_event(&mut self, event: &Event, cx: &mut Cx<'_>) {
        match event {
            Event::Audit { path, result } => {
                if cx.app.frozen {
                    self.held = Some((path.clone(), result.clone()));
                    return;
                }
                self.apply(path.clone(), result.clone());
                cx.app.data_dirty = true;
            }
            Event::FeedFailed {
                need: Need::AuditLog,
                reason,
            } => {
                self.error = Some(reason.clone());
                cx.app.dirty = true;
            }
            _ => {}
        }
    }

    fn needs(&self, _app: &App, shown: bool) -> Vec<Need> {
        // A stat every few seconds, and a read when the log changed: only
        // while the tab is on screen (opening it reads the log at once).
        if shown {
            vec![Need::AuditLog]
        } else {
            Vec::new()
        }
    }

    fn filter(&self) -> Option<&str> {
        Some(&self.table.filter().text)
    }

    fn set_filter(&mut self, text: &str, cx: &mut Cx<'_>) {
        self.table.set_filter(text);
        self.rebuild(cx.body);
    }

    fn summary(&self, _app: &App) -> Option<String> {
        let log = self.log.as_deref()?;
        let failed = log
            .entries
            .iter()
            .filter(|e| e.record.outcome != Outcome::Ok)
            .count();
        let n = log.entries.len();
        let mut text = format!("{n} change{}", if n == 1 { "" } else { "s" });
        if failed > 0 {
            text.push_str(&format!(" · {failed} not ok"));
        }
        Some(text)
    }

    fn prepare(&mut self, app: &mut App, body: Rect) {
        if !app.frozen {
            if let Some((path, result)) = self.held.take() {
                self.apply(path, result);
            }
        }
        self.rebuild(body);
    }

    fn draw(&self, f: &mut Frame, area: Rect, app: &App) {
        draw(f, area, app, self);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn draw(f: &mut Frame, area: Rect, app: &App, view: &AuditView) {
    let [head, body] =
        Layout::vertical([Constraint::Length(HEADER), Constraint::Min(0)]).areas(area);
    draw_header(f, head, app, view);
    let pane = view
        .record
        .as_ref()
        .and_then(|p| view.entries().get(p.index).map(|e| (p, e)));
    match pane {
        Some((p, e)) => draw_record(f, body, app, p, e),
        None => draw_table(f, body, app, view),
    }
}

/// Line 1: how many changes, the zone times are shown in, where the log is.
/// Line 2: what is wrong (a read that failed, lines that are not records).
fn draw_header(f: &mut Frame, area: Rect, app: &App, view: &AuditView) {
    let t = &app.theme;
    let mut facts = Vec::new();
    let mut notes = Vec::new();
    if let Some(e) = &view.error {
        notes.push(Span::styled(
            format!("cannot read the audit log: {e}  "),
            t.status(Status::Critical),
        ));
    }
    match (&view.log, &view.path) {
        (Some(log), Some(path)) => {
            let n = log.entries.len();
            facts.push(Span::styled(
                format!("{n} change{} recorded", if n == 1 { "" } else { "s" }),
                t.text,
            ));
            if let Some(newest) = log.entries.last() {
                facts.push(Span::styled(
                    format!(" · times in {}", zone_name(newest.utc_offset_s)),
                    t.muted,
                ));
            }
            facts.push(Span::styled(format!(" · audit log {path}"), t.muted));
            if !log.bad_lines.is_empty() {
                let n = log.bad_lines.len();
                let mut lines: Vec<String> =
                    log.bad_lines.iter().take(8).map(usize::to_string).collect();
                if n > 8 {
                    lines.push("…".into());
                }
                notes.push(Span::styled(
                    format!(
                        "⚠ line{} {} of the log {} not a record, left out",
                        if n == 1 { "" } else { "s" },
                        lines.join(", "),
                        if n == 1 { "is" } else { "are" },
                    ),
                    t.status(Status::Warn),
                ));
            }
        }
        _ if view.error.is_none() => {
            facts.push(Span::styled("reading the audit log…", t.muted));
        }
        _ => {}
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(facts), Line::from(notes)]),
        area,
    );
}

fn draw_table(f: &mut Frame, area: Rect, app: &App, view: &AuditView) {
    let t = &app.theme;
    let shown = view.table.rows().len();
    let mut title = vec![Span::styled(format!(" Changes ({shown}) "), t.header)];
    let filter = view.table.filter();
    if !filter.is_empty() {
        title.push(Span::styled(format!("· /{} ", filter.text), t.accent));
    }
    let block = pane::block(t, title, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(log) = view.log.as_deref() else {
        return;
    };
    if log.entries.is_empty() {
        let path = view.path.as_deref().unwrap_or("?");
        pane::empty_line(
            f,
            inner,
            t,
            &format!("no changes recorded yet (audit log: {path})"),
        );
        return;
    }
    let cols = columns();
    view.table.render(
        f.buffer_mut(),
        inner,
        &cols,
        t.header,
        t.selection,
        |r| match r {
            TableRow::Item { index, .. } => match log.entries.get(*index) {
                Some(e) => row(app, e),
                None => Row::Full(Line::from("")),
            },
            TableRow::Group { label, .. } => Row::Full(Line::from(label.clone())),
        },
    );
    if view.table.rows().is_empty() {
        pane::empty_line(f, inner, t, "no change matches the filter (Esc clears it)");
    }
}

fn row<'a>(app: &App, e: &AuditEntry) -> Row<'a> {
    let t = &app.theme;
    let r = &e.record;
    Row::Cells {
        cells: vec![
            Cell::styled(local_short(e), t.muted),
            Cell::styled(r.who.clone(), t.text),
            Cell::styled(r.environment.clone(), t.text),
            Cell::styled(r.change.clone(), t.text),
            Cell::styled(one_line(&r.target, 200), t.text),
            Cell::styled(r.outcome.as_str(), t.outcome(r.outcome)),
            Cell::styled(duration_text(r.duration_ms), t.muted),
            Cell::styled(one_line(&r.detail, 400), t.text),
        ],
        style: Style::default(),
    }
}

fn draw_record(f: &mut Frame, area: Rect, app: &App, pane: &RecordPane, e: &AuditEntry) {
    let t = &app.theme;
    let r = &e.record;
    let title = vec![
        Span::styled(format!(" {} ", r.change), t.header),
        Span::styled(format!("{} ", r.outcome.as_str()), t.outcome(r.outcome)),
        Span::styled("· Esc closes ", t.muted),
    ];
    let block = pane::block(t, title, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = record_lines(e, inner.width as usize)
        .into_iter()
        .skip(pane.scroll)
        .take(inner.height as usize)
        .map(|(text, kind)| {
            let style = match kind {
                LineKind::Text => t.text,
                LineKind::Heading => t.header,
                LineKind::Muted | LineKind::Output => t.muted,
                LineKind::Outcome => t.outcome(r.outcome),
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::AuditRecord;

    fn entry(at_us: Option<i64>, offset: i32) -> AuditEntry {
        AuditEntry {
            record: AuditRecord {
                at: "2026-12-01T10:00:05Z".into(),
                who: "ana".into(),
                profile: "shop".into(),
                environment: "production".into(),
                change: "deploy".into(),
                target: "web".into(),
                outcome: Outcome::Ok,
                detail: "d".into(),
                plan_id: "p".into(),
                steps: vec![],
                duration_ms: 0.0,
                output_tail: String::new(),
            },
            at_us,
            utc_offset_s: offset,
        }
    }

    #[test]
    fn times_are_shown_in_the_zone_of_their_instant() {
        let t = crate::sql::slowlog::time::parse_iso(b"2026-12-01T23:30:05Z");
        assert_eq!(local_short(&entry(t, 3600)), "12-02 00:30:05");
        assert_eq!(local_short(&entry(t, -5 * 3600)), "12-01 18:30:05");
        assert_eq!(local_short(&entry(None, 0)), "2026-12-01T10:00:05Z");
        assert_eq!(zone_name(19_800), "UTC+05:30");
        assert_eq!(zone_name(-3 * 3600), "UTC-03:00");
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration_text(0.0), "-");
        assert_eq!(duration_text(12.4), "12ms");
        assert_eq!(duration_text(4_500.0), "4.5s");
        assert_eq!(duration_text(150_000.0), "2.5m");
    }

    #[test]
    fn long_lines_wrap_to_the_pane() {
        let lines = wrap(vec![("x".repeat(25), LineKind::Text)], 10);
        let lens: Vec<usize> = lines.iter().map(|(l, _)| l.len()).collect();
        assert_eq!(lens, [10, 10, 5]);
    }

    #[test]
    fn sort_columns_cycle_through_all_sortable() {
        let mut t: DataTable<usize> = DataTable::new(0);
        let cols = columns();
        let sortable = cols.iter().filter(|c| c.sort.is_some()).count();
        for _ in 0..sortable {
            t.sort_next(&cols);
        }
        assert_eq!(t.sort_column(), 0);
    }
}
