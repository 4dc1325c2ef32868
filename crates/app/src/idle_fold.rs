//! Folding the usage totals' tail while the writer is idle (steps
//! `20261130140000_usage_totals_fold` and `20261130150000_recent_runs_fold`): a new
//! agent run is not added to the totals (or the recent-runs entries) in its own
//! statement; the reports add the runs above the fold boundary as they read, and this
//! task moves the boundary up when nobody writes, so that tail stays small.
//!
//! Every [`IDLE_TICK`] the task looks at the highest agent-run rowid (on the writer,
//! only when it is free: `try_acquire`). When it has not changed since the last look
//! (no agent run was added for a tick) and runs wait, it folds them,
//! [`skill_builder_db::usage_totals::FOLD_CHUNK`] per transaction, chunk after chunk
//! for at most [`IDLE_FOLD_BUDGET`] before it hands the writer back until the next
//! tick (a write that arrives meanwhile waits for the chunk in progress to end: up to
//! the budget plus one chunk, longer only if that chunk waits for another process's
//! write lock). A tail of
//! [`FOLD_BACKLOG`] runs or more is folded one chunk per tick even while writes go on
//! (a continuous stream of agent runs must not make every screen read a long tail).
//!
//! The task ends with the last clone of its `Database` or with
//! [`crate::Database::close`]. A failed fold is logged (the reports stay exact
//! without it) and tried again after [`RETRY_AFTER`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use skill_builder_db::usage_totals;
use sqlx::SqlitePool;

/// How often the task looks at the writer.
pub const IDLE_TICK: Duration = Duration::from_millis(250);

/// How long the task keeps the idle writer for chunk after chunk, per tick.
pub const IDLE_FOLD_BUDGET: Duration = Duration::from_millis(50);

/// A tail at least this long (agent runs) is folded even while writes go on, one
/// chunk per tick.
pub const FOLD_BACKLOG: i64 = 50_000;

/// After a failed fold the task waits this long before it looks again.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Aborts the task when the last `Database` clone holding it is dropped.
#[derive(Debug)]
pub(crate) struct IdleFold(tokio::task::JoinHandle<()>);

impl Drop for IdleFold {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Start the task for the writer `pool` (from within a Tokio runtime).
pub(crate) fn spawn(pool: SqlitePool) -> Arc<IdleFold> {
    Arc::new(IdleFold(tokio::spawn(run(pool))))
}

async fn run(pool: SqlitePool) {
    let mut last_max = None;
    let mut ticks = tokio::time::interval(IDLE_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = fold_if_idle(&pool, &mut last_max).await {
            tracing::warn!(error = %e, retry_in_s = RETRY_AFTER.as_secs(), "folding the usage totals failed");
            tokio::time::sleep(RETRY_AFTER).await;
            last_max = None;
        }
    }
}

/// One look: fold while idle (within the budget), or one chunk when the backlog is
/// long.
async fn fold_if_idle(
    pool: &SqlitePool,
    last_max: &mut Option<i64>,
) -> Result<(), skill_builder_db::Error> {
    let Some(mut conn) = pool.try_acquire() else {
        return Ok(());
    };
    let state = usage_totals::fold_state(&mut conn).await?;
    let idle = *last_max == Some(state.max_row_id);
    *last_max = Some(state.max_row_id);
    if !state.pending() {
        return Ok(());
    }
    let backlog = state.max_row_id - state.through_row_id >= FOLD_BACKLOG;
    if !idle && !backlog {
        return Ok(());
    }
    let started = Instant::now();
    loop {
        let folded = usage_totals::fold_chunk(&mut conn).await?;
        if !idle
            || folded < usage_totals::FOLD_CHUNK.unsigned_abs()
            || started.elapsed() >= IDLE_FOLD_BUDGET
        {
            return Ok(());
        }
    }
}
