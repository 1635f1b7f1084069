//! The table of registered sources, addressed by generation-tagged mio tokens.
//!
//! A token is `generation << INDEX_BITS | index`. Freeing a slot bumps its generation, so an event
//! that was already in flight for a deregistered source (epoll can report it in the same batch as
//! the deregistration) carries a stale generation and is ignored instead of waking whichever
//! source reused the slot.

use super::scheduled_io::ScheduledIo;
use std::sync::Arc;

/// Index bits of a token: up to 16 million sources at once.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Generations wrap within the bits a `usize` has left.
const GENERATION_MASK: usize = usize::MAX >> INDEX_BITS;
/// Reserved for the driver's own waker.
pub(crate) const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);
/// Reserved for the driver's precise timer.
pub(crate) const TIMER_TOKEN: mio::Token = mio::Token(usize::MAX - 1);
/// Reserved for the signals' self-pipe (`signal/`).
pub(crate) const SIGNAL_TOKEN: mio::Token = mio::Token(usize::MAX - 2);
/// Tokens from here up are reserved.
const FIRST_RESERVED: usize = usize::MAX - 2;

pub(crate) struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

impl Slab {
    pub(crate) fn new() -> Slab {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Stores `io` and returns its token, or `None` if the table is full.
    pub(crate) fn insert(&mut self, io: Arc<ScheduledIo>) -> Option<mio::Token> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                if self.slots.len() > INDEX_MASK {
                    return None;
                }
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        self.len += 1;
        let token = (slot.generation << INDEX_BITS) | index;
        debug_assert!(token < FIRST_RESERVED, "a reserved token was handed out");
        Some(mio::Token(token))
    }

    /// The source behind `token`, unless it was removed since.
    pub(crate) fn get(&self, token: mio::Token) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(token.0 & INDEX_MASK)?;
        if slot.generation != token.0 >> INDEX_BITS {
            return None;
        }
        slot.io.as_ref()
    }

    /// Frees the slot of `token`; later events for the token are ignored.
    pub(crate) fn remove(&mut self, token: mio::Token) -> Option<Arc<ScheduledIo>> {
        let index = token.0 & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != token.0 >> INDEX_BITS {
            return None;
        }
        let io = slot.io.take()?;
        // Skip the generations that would make a reserved token.
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        if (slot.generation << INDEX_BITS) | index >= FIRST_RESERVED {
            slot.generation = 0;
        }
        self.free.push(index);
        self.len -= 1;
        Some(io)
    }

    /// Every source still registered.
    pub(crate) fn drain(&mut self) -> Vec<Arc<ScheduledIo>> {
        self.len = 0;
        self.free.clear();
        let mut out = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(io) = slot.io.take() {
                out.push(io);
            }
            slot.generation = (slot.generation + 1) & GENERATION_MASK;
            self.free.push(index);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_are_ignored_after_reuse() {
        let mut slab = Slab::new();
        let a = slab.insert(Arc::new(ScheduledIo::new())).unwrap();
        assert!(slab.get(a).is_some());
        assert!(slab.remove(a).is_some());
        let b = slab.insert(Arc::new(ScheduledIo::new())).unwrap();
        assert_eq!(a.0 & INDEX_MASK, b.0 & INDEX_MASK, "the slot is reused");
        assert_ne!(a, b);
        assert!(
            slab.get(a).is_none(),
            "an event for the old source is dropped"
        );
        assert!(slab.remove(a).is_none());
        assert!(slab.get(b).is_some());
        assert_eq!(slab.len, 1);
    }
}
