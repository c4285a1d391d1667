//! The fleet table: every host of the profile with its figures, sortable,
//! filterable, groupable by role. Only the visible window of rows is built.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::{App, HostSlot};
use crate::console::widgets::bars::{human_age, human_bytes, human_duration};
use crate::console::widgets::sparkline::spark_line;
use crate::console::widgets::table::{self, Cell, Column, Row};
use crate::health::{CheckResult, Status};

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
        match self {
            SortColumn::Status => "status",
            SortColumn::Name => "name",
            SortColumn::Roles => "roles",
            SortColumn::Load => "load",
            SortColumn::Cpu => "cpu",
            SortColumn::Mem => "mem",
            SortColumn::Disk => "disk",
            SortColumn::Net => "net",
            SortColumn::Uptime => "uptime",
            SortColumn::Failed => "failed",
            SortColumn::Http => "http",
            SortColumn::Cert => "cert",
        }
    }

    pub fn from_name(s: &str) -> Option<SortColumn> {
        let s = s.to_ascii_lowercase();
        SortColumn::ALL.iter().copied().find(|c| c.name() == s)
    }

    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|&c| c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }

    /// The table column this sort key marks.
    fn column(self) -> usize {
        match self {
            SortColumn::Status => 0,
            SortColumn::Name => 1,
            SortColumn::Roles => 2,
            SortColumn::Load => 3,
            SortColumn::Cpu => 4,
            SortColumn::Mem => 5,
            SortColumn::Disk => 6,
            SortColumn::Net => 7,
            SortColumn::Uptime => 8,
            SortColumn::Failed => 9,
            SortColumn::Http => 10,
            SortColumn::Cert => 11,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetRow {
    Group { role: String, count: usize },
    Host(usize),
}

impl FleetRow {
    pub fn host(&self) -> Option<usize> {
        match self {
            FleetRow::Host(h) => Some(*h),
            FleetRow::Group { .. } => None,
        }
    }
}

/// The host part of a URL (`https://user@host:port/path` -> `host`).
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// HTTP checks aimed at this host: by the URL's host (name or address), or by the
/// check's `resolve = "ip:port"` override.
pub fn checks_for<'a>(app: &'a App, slot: &'a HostSlot) -> impl Iterator<Item = &'a CheckResult> {
    let is_this =
        |h: &str| h.eq_ignore_ascii_case(&slot.name) || h.eq_ignore_ascii_case(&slot.address);
    app.checks.iter().filter(move |c| {
        let resolved = app
            .check_resolve
            .iter()
            .find(|(name, _)| *name == c.name)
            .map(|(_, addr)| url_host(addr));
        is_this(url_host(&c.url)) || resolved.is_some_and(is_this)
    })
}

fn http_latency(app: &App, slot: &HostSlot) -> Option<f64> {
    checks_for(app, slot)
        .filter_map(|c| c.latency_ms)
        .reduce(f64::max)
}

fn cert_days(app: &App, slot: &HostSlot) -> Option<f64> {
    checks_for(app, slot)
        .filter_map(|c| c.cert_days_left)
        .reduce(f64::min)
}

fn status_rank(s: &HostSlot) -> u8 {
    match s.status() {
        None => 0,
        Some(Status::Up) => 1,
        Some(Status::Warn) => 2,
        Some(Status::Critical) => 3,
        Some(Status::Unreachable) => 4,
    }
}

/// A numeric sort key, `None` when the host has no such figure. Larger sorts first
/// unless the column's natural order is ascending.
fn numeric(app: &App, s: &HostSlot, col: SortColumn) -> Option<f64> {
    let h = s
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
        SortColumn::Http => http_latency(app, s),
        SortColumn::Cert => cert_days(app, s),
        _ => None,
    }
}

fn compare(app: &App, a: usize, b: usize) -> Ordering {
    let (sa, sb) = (&app.hosts[a], &app.hosts[b]);
    let col = app.fleet.sort;
    let rev = app.fleet.reverse;
    let by_name = || sa.name.cmp(&sb.name).then(a.cmp(&b));
    let flip = |o: Ordering| if rev { o.reverse() } else { o };
    let primary = match col {
        SortColumn::Status => flip(status_rank(sb).cmp(&status_rank(sa))),
        SortColumn::Name => flip(sa.name.cmp(&sb.name)),
        SortColumn::Roles => flip(sa.roles.join(",").cmp(&sb.roles.join(","))),
        _ => {
            // Uptime and certificate days read best ascending (recent reboots and
            // soonest expiries first); the other figures worst-first.
            let ascending = matches!(col, SortColumn::Uptime | SortColumn::Cert);
            match (numeric(app, sa, col), numeric(app, sb, col)) {
                (Some(x), Some(y)) => {
                    let o = x.total_cmp(&y);
                    flip(if ascending { o } else { o.reverse() })
                }
                // Hosts without the figure go last in either direction.
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
    };
    primary.then_with(by_name)
}

fn group_of(s: &HostSlot) -> &str {
    s.roles.first().map_or("(no role)", String::as_str)
}

/// The fleet's rows in display order: filtered, sorted, optionally grouped by the
/// host's first role.
pub fn build_rows(app: &App) -> Vec<FleetRow> {
    let filter = &app.fleet.filter;
    let mut idx: Vec<usize> = (0..app.hosts.len())
        .filter(|&i| {
            let s = &app.hosts[i];
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
        })
        .collect();
    idx.sort_by(|&a, &b| compare(app, a, b));
    if !app.fleet.group {
        return idx.into_iter().map(FleetRow::Host).collect();
    }
    idx.sort_by(|&a, &b| group_of(&app.hosts[a]).cmp(group_of(&app.hosts[b])));
    let mut rows = Vec::with_capacity(idx.len() + 8);
    let mut i = 0;
    while i < idx.len() {
        let role = group_of(&app.hosts[idx[i]]).to_string();
        let end = idx[i..]
            .iter()
            .position(|&h| group_of(&app.hosts[h]) != role)
            .map_or(idx.len(), |p| i + p);
        rows.push(FleetRow::Group {
            role,
            count: end - i,
        });
        rows.extend(idx[i..end].iter().map(|&h| FleetRow::Host(h)));
        i = end;
    }
    rows
}

const SPARK_WIDTH: u16 = 16;

fn columns(app: &App) -> Vec<Column> {
    let name_w = app
        .hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24) as u16;
    let c = |title: &str, width: u16, right: bool, priority: u8| Column {
        title: title.to_string(),
        width,
        right,
        priority,
    };
    let mut cols = vec![
        c("", 1, false, 0),
        c("HOST", name_w, false, 0),
        c("ROLES", 12, false, 3),
        c("LOAD/CORE 1 5 15", 16, false, 2),
        c("CPU", 5, true, 0),
        c("MEM", 5, true, 0),
        c("DISK", 5, true, 1),
        c("NET IN/OUT", 11, true, 3),
        c("UPTIME", 6, true, 4),
        c("FAILED", 12, false, 2),
        c("HTTP", 6, true, 4),
        c("CERT", 5, true, 5),
        c("CPU HISTORY", SPARK_WIDTH, false, 5),
    ];
    let marker = if app.fleet.reverse { "▲" } else { "▼" };
    let sorted = app.fleet.sort.column();
    cols[sorted].title = format!("{}{marker}", cols[sorted].title);
    cols
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
        let err = h.error.as_deref().unwrap_or("unreachable");
        cells.push(
            Cell::new(Line::from(vec![
                Span::styled(format!("unreachable: {err}"), t.status(Status::Unreachable)),
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
    let checks: Vec<&CheckResult> = checks_for(app, slot).collect();
    let worst_check = checks.iter().map(|c| c.status).max();
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
    Row::Cells {
        cells,
        style: Style::default(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
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
    let rows_h = area.height.saturating_sub(1) as usize;
    let total = app.fleet.rows.len();
    // Keep the selection visible even if the stored offset is stale (pure: no write-back).
    let mut offset = app.fleet.offset.min(total.saturating_sub(rows_h));
    let selected = app.selected_row();
    if let Some(sel) = selected {
        if sel < offset {
            offset = sel;
        } else if rows_h > 0 && sel >= offset + rows_h {
            offset = sel + 1 - rows_h;
        }
    }
    let end = (offset + rows_h).min(total);
    let rows: Vec<Row> = app.fleet.rows[offset..end]
        .iter()
        .map(|r| match r {
            FleetRow::Host(i) => host_row(app, &app.hosts[*i]),
            FleetRow::Group { role, count } => Row::Full(Line::from(Span::styled(
                format!("── {role} ({count}) ──"),
                t.accent,
            ))),
        })
        .collect();
    if total == 0 {
        table::render(
            f.buffer_mut(),
            area,
            &columns(app),
            t.header,
            &[],
            None,
            t.selection,
        );
        let y = area.y + 1;
        if y < area.bottom() {
            let msg = format!(
                "no host matches the filter `{}` (Esc clears it)",
                app.fleet.filter.text
            );
            f.render_widget(
                Paragraph::new(Span::styled(msg, t.muted)),
                Rect::new(area.x, y, area.width, 1),
            );
        }
        return;
    }
    table::render(
        f.buffer_mut(),
        area,
        &columns(app),
        t.header,
        &rows,
        selected.map(|s| s - offset),
        t.selection,
    );
}

/// One line summary for the tab bar: counts per status, filter, sort.
pub fn summary(app: &App) -> String {
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
    if !app.fleet.filter.is_empty() {
        let shown = app.fleet.rows.iter().filter(|r| r.host().is_some()).count();
        parts.push(format!("filter `{}`: {shown} shown", app.fleet.filter.text));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://web1.example.com:8443/health"),
            "web1.example.com"
        );
        assert_eq!(url_host("http://u:p@10.0.0.2/x"), "10.0.0.2");
        assert_eq!(url_host("https://[::1]:443/"), "::1");
        assert_eq!(url_host("web1"), "web1");
        assert_eq!(url_host("10.0.0.5:443"), "10.0.0.5");
    }

    #[test]
    fn sort_columns_cycle_through_all() {
        let mut c = SortColumn::Status;
        for _ in 0..SortColumn::ALL.len() {
            c = c.next();
        }
        assert_eq!(c, SortColumn::Status);
    }
}
