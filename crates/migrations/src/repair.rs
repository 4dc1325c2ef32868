//! The repair pass: mends files whose record and shape disagree.
//!
//! The known case comes from development builds that recorded step 24 without
//! applying it: `skills` lacks some of its six frontmatter columns. When step 24 is
//! recorded, repair adds each missing column and, if it added any, runs step 24's
//! fill. When step 24 is not recorded it does nothing (the step itself will add the
//! columns; adding them early would make it fail). It is idempotent and costs one
//! small read on a healthy file. [`crate::migrate`] runs it before and after the
//! pending steps, inside a write transaction.
//!
//! It also fixes the stored values that can be
//! fixed without guessing, so the typed API reads them exactly afterwards (found by
//! [`crate::values::scan_classes`]): a BLOB in
//! a `TEXT` column whose bytes are valid UTF-8 without NUL becomes that text (tools
//! that bind byte strings write these; the bytes stay the same).
//!
//! Everything else is left as it is and stays listed by `skill-builder-db check`:
//! `'1.2k'`, `'three'` or 2.5 in an `INTEGER` column (any number would be a guess),
//! NULL in a key column (the row cannot be given a key), invalid UTF-8 (the bytes
//! have no meaning as text), and a fix that would collide with a UNIQUE key (e.g. a
//! BLOB name equal to an existing text name). Text holding exactly an integer
//! (`'42'`) never reaches the repair pass: SQLite's `INTEGER` affinity converts it
//! on every write, and SQLite's own integrity check calls such a stored value
//! corruption (`TEXT value in t.c`), which `Database::open` refuses untouched.
//! The value fixes need a full scan of every table, so they run with the repair
//! pass — when a file is upgraded or its columns repaired — not on the fast path of
//! an up-to-date file.

use sqlx::SqliteConnection;

use crate::MigrationError;
use crate::values::{self, BadValue, Expected, ValueProblem};

/// Step 24's fill, byte-identical to the end of `migrations/0024_*.sql`.
pub const STEP_24_FILL: &str = include_str!("../../../migrations/repair/0024_fill.sql");

/// The six frontmatter columns step 24 adds to `skills`, with their types.
pub const SKILLS_FRONTMATTER: [(&str, &str); 6] = [
    ("description", "TEXT"),
    ("version", "TEXT"),
    ("model", "TEXT"),
    ("argument_hint", "TEXT"),
    ("user_invocable", "INTEGER"),
    ("disable_model_invocation", "INTEGER"),
];

/// What one repair pass changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// `skills` columns that were missing and have been added.
    pub added_columns: Vec<String>,
    /// Whether step 24's fill ran.
    pub filled: bool,
    /// Stored values converted to the type their column declares, one line each
    /// (`skills row 7: name blob of 9 bytes -> text`).
    pub fixed_values: Vec<String>,
}

impl RepairReport {
    /// True when the pass changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added_columns.is_empty() && !self.filled && self.fixed_values.is_empty()
    }
}

/// The frontmatter columns (name, type) repair would add: empty on a healthy file, and whenever
/// step 24 is not recorded. Reads only; `schema_migrations` must exist.
///
/// # Errors
/// The database error of the read.
pub async fn missing_columns(
    conn: &mut SqliteConnection,
) -> Result<Vec<(&'static str, &'static str)>, MigrationError> {
    // unchecked-ok: runs before the schema exists; see the crate docs. A healthy
    // file (every column there): this one plain statement (~60 µs of an open against
    // ~100 µs for the table-valued pragma below). Any error (a missing column or
    // table) only sends the check the exact way.
    if sqlx::query(
        "SELECT description, version, model, argument_hint, user_invocable,
                disable_model_invocation FROM skills WHERE 0",
    )
    .execute(&mut *conn)
    .await
    .is_ok()
    {
        return Ok(Vec::new());
    }
    // unchecked-ok: as above. One statement: no rows when step 24 is not recorded or
    // there is no skills table.
    let present: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_info('skills')
         WHERE EXISTS (SELECT 1 FROM schema_migrations WHERE version = 24)",
    )
    .fetch_all(&mut *conn)
    .await?;
    if present.is_empty() {
        return Ok(Vec::new());
    }
    Ok(SKILLS_FRONTMATTER
        .into_iter()
        .filter(|(column, _)| !present.iter().any(|c| c == column))
        .collect())
}

/// Run the repair pass on `conn`. The caller owns the transaction.
///
/// # Errors
/// The database error of any statement; the caller's transaction then rolls back.
pub async fn run(conn: &mut SqliteConnection) -> Result<RepairReport, MigrationError> {
    let mut report = RepairReport::default();
    for (column, ty) in missing_columns(conn).await? {
        // Column names and types are the constants above, never input.
        let sql = format!("ALTER TABLE skills ADD COLUMN {column} {ty}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await?;
        report.added_columns.push(column.to_owned());
    }
    if !report.added_columns.is_empty() {
        sqlx::raw_sql(STEP_24_FILL).execute(&mut *conn).await?;
        report.filled = true;
        tracing::warn!(columns = ?report.added_columns, "repaired skills: step 24 was recorded but not applied");
    }
    report.fixed_values = fix_values(conn).await?;
    Ok(report)
}

/// The safe value fixes of the module docs. Returns one line per fixed value.
///
/// # Errors
/// The database error of the scan or of an update (other than a UNIQUE/constraint
/// collision, which leaves that value as it is).
pub async fn fix_values(conn: &mut SqliteConnection) -> Result<Vec<String>, MigrationError> {
    let mut fixed = Vec::new();
    for bad in values::scan_classes(conn).await? {
        let Some((fix, line)) = safe_fix(&bad) else {
            continue;
        };
        let sql = format!(
            "UPDATE \"{}\" SET \"{}\" = ? WHERE rowid = ?",
            bad.table.replace('"', "\"\""),
            bad.column.replace('"', "\"\"")
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fix);
        match query.bind(bad.rowid).execute(&mut *conn).await {
            Ok(_) => {
                tracing::warn!(value = %line, "repaired a stored value");
                fixed.push(line);
            }
            Err(e) if is_constraint(&e) => {
                tracing::warn!(value = %bad, error = %e, "left a stored value: fixing it would break a constraint");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(fixed)
}

/// The text a bad value becomes, with its report line; `None` when no fix is safe.
fn safe_fix(bad: &BadValue) -> Option<(String, String)> {
    let ValueProblem::StorageClass { found, declared } = &bad.problem else {
        return None;
    };
    if Expected::of(declared) != Expected::Text || found != "blob" {
        return None;
    }
    let bytes = bad.bytes.as_deref()?;
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.contains('\0')).then(|| {
        let line = format!(
            "{} row {}: {} blob of {} bytes -> text",
            bad.table,
            bad.rowid,
            bad.column,
            bytes.len()
        );
        (text.to_owned(), line)
    })
}

/// Whether a database error is SQLITE_CONSTRAINT (primary code 19).
fn is_constraint(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 19)
}
