//! Usage analytics over `agent_runs` and `workflow_sessions`, and the usage reset.
//!
//! The reports read totals kept in `usage_totals` ([`crate::usage_totals`], steps
//! `20261130130000_usage_totals` and `20261130140000_usage_totals_fold`) plus the
//! agent runs not folded into them yet (the tail: runs written since the writer was
//! last idle): a report costs what it shows and the tail, not the size of the history
//! (issue 12). The results equal, bit for bit, the plain aggregate queries over
//! `agent_runs` and `workflow_sessions` ([`crate::usage_totals::recompute`]): a stored
//! sum is kept as the running sum and the compensation of the Kahan-Babuska-Neumaier
//! summation SQLite's `SUM()` uses, with the same operations. The compensation
//! captures every rounding error exactly, so the pair holds the exact sum of the costs
//! — whenever those errors fit one double, i.e. the costs lie within ~2^25 of each
//! other in magnitude, as any real usage history's do — and reads as that sum
//! correctly rounded, which is what `SUM()` returns in any row order. A report adds the
//! tail with one `SUM()` over the stored pair and the tail's costs, which is again the
//! exact sum correctly rounded (`tests/usage_totals.rs` compares every report with
//! `==`, folded or not).
//!
//! Rows stamped by [`reset_usage`] are left out of every report. So are agent rows
//! another tool left unreadable (a session id or model that is not text, a step that
//! is not an integer, a cost that is not a number within ±2^53 USD or NULL): never
//! summed with a substituted value, they are counted and reported — the span's
//! `skipped` field and one `tracing::warn!` per report; `skill-builder-db check` lists
//! them with table and rowid (issue 11). The session list, which also sums tokens and
//! durations, leaves out a session with a token or duration value that is not an
//! integer or NULL.
//!
//! `hide_cancelled` means two things, as in the existing layer (§14.4): for the
//! summary and the session list it is **per session** (a session that launched agents
//! but cost nothing is hidden; a session without agent rows is shown); for the by-step
//! and by-model reports it is **per row** (only rows with a cost above zero count).
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::usage;
//!
//! let summary = usage::get_usage_summary(&mut conn, true).await?;
//! println!("{} runs, ${:.2}", summary.total_runs, summary.total_cost);
//! for m in usage::get_usage_by_model(&mut conn, true).await? {
//!     println!("{}: {} runs, ${:.2}", m.model, m.run_count, m.total_cost);
//! }
//! let recent = usage::get_recent_workflow_sessions(&mut conn, 50, true).await?;
//! usage::reset_usage(&mut *conn).await?;
//! # let _ = recent;
//! # Ok(()) }
//! ```

use crate::Reader;
use skill_builder_model::{
    SessionUsage, UsageByModel, UsageByStep, UsageSummary, WorkflowSessionId, step_name,
};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::Result;

/// Agent rows the reports left out because a column they read is unreadable: recorded
/// as the span's `skipped` field and warned about once.
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

/// Overall usage; one "run" is one workflow session.
///
/// Counted sessions: those not cleared by a reset. A session's cost is the sum of the
/// `total_cost` of its agent rows (matched by `workflow_session_id`, not cleared by a
/// reset), 0 without any. With `hide_cancelled`, a session is counted only if its cost
/// is above zero **or** it has no agent rows at all: zero-cost sessions that launched
/// agents are hidden, empty ones are not (§14.4). Agent rows without a workflow session
/// never count. The average is 0.0 when no session counts.
///
/// Reads the summary row of `usage_totals` and the tail (the agent runs not folded
/// in yet, with the stored totals of the sessions they belong to): its cost follows
/// the tail, not the history.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Differences from the existing layer
/// Agent rows holding values the typed API cannot read are left out (see the module
/// docs), where the existing layer summed `'three'` as 0.
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool deleted the totals; the database
/// error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, skipped), err)]
pub async fn get_usage_summary(db: &mut dyn Reader, hide_cancelled: bool) -> Result<UsageSummary> {
    let conn = db.connection();
    let s = crate::usage_totals::current_summary(&mut *conn).await?;
    report_skipped("get_usage_summary", s.skipped_rows);
    let (total_cost, total_runs) = if hide_cancelled {
        (s.shown_cost, s.shown_sessions)
    } else {
        (s.cost, s.sessions)
    };
    Ok(UsageSummary::new(total_cost, total_runs))
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
/// Reads `limit` entries of an index of the sessions (step `20261130120000`), their
/// own agent rows and the tail (see [`crate::usage_totals`]): the cost follows `limit`
/// and the tail, not the history.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out of the sums (module docs); a session whose row
/// has a skill name or times that are not text, or one of whose agent rows has tokens
/// or a duration that are not integers, is left out of the list (warned about,
/// counted in the span's `skipped` field together with the agent rows).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool deleted the totals; the database
/// error (also when a skill name is text that is not valid UTF-8).
#[instrument(skip_all, fields(limit = limit, hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_recent_workflow_sessions(
    db: &mut dyn Reader,
    limit: u32,
    hide_cancelled: bool,
) -> Result<Vec<SessionUsage>> {
    let conn = db.connection();
    let skipped = crate::usage_totals::current_skipped(&mut *conn).await?;
    // Pick the sessions first, in the order of the index workflow_sessions_recent (the
    // hide test is a lookup of the session's totals, with the tail's rows added for the
    // sessions they belong to), then aggregate only the picked
    // sessions' readable agent rows (the index on agent_runs.workflow_session_id;
    // CROSS JOIN keeps the picked sessions outside, where the planner would otherwise
    // walk every agent row with a session id).
    let rows = sqlx::query!(
        r#"WITH tail AS MATERIALIZED (
               SELECT workflow_session_id AS sid, 0.0 + COALESCE(total_cost, 0.0) AS cost
               FROM agent_runs_usage_tail WHERE counted AND readable
           ),
           touched AS MATERIALIZED (
               SELECT p.sid, SUM(p.n) AS runs, SUM(p.v) AS value
               FROM (SELECT sid, cost AS v, 1 AS n FROM tail
                     UNION ALL
                     SELECT key, cost, runs FROM usage_totals
                     WHERE kind = 3 AND key IN (SELECT sid FROM tail)
                     UNION ALL
                     SELECT key, cost_err, 0 FROM usage_totals
                     WHERE kind = 3 AND key IN (SELECT sid FROM tail)) AS p
               GROUP BY p.sid
           ),
           picked AS MATERIALIZED (
               SELECT ws.rowid AS session_rowid, ws.session_id, ws.skill_name,
                      ws.started_at, ws.ended_at,
                      typeof(ws.session_id) = 'text' AND typeof(ws.skill_name) = 'text'
                      AND typeof(ws.started_at) = 'text'
                      AND typeof(ws.ended_at) IN ('text', 'null') AS ok
               FROM workflow_sessions ws
               WHERE ws.reset_marker IS NULL
                 AND (NOT ?1
                      OR NOT CASE
                          WHEN EXISTS (SELECT 1 FROM touched x WHERE x.sid = ws.session_id)
                          THEN EXISTS (SELECT 1 FROM touched x
                                       WHERE x.sid = ws.session_id
                                         AND x.runs <> 0 AND NOT (x.value > 0))
                          ELSE EXISTS (SELECT 1 FROM usage_totals t
                                       WHERE t.kind = 3 AND t.key = ws.session_id
                                         AND t.runs <> 0
                                         AND NOT (t.cost + t.cost_err > 0)) END)
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
}

/// Usage grouped by workflow step, most expensive first, each step named by
/// [`step_name`] (ids 1 and 3 are both `Review`).
///
/// Agent rows not cleared by a reset and belonging to a workflow session; cost summed
/// (0.0 when all NULL), `run_count` = number of rows (not distinct agents). With
/// `hide_cancelled` the filter is **per row**: only rows with a cost above zero count
/// (§14.4); the session's own reset state is not consulted.
///
/// Reads the per-step rows of `usage_totals` (one per step id) and the tail.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out (module docs).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool deleted the totals; the database
/// error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_usage_by_step(
    db: &mut dyn Reader,
    hide_cancelled: bool,
) -> Result<Vec<UsageByStep>> {
    let conn = db.connection();
    let skipped = crate::usage_totals::current_skipped(&mut *conn).await?;
    let groups = crate::usage_totals::current_groups(&mut *conn, 2).await?;
    report_skipped("get_usage_by_step", skipped);
    let mut steps = Vec::with_capacity(groups.len());
    for g in groups {
        let (total_cost, run_count) = shown(&g, hide_cancelled);
        if run_count <= 0 {
            continue;
        }
        // The key of a step total is its id as decimal text (usage_totals keeps
        // integers only: the triggers count a step that is not an integer as skipped).
        let Some(step_id) = std::str::from_utf8(&g.key)
            .ok()
            .and_then(|k| k.parse().ok())
        else {
            continue;
        };
        steps.push(UsageByStep {
            step_id,
            step_name: step_name(step_id),
            total_cost,
            run_count,
        });
    }
    // Most expensive first, then by step id (the order of the plain query).
    steps.sort_by(|a, b| {
        b.total_cost
            .partial_cmp(&a.total_cost)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.step_id.cmp(&b.step_id))
    });
    tracing::Span::current().record("count", steps.len());
    Ok(steps)
}

/// A group's cost and count as a report shows it: with `hide_cancelled`, only its rows
/// with a cost above zero (§14.4).
fn shown(g: &crate::usage_totals::GroupTotals, hide_cancelled: bool) -> (f64, i64) {
    if hide_cancelled {
        (g.paid_cost, g.paid_runs)
    } else {
        (g.cost, g.runs)
    }
}

/// Usage grouped by model, most expensive first. Same rows and `hide_cancelled` rule
/// as [`get_usage_by_step`] (per row, §14.4).
///
/// Reads the per-model rows of `usage_totals` (one per model) and the tail.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Differences from the existing layer
/// Unreadable agent rows are left out (module docs); so is a model name that is not
/// valid UTF-8 (its rows are counted in the span's `skipped` field).
///
/// # Errors
/// [`Error::UsageTotalsMissing`](crate::Error::UsageTotalsMissing) when another tool deleted the totals; the database
/// error.
#[instrument(skip_all, fields(hide_cancelled = hide_cancelled, count, skipped), err)]
pub async fn get_usage_by_model(
    db: &mut dyn Reader,
    hide_cancelled: bool,
) -> Result<Vec<UsageByModel>> {
    let conn = db.connection();
    let skipped = crate::usage_totals::current_skipped(&mut *conn).await?;
    // The model as bytes: one name that is not UTF-8 must not fail the others.
    let groups = crate::usage_totals::current_groups(&mut *conn, 1).await?;
    let mut models = Vec::with_capacity(groups.len());
    let mut not_utf8 = 0;
    for g in groups {
        let (total_cost, run_count) = shown(&g, hide_cancelled);
        if run_count <= 0 {
            continue;
        }
        match String::from_utf8(g.key) {
            Ok(model) => models.push(UsageByModel {
                model,
                total_cost,
                run_count,
            }),
            Err(_) => not_utf8 += run_count,
        }
    }
    // Most expensive first, then by name (bytes, SQLite's BINARY order).
    models.sort_by(|a, b| {
        b.total_cost
            .partial_cmp(&a.total_cost)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.model.cmp(&b.model))
    });
    report_skipped("get_usage_by_model", skipped + not_utf8);
    tracing::Span::current().record("count", models.len());
    Ok(models)
}

/// "Clear" the usage history without deleting it: stamp `reset_marker` = now on every
/// workflow session and every agent row not stamped yet (earlier stamps are kept). The
/// reports above then ignore those rows; runs and sessions recorded afterwards count
/// again. [`crate::agent_runs::get_session_agent_runs`] still lists them.
///
/// Each stamped folded row leaves the usage totals through its trigger, so a reset
/// takes time in proportion to the rows it stamps (a stamped row of the tail just
/// stops counting; the reports stay as cheap as before).
///
/// # Differences from the existing layer
/// Both updates run in one transaction with one timestamp (the existing layer ran two
/// independent statements, agent rows first).
///
/// # Errors
/// The database error; nothing is stamped then.
#[instrument(skip_all, fields(agent_runs, sessions), err)]
pub async fn reset_usage(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = crate::tx::begin_immediate(conn).await?;
    let stamp = sqlx::query_scalar!(r#"SELECT datetime('now') || 'Z' AS "stamp!: String""#)
        .fetch_one(&mut *tx)
        .await?;
    // Sessions first: a session that is no longer live needs no summary update when
    // its agent rows are stamped next (each stamped row then costs its model and step
    // totals only, not a re-sum of its session).
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
}
