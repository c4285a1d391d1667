//! The Deploy tab: what runs where (every host's releases, the current one
//! marked, drift said loudly), who holds the deploy lock, and deploys and
//! rollbacks from a key — planned, shown in the confirmation dialog, then run
//! through the change engine with each step's progress on screen.
//!
//! `d` deploys the app's branch (`:deploy REV` another revision), `b` rolls back
//! to each host's previous release (`:rollback RELEASE` a named one).

use std::any::Any;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Profile;
use crate::console::action::{Action, Context, Hint, KeySpec, table_nav};
use crate::console::app::{App, NoticeLevel};
use crate::console::change_flow::{self, Flow, Took};
use crate::console::event::{DeployStatus, Event, StepView};
use crate::console::feed::{AppChange, Need, Task};
use crate::console::filter::Filter;
use crate::console::keymap::KeyChord;
use crate::console::view::{
    ArgKind, CommandError, CommandSpec, Cx, Handled, Request, Subject, View, ViewSpec,
};
use crate::console::widgets::change_progress::draw_progress;
use crate::console::widgets::data_table::{
    ColumnDef, DataTable, SortBy, SortKey, TableItem, TableRow,
};
use crate::console::widgets::pane;
use crate::console::widgets::table::{Cell, Row};
use crate::health::Status;
use crate::ops::deploy::Release;
use crate::ops::deploy::releases::short;
use crate::ops::lock::age_words;

pub const CONTEXT: Context = Context::new("deploy");

const DEPLOY: Action = Action::new("deploy");
const ROLLBACK: Action = Action::new("rollback");

const NAV: [KeySpec; 7] = table_nav();
const OWN_KEYS: &[KeySpec] = &[
    KeySpec::new(
        DEPLOY,
        &[KeyChord::ch('d')],
        "deploy the app's branch (:deploy REV for another revision; confirmed)",
        "deploy",
    ),
    KeySpec::new(
        ROLLBACK,
        &[KeyChord::ch('b')],
        "roll every host back to its previous release (confirmed)",
        "rollback",
    ),
];

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Deploy",
    keys: &[&NAV, OWN_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "move"),
        Hint::new(&[DEPLOY], "deploy"),
        Hint::new(&[ROLLBACK], "rollback"),
        Hint::new(&[Action::FILTER], "filter"),
    ],
    commands: &[
        CommandSpec::new("deploy", "deploy REV (default: the app's branch)")
            .with_arg("REV", ArgKind::Text),
        CommandSpec::new(
            "rollback",
            "roll back to RELEASE (default: the previous one)",
        )
        .with_arg("RELEASE", ArgKind::Text),
        CommandSpec::new("releases", "the Deploy tab: releases per host"),
    ],
};

pub fn build(profile: &Profile) -> Box<dyn View> {
    Box::new(DeployView::new(
        profile
            .app
            .as_ref()
            .map(|a| (a.name.clone(), a.branch.clone())),
    ))
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployView {
    /// The app's name and branch; `None` when the profile has no `[app]`.
    pub app: Option<(String, String)>,
    pub status: Option<Arc<DeployStatus>>,
    pub error: Option<String>,
    pub table: DataTable<(String, String)>,
    pub flow: Option<Flow>,
    next_tag: u64,
}

/// A release of a host, as the table orders it.
struct Item<'a> {
    host: &'a str,
    r: &'a Release,
    /// Host, then newest first: what HOST sorts by.
    order: String,
}

impl TableItem for Item<'_> {
    type Key = (String, String);

    fn key(&self) -> (String, String) {
        (self.host.to_string(), self.r.id.clone())
    }

    fn keeps(&self, filter: &Filter) -> bool {
        filter.keeps([
            self.host,
            self.r.id.as_str(),
            self.r.git_ref.as_str(),
            self.r.revision.as_str(),
            self.r.deployed_by.as_str(),
        ])
    }

    fn tiebreak(&self) -> &str {
        &self.r.id
    }
}

fn columns<'a>() -> Vec<ColumnDef<Item<'a>>> {
    let c = ColumnDef::new;
    vec![
        c("HOST", 10, false, 0).sorted_by(SortBy::ascending(|i: &Item| SortKey::Text(&i.order))),
        c("", 1, false, 0),
        c("RELEASE", 23, false, 0).sorted_by(SortBy::descending(|i: &Item| SortKey::Text(&i.r.id))),
        c("REF", 10, false, 1).sorted_by(SortBy::ascending(|i: &Item| SortKey::Text(&i.r.git_ref))),
        c("REVISION", 8, false, 1),
        c("DEPLOYED", 20, false, 2),
        c("BY", 16, false, 2),
    ]
}

fn items(status: Option<&DeployStatus>) -> Vec<Item<'_>> {
    let Some(s) = status else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in &s.fleet.hosts {
        for (n, r) in h.releases.iter().rev().enumerate() {
            out.push(Item {
                host: &h.host,
                r,
                order: format!("{}\u{0}{n:06}", h.host),
            });
        }
    }
    out
}

const HEADER: u16 = 3;

fn table_rows(height: u16) -> usize {
    height.saturating_sub(HEADER + 3).max(1) as usize
}

impl DeployView {
    pub fn new(app: Option<(String, String)>) -> DeployView {
        DeployView {
            app,
            status: None,
            error: None,
            // HOST, then newest release first within it: the table is built in
            // that order and column 0 keeps it.
            table: DataTable::new(0),
            flow: None,
            next_tag: 0,
        }
    }

    fn busy(&self) -> Option<&str> {
        change_flow::busy(&self.flow)
    }

    fn rebuild(&mut self, body: Rect) {
        if self.table.is_stale() {
            self.table
                .rebuild(&items(self.status.as_deref()), &columns());
            self.table.ensure_visible(table_rows(body.height));
        }
    }

    /// Asks for the plan of `change`; the dialog opens when it arrives.
    fn ask(&mut self, change: AppChange, cx: &mut Cx<'_>) {
        if self.app.is_none() {
            cx.notify(
                NoticeLevel::Alert,
                "the profile has no [app] section: nothing to deploy (see the README's \"Deploys\")",
            );
            return;
        }
        if let Some(what) = self.busy() {
            cx.notify(
                NoticeLevel::Alert,
                format!("{what} is under way; one change at a time"),
            );
            return;
        }
        if cx.app.change_by.is_some_and(|by| by != CONTEXT) {
            cx.notify(
                NoticeLevel::Alert,
                "a change is running in another tab; one change at a time",
            );
            return;
        }
        self.next_tag += 1;
        let (kind, what) = match &change {
            AppChange::Deploy { rev } => (
                "deploy",
                format!(
                    "planning the deploy of {}",
                    rev.clone().unwrap_or_else(|| self.branch())
                ),
            ),
            AppChange::Rollback { release } => (
                "rollback",
                match release {
                    Some(r) => format!("planning the rollback to {r}"),
                    None => "planning the rollback".into(),
                },
            ),
            // The Scale tab plans these; here they are only named.
            AppChange::Scale { .. } | AppChange::Warm { .. } => {
                ("change", "planning the change".to_string())
            }
        };
        let tag = format!("{kind}-{}", self.next_tag);
        self.flow = Some(Flow::Planning {
            tag: tag.clone(),
            what,
        });
        cx.request(Request::Task(Task::Plan { change, tag }));
    }

    fn branch(&self) -> String {
        self.app.as_ref().map(|a| a.1.clone()).unwrap_or_default()
    }

    /// The top bar's banner (seen from every tab): a change running here, or
    /// the lock held by another change.
    fn update_banner(&self, app: &mut App) {
        if app.change_by.is_some_and(|by| by != CONTEXT) {
            return;
        }
        let banner = match &self.flow {
            Some(Flow::Running(p)) => {
                let done = p
                    .steps
                    .iter()
                    .filter(|s| s.state == Some(StepView::Done))
                    .count();
                // The title without its release id: the bar is shared.
                let what = p.title.split(" as release ").next().unwrap_or(&p.title);
                Some(format!("RUNNING {what} {done}/{}", p.steps.len()))
            }
            _ => self
                .status
                .as_deref()
                .and_then(|s| s.lock.as_ref())
                .map(|(h, age)| format!("LOCKED by {} ({})", h.who, age_words(*age))),
        };
        app.change_running = matches!(self.flow, Some(Flow::Running(_)));
        app.change_by = app.change_running.then_some(CONTEXT);
        if app.change_banner != banner {
            app.change_banner = banner;
            app.dirty = true;
        }
    }
}

impl View for DeployView {
    fn spec(&self) -> &'static ViewSpec {
        &SPEC
    }

    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled {
        self.rebuild(cx.body);
        let page = table_rows(cx.body.height);
        if self.table.navigate(action, page) {
            return Handled::Yes;
        }
        match action {
            DEPLOY => self.ask(AppChange::Deploy { rev: None }, cx),
            ROLLBACK => self.ask(AppChange::Rollback { release: None }, cx),
            Action::BACK if matches!(self.flow, Some(Flow::Finished(_))) => self.flow = None,
            Action::BACK if !self.table.filter().is_empty() => self.set_filter("", cx),
            _ => return Handled::No,
        }
        self.rebuild(cx.body);
        Handled::Yes
    }

    fn command(&mut self, name: &str, arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        let arg = arg.trim();
        let arg = (!arg.is_empty()).then(|| arg.to_string());
        match name {
            "deploy" => self.ask(AppChange::Deploy { rev: arg }, cx),
            "rollback" => self.ask(AppChange::Rollback { release: arg }, cx),
            "releases" => {}
            _ => return Err(CommandError::unknown(&SPEC, name)),
        }
        cx.request(Request::Open {
            view: CONTEXT,
            subject: Subject::Current,
        });
        Ok(())
    }

    fn on_event(&mut self, event: &Event, cx: &mut Cx<'_>) {
        match event {
            Event::Releases { result } => {
                match result {
                    Ok(s) => {
                        self.status = Some(s.clone());
                        self.error = None;
                    }
                    Err(e) => self.error = Some(e.clone()),
                }
                self.table.invalidate();
                self.update_banner(cx.app);
                cx.app.data_dirty = true;
            }
            Event::FeedFailed {
                need: Need::Releases,
                reason,
            } => {
                self.error = Some(reason.clone());
                cx.app.dirty = true;
            }
            event => {
                let took = change_flow::on_event(&mut self.flow, event, cx);
                if !matches!(took, None | Some(Took::Planned | Took::Line | Took::Sample)) {
                    self.update_banner(cx.app);
                }
            }
        }
    }

    fn confirmed(&mut self, tag: &str, cx: &mut Cx<'_>) {
        let took = change_flow::confirmed(&mut self.flow, tag, cx, |plan| {
            (
                "Confirm again: this rollback crosses a migration".to_string(),
                vec![
                    plan.ask_again.clone().unwrap_or_default(),
                    "The database keeps the newer schema; the old code must run on it.".into(),
                ],
            )
        });
        if took.is_some() {
            self.update_banner(cx.app);
        }
    }

    fn needs(&self, _app: &App, _shown: bool) -> Vec<Need> {
        // Also in the background: the top bar's banner says when another
        // operator holds the lock, whatever tab is on screen.
        if self.app.is_some() {
            vec![Need::Releases]
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
        let s = self.status.as_deref()?;
        let cur = s.fleet.hosts.first()?.current_release()?;
        let mut text = format!("{} {}", cur.git_ref, short(&cur.revision));
        if !s.fleet.consistent {
            text.push_str(" · DRIFT");
        }
        Some(text)
    }

    fn prepare(&mut self, _app: &mut App, body: Rect) {
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

fn draw(f: &mut Frame, area: Rect, app: &App, view: &DeployView) {
    let [head, body] =
        Layout::vertical([Constraint::Length(HEADER), Constraint::Min(0)]).areas(area);
    draw_header(f, head, app, view);
    let progress = change_flow::progress(&view.flow);
    match progress {
        Some(p) => {
            let rows = (view.table.rows().len() as u16 + 3).clamp(5, body.height / 3);
            let [top, bottom] =
                Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(body);
            draw_table(f, top, app, view);
            draw_progress(f, bottom, app, p);
        }
        None => draw_table(f, body, app, view),
    }
}

/// Line 1: the app and what runs. Line 2: drift, or that every host agrees.
/// Line 3: the lock.
fn draw_header(f: &mut Frame, area: Rect, app: &App, view: &DeployView) {
    let t = &app.theme;
    let Some((name, branch)) = &view.app else {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                "no [app] in this profile: nothing to deploy (see the README's \"Deploys\")",
                t.muted,
            ))),
            area,
        );
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(name.clone(), t.header),
        Span::styled(format!(" · branch {branch}"), t.muted),
        Span::styled(
            match &view.flow {
                Some(Flow::Planning { what, .. }) => format!(" · {what}…"),
                _ => String::new(),
            },
            t.accent,
        ),
    ])];
    match (&view.status, &view.error) {
        (_, Some(e)) => lines.push(Line::from(Span::styled(
            format!("cannot read the releases: {e}"),
            t.status(Status::Critical),
        ))),
        (Some(s), None) => {
            let drift = s.fleet.drift();
            if drift.is_empty() {
                let cur = s.fleet.hosts.first().and_then(|h| h.current_release());
                lines.push(Line::from(Span::styled(
                    match cur {
                        Some(r) => format!(
                            "every host runs {} ({}), release {}",
                            r.git_ref,
                            short(&r.revision),
                            r.id
                        ),
                        None => "no release yet".into(),
                    },
                    t.status(Status::Up),
                )));
            } else {
                lines.push(Line::from(Span::styled(
                    format!("DRIFT: {}", drift.join("; ")),
                    t.status(Status::Critical),
                )));
            }
            match (&s.lock, &s.lock_error) {
                (Some((h, age)), _) => lines.push(Line::from(Span::styled(
                    format!(
                        "lock held by {}{} since {} ({} ago): {}",
                        h.who,
                        if h.from.is_empty() {
                            String::new()
                        } else {
                            format!(" on {}", h.from)
                        },
                        h.since,
                        age_words(*age),
                        h.what
                    ),
                    t.status(Status::Warn),
                ))),
                (None, Some(e)) => lines.push(Line::from(Span::styled(
                    format!("the lock cannot be read: {e}"),
                    t.status(Status::Warn),
                ))),
                (None, None) => lines.push(Line::from(Span::styled("lock free", t.muted))),
            }
        }
        (None, None) => lines.push(Line::from(Span::styled("reading the releases…", t.muted))),
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_table(f: &mut Frame, area: Rect, app: &App, view: &DeployView) {
    let t = &app.theme;
    let mut title = vec![Span::styled(" Releases ", t.header)];
    let filter = view.table.filter();
    if !filter.is_empty() {
        title.push(Span::styled(format!("· /{} ", filter.text), t.accent));
    }
    let block = pane::block(t, title, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(status) = view.status.as_deref() else {
        return;
    };
    let rows = items(Some(status));
    if rows.is_empty() {
        pane::empty_line(
            f,
            inner,
            t,
            "no releases on any host yet: `d` deploys the app's branch",
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
            TableRow::Item { index, .. } => match rows.get(*index) {
                Some(i) => release_row(app, i.host, i.r),
                None => Row::Full(Line::from("")),
            },
            TableRow::Group { label, .. } => Row::Full(Line::from(label.clone())),
        },
    );
}

fn release_row<'a>(app: &App, host: &str, r: &Release) -> Row<'a> {
    let t = &app.theme;
    let style = if r.current { t.text } else { t.muted };
    Row::Cells {
        cells: vec![
            Cell::styled(host.to_string(), style),
            Cell::styled(if r.current { "*" } else { "" }, t.status(Status::Up)),
            Cell::styled(r.id.clone(), style),
            Cell::styled(r.git_ref.clone(), style),
            Cell::styled(short(&r.revision).to_string(), style),
            Cell::styled(
                r.deployed_at
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                t.muted,
            ),
            Cell::styled(r.deployed_by.clone(), t.muted),
        ],
        style: Style::default(),
    }
}
