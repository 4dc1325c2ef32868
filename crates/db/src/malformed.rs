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
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Sqlite, SqliteConnection, Type, TypeInfo, ValueRef};
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

/// The value of a column that must not be NULL (a text primary key, which SQLite
/// lets hold NULL): a `"col!: _"` override whose field is `NotNull<T>` fails to
/// decode on NULL, as a wrong storage class does, where `T` alone would read `""`.
#[derive(Debug)]
pub(crate) struct NotNull<T>(pub T);

impl<T: Type<Sqlite>> Type<Sqlite> for NotNull<T> {
    fn type_info() -> SqliteTypeInfo {
        T::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        T::compatible(ty)
    }
}

impl<'r, T: Decode<'r, Sqlite>> Decode<'r, Sqlite> for NotNull<T> {
    fn decode(value: SqliteValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        if value.is_null() {
            return Err("NULL in a column that must hold a value".into());
        }
        T::decode(value).map(Self)
    }
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
/// `&str` JSON array of rowids to leave out, `"[]"` at first) on `$conn`; when a value
/// fails to decode (the runtime check of a `"col: _"` column), name the bad values of
/// `$table` (its `$columns`, all when empty) with [`skipped`], record their row count
/// as the span's `skipped` field and run `$read` again without them. Evaluates to
/// `Result<Vec<Row>>`.
macro_rules! checked_list {
    ($conn:expr, $table:expr, $columns:expr, $operation:expr, |$skip:ident| $read:expr) => {
        async {
            let first: sqlx::Result<Vec<_>> = {
                let $skip: &str = "[]";
                $read.await
            };
            match first {
                Ok(rows) => $crate::Result::<Vec<_>>::Ok(rows),
                Err(e) if !$crate::malformed::is_decode(&e) => Err($crate::Error::from(e)),
                Err(_) => {
                    let bad = $crate::malformed::skipped(&mut *$conn, $table, $columns, $operation)
                        .await?;
                    tracing::Span::current().record("skipped", $crate::malformed::row_count(&bad));
                    let rowids = $crate::malformed::rowids(&bad);
                    let $skip: &str = &rowids;
                    $read.await.map_err($crate::Error::from)
                }
            }
        }
        .await
    };
}
pub(crate) use checked_list;

/// [`checked_list!`] for rows that carry their own `ok` flag (a `typeof()` test per
/// column computed in SQL): the form of `agent_runs::get_recent_runs`, which issue 20
/// rewrites; removed once that lands.
macro_rules! checked_list_flagged {
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
pub(crate) use checked_list_flagged;

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

/// A single-row read: run `$read` (`sqlx::Result<Option<Row>>`) on `$conn`; a row →
/// `Ok(Some(row))`, none → `Ok(None)`; a value that fails to decode → its row's rowid,
/// read by `$rowid` (a `sqlx::Result<i64>`), and the
/// [`Error::Malformed`](crate::Error::Malformed) that [`single_row_error`] builds
/// (`$key` as the key, `$not_found` when the row was fixed meanwhile).
/// Evaluates to `Result<Option<Row>>`.
macro_rules! checked_one {
    ($conn:expr, $table:expr, $key:expr, $not_found:expr, $read:expr, $rowid:expr) => {
        async {
            match $read.await {
                Ok(row) => $crate::Result::Ok(row),
                Err(e) if $crate::malformed::is_decode(&e) => {
                    let rowid = $rowid.await.map_err($crate::Error::from)?;
                    Err($crate::malformed::single_row_error(
                        &mut *$conn,
                        $table,
                        rowid,
                        $key,
                        $not_found,
                    )
                    .await)
                }
                Err(e) => Err($crate::Error::from(e)),
            }
        }
        .await
    };
}
pub(crate) use checked_one;

// ---- Reads inside writes: the values a write decides by, one at a time.

/// A value a write decides by, read without failing its row: `Ok` when it has the
/// storage class of `T` (and `T` decodes it), else the problem. A column override
/// `pid AS "pid: Checked<i64>"` reads it; the write then acts on the `Ok` values and
/// leaves the others (a lock whose pid is `'three'` is not reclaimed), or refuses
/// with [`Checked::of_row`]. A NULL reaches `T` (`Option<_>` reads it as `None`).
#[derive(Debug)]
pub(crate) struct Checked<T>(pub std::result::Result<T, ValueProblem>);

impl<T: Type<Sqlite>> Type<Sqlite> for Checked<T> {
    fn type_info() -> SqliteTypeInfo {
        T::type_info()
    }

    fn compatible(_: &SqliteTypeInfo) -> bool {
        true
    }
}

impl<'r, T: Decode<'r, Sqlite> + Type<Sqlite>> Decode<'r, Sqlite> for Checked<T> {
    fn decode(value: SqliteValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        let found = value.type_info();
        if !value.is_null() && !T::compatible(&found) {
            return Ok(Self(Err(ValueProblem::StorageClass {
                found: found.name().to_ascii_lowercase(),
                declared: T::type_info().name().to_owned(),
            })));
        }
        // What `T` refuses of its own class is text that is not UTF-8.
        Ok(Self(
            T::decode(value).map_err(|_| ValueProblem::InvalidUtf8),
        ))
    }
}

impl<T> Checked<T> {
    /// The value, or [`Error::Malformed`](crate::Error::Malformed) naming `table`,
    /// `key` and `column` (a single-row read inside a write).
    pub(crate) fn of_row(self, table: &'static str, key: &str, column: &str) -> Result<T> {
        self.0.map_err(|problem| {
            MalformedRow {
                table,
                key: key.to_owned(),
                column: column.to_owned(),
                problem,
            }
            .into()
        })
    }
}

/// A lock's or session's `pid` and `pid_started_at` as read, or the first of them a
/// liveness check cannot be decided by, with its problem.
pub(crate) fn pid_of(
    pid: Checked<i64>,
    started: Checked<Option<i64>>,
) -> std::result::Result<(i64, Option<i64>), (&'static str, ValueProblem)> {
    let pid = pid.0.map_err(|p| ("pid", p))?;
    let started = started.0.map_err(|p| ("pid_started_at", p))?;
    Ok((pid, started))
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

impl MalformedRow {
    /// The stable code of the serialized form: `malformed` (as [`crate::Error::kind`]).
    pub fn kind(&self) -> &'static str {
        "malformed"
    }
}

skill_builder_model::serialize_error!(MalformedRow);
