//! Folding the usage totals' tail while the writer is idle (step
//! `20261130140000_usage_totals_fold`): a new agent run is not added to the totals in
//! its own statement; the reports add the runs above the fold boundary as they read,
//! and this task moves the boundary up when nobody writes, so that tail stays small.
//!
//! Every [`IDLE_TICK`] the task looks at the highest agent-run rowid (on the writer,
//! only when it is free: `try_acquire`). When it has not changed since the last look
//! (no agent run was written for a tick) and runs wait, it folds them, one
//! [`skill_builder_db::usage_totals::FOLD_CHUNK`] transaction at a time, handing the
//! writer back between chunks and stopping as soon as an agent run arrives. A tail of
//! [`FOLD_BACKLOG`] runs or more is folded one chunk per tick even while writes go on
//! (a continuous stream of agent runs must not make every screen read a long tail).
//!
//! The task ends with the last clone of its `Database` or with
//! [`crate::Database::close`]; a failed fold is logged (the reports stay exact
//! without it) and tried again on a later tick.

use std::sync::Arc;
use std::time::Duration;

use skill_builder_db::usage_totals;
use sqlx::SqlitePool;

/// How often the task looks at the writer.
pub const IDLE_TICK: Duration = Duration::from_millis(250);

/// A tail at least this long (agent runs) is folded even while writes go on, one
/// chunk per tick.
pub const FOLD_BACKLOG: i64 = 50_000;

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
        match fold_if_idle(&pool, &mut last_max).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "folding the usage totals failed; will retry"),
        }
    }
}

/// One look: fold while idle (or one chunk when the backlog is long).
async fn fold_if_idle(
    pool: &SqlitePool,
    last_max: &mut Option<i64>,
) -> Result<(), skill_builder_db::Error> {
    loop {
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
        usage_totals::fold_chunk(&mut conn).await?;
        drop(conn);
        if !idle {
            return Ok(());
        }
        // Let a waiting writer have the connection before the next chunk.
        tokio::task::yield_now().await;
    }
}
