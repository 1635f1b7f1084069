//! A [`Timeline`] drawn as an SVG: one row per worker, one slice per poll (coloured by task),
//! parks in grey, non-blocking driver turns in blue, steals as red ticks; hovering a slice shows
//! what it was. Shared by the study's `--timeline` and `examples/timeline.rs` (the README's
//! picture).
#![allow(dead_code)]

use filch::{Timeline, TimelineEvent};
use std::fmt::Write as _;
use std::time::Duration;

/// The timeline drawn as an SVG, at most the first `window` of it (all of it if `None`).
pub(crate) fn svg(timeline: &Timeline, title: &str, window: Option<Duration>) -> String {
    const WIDTH: f64 = 1200.0;
    const LEFT: f64 = 80.0;
    const ROW: f64 = 36.0;
    const TOP: f64 = 40.0;
    let first = timeline
        .events
        .iter()
        .map(TimelineEvent::start)
        .min()
        .unwrap_or_default();
    let last = timeline
        .events
        .iter()
        .map(|e| e.start() + e.duration())
        .max()
        .unwrap_or_default();
    let end = window.map_or(last, |w| last.min(first + w));
    let span = (end - first).as_secs_f64().max(1e-9);
    let x =
        |t: Duration| LEFT + (t.saturating_sub(first)).as_secs_f64() / span * (WIDTH - LEFT - 10.0);
    let height = TOP + ROW * timeline.workers as f64 + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14">{}: {:.3} ms of {:.3} ms; polls coloured by task, parks grey, driver turns blue, steals red</text>"#,
        escape(title),
        span * 1e3,
        (last - first).as_secs_f64() * 1e3
    );
    for worker in 0..timeline.workers {
        let y = TOP + ROW * worker as f64;
        let _ = write!(
            s,
            r##"<text x="10" y="{}">worker {worker}</text><line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>"##,
            y + ROW / 2.0 + 4.0,
            WIDTH - 10.0,
            y + ROW - 2.0,
            y + ROW - 2.0
        );
    }
    for event in &timeline.events {
        if event.start() > end {
            continue;
        }
        // Clipped at the window's end.
        let event = &clip(event, end);
        let y = TOP + ROW * event.worker() as f64;
        let x0 = x(event.start());
        let w = (x(event.start() + event.duration()) - x0).max(0.5);
        let rect = |s: &mut String, fill: &str, top: f64, h: f64, title: String| {
            let _ = write!(
                s,
                r#"<rect x="{x0:.2}" y="{:.1}" width="{w:.2}" height="{h:.1}" fill="{fill}"><title>{}</title></rect>"#,
                y + top,
                escape(&title)
            );
        };
        match event {
            TimelineEvent::Poll {
                task,
                name,
                duration,
                ..
            } => {
                let hue = (task.as_u64().wrapping_mul(2_654_435_761) % 360) as u32;
                let label = match name {
                    Some(name) => format!("task {task} {name}: {duration:?}"),
                    None => format!("task {task}: {duration:?}"),
                };
                rect(
                    &mut s,
                    &format!("hsl({hue},65%,55%)"),
                    4.0,
                    ROW - 8.0,
                    label,
                );
            }
            TimelineEvent::Park {
                duration,
                in_driver,
                ..
            } => {
                let label = format!(
                    "parked{}: {duration:?}",
                    if *in_driver { " in the driver" } else { "" }
                );
                rect(&mut s, "#ccc", 14.0, ROW - 28.0, label);
            }
            TimelineEvent::DriverTurn { duration, .. } => {
                rect(
                    &mut s,
                    "#36c",
                    2.0,
                    4.0,
                    format!("driver turn: {duration:?}"),
                );
            }
            TimelineEvent::Steal { from, tasks, .. } => {
                let _ = write!(
                    s,
                    r#"<line x1="{x0:.2}" x2="{x0:.2}" y1="{:.1}" y2="{:.1}" stroke="red"><title>stole {tasks} from worker {from}</title></line>"#,
                    y,
                    y + ROW - 2.0
                );
            }
            _ => {}
        }
    }
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="{}">0</text><text x="{}" y="{}" text-anchor="end">{:.3} ms</text></svg>"#,
        height - 10.0,
        WIDTH - 10.0,
        height - 10.0,
        span * 1e3
    );
    s
}

/// `event`, ending at `end` at the latest.
fn clip(event: &TimelineEvent, end: Duration) -> TimelineEvent {
    let mut event = event.clone();
    let limit = end.saturating_sub(event.start());
    match &mut event {
        TimelineEvent::Poll { duration, .. }
        | TimelineEvent::Park { duration, .. }
        | TimelineEvent::DriverTurn { duration, .. } => *duration = (*duration).min(limit),
        _ => {}
    }
    event
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
