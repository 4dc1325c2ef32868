//! What operations are given: [`Reader`] and [`Writer`], the one call shape.
//!
//! Every operation of this crate is called the same way, in a transaction and
//! outside one: `op(&mut handle, …)`.
//!
//! | operation | parameter | `handle` may be |
//! |---|---|---|
//! | writes | `conn: &mut dyn Writer` | the writer (`skill_builder_app::WriteConnection`), a transaction on it (`skill_builder_app::Transaction`, as `&mut tx` or `&mut *tx`), any `SqliteConnection` |
//! | reads (`get_*`, `list_*`, `has_*`, `read_settings*`, the usage reports) | `db: &mut dyn Reader` | all of the above, and a connection of the read-only pool (`skill_builder_app::ReadConnection`) |
//!
//! A read-only connection is a [`Reader`] and not a [`Writer`], so a write given one
//! is a compile error, not a run-time `SQLITE_READONLY`. Both parameters are trait
//! objects, not generic `Executor<'e>`/`Acquire<'e>` parameters, for two reasons:
//! every operation's future is then `Send` and can be awaited inside `tokio::spawn`
//! or a `#[tauri::command] async fn`, on a transaction too (generic executor
//! parameters fail there with "implementation of `Send` is not general enough",
//! rustc's higher-ranked lifetime limits: sqlx issues 1015, 1142, 1686, 2016); and
//! the compiler turns `&mut handle` into them by itself, even straight from
//! `db.write().await?` — which a `&mut SqliteConnection` parameter does not accept
//! (deref coercion does not reach through `?` or `.await`). Each costs one virtual
//! call per operation.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! use skill_builder_db::{model::SkillSource, skills};
//! skills::upsert_skill(&mut db.write().await?, "a", &SkillSource::SkillBuilder, None).await?;
//! let all = skills::list_all_skills(&mut db.read().await?).await?;
//! # let _ = all; Ok(()) }
//! ```

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, Transaction};

/// A connection a read operation can run on: the writer, a transaction on it, or a
/// connection of the read-only pool. See the [module](self) for the call shape.
///
/// Implemented for [`SqliteConnection`], sqlx's [`Transaction`] and
/// [`PoolConnection`], and by the handles of `skill-builder-app`. Callers never
/// call its method: they pass `&mut handle`.
pub trait Reader: Send {
    /// The connection the operation runs on. Not for callers: pass `&mut handle`
    /// to the operation instead.
    #[doc(hidden)]
    fn connection(&mut self) -> &mut SqliteConnection;
}

/// A connection a write operation can run on: the writer or a transaction on it
/// (and any read-write [`SqliteConnection`]); never a connection of the read-only
/// pool. See the [module](self) for the call shape.
pub trait Writer: Reader {}

impl Reader for SqliteConnection {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}

impl Writer for SqliteConnection {}

impl Reader for Transaction<'_, Sqlite> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}

impl Writer for Transaction<'_, Sqlite> {}

impl Reader for PoolConnection<Sqlite> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}

impl Writer for PoolConnection<Sqlite> {}

/// A borrowed handle is a handle (`op(&mut conn, …)` where `conn` is itself a
/// `&mut` handle).
impl<R: Reader + ?Sized> Reader for &mut R {
    fn connection(&mut self) -> &mut SqliteConnection {
        (**self).connection()
    }
}

impl<W: Writer + ?Sized> Writer for &mut W {}
