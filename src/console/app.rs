//! The console's shared state and the one place it changes: [`App::update`].
//! `App` holds only what views share (profile, hosts, theme, keymap, notices,
//! overlay, the frozen flag) and the list of views; each view owns its own state.
//! Nothing here does IO: what must be collected is read from the views' needs by
//! the runtime.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::action::{Action, Context};
use super::event::Event;
use super::feed::Need;
use super::keymap::{KeyChord, Keymap};
use super::layout::{self, FrameLayout};
use super::palette::{self, Completions, PaletteState};
use super::registry;
use super::theme::{ColorMode, Theme, ThemeError, ThemeSet};
use super::view::{Cx, Handled, Request, Subject, View};
use super::widgets::confirm::{ConfirmDialog, ConfirmOutcome};
use crate::config::{Environment, Profile, Thresholds};
use crate::health::series::capacity_for;
use crate::health::{CheckResult, HostHealth, HostSeries, Status};

pub use crate::logs::LogTarget;

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
}

impl HostSlot {
    pub fn status(&self) -> Option<Status> {
        self.health.as_ref().map(|h| h.status)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Palette(PaletteState),
    /// The active view's `/` filter being typed.
    FilterInput {
        input: String,
        previous: String,
    },
    Confirm(ConfirmDialog),
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
    pub overlay: Option<Overlay>,
    pub frozen: bool,
    /// Said in the top bar on every tab: a change running, or the deploy lock
    /// held by another change (set by the Deploy and Scale tabs).
    pub change_banner: Option<String>,
    /// A change to production runs from this console (set by the tab that runs
    /// it): quitting interrupts it, so `q` asks to be pressed twice.
    pub change_running: bool,
    /// The tab whose change runs (the banner and `change_running` are its own
    /// until it ends): one change at a time from this console.
    pub change_by: Option<Context>,
    /// The latest `[[scale]]` counts (the Scale tab reads them; the fleet view
    /// shows each host's beside its figures).
    pub scale_counts: Option<std::sync::Arc<Vec<crate::ops::scale::TargetStatus>>>,
    /// `q` was pressed once while a change ran.
    quit_asked: bool,
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
    /// The host under the fleet's cursor: what "the current host" means to views
    /// that act on one.
    pub selected_host: Option<usize>,
    /// The profile's databases, by name.
    pub databases: Vec<String>,
    /// Every view, in tab order (see [`registry`]). Empty while one of them runs.
    pub views: Vec<Box<dyn View>>,
    /// The view on screen (an index into `views`).
    pub active: usize,
    /// The view that asked for the open confirmation dialog.
    confirm_owner: Option<usize>,
    /// Tasks views asked for, for the runtime to start.
    pub tasks: Vec<super::feed::Task>,
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
            check_resolve: crate::health::check_hosts::resolve_overrides(&profile.health.http),
            interval_secs: interval,
            retention_secs: profile.health.retention_secs,
            thresholds: profile.health.thresholds.clone(),
            now,
            width,
            height,
            overlay: None,
            frozen: false,
            change_banner: None,
            change_running: false,
            change_by: None,
            scale_counts: None,
            quit_asked: false,
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
            selected_host: None,
            databases: profile.databases.iter().map(|d| d.name.clone()).collect(),
            views: registry::build_all(profile),
            active: 0,
            confirm_owner: None,
            tasks: Vec::new(),
        };
        app.prepare();
        app
    }

    /// Switches theme by name; an unknown name is reported, not fatal.
    pub fn set_theme(&mut self, name: &str) -> Result<(), ThemeError> {
        match self.themes.get(name, self.color_mode) {
            Some(Ok(t)) => {
                self.theme = t;
                self.dirty = true;
                Ok(())
            }
            Some(Err(e)) => Err(e),
            None => Err(ThemeError::Unknown {
                name: name.to_string(),
                have: self.themes.names().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The keymap context of the view on screen.
    pub fn context(&self) -> Context {
        self.views
            .get(self.active)
            .map_or(Context::GLOBAL, |v| v.spec().context)
    }

    /// The view on screen.
    pub fn active_view(&self) -> Option<&dyn View> {
        self.views.get(self.active).map(|v| v.as_ref())
    }

    /// The registered view of type `V`, if any (tests, benchmarks).
    pub fn view<V: View>(&self) -> Option<&V> {
        self.views
            .iter()
            .find_map(|v| v.as_any().downcast_ref::<V>())
    }

    pub fn view_mut<V: View>(&mut self) -> Option<&mut V> {
        self.views
            .iter_mut()
            .find_map(|v| v.as_any_mut().downcast_mut::<V>())
    }

    fn index_of(&self, ctx: Context) -> Option<usize> {
        self.views.iter().position(|v| v.spec().context == ctx)
    }

    /// The tab labels as drawn.
    pub fn tab_labels(&self) -> Vec<String> {
        self.views
            .iter()
            .enumerate()
            .map(|(i, v)| layout::tab_label(i + 1, &v.title(self)))
            .collect()
    }

    /// Whether the notice / filter line is shown (it takes a row from the body).
    pub fn has_notice_line(&self) -> bool {
        matches!(self.overlay, Some(Overlay::FilterInput { .. })) || self.current_notice().is_some()
    }

    /// Where everything goes on screen now.
    pub fn layout(&self) -> FrameLayout {
        layout::frame(
            Rect::new(0, 0, self.width, self.height),
            &self.tab_labels(),
            self.has_notice_line(),
        )
    }

    /// The active view's area.
    pub fn body(&self) -> Rect {
        self.layout().body
    }

    /// Runs `f` on view `i` with the shared state (views taken out meanwhile),
    /// then carries out what it requested. `None` when there is no view `i`.
    fn with_view<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut dyn View, &mut Cx<'_>) -> R,
    ) -> Option<R> {
        let body = self.body();
        let mut views = std::mem::take(&mut self.views);
        let mut requests = Vec::new();
        let out = match views.get_mut(i) {
            Some(view) => {
                let mut cx = Cx {
                    app: self,
                    body,
                    requests: &mut requests,
                };
                Some(f(view.as_mut(), &mut cx))
            }
            None => None,
        };
        self.views = views;
        self.carry_out(i, requests);
        out
    }

    fn carry_out(&mut self, from: usize, requests: Vec<Request>) {
        for r in requests {
            match r {
                Request::Notify(level, text) => self.notify(level, text),
                Request::Open { view, subject } => match self.index_of(view) {
                    Some(j) => self.show(j, &subject),
                    None => self.notify(
                        NoticeLevel::Info,
                        format!("no {} view in this console", view.as_str()),
                    ),
                },
                Request::Confirm(dialog) => {
                    self.overlay = Some(Overlay::Confirm(dialog));
                    self.confirm_owner = Some(from);
                    self.dirty = true;
                }
                Request::Task(t) => self.tasks.push(t),
                Request::Quit => self.quit = true,
            }
        }
    }

    /// Shows view `i` if it agrees to show `subject`.
    fn show(&mut self, i: usize, subject: &Subject) {
        if self.with_view(i, |v, cx| v.open(subject, cx)) == Some(true) {
            self.active = i;
        }
        self.dirty = true;
    }

    /// Brings derived state (row orders, scroll limits) up to date. The runtime
    /// calls it before drawing, so many updates between two frames sort only once.
    pub fn prepare(&mut self) {
        for i in 0..self.views.len() {
            let body = self.body();
            let mut views = std::mem::take(&mut self.views);
            views[i].prepare(self, body);
            self.views = views;
        }
    }

    /// Everything the views need collected now.
    pub fn needs(&self) -> Vec<Need> {
        let mut out: Vec<Need> = Vec::new();
        for (i, v) in self.views.iter().enumerate() {
            for n in v.needs(self, i == self.active) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
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
                self.dirty = true;
                self.prepare();
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
                    self.data_changed();
                }
            }
            Event::Terminate => self.quit = true,
            other => {
                for i in 0..self.views.len() {
                    self.with_view(i, |v, cx| v.on_event(&other, cx));
                }
            }
        }
    }

    fn data_changed(&mut self) {
        for v in &mut self.views {
            v.data_changed();
        }
        self.data_dirty = true;
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
            match health.error_kind {
                Some(kind) if kind.is_host_key_alarm() => {
                    format!("{} {}: {why}", slot.name, kind.describe().to_uppercase())
                }
                _ => format!("{} {}: {why}", slot.name, after.as_str()),
            }
        });
        slot.health = Some(health);
        slot.updated_at = Some(at);
        if let Some(text) = alert {
            self.notify(NoticeLevel::Alert, text);
        }
        self.data_changed();
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
                ) || KeyChord::from_event(&key)
                    .is_some_and(|k| self.keymap.action(self.context(), k) == Some(Action::HELP));
                if !close {
                    self.overlay = Some(Overlay::Help);
                }
            }
            Some(Overlay::Palette(state)) => self.on_palette_key(state, key),
            Some(Overlay::FilterInput { input, previous }) => {
                self.on_filter_key(input, previous, key);
            }
            Some(Overlay::Confirm(mut dialog)) => match dialog.on_key(key) {
                ConfirmOutcome::Pending => self.overlay = Some(Overlay::Confirm(dialog)),
                ConfirmOutcome::Cancelled => {
                    self.confirm_owner = None;
                    self.notify(NoticeLevel::Info, "cancelled");
                }
                ConfirmOutcome::Confirmed => {
                    let tag = dialog.tag.clone();
                    tracing::info!(%tag, "confirmed");
                    if let Some(owner) = self.confirm_owner.take() {
                        self.with_view(owner, |v, cx| v.confirmed(&tag, cx));
                    }
                }
            },
            None => {
                if let Some(action) =
                    KeyChord::from_event(&key).and_then(|k| self.keymap.action(self.context(), k))
                {
                    self.apply(action);
                }
            }
        }
    }

    /// Opens a confirmation dialog (for changes to production) on behalf of the
    /// view on screen.
    pub fn confirm(&mut self, dialog: ConfirmDialog) {
        self.overlay = Some(Overlay::Confirm(dialog));
        self.confirm_owner = Some(self.active);
        self.dirty = true;
    }

    pub fn completions(&self) -> Completions<'_> {
        Completions {
            hosts: self.hosts.iter().map(|h| h.name.as_str()).collect(),
            themes: self.themes.names().collect(),
            databases: self.databases.iter().map(String::as_str).collect(),
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
                    Err(e) => self.notify(NoticeLevel::Info, e.to_string()),
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

    fn on_filter_key(&mut self, mut input: String, previous: String, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => {
                self.set_filter(&previous);
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
                self.set_filter(&previous);
                return;
            }
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
        self.set_filter(&input);
        self.overlay = Some(Overlay::FilterInput { input, previous });
    }

    fn set_filter(&mut self, text: &str) {
        let active = self.active;
        self.with_view(active, |v, cx| v.set_filter(text, cx));
        self.dirty = true;
    }

    fn run_command(&mut self, cmd: palette::Parsed) {
        match (cmd.owner, cmd.name) {
            (None, "quit") => self.quit = true,
            (None, "help") => self.overlay = Some(Overlay::Help),
            (None, "freeze") => self.toggle_freeze(),
            (None, "theme") => match self.set_theme(&cmd.arg) {
                Ok(()) => self.notify(NoticeLevel::Info, format!("theme {}", cmd.arg)),
                Err(e) => self.notify(NoticeLevel::Info, e.to_string()),
            },
            (None, other) => {
                tracing::warn!(command = other, "palette command without a handler");
            }
            (Some(ctx), name) => {
                let Some(i) = self.index_of(ctx) else {
                    return;
                };
                let declared = self.views[i].spec().commands.iter().any(|c| c.name == name);
                if !declared && name == ctx.as_str() {
                    self.show(i, &Subject::Current);
                    return;
                }
                if let Some(Err(e)) = self.with_view(i, |v, cx| v.command(name, &cmd.arg, cx)) {
                    self.notify(NoticeLevel::Info, e.to_string());
                }
            }
        }
        self.dirty = true;
    }

    /// Applies an action from the keymap or the mouse: the frame's own actions
    /// first, then the view on screen.
    pub fn apply(&mut self, action: Action) {
        self.dirty = true;
        let asked = std::mem::take(&mut self.quit_asked);
        if action == Action::QUIT && self.change_running && !asked {
            self.quit_asked = true;
            self.notify(
                NoticeLevel::Alert,
                "a change is running: q again to interrupt it (every host is put back and the lock released first)",
            );
            return;
        }
        if let Some(n) = action.tab_number() {
            if n <= self.views.len() {
                self.show(n - 1, &Subject::Current);
            }
            return;
        }
        match action {
            Action::QUIT => self.quit = true,
            Action::HELP => self.overlay = Some(Overlay::Help),
            Action::PALETTE => self.overlay = Some(Overlay::Palette(PaletteState::default())),
            Action::FREEZE => self.toggle_freeze(),
            Action::NEXT_TAB | Action::PREV_TAB => {
                let n = self.views.len().max(1);
                let step = if action == Action::NEXT_TAB { 1 } else { n - 1 };
                self.show((self.active + step) % n, &Subject::Current);
            }
            Action::FILTER if self.active_view().and_then(|v| v.filter()).is_some() => {
                let previous = self
                    .active_view()
                    .and_then(|v| v.filter())
                    .unwrap_or_default()
                    .to_string();
                self.overlay = Some(Overlay::FilterInput {
                    input: previous.clone(),
                    previous,
                });
            }
            _ => {
                let active = self.active;
                self.with_view(active, |v, cx| v.handle(action, cx));
            }
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollUp => self.apply(Action::UP),
            MouseEventKind::ScrollDown => self.apply(Action::DOWN),
            MouseEventKind::Down(MouseButton::Left) => {
                let layout = self.layout();
                if let Some(tab) = layout::tab_at(&layout, m.column, m.row) {
                    if let Some(a) = Action::tab(tab + 1) {
                        self.apply(a);
                    }
                    return;
                }
                let body = layout.body;
                let inside = m.row >= body.y
                    && m.row < body.bottom()
                    && m.column >= body.x
                    && m.column < body.right();
                if self.overlay.is_some() || !inside {
                    return;
                }
                let active = self.active;
                let (col, row) = (m.column - body.x, m.row - body.y);
                if self.with_view(active, |v, cx| v.click(col, row, cx)) == Some(Handled::Yes) {
                    self.dirty = true;
                }
            }
            _ => {}
        }
    }
}
