//! Usage analytics over `agent_runs` and `workflow_sessions`, and the usage reset.
//!
//! Each report is one aggregate query (the agent rows are scanned once, whatever the
//! number of sessions). Rows stamped by [`reset_usage`] are left out of every report.
//!
//! The sums are of REAL values, so their last bits depend on the order SQLite adds
//! the rows in. The summary scans `workflow_sessions`, and the by-model and by-step
//! reports scan `agent_runs`, `NOT INDEXED`: the plans they had before the list
//! indexes of step `20261130120000` (which the planner would otherwise pick, changing
//! that order), so every total stays bit-for-bit what it was.
//!
//! `hide_cancelled` means two things, as in the existing layer (§14.4): for the
//! summary and the session list it is **per session** (a session that launched agents
//! but cost nothing is hidden; a session without agent rows is shown); for the by-step
//! and by-model reports it is **per row** (only rows with a cost above zero count).
//!
//! ```no_run
//! # async fn demo(pool: &sqlx::SqlitePool) -> skill_builder_db::Result<()> {
//! use skill_builder_db::usage;
//!
//! let summary = usage::get_usage_summary(pool, true).await?;
//! println!("{} runs, ${:.2}", summary.total_runs, summary.total_cost);
//! for m in usage::get_usage_by_model(pool, true).await? {
//!     println!("{}: {} runs, ${:.2}", m.model, m.run_count, m.total_cost);
//! }
//! let recent = usage::get_recent_workflow_sessions(pool, 50, true).await?;
//! let mut conn = pool.acquire().await?;
//! usage::reset_usage(&mut conn).await?;
//! # let _ = recent;
//! # Ok(()) }
//! ```

use skill_builder_model::{
    SessionUsage, UsageByModel, UsageByStep, UsageSummary, WorkflowSessionId, step_name,
};
use sqlx::{SqliteConnection, SqliteExecutor};
use tracing::instrument;

use crate::Result;

/// Overall usage; one "run" is one workflow session.
///
/// Counted sessions: those not cleared by a reset. A session's cost is the sum of the
/// `total_cost` of its agent rows (matched by `workflow_session_id`, not cleared by a
/// reset), 0 without any. With `hide_cancelled`, a session is counted only if its cost
/// is above zero **or** it has no agent rows at all: zero-cost sessions that launched
/// agents are hidden, empty ones are not (§14.4). Agent rows without a workflow session
/// never count. The average is 0.0 when no session counts.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled), err)]
pub async fn get_usage_summary<'e>(
    db: impl SqliteExecutor<'e>,
    hide_cancelled: bool,
) -> Result<UsageSummary> {
    let row = sqlx::query!(
        r#"WITH per_session AS (
               SELECT workflow_session_id AS sid, SUM(total_cost) AS cost, COUNT(*) AS n
               FROM agent_runs
               WHERE reset_marker IS NULL AND workflow_session_id IS NOT NULL
               GROUP BY workflow_session_id
           ),
           counted AS (
               SELECT COALESCE(a.cost, 0.0) AS cost
               FROM workflow_sessions ws NOT INDEXED
                    LEFT JOIN per_session a ON a.sid = ws.session_id
               WHERE ws.reset_marker IS NULL
                 AND (NOT ?1 OR COALESCE(a.cost, 0.0) > 0 OR a.n IS NULL)
           )
           SELECT COALESCE(SUM(cost), 0.0) AS "total_cost!: f64",
                  COUNT(*) AS "total_runs!: i64"
           FROM counted"#,
        hide_cancelled
    )
    .fetch_one(db)
    .await?;
    Ok(UsageSummary::new(row.total_cost, row.total_runs))
}

/// Per-session usage of the most recent sessions (by session `started_at`, newest
/// first), at most `limit`.
///
/// Same session set and `hide_cancelled` rule as [`get_usage_summary`]. Per session,
/// over its agent rows not cleared by a reset: lowest and highest `step_id` (0 without
/// rows), the distinct step ids joined by commas in ascending order (empty without
/// rows), the number of **distinct** agent ids (an agent with rows for two models
/// counts once), and cost, token and duration totals summed over every row (0 without
/// rows). `completed_at` is the session's `ended_at`.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(limit = limit, hide_cancelled = hide_cancelled, count), err)]
pub async fn get_recent_workflow_sessions<'e>(
    db: impl SqliteExecutor<'e>,
    limit: u32,
    hide_cancelled: bool,
) -> Result<Vec<SessionUsage>> {
    // Pick the sessions first (the cost test is an index lookup per session), then
    // aggregate only the picked ones: the work grows with `limit`, not with the
    // number of agent rows (the index on agent_runs.workflow_session_id, step 29).
    let rows = sqlx::query_as!(
        SessionUsage,
        r#"WITH picked AS MATERIALIZED (
               SELECT ws.session_id, ws.skill_name, ws.started_at, ws.ended_at
               FROM workflow_sessions ws
               WHERE ws.reset_marker IS NULL
                 AND (NOT ?1
                      OR (SELECT TOTAL(a.total_cost) FROM agent_runs a
                          WHERE a.workflow_session_id = ws.session_id
                            AND a.reset_marker IS NULL) > 0
                      OR NOT EXISTS (SELECT 1 FROM agent_runs a
                                     WHERE a.workflow_session_id = ws.session_id
                                       AND a.reset_marker IS NULL))
               ORDER BY ws.started_at DESC, ws.session_id
               LIMIT ?2
           ),
           per_session AS (
               SELECT a.workflow_session_id AS sid,
                      MIN(a.step_id) AS min_step,
                      MAX(a.step_id) AS max_step,
                      GROUP_CONCAT(DISTINCT a.step_id ORDER BY a.step_id) AS steps_csv,
                      COUNT(DISTINCT a.agent_id) AS agent_count,
                      SUM(a.total_cost) AS total_cost,
                      CAST(TOTAL(a.input_tokens) AS INTEGER) AS input_tokens,
                      CAST(TOTAL(a.output_tokens) AS INTEGER) AS output_tokens,
                      CAST(TOTAL(a.cache_read_tokens) AS INTEGER) AS cache_read,
                      CAST(TOTAL(a.cache_write_tokens) AS INTEGER) AS cache_write,
                      CAST(TOTAL(a.duration_ms) AS INTEGER) AS duration_ms
               FROM picked p
               JOIN agent_runs a ON a.workflow_session_id = p.session_id
               WHERE a.reset_marker IS NULL
               GROUP BY a.workflow_session_id
           )
           SELECT p.session_id AS "session_id!: WorkflowSessionId",
                  p.skill_name AS "skill_name!",
                  COALESCE(a.min_step, 0) AS "min_step!: i64",
                  COALESCE(a.max_step, 0) AS "max_step!: i64",
                  COALESCE(a.steps_csv, '') AS "steps_csv!: String",
                  COALESCE(a.agent_count, 0) AS "agent_count!: i64",
                  COALESCE(a.total_cost, 0.0) AS "total_cost!: f64",
                  COALESCE(a.input_tokens, 0) AS "total_input_tokens!: i64",
                  COALESCE(a.output_tokens, 0) AS "total_output_tokens!: i64",
                  COALESCE(a.cache_read, 0) AS "total_cache_read!: i64",
                  COALESCE(a.cache_write, 0) AS "total_cache_write!: i64",
                  COALESCE(a.duration_ms, 0) AS "total_duration_ms!: i64",
                  p.started_at AS "started_at!",
                  p.ended_at AS "completed_at?"
           FROM picked p LEFT JOIN per_session a ON a.sid = p.session_id
           ORDER BY p.started_at DESC, p.session_id"#,
        hide_cancelled,
        limit
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// Usage grouped by workflow step, most expensive first, each step named by
/// [`step_name`] (ids 1 and 3 are both `Review`).
///
/// Agent rows not cleared by a reset and belonging to a workflow session; cost summed
/// (0.0 when all NULL), `run_count` = number of rows (not distinct agents). With
/// `hide_cancelled` the filter is **per row**: only rows with a cost above zero count
/// (§14.4); the session's own reset state is not consulted.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count), err)]
pub async fn get_usage_by_step<'e>(
    db: impl SqliteExecutor<'e>,
    hide_cancelled: bool,
) -> Result<Vec<UsageByStep>> {
    let rows = sqlx::query!(
        r#"SELECT step_id,
                  COALESCE(SUM(total_cost), 0.0) AS "total_cost!: f64",
                  COUNT(*) AS "run_count!: i64"
           FROM agent_runs NOT INDEXED
           WHERE reset_marker IS NULL AND workflow_session_id IS NOT NULL
             AND (NOT ?1 OR total_cost > 0)
           GROUP BY step_id
           ORDER BY COALESCE(SUM(total_cost), 0.0) DESC, step_id"#,
        hide_cancelled
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows
        .into_iter()
        .map(|r| UsageByStep {
            step_id: r.step_id,
            step_name: step_name(r.step_id),
            total_cost: r.total_cost,
            run_count: r.run_count,
        })
        .collect())
}

/// Usage grouped by model, most expensive first. Same rows and `hide_cancelled` rule
/// as [`get_usage_by_step`] (per row, §14.4).
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count), err)]
pub async fn get_usage_by_model<'e>(
    db: impl SqliteExecutor<'e>,
    hide_cancelled: bool,
) -> Result<Vec<UsageByModel>> {
    let rows = sqlx::query_as!(
        UsageByModel,
        r#"SELECT model,
                  COALESCE(SUM(total_cost), 0.0) AS "total_cost!: f64",
                  COUNT(*) AS "run_count!: i64"
           FROM agent_runs NOT INDEXED
           WHERE reset_marker IS NULL AND workflow_session_id IS NOT NULL
             AND (NOT ?1 OR total_cost > 0)
           GROUP BY model
           ORDER BY COALESCE(SUM(total_cost), 0.0) DESC, model"#,
        hide_cancelled
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// "Clear" the usage history without deleting it: stamp `reset_marker` = now on every
/// agent row and every workflow session not stamped yet (earlier stamps are kept). The
/// reports above then ignore those rows; runs and sessions recorded afterwards count
/// again. [`crate::agent_runs::get_session_agent_runs`] still lists them.
///
/// # Differences from the existing layer
/// Both updates run in one transaction with one timestamp (the existing layer ran two
/// independent statements).
///
/// # Errors
/// The database error; nothing is stamped then.
#[instrument(skip_all, fields(agent_runs, sessions), err)]
pub async fn reset_usage(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = crate::tx::begin_immediate(conn).await?;
    let stamp = sqlx::query_scalar!(r#"SELECT datetime('now') || 'Z' AS "stamp!: String""#)
        .fetch_one(&mut *tx)
        .await?;
    let runs = sqlx::query!(
        "UPDATE agent_runs SET reset_marker = ? WHERE reset_marker IS NULL",
        stamp
    )
    .execute(&mut *tx)
    .await?;
    let sessions = sqlx::query!(
        "UPDATE workflow_sessions SET reset_marker = ? WHERE reset_marker IS NULL",
        stamp
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let span = tracing::Span::current();
    span.record("agent_runs", runs.rows_affected());
    span.record("sessions", sessions.rows_affected());
    Ok(())
}
