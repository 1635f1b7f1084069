//! The `tracing` feature: a span per task, entered around each of its polls, and events for its
//! life and for slow polls.
//!
//! # Design
//!
//! With the feature on, every spawned future is wrapped in [`Traced`] before it is bound as a
//! task: the wrapper holds the task's span (target `filch::task`, name `task`, fields `task.id`,
//! `task.name`, `spawned.at`), enters it around each poll (so whatever the future logs is inside
//! it), and emits TRACE events in it: `spawned` when it is made, `completed` when the future
//! returns, `panicked` when a poll unwinds, `cancelled` when the future is dropped unfinished
//! (aborted, its group cancelled, its runtime shut down). The watchdog's slow-poll reports are
//! also WARN events (target `filch::slow_poll`). The span's parent is whatever span is current
//! where `spawn` is called, as `tracing`'s `Instrument` does.
//!
//! Nothing of this exists without the feature: no field in the task cell, no branch per poll.
//! With it, the span makes the wrapped future larger (a `Span` is a few words), and each poll
//! pays an enter and an exit, which cost next to nothing while no subscriber is interested in
//! the `filch::task` target (the span is then disabled).

use crate::task::Id;
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// A task's future inside its span (see the module docs).
    pub(crate) struct Traced<F> {
        #[pin]
        future: F,
        span: tracing::Span,
        finished: bool,
    }

    impl<F> PinnedDrop for Traced<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.finished {
                // A poll that panicked has already said so; this drop is the task's end.
                tracing::trace!(target: "filch::task", parent: &*this.span, "cancelled");
            }
        }
    }
}

impl<F: Future> Traced<F> {
    pub(crate) fn new(
        future: F,
        id: Id,
        name: Option<&str>,
        location: Option<&'static Location<'static>>,
    ) -> Traced<F> {
        let span = tracing::trace_span!(
            target: "filch::task",
            "task",
            task.id = id.as_u64(),
            task.name = name,
            spawned.at = location.map(tracing::field::display),
        );
        tracing::trace!(target: "filch::task", parent: &span, "spawned");
        Traced {
            future,
            span,
            finished: false,
        }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        // Says so if the poll unwinds (the harness catches the panic after this guard drops).
        struct Unwinding<'a>(&'a mut bool);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    *self.0 = true;
                    tracing::trace!(target: "filch::task", "panicked");
                }
            }
        }
        let guard = Unwinding(this.finished);
        let poll = this.future.poll(cx);
        if poll.is_ready() {
            *guard.0 = true;
            tracing::trace!(target: "filch::task", "completed");
        }
        poll
    }
}

/// A slow-poll report as a WARN event.
pub(crate) fn slow_poll(report: &crate::SlowPoll) {
    let id = report.id().as_u64();
    let name = report.name();
    let elapsed_ms = report.elapsed().as_millis() as u64;
    tracing::event!(
        target: "filch::slow_poll",
        tracing::Level::WARN,
        task.id = id,
        task.name = name,
        worker = report.worker(),
        elapsed_ms,
        finished = report.is_finished(),
        message = %report,
    );
}
