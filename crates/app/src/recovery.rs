//! Bringing a file back to a clean state on a read-write open: rolling back a hot
//! journal, shrinking the WAL after an upgrade.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tracing::{info, warn};

use crate::OpenError;
use crate::paths::sqlite_path;

/// Roll back the hot `-journal` of a rollback-mode file: a writer died mid-transaction
/// (or the file was copied or restored with its journal). SQLite does this itself on
/// the first read of any read-write connection; here a plain read-write connection
/// (no pragma that writes, journal mode untouched) reads the schema and closes.
///
/// This is the one change [`crate::Database::open`] makes before its checks: the
/// checks need a consistent file, and a read-only connection cannot give one
/// (`SQLITE_READONLY_ROLLBACK`). It restores the file as it was before the
/// interrupted transaction — what the existing app, or any SQLite tool, does on
/// opening it — so a file refused afterwards (newer schema, edited step) is left
/// rolled back rather than byte-for-byte as found.
///
/// # Errors
/// [`OpenError::ReadOnly`] when the file or folder is not writable, [`OpenError::Locked`]
/// past the busy timeout, the database error.
pub(crate) async fn roll_back_hot_journal(path: &Path) -> Result<(), OpenError> {
    warn!(path = %path.display(), "rolling back an interrupted transaction (hot journal)");
    let options = SqliteConnectOptions::new()
        .filename(sqlite_path(path)?)
        .busy_timeout(crate::BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| OpenError::from_sqlx(path, e))?;
    // unchecked-ok: a read of SQLite's own catalogue.
    let read = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| OpenError::from_sqlx(path, e));
    let _ = conn.close().await;
    read.map(|_| info!("interrupted transaction rolled back"))
}

/// After steps were applied, copy the WAL into the file and truncate it to zero bytes
/// (`wal_checkpoint(TRUNCATE)`): an upgrade rewrites large tables, and its WAL would
/// otherwise stay on disk for as long as the app runs. Best effort: when another
/// process holds a read snapshot the checkpoint is partial and the WAL is shrunk
/// later (to [`crate::JOURNAL_SIZE_LIMIT`]) by the automatic checkpoints.
pub(crate) async fn truncate_wal(conn: &mut SqliteConnection) {
    // unchecked-ok: a pragma.
    match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await
    {
        Ok((busy, log, done)) => info!(busy, log, done, "checkpoint after migrating"),
        Err(error) => warn!(%error, "checkpoint after migrating failed"),
    }
}
