//! The `workflow_runs` table: builder state of skills made with the in-app workflow
//! (operations.md §3), plus the frontmatter and purpose updates that also reach the
//! master row.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::{model::WorkflowRunStatus, workflow_runs};
//!
//! workflow_runs::save_workflow_run(&mut *conn, "sales-pipeline", 3, &WorkflowRunStatus::InProgress, "domain").await?;
//! workflow_runs::set_skill_author(&mut *conn, "sales-pipeline", "octocat", None).await?;
//! let run = workflow_runs::get_workflow_run(&mut *conn, "sales-pipeline").await?;
//! assert_eq!(run.map(|r| r.current_step), Some(3));
//! workflow_runs::delete_workflow_run(&mut *conn, "sales-pipeline").await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{
    DEFAULT_PURPOSE, SkillBehaviour, SkillSource, WorkflowRun, WorkflowRunStatus,
};
use tracing::instrument;

use crate::error::{require_name, require_no_nul};
use crate::malformed::{Checked, checked_list, checked_one};
use crate::{Entity, Error, Result, skills, tx};

/// The table of this module.
const TABLE: &str = "workflow_runs";

/// Create or update a skill's workflow position, in one `BEGIN IMMEDIATE` transaction.
///
/// 1. The master row is upserted with source `skill-builder` (an existing row keeps
///    its source and gets `purpose` updated; see [`skills::upsert_skill`]).
/// 2. The run row is inserted (column defaults: source `created`, version `1.0.0`,
///    `user_invocable` true, `disable_model_invocation` false, others NULL) or, when
///    the name exists, `current_step`, `status`, `purpose`, `skill_id` and
///    `updated_at` (now, `YYYY-MM-DD HH:MM:SSZ`) are overwritten; `created_at`,
///    author, display name, intake and frontmatter are kept.
///
/// Both upserts run in one transaction (a savepoint inside the caller's).
///
/// `current_step` is not range-checked and `status` is free text.
///
/// # Differences from the existing layer
/// Atomic instead of two autocommit statements. A created run (or master row) adopts
/// nothing: rows already carrying the name with a NULL link, such as the detached
/// usage history or late writes of a deleted skill of the same name, stay unlinked,
/// so a re-created skill starts empty (issue 10; the existing app later removed its
/// runtime orphan resolution too).
///
/// # Errors
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad name,
/// status or purpose; the database error (nothing is written then).
#[instrument(skip_all, fields(skill_name = skill_name, current_step = current_step, status = %status), err)]
pub async fn save_workflow_run(
    conn: &mut dyn Writer,
    skill_name: &str,
    current_step: i64,
    status: &WorkflowRunStatus,
    purpose: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("status", status.as_str())?;
        require_no_nul("purpose", purpose)?;
        let mut tx = tx::begin_immediate(&mut *conn).await?;
        // Both upserts in one round trip to the connection's worker: SQLite runs the
        // statements of one query text in order (parameters bound in order).
        sqlx::query!(
            "INSERT INTO skills (name, skill_source, purpose) VALUES (?, 'skill-builder', ?)
         ON CONFLICT (name) DO UPDATE SET
             purpose = excluded.purpose,
             updated_at = datetime('now');
         INSERT INTO workflow_runs (skill_name, current_step, status, purpose, skill_id)
         VALUES (?, ?, ?, ?, (SELECT id FROM skills WHERE name = ?))
         ON CONFLICT (skill_name) DO UPDATE SET
             current_step = excluded.current_step,
             status = excluded.status,
             purpose = excluded.purpose,
             skill_id = excluded.skill_id,
             updated_at = datetime('now') || 'Z'",
            skill_name,
            purpose,
            skill_name,
            current_step,
            status,
            purpose,
            skill_name
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Register a marketplace skill in the catalogue: the master row is upserted with
/// source `marketplace` (an existing row keeps its source); no run row is created.
///
/// # Differences from the existing layer
/// None in behaviour; as [`skills::upsert_skill`], a created master row adopts no
/// NULL-linked rows of the same name.
///
/// # Errors
/// As [`skills::upsert_skill`].
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn save_marketplace_skill(
    conn: &mut dyn Writer,
    skill_name: &str,
    purpose: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        skills::upsert_skill(conn, skill_name, &SkillSource::Marketplace, Some(purpose)).await?;
        Ok(())
    })
    .await
}

/// Overwrite the run row's author (`author_avatar` `None` → NULL). `updated_at` is
/// not touched. No run row → no-op.
///
/// # Errors
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a NUL in any
/// input; the database error.
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn set_skill_author(
    conn: &mut dyn Writer,
    skill_name: &str,
    author_login: &str,
    author_avatar: Option<&str>,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("author_login", author_login)?;
        require_no_nul("author_avatar", author_avatar.unwrap_or_default())?;
        sqlx::query!(
            "UPDATE workflow_runs SET author_login = ?, author_avatar = ? WHERE skill_name = ?",
            author_login,
            author_avatar,
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Set (or with `None` clear) the run row's `display_name` and bump `updated_at`.
/// No run row → no-op.
///
/// # Errors
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a NUL in any
/// input; the database error.
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn set_skill_display_name(
    conn: &mut dyn Writer,
    skill_name: &str,
    display_name: Option<&str>,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("display_name", display_name.unwrap_or_default())?;
        sqlx::query!(
            "UPDATE workflow_runs SET display_name = ?, updated_at = datetime('now') || 'Z'
         WHERE skill_name = ?",
            display_name,
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Set (or with `None` clear) the run row's intake answers (`intake_json`, opaque
/// JSON text) and bump `updated_at`. No run row → no-op.
///
/// # Errors
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a NUL in any
/// input; the database error.
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn set_skill_intake(
    conn: &mut dyn Writer,
    skill_name: &str,
    intake_json: Option<&str>,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("intake_json", intake_json.unwrap_or_default())?;
        sqlx::query!(
            "UPDATE workflow_runs SET intake_json = ?, updated_at = datetime('now') || 'Z'
         WHERE skill_name = ?",
            intake_json,
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Update SKILL.md frontmatter for a skill of any source.
///
/// Each `Some` field overwrites, each `None` field keeps the stored value (a field
/// cannot be cleared through this call). Applied to the master row (`updated_at`
/// plain time) and, when one exists, to the run row (`updated_at` `Z`-stamped);
/// both `updated_at` are bumped even when every field is `None`. Missing rows →
/// no-op.
///
/// # Differences from the existing layer
/// Both updates run in one transaction (the existing layer used two autocommit
/// statements).
///
/// # Errors
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad input;
/// the database error (nothing is written then).
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn set_skill_behaviour(
    conn: &mut dyn Writer,
    skill_name: &str,
    behaviour: &SkillBehaviour,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        for (field, value) in [
            ("description", &behaviour.description),
            ("version", &behaviour.version),
            ("model", &behaviour.model),
            ("argument_hint", &behaviour.argument_hint),
        ] {
            require_no_nul(field, value.as_deref().unwrap_or_default())?;
        }
        let SkillBehaviour {
            description,
            version,
            model,
            argument_hint,
            user_invocable,
            disable_model_invocation,
        } = behaviour;
        let mut tx = tx::begin_immediate(conn).await?;
        sqlx::query!(
            "UPDATE skills SET
             description = COALESCE(?1, description),
             version = COALESCE(?2, version),
             model = COALESCE(?3, model),
             argument_hint = COALESCE(?4, argument_hint),
             user_invocable = COALESCE(?5, user_invocable),
             disable_model_invocation = COALESCE(?6, disable_model_invocation),
             updated_at = datetime('now')
         WHERE name = ?7",
            description,
            version,
            model,
            argument_hint,
            user_invocable,
            disable_model_invocation,
            skill_name
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE workflow_runs SET
             description = COALESCE(?1, description),
             version = COALESCE(?2, version),
             model = COALESCE(?3, model),
             argument_hint = COALESCE(?4, argument_hint),
             user_invocable = COALESCE(?5, user_invocable),
             disable_model_invocation = COALESCE(?6, disable_model_invocation),
             updated_at = datetime('now') || 'Z'
         WHERE skill_name = ?7",
            description,
            version,
            model,
            argument_hint,
            user_invocable,
            disable_model_invocation,
            skill_name
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Set a skill's purpose on its run row and its master row (each with its
/// `updated_at`), in one transaction. Missing rows → no-op.
///
/// # Differences from the existing layer
/// The existing layer had no such function (the application updated both tables
/// itself); this is the "Set purpose" operation of operations.md §3.
///
/// # Errors
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad input;
/// the database error (nothing is written then).
#[instrument(skip_all, fields(skill_name = skill_name, purpose = purpose), err)]
pub async fn set_skill_purpose(
    conn: &mut dyn Writer,
    skill_name: &str,
    purpose: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("purpose", purpose)?;
        let mut tx = tx::begin_immediate(conn).await?;
        sqlx::query!(
            "UPDATE workflow_runs SET purpose = ?, updated_at = datetime('now') || 'Z'
         WHERE skill_name = ?",
            purpose,
            skill_name
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE skills SET purpose = ?, updated_at = datetime('now') WHERE name = ?",
            purpose,
            skill_name
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// The run row of a skill, or `None` when it has none.
///
/// # Differences from the existing layer
/// A NULL `purpose` reads as `None` instead of failing the read (operations.md §14.9).
/// A value the typed API cannot read exactly (text in `current_step`, a BLOB or
/// invalid UTF-8 in a text column, …) is an error, never a substituted value.
///
/// # Errors
/// [`Error::Malformed`] naming the table, the skill name and the column for such a
/// value (see [`crate::malformed`]); the database error.
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn get_workflow_run(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Option<WorkflowRun>> {
    spin_then_park(async move {
        let conn = db.connection();
        checked_one!(
            conn,
            TABLE,
            skill_name.to_owned(),
            Error::not_found(Entity::WorkflowRun, skill_name),
            sqlx::query_as!(
                WorkflowRun,
                r#"SELECT id AS "id: _", skill_id AS "skill_id: _", skill_name AS "skill_name: _",
                  current_step AS "current_step: _", status AS "status: _",
                  purpose AS "purpose: _", created_at AS "created_at: _",
                  updated_at AS "updated_at: _", author_login AS "author_login: _",
                  author_avatar AS "author_avatar: _", display_name AS "display_name: _",
                  intake_json AS "intake_json: _",
                  COALESCE(source, 'created') AS "source!: _",
                  description AS "description: _", version AS "version: _",
                  model AS "model: _", argument_hint AS "argument_hint: _",
                  user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _"
           FROM workflow_runs WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workflow_runs WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_one(&mut *conn)
        )
    })
    .await
}

/// The purpose of a skill's run; `"domain"` when it has no run row.
///
/// A `purpose` that is not text (a BLOB) or not valid UTF-8 is an error, never read
/// as text (see [`crate::malformed`]).
///
/// # Differences from the existing layer
/// A run row whose `purpose` is NULL also reads as `"domain"` (the column default)
/// instead of failing. A BLOB or invalid-UTF-8 purpose is [`Error::Malformed`] (the
/// existing layer failed with sqlx's decode error, naming no row).
///
/// # Errors
/// [`Error::Malformed`] (`workflow_runs`, the skill name, `purpose`) for such a
/// value; the database error.
#[instrument(skip_all, fields(skill_name = skill_name), err)]
pub async fn get_purpose(db: &mut dyn Reader, skill_name: &str) -> Result<String> {
    spin_then_park(async move {
        let purpose = sqlx::query_scalar!(
            r#"SELECT purpose AS "purpose!: Checked<Option<String>>"
           FROM workflow_runs WHERE skill_name = ?"#,
            skill_name
        )
        .fetch_optional(db.connection())
        .await?
        .map(|p| p.of_row(TABLE, skill_name, "purpose"))
        .transpose()?
        .flatten();
        Ok(purpose.unwrap_or_else(|| DEFAULT_PURPOSE.to_owned()))
    })
    .await
}

/// Every run row, ordered by `skill_name` ascending; empty store → empty list.
///
/// A row the typed API cannot read exactly (text or a real in `current_step`, a BLOB
/// or invalid UTF-8 in a text column, …) is skipped and reported, never substituted
/// (see [`crate::malformed`]: a `tracing::warn!` per bad value of the table, the
/// span's `skipped` field counts the rows).
///
/// # Differences from the existing layer
/// A NULL `purpose` reads as `None` instead of failing the whole list; one
/// unreadable row no longer fails (or falsifies) the list.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn list_all_workflow_runs(db: &mut dyn Reader) -> Result<Vec<WorkflowRun>> {
    spin_then_park(async move {
        let conn = db.connection();
        let runs = checked_list!(conn, TABLE, &[], "list_all_workflow_runs", |skip| {
            sqlx::query_as!(
                WorkflowRun,
                r#"SELECT id AS "id: _", skill_id AS "skill_id: _", skill_name AS "skill_name: _",
                  current_step AS "current_step: _", status AS "status: _",
                  purpose AS "purpose: _", created_at AS "created_at: _",
                  updated_at AS "updated_at: _", author_login AS "author_login: _",
                  author_avatar AS "author_avatar: _", display_name AS "display_name: _",
                  intake_json AS "intake_json: _",
                  COALESCE(source, 'created') AS "source!: _",
                  description AS "description: _", version AS "version: _",
                  model AS "model: _", argument_hint AS "argument_hint: _",
                  user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _"
           FROM workflow_runs WHERE rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY skill_name"#,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        tracing::Span::current().record("count", runs.len());
        Ok(runs)
    })
    .await
}

/// Remove a workflow-built skill and everything attached to it, in one transaction.
///
/// The run and the master row must both exist. Then, child-first: the run's
/// artifacts and steps; the skill's locks, tags and imported row; the run row; the
/// master row. The skill's usage history stays, detached: its agent runs get
/// `workflow_run_id` NULL and its workflow sessions `skill_id` NULL, names and values
/// kept, so the usage summary, by-model, by-step, recent sessions and recent runs show
/// the same totals before and after. `workspace_skills` is never touched. Not
/// idempotent: a second call fails with `NotFound`.
///
/// # Differences from the existing layer
/// - One transaction instead of nine autocommit statements; steps, artifacts, tags,
///   locks and the imported row are matched by their link **or** by carrying the
///   skill's name, so rows with a NULL link no longer survive (operations.md §14.6).
/// - Agent runs and workflow sessions are kept (detached) instead of deleted
///   (operations.md §3 cascade steps 3 and 5, and the §15 test "delete_workflow_run
///   removes the skill's workflow sessions"): deleting a skill erased its usage and
///   cost history (issue 10; the existing app's later "preserve usage history when
///   deleting a skill").
///
/// # Errors
/// [`Error::NotFound`] with [`Entity::WorkflowRun`] when the skill has no run row,
/// else with [`Entity::Skill`] when it has no master row; input and database errors
/// (nothing is deleted then).
#[instrument(skip_all, fields(skill_name = skill_name, deleted = tracing::field::Empty), err)]
pub async fn delete_workflow_run(conn: &mut dyn Writer, skill_name: &str) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        let mut tx = tx::begin_immediate(conn).await?;
        if skills::get_workflow_run_id(&mut *tx, skill_name)
            .await?
            .is_none()
        {
            return Err(Error::not_found(Entity::WorkflowRun, skill_name));
        }
        if skills::get_skill_master_id(&mut *tx, skill_name)
            .await?
            .is_none()
        {
            return Err(Error::not_found(Entity::Skill, skill_name));
        }
        let deleted = skills::delete_cascade_in_tx(&mut tx, skill_name).await?;
        tx.commit().await?;
        tracing::Span::current().record("deleted", deleted);
        Ok(())
    })
    .await
}
