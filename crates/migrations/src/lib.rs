//! The schema of the Skill Builder database and how every file reaches it.
//!
//! * [`MIGRATOR`] embeds `migrations/` at compile time: the baseline (version 0,
//!   idempotent, never recorded) and the numbered steps 1..=[`LATEST_VERSION`].
//!   The numbering is a contract with files already on users' disks.
//! * [`migrate`] applies what a file lacks, tracked in `schema_migrations`
//!   (`version`, `applied_at`, plus our own nullable `checksum`), each step and its
//!   record in one `BEGIN IMMEDIATE` transaction, with the [repair pass](repair)
//!   before and after.
//! * [`inspect`] and [`SchemaState::validate`] read a file's tracking table without
//!   writing, so a newer or edited file can be refused before anything touches it.
//! * [`schema`] describes a database canonically (the shape of
//!   `shared/tools/dbdump.py`), for legacy comparisons and drift checks.
//! * [`values`] finds stored values the typed API cannot read exactly (text in an
//!   `INTEGER` column, a BLOB or invalid UTF-8 in a `TEXT` column, NULL keys), for
//!   `check`, the repair pass and the list operations of `skill-builder-db`.
//!
//! This crate deliberately uses no query macros: it is what builds the schema that
//! the macros in `skill-builder-db` are checked against, so it must build while the
//! `.sqlx/` cache is stale (`just prepare` runs it).
//!
//! ```no_run
//! # async fn demo() -> Result<(), skill_builder_migrations::MigrationError> {
//! use sqlx::{Connection, SqliteConnection};
//! let mut conn = SqliteConnection::connect("sqlite:skill-builder.db?mode=rwc").await?;
//! let report = skill_builder_migrations::migrate(&mut conn, None).await?;
//! for step in &report.applied {
//!     println!("applied {} {}", step.version, step.description);
//! }
//! # Ok(()) }
//! ```

mod error;
pub mod repair;
mod runner;
pub mod schema;
mod state;
pub mod values;

pub use error::MigrationError;
pub use repair::RepairReport;
pub use runner::{AppliedStep, MigrationReport, migrate};
pub use state::{RecordedStep, SchemaState, inspect};

use sqlx::migrate::{Migration, Migrator};

/// Every SQL file of `migrations/`, embedded at compile time.
///
/// Version 0 is the baseline; the others are the numbered steps.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The newest numbered step this build knows. Files recorded above it are refused.
pub const LATEST_VERSION: i64 = 31;

/// The baseline (version 0): `CREATE TABLE IF NOT EXISTS` only, run at every startup,
/// never recorded.
///
/// # Errors
/// [`MigrationError::MissingBaseline`] if the build embedded no version-0 file
/// (caught by this crate's tests).
pub fn baseline() -> Result<&'static Migration, MigrationError> {
    MIGRATOR
        .iter()
        .find(|m| m.version == 0)
        .ok_or(MigrationError::MissingBaseline)
}

/// The numbered steps (version ≥ 1), in version order.
pub fn steps() -> impl Iterator<Item = &'static Migration> {
    MIGRATOR.iter().filter(|m| m.version > 0)
}

/// The embedded step with this version, if this build knows it.
pub fn step(version: i64) -> Option<&'static Migration> {
    steps().find(|m| m.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_baseline_and_contiguous_steps_up_to_latest() {
        assert!(baseline().is_ok());
        let versions: Vec<i64> = steps().map(|m| m.version).collect();
        assert_eq!(versions, (1..=LATEST_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn step_24_ends_with_the_repair_fill() {
        let sql = step(24)
            .map(|m| m.sql.as_str().to_owned())
            .unwrap_or_default();
        assert!(
            sql.trim_end().ends_with(repair::STEP_24_FILL.trim_end()),
            "migrations/repair/0024_fill.sql must repeat the end of step 24"
        );
    }
}
