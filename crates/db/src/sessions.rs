//! User workflow sessions (`workflow_sessions`): their lifetimes, with the owning
//! process id for crash detection. A session is the unit counted as a "run" in usage
//! analytics.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::sessions;
//! use skill_builder_db::model::WorkflowSessionId;
//!
//! let pid = i64::from(std::process::id());
//! let id = WorkflowSessionId::new_v4();
//! sessions::create_workflow_session(&mut conn, &id, "sales-pipeline", pid).await?;
//! sessions::end_workflow_session(&mut conn, &id).await?;
//! // At start-up: close what crashed processes left open.
//! let closed = sessions::reconcile_orphaned_sessions(&mut *conn).await?;
//! println!("closed {closed} orphaned sessions");
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;

use crate::{Reader, Writer};
use skill_builder_model::{WorkflowSession, WorkflowSessionId};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::require_name;
use crate::locks::require_pid;
use crate::malformed::{self, Checked, checked_one};
use crate::{Entity, Error, Result, pid};

/// Record the start of a workflow session (`ended_at` NULL, `skill_id` resolved from
/// the name, NULL when the skill is not in the master, `pid_started_at` the start
/// time of `pid`'s process, for telling it from a later process with the same pid). An id that exists already is
/// ignored entirely: the stored row is not modified, even if skill or pid differ.
///
/// # Differences from the existing layer
/// A session stored without a master link stays so: a master row created later under
/// the name does not adopt it (issue 10); its agent runs are usage history, linked to
/// no workflow run. Deleting a skill keeps its sessions, with `skill_id` set NULL.
///
/// # Errors
/// [`crate::InvalidInput`] for an empty session id or skill name, or a pid outside
/// `1..=u32::MAX`; otherwise the database error.
#[instrument(skip_all, fields(session_id = %session_id, skill_name = %skill_name, pid = pid), err)]
pub async fn create_workflow_session(
    conn: &mut dyn Writer,
    session_id: &WorkflowSessionId,
    skill_name: &str,
    pid: i64,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("session_id", session_id.as_str())?;
        require_name("skill_name", skill_name)?;
        require_pid(pid)?;
        let started = pid::start_time(pid);
        sqlx::query!(
            "INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id, pid_started_at)
         VALUES (?1, ?2, ?3, (SELECT id FROM skills WHERE name = ?2), ?4)
         ON CONFLICT (session_id) DO NOTHING",
            session_id,
            skill_name,
            pid,
            started,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Mark a session ended now. Only an open session is changed: a second call keeps the
/// first `ended_at`; an unknown id → success.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(session_id = %session_id), err)]
pub async fn end_workflow_session(
    conn: &mut dyn Writer,
    session_id: &WorkflowSessionId,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        sqlx::query!(
            "UPDATE workflow_sessions SET ended_at = datetime('now') || 'Z'
         WHERE session_id = ? AND ended_at IS NULL",
            session_id
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// End every open session of a process; returns how many were ended. Called on app
/// exit.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(pid = pid, ended), err)]
pub async fn end_all_sessions_for_pid(conn: &mut dyn Writer, pid: i64) -> Result<u64> {
    spin_then_park(async move {
        let conn = conn.connection();
        let done = sqlx::query!(
            "UPDATE workflow_sessions SET ended_at = datetime('now') || 'Z'
         WHERE pid = ? AND ended_at IS NULL",
            pid
        )
        .execute(&mut *conn)
        .await?;
        tracing::Span::current().record("ended", done.rows_affected());
        Ok(done.rows_affected())
    })
    .await
}

/// The session with this id (implied by the table: lets callers inspect a session).
///
/// # Errors
/// [`Error::Malformed`] naming the table, the session id and the column when the row
/// holds a value the typed API cannot read exactly (text in `pid`, a BLOB or invalid
/// UTF-8 in a text column; see [`crate::malformed`]) — never a substituted value;
/// the database error.
#[instrument(skip_all, fields(session_id = %session_id), err)]
pub async fn get_workflow_session(
    db: &mut dyn Reader,
    session_id: &WorkflowSessionId,
) -> Result<Option<WorkflowSession>> {
    spin_then_park(async move {
        let conn = db.connection();
        checked_one!(
            conn,
            TABLE,
            session_id.as_str().to_owned(),
            Error::not_found(Entity::WorkflowSession, session_id.as_str()),
            sqlx::query_as!(
                WorkflowSession,
                // A NULL `session_id` never equals the key: no NotNull needed here.
                r#"SELECT session_id AS "session_id!: _",
                      skill_name AS "skill_name: _", pid AS "pid: _",
                      started_at AS "started_at: _", ended_at AS "ended_at: _",
                      reset_marker AS "reset_marker: _", skill_id AS "skill_id: _"
               FROM workflow_sessions WHERE session_id = ?"#,
                session_id
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workflow_sessions WHERE session_id = ?"#,
                session_id
            )
            .fetch_one(&mut *conn)
        )
    })
    .await
}

/// Whether another running process may own the skill: true iff the skill is in the
/// master and one of its sessions is open with a live pid. Never an error: a database
/// failure is logged (`warn`) and reported as `false`.
///
/// An open session of the skill whose `pid` is not an integer (`'three'`, 2.5, a
/// BLOB) or whose `pid_started_at` is neither an integer nor NULL **counts as live**:
/// its process cannot be told, and answering "dead" from a guessed pid (sqlx alone
/// reads `'three'` as 0) would let a second editor in. Each such session is logged
/// with `tracing::warn!` (table, rowid, column, problem) and counted in the span's
/// `skipped` field.
///
/// Only the sessions linked to the skill's master row (`skill_id`) count (issue 10):
/// a session stored without a master link, or detached when its skill was deleted
/// (`skill_id` NULL), belongs to no skill, so a skill created (or re-created) later
/// under the same name does not inherit it.
///
/// # Differences from the existing layer
/// A session whose pid cannot be read counts as live (the existing layer read it with
/// SQLite's conversions, as pid 0: dead).
#[instrument(skip_all, fields(skill_name = %skill_name, skipped))]
pub async fn has_active_session_with_live_pid(db: &mut dyn Reader, skill_name: &str) -> bool {
    spin_then_park(async move {
        let sessions = sqlx::query!(
            r#"SELECT ws.rowid AS "rowid!: i64", ws.pid AS "pid: Checked<i64>",
                      ws.pid_started_at AS "started!: Checked<Option<i64>>"
               FROM workflow_sessions ws JOIN skills s ON s.name = ?
               WHERE ws.ended_at IS NULL AND ws.skill_id = s.id"#,
            skill_name
        )
        .fetch_all(db.connection())
        .await;
        let sessions = match sessions {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::warn!(%error, "cannot check the skill's sessions; assuming none is active");
                return false;
            }
        };
        let mut unreadable = 0_usize;
        let mut judged = Vec::with_capacity(sessions.len());
        for s in sessions {
            match malformed::pid_of(s.pid, s.started) {
                Ok(pid) => judged.push(pid),
                Err((column, problem)) => {
                    malformed::not_acted_on(
                        "has_active_session_with_live_pid",
                        TABLE,
                        s.rowid,
                        column,
                        &problem,
                        "counted a session as live",
                    );
                    unreadable += 1;
                }
            }
        }
        if unreadable > 0 {
            tracing::Span::current().record("skipped", unreadable);
            return true;
        }
        judged
            .into_iter()
            .any(|(pid, started)| pid::is_alive_since(pid, started))
    })
    .await
}

/// The table of this module.
const TABLE: &str = "workflow_sessions";

/// Close the sessions left open by processes that are no longer running; returns how
/// many were closed. Sessions of live processes stay open. A session whose pid now
/// belongs to a process started after the one recorded with it (`pid_started_at`,
/// see [`pid::is_alive_since`]) is a dead process's; sessions without a recorded
/// start time are checked by pid alone.
///
/// A closed session's `ended_at` is the latest `completed_at` of the agent runs
/// recorded for it (`agent_runs.workflow_session_id`), else its own `started_at`,
/// else now (taken before the next change); a `completed_at` or `started_at` that is
/// not text (a BLOB written by another tool, which SQLite ranks above every text) is
/// never taken. Then its agent runs still `running`
/// become `shutdown` with `completed_at` = now: their process is gone, they will never
/// finish. Sessions with pid 0 (rows created for agent runs, see
/// [`crate::agent_runs::persist_agent_run`]) count as dead.
///
/// A session is judged by its `pid` and `pid_started_at` only. An open session whose
/// `pid` is not an integer (`'three'`, 2.5, a BLOB) or whose `pid_started_at` is
/// neither an integer nor NULL is **left open**, its agent runs untouched: its
/// process cannot be told (sqlx alone reads `'three'` as 0, a dead pid). Each such
/// session is logged with `tracing::warn!` (table, rowid, column, problem) and
/// counted in the span's `skipped` field; the other sessions are reconciled as usual.
///
/// # Differences from the existing layer
/// Ending the agent runs is new: the existing layer left them `running` with no
/// `completed_at` forever ("ghost running agent runs", fixed by the existing app
/// later, its step 34; files upgraded with such rows are repaired by step
/// 20261130100000).
/// Agent runs are matched on `workflow_session_id`; the existing layer compared the
/// workflow session id with `agent_runs.session_id` (the SDK conversation id), which
/// never matches, so it always fell back to `started_at` (§14.3). All updates are one
/// statement in one transaction (one read of the open sessions, one update), each
/// distinct pid is checked once. A session whose pid cannot be read stays open (the
/// existing layer read it with SQLite's conversions, `'three'` as pid 0, and closed
/// it).
///
/// # Errors
/// The database error; nothing is closed then.
#[instrument(skip_all, fields(closed, runs_shut_down, skipped), err)]
pub async fn reconcile_orphaned_sessions(conn: &mut SqliteConnection) -> Result<u64> {
    spin_then_park(async move {
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let open = sqlx::query!(
            r#"SELECT rowid AS "rowid!: i64", pid AS "pid: Checked<i64>",
                  pid_started_at AS "started!: Checked<Option<i64>>"
           FROM workflow_sessions WHERE ended_at IS NULL"#
        )
        .fetch_all(&mut *tx)
        .await?;
        let dead = malformed::dead_rowids(
            "reconcile_orphaned_sessions",
            TABLE,
            "left a session open",
            open.into_iter().map(|r| (r.rowid, r.pid, r.started)),
        );
        if dead.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        // The dead sessions by rowid: their ids are only compared in SQL, never decoded.
        let dead = serde_json::Value::from(dead).to_string();
        let done = sqlx::query!(
            "WITH dead AS MATERIALIZED (
             SELECT rowid AS rid, session_id AS sid FROM workflow_sessions
             WHERE rowid IN (SELECT value FROM json_each(?1))
         ),
         last_run AS MATERIALIZED (
             SELECT workflow_session_id AS sid,
                    -- why: SQL decides; SQLite ranks a BLOB above every text
                    MAX(CASE WHEN typeof(completed_at) = 'text' THEN completed_at END)
                        AS last_completed
             FROM agent_runs
             WHERE workflow_session_id IN (SELECT sid FROM dead)
             GROUP BY workflow_session_id
         )
         UPDATE workflow_sessions
         SET ended_at = COALESCE(
             (SELECT last_completed FROM last_run WHERE sid = workflow_sessions.session_id),
             CASE WHEN typeof(started_at) = 'text' THEN started_at END, -- why: as above
             datetime('now') || 'Z')
         WHERE ended_at IS NULL AND rowid IN (SELECT rid FROM dead)",
            dead
        )
        .execute(&mut *tx)
        .await?;
        // Their process is gone: agent runs still `running` in them never finish.
        let ghosts = sqlx::query!(
            "UPDATE agent_runs SET status = 'shutdown', completed_at = datetime('now') || 'Z'
         WHERE status = 'running'
           AND workflow_session_id IN (
               SELECT session_id FROM workflow_sessions
               WHERE rowid IN (SELECT value FROM json_each(?1)))",
            dead
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let span = tracing::Span::current();
        span.record("closed", done.rows_affected());
        span.record("runs_shut_down", ghosts.rows_affected());
        Ok(done.rows_affected())
    })
    .await
}
