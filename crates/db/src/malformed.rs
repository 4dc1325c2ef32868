//! Rows the typed API cannot read exactly: how reads meet them.
//!
//! A file edited by another tool can hold values its schema does not describe:
//! `'1.2k'` or 2.5 in an `INTEGER` column, a BLOB or invalid UTF-8 in a `TEXT`
//! column, NULL in a key column ([`ValueProblem`]). This layer never substitutes a
//! value for them (sqlx alone would read `'1.2k'` as 1, `'three'` as 0 and NULL text
//! as `""`):
//!
//! * a **list** skips such a row and goes on with the others: it logs one
//!   `tracing::warn!` per bad value (table, rowid, column, problem) and records the
//!   number of skipped rows as the `skipped` field of its span. The catalogue
//!   reads run their plain query, which a bad row makes fail rather than read wrong
//!   (so a healthy catalogue pays nothing); the other lists test `typeof()` per
//!   column in SQL. The scan that names the bad values
//!   ([`skill_builder_migrations::values::scan_columns`]) runs only when a list met
//!   one.
//! * a **single-row read** fails with [`Error::Malformed`](crate::Error::Malformed),
//!   naming the table, the row's key and the column.
//! * a **write** that would decide by such a value, or return it, fails with
//!   [`Error::Malformed`](crate::Error::Malformed) the same way and writes nothing
//!   (a lock whose `pid` is `'three'`, a workspace skill whose `is_active` is `'yes'`
//!   given to an upsert, …); the lock and session sweeps leave such rows in place.
//!
//! `skill-builder-db check` lists every such value of the file, with table and
//! rowid; the repair pass converts the ones that can be converted without guessing
//! (see [`skill_builder_migrations::repair`]).

use std::collections::BTreeSet;

pub use skill_builder_migrations::values::{BadValue, ValueProblem};
use sqlx::SqliteConnection;
use thiserror::Error;

use crate::Result;

/// A row a single-row read cannot return exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{table} row {key}: column {column} {problem}")]
pub struct MalformedRow {
    /// The table.
    pub table: &'static str,
    /// The row's key as the caller gave it (e.g. `sales-pipeline/0/context/a.md`).
    pub key: String,
    /// The first column that cannot be read.
    pub column: String,
    /// What is wrong with it.
    pub problem: ValueProblem,
}

/// The bad values of `table` (a full scan of the `columns` an operation reads, all
/// when empty), each logged with `tracing::warn!` as skipped by `operation`.
pub(crate) async fn skipped(
    conn: &mut SqliteConnection,
    table: &'static str,
    columns: &[&str],
    operation: &'static str,
) -> Result<Vec<BadValue>> {
    let bad = skill_builder_migrations::values::scan_columns(conn, table, columns).await?;
    for b in &bad {
        tracing::warn!(
            operation,
            table = %b.table,
            rowid = b.rowid,
            column = %b.column,
            problem = %b.problem,
            "skipped a row the typed API cannot read exactly (listed by `skill-builder-db check`)"
        );
    }
    Ok(bad)
}

/// The rowids of `bad` as one JSON array, for a `NOT IN (SELECT value FROM json_each(?))`.
pub(crate) fn rowids(bad: &[BadValue]) -> String {
    let ids: BTreeSet<i64> = bad.iter().map(|b| b.rowid).collect();
    serde_json::Value::from(ids.into_iter().collect::<Vec<_>>()).to_string()
}

/// The number of distinct rows in `bad`.
pub(crate) fn row_count(bad: &[BadValue]) -> usize {
    bad.iter().map(|b| b.rowid).collect::<BTreeSet<_>>().len()
}

/// Whether a query failed because a value did not decode (e.g. invalid UTF-8).
pub(crate) fn is_decode(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_))
}

/// The single-row error for the first bad value of row `rowid`, if the scan found one.
pub(crate) fn row_error(
    bad: &[BadValue],
    table: &'static str,
    rowid: i64,
    key: impl Into<String>,
) -> Option<MalformedRow> {
    bad.iter().find(|b| b.rowid == rowid).map(|b| MalformedRow {
        table,
        key: key.into(),
        column: b.column.clone(),
        problem: b.problem.clone(),
    })
}

/// The readable rows of a list read: run `$read` (an expression using `$skip`, a
/// `&str` JSON array of rowids to leave out, `"[]"` at first) on `$conn`; when a row
/// comes back with `ok == false` or a value fails to decode, name the bad values of
/// `$table` (its `$columns`, all when empty) with [`skipped`], record their row count
/// as the span's `skipped` field and run `$read` again without them. Rows still not
/// `ok` (fixed or added meanwhile) are dropped. Evaluates to `Result<Vec<Row>>`.
macro_rules! checked_list {
    ($conn:expr, $table:expr, $columns:expr, $operation:expr, |$skip:ident| $read:expr) => {
        async {
            let first: sqlx::Result<Vec<_>> = {
                let $skip: &str = "[]";
                $read.await
            };
            let rows = match first {
                Ok(rows) if rows.iter().all(|r| r.ok) => rows,
                Err(e) if !$crate::malformed::is_decode(&e) => {
                    return $crate::Result::<Vec<_>>::Err($crate::Error::from(e));
                }
                _ => {
                    let bad = $crate::malformed::skipped(&mut *$conn, $table, $columns, $operation)
                        .await?;
                    tracing::Span::current().record("skipped", $crate::malformed::row_count(&bad));
                    let rowids = $crate::malformed::rowids(&bad);
                    let $skip: &str = &rowids;
                    $read.await.map_err($crate::Error::from)?
                }
            };
            $crate::Result::<Vec<_>>::Ok(rows.into_iter().filter(|r| r.ok).collect())
        }
        .await
    };
}
pub(crate) use checked_list;

/// The error of a single-row read whose row `rowid` (keyed `key`) is not readable:
/// the first bad value [`scan`](skill_builder_migrations::values::scan_table) finds in
/// it, else (fixed or removed meanwhile) `not_found`.
pub(crate) async fn single_row_error(
    conn: &mut SqliteConnection,
    table: &'static str,
    rowid: i64,
    key: String,
    not_found: crate::Error,
) -> crate::Error {
    match skill_builder_migrations::values::scan_table(conn, table).await {
        Ok(bad) => row_error(&bad, table, rowid, key).map_or(not_found, crate::Error::from),
        Err(e) => e.into(),
    }
}

/// A single-row read: run `$read` (`sqlx::Result<Option<Row>>`, the row with its
/// `rowid` and `ok` flag) on `$conn`; a readable row → `Ok(Some(row))`, none →
/// `Ok(None)`; a row with `ok == false`, or one whose value fails to decode (its
/// rowid then read by `$rowid`, a `sqlx::Result<i64>`), → the
/// [`Error::Malformed`](crate::Error::Malformed) that [`single_row_error`] builds
/// (`$key` as the key, `$not_found` when the row was fixed meanwhile).
/// Evaluates to `Result<Option<Row>>`.
macro_rules! checked_one {
    ($conn:expr, $table:expr, $key:expr, $not_found:expr, $read:expr, $rowid:expr) => {
        async {
            let row = $read.await;
            let rowid = match row {
                Ok(None) => return $crate::Result::Ok(None),
                Ok(Some(row)) if row.ok => return Ok(Some(row)),
                Ok(Some(row)) => row.rowid,
                Err(e) if $crate::malformed::is_decode(&e) => {
                    $rowid.await.map_err($crate::Error::from)?
                }
                Err(e) => return Err($crate::Error::from(e)),
            };
            Err(
                $crate::malformed::single_row_error(&mut *$conn, $table, rowid, $key, $not_found)
                    .await,
            )
        }
        .await
    };
}
pub(crate) use checked_one;

// ---- Reads inside writes: the values a write decides by, tested in its own query.

/// The problem of a value whose `typeof()` is `found` in a column declared
/// `declared` (the type this layer's schema gives it, `INTEGER` or `TEXT`): `None`
/// when it is of that class, or NULL and `nullable`. A NULL the column may not hold
/// is reported as a `null` storage class.
pub(crate) fn class_problem(
    found: &str,
    declared: &'static str,
    nullable: bool,
) -> Option<ValueProblem> {
    let ok = found.eq_ignore_ascii_case(declared) || (nullable && found == "null");
    (!ok).then(|| ValueProblem::StorageClass {
        found: found.to_owned(),
        declared: declared.to_owned(),
    })
}

/// The exact text of a `TEXT` value read as its `typeof()` (`found`) and its bytes
/// (`CAST(column AS BLOB)`, so invalid UTF-8 cannot fail the query): `Ok(None)` for
/// NULL when `nullable`, the text when it is valid UTF-8 text, otherwise the problem.
pub(crate) fn exact_text(
    found: &str,
    bytes: Option<Vec<u8>>,
    nullable: bool,
) -> std::result::Result<Option<String>, ValueProblem> {
    if let Some(problem) = class_problem(found, "TEXT", nullable) {
        return Err(problem);
    }
    bytes
        .map(|b| String::from_utf8(b).map_err(|_| ValueProblem::InvalidUtf8))
        .transpose()
}

/// Which of a lock's or session's `pid` (`INTEGER NOT NULL`) and `pid_started_at`
/// (`INTEGER`, nullable) cannot be decided by, from the `typeof()` of each as read
/// (`None` for a value of the right class, so healthy rows allocate nothing): the
/// first such column and its problem.
pub(crate) fn pid_problem(
    pid_found: Option<&str>,
    started_found: Option<&str>,
) -> Option<(&'static str, ValueProblem)> {
    let pid = pid_found.and_then(|f| class_problem(f, "INTEGER", false));
    let started = started_found.and_then(|f| class_problem(f, "INTEGER", true));
    pid.map(|p| ("pid", p))
        .or_else(|| started.map(|p| ("pid_started_at", p)))
}

/// Log a row a write did not act on because `column` of row `rowid` of `table`
/// cannot be read exactly: one `tracing::warn!` naming operation, table, rowid,
/// column and problem, with `what` saying what was done instead.
pub(crate) fn not_acted_on(
    operation: &'static str,
    table: &'static str,
    rowid: i64,
    column: &str,
    problem: &ValueProblem,
    what: &'static str,
) {
    tracing::warn!(
        operation,
        table,
        rowid,
        column,
        problem = %problem,
        "{what}: a value the typed API cannot read exactly (listed by `skill-builder-db check`)"
    );
}

/// [`exact_text`] for a single-row read: the problem becomes the
/// [`Error::Malformed`](crate::Error::Malformed) naming `table`, `key` and `column`.
pub(crate) fn text_of_row(
    table: &'static str,
    key: &str,
    column: &'static str,
    found: &str,
    bytes: Option<Vec<u8>>,
    nullable: bool,
) -> Result<Option<String>> {
    exact_text(found, bytes, nullable).map_err(|problem| {
        MalformedRow {
            table,
            key: key.to_owned(),
            column: column.to_owned(),
            problem,
        }
        .into()
    })
}

impl MalformedRow {
    /// The stable code of the serialized form: `malformed` (as [`crate::Error::kind`]).
    pub fn kind(&self) -> &'static str {
        "malformed"
    }
}

skill_builder_model::serialize_error!(MalformedRow);
