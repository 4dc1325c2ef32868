//! Names of every installed skill, across the tables that record installations.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! let names = skill_builder_db::installed::get_all_installed_skill_names(&mut conn).await?;
//! println!("{} installed skills", names.len());
//! # Ok(()) }
//! ```

use crate::Reader;
use crate::spin::spin_then_park;
use tracing::instrument;

use crate::Result;

/// The union of `skill_name` from `workflow_runs`, `imported_skills` and
/// `workspace_skills`, without duplicates, in one query.
///
/// # Differences from the existing layer
/// The result is sorted by name (the existing layer promised no order). Names that are
/// not text (possible only in hand-edited files) are skipped in SQL rather than failing
/// to decode.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count), err)]
pub async fn get_all_installed_skill_names(db: &mut dyn Reader) -> Result<Vec<String>> {
    spin_then_park(async move {
        let names = sqlx::query_scalar!(
            r#"SELECT skill_name AS "skill_name!" FROM (
               SELECT skill_name FROM workflow_runs
               UNION SELECT skill_name FROM imported_skills
               UNION SELECT skill_name FROM workspace_skills)
           -- why: SQL decides; a set over three tables, a name that is not text left out
           WHERE typeof(skill_name) = 'text'
           ORDER BY 1"#
        )
        .fetch_all(db.connection())
        .await?;
        tracing::Span::current().record("count", names.len());
        Ok(names)
    })
    .await
}
