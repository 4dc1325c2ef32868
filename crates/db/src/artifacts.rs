//! The `workflow_artifacts` table: files produced by workflow steps, stored inline
//! (operations.md §5; the existing layer had no store/get/list operations, these are
//! the ones implied by the table's purpose).
//!
//! An artifact belongs to a run when it carries the run's skill name and links to the
//! run (or has a NULL link, left by an artifact written before the run existed).
//! Timestamps are `YYYY-MM-DD HH:MM:SSZ`.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::artifacts;
//!
//! artifacts::upsert_artifact(&mut conn, "sales-pipeline", 0, "context/research.md", "# Research").await?;
//! for meta in artifacts::list_artifacts(&mut conn, "sales-pipeline", None).await? {
//!     println!("{} {} bytes", meta.relative_path, meta.size_bytes);
//! }
//! let file = artifacts::get_artifact(&mut conn, "sales-pipeline", 0, "context/research.md").await?;
//! assert!(file.is_some());
//! artifacts::delete_artifacts_from_step(&mut conn, "sales-pipeline", 0).await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{ArtifactMeta, WorkflowArtifact, WorkflowRunId};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::{require_name, require_no_nul};
use crate::malformed::{checked_list, checked_one};
use crate::workflow_steps::require_step;
use crate::{Entity, Error, Result};

/// Store a step's output file (insert, or replace the file at the same skill, step and
/// path).
///
/// `size_bytes` is the UTF-8 byte length of `content`. `workflow_run_id` is resolved
/// from the name (NULL when the skill has no run). On replace, `content`,
/// `size_bytes` and `updated_at` change and `created_at` is kept. The skill must have
/// a master row.
///
/// # Differences from the existing layer
/// A name without a master row is refused with [`Error::NotFound`] instead of being
/// stored with a NULL link: a process still running for a deleted skill must not
/// leave files that a skill re-created under the name would adopt (issue 10).
///
/// # Errors
/// [`Error::NotFound`] with [`Entity::Skill`] when no master row has this name
/// (nothing is written);
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
pub async fn upsert_artifact(
    conn: &mut dyn Writer,
    skill_name: &str,
    step_id: i64,
    relative_path: &str,
    content: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_step(step_id)?;
        require_name("relative_path", relative_path)?;
        require_no_nul("content", content)?;
        // infallible: a `str` holds at most `isize::MAX` bytes, which fits in an i64.
        let size_bytes = i64::try_from(content.len()).unwrap_or(i64::MAX);
        let done = sqlx::query!(
            "INSERT INTO workflow_artifacts
             (skill_name, step_id, relative_path, content, size_bytes, workflow_run_id)
         SELECT ?1, ?2, ?3, ?4, ?5, (SELECT id FROM workflow_runs WHERE skill_name = ?1)
         WHERE EXISTS (SELECT 1 FROM skills WHERE name = ?1)
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

/// One artifact with its content, by skill name, step and path; `None` when absent.
///
/// # Errors
/// [`Error::Malformed`] naming the table, the key
/// (`skill/step/path`) and the column when the stored row holds a value the typed
/// API cannot read exactly (e.g. text in `size_bytes`, invalid UTF-8 content; see
/// [`crate::malformed`]); the database error.
#[instrument(skip_all, fields(skill_name = skill_name, step_id = step_id, relative_path = relative_path), err)]
pub async fn get_artifact(
    db: &mut dyn Reader,
    skill_name: &str,
    step_id: i64,
    relative_path: &str,
) -> Result<Option<WorkflowArtifact>> {
    spin_then_park(async move {
        let conn = db.connection();
        let key = format!("{skill_name}/{step_id}/{relative_path}");
        checked_one!(
            conn,
            TABLE,
            key.clone(),
            Error::not_found(Entity::Artifact, key),
            sqlx::query_as!(
                WorkflowArtifact,
                r#"SELECT skill_name AS "skill_name: _", step_id AS "step_id: _",
                  relative_path AS "relative_path: _", content AS "content: _",
                  size_bytes AS "size_bytes: _", created_at AS "created_at: _",
                  updated_at AS "updated_at: _", workflow_run_id AS "workflow_run_id: _"
           FROM workflow_artifacts
               WHERE skill_name = ? AND step_id = ? AND relative_path = ?"#,
                skill_name,
                step_id,
                relative_path
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workflow_artifacts
               WHERE skill_name = ? AND step_id = ? AND relative_path = ?"#,
                skill_name,
                step_id,
                relative_path
            )
            .fetch_one(&mut *conn)
        )
    })
    .await
}

/// The table of this module.
const TABLE: &str = "workflow_artifacts";

/// The columns the lists read (for the rows they skip).
const META_COLUMNS: [&str; 7] = [
    "skill_name",
    "step_id",
    "relative_path",
    "size_bytes",
    "created_at",
    "updated_at",
    "workflow_run_id",
];

/// One row as the lists read it (`content` is `None` for the lists without content).
struct Row {
    skill_name: String,
    step_id: i64,
    relative_path: String,
    content: Option<String>,
    size_bytes: i64,
    created_at: String,
    updated_at: String,
    workflow_run_id: Option<WorkflowRunId>,
}

impl Row {
    fn into_artifact(self) -> Option<WorkflowArtifact> {
        Some(WorkflowArtifact {
            skill_name: self.skill_name,
            step_id: self.step_id,
            relative_path: self.relative_path,
            content: self.content?,
            size_bytes: self.size_bytes,
            created_at: self.created_at,
            updated_at: self.updated_at,
            workflow_run_id: self.workflow_run_id,
        })
    }

    fn into_meta(self) -> ArtifactMeta {
        ArtifactMeta {
            skill_name: self.skill_name,
            step_id: self.step_id,
            relative_path: self.relative_path,
            size_bytes: self.size_bytes,
            created_at: self.created_at,
            updated_at: self.updated_at,
            workflow_run_id: self.workflow_run_id,
        }
    }
}

/// The artifacts of a skill's run without their content, ordered by `step_id` then
/// `relative_path`; only step `step` when given. No run row → empty list.
///
/// A row the typed API cannot read exactly (text or a real in `step_id` or
/// `size_bytes`, a BLOB or invalid UTF-8 path, …) is skipped and reported, never
/// substituted (see [`crate::malformed`]: a `tracing::warn!` per bad value of the
/// table, the span's `skipped` field counts the rows). `content` is not read, so a
/// bad content does not hide the row here.
///
/// # Differences from the existing layer
/// One unreadable row no longer fails the list (or reads as a wrong number).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, step = ?step, count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn list_artifacts(
    db: &mut dyn Reader,
    skill_name: &str,
    step: Option<i64>,
) -> Result<Vec<ArtifactMeta>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = list(&mut *conn, skill_name, step, false, "list_artifacts").await?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows.into_iter().map(Row::into_meta).collect())
    })
    .await
}

/// Like [`list_artifacts`], with each artifact's content (a row whose content cannot
/// be read exactly is skipped and reported too).
///
/// # Differences from the existing layer
/// As [`list_artifacts`].
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = skill_name, step = ?step, count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn list_artifacts_with_content(
    db: &mut dyn Reader,
    skill_name: &str,
    step: Option<i64>,
) -> Result<Vec<WorkflowArtifact>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = list(
            &mut *conn,
            skill_name,
            step,
            true,
            "list_artifacts_with_content",
        )
        .await?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows.into_iter().filter_map(Row::into_artifact).collect())
    })
    .await
}

/// The readable rows of a list: read once; when a row is not readable, name the bad
/// rows of the table and read again without them.
async fn list(
    conn: &mut SqliteConnection,
    skill_name: &str,
    step: Option<i64>,
    content: bool,
    operation: &'static str,
) -> Result<Vec<Row>> {
    let columns: &[&str] = if content { &[] } else { &META_COLUMNS };
    checked_list!(conn, TABLE, columns, operation, |skip| read(
        &mut *conn, skill_name, step, content, skip
    ))
}

/// The rows of a skill's run not in `skip` (a JSON array of rowids), with their
/// content when `content`.
async fn read(
    conn: &mut SqliteConnection,
    skill_name: &str,
    step: Option<i64>,
    content: bool,
    skip: &str,
) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as!(
        Row,
        r#"SELECT a.skill_name AS "skill_name: _", a.step_id AS "step_id: _",
                  a.relative_path AS "relative_path: _",
                  CASE WHEN ?3 THEN a.content END AS "content?: _",
                  a.size_bytes AS "size_bytes: _", a.created_at AS "created_at: _",
                  a.updated_at AS "updated_at: _", a.workflow_run_id AS "workflow_run_id: _"
           FROM workflow_artifacts a JOIN workflow_runs r ON r.skill_name = a.skill_name
           WHERE a.skill_name = ?1
             AND (a.workflow_run_id = r.id OR a.workflow_run_id IS NULL)
             AND (?2 IS NULL OR a.step_id = ?2)
             AND a.rowid NOT IN (SELECT value FROM json_each(?4))
           ORDER BY a.step_id, a.relative_path"#,
        skill_name,
        step,
        content,
        skip
    )
    .fetch_all(conn)
    .await
}

/// Remove every artifact of the skill's run with `step_id >= from_step` (the companion
/// of [`reset_workflow_steps_from`](crate::workflow_steps::reset_workflow_steps_from)).
/// No run row → nothing deleted. Any `from_step` is accepted. Returns the number of
/// artifacts deleted.
///
/// An artifact whose `step_id` is not an integer (`'three'`, 2.5 or a BLOB written by
/// another tool) is never deleted: SQLite would rank text and BLOBs above every step,
/// and the row's step cannot be read (the lists skip it; `skill-builder-db check`
/// names it).
///
/// # Errors
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad name; the
/// database error.
#[instrument(skip_all, fields(skill_name = skill_name, from_step = from_step, count = tracing::field::Empty), err)]
pub async fn delete_artifacts_from_step(
    conn: &mut dyn Writer,
    skill_name: &str,
    from_step: i64,
) -> Result<u64> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        let count = sqlx::query!(
            "DELETE FROM workflow_artifacts
         WHERE skill_name = ?1 AND step_id >= ?2
           -- why: SQL decides; SQLite ranks 'three' above every step, never delete it
           AND typeof(step_id) = 'integer'
           AND EXISTS (SELECT 1 FROM workflow_runs r
                       WHERE r.skill_name = ?1
                         AND (workflow_artifacts.workflow_run_id = r.id
                              OR workflow_artifacts.workflow_run_id IS NULL))",
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
