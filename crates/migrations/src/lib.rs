//! The schema of the Skill Builder database and how every file reaches it.
//!
//! * [`MIGRATOR`] embeds `migrations/` at compile time: the baseline (version 0,
//!   idempotent, never recorded), the existing app's steps 1..=[`CONTRACT_VERSION`]
//!   (its sequential numbering, a contract with files already on users' disks), and
//!   this layer's own steps, versioned by timestamp (`YYYYMMDDHHMMSS`, sqlx's
//!   convention, never below [`OWN_VERSION_MIN`]) up to [`LATEST_VERSION`]. The
//!   existing app's later releases number their steps 29, 30, … in the same table; a
//!   file that records any version this build does not know is refused untouched
//!   ([`MigrationError::NewerSchema`]).
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

/// The existing app's last step this layer implements. Steps 1..=28 keep the existing
/// app's numbers; its later releases record 29, 30, … 61 (with a gap at 41), which this
/// build does not know.
pub const CONTRACT_VERSION: i64 = 28;

/// The lowest version this layer gives its own steps. They are sqlx timestamp versions
/// (`YYYYMMDDHHMMSS`, 14 digits); everything in `29..OWN_VERSION_MIN` belongs to the
/// existing app's sequential numbering, so a version this layer records can never be
/// mistaken for one of its steps (and the existing app never skips one of its own
/// steps because this layer recorded the same number).
pub const OWN_VERSION_MIN: i64 = 10_000;

/// The newest step this build knows (a timestamp version of this layer's own).
pub const LATEST_VERSION: i64 = 20_261_207_220_500;

/// This layer's first three steps were numbered 29, 30 and 31 before it moved to
/// timestamp versions: `(old version, new version)`. A file whose rows at the old
/// versions carry this layer's checksum of the same SQL is converted at open (the rows
/// renumbered in one transaction, nothing else changed); a row at those versions
/// without our checksum was written by the existing app's later release.
pub const RENUMBERED: [(i64, i64); 3] = [
    (29, 20_261_126_103_208),
    (30, 20_261_126_110_433),
    (31, 20_261_126_130_009),
];

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

/// The steps (version ≥ 1: the existing app's 1..=28, then this layer's own), in
/// version order.
pub fn steps() -> impl Iterator<Item = &'static Migration> {
    MIGRATOR.iter().filter(|m| m.version > 0)
}

/// The embedded step with this version, if this build knows it.
pub fn step(version: i64) -> Option<&'static Migration> {
    steps().find(|m| m.version == version)
}

/// Whether `version` is a valid `--to` target: 0 (nothing) or a step this build knows.
pub fn is_known_target(version: i64) -> bool {
    version == 0 || step(version).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_baseline_the_contract_steps_and_own_timestamp_steps_up_to_latest() {
        assert!(baseline().is_ok());
        let versions: Vec<i64> = steps().map(|m| m.version).collect();
        let contract: Vec<i64> = versions
            .iter()
            .copied()
            .filter(|v| *v <= CONTRACT_VERSION)
            .collect();
        assert_eq!(contract, (1..=CONTRACT_VERSION).collect::<Vec<_>>());
        let own: Vec<i64> = versions[contract.len()..].to_vec();
        assert!(!own.is_empty());
        for v in &own {
            // YYYYMMDDHHMMSS: 14 digits, never in the existing app's 29..=9999.
            assert!(
                (10_000_000_000_000..100_000_000_000_000).contains(v),
                "own step {v} is not a timestamp version"
            );
        }
        assert!(own.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(own.last().copied(), Some(LATEST_VERSION));
        assert!(OWN_VERSION_MIN > 61 && own.iter().all(|v| *v >= OWN_VERSION_MIN));
    }

    #[test]
    fn the_old_numbers_map_to_steps_with_the_same_bytes() {
        for (old, new) in RENUMBERED {
            assert!((29..OWN_VERSION_MIN).contains(&old));
            assert!(step(old).is_none(), "{old} must not be a step any more");
            assert!(step(new).is_some(), "{new} must be embedded");
        }
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
