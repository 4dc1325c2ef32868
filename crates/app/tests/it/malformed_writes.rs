#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Malformed legacy rows met by the reads inside writes (issue 11 item 2, last part),
//! what the table of `crates/db/tests/malformed.rs` does not cover: the warnings and
//! `skipped` span field of the lock and session sweeps (a `tracing` capture), and the
//! exclusive activation of a workspace skill whose purpose or holders cannot be read.
//!
//! Each test builds a real file with `Database::open`, writes good rows through the
//! API and bad rows through a raw connection, reopens it, and checks what each
//! function returns, which rows it changed, and what it logged.

use std::sync::{Arc, Mutex};

use crate::common::raw;
use skill_builder_app::Database;
use skill_builder_db::malformed::{MalformedRow, ValueProblem};
use skill_builder_db::model::{SkillSource, WorkspaceSkill, WorkspaceSkillId};
use skill_builder_db::{Error, locks, sessions, skills, workspace_skills};
use sqlx::Connection;
use tracing::field::{Field, Visit};
use tracing::span;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A pid no process has (above Linux's `pid_max`, inside `1..=u32::MAX`).
const DEAD: i64 = 99_999_999;

fn me() -> i64 {
    i64::from(std::process::id())
}

/// A migrated file with the skills `names` in the master, then `more` (API calls on
/// the open database), then `bad` through a raw connection; returns the folder guard,
/// the file and the reopened database.
async fn file_with<F>(
    names: &[&str],
    more: F,
    bad: &str,
) -> (tempfile::TempDir, std::path::PathBuf, Database)
where
    F: AsyncFnOnce(&Database),
{
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("malformed-writes.db");
    let db = Database::open(&path).await.expect("open");
    {
        let mut conn = db.write().await.expect("writer");
        for name in names {
            skills::upsert_skill(&mut conn, name, &SkillSource::SkillBuilder, Some("domain"))
                .await
                .expect("upsert");
        }
    }
    more(&db).await;
    db.close().await;
    let mut conn = raw(&path).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(bad.to_owned()))
        .execute(&mut conn)
        .await
        .expect("bad rows");
    conn.close().await.expect("close");
    let db = Database::open(&path).await.expect("reopen");
    (dir, path, db)
}

/// The texts of one column of a raw query on the open database.
async fn texts(db: &Database, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(&mut *db.write().await.expect("writer"))
        .await
        .expect("raw query")
}

/// The `Error::Malformed` of `result` as (table, key, column, problem).
fn malformed<T: std::fmt::Debug>(
    result: skill_builder_db::Result<T>,
) -> (&'static str, String, String, ValueProblem) {
    match result {
        Err(Error::Malformed(MalformedRow {
            table,
            key,
            column,
            problem,
        })) => (table, key, column, problem),
        other => panic!("expected Error::Malformed, got {other:?}"),
    }
}

fn class(found: &str, declared: &str) -> ValueProblem {
    ValueProblem::StorageClass {
        found: found.into(),
        declared: declared.into(),
    }
}

/// What the `tracing` subscriber of a test wrote, and the `skipped` values recorded
/// on spans (as `(span name, value)`).
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<Vec<u8>>>,
    skipped: Arc<Mutex<Vec<(String, u64)>>>,
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records the `skipped` field of every span when it is recorded.
struct SkippedField(Arc<Mutex<Vec<(String, u64)>>>);

struct SkippedVisitor<'a>(&'static str, &'a Mutex<Vec<(String, u64)>>);

impl Visit for SkippedVisitor<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "skipped" {
            self.1.lock().unwrap().push((self.0.to_owned(), value));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, u64::try_from(value).expect("a count"));
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for SkippedField
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            values.record(&mut SkippedVisitor(span.name(), &self.0));
        }
    }
}

impl Capture {
    /// A subscriber writing events at INFO and up here, and keeping the `skipped`
    /// values of spans.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false),
            )
            .with(SkippedField(Arc::clone(&self.skipped)))
            .with(LevelFilter::INFO)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    /// The `skipped` values recorded on spans named `span`.
    fn skipped(&self, span: &str) -> Vec<u64> {
        self.skipped
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _)| name == span)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The warnings of `text` that name an unreadable value of `table` for `operation`;
/// each must name rowid, column and problem.
fn warnings<'t>(text: &'t str, operation: &str, table: &str) -> Vec<&'t str> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("cannot read exactly"))
        .collect();
    for line in &lines {
        assert!(
            line.contains(&format!("operation=\"{operation}\"")),
            "{line}"
        );
        assert!(line.contains(&format!("table=\"{table}\"")), "{line}");
        assert!(line.contains("rowid="), "{line}");
        assert!(line.contains("column="), "{line}");
        assert!(line.contains("problem="), "{line}");
    }
    lines
}

// ---- Locks -------------------------------------------------------------------

/// Locks: `alpha` dead and `beta` live through the API; `gamma` pid `'three'`,
/// `delta` pid 2.5, `eps` a BLOB pid, `zeta` this process's pid with the start time
/// `'yesterday'`, through a raw connection.
async fn lock_file() -> (tempfile::TempDir, std::path::PathBuf, Database) {
    let bad = format!(
        "INSERT INTO skill_locks (skill_name, instance_id, pid)
             VALUES ('gamma', 'inst-g', 'three'), ('delta', 'inst-d', 2.5),
                    ('eps', 'inst-e', x'01'), ('zeta', 'inst-z', {me});
         UPDATE skill_locks SET pid_started_at = 'yesterday' WHERE skill_name = 'zeta';",
        me = me()
    );
    file_with(
        &["alpha", "beta", "gamma", "delta", "eps", "zeta"],
        async |db: &Database| {
            let mut conn = db.write().await.expect("writer");
            locks::acquire_skill_lock(&mut conn, "alpha", &"inst-a".into(), DEAD)
                .await
                .expect("dead lock");
            locks::acquire_skill_lock(&mut conn, "beta", &"inst-b".into(), me())
                .await
                .expect("live lock");
        },
        &bad,
    )
    .await
}

#[tokio::test]
async fn reclaim_leaves_locks_with_an_unreadable_pid_in_place() {
    let (_dir, _path, db) = lock_file().await;
    let capture = Capture::default();
    // The test runtime is current-thread: the call runs on this thread.
    let guard = tracing::subscriber::set_default(capture.subscriber());
    let reclaimed = {
        let mut conn = db.write().await.expect("writer");
        locks::reclaim_dead_locks(&mut conn).await.expect("reclaim")
    };
    drop(guard);
    let text = capture.text();
    println!("{text}");
    assert_eq!(reclaimed, 1, "only the readable dead lock (alpha)");
    assert_eq!(
        texts(
            &db,
            "SELECT skill_name FROM skill_locks ORDER BY skill_name"
        )
        .await,
        ["beta", "delta", "eps", "gamma", "zeta"],
        "'three', 2.5, a BLOB pid and a text start time are not read as a dead holder"
    );
    let warned = warnings(&text, "reclaim_dead_locks", "skill_locks");
    assert_eq!(
        warned.len(),
        4,
        "one warning per lock left in place:\n{text}"
    );
    for (column, problem) in [
        ("pid", "holds a text value, the schema says INTEGER"),
        ("pid", "holds a real value, the schema says INTEGER"),
        ("pid", "holds a blob value, the schema says INTEGER"),
        (
            "pid_started_at",
            "holds a text value, the schema says INTEGER",
        ),
    ] {
        assert!(
            warned
                .iter()
                .any(|l| l.contains(&format!("column=\"{column}\""))
                    && l.contains(&format!("problem={problem}"))),
            "no warning for {column}: {problem}:\n{text}"
        );
    }
    assert_eq!(
        capture.skipped("reclaim_dead_locks"),
        [4],
        "the span's skipped"
    );
    db.close().await;
}

// ---- Sessions ----------------------------------------------------------------

/// Open sessions: `s-dead` (alpha, dead pid) and `s-live` (beta, this process)
/// through the API; `s-three` (gamma, pid `'three'`), `s-half` (half, pid 2.5),
/// `s-when` (delta, this process's pid with the start time `'yesterday'`) and an
/// ended `s-old` (eps, pid `'three'`) through a raw connection.
async fn session_file() -> (tempfile::TempDir, std::path::PathBuf, Database) {
    let bad = format!(
        "INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id)
             SELECT 's-three', 'gamma', 'three', id FROM skills WHERE name = 'gamma';
         INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id)
             SELECT 's-half', 'half', 2.5, id FROM skills WHERE name = 'half';
         INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id, pid_started_at)
             SELECT 's-when', 'delta', {me}, id, 'yesterday' FROM skills WHERE name = 'delta';
         INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id, ended_at)
             SELECT 's-old', 'eps', 'three', id, '2026-01-01T00:00:00Z'
             FROM skills WHERE name = 'eps';",
        me = me()
    );
    file_with(
        &["alpha", "beta", "gamma", "half", "delta", "eps"],
        async |db: &Database| {
            sessions::create_workflow_session(
                &mut db.write().await.expect("writer"),
                &"s-dead".into(),
                "alpha",
                DEAD,
            )
            .await
            .expect("dead session");
            sessions::create_workflow_session(
                &mut db.write().await.expect("writer"),
                &"s-live".into(),
                "beta",
                me(),
            )
            .await
            .expect("live session");
        },
        &bad,
    )
    .await
}

#[tokio::test]
async fn reconcile_leaves_sessions_with_an_unreadable_pid_open() {
    let (_dir, _path, db) = session_file().await;
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.subscriber());
    let closed = {
        let mut conn = db.write().await.expect("writer");
        sessions::reconcile_orphaned_sessions(&mut conn)
            .await
            .expect("reconcile")
    };
    drop(guard);
    let text = capture.text();
    println!("{text}");
    assert_eq!(closed, 1, "only the readable dead session (s-dead)");
    assert_eq!(
        texts(
            &db,
            "SELECT session_id FROM workflow_sessions WHERE ended_at IS NULL ORDER BY session_id"
        )
        .await,
        ["s-half", "s-live", "s-three", "s-when"],
        "'three', 2.5 and a text start time are not read as a dead process"
    );
    let warned = warnings(&text, "reconcile_orphaned_sessions", "workflow_sessions");
    assert_eq!(
        warned.len(),
        3,
        "one warning per session left open:\n{text}"
    );
    assert_eq!(
        capture.skipped("reconcile_orphaned_sessions"),
        [3],
        "the span's skipped"
    );
    db.close().await;
}

// ---- Single-row reads of writes ---------------------------------------------

/// `(skill_name, is_active, disk_path)` of every workspace skill, by name, as stored.
async fn workspace_rows(db: &Database) -> Vec<String> {
    texts(
        db,
        "SELECT skill_name || ':' || quote(is_active) || ':' || disk_path
         FROM workspace_skills ORDER BY skill_name",
    )
    .await
}

/// Writes never decide by an unreadable value. Values a write decides by in Rust are
/// read as `Checked<T>` (the value or its problem, without failing the row):
/// `reclaim_dead_locks` and `reconcile_orphaned_sessions` leave a lock or session whose
/// `pid`/`pid_started_at` cannot be read in place (warned, counted in `skipped`);
/// `has_active_session_with_live_pid` counts it as live; `acquire_skill_lock` fails
/// with `Error::Malformed` instead of taking it over (only a text `instance_id` is the
/// caller's own); `get_purpose`, the hash-info reads, the purpose and holders of
/// `activate_workspace_skill_exclusive` (here) and the `is_active` of
/// `set_workspace_skill_purpose` fail with `Error::Malformed`, writing nothing.
///
/// Where SQL decides, the statement keeps a `typeof` test with a `-- why` comment: the
/// rewinds `reset_workflow_steps_from` and `delete_artifacts_from_step` leave rows
/// whose `step_id` is not an integer (SQLite ranks text and BLOBs above every number);
/// the upserts of a workspace skill keep a non-integer `is_active` and fail with
/// `Error::Malformed`; `persist_agent_run` lets no `running`/`shutdown` snapshot
/// overwrite a non-text `status`; `reconcile_orphaned_sessions` ends a session at a
/// text time only. The usage reports leave out agent rows whose step, model, session id
/// or cost cannot be read.
#[tokio::test]
async fn activation_is_never_decided_from_a_substituted_value() {
    let (_dir, _path, db) = file_with(
        &[],
        async |db: &Database| {
            for (name, active) in [("holder", true), ("blobby", false), ("target", false)] {
                let mut skill = WorkspaceSkill::new(
                    WorkspaceSkillId::from(format!("{name}-id").as_str()),
                    name,
                    format!("/ws/{name}"),
                    "2026-01-31T12:00:00Z",
                );
                skill.purpose = Some("research".into());
                skill.is_active = active;
                workspace_skills::insert_workspace_skill(
                    &mut db.write().await.expect("writer"),
                    &skill,
                )
                .await
                .expect("workspace skill");
            }
            let mut yes = WorkspaceSkill::new(
                WorkspaceSkillId::from("yes-id"),
                "yes",
                "/ws/yes",
                "2026-01-31T12:00:00Z",
            );
            yes.is_active = false;
            workspace_skills::insert_workspace_skill(&mut db.write().await.expect("writer"), &yes)
                .await
                .expect("workspace skill");
        },
        "UPDATE workspace_skills SET purpose = CAST('research' AS BLOB)
             WHERE skill_name = 'blobby';
         UPDATE workspace_skills SET is_active = 'yes' WHERE skill_name = 'yes';",
    )
    .await;
    let before = workspace_rows(&db).await;
    assert_eq!(
        before,
        [
            "blobby:0:/ws/blobby",
            "holder:1:/ws/holder",
            "target:0:/ws/target",
            "yes:'yes':/ws/yes"
        ]
    );
    let mut conn = db.write().await.expect("writer");
    // The skill's own purpose is a BLOB: not read as the text 'research'.
    assert_eq!(
        malformed(
            workspace_skills::activate_workspace_skill_exclusive(
                &mut conn,
                &"blobby-id".into(),
                "/ws/on/blobby",
                |o| format!("/ws/off/{}", o.skill_name),
            )
            .await
        ),
        (
            "workspace_skills",
            "blobby-id".into(),
            "purpose".into(),
            class("blob", "TEXT")
        )
    );
    // `'yes'` in `is_active`: not a number, so not "inactive".
    assert_eq!(
        malformed(
            workspace_skills::set_workspace_skill_purpose(
                &mut conn,
                &"yes-id".into(),
                Some("research")
            )
            .await
        ),
        (
            "workspace_skills",
            "yes-id".into(),
            "is_active".into(),
            class("text", "INTEGER")
        )
    );
    drop(conn);
    assert_eq!(workspace_rows(&db).await, before, "nothing written");
    // A holder of the purpose that cannot be returned as stored.
    sqlx::query("UPDATE workspace_skills SET is_active = 'on' WHERE skill_name = 'holder'")
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("raw update");
    let mut conn = db.write().await.expect("writer");
    assert_eq!(
        malformed(
            workspace_skills::activate_workspace_skill_exclusive(
                &mut conn,
                &"target-id".into(),
                "/ws/on/target",
                |o| format!("/ws/off/{}", o.skill_name),
            )
            .await
        ),
        (
            "workspace_skills",
            "holder-id".into(),
            "is_active".into(),
            class("text", "INTEGER")
        ),
        "the holder's 'on' is not read as false"
    );
    drop(conn);
    assert_eq!(
        workspace_rows(&db).await,
        [
            "blobby:0:/ws/blobby",
            "holder:'on':/ws/holder",
            "target:0:/ws/target",
            "yes:'yes':/ws/yes"
        ],
        "nothing written"
    );
    // Once the holder is readable again, the activation works as before.
    sqlx::query("UPDATE workspace_skills SET is_active = 1 WHERE skill_name = 'holder'")
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("raw update");
    let mut conn = db.write().await.expect("writer");
    let moved = workspace_skills::activate_workspace_skill_exclusive(
        &mut conn,
        &"target-id".into(),
        "/ws/on/target",
        |o| format!("/ws/off/{}", o.skill_name),
    )
    .await
    .expect("activate");
    drop(conn);
    assert_eq!(
        moved
            .iter()
            .map(|o| o.skill_name.as_str())
            .collect::<Vec<_>>(),
        ["holder"]
    );
    assert_eq!(
        workspace_rows(&db).await,
        [
            "blobby:0:/ws/blobby",
            "holder:0:/ws/off/holder",
            "target:1:/ws/on/target",
            "yes:'yes':/ws/yes"
        ]
    );
    db.close().await;
}
