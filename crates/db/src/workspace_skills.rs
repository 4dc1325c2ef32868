//! Skills deployed into the workspace for agents to use (`workspace_skills`),
//! including app-bundled ones. Rows are independent of the master catalogue (no
//! foreign key) and are mutated by `skill_id`.
//!
//! At most one active skill per purpose: activate with
//! [`activate_workspace_skill_exclusive`], which deactivates the others in the same
//! transaction.
//!
//! ```no_run
//! # async fn demo(pool: &sqlx::SqlitePool) -> skill_builder_db::Result<()> {
//! use skill_builder_db::workspace_skills;
//! use skill_builder_db::model::{WorkspaceSkill, WorkspaceSkillId};
//!
//! let mut skill = WorkspaceSkill::new(
//!     WorkspaceSkillId::new_v4(),
//!     "research",
//!     "/ws/.claude/skills/research",
//!     "2026-01-31 12:00:00Z",
//! );
//! skill.purpose = Some("research".into());
//! workspace_skills::upsert_workspace_skill(pool, &skill).await?;
//! let mut conn = pool.acquire().await?;
//! let moved = workspace_skills::activate_workspace_skill_exclusive(
//!     &mut conn,
//!     &skill.skill_id,
//!     "/ws/.claude/skills/research",
//!     |other| format!("/ws/.claude/skills/.inactive/{}", other.skill_name),
//! )
//! .await?;
//! for other in moved {
//!     println!("move the folder of {} to {}", other.skill_name, other.disk_path);
//! }
//! # Ok(()) }
//! ```

use skill_builder_model::{HashInfo, WorkspaceSkill, WorkspaceSkillId};
use sqlx::{SqliteConnection, SqliteExecutor};
use tracing::instrument;

use crate::error::{is_unique_violation, require_name, require_no_nul};
use crate::{Conflict, Entity, Error, Result};

fn validate(skill: &WorkspaceSkill) -> Result<()> {
    require_name("skill_name", &skill.skill_name)?;
    require_name("skill_id", skill.skill_id.as_str())?;
    require_no_nul("disk_path", &skill.disk_path)?;
    require_no_nul("imported_at", &skill.imported_at)
}

/// Map a uniqueness violation to [`Conflict::AlreadyExists`] with `key`.
fn conflict_on_unique(key: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |e| {
        if is_unique_violation(&e) {
            Conflict::AlreadyExists {
                entity: Entity::WorkspaceSkill,
                key: key.to_owned(),
            }
            .into()
        } else {
            Error::from(e)
        }
    }
}

/// Insert a workspace skill: the 13 stored fields (`content_hash` starts NULL; the
/// input's `content_hash` is ignored).
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`WorkspaceSkill`, key = the name) when the name or the
/// `skill_id` is taken; [`crate::InvalidInput`] for an empty name or id, or NUL in a
/// path; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn insert_workspace_skill<'e>(
    db: impl SqliteExecutor<'e>,
    skill: &WorkspaceSkill,
) -> Result<()> {
    validate(skill)?;
    sqlx::query!(
        "INSERT INTO workspace_skills (
             skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
             purpose, version, model, argument_hint, user_invocable, disable_model_invocation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        skill.skill_id,
        skill.skill_name,
        skill.description,
        skill.is_active,
        skill.is_bundled,
        skill.disk_path,
        skill.imported_at,
        skill.purpose,
        skill.version,
        skill.model,
        skill.argument_hint,
        skill.user_invocable,
        skill.disable_model_invocation,
    )
    .execute(db)
    .await
    .map_err(conflict_on_unique(&skill.skill_name))?;
    Ok(())
}

/// Insert a workspace skill, or update the row with the same name.
///
/// On a name conflict `description`, `is_bundled`, `disk_path`, `purpose`, `version`,
/// `model`, `argument_hint`, `user_invocable` and `disable_model_invocation` are
/// overwritten; `skill_id`, `is_active`, `imported_at` and `content_hash` are kept.
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`WorkspaceSkill`, key = the `skill_id`) when the
/// `skill_id` belongs to a row with another name; [`crate::InvalidInput`] as for
/// [`insert_workspace_skill`]; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn upsert_workspace_skill<'e>(
    db: impl SqliteExecutor<'e>,
    skill: &WorkspaceSkill,
) -> Result<()> {
    validate(skill)?;
    sqlx::query!(
        "INSERT INTO workspace_skills (
             skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
             purpose, version, model, argument_hint, user_invocable, disable_model_invocation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (skill_name) DO UPDATE SET
             description = excluded.description,
             is_bundled = excluded.is_bundled,
             disk_path = excluded.disk_path,
             purpose = excluded.purpose,
             version = excluded.version,
             model = excluded.model,
             argument_hint = excluded.argument_hint,
             user_invocable = excluded.user_invocable,
             disable_model_invocation = excluded.disable_model_invocation",
        skill.skill_id,
        skill.skill_name,
        skill.description,
        skill.is_active,
        skill.is_bundled,
        skill.disk_path,
        skill.imported_at,
        skill.purpose,
        skill.version,
        skill.model,
        skill.argument_hint,
        skill.user_invocable,
        skill.disable_model_invocation,
    )
    .execute(db)
    .await
    .map_err(conflict_on_unique(skill.skill_id.as_str()))?;
    Ok(())
}

/// (Re-)seed an app-bundled skill: as [`upsert_workspace_skill`], except that on a
/// name conflict `is_bundled` is forced to true. `is_active` is never updated, so a
/// user's deactivation survives re-seeding; a fresh insert uses the input as given.
///
/// # Errors
/// As [`upsert_workspace_skill`].
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn upsert_bundled_workspace_skill<'e>(
    db: impl SqliteExecutor<'e>,
    skill: &WorkspaceSkill,
) -> Result<()> {
    validate(skill)?;
    sqlx::query!(
        "INSERT INTO workspace_skills (
             skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
             purpose, version, model, argument_hint, user_invocable, disable_model_invocation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (skill_name) DO UPDATE SET
             description = excluded.description,
             is_bundled = 1,
             disk_path = excluded.disk_path,
             purpose = excluded.purpose,
             version = excluded.version,
             model = excluded.model,
             argument_hint = excluded.argument_hint,
             user_invocable = excluded.user_invocable,
             disable_model_invocation = excluded.disable_model_invocation",
        skill.skill_id,
        skill.skill_name,
        skill.description,
        skill.is_active,
        skill.is_bundled,
        skill.disk_path,
        skill.imported_at,
        skill.purpose,
        skill.version,
        skill.model,
        skill.argument_hint,
        skill.user_invocable,
        skill.disable_model_invocation,
    )
    .execute(db)
    .await
    .map_err(conflict_on_unique(skill.skill_id.as_str()))?;
    Ok(())
}

/// Every workspace skill, newest first (`imported_at` descending as text, then name).
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count), err)]
pub async fn list_workspace_skills<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<WorkspaceSkill>> {
    let rows = sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills ORDER BY imported_at DESC, skill_name"#
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// The active workspace skills (any non-zero `is_active`), ordered by name.
///
/// **Pool:** reads only. The app's screens pass the read-only pool
/// (`skill_builder_app::Database::reader`), which never waits behind a write; pass
/// the writer (`Database::pool`) or your transaction to see your own uncommitted
/// writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count), err)]
pub async fn list_active_workspace_skills<'e>(
    db: impl SqliteExecutor<'e>,
) -> Result<Vec<WorkspaceSkill>> {
    let rows = sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills WHERE is_active <> 0 ORDER BY skill_name"#
    )
    .fetch_all(db)
    .await?;
    tracing::Span::current().record("count", rows.len());
    Ok(rows)
}

/// Set the active flag and the folder of a workspace skill (activation moves the
/// folder between the active and `.inactive` directories). Does not touch other rows;
/// see [`activate_workspace_skill_exclusive`].
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`crate::InvalidInput`] for NUL in the path; otherwise the database error.
#[instrument(skip_all, fields(skill_id = %skill_id, is_active = is_active), err)]
pub async fn update_workspace_skill_active<'e>(
    db: impl SqliteExecutor<'e>,
    skill_id: &WorkspaceSkillId,
    is_active: bool,
    new_disk_path: &str,
) -> Result<()> {
    require_no_nul("disk_path", new_disk_path)?;
    let done = sqlx::query!(
        "UPDATE workspace_skills SET is_active = ?, disk_path = ? WHERE skill_id = ?",
        is_active,
        new_disk_path,
        skill_id,
    )
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()));
    }
    Ok(())
}

/// Activate a workspace skill and deactivate every other active skill with the same
/// purpose, in one transaction (implied by the table's purpose: one active skill per
/// purpose).
///
/// The skill gets `is_active` = 1 and `new_disk_path`. When it has a non-blank
/// purpose, each other active row with exactly that purpose gets `is_active` = 0 and
/// the folder returned by `deactivated_path` for it (called once per such row, inside
/// the transaction, before anything of theirs is written). Returns those rows as they
/// are now stored, so the caller can move their folders; the caller moves folders
/// itself (a caller wanting the database change undone when a move fails runs this
/// inside its own transaction and rolls back).
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`crate::InvalidInput`] for NUL in a path; otherwise the database error. Nothing is
/// written on error.
#[instrument(skip_all, fields(skill_id = %skill_id, deactivated), err)]
pub async fn activate_workspace_skill_exclusive(
    conn: &mut SqliteConnection,
    skill_id: &WorkspaceSkillId,
    new_disk_path: &str,
    mut deactivated_path: impl FnMut(&WorkspaceSkill) -> String,
) -> Result<Vec<WorkspaceSkill>> {
    require_no_nul("disk_path", new_disk_path)?;
    let mut tx = crate::tx::begin_immediate(conn).await?;
    let purpose = sqlx::query_scalar!(
        "UPDATE workspace_skills SET is_active = 1, disk_path = ? WHERE skill_id = ?
         RETURNING purpose",
        new_disk_path,
        skill_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()))?;
    let Some(purpose) = purpose.filter(|p| !p.trim().is_empty()) else {
        tx.commit().await?;
        return Ok(Vec::new());
    };
    let mut others = sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills
           WHERE purpose = ? AND is_active <> 0 AND skill_id <> ?
           ORDER BY skill_name"#,
        purpose,
        skill_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    if !others.is_empty() {
        let mut paths = serde_json::Map::new();
        for other in &mut others {
            let path = deactivated_path(other);
            require_no_nul("disk_path", &path)?;
            other.is_active = false;
            other.disk_path.clone_from(&path);
            paths.insert(other.skill_id.as_str().to_owned(), path.into());
        }
        // One JSON object `{skill_id: new path}`: one statement for any number of rows.
        let paths = serde_json::Value::Object(paths).to_string();
        sqlx::query!(
            "UPDATE workspace_skills
             SET is_active = 0,
                 disk_path = (SELECT value FROM json_each(?1) WHERE key = workspace_skills.skill_id)
             WHERE skill_id IN (SELECT key FROM json_each(?1))",
            paths
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::Span::current().record("deactivated", others.len());
    Ok(others)
}

/// Set (or, with `None`, clear) the purpose of a workspace skill. Does not enforce one
/// active skill per purpose; follow with [`activate_workspace_skill_exclusive`] when
/// the skill is active.
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`crate::InvalidInput`] for NUL in the purpose; otherwise the database error.
#[instrument(skip_all, fields(skill_id = %skill_id, purpose = ?purpose), err)]
pub async fn set_workspace_skill_purpose<'e>(
    db: impl SqliteExecutor<'e>,
    skill_id: &WorkspaceSkillId,
    purpose: Option<&str>,
) -> Result<()> {
    if let Some(p) = purpose {
        require_no_nul("purpose", p)?;
    }
    let done = sqlx::query!(
        "UPDATE workspace_skills SET purpose = ? WHERE skill_id = ?",
        purpose,
        skill_id,
    )
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()));
    }
    Ok(())
}

/// Delete the workspace skill with this id; unknown id → success.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_id = %skill_id), err)]
pub async fn delete_workspace_skill<'e>(
    db: impl SqliteExecutor<'e>,
    skill_id: &WorkspaceSkillId,
) -> Result<()> {
    sqlx::query!("DELETE FROM workspace_skills WHERE skill_id = ?", skill_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The workspace skill with this id.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_id = %skill_id), err)]
pub async fn get_workspace_skill<'e>(
    db: impl SqliteExecutor<'e>,
    skill_id: &WorkspaceSkillId,
) -> Result<Option<WorkspaceSkill>> {
    Ok(sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills WHERE skill_id = ?"#,
        skill_id
    )
    .fetch_optional(db)
    .await?)
}

/// The workspace skill with this name.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_workspace_skill_by_name<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
) -> Result<Option<WorkspaceSkill>> {
    Ok(sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills WHERE skill_name = ?"#,
        skill_name
    )
    .fetch_optional(db)
    .await?)
}

/// The first active workspace skill with exactly this purpose (in insertion order);
/// inactive rows are never returned.
///
/// # Differences from the existing layer
/// The order among several active rows with the purpose is defined (insertion order,
/// by rowid); errors are the crate's typed [`Error`].
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(purpose = %purpose), err)]
pub async fn get_workspace_skill_by_purpose<'e>(
    db: impl SqliteExecutor<'e>,
    purpose: &str,
) -> Result<Option<WorkspaceSkill>> {
    Ok(sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: WorkspaceSkillId", skill_name, description,
                  is_active AS "is_active: bool", is_bundled AS "is_bundled: bool", disk_path,
                  imported_at, purpose, version, model, argument_hint,
                  user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool", content_hash
           FROM workspace_skills WHERE purpose = ? AND is_active <> 0
           ORDER BY rowid LIMIT 1"#,
        purpose
    )
    .fetch_optional(db)
    .await?)
}

/// Record the fingerprint of the deployed files. No row with that name → no-op.
///
/// # Errors
/// [`crate::InvalidInput`] for NUL in the hash; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn set_workspace_skill_content_hash<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
    hash: &str,
) -> Result<()> {
    require_no_nul("content_hash", hash)?;
    sqlx::query!(
        "UPDATE workspace_skills SET content_hash = ? WHERE skill_name = ?",
        hash,
        skill_name
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Folder and stored fingerprint of the workspace skill with this name
/// (`content_hash` `None` = baseline unknown); `None` when there is no such row.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_workspace_skill_hash_info<'e>(
    db: impl SqliteExecutor<'e>,
    skill_name: &str,
) -> Result<Option<HashInfo>> {
    Ok(sqlx::query_as!(
        HashInfo,
        "SELECT disk_path, content_hash FROM workspace_skills WHERE skill_name = ?",
        skill_name
    )
    .fetch_optional(db)
    .await?)
}
