//! Opening the Skill Builder database, for the app and its tools.
//!
//! [`Database::open`] (or [`Database::open_default`]) is the one way in: it refuses a
//! file this build must not touch (not SQLite, corrupt, read-only, newer schema,
//! edited migration) before writing a byte, creates a missing file and folder (0600 on
//! Unix: settings hold API keys), opens a pool of exactly one connection (WAL, busy
//! timeout 5 s, `foreign_keys=ON`, `synchronous=NORMAL`) and runs the startup
//! migrations with the repair pass; beside it, a few read-only connections
//! ([`Database::reader`]) for the screens, so reads never hold up writes. [`status`],
//! [`check`] and [`backup`] read a file without writing to it (they only give the owner
//! write permission back on a `-wal`/`-shm` SQLite created with a read-only file's
//! mode). The `skill-builder-db` binary is a thin CLI over these.
//!
//! ```no_run
//! # async fn demo() -> Result<(), skill_builder_app::OpenError> {
//! let db = skill_builder_app::Database::open_default().await?;
//! println!("{} is at version {}", db.path().display(), db.migration_report().to_version);
//! # Ok(()) }
//! ```

pub mod bench;
pub mod demo;
mod error;
mod media;
mod open;
mod paths;
mod recovery;
mod report;
pub mod snapshot;
mod upgrade_wait;
mod wal_view;

pub use error::OpenError;
pub use open::{
    BUSY_TIMEOUT, Database, JOURNAL_SIZE_LIMIT, OpenOptions, READER_CONNECTIONS, connect_options,
};
pub use paths::{APP_IDENTIFIER, DB_FILE_NAME, DB_PATH_ENV, default_path};
pub use report::{CheckReport, DanglingReference, Status, backup, check, status};
/// The data operations (`skill-builder-db`), re-exported so the app needs one dependency.
pub use skill_builder_db as db;
pub use skill_builder_migrations::{CONTRACT_VERSION, LATEST_VERSION, MigrationReport};
/// The domain types (`skill-builder-model`).
pub use skill_builder_model as model;
pub use upgrade_wait::UPGRADE_WAIT_LIMIT;
