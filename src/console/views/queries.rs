//! The Queries tab (pg_activity and mytop for both engines, one screen): the
//! statements taking the server's time, as rates over the last refresh; the
//! sessions, blocking trees first; EXPLAIN of either; and cancel/kill of a
//! session through the change engine (confirmed in the dialog, refused in a
//! read-only profile, audited either way).

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::{Engine, Environment, Profile};
use crate::console::action::{Action, Context, Hint, KeySpec, table_nav};
use crate::console::app::{App, NoticeLevel};
use crate::console::event::Event;
use crate::console::feed::{Need, Task};
use crate::console::filter::Filter;
use crate::console::keymap::{KeyChord, KeyCodeKey};
use crate::console::view::{
    ArgKind, CommandError, CommandSpec, Cx, Handled, Request, Subject, View, ViewSpec,
};
use crate::console::widgets::bars::human_age;
use crate::console::widgets::confirm::ConfirmDialog;
use crate::console::widgets::data_table::{
    ColumnDef, DataTable, SortBy, SortKey, TableItem, TableRow,
};
use crate::console::widgets::pane;
use crate::console::widgets::table::{Cell, Row, one_line};
use crate::db::model::{Report, Session, Statement, blocking_tree, session_order};
use crate::db::source::signal_sql;
use crate::health::Status;
use crate::ops::Consent;
use crate::sql::digest::window::{WindowClass, WindowDigest};

pub const CONTEXT: Context = Context::new("queries");

const SWITCH_PANE: Action = Action::new("switch_pane");
const EXPLAIN: Action = Action::new("explain");
const EXPLAIN_ANALYZE: Action = Action::new("explain_analyze");
const CANCEL_QUERY: Action = Action::new("cancel_query");
const KILL_SESSION: Action = Action::new("kill_session");
const NEXT_DATABASE: Action = Action::new("next_database");

/// A query running this long is shown as a warning, and as critical past the
/// second figure (seconds): what an on-call engineer looks for first.
const QUERY_AGE_WARN: f64 = 5.0;
const QUERY_AGE_CRIT: f64 = 60.0;

const NAV: [KeySpec; 7] = table_nav();
const OWN_KEYS: &[KeySpec] = &[
    KeySpec::new(
        SWITCH_PANE,
        &[KeyChord::ch('t')],
        "switch between statements and sessions",
        "pane",
    ),
    KeySpec::new(
        EXPLAIN,
        &[KeyChord::plain(KeyCodeKey::Enter), KeyChord::ch('x')],
        "EXPLAIN the selected statement or session's query",
        "explain",
    ),
    KeySpec::new(
        EXPLAIN_ANALYZE,
        &[KeyChord::ch('A')],
        "EXPLAIN ANALYZE (runs it, read-only, rolled back)",
        "analyze",
    ),
    KeySpec::new(
        CANCEL_QUERY,
        &[KeyChord::ch('c')],
        "cancel the session's query (confirmed)",
        "cancel",
    ),
    KeySpec::new(
        KILL_SESSION,
        &[KeyChord::ch('K')],
        "end the session (confirmed)",
        "kill",
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
    KeySpec::new(
        NEXT_DATABASE,
        &[KeyChord::ch('d')],
        "next database of the profile",
        "db",
    ),
];

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Queries",
    keys: &[&NAV, OWN_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "move"),
        Hint::new(&[SWITCH_PANE], "pane"),
        Hint::new(&[EXPLAIN], "explain"),
        Hint::new(&[CANCEL_QUERY], "cancel"),
        Hint::new(&[KILL_SESSION], "kill"),
        Hint::new(&[Action::SORT_NEXT], "sort"),
        Hint::new(&[NEXT_DATABASE], "db"),
    ],
    commands: &[
        CommandSpec::new("queries", "the Queries tab"),
        CommandSpec::new("db", "show another database of the profile")
            .with_arg("NAME", ArgKind::Database)
            .in_footer(2),
    ],
};

pub fn build(profile: &Profile) -> Box<dyn View> {
    Box::new(QueriesView::new(
        profile
            .databases
            .iter()
            .map(|d| (d.name.clone(), d.engine))
            .collect(),
    ))
}

/// Which table the keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Statements,
    Sessions,
}

/// What is known of one database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbState {
    pub report: Option<Arc<Report>>,
    /// Why the latest refresh failed (the last good report stays on screen).
    pub error: Option<String>,
    /// When the latest report arrived (Unix seconds).
    pub updated_at: Option<i64>,
    /// A refresh that arrived while updates were frozen.
    held: Option<(Result<Arc<Report>, String>, i64)>,
    /// The slow log's last minutes (when the profile names the log).
    pub slow: Option<WindowDigest>,
    /// Why the latest read of the slow log failed (the last good one stays).
    pub slow_error: Option<String>,
    /// The window's classes that are not among the statements.
    slow_only: usize,
    held_slow: Option<Result<WindowDigest, String>>,
}

impl DbState {
    fn apply(&mut self, report: Result<Arc<Report>, String>, at: i64) {
        match report {
            Ok(r) => {
                self.report = Some(r);
                self.error = None;
                self.updated_at = Some(at);
                self.count_slow_only();
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The slow log's classes the live statements do not have: counted when
    /// either side changes, not on every frame.
    fn count_slow_only(&mut self) {
        self.slow_only = match (&self.slow, &self.report) {
            (Some(w), Some(r)) => w.not_in(r.statements.iter().map(|s| s.id.as_str())),
            _ => 0,
        };
    }

    fn apply_slow(&mut self, result: Result<WindowDigest, String>) {
        match result {
            Ok(w) => {
                self.slow = Some(w);
                self.slow_error = None;
                self.count_slow_only();
            }
            Err(e) => self.slow_error = Some(e),
        }
    }
}

/// An EXPLAIN's result, as far as it came.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanState {
    Waiting,
    Lines(Vec<String>),
    Failed(String),
}

/// The plan pane: it covers the tables until Esc.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPane {
    pub tag: String,
    pub db: String,
    /// The statement explained.
    pub of: String,
    pub analyze: bool,
    pub state: PlanState,
    pub scroll: usize,
}

/// A cancel or kill asked for and not yet answered.
#[derive(Debug, Clone, PartialEq)]
struct PendingSignal {
    tag: String,
    db: String,
    pid: i64,
    kill: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueriesView {
    /// The profile's databases (name, engine), in profile order.
    pub databases: Vec<(String, Engine)>,
    /// The database on screen (index into `databases`).
    pub db: usize,
    pub state: HashMap<String, DbState>,
    pub focus: Pane,
    pub statements: DataTable<String>,
    pub sessions: DataTable<i64>,
    pub plan: Option<PlanPane>,
    signals: Vec<PendingSignal>,
    next_tag: u64,
    /// The statements table has the slow log's columns.
    slow_columns: bool,
}

/// A statement as the table orders it.
struct StatementItem<'a> {
    s: &'a Statement,
    /// Its class in the slow log's window.
    slow: Option<&'a WindowClass>,
}

/// What identifies a statement class across refreshes: the engine's id is per
/// database and user.
fn statement_key(s: &Statement) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        s.queryid,
        s.database.as_deref().unwrap_or(""),
        s.user.as_deref().unwrap_or("")
    )
}

impl TableItem for StatementItem<'_> {
    type Key = String;

    fn key(&self) -> String {
        statement_key(self.s)
    }

    fn keeps(&self, filter: &Filter) -> bool {
        let s = self.s;
        filter.keeps([
            s.query.as_str(),
            s.id.as_str(),
            s.database.as_deref().unwrap_or(""),
            s.user.as_deref().unwrap_or(""),
        ])
    }

    fn tiebreak(&self) -> &str {
        &self.s.query
    }
}

/// A session as the table orders it: `order` is its place in the blocking-tree
/// order, `depth` its indentation there.
struct SessionItem<'a> {
    s: &'a Session,
    order: i64,
    depth: usize,
    /// How many sessions wait on it, directly or not.
    blocks: usize,
    pid_text: String,
}

impl TableItem for SessionItem<'_> {
    type Key = i64;

    fn key(&self) -> i64 {
        self.s.pid
    }

    fn keeps(&self, filter: &Filter) -> bool {
        let s = self.s;
        filter.keeps([
            self.pid_text.as_str(),
            s.user.as_deref().unwrap_or(""),
            s.database.as_deref().unwrap_or(""),
            s.state.as_deref().unwrap_or(""),
            s.wait_event.as_deref().unwrap_or(""),
            s.client.as_deref().unwrap_or(""),
            s.query.as_deref().unwrap_or(""),
        ])
    }

    fn tiebreak(&self) -> &str {
        &self.pid_text
    }
}

/// `slow`: the database has a slow log, and a column for its window.
fn statement_columns<'a>(slow: bool) -> Vec<ColumnDef<StatementItem<'a>>> {
    let c = ColumnDef::new;
    let num = |title, width, priority, key: for<'x> fn(&'x StatementItem<'a>) -> SortKey<'x>| {
        c(title, width, true, priority).sorted_by(SortBy::descending(key))
    };
    let mut columns = vec![
        num("LOAD", 5, 0, |i| SortKey::Num(Some(i.s.share))),
        num("CALLS/s", 8, 0, |i| SortKey::Num(i.s.calls_per_s)),
        num("MS/s", 7, 1, |i| SortKey::Num(i.s.time_ms_per_s)),
        num("MEAN", 8, 0, |i| {
            SortKey::Num(i.s.interval_mean_ms.or(Some(i.s.mean_ms)))
        }),
        num("ROWS/s", 7, 2, |i| SortKey::Num(i.s.rows_per_s)),
        num("CALLS", 8, 3, |i| SortKey::Num(Some(i.s.calls as f64))),
        num("TOTAL", 7, 3, |i| SortKey::Num(Some(i.s.total_ms))),
        num("HIT%", 4, 4, |i| SortKey::Num(i.s.hit_pct)),
    ];
    debug_assert_eq!(columns.len(), SLOW_COLUMNS_AT);
    if slow {
        columns.push(num("SLOW", 6, 1, |i| {
            SortKey::Num(i.slow.map(|c| c.count as f64))
        }));
        columns.push(num("SLOW p95", 9, 2, |i| {
            SortKey::Num(i.slow.map(|c| c.p95_s))
        }));
    }
    columns.extend([
        c("DB", 10, false, 4).sorted_by(SortBy::ascending(|i: &StatementItem| {
            SortKey::Text(i.s.database.as_deref().unwrap_or(""))
        })),
        c("QUERY", 24, false, 0).sorted_by(SortBy::ascending(|i: &StatementItem| {
            SortKey::Text(&i.s.query)
        })),
    ]);
    columns
}

/// Where the slow log's two columns go (before DB and QUERY, which stay last so
/// the query gets the width left).
const SLOW_COLUMNS_AT: usize = 8;

fn session_columns<'a>() -> Vec<ColumnDef<SessionItem<'a>>> {
    let c = ColumnDef::new;
    let text = |title, width, priority, key: for<'x> fn(&'x SessionItem<'a>) -> SortKey<'x>| {
        c(title, width, false, priority).sorted_by(SortBy::ascending(key))
    };
    let age = |title, width, priority, key: for<'x> fn(&'x SessionItem<'a>) -> SortKey<'x>| {
        c(title, width, true, priority).sorted_by(SortBy::descending(key))
    };
    vec![
        c("PID", 10, false, 0)
            .sorted_by(SortBy::ascending(|i: &SessionItem| SortKey::Rank(i.order))),
        text("USER", 8, 1, |i| {
            SortKey::Text(i.s.user.as_deref().unwrap_or(""))
        }),
        text("DB", 10, 3, |i| {
            SortKey::Text(i.s.database.as_deref().unwrap_or(""))
        }),
        text("STATE", 11, 0, |i| {
            SortKey::Text(i.s.state.as_deref().unwrap_or(""))
        }),
        text("WAIT", 12, 2, |i| {
            SortKey::Text(i.s.wait_event.as_deref().unwrap_or(""))
        }),
        age("XACT", 6, 2, |i| SortKey::Num(i.s.xact_age_s)),
        age("QUERY AGE", 9, 0, |i| SortKey::Num(i.s.query_age_s)),
        c("BLOCKED BY", 10, false, 1),
        text("CLIENT", 15, 4, |i| {
            SortKey::Text(i.s.client.as_deref().unwrap_or(""))
        }),
        c("QUERY", 20, false, 0),
    ]
}

fn statement_items<'a>(
    report: Option<&'a Report>,
    slow: Option<&'a WindowDigest>,
) -> Vec<StatementItem<'a>> {
    report
        .map(|r| {
            r.statements
                .iter()
                .map(|s| StatementItem {
                    s,
                    slow: slow.and_then(|w| w.class(&s.id)),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn session_items(report: Option<&Report>) -> Vec<SessionItem<'_>> {
    let Some(r) = report else {
        return Vec::new();
    };
    let tree = blocking_tree(&r.activity);
    // A session waiting on two sessions of one tree is counted once.
    fn collect(n: &crate::db::model::BlockNode, into: &mut std::collections::HashSet<i64>) {
        for w in &n.waiting {
            into.insert(w.pid);
            collect(w, into);
        }
    }
    let blocks: HashMap<i64, usize> = tree
        .iter()
        .map(|n| {
            let mut waiting = std::collections::HashSet::new();
            collect(n, &mut waiting);
            (n.pid, waiting.len())
        })
        .collect();
    session_order(&r.activity)
        .into_iter()
        .enumerate()
        .map(|(order, (i, depth))| {
            let s = &r.activity[i];
            SessionItem {
                s,
                order: order as i64,
                depth,
                blocks: blocks.get(&s.pid).copied().unwrap_or(0),
                pid_text: s.pid.to_string(),
            }
        })
        .collect()
}

/// Rows of a table inside its border (header excluded) for a pane of `height`.
fn table_rows(height: u16) -> usize {
    height.saturating_sub(3).max(1) as usize
}

/// The heights of the header, the statements pane and the sessions pane for a
/// body of `body` rows and `statements` statement rows: the statements get up to
/// half, the sessions the rest (a lock pile-up grows down there).
fn pane_heights(body: u16, statements: usize) -> (u16, u16, u16) {
    let head = 2;
    let rest = body.saturating_sub(head);
    let wanted = (statements as u16).saturating_add(3).max(6);
    let top = wanted.min(rest / 2);
    (head, top, rest - top)
}

impl QueriesView {
    pub fn new(databases: Vec<(String, Engine)>) -> QueriesView {
        QueriesView {
            databases,
            db: 0,
            state: HashMap::new(),
            focus: Pane::Statements,
            statements: DataTable::new(0),
            sessions: DataTable::new(0),
            plan: None,
            signals: Vec::new(),
            next_tag: 0,
            slow_columns: false,
        }
    }

    /// The name of the database on screen.
    pub fn database(&self) -> Option<&str> {
        self.databases.get(self.db).map(|(n, _)| n.as_str())
    }

    fn current(&self) -> Option<&DbState> {
        self.database().and_then(|d| self.state.get(d))
    }

    fn report(&self) -> Option<&Report> {
        self.current().and_then(|s| s.report.as_deref())
    }

    fn tag(&mut self, what: &str) -> String {
        self.next_tag += 1;
        format!("queries-{what}-{}", self.next_tag)
    }

    fn rebuild(&mut self, body: Rect) {
        let (_, st_h, se_h) = pane_heights(body.height, self.statements.rows().len());
        let state = self
            .databases
            .get(self.db)
            .and_then(|(n, _)| self.state.get(n));
        let report = state.and_then(|s| s.report.as_deref());
        let slow = state.and_then(|s| s.slow.as_ref());
        let with_slow = state.is_some_and(|s| s.slow.is_some() || s.slow_error.is_some());
        if with_slow != self.slow_columns {
            // The columns after the slow log's moved: the sort follows its column.
            let (col, reversed) = (self.statements.sort_column(), self.statements.reversed());
            let moved = match (with_slow, col) {
                (_, c) if c < SLOW_COLUMNS_AT => c,
                (true, c) => c + 2,
                (false, c) if c >= SLOW_COLUMNS_AT + 2 => c - 2,
                // Sorted by a slow-log column that is gone.
                (false, _) => 0,
            };
            if moved != col {
                self.statements.sort_by(moved);
                if reversed {
                    self.statements.toggle_reverse();
                }
            }
            self.slow_columns = with_slow;
            self.statements.invalidate();
        }
        if self.statements.is_stale() {
            self.statements.rebuild(
                &statement_items(report, slow),
                &statement_columns(with_slow),
            );
            self.statements.ensure_visible(table_rows(st_h));
        }
        if self.sessions.is_stale() {
            self.sessions
                .rebuild(&session_items(report), &session_columns());
            self.sessions.ensure_visible(table_rows(se_h));
        }
    }

    fn invalidate(&mut self) {
        self.statements.invalidate();
        self.sessions.invalidate();
    }

    fn show_database(&mut self, i: usize) {
        if i != self.db {
            self.db = i;
            self.plan = None;
            self.invalidate();
        }
    }

    fn selected_statement(&self) -> Option<&Statement> {
        let key = self.statements.selected()?;
        self.report()?
            .statements
            .iter()
            .find(|s| &statement_key(s) == key)
    }

    fn selected_session(&self) -> Option<&Session> {
        let pid = *self.sessions.selected()?;
        self.report()?.activity.iter().find(|s| s.pid == pid)
    }

    fn explain(&mut self, analyze: bool, cx: &mut Cx<'_>) {
        let Some(db) = self.database().map(str::to_string) else {
            return;
        };
        let sql = match self.focus {
            // A class the slow log caught has its slowest statement there, with
            // real values: a better plan than a generic one, and ANALYZE works.
            Pane::Statements => self.selected_statement().map(|s| {
                self.current()
                    .and_then(|st| st.slow.as_ref())
                    .and_then(|w| w.class(&s.id))
                    .and_then(|c| c.example.clone())
                    .unwrap_or_else(|| s.query.clone())
            }),
            Pane::Sessions => match self.selected_session() {
                Some(s) => match s.query.as_deref().map(str::trim) {
                    Some(q) if !q.is_empty() => Some(q.to_string()),
                    _ => {
                        cx.notify(
                            NoticeLevel::Info,
                            format!("session {} runs no query now", s.pid),
                        );
                        return;
                    }
                },
                None => None,
            },
        };
        let Some(sql) = sql else {
            cx.notify(NoticeLevel::Info, "nothing selected to explain");
            return;
        };
        let tag = self.tag("explain");
        self.plan = Some(PlanPane {
            tag: tag.clone(),
            db: db.clone(),
            of: sql.clone(),
            analyze,
            state: PlanState::Waiting,
            scroll: 0,
        });
        cx.request(Request::Task(Task::Explain {
            db,
            sql,
            analyze,
            tag,
        }));
    }

    /// Cancel (or kill) the selected session: a dialog first, except in a
    /// read-only profile, where the engine refuses it (and audits the refusal).
    fn signal(&mut self, kill: bool, cx: &mut Cx<'_>) {
        let Some(db) = self.database().map(str::to_string) else {
            return;
        };
        if self.focus != Pane::Sessions {
            cx.notify(
                NoticeLevel::Info,
                "select a session first: t switches to the sessions",
            );
            return;
        }
        let Some(session) = self.selected_session().cloned() else {
            cx.notify(NoticeLevel::Info, "no session selected");
            return;
        };
        let engine = self.report().map_or(Engine::Postgresql, |r| r.engine);
        let blocks = session_items(self.report())
            .iter()
            .find(|i| i.s.pid == session.pid)
            .map_or(0, |i| i.blocks);
        let tag = self.tag(if kill { "kill" } else { "cancel" });
        let info = &cx.app.profile;
        if info.read_only {
            cx.request(Request::Task(Task::Signal {
                db: db.clone(),
                pid: session.pid,
                kill,
                consent: Consent::default(),
                tag: tag.clone(),
            }));
        } else {
            let title = if kill {
                format!("End session {} on {db}?", session.pid)
            } else {
                format!("Cancel the query of session {} on {db}?", session.pid)
            };
            let mut body = vec![format!(
                "{} · user {} · {}",
                engine.as_str(),
                session.user.as_deref().unwrap_or("?"),
                session.state.as_deref().unwrap_or("?"),
            )];
            let idle = session.state.as_deref() != Some("active");
            if session.idle_in_transaction() {
                body.push(format!(
                    "transaction open {}, doing nothing",
                    age_text(session.xact_age_s)
                ));
            } else if let Some(age) = session.query_age_s.filter(|_| !idle) {
                body.push(format!("query running {}", age_text(Some(age))));
            }
            if let Some(q) = &session.query {
                let label = if idle { "last query" } else { "query" };
                body.push(format!("{label}: {}", one_line(q, 48)));
            }
            if blocks > 0 {
                body.push(format!(
                    "it blocks {blocks} session{}",
                    if blocks == 1 { "" } else { "s" }
                ));
            }
            if kill {
                body.push("the client loses its connection; its transaction rolls back".into());
            }
            body.push(format!("runs {}", signal_sql(engine, session.pid, kill)));
            cx.request(Request::Confirm(ConfirmDialog::new(
                title,
                body,
                info.environment,
                tag.clone(),
            )));
        }
        self.signals.push(PendingSignal {
            tag,
            db,
            pid: session.pid,
            kill,
        });
    }

    /// Rows of the focused table (a page).
    fn page(&self, body: Rect) -> usize {
        let (_, st_h, se_h) = pane_heights(body.height, self.statements.rows().len());
        table_rows(match self.focus {
            Pane::Statements => st_h,
            Pane::Sessions => se_h,
        })
    }

    fn move_in(&mut self, delta: isize, body: Rect) {
        let (_, st_h, se_h) = pane_heights(body.height, self.statements.rows().len());
        match self.focus {
            Pane::Statements => self.statements.move_selection(delta, table_rows(st_h)),
            Pane::Sessions => self.sessions.move_selection(delta, table_rows(se_h)),
        }
    }

    fn scroll_plan(&mut self, action: Action, body: Rect) -> bool {
        let Some(p) = &mut self.plan else {
            return false;
        };
        let page = body.height.saturating_sub(4).max(1) as usize;
        let total = match &p.state {
            PlanState::Lines(l) => display_lines(l).len(),
            _ => 0,
        };
        pane::scroll(&mut p.scroll, action, total, page)
    }
}

impl View for QueriesView {
    fn spec(&self) -> &'static ViewSpec {
        &SPEC
    }

    fn title(&self, _app: &App) -> String {
        match self.database() {
            Some(d) if self.databases.len() > 1 => format!("Queries: {d}"),
            _ => "Queries".to_string(),
        }
    }

    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled {
        if self.plan.is_some() {
            if action == Action::BACK {
                self.plan = None;
                return Handled::Yes;
            }
            if self.scroll_plan(action, cx.body) {
                return Handled::Yes;
            }
        }
        self.rebuild(cx.body);
        let page = self.page(cx.body) as isize;
        match action {
            Action::UP => self.move_in(-1, cx.body),
            Action::DOWN => self.move_in(1, cx.body),
            Action::PAGE_UP => self.move_in(-page, cx.body),
            Action::PAGE_DOWN => self.move_in(page, cx.body),
            Action::TOP => self.move_in(isize::MIN / 2, cx.body),
            Action::BOTTOM => self.move_in(isize::MAX / 2, cx.body),
            SWITCH_PANE => {
                self.focus = match self.focus {
                    Pane::Statements => Pane::Sessions,
                    Pane::Sessions => Pane::Statements,
                }
            }
            EXPLAIN => self.explain(false, cx),
            EXPLAIN_ANALYZE => self.explain(true, cx),
            CANCEL_QUERY => self.signal(false, cx),
            KILL_SESSION => self.signal(true, cx),
            Action::SORT_NEXT => match self.focus {
                Pane::Statements => self
                    .statements
                    .sort_next(&statement_columns(self.slow_columns)),
                Pane::Sessions => self.sessions.sort_next(&session_columns()),
            },
            Action::SORT_REVERSE => match self.focus {
                Pane::Statements => self.statements.toggle_reverse(),
                Pane::Sessions => self.sessions.toggle_reverse(),
            },
            NEXT_DATABASE if !self.databases.is_empty() => {
                self.show_database((self.db + 1) % self.databases.len())
            }
            Action::BACK if self.filter().is_some_and(|f| !f.is_empty()) => {
                self.set_filter("", cx);
            }
            _ => return Handled::No,
        }
        self.rebuild(cx.body);
        Handled::Yes
    }

    fn command(&mut self, name: &str, arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        match name {
            "queries" => {}
            "db" => {
                let i = self
                    .databases
                    .iter()
                    .position(|(n, _)| n == arg)
                    .or_else(|| {
                        let lower = arg.to_lowercase();
                        self.databases
                            .iter()
                            .position(|(n, _)| n.to_lowercase() == lower)
                    })
                    .ok_or_else(|| CommandError(format!("no database `{arg}` in this profile")))?;
                self.show_database(i);
            }
            other => return Err(CommandError::unknown(&SPEC, other)),
        }
        cx.request(Request::Open {
            view: CONTEXT,
            subject: Subject::Current,
        });
        Ok(())
    }

    fn on_event(&mut self, event: &Event, cx: &mut Cx<'_>) {
        match event {
            Event::Queries { db, report } => {
                let now = cx.app.now;
                let state = self.state.entry(db.clone()).or_default();
                if cx.app.frozen {
                    state.held = Some((report.clone(), now));
                    return;
                }
                state.apply(report.clone(), now);
                if self.database() == Some(db.as_str()) {
                    self.invalidate();
                    cx.app.data_dirty = true;
                }
            }
            Event::SlowLog { db, result } => {
                let state = self.state.entry(db.clone()).or_default();
                if cx.app.frozen {
                    state.held_slow = Some((**result).clone());
                    return;
                }
                state.apply_slow((**result).clone());
                if self.database() == Some(db.as_str()) {
                    self.invalidate();
                    cx.app.data_dirty = true;
                }
            }
            Event::FeedFailed {
                need: Need::Queries { db },
                reason,
            } => {
                self.state.entry(db.clone()).or_default().error = Some(reason.clone());
                cx.app.dirty = true;
            }
            Event::Explain { tag, result, .. } => {
                if let Some(p) = self.plan.as_mut().filter(|p| &p.tag == tag) {
                    p.state = match result {
                        Ok(lines) => PlanState::Lines(lines.clone()),
                        Err(e) => PlanState::Failed(e.clone()),
                    };
                    cx.app.dirty = true;
                }
            }
            Event::ChangeDone { tag, ok, detail } => {
                if let Some(i) = self.signals.iter().position(|s| &s.tag == tag) {
                    let s = self.signals.remove(i);
                    let what = if s.kill {
                        "end session"
                    } else {
                        "cancel query of"
                    };
                    if *ok {
                        cx.notify(NoticeLevel::Info, format!("{}: {detail}", s.db));
                    } else {
                        cx.notify(
                            NoticeLevel::Alert,
                            format!("{what} {} on {}: {detail}", s.pid, s.db),
                        );
                    }
                }
            }
            Event::TaskFailed { tag, reason } => {
                if let Some(p) = self.plan.as_mut().filter(|p| &p.tag == tag) {
                    p.state = PlanState::Failed(reason.clone());
                    cx.app.dirty = true;
                }
                if let Some(i) = self.signals.iter().position(|s| &s.tag == tag) {
                    self.signals.remove(i);
                    cx.notify(NoticeLevel::Alert, reason.clone());
                }
            }
            _ => {}
        }
    }

    fn confirmed(&mut self, tag: &str, cx: &mut Cx<'_>) {
        let Some(s) = self.signals.iter().find(|s| s.tag == tag) else {
            return;
        };
        let env = cx.app.profile.environment;
        // The dialog arms Confirm only once production's name is typed; in
        // staging confirming it is the yes.
        let consent = match env {
            Environment::Production => Consent::typed(env.as_str()),
            _ => Consent::yes(),
        };
        cx.request(Request::Task(Task::Signal {
            db: s.db.clone(),
            pid: s.pid,
            kill: s.kill,
            consent,
            tag: s.tag.clone(),
        }));
    }

    fn needs(&self, _app: &App, shown: bool) -> Vec<Need> {
        // Each refresh costs the server catalog queries: only while on screen.
        match self.database() {
            Some(db) if shown => vec![Need::Queries { db: db.to_string() }],
            _ => Vec::new(),
        }
    }

    fn filter(&self) -> Option<&str> {
        Some(match self.focus {
            Pane::Statements => &self.statements.filter().text,
            Pane::Sessions => &self.sessions.filter().text,
        })
    }

    fn set_filter(&mut self, text: &str, cx: &mut Cx<'_>) {
        match self.focus {
            Pane::Statements => self.statements.set_filter(text),
            Pane::Sessions => self.sessions.set_filter(text),
        }
        self.rebuild(cx.body);
    }

    fn summary(&self, _app: &App) -> Option<String> {
        let r = self.report()?;
        let waiting = r
            .activity
            .iter()
            .filter(|s| !s.blocked_by.is_empty())
            .count();
        let mut parts = vec![format!(
            "{}: {} sessions",
            self.database().unwrap_or(""),
            r.activity.len()
        )];
        if waiting > 0 {
            parts.push(format!("{waiting} waiting"));
        }
        Some(parts.join(" · "))
    }

    fn prepare(&mut self, app: &mut App, body: Rect) {
        if !app.frozen {
            let mut changed = false;
            for state in self.state.values_mut() {
                if let Some((report, at)) = state.held.take() {
                    state.apply(report, at);
                    changed = true;
                }
                if let Some(slow) = state.held_slow.take() {
                    state.apply_slow(slow);
                    changed = true;
                }
            }
            if changed {
                self.invalidate();
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

/// pg_stat_activity's states in the width of the column.
fn short_state(state: &str) -> String {
    match state {
        "idle in transaction" => "idle in tx".into(),
        "idle in transaction (aborted)" => "idle tx abrt".into(),
        "fastpath function call" => "fastpath".into(),
        other => other.to_string(),
    }
}

fn age_text(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) if s >= 3600.0 => format!("{:.1}h", s / 3600.0),
        Some(s) if s >= 60.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{s:.1}s"),
    }
}

/// A rate per second, in as few characters as it reads.
fn rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v >= 10_000.0 => format!("{:.0}k", v / 1000.0),
        Some(v) if v >= 1000.0 => format!("{:.1}k", v / 1000.0),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// Milliseconds, switching to seconds and minutes as they grow.
fn millis(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v >= 60_000.0 => format!("{:.1}m", v / 60_000.0),
        Some(v) if v >= 1000.0 => format!("{:.1}s", v / 1000.0),
        Some(v) if v >= 10.0 => format!("{v:.0}ms"),
        Some(v) => format!("{v:.2}ms"),
    }
}

fn count(v: u64) -> String {
    match v {
        v if v >= 10_000_000 => format!("{}M", v / 1_000_000),
        v if v >= 100_000 => format!("{}k", v / 1000),
        v => v.to_string(),
    }
}

fn age_style(app: &App, age: Option<f64>) -> Style {
    match age {
        Some(a) if a >= QUERY_AGE_CRIT => app.theme.status(Status::Critical),
        Some(a) if a >= QUERY_AGE_WARN => app.theme.status(Status::Warn),
        _ => app.theme.text,
    }
}

/// `slow`: the slow log's columns, with the statement's class there if it is.
fn statement_row<'a>(
    app: &'a App,
    s: &'a Statement,
    slow: Option<Option<&WindowClass>>,
) -> Row<'a> {
    let t = &app.theme;
    let share = s.share * 100.0;
    let share_style = if share >= 50.0 {
        t.status(Status::Warn)
    } else {
        t.text
    };
    let mut cells = vec![
        Cell::styled(format!("{share:.0}%"), share_style),
        Cell::styled(rate(s.calls_per_s), t.text),
        Cell::styled(rate(s.time_ms_per_s), t.text),
        Cell::styled(millis(s.interval_mean_ms.or(Some(s.mean_ms))), t.text),
        Cell::styled(rate(s.rows_per_s), t.text),
        Cell::styled(count(s.calls), t.muted),
        Cell::styled(millis(Some(s.total_ms)), t.muted),
        Cell::styled(
            s.hit_pct.map_or_else(|| "-".into(), |h| format!("{h:.0}")),
            match s.hit_pct {
                Some(h) if h < 90.0 => t.status(Status::Warn),
                _ => t.text,
            },
        ),
    ];
    if let Some(class) = slow {
        match class {
            Some(c) => {
                cells.push(Cell::styled(count(c.count), t.status(Status::Warn)));
                cells.push(Cell::styled(seconds(c.p95_s), t.text));
            }
            None => {
                cells.push(Cell::styled("-", t.muted));
                cells.push(Cell::styled("-", t.muted));
            }
        }
    }
    cells.push(Cell::styled(
        s.database.clone().unwrap_or_default(),
        t.muted,
    ));
    cells.push(Cell::styled(one_line(&s.query, 400), t.text));
    Row::Cells {
        cells,
        style: Style::default(),
    }
}

/// A slow-log duration: milliseconds below a second, else seconds.
fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else {
        format!("{s:.2}s")
    }
}

/// `tree`: the table is in blocking-tree order, so waiters are indented.
fn session_row<'a>(app: &'a App, item: &SessionItem<'a>, tree: bool) -> Row<'a> {
    let t = &app.theme;
    let s = item.s;
    let waiting = !s.blocked_by.is_empty();
    let pid = if tree && item.depth > 0 {
        format!("{}└ {}", "  ".repeat(item.depth - 1), s.pid)
    } else {
        s.pid.to_string()
    };
    let pid_style = if item.blocks > 0 {
        t.status(Status::Critical)
    } else if waiting {
        t.status(Status::Warn)
    } else {
        t.text
    };
    let state = short_state(s.state.as_deref().unwrap_or(""));
    let state_style = if s.idle_in_transaction() {
        age_style(app, s.xact_age_s)
    } else if state == "active" {
        t.text
    } else {
        t.muted
    };
    let blocked_by = s
        .blocked_by
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let blocked_cell = if item.blocks > 0 {
        Cell::styled(
            format!("blocks {}", item.blocks),
            t.status(Status::Critical),
        )
    } else {
        Cell::styled(blocked_by, t.status(Status::Warn))
    };
    Row::Cells {
        cells: vec![
            Cell::styled(pid, pid_style),
            Cell::styled(s.user.clone().unwrap_or_default(), t.text),
            Cell::styled(s.database.clone().unwrap_or_default(), t.muted),
            Cell::styled(state, state_style),
            Cell::styled(s.wait_event.clone().unwrap_or_default(), t.muted),
            Cell::styled(age_text(s.xact_age_s), age_style(app, s.xact_age_s)),
            Cell::styled(age_text(s.query_age_s), age_style(app, s.query_age_s)),
            blocked_cell,
            Cell::styled(s.client.clone().unwrap_or_default(), t.muted),
            Cell::styled(
                s.query
                    .as_deref()
                    .map(|q| one_line(q, 400))
                    .unwrap_or_default(),
                t.text,
            ),
        ],
        style: Style::default(),
    }
}

fn draw(f: &mut Frame, area: Rect, app: &App, view: &QueriesView) {
    let t = &app.theme;
    let Some(db) = view.database() else {
        let msg = vec![
            Line::from(Span::styled("This profile names no database.", t.text)),
            Line::from(Span::styled(
                "Add a [[databases]] entry (name, engine, host, user, password_env or password_file) to watch its queries here.",
                t.muted,
            )),
        ];
        f.render_widget(Paragraph::new(msg), area);
        return;
    };
    let (head_h, st_h, _) = pane_heights(area.height, view.statements.rows().len());
    let [head, body] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(area);
    draw_header(f, head, app, view, db);
    if let Some(plan) = &view.plan {
        draw_plan(f, body, app, plan);
        return;
    }
    let [top, bottom] =
        Layout::vertical([Constraint::Length(st_h), Constraint::Min(0)]).areas(body);
    draw_statements(f, top, app, view);
    draw_sessions(f, bottom, app, view);
}

fn draw_header(f: &mut Frame, area: Rect, app: &App, view: &QueriesView, db: &str) {
    let t = &app.theme;
    let state = view.current();
    let mut first = vec![Span::styled(db.to_string(), t.header)];
    if view.databases.len() > 1 {
        let others: Vec<&str> = view
            .databases
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| *n != db)
            .collect();
        first.push(Span::styled(
            format!("  (d: {})", others.join(", ")),
            t.muted,
        ));
    }
    let mut second = Vec::new();
    match state.and_then(|s| s.report.as_deref()) {
        Some(r) => {
            // Narrow: the version number only ("15.18", not its build), so what
            // follows (the slow log's window) stays on screen.
            let version = if area.width < 120 {
                r.server_version.split_whitespace().next().unwrap_or("")
            } else {
                r.server_version.as_str()
            };
            first.push(Span::styled(
                format!("  {} {version}", r.engine.as_str()),
                t.text,
            ));
            let mut facts = Vec::new();
            facts.push(match r.interval_s {
                Some(i) => format!("rates over the last {i:.1}s"),
                None => "first snapshot: rates after the next refresh".to_string(),
            });
            facts.push(format!(
                "{} statements · {} sessions",
                r.statements.len(),
                r.activity.len()
            ));
            if let Some(at) = state.and_then(|s| s.updated_at) {
                facts.push(format!("updated {} ago", human_age(app.now - at)));
            }
            second.push(Span::styled(facts.join(" · "), t.muted));
        }
        None if state.and_then(|s| s.error.as_ref()).is_none() => {
            second.push(Span::styled("connecting…", t.muted));
        }
        None => {}
    }
    if let Some(w) = state.and_then(|s| s.slow.as_ref()) {
        let live = state.map_or(0, |s| s.slow_only);
        let mut text = format!(
            "  slow log {}m: {} events, {} classes",
            w.minutes,
            count(w.events),
            w.classes().len()
        );
        if live > 0 {
            text.push_str(&format!(" ({live} not among the statements)"));
        }
        first.push(Span::styled(text, t.muted));
    }
    if let Some(e) = state.and_then(|s| s.slow_error.as_ref()) {
        first.push(Span::styled(
            format!("  slow log: {e}"),
            t.status(Status::Warn),
        ));
    }
    if let Some(e) = state.and_then(|s| s.error.as_ref()) {
        if !second.is_empty() {
            second.push(Span::raw("  "));
        }
        second.push(Span::styled(
            format!("refresh failed: {e}"),
            t.status(Status::Critical),
        ));
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn filter_span<'a>(app: &App, filter: &Filter) -> Option<Span<'a>> {
    (!filter.is_empty()).then(|| Span::styled(format!("· /{} ", filter.text), app.theme.accent))
}

fn draw_statements(f: &mut Frame, area: Rect, app: &App, view: &QueriesView) {
    let t = &app.theme;
    let focused = view.focus == Pane::Statements;
    let shown = view
        .statements
        .rows()
        .iter()
        .filter(|r| r.key().is_some())
        .count();
    let mut title = vec![Span::styled(format!(" Statements ({shown}) "), t.header)];
    title.extend(filter_span(app, view.statements.filter()));
    let block = pane::block(&app.theme, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(report) = view.report() else {
        return;
    };
    let with_slow = view.slow_columns;
    let slow = view.current().and_then(|s| s.slow.as_ref());
    let cols = statement_columns(with_slow);
    let selection = if focused { t.selection } else { t.muted };
    view.statements.render(
        f.buffer_mut(),
        inner,
        &cols,
        t.header,
        selection,
        |r| match r {
            TableRow::Item { index, .. } => {
                let s = &report.statements[*index];
                let class = slow.and_then(|w| w.class(&s.id));
                statement_row(app, s, with_slow.then_some(class))
            }
            TableRow::Group { label, .. } => Row::Full(Line::from(label.clone())),
        },
    );
    if view.statements.rows().is_empty() {
        let msg = if view.statements.filter().is_empty() {
            "no statement counted yet"
        } else {
            "no statement matches the filter (Esc clears it)"
        };
        pane::empty_line(f, inner, &app.theme, msg);
    }
}

fn draw_sessions(f: &mut Frame, area: Rect, app: &App, view: &QueriesView) {
    let t = &app.theme;
    let focused = view.focus == Pane::Sessions;
    let report = view.report();
    let mut title = vec![Span::styled(" Sessions ", t.header)];
    if let Some(r) = report {
        let n = |p: &dyn Fn(&Session) -> bool| r.activity.iter().filter(|s| p(s)).count();
        let active = n(&|s| s.state.as_deref() == Some("active"));
        let idle_tx = n(&|s| s.idle_in_transaction());
        let waiting = n(&|s| !s.blocked_by.is_empty());
        let mut parts = vec![format!("{} · {active} active", r.activity.len())];
        if idle_tx > 0 {
            parts.push(format!("{idle_tx} idle in transaction"));
        }
        title.push(Span::styled(format!("({}) ", parts.join(", ")), t.text));
        if waiting > 0 {
            title.push(Span::styled(
                format!("· {waiting} waiting on a lock "),
                t.status(Status::Warn),
            ));
        }
    }
    title.extend(filter_span(app, view.sessions.filter()));
    let block = pane::block(&app.theme, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if report.is_none() {
        return;
    }
    let items = session_items(report);
    let cols = session_columns();
    let selection = if focused { t.selection } else { t.muted };
    let tree = view.sessions.sort_column() == 0 && !view.sessions.reversed();
    view.sessions.render(
        f.buffer_mut(),
        inner,
        &cols,
        t.header,
        selection,
        |r| match r {
            TableRow::Item { index, .. } => match items.get(*index) {
                Some(item) => session_row(app, item, tree),
                None => Row::Full(Line::from("")),
            },
            TableRow::Group { label, .. } => Row::Full(Line::from(label.clone())),
        },
    );
    if view.sessions.rows().is_empty() {
        let msg = if view.sessions.filter().is_empty() {
            "no other session is connected"
        } else {
            "no session matches the filter (Esc clears it)"
        };
        pane::empty_line(f, inner, &app.theme, msg);
    }
}

fn draw_plan(f: &mut Frame, area: Rect, app: &App, plan: &PlanPane) {
    let t = &app.theme;
    let what = if plan.analyze {
        " EXPLAIN ANALYZE "
    } else {
        " EXPLAIN "
    };
    let title = vec![
        Span::styled(what, t.header),
        Span::styled(
            format!(
                "{} ",
                one_line(&plan.of, area.width.saturating_sub(30) as usize)
            ),
            t.text,
        ),
        Span::styled("· Esc closes ", t.muted),
    ];
    let block = pane::block(&app.theme, title, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = match &plan.state {
        PlanState::Waiting => vec![Line::from(Span::styled(
            format!("asking {} for the plan…", plan.db),
            t.muted,
        ))],
        PlanState::Failed(e) => vec![Line::from(Span::styled(
            format!("no plan: {e}"),
            t.status(Status::Critical),
        ))],
        PlanState::Lines(l) => display_lines(l)
            .into_iter()
            .skip(plan.scroll)
            .take(inner.height as usize)
            .map(|(text, flag)| {
                let style = if flag { t.status(Status::Warn) } else { t.text };
                Line::from(Span::styled(text, style))
            })
            .collect(),
    };
    f.render_widget(Paragraph::new(lines), inner);
}

/// The plan renderer's lines as the pane shows them: each flag (`  !! ...`) on
/// its own line under its node, indented to the node's text, so no flag is cut
/// off at the pane's edge. `true` marks a flag line.
fn display_lines(lines: &[String]) -> Vec<(String, bool)> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut parts = line.split("  !! ");
        out.push((parts.next().unwrap_or("").to_string(), false));
        // Under the node's name: past the tree's guides (│, ├─, └─ and spaces).
        let indent: String = line
            .chars()
            .take_while(|c| matches!(c, ' ' | '│' | '├' | '└' | '─'))
            // A sibling below keeps its guide going past the flag.
            .map(|c| {
                if matches!(c, '│' | '├') {
                    '│'
                } else {
                    ' '
                }
            })
            .collect();
        for flag in parts {
            out.push((format!("{indent}  ⚠ {flag}"), true));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_short() {
        assert_eq!(rate(Some(0.5)), "0.50");
        assert_eq!(rate(Some(12.34)), "12.3");
        assert_eq!(rate(Some(1234.0)), "1.2k");
        assert_eq!(rate(None), "-");
        assert_eq!(millis(Some(0.123)), "0.12ms");
        assert_eq!(millis(Some(1500.0)), "1.5s");
        assert_eq!(millis(Some(90_000.0)), "1.5m");
        assert_eq!(count(123_456), "123k");
    }

    #[test]
    fn sort_columns_cycle_through_all_sortable() {
        let mut t: DataTable<i64> = DataTable::new(0);
        let cols = session_columns();
        let sortable = cols.iter().filter(|c| c.sort.is_some()).count();
        for _ in 0..sortable {
            t.sort_next(&cols);
        }
        assert_eq!(t.sort_column(), 0);
    }
}
