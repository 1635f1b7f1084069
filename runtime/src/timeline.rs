//! A timeline of what each worker did: polls, parks, driver turns and steals, recorded on
//! demand and written as Chrome trace-event JSON (Perfetto and `chrome://tracing` open it).
//!
//! # Design
//!
//! - **Off, it costs one relaxed load per poll** of a flag in the worker's own counters block
//!   (a cache line the poll count already touches) and nothing else.
//! - **On** ([`Handle::start_timeline`](crate::Handle::start_timeline)), each worker appends to
//!   its own ring buffer, behind a mutex only it and the reader take (uncontended but for the
//!   moment of reading): two clock reads and one push per poll, one per park, steal and
//!   non-blocking driver turn. A full ring drops its oldest events, so a long recording keeps
//!   its last `capacity` events per worker. Named tasks' names are looked up once per worker
//!   and recording, before the poll (a task that completes in it loses its name).
//! - [`Handle::stop_timeline`](crate::Handle::stop_timeline) clears the flags and takes the
//!   rings. Times are relative to the start of the recording.
//! - A worker's events never overlap in time except a driver turn inside a park (a worker
//!   parked in the driver turns it): polls, parks and non-blocking turns follow each other on
//!   its thread.

use crate::task::Id;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// One event of a [`Timeline`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TimelineEvent {
    /// A task was polled.
    Poll {
        /// The worker (its index).
        worker: usize,
        /// The task.
        task: Id,
        /// Its name, if it was spawned with one.
        name: Option<Arc<str>>,
        /// When the poll began, from the start of the recording.
        start: Duration,
        /// How long it ran.
        duration: Duration,
    },
    /// The worker slept: in the I/O driver (blocking in it, which turns it) or on its parker.
    Park {
        /// The worker.
        worker: usize,
        /// When it went to sleep.
        start: Duration,
        /// How long it slept.
        duration: Duration,
        /// Whether it slept in the driver (else on its parker).
        in_driver: bool,
    },
    /// A non-blocking turn of the driver (a maintenance tick, or before running yielded tasks).
    DriverTurn {
        /// The worker.
        worker: usize,
        /// When the turn began.
        start: Duration,
        /// How long it took.
        duration: Duration,
    },
    /// The worker stole tasks from another worker's queue.
    Steal {
        /// The thief.
        worker: usize,
        /// The victim.
        from: usize,
        /// Tasks taken (a steal moves a batch).
        tasks: usize,
        /// When.
        at: Duration,
    },
}

impl TimelineEvent {
    /// The worker the event happened on.
    pub fn worker(&self) -> usize {
        match *self {
            TimelineEvent::Poll { worker, .. }
            | TimelineEvent::Park { worker, .. }
            | TimelineEvent::DriverTurn { worker, .. }
            | TimelineEvent::Steal { worker, .. } => worker,
        }
    }

    /// When the event began, from the start of the recording.
    pub fn start(&self) -> Duration {
        match *self {
            TimelineEvent::Poll { start, .. }
            | TimelineEvent::Park { start, .. }
            | TimelineEvent::DriverTurn { start, .. } => start,
            TimelineEvent::Steal { at, .. } => at,
        }
    }

    /// How long it lasted (zero for a steal, an instant).
    pub fn duration(&self) -> Duration {
        match *self {
            TimelineEvent::Poll { duration, .. }
            | TimelineEvent::Park { duration, .. }
            | TimelineEvent::DriverTurn { duration, .. } => duration,
            TimelineEvent::Steal { .. } => Duration::ZERO,
        }
    }
}

/// What the workers did during a recording, from
/// [`Handle::stop_timeline`](crate::Handle::stop_timeline): its events, each worker's in the
/// order they happened.
///
/// [`write_chrome_trace`](Timeline::write_chrome_trace) writes it as Chrome trace-event JSON:
/// open the file in <https://ui.perfetto.dev> or `chrome://tracing` to see one row per worker and
/// one slice per poll (named after the task), park and driver turn, and steals as instants.
///
/// ```
/// let rt = filch::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// rt.handle().start_timeline(10_000);
/// rt.block_on(async {
///     let tasks = (0..100).map(|i| filch::spawn(async move { i }));
///     filch::join_all(tasks).await;
/// });
/// let timeline = rt.handle().stop_timeline();
/// let polls = timeline
///     .events
///     .iter()
///     .filter(|e| matches!(e, filch::TimelineEvent::Poll { .. }))
///     .count();
/// assert!(polls >= 100);
/// let mut json = Vec::new();
/// timeline.write_chrome_trace(&mut json).unwrap();
/// assert!(json.starts_with(b"{\"traceEvents\":["));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Timeline {
    /// The runtime's worker count (rows of the trace).
    pub workers: usize,
    /// Every event recorded, worker by worker, each worker's in time order.
    pub events: Vec<TimelineEvent>,
    /// Events dropped because a worker's ring was full (its oldest ones).
    pub dropped: u64,
}

impl Timeline {
    /// Writes the timeline as Chrome trace-event JSON (the "JSON object" format: one complete
    /// event, `"ph":"X"`, per poll, park and turn, an instant, `"ph":"i"`, per steal, on one
    /// thread row per worker; times in microseconds).
    pub fn write_chrome_trace(&self, mut out: impl io::Write) -> io::Result<()> {
        out.write_all(self.to_chrome_trace().as_bytes())
    }

    /// [`write_chrome_trace`](Timeline::write_chrome_trace), to a string.
    pub fn to_chrome_trace(&self) -> String {
        let mut s = String::from("{\"traceEvents\":[");
        let us = |d: Duration| d.as_nanos() as f64 / 1_000.0;
        let mut first = true;
        let mut sep = |s: &mut String| {
            if !std::mem::take(&mut first) {
                s.push(',');
            }
        };
        for worker in 0..self.workers {
            sep(&mut s);
            let _ = write!(
                s,
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{worker},\"args\":{{\"name\":\"worker {worker}\"}}}}"
            );
        }
        for event in &self.events {
            sep(&mut s);
            let _ = match event {
                TimelineEvent::Poll {
                    worker,
                    task,
                    name,
                    start,
                    duration,
                } => {
                    let label = match name {
                        Some(name) => format!("task {task} {}", json_string(name)),
                        None => format!("task {task}"),
                    };
                    write!(
                        s,
                        "{{\"ph\":\"X\",\"cat\":\"poll\",\"name\":{},\"pid\":1,\"tid\":{worker},\"ts\":{:.3},\"dur\":{:.3},\"args\":{{\"task\":{}}}}}",
                        json_string(&label),
                        us(*start),
                        us(*duration),
                        task.as_u64()
                    )
                }
                TimelineEvent::Park {
                    worker,
                    start,
                    duration,
                    in_driver,
                } => write!(
                    s,
                    "{{\"ph\":\"X\",\"cat\":\"park\",\"name\":\"{}\",\"pid\":1,\"tid\":{worker},\"ts\":{:.3},\"dur\":{:.3}}}",
                    if *in_driver { "park (in the driver)" } else { "park" },
                    us(*start),
                    us(*duration)
                ),
                TimelineEvent::DriverTurn {
                    worker,
                    start,
                    duration,
                } => write!(
                    s,
                    "{{\"ph\":\"X\",\"cat\":\"driver\",\"name\":\"driver turn\",\"pid\":1,\"tid\":{worker},\"ts\":{:.3},\"dur\":{:.3}}}",
                    us(*start),
                    us(*duration)
                ),
                TimelineEvent::Steal {
                    worker,
                    from,
                    tasks,
                    at,
                } => write!(
                    s,
                    "{{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"steal\",\"name\":\"stole {tasks} from worker {from}\",\"pid\":1,\"tid\":{worker},\"ts\":{:.3}}}",
                    us(*at)
                ),
            };
        }
        s.push_str("]}");
        s
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a worker records, before names and times are resolved.
#[derive(Clone, Copy)]
pub(crate) enum Raw {
    Poll {
        task: u64,
        start: u64,
        end: u64,
    },
    Park {
        start: u64,
        end: u64,
        in_driver: bool,
    },
    Turn {
        start: u64,
        end: u64,
    },
    Steal {
        from: usize,
        tasks: usize,
        at: u64,
    },
}

/// One worker's ring.
#[derive(Default)]
pub(crate) struct Ring {
    capacity: usize,
    events: VecDeque<Raw>,
    names: HashMap<u64, Arc<str>>,
    dropped: u64,
}

impl Ring {
    pub(crate) fn push(&mut self, event: Raw) {
        if self.capacity == 0 {
            return;
        }
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Notes the name of task `task` (a raw id) if it has one and this ring has not seen it:
    /// called before the task's poll, since a task that completes in it loses its name.
    pub(crate) fn note_name(&mut self, task: u64) {
        let Some(id) = Id::from_raw(task) else { return };
        if self.capacity == 0 || !id.is_named() || self.names.contains_key(&task) {
            return;
        }
        if let Some(name) = crate::task::name_of(id) {
            self.names.insert(task, name);
        }
    }
}

/// The runtime's recorder: a ring per worker, and when the recording began.
pub(crate) struct Recorder {
    rings: Box<[Mutex<Ring>]>,
    /// Nanoseconds (on the runtime's clock) when the recording began.
    began: AtomicU64,
}

fn lock(ring: &Mutex<Ring>) -> MutexGuard<'_, Ring> {
    ring.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    pub(crate) fn new(workers: usize) -> Recorder {
        Recorder {
            rings: (0..workers).map(|_| Mutex::default()).collect(),
            began: AtomicU64::new(0),
        }
    }

    /// Worker `index`'s ring, for it to push to.
    pub(crate) fn ring(&self, index: usize) -> MutexGuard<'_, Ring> {
        lock(&self.rings[index])
    }

    /// Empties the rings and sizes them for a new recording beginning at `now`.
    pub(crate) fn begin(&self, capacity: usize, now: u64) {
        self.began.store(now, Ordering::Relaxed);
        for ring in self.rings.iter() {
            *lock(ring) = Ring {
                capacity,
                ..Ring::default()
            };
        }
    }

    /// Takes the rings' events (the recording has been switched off).
    pub(crate) fn end(&self) -> Timeline {
        let began = self.began.load(Ordering::Relaxed);
        let at = |ns: u64| Duration::from_nanos(ns.saturating_sub(began));
        let span = |start: u64, end: u64| Duration::from_nanos(end.saturating_sub(start));
        let mut timeline = Timeline {
            workers: self.rings.len(),
            ..Timeline::default()
        };
        for (worker, ring) in self.rings.iter().enumerate() {
            let ring = std::mem::take(&mut *lock(ring));
            timeline.dropped += ring.dropped;
            timeline
                .events
                .extend(ring.events.iter().map(|raw| match *raw {
                    Raw::Poll { task, start, end } => TimelineEvent::Poll {
                        worker,
                        task: Id::from_raw(task).expect("a recorded poll has a task id"),
                        name: ring.names.get(&task).cloned(),
                        start: at(start),
                        duration: span(start, end),
                    },
                    Raw::Park {
                        start,
                        end,
                        in_driver,
                    } => TimelineEvent::Park {
                        worker,
                        start: at(start),
                        duration: span(start, end),
                        in_driver,
                    },
                    Raw::Turn { start, end } => TimelineEvent::DriverTurn {
                        worker,
                        start: at(start),
                        duration: span(start, end),
                    },
                    Raw::Steal { from, tasks, at: t } => TimelineEvent::Steal {
                        worker,
                        from,
                        tasks,
                        at: at(t),
                    },
                }));
        }
        timeline
    }
}
