//! Applying pending steps, each with its record in one write transaction.

use std::time::{Duration, Instant};

use sqlx::migrate::Migration;
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};
use tracing::{Instrument, info, info_span};

use crate::{LATEST_VERSION, MigrationError, RepairReport, baseline, repair, state, step};

/// One step applied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedStep {
    /// The step's version.
    pub version: i64,
    /// The step's description (from its file name).
    pub description: String,
    /// How long the step took.
    pub elapsed: Duration,
}

/// What [`migrate`] did to a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// The highest recorded version before.
    pub from_version: i64,
    /// The highest recorded version after.
    pub to_version: i64,
    /// Steps applied, in order.
    pub applied: Vec<AppliedStep>,
    /// What the repair pass before the steps changed.
    pub repair_before: RepairReport,
    /// What the repair pass after the steps changed.
    pub repair_after: RepairReport,
    /// Rows of this layer's own steps renumbered from the old numbering to their
    /// timestamp versions, as `(old, new)` (see [`crate::RENUMBERED`]); empty for any
    /// file already converted.
    pub renumbered: Vec<(i64, i64)>,
    /// The snapshot written beside the file before its pending steps ran, if any.
    /// [`migrate`] never writes one (it works on a connection, not a file);
    /// `skill_builder_app::Database::open` does, and records its path here.
    pub snapshot: Option<std::path::PathBuf>,
}

const TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    checksum BLOB
)";

/// Bring the database on `conn` to `target` (default: [`LATEST_VERSION`]).
///
/// Under one `BEGIN IMMEDIATE` transaction: create `schema_migrations` if missing
/// (adding our nullable `checksum` column to a legacy table), refuse a file that
/// records a step this build does not know or an edited step, renumber this layer's
/// own rows still recorded under their old numbers 29..31 (see [`crate::RENUMBERED`]:
/// all of them in this one transaction, so a kill leaves either numbering, never a
/// mix), run the baseline and the repair pass. Then each pending step runs
/// with its record in its own `BEGIN IMMEDIATE` transaction, so a crash leaves every
/// step either applied and recorded or neither (a brand-new, empty file gets every
/// step in that first transaction: it has nothing to lose, and one commit is
/// faster). Then repair again. Foreign-key enforcement is off during the steps
/// (table rebuilds need it off, and `PRAGMA foreign_keys` is a no-op inside a
/// transaction); each rebuild is checked not to add `foreign_key_check` violations.
/// The connection's previous setting is restored afterwards.
///
/// # Errors
/// [`MigrationError::NewerSchema`] / [`MigrationError::ChecksumMismatch`] before any
/// write; [`MigrationError::Step`] when a step fails (it is rolled back, earlier steps
/// stay applied and recorded); [`MigrationError::UnknownTarget`].
pub async fn migrate(
    conn: &mut SqliteConnection,
    target: Option<i64>,
) -> Result<MigrationReport, MigrationError> {
    if let Some(t) = target
        && !crate::is_known_target(t)
    {
        return Err(MigrationError::UnknownTarget(t));
    }
    let span = info_span!("migrate", target = target.unwrap_or(LATEST_VERSION));
    async move {
        // Fast path (every start of an up-to-date file): nothing to write, so no write
        // lock and no pragma changes. Read-only checks still refuse a newer/edited file.
        let state = state::inspect(conn).await?;
        state.validate()?;
        if state.is_current(target) && repair::missing_columns(conn).await?.is_empty() {
            let version = state.version();
            return Ok(MigrationReport {
                from_version: version,
                to_version: version,
                ..MigrationReport::default()
            });
        }
        // unchecked-ok (whole module): the runner builds the schema the macros check against.
        let fk_was_on: bool = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::raw_sql("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let result = run(conn, target).await;
        let restored = sqlx::raw_sql(if fk_was_on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        })
        .execute(&mut *conn)
        .await;
        match (result, restored) {
            (Ok(_), Err(e)) => Err(e.into()),
            (result, _) => result,
        }
    }
    .instrument(span)
    .await
}

async fn run(
    conn: &mut SqliteConnection,
    target: Option<i64>,
) -> Result<MigrationReport, MigrationError> {
    let mut report = MigrationReport::default();

    let mut tx = begin_immediate(conn).await?;
    let state = state::inspect(&mut tx).await?;
    state.validate()?;
    report.from_version = state.version();
    let new_file: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM sqlite_master)")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::raw_sql(TRACKING_TABLE).execute(&mut *tx).await?;
    if state.has_tracking_table && !state.has_checksum_column {
        sqlx::raw_sql("ALTER TABLE schema_migrations ADD COLUMN checksum BLOB")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::raw_sql(baseline()?.sql.clone())
        .execute(&mut *tx)
        .await?;
    report.renumbered = renumber(&mut tx, &state).await?;
    report.repair_before = repair::run(&mut tx).await?;
    if new_file {
        // A new file has nothing to lose: every step goes into this one transaction
        // (one commit instead of one per step); a crash leaves the file empty.
        for migration in state.pending(target).into_iter().filter_map(step) {
            report.applied.extend(apply_step(&mut tx, migration).await?);
        }
    } else {
        tx.commit().await?;
        for migration in state.pending(target).into_iter().filter_map(step) {
            let mut tx = begin_immediate(conn).await?;
            if let Some(applied) = apply_step(&mut tx, migration).await? {
                tx.commit().await?;
                report.applied.push(applied);
            }
        }
        tx = begin_immediate(conn).await?;
    }
    report.repair_after = repair::run(&mut tx).await?;
    report.to_version = state::inspect(&mut tx).await?.version();
    tx.commit().await?;
    Ok(report)
}

/// Apply one step and record it, inside the caller's transaction. `None` when the
/// step is already recorded (another instance applied it while we waited for the
/// lock).
async fn apply_step(
    tx: &mut SqliteConnection,
    migration: &'static Migration,
) -> Result<Option<AppliedStep>, MigrationError> {
    let version = migration.version;
    let started = Instant::now();
    let already: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)")
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
    if already {
        return Ok(None);
    }
    let rebuild = migration.sql.as_str().contains("DROP TABLE");
    let violations_before = if rebuild { fk_violations(tx).await? } else { 0 };
    sqlx::raw_sql(migration.sql.clone())
        .execute(&mut *tx)
        .await
        .map_err(|source| MigrationError::Step {
            version,
            description: migration.description.to_string(),
            source,
        })?;
    if rebuild {
        let added = fk_violations(tx).await? - violations_before;
        if added > 0 {
            return Err(MigrationError::ForeignKeyViolations { version, added });
        }
    }
    sqlx::query("INSERT INTO schema_migrations (version, checksum) VALUES (?, ?)")
        .bind(version)
        .bind(&*migration.checksum)
        .execute(&mut *tx)
        .await?;
    let elapsed = started.elapsed();
    info!(version, description = %migration.description, ?elapsed, "applied migration");
    Ok(Some(AppliedStep {
        version,
        description: migration.description.to_string(),
        elapsed,
    }))
}

/// Move this layer's rows recorded under the old numbers to their timestamp versions,
/// inside the caller's transaction. `applied_at` and `checksum` are kept.
async fn renumber(
    tx: &mut SqliteConnection,
    state: &state::SchemaState,
) -> Result<Vec<(i64, i64)>, MigrationError> {
    let pairs = state.renumbering();
    for (old, new) in &pairs {
        // A row at the new version as well (never written by this layer, but cheap to
        // tolerate): keep that one, drop the old.
        sqlx::query(
            "UPDATE schema_migrations SET version = ?1 WHERE version = ?2 \
             AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
        )
        .bind(new)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM schema_migrations WHERE version = ?")
            .bind(old)
            .execute(&mut *tx)
            .await?;
        info!(old, new, "renumbered migration record");
    }
    Ok(pairs)
}

async fn fk_violations(conn: &mut SqliteConnection) -> Result<i64, MigrationError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM pragma_foreign_key_check")
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn begin_immediate(
    conn: &mut SqliteConnection,
) -> Result<Transaction<'_, Sqlite>, MigrationError> {
    Ok(conn.begin_with("BEGIN IMMEDIATE").await?)
}
