//! The Scale tab: every `[[scale]]` target's count on each of its hosts (NOW
//! against MIN and MAX, what is behind it, a host that cannot be read said
//! loudly), refreshed every few seconds; `+` / `-` on a row scales that target
//! on that host by one; `w` (or `:warm`) warms the caches from the profile's
//! `[warm]` sitemaps with a live panel of its counters. Every change is planned,
//! shown in the confirmation dialog, then run through the change engine.

use std::any::Any;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::{Profile, ScaleKind};
use crate::console::action::{Action, Context, Hint, KeySpec, table_nav};
use crate::console::app::{App, NoticeLevel};
use crate::console::change_flow::{self, Flow, Progress, Took};
use crate::console::event::Event;
use crate::console::feed::{AppChange, Need, Task};
use crate::console::filter::Filter;
use crate::console::keymap::KeyChord;
use crate::console::view::{
    CommandError, CommandSpec, Cx, Handled, HostChange, Request, Subject, View, ViewSpec,
};
use crate::console::widgets::change_progress::{self, draw_progress};
use crate::console::widgets::data_table::{
    ColumnDef, DataTable, SortBy, SortKey, TableItem, TableRow,
};
use crate::console::widgets::pane;
use crate::console::widgets::table::{Cell, Row, one_line};
use crate::health::Status;
use crate::ops::deploy::fleet::host_names;
use crate::ops::scale::{Delta, HostCount, TargetStatus};
use crate::ops::warm::{Phase, WarmStats};

pub const CONTEXT: Context = Context::new("scale");

pub const SCALE_UP: Action = Action::new("scale_up");
pub const SCALE_DOWN: Action = Action::new("scale_down");
pub const WARM: Action = Action::new("warm");

const NAV: [KeySpec; 7] = table_nav();
const OWN_KEYS: &[KeySpec] = &[
    KeySpec::new(
        SCALE_UP,
        &[KeyChord::ch('+')],
        "one more on the selected target and host (confirmed)",
        "+1",
    ),
    KeySpec::new(
        SCALE_DOWN,
        &[KeyChord::ch('-')],
        "one fewer on the selected target and host (confirmed)",
        "-1",
    ),
    KeySpec::new(
        WARM,
        &[KeyChord::ch('w')],
        "warm the caches from the profile's [warm] sitemaps (confirmed)",
        "warm",
    ),
];

/// `+`, `-` and `w` where a host is selected (the fleet and host views): the
/// change is planned by this tab, which comes up with its dialog.
pub const HOST_KEYS: &[KeySpec] = &[
    KeySpec::new(SCALE_UP, &[KeyChord::ch('+')], "one more app process", "+1"),
    KeySpec::new(
        SCALE_DOWN,
        &[KeyChord::ch('-')],
        "one fewer app process",
        "-1",
    ),
    KeySpec::new(WARM, &[KeyChord::ch('w')], "warm the caches", "warm"),
];

/// The change `action` (one of [`HOST_KEYS`]) asks for on a selected host.
pub fn host_change(action: Action) -> Option<HostChange> {
    match action {
        SCALE_UP => Some(HostChange::More),
        SCALE_DOWN => Some(HostChange::Fewer),
        WARM => Some(HostChange::Warm),
        _ => None,
    }
}

/// Asks the Scale tab to plan `change` on host `host` (an index of the profile).
pub fn request_host_change(host: usize, change: HostChange, cx: &mut Cx<'_>) {
    cx.request(Request::Open {
        view: CONTEXT,
        subject: Subject::HostChange { host, change },
    });
}

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Scale",
    keys: &[&NAV, OWN_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "move"),
        Hint::new(&[SCALE_UP, SCALE_DOWN], "scale"),
        Hint::new(&[WARM], "warm"),
        Hint::new(&[Action::FILTER], "filter"),
    ],
    commands: &[
        CommandSpec::new("warm", "warm the caches from the profile's [warm] sitemaps"),
        CommandSpec::new("scale", "the Scale tab: counts per target and host"),
    ],
};

pub fn build(profile: &Profile) -> Box<dyn View> {
    Box::new(ScaleView::new(profile))
}

/// The profile's `[warm]`, as far as the tab needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmSetup {
    pub sitemaps: Vec<String>,
    /// The nodes role has hosts: every URL goes to each of them.
    pub per_node: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleView {
    /// Names of the profile's `[[scale]]` targets.
    pub targets: Vec<String>,
    /// The gunicorn and systemd targets (a host's app processes) and their
    /// hosts, for `+`/`-` on a host of the fleet and host views.
    pub app_targets: Vec<(String, Vec<String>)>,
    /// `None` without a `[warm]` section.
    pub warm_setup: Option<WarmSetup>,
    pub status: Option<Arc<Vec<TargetStatus>>>,
    pub error: Option<String>,
    /// When the counts last came (the console's clock).
    pub read_at: Option<i64>,
    pub table: DataTable<(String, String)>,
    pub flow: Option<Flow>,
    /// The counters of the warm that runs (or ran) as the flow.
    pub warm: Option<WarmStats>,
    next_tag: u64,
}

struct Item<'a> {
    t: &'a TargetStatus,
    h: &'a HostCount,
    order: String,
}

impl TableItem for Item<'_> {
    type Key = (String, String);

    fn key(&self) -> (String, String) {
        (self.t.name.clone(), self.h.host.clone())
    }

    fn keeps(&self, filter: &Filter) -> bool {
        filter.keeps([
            self.t.name.as_str(),
            self.t.kind,
            self.h.host.as_str(),
            self.h.detail.as_str(),
            self.h.error.as_deref().unwrap_or(""),
        ])
    }

    fn tiebreak(&self) -> &str {
        &self.order
    }
}

fn columns<'a>() -> Vec<ColumnDef<Item<'a>>> {
    let c = ColumnDef::new;
    vec![
        c("TARGET", 12, false, 0).sorted_by(SortBy::ascending(|i: &Item| SortKey::Text(&i.order))),
        c("KIND", 14, false, 2),
        c("HOST", 10, false, 0),
        c("NOW", 13, true, 0),
        c("MIN", 4, true, 1),
        c("MAX", 4, true, 1),
        // An unreadable host's reason is here: kept before the bounds on a
        // narrow screen.
        c("DETAIL", 24, false, 0),
    ]
}

fn items(status: Option<&Vec<TargetStatus>>) -> Vec<Item<'_>> {
    let Some(s) = status else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (ti, t) in s.iter().enumerate() {
        for (hi, h) in t.hosts.iter().enumerate() {
            out.push(Item {
                t,
                h,
                // Profile order: targets as listed, hosts as the target lists them.
                order: format!("{ti:04}\u{0}{hi:06}"),
            });
        }
    }
    out
}

const HEADER: u16 = 3;

fn table_rows(height: u16) -> usize {
    height.saturating_sub(HEADER + 3).max(1) as usize
}

impl ScaleView {
    pub fn new(profile: &Profile) -> ScaleView {
        let warm_setup = profile.warm.as_ref().map(|w| {
            let role = w.nodes.clone().unwrap_or_else(|| "lb".into());
            WarmSetup {
                sitemaps: w.sitemaps.clone(),
                per_node: profile.hosts.iter().any(|h| h.roles.contains(&role)),
            }
        });
        let app_targets = profile
            .scale
            .iter()
            .filter(|t| matches!(t.kind, ScaleKind::Gunicorn | ScaleKind::Systemd))
            .map(|t| {
                let hosts = host_names(profile, &t.hosts, &t.roles);
                (
                    t.name.clone(),
                    hosts.into_iter().map(String::from).collect(),
                )
            })
            .collect();
        ScaleView {
            targets: profile.scale.iter().map(|t| t.name.clone()).collect(),
            app_targets,
            warm_setup,
            status: None,
            error: None,
            read_at: None,
            table: DataTable::new(0),
            flow: None,
            warm: None,
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

    /// Whether this tab's flow is a warm.
    fn warming(&self) -> bool {
        let tag = match &self.flow {
            Some(Flow::Planning { tag, .. } | Flow::Confirming { tag, .. }) => tag,
            Some(Flow::ConfirmingAgain { tag, .. }) => tag,
            Some(Flow::Running(p) | Flow::Finished(p)) => &p.tag,
            None => return false,
        };
        tag.starts_with("warm-")
    }

    fn ask(&mut self, change: AppChange, what: String, cx: &mut Cx<'_>) {
        if let Some(busy) = self.busy() {
            cx.notify(
                NoticeLevel::Alert,
                format!("{busy} is under way; one change at a time"),
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
        let kind = match change {
            AppChange::Warm { .. } => "warm",
            _ => "scale",
        };
        let tag = format!("{kind}-{}", self.next_tag);
        self.flow = Some(Flow::Planning {
            tag: tag.clone(),
            what,
        });
        if kind == "warm" {
            self.warm = None;
        }
        cx.app.dirty = true;
        cx.request(Request::Task(Task::Plan { change, tag }));
    }

    fn scale(&mut self, delta: Delta, cx: &mut Cx<'_>) {
        if self.targets.is_empty() {
            cx.notify(
                NoticeLevel::Alert,
                "the profile has no [[scale]] targets: nothing to scale (see the README's \"Scale\")",
            );
            return;
        }
        let Some((target, host)) = self.table.selected().cloned() else {
            cx.notify(
                NoticeLevel::Info,
                "no row selected: the counts are not read yet",
            );
            return;
        };
        if host.is_empty() {
            cx.notify(
                NoticeLevel::Alert,
                format!("{target}: its hosts cannot be found; nothing to scale"),
            );
            return;
        }
        let what = format!("planning {target} {delta} on {host}");
        self.ask(
            AppChange::Scale {
                target,
                delta,
                host,
            },
            what,
            cx,
        );
    }

    fn warm(&mut self, cx: &mut Cx<'_>) {
        let per_node = match &self.warm_setup {
            None => {
                cx.notify(
                    NoticeLevel::Alert,
                    "the profile has no [warm] section: nothing to warm (give it sitemaps = [\"https://SITE/sitemap.xml\"])",
                );
                return;
            }
            Some(w) if w.sitemaps.is_empty() => {
                cx.notify(
                    NoticeLevel::Alert,
                    "the profile's [warm] names no sitemaps: nothing to warm (give it sitemaps = [\"https://SITE/sitemap.xml\"])",
                );
                return;
            }
            Some(w) => w.per_node,
        };
        self.ask(AppChange::Warm { per_node }, "planning the warm".into(), cx);
    }

    /// The change went to the engine: this tab has the top bar's banner.
    fn started(&mut self, cx: &mut Cx<'_>) {
        cx.app.change_by = Some(CONTEXT);
        cx.app.change_running = true;
        self.update_banner(cx.app);
    }

    fn update_banner(&self, app: &mut App) {
        let Some(Flow::Running(p)) = &self.flow else {
            return;
        };
        let banner = match (&self.warm, self.warming()) {
            (_, false) => {
                let what = p.title.split(" (").next().unwrap_or(&p.title);
                format!("RUNNING {what}")
            }
            (None, true) => "RUNNING warm".to_string(),
            (Some(s), true) => match s.urls_total {
                Some(n) => format!("RUNNING warm {}/{n}", s.urls_done),
                None => format!("RUNNING warm {}", s.urls_done),
            },
        };
        if app.change_banner.as_ref() != Some(&banner) {
            app.change_banner = Some(banner);
            app.dirty = true;
        }
    }
}

impl View for ScaleView {
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
            SCALE_UP => self.scale(Delta::Add(1), cx),
            SCALE_DOWN => self.scale(Delta::Remove(1), cx),
            WARM => self.warm(cx),
            Action::BACK if matches!(self.flow, Some(Flow::Finished(_))) => {
                self.flow = None;
                self.warm = None;
            }
            Action::BACK if !self.table.filter().is_empty() => self.set_filter("", cx),
            _ => return Handled::No,
        }
        self.rebuild(cx.body);
        Handled::Yes
    }

    fn open(&mut self, subject: &Subject, cx: &mut Cx<'_>) -> bool {
        let Subject::HostChange { host, change } = subject else {
            return true;
        };
        let Some(name) = cx.app.hosts.get(*host).map(|h| h.name.clone()) else {
            return false;
        };
        let delta = match change {
            HostChange::Warm => {
                self.warm(cx);
                return self.flow.is_some();
            }
            HostChange::More => Delta::Add(1),
            HostChange::Fewer => Delta::Remove(1),
        };
        let Some(target) = self
            .app_targets
            .iter()
            .find(|(_, hosts)| hosts.contains(&name))
            .map(|(t, _)| t.clone())
        else {
            cx.notify(
                NoticeLevel::Alert,
                format!(
                    "{name} is in no gunicorn or systemd [[scale]] target: nothing to scale there"
                ),
            );
            return false;
        };
        self.table.select((target.clone(), name.clone()));
        let what = format!("planning {target} {delta} on {name}");
        self.ask(
            AppChange::Scale {
                target,
                delta,
                host: name,
            },
            what,
            cx,
        );
        self.flow.is_some()
    }

    fn command(&mut self, name: &str, _arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        match name {
            "warm" => self.warm(cx),
            "scale" => {}
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
            Event::ScaleStatus { result } => {
                match result {
                    Ok(s) => {
                        self.status = Some(s.clone());
                        cx.app.scale_counts = Some(s.clone());
                        self.error = None;
                        self.read_at = Some(cx.app.now);
                    }
                    Err(e) => self.error = Some(e.clone()),
                }
                self.table.invalidate();
                cx.app.data_dirty = true;
            }
            Event::FeedFailed {
                need: Need::ScaleStatus,
                reason,
            } => {
                self.error = Some(reason.clone());
                cx.app.dirty = true;
            }
            Event::WarmProgress { tag, stats } if change_flow::our_tag(&self.flow) == Some(tag) => {
                self.warm = Some((**stats).clone());
                self.update_banner(cx.app);
                cx.app.data_dirty = true;
            }
            event => match change_flow::on_event(&mut self.flow, event, cx) {
                Some(Took::Started) => self.started(cx),
                Some(Took::Done(_)) => {
                    change_flow::release_banner(cx.app, CONTEXT);
                    // The counts changed: the next refresh shows them, sooner
                    // if the table is asked again.
                    self.table.invalidate();
                }
                Some(Took::Failed) => change_flow::release_banner(cx.app, CONTEXT),
                _ => {}
            },
        }
    }

    fn confirmed(&mut self, tag: &str, cx: &mut Cx<'_>) {
        let took = change_flow::confirmed(&mut self.flow, tag, cx, |plan| {
            (
                format!("Confirm again: {}", plan.title),
                vec![plan.ask_again.clone().unwrap_or_default()],
            )
        });
        if took == Some(Took::Started) {
            self.started(cx);
        }
    }

    fn needs(&self, _app: &App, shown: bool) -> Vec<Need> {
        // Counting reaches every target host: only while the tab is on screen.
        if shown && !self.targets.is_empty() {
            vec![Need::ScaleStatus]
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
        let unread = s
            .iter()
            .flat_map(|t| t.hosts.iter())
            .filter(|h| h.error.is_some())
            .count();
        (unread > 0).then(|| format!("scale: {unread} host(s) UNREAD"))
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

fn draw(f: &mut Frame, area: Rect, app: &App, view: &ScaleView) {
    let [head, body] =
        Layout::vertical([Constraint::Length(HEADER), Constraint::Min(0)]).areas(area);
    draw_header(f, head, app, view);
    let progress = change_flow::progress(&view.flow);
    match progress {
        Some(p) => {
            let rows = (view.table.rows().len() as u16 + 3).clamp(5, body.height / 2);
            let [top, bottom] =
                Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(body);
            draw_table(f, top, app, view);
            if view.warming() {
                draw_warm(f, bottom, app, p, view.warm.as_ref());
            } else {
                draw_progress(f, bottom, app, p);
            }
        }
        None => draw_table(f, body, app, view),
    }
}

/// Line 1: what is counted and when. Line 2: hosts that cannot be read, or that
/// all were. Line 3: what `w` would warm.
fn draw_header(f: &mut Frame, area: Rect, app: &App, view: &ScaleView) {
    let t = &app.theme;
    let mut lines = Vec::new();
    if view.targets.is_empty() {
        lines.push(Line::from(Span::styled(
            "no [[scale]] targets in this profile: nothing to scale (see the README's \"Scale\")",
            t.muted,
        )));
    } else {
        lines.push(Line::from(vec![
            Span::styled(format!("{} target(s)", view.targets.len()), t.header),
            Span::styled(
                match view.read_at {
                    Some(at) => format!(" · counted {}s ago", (app.now - at).max(0)),
                    None => " · counting…".into(),
                },
                t.muted,
            ),
            Span::styled(
                match &view.flow {
                    Some(Flow::Planning { what, .. }) => format!(" · {what}…"),
                    _ => String::new(),
                },
                t.accent,
            ),
        ]));
        let unread: Vec<String> = view
            .status
            .iter()
            .flat_map(|s| s.iter())
            .flat_map(|tg| {
                tg.hosts.iter().filter(|h| h.error.is_some()).map(|h| {
                    if h.host.is_empty() {
                        tg.name.clone()
                    } else {
                        format!("{} on {}", tg.name, h.host)
                    }
                })
            })
            .collect();
        lines.push(match (&view.error, unread.is_empty(), &view.status) {
            (Some(e), _, _) => Line::from(Span::styled(
                format!("cannot count: {e}"),
                t.status(Status::Critical),
            )),
            (None, false, _) => Line::from(Span::styled(
                format!("CANNOT READ {}", unread.join(", ")),
                t.status(Status::Critical),
            )),
            (None, true, Some(_)) => {
                Line::from(Span::styled("every host counted", t.status(Status::Up)))
            }
            (None, true, None) => Line::from(""),
        });
    }
    lines.push(Line::from(Span::styled(
        match &view.warm_setup {
            Some(w) if !w.sitemaps.is_empty() => format!(
                "warm: {}{} · w starts it",
                w.sitemaps.join(", "),
                if w.per_node { " (each cache node)" } else { "" }
            ),
            _ => "warm: no [warm] sitemaps in this profile".into(),
        },
        t.muted,
    )));
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_table(f: &mut Frame, area: Rect, app: &App, view: &ScaleView) {
    let t = &app.theme;
    let mut title = vec![Span::styled(" Scale targets ", t.header)];
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
        pane::empty_line(f, inner, t, "no hosts in any target");
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
                Some(i) => count_row(app, i.t, i.h),
                None => Row::Full(Line::from("")),
            },
            TableRow::Group { label, .. } => Row::Full(Line::from(label.clone())),
        },
    );
}

fn count_row<'a>(app: &App, t: &TargetStatus, h: &HostCount) -> Row<'a> {
    let th = &app.theme;
    let bad = th.status(Status::Critical);
    let (now, now_style) = match h.current {
        Some(c) if c < t.min || t.max.is_some_and(|m| c > m) => {
            (format!("{c} {}", t.unit), th.status(Status::Warn))
        }
        Some(c) => (format!("{c} {}", t.unit), th.text),
        None => ("?".to_string(), bad),
    };
    Row::Cells {
        cells: vec![
            Cell::styled(t.name.clone(), th.text),
            Cell::styled(t.kind, th.muted),
            Cell::styled(
                if h.host.is_empty() {
                    "-".to_string()
                } else {
                    h.host.clone()
                },
                th.text,
            ),
            Cell::styled(now, now_style),
            Cell::styled(t.min.to_string(), th.muted),
            Cell::styled(t.max.map_or("-".into(), |m| m.to_string()), th.muted),
            match &h.error {
                Some(e) => Cell::styled(format!("! {}", one_line(e, 300)), bad),
                None => Cell::styled(h.detail.clone(), th.muted),
            },
        ],
        style: Style::default(),
    }
}

/// `1m05s`, `42s`.
fn duration_words(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A bar of `width` cells, `share` of it full.
fn gauge(share: f64, width: usize) -> String {
    let full = ((share.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// The warm as it runs: phase, URLs done of the total (once the sitemaps are
/// read to their end), a gauge, rate, ETA, in flight, errors, the HIT ratio;
/// and when it ends, the summary line it ended with.
fn draw_warm(f: &mut Frame, area: Rect, app: &App, p: &Progress, stats: Option<&WarmStats>) {
    let t = &app.theme;
    let (inner, mut lines) = change_progress::framed(f, area, app, p);
    let Some(s) = stats else {
        if p.outcome.is_none() {
            lines.push(Line::from(Span::styled("reading the sitemaps…", t.muted)));
        }
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let phase = match s.phase {
        Phase::Warm => "warming",
        Phase::Verify => "verifying",
        Phase::Done => "done",
    };
    let total = match s.urls_total {
        Some(n) => n.to_string(),
        None => format!("{}+ (reading sitemaps)", s.urls_seen),
    };
    lines.push(Line::from(vec![
        Span::styled("phase ", t.muted),
        Span::styled(phase, t.header),
        Span::styled(" · URLs ", t.muted),
        Span::styled(format!("{} / {total}", s.urls_done), t.text),
    ]));
    let share = match s.urls_total {
        Some(0) => 1.0,
        Some(n) => s.urls_done as f64 / n as f64,
        None if s.urls_seen > 0 => s.urls_done as f64 / s.urls_seen as f64,
        None => 0.0,
    };
    let width = (inner.width as usize).saturating_sub(6).max(10);
    // Until the sources are read to their end the share is of what was read so
    // far: drawn muted, without a percentage that would promise an end.
    lines.push(Line::from(match s.urls_total {
        Some(_) => vec![
            Span::styled(gauge(share, width), t.accent),
            Span::styled(format!(" {:>3.0}%", share * 100.0), t.text),
        ],
        None => vec![
            Span::styled(gauge(share, width), t.muted),
            Span::styled("    ?", t.muted),
        ],
    }));
    let errors_style = if s.errors > 0 {
        t.status(Status::Critical)
    } else {
        t.muted
    };
    // The last update of a warm carries totals only: its rate is the average.
    let rate = match s.phase {
        Phase::Done if s.elapsed_s > 0.0 => s.urls_done as f64 / s.elapsed_s,
        _ => s.urls_per_s,
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{rate:.1} URL/s"), t.text),
        Span::styled(
            format!(
                " · ETA {}",
                match (s.phase, s.eta_s) {
                    (Phase::Done, _) => "-".to_string(),
                    (_, Some(e)) => duration_words(e),
                    (_, None) => "?".to_string(),
                }
            ),
            t.text,
        ),
        Span::styled(format!(" · {} in flight", s.in_flight), t.muted),
        Span::styled(format!(" · {} error(s)", s.errors), errors_style),
        Span::styled(
            format!(
                " · HIT {}",
                s.hit_ratio()
                    .map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0))
            ),
            t.text,
        ),
    ]));
    lines.push(Line::from(Span::styled(
        format!(
            "{} request(s), {} ok, {} elapsed",
            s.requests,
            s.ok,
            duration_words(s.elapsed_s)
        ),
        t.muted,
    )));
    if let Some(l) = p.said.last() {
        lines.push(Line::from(Span::styled(one_line(l, 400), t.muted)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
