//! What a file's tracking table says, read without writing anything.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Row, SqliteConnection};

use crate::{LATEST_VERSION, MigrationError, RENUMBERED, step, steps};

/// One row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedStep {
    /// When the step was recorded (`YYYY-MM-DD HH:MM:SSZ`).
    pub applied_at: Option<String>,
    /// SHA-384 of the step's SQL when this layer recorded it; `None` for rows written
    /// by the existing app (which kept no checksum).
    pub checksum: Option<Vec<u8>>,
}

/// The migration state of one database file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaState {
    /// Whether `schema_migrations` exists at all (false for a new, empty file).
    pub has_tracking_table: bool,
    /// Whether the tracking table has our `checksum` column.
    pub has_checksum_column: bool,
    /// Recorded steps by version.
    pub recorded: BTreeMap<i64, RecordedStep>,
}

impl SchemaState {
    /// Rows of this layer's own first steps still recorded under their old numbers
    /// (29, 30, 31: see [`RENUMBERED`]), as `(old, new)`. Only rows carrying this
    /// layer's checksum of the same SQL qualify; the existing app's rows at those
    /// numbers have no checksum.
    pub fn renumbering(&self) -> Vec<(i64, i64)> {
        RENUMBERED
            .iter()
            .copied()
            .filter(|(old, new)| {
                let ours = step(*new).map(|m| &*m.checksum);
                self.recorded
                    .get(old)
                    .and_then(|r| r.checksum.as_deref())
                    .is_some_and(|stored| Some(stored) == ours)
            })
            .collect()
    }

    /// The recorded versions under this build's numbering (old numbers of this
    /// layer's own steps mapped to their timestamp versions).
    pub fn effective_versions(&self) -> BTreeSet<i64> {
        let renumbering = self.renumbering();
        self.recorded
            .keys()
            .map(|v| {
                renumbering
                    .iter()
                    .find(|(old, _)| old == v)
                    .map_or(*v, |(_, new)| *new)
            })
            .collect()
    }

    /// Recorded versions this build does not know, ascending: a later Skill Builder
    /// release wrote them (the existing app's 29, 30, … or a newer build's own steps).
    pub fn unknown_versions(&self) -> Vec<i64> {
        self.effective_versions()
            .into_iter()
            .filter(|v| step(*v).is_none())
            .collect()
    }

    /// The highest recorded version under this build's numbering (0 when none).
    pub fn version(&self) -> i64 {
        self.effective_versions().last().copied().unwrap_or(0)
    }

    /// Known steps not yet recorded, up to `target` (default: all), in order.
    pub fn pending(&self, target: Option<i64>) -> Vec<i64> {
        let target = target.unwrap_or(LATEST_VERSION);
        let recorded = self.effective_versions();
        steps()
            .map(|m| m.version)
            .filter(|v| *v <= target && !recorded.contains(v))
            .collect()
    }

    /// True when nothing is pending up to `target`, no row needs renumbering and the
    /// tracking table already has its `checksum` column: startup then writes nothing.
    pub fn is_current(&self, target: Option<i64>) -> bool {
        self.has_tracking_table
            && self.has_checksum_column
            && self.renumbering().is_empty()
            && self.pending(target).is_empty()
    }

    /// Refuse a file this build must not touch: one that records a step this build
    /// does not know (anywhere, not only above [`LATEST_VERSION`]), or one whose
    /// applied step was edited since.
    ///
    /// # Errors
    /// [`MigrationError::NewerSchema`] or [`MigrationError::ChecksumMismatch`].
    pub fn validate(&self) -> Result<(), MigrationError> {
        let unknown = self.unknown_versions();
        if !unknown.is_empty() {
            return Err(MigrationError::NewerSchema {
                versions: unknown,
                latest: LATEST_VERSION,
            });
        }
        if let Some((version, description)) = self.checksum_mismatches().into_iter().next() {
            return Err(MigrationError::ChecksumMismatch {
                version,
                description,
            });
        }
        Ok(())
    }

    /// Every recorded step whose stored checksum differs from the embedded file.
    pub fn checksum_mismatches(&self) -> Vec<(i64, String)> {
        steps()
            .filter_map(|m| {
                let stored = self.recorded.get(&m.version)?.checksum.as_deref()?;
                (stored != &*m.checksum).then(|| (m.version, m.description.to_string()))
            })
            .collect()
    }
}

/// Read the tracking table. Works on a read-only connection and writes nothing.
///
/// # Errors
/// The database error if the file cannot be read (not a database, corrupt, locked).
pub async fn inspect(conn: &mut SqliteConnection) -> Result<SchemaState, MigrationError> {
    // unchecked-ok: this crate builds the schema the macros are checked against.
    // The common case, a file with the tracking table and its checksum column, is one
    // statement (reading it reads the schema: what fails on a file that is not a
    // database); a file without them ("no such table/column") takes the path below.
    const ROWS: &str = "SELECT version, applied_at, checksum FROM schema_migrations";
    match sqlx::query(ROWS).fetch_all(&mut *conn).await {
        Ok(rows) => {
            return Ok(SchemaState {
                has_tracking_table: true,
                has_checksum_column: true,
                recorded: recorded(rows)?,
            });
        }
        Err(sqlx::Error::Database(e)) if e.message().starts_with("no such ") => {}
        Err(e) => return Err(e.into()),
    }
    let (_objects, has_tracking_table, has_checksum_column): (i64, bool, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sqlite_master),
                    EXISTS (SELECT 1 FROM pragma_table_info('schema_migrations')),
                    EXISTS (SELECT 1 FROM pragma_table_info('schema_migrations')
                            WHERE name = 'checksum')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let recorded = if !has_tracking_table {
        BTreeMap::new()
    } else if has_checksum_column {
        recorded(sqlx::query(ROWS).fetch_all(&mut *conn).await?)?
    } else {
        let sql = "SELECT version, applied_at, NULL AS checksum FROM schema_migrations";
        recorded(sqlx::query(sql).fetch_all(&mut *conn).await?)?
    };
    Ok(SchemaState {
        has_tracking_table,
        has_checksum_column,
        recorded,
    })
}

/// The steps recorded in `rows` (version, applied_at, checksum) of the tracking table.
fn recorded(
    rows: Vec<sqlx::sqlite::SqliteRow>,
) -> Result<BTreeMap<i64, RecordedStep>, MigrationError> {
    let mut recorded = BTreeMap::new();
    for row in rows {
        let version: i64 = row.try_get(0)?;
        recorded.insert(
            version,
            RecordedStep {
                applied_at: row.try_get(1)?,
                checksum: row.try_get(2)?,
            },
        );
    }
    Ok(recorded)
}
