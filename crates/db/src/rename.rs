//! Skill rename across every table that carries a skill name (operations.md §13).
//!
//! The existing layer left this to the application; here it is one operation in one
//! transaction, run before the skill's folders are moved on disk.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! skill_builder_db::rename::rename_skill(&mut *conn, "sales-pipeline", "sales-forecast").await?;
//! # Ok(()) }
//! ```

use crate::Writer;
use crate::spin::spin_then_park;
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::require_name;
use crate::{Conflict, Entity, Error, InvalidInput, Result, skills, tx};

/// Rename a skill everywhere, in one transaction.
///
/// `new_name` must be kebab-case (lower-case ASCII letters, digits, single inner
/// hyphens); `old_name` may be any stored name. `old_name == new_name` is a no-op
/// success (after validation). Changed: the master row's `name` (+ `updated_at`),
/// the run row's `skill_name` (+ `updated_at`), and the `skill_name` of
/// `workflow_sessions`, `workflow_steps`, `workflow_artifacts`, `agent_runs`,
/// `skill_tags`, `imported_skills` and `skill_locks`. Integer links need no change.
/// `workspace_skills` is not touched.
///
/// # Errors
/// - [`InvalidInput::Empty`] / [`InvalidInput::ContainsNul`] for a bad name,
///   [`InvalidInput::NotKebabCase`] when `new_name` is not kebab-case;
/// - [`Error::NotFound`] with [`Entity::Skill`] when no master row is named
///   `old_name`;
/// - [`Conflict::AlreadyExists`] with [`Entity::Skill`] when a master row is named
///   `new_name`, or when stray rows already carrying `new_name` clash with the rows
///   being renamed (a UNIQUE/PRIMARY KEY violation);
/// - the database error otherwise.
///
/// On any error nothing is renamed.
#[instrument(skip_all, fields(old_name = old_name, new_name = new_name, renamed = tracing::field::Empty), err)]
pub async fn rename_skill(conn: &mut dyn Writer, old_name: &str, new_name: &str) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("old_name", old_name)?;
        require_name("new_name", new_name)?;
        if !skill_builder_model::is_kebab_case(new_name) {
            return Err(InvalidInput::NotKebabCase(new_name.to_owned()).into());
        }
        if old_name == new_name {
            return Ok(());
        }
        let mut tx = tx::begin_immediate(conn).await?;
        if skills::get_skill_master_id(&mut *tx, old_name)
            .await?
            .is_none()
        {
            return Err(Error::not_found(Entity::Skill, old_name));
        }
        if skills::get_skill_master_id(&mut *tx, new_name)
            .await?
            .is_some()
        {
            return Err(already_exists(new_name));
        }
        let renamed = match rename_rows(&mut tx, old_name, new_name).await {
            Ok(n) => n,
            Err(e) if e.is_unique_violation() => return Err(already_exists(new_name)),
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        tracing::Span::current().record("renamed", renamed);
        Ok(())
    })
    .await
}

fn already_exists(name: &str) -> Error {
    Conflict::AlreadyExists {
        entity: Entity::Skill,
        key: name.to_owned(),
    }
    .into()
}

/// The renaming statements; returns the number of rows renamed.
async fn rename_rows(conn: &mut SqliteConnection, old: &str, new: &str) -> Result<u64> {
    let mut n = 0;
    n += sqlx::query!(
        "UPDATE skills SET name = ?1, updated_at = datetime('now') WHERE name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE workflow_runs SET skill_name = ?1, updated_at = datetime('now') || 'Z'
         WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE workflow_sessions SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE workflow_steps SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE workflow_artifacts SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE agent_runs SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE skill_tags SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE imported_skills SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE skill_locks SET skill_name = ?1 WHERE skill_name = ?2",
        new,
        old
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n)
}
