//! The `tracing` feature: a span per task (id, name, spawn location) entered around each poll,
//! and events for spawn, completion, cancellation, panic and slow polls.
//!
//! `cargo test --features tracing --test task_tracing`. The subscriber is the test's own (a
//! global one: the tasks run on worker threads), recording every span and event; each test
//! looks only at its own tasks' ids.
#![cfg(feature = "tracing")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// An event: the task id of the span it is in (if any), its target, message and fields.
type EventRecord = (Option<u64>, String, String, FieldMap);
type FieldMap = HashMap<String, String>;

#[derive(Default)]
struct Recorded {
    /// Span id -> its fields.
    spans: HashMap<u64, HashMap<String, String>>,
    events: Vec<EventRecord>,
    /// Task id -> times its span was entered.
    enters: HashMap<u64, usize>,
}

struct Collector {
    next: AtomicU64,
    recorded: Mutex<Recorded>,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Collector {
    fn task_of(&self, span: u64) -> Option<u64> {
        let recorded = self.recorded.lock().unwrap();
        recorded.spans.get(&span)?.get("task.id")?.parse().ok()
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.recorded.lock().unwrap().spans.insert(id, fields.0);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let span = match event.parent() {
            Some(id) => Some(id.into_u64()),
            None if event.is_contextual() => STACK.with(|s| s.borrow().last().copied()),
            None => None,
        };
        let task = span.and_then(|s| self.task_of(s));
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let target = event.metadata().target().to_owned();
        self.recorded
            .lock()
            .unwrap()
            .events
            .push((task, target, message, fields.0));
    }
    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
        if let Some(task) = self.task_of(span.into_u64()) {
            *self
                .recorded
                .lock()
                .unwrap()
                .enters
                .entry(task)
                .or_default() += 1;
        }
    }
    fn exit(&self, _: &Id) {
        STACK.with(|s| s.borrow_mut().pop());
    }
}

fn collector() -> &'static Collector {
    static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector: &'static Collector = Box::leak(Box::new(Collector {
            next: AtomicU64::new(1),
            recorded: Mutex::new(Recorded::default()),
        }));
        tracing::subscriber::set_global_default(Forward(collector)).unwrap();
        collector
    })
}

/// The global default takes ownership: forward to the leaked collector.
struct Forward(&'static Collector);

impl Subscriber for Forward {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.0.enabled(m)
    }
    fn new_span(&self, s: &Attributes<'_>) -> Id {
        self.0.new_span(s)
    }
    fn record(&self, i: &Id, r: &Record<'_>) {
        self.0.record(i, r)
    }
    fn record_follows_from(&self, a: &Id, b: &Id) {
        self.0.record_follows_from(a, b)
    }
    fn event(&self, e: &Event<'_>) {
        self.0.event(e)
    }
    fn enter(&self, s: &Id) {
        self.0.enter(s)
    }
    fn exit(&self, s: &Id) {
        self.0.exit(s)
    }
}

/// The messages of the events in task `id`'s span, in order (filch's own, and the task's).
fn events_of(id: filch::task::Id) -> Vec<String> {
    let recorded = collector().recorded.lock().unwrap();
    recorded
        .events
        .iter()
        .filter(|(task, ..)| *task == Some(id.as_u64()))
        .map(|(_, _, message, _)| message.clone())
        .collect()
}

fn span_fields(id: filch::task::Id) -> HashMap<String, String> {
    let recorded = collector().recorded.lock().unwrap();
    recorded
        .spans
        .values()
        .find(|f| f.get("task.id").map(String::as_str) == Some(&id.as_u64().to_string()))
        .cloned()
        .expect("no span for the task")
}

fn runtime() -> filch::Runtime {
    collector();
    filch::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

#[test]
fn a_task_has_a_span_with_its_id_name_and_spawn_location_entered_at_each_poll() {
    let rt = runtime();
    let line = line!() + 2;
    let id = rt.block_on(async {
        let handle = filch::task::Builder::new().name("traced").spawn(async {
            tracing::info!("inside");
            filch::yield_now().await;
            filch::yield_now().await;
            tracing::info!("still inside");
        });
        let id = handle.id();
        handle.await.unwrap();
        id
    });
    let fields = span_fields(id);
    assert_eq!(fields.get("task.name").map(String::as_str), Some("traced"));
    let at = fields.get("spawned.at").cloned().unwrap_or_default();
    assert!(
        at.starts_with(&format!("{}:{line}:", file!())),
        "spawned.at = {at:?}, want line {line}"
    );
    assert_eq!(
        events_of(id),
        ["spawned", "inside", "still inside", "completed"]
    );
    let enters = collector().recorded.lock().unwrap().enters[&id.as_u64()];
    assert_eq!(enters, 3, "one enter per poll");
}

#[test]
fn an_aborted_task_ends_cancelled() {
    let rt = runtime();
    let id = rt.block_on(async {
        let handle = filch::spawn(std::future::pending::<()>());
        let id = handle.id();
        filch::sleep(Duration::from_millis(10)).await;
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        id
    });
    assert_eq!(events_of(id), ["spawned", "cancelled"]);
}

#[test]
fn a_panicking_task_ends_panicked_not_cancelled() {
    let rt = runtime();
    let id = rt.block_on(async {
        let handle = filch::spawn(async {
            filch::yield_now().await;
            panic!("boom");
        });
        let id = handle.id();
        assert!(handle.await.unwrap_err().is_panic());
        id
    });
    assert_eq!(events_of(id), ["spawned", "panicked"]);
}

#[test]
fn tasks_cancelled_by_shutdown_say_so() {
    let rt = runtime();
    let id = rt.block_on(async {
        let handle = filch::spawn(filch::sleep(Duration::from_secs(60)));
        filch::yield_now().await;
        handle.id()
    });
    drop(rt);
    assert_eq!(events_of(id), ["spawned", "cancelled"]);
}

#[test]
fn slow_polls_are_warnings() {
    collector();
    let rt = filch::Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(Duration::from_millis(20)))
        .on_slow_poll(|_| {})
        .build()
        .unwrap();
    let id = rt.block_on(async {
        let handle = filch::spawn(async { std::thread::sleep(Duration::from_millis(150)) });
        let id = handle.id();
        handle.await.unwrap();
        id
    });
    // The second report comes at the watchdog's next reading after the poll returned (a
    // runtime dropped before it gets none).
    std::thread::sleep(Duration::from_millis(50));
    drop(rt);
    let recorded = collector().recorded.lock().unwrap();
    let slow: Vec<_> = recorded
        .events
        .iter()
        .filter(|(_, target, _, fields)| {
            target == "filch::slow_poll"
                && fields.get("task.id").map(String::as_str) == Some(&id.as_u64().to_string())
        })
        .map(|(_, _, _, fields)| fields.get("finished").cloned().unwrap_or_default())
        .collect();
    assert_eq!(slow, ["false", "true"]);
}
