//! The `workflow_artifacts` table: files produced by workflow steps, stored inline
//! (operations.md §5; the existing layer had no store/get/list operations, these are
//! the ones implied by the table's purpose).
//!
//! An artifact belongs to a run when it carries the run's skill name and links to the
//! run (or has a NULL link, left by an artifact written before the run existed).
//! Timestamps are `YYYY-MM-DD HH:MM:SSZ`.
//!
//! ```no_run
//! # async fn demo(pool: &sqlx::SqlitePool) -> skill_builder_db::Result<()> {
//! use skill_builder_db::artifacts;
//!
//! artifacts::upsert_artifact(pool, "sales-pipeline", 0, "context/research.md", "# Research").await?;
//! for meta in artifacts::list_artifacts(pool, "sales-pipeline", None).await? {
//!     println!("{} {} bytes", meta.relative_path, meta.size_bytes);
//! }
//! let file = artifacts::get_artifact(pool, "sales-pipeline", 0, "context/research.md").await?;
//! assert!(file.is_some());
//! artifacts::delete_artifacts_from_step(pool, "sales-pipeline", 0).await?;
//! # Ok(()) }
//! ```

use skill_builder_model::{ArtifactMeta, WorkflowArtifact, WorkflowRunId};
use sqlx::SqliteExecutor;
use tracing::instrument;

use crate::Result;
use crate::error::{require_name, require_no_nul};
use crate::workflow_steps::require_step;

/// Store a step's output file (insert, or replace the file at the same skill, step and
/// path).
///
/// `size_bytes` is the UTF-8 byte length of `content`. `workflow_run_id` is resolved
/// from the name (NULL when the skill has no run yet; linked later by
/// [`save_workflow_run`](crate::workflow_runs::save_workflow_run)). On replace,
/// `content`, `size_bytes` and `updated_at` change and `created_at` is kept.
///
/// # Errors
/// [`InvalidInput::StepOutOfRange`](crate::InvalidInput::StepOutOfRange) for a step
/// id outside [`STEP_IDS`](crate::workflow_steps::STEP_IDS);
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) for an empty skill name or
/// path; [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a NUL in the name,
/// path or content; the database error.
#[instrument(
    skip_all,
    fields(skill_name = skill_name, step_id = step_id, relative_path = relative_path, size_bytes = content.len()),
    err
)]
pub async fn upsert_artifact<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    step_id: i64,
    relative_path: &str,
    content: &str,
) -> Result<()> {
    require_name("skill_name", skill_name)?;
    require_step(step_id)?;
    require_name("relative_path", relative_path)?;
    require_no_nul("content", content)?;
    // infallible: a `str` holds at most `isize::MAX` bytes, which fits in an i64.
    let size_bytes = i64::try_from(content.len()).unwrap_or(i64::MAX);
    sqlx::query!(
        "INSERT INTO workflow_artifacts
             (skill_name, step_id, relative_path, content, size_bytes, workflow_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT id FROM workflow_runs WHERE skill_name = ?1))
         ON CONFLICT (skill_name, step_id, relative_path) DO UPDATE SET
             content = excluded.content,
             size_bytes = excluded.size_bytes,
             updated_at = datetime('now') || 'Z',
             workflow_run_id = COALESCE(excluded.workflow_run_id, workflow_run_id)",
        skill_name,
        step_id,
        relative_path,
        content,
        size_bytes
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One artifact with its content, by skill name, step and path; `None` when absent.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, step_id = step_id, relative_path = relative_path), err)]
pub async fn get_artifact<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    step_id: i64,
    relative_path: &str,
) -> Result<Option<WorkflowArtifact>> {
    let artifact = sqlx::query_as!(
        WorkflowArtifact,
        r#"SELECT skill_name, step_id, relative_path, content, size_bytes,
                  created_at, updated_at,
                  workflow_run_id AS "workflow_run_id: WorkflowRunId"
           FROM workflow_artifacts
           WHERE skill_name = ? AND step_id = ? AND relative_path = ?"#,
        skill_name,
        step_id,
        relative_path
    )
    .fetch_optional(db)
    .await?;
    Ok(artifact)
}

/// The artifacts of a skill's run without their content, ordered by `step_id` then
/// `relative_path`; only step `step` when given. No run row → empty list.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, step = ?step, count = tracing::field::Empty), err)]
pub async fn list_artifacts<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    step: Option<i64>,
) -> Result<Vec<ArtifactMeta>> {
    let rows = sqlx::query_as!(
        ArtifactMeta,
        r#"SELECT a.skill_name, a.step_id, a.relative_path, a.size_bytes,
                  a.created_at, a.updated_at,
                  a.workflow_run_id AS "workflow_run_id: WorkflowRunId"
           FROM workflow_artifacts a JOIN workflow_runs r ON r.skill_name = a.skill_name
           WHERE a.skill_name = ?1
             AND (a.workflow_run_id = r.id OR a.workflow_run_id IS NULL)
             AND (?2 IS NULL OR a.step_id = ?2)
           ORDER BY a.step_id, a.relative_path"#,
        skill_name,
        step
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// Like [`list_artifacts`], with each artifact's content.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, step = ?step, count = tracing::field::Empty), err)]
pub async fn list_artifacts_with_content<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    step: Option<i64>,
) -> Result<Vec<WorkflowArtifact>> {
    let rows = sqlx::query_as!(
        WorkflowArtifact,
        r#"SELECT a.skill_name, a.step_id, a.relative_path, a.content, a.size_bytes,
                  a.created_at, a.updated_at,
                  a.workflow_run_id AS "workflow_run_id: WorkflowRunId"
           FROM workflow_artifacts a JOIN workflow_runs r ON r.skill_name = a.skill_name
           WHERE a.skill_name = ?1
             AND (a.workflow_run_id = r.id OR a.workflow_run_id IS NULL)
             AND (?2 IS NULL OR a.step_id = ?2)
           ORDER BY a.step_id, a.relative_path"#,
        skill_name,
        step
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// Remove every artifact of the skill's run with `step_id >= from_step` (the companion
/// of [`reset_workflow_steps_from`](crate::workflow_steps::reset_workflow_steps_from)).
/// No run row → nothing deleted. Any `from_step` is accepted. Returns the number of
/// artifacts deleted.
///
/// # Errors
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad name; the
/// database error.
#[instrument(skip_all, fields(skill_name = skill_name, from_step = from_step, count = tracing::field::Empty), err)]
pub async fn delete_artifacts_from_step<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    from_step: i64,
) -> Result<u64> {
    require_name("skill_name", skill_name)?;
    let count = sqlx::query!(
        "DELETE FROM workflow_artifacts
         WHERE skill_name = ?1 AND step_id >= ?2
           AND EXISTS (SELECT 1 FROM workflow_runs r
                       WHERE r.skill_name = ?1
                         AND (workflow_artifacts.workflow_run_id = r.id
                              OR workflow_artifacts.workflow_run_id IS NULL))",
        skill_name,
        from_step
    )
    .execute(db)
    .await?
    .rows_affected();
    tracing::Span::current().record("count", count);
    Ok(count)
}
