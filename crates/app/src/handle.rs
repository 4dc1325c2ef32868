//! The three handles an app passes to the operations: [`WriteConnection`],
//! [`Transaction`] and [`ReadConnection`].
//!
//! Every operation of `skill-builder-db` is called as `op(&mut handle, …)`:
//! writes take `&mut dyn Writer`, which a [`WriteConnection`] and a [`Transaction`]
//! are; reads take `&mut dyn Reader`, which all three handles are (see
//! `skill_builder_db::handle`). A [`ReadConnection`] is not a `Writer`, so a write
//! given one does not compile:
//!
//! ```compile_fail
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut reader = db.read().await?;
//! skill_builder_db::sessions::end_all_sessions_for_pid(&mut reader, 42).await?;
//! # Ok(()) }
//! ```
//!
//! while the same call on the writer compiles:
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut writer = db.write().await?;
//! skill_builder_db::sessions::end_all_sessions_for_pid(&mut writer, 42).await?;
//! # Ok(()) }
//! ```
//!
//! Each handle owns what it holds (`'static`, `Send`), so a Tauri command or a
//! `tokio::spawn`ed task can keep it across `.await`s.

use std::sync::Arc;
use std::time::Duration;

use skill_builder_db::spin::spin_then_park;
use skill_builder_db::{Reader, Writer};
use sqlx::sqlite::SqliteTransactionManager;
use sqlx::{SqlStr, Sqlite, SqliteConnection};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// How long a task waits for the writer while another task holds it (a
/// [`WriteConnection`] or a [`Transaction`]) before it fails with
/// `sqlx::Error::PoolTimedOut`: sqlx's acquire timeout, as with the pool this
/// replaced. A task that asks again for the writer it already holds fails at once
/// instead ([`skill_builder_db::Error::WriterHeldByThisTask`]).
pub const WRITER_WAIT: Duration = Duration::from_secs(30);

/// Which task holds the writer: a tokio task, or (outside any task, e.g. inside
/// `block_on`) a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

impl Holder {
    fn current() -> Self {
        tokio::task::try_id().map_or_else(|| Self::Thread(std::thread::current().id()), Self::Task)
    }
}

/// The writer: the one read-write connection of a [`crate::Database`] (`None` once
/// closed), and which task holds it.
#[derive(Debug)]
pub(crate) struct WriterSlot {
    conn: Arc<Mutex<Option<SqliteConnection>>>,
    holder: std::sync::Mutex<Option<Holder>>,
}

impl WriterSlot {
    pub(crate) fn new(conn: SqliteConnection) -> Self {
        Self {
            conn: Arc::new(Mutex::new(Some(conn))),
            holder: std::sync::Mutex::new(None),
        }
    }

    fn holder(&self) -> std::sync::MutexGuard<'_, Option<Holder>> {
        // A poisoned lock only means a panic elsewhere while the plain value was
        // set; the value is still meaningful.
        self.holder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Take the writer: at once when it is free, after the holder is done when
    /// another task holds it (up to [`WRITER_WAIT`]); refused at once when this task
    /// holds it already.
    pub(crate) async fn acquire(self: &Arc<Self>) -> skill_builder_db::Result<WriteConnection> {
        let me = Holder::current();
        let guard = match self.conn.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                if *self.holder() == Some(me) {
                    return Err(skill_builder_db::Error::WriterHeldByThisTask);
                }
                tokio::time::timeout(WRITER_WAIT, self.conn.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
            }
        };
        let guard =
            OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
        *self.holder() = Some(me);
        Ok(WriteConnection {
            guard,
            writer: Arc::clone(self),
        })
    }

    /// Close the connection (waiting for a holder to finish): a checkpoint of the
    /// WAL when it is the file's last connection. Later [`Writer::acquire`]s fail
    /// with `sqlx::Error::PoolClosed`.
    pub(crate) async fn close(&self) {
        if self.conn.try_lock().is_err() && *self.holder() == Some(Holder::current()) {
            tracing::warn!(
                "Database::close called by the task that holds the writer: the writer closes when the last clone is dropped"
            );
            return;
        }
        let conn = self.conn.lock().await.take();
        if let Some(conn) = conn {
            use sqlx::Connection as _;
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the writer connection failed");
            }
        }
    }
}

/// The writer connection of a [`crate::Database`], held by one task until dropped
/// (from [`crate::Database::write`]).
///
/// Operations take it as `&mut conn` (it also dereferences to `SqliteConnection`,
/// for a query of your own: `.fetch_one(&mut *conn)`).
/// Each statement is its own transaction (autocommit); an operation that writes
/// several statements runs them in one `BEGIN IMMEDIATE` transaction of its own.
/// Group several operations with [`crate::Database::begin`] instead.
///
/// While a task holds it, other tasks that ask for the writer wait; the same task
/// asking again gets [`skill_builder_db::Error::WriterHeldByThisTask`] at once.
#[derive(Debug)]
pub struct WriteConnection {
    guard: OwnedMappedMutexGuard<Option<SqliteConnection>, SqliteConnection>,
    writer: Arc<WriterSlot>,
}

impl Drop for WriteConnection {
    fn drop(&mut self) {
        // Cleared before the guard is released, so the next holder sets its own.
        *self.writer.holder() = None;
    }
}

impl std::ops::Deref for WriteConnection {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.guard
    }
}

impl std::ops::DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.guard
    }
}

impl Reader for WriteConnection {
    fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.guard
    }
}

impl Writer for WriteConnection {}

/// A write transaction on the writer (`BEGIN IMMEDIATE`), from
/// [`crate::Database::begin`]: the way to group operations so that all of them
/// happen or none.
///
/// Pass it to operations as `&mut tx` (or `&mut *tx`); operations that write several
/// statements nest inside it as savepoints. [`Transaction::commit`] makes the work
/// durable; dropping it without committing (an early `?` return, a panic, a
/// cancelled task) rolls everything back. The task holds the writer until then.
#[derive(Debug)]
pub struct Transaction {
    conn: WriteConnection,
    open: bool,
}

impl Transaction {
    /// `BEGIN IMMEDIATE` on `conn`: the write lock is taken now, waiting up to the
    /// busy timeout for another process.
    pub(crate) async fn begin(mut conn: WriteConnection) -> skill_builder_db::Result<Self> {
        spin_then_park(SqliteTransactionManager::begin(
            &mut conn,
            Some(SqlStr::from_static("BEGIN IMMEDIATE")),
        ))
        .await?;
        Ok(Self { conn, open: true })
    }

    /// Commit: every write of the transaction becomes durable and visible to the
    /// readers.
    ///
    /// # Errors
    /// The database error (e.g. `SQLITE_FULL` on a full disk); the transaction is
    /// then rolled back.
    pub async fn commit(mut self) -> skill_builder_db::Result<()> {
        spin_then_park(SqliteTransactionManager::commit(&mut self.conn)).await?;
        self.open = false;
        Ok(())
    }

    /// Roll back every write of the transaction (dropping it does the same).
    ///
    /// # Errors
    /// The database error.
    pub async fn rollback(mut self) -> skill_builder_db::Result<()> {
        spin_then_park(SqliteTransactionManager::rollback(&mut self.conn)).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection's worker before any later statement.
            SqliteTransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl std::ops::Deref for Transaction {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl Reader for Transaction {
    fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl Writer for Transaction {}

/// A connection of the read-only pool, from [`crate::Database::read`]: for the
/// list and report operations of the screens, which then never wait behind a write
/// (WAL: readers and the writer do not block each other).
///
/// Reads take it as `&mut conn`. It is not a [`Writer`], so write operations do
/// not accept it (a compile error). It sees every write committed
/// before each statement starts, not the uncommitted writes of a [`Transaction`]:
/// read inside a transaction with the transaction itself.
#[derive(Debug)]
pub struct ReadConnection(pub(crate) sqlx::pool::PoolConnection<Sqlite>);

impl Reader for ReadConnection {
    fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}
