//! The usage totals the reports of [`crate::usage`] read: kept by triggers, checked
//! against the plain aggregates, rebuilt when a change bypassed the triggers.
//!
//! Step `20261130130000_usage_totals` keeps, in the same statement as every write to
//! `agent_runs` or `workflow_sessions`, the rows of `usage_totals`: one summary row
//! (kind 0), one per model (kind 1), one per step (kind 2), one per workflow session id
//! (kind 3). Its header explains what is counted and why the sums are exact. Triggers see every change made through SQL, by this layer or
//! any other tool, with one exception: `INSERT OR REPLACE` (or `REPLACE`) deletes the
//! conflicting row without running DELETE triggers unless the connection enabled
//! `recursive_triggers`. The summary row counts every agent run (`agent_rows`), so
//! such a change shows as a count that differs from the table's: [`is_current`]
//! compares the two, and `Database::open` of `skill-builder-app` calls
//! [`rebuild`] when they differ or the summary row is missing.
//!
//! [`stored`] and [`recompute`] read the same shape — the stored totals, and the
//! plain aggregate queries over `agent_runs` and `workflow_sessions` — so a test or
//! `skill-builder-db check` can compare them exactly.
//!
//! ```no_run
//! # async fn demo(conn: &mut sqlx::SqliteConnection) -> skill_builder_db::Result<()> {
//! use skill_builder_db::usage_totals;
//!
//! if !usage_totals::is_current(conn).await? {
//!     usage_totals::rebuild(conn).await?;
//! }
//! assert_eq!(usage_totals::stored(conn).await?, usage_totals::recompute(conn).await?);
//! # Ok(()) }
//! ```

use sqlx::SqliteConnection;
use tracing::instrument;

use crate::Result;

/// The migration step that creates the totals (`20261130130000_usage_totals`): a file
/// at an earlier version has none.
pub const STEP: i64 = 20_261_130_130_000;

/// Totals of one group (a model, a step or a session), key as stored bytes (a key that
/// is not valid UTF-8 is still compared).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTotals {
    /// The model, the step id as its decimal text, or the session id, as bytes.
    pub key: Vec<u8>,
    /// Readable usage rows.
    pub runs: i64,
    /// Their cost in US dollars (0.0 when every cost is NULL).
    pub cost: f64,
    /// Rows with a cost above zero (0 for sessions, which do not keep them).
    pub paid_runs: i64,
    /// Their cost (0.0 for sessions).
    pub paid_cost: f64,
}

/// Everything the usage reports read, in one comparable value.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageTotals {
    /// Agent runs in the table (every row).
    pub agent_rows: i64,
    /// Usage rows (with a workflow session id, not reset) left out as unreadable.
    pub skipped_rows: i64,
    /// Sessions without a reset marker.
    pub sessions: i64,
    /// The sum of their costs.
    pub cost: f64,
    /// Those of them `hide_cancelled` shows (cost above zero or no usage rows).
    pub shown_sessions: i64,
    /// The sum of their costs.
    pub shown_cost: f64,
    /// Per session id with at least one readable usage row, ordered by key bytes.
    pub per_session: Vec<GroupTotals>,
    /// Per model with at least one readable usage row, ordered by key.
    pub per_model: Vec<GroupTotals>,
    /// Per step id with at least one readable usage row, ordered by step id.
    pub per_step: Vec<GroupTotals>,
}

/// Whether the totals can be trusted: the summary row exists and counts as many agent
/// runs as the table holds. A full count of `agent_runs` (SQLite counts the entries
/// of its smallest index: ~1 ms per 100,000 rows).
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(current), err)]
pub async fn is_current(conn: &mut SqliteConnection) -> Result<bool> {
    let current = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM usage_totals
                          WHERE kind = 0 AND key = 0
                            AND agent_rows = (SELECT count(*) FROM agent_runs))
               AS "current!: bool""#
    )
    .fetch_one(conn)
    .await?;
    tracing::Span::current().record("current", current);
    Ok(current)
}

/// Recompute every total from the rows, in one `BEGIN IMMEDIATE` transaction:
/// `usage_totals` is emptied and fed again with the statements that end the migration
/// step (every live session as empty, then every agent run in rowid order). Logs a warning (it
/// means a change bypassed the triggers). Time grows with the history (a few seconds
/// per million agent runs).
///
/// # Errors
/// The database error; nothing changes then.
#[instrument(skip_all, fields(agent_rows), err)]
pub async fn rebuild(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = crate::tx::begin_immediate(conn).await?;
    sqlx::query!("DELETE FROM usage_totals")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("INSERT INTO usage_totals (kind, key) VALUES (0, 0)")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO usage_session_changes (sign, runs, cost, live)
         SELECT 1, 0, 0.0, 1 FROM workflow_sessions WHERE reset_marker IS NULL"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO usage_row_applies
         SELECT 1, row_id, NULL, NULL, NULL, NULL, 0, 0,
                workflow_session_id, model, step_id, total_cost, counted, readable
         FROM agent_runs_usage ORDER BY row_id"
    )
    .execute(&mut *tx)
    .await?;
    let agent_rows = sqlx::query_scalar!(
        r#"SELECT agent_rows AS "agent_rows!: i64" FROM usage_totals WHERE kind = 0 AND key = 0"#
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::Span::current().record("agent_rows", agent_rows);
    tracing::warn!("rebuilt the usage totals: a change to agent_runs had bypassed their triggers");
    Ok(())
}

/// Rebuild the totals when [`is_current`] says they cannot be trusted. Returns
/// whether it rebuilt them.
///
/// # Errors
/// The database error.
pub async fn ensure_current(conn: &mut SqliteConnection) -> Result<bool> {
    if is_current(conn).await? {
        return Ok(false);
    }
    rebuild(conn).await?;
    Ok(true)
}

/// The stored totals (what the reports read). Missing summary row →
/// [`crate::Error::UsageTotalsMissing`].
///
/// # Errors
/// That, or the database error.
#[instrument(skip_all, err)]
pub async fn stored(conn: &mut SqliteConnection) -> Result<UsageTotals> {
    let s = sqlx::query!(
        r#"SELECT agent_rows AS "agent_rows!: i64", skipped_rows AS "skipped_rows!: i64",
                  runs AS "sessions!: i64", cost + cost_err AS "cost!: f64",
                  paid_runs AS "shown_sessions!: i64",
                  paid_cost + paid_cost_err AS "shown_cost!: f64"
           FROM usage_totals WHERE kind = 0 AND key = 0"#
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(crate::Error::UsageTotalsMissing)?;
    let per_session = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(key AS BLOB) AS "key!: Vec<u8>", runs AS "runs!: i64",
                  cost + cost_err AS "cost!: f64", 0 AS "paid_runs!: i64",
                  0.0 AS "paid_cost!: f64"
           FROM usage_totals WHERE kind = 3 AND runs <> 0 ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_model = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(key AS BLOB) AS "key!: Vec<u8>", runs AS "runs!: i64",
                  cost + cost_err AS "cost!: f64", paid_runs AS "paid_runs!: i64",
                  paid_cost + paid_cost_err AS "paid_cost!: f64"
           FROM usage_totals WHERE kind = 1 AND runs <> 0 ORDER BY key"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_step = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(CAST(key AS TEXT) AS BLOB) AS "key!: Vec<u8>", runs AS "runs!: i64",
                  cost + cost_err AS "cost!: f64", paid_runs AS "paid_runs!: i64",
                  paid_cost + paid_cost_err AS "paid_cost!: f64"
           FROM usage_totals WHERE kind = 2 AND runs <> 0 ORDER BY key"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(UsageTotals {
        agent_rows: s.agent_rows,
        skipped_rows: s.skipped_rows,
        sessions: s.sessions,
        cost: s.cost,
        shown_sessions: s.shown_sessions,
        shown_cost: s.shown_cost,
        per_session,
        per_model,
        per_step,
    })
}

/// The same totals from the plain aggregate queries over `agent_runs` (through the
/// view `agent_runs_usage`, which adds the counted/readable tests) and
/// `workflow_sessions`: a full scan, for checks and tests.
///
/// # Errors
/// The database error.
#[instrument(skip_all, err)]
pub async fn recompute(conn: &mut SqliteConnection) -> Result<UsageTotals> {
    let s = sqlx::query!(
        r#"WITH per_session AS (
               SELECT workflow_session_id AS sid, SUM(total_cost) AS cost, COUNT(*) AS n
               FROM agent_runs_usage WHERE counted AND readable
               GROUP BY workflow_session_id
           ),
           live AS (
               SELECT COALESCE(a.cost, 0.0) AS cost, a.n IS NULL OR a.cost > 0 AS shown
               FROM workflow_sessions ws LEFT JOIN per_session a ON a.sid = ws.session_id
               WHERE ws.reset_marker IS NULL
           )
           SELECT (SELECT count(*) FROM agent_runs) AS "agent_rows!: i64",
                  (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable)
                      AS "skipped_rows!: i64",
                  (SELECT count(*) FROM live) AS "sessions!: i64",
                  (SELECT COALESCE(SUM(cost), 0.0) FROM live) AS "cost!: f64",
                  (SELECT count(*) FROM live WHERE shown) AS "shown_sessions!: i64",
                  (SELECT COALESCE(SUM(cost), 0.0) FROM live WHERE shown) AS "shown_cost!: f64""#
    )
    .fetch_one(&mut *conn)
    .await?;
    let per_session = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(workflow_session_id AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  0 AS "paid_runs!: i64", 0.0 AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY workflow_session_id ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_model = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(model AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS "paid_runs!: i64",
                  COALESCE(SUM(CASE WHEN total_cost > 0 THEN total_cost END), 0.0)
                      AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY model ORDER BY model"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_step = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(CAST(step_id AS TEXT) AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS "paid_runs!: i64",
                  COALESCE(SUM(CASE WHEN total_cost > 0 THEN total_cost END), 0.0)
                      AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY step_id ORDER BY step_id"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(UsageTotals {
        agent_rows: s.agent_rows,
        skipped_rows: s.skipped_rows,
        sessions: s.sessions,
        cost: s.cost,
        shown_sessions: s.shown_sessions,
        shown_cost: s.shown_cost,
        per_session,
        per_model,
        per_step,
    })
}
