//! Agent invocations recorded for usage analytics (`agent_runs`), one row per agent id
//! and model.
//!
//! Reads return 0 for NULL token counts, cost, duration, turns, tool-use and compaction
//! counts. The analytics over these rows are in [`crate::usage`].
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::agent_runs;
//! use skill_builder_db::model::{AgentId, AgentRunStatus, NewAgentRun, WorkflowSessionId};
//!
//! let run = NewAgentRun {
//!     agent_id: AgentId::new_v4(),
//!     skill_name: "sales-pipeline".into(),
//!     step_id: 0,
//!     model: "sonnet".into(),
//!     status: AgentRunStatus::Completed,
//!     input_tokens: 1200,
//!     output_tokens: 300,
//!     cache_read_tokens: 0,
//!     cache_write_tokens: 0,
//!     total_cost: 0.05,
//!     duration_ms: 4000,
//!     num_turns: 3,
//!     stop_reason: Some("end_turn".into()),
//!     duration_api_ms: None,
//!     tool_use_count: 2,
//!     compaction_count: 0,
//!     session_id: None,
//!     workflow_session_id: Some(WorkflowSessionId::from("ws-1")),
//!     workflow_run_id: None, // resolved from the skill name
//! };
//! agent_runs::persist_agent_run(&mut conn, &run).await?;
//! let recent = agent_runs::get_recent_runs(&mut conn, 10).await?;
//! assert!(!recent.is_empty());
//! # Ok(()) }
//! ```

use crate::{Reader, Writer};
use skill_builder_model::{
    AgentId, AgentRun, AgentRunStatus, NewAgentRun, WorkflowRunId, WorkflowSessionId,
};
use tracing::instrument;

use crate::error::{is_foreign_key_violation, require_name, require_no_nul};
// `get_recent_runs` (rewritten by issue 20) still reads with an `ok` flag.
use crate::malformed::checked_list_flagged as checked_list;
use crate::{Entity, Error, Result};

/// The table of this module.
const TABLE: &str = "agent_runs";

/// One row as `get_recent_runs` reads it, with whether every column has the storage
/// class the model expects (the other lists decode into [`AgentRun`] directly).
struct Row {
    agent_id: AgentId,
    skill_name: String,
    step_id: i64,
    model: String,
    status: AgentRunStatus,
    input_tokens: i64,
    output_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    total_cost: f64,
    duration_ms: i64,
    num_turns: i64,
    stop_reason: Option<String>,
    duration_api_ms: Option<i64>,
    tool_use_count: i64,
    compaction_count: i64,
    session_id: Option<String>,
    workflow_session_id: Option<WorkflowSessionId>,
    started_at: String,
    completed_at: Option<String>,
    reset_marker: Option<String>,
    workflow_run_id: Option<WorkflowRunId>,
    ok: bool,
}

impl Row {
    fn into_run(self) -> AgentRun {
        AgentRun {
            agent_id: self.agent_id,
            skill_name: self.skill_name,
            step_id: self.step_id,
            model: self.model,
            status: self.status,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            total_cost: self.total_cost,
            duration_ms: self.duration_ms,
            num_turns: self.num_turns,
            stop_reason: self.stop_reason,
            duration_api_ms: self.duration_api_ms,
            tool_use_count: self.tool_use_count,
            compaction_count: self.compaction_count,
            session_id: self.session_id,
            workflow_session_id: self.workflow_session_id,
            started_at: self.started_at,
            completed_at: self.completed_at,
            reset_marker: self.reset_marker,
            workflow_run_id: self.workflow_run_id,
        }
    }
}

/// Record (insert or update) the row of an agent invocation, keyed by agent id and
/// model, in one atomic statement.
///
/// Every supplied value is written. `started_at` is the first persist time (kept on
/// update); `completed_at` is now, or NULL while the status is `running`. A row whose
/// stored status is `completed` or `error` is not overwritten by a `running` or
/// `shutdown` snapshot: the call succeeds and leaves it as it is (completed data beats
/// a partial snapshot). The skill need not exist: a run persisted for a skill without
/// a workflow run (e.g. a late write of a process still running for a deleted skill)
/// is stored detached (`workflow_run_id` NULL): it is usage history, counted in every
/// usage report, and never adopted by a skill created later under the same name.
///
/// When `workflow_session_id` is given and that session has no row, one is created in
/// the same statement (insert-or-ignore by the `agent_runs_ensure_session` trigger of
/// step 20261130100000: pid 0, `started_at` = the run's, open, `skill_id` resolved from
/// the name), so the usage summary and the session list count every run that the
/// by-model and by-step reports count.
///
/// # Differences from the existing layer
/// - `workflow_run_id`: when the caller leaves it `None` it is resolved, when the row
///   is **first written**, from the skill name, unless the row's workflow session
///   exists and is detached or linked to another master row (a deleted skill's session:
///   the run is history, not the re-created skill's). An update never re-resolves it:
///   it keeps its link (NULL stays NULL) unless an explicit id is given. (The existing
///   layer never filled it, so step-level reads and the delete cascade missed the
///   rows, §14.1.)
/// - The workflow session row is ensured (the existing app's later fix; it recorded
///   runs under session ids such as `synthetic:refine:<skill>:1` that had no row, which
///   the by-model/by-step reports counted and the summary did not).
/// - An update keeps the row's `reset_marker` (a reset run persisted again stays out of
///   analytics) and `started_at` (§14.2).
/// - `completed_at` stays NULL while the status is `running` (§14.2).
/// - A `running` snapshot no longer overwrites a `completed`/`error` row; the existing
///   layer guarded only `shutdown` (§14.2). Nor does it overwrite a row whose stored
///   `status` is not text (a BLOB written by another tool cannot be told from a final
///   status); a `completed`/`error` persist replaces such a row.
///
/// # Errors
/// [`crate::InvalidInput`] for an empty skill name or NUL in a key;
/// [`Error::NotFound`] with [`Entity::WorkflowRun`] for an explicit `workflow_run_id`
/// that names no run (the foreign key refused it; nothing is written); otherwise the
/// database error.
#[instrument(
    skip_all,
    fields(agent_id = %run.agent_id, skill_name = %run.skill_name, step_id = run.step_id,
           model = %run.model, status = %run.status),
    err
)]
pub async fn persist_agent_run(conn: &mut dyn Writer, run: &NewAgentRun) -> Result<()> {
    let conn = conn.connection();
    require_name("skill_name", &run.skill_name)?;
    require_no_nul("agent_id", run.agent_id.as_str())?;
    require_no_nul("model", &run.model)?;
    if run.total_cost.is_nan() {
        // SQLite would store NaN as NULL, read back as 0.0: neither kept nor refused.
        return Err(crate::InvalidInput::NotANumber {
            field: "total_cost",
        }
        .into());
    }
    sqlx::query!(
        "INSERT INTO agent_runs (
             agent_id, skill_name, step_id, model, status, input_tokens, output_tokens,
             cache_read_tokens, cache_write_tokens, total_cost, duration_ms, num_turns,
             stop_reason, duration_api_ms, tool_use_count, compaction_count, session_id,
             workflow_session_id, workflow_run_id, started_at, completed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 COALESCE(?19, (
                     SELECT wr.id FROM workflow_runs wr
                     WHERE wr.skill_name = ?2
                       AND NOT EXISTS (
                           SELECT 1 FROM workflow_sessions ws
                           WHERE ws.session_id = ?18
                             AND (ws.skill_id IS NULL OR ws.skill_id IS NOT wr.skill_id)))),
                 datetime('now') || 'Z',
                 CASE WHEN ?5 = 'running' THEN NULL ELSE datetime('now') || 'Z' END)
         ON CONFLICT (agent_id, model) DO UPDATE SET
             skill_name = excluded.skill_name,
             step_id = excluded.step_id,
             status = excluded.status,
             input_tokens = excluded.input_tokens,
             output_tokens = excluded.output_tokens,
             cache_read_tokens = excluded.cache_read_tokens,
             cache_write_tokens = excluded.cache_write_tokens,
             total_cost = excluded.total_cost,
             duration_ms = excluded.duration_ms,
             num_turns = excluded.num_turns,
             stop_reason = excluded.stop_reason,
             duration_api_ms = excluded.duration_api_ms,
             tool_use_count = excluded.tool_use_count,
             compaction_count = excluded.compaction_count,
             session_id = excluded.session_id,
             workflow_session_id = excluded.workflow_session_id,
             workflow_run_id = COALESCE(?19, agent_runs.workflow_run_id),
             completed_at = excluded.completed_at
         WHERE NOT ((agent_runs.status IN ('completed', 'error')
                     -- why: SQL decides; a BLOB status is never overwritten by a snapshot
                     OR typeof(agent_runs.status) <> 'text')
                    AND excluded.status IN ('running', 'shutdown'))",
        run.agent_id,
        run.skill_name,
        run.step_id,
        run.model,
        run.status,
        run.input_tokens,
        run.output_tokens,
        run.cache_read_tokens,
        run.cache_write_tokens,
        run.total_cost,
        run.duration_ms,
        run.num_turns,
        run.stop_reason,
        run.duration_api_ms,
        run.tool_use_count,
        run.compaction_count,
        run.session_id,
        run.workflow_session_id,
        run.workflow_run_id,
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match run.workflow_run_id {
        // The table's only foreign key: the explicit run id names no run.
        Some(id) if is_foreign_key_violation(&e) => {
            Error::not_found(Entity::WorkflowRun, id.get().to_string())
        }
        _ => e.into(),
    })?;
    Ok(())
}

/// The most recent agent runs not cleared by a usage reset (with or without a workflow
/// session), latest `completed_at` first (rows without one, i.e. still running, last),
/// then latest `started_at`, then in rowid order, at most `limit`.
///
/// Reads the first entries of `recent_agent_runs` in index order (step
/// `20261130150000`: the runs folded in, kept by triggers) merged with the runs not
/// folded in yet (the tail, see [`crate::usage_totals`]): its cost follows `limit`
/// and the tail, not the history.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// [`Error::UsageTotalsMissing`] when another tool deleted the fold boundary; the
/// database error.
#[instrument(skip_all, fields(limit = limit, count, skipped), err)]
pub async fn get_recent_runs(db: &mut dyn Reader, limit: u32) -> Result<Vec<AgentRun>> {
    let conn = db.connection();
    // Without the fold boundary the tail cannot be told apart: refuse, as the usage
    // reports do, instead of listing a wrong set.
    crate::usage_totals::folded_through(&mut *conn).await?;
    let rows = checked_list!(conn, TABLE, &[], "get_recent_runs", |skip| sqlx::query_as!(
        Row,
        r#"WITH picked AS MATERIALIZED (
               SELECT row_id, running AS k_running, completed_at AS k_completed,
                      started_at AS k_started
               FROM recent_agent_runs r
               WHERE row_id NOT IN (SELECT value FROM json_each(?1))
                 AND EXISTS (SELECT 1 FROM agent_runs x
                             WHERE x.rowid = r.row_id AND x.reset_marker IS NULL
                               AND x.completed_at IS r.completed_at
                               AND x.started_at IS r.started_at)
               UNION ALL
               SELECT rowid, completed_at IS NULL, completed_at, started_at FROM agent_runs
               WHERE rowid > (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
                 AND reset_marker IS NULL
                 AND rowid NOT IN (SELECT value FROM json_each(?1))
               ORDER BY 2, 3 DESC, 4 DESC, 1
               LIMIT ?2
           )
           SELECT agent_id AS "agent_id: AgentId", skill_name, step_id, model,
                  status AS "status: AgentRunStatus",
                  COALESCE(input_tokens, 0) AS "input_tokens!: i64",
                  COALESCE(output_tokens, 0) AS "output_tokens!: i64",
                  COALESCE(cache_read_tokens, 0) AS "cache_read_tokens!: i64",
                  COALESCE(cache_write_tokens, 0) AS "cache_write_tokens!: i64",
                  COALESCE(total_cost, 0.0) AS "total_cost!: f64",
                  COALESCE(duration_ms, 0) AS "duration_ms!: i64",
                  COALESCE(num_turns, 0) AS "num_turns!: i64",
                  stop_reason, duration_api_ms,
                  COALESCE(tool_use_count, 0) AS "tool_use_count!: i64",
                  COALESCE(compaction_count, 0) AS "compaction_count!: i64",
                  session_id, workflow_session_id AS "workflow_session_id: WorkflowSessionId",
                  started_at, completed_at, reset_marker,
                  workflow_run_id AS "workflow_run_id: WorkflowRunId",
                  typeof(agent_id) = 'text' AND typeof(skill_name) = 'text'
                  AND typeof(step_id) = 'integer' AND typeof(model) = 'text'
                  AND typeof(status) = 'text' AND typeof(started_at) = 'text'
                  AND typeof(input_tokens) IN ('integer', 'null')
                  AND typeof(output_tokens) IN ('integer', 'null')
                  AND typeof(cache_read_tokens) IN ('integer', 'null')
                  AND typeof(cache_write_tokens) IN ('integer', 'null')
                  AND typeof(total_cost) IN ('real', 'integer', 'null')
                  AND typeof(duration_ms) IN ('integer', 'null')
                  AND typeof(num_turns) IN ('integer', 'null')
                  AND typeof(stop_reason) IN ('text', 'null')
                  AND typeof(duration_api_ms) IN ('integer', 'null')
                  AND typeof(tool_use_count) IN ('integer', 'null')
                  AND typeof(compaction_count) IN ('integer', 'null')
                  AND typeof(session_id) IN ('text', 'null')
                  AND typeof(workflow_session_id) IN ('text', 'null')
                  AND typeof(completed_at) IN ('text', 'null')
                  AND typeof(reset_marker) IN ('text', 'null')
                  AND typeof(workflow_run_id) IN ('integer', 'null') AS "ok!: bool"
           FROM picked p CROSS JOIN agent_runs a ON a.rowid = p.row_id
           ORDER BY p.k_running, p.k_completed DESC, p.k_started DESC, p.row_id"#,
        skip,
        limit
    )
    .fetch_all(&mut *conn))?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows.into_iter().map(Row::into_run).collect())
}

/// Every agent run of a workflow session, in start order.
///
/// Rows cleared by a usage reset are included: this is the session's full record, not
/// an analytics read (§14.4).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(session_id = %session_id, count, skipped), err)]
pub async fn get_session_agent_runs(
    db: &mut dyn Reader,
    session_id: &WorkflowSessionId,
) -> Result<Vec<AgentRun>> {
    let conn = db.connection();
    let rows =
        crate::malformed::checked_list!(conn, TABLE, &[], "get_session_agent_runs", |skip| {
            sqlx::query_as!(
                AgentRun,
                r#"SELECT agent_id AS "agent_id: _", skill_name AS "skill_name: _",
                  step_id AS "step_id: _", model AS "model: _", status AS "status: _",
                  COALESCE(input_tokens, 0) AS "input_tokens!: _",
                  COALESCE(output_tokens, 0) AS "output_tokens!: _",
                  COALESCE(cache_read_tokens, 0) AS "cache_read_tokens!: _",
                  COALESCE(cache_write_tokens, 0) AS "cache_write_tokens!: _",
                  COALESCE(total_cost, 0.0) AS "total_cost!: _",
                  COALESCE(duration_ms, 0) AS "duration_ms!: _",
                  COALESCE(num_turns, 0) AS "num_turns!: _",
                  stop_reason AS "stop_reason: _", duration_api_ms AS "duration_api_ms: _",
                  COALESCE(tool_use_count, 0) AS "tool_use_count!: _",
                  COALESCE(compaction_count, 0) AS "compaction_count!: _",
                  session_id AS "session_id: _", workflow_session_id AS "workflow_session_id: _",
                  started_at AS "started_at: _", completed_at AS "completed_at: _",
                  reset_marker AS "reset_marker: _", workflow_run_id AS "workflow_run_id: _"
           FROM agent_runs
           WHERE workflow_session_id = ? AND rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY started_at, agent_id, model"#,
                session_id,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// The finished (`completed` or `error`) agent runs of one step of a skill's workflow
/// run, not cleared by a usage reset, latest `completed_at` first. No workflow run →
/// empty.
///
/// Rows are matched by `workflow_run_id`. Rows persisted by this layer carry it
/// (see [`persist_agent_run`]); rows the existing layer persisted after the link
/// columns were introduced have none and are not listed.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = %skill_name, step_id = step_id, count, skipped), err)]
pub async fn get_step_agent_runs(
    db: &mut dyn Reader,
    skill_name: &str,
    step_id: i64,
) -> Result<Vec<AgentRun>> {
    let conn = db.connection();
    let rows = crate::malformed::checked_list!(conn, TABLE, &[], "get_step_agent_runs", |skip| {
        sqlx::query_as!(
            AgentRun,
            r#"SELECT agent_id AS "agent_id: _", skill_name AS "skill_name: _",
                  step_id AS "step_id: _", model AS "model: _", status AS "status: _",
                  COALESCE(input_tokens, 0) AS "input_tokens!: _",
                  COALESCE(output_tokens, 0) AS "output_tokens!: _",
                  COALESCE(cache_read_tokens, 0) AS "cache_read_tokens!: _",
                  COALESCE(cache_write_tokens, 0) AS "cache_write_tokens!: _",
                  COALESCE(total_cost, 0.0) AS "total_cost!: _",
                  COALESCE(duration_ms, 0) AS "duration_ms!: _",
                  COALESCE(num_turns, 0) AS "num_turns!: _",
                  stop_reason AS "stop_reason: _", duration_api_ms AS "duration_api_ms: _",
                  COALESCE(tool_use_count, 0) AS "tool_use_count!: _",
                  COALESCE(compaction_count, 0) AS "compaction_count!: _",
                  session_id AS "session_id: _", workflow_session_id AS "workflow_session_id: _",
                  started_at AS "started_at: _", completed_at AS "completed_at: _",
                  reset_marker AS "reset_marker: _", workflow_run_id AS "workflow_run_id: _"
           FROM agent_runs
           WHERE workflow_run_id = (SELECT id FROM workflow_runs WHERE skill_name = ?)
             AND step_id = ?
             AND status IN ('completed', 'error')
             AND reset_marker IS NULL
             AND rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY completed_at DESC, started_at DESC"#,
            skill_name,
            step_id,
            skip
        )
        .fetch_all(&mut *conn)
    })?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}
