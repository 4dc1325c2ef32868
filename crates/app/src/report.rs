//! Read-only reports on a database file: `status` and `check`. Neither writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::{Connection, Row, SqliteConnection};
use tracing::{Instrument, info_span};

use skill_builder_migrations::MigrationError;
use skill_builder_migrations::values::BadValue;

use crate::OpenError;
use crate::media::leave_companions_writable;
use crate::open::{connect_read_only, preflight_header};

/// What `skill-builder-db status` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// Whether the file exists.
    pub exists: bool,
    /// Size of the file plus its `-wal`, in bytes.
    pub size_bytes: u64,
    /// The file's journal mode (`wal` once opened by this layer).
    pub journal_mode: Option<String>,
    /// Busy timeout of the production connection, in milliseconds.
    pub busy_timeout_ms: i64,
    /// Whether the production connection enforces foreign keys.
    pub foreign_keys: bool,
    /// The production connection's synchronous setting (`normal`).
    pub synchronous: String,
    /// Highest recorded migration (0 for a file with none, `None` when missing).
    pub schema_version: Option<i64>,
    /// Steps a startup would apply.
    pub pending: Vec<i64>,
    /// Why a startup ([`crate::Database::open`], `migrate`) would refuse this file
    /// untouched, e.g. it records steps of a later Skill Builder release; `None` when
    /// it would open it.
    pub refusal: Option<String>,
    /// Row count of every table.
    pub tables: BTreeMap<String, i64>,
}

fn synchronous_name(level: i64) -> String {
    match level {
        0 => "off",
        1 => "normal",
        2 => "full",
        3 => "extra",
        _ => "unknown",
    }
    .to_owned()
}

fn file_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Inspect `path` without writing anything (a missing file is reported, not created).
///
/// # Errors
/// [`OpenError::NotADatabase`], [`OpenError::Corrupt`], [`OpenError::Locked`], …
///
/// ```no_run
/// # async fn demo() -> Result<(), skill_builder_app::OpenError> {
/// let status = skill_builder_app::status("skill-builder.db".as_ref()).await?;
/// println!("version {:?}, pending {:?}", status.schema_version, status.pending);
/// # Ok(()) }
/// ```
pub async fn status(path: &Path) -> Result<Status, OpenError> {
    async {
        let mut status = Status {
            path: path.to_path_buf(),
            exists: path.exists(),
            size_bytes: file_size(path),
            journal_mode: None,
            busy_timeout_ms: i64::try_from(crate::BUSY_TIMEOUT.as_millis()).unwrap_or(i64::MAX),
            foreign_keys: true,
            synchronous: "normal".into(),
            schema_version: None,
            pending: skill_builder_migrations::SchemaState::default().pending(None),
            refusal: None,
            tables: BTreeMap::new(),
        };
        if !status.exists || status.size_bytes == 0 {
            return Ok(status);
        }
        preflight_header(path)?;
        let mut conn = connect_read_only(path).await?;
        let result = fill_status(&mut conn, &mut status)
            .await
            .map_err(|e| OpenError::from_migration(path, e));
        let _ = conn.close().await;
        leave_companions_writable(path);
        result.map(|()| status)
    }
    .instrument(info_span!("status", path = %path.display()))
    .await
}

// unchecked-ok (whole module): pragmas and per-table counts over whatever tables the file has.
async fn fill_status(
    conn: &mut SqliteConnection,
    status: &mut Status,
) -> Result<(), MigrationError> {
    let state = skill_builder_migrations::inspect(conn).await?;
    status.schema_version = Some(state.version());
    status.pending = state.pending(None);
    status.refusal = state.validate().err().map(|e| e.to_string());
    status.journal_mode = Some(
        sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await?,
    );
    status.busy_timeout_ms = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await?;
    status.foreign_keys = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await?;
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    status.synchronous = synchronous_name(sync);
    for table in user_tables(conn).await? {
        let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        status.tables.insert(table, n);
    }
    Ok(())
}

async fn user_tables(conn: &mut SqliteConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
}

/// One row of `PRAGMA foreign_key_check`: a child row whose parent is missing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DanglingReference {
    /// The child table.
    pub table: String,
    /// The child row's rowid.
    pub rowid: Option<i64>,
    /// The parent table it points to.
    pub parent: String,
}

/// What `skill-builder-db check` found. Empty lists mean healthy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// `PRAGMA integrity_check` lines other than `ok`.
    pub integrity: Vec<String>,
    /// Dangling foreign-key references (reported, never deleted).
    pub foreign_keys: Vec<DanglingReference>,
    /// Differences from the schema the migrations produce: tables, columns,
    /// constraints, indexes, triggers and views.
    pub schema_drift: Vec<String>,
    /// Steps not yet applied.
    pub pending: Vec<i64>,
    /// Applied steps whose file was edited since.
    pub edited_migrations: Vec<i64>,
    /// Recorded steps this build does not know (a later Skill Builder release wrote
    /// the file; startup refuses it). Empty when fine.
    pub unknown_versions: Vec<i64>,
    /// Stored values the typed API cannot read exactly (text or a real in an
    /// `INTEGER` column, a BLOB or invalid UTF-8 in a `TEXT` column, NULL in a key
    /// column), with table, rowid and column. Lists skip these rows; single-row
    /// reads fail with `Error::Malformed` (see `skill_builder_db::malformed`).
    pub malformed: Vec<BadValue>,
    /// Where the usage totals the reports read (`skill_builder_db::usage`) differ from
    /// the plain aggregates over the rows, one line each. Empty for files before step
    /// `20261207140000`.
    pub usage_totals: Vec<String>,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn is_healthy(&self) -> bool {
        self.integrity.is_empty()
            && self.foreign_keys.is_empty()
            && self.schema_drift.is_empty()
            && self.pending.is_empty()
            && self.edited_migrations.is_empty()
            && self.unknown_versions.is_empty()
            && self.malformed.is_empty()
            && self.usage_totals.is_empty()
    }

    /// One readable line per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.integrity.iter().map(|l| format!("integrity: {l}")));
        out.extend(self.foreign_keys.iter().map(|f| {
            format!(
                "foreign key: {} row {} points to a missing {} row",
                f.table,
                f.rowid.map_or_else(|| "?".into(), |r| r.to_string()),
                f.parent
            )
        }));
        out.extend(
            self.schema_drift
                .iter()
                .map(|d| format!("schema drift: {d}")),
        );
        if !self.pending.is_empty() {
            out.push(format!(
                "pending migrations: {:?} (run `skill-builder-db migrate`)",
                self.pending
            ));
        }
        out.extend(
            self.edited_migrations
                .iter()
                .map(|v| format!("migration {v} was edited after it was applied")),
        );
        if !self.unknown_versions.is_empty() {
            out.push(format!(
                "records migration step(s) {:?} that this build does not know: a later Skill \
                 Builder release wrote this file (startup refuses it)",
                self.unknown_versions
            ));
        }
        out.extend(
            self.malformed
                .iter()
                .map(|b| format!("unreadable value: {b} (the typed API cannot read it exactly)")),
        );
        out.extend(self.usage_totals.iter().map(|d| {
            format!("usage totals: {d} (a derived usage table was edited outside this layer: the usage screens show the stored numbers)")
        }));
        out
    }
}

/// Check `path` without writing: integrity, foreign keys, drift, pending and edited
/// steps, and every stored value the typed API cannot read exactly (a full scan of
/// every table, driven by the file's own schema: see
/// [`skill_builder_migrations::values`]).
///
/// # Errors
/// [`OpenError::Missing`] for a missing file; [`OpenError::NotADatabase`], … when
/// the file cannot be read at all.
pub async fn check(path: &Path) -> Result<CheckReport, OpenError> {
    async {
        if !path.exists() {
            return Err(OpenError::Missing { path: path.into() });
        }
        preflight_header(path)?;
        let expected = skill_builder_migrations::schema::expected()
            .await
            .map_err(|e| OpenError::from_migration(path, e))?;
        let mut conn = connect_read_only(path).await?;
        let result = fill_check(&mut conn, &expected)
            .await
            .map_err(|e| OpenError::from_migration(path, e));
        let _ = conn.close().await;
        leave_companions_writable(path);
        result
    }
    .instrument(info_span!("check", path = %path.display()))
    .await
}

async fn fill_check(
    conn: &mut SqliteConnection,
    expected: &skill_builder_migrations::schema::ExpectedSchema,
) -> Result<CheckReport, MigrationError> {
    let mut report = CheckReport::default();
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await?;
    report.integrity = lines.into_iter().filter(|l| l != "ok").collect();
    for row in sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await?
    {
        report.foreign_keys.push(DanglingReference {
            table: row.try_get(0)?,
            rowid: row.try_get(1)?,
            parent: row.try_get(2)?,
        });
    }
    let state = skill_builder_migrations::inspect(conn).await?;
    report.pending = state.pending(None);
    report.edited_migrations = state
        .checksum_mismatches()
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    report.unknown_versions = state.unknown_versions();
    report.schema_drift = expected.drift(conn).await?;
    report.malformed = skill_builder_migrations::values::scan(conn).await?;
    if state.version() >= skill_builder_db::usage::STEP {
        report.usage_totals = usage_totals_drift(conn).await?;
    }
    Ok(report)
}

/// Where the stored usage totals differ from the plain aggregates, one line each.
async fn usage_totals_drift(conn: &mut SqliteConnection) -> Result<Vec<String>, MigrationError> {
    match skill_builder_db::usage::totals_differences(conn).await {
        Err(skill_builder_db::Error::UsageTotalsMissing) => {
            Ok(vec!["the row of usage_summary is missing".to_owned()])
        }
        other => other.map_err(db_error),
    }
}

/// A data-layer error met by `check`, as the migration error `check` reports.
fn db_error(e: skill_builder_db::Error) -> MigrationError {
    match e {
        skill_builder_db::Error::Database(e) | skill_builder_db::Error::ReadOnlyConnection(e) => {
            MigrationError::Database(e)
        }
        other => MigrationError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// Write a consistent online copy of the live database at `source` to `dest`
/// (`VACUUM INTO` over a read-only connection: other processes may keep writing).
/// `dest` must not exist; it is created 0600 on Unix.
///
/// The copy is written to a temporary file in `dest`'s folder, synced, then moved to
/// `dest`: `dest` exists only once it is complete, and a copy that fails (or is
/// killed) leaves nothing at `dest` (a killed one may leave the hidden temporary
/// `.NAME.PID.NANOS.tmp`).
///
/// # Errors
/// [`OpenError::Io`] when `dest` exists or its folder cannot be written; the
/// source's errors.
pub async fn backup(source: &Path, dest: &Path) -> Result<(), OpenError> {
    async {
        if !source.exists() {
            return Err(OpenError::Missing {
                path: source.into(),
            });
        }
        preflight_header(source)?;
        let mut conn = connect_read_only(source).await?;
        let result =
            crate::snapshot::write_copy(&mut conn, source, dest, crate::snapshot::Place::NoClobber)
                .await;
        let _ = conn.close().await;
        leave_companions_writable(source);
        result
    }
    .instrument(info_span!("backup", source = %source.display(), dest = %dest.display()))
    .await
}
