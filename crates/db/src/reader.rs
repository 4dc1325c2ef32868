//! What a read operation is given: any connection that may read.
//!
//! Every operation of this crate takes one of two parameter types, and is called
//! the same way in a transaction and outside one — `op(&mut handle, …)`:
//!
//! | operation | parameter | accepts |
//! |---|---|---|
//! | writes (and reads that belong to a write) | `conn: &mut SqliteConnection` | the writer's connection, a transaction on it (`&mut tx` or `&mut *tx`) |
//! | reads (`get_*`, `list_*`, `has_*`, `read_settings*`, the usage reports) | `db: &mut dyn Reader` | all of the above, and a connection of the read-only pool |
//!
//! A connection of the read-only pool (`skill_builder_app::ReadConnection`) is not a
//! `SqliteConnection`: a write given one does not compile. Both parameter types are
//! concrete (no `Executor<'e>`/`Acquire<'e>` generics), so every operation's future
//! is `Send` and can be awaited inside `tokio::spawn` or a Tauri command, on a
//! transaction as well as on a plain connection — generic executor parameters hit
//! rustc's higher-ranked lifetime limits there (sqlx issues 1015, 1142, 1686, 2016).

use sqlx::{Sqlite, SqliteConnection, Transaction};

/// A connection a read operation can run on: the writer's connection, a transaction
/// on it, or a connection of the read-only pool.
///
/// Implemented for [`SqliteConnection`] (so `&mut *tx` and any `&mut SqliteConnection`
/// work), for sqlx's [`Transaction`], and by the handles of `skill-builder-app`
/// (`WriteConnection`, `Transaction`, `ReadConnection`). A caller never calls its
/// method: it passes `&mut handle` and the compiler turns it into `&mut dyn Reader`.
///
/// ```no_run
/// # async fn demo(conn: &mut sqlx::SqliteConnection) -> skill_builder_db::Result<()> {
/// let skills = skill_builder_db::skills::list_all_skills(conn).await?;
/// # let _ = skills; Ok(()) }
/// ```
pub trait Reader: Send {
    /// The connection the read runs on. Not for callers: pass `&mut handle` to the
    /// operation instead.
    #[doc(hidden)]
    fn connection(&mut self) -> &mut SqliteConnection;
}

impl Reader for SqliteConnection {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}

impl Reader for Transaction<'_, Sqlite> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}

impl Reader for sqlx::pool::PoolConnection<Sqlite> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self
    }
}
