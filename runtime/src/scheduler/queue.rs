//! The run queues, behind a facade so that loom builds can swap in a modelled queue.
//!
//! Normal builds use crossbeam-deque: each worker owns a FIFO [`Local`] deque whose [`Stealer`]s the
//! other workers hold, and the runtime has one [`Injector`] for tasks that arrive from outside the
//! workers. crossbeam-deque's lock-free internals are opaque to loom, so `--cfg filch_loom` builds
//! replace all three with a `Mutex<VecDeque>`: the models then check the scheduler's protocol around
//! the queues (notify, search, park), trusting crossbeam for the queues themselves.

#[cfg(not(filch_loom))]
mod imp {
    use crossbeam_deque::Steal;

    /// A worker's own queue: FIFO, pushed and popped only by its owner.
    pub(crate) struct Local<T>(crossbeam_deque::Worker<T>);

    /// The other end of a [`Local`], for thieves.
    pub(crate) struct Stealer<T>(crossbeam_deque::Stealer<T>);

    /// The queue of tasks scheduled from outside the workers.
    pub(crate) struct Injector<T>(crossbeam_deque::Injector<T>);

    /// Retries a steal that lost a race with another thread until it gives an answer.
    fn settle<T>(mut steal: impl FnMut() -> Steal<T>) -> Option<T> {
        loop {
            match steal() {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    impl<T> Local<T> {
        pub(crate) fn new() -> Local<T> {
            Local(crossbeam_deque::Worker::new_fifo())
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.stealer())
        }
        pub(crate) fn push(&self, task: T) {
            self.0.push(task);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.pop()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T> Stealer<T> {
        /// Moves about half of the victim's tasks into `dest` and returns one of them.
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local<T>) -> Option<T> {
            settle(|| self.0.steal_batch_and_pop(&dest.0))
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector(crossbeam_deque::Injector::new())
        }
        pub(crate) fn push(&self, task: T) {
            self.0.push(task);
        }
        pub(crate) fn steal(&self) -> Option<T> {
            settle(|| self.0.steal())
        }
        /// Moves a batch of tasks into `dest` and returns one of them.
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local<T>) -> Option<T> {
            if self.0.is_empty() {
                return None;
            }
            settle(|| {
                self.0
                    .steal_batch_with_limit_and_pop(&dest.0, INJECTOR_BATCH)
            })
        }
        /// Moves batches of tasks into `dest` until it holds `target` tasks or this queue is empty.
        pub(crate) fn steal_batches(&self, dest: &Local<T>, target: usize) {
            while dest.len() < target && !self.0.is_empty() {
                let limit = target - dest.len();
                if settle(|| self.0.steal_batch_with_limit(&dest.0, limit)).is_none() {
                    return;
                }
            }
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    /// Most tasks one steal from the injector takes (crossbeam also stops at the end of one of
    /// its 63-slot blocks, and takes at most half when the queue fits in one block).
    const INJECTOR_BATCH: usize = 64;
}

#[cfg(filch_loom)]
mod imp {
    use crate::loom::lock;
    use crate::loom::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    pub(crate) struct Local<T>(Arc<Mutex<VecDeque<T>>>);
    pub(crate) struct Stealer<T>(Arc<Mutex<VecDeque<T>>>);
    pub(crate) struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> Local<T> {
        pub(crate) fn new() -> Local<T> {
            Local(Arc::new(Mutex::new(VecDeque::new())))
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
        pub(crate) fn push(&self, task: T) {
            lock(&self.0).push_back(task);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            lock(&self.0).pop_front()
        }
        pub(crate) fn len(&self) -> usize {
            lock(&self.0).len()
        }
        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local<T>) -> Option<T> {
            let mut victim = lock(&self.0);
            let first = victim.pop_front()?;
            let half = victim.len() / 2;
            let batch: Vec<T> = victim.drain(..half).collect();
            drop(victim);
            lock(&dest.0).extend(batch);
            Some(first)
        }
        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            lock(&self.0).len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector(Mutex::new(VecDeque::new()))
        }
        pub(crate) fn push(&self, task: T) {
            lock(&self.0).push_back(task);
        }
        pub(crate) fn steal(&self) -> Option<T> {
            lock(&self.0).pop_front()
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local<T>) -> Option<T> {
            let mut queue = lock(&self.0);
            let first = queue.pop_front()?;
            let n = queue.len().min(2);
            let batch: Vec<T> = queue.drain(..n).collect();
            drop(queue);
            lock(&dest.0).extend(batch);
            Some(first)
        }
        pub(crate) fn steal_batches(&self, dest: &Local<T>, target: usize) {
            let mut queue = lock(&self.0);
            let n = queue.len().min(target.saturating_sub(dest.len()));
            let batch: Vec<T> = queue.drain(..n).collect();
            drop(queue);
            lock(&dest.0).extend(batch);
        }
        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            lock(&self.0).len()
        }
    }
}

pub(crate) use imp::{Injector, Local, Stealer};
