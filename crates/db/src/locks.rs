//! Per-skill editor locks between app instances (`skill_locks`).
//!
//! A lock names the app instance and its process id. A lock whose process has died is
//! taken over silently; a lock of a live process of another instance is a
//! [`Conflict::LockHeld`]. `skill_name` is the table's primary key, so lookups match
//! the row by name as well as by the master id: a leftover row whose `skill_id` is
//! NULL is a lock like any other.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::{Conflict, Error, locks};
//! use skill_builder_db::model::InstanceId;
//!
//! let me = InstanceId::new_v4();
//! let pid = i64::from(std::process::id());
//! match locks::acquire_skill_lock(&mut *conn, "sales-pipeline", &me, pid).await {
//!     Ok(()) => println!("editing"),
//!     Err(Error::Conflict(Conflict::LockHeld { instance_id, pid, .. })) => {
//!         println!("being edited by {instance_id} (pid {pid})");
//!     }
//!     Err(e) => return Err(e),
//! }
//! locks::release_all_instance_locks(&mut *conn, &me).await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;

use crate::{Reader, Writer};
use skill_builder_model::{InstanceId, SkillId, SkillLock};
use sqlx::SqliteConnection;
use tracing::instrument;

use crate::error::require_name;
use crate::malformed::{self, Checked, MalformedRow, NotNull, checked_list, checked_one};
use crate::{Conflict, Entity, Error, InvalidInput, Result, pid};

/// Whether a process is running; the existing layer's name for [`pid::is_alive`].
pub use crate::pid::is_alive as check_pid_alive;

/// Refuse a process id no OS hands out (such a lock would be dead at once).
pub(crate) fn require_pid(value: i64) -> Result<()> {
    if value < 1 || value > i64::from(u32::MAX) {
        return Err(InvalidInput::OutOfRange {
            field: "pid",
            value,
        }
        .into());
    }
    Ok(())
}

/// Take the editor lock on a skill for this app instance.
///
/// Inside one `BEGIN IMMEDIATE` transaction (so two instances cannot both see a dead
/// lock and both take it over):
/// 1. the skill must be in the master catalogue;
/// 2. a lock already held by `instance_id` → success, nothing changed (its pid and
///    `acquired_at` are not refreshed);
/// 3. a lock of another instance whose pid is alive → [`Conflict::LockHeld`] naming
///    that holder; one whose pid is dead is deleted;
/// 4. the new lock is inserted with the master id and the start time of `pid`'s
///    process (`pid_started_at`).
///
/// A pid counts as alive when a process has it that started no later than the
/// recorded start time ([`pid::is_alive_since`]): a holder that died and whose pid
/// the OS gave to an unrelated process is dead. Locks without a start time (written
/// by the existing app or before it was recorded) are checked by pid alone.
///
/// A lock on the skill whose `pid` is not an integer (`'three'`, 2.5, a BLOB) or
/// whose `pid_started_at` is neither an integer nor NULL cannot be judged: unless
/// this instance or a live holder has the skill, the call fails with
/// [`Error::Malformed`] and changes nothing (sqlx alone would read `'three'` as pid
/// 0, a dead process, and take the lock over). `skill-builder-db check` lists it.
/// Only a lock whose `instance_id` is text counts as this instance's own (step 2).
///
/// # Differences from the existing layer
/// A leftover lock row for the name with a NULL `skill_id` is handled like any other
/// lock (live holder → conflict naming it, dead holder → taken over) instead of
/// surfacing as a uniqueness error. Every error rolls the transaction back, including
/// a database error while looking up the master row (§14.10). The conflict names the
/// holder's instance and pid. A lock whose pid cannot be read is an error, not taken
/// over.
///
/// # Errors
/// [`Error::NotFound`] (`Skill`) when the skill is not in the master;
/// [`Conflict::LockHeld`]; [`Error::Malformed`] (`skill_locks`, the skill name, the
/// column) for a lock that cannot be judged, as above; [`crate::InvalidInput`] for an
/// empty name or instance id, or a pid outside `1..=u32::MAX`; otherwise the
/// database error (`SQLITE_BUSY` after the 5 s busy timeout).
#[instrument(skip_all, fields(skill_name = %skill_name, instance_id = %instance_id, pid = pid), err)]
pub async fn acquire_skill_lock(
    conn: &mut dyn Writer,
    skill_name: &str,
    instance_id: &InstanceId,
    pid: i64,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        require_name("skill_name", skill_name)?;
        require_name("instance_id", instance_id.as_str())?;
        require_pid(pid)?;
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let skill_id = sqlx::query_scalar!(
            r#"SELECT id AS "id: SkillId" FROM skills WHERE name = ?"#,
            skill_name
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Skill, skill_name))?;
        let held = sqlx::query!(
            r#"SELECT rowid AS "rowid!: i64", instance_id AS "instance_id: Checked<InstanceId>",
                  pid AS "pid: Checked<i64>", pid_started_at AS "started!: Checked<Option<i64>>"
           FROM skill_locks WHERE skill_name = ?1 OR skill_id = ?2"#,
            skill_name,
            skill_id,
        )
        .fetch_all(&mut *tx)
        .await?;
        // Only a text id is this instance's: a BLOB with the same bytes (another tool's
        // write) is not, and no lock row would be written.
        if held
            .iter()
            .any(|lock| lock.instance_id.0.as_ref() == Ok(instance_id))
        {
            return Ok(());
        }
        let mut judged = Vec::with_capacity(held.len());
        let mut unjudged = None;
        for lock in held {
            match malformed::pid_of(lock.pid, lock.started) {
                Ok((pid, started)) => judged.push((lock.rowid, lock.instance_id, pid, started)),
                Err(bad) => unjudged = unjudged.or(Some(bad)),
            }
        }
        if let Some((_, id, pid, _)) = judged
            .iter()
            .find(|(_, _, pid, started)| pid::is_alive_since(*pid, *started))
        {
            let instance_id = match &id.0 {
                Ok(id) => id.to_string(),
                Err(problem) => {
                    return Err(MalformedRow {
                        table: TABLE,
                        key: skill_name.to_owned(),
                        column: "instance_id".to_owned(),
                        problem: problem.clone(),
                    }
                    .into());
                }
            };
            return Err(Conflict::LockHeld {
                skill_name: skill_name.to_owned(),
                instance_id,
                pid: *pid,
            }
            .into());
        }
        // A lock that cannot be judged is never taken over.
        if let Some((column, problem)) = unjudged {
            return Err(MalformedRow {
                table: TABLE,
                key: skill_name.to_owned(),
                column: column.to_owned(),
                problem,
            }
            .into());
        }
        let held: Vec<i64> = judged.iter().map(|(rowid, ..)| *rowid).collect();
        if !held.is_empty() {
            tracing::info!(
                reclaimed = held.len(),
                "taking over a lock of a dead process"
            );
            let dead = serde_json::Value::from(held).to_string();
            sqlx::query!(
                "DELETE FROM skill_locks WHERE rowid IN (SELECT value FROM json_each(?))",
                dead
            )
            .execute(&mut *tx)
            .await?;
        }
        let started = pid::start_time(pid);
        sqlx::query!(
            "INSERT INTO skill_locks (skill_name, skill_id, instance_id, pid, pid_started_at)
         VALUES (?, ?, ?, ?, ?)",
            skill_name,
            skill_id,
            instance_id,
            pid,
            started,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Release the lock on a skill if `instance_id` holds it. No lock, no master row, or a
/// lock held by another instance → success, nothing changed.
///
/// # Differences from the existing layer
/// Matches the lock by name as well as by master id, so a NULL-`skill_id` row held by
/// this instance is released too.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(skill_name = %skill_name, instance_id = %instance_id), err)]
pub async fn release_skill_lock(
    conn: &mut dyn Writer,
    skill_name: &str,
    instance_id: &InstanceId,
) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        sqlx::query!(
            "DELETE FROM skill_locks
         WHERE instance_id = ?2
           AND (skill_name = ?1 OR skill_id = (SELECT id FROM skills WHERE name = ?1))",
            skill_name,
            instance_id,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// Release every lock held by an instance (any skill, including NULL-`skill_id`
/// rows); returns how many were released. Called on app exit.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(instance_id = %instance_id, released), err)]
pub async fn release_all_instance_locks(
    conn: &mut dyn Writer,
    instance_id: &InstanceId,
) -> Result<u64> {
    spin_then_park(async move {
        let conn = conn.connection();
        let done = sqlx::query!("DELETE FROM skill_locks WHERE instance_id = ?", instance_id)
            .execute(&mut *conn)
            .await?;
        tracing::Span::current().record("released", done.rows_affected());
        Ok(done.rows_affected())
    })
    .await
}

/// The lock on a skill, if any.
///
/// # Differences from the existing layer
/// Found by name as well as by master id: a NULL-`skill_id` lock row (or one for a
/// name without a master row) is reported instead of hidden. A value the typed API
/// cannot read exactly (text in `pid`, a NULL `skill_name`, …) is an error, never a
/// substituted value.
///
/// # Errors
/// [`Error::Malformed`] naming the table, the skill name and the column for such a
/// value (see [`crate::malformed`]); the database error.
#[instrument(skip_all, fields(skill_name = %skill_name), err)]
pub async fn get_skill_lock(db: &mut dyn Reader, skill_name: &str) -> Result<Option<SkillLock>> {
    spin_then_park(async move {
        let conn = db.connection();
        let row = checked_one!(
            conn,
            TABLE,
            skill_name.to_owned(),
            Error::not_found(Entity::SkillLock, skill_name),
            sqlx::query_as!(
                Row,
                r#"SELECT skill_name AS "skill_name!: _", instance_id AS "instance_id: _",
                      pid AS "pid: _", acquired_at AS "acquired_at: _", skill_id AS "skill_id: _"
               FROM skill_locks
               WHERE skill_name = ?1 OR skill_id = (SELECT id FROM skills WHERE name = ?1)
               ORDER BY skill_name = ?1 DESC
               LIMIT 1"#,
                skill_name
            )
            .fetch_optional(&mut *conn),
            sqlx::query_scalar!(
                r#"SELECT rowid AS "rowid!: i64" FROM skill_locks
               WHERE skill_name = ?1 OR skill_id = (SELECT id FROM skills WHERE name = ?1)
               ORDER BY skill_name = ?1 DESC
               LIMIT 1"#,
                skill_name
            )
            .fetch_one(&mut *conn)
        )?;
        Ok(row.map(Row::into_lock))
    })
    .await
}

/// Every lock, ordered by skill name.
///
/// A lock row the typed API cannot read exactly (text in `pid`, a NULL `skill_name`,
/// a BLOB or invalid UTF-8 in a text column) is skipped and reported, never
/// substituted (see [`crate::malformed`]: a `tracing::warn!` per bad value of the
/// table, the span's `skipped` field counts the rows).
///
/// **Reader:** the app's screens pass a read-only connection
/// (`skill_builder_app::Database::read`), which never waits behind a write; pass
/// the writer or your transaction to see your own uncommitted writes.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(count, skipped), err)]
pub async fn get_all_skill_locks(db: &mut dyn Reader) -> Result<Vec<SkillLock>> {
    spin_then_park(async move {
        let conn = db.connection();
        let rows = checked_list!(conn, TABLE, &[], "get_all_skill_locks", |skip| {
            sqlx::query_as!(
                Row,
                r#"SELECT skill_name AS "skill_name!: _", instance_id AS "instance_id: _",
                      pid AS "pid: _", acquired_at AS "acquired_at: _", skill_id AS "skill_id: _"
           FROM skill_locks WHERE rowid NOT IN (SELECT value FROM json_each(?))
           ORDER BY skill_name"#,
                skip
            )
            .fetch_all(&mut *conn)
        })?;
        let locks: Vec<SkillLock> = rows.into_iter().map(Row::into_lock).collect();
        tracing::Span::current().record("count", locks.len());
        Ok(locks)
    })
    .await
}

/// The table of this module.
const TABLE: &str = "skill_locks";

/// A lock row as read (`skill_name`, the key, may hold NULL: see [`NotNull`]).
struct Row {
    skill_name: NotNull<String>,
    instance_id: InstanceId,
    pid: i64,
    acquired_at: String,
    skill_id: Option<SkillId>,
}

impl Row {
    fn into_lock(self) -> SkillLock {
        SkillLock {
            skill_name: self.skill_name.0,
            instance_id: self.instance_id,
            pid: self.pid,
            acquired_at: self.acquired_at,
            skill_id: self.skill_id,
        }
    }
}

/// Delete every lock whose process is dead (including a pid now held by a process
/// started after the recorded holder, [`pid::is_alive_since`]); returns how many
/// were removed. Locks of live processes are untouched.
///
/// A lock is judged by its `pid` and `pid_started_at` only. A lock whose `pid` is not
/// an integer (`'three'`, 2.5, a BLOB) or whose `pid_started_at` is neither an
/// integer nor NULL is **left in place**: its holder cannot be told, and a
/// substituted value (sqlx alone reads `'three'` as 0, a dead pid) would hand the
/// skill to a second editor. Each such lock is logged with `tracing::warn!` (table,
/// rowid, column, problem) and counted in the span's `skipped` field; the other
/// locks are reclaimed as usual (whatever their other columns hold).
///
/// # Differences from the existing layer
/// One transaction: one read, then one delete of all dead locks by rowid; a failure
/// removes none. Each distinct pid is checked once. The existing layer read an
/// unreadable pid with SQLite's conversions and so reclaimed such locks.
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(reclaimed, skipped), err)]
pub async fn reclaim_dead_locks(conn: &mut SqliteConnection) -> Result<u64> {
    spin_then_park(async move {
        let mut tx = crate::tx::begin_immediate(conn).await?;
        let locks = sqlx::query!(
            r#"SELECT rowid AS "rowid!: i64", pid AS "pid: Checked<i64>",
                  pid_started_at AS "started!: Checked<Option<i64>>"
           FROM skill_locks"#
        )
        .fetch_all(&mut *tx)
        .await?;
        let dead = malformed::dead_rowids(
            "reclaim_dead_locks",
            TABLE,
            "left a lock in place",
            locks.into_iter().map(|r| (r.rowid, r.pid, r.started)),
        );
        if dead.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let dead = serde_json::Value::from(dead).to_string();
        let done = sqlx::query!(
            "DELETE FROM skill_locks WHERE rowid IN (SELECT value FROM json_each(?))",
            dead
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::Span::current().record("reclaimed", done.rows_affected());
        Ok(done.rows_affected())
    })
    .await
}
