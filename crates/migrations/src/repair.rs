//! The repair pass: mends files whose record and shape disagree.
//!
//! The known case comes from development builds that recorded step 24 without
//! applying it: `skills` lacks some of its six frontmatter columns. When step 24 is
//! recorded, repair adds each missing column and, if it added any, runs step 24's
//! fill. When step 24 is not recorded it does nothing (the step itself will add the
//! columns; adding them early would make it fail). It is idempotent and costs two
//! small reads on a healthy file. [`crate::migrate`] runs it before and after the
//! pending steps, inside a write transaction.

use sqlx::SqliteConnection;

use crate::MigrationError;

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
}

impl RepairReport {
    /// True when the pass changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added_columns.is_empty() && !self.filled
    }
}

/// The frontmatter columns (name, type) repair would add: empty on a healthy file, and whenever
/// step 24 is not recorded. Reads only; `schema_migrations` must exist.
///
/// # Errors
/// The database error of either read.
pub async fn missing_columns(
    conn: &mut SqliteConnection,
) -> Result<Vec<(&'static str, &'static str)>, MigrationError> {
    // unchecked-ok: runs before the schema exists; see the crate docs.
    let step_24_recorded: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 24)")
            .fetch_one(&mut *conn)
            .await?;
    if !step_24_recorded {
        return Ok(Vec::new());
    }
    let present: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('skills')")
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
    Ok(report)
}
