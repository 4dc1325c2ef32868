//! Usage analytics over `agent_runs` and `workflow_sessions`, the usage reset, and the
//! totals the usage screen reads. This is the one description of the usage design.
//!
//! # What is counted
//! A **usage row** is an agent run with a workflow session id and no reset marker
//! (view `agent_runs_usage`, column `counted`). It is **readable** when its session id
//! and model are text, its step an integer and its cost NULL or a number within ±2^53
//! USD; unreadable usage rows (another tool's edits) are never summed with a
//! substituted value, only counted (the span's `skipped` field, one `tracing::warn!`
//! per report; `skill-builder-db check` lists them with table and rowid). A **live
//! session** is a `workflow_sessions` row without a reset marker: the summary and the
//! session list count live sessions, the by-model and by-step reports count usage rows
//! whatever their session.
//!
//! # Tables, and what keeps them right
//! Step `20261207140000_usage_without_fold` keeps three tables, by triggers that run
//! in the statement that changes `agent_runs` or `workflow_sessions`, so every writer
//! (this layer, the existing app's own SQL, a `sqlite3` shell) keeps them right
//! (step `20261207220500_usage_insert_conflicts` mends the insert of a stored key):
//! - `usage_groups`, one row per (model, step id): the readable usage rows (`runs`,
//!   `cost`) and those costing more than zero (`paid_runs`, `paid_cost`);
//! - `usage_sessions`, one row per workflow session id: `live`, its readable usage
//!   rows, their cost, those costing more than zero;
//! - `usage_summary`, one row: live sessions, the live sessions `hide_cancelled` hides
//!   (usage rows but none costing more than zero; `usage_sessions.hidden`) and their
//!   cost, and the cost of usage rows whose session is not live (`dead_cost`).
//!
//! Unreadable usage rows are counted through the partial index
//! `agent_runs_unreadable` (normally empty). A new agent run costs two upserts (its
//! group, its session); the summary row changes only when a session is or was hidden
//! or not live. An insert whose key (agent id, model) is stored already is resolved
//! by SQLite after the BEFORE INSERT triggers: `INSERT OR REPLACE` — how the existing
//! app writes agent runs, and how [`crate::agent_runs::persist_agent_run`] does —
//! deletes the stored row without its DELETE trigger, `OR IGNORE`/`DO NOTHING` keep
//! it, an upsert updates it (UPDATE triggers), `OR FAIL`/`ABORT` fail. So the BEFORE
//! INSERT trigger only notes the stored row's usage values in `usage_replaced` (at
//! most one row), and an AFTER INSERT trigger, which runs only when the row was
//! replaced, takes them out of the totals. A note left behind is cleared by the next
//! insert, and by a delete of its row (with `PRAGMA recursive_triggers = ON` a REPLACE
//! runs the DELETE trigger, which takes the row out itself). A session insert reads
//! from `usage_sessions.live` whether a live row of its session id was there (a
//! REPLACE of that id deleted it), so the session count holds whatever the conflict
//! resolution on the session id.
//!
//! Not covered: a REPLACE that deletes a row of **another** key — an `INSERT OR
//! REPLACE` with an explicit `rowid` that a different row holds, or an `UPDATE OR
//! REPLACE` that moves a row onto a stored key — deletes that row without a trigger
//! (unless `recursive_triggers` is on); `check` reports the drift.
//!
//! Costs are running sums of doubles: each write rounds to the nearest double, so a
//! total is within rounding of the plain `SUM()` relative to the largest cost it ever
//! held (1e-9 relative for costs of real runs, far below a cent; a cost near the 2^53
//! limit, later removed, leaves its rounding, e.g. 0.125 for 0.1). A total whose count
//! drops to 0 restarts from exactly 0.0. [`totals_differences`] compares them with the
//! plain aggregate queries (`check` and the tests on every legacy fixture do).
//!
//! # What each screen reads, and why it is O(shown)
//! - [`get_usage_summary`]: the summary row and the `usage_groups` rows (models ×
//!   steps): live cost = Σ group costs − `dead_cost`.
//! - [`get_usage_by_model`], [`get_usage_by_step`]: the `usage_groups` rows, grouped.
//! - [`get_recent_workflow_sessions`]: the first `limit` entries of the index
//!   `workflow_sessions_recent` (skipping hidden sessions by a `usage_sessions` lookup
//!   each), then the agent runs of those sessions only (index on
//!   `agent_runs.workflow_session_id`).
//! - [`crate::agent_runs::get_recent_runs`]: the first `limit` entries of the partial
//!   index `agent_runs_recent`.
//!
//! None of them reads the history; nothing runs between calls (no background task).
//! Each takes a [`Reader`]: the app's screens pass a read-only connection
//! (`skill_builder_app::Database::read`), which never waits behind a write; pass the
//! writer or your transaction to see your own uncommitted writes.
//!
//! `hide_cancelled` means two things, as in the existing layer (§14.4): for the
//! summary and the session list it is **per session** (a session that launched agents
//! but cost nothing is hidden; a session without agent rows is shown); for the by-step
//! and by-model reports it is **per row** (only rows with a cost above zero count).
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! use skill_builder_db::usage;
//!
//! // The screens read on a read-only connection.
//! let mut conn = db.read().await?;
//! let summary = usage::get_usage_summary(&mut conn, true).await?;
//! println!("{} runs, ${:.2}", summary.total_runs, summary.total_cost);
//! for m in usage::get_usage_by_model(&mut conn, true).await? {
//!     println!("{}: {} runs, ${:.2}", m.model, m.run_count, m.total_cost);
//! }
//! let recent = usage::get_recent_workflow_sessions(&mut conn, 50, true).await?;
//! // The reset writes: on the writer.
//! usage::reset_usage(&mut db.write().await?).await?;
//! # let _ = recent;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{
    SessionUsage, UsageByModel, UsageByStep, UsageSummary, WorkflowSessionId, step_name,
};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::Result;

/// The migration step from which this build reads the totals
/// (`20261207140000_usage_without_fold`): a file at an earlier version has none it
/// can read.
pub const STEP: i64 = 20_261_207_140_000;

/// Agent rows a report left out because a column it reads is unreadable: recorded as
/// the span's `skipped` field and warned about once.
fn report_skipped(operation: &'static str, skipped: i64) {
    tracing::Span::current().record("skipped", skipped);
    if skipped > 0 {
        tracing::warn!(
            operation,
            skipped,
            "left out agent runs the typed API cannot read exactly (listed by `skill-builder-db check`)"
        );
    }
}

/// The summary as the reports read it (stored) or as the plain aggregates compute it
/// ([`totals_differences`]). A count of 0 reads as a cost of exactly 0.0.
#[derive(Debug)]
struct Summary {
    sessions: i64,
    cost: f64,
    shown_sessions: i64,
    shown_cost: f64,
    skipped: i64,
}

/// The summary row, the sum of the group costs and the unreadable usage rows (through
/// the partial index `agent_runs_unreadable`, whose WHERE this one repeats word for
/// word; missing row → [`crate::Error::UsageTotalsMissing`]).
async fn summary(conn: &mut SqliteConnection) -> Result<Summary> {
    sqlx::query_as!(
        Summary,
        r#"SELECT s.sessions AS "sessions!: i64",
                  CASE WHEN s.sessions = 0 THEN 0.0
                       ELSE (SELECT TOTAL(cost) FROM usage_groups) - s.dead_cost END
                      AS "cost!: f64",
                  s.sessions - s.hidden_sessions AS "shown_sessions!: i64",
                  CASE WHEN s.sessions = s.hidden_sessions THEN 0.0
                       ELSE (SELECT TOTAL(cost) FROM usage_groups) - s.dead_cost - s.hidden_cost
                  END AS "shown_cost!: f64",
                  (SELECT count(*) FROM agent_runs
                   WHERE workflow_session_id IS NOT NULL AND reset_marker IS NULL
                     -- why: rows the sums leave out, counted here (the partial index's WHERE)
                     AND NOT (typeof(workflow_session_id) = 'text' AND typeof(step_id) = 'integer'
                              AND typeof(model) = 'text' AND (total_cost IS NULL
                                   OR (typeof(total_cost) IN ('real', 'integer')
                                       AND abs(total_cost) <= 9007199254740992.0))))
                      AS "skipped!: i64"
           FROM usage_summary AS s WHERE s.id = 0"#
    )
    .fetch_optional(conn)
    .await?
    .ok_or(crate::Error::UsageTotalsMissing)
}

/// Overall usage; one "run" is one workflow session.
///
/// Counted sessions: those not cleared by a reset. A session's cost is the sum of the
/// `total_cost` of its agent rows (matched by `workflow_session_id`, not cleared by a
/// reset), 0 without any. With `hide_cancelled`, a session is counted only if its cost
/// is above zero **or** it has no agent rows at all: zero-cost sessions that launched
/// agents are hidden, empty ones are not (§14.4). Agent rows without a workflow session
/// never count. The average is 0.0 when no session counts.
///
/// Reads the summary row and the group totals (module docs).
///
/// # Differences from the existing layer
/// Agent rows holding values the typed API cannot read are left out (module docs),
/// where the existing layer summed `'three'` as 0.
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool
/// deleted the summary row; the database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, skipped), err)]
pub async fn get_usage_summary(db: &mut dyn Reader, hide_cancelled: bool) -> Result<UsageSummary> {
    spin_then_park(async move {
        let conn = db.connection();
        let s = summary(&mut *conn).await?;
        report_skipped("get_usage_summary", s.skipped);
        Ok(if hide_cancelled {
            UsageSummary::new(s.shown_cost, s.shown_sessions)
        } else {
            UsageSummary::new(s.cost, s.sessions)
        })
    })
    .await
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
/// Reads `limit` entries of the index `workflow_sessions_recent` and the agent rows of
/// those sessions (module docs).
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out of the sums (module docs); a session whose row
/// has a skill name or times that are not text, or one of whose agent rows has tokens
/// or a duration that are not integers, is left out of the list (warned about,
/// counted in the span's `skipped` field together with the agent rows).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool
/// deleted the summary row; the database error (also when a skill name is text that is
/// not valid UTF-8).
#[instrument(skip_all, fields(limit = limit, hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_recent_workflow_sessions(
    db: &mut dyn Reader,
    limit: u32,
    hide_cancelled: bool,
) -> Result<Vec<SessionUsage>> {
    spin_then_park(async move {
        let conn = db.connection();
        let skipped = summary(&mut *conn).await?.skipped;
        // Pick the sessions first, in the order of the index workflow_sessions_recent
        // (hidden ones skipped by a lookup of their usage_sessions row), then aggregate
        // only the picked sessions' readable agent rows (CROSS JOIN keeps the picked
        // sessions outside, where the planner would otherwise walk every agent row).
        let rows = sqlx::query!(
            r#"WITH picked AS MATERIALIZED (
                   SELECT ws.rowid AS session_rowid, ws.session_id, ws.skill_name,
                          ws.started_at, ws.ended_at,
                          -- why: a session row read inside an aggregate query is checked in SQL
                          typeof(ws.session_id) = 'text' AND typeof(ws.skill_name) = 'text'
                          AND typeof(ws.started_at) = 'text'
                          AND typeof(ws.ended_at) IN ('text', 'null') AS ok
                   FROM workflow_sessions ws
                   WHERE ws.reset_marker IS NULL
                     AND NOT (?1 AND EXISTS (SELECT 1 FROM usage_sessions u
                                             WHERE u.session_id = ws.session_id AND u.hidden))
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
                          CAST(TOTAL(a.duration_ms) AS INTEGER) AS duration_ms,
                          -- why: SUM() would read text tokens as numbers; the session is left out
                          MIN(typeof(a.input_tokens) IN ('integer', 'null')
                              AND typeof(a.output_tokens) IN ('integer', 'null')
                              AND typeof(a.cache_read_tokens) IN ('integer', 'null')
                              AND typeof(a.cache_write_tokens) IN ('integer', 'null')
                              AND typeof(a.duration_ms) IN ('integer', 'null')) AS tokens_ok
                   FROM picked p
                   CROSS JOIN agent_runs_usage a ON a.workflow_session_id = p.session_id
                   WHERE a.counted AND a.readable
                   GROUP BY a.workflow_session_id
               )
               SELECT p.session_rowid AS "session_rowid!: i64",
                      p.ok AND COALESCE(a.tokens_ok, 1) AS "ok!: bool",
                      CASE WHEN p.ok THEN p.session_id ELSE '' END
                          AS "session_id!: WorkflowSessionId",
                      CASE WHEN p.ok THEN p.skill_name ELSE '' END AS "skill_name!: String",
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
                      CASE WHEN p.ok THEN p.started_at ELSE '' END AS "started_at!: String",
                      CASE WHEN p.ok THEN p.ended_at END AS "completed_at?: String"
               FROM picked p LEFT JOIN per_session a ON a.sid = p.session_id
               ORDER BY p.started_at DESC, p.session_id"#,
            hide_cancelled,
            limit
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut sessions = Vec::with_capacity(rows.len());
        let mut bad_sessions = 0_i64;
        for r in rows {
            if !r.ok {
                bad_sessions += 1;
                tracing::warn!(
                    table = "workflow_sessions",
                    rowid = r.session_rowid,
                    "left out a session the typed API cannot read exactly (listed by `skill-builder-db check`)"
                );
                continue;
            }
            sessions.push(SessionUsage {
                session_id: r.session_id,
                skill_name: r.skill_name,
                min_step: r.min_step,
                max_step: r.max_step,
                steps_csv: r.steps_csv,
                agent_count: r.agent_count,
                total_cost: r.total_cost,
                total_input_tokens: r.total_input_tokens,
                total_output_tokens: r.total_output_tokens,
                total_cache_read: r.total_cache_read,
                total_cache_write: r.total_cache_write,
                total_duration_ms: r.total_duration_ms,
                started_at: r.started_at,
                completed_at: r.completed_at,
            });
        }
        report_skipped("get_recent_workflow_sessions", skipped + bad_sessions);
        tracing::Span::current().record("count", sessions.len());
        Ok(sessions)
    })
    .await
}

/// Usage grouped by workflow step, most expensive first (then by step id), each step
/// named by [`step_name`] (ids 1 and 3 are both `Review`).
///
/// Agent rows not cleared by a reset and belonging to a workflow session; cost summed
/// (0.0 when all NULL), `run_count` = number of rows (not distinct agents). With
/// `hide_cancelled` the filter is **per row**: only rows with a cost above zero count
/// (§14.4); the session's own reset state is not consulted.
///
/// Reads the `usage_groups` rows (module docs); their `step_id` is always an integer
/// (the triggers add readable usage rows only, and `check` reports a derived table
/// edited by hand).
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out (module docs).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool
/// deleted the summary row; the database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_usage_by_step(
    db: &mut dyn Reader,
    hide_cancelled: bool,
) -> Result<Vec<UsageByStep>> {
    spin_then_park(async move {
        let conn = db.connection();
        let skipped = summary(&mut *conn).await?.skipped;
        let rows = sqlx::query!(
            r#"SELECT step_id AS "step_id!: i64",
                  SUM(CASE WHEN ?1 THEN paid_runs ELSE runs END) AS "runs!: i64",
                  TOTAL(CASE WHEN ?1 THEN paid_cost ELSE cost END) AS "cost!: f64"
           FROM usage_groups
           GROUP BY step_id HAVING SUM(CASE WHEN ?1 THEN paid_runs ELSE runs END) > 0
           ORDER BY 3 DESC, 1"#,
            hide_cancelled
        )
        .fetch_all(&mut *conn)
        .await?;
        report_skipped("get_usage_by_step", skipped);
        tracing::Span::current().record("count", rows.len());
        Ok(rows
            .into_iter()
            .map(|r| UsageByStep {
                step_id: r.step_id,
                step_name: step_name(r.step_id),
                total_cost: r.cost,
                run_count: r.runs,
            })
            .collect())
    })
    .await
}

/// Usage grouped by model, most expensive first (then by name). Same rows and
/// `hide_cancelled` rule as [`get_usage_by_step`] (per row, §14.4).
///
/// Reads the `usage_groups` rows (module docs).
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out (module docs); so is a model name that is not
/// valid UTF-8 (its rows are counted in the span's `skipped` field).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool
/// deleted the summary row; the database error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_usage_by_model(
    db: &mut dyn Reader,
    hide_cancelled: bool,
) -> Result<Vec<UsageByModel>> {
    spin_then_park(async move {
        let conn = db.connection();
        let mut skipped = summary(&mut *conn).await?.skipped;
        // The model as bytes: one name that is not UTF-8 must not fail the others.
        let rows = sqlx::query!(
            r#"SELECT CAST(model AS BLOB) AS "model!: Vec<u8>",
                  SUM(CASE WHEN ?1 THEN paid_runs ELSE runs END) AS "runs!: i64",
                  TOTAL(CASE WHEN ?1 THEN paid_cost ELSE cost END) AS "cost!: f64"
           FROM usage_groups
           GROUP BY model HAVING SUM(CASE WHEN ?1 THEN paid_runs ELSE runs END) > 0
           ORDER BY 3 DESC, 1"#,
            hide_cancelled
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut models = Vec::with_capacity(rows.len());
        for r in rows {
            match String::from_utf8(r.model) {
                Ok(model) => models.push(UsageByModel {
                    model,
                    total_cost: r.cost,
                    run_count: r.runs,
                }),
                Err(_) => skipped += r.runs,
            }
        }
        report_skipped("get_usage_by_model", skipped);
        tracing::Span::current().record("count", models.len());
        Ok(models)
    })
    .await
}

/// "Clear" the usage history without deleting it: stamp `reset_marker` = now on every
/// workflow session and every agent row not stamped yet (earlier stamps are kept). The
/// reports above then ignore those rows; runs and sessions recorded afterwards count
/// again. [`crate::agent_runs::get_session_agent_runs`] still lists them.
///
/// Each stamped row leaves the totals through its trigger: a reset takes time in
/// proportion to the rows it stamps.
///
/// # Differences from the existing layer
/// Both updates run in one transaction with one timestamp (the existing layer ran two
/// independent statements, agent rows first).
///
/// # Errors
/// The database error; nothing is stamped then.
#[instrument(skip_all, fields(agent_runs, sessions), err)]
pub async fn reset_usage(conn: &mut dyn Writer) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let stamp = sqlx::query_scalar!(r#"SELECT datetime('now') || 'Z' AS "stamp!: String""#)
            .fetch_one(&mut *tx)
            .await?;
        let sessions = sqlx::query!(
            "UPDATE workflow_sessions SET reset_marker = ? WHERE reset_marker IS NULL",
            stamp
        )
        .execute(&mut *tx)
        .await?;
        let runs = sqlx::query!(
            "UPDATE agent_runs SET reset_marker = ? WHERE reset_marker IS NULL",
            stamp
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let span = tracing::Span::current();
        span.record("agent_runs", runs.rows_affected());
        span.record("sessions", sessions.rows_affected());
        Ok(())
    })
    .await
}

/// Where the stored totals differ from the plain aggregate queries over `agent_runs`
/// (through the view `agent_runs_usage`) and `workflow_sessions`, one line each (empty
/// when they agree): counts exactly, costs within 1e-9 relative (running sums against
/// `SUM()`). A full scan, for `skill-builder-db check` and the tests. Missing summary row
/// → [`crate::Error::UsageTotalsMissing`].
///
/// # Errors
/// That, or the database error.
#[instrument(skip_all, fields(differences), err)]
pub async fn totals_differences(conn: &mut dyn Writer) -> Result<Vec<String>> {
    spin_then_park(async move {
        let conn = conn.connection();
        let stored = summary(&mut *conn).await?;
        let plain = sqlx::query_as!(
            Summary,
            r#"WITH per AS (
               SELECT workflow_session_id AS sid, SUM(total_cost) AS cost, COUNT(*) AS n
               FROM agent_runs_usage WHERE counted AND readable
               GROUP BY workflow_session_id
           ),
           live AS (
               SELECT COALESCE(p.cost, 0.0) AS cost, p.n IS NULL OR p.cost > 0 AS shown
               FROM workflow_sessions ws LEFT JOIN per p ON p.sid = ws.session_id
               WHERE ws.reset_marker IS NULL
           )
           SELECT (SELECT count(*) FROM live) AS "sessions!: i64",
                  (SELECT TOTAL(cost) FROM live) AS "cost!: f64",
                  (SELECT count(*) FROM live WHERE shown) AS "shown_sessions!: i64",
                  (SELECT TOTAL(cost) FROM live WHERE shown) AS "shown_cost!: f64",
                  (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable)
                      AS "skipped!: i64""#
        )
        .fetch_one(&mut *conn)
        .await?;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        let mut out = Vec::new();
        if (stored.sessions, stored.shown_sessions, stored.skipped)
            != (plain.sessions, plain.shown_sessions, plain.skipped)
            || !close(stored.cost, plain.cost)
            || !close(stored.shown_cost, plain.shown_cost)
        {
            out.push(format!("summary: stored {stored:?}, plain {plain:?}"));
        }
        // The groups and sessions whose stored row differs from (or lacks) the plain one.
        let rows = sqlx::query_scalar!(
            r#"WITH pg AS (
               SELECT model, step_id, COUNT(*) AS runs, TOTAL(total_cost) AS cost,
                      COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS paid_runs,
                      TOTAL(CASE WHEN total_cost > 0 THEN total_cost END) AS paid_cost
               FROM agent_runs_usage WHERE counted AND readable GROUP BY model, step_id
           ),
           ps AS (
               SELECT workflow_session_id AS session_id, COUNT(*) AS runs,
                      TOTAL(total_cost) AS cost,
                      COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS paid_runs,
                      EXISTS (SELECT 1 FROM workflow_sessions ws
                              WHERE ws.session_id = workflow_session_id
                                AND ws.reset_marker IS NULL) AS live
               FROM agent_runs_usage WHERE counted AND readable
               GROUP BY workflow_session_id
           )
           SELECT 'model ' || quote(COALESCE(p.model, s.model)) || ', step '
                  || quote(COALESCE(p.step_id, s.step_id)) || ': stored '
                  || quote(s.runs) || ' runs ' || quote(s.cost) || ', plain '
                  || quote(p.runs) || ' runs ' || quote(p.cost) AS "line!: String"
           FROM pg p FULL JOIN (SELECT * FROM usage_groups WHERE runs <> 0) s
                USING (model, step_id)
           WHERE p.runs IS NOT s.runs OR p.paid_runs IS NOT s.paid_runs
              OR NOT abs(p.cost - s.cost) <= 1e-9 * max(1.0, abs(p.cost), abs(s.cost))
              OR NOT abs(p.paid_cost - s.paid_cost)
                     <= 1e-9 * max(1.0, abs(p.paid_cost), abs(s.paid_cost))
           UNION ALL
           SELECT 'session ' || quote(COALESCE(p.session_id, s.session_id)) || ': stored '
                  || quote(s.runs) || ' runs ' || quote(s.cost) || ' live ' || quote(s.live)
                  || ', plain ' || quote(p.runs) || ' runs ' || quote(p.cost) || ' live '
                  || quote(p.live)
           FROM ps p FULL JOIN (SELECT * FROM usage_sessions WHERE runs <> 0) s
                USING (session_id)
           WHERE p.runs IS NOT s.runs OR p.paid_runs IS NOT s.paid_runs
              OR p.live IS NOT s.live
              OR NOT abs(p.cost - s.cost) <= 1e-9 * max(1.0, abs(p.cost), abs(s.cost))"#
        )
        .fetch_all(&mut *conn)
        .await?;
        out.extend(rows);
        tracing::Span::current().record("differences", out.len());
        Ok(out)
    })
    .await
}
