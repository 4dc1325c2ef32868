//! Stored values the typed API cannot read exactly (rows written by other tools).
//!
//! SQLite stores any value in any column; the declared type only sets an affinity.
//! A file edited by another tool can therefore hold, say, `'1.2k'` in an `INTEGER`
//! column, a BLOB in a `TEXT` column or text that is not valid UTF-8. The typed API
//! reads such a value either not at all or wrongly (sqlx converts `'1.2k'` to 1), so
//! [`scan`] finds every one of them, from the file's own schema:
//!
//! | declared type (SQLite affinity) | accepted storage classes |
//! |---|---|
//! | contains `INT` | `integer` (and NULL) |
//! | contains `CHAR`, `CLOB` or `TEXT` | `text` that is valid UTF-8 (and NULL) |
//! | contains `REAL`, `FLOA` or `DOUB` | `real`, `integer` (and NULL) |
//! | anything else (`BLOB`, none, `NUMERIC`) | anything |
//!
//! and a NULL in a primary-key column is reported too (SQLite allows NULL in a
//! non-integer primary key; the typed API would read it as `""`).
//!
//! One query per table (a full scan: this is for `check` and the repair pass, and for
//! the rare slow path of a list that met a bad row, never for a healthy list). Text is
//! checked for UTF-8 only when it holds a non-ASCII byte (a `trim` in SQL tells).
//!
//! ```no_run
//! # async fn demo(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
//! for bad in skill_builder_migrations::values::scan(conn).await? {
//!     println!("{bad}"); // e.g. "skills row 7: name holds a blob, the schema says TEXT"
//! }
//! # Ok(()) }
//! ```

// unchecked-ok (whole module): queries are built from the file's own schema.

use std::fmt;

use serde::Serialize;
use sqlx::{Row, SqliteConnection};

/// What the schema expects of a column, from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Integer,
    Real,
    Text,
    Any,
}

impl Expected {
    /// SQLite's affinity rules (https://sqlite.org/datatype3.html §3.1), in order.
    pub(crate) fn of(declared: &str) -> Self {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Self::Integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Self::Text
        } else if t.contains("BLOB") || t.is_empty() {
            Self::Any
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Self::Real
        } else {
            Self::Any
        }
    }

    fn accepts(self, class: &str) -> bool {
        match self {
            Self::Integer => matches!(class, "integer" | "null"),
            Self::Real => matches!(class, "real" | "integer" | "null"),
            Self::Text => matches!(class, "text" | "null"),
            Self::Any => true,
        }
    }
}

/// What is wrong with one stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueProblem {
    /// NULL in a primary-key column.
    NullKey,
    /// A storage class the column's declared type does not hold, e.g. `text` in an
    /// `INTEGER` column (`'1.2k'`), `real` in an `INTEGER` column (2.5), a `blob` in
    /// a `TEXT` column.
    StorageClass {
        /// SQLite's `typeof()` of the value: `integer`, `real`, `text` or `blob`.
        found: String,
        /// The column's declared type.
        declared: String,
    },
    /// `text` whose bytes are not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NullKey => f.write_str("is NULL in a primary-key column"),
            Self::StorageClass { found, declared } => {
                write!(f, "holds a {found} value, the schema says {declared}")
            }
            Self::InvalidUtf8 => f.write_str("holds text that is not valid UTF-8"),
        }
    }
}

/// One stored value the typed API cannot read exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadValue {
    /// The table.
    pub table: String,
    /// The row's rowid.
    pub rowid: i64,
    /// The column.
    pub column: String,
    /// What is wrong.
    pub problem: ValueProblem,
    /// The stored bytes, for a `text` or `blob` value (what the repair pass works
    /// from); `None` for other values. Not serialised.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row {}: {} {}",
            self.table, self.rowid, self.column, self.problem
        )
    }
}

/// One column of a table, as `pragma_table_info` describes it.
struct Column {
    name: String,
    expected: Expected,
    declared: String,
    key: bool,
}

/// Double-quote an identifier for SQL.
fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Every ASCII character but NUL: `trim(x, ASCII) <> ''` tells that `x` holds a
/// non-ASCII byte (only then can it be invalid UTF-8).
fn ascii() -> String {
    (1u8..=127).map(char::from).collect()
}

/// The tables [`scan`] looks at: every ordinary rowid table of `main` except SQLite's own.
///
/// # Errors
/// The database error.
pub async fn tables(conn: &mut SqliteConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT name FROM pragma_table_list
         WHERE schema = 'main' AND type = 'table' AND wr = 0 AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
}

async fn columns(conn: &mut SqliteConnection, table: &str) -> Result<Vec<Column>, sqlx::Error> {
    let rows = sqlx::query("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid")
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let declared: String = r.try_get(1)?;
            Ok(Column {
                name: r.try_get(0)?,
                expected: Expected::of(&declared),
                declared,
                key: r.try_get::<i64, _>(2)? > 0,
            })
        })
        .collect()
}

/// Every bad value of every table (see the module docs), ordered by table, rowid and
/// column.
///
/// # Errors
/// The database error.
pub async fn scan(conn: &mut SqliteConnection) -> Result<Vec<BadValue>, sqlx::Error> {
    let mut out = Vec::new();
    for table in tables(conn).await? {
        out.extend(scan_table_with(conn, &table, true, &[]).await?);
    }
    Ok(out)
}

/// Like [`scan`] without the UTF-8 check of text: storage classes and NULL keys only.
/// Much cheaper on large values (`typeof()` reads no overflow pages); the repair pass
/// uses it, since it fixes no text.
///
/// # Errors
/// The database error.
pub async fn scan_classes(conn: &mut SqliteConnection) -> Result<Vec<BadValue>, sqlx::Error> {
    let mut out = Vec::new();
    for table in tables(conn).await? {
        out.extend(scan_table_with(conn, &table, false, &[]).await?);
    }
    Ok(out)
}

/// Every bad value of one table, ordered by rowid and column. An unknown table has none.
///
/// # Errors
/// The database error.
pub async fn scan_table(
    conn: &mut SqliteConnection,
    table: &str,
) -> Result<Vec<BadValue>, sqlx::Error> {
    scan_table_with(conn, table, true, &[]).await
}

/// Like [`scan_table`], looking only at `only` (all columns when empty): a list that
/// does not read a large column need not scan it.
///
/// # Errors
/// The database error.
pub async fn scan_columns(
    conn: &mut SqliteConnection,
    table: &str,
    only: &[&str],
) -> Result<Vec<BadValue>, sqlx::Error> {
    scan_table_with(conn, table, true, only).await
}

/// [`scan_columns`], checking the UTF-8 of text only when `utf8`.
async fn scan_table_with(
    conn: &mut SqliteConnection,
    table: &str,
    utf8: bool,
    only: &[&str],
) -> Result<Vec<BadValue>, sqlx::Error> {
    let columns: Vec<Column> = columns(conn, table)
        .await?
        .into_iter()
        .filter(|c| c.expected != Expected::Any || c.key)
        .filter(|c| only.is_empty() || only.contains(&c.name.as_str()))
        .collect();
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    // Per column: its class, and its bytes when they must be looked at in Rust (a
    // blob or text where the schema wants something else — for the repair pass —
    // or non-ASCII text in a TEXT column — for the UTF-8 check).
    let mut select = vec!["rowid".to_owned()];
    let mut suspect = Vec::new();
    for c in &columns {
        let q = quote(&c.name);
        select.push(format!("typeof({q})"));
        let non_ascii = if utf8 {
            format!("(typeof({q}) = 'text' AND trim({q}, ?1) <> '')")
        } else {
            "0".to_owned()
        };
        let wrong_class = match c.expected {
            Expected::Integer => format!("typeof({q}) NOT IN ('integer', 'null')"),
            Expected::Real => format!("typeof({q}) NOT IN ('real', 'integer', 'null')"),
            Expected::Text => format!("typeof({q}) NOT IN ('text', 'null')"),
            Expected::Any => "0".to_owned(),
        };
        let needs_bytes = if c.expected == Expected::Text {
            format!("typeof({q}) = 'blob' OR {non_ascii}")
        } else {
            format!("typeof({q}) IN ('text', 'blob') AND {wrong_class}")
        };
        select.push(format!(
            "CASE WHEN {needs_bytes} THEN CAST({q} AS BLOB) END"
        ));
        suspect.push(format!("({wrong_class})"));
        if c.expected == Expected::Text {
            suspect.push(non_ascii);
        }
        if c.key {
            suspect.push(format!("{q} IS NULL"));
        }
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY rowid",
        select.join(", "),
        quote(table),
        suspect.join(" OR ")
    );
    // `?1` is used only when some column is checked for UTF-8.
    let uses_ascii = utf8 && columns.iter().any(|c| c.expected == Expected::Text);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if uses_ascii {
        query = query.bind(ascii());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = Vec::new();
    for row in &rows {
        let rowid: i64 = row.try_get(0)?;
        for (i, c) in columns.iter().enumerate() {
            let class: String = row.try_get(1 + 2 * i)?;
            let bytes: Option<Vec<u8>> = row.try_get(2 + 2 * i)?;
            let problem = if c.key && class == "null" {
                Some(ValueProblem::NullKey)
            } else if !c.expected.accepts(&class) {
                Some(ValueProblem::StorageClass {
                    found: class,
                    declared: c.declared.clone(),
                })
            } else if c.expected == Expected::Text
                && bytes
                    .as_deref()
                    .is_some_and(|b| std::str::from_utf8(b).is_err())
            {
                Some(ValueProblem::InvalidUtf8)
            } else {
                None
            };
            if let Some(problem) = problem {
                out.push(BadValue {
                    table: table.to_owned(),
                    rowid,
                    column: c.name.clone(),
                    problem,
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_follows_sqlite() {
        assert_eq!(Expected::of("INTEGER"), Expected::Integer);
        assert_eq!(Expected::of("BIGINT"), Expected::Integer);
        assert_eq!(Expected::of("TEXT"), Expected::Text);
        assert_eq!(Expected::of("VARCHAR(10)"), Expected::Text);
        assert_eq!(Expected::of("REAL"), Expected::Real);
        assert_eq!(Expected::of("BLOB"), Expected::Any);
        assert_eq!(Expected::of(""), Expected::Any);
        assert_eq!(Expected::of("NUMERIC"), Expected::Any);
    }

    #[test]
    fn ascii_set_has_every_ascii_char_but_nul() {
        let set = ascii();
        assert_eq!(set.len(), 127);
        assert!(!set.contains('\0'));
        assert!(set.contains('\u{7f}'));
    }
}
