//! The console's state and the one place it changes: [`App::update`]. Nothing here
//! does IO; requests for IO (start a log tail) leave as [`Effect`]s for the runtime.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};

use super::action::{Action, Context};
use super::event::Event;
use super::filter::Filter;
use super::keymap::Keymap;
use super::palette::{self, Completions, PaletteCommand, PaletteState};
use super::theme::{ColorMode, Theme, ThemeSet};
use super::ui;
use super::views::fleet::{self, FleetRow, SortColumn};
use super::widgets::confirm::{ConfirmDialog, ConfirmOutcome};
use crate::config::{Environment, LogSource, Profile, Thresholds};
use crate::health::series::capacity_for;
use crate::health::{CheckResult, HostHealth, HostSeries, Status};

/// Lines kept per host log pane.
pub const LOG_CAP: usize = 2000;
/// Notices shown at once (older ones are dropped).
const NOTICE_CAP: usize = 5;
const NOTICE_SECS: i64 = 6;
const ALERT_SECS: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    pub environment: Environment,
    pub read_only: bool,
}

/// A log source of a host, as the host view names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Unit(String),
    File(String),
}

impl LogTarget {
    pub fn from_source(s: &LogSource) -> Option<LogTarget> {
        match (&s.unit, &s.file) {
            (Some(u), _) => Some(LogTarget::Unit(u.clone())),
            (None, Some(f)) => Some(LogTarget::File(f.clone())),
            (None, None) => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LogTarget::Unit(u) => format!("journal {u}"),
            LogTarget::File(f) => f.clone(),
        }
    }
}

/// A bounded log tail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogBuffer {
    pub lines: VecDeque<String>,
    /// Why the tail stopped, when it did.
    pub ended: Option<String>,
}

impl LogBuffer {
    pub fn push(&mut self, line: String) {
        if self.lines.len() == LOG_CAP {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostSlot {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    /// Units named in the profile for this host.
    pub services: Vec<String>,
    pub log_target: Option<LogTarget>,
    pub health: Option<HostHealth>,
    /// When the latest probe result arrived (Unix seconds).
    pub updated_at: Option<i64>,
    pub series: HostSeries,
    pub log: LogBuffer,
}

impl HostSlot {
    pub fn status(&self) -> Option<Status> {
        self.health.as_ref().map(|h| h.status)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Fleet,
    Host,
}

/// What the filter line is editing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    Fleet,
    Log,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Palette(PaletteState),
    FilterInput {
        target: FilterTarget,
        input: String,
        previous: String,
    },
    Confirm(ConfirmDialog),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FleetState {
    pub sort: SortColumn,
    pub reverse: bool,
    pub group: bool,
    pub filter: Filter,
    pub rows: Vec<FleetRow>,
    /// The selected host (an index into `App::hosts`), kept across re-sorts.
    pub selected: Option<usize>,
    /// First visible row.
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostViewState {
    pub host: usize,
    pub follow: bool,
    /// Lines between the newest line and the bottom of the pane (0 when following).
    pub scroll: usize,
    pub search: Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Alert,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: NoticeLevel,
    pub at: i64,
}

/// IO the runtime performs on the app's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    TailLog {
        host: usize,
        target: LogTarget,
    },
    StopLog {
        host: usize,
    },
    /// A confirmation dialog was accepted; `tag` says which change it confirmed.
    Confirmed {
        tag: String,
    },
}

pub struct App {
    pub profile: ProfileInfo,
    pub hosts: Vec<HostSlot>,
    pub checks: Vec<CheckResult>,
    /// (check name, `resolve` address) of the profile's HTTP checks that set one.
    pub check_resolve: Vec<(String, String)>,
    pub interval_secs: f64,
    pub retention_secs: f64,
    pub thresholds: Thresholds,
    /// Unix seconds, from the latest tick.
    pub now: i64,
    pub width: u16,
    pub height: u16,
    pub tab: Tab,
    pub fleet: FleetState,
    pub host_view: Option<HostViewState>,
    pub overlay: Option<Overlay>,
    pub frozen: bool,
    pending: Vec<Option<(Box<HostHealth>, i64)>>,
    pub notices: VecDeque<Notice>,
    pub theme: Theme,
    pub themes: ThemeSet,
    pub color_mode: ColorMode,
    pub keymap: Keymap,
    pub mouse: bool,
    pub quit: bool,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    /// New data arrived since the last draw. Drawn at a lower rate than input
    /// changes: a fleet reports many times a second, nobody reads that fast.
    pub data_dirty: bool,
    rows_dirty: bool,
    pub effects: Vec<Effect>,
}

impl App {
    pub fn new(profile: &Profile, now: i64, width: u16, height: u16) -> App {
        let interval = profile.health.interval_secs.max(0.1);
        let cap = capacity_for(profile.health.retention_secs, interval);
        let hosts: Vec<HostSlot> = profile
            .hosts
            .iter()
            .map(|h| {
                let mut services = profile.health.services.clone();
                for s in &h.services {
                    if !services.contains(s) {
                        services.push(s.clone());
                    }
                }
                let logs = h.logs.as_ref().unwrap_or(&profile.health.logs);
                HostSlot {
                    name: h.name.clone(),
                    address: h.address.clone().unwrap_or_else(|| h.name.clone()),
                    roles: h.roles.clone(),
                    services,
                    log_target: logs.iter().find_map(LogTarget::from_source),
                    health: None,
                    updated_at: None,
                    series: HostSeries::new(cap),
                    log: LogBuffer::default(),
                }
            })
            .collect();
        let pending = vec![None; hosts.len()];
        let mut app = App {
            profile: ProfileInfo {
                name: profile.name.clone(),
                environment: profile.environment,
                read_only: profile.read_only,
            },
            hosts,
            checks: Vec::new(),
            check_resolve: profile
                .health
                .http
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.resolve.clone()?)))
                .collect(),
            interval_secs: interval,
            retention_secs: profile.health.retention_secs,
            thresholds: profile.health.thresholds.clone(),
            now,
            width,
            height,
            tab: Tab::Fleet,
            fleet: FleetState {
                sort: SortColumn::Status,
                reverse: false,
                group: false,
                filter: Filter::default(),
                rows: Vec::new(),
                selected: None,
                offset: 0,
            },
            host_view: None,
            overlay: None,
            frozen: false,
            pending,
            notices: VecDeque::new(),
            theme: Theme::default_for(ColorMode::TrueColor),
            themes: ThemeSet::builtin(),
            color_mode: ColorMode::TrueColor,
            keymap: Keymap::default(),
            mouse: true,
            quit: false,
            dirty: true,
            data_dirty: false,
            rows_dirty: true,
            effects: Vec::new(),
        };
        app.prepare();
        app
    }

    /// Switches theme by name; an unknown name is reported, not fatal.
    pub fn set_theme(&mut self, name: &str) -> Result<(), String> {
        match self.themes.get(name, self.color_mode) {
            Some(Ok(t)) => {
                self.theme = t;
                self.dirty = true;
                Ok(())
            }
            Some(Err(e)) => Err(e),
            None => {
                let names: Vec<&str> = self.themes.names().collect();
                Err(format!("no theme `{name}` (have: {})", names.join(", ")))
            }
        }
    }

    pub fn context(&self) -> Context {
        match self.tab {
            Tab::Fleet => Context::Fleet,
            Tab::Host => Context::Host,
        }
    }

    /// Brings derived state (the fleet's row order) up to date. The runtime calls it
    /// before drawing, so many updates between two frames sort only once.
    pub fn prepare(&mut self) {
        if self.rows_dirty {
            self.fleet.rows = fleet::build_rows(self);
            self.rows_dirty = false;
            if self.fleet.selected.is_none_or(|s| self.row_of(s).is_none()) {
                self.fleet.selected = self.fleet.rows.iter().find_map(FleetRow::host);
            }
            self.ensure_visible();
        }
    }

    fn row_of(&self, host: usize) -> Option<usize> {
        self.fleet.rows.iter().position(|r| r.host() == Some(host))
    }

    pub fn selected_row(&self) -> Option<usize> {
        self.fleet.selected.and_then(|h| self.row_of(h))
    }

    fn table_rows(&self) -> usize {
        ui::fleet_table_height(self) as usize
    }

    fn ensure_visible(&mut self) {
        let h = self.table_rows().max(1);
        let max_offset = self.fleet.rows.len().saturating_sub(h);
        if let Some(pos) = self.selected_row() {
            if pos < self.fleet.offset {
                self.fleet.offset = pos;
            } else if pos >= self.fleet.offset + h {
                self.fleet.offset = pos + 1 - h;
            }
        }
        self.fleet.offset = self.fleet.offset.min(max_offset);
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        if self.notices.len() == NOTICE_CAP {
            self.notices.pop_front();
        }
        self.notices.push_back(Notice {
            text: text.into(),
            level,
            at: self.now,
        });
        self.dirty = true;
    }

    /// The notice to show now, if any: the newest live alert, else the newest info.
    pub fn current_notice(&self) -> Option<&Notice> {
        let live = |n: &&Notice| {
            let ttl = match n.level {
                NoticeLevel::Info => NOTICE_SECS,
                NoticeLevel::Alert => ALERT_SECS,
            };
            self.now - n.at < ttl
        };
        let newest = |level| {
            self.notices
                .iter()
                .rev()
                .filter(live)
                .find(|n| n.level == level)
        };
        newest(NoticeLevel::Alert).or_else(|| newest(NoticeLevel::Info))
    }

    /// Seconds since the newest probe result, if any arrived.
    pub fn data_age(&self) -> Option<i64> {
        self.hosts
            .iter()
            .filter_map(|h| h.updated_at)
            .max()
            .map(|t| (self.now - t).max(0))
    }

    pub fn update(&mut self, event: Event) {
        match event {
            Event::Key(key) => {
                if key.kind != KeyEventKind::Release {
                    self.on_key(key);
                }
            }
            Event::Mouse(m) => {
                if self.mouse {
                    self.on_mouse(m);
                }
            }
            Event::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.ensure_visible();
                self.dirty = true;
            }
            Event::Tick { now } => {
                if now != self.now {
                    self.now = now;
                    self.dirty = true;
                }
            }
            Event::Health { host, health, at } => {
                if host >= self.hosts.len() {
                    return;
                }
                if self.frozen {
                    self.pending[host] = Some((health, at));
                } else {
                    self.apply_health(host, *health, at);
                }
            }
            Event::Checks(checks) => {
                if !self.frozen {
                    self.checks = checks;
                    self.rows_dirty = true;
                    self.data_dirty = true;
                }
            }
            Event::LogLines { host, lines } => {
                let Some(slot) = self.hosts.get_mut(host) else {
                    return;
                };
                let n = lines.len();
                for l in lines {
                    slot.log.push(l);
                }
                slot.log.ended = None;
                if let Some(hv) = &mut self.host_view {
                    if hv.host == host {
                        if !hv.follow {
                            hv.scroll = (hv.scroll + n).min(slot.log.lines.len());
                        }
                        self.data_dirty = true;
                    }
                }
            }
            Event::LogEnded { host, reason } => {
                if let Some(slot) = self.hosts.get_mut(host) {
                    slot.log.ended = Some(reason);
                    self.dirty = true;
                }
            }
            Event::Terminate => self.quit = true,
        }
    }

    fn apply_health(&mut self, host: usize, health: HostHealth, at: i64) {
        let slot = &mut self.hosts[host];
        let before = slot.status();
        slot.series.push(&health, at);
        let after = health.status;
        let worse = matches!(after, Status::Critical | Status::Unreachable);
        let was_ok = matches!(before, Some(Status::Up | Status::Warn));
        let alert = (worse && was_ok).then(|| {
            let why = health
                .error
                .clone()
                .or_else(|| health.reasons.first().cloned())
                .unwrap_or_default();
            format!("{} {}: {why}", slot.name, after.as_str())
        });
        slot.health = Some(health);
        slot.updated_at = Some(at);
        if let Some(text) = alert {
            self.notify(NoticeLevel::Alert, text);
        }
        self.rows_dirty = true;
        self.data_dirty = true;
    }

    fn toggle_freeze(&mut self) {
        self.frozen = !self.frozen;
        if !self.frozen {
            let pending = std::mem::replace(&mut self.pending, vec![None; self.hosts.len()]);
            for (host, p) in pending.into_iter().enumerate() {
                if let Some((h, at)) = p {
                    self.apply_health(host, *h, at);
                }
            }
        }
        let text = if self.frozen {
            "updates frozen (f to resume)"
        } else {
            "updates resumed"
        };
        self.notify(NoticeLevel::Info, text);
    }

    fn on_key(&mut self, key: KeyEvent) {
        self.dirty = true;
        match self.overlay.take() {
            Some(Overlay::Help) => {
                let close = matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
                ) || super::keymap::KeyChord::from_event(&key)
                    .is_some_and(|k| self.keymap.action(self.context(), k) == Some(Action::Help));
                if !close {
                    self.overlay = Some(Overlay::Help);
                }
            }
            Some(Overlay::Palette(state)) => self.on_palette_key(state, key),
            Some(Overlay::FilterInput {
                target,
                input,
                previous,
            }) => self.on_filter_key(target, input, previous, key),
            Some(Overlay::Confirm(mut dialog)) => match dialog.on_key(key) {
                ConfirmOutcome::Pending => self.overlay = Some(Overlay::Confirm(dialog)),
                ConfirmOutcome::Cancelled => self.notify(NoticeLevel::Info, "cancelled"),
                ConfirmOutcome::Confirmed => {
                    self.effects.push(Effect::Confirmed {
                        tag: dialog.tag.clone(),
                    });
                }
            },
            None => {
                if let Some(action) = super::keymap::KeyChord::from_event(&key)
                    .and_then(|k| self.keymap.action(self.context(), k))
                {
                    self.apply(action);
                }
            }
        }
    }

    /// Opens a confirmation dialog (for changes to production).
    pub fn confirm(&mut self, dialog: ConfirmDialog) {
        self.overlay = Some(Overlay::Confirm(dialog));
        self.dirty = true;
    }

    pub fn completions(&self) -> Completions<'_> {
        Completions {
            hosts: self.hosts.iter().map(|h| h.name.as_str()).collect(),
            themes: self.themes.names().collect(),
        }
    }

    fn on_palette_key(&mut self, mut st: PaletteState, key: KeyEvent) {
        let cands = palette::candidates(&st.input, &self.completions());
        match key.code {
            KeyCode::Esc => return,
            KeyCode::Enter => {
                // Enter on a highlighted candidate that completes the input runs it.
                let chosen = cands
                    .get(st.selected)
                    .filter(|c| palette::parse(&st.input).is_err() && !c.text.ends_with(' '))
                    .map(|c| c.text.clone())
                    .unwrap_or_else(|| st.input.clone());
                match palette::parse(&chosen) {
                    Ok(cmd) => self.run_command(cmd),
                    Err(e) => self.notify(NoticeLevel::Info, e),
                }
                return;
            }
            KeyCode::Tab => {
                if let Some(c) = cands.get(st.selected) {
                    st.input = c.text.clone();
                    st.selected = 0;
                }
            }
            KeyCode::Up => st.selected = st.selected.saturating_sub(1),
            KeyCode::Down if st.selected + 1 < cands.len() => st.selected += 1,
            KeyCode::Backspace => {
                st.input.pop();
                st.selected = 0;
            }
            KeyCode::Char('c')
                if key
                    .modifiers
                    .contains(crossterm::event::KeyModifiers::CONTROL) =>
            {
                return;
            }
            KeyCode::Char(c) => {
                st.input.push(c);
                st.selected = 0;
            }
            _ => {}
        }
        self.overlay = Some(Overlay::Palette(st));
    }

    fn on_filter_key(
        &mut self,
        target: FilterTarget,
        mut input: String,
        previous: String,
        key: KeyEvent,
    ) {
        match key.code {
            KeyCode::Esc => {
                self.set_filter(target, &previous);
                return;
            }
            KeyCode::Enter => return,
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char('c')
                if key
                    .modifiers
                    .contains(crossterm::event::KeyModifiers::CONTROL) =>
            {
                self.set_filter(target, &previous);
                return;
            }
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
        self.set_filter(target, &input);
        self.overlay = Some(Overlay::FilterInput {
            target,
            input,
            previous,
        });
    }

    fn set_filter(&mut self, target: FilterTarget, text: &str) {
        match target {
            FilterTarget::Fleet => {
                self.fleet.filter = Filter::new(text);
                self.rows_dirty = true;
                self.prepare();
            }
            FilterTarget::Log => {
                if let Some(hv) = &mut self.host_view {
                    hv.search = Filter::new(text);
                    hv.scroll = 0;
                }
            }
        }
        self.dirty = true;
    }

    fn run_command(&mut self, cmd: PaletteCommand) {
        match cmd {
            PaletteCommand::Quit => self.quit = true,
            PaletteCommand::Help => self.overlay = Some(Overlay::Help),
            PaletteCommand::Fleet => self.apply(Action::Tab1),
            PaletteCommand::Host(name) => {
                let found = self.hosts.iter().position(|h| h.name == name).or_else(|| {
                    let lower = name.to_lowercase();
                    self.hosts
                        .iter()
                        .position(|h| h.name.to_lowercase() == lower)
                });
                match found {
                    Some(i) => {
                        self.fleet.selected = Some(i);
                        self.ensure_visible();
                        self.open_host(i);
                    }
                    None => self.notify(
                        NoticeLevel::Info,
                        format!("no host `{name}` in this profile"),
                    ),
                }
            }
            PaletteCommand::Theme(name) => match self.set_theme(&name) {
                Ok(()) => self.notify(NoticeLevel::Info, format!("theme {name}")),
                Err(e) => self.notify(NoticeLevel::Info, e),
            },
            PaletteCommand::Freeze => self.toggle_freeze(),
            PaletteCommand::Sort(col) => {
                self.fleet.sort = col;
                self.fleet.reverse = false;
                self.rows_dirty = true;
                self.prepare();
            }
            PaletteCommand::Group => self.apply_fleet(Action::GroupByRole),
            PaletteCommand::Filter(text) => self.set_filter(FilterTarget::Fleet, &text),
        }
    }

    fn open_host(&mut self, host: usize) {
        if let Some(prev) = &self.host_view {
            if prev.host == host {
                self.tab = Tab::Host;
                return;
            }
            self.effects.push(Effect::StopLog { host: prev.host });
        }
        self.host_view = Some(HostViewState {
            host,
            follow: true,
            scroll: 0,
            search: Filter::default(),
        });
        if let Some(target) = self.hosts[host].log_target.clone() {
            self.effects.push(Effect::TailLog { host, target });
        }
        self.tab = Tab::Host;
    }

    /// Applies an action from the keymap or the mouse.
    pub fn apply(&mut self, action: Action) {
        self.dirty = true;
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.overlay = Some(Overlay::Help),
            Action::Palette => self.overlay = Some(Overlay::Palette(PaletteState::default())),
            Action::Freeze => self.toggle_freeze(),
            Action::Tab1 => self.tab = Tab::Fleet,
            Action::Tab2 => self.show_host_tab(),
            Action::NextTab | Action::PrevTab => match self.tab {
                Tab::Fleet => self.show_host_tab(),
                Tab::Host => self.tab = Tab::Fleet,
            },
            Action::Filter => {
                let (target, previous) = match self.tab {
                    Tab::Fleet => (FilterTarget::Fleet, self.fleet.filter.text.clone()),
                    Tab::Host => (
                        FilterTarget::Log,
                        self.host_view
                            .as_ref()
                            .map(|h| h.search.text.clone())
                            .unwrap_or_default(),
                    ),
                };
                self.overlay = Some(Overlay::FilterInput {
                    target,
                    input: previous.clone(),
                    previous,
                });
            }
            _ => match self.tab {
                Tab::Fleet => self.apply_fleet(action),
                Tab::Host => self.apply_host(action),
            },
        }
    }

    fn show_host_tab(&mut self) {
        match (&self.host_view, self.fleet.selected) {
            (Some(_), _) => self.tab = Tab::Host,
            (None, Some(h)) => self.open_host(h),
            (None, None) => self.notify(NoticeLevel::Info, "no host to show"),
        }
    }

    fn move_selection(&mut self, delta: isize) {
        self.prepare();
        let hosts: Vec<usize> = self.fleet.rows.iter().filter_map(FleetRow::host).collect();
        if hosts.is_empty() {
            return;
        }
        let cur = self
            .fleet
            .selected
            .and_then(|s| hosts.iter().position(|&h| h == s))
            .unwrap_or(0) as isize;
        let next = (cur + delta).clamp(0, hosts.len() as isize - 1) as usize;
        self.fleet.selected = Some(hosts[next]);
        self.ensure_visible();
    }

    fn apply_fleet(&mut self, action: Action) {
        let page = self.table_rows().max(1) as isize;
        match action {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-page),
            Action::PageDown => self.move_selection(page),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::Open => {
                if let Some(h) = self.fleet.selected {
                    self.open_host(h);
                }
            }
            Action::Back if !self.fleet.filter.is_empty() => {
                self.set_filter(FilterTarget::Fleet, "");
            }
            Action::SortNext => {
                self.fleet.sort = self.fleet.sort.next();
                self.fleet.reverse = false;
                self.rows_dirty = true;
            }
            Action::SortReverse => {
                self.fleet.reverse = !self.fleet.reverse;
                self.rows_dirty = true;
            }
            Action::GroupByRole => {
                self.fleet.group = !self.fleet.group;
                self.rows_dirty = true;
            }
            _ => {}
        }
        self.prepare();
    }

    fn apply_host(&mut self, action: Action) {
        if action == Action::Back {
            self.tab = Tab::Fleet;
            return;
        }
        let page = ui::log_pane_height(self).max(1) as usize;
        let Some(hv) = &mut self.host_view else {
            return;
        };
        let total = self.hosts[hv.host].log.lines.len();
        let max_scroll = total.saturating_sub(page);
        match action {
            Action::Up => {
                hv.follow = false;
                hv.scroll = (hv.scroll + 1).min(max_scroll);
            }
            Action::Down => hv.scroll = hv.scroll.saturating_sub(1),
            Action::PageUp => {
                hv.follow = false;
                hv.scroll = (hv.scroll + page).min(max_scroll);
            }
            Action::PageDown => hv.scroll = hv.scroll.saturating_sub(page),
            Action::Top => {
                hv.follow = false;
                hv.scroll = max_scroll;
            }
            Action::Bottom => {
                hv.follow = true;
                hv.scroll = 0;
            }
            Action::LogFollow => {
                hv.follow = !hv.follow;
                if hv.follow {
                    hv.scroll = 0;
                }
            }
            _ => {}
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollUp => self.apply(Action::Up),
            MouseEventKind::ScrollDown => self.apply(Action::Down),
            MouseEventKind::Down(MouseButton::Left) => {
                if m.row == ui::TABS_ROW {
                    if m.column < 10 {
                        self.apply(Action::Tab1);
                    } else if m.column < 40 {
                        self.apply(Action::Tab2);
                    }
                    return;
                }
                if self.tab != Tab::Fleet || self.overlay.is_some() {
                    return;
                }
                let first = ui::fleet_first_row_y(self);
                if m.row >= first && m.row < first + ui::fleet_table_height(self) {
                    let idx = self.fleet.offset + usize::from(m.row - first);
                    if let Some(h) = self.fleet.rows.get(idx).and_then(FleetRow::host) {
                        if self.fleet.selected == Some(h) {
                            self.open_host(h);
                        } else {
                            self.fleet.selected = Some(h);
                        }
                        self.dirty = true;
                    }
                }
            }
            _ => {}
        }
    }
}
