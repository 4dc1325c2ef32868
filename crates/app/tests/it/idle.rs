//! Issue 20: an idle app costs nothing. After `Database::open` returns and until the
//! next call, the layer runs no SQL statement (no background task, no timer): a
//! subscriber counts sqlx's per-statement events (target `sqlx::query`) over an idle
//! interval. Its own binary, so no other test's statements are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, span};

const TARGET: &str = "sqlx::query";

/// Counts the events of [`TARGET`]: one per statement sqlx runs, on any thread (the
/// connection's worker thread included).
struct StatementCounter(Arc<AtomicUsize>);

impl tracing::Subscriber for StatementCounter {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        if m.target() == TARGET {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == TARGET
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, e: &Event<'_>) {
        if e.metadata().target() == TARGET {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_database_runs_no_statement_while_idle() {
    // Counts every statement of the process: alone in a child process.
    if !crate::common::alone_in_child_process("idle::an_open_database_runs_no_statement_while_idle")
    {
        return;
    }
    let statements = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(StatementCounter(Arc::clone(&statements)))
        .expect("subscriber");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("skill-builder.db");
    let db = skill_builder_app::Database::open(&path)
        .await
        .expect("open");
    assert!(statements.load(Ordering::SeqCst) > 0, "open ran statements");

    // The counter sees a statement when one runs (on the writer and on a reader,
    // which also opens the lazy read-only pool). Both handles are released at the end
    // of their statements, so the database is idle afterwards.
    let before = statements.load(Ordering::SeqCst);
    sqlx::query("SELECT 1")
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("select");
    skill_builder_db::usage::get_usage_summary(&mut db.read().await.expect("reader"), true)
        .await
        .expect("summary");
    assert!(
        statements.load(Ordering::SeqCst) >= before + 2,
        "the deliberate statements were not counted"
    );

    let idle_from = statements.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        statements.load(Ordering::SeqCst),
        idle_from,
        "statements ran while the database was idle"
    );
    db.close().await;
}
