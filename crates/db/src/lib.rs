//! Every data operation of Skill Builder, as compile-time-checked `sqlx` queries.
//!
//! One module per table or area, named after it. Every operation is an `async fn`
//! called the same way, in a transaction or outside one: `op(&mut handle, …)`.
//!
//! - **Writes** take `conn: &mut dyn` [`Writer`]: the writer connection
//!   (`skill_builder_app::Database::write`) or a transaction on it
//!   (`Database::begin`, passed as `&mut tx` or `&mut *tx`). An operation that writes
//!   several statements runs them in one `BEGIN IMMEDIATE` transaction of its own,
//!   or as a savepoint inside the caller's, so operations compose.
//! - **Reads** take `db: &mut dyn` [`Reader`]: any of those, or a connection of the
//!   read-only pool (`Database::read`), which the screens use so that they never
//!   wait behind a write. A read-only connection is not a [`Writer`]: a write given
//!   one does not compile.
//!
//! Every operation's future is `Send`, so it can be awaited in `tokio::spawn` or a
//! `#[tauri::command] async fn`, on a transaction too; [`handle`] says why these
//! two parameter types and not sqlx's generic executors.
//!
//! Every query is a `sqlx::query!`/`query_as!`/`query_scalar!` macro checked against
//! the committed `.sqlx/` cache. Every operation has a `tracing` span; no secret is
//! ever a span field. Errors are [`Error`], serialized as `{ kind, message }` for a
//! Tauri command ([`Error::kind`] lists the codes).
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! use skill_builder_db::{model::SkillSource, settings, skills};
//!
//! let mut tx = db.begin().await?;
//! skills::upsert_skill(&mut tx, "sales-pipeline", &SkillSource::Marketplace, None).await?;
//! let s = settings::read_settings(&mut tx).await?;
//! tx.commit().await?;
//!
//! let mut reader = db.read().await?;
//! let all = skills::list_all_skills(&mut reader).await?;
//! println!("log level {}, {} skills", s.log_level, all.len());
//! # Ok(()) }
//! ```

pub mod agent_runs;
pub mod artifacts;
mod error;
pub mod handle;
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
pub mod spin;
pub mod tags;
pub mod tx;
pub mod usage;
pub mod workflow_runs;
pub mod workflow_steps;
pub mod workspace_skills;

pub use error::{Conflict, Entity, Error, InvalidInput, Result, SettingsProblem};
pub use handle::{Reader, Writer};
pub use skill_builder_model as model;
