//! Every data operation of Skill Builder, as compile-time-checked `sqlx` queries.
//!
//! One module per table or area, named after it. Each operation is an `async fn`
//! that takes an executor — a `&SqlitePool`, a `&mut SqliteConnection` or `&mut *tx`
//! of the caller's transaction — so callers can compose operations inside one
//! transaction. Operations that write several statements take a connection and run
//! them in one `BEGIN IMMEDIATE` transaction (a savepoint inside the caller's).
//! Every query is a `sqlx::query!`/`query_as!`/`query_scalar!` macro checked against
//! the committed `.sqlx/` cache. Every operation has a `tracing` span; no secret is
//! ever a span field. Errors are [`Error`].
//!
//! Which pool: `Database::open` (crate `skill-builder-app`) gives a writer,
//! `db.pool()` (one connection; every write, and reads that must see the caller's
//! uncommitted writes), and read-only connections, `db.reader()`, for the list and
//! report operations of the screens — their rustdoc says "**Pool:** reads only". A
//! write through the reader fails with [`Error::ReadOnlyConnection`].
//!
//! Open the database with the `skill-builder-app` crate (`Database::open`), then pass
//! `db.pool()`:
//!
//! ```no_run
//! # async fn demo(pool: &sqlx::SqlitePool) -> skill_builder_db::Result<()> {
//! let settings = skill_builder_db::settings::read_settings(pool).await?;
//! println!("log level {}", settings.log_level);
//! # Ok(()) }
//! ```

pub mod agent_runs;
pub mod artifacts;
mod error;
pub mod hydrate;
pub mod imported_skills;
pub mod installed;
pub mod locks;
pub mod malformed;
pub mod pid;
pub mod rename;
pub mod sessions;
pub mod settings;
pub mod skills;
pub mod tags;
pub mod tx;
pub mod usage;
pub mod workflow_runs;
pub mod workflow_steps;
pub mod workspace_skills;

pub use error::{Conflict, Entity, Error, InvalidInput, Result};
pub use skill_builder_model as model;
