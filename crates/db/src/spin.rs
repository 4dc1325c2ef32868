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
//! it lets the runtime park the task as usual. The same `SELECT 1` then takes ~12–15 µs
//! on two CPUs and ~6 µs on one. Every public operation of this crate and every
//! handle of `skill-builder-app` (open, begin, commit, rollback) waits this way.
//!
//! **Cost.** While an operation waits, its runtime thread stays busy for up to
//! [`SPIN`] per wait instead of sleeping: about what a blocking SQLite call in the
//! caller's thread (the existing rusqlite layer) costs, and less for a long statement,
//! which parks after [`SPIN`]. No other task runs on that runtime thread meanwhile (a
//! multi-thread runtime moves them to its other threads). Nothing spins when no
//! operation is running: an idle database costs nothing.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let answer = skill_builder_db::spin::spin_then_park(async { 42 }).await;
//! assert_eq!(answer, 42);
//! # });
//! # Ok(()) }
//! ```

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

/// How long one wait spins before it parks: longer than most statements of this crate
/// take on the worker thread (an agent-run write ~40 µs, an 8 KiB artifact ~50 µs), and
/// within tokio's guidance for the time between two yields to the runtime (10–100 µs).
pub const SPIN: Duration = Duration::from_micros(100);

/// Await `future`, polling it again (with a `std::thread::yield_now` between polls)
/// for up to [`SPIN`] each time it is pending, before returning `Pending` to the
/// runtime. See the [module](self) for why and what it costs.
pub async fn spin_then_park<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(move |cx| {
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
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_future_that_stays_pending_parks_after_the_spin() {
        // A never-ready future returns to the runtime, so the runtime's timer fires.
        let waited = tokio::time::timeout(
            Duration::from_millis(20),
            spin_then_park(std::future::pending::<()>()),
        )
        .await;
        assert!(waited.is_err());
    }

    #[tokio::test]
    async fn a_reply_from_another_thread_is_seen_while_spinning_or_after_parking() {
        for delay in [Duration::ZERO, SPIN * 5] {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let sender = std::thread::spawn(move || {
                std::thread::sleep(delay);
                tx.send(7).ok();
            });
            assert_eq!(spin_then_park(rx).await, Ok(7));
            sender.join().ok();
        }
    }
}
