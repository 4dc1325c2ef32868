//! Spin, then park: how every operation waits for SQLite.
//!
//! sqlx runs each SQLite connection on a worker thread of its own: a statement is a
//! message to that thread and a reply back. A task that awaits the reply the usual way
//! parks its thread, and the reply must wake it. Parking and waking a thread on an
//! otherwise idle CPU is the slowest part of a short statement: measured on the
//! project's 2-vCPU VM, a `SELECT 1` on a held connection took ~60 µs from a
//! current-thread runtime and ~30–37 µs from a multi-thread one, against 0.2 µs of
//! SQLite work.
//!
//! [`spin_then_park`] polls a future again, yielding the thread between polls
//! (`sched_yield`, so the worker can run on the same CPU), for up to [`SPIN`] before
//! it lets the runtime park the task as usual. The same `SELECT 1` then takes ~12–20 µs
//! on two CPUs and ~6 µs on one. Every public operation of this crate and
//! `skill-builder-app`'s `Database::open`, `begin`, `commit`, `rollback` and the
//! writer's close wait this way.
//!
//! **Cost.** While an operation waits, its runtime thread stays busy for up to
//! [`SPIN`] per wait instead of sleeping: about what a blocking SQLite call in the
//! caller's thread (the existing rusqlite layer) costs, and less for a long statement,
//! which parks after [`SPIN`]. No other task runs on that runtime thread meanwhile (a
//! multi-thread runtime's other threads take its queued tasks, except the one in the
//! thread's LIFO slot). Nested waits (an operation calling another) do not add up,
//! and a loop of operations still yields to the runtime every so often (tokio's
//! budget). Nothing spins when no operation is running: an idle database costs
//! nothing.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let answer = skill_builder_db::spin::spin_then_park(async { 42 }).await;
//! assert_eq!(answer, 42);
//! # });
//! # Ok(()) }
//! ```

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

/// How long one wait spins before it parks: longer than most statements of this crate
/// take on the worker thread (an agent-run write ~60 µs, an 8 KiB artifact ~50 µs), and
/// the upper end of tokio's guidance for the time a task runs between two yields to the
/// runtime (10–100 µs).
pub const SPIN: Duration = Duration::from_micros(100);

thread_local! {
    /// Set while a [`spin_then_park`] polls on this thread: a nested one (an operation
    /// calling another, or `tx::begin_immediate`) then polls once, so that the spins do
    /// not add up.
    static SPINNING: Cell<bool> = const { Cell::new(false) };
}

/// Clears [`SPINNING`] when the outermost poll ends, even by a panic.
///
/// (Tests: `crates/db/tests/it/spin.rs`.)
struct Outermost;

impl Drop for Outermost {
    fn drop(&mut self) {
        SPINNING.with(|s| s.set(false));
    }
}

/// Await `future`, polling it again (with a `std::thread::yield_now` between polls)
/// for up to [`SPIN`] each time it is pending, before returning `Pending` to the
/// runtime. Nested inside another `spin_then_park`, it polls once: only the outermost
/// spins. Once `future` is ready it spends one unit of the task's tokio budget
/// (`tokio::task::consume_budget`), so a loop of operations that each finish within
/// the spin still yields to the runtime now and then, as one that parked would. See
/// the [module](self) for why and what it costs.
pub async fn spin_then_park<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let output = poll_fn(move |cx| {
        if SPINNING.with(Cell::get) {
            return future.as_mut().poll(cx);
        }
        SPINNING.with(|s| s.set(true));
        let _outermost = Outermost;
        let mut started: Option<Instant> = None;
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            let started = *started.get_or_insert_with(Instant::now);
            if started.elapsed() >= SPIN {
                return Poll::Pending;
            }
            std::thread::yield_now();
        }
    })
    .await;
    tokio::task::consume_budget().await;
    output
}
