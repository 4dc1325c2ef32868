//! Write transactions that take the write lock up front.
//!
//! A DEFERRED transaction that reads and then writes fails with `SQLITE_BUSY` at once
//! (the busy timeout does not apply) when another connection wrote meanwhile. Every
//! multi-statement write here therefore starts with `BEGIN IMMEDIATE`, which waits up
//! to the busy timeout for the lock instead. Inside a caller's transaction it nests
//! as a savepoint, so operations compose. App code groups operations with
//! `skill_builder_app::Database::begin` instead; this is what the operations
//! themselves use, and what a tool holding a plain `SqliteConnection` can use.
//!
//! ```no_run
//! # async fn demo(conn: &mut sqlx::SqliteConnection) -> skill_builder_db::Result<()> {
//! let mut tx = skill_builder_db::tx::begin_immediate(conn).await?;
//! let settings = skill_builder_db::settings::read_settings(&mut *tx).await?;
//! skill_builder_db::settings::write_settings(&mut *tx, &settings).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};

/// Begin a write transaction: `BEGIN IMMEDIATE`, or a savepoint when `conn` is
/// already inside a transaction.
///
/// # Errors
/// The database error (`SQLITE_BUSY` after the busy timeout).
pub async fn begin_immediate(
    conn: &mut SqliteConnection,
) -> Result<Transaction<'_, Sqlite>, sqlx::Error> {
    spin_then_park(async move {
        if conn.is_in_transaction() {
            conn.begin().await
        } else {
            conn.begin_with("BEGIN IMMEDIATE").await
        }
    })
    .await
}
