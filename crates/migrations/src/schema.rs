//! A canonical description of a database: the shape of `shared/tools/dbdump.py`.
//!
//! Columns are keyed by name (order does not matter); defaults compare without
//! whitespace, case or outer parentheses; `schema_migrations` is reduced to its
//! `version` column and list of versions; `sqlite_sequence` and `_sqlx*` tables are
//! left out; in [`dump`], rows are sorted and timestamps of 2026 or later (values a
//! migration or default wrote "now") become `"<now>"`, so two upgrades run at
//! different times compare equal.
//!
//! ```no_run
//! # async fn demo(conn: &mut sqlx::SqliteConnection) -> Result<(), skill_builder_migrations::MigrationError> {
//! use skill_builder_migrations::schema;
//! let expected = schema::expected().await?;
//! for problem in expected.drift(conn).await? {
//!     println!("{problem}");
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Connection, Row, SqliteConnection, TypeInfo, ValueRef};

use crate::MigrationError;

/// One column: declared type (upper-case), NOT NULL, normalised default, PK position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnShape {
    /// Declared type, upper-cased.
    #[serde(rename = "type")]
    pub ty: String,
    /// 1 when NOT NULL.
    pub notnull: i64,
    /// Default expression, normalised (see the module docs).
    pub default: Option<String>,
    /// Position in the primary key (0 when not part of it).
    pub pk: i64,
}

/// One table's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableShape {
    /// Columns by name.
    pub columns: BTreeMap<String, ColumnShape>,
    /// `[from, parent table, parent column]`, sorted.
    pub foreign_keys: Vec<Vec<String>>,
    /// Column sets of UNIQUE constraints and the primary key's unique index, sorted.
    pub unique: Vec<Vec<String>>,
}

/// Every table's shape, by name.
pub type SchemaShape = BTreeMap<String, TableShape>;

fn skipped(table: &str) -> bool {
    table == "sqlite_sequence" || table.starts_with("_sqlx")
}

/// `dbdump.py`'s `norm_default`.
fn norm_default(d: Option<String>) -> Option<String> {
    let mut d: String = d?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    while d.len() >= 2 && d.starts_with('(') && d.ends_with(')') {
        d = d[1..d.len() - 1].to_owned();
    }
    Some(d)
}

/// `dbdump.py`'s `NOW` pattern: a timestamp of 2026 or later.
fn is_now_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 19 {
        return false;
    }
    let digit = |i: usize| b[i].is_ascii_digit();
    let year_ok = b[0] == b'2'
        && b[1] == b'0'
        && ((matches!(b[2], b'2'..=b'9') && matches!(b[3], b'6'..=b'9'))
            || (matches!(b[2], b'3'..=b'9') && digit(3)));
    year_ok
        && b[4] == b'-'
        && digit(5)
        && digit(6)
        && b[7] == b'-'
        && digit(8)
        && digit(9)
        && (b[10] == b' ' || b[10] == b'T')
        && digit(11)
        && digit(12)
        && b[13] == b':'
        && digit(14)
        && digit(15)
        && b[16] == b':'
        && digit(17)
        && digit(18)
}

// unchecked-ok (whole module): introspection of arbitrary files, table names come from
// sqlite_master and are quoted.
async fn table_names(conn: &mut SqliteConnection) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    Ok(names.into_iter().filter(|t| !skipped(t)).collect())
}

async fn table_shape(conn: &mut SqliteConnection, table: &str) -> Result<TableShape, sqlx::Error> {
    let mut columns = BTreeMap::new();
    let rows =
        sqlx::query(r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)"#)
            .bind(table)
            .fetch_all(&mut *conn)
            .await?;
    for r in rows {
        let name: String = r.try_get(0)?;
        if table == "schema_migrations" && name != "version" {
            continue;
        }
        let ty: String = r.try_get(1)?;
        columns.insert(
            name,
            ColumnShape {
                ty: ty.to_uppercase(),
                notnull: r.try_get(2)?,
                default: norm_default(r.try_get(3)?),
                pk: r.try_get(4)?,
            },
        );
    }
    let mut foreign_keys: Vec<Vec<String>> =
        sqlx::query(r#"SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)"#)
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| -> Result<Vec<String>, sqlx::Error> {
                Ok(vec![
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                ])
            })
            .collect::<Result<_, _>>()?;
    foreign_keys.sort();
    let mut unique = Vec::new();
    let indexes = sqlx::query(
        r#"SELECT name FROM pragma_index_list(?) WHERE "unique" AND origin IN ('u', 'pk')"#,
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    for idx in indexes {
        let index: String = idx.try_get(0)?;
        let mut cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?)")
            .bind(&index)
            .fetch_all(&mut *conn)
            .await?;
        cols.sort();
        unique.push(cols);
    }
    unique.sort();
    Ok(TableShape {
        columns,
        foreign_keys,
        unique,
    })
}

/// The shape of every table of the database on `conn`.
///
/// # Errors
/// The database error of any introspection query.
pub async fn describe(conn: &mut SqliteConnection) -> Result<SchemaShape, sqlx::Error> {
    let mut shape = SchemaShape::new();
    for table in table_names(conn).await? {
        let t = table_shape(conn, &table).await?;
        shape.insert(table, t);
    }
    Ok(shape)
}

fn cell(row: &SqliteRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" => Value::from(row.try_get::<i64, _>(i)?),
        "REAL" => Value::from(row.try_get::<f64, _>(i)?),
        "BLOB" => Value::from(String::from_utf8_lossy(&row.try_get::<Vec<u8>, _>(i)?).into_owned()),
        _ => {
            let s: String = row.try_get(i)?;
            if is_now_stamp(&s) {
                Value::from("<now>")
            } else {
                Value::from(s)
            }
        }
    })
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The full canonical dump (schema and rows), as `dbdump.py DB` prints it.
///
/// Rows are sorted by their JSON text, so two dumps compare with `==`.
///
/// # Errors
/// The database error of any query.
pub async fn dump(conn: &mut SqliteConnection) -> Result<Value, sqlx::Error> {
    let mut out = Map::new();
    for (table, shape) in describe(conn).await? {
        let mut entry = match serde_json::to_value(&shape) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if table == "schema_migrations" {
            let versions: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                    .fetch_all(&mut *conn)
                    .await?;
            entry.insert("versions".into(), Value::from(versions));
        } else {
            let names: Vec<&String> = shape.columns.keys().collect();
            let sql = format!(
                "SELECT {} FROM {}",
                names
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                quote_ident(&table)
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?;
            let mut json_rows = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut obj = Map::new();
                for (i, col) in row.columns().iter().enumerate() {
                    obj.insert(col.name().to_owned(), cell(row, i)?);
                }
                json_rows.push(Value::Object(obj));
            }
            sort_rows(&mut json_rows);
            entry.insert("rows".into(), Value::Array(json_rows));
        }
        out.insert(table, Value::Object(entry));
    }
    Ok(Value::Object(out))
}

/// Sort a dump's rows canonically (by their JSON text), so that dumps made by
/// `dbdump.py` and by [`dump`] compare with `==` whatever order each used.
pub fn sort_rows(rows: &mut [Value]) {
    rows.sort_by_cached_key(|r| r.to_string());
}

/// Re-sort every table's rows of a dump (see [`sort_rows`]).
pub fn canonicalize(dump: &mut Value) {
    if let Value::Object(tables) = dump {
        for entry in tables.values_mut() {
            if let Some(Value::Array(rows)) = entry.get_mut("rows") {
                sort_rows(rows);
            }
        }
    }
}

/// The indexes, triggers and views of a database, keyed by `(kind, name)`, each with
/// its `CREATE` statement whitespace-normalised. Indexes SQLite makes for UNIQUE and
/// PRIMARY KEY constraints have no SQL and are left out (they are compared as part of
/// [`TableShape::unique`]), as are objects of the skipped tables.
pub type SchemaObjects = BTreeMap<(String, String), String>;

/// The indexes, triggers and views of the database on `conn` (see [`SchemaObjects`]).
///
/// # Errors
/// The database error of the `sqlite_master` query.
pub async fn objects(conn: &mut SqliteConnection) -> Result<SchemaObjects, sqlx::Error> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT type, name, tbl_name, sql FROM sqlite_master
         WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, table, _)| !skipped(table))
        .map(|(kind, name, _, sql)| {
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            ((kind, name), sql)
        })
        .collect())
}

/// Human-readable differences between expected and actual indexes, triggers and
/// views (empty when they agree): missing, unexpected, or defined differently.
pub fn diff_objects(expected: &SchemaObjects, actual: &SchemaObjects) -> Vec<String> {
    let mut out = Vec::new();
    for (key @ (kind, name), want) in expected {
        match actual.get(key) {
            None => out.push(format!("{kind} {name}: missing")),
            Some(have) if have != want => out.push(format!(
                "{kind} {name}: defined as `{have}`, expected `{want}`"
            )),
            Some(_) => {}
        }
    }
    for (kind, name) in actual.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("{kind} {name}: unexpected"));
    }
    out
}

/// The schema a fresh file gets from the embedded migrations: its tables and its
/// indexes, triggers and views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSchema {
    /// Every table's shape.
    pub tables: SchemaShape,
    /// The indexes, triggers and views.
    pub objects: SchemaObjects,
}

impl ExpectedSchema {
    /// Human-readable differences of the database on `conn` from this schema (empty
    /// when it agrees): [`diff`] of the tables, then [`diff_objects`].
    ///
    /// # Errors
    /// The database error of any introspection query.
    pub async fn drift(&self, conn: &mut SqliteConnection) -> Result<Vec<String>, sqlx::Error> {
        let mut out = diff(&self.tables, &describe(conn).await?);
        out.extend(diff_objects(&self.objects, &objects(conn).await?));
        Ok(out)
    }
}

/// The schema a fresh file gets from the embedded migrations (built in memory).
///
/// # Errors
/// A [`MigrationError`] if the embedded migrations fail on an empty database.
pub async fn expected() -> Result<ExpectedSchema, MigrationError> {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await?;
    crate::migrate(&mut conn, None).await?;
    let tables = describe(&mut conn).await?;
    let objects = objects(&mut conn).await?;
    conn.close().await?;
    Ok(ExpectedSchema { tables, objects })
}

/// Human-readable differences between an expected and an actual schema
/// (empty when they agree).
pub fn diff(expected: &SchemaShape, actual: &SchemaShape) -> Vec<String> {
    let mut out = Vec::new();
    for (table, want) in expected {
        let Some(have) = actual.get(table) else {
            out.push(format!("table {table}: missing"));
            continue;
        };
        for (col, w) in &want.columns {
            match have.columns.get(col) {
                None => out.push(format!("{table}.{col}: missing column")),
                Some(h) if h != w => out.push(format!(
                    "{table}.{col}: expected {} notnull={} default={:?} pk={}, found {} notnull={} default={:?} pk={}",
                    w.ty, w.notnull, w.default, w.pk, h.ty, h.notnull, h.default, h.pk
                )),
                Some(_) => {}
            }
        }
        for col in have
            .columns
            .keys()
            .filter(|c| !want.columns.contains_key(*c))
        {
            out.push(format!("{table}.{col}: unexpected column"));
        }
        if want.foreign_keys != have.foreign_keys {
            out.push(format!(
                "{table}: foreign keys {:?}, expected {:?}",
                have.foreign_keys, want.foreign_keys
            ));
        }
        if want.unique != have.unique {
            out.push(format!(
                "{table}: unique constraints {:?}, expected {:?}",
                have.unique, want.unique
            ));
        }
    }
    for table in actual.keys().filter(|t| !expected.contains_key(*t)) {
        out.push(format!("table {table}: unexpected"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_defaults_like_dbdump() {
        assert_eq!(
            norm_default(Some("(datetime('now') || 'Z')".into())).as_deref(),
            Some("datetime('now')||'z'")
        );
        assert_eq!(
            norm_default(Some("'1.0.0'".into())).as_deref(),
            Some("'1.0.0'")
        );
        assert_eq!(norm_default(None), None);
    }

    #[test]
    fn recognises_now_stamps_like_dbdump() {
        assert!(is_now_stamp("2026-11-26 09:08:46Z"));
        assert!(is_now_stamp("2031-01-01T00:00:00.1+00:00"));
        assert!(!is_now_stamp("2025-01-01 10:00:00Z"));
        assert!(!is_now_stamp("2030-01-0"));
        // dbdump's pattern skips 2030..2035 written as 20[2-9][6-9]? No: 203x matches the
        // second branch. 2125 matches neither.
        assert!(!is_now_stamp("2125-01-01 10:00:00"));
    }
}
