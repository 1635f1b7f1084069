//! Schedule shuffling, a test-only build mode (`RUSTFLAGS="--cfg filch_shuffle"`).
//!
//! With it, the scheduler makes legal but unusual choices at random: it skips the LIFO slot, sends
//! a local wake-up through the injector, delays a wake-up's enqueue by an OS yield, turns the
//! driver at random ticks, and wakes an extra parked worker for nothing. Each is something the
//! protocols must already tolerate (a full LIFO streak, a wake from another thread, preemption, a
//! maintenance tick, a spurious wake-up), so the whole test suite must pass under it; a test or a
//! code path that only works in the one interleaving the default choices make fails instead.
//!
//! `FILCH_SHUFFLE_SEED` (default 1) seeds each thread's generator (mixed with the thread's order
//! of first use). The OS still interleaves threads as it likes, so a seed changes the choices, not
//! the whole run. In normal builds every function here is a constant `false`.

/// True about once in `one_in` calls, in shuffle builds; never otherwise.
#[cfg(not(filch_shuffle))]
#[inline(always)]
pub(crate) fn chance(_one_in: usize) -> bool {
    false
}

#[cfg(filch_shuffle)]
pub(crate) fn chance(one_in: usize) -> bool {
    use super::worker::FastRand;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static RNG: RefCell<FastRand> = RefCell::new({
            let seed = std::env::var("FILCH_SHUFFLE_SEED")
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(1);
            let nth = THREADS.fetch_add(1, Ordering::Relaxed);
            FastRand::new(seed ^ nth.wrapping_mul(0x2545_F491_4F6C_DD1D))
        });
    }
    RNG.try_with(|rng| rng.borrow_mut().below(one_in) == 0)
        .unwrap_or(false)
}

#[cfg(all(test, not(filch_loom)))]
mod tests {
    #[test]
    #[cfg(filch_shuffle)]
    fn shuffle_builds_take_both_choices() {
        let heads = (0..1_000).filter(|_| super::chance(2)).count();
        assert!((300..700).contains(&heads), "{heads} of 1,000");
    }

    #[test]
    #[cfg(not(filch_shuffle))]
    fn normal_builds_never_shuffle() {
        assert!((0..1_000).all(|_| !super::chance(1)));
    }
}
