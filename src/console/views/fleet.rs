//! The fleet table: every host of the profile with its figures, sortable,
//! filterable, groupable by role. Only the visible window of rows is built.

use std::any::Any;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Profile;
use crate::console::action::{Action, Context, Hint, KeySpec, table_nav};
use crate::console::app::{App, HostSlot};
use crate::console::feed::Need;
use crate::console::filter::Filter;
use crate::console::keymap::{KeyChord, KeyCodeKey};
use crate::console::view::{
    ArgKind, CommandError, CommandSpec, Cx, Handled, Request, Subject, View, ViewSpec,
};
use crate::console::views::{host, scale};
use crate::console::widgets::bars::{human_age, human_bytes, human_duration};
use crate::console::widgets::data_table::{
    ColumnDef, DataTable, SortBy, SortKey, TableItem, TableRow,
};
use crate::console::widgets::sparkline::spark_line;
use crate::console::widgets::table::{Cell, Row};
use crate::health::check_hosts::checks_for;
use crate::health::{CheckResult, Status};

pub const CONTEXT: Context = Context::new("fleet");

const GROUP_BY_ROLE: Action = Action::new("group_by_role");

const NAV: [KeySpec; 7] = table_nav();
const OWN_KEYS: &[KeySpec] = &[
    KeySpec::new(
        Action::OPEN,
        &[
            KeyChord::plain(KeyCodeKey::Enter),
            KeyChord::ch('l'),
            KeyChord::plain(KeyCodeKey::Right),
        ],
        "open host",
        "open",
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
        GROUP_BY_ROLE,
        &[KeyChord::ch('r')],
        "group by role",
        "group",
    ),
];

/// The sort columns by name, in column order (`:sort NAME`).
pub const SORT_NAMES: &[&str] = &[
    "status", "name", "roles", "load", "cpu", "mem", "disk", "net", "uptime", "failed", "http",
    "cert",
];

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Fleet",
    keys: &[&NAV, OWN_KEYS, scale::HOST_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "move"),
        Hint::new(&[Action::OPEN], "open"),
        Hint::new(&[Action::FILTER], "filter"),
        Hint::new(&[Action::SORT_NEXT], "sort"),
        Hint::new(&[Action::SORT_REVERSE], "reverse"),
        Hint::new(&[GROUP_BY_ROLE], "group"),
        Hint::new(&[scale::SCALE_UP, scale::SCALE_DOWN], "scale"),
        Hint::new(&[scale::WARM], "warm"),
    ],
    commands: &[
        CommandSpec::new("fleet", "the fleet table"),
        CommandSpec::new("sort", "sort the fleet by a column")
            .with_arg("COLUMN", ArgKind::Choice(SORT_NAMES))
            .in_footer(3),
        CommandSpec::new("filter", "filter the fleet (! negates)").with_arg("TEXT", ArgKind::Text),
        CommandSpec::new("group", "group hosts by role on/off"),
    ],
};

pub fn build(profile: &Profile) -> Box<dyn View> {
    Box::new(FleetView {
        counts_scale: !profile.scale.is_empty(),
        ..FleetView::default()
    })
}

/// A sort column, as `:sort` and `s` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Status,
    Name,
    Roles,
    Load,
    Cpu,
    Mem,
    Disk,
    Net,
    Uptime,
    Failed,
    Http,
    Cert,
}

impl SortColumn {
    pub const ALL: &'static [SortColumn] = &[
        SortColumn::Status,
        SortColumn::Name,
        SortColumn::Roles,
        SortColumn::Load,
        SortColumn::Cpu,
        SortColumn::Mem,
        SortColumn::Disk,
        SortColumn::Net,
        SortColumn::Uptime,
        SortColumn::Failed,
        SortColumn::Http,
        SortColumn::Cert,
    ];

    pub fn name(self) -> &'static str {
        SORT_NAMES[self.column()]
    }

    pub fn from_name(s: &str) -> Option<SortColumn> {
        let s = s.to_ascii_lowercase();
        SortColumn::ALL.iter().copied().find(|c| c.name() == s)
    }

    /// The table column this sort key is.
    pub fn column(self) -> usize {
        SortColumn::ALL.iter().position(|&c| c == self).unwrap_or(0)
    }

    fn from_column(col: usize) -> SortColumn {
        SortColumn::ALL
            .get(col)
            .copied()
            .unwrap_or(SortColumn::Status)
    }
}

/// One host as the table orders it: borrowed figures, built for each rebuild.
pub struct FleetItem<'a> {
    slot: &'a HostSlot,
    host: usize,
    roles: String,
    rank: i64,
    http_ms: Option<f64>,
    cert_days: Option<f64>,
}

impl FleetItem<'_> {
    fn figure(&self, col: SortColumn) -> Option<f64> {
        let h = self
            .slot
            .health
            .as_ref()
            .filter(|h| h.status != Status::Unreachable);
        match col {
            SortColumn::Load => h.and_then(|h| h.load_per_core()),
            SortColumn::Cpu => h.and_then(|h| h.cpu_pct),
            SortColumn::Mem => h.and_then(|h| h.mem_used_pct),
            SortColumn::Disk => h.and_then(|h| h.worst_disk().map(|d| d.used_pct)),
            SortColumn::Net => h.and_then(|h| Some(h.net_rx_bps? + h.net_tx_bps?)),
            SortColumn::Uptime => h.and_then(|h| h.uptime_secs),
            SortColumn::Failed => h.map(|h| h.failed_services().count() as f64),
            SortColumn::Http => self.http_ms,
            SortColumn::Cert => self.cert_days,
            SortColumn::Status | SortColumn::Name | SortColumn::Roles => None,
        }
    }
}

impl TableItem for FleetItem<'_> {
    type Key = usize;

    fn key(&self) -> usize {
        self.host
    }

    fn keeps(&self, filter: &Filter) -> bool {
        let s = self.slot;
        let status = s.status().map_or("", Status::as_str);
        let err = s
            .health
            .as_ref()
            .and_then(|h| h.error.as_deref())
            .unwrap_or("");
        filter.keeps(
            [s.name.as_str(), s.address.as_str(), status, err]
                .into_iter()
                .chain(s.roles.iter().map(String::as_str)),
        )
    }

    fn tiebreak(&self) -> &str {
        &self.slot.name
    }

    fn group(&self) -> &str {
        self.slot.roles.first().map_or("(no role)", String::as_str)
    }
}

fn status_rank(s: &HostSlot) -> i64 {
    match s.status() {
        None => 0,
        Some(Status::Up) => 1,
        Some(Status::Warn) => 2,
        Some(Status::Critical) => 3,
        Some(Status::Unreachable) => 4,
    }
}

/// A column's sort key function.
type KeyFn<'b> = for<'a> fn(&'a FleetItem<'b>) -> SortKey<'a>;

fn num<'b>(col: SortColumn) -> KeyFn<'b> {
    // One function per column: sort keys are plain fn pointers.
    match col {
        SortColumn::Load => |i| SortKey::Num(i.figure(SortColumn::Load)),
        SortColumn::Cpu => |i| SortKey::Num(i.figure(SortColumn::Cpu)),
        SortColumn::Mem => |i| SortKey::Num(i.figure(SortColumn::Mem)),
        SortColumn::Disk => |i| SortKey::Num(i.figure(SortColumn::Disk)),
        SortColumn::Net => |i| SortKey::Num(i.figure(SortColumn::Net)),
        SortColumn::Uptime => |i| SortKey::Num(i.figure(SortColumn::Uptime)),
        SortColumn::Failed => |i| SortKey::Num(i.figure(SortColumn::Failed)),
        SortColumn::Http => |i| SortKey::Num(i.figure(SortColumn::Http)),
        _ => |i| SortKey::Num(i.figure(SortColumn::Cert)),
    }
}

const SPARK_WIDTH: u16 = 16;

/// The columns, for a fleet whose longest host name is `name_w` characters.
fn columns<'a>(name_w: u16) -> Vec<ColumnDef<FleetItem<'a>>> {
    let c = ColumnDef::new;
    // Uptime and certificate days read best ascending (recent reboots and soonest
    // expiries first); the other figures worst-first.
    let figure = |title, width, priority, col: SortColumn| {
        let by = if matches!(col, SortColumn::Uptime | SortColumn::Cert) {
            SortBy::ascending(num(col))
        } else {
            SortBy::descending(num(col))
        };
        c(title, width, true, priority).sorted_by(by)
    };
    vec![
        c("", 1, false, 0).sorted_by(SortBy::descending(|i: &FleetItem| SortKey::Rank(i.rank))),
        c("HOST", name_w, false, 0).sorted_by(SortBy::ascending(|i: &FleetItem| {
            SortKey::Text(&i.slot.name)
        })),
        c("ROLES", 12, false, 3)
            .sorted_by(SortBy::ascending(|i: &FleetItem| SortKey::Text(&i.roles))),
        c("LOAD/CORE 1 5 15", 16, false, 2).sorted_by(SortBy::descending(num(SortColumn::Load))),
        figure("CPU", 5, 0, SortColumn::Cpu),
        figure("MEM", 5, 0, SortColumn::Mem),
        figure("DISK", 5, 1, SortColumn::Disk),
        figure("NET IN/OUT", 11, 3, SortColumn::Net),
        figure("UPTIME", 6, 4, SortColumn::Uptime),
        c("FAILED", 12, false, 2).sorted_by(SortBy::descending(num(SortColumn::Failed))),
        figure("HTTP", 6, 4, SortColumn::Http),
        figure("CERT", 5, 5, SortColumn::Cert),
        c("CPU HISTORY", SPARK_WIDTH, false, 5),
    ]
}

/// The columns, with APP last once `[[scale]]` counts have come.
fn columns_for<'a>(app: &App) -> Vec<ColumnDef<FleetItem<'a>>> {
    let mut cols = columns(name_width(app));
    if app.scale_counts.is_some() {
        cols.push(ColumnDef::new("APP", 12, true, 4));
    }
    cols
}

/// The host's count in its first `[[scale]]` target (`3 workers`), `?` when it
/// could not be read, `-` when the host is in none.
fn app_count(app: &App, host: &str) -> Option<(String, bool)> {
    let targets = app.scale_counts.as_ref()?;
    let found = targets
        .iter()
        .find_map(|t| t.hosts.iter().find(|h| h.host == host).map(|h| (t, h)));
    Some(match found {
        Some((t, h)) => match h.current {
            Some(c) => (format!("{c} {}", t.unit), true),
            None => ("?".to_string(), false),
        },
        None => ("-".to_string(), true),
    })
}

fn name_width(app: &App) -> u16 {
    app.hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24) as u16
}

/// HTTP checks aimed at this host.
fn host_checks<'a>(app: &'a App, slot: &'a HostSlot) -> impl Iterator<Item = &'a CheckResult> {
    checks_for(&app.checks, &app.check_resolve, &slot.name, &slot.address)
}

fn http_latency(app: &App, slot: &HostSlot) -> Option<f64> {
    host_checks(app, slot)
        .filter_map(|c| c.latency_ms)
        .reduce(f64::max)
}

fn cert_days(app: &App, slot: &HostSlot) -> Option<f64> {
    host_checks(app, slot)
        .filter_map(|c| c.cert_days_left)
        .reduce(f64::min)
}

fn items(app: &App) -> Vec<FleetItem<'_>> {
    app.hosts
        .iter()
        .enumerate()
        .map(|(host, slot)| FleetItem {
            slot,
            host,
            roles: slot.roles.join(","),
            rank: status_rank(slot),
            http_ms: http_latency(app, slot),
            cert_days: cert_days(app, slot),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct FleetView {
    pub table: DataTable<usize>,
    /// The profile has `[[scale]]` targets: their counts are read while the
    /// fleet is shown, and an APP column shows each host's.
    pub counts_scale: bool,
}

impl Default for FleetView {
    fn default() -> Self {
        FleetView {
            table: DataTable::new(SortColumn::Status.column()),
            counts_scale: false,
        }
    }
}

/// Rows of host lines the table shows in a body of `body_height` (header excluded).
pub fn table_height(body_height: u16) -> u16 {
    body_height.saturating_sub(1)
}

/// The screen row of the first host line, for a view drawn in `body`.
pub fn first_row_y(body: Rect) -> u16 {
    body.y + 1
}

impl FleetView {
    pub fn sort(&self) -> SortColumn {
        SortColumn::from_column(self.table.sort_column())
    }

    /// The host indices in display order.
    pub fn host_order(&self) -> Vec<usize> {
        self.table
            .rows()
            .iter()
            .filter_map(|r| r.key().copied())
            .collect()
    }

    fn rebuild(&mut self, app: &App, body: Rect) {
        let items = items(app);
        self.table.rebuild(&items, &columns_for(app));
        self.table
            .ensure_visible(table_height(body.height) as usize);
    }

    fn refresh(&mut self, cx: &mut Cx<'_>) {
        if self.table.is_stale() {
            self.rebuild(cx.app, cx.body);
        }
        cx.app.selected_host = self.table.selected().copied();
    }

    fn open_selected(&mut self, cx: &mut Cx<'_>) {
        if let Some(&h) = self.table.selected() {
            cx.request(Request::Open {
                view: host::CONTEXT,
                subject: Subject::Host(h),
            });
        }
    }
}

impl View for FleetView {
    fn spec(&self) -> &'static ViewSpec {
        &SPEC
    }

    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled {
        self.refresh(cx);
        let page = table_height(cx.body.height).max(1) as usize;
        let move_by = |t: &mut DataTable<usize>, d: isize| t.move_selection(d, page);
        match action {
            Action::UP => move_by(&mut self.table, -1),
            Action::DOWN => move_by(&mut self.table, 1),
            Action::PAGE_UP => move_by(&mut self.table, -(page as isize)),
            Action::PAGE_DOWN => move_by(&mut self.table, page as isize),
            Action::TOP => move_by(&mut self.table, isize::MIN / 2),
            Action::BOTTOM => move_by(&mut self.table, isize::MAX / 2),
            Action::OPEN => self.open_selected(cx),
            Action::BACK if !self.table.filter().is_empty() => self.table.set_filter(""),
            Action::SORT_NEXT => self.table.sort_next(&columns(0)),
            Action::SORT_REVERSE => self.table.toggle_reverse(),
            GROUP_BY_ROLE => self.table.toggle_grouped(),
            a if scale::host_change(a).is_some() => {
                if let (Some(&h), Some(change)) = (self.table.selected(), scale::host_change(a)) {
                    scale::request_host_change(h, change, cx);
                }
            }
            _ => return Handled::No,
        }
        self.refresh(cx);
        Handled::Yes
    }

    fn command(&mut self, name: &str, arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        match name {
            "fleet" => cx.request(Request::Open {
                view: CONTEXT,
                subject: Subject::Current,
            }),
            "sort" => {
                let col = SortColumn::from_name(arg)
                    .ok_or_else(|| CommandError(format!("unknown column `{arg}`")))?;
                self.table.sort_by(col.column());
            }
            "filter" => self.table.set_filter(arg),
            "group" => self.table.toggle_grouped(),
            other => return Err(CommandError::unknown(&SPEC, other)),
        }
        self.refresh(cx);
        Ok(())
    }

    fn data_changed(&mut self) {
        self.table.invalidate();
    }

    fn needs(&self, _app: &App, shown: bool) -> Vec<Need> {
        // The fleet's figures are shared by every view: always collected. The
        // scale counts reach every target host: only while the fleet is shown.
        let mut needs = vec![Need::HostHealth, Need::HttpChecks];
        if shown && self.counts_scale {
            needs.push(Need::ScaleStatus);
        }
        needs
    }

    fn filter(&self) -> Option<&str> {
        Some(&self.table.filter().text)
    }

    fn set_filter(&mut self, text: &str, cx: &mut Cx<'_>) {
        self.table.set_filter(text);
        self.refresh(cx);
    }

    fn click(&mut self, _column: u16, row: u16, cx: &mut Cx<'_>) -> Handled {
        let Some(line) = row.checked_sub(1) else {
            return Handled::No;
        };
        if line >= table_height(cx.body.height) {
            return Handled::No;
        }
        match self.table.key_at(usize::from(line)).copied() {
            Some(h) if self.table.selected() == Some(&h) => self.open_selected(cx),
            Some(h) => {
                self.table.select(h);
                cx.app.selected_host = Some(h);
            }
            None => return Handled::No,
        }
        Handled::Yes
    }

    fn summary(&self, app: &App) -> Option<String> {
        Some(summary(app, self))
    }

    fn prepare(&mut self, app: &mut App, body: Rect) {
        if self.table.is_stale() {
            self.rebuild(app, body);
        }
        app.selected_host = self.table.selected().copied();
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

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.0}%"))
}

fn figure_style(app: &App, v: Option<f64>, warn: f64, crit: f64) -> Style {
    match v {
        Some(v) if v >= crit => app.theme.status(Status::Critical),
        Some(v) if v >= warn => app.theme.status(Status::Warn),
        _ => app.theme.text,
    }
}

fn host_row<'a>(app: &'a App, slot: &'a HostSlot) -> Row<'a> {
    let t = &app.theme;
    let status = slot.status();
    let (sym, sym_style) = match status {
        Some(s) => (s.symbol(), t.status(s)),
        None => ("·", t.muted),
    };
    let mut cells = vec![
        Cell::styled(sym, sym_style),
        Cell::styled(slot.name.as_str(), t.text),
        Cell::styled(slot.roles.join(","), t.muted),
    ];
    let Some(h) = slot.health.as_ref() else {
        cells.push(Cell::styled("waiting for the first probe…", t.muted).spanning(10));
        return Row::Cells {
            cells,
            style: Style::default(),
        };
    };
    if h.status == Status::Unreachable {
        let seen = match h.last_seen {
            Some(ts) => format!("last seen {} ago", human_age(app.now - ts)),
            None => "never seen".to_string(),
        };
        cells.push(
            Cell::new(Line::from(vec![
                unreachable_span(app, h),
                Span::styled(format!("  ({seen})"), t.muted),
            ]))
            .spanning(10),
        );
        return Row::Cells {
            cells,
            style: Style::default(),
        };
    }
    let per_core = |l: Option<f64>| match (l, h.cores) {
        (Some(l), Some(c)) if c > 0 => format!("{:.2}", l / f64::from(c)),
        _ => "-".to_string(),
    };
    let th = &app.thresholds;
    let load_style = figure_style(app, h.load_per_core(), th.load_warn, th.load_crit);
    cells.push(Cell::styled(
        format!(
            "{:>4} {:>4} {:>4}",
            per_core(h.load1),
            per_core(h.load5),
            per_core(h.load15)
        ),
        load_style,
    ));
    cells.push(Cell::styled(
        pct(h.cpu_pct),
        figure_style(app, h.cpu_pct, th.cpu_warn, th.cpu_crit),
    ));
    cells.push(Cell::styled(
        pct(h.mem_used_pct),
        figure_style(app, h.mem_used_pct, th.mem_warn, th.mem_crit),
    ));
    let disk = h.worst_disk();
    cells.push(Cell::styled(
        pct(disk.map(|d| d.used_pct)),
        disk.map_or(t.text, |d| {
            if d.status == Status::Up {
                t.text
            } else {
                t.status(d.status)
            }
        }),
    ));
    let net = match (h.net_rx_bps, h.net_tx_bps) {
        (Some(rx), Some(tx)) => format!("{}/{}", human_bytes(rx), human_bytes(tx)),
        _ => "-".to_string(),
    };
    cells.push(Cell::styled(net, t.text));
    cells.push(Cell::styled(
        h.uptime_secs.map_or("-".into(), human_duration),
        t.text,
    ));
    let failed: Vec<&str> = h.failed_services().map(|s| s.name.as_str()).collect();
    cells.push(if failed.is_empty() {
        Cell::styled("-", t.muted)
    } else {
        Cell::styled(
            format!("{} {}", failed.len(), failed.join(",")),
            t.status(Status::Critical),
        )
    });
    let worst_check = host_checks(app, slot).map(|c| c.status).max();
    cells.push(match (http_latency(app, slot), worst_check) {
        (Some(ms), Some(s)) => Cell::styled(format!("{ms:.0}ms"), t.status(s)),
        (None, Some(s)) if s != Status::Up => Cell::styled("fail", t.status(s)),
        _ => Cell::styled("-", t.muted),
    });
    cells.push(match cert_days(app, slot) {
        Some(d) => Cell::styled(
            format!("{d:.0}d"),
            figure_style(app, Some(-d), -th.cert_warn_days, -th.cert_crit_days),
        ),
        None => Cell::styled("-", t.muted),
    });
    let hist: Vec<Option<f64>> = slot
        .series
        .cpu_pct
        .last_n(SPARK_WIDTH as usize)
        .copied()
        .collect();
    cells.push(Cell::styled(
        spark_line(&hist, SPARK_WIDTH as usize, 100.0),
        t.chart,
    ));
    if let Some((text, read)) = app_count(app, &slot.name) {
        let style = if read {
            t.text
        } else {
            t.status(Status::Critical)
        };
        cells.push(Cell::styled(text, style));
    }
    Row::Cells {
        cells,
        style: Style::default(),
    }
}

/// Why a host is unreachable, styled by kind: a changed or revoked host key is an
/// alarm (someone may be in the middle), not just a host that does not answer.
pub fn unreachable_span<'a>(app: &App, h: &'a crate::health::HostHealth) -> Span<'a> {
    let t = &app.theme;
    let err = h.error.as_deref().unwrap_or("unreachable");
    match h.error_kind {
        Some(kind) if kind.is_host_key_alarm() => Span::styled(
            format!("{}: {err}", kind.describe().to_uppercase()),
            t.status(Status::Critical)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ),
        _ => Span::styled(format!("unreachable: {err}"), t.status(Status::Unreachable)),
    }
}

fn draw(f: &mut Frame, area: Rect, app: &App, view: &FleetView) {
    let t = &app.theme;
    if app.hosts.is_empty() {
        let msg = vec![
            Line::from(Span::styled("This profile has no hosts.", t.text)),
            Line::from(Span::styled(
                "Add [[hosts]] entries to the profile, or run with --profile PATH.",
                t.muted,
            )),
        ];
        f.render_widget(Paragraph::new(msg), area);
        return;
    }
    let cols = columns_for(app);
    view.table.render(
        f.buffer_mut(),
        area,
        &cols,
        t.header,
        t.selection,
        |r| match r {
            TableRow::Item { key, .. } => host_row(app, &app.hosts[*key]),
            TableRow::Group { label, count } => Row::Full(Line::from(Span::styled(
                format!("── {label} ({count}) ──"),
                t.accent,
            ))),
        },
    );
    if view.table.rows().is_empty() {
        let y = area.y + 1;
        if y < area.bottom() {
            let msg = format!(
                "no host matches the filter `{}` (Esc clears it)",
                view.table.filter().text
            );
            f.render_widget(
                Paragraph::new(Span::styled(msg, t.muted)),
                Rect::new(area.x, y, area.width, 1),
            );
        }
    }
}

/// One line summary for the tab bar: counts per status, filter.
pub fn summary(app: &App, view: &FleetView) -> String {
    let mut counts = [0usize; 5];
    for h in &app.hosts {
        counts[status_rank(h) as usize] += 1;
    }
    let n = app.hosts.len();
    let mut parts = vec![format!("{n} host{}", if n == 1 { "" } else { "s" })];
    for (i, name) in ["waiting", "up", "warn", "critical", "unreachable"]
        .iter()
        .enumerate()
    {
        if counts[i] > 0 && (i != 1 || counts[i] != app.hosts.len()) {
            parts.push(format!("{} {name}", counts[i]));
        }
    }
    let filter = view.table.filter();
    if !filter.is_empty() {
        let shown = view
            .table
            .rows()
            .iter()
            .filter(|r| r.key().is_some())
            .count();
        parts.push(format!("filter `{}`: {shown} shown", filter.text));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_columns_cycle_through_all() {
        let mut t: DataTable<usize> = DataTable::new(0);
        let cols = columns(8);
        for _ in 0..SortColumn::ALL.len() {
            t.sort_next(&cols);
        }
        assert_eq!(t.sort_column(), SortColumn::Status.column());
        assert_eq!(SortColumn::from_name("CPU"), Some(SortColumn::Cpu));
        assert_eq!(SortColumn::Cert.name(), "cert");
    }
}
