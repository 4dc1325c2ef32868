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

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{AgentRun, NewAgentRun, WorkflowSessionId};
use tracing::instrument;

use crate::error::{is_foreign_key_violation, require_name, require_no_nul};
use crate::malformed::checked_list;
use crate::{Entity, Error, Result};

/// The table of this module.
const TABLE: &str = "agent_runs";

/// Record (insert or replace) the row of an agent invocation, keyed by agent id and
/// model, in one atomic statement (`INSERT OR REPLACE`, as the existing app writes it:
/// the usage totals' triggers handle both; see [`crate::usage`]).
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
    spin_then_park(async move {
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
        // One INSERT OR REPLACE, as the existing app writes (the usage totals' triggers
        // handle it). A final status is written as VALUES; a `running`/`shutdown` snapshot
        // through a SELECT whose WHERE is the guard (a SELECT reading agent_runs makes
        // SQLite stage the row in a temporary table: ~10 us the final writes do not pay).
        // The same parameters (?1..?19) for both statements.
        macro_rules! persist {
            ($sql:literal) => {
                sqlx::query!(
                    $sql,
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
            };
        }
        let written = if matches!(run.status.as_str(), "running" | "shutdown") {
            persist!(
                "INSERT OR REPLACE INTO agent_runs (
                 rowid, agent_id, skill_name, step_id, model, status, input_tokens,
                 output_tokens, cache_read_tokens, cache_write_tokens, total_cost,
                 duration_ms, num_turns, stop_reason, duration_api_ms, tool_use_count,
                 compaction_count, session_id, workflow_session_id, reset_marker,
                 workflow_run_id, started_at, completed_at)
             SELECT o.rowid, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                    ?15, ?16, ?17, ?18, o.reset_marker,
                    CASE WHEN ?19 IS NOT NULL THEN ?19
                         WHEN o.rowid IS NOT NULL THEN o.workflow_run_id
                         ELSE (SELECT wr.id FROM workflow_runs wr
                               WHERE wr.skill_name = ?2
                                 AND NOT EXISTS (
                                     SELECT 1 FROM workflow_sessions ws
                                     WHERE ws.session_id = ?18
                                       AND (ws.skill_id IS NULL
                                            OR ws.skill_id IS NOT wr.skill_id))) END,
                    COALESCE(o.started_at, datetime('now') || 'Z'),
                    CASE WHEN ?5 = 'running' THEN NULL ELSE datetime('now') || 'Z' END
             FROM (SELECT 1) AS one
             LEFT JOIN agent_runs AS o ON o.agent_id = ?1 AND o.model = ?4
             WHERE NOT (o.rowid IS NOT NULL
                        -- why: SQL decides; a BLOB status is never overwritten by a snapshot
                        AND (o.status IN ('completed', 'error') OR typeof(o.status) <> 'text'))"
            )
        } else {
            persist!(
                "INSERT OR REPLACE INTO agent_runs (
                 rowid, agent_id, skill_name, step_id, model, status, input_tokens,
                 output_tokens, cache_read_tokens, cache_write_tokens, total_cost,
                 duration_ms, num_turns, stop_reason, duration_api_ms, tool_use_count,
                 compaction_count, session_id, workflow_session_id, reset_marker,
                 workflow_run_id, started_at, completed_at)
             VALUES ((SELECT rowid FROM agent_runs WHERE agent_id = ?1 AND model = ?4),
                     ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18,
                     (SELECT reset_marker FROM agent_runs WHERE agent_id = ?1 AND model = ?4),
                     COALESCE(?19, (SELECT workflow_run_id FROM agent_runs
                                    WHERE agent_id = ?1 AND model = ?4),
                              CASE WHEN NOT EXISTS (SELECT 1 FROM agent_runs
                                                    WHERE agent_id = ?1 AND model = ?4)
                              THEN (SELECT wr.id FROM workflow_runs wr
                                    WHERE wr.skill_name = ?2
                                      AND NOT EXISTS (
                                          SELECT 1 FROM workflow_sessions ws
                                          WHERE ws.session_id = ?18
                                            AND (ws.skill_id IS NULL
                                                 OR ws.skill_id IS NOT wr.skill_id))) END),
                     COALESCE((SELECT started_at FROM agent_runs
                               WHERE agent_id = ?1 AND model = ?4), datetime('now') || 'Z'),
                     datetime('now') || 'Z')"
            )
        };
        written.map_err(|e| match run.workflow_run_id {
            // The table's only foreign key: the explicit run id names no run.
            Some(id) if is_foreign_key_violation(&e) => {
                Error::not_found(Entity::WorkflowRun, id.get().to_string())
            }
            _ => e.into(),
        })?;
        Ok(())
    })
    .await
}

/// The most recent agent runs not cleared by a usage reset (with or without a workflow
/// session), latest `completed_at` first (rows without one, i.e. still running, last),
/// then latest `started_at`, then in rowid order, at most `limit`.
///
/// Reads the first `limit` entries of the partial index `agent_runs_recent` (step
/// `20261207140000`): its cost follows `limit`, not the history.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(limit = limit, count, skipped), err)]
pub async fn get_recent_runs(db: &mut dyn Reader, limit: u32) -> Result<Vec<AgentRun>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "get_recent_runs", |skip| sqlx::query_as!(
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
           WHERE reset_marker IS NULL AND rowid NOT IN (SELECT value FROM json_each(?1))
           ORDER BY (completed_at IS NULL), completed_at DESC, started_at DESC, rowid
           LIMIT ?2"#,
            skip,
            limit
        )
        .fetch_all(&mut *conn))?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows)
    })
    .await
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
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "get_session_agent_runs", |skip| {
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
    })
    .await
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
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "get_step_agent_runs", |skip| {
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
    })
    .await
}
