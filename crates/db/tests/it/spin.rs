//! `skill_builder_db::spin`: the spin ends in a park, nested spins do not add up, a loop
//! of ready operations still yields to the runtime, and a reply from another thread is
//! seen whether it comes during the spin or after the park.

use std::cell::Cell;
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use skill_builder_db::spin::{SPIN, spin_then_park};

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

/// Counts its polls, then polls `inner`.
struct Counted<'a, F> {
    polls: &'a Cell<u32>,
    inner: std::pin::Pin<Box<F>>,
}

impl<F: Future> Future for Counted<'_, F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

#[tokio::test]
async fn a_nested_spin_polls_once_per_poll_of_the_outer_one() {
    let outer = Cell::new(0);
    let inner = Cell::new(0);
    let nested = spin_then_park(Counted {
        polls: &outer,
        inner: Box::pin(spin_then_park(Counted {
            polls: &inner,
            inner: Box::pin(std::future::pending::<()>()),
        })),
    });
    let waited = tokio::time::timeout(Duration::from_millis(20), nested).await;
    assert!(waited.is_err());
    // Each poll the outer spin makes reaches the innermost future once: the nested
    // spin did not loop (and add its own SPIN) inside it. (Without any spin the
    // future is polled twice: once, then by the timeout when it fires.)
    assert!(outer.get() > 2);
    assert_eq!(inner.get(), outer.get());
    // The flag that tells a nested spin from the outermost is cleared: a new wait on
    // this thread spins again (polled more than the two times of a future that does
    // not spin).
    let again = Cell::new(0);
    let fresh = spin_then_park(Counted {
        polls: &again,
        inner: Box::pin(std::future::pending::<()>()),
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(5), fresh)
            .await
            .is_err()
    );
    assert!(again.get() > 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_loop_of_ready_operations_lets_other_tasks_run() {
    // Each call is ready at once (it never parks); the budget still hands the
    // runtime back, so the spawned task runs before the loop ends.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    let mut seen_during_loop = false;
    for _ in 0..10_000 {
        spin_then_park(async {}).await;
        seen_during_loop |= ran.load(Ordering::SeqCst);
    }
    assert!(seen_during_loop);
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
