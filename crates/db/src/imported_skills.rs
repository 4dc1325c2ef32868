//! Marketplace/GitHub skills installed into the skills library (`imported_skills`).
//!
//! Reads return [`ImportedSkill`] with `description` hydrated from
//! `<disk_path>/SKILL.md` (see [`crate::hydrate`]): the query runs first, then each
//! row's file is read, so a list is one query however many rows it returns.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::imported_skills;
//! use skill_builder_db::model::{ImportedSkill, ImportedSkillId};
//!
//! let skill = ImportedSkill::new(
//!     ImportedSkillId::new_v4(),
//!     "pdf-tools",
//!     "/home/me/skills/pdf-tools",
//!     "2026-01-31T12:00:00Z",
//! );
//! imported_skills::upsert_imported_skill(&mut *conn, &skill).await?;
//! for s in imported_skills::list_active_skills(&mut conn).await? {
//!     println!("{}: {}", s.skill_name, s.description.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{HashInfo, ImportedSkill};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::{is_unique_violation, require_name, require_no_nul};
use crate::malformed::{Checked, checked_list, checked_one};
use crate::{Conflict, Entity, Error, Result, hydrate};

/// Fill `description` from the skill's `SKILL.md` frontmatter.
fn hydrated(mut skill: ImportedSkill) -> ImportedSkill {
    skill.description = hydrate::read_description(&skill.disk_path);
    skill
}

fn validate(skill: &ImportedSkill) -> Result<()> {
    require_name("skill_name", &skill.skill_name)?;
    require_name("skill_id", skill.skill_id.as_str())?;
    require_no_nul("disk_path", &skill.disk_path)?;
    require_no_nul("imported_at", &skill.imported_at)?;
    for (field, value) in [
        ("purpose", &skill.purpose),
        ("version", &skill.version),
        ("model", &skill.model),
        ("argument_hint", &skill.argument_hint),
    ] {
        if let Some(value) = value {
            require_no_nul(field, value)?;
        }
    }
    Ok(())
}

/// Insert an imported skill.
///
/// `skill_master_id` is resolved from the name (NULL when the skill is not in the
/// master); the `skill_master_id`, `description` and `content_hash` fields of the input
/// are ignored (the hash starts NULL, the description is never stored).
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`ImportedSkill`, key = the name) when the name or the
/// `skill_id` is taken; [`crate::InvalidInput`] for an empty name or id, or NUL in any
/// text; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn insert_imported_skill(conn: &mut dyn Writer, skill: &ImportedSkill) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        validate(skill)?;
        sqlx::query!(
            "INSERT INTO imported_skills (
             skill_id, skill_name, is_active, disk_path, imported_at, is_bundled, purpose,
             version, model, argument_hint, user_invocable, disable_model_invocation,
             skill_master_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                 (SELECT id FROM skills WHERE name = ?2))",
            skill.skill_id,
            skill.skill_name,
            skill.is_active,
            skill.disk_path,
            skill.imported_at,
            skill.is_bundled,
            skill.purpose,
            skill.version,
            skill.model,
            skill.argument_hint,
            skill.user_invocable,
            skill.disable_model_invocation,
        )
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Conflict::AlreadyExists {
                    entity: Entity::ImportedSkill,
                    key: skill.skill_name.clone(),
                }
                .into()
            } else {
                Error::from(e)
            }
        })?;
        Ok(())
    })
    .await
}

/// (Re-)install an imported skill, and mirror its frontmatter onto the master row.
///
/// In one transaction:
/// 1. insert as [`insert_imported_skill`]; when the name exists, overwrite `skill_id`,
///    `disk_path`, `imported_at`, `purpose`, `version`, `model`, `argument_hint`,
///    `user_invocable`, `disable_model_invocation` and `skill_master_id` (re-resolved),
///    keeping `is_active`, `is_bundled` and `content_hash`;
/// 2. copy `version`, `model`, `argument_hint`, `user_invocable` and
///    `disable_model_invocation` onto the master row of the same name, unconditionally
///    (an absent value becomes NULL there), bumping its `updated_at`; the master's
///    `description` and `purpose` are untouched; no master row → nothing to mirror.
///
/// # Differences from the existing layer
/// Both statements run in one transaction: a failed mirror leaves the imported row
/// as it was (the existing layer kept the first write).
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`ImportedSkill`, key = the `skill_id`) when the
/// `skill_id` belongs to a row with another name; [`crate::InvalidInput`] as for
/// [`insert_imported_skill`]; otherwise the database error. Nothing is written on error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn upsert_imported_skill(conn: &mut dyn Writer, skill: &ImportedSkill) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        validate(skill)?;
        let mut tx = crate::tx::begin_immediate(conn).await?;
        sqlx::query!(
            "INSERT INTO imported_skills (
             skill_id, skill_name, is_active, disk_path, imported_at, is_bundled, purpose,
             version, model, argument_hint, user_invocable, disable_model_invocation,
             skill_master_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                 (SELECT id FROM skills WHERE name = ?2))
         ON CONFLICT (skill_name) DO UPDATE SET
             skill_id = excluded.skill_id,
             disk_path = excluded.disk_path,
             imported_at = excluded.imported_at,
             purpose = excluded.purpose,
             version = excluded.version,
             model = excluded.model,
             argument_hint = excluded.argument_hint,
             user_invocable = excluded.user_invocable,
             disable_model_invocation = excluded.disable_model_invocation,
             skill_master_id = excluded.skill_master_id",
            skill.skill_id,
            skill.skill_name,
            skill.is_active,
            skill.disk_path,
            skill.imported_at,
            skill.is_bundled,
            skill.purpose,
            skill.version,
            skill.model,
            skill.argument_hint,
            skill.user_invocable,
            skill.disable_model_invocation,
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Conflict::AlreadyExists {
                    entity: Entity::ImportedSkill,
                    key: skill.skill_id.to_string(),
                }
                .into()
            } else {
                Error::from(e)
            }
        })?;
        sqlx::query!(
            "UPDATE skills SET
             version = ?, model = ?, argument_hint = ?, user_invocable = ?,
             disable_model_invocation = ?, updated_at = datetime('now')
         WHERE name = ?",
            skill.version,
            skill.model,
            skill.argument_hint,
            skill.user_invocable,
            skill.disable_model_invocation,
            skill.skill_name,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Activate or deactivate an imported skill, recording its new folder.
///
/// # Differences from the existing layer
/// The row is found by its (unique) name, so a row whose `skill_master_id` is NULL
/// (imported before its master row existed) is reachable too, and a missing master row
/// is no longer an error of its own: the only not-found case is "no imported row".
///
/// # Errors
/// [`Error::NotFound`] (`ImportedSkill`, the name) when no row has that name;
/// [`crate::InvalidInput`] for an empty name or NUL in the path; otherwise the
/// database error.
#[instrument(skip_all, fields(skill_name = %skill_name, is_active = is_active), err)]
pub async fn update_imported_skill_active(
    conn: &mut dyn Writer,
    skill_name: &str,
    is_active: bool,
    new_disk_path: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_no_nul("disk_path", new_disk_path)?;
        let done = sqlx::query!(
            "UPDATE imported_skills SET is_active = ?, disk_path = ? WHERE skill_name = ?",
            is_active,
            new_disk_path,
            skill_name,
        )
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::ImportedSkill, skill_name));
        }
        Ok(())
    })
    .await
}

/// Delete the imported skill with this name. Unknown name → success (idempotent).
///
/// # Differences from the existing layer
/// Matched by name, so a row with a NULL `skill_master_id` can be deleted; the
/// existing layer matched the master id only, and such a row blocked a re-import
/// forever.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = %skill_name, deleted), err)]
pub async fn delete_imported_skill(conn: &mut dyn Writer, skill_name: &str) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        let done = sqlx::query!(
            "DELETE FROM imported_skills WHERE skill_name = ?",
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        tracing::Span::current().record("deleted", done.rows_affected());
        Ok(())
    })
    .await
}

/// Same as [`delete_imported_skill`]; kept as a second name for existing callers.
///
/// # Errors
/// The database error.
pub async fn delete_imported_skill_by_name(conn: &mut dyn Writer, skill_name: &str) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        delete_imported_skill(&mut *conn, skill_name).await
    })
    .await
}

/// The imported skill with this name, `description` hydrated from disk.
///
/// # Differences from the existing layer
/// Looked up by name: a row with a NULL `skill_master_id` is found (the existing layer
/// returned none for it).
///
/// # Errors
/// [`Error::Malformed`] naming the table, the name and the column when the row holds
/// a value the typed API cannot read exactly (a NULL `skill_id`, text in
/// `is_active`, invalid UTF-8, …; see [`crate::malformed`]); the database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_imported_skill(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Option<ImportedSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let row = checked_one!(
            conn,
            TABLE,
            skill_name.to_owned(),
            Error::not_found(Entity::ImportedSkill, skill_name),
            sqlx::query_as!(
                ImportedSkill,
                r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  is_active AS "is_active: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", is_bundled AS "is_bundled: _",
                  NULL AS "description?: String", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  skill_master_id AS "skill_master_id: _", content_hash AS "content_hash: _"
           FROM imported_skills WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM imported_skills WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_one(&mut *conn)
        )?;
        Ok(row.map(hydrated))
    })
    .await
}

/// The table of this module.
const TABLE: &str = "imported_skills";

/// Every active imported skill (any non-zero `is_active`), ordered by name,
/// `description` hydrated from disk. Rows with a NULL `skill_master_id` are included.
///
/// A row the typed API cannot read exactly (a NULL `skill_id` key, text in
/// `is_active`, a BLOB or invalid UTF-8 in a text column, …) is skipped and
/// reported, never substituted (see [`crate::malformed`]: a `tracing::warn!` per bad
/// value of the table, the span's `skipped` field counts the rows).
///
/// # Differences from the existing layer
/// The existing layer read a NULL `skill_id` as `""` (and counted the row), and text
/// in a flag as a wrong boolean; one invalid UTF-8 value failed the whole list.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count, skipped), err)]
pub async fn list_active_skills(db: &mut dyn Reader) -> Result<Vec<ImportedSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "list_active_skills", |skip| active(
            &mut *conn, skip
        ))?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows.into_iter().map(hydrated).collect())
    })
    .await
}

/// The active rows not in `skip` (a JSON array of rowids), ordered by name.
async fn active(conn: &mut SqliteConnection, skip: &str) -> sqlx::Result<Vec<ImportedSkill>> {
    sqlx::query_as!(
        ImportedSkill,
        r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  is_active AS "is_active: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", is_bundled AS "is_bundled: _",
                  NULL AS "description?: String", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  skill_master_id AS "skill_master_id: _", content_hash AS "content_hash: _"
           FROM imported_skills
           WHERE is_active <> 0 AND rowid NOT IN (SELECT value FROM json_each(?1))
           ORDER BY skill_name"#,
        skip
    )
    .fetch_all(conn)
    .await
}

/// Record the fingerprint of the installed files. No row with that name → no-op.
///
/// # Errors
/// [`crate::InvalidInput`] for NUL in the hash; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn set_imported_skill_content_hash(
    conn: &mut dyn Writer,
    skill_name: &str,
    hash: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_no_nul("content_hash", hash)?;
        sqlx::query!(
            "UPDATE imported_skills SET content_hash = ? WHERE skill_name = ?",
            hash,
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Folder and stored fingerprint of the imported skill with this name
/// (`content_hash` `None` = baseline unknown); `None` when there is no such row.
///
/// A `disk_path` or `content_hash` that is not text (a BLOB) or not valid UTF-8 is an
/// error, never read as text (see [`crate::malformed`]).
///
/// # Differences from the existing layer
/// Such a value is [`Error::Malformed`] (the existing layer read a BLOB's bytes as
/// text and failed with a decode error on invalid UTF-8).
///
/// # Errors
/// [`Error::Malformed`] (`imported_skills`, the name, the column) for such a value; the
/// database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_imported_skill_hash_info(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Option<HashInfo>> {
    spin_then_park(async move {
        let Some(row) = sqlx::query!(
            r#"SELECT disk_path AS "disk_path: Checked<String>",
                  content_hash AS "content_hash!: Checked<Option<String>>"
           FROM imported_skills WHERE skill_name = ?"#,
            skill_name
        )
        .fetch_optional(db.connection())
        .await?
        else {
            return Ok(None);
        };
        let disk_path = row.disk_path.of_row(TABLE, skill_name, "disk_path")?;
        let content_hash = row.content_hash.of_row(TABLE, skill_name, "content_hash")?;
        Ok(Some(HashInfo {
            disk_path,
            content_hash,
        }))
    })
    .await
}
