//! Opening the database: checks that refuse a file untouched, then the writer
//! connection, startup migrations and repair, and the (lazy) read-only pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use skill_builder_db::spin::spin_then_park;
use skill_builder_migrations::{MigrationReport, SchemaState};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

use crate::handle::{ReadConnection, Transaction, WriteConnection, WriterSlot};
use tracing::{Instrument, info, info_span};

use crate::paths::sqlite_path;
use crate::{OpenError, default_path};

/// The busy timeout of every connection: how long a statement waits for another
/// process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How to open a database: [`OpenOptions::new`], then a builder method per option.
///
/// Options are added without breaking callers (the struct cannot be built with a
/// literal).
///
/// ```no_run
/// # async fn demo() -> Result<(), skill_builder_app::OpenError> {
/// use skill_builder_app::{Database, OpenOptions};
/// let db = Database::open_with("/tmp/demo.db", &OpenOptions::new().target(28)).await?;
/// # drop(db); Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    target: Option<i64>,
}

impl OpenOptions {
    /// The defaults: apply every pending step.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply steps only up to `version` (one this build knows; `migrate --to N`).
    #[must_use]
    pub fn target(mut self, version: i64) -> Self {
        self.target = Some(version);
        self
    }

    /// The version steps are applied up to, if limited.
    pub fn target_version(&self) -> Option<i64> {
        self.target
    }
}

/// Connections in the read-only pool ([`Database::read`]).
pub const READER_CONNECTIONS: u32 = 3;

/// An open Skill Builder database on a file whose schema is up to date.
///
/// It holds one read-write connection, the **writer** (WAL, busy timeout 5 s,
/// `foreign_keys=ON`, `synchronous=NORMAL`), and a pool of [`READER_CONNECTIONS`]
/// read-only connections (opened on first use, `query_only=ON`, same busy timeout).
/// An app keeps one `Database` as shared state (cloning is cheap and shares both)
/// and takes a handle per command:
///
/// | handle | from | for |
/// |---|---|---|
/// | [`WriteConnection`] | [`Database::write`] | one operation or several, each committed on its own |
/// | [`Transaction`] | [`Database::begin`] | several operations that must all happen or none (`BEGIN IMMEDIATE`) |
/// | [`ReadConnection`] | [`Database::read`] | the list and report operations of the screens: they never wait behind a write |
///
/// Every operation is then called as `op(&mut handle, …)`. The handles own what
/// they hold, so they and the futures that use them are `Send + 'static`:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use skill_builder_app::Database;
/// use skill_builder_app::db::{model::SkillSource, skills, workflow_runs};
///
/// let db = Database::open("/tmp/demo/skill-builder.db").await?;
/// let task = tokio::spawn({
///     let db = db.clone();
///     async move {
///         let mut tx = db.begin().await?;
///         skills::upsert_skill(&mut tx, "my-skill", &SkillSource::SkillBuilder, None).await?;
///         let run = workflow_runs::get_workflow_run(&mut tx, "my-skill").await?;
///         tx.commit().await?;
///         Ok::<_, skill_builder_app::db::Error>(run)
///     }
/// });
/// let _run = task.await??;
/// let names = skills::list_all_skills(&mut db.read().await?).await?;
/// # let _ = names;
/// db.close().await;
/// # Ok(()) }
/// ```
///
/// The writer is one connection: while a task holds a [`WriteConnection`] or a
/// [`Transaction`], other tasks asking for the writer wait for it (up to
/// [`crate::WRITER_WAIT`]); the holding task asking again fails at once with
/// [`skill_builder_db::Error::WriterHeldByThisTask`] (it would wait for itself).
/// An idle `Database` runs nothing: no background task, no timer.
#[derive(Debug, Clone)]
pub struct Database {
    writer: Arc<WriterSlot>,
    reader: SqlitePool,
    path: PathBuf,
    report: Arc<MigrationReport>,
}

impl Database {
    /// Open (creating if missing) the database at `path` and bring it up to date.
    ///
    /// # Errors
    /// See [`OpenError`]; a refused file is left untouched (a rollback-mode file with a
    /// hot `-journal` is rolled back first, as any read-write SQLite open does: see
    /// [`OpenError::RollbackPending`]). A path that is not valid UTF-8 is refused before
    /// any folder or file is created; a relative path beginning with `file:` is a file
    /// of that name, never a URI. When another process holds the write lock of a file
    /// that needs upgrading and visibly upgrades it, the open waits for it (up to
    /// [`crate::UPGRADE_WAIT_LIMIT`]) instead of failing after the busy timeout.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, &OpenOptions::default()).await
    }

    /// Open the database at [`default_path`] (`$SKILL_BUILDER_DB` or the per-user
    /// data directory).
    ///
    /// # Errors
    /// See [`OpenError`].
    pub async fn open_default() -> Result<Self, OpenError> {
        Self::open(default_path()?).await
    }

    /// Open with explicit [`OpenOptions`].
    ///
    /// # Errors
    /// See [`OpenError`].
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: &OpenOptions,
    ) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let span = info_span!("open_database", path = %path.display());
        let open = async move {
            // Before anything is created: a path SQLite cannot be given is refused here.
            let sqlite_path = sqlite_path(&path)?;
            if let Some(target) = options.target
                && !skill_builder_migrations::is_known_target(target)
            {
                return Err(OpenError::Migration {
                    path,
                    source: skill_builder_migrations::MigrationError::UnknownTarget(target),
                });
            }
            let state = classify(&path)?;
            let mut snapshot = None;
            match state {
                FileState::New => create_file(&path)?,
                FileState::NeedsReadOnlyCheck => {
                    snapshot = match verify_read_only(&path, options.target).await {
                        Err(OpenError::RollbackPending { .. }) => {
                            crate::recovery::roll_back_hot_journal(&path).await?;
                            verify_read_only(&path, options.target).await?
                        }
                        other => other?,
                    };
                }
                FileState::QuietWal => {}
            }
            restrict_permissions(&path)?;
            let mut conn = SqliteConnection::connect_with(&connect_options(&sqlite_path))
                .await
                .map_err(|e| OpenError::from_sqlx(&path, e))?;
            let report = match prepare(&mut conn, &path, state, options.target).await {
                Ok(mut report) => {
                    if report.snapshot.is_none() {
                        report.snapshot = snapshot;
                    }
                    report
                }
                Err(e) => {
                    let _ = conn.close().await;
                    return Err(e);
                }
            };
            restrict_permissions(&path)?;
            // Only now, with the file verified and migrated: the readers connect on
            // first use (a refused file never saw them).
            let reader = reader_pool(&sqlite_path);
            info!(
                from = report.from_version,
                to = report.to_version,
                applied = report.applied.len(),
                "database ready"
            );
            Ok(Self {
                writer: Arc::new(WriterSlot::new(conn)),
                reader,
                path,
                report: Arc::new(report),
            })
        }
        .instrument(span);
        // Every statement of the open waits as the operations do (see
        // `skill_builder_db::spin`).
        spin_then_park(open).await
    }

    /// Take the writer connection for one or more operations, each committed on its
    /// own (autocommit; a multi-statement operation is its own transaction). Held
    /// until the handle is dropped: keep it for a command's work, not longer.
    ///
    /// ```no_run
    /// # async fn demo(db: &skill_builder_app::Database) -> skill_builder_app::db::Result<()> {
    /// use skill_builder_app::db::settings;
    /// let mut conn = db.write().await?;
    /// let mut s = settings::read_settings(&mut conn).await?;
    /// s.max_dimensions += 1;
    /// settings::write_settings(&mut conn, &s).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`skill_builder_db::Error::WriterHeldByThisTask`] at once when this task
    /// holds the writer already; `Error::Database(sqlx::Error::PoolTimedOut)` when
    /// another task held it for [`crate::WRITER_WAIT`];
    /// `Error::Database(sqlx::Error::PoolClosed)` after [`Database::close`].
    pub async fn write(&self) -> skill_builder_db::Result<WriteConnection> {
        self.writer.acquire().await
    }

    /// Begin a write transaction with `BEGIN IMMEDIATE` on the writer: the way to
    /// group operations so that all of them happen or none.
    ///
    /// The write lock is taken up front (waiting up to [`BUSY_TIMEOUT`] for another
    /// process), so a read followed by a write in the same transaction never fails
    /// with `SQLITE_BUSY_SNAPSHOT` (517), as a DEFERRED transaction (sqlx's plain
    /// `begin()`) does whenever another process committed in between. Operations
    /// nest inside it as savepoints; dropping it without
    /// [`Transaction::commit`] rolls back.
    ///
    /// ```no_run
    /// # async fn demo(db: &skill_builder_app::Database) -> skill_builder_app::db::Result<()> {
    /// use skill_builder_app::db::settings;
    /// let mut tx = db.begin().await?;
    /// let mut s = settings::read_settings(&mut tx).await?;
    /// s.skills_path = Some("/home/me/skills".into());
    /// settings::write_settings(&mut tx, &s).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Database::write`]; the database error (`busy` when another process held
    /// the write lock past the busy timeout).
    pub async fn begin(&self) -> skill_builder_db::Result<Transaction> {
        Transaction::begin(self.writer.acquire().await?).await
    }

    /// Take a connection of the read-only pool, for the list and report operations
    /// of the screens: in WAL mode a reader never waits for the writer nor the writer
    /// for a reader. It sees every write committed before each statement.
    ///
    /// ```no_run
    /// # async fn demo(db: &skill_builder_app::Database) -> skill_builder_app::db::Result<()> {
    /// use skill_builder_app::db::usage;
    /// let mut reader = db.read().await?;
    /// let summary = usage::get_usage_summary(&mut reader, true).await?;
    /// # let _ = summary; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database error (the pool's acquire timeout, 30 s, when every reader is
    /// busy for that long).
    pub async fn read(&self) -> skill_builder_db::Result<ReadConnection> {
        Ok(ReadConnection(self.reader.acquire().await?))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What startup did: steps applied, repairs.
    pub fn migration_report(&self) -> &MigrationReport {
        &self.report
    }

    /// Close the readers, then the writer (waiting for another task that holds it),
    /// so that the writer closes last and checkpoints the WAL. Every clone is
    /// closed: handles taken afterwards fail with `sqlx::Error::PoolClosed`. Drop
    /// your own handles first: called by a task that still holds the writer, it
    /// closes only the readers (waiting for itself would never end), and the writer
    /// closes when the last clone of the `Database` is dropped.
    pub async fn close(self) {
        self.reader.close().await;
        // The writer's close waits as the operations do (see `skill_builder_db::spin`);
        // the pool's does not (sqlx's pool yields to the runtime on purpose).
        spin_then_park(self.writer.close()).await;
    }
}

/// The writer's work at open: the checks of a quiet WAL file (on this connection:
/// nothing has been written yet, so a refusal leaves the file untouched), the
/// upgrade, and a WAL truncation after steps ran.
async fn prepare(
    conn: &mut SqliteConnection,
    path: &Path,
    state: FileState,
    target: Option<i64>,
) -> Result<MigrationReport, OpenError> {
    enable_wal(conn, path).await?;
    let report = match state {
        FileState::QuietWal => {
            let schema = verify(conn, path).await?;
            // The start of an up-to-date file (the common case): the checks above are
            // all the runner would do, so it is not asked to read them again.
            // (`missing_columns` reads `schema_migrations`: only asked when the file
            // records every step, i.e. has the table; another process may have
            // created this file a moment ago and not yet its tracking table.)
            let current = schema.is_current(target)
                && skill_builder_migrations::repair::missing_columns(conn)
                    .await
                    .map_err(|e| OpenError::from_migration(path, e))?
                    .is_empty();
            if current {
                let version = schema.version();
                MigrationReport {
                    from_version: version,
                    to_version: version,
                    ..MigrationReport::default()
                }
            } else {
                let snapshot = crate::snapshot::before_upgrade(conn, path, &schema, target).await?;
                let mut report = crate::upgrade_wait::migrate_waiting(conn, path, target).await?;
                report.snapshot = snapshot;
                report
            }
        }
        FileState::New | FileState::NeedsReadOnlyCheck => {
            crate::upgrade_wait::migrate_waiting(conn, path, target).await?
        }
    };
    if !report.applied.is_empty() {
        crate::recovery::truncate_wal(conn).await;
    }
    Ok(report)
}

/// The largest `-wal` file kept between checkpoints (`PRAGMA journal_size_limit`):
/// when a checkpoint resets the WAL, SQLite truncates it to this size, so a burst of
/// writes (or one made while another process held a read snapshot) does not leave a
/// large `-wal` for as long as the app runs.
pub const JOURNAL_SIZE_LIMIT: u64 = 8 * 1024 * 1024;

/// The production connection options for `path`: busy timeout 5 s, foreign keys on,
/// synchronous NORMAL, `journal_size_limit` [`JOURNAL_SIZE_LIMIT`], file created if
/// missing. A relative `path` is made absolute so that SQLite never reads it as a URI
/// (`file:x.db` is a file of that name).
///
/// The journal mode is not among them: switching a file to WAL takes its write lock
/// without SQLite's busy handler, so a connect-time `PRAGMA journal_mode = WAL` fails
/// at once when another process is writing. [`Database::open`] switches the file
/// itself and waits for the lock like any other write (WAL is then a property of the
/// file, kept by every later connection).
pub fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(crate::paths::sqlite_path(path).unwrap_or_else(|_| path.to_path_buf()))
        .create_if_missing(true)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
        .row_buffer_size(ROW_BUFFER)
        // Sorts and groupings of the usage reports stay in memory instead of temp
        // files (at a million agent runs the default spilled to disk and the reports
        // grew far faster than the data), and a 16 MiB page cache keeps the hot
        // tables' pages between calls.
        .pragma("temp_store", "MEMORY")
        .pragma("cache_size", "-16384")
        .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string())
}

/// Switch the file to WAL (a no-op, writing nothing, when it already is), retrying
/// while another process holds the write lock, for up to [`BUSY_TIMEOUT`].
async fn enable_wal(conn: &mut SqliteConnection, path: &Path) -> Result<(), OpenError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        // unchecked-ok: a pragma, not a query of the schema.
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(OpenError::JournalMode {
                    path: path.into(),
                    mode,
                });
            }
            Err(e) if OpenError::is_busy(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => return Err(OpenError::from_sqlx(path, e)),
        }
    }
}

/// Rows the connection's worker thread may buffer ahead of the caller. sqlx's default
/// (50) makes the worker and the caller take turns every 50 rows; list screens read
/// thousands, and a larger buffer lets the worker stream them without waiting.
const ROW_BUFFER: usize = 1024;

/// Options for a connection that never writes: the production pragmas that can be
/// set read-only (busy timeout, foreign keys, synchronous), journal mode untouched.
pub(crate) fn read_only_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
}

/// The options of a reader of [`Database::read`]: opened `read_only`, `query_only`
/// on (a write fails with `SQLITE_READONLY` even if the open flag were ignored), the
/// busy timeout, and the writer's row buffer, temp store and page cache for the
/// reports.
fn reader_options(path: &Path) -> SqliteConnectOptions {
    read_only_options(path)
        .row_buffer_size(ROW_BUFFER)
        .pragma("query_only", "ON")
        .pragma("temp_store", "MEMORY")
        .pragma("cache_size", "-16384")
}

/// The read-only pool for `path` (verified and migrated): lazy, so it connects on
/// first use and costs an open nothing; connections are kept once opened.
fn reader_pool(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(READER_CONNECTIONS)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_lazy_with(reader_options(path))
}

/// Open `path` read-only (it must exist). On a read-only file system, when no `-wal`
/// holds frames and no `-journal` is left, the file is opened `immutable` (SQLite could not create the `-shm`
/// a WAL file needs, and no other process can be writing it).
pub(crate) async fn connect_read_only(path: &Path) -> Result<SqliteConnection, OpenError> {
    let name = sqlite_path(path)?;
    // Not with a hot `-journal` either: `immutable` would read the interrupted
    // transaction's pages as if committed.
    let immutable =
        crate::media::on_read_only_file_system(path) && !wal_has_frames(path) && !has_journal(path);
    if immutable {
        info!("read-only file system: opening the file immutable");
    }
    SqliteConnection::connect_with(&read_only_options(&name).immutable(immutable))
        .await
        .map_err(|e| OpenError::from_sqlx(path, e))
}

/// What is at the database path, from metadata and the first 100 bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileState {
    /// No file (or an empty one): a new database will be created.
    New,
    /// An SQLite file in WAL mode with no pending WAL frames: connecting with the
    /// production options writes nothing, so the checks can run on the pool's own
    /// connection.
    QuietWal,
    /// Any other SQLite file (rollback journal, or a WAL with frames): the checks run
    /// on a separate read-only connection first, because switching it to WAL or
    /// checkpointing on close would change its bytes.
    NeedsReadOnlyCheck,
}

/// The synchronous part of the checks: folder vs file, permissions, header,
/// truncation.
pub(crate) fn classify(path: &Path) -> Result<FileState, OpenError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(FileState::New);
        }
        Err(source) => {
            return Err(OpenError::Io {
                path: path.into(),
                source,
            });
        }
    };
    if meta.is_dir() {
        return Err(OpenError::NotADatabase { path: path.into() });
    }
    let wal = if meta.len() == 0 {
        None
    } else {
        Some(preflight_header(path)?)
    };
    if meta.permissions().readonly() || crate::media::on_read_only_file_system(path) {
        return Err(OpenError::ReadOnly { path: path.into() });
    }
    Ok(match wal {
        None => FileState::New,
        Some(true) if !wal_has_frames(path) => FileState::QuietWal,
        Some(_) => FileState::NeedsReadOnlyCheck,
    })
}

fn has_journal(path: &Path) -> bool {
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    std::fs::metadata(PathBuf::from(journal)).is_ok_and(|m| m.len() > 0)
}

pub(crate) fn wal_has_frames(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// Checks that must pass before anything may write to an existing file: not newer
/// than this build, no edited step, and (when steps are pending) not corrupt. Reads
/// only.
pub(crate) async fn verify(
    conn: &mut SqliteConnection,
    path: &Path,
) -> Result<SchemaState, OpenError> {
    let state = skill_builder_migrations::inspect(conn)
        .await
        .map_err(|e| OpenError::from_migration(path, e))?;
    state
        .validate()
        .map_err(|e| OpenError::from_migration(path, e))?;
    if !state.pending(None).is_empty() {
        // The file is about to be rewritten: make sure it is whole first.
        let verdict: String = sqlx::query_scalar("PRAGMA quick_check(1)")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| OpenError::from_sqlx(path, e))?;
        if verdict != "ok" {
            return Err(OpenError::Corrupt {
                path: path.into(),
                detail: verdict,
            });
        }
    }
    Ok(state)
}

/// [`verify`] on a separate read-only connection, then the pre-upgrade snapshot when
/// steps up to `target` are pending (its path).
///
/// When the file's `-wal` holds frames, the checks read a private view of it
/// ([`crate::wal_view`]) so that a refused file keeps its `-wal` and `-shm`
/// byte-for-byte (SQLite's read would update the wal-index in `-shm`).
async fn verify_read_only(path: &Path, target: Option<i64>) -> Result<Option<PathBuf>, OpenError> {
    let view = if wal_has_frames(path) {
        crate::wal_view::WalView::new(path)
    } else {
        None
    };
    let mut conn = match &view {
        Some(v) => connect_read_only(&v.path())
            .await
            .map_err(|e| relabel(e, path))?,
        None => connect_read_only(path).await?,
    };
    let result = match verify(&mut conn, path).await {
        Ok(state) => crate::snapshot::before_upgrade(&mut conn, path, &state, target).await,
        Err(e) => Err(e),
    };
    // Closing a read-only connection never checkpoints: the file stays as it was.
    let _ = conn.close().await;
    drop(view);
    result
}

/// An error raised on the private view, reported for the user's file.
fn relabel(error: OpenError, path: &Path) -> OpenError {
    match error {
        OpenError::NotADatabase { .. } => OpenError::NotADatabase { path: path.into() },
        OpenError::Corrupt { detail, .. } => OpenError::Corrupt {
            path: path.into(),
            detail,
        },
        OpenError::Locked { .. } => OpenError::Locked { path: path.into() },
        OpenError::ReadOnly { .. } => OpenError::ReadOnly { path: path.into() },
        OpenError::Database { source, .. } => OpenError::Database {
            path: path.into(),
            source,
        },
        other => other,
    }
}

/// Refuse a non-empty file that is not SQLite (header) or visibly truncated: the
/// header's page count (when SQLite marks it valid) needs more bytes than the file
/// has, and no `-wal` file could hold the rest. Reads 100 bytes; O(1).
pub(crate) fn preflight_header(path: &Path) -> Result<bool, OpenError> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).map_err(|source| OpenError::Io {
        path: path.into(),
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| OpenError::Io {
            path: path.into(),
            source,
        })?
        .len();
    let read = file.read(&mut header).map_err(|source| OpenError::Io {
        path: path.into(),
        source,
    })?;
    if read < 16 || &header[..16] != SQLITE_HEADER {
        return Err(OpenError::NotADatabase { path: path.into() });
    }
    if read < header.len() {
        return Err(OpenError::Corrupt {
            path: path.into(),
            detail: format!("file is truncated ({len} bytes)"),
        });
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(be32(28));
    let size_valid = be32(24) == be32(92) && pages > 0;
    // A hot `-journal` holds the pages of an interrupted transaction: the header may
    // count pages that only its rollback makes consistent again.
    if size_valid && !wal_has_frames(path) && !has_journal(path) && len < pages * page_size {
        return Err(OpenError::Corrupt {
            path: path.into(),
            detail: format!(
                "file is truncated: {len} bytes, header says {pages} pages of {page_size} bytes"
            ),
        });
    }
    // Bytes 18 and 19 (file format write/read versions) are 2 in WAL mode.
    Ok(header[18] == 2 && header[19] == 2)
}

/// Create the folder and an empty file, private to the user (0600 on Unix).
fn create_file(path: &Path) -> Result<(), OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.into(),
            source,
        })?;
        let readonly = std::fs::metadata(dir)
            .map(|m| m.permissions().readonly())
            .unwrap_or(false);
        if readonly {
            return Err(OpenError::ReadOnly { path: dir.into() });
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map(drop)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                OpenError::ReadOnly { path: path.into() }
            }
            _ => OpenError::Io {
                path: path.into(),
                source,
            },
        })
}

/// Settings hold API keys: keep the file and its `-wal`/`-shm` companions 0600.
///
/// A companion the owner cannot write (left 0400 by a read-only open of a 0400 file
/// by an older build or another tool) would make the first write fail with "attempt
/// to write a readonly database": it is made 0600 here, before anything is written,
/// and when that is not allowed (another user's file) the open is refused
/// [`OpenError::ReadOnly`] naming the companion.
fn restrict_permissions(path: &Path) -> Result<(), OpenError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = PathBuf::from(file);
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let mode = meta.permissions().mode();
            let owner_cannot_write = !suffix.is_empty() && mode & 0o600 != 0o600;
            if mode & 0o077 != 0 || owner_cannot_write {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(
                    |source| {
                        if owner_cannot_write {
                            OpenError::ReadOnly { path: file.clone() }
                        } else {
                            OpenError::Io {
                                path: file.clone(),
                                source,
                            }
                        }
                    },
                )?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
