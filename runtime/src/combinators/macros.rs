//! `join!`, `try_join!` and `select!`: a fixed set of futures, polled inside the calling task.
//!
//! The macros are written with `macro_rules!` only. Each future is pinned on the stack of the
//! enclosing async block with `pin!` under a name that one step of a recursive expansion makes up:
//! `macro_rules!` hygiene makes every such name distinct, so no `unsafe` ends up in the caller's
//! code (it stays in `MaybeDone`, in this crate).

/// Awaits every future concurrently in the calling task and returns their outputs as a tuple, in
/// the order written — `asyncio.gather` for a fixed set of futures of different types.
///
/// Each call polls the unfinished futures in the order written; for many futures of one type, use
/// [`join_all`](crate::join_all), which polls only the woken ones. Must be used inside an `async`
/// block or function.
///
/// Not cancel-safe: dropping the enclosing future drops every future and the outputs gathered so
/// far.
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     let (a, b) = filch::join!(
///         async {
///             filch::sleep(Duration::from_millis(10)).await;
///             1
///         },
///         async { "two" },
///     );
///     assert_eq!((a, b), (1, "two"));
/// });
/// ```
#[macro_export]
macro_rules! join {
    ($($future:expr),+ $(,)?) => {
        $crate::__join!(@bind [] $($future,)+)
    };
}

/// Like [`join!`] for futures returning `Result<_, E>` with the same `E`: `Ok` with a tuple of the
/// values, or the first `Err` as soon as it happens (the other futures are then dropped).
///
/// Not cancel-safe, as [`join!`].
///
/// ```
/// filch::run(async {
///     let ok = filch::try_join!(async { Ok::<_, String>(1) }, async { Ok(2) });
///     assert_eq!(ok, Ok((1, 2)));
///     let err = filch::try_join!(
///         std::future::pending::<Result<(), String>>(),
///         async { Err::<(), _>("bad".to_owned()) },
///     );
///     assert_eq!(err, Err("bad".to_owned()));
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    ($($future:expr),+ $(,)?) => {
        $crate::__try_join!(@bind [] $($future,)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __join {
    // Pin the next future under a fresh hygienic name.
    (@bind [$($bound:ident)*] $head:expr, $($tail:expr,)*) => {{
        let mut fut = $crate::__private::pin!($crate::__private::MaybeDone::new(
            ::core::future::IntoFuture::into_future($head),
        ));
        $crate::__join!(@bind [$($bound)* fut] $($tail,)*)
    }};
    (@bind [$($bound:ident)*]) => {
        $crate::__private::poll_fn(|cx| {
            let mut done = true;
            $(
                done &= ::core::future::Future::poll($bound.as_mut(), cx).is_ready();
            )*
            if done {
                $crate::__private::PollState::Ready(($($bound.as_mut().take_output(),)*))
            } else {
                $crate::__private::PollState::Pending
            }
        })
        .await
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __try_join {
    (@bind [$($bound:ident)*] $head:expr, $($tail:expr,)*) => {{
        let mut fut = $crate::__private::pin!($crate::__private::MaybeDone::new(
            ::core::future::IntoFuture::into_future($head),
        ));
        $crate::__try_join!(@bind [$($bound)* fut] $($tail,)*)
    }};
    (@bind [$($bound:ident)*]) => {
        $crate::__private::poll_fn(|cx| {
            let mut done = true;
            $(
                match $bound.as_mut().poll_try(cx) {
                    $crate::__private::PollState::Ready(::core::result::Result::Ok(())) => {}
                    $crate::__private::PollState::Ready(::core::result::Result::Err(err)) => {
                        return $crate::__private::PollState::Ready(
                            ::core::result::Result::Err(err),
                        );
                    }
                    $crate::__private::PollState::Pending => done = false,
                }
            )*
            if done {
                $crate::__private::PollState::Ready(::core::result::Result::Ok((
                    $($bound.as_mut().take_ok(),)*
                )))
            } else {
                $crate::__private::PollState::Pending
            }
        })
        .await
    };
}

/// Waits on several futures at once and runs the handler of the first one to finish; the
/// others are dropped — asyncio's `wait(..., return_when=FIRST_COMPLETED)` with one handler per
/// awaitable.
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <future> [, if <precondition>] => <handler>,
///     ...
///     [else => <expression>]
/// }
/// ```
///
/// - Every `<future>` is evaluated first (all of them), then they are polled, starting at a
///   **random** branch (and one branch further on each later poll) so that no branch can starve
///   the others; with `biased;` they are polled in the order written.
/// - When a future finishes, its output is matched against `<pattern>`. On a match, every future
///   is dropped and `<handler>` runs, with the pattern's bindings, as the value of the whole
///   `select!`. On no match the branch is disabled and the others go on.
/// - A branch whose `<precondition>` is false is never polled.
/// - When every branch is disabled, the `else` expression is the value; without `else`, that
///   panics.
///
/// The handler runs in the enclosing function after the futures are dropped, so it may use
/// `.await`, `?`, `return`, `break` and `continue`, and borrow what the futures borrowed. The
/// pattern is first tested on a reference to the output, so `mut` bindings need a `let mut`
/// inside the handler instead.
///
/// **Cancel safety.** Whenever one branch wins, the other futures are dropped. In a loop, a
/// future that is dropped half-way must be safe to start again: timers
/// ([`sleep`](https://docs.rs/filch/latest/filch/fn.sleep.html)),
/// [`JoinHandle`](crate::JoinHandle)s, [`AsCompleted::next`](crate::AsCompleted::next) and the
/// sockets' `accept`/`recv_from`/`readable` are cancel-safe (nothing is lost); `join!`,
/// [`join_all`](crate::join_all), [`TaskGroup::join`](crate::TaskGroup::join) and a
/// `read_exact`-style loop are not. Keep a future alive across iterations by pinning it outside
/// the loop and selecting on `&mut fut`.
///
/// ```
/// use std::time::Duration;
///
/// filch::run(async {
///     let mut ticks = 0;
///     let deadline = filch::sleep(Duration::from_millis(50));
///     let mut deadline = std::pin::pin!(deadline);
///     loop {
///         filch::select! {
///             _ = &mut deadline => break,
///             _ = filch::sleep(Duration::from_millis(5)) => ticks += 1,
///         }
///     }
///     assert!(ticks >= 1);
/// });
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select!(@parse true [] $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select!(@parse false [] $($branches)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    // Parsing: each branch becomes `[(pattern) (future) (precondition) { handler }]`.
    (@parse $biased:tt [$($br:tt)*] else => $else:expr $(,)?) => {
        $crate::__select!(@outs $biased [$($br)*] [] { $else })
    };
    (@parse $biased:tt [$($br:tt)*]) => {
        $crate::__select!(@outs $biased [$($br)*] [] {
            ::core::panic!("select!: every branch is disabled and there is no `else` branch")
        })
    };
    (@parse $biased:tt [$($br:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) ($c) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) ($c) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) ($c) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*]
        $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) ($c) { $h }]])
    };
    (@parse $biased:tt [$($br:tt)*] $p:pat = $f:expr => $h:block, $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) (true) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*] $p:pat = $f:expr => $h:block $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) (true) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*] $p:pat = $f:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) (true) { $h }]] $($rest)*)
    };
    (@parse $biased:tt [$($br:tt)*] $p:pat = $f:expr => $h:expr) => {
        $crate::__select!(@parse $biased [$($br)* [($p) ($f) (true) { $h }]])
    };

    // One output slot per branch, declared where the handlers will run.
    (@outs $biased:tt [[$p:tt $f:tt $c:tt $h:tt] $($rest:tt)*] [$($done:tt)*] $else:tt) => {{
        let mut out = ::core::option::Option::None;
        $crate::__select!(@outs $biased [$($rest)*] [$($done)* [out $p $f $c $h]] $else)
    }};
    (@outs $biased:tt [] [$([$out:ident ($($p:tt)*) $f:tt $c:tt $h:tt])*] $else:tt) => {{
        // The futures live in this inner block only: they are dropped before a handler runs.
        $crate::__select!(@futs $biased [] $([$out ($($p)*) $f $c])*);
        $(if let ::core::option::Option::Some($($p)*) = $out $h else)* $else
    }};

    (@one $x:ident) => {
        1
    };

    // Each future pinned under a fresh name, with its enabled flag; then the polling.
    (@futs $biased:tt [$($bound:tt)*] [$out:ident $p:tt ($f:expr) ($c:expr)] $($rest:tt)*) => {{
        let mut on: bool = $c;
        let mut fut = $crate::__private::pin!(::core::future::IntoFuture::into_future($f));
        $crate::__select!(@futs $biased [$($bound)* [$out fut on $p]] $($rest)*)
    }};
    (@futs $biased:tt [$([$out:ident $fut:ident $on:ident ($($p:tt)*)])*]) => {{
        const BRANCHES: usize = 0 $(+ $crate::__select!(@one $on))*;
        // A random first branch; each later poll starts one branch further (fair, and one
        // random number per `select!` rather than per poll).
        let mut start = if $biased { 0 } else { $crate::__private::select_start(BRANCHES) };
        $crate::__private::poll_fn(|cx| {
            let mut turn = start;
            if !$biased {
                start += 1;
                if start == BRANCHES {
                    start = 0;
                }
            }
            let mut pending = false;
            for _ in 0..BRANCHES {
                let mut branch = 0usize;
                $(
                    if branch == turn && $on {
                        match ::core::future::Future::poll($fut.as_mut(), cx) {
                            $crate::__private::PollState::Ready(output) => {
                                #[allow(unused_variables, unused_mut, unreachable_patterns)]
                                let matched = match &output {
                                    $($p)* => true,
                                    _ => false,
                                };
                                if matched {
                                    $out = ::core::option::Option::Some(output);
                                    return $crate::__private::PollState::Ready(());
                                }
                                $on = false;
                            }
                            $crate::__private::PollState::Pending => pending = true,
                        }
                    }
                    branch += 1;
                )*
                turn += 1;
                if turn == BRANCHES {
                    turn = 0;
                }
            }
            if pending {
                $crate::__private::PollState::Pending
            } else {
                $crate::__private::PollState::Ready(())
            }
        })
        .await
    }};
}
