//! Skills deployed into the workspace for agents to use (`workspace_skills`),
//! including app-bundled ones. Rows are independent of the master catalogue (no
//! foreign key) and are mutated by `skill_id`.
//!
//! At most one active skill per non-blank purpose, guaranteed by the database (the
//! partial unique index `workspace_skills_one_active_purpose`, step 20261130100000).
//! "Blank" is the index's test: NULL, or empty after SQLite's `trim` (spaces only;
//! a purpose of a tab is a purpose).
//! Inserts and upserts whose purpose is held by another active skill store the row
//! inactive ("inactive on conflict", the existing app's policy) and report it;
//! [`activate_workspace_skill_exclusive`] activates a skill and deactivates the holder;
//! [`set_workspace_skill_purpose`] of an active skill deactivates the holder.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::workspace_skills;
//! use skill_builder_db::model::{WorkspaceSkill, WorkspaceSkillId};
//!
//! let mut skill = WorkspaceSkill::new(
//!     WorkspaceSkillId::new_v4(),
//!     "research",
//!     "/ws/.claude/skills/research",
//!     "2026-01-31 12:00:00Z",
//! );
//! skill.purpose = Some("research".into());
//! workspace_skills::upsert_workspace_skill(&mut conn, &skill).await?;
//! let moved = workspace_skills::activate_workspace_skill_exclusive(
//!     &mut *conn,
//!     &skill.skill_id,
//!     "/ws/.claude/skills/research",
//!     |other| format!("/ws/.claude/skills/.inactive/{}", other.skill_name),
//! )
//! .await?;
//! for other in moved {
//!     println!("move the folder of {} to {}", other.skill_name, other.disk_path);
//! }
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{HashInfo, WorkspaceSkill, WorkspaceSkillId};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::{is_unique_violation, require_name, require_no_nul};
use crate::malformed::{self, Checked, MalformedRow, checked_list, checked_one};
use crate::{Conflict, Entity, Error, Result};

/// The table of this module.
const TABLE: &str = "workspace_skills";

fn validate(skill: &WorkspaceSkill) -> Result<()> {
    require_name("skill_name", &skill.skill_name)?;
    require_name("skill_id", skill.skill_id.as_str())?;
    require_no_nul("disk_path", &skill.disk_path)?;
    require_no_nul("imported_at", &skill.imported_at)
}

/// Map a uniqueness violation to [`Conflict::AlreadyExists`] with `key`.
fn conflict_on_unique(key: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |e| {
        if is_unique_violation(&e) {
            Conflict::AlreadyExists {
                entity: Entity::WorkspaceSkill,
                key: key.to_owned(),
            }
            .into()
        } else {
            Error::from(e)
        }
    }
}

/// Why an upsert's `ON CONFLICT … DO UPDATE` was skipped, read inside the caller's
/// write transaction: the row named `skill_name` holds an `is_active` that is not an
/// integer (e.g. `'yes'` written by another tool), which the upsert keeps and would
/// have to return as a `bool`. `Ok(None)` when the flag is an integer (or the row is
/// gone), i.e. another writer changed it since the skipped statement.
async fn kept_flag_problem(
    conn: &mut SqliteConnection,
    skill_name: &str,
) -> Result<Option<MalformedRow>> {
    let found = sqlx::query_scalar!(
        r#"SELECT is_active AS "is_active: Checked<i64>"
           FROM workspace_skills WHERE skill_name = ?"#,
        skill_name
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.and_then(|f| f.0.err()).map(|problem| MalformedRow {
        table: TABLE,
        key: skill_name.to_owned(),
        column: "is_active".to_owned(),
        problem,
    }))
}

/// Run an upsert (`bundled`: [`upsert_bundled_workspace_skill`]'s, else
/// [`upsert_workspace_skill`]'s) on `db`: the stored `is_active`.
///
/// Healthy files take one statement. When its `DO UPDATE` was skipped (the kept flag
/// is not an integer), the flag is read and the upsert run again in one
/// `BEGIN IMMEDIATE` transaction (a savepoint inside the caller's), so no other writer
/// can change the flag between the decision and the write.
async fn upsert(
    conn: &mut SqliteConnection,
    skill: &WorkspaceSkill,
    bundled: bool,
) -> Result<bool> {
    validate(skill)?;
    if let Some(active) = upsert_row(&mut *conn, skill, bundled).await? {
        return Ok(active);
    }
    let mut tx = crate::tx::begin_immediate(&mut *conn).await?;
    if let Some(bad) = kept_flag_problem(&mut tx, &skill.skill_name).await? {
        return Err(bad.into());
    }
    // Another writer made the flag an integer (or removed the row) meanwhile.
    let active = upsert_row(&mut tx, skill, bundled)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    tx.commit().await?;
    Ok(active)
}

/// Insert a workspace skill: the 13 stored fields (`content_hash` starts NULL; the
/// input's `content_hash` is ignored). Returns whether the row is stored active.
///
/// An active skill whose non-blank purpose is already held by another active skill is
/// stored **inactive** (`is_active` = 0, `disk_path` as given; the caller moves the
/// folder to the inactive location when this returns `false`).
///
/// # Differences from the existing layer
/// "Inactive on conflict" is new (the existing layer stored a second active skill for
/// the purpose, issue 10); it returned nothing.
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`WorkspaceSkill`, key = the name) when the name or the
/// `skill_id` is taken; [`crate::InvalidInput`] for an empty name or id, or NUL in a
/// path; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn insert_workspace_skill(conn: &mut dyn Writer, skill: &WorkspaceSkill) -> Result<bool> {
    spin_then_park(async move {
        let conn = conn.connection();
        validate(skill)?;
        let active = sqlx::query_scalar!(
            r#"INSERT INTO workspace_skills (
               skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
               purpose, version, model, argument_hint, user_invocable, disable_model_invocation)
           VALUES (?1, ?2, ?3,
                   CASE WHEN ?4 AND NOT EXISTS (
                            SELECT 1 FROM workspace_skills o
                            WHERE o.purpose = ?8 AND o.is_active <> 0 AND trim(o.purpose) <> '')
                        THEN 1 ELSE 0 END,
                   ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
           RETURNING is_active AS "is_active!: bool""#,
            skill.skill_id,
            skill.skill_name,
            skill.description,
            skill.is_active,
            skill.is_bundled,
            skill.disk_path,
            skill.imported_at,
            skill.purpose,
            skill.version,
            skill.model,
            skill.argument_hint,
            skill.user_invocable,
            skill.disable_model_invocation,
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(conflict_on_unique(&skill.skill_name))?;
        Ok(active)
    })
    .await
}

/// Insert a workspace skill, or update the row with the same name.
///
/// On a name conflict `description`, `is_bundled`, `disk_path`, `purpose`, `version`,
/// `model`, `argument_hint`, `user_invocable` and `disable_model_invocation` are
/// overwritten; `skill_id`, `is_active`, `imported_at` and `content_hash` are kept.
/// Returns whether the row is stored active.
///
/// One active skill per purpose: a new active row whose non-blank purpose is held by
/// another active skill is stored inactive; an existing active row given such a
/// purpose is deactivated (`disk_path` as given; move the folder when this returns
/// `false` for a skill that was active).
///
/// A row of that name whose `is_active` is not an integer (`'yes'`, 2.5 or a BLOB
/// written by another tool) is left untouched and the upsert fails with
/// [`Error::Malformed`]: the flag it keeps cannot be returned exactly. Another row's
/// unreadable flag counts as active when deciding "inactive on conflict", as it does
/// for the partial unique index (`is_active <> 0`).
///
/// Takes a pool, a connection or a transaction (`&mut *tx`). A healthy file costs one
/// statement; only a skipped update reads the flag and retries, inside one
/// `BEGIN IMMEDIATE` transaction (a savepoint inside the caller's).
///
/// # Differences from the existing layer
/// "Inactive on conflict" is new (the existing layer could leave two active skills
/// with one purpose, issue 10); it returned nothing. Refusing an unreadable kept flag
/// is new too: sqlx alone would return `'yes'` as `false`, and the caller would move
/// the folder of a skill the lists skip.
///
/// # Errors
/// [`Conflict::AlreadyExists`] (`WorkspaceSkill`, key = the `skill_id`) when the
/// `skill_id` belongs to a row with another name; [`Error::Malformed`]
/// (`workspace_skills`, key = the name, column `is_active`) as above;
/// [`crate::InvalidInput`] as for [`insert_workspace_skill`]; otherwise the database
/// error.
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn upsert_workspace_skill(conn: &mut dyn Writer, skill: &WorkspaceSkill) -> Result<bool> {
    spin_then_park(async move {
        let conn = conn.connection();
        upsert(conn, skill, false).await
    })
    .await
}

/// (Re-)seed an app-bundled skill: as [`upsert_workspace_skill`], except that on a
/// name conflict `is_bundled` is forced to true. `is_active` is never updated, so a
/// user's deactivation survives re-seeding; a fresh insert uses the input as given.
/// Returns whether the row is stored active.
///
/// A row of that name whose `is_active` is not an integer is left untouched and the
/// call fails with [`Error::Malformed`], as for [`upsert_workspace_skill`].
///
/// # Differences from the existing layer
/// As [`upsert_workspace_skill`]: a purpose held by another active skill stores the
/// row inactive (also an existing active row re-seeded with such a purpose).
///
/// # Errors
/// As [`upsert_workspace_skill`].
#[instrument(skip_all, fields(skill_name = %skill.skill_name), err)]
pub async fn upsert_bundled_workspace_skill(
    conn: &mut dyn Writer,
    skill: &WorkspaceSkill,
) -> Result<bool> {
    spin_then_park(async move {
        let conn = conn.connection();
        upsert(conn, skill, true).await
    })
    .await
}

/// One upsert statement (`bundled`: a name conflict sets `is_bundled` to 1 instead of
/// the input's): `Some(is_active)` as stored, `None` when its `DO UPDATE` was skipped
/// because the row's `is_active` is not an integer (the row is untouched).
async fn upsert_row(
    conn: &mut SqliteConnection,
    skill: &WorkspaceSkill,
    bundled: bool,
) -> Result<Option<bool>> {
    sqlx::query_scalar!(
        r#"INSERT INTO workspace_skills (
               skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
               purpose, version, model, argument_hint, user_invocable, disable_model_invocation)
           VALUES (?1, ?2, ?3, CASE WHEN ?4 AND NOT EXISTS (
                        SELECT 1 FROM workspace_skills o
                        WHERE o.purpose = ?8 AND o.is_active <> 0 AND trim(o.purpose) <> ''
                          AND o.skill_name <> ?2)
                        THEN 1 ELSE 0 END,
                   ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
           ON CONFLICT (skill_name) DO UPDATE SET
               description = excluded.description,
               is_bundled = CASE WHEN ?14 THEN 1 ELSE excluded.is_bundled END,
               disk_path = excluded.disk_path,
               purpose = excluded.purpose,
               version = excluded.version,
               model = excluded.model,
               argument_hint = excluded.argument_hint,
               user_invocable = excluded.user_invocable,
               disable_model_invocation = excluded.disable_model_invocation,
               is_active = CASE WHEN EXISTS (
                          SELECT 1 FROM workspace_skills o
                          WHERE o.purpose = ?8 AND o.is_active <> 0 AND trim(o.purpose) <> ''
                            AND o.skill_name <> ?2)
                   THEN 0 ELSE workspace_skills.is_active END
           -- why: SQL decides; a kept 'yes' is never returned as a bool
           WHERE typeof(workspace_skills.is_active) = 'integer'
           RETURNING is_active AS "is_active!: bool""#,
        skill.skill_id,
        skill.skill_name,
        skill.description,
        skill.is_active,
        skill.is_bundled,
        skill.disk_path,
        skill.imported_at,
        skill.purpose,
        skill.version,
        skill.model,
        skill.argument_hint,
        skill.user_invocable,
        skill.disable_model_invocation,
        bundled,
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(conflict_on_unique(skill.skill_id.as_str()))
}

/// Every workspace skill, newest first (`imported_at` descending as text, then name).
///
/// A row the typed API cannot read exactly is skipped and reported (see
/// [`list_active_workspace_skills`]).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count, skipped), err)]
pub async fn list_workspace_skills(db: &mut dyn Reader) -> Result<Vec<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "list_workspace_skills", |skip| {
            sqlx::query_as!(
                WorkspaceSkill,
                r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  description AS "description: _", is_active AS "is_active: _",
                  is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  content_hash AS "content_hash: _"
           FROM workspace_skills WHERE rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY imported_at DESC, skill_name"#,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows)
    })
    .await
}

/// The active workspace skills (any non-zero `is_active`), ordered by name.
///
/// A row the typed API cannot read exactly (a NULL `skill_id` key, text in
/// `is_active`, a BLOB or invalid UTF-8 in a text column, …) is skipped and reported,
/// never substituted (see [`crate::malformed`]: a `tracing::warn!` per bad value of
/// the table, the span's `skipped` field counts the rows).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count, skipped), err)]
pub async fn list_active_workspace_skills(db: &mut dyn Reader) -> Result<Vec<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "list_active_workspace_skills", |skip| {
            sqlx::query_as!(
                WorkspaceSkill,
                r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  description AS "description: _", is_active AS "is_active: _",
                  is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  content_hash AS "content_hash: _"
           FROM workspace_skills
           WHERE is_active <> 0 AND rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY skill_name"#,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        tracing::Span::current().record("count", rows.len());
        Ok(rows)
    })
    .await
}

/// Set the active flag and the folder of a workspace skill (activation moves the
/// folder between the active and `.inactive` directories). Does not touch other rows;
/// see [`activate_workspace_skill_exclusive`].
///
/// # Differences from the existing layer
/// Activating a skill whose non-blank purpose another active skill holds is refused
/// with [`Conflict::PurposeTaken`] (nothing written); the existing layer stored two
/// active skills for the purpose (issue 10).
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`Conflict::PurposeTaken`] as above; [`crate::InvalidInput`] for NUL in the path;
/// otherwise the database error.
#[instrument(skip_all, fields(skill_id = %skill_id, is_active = is_active), err)]
pub async fn update_workspace_skill_active(
    conn: &mut dyn Writer,
    skill_id: &WorkspaceSkillId,
    is_active: bool,
    new_disk_path: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_no_nul("disk_path", new_disk_path)?;
        let done = sqlx::query!(
            "UPDATE workspace_skills SET is_active = ?, disk_path = ? WHERE skill_id = ?",
            is_active,
            new_disk_path,
            skill_id,
        )
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            // The only unique index an update of these two columns can hit.
            if is_unique_violation(&e) {
                Error::from(Conflict::PurposeTaken {
                    skill_id: skill_id.as_str().to_owned(),
                })
            } else {
                Error::from(e)
            }
        })?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()));
        }
        Ok(())
    })
    .await
}

/// Activate a workspace skill and deactivate every other active skill with the same
/// purpose, in one transaction (implied by the table's purpose: one active skill per
/// purpose).
///
/// The skill gets `is_active` = 1 and `new_disk_path`. When it has a non-blank
/// purpose, each other active row with exactly that purpose gets `is_active` = 0 and
/// the folder returned by `deactivated_path` for it (called once per such row, inside
/// the transaction, before anything is written; the others are deactivated before
/// the skill is activated, as the unique index requires). Returns those rows as they
/// are now stored, so the caller can move their folders; the caller moves folders
/// itself (a caller wanting the database change undone when a move fails runs this
/// inside its own transaction and rolls back).
///
/// Nothing is decided from a substituted value: when the skill's `purpose` is not
/// text (a BLOB) or not valid UTF-8, or when a row holding the purpose has a value
/// the typed API cannot read exactly (text in `is_active`, a BLOB description, …:
/// it could not be returned as stored), the call fails with [`Error::Malformed`] and
/// writes nothing. `skill-builder-db check` lists such values.
///
/// # Differences from the existing layer
/// The existing layer failed with sqlx's decode error on a BLOB purpose, and read a
/// holder's values with SQLite's conversions (`'yes'` in `is_active` as false: it was
/// deactivated and returned with substituted values).
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`Error::Malformed`] (`workspace_skills`, the key, the column) as above: the key is
/// `skill_id` for the skill's purpose, the holder's `skill_id` (or `rowid N` when
/// that is the unreadable value) for a holder; [`crate::InvalidInput`] for NUL in a
/// path; otherwise the database error. Nothing is written on error.
#[instrument(skip_all, fields(skill_id = %skill_id, deactivated), err)]
pub async fn activate_workspace_skill_exclusive(
    conn: &mut dyn Writer,
    skill_id: &WorkspaceSkillId,
    new_disk_path: &str,
    mut deactivated_path: impl FnMut(&WorkspaceSkill) -> String,
) -> Result<Vec<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_no_nul("disk_path", new_disk_path)?;
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let purpose = sqlx::query_scalar!(
            r#"SELECT purpose AS "purpose!: Checked<Option<String>>"
           FROM workspace_skills WHERE skill_id = ?"#,
            skill_id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()))?
        .of_row(TABLE, skill_id.as_str(), "purpose")?;
        let others = match purpose {
            Some(purpose) => {
                deactivate_holders(&mut tx, skill_id, &purpose, &mut deactivated_path).await?
            }
            None => Vec::new(),
        };
        sqlx::query!(
            "UPDATE workspace_skills SET is_active = 1, disk_path = ? WHERE skill_id = ?",
            new_disk_path,
            skill_id,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::Span::current().record("deactivated", others.len());
        Ok(others)
    })
    .await
}

/// Deactivate every active row other than `skill_id` holding `purpose` (when it is
/// not blank, by the same test as the unique index: SQLite's `trim`), each moved to
/// the folder `deactivated_path` returns for it; returns them as now stored.
///
/// A holder with a value the typed API cannot read exactly is [`Error::Malformed`]
/// naming it (nothing written): it could not be returned as stored.
async fn deactivate_holders(
    conn: &mut SqliteConnection,
    skill_id: &WorkspaceSkillId,
    purpose: &str,
    deactivated_path: &mut impl FnMut(&WorkspaceSkill) -> String,
) -> Result<Vec<WorkspaceSkill>> {
    let rows = sqlx::query_as!(
        WorkspaceSkill,
        r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  description AS "description: _", is_active AS "is_active: _",
                  is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  content_hash AS "content_hash: _"
           FROM workspace_skills
           WHERE purpose = ? AND trim(purpose) <> '' AND is_active <> 0 AND skill_id <> ?
           ORDER BY skill_name"#,
        purpose,
        skill_id,
    )
    .fetch_all(&mut *conn)
    .await;
    let mut others: Vec<WorkspaceSkill> = match rows {
        Ok(rows) => rows,
        Err(e) if !malformed::is_decode(&e) => return Err(e.into()),
        Err(_) => return Err(unreadable_holder(conn, skill_id, purpose).await),
    };
    if !others.is_empty() {
        let mut paths = serde_json::Map::new();
        for other in &mut others {
            let path = deactivated_path(other);
            require_no_nul("disk_path", &path)?;
            other.is_active = false;
            other.disk_path.clone_from(&path);
            paths.insert(other.skill_id.as_str().to_owned(), path.into());
        }
        // One JSON object `{skill_id: new path}`: one statement for any number of rows.
        let paths = serde_json::Value::Object(paths).to_string();
        sqlx::query!(
            "UPDATE workspace_skills
             SET is_active = 0,
                 disk_path = (SELECT value FROM json_each(?1) WHERE key = workspace_skills.skill_id)
             WHERE skill_id IN (SELECT key FROM json_each(?1))",
            paths
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(others)
}

/// The [`Error::Malformed`] for the first unreadable row among the holders of
/// `purpose` other than `skill_id` (named by the scan of the table), keyed by its
/// `skill_id`, or `rowid N` when that is the unreadable value.
async fn unreadable_holder(
    conn: &mut SqliteConnection,
    skill_id: &WorkspaceSkillId,
    purpose: &str,
) -> Error {
    let holders = match sqlx::query_scalar!(
        r#"SELECT rowid AS "rowid!: i64" FROM workspace_skills
           WHERE purpose = ? AND trim(purpose) <> '' AND is_active <> 0 AND skill_id <> ?
           ORDER BY skill_name"#,
        purpose,
        skill_id,
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(holders) => holders,
        Err(e) => return e.into(),
    };
    let bad = match skill_builder_migrations::values::scan_table(&mut *conn, TABLE).await {
        Ok(bad) => bad,
        Err(e) => return e.into(),
    };
    let Some(first) = holders
        .iter()
        .find_map(|rowid| bad.iter().find(|b| b.rowid == *rowid))
    else {
        // The scan names no value of these rows (cannot happen inside the
        // transaction, which keeps them as read).
        return Error::not_found(Entity::WorkspaceSkill, purpose);
    };
    let key = if first.column == "skill_id" {
        None
    } else {
        sqlx::query_scalar!(
            r#"SELECT skill_id AS "skill_id!: String" FROM workspace_skills WHERE rowid = ?"#,
            first.rowid
        )
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .flatten()
    };
    MalformedRow {
        table: TABLE,
        key: key.unwrap_or_else(|| format!("rowid {}", first.rowid)),
        column: first.column.clone(),
        problem: first.problem.clone(),
    }
    .into()
}

/// Set (or, with `None`, clear) the purpose of a workspace skill, in one transaction.
///
/// When the skill is active and the new purpose is non-blank, every other active skill
/// with that purpose is deactivated first (`is_active` = 0, `disk_path` unchanged) and
/// returned as now stored, so the caller can move their folders (e.g. with
/// [`update_workspace_skill_active`]). Otherwise returns an empty list.
///
/// # Differences from the existing layer
/// The existing layer had no such function (application code set the column and
/// could leave two active skills with one purpose). It now takes a connection (two
/// statements in one `BEGIN IMMEDIATE` transaction) and deactivates the holder
/// (issue 10).
///
/// An `is_active` of the skill that is not an integer (`'yes'`), or a holder with a
/// value the typed API cannot read exactly, is [`Error::Malformed`] (as for
/// [`activate_workspace_skill_exclusive`]), never decided from a substituted value.
///
/// # Errors
/// [`Error::NotFound`] (`WorkspaceSkill`, the id) when no row has that id;
/// [`Error::Malformed`] as above; [`crate::InvalidInput`] for NUL in the purpose;
/// otherwise the database error. Nothing is written on error.
#[instrument(skip_all, fields(skill_id = %skill_id, purpose = ?purpose, deactivated), err)]
pub async fn set_workspace_skill_purpose(
    conn: &mut dyn Writer,
    skill_id: &WorkspaceSkillId,
    purpose: Option<&str>,
) -> Result<Vec<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = conn.connection();
        if let Some(p) = purpose {
            require_no_nul("purpose", p)?;
        }
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let active = sqlx::query_scalar!(
            r#"SELECT is_active AS "is_active: Checked<i64>"
           FROM workspace_skills WHERE skill_id = ?"#,
            skill_id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()))?
        .of_row(TABLE, skill_id.as_str(), "is_active")?
            != 0;
        let others = match purpose.filter(|_| active) {
            // The holders keep their folder: the caller moves it.
            Some(p) => {
                deactivate_holders(&mut tx, skill_id, p, &mut |o| o.disk_path.clone()).await?
            }
            None => Vec::new(),
        };
        sqlx::query!(
            "UPDATE workspace_skills SET purpose = ? WHERE skill_id = ?",
            purpose,
            skill_id,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::Span::current().record("deactivated", others.len());
        Ok(others)
    })
    .await
}

/// Delete the workspace skill with this id; unknown id → success.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_id = %skill_id), err)]
pub async fn delete_workspace_skill(
    conn: &mut dyn Writer,
    skill_id: &WorkspaceSkillId,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        sqlx::query!("DELETE FROM workspace_skills WHERE skill_id = ?", skill_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    })
    .await
}

/// The workspace skill with this id.
///
/// # Errors
/// [`Error::Malformed`] naming the table, the id and the column when the row holds a
/// value the typed API cannot read exactly (text in `is_active`, a BLOB or invalid
/// UTF-8 in a text column, …; see [`crate::malformed`]); the database error.
#[instrument(skip_all, fields(skill_id = %skill_id), err)]
pub async fn get_workspace_skill(
    db: &mut dyn Reader,
    skill_id: &WorkspaceSkillId,
) -> Result<Option<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let row = checked_one!(
            conn,
            TABLE,
            skill_id.as_str().to_owned(),
            Error::not_found(Entity::WorkspaceSkill, skill_id.as_str()),
            sqlx::query_as!(
                WorkspaceSkill,
                r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  description AS "description: _", is_active AS "is_active: _",
                  is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  content_hash AS "content_hash: _"
           FROM workspace_skills WHERE skill_id = ?"#,
                skill_id
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workspace_skills WHERE skill_id = ?"#,
                skill_id
            )
            .fetch_one(&mut *conn)
        )?;
        Ok(row)
    })
    .await
}

/// The workspace skill with this name.
///
/// # Errors
/// [`Error::Malformed`] naming the table, the name and the column when the row holds
/// a value the typed API cannot read exactly (see [`get_workspace_skill`]); the
/// database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_workspace_skill_by_name(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Option<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let row = checked_one!(
            conn,
            TABLE,
            skill_name.to_owned(),
            Error::not_found(Entity::WorkspaceSkill, skill_name),
            sqlx::query_as!(
                WorkspaceSkill,
                r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                  description AS "description: _", is_active AS "is_active: _",
                  is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                  imported_at AS "imported_at: _", purpose AS "purpose: _",
                  version AS "version: _", model AS "model: _",
                  argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                  disable_model_invocation AS "disable_model_invocation: _",
                  content_hash AS "content_hash: _"
           FROM workspace_skills WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workspace_skills WHERE skill_name = ?"#,
                skill_name
            )
            .fetch_one(&mut *conn)
        )?;
        Ok(row)
    })
    .await
}

/// The active workspace skill with exactly this purpose (at most one exists, see the
/// module documentation); inactive rows are never returned.
///
/// # Differences from the existing layer
/// There is at most one candidate (the existing layer could hold several active rows
/// for a purpose and returned the first in insertion order, issue 10); errors are the
/// crate's typed [`Error`].
///
/// # Errors
/// [`Error::Malformed`] naming the table, the purpose and the column when the row
/// holds a value the typed API cannot read exactly (see [`get_workspace_skill`]); the
/// database error.
#[instrument(skip_all, fields(purpose = %purpose), err)]
pub async fn get_workspace_skill_by_purpose(
    db: &mut dyn Reader,
    purpose: &str,
) -> Result<Option<WorkspaceSkill>> {
    spin_then_park(async move {
        let conn = db.connection();
        let row = checked_one!(
            conn,
            TABLE,
            purpose.to_owned(),
            Error::not_found(Entity::WorkspaceSkill, purpose),
            sqlx::query_as!(
            WorkspaceSkill,
            r#"SELECT skill_id AS "skill_id!: _", skill_name AS "skill_name: _",
                      description AS "description: _", is_active AS "is_active: _",
                      is_bundled AS "is_bundled: _", disk_path AS "disk_path: _",
                      imported_at AS "imported_at: _", purpose AS "purpose: _",
                      version AS "version: _", model AS "model: _",
                      argument_hint AS "argument_hint: _", user_invocable AS "user_invocable: _",
                      disable_model_invocation AS "disable_model_invocation: _",
                      content_hash AS "content_hash: _"
               FROM workspace_skills WHERE purpose = ? AND is_active <> 0
               ORDER BY rowid LIMIT 1"#,
            purpose
        )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM workspace_skills WHERE purpose = ? AND is_active <> 0
               ORDER BY rowid LIMIT 1"#,
                purpose
            )
            .fetch_one(&mut *conn)
        )?;
        Ok(row)
    })
    .await
}

/// Record the fingerprint of the deployed files. No row with that name → no-op.
///
/// # Errors
/// [`crate::InvalidInput`] for NUL in the hash; otherwise the database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn set_workspace_skill_content_hash(
    conn: &mut dyn Writer,
    skill_name: &str,
    hash: &str,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_no_nul("content_hash", hash)?;
        sqlx::query!(
            "UPDATE workspace_skills SET content_hash = ? WHERE skill_name = ?",
            hash,
            skill_name
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Folder and stored fingerprint of the workspace skill with this name
/// (`content_hash` `None` = baseline unknown); `None` when there is no such row.
///
/// A `disk_path` or `content_hash` that is not text (a BLOB) or not valid UTF-8 is an
/// error, never read as text (see [`crate::malformed`]).
///
/// # Differences from the existing layer
/// Such a value is [`Error::Malformed`] (the existing layer read a BLOB's bytes as
/// text and failed with a decode error on invalid UTF-8).
///
/// # Errors
/// [`Error::Malformed`] (`workspace_skills`, the name, the column) for such a value; the
/// database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_workspace_skill_hash_info(
    db: &mut dyn Reader,
    skill_name: &str,
) -> Result<Option<HashInfo>> {
    spin_then_park(async move {
        let Some(row) = sqlx::query!(
            r#"SELECT disk_path AS "disk_path: Checked<String>",
                  content_hash AS "content_hash!: Checked<Option<String>>"
           FROM workspace_skills WHERE skill_name = ?"#,
            skill_name
        )
        .fetch_optional(db.connection())
        .await?
        else {
            return Ok(None);
        };
        let disk_path = row.disk_path.of_row(TABLE, skill_name, "disk_path")?;
        let content_hash = row.content_hash.of_row(TABLE, skill_name, "content_hash")?;
        Ok(Some(HashInfo {
            disk_path,
            content_hash,
        }))
    })
    .await
}
