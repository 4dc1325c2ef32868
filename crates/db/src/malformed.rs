//! Rows the typed API cannot read exactly: the one boundary where they are met.
//!
//! A file edited by another tool can hold values its schema does not describe:
//! `'1.2k'` or 2.5 in an `INTEGER` column, a BLOB or invalid UTF-8 in a `TEXT`
//! column, NULL in a text primary key ([`ValueProblem`]). This layer never
//! substitutes a value for them (sqlx's unchecked decode reads `'1.2k'` as 1,
//! `'three'` as 0 and NULL text as `""`).
//!
//! # Decode at the edge
//!
//! Queries read columns plainly, `SELECT name AS "name: _", version AS "version: _"`,
//! and the bad value is met when the row is decoded, here:
//!
//! * **The runtime check.** A column with a wildcard type override (`"col: _"`,
//!   `"col!: _"`, `"col?: _"`) makes the `query_as!` macro decode it with
//!   `Row::try_get`, which tests `T::compatible` against the storage class the value
//!   actually has (for SQLite, `sqlite3_value_type`), not the column's declared type:
//!   text or a real where an `i64`/`bool` is read, a BLOB where a `String` is read,
//!   fail with `sqlx::Error::ColumnDecode`; invalid UTF-8 fails `String`'s decode.
//!   (An exact override, `"col: i64"`, decodes unchecked: never used for stored
//!   values.) `query_scalar!` always decodes this way.
//! * **NULL** passes that check, so a NULL in a text primary key (which SQLite
//!   allows) would read as `""`: the text ids of the model (`WorkspaceSkillId`, …)
//!   and the enums refuse NULL in their `Decode`, and `NotNull` does the same for a
//!   plain `String` key (`skill_locks.skill_name`).
//! * **Nothing is added to healthy reads or to writes**: no per-column test in SQL,
//!   no extra query; a decode error is the only signal. The scan that names the bad
//!   values ([`skill_builder_migrations::values`], driven by the file's own schema)
//!   runs only after a read met one.
//!
//! Why here and not in the schema (triggers refusing a wrong class, a migration
//! setting bad values aside): it needs no migration step, costs every write nothing,
//! and leaves files the existing app still opens exactly as they are.
//!
//! # What each operation does with a bad value
//!
//! * a **list** (`checked_list!`) skips the row and returns the others: on a
//!   decode error it names the bad values of the table, logs one `tracing::warn!`
//!   per value (table, rowid, column, problem), records the number of skipped rows
//!   as the span's `skipped` field and reads again with
//!   `rowid NOT IN (SELECT value FROM json_each(?))`. The catalogue reads
//!   (`list_all_skills`, `get_tags_for_skills`) build JSON in SQLite, which a BLOB
//!   fails, and decode it with serde, which invalid UTF-8 or text in a flag fails:
//!   the same signal, the same fallback.
//! * a **single-row read** (`checked_one!`) reads the row's rowid and fails with
//!   [`Error::Malformed`](crate::Error::Malformed) naming the table, the key the
//!   caller gave and the first bad column.
//! * a **write that decides by a stored value in Rust** (the lock and session
//!   sweeps, `acquire_skill_lock`, the purpose and flag reads of the workspace
//!   skills, the hash-info reads) reads it as `Checked<T>`, which carries the
//!   problem instead of failing the row: the sweeps leave such a row in place (one
//!   warning each, counted in `skipped`), a session counts as live, the others fail
//!   with [`Error::Malformed`](crate::Error::Malformed) and write nothing.
//! * a **write that decides in SQL** keeps a `typeof` test in its statement, each
//!   with a `-- why` comment: the rewinds (`step_id >= ?` would hold for `'three'`,
//!   which SQLite ranks above every number), the session sweep's end times (a BLOB
//!   ranks above every text), the upsert that keeps a non-integer `is_active`, the
//!   snapshot guard of `persist_agent_run`, the name set of `installed`.
//!
//! `skill-builder-db check` lists every such value of the file, with table, rowid
//! and column; the repair pass converts the ones that can be converted without
//! guessing (see [`skill_builder_migrations::repair`]).

use std::collections::{BTreeSet, HashMap};

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

/// The rowids of the rows (rowid, `pid`, `pid_started_at`) whose process is dead
/// ([`crate::pid::is_alive_since`], each distinct pid and start time checked once).
/// A row whose pid cannot be read is left out: logged ([`not_acted_on`], with `what`)
/// and counted in the current span's `skipped` field.
pub(crate) fn dead_rowids(
    operation: &'static str,
    table: &'static str,
    what: &'static str,
    rows: impl IntoIterator<Item = (i64, Checked<i64>, Checked<Option<i64>>)>,
) -> Vec<i64> {
    let mut alive: HashMap<(i64, Option<i64>), bool> = HashMap::new();
    let mut skipped = 0_usize;
    let mut dead = Vec::new();
    for (rowid, pid, started) in rows {
        match pid_of(pid, started) {
            Ok((pid, started)) => {
                if !*alive
                    .entry((pid, started))
                    .or_insert_with(|| crate::pid::is_alive_since(pid, started))
                {
                    dead.push(rowid);
                }
            }
            Err((column, problem)) => {
                not_acted_on(operation, table, rowid, column, &problem, what);
                skipped += 1;
            }
        }
    }
    if skipped > 0 {
        tracing::Span::current().record("skipped", skipped);
    }
    dead
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
