//! One host: charts over the retention window, disks, watched units, top
//! processes and a log pane.

use std::any::Any;
use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

use crate::config::Profile;
use crate::console::action::{Action, Context, Hint, KeySpec, nav_with};
use crate::console::app::{App, HostSlot, NoticeLevel};
use crate::console::event::Event;
use crate::console::feed::Need;
use crate::console::filter::Filter;
use crate::console::keymap::KeyChord;
use crate::console::view::{
    ArgKind, CommandError, CommandSpec, Cx, Handled, Request, Subject, View, ViewSpec,
};
use crate::console::views::{fleet, scale};
use crate::console::widgets::bars::{human_age, human_bytes, human_duration, usage_bar};
use crate::console::widgets::table::{self, Cell, Column, Row};
use crate::health::{HostHealth, Series, Status};

pub const CONTEXT: Context = Context::new("host");

/// Lines kept in the log pane.
pub const LOG_CAP: usize = 2000;

const LOG_FOLLOW: Action = Action::new("log_follow");

const NAV: [KeySpec; 7] = nav_with(
    "scroll log up",
    "scroll log down",
    "oldest log line",
    "newest line, follow",
    "search log (! negates)",
);
const OWN_KEYS: &[KeySpec] = &[KeySpec::new(
    LOG_FOLLOW,
    &[KeyChord::ch('p')],
    "follow/pause log",
    "follow",
)];

pub const SPEC: ViewSpec = ViewSpec {
    context: CONTEXT,
    title: "Host",
    keys: &[&NAV, OWN_KEYS, scale::HOST_KEYS],
    hints: &[
        Hint::new(&[Action::DOWN, Action::UP], "scroll"),
        Hint::new(&[LOG_FOLLOW], "follow"),
        Hint::new(&[scale::SCALE_UP, scale::SCALE_DOWN], "scale"),
        Hint::new(&[Action::FILTER], "search"),
        Hint::new(&[Action::BACK], "back"),
    ],
    commands: &[CommandSpec::new("host", "open a host")
        .with_arg("NAME", ArgKind::Host)
        .in_footer(1)],
};

pub fn build(_profile: &Profile) -> Box<dyn View> {
    Box::new(HostView::default())
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

    /// Appends the first batch of a restarted tail: its backlog repeats the lines
    /// this buffer already ends with, which are skipped. Returns how many were new.
    pub fn resume(&mut self, batch: &[String]) -> usize {
        let have = self.lines.len();
        let overlap = (1..=batch.len().min(have))
            .rev()
            .find(|&n| self.lines.iter().skip(have - n).eq(batch[..n].iter()))
            .unwrap_or(0);
        for l in &batch[overlap..] {
            self.push(l.clone());
        }
        batch.len() - overlap
    }
}

/// The host on screen and how its log pane is scrolled.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenHost {
    pub host: usize,
    pub follow: bool,
    /// Lines between the newest line and the bottom of the pane (0 when following).
    pub scroll: usize,
    pub search: Filter,
    /// The tail was (re)started: its first batch may repeat what the buffer has.
    resuming: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostView {
    pub open: Option<OpenHost>,
    /// Log lines per host, kept when another host is opened.
    pub logs: std::collections::HashMap<usize, LogBuffer>,
}

impl HostView {
    fn open_host(&mut self, host: usize) {
        if self.open.as_ref().is_some_and(|o| o.host == host) {
            return;
        }
        self.open = Some(OpenHost {
            host,
            follow: true,
            scroll: 0,
            search: Filter::default(),
            resuming: self.logs.get(&host).is_some_and(|l| !l.lines.is_empty()),
        });
    }

    fn is_open(&self, host: usize) -> bool {
        self.open.as_ref().is_some_and(|o| o.host == host)
    }

    /// The log of the open host.
    pub fn log(&self) -> Option<&LogBuffer> {
        self.open.as_ref().and_then(|o| self.logs.get(&o.host))
    }
}

impl View for HostView {
    fn spec(&self) -> &'static ViewSpec {
        &SPEC
    }

    fn title(&self, app: &App) -> String {
        match &self.open {
            Some(o) => format!("Host: {}", app.hosts[o.host].name),
            None => "Host".to_string(),
        }
    }

    fn open(&mut self, subject: &Subject, cx: &mut Cx<'_>) -> bool {
        match subject {
            Subject::Host(h) if *h < cx.app.hosts.len() => self.open_host(*h),
            Subject::Host(_) | Subject::HostChange { .. } => return false,
            Subject::Current => {
                if self.open.is_none() {
                    match cx.app.selected_host {
                        Some(h) => self.open_host(h),
                        None => {
                            cx.notify(NoticeLevel::Info, "no host to show");
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    fn command(&mut self, name: &str, arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        if name != "host" {
            return Err(CommandError::unknown(&SPEC, name));
        }
        let hosts = &cx.app.hosts;
        let found = hosts.iter().position(|h| h.name == arg).or_else(|| {
            let lower = arg.to_lowercase();
            hosts.iter().position(|h| h.name.to_lowercase() == lower)
        });
        match found {
            Some(i) => {
                cx.app.selected_host = Some(i);
                cx.request(Request::Open {
                    view: CONTEXT,
                    subject: Subject::Host(i),
                });
                Ok(())
            }
            None => Err(CommandError(format!("no host `{arg}` in this profile"))),
        }
    }

    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled {
        if action == Action::BACK {
            cx.request(Request::Open {
                view: fleet::CONTEXT,
                subject: Subject::Current,
            });
            return Handled::Yes;
        }
        let page = log_text_height(cx.body.height).max(1) as usize;
        let Some(o) = &mut self.open else {
            return Handled::No;
        };
        if let Some(change) = scale::host_change(action) {
            scale::request_host_change(o.host, change, cx);
            return Handled::Yes;
        }
        let total = self.logs.get(&o.host).map_or(0, |l| l.lines.len());
        let max_scroll = total.saturating_sub(page);
        match action {
            Action::UP => {
                o.follow = false;
                o.scroll = (o.scroll + 1).min(max_scroll);
            }
            Action::DOWN => o.scroll = o.scroll.saturating_sub(1),
            Action::PAGE_UP => {
                o.follow = false;
                o.scroll = (o.scroll + page).min(max_scroll);
            }
            Action::PAGE_DOWN => o.scroll = o.scroll.saturating_sub(page),
            Action::TOP => {
                o.follow = false;
                o.scroll = max_scroll;
            }
            Action::BOTTOM => {
                o.follow = true;
                o.scroll = 0;
            }
            LOG_FOLLOW => {
                o.follow = !o.follow;
                if o.follow {
                    o.scroll = 0;
                }
            }
            _ => return Handled::No,
        }
        Handled::Yes
    }

    fn on_event(&mut self, event: &Event, cx: &mut Cx<'_>) {
        match event {
            Event::LogLines { host, lines } => {
                let log = self.logs.entry(*host).or_default();
                let open = self.open.as_mut().filter(|o| o.host == *host);
                let added = match open {
                    Some(o) if o.resuming => {
                        o.resuming = false;
                        log.resume(lines)
                    }
                    _ => {
                        for l in lines {
                            log.push(l.clone());
                        }
                        lines.len()
                    }
                };
                log.ended = None;
                if let Some(o) = self.open.as_mut().filter(|o| o.host == *host) {
                    if !o.follow {
                        o.scroll = (o.scroll + added).min(log.lines.len());
                    }
                    cx.app.data_dirty = true;
                }
            }
            Event::LogEnded { host, reason }
            | Event::FeedFailed {
                need: Need::LogTail { host, .. },
                reason,
            } => {
                self.logs.entry(*host).or_default().ended = Some(reason.clone());
                if self.is_open(*host) {
                    cx.app.dirty = true;
                }
            }
            _ => {}
        }
    }

    fn needs(&self, app: &App, shown: bool) -> Vec<Need> {
        let Some(o) = &self.open else {
            return Vec::new();
        };
        let mut needs = Vec::new();
        // The tail keeps running behind other tabs, so coming back shows no gap.
        if let Some(target) = app.hosts.get(o.host).and_then(|h| h.log_target.clone()) {
            needs.push(Need::LogTail {
                host: o.host,
                target,
            });
        }
        if shown {
            needs.push(Need::Processes { host: o.host });
        }
        needs
    }

    fn filter(&self) -> Option<&str> {
        Some(self.open.as_ref().map_or("", |o| o.search.text.as_str()))
    }

    fn set_filter(&mut self, text: &str, _cx: &mut Cx<'_>) {
        if let Some(o) = &mut self.open {
            o.search = Filter::new(text);
            o.scroll = 0;
        }
    }

    fn filter_prompt(&self) -> &'static str {
        "search log"
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

/// Rows of the charts band and the middle band for a body of `height` rows.
pub fn band_heights(height: u16) -> (u16, u16) {
    if height >= 40 {
        (9, 12)
    } else if height >= 28 {
        (7, 9)
    } else {
        (5, 7)
    }
}

/// Height of the log pane's text (inside its border) for a body of `height` rows.
pub fn log_text_height(height: u16) -> u16 {
    let (charts, middle) = band_heights(height);
    height.saturating_sub(2 + charts + middle + 2)
}

fn draw(f: &mut Frame, area: Rect, app: &App, view: &HostView) {
    let t = &app.theme;
    let Some(hv) = &view.open else {
        f.render_widget(
            Paragraph::new(Span::styled(
                "No host open. Select one in the fleet (1) and press Enter, or :host NAME.",
                t.muted,
            )),
            area,
        );
        return;
    };
    let slot = &app.hosts[hv.host];
    let (charts_h, middle_h) = band_heights(area.height);
    let [head, charts, middle, log] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(charts_h),
        Constraint::Length(middle_h),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_header(f, head, app, slot);
    let health = slot
        .health
        .as_ref()
        .filter(|h| h.status != Status::Unreachable);
    draw_charts(f, charts, app, slot, health);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(middle);
    draw_disks_and_units(f, left, app, slot);
    draw_top(f, right, app, slot);
    let empty = LogBuffer::default();
    let buffer = view.logs.get(&hv.host).unwrap_or(&empty);
    draw_log(f, log, app, slot, hv, buffer);
}

fn draw_header(f: &mut Frame, area: Rect, app: &App, slot: &HostSlot) {
    let t = &app.theme;
    let (sym, style, word) = match slot.status() {
        Some(s) => (s.symbol(), t.status(s), s.as_str()),
        None => ("·", t.muted, "waiting"),
    };
    let mut first = vec![
        Span::styled(format!("{sym} {word} "), style),
        Span::styled(slot.name.clone(), t.header),
        Span::styled(format!("  {}", slot.address), t.muted),
    ];
    if !slot.roles.is_empty() {
        first.push(Span::styled(
            format!("  roles {}", slot.roles.join(", ")),
            t.text,
        ));
    }
    let mut second = Vec::new();
    match &slot.health {
        None => second.push(Span::styled("waiting for the first probe…", t.muted)),
        Some(h) => {
            if h.error.is_some() {
                second.push(fleet::unreachable_span(app, h));
                if let Some(seen) = h.last_seen {
                    second.push(Span::styled(
                        format!("  (last seen {} ago)", human_age(app.now - seen)),
                        t.muted,
                    ));
                }
            } else {
                let mut facts = Vec::new();
                if let Some(up) = h.uptime_secs {
                    facts.push(format!("up {}", human_duration(up)));
                }
                if let Some(c) = h.cores {
                    facts.push(format!("{c} cores"));
                }
                if let Some(p) = h.procs {
                    facts.push(format!("{p} procs"));
                }
                if let Some(ms) = h.probe_ms {
                    facts.push(format!("probe {ms:.0}ms"));
                }
                if let Some(at) = slot.updated_at {
                    facts.push(format!("updated {} ago", human_age(app.now - at)));
                }
                if !h.reasons.is_empty() {
                    second.push(Span::styled(h.reasons.join(" · "), t.status(h.status)));
                    second.push(Span::raw("  "));
                }
                second.push(Span::styled(facts.join(" · "), t.muted));
            }
        }
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn chart(f: &mut Frame, area: Rect, app: &App, title: String, series: &Series, max: Option<f64>) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(title, t.header));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if series.iter().all(Option::is_none) {
        f.render_widget(Paragraph::new(Span::styled("no data", t.muted)), inner);
        return;
    }
    let w = inner.width as usize;
    let top = max
        .unwrap_or_else(|| series.max_value().unwrap_or(1.0))
        .max(f64::EPSILON);
    // Sparkline bars are integers: scale to 0..=1000 to keep resolution. A poll
    // without a value stays a gap.
    let data: Vec<Option<u64>> = series
        .last_n(w)
        .map(|v| v.map(|v| ((v / top).clamp(0.0, 1.0) * 1000.0).round() as u64))
        .collect();
    f.render_widget(
        Sparkline::default().data(&data).max(1000).style(t.chart),
        inner,
    );
}

fn draw_charts(f: &mut Frame, area: Rect, app: &App, slot: &HostSlot, h: Option<&HostHealth>) {
    let window = human_duration(app.retention_secs);
    let cols = Layout::horizontal([Constraint::Ratio(1, 4); 4]).split(area);
    let cur = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.0}%"));
    let s = &slot.series;
    chart(
        f,
        cols[0],
        app,
        format!(" CPU {} ({window}) ", cur(h.and_then(|h| h.cpu_pct))),
        &s.cpu_pct,
        Some(100.0),
    );
    chart(
        f,
        cols[1],
        app,
        format!(" MEM {} ", cur(h.and_then(|h| h.mem_used_pct))),
        &s.mem_pct,
        Some(100.0),
    );
    let wide = cols[2].width >= 26;
    let load = h
        .and_then(|h| {
            if wide {
                Some(format!("{:.2} {:.2} {:.2}", h.load1?, h.load5?, h.load15?))
            } else {
                Some(format!("{:.2}", h.load1?))
            }
        })
        .unwrap_or_else(|| "-".into());
    chart(f, cols[2], app, format!(" LOAD {load} "), &s.load1, None);
    let net = h
        .and_then(|h| {
            Some(format!(
                "↓{} ↑{}",
                human_bytes(h.net_rx_bps?),
                human_bytes(h.net_tx_bps?)
            ))
        })
        .unwrap_or_else(|| "-".into());
    let [rx, tx] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(cols[3]);
    let top = s
        .net_rx_bps
        .max_value()
        .unwrap_or(0.0)
        .max(s.net_tx_bps.max_value().unwrap_or(0.0));
    chart(f, rx, app, format!(" NET {net} "), &s.net_rx_bps, Some(top));
    chart(f, tx, app, " out ".to_string(), &s.net_tx_bps, Some(top));
}

fn draw_disks_and_units(f: &mut Frame, area: Rect, app: &App, slot: &HostSlot) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Disks · Units ", t.header));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines = Vec::new();
    let h = slot.health.as_ref();
    let disks = h.map(|h| h.disks.as_slice()).unwrap_or(&[]);
    let mount_w = disks
        .iter()
        .map(|d| d.mount.chars().count())
        .max()
        .unwrap_or(1)
        .min(14);
    let bar_w = (inner.width as usize)
        .saturating_sub(mount_w + 18)
        .clamp(4, 30);
    for d in disks {
        let style = if d.status == Status::Up {
            t.chart
        } else {
            t.status(d.status)
        };
        let mount: String = d.mount.chars().take(mount_w).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{mount:<mount_w$} "), t.text),
            Span::styled(usage_bar(d.used_pct, bar_w), style),
            Span::styled(
                format!(" {:>3.0}% {}", d.used_pct, human_bytes(d.size_bytes as f64)),
                t.text,
            ),
        ]));
    }
    if disks.is_empty() {
        lines.push(Line::from(Span::styled("no disk figures", t.muted)));
    }
    let reported = h.map(|h| h.services.as_slice()).unwrap_or(&[]);
    let mut names: Vec<&str> = slot.services.iter().map(String::as_str).collect();
    for s in reported {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    for name in names {
        match reported.iter().find(|s| s.name == name) {
            Some(s) => lines.push(Line::from(vec![
                Span::styled(format!("{} ", s.status.symbol()), t.status(s.status)),
                Span::styled(format!("{name} "), t.text),
                Span::styled(format!("{}/{}", s.active, s.sub), t.status(s.status)),
            ])),
            None => lines.push(Line::from(vec![
                Span::styled("· ", t.muted),
                Span::styled(format!("{name} "), t.text),
                Span::styled("unknown", t.muted),
            ])),
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_top(f: &mut Frame, area: Rect, app: &App, slot: &HostSlot) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Top processes ", t.header));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let procs = slot
        .health
        .as_ref()
        .map(|h| h.top.as_slice())
        .unwrap_or(&[]);
    if procs.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("no process figures", t.muted)),
            inner,
        );
        return;
    }
    let c = |title: &str, width: u16, right: bool, priority: u8| Column {
        title: title.into(),
        width,
        right,
        priority,
    };
    let cols = [
        c("PID", 7, true, 0),
        c("USER", 8, false, 2),
        c("CPU%", 5, true, 0),
        c("MEM%", 5, true, 0),
        c("RSS", 5, true, 1),
        c("COMMAND", 12, false, 0),
    ];
    let rows: Vec<Row> = procs
        .iter()
        .take(inner.height.saturating_sub(1) as usize)
        .map(|p| Row::Cells {
            cells: vec![
                Cell::new(p.pid.to_string()),
                Cell::new(p.user.clone()),
                Cell::new(format!("{:.1}", p.cpu_pct)),
                Cell::new(format!("{:.1}", p.mem_pct)),
                Cell::new(human_bytes(p.rss_bytes as f64)),
                Cell::new(p.command.clone()).spanning(1),
            ],
            style: t.text,
        })
        .collect();
    table::render(
        f.buffer_mut(),
        inner,
        &cols,
        t.header,
        &rows,
        None,
        Style::default(),
    );
}

fn draw_log(f: &mut Frame, area: Rect, app: &App, slot: &HostSlot, hv: &OpenHost, log: &LogBuffer) {
    let t = &app.theme;
    let mut title = vec![Span::styled(" Log ", t.header)];
    match &slot.log_target {
        Some(target) => title.push(Span::styled(format!("{} ", target.describe()), t.text)),
        None => title.push(Span::styled("(none named) ", t.muted)),
    }
    title.push(if hv.follow {
        Span::styled("· following ", t.status(Status::Up))
    } else {
        Span::styled(
            format!("· paused (+{}) ", hv.scroll),
            t.status(Status::Warn),
        )
    });
    if !hv.search.is_empty() {
        title.push(Span::styled(format!("· /{} ", hv.search.text), t.accent));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if slot.log_target.is_none() {
        f.render_widget(
            Paragraph::new(Span::styled(
                "No log for this host: name one in the profile (logs = [{ unit = \"nginx\" }] or { file = \"/var/log/…\" }).",
                t.muted,
            )),
            inner,
        );
        return;
    }
    let h = inner.height as usize;
    // Walk from the newest line backwards, keeping matches, so only what fits is built.
    let mut shown: Vec<&String> = log
        .lines
        .iter()
        .rev()
        .filter(|l| hv.search.keeps([l.as_str()]))
        .skip(hv.scroll)
        .take(h)
        .collect();
    shown.reverse();
    let mut lines: Vec<Line> = shown
        .into_iter()
        .map(|l| highlight(l, &hv.search, t.text, t.highlight))
        .collect();
    if lines.is_empty() {
        let msg = match (&log.ended, log.lines.is_empty()) {
            (Some(why), _) => format!("log tail stopped: {why}"),
            (None, true) => "waiting for log lines…".to_string(),
            (None, false) => "no line matches the search".to_string(),
        };
        lines.push(Line::from(Span::styled(msg, t.muted)));
    } else if let Some(why) = &log.ended {
        if lines.len() == h {
            lines.remove(0);
        }
        lines.push(Line::from(Span::styled(
            format!("— log tail stopped: {why}"),
            t.muted,
        )));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn highlight<'a>(
    line: &'a str,
    search: &crate::console::filter::Filter,
    text: Style,
    hi: Style,
) -> Line<'a> {
    let ranges = search.matches_in(line);
    if ranges.is_empty() {
        return Line::from(Span::styled(line, text));
    }
    let mut spans = Vec::new();
    let mut at = 0;
    for (s, e) in ranges {
        if s > at {
            spans.push(Span::styled(&line[at..s], text));
        }
        spans.push(Span::styled(&line[s..e], hi));
        at = e;
    }
    if at < line.len() {
        spans.push(Span::styled(&line[at..], text));
    }
    Line::from(spans)
}
