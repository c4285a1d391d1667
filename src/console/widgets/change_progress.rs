//! A change's progress as the Deploy and Scale tabs draw it: its title and
//! state, the watch's measurements, the steps around the one running (or the
//! first failure) with their times, and the last lines it said.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::App;
use crate::console::change_flow::{Progress, StepRow};
use crate::console::event::StepView;
use crate::console::widgets::pane;
use crate::console::widgets::sparkline::spark_line;
use crate::console::widgets::table::one_line;
use crate::health::Status;

fn step_mark(s: &StepRow) -> (&'static str, Option<Status>) {
    match &s.state {
        None => ("·", None),
        Some(StepView::Running) => ("▶", Some(Status::Warn)),
        Some(StepView::Done) => ("✓", Some(Status::Up)),
        Some(StepView::Failed(_)) => ("✗", Some(Status::Critical)),
    }
}

/// The pane of a change: its title, running for how long or how it ended
/// (Esc closes it then), and the outcome's line first. Returns the inside and
/// the lines so far, for the caller to add its own.
pub fn framed<'a>(f: &mut Frame, area: Rect, app: &App, p: &Progress) -> (Rect, Vec<Line<'a>>) {
    let t = &app.theme;
    let (state, status) = match &p.outcome {
        None => (
            format!("running {}s", (app.now - p.started).max(0)),
            Status::Warn,
        ),
        Some((true, _)) => ("done".to_string(), Status::Up),
        Some((false, _)) => ("FAILED".to_string(), Status::Critical),
    };
    let mut title = vec![
        Span::styled(format!(" {} ", p.title), t.header),
        Span::styled(format!("· {state} "), t.status(status)),
    ];
    if p.outcome.is_some() {
        title.push(Span::styled("· Esc closes ", t.muted));
    }
    let block = pane::block(t, title, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if let Some((ok, detail)) = &p.outcome {
        let st = if *ok { Status::Up } else { Status::Critical };
        lines.push(Line::from(Span::styled(
            one_line(detail, 2000),
            t.status(st),
        )));
    }
    (inner, lines)
}

/// The steps of a change as it runs and how it ended.
pub fn draw_progress(f: &mut Frame, area: Rect, app: &App, p: &Progress) {
    let t = &app.theme;
    let (inner, mut lines) = framed(f, area, app, p);
    // The watch as it goes: one sparkline per measurement, newest right.
    let spark_width = (inner.width as usize).saturating_sub(40).clamp(8, 80);
    for (series, values) in &p.samples {
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let last = values.last().copied().unwrap_or(0.0);
        let points: Vec<Option<f64>> = values.iter().map(|v| Some(*v)).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("watch {series:<9} "), t.muted),
            Span::styled(spark_line(&points, spark_width, max), t.accent),
            Span::styled(format!("  now {last:.0}, max {max:.0}"), t.muted),
        ]));
    }
    // The steps around the one running (or the first failure), so the eye
    // lands on where the change is.
    let focus = p
        .steps
        .iter()
        .position(|s| matches!(s.state, Some(StepView::Running) | Some(StepView::Failed(_))))
        .or_else(|| p.steps.iter().rposition(|s| s.state.is_some()))
        .unwrap_or(0);
    let said_rows = if p.said.is_empty() {
        0
    } else {
        p.said.len().min(3) + 1
    };
    let room = (inner.height as usize)
        .saturating_sub(lines.len() + said_rows)
        .max(3);
    let first = focus
        .saturating_sub(room / 2)
        .min(p.steps.len().saturating_sub(room));
    for (i, s) in p.steps.iter().enumerate().skip(first).take(room) {
        let (mark, st) = step_mark(s);
        let took = match (s.started, s.ended) {
            (Some(a), Some(b)) => format!(" ({}s)", (b - a).max(0)),
            (Some(a), None) => format!(" ({}s…)", (app.now - a).max(0)),
            _ => String::new(),
        };
        let mut spans = vec![
            Span::styled(format!("{mark} "), st.map_or(t.muted, |st| t.status(st))),
            Span::styled(
                format!("{:>2}. {}", i + 1, s.text),
                if s.state.is_some() { t.text } else { t.muted },
            ),
            Span::styled(took, t.muted),
        ];
        if let Some(StepView::Failed(why)) = &s.state {
            spans.push(Span::styled(
                format!("  {}", one_line(why, 300)),
                t.status(Status::Critical),
            ));
        }
        lines.push(Line::from(spans));
    }
    let said_room = (inner.height as usize).saturating_sub(lines.len());
    if said_room > 1 && !p.said.is_empty() {
        lines.push(Line::from(Span::styled("─ said:", t.muted)));
        let n = said_room - 1;
        for l in p.said.iter().skip(p.said.len().saturating_sub(n)) {
            lines.push(Line::from(Span::styled(one_line(l, 400), t.muted)));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
