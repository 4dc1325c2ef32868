//! The `skill_tags` table: lower-case tags on skills of the master catalogue
//! (operations.md §6).
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::tags;
//!
//! tags::set_skill_tags(&mut *conn, "sales-pipeline", &[" Salesforce ", "analytics"]).await?;
//! let by_skill = tags::get_tags_for_skills(&mut *conn, &["sales-pipeline", "other"]).await?;
//! assert_eq!(by_skill["sales-pipeline"], ["analytics", "salesforce"]);
//! assert!(!by_skill.contains_key("other"));
//! println!("{:?}", tags::get_all_tags(&mut *conn).await?);
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use std::collections::BTreeMap;

use crate::{Reader, Writer};
use skill_builder_model::normalize_tags;
use tracing::instrument;

use crate::error::{require_name, require_no_nul};
use crate::malformed::{self, checked_list};
use crate::{Entity, Error, Result};

/// Replace a skill's tag set, in one `BEGIN IMMEDIATE` transaction.
///
/// Tags are normalised with [`normalize_tags`] (trimmed, full Unicode lower-case,
/// blanks dropped, duplicates collapsed). An empty list clears every tag. The skill
/// must be in the master catalogue.
///
/// The master row is looked up, the old rows deleted and the new ones inserted (one
/// statement for all tags) in one transaction (a savepoint inside the caller's).
///
/// # Differences from the existing layer
/// Atomic, with one insert for all tags (the existing layer ran a delete and one
/// autocommit insert per tag). Old tag rows carrying the name with a NULL
/// `skill_id` are replaced too, so they cannot shadow a new tag.
///
/// # Errors
/// [`Error::NotFound`] with [`Entity::Skill`] when no master row has this name;
/// [`InvalidInput::Empty`](crate::InvalidInput::Empty) /
/// [`InvalidInput::ContainsNul`](crate::InvalidInput::ContainsNul) for a bad name or
/// a tag containing NUL; the database error (the old tags are kept then).
#[instrument(skip_all, fields(skill_name = skill_name, count = tags.len()), err)]
pub async fn set_skill_tags<S: AsRef<str>>(
    conn: &mut dyn Writer,
    skill_name: &str,
    tags: &[S],
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        for tag in tags {
            require_no_nul("tag", tag.as_ref())?;
        }
        let tags = json_array(normalize_tags(tags));
        let mut tx = crate::tx::begin_immediate(conn).await?;
        // One round trip to the connection's worker: the master row's id (the only
        // row returned), then the delete and the insert (SQLite runs the statements
        // of one query text in order). No master row: nothing matched the id, and
        // dropping `tx` rolls back what the name matched. `fetch_all`, never
        // `fetch_one`/`fetch_optional`: with a row limit sqlx's worker stops after the
        // first row, and the delete and insert would not run.
        let found = sqlx::query_scalar!(
            r#"SELECT id AS "id!: i64" FROM skills WHERE name = ?;
             DELETE FROM skill_tags
             WHERE skill_id = (SELECT id FROM skills WHERE name = ?) OR skill_name = ?;
             INSERT OR IGNORE INTO skill_tags (skill_name, tag, skill_id)
             SELECT ?, j.value, s.id FROM json_each(?) AS j
             JOIN skills AS s ON s.name = ?"#,
            skill_name,
            skill_name,
            skill_name,
            skill_name,
            tags,
            skill_name
        )
        .fetch_all(&mut *tx)
        .await?;
        if found.is_empty() {
            return Err(Error::not_found(Entity::Skill, skill_name));
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// The tags of many skills in one query: skill name → its tags, sorted ascending.
///
/// Any number of names is passed as one JSON array parameter. Skills without tags, or
/// not in the master catalogue, are absent from the map. Empty input → empty map
/// without a query.
///
/// A tag row the typed API cannot read exactly (a BLOB or invalid UTF-8 tag) is
/// skipped and reported, never substituted (see [`crate::malformed`]: a
/// `tracing::warn!` per bad value of `skill_tags`, the span's `skipped` field counts
/// the rows); the other tags are returned.
///
/// # Differences from the existing layer
/// One query whatever the number of names (the existing layer chunked by 900 bound
/// parameters). A tag row counts when it carries the skill's name and links to its
/// master row or has a NULL link (rows written before the master row existed).
/// The whole result is read as ONE row (SQLite builds a JSON array of name/tag
/// pairs), so thousands of tags do not cross from the connection's worker thread one
/// row at a time; grouping and sorting happen here. One unreadable tag no longer
/// fails the whole map.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(
    skip_all,
    fields(names = names.len(), count = tracing::field::Empty, skipped = tracing::field::Empty),
    err
)]
pub async fn get_tags_for_skills<S: AsRef<str>>(
    db: &mut dyn Reader,
    names: &[S],
) -> Result<BTreeMap<String, Vec<String>>> {
    spin_then_park(async move {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if names.is_empty() {
            return Ok(map);
        }
        let names = json_array(names.iter().map(|n| n.as_ref().to_owned()));
        let conn = db.connection();
        // The fast path is the plain query. A bad tag makes it fail instead of reading
        // wrong: a BLOB fails `json_array` in SQLite, invalid UTF-8 the document's decode.
        let fast = sqlx::query_scalar!(
            r#"SELECT json_group_array(json_array(t.skill_name, t.tag)) AS "pairs!: String"
           FROM json_each(?1) AS n
           JOIN skills s ON s.name = n.value
           JOIN skill_tags t ON t.skill_name = s.name
                            AND (t.skill_id = s.id OR t.skill_id IS NULL)"#,
            names
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(Error::from)
        .and_then(|json| crate::error::decode_json::<Vec<(String, String)>>(&json));
        let pairs = match fast {
            Ok(pairs) => pairs,
            Err(first) => {
                // Name the bad rows, then read without them; nothing bad → the error stands.
                let bad = malformed::skipped(
                    &mut *conn,
                    "skill_tags",
                    &["skill_name", "tag"],
                    "get_tags_for_skills",
                )
                .await?;
                if bad.is_empty() {
                    return Err(first);
                }
                tracing::Span::current().record("skipped", malformed::row_count(&bad));
                let skip = malformed::rowids(&bad);
                let json = sqlx::query_scalar!(
                    r#"SELECT json_group_array(json_array(s.name, t.tag)) AS "pairs!: String"
                   FROM json_each(?1) AS n
                   JOIN skills s ON s.name = n.value
                   JOIN skill_tags t ON t.skill_name = s.name
                                    AND (t.skill_id = s.id OR t.skill_id IS NULL)
                   WHERE t.rowid NOT IN (SELECT value FROM json_each(?2))"#,
                    names,
                    skip
                )
                .fetch_one(&mut *conn)
                .await?;
                crate::error::decode_json::<Vec<(String, String)>>(&json)?
            }
        };
        for (skill, tag) in pairs {
            map.entry(skill).or_default().push(tag);
        }
        for tags in map.values_mut() {
            // A name given twice yields its tags twice.
            tags.sort();
            tags.dedup();
        }
        tracing::Span::current().record("count", map.len());
        Ok(map)
    })
    .await
}

/// Every distinct tag across all skills, ascending (including tags of rows whose
/// skill no longer exists).
///
/// A tag the typed API cannot read exactly (a BLOB, invalid UTF-8) is skipped and
/// reported, never substituted (see [`crate::malformed`]: a `tracing::warn!` per bad
/// value, the span's `skipped` field counts the rows).
///
/// # Differences from the existing layer
/// One unreadable tag no longer fails the whole list.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn get_all_tags(db: &mut dyn Reader) -> Result<Vec<String>> {
    spin_then_park(async move {
        let conn = db.connection();
        let tags = checked_list!(conn, "skill_tags", &["tag"], "get_all_tags", |skip| {
            sqlx::query_scalar!(
                "SELECT DISTINCT tag FROM skill_tags
             WHERE rowid NOT IN (SELECT value FROM json_each(?1)) ORDER BY tag",
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        tracing::Span::current().record("count", tags.len());
        Ok(tags)
    })
    .await
}

/// A JSON array of strings, for one `json_each(?)` parameter.
fn json_array(items: impl IntoIterator<Item = String>) -> String {
    serde_json::Value::Array(items.into_iter().map(serde_json::Value::String).collect()).to_string()
}
