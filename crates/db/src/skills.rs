//! The `skills` master catalogue: one row per skill regardless of origin, and the
//! canonical store of SKILL.md frontmatter (operations.md §2).
//!
//! A master row is the skill's identity: rows link to it by id, and a row with a
//! NULL link never becomes the skill's by carrying its name (a re-created skill
//! starts empty). Deleting a skill removes what belongs to it in one transaction,
//! except its usage history (agent runs, workflow sessions), which stays, detached.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::{model::SkillSource, skills};
//!
//! let id = skills::upsert_skill(&mut *conn, "sales-pipeline", &SkillSource::Marketplace, Some("domain")).await?;
//! assert_eq!(skills::get_skill_master_id(&mut conn, "sales-pipeline").await?, Some(id));
//! for skill in skills::list_all_skills(&mut conn).await? {
//!     println!("{} ({})", skill.name, skill.skill_source);
//! }
//! skills::delete_skill(&mut *conn, "sales-pipeline").await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{Skill, SkillId, SkillSource, WorkflowRunId};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::{require_name, require_no_nul};
use crate::malformed::{self, checked_list};
use crate::{Error, InvalidInput, Result, tx};

/// Ensure a master row exists for `name` and return its id.
///
/// A new name is inserted with `skill_source` and `purpose` (`created_at` and
/// `updated_at` = now, plain `YYYY-MM-DD HH:MM:SS`). An existing name gets only its
/// `purpose` (a `None` purpose clears it) and `updated_at` updated: its
/// `skill_source`, frontmatter and `created_at` stay as they are (use
/// [`upsert_skill_with_source`] to reclassify). The id is stable across upserts.
///
/// # Differences from the existing layer
/// The whole call is one transaction. A created row does not adopt rows that already
/// carry its name with a NULL link (e.g. the detached history of a deleted skill of
/// the same name); NULL links of files written by the existing app were linked once,
/// when the file was upgraded (step 20261130100000).
///
/// # Errors
/// [`InvalidInput::Empty`] /
/// [`InvalidInput::ContainsNul`] for a bad name or
/// purpose; [`InvalidInput::NotAllowed`] for a
/// `skill_source` outside the three the schema's CHECK constraint allows (also when
/// the name exists, whose source would not change); other database errors.
#[instrument(skip_all, fields(skill_name = name, skill_source = %skill_source), err)]
pub async fn upsert_skill(
    conn: &mut dyn Writer,
    name: &str,
    skill_source: &SkillSource,
    purpose: Option<&str>,
) -> Result<SkillId> {
    spin_then_park(async move {
        let conn = conn.connection();
        validate(name, skill_source, purpose)?;
        let mut tx = tx::begin_immediate(conn).await?;
        let id = upsert_in_tx(&mut tx, name, skill_source, purpose, false).await?;
        tx.commit().await?;
        Ok(id)
    })
    .await
}

/// Like [`upsert_skill`], but an existing row also gets its `skill_source`
/// overwritten — for callers that deliberately reclassify a skill (e.g. a skill
/// discovered on disk resolved "as imported").
///
/// # Differences from the existing layer
/// As [`upsert_skill`]: one transaction; a created row adopts nothing.
///
/// # Errors
/// As [`upsert_skill`].
#[instrument(skip_all, fields(skill_name = name, skill_source = %skill_source), err)]
pub async fn upsert_skill_with_source(
    conn: &mut dyn Writer,
    name: &str,
    skill_source: &SkillSource,
    purpose: Option<&str>,
) -> Result<SkillId> {
    spin_then_park(async move {
        let conn = conn.connection();
        validate(name, skill_source, purpose)?;
        let mut tx = tx::begin_immediate(conn).await?;
        let id = upsert_in_tx(&mut tx, name, skill_source, purpose, true).await?;
        tx.commit().await?;
        Ok(id)
    })
    .await
}

fn validate(name: &str, skill_source: &SkillSource, purpose: Option<&str>) -> Result<()> {
    require_name("skill_name", name)?;
    if let Some(purpose) = purpose {
        require_no_nul("purpose", purpose)?;
    }
    if !skill_source.is_known() {
        return Err(InvalidInput::NotAllowed {
            field: "skill_source",
            allowed: SkillSource::KNOWN,
        }
        .into());
    }
    Ok(())
}

/// The body of the upserts, for a caller that already holds the write transaction.
/// Inputs are already validated.
pub(crate) async fn upsert_in_tx(
    conn: &mut SqliteConnection,
    name: &str,
    skill_source: &SkillSource,
    purpose: Option<&str>,
    overwrite_source: bool,
) -> Result<SkillId> {
    // DO NOTHING still evaluates the CHECK on skill_source, so an invalid source
    // fails whether or not the name exists; RETURNING yields a row only on insert.
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO skills (name, skill_source, purpose) VALUES (?, ?, ?)
           ON CONFLICT (name) DO NOTHING
           RETURNING id AS "id: SkillId""#,
        name,
        skill_source,
        purpose
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok(id);
    }
    let id = if overwrite_source {
        sqlx::query_scalar!(
            r#"UPDATE skills SET purpose = ?, skill_source = ?, updated_at = datetime('now')
               WHERE name = ? RETURNING id AS "id: SkillId""#,
            purpose,
            skill_source,
            name
        )
        .fetch_one(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"UPDATE skills SET purpose = ?, updated_at = datetime('now')
               WHERE name = ? RETURNING id AS "id: SkillId""#,
            purpose,
            name
        )
        .fetch_one(&mut *conn)
        .await?
    };
    Ok(id)
}

/// Every master row, ordered by `name` ascending. Empty store → empty list.
///
/// Booleans read any non-zero integer as `true`; NULL frontmatter reads as `None`.
///
/// The catalogue is read as ONE row: SQLite builds a JSON array with one positional
/// array per skill, decoded into an explicit tuple right below the query (so the
/// column order is checked in one place) and then into [`Skill`]. Returned row by
/// row, every row would cross from the connection's worker thread to the caller on
/// its own, which cost several times SQLite's own work for a catalogue of thousands
/// (see BENCHMARKS.md). Sorting by name happens here, not in SQLite.
///
/// A row the typed API cannot read exactly (a BLOB or invalid UTF-8 in a text
/// column, text or a real in `user_invocable`/`disable_model_invocation`) is
/// skipped and reported, never substituted: see [`crate::malformed`] (one
/// `tracing::warn!` per bad value, the span's `skipped` field counts the rows;
/// `skill-builder-db check` lists them). A healthy catalogue runs the one plain
/// query: a bad row makes it fail, and only then are the bad rows named (a scan of
/// `skills`) and the catalogue read again without them.
///
/// # Differences from the existing layer
/// The existing layer failed the whole list on such a row (or read a wrong value).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn list_all_skills(db: &mut dyn Reader) -> Result<Vec<Skill>> {
    spin_then_park(async move {
        type Row = (
            i64,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let conn = db.connection();
        // The fast path is the plain query: a healthy catalogue pays nothing for the
        // checks. A bad row makes it fail instead of reading wrong: a BLOB fails
        // `json_array` in SQLite, invalid UTF-8 fails the document's decode, and text or
        // a real in a flag (emitted raw, decoded as an integer) fails the tuple's decode.
        let fast = sqlx::query_scalar!(
            r#"SELECT json_group_array(json_array(
                      id, name, skill_source, purpose, created_at, updated_at,
                      description, version, model, argument_hint,
                      user_invocable, disable_model_invocation
                  )) AS "skills!: String"
           FROM skills"#
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(Error::from)
        .and_then(|json| crate::error::decode_json::<Vec<Row>>(&json));
        let rows = match fast {
            Ok(rows) => rows,
            Err(first) => {
                // Name the bad rows, then read without them; nothing bad → the error stands.
                let bad = malformed::skipped(&mut *conn, "skills", &[], "list_all_skills").await?;
                if bad.is_empty() {
                    return Err(first);
                }
                tracing::Span::current().record("skipped", malformed::row_count(&bad));
                let skip = malformed::rowids(&bad);
                let json = sqlx::query_scalar!(
                    r#"SELECT json_group_array(json_array(
                              s.id, s.name, s.skill_source, s.purpose, s.created_at,
                              s.updated_at, s.description, s.version, s.model,
                              s.argument_hint, s.user_invocable, s.disable_model_invocation
                          )) AS "skills!: String"
                   FROM skills s WHERE s.id NOT IN (SELECT value FROM json_each(?1))"#,
                    skip
                )
                .fetch_one(&mut *conn)
                .await?;
                crate::error::decode_json::<Vec<Row>>(&json)?
            }
        };
        let mut skills: Vec<Skill> = rows
            .into_iter()
            .map(|r| Skill {
                id: SkillId::new(r.0),
                name: r.1,
                skill_source: SkillSource::from(r.2),
                purpose: r.3,
                created_at: r.4,
                updated_at: r.5,
                description: r.6,
                version: r.7,
                model: r.8,
                argument_hint: r.9,
                user_invocable: r.10.map(|v| v != 0),
                disable_model_invocation: r.11.map(|v| v != 0),
            })
            .collect();
        skills.sort_by(|a, b| a.name.cmp(&b.name));
        tracing::Span::current().record("count", skills.len());
        Ok(skills)
    })
    .await
}

/// Delete a skill and everything that belongs to it, in one transaction, keeping its
/// usage history.
///
/// Removed, in child-first order: the artifacts and steps of its workflow run(s), its
/// locks, tags and imported row, its workflow run, and the master row. Rows are
/// matched by their link to the skill (or its run) **or** by carrying its name, so
/// rows with a NULL link go too. Its agent runs and workflow sessions are **kept,
/// detached**: their links (`agent_runs.workflow_run_id`, `workflow_sessions
/// .skill_id`) become NULL, their names and every other value stay, so every usage
/// report shows the same totals before and after the delete. A skill created later
/// under the same name never adopts them. `workspace_skills` is never touched. An
/// unknown name succeeds (rows carrying the name without a master row are still
/// removed, usage history again excepted).
///
/// # Differences from the existing layer
/// The existing layer deleted only the master row and failed with
/// `FOREIGN KEY constraint failed` when any tag, lock, session, imported row or run
/// still referenced it (operations.md §14.7). Keeping the usage history is the
/// existing app's later fix ("preserve usage history when deleting a skill").
///
/// # Errors
/// [`InvalidInput::Empty`] /
/// [`InvalidInput::ContainsNul`] for a bad name;
/// the database error (nothing is deleted then).
#[instrument(skip_all, fields(skill_name = name, deleted = tracing::field::Empty), err)]
pub async fn delete_skill(conn: &mut dyn Writer, name: &str) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", name)?;
        let mut tx = tx::begin_immediate(conn).await?;
        let deleted = delete_cascade_in_tx(&mut tx, name).await?;
        tx.commit().await?;
        tracing::Span::current().record("deleted", deleted);
        Ok(())
    })
    .await
}

/// The cascade shared by [`delete_skill`] and
/// [`delete_workflow_run`](crate::workflow_runs::delete_workflow_run), for a caller
/// holding the write transaction. Returns the number of rows deleted.
///
/// A row belongs to the skill when it carries the name, or links to the master row
/// of that name, or links to a run that does (by name or by master link). Agent runs
/// and workflow sessions linked to the skill are detached (links set NULL), not
/// deleted; the count includes them.
pub(crate) async fn delete_cascade_in_tx(conn: &mut SqliteConnection, name: &str) -> Result<u64> {
    let mut n = 0;
    n += sqlx::query!(
        "DELETE FROM workflow_artifacts WHERE skill_name = ?1 OR workflow_run_id IN (
             SELECT id FROM workflow_runs WHERE skill_name = ?1
                 OR skill_id IN (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM workflow_steps WHERE skill_name = ?1 OR workflow_run_id IN (
             SELECT id FROM workflow_runs WHERE skill_name = ?1
                 OR skill_id IN (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Usage history stays: agent runs and workflow sessions are detached (their
    // links set NULL, names kept), not deleted.
    n += sqlx::query!(
        "UPDATE agent_runs SET workflow_run_id = NULL WHERE workflow_run_id IN (
             SELECT id FROM workflow_runs WHERE skill_name = ?1
                 OR skill_id IN (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM skill_locks
         WHERE skill_name = ?1 OR skill_id IN (SELECT id FROM skills WHERE name = ?1)",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "UPDATE workflow_sessions SET skill_id = NULL
         WHERE skill_id IN (SELECT id FROM skills WHERE name = ?1)",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM skill_tags
         WHERE skill_name = ?1 OR skill_id IN (SELECT id FROM skills WHERE name = ?1)",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM imported_skills
         WHERE skill_name = ?1 OR skill_master_id IN (SELECT id FROM skills WHERE name = ?1)",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!(
        "DELETE FROM workflow_runs
         WHERE skill_name = ?1 OR skill_id IN (SELECT id FROM skills WHERE name = ?1)",
        name
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    n += sqlx::query!("DELETE FROM skills WHERE name = ?", name)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n)
}

/// The master id of a skill, or `None` when no master row has this name.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = name), err)]
pub async fn get_skill_master_id(db: &mut dyn Reader, name: &str) -> Result<Option<SkillId>> {
    spin_then_park(async move {
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id: SkillId" FROM skills WHERE name = ?"#,
            name
        )
        .fetch_optional(db.connection())
        .await?;
        Ok(id)
    })
    .await
}

/// The workflow run id of a skill, or `None` when it has no run row.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = name), err)]
pub async fn get_workflow_run_id(db: &mut dyn Reader, name: &str) -> Result<Option<WorkflowRunId>> {
    spin_then_park(async move {
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id: WorkflowRunId" FROM workflow_runs WHERE skill_name = ?"#,
            name
        )
        .fetch_optional(db.connection())
        .await?;
        Ok(id)
    })
    .await
}

/// Every skill name in the master catalogue (used to mark catalogue entries that are
/// already installed).
///
/// A name the typed API cannot read exactly (a BLOB, invalid UTF-8) is skipped and
/// reported, never substituted (see [`crate::malformed`]: a `tracing::warn!` per bad
/// value, the span's `skipped` field counts the rows).
///
/// # Differences from the existing layer
/// Names come back sorted ascending (the existing layer had no defined order). One
/// unreadable name no longer fails the whole list.
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count = tracing::field::Empty, skipped = tracing::field::Empty), err)]
pub async fn get_dashboard_skill_names(db: &mut dyn Reader) -> Result<Vec<String>> {
    spin_then_park(async move {
        let conn = db.connection();
        let names = checked_list!(
            conn,
            "skills",
            &["name"],
            "get_dashboard_skill_names",
            |skip| {
                sqlx::query_scalar!(
                    "SELECT name FROM skills WHERE id NOT IN (SELECT value FROM json_each(?1))
             ORDER BY name",
                    skip
                )
                .fetch_all(&mut *conn)
            }
        )?;
        tracing::Span::current().record("count", names.len());
        Ok(names)
    })
    .await
}
