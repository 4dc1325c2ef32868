//! The `workflow_steps` table: status and timing of each step of a skill's workflow
//! (operations.md §4).
//!
//! Step ids are [`STEP_IDS`] (0 Research … 5 Generate Skill). Writes refuse any other
//! id with [`InvalidInput::StepOutOfRange`]; reads never fail on one (older files may
//! hold other ids). `started_at`/`completed_at` are RFC 3339 UTC with sub-second
//! digits and a `+00:00` offset (`2026-01-31T12:00:00.123+00:00`), computed by SQLite.
//!
//! A step belongs to a run when it carries the run's skill name and links to the run
//! (or has a NULL link, left by a step saved before the run existed).
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::{model::StepStatus, workflow_steps};
//!
//! workflow_steps::save_workflow_step(&mut conn, "sales-pipeline", 0, &StepStatus::InProgress).await?;
//! workflow_steps::save_workflow_step(&mut conn, "sales-pipeline", 0, &StepStatus::Completed).await?;
//! for step in workflow_steps::get_workflow_steps(&mut conn, "sales-pipeline").await? {
//!     println!("{} {} {:?}", step.step_id, step.status, step.completed_at);
//! }
//! workflow_steps::reset_workflow_steps_from(&mut conn, "sales-pipeline", 0).await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use std::ops::RangeInclusive;

use crate::{Reader, Writer};
use skill_builder_model::{StepStatus, WorkflowStep};
use tracing::instrument;

use crate::error::{require_name, require_no_nul};
use crate::malformed::checked_list;
use crate::{Entity, Error, InvalidInput, Result};

/// The table of this module.
const TABLE: &str = "workflow_steps";

/// The step ids a write accepts: 0 Research, 1 Review, 2 Detailed Research,
/// 3 Review, 4 Confirm Decisions, 5 Generate Skill.
pub const STEP_IDS: RangeInclusive<i64> = 0..=5;

/// Refuse a step id outside [`STEP_IDS`].
pub(crate) fn require_step(step_id: i64) -> Result<()> {
    if STEP_IDS.contains(&step_id) {
        Ok(())
    } else {
        Err(InvalidInput::StepOutOfRange(step_id).into())
    }
}

/// Record a step's status (insert or update keyed on skill name and step id).
///
/// "Now" is taken once for the statement:
/// - `in_progress`: `started_at` = now (re-entering restarts the clock),
///   `completed_at` = NULL;
/// - `completed`: `started_at` kept (NULL on a fresh row), `completed_at` = now;
/// - any other status: `started_at` kept, `completed_at` = NULL.
///
/// `status` is always overwritten. `workflow_run_id` is resolved from the name; when
/// the skill (a master row) has no run it stays NULL (or keeps its value). The skill
/// must have a master row.
///
/// # Differences from the existing layer
/// - Step ids outside [`STEP_IDS`] are refused (the existing layer accepted any).
/// - A name without a master row is refused with [`Error::NotFound`] (the existing
///   layer stored a NULL-linked row): a process still running for a deleted skill
///   must not leave steps that a skill re-created under the name would adopt
///   (issue 10).
/// - Timestamps have millisecond digits (`.123`) instead of the application clock's
///   variable-length fraction; both are RFC 3339 with `+00:00`.
///
/// # Errors
/// [`Error::NotFound`] with [`Entity::Skill`] when no master row has this name
/// (nothing is written); [`InvalidInput::StepOutOfRange`], [`InvalidInput::Empty`],
/// [`InvalidInput::ContainsNul`]; the database error.
#[instrument(skip_all, fields(skill_name = skill_name, step_id = step_id, status = %status), err)]
pub async fn save_workflow_step(
    conn: &mut dyn Writer,
    skill_name: &str,
    step_id: i64,
    status: &StepStatus,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_step(step_id)?;
        require_no_nul("status", status.as_str())?;
        let done = sqlx::query!(
            "INSERT INTO workflow_steps
             (skill_name, step_id, status, started_at, completed_at, workflow_run_id)
         SELECT ?1, ?2, ?3,
                CASE WHEN ?3 = 'in_progress' THEN n.now END,
                CASE WHEN ?3 = 'completed' THEN n.now END,
                (SELECT id FROM workflow_runs WHERE skill_name = ?1)
         FROM (SELECT strftime('%Y-%m-%dT%H:%M:%f', 'now') || '+00:00' AS now) AS n
         WHERE EXISTS (SELECT 1 FROM skills WHERE name = ?1)
         ON CONFLICT (skill_name, step_id) DO UPDATE SET
             status = excluded.status,
             started_at = CASE WHEN excluded.status = 'in_progress'
                               THEN excluded.started_at ELSE started_at END,
             completed_at = excluded.completed_at,
             workflow_run_id = COALESCE(excluded.workflow_run_id, workflow_run_id)",
            skill_name,
            step_id,
            status
        )
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            // The skill has no master row (never created, or deleted).
            return Err(Error::not_found(Entity::Skill, skill_name));
        }
        Ok(())
    })
    .await
}

/// The steps of a skill's run, ordered by `step_id`; no run row → empty list.
///
/// # Differences from the existing layer
/// Steps carrying the skill's name with a NULL `workflow_run_id` (saved before the run
/// existed, in files written by the existing app) are included; the existing layer
/// matched by link only and never showed them (operations.md §14.6).
///
/// A step row the typed API cannot read exactly (text or a real in `step_id`, a BLOB
/// or invalid UTF-8 in a text column, a NULL key) is skipped and reported, never
/// substituted (see [`crate::malformed`]: a `tracing::warn!` per bad value of the
/// table, the span's `skipped` field counts the rows).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn get_workflow_steps(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Vec<WorkflowStep>> {
    spin_then_park(async move {
        let conn = db.connection();
        let steps = checked_list!(conn, TABLE, &[], "get_workflow_steps", |skip| {
            sqlx::query_as!(
                WorkflowStep,
                r#"SELECT s.skill_name AS "skill_name: _", s.step_id AS "step_id: _",
                      s.status AS "status: _", s.started_at AS "started_at: _",
                      s.completed_at AS "completed_at: _",
                      s.workflow_run_id AS "workflow_run_id: _"
               FROM workflow_steps s JOIN workflow_runs r ON r.skill_name = s.skill_name
               WHERE s.skill_name = ?1
                 AND (s.workflow_run_id = r.id OR s.workflow_run_id IS NULL)
                 AND s.rowid NOT IN (SELECT value FROM json_each(?2))
               ORDER BY s.step_id"#,
                skill_name,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        tracing::Span::current().record("count", steps.len());
        Ok(steps)
    })
    .await
}

/// Rewind a workflow: every step of the skill's run with `step_id >= from_step` gets
/// status `pending` and NULL `started_at`/`completed_at`. Rows are kept; earlier
/// steps, the run's `current_step`/`status`, artifacts and agent runs are untouched.
/// No run row → nothing changes. Idempotent. Any `from_step` is accepted (a negative
/// one rewinds every step). Returns the number of step rows rewound.
///
/// A step row whose `step_id` is not an integer (`'three'`, 2.5 or a BLOB written by
/// another tool) is left as it is: SQLite would rank text and BLOBs above every step,
/// and the row's step cannot be read (the lists skip it; `skill-builder-db check`
/// names it).
///
/// # Differences from the existing layer
/// Also rewinds the run's steps that have a NULL `workflow_run_id` (see
/// [`get_workflow_steps`]), and reports the count.
///
/// # Errors
/// [`InvalidInput::Empty`] / [`InvalidInput::ContainsNul`] for a bad name; the
/// database error.
#[instrument(skip_all, fields(skill_name = skill_name, from_step = from_step, count = tracing::field::Empty), err)]
pub async fn reset_workflow_steps_from(
    conn: &mut dyn Writer,
    skill_name: &str,
    from_step: i64,
) -> Result<u64> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        let count = sqlx::query!(
            "UPDATE workflow_steps
         SET status = 'pending', started_at = NULL, completed_at = NULL
         WHERE skill_name = ?1 AND step_id >= ?2
           -- why: SQL decides; SQLite ranks 'three' above every step, never rewind it
           AND typeof(step_id) = 'integer'
           AND EXISTS (SELECT 1 FROM workflow_runs r
                       WHERE r.skill_name = ?1
                         AND (workflow_steps.workflow_run_id = r.id
                              OR workflow_steps.workflow_run_id IS NULL))",
            skill_name,
            from_step
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
        tracing::Span::current().record("count", count);
        Ok(count)
    })
    .await
}
