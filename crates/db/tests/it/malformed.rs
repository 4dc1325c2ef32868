#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Values the schema does not describe × every operation class (issue 21).
//!
//! One table: each case is a bad value ([`Bad`]) in one column of one table
//! ([`Target`]), written by a raw connection beside good rows written by the API.
//! Every case runs every operation class that applies to it:
//!
//! - **list**: returns exactly the good rows (the bad one skipped, never substituted);
//! - **single**: a single-row read fails with `Error::Malformed` naming table, key,
//!   column and problem;
//! - **write**: a write that would decide by the value refuses (`Error::Malformed`) or
//!   leaves the row byte-for-byte as it was;
//! - **check**: `skill_builder_app::check` lists the value with table, rowid, column;
//! - **upgrade**: a file one step behind, holding the value, upgrades and keeps it
//!   (or the repair pass converts it, for a BLOB holding valid UTF-8 in a TEXT column).
//!
//! What needs the CLI binary (its exit codes and output) or a `tracing` capture stays
//! in the workspace's `tests/malformed.rs`.

use crate::common;

use std::path::Path;

use skill_builder_app::{Database, OpenOptions};
use skill_builder_db::malformed::{MalformedRow, ValueProblem};
use skill_builder_db::model::{
    AgentId, AgentRunStatus, AppSettings, ImportedSkill, ImportedSkillId, InstanceId, NewAgentRun,
    SkillSource, StepStatus, WorkflowRunStatus, WorkflowSessionId, WorkspaceSkill,
    WorkspaceSkillId,
};
use skill_builder_db::{
    Error, agent_runs, artifacts, imported_skills, locks, sessions, settings, skills, tags,
    workflow_runs, workflow_steps, workspace_skills,
};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// A value another tool wrote that the typed API cannot read exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// `'1.2k'` in an INTEGER column.
    TextInInteger,
    /// 2.5 in an INTEGER column.
    RealInInteger,
    /// A BLOB in an INTEGER column.
    BlobInInteger,
    /// A BLOB that is not UTF-8 in a TEXT column.
    BlobInText,
    /// A BLOB holding valid UTF-8 in a TEXT column: the repair pass converts it.
    Utf8Blob,
    /// Text whose bytes are not UTF-8.
    InvalidUtf8,
    /// NULL in a text primary key.
    NullKey,
}

use Bad::{
    BlobInInteger, BlobInText, InvalidUtf8, NullKey, RealInInteger, TextInInteger, Utf8Blob,
};

const INTEGER: &[Bad] = &[TextInInteger, RealInInteger, BlobInInteger];
const TEXT: &[Bad] = &[BlobInText, Utf8Blob, InvalidUtf8];

impl Bad {
    fn sql(self) -> &'static str {
        match self {
            TextInInteger => "'1.2k'",
            RealInInteger => "2.5",
            BlobInInteger => "x'04'",
            BlobInText => "x'ff00'",
            Utf8Blob => "CAST('from-blob' AS BLOB)",
            InvalidUtf8 => "CAST(x'67ff' AS TEXT)",
            NullKey => "NULL",
        }
    }

    fn problem(self) -> ValueProblem {
        let class = |found: &str, declared: &str| ValueProblem::StorageClass {
            found: found.into(),
            declared: declared.into(),
        };
        match self {
            TextInInteger => class("text", "INTEGER"),
            RealInInteger => class("real", "INTEGER"),
            BlobInInteger => class("blob", "INTEGER"),
            BlobInText | Utf8Blob => class("blob", "TEXT"),
            InvalidUtf8 => ValueProblem::InvalidUtf8,
            NullKey => ValueProblem::NullKey,
        }
    }
}

/// The table a case writes its bad row to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Artifacts,
    Steps,
    Runs,
    AgentRuns,
    Locks,
    Sessions,
    WorkspaceSkills,
    ImportedSkills,
    Skills,
    Tags,
    Settings,
}

impl Target {
    fn table(self) -> &'static str {
        match self {
            Self::Artifacts => "workflow_artifacts",
            Self::Steps => "workflow_steps",
            Self::Runs => "workflow_runs",
            Self::AgentRuns => "agent_runs",
            Self::Locks => "skill_locks",
            Self::Sessions => "workflow_sessions",
            Self::WorkspaceSkills => "workspace_skills",
            Self::ImportedSkills => "imported_skills",
            Self::Skills => "skills",
            Self::Tags => "skill_tags",
            Self::Settings => "settings",
        }
    }

    /// The bad row's columns with good values; the case's column gets the bad one.
    fn columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Artifacts => &[
                ("skill_name", "'good'"),
                ("step_id", "2"),
                ("relative_path", "'bad.md'"),
                ("content", "'x'"),
                ("size_bytes", "1"),
            ],
            Self::Steps => &[
                ("skill_name", "'good'"),
                ("step_id", "3"),
                ("status", "'pending'"),
            ],
            Self::Runs => &[
                ("skill_name", "'bad'"),
                ("current_step", "0"),
                ("status", "'pending'"),
                ("purpose", "'domain'"),
            ],
            Self::AgentRuns => &[
                ("agent_id", "'agent-bad'"),
                ("skill_name", "'good'"),
                ("step_id", "0"),
                ("model", "'sonnet'"),
                ("status", "'completed'"),
                ("workflow_session_id", "'ws-good'"),
                ("input_tokens", "1"),
                ("stop_reason", "'end_turn'"),
                ("started_at", "'2026-01-01 00:00:00Z'"),
            ],
            Self::Locks => &[
                ("skill_name", "'badlock'"),
                ("instance_id", "'other-instance'"),
                ("pid", "1"),
                ("pid_started_at", "NULL"),
                ("skill_id", "(SELECT id FROM skills WHERE name = 'badlock')"),
            ],
            Self::Sessions => &[
                ("session_id", "'ws-bad'"),
                ("skill_name", "'good'"),
                ("pid", "1"),
                ("pid_started_at", "NULL"),
                ("skill_id", "(SELECT id FROM skills WHERE name = 'good')"),
            ],
            Self::WorkspaceSkills => &[
                ("skill_id", "'wsb'"),
                ("skill_name", "'ws-bad'"),
                ("is_active", "1"),
                ("disk_path", "'/ws/bad'"),
                ("purpose", "'p-bad'"),
            ],
            Self::ImportedSkills => &[
                ("skill_id", "'imp-bad-id'"),
                ("skill_name", "'imp-bad'"),
                ("is_active", "1"),
                ("disk_path", "'/imp/bad'"),
            ],
            Self::Skills => &[
                ("name", "'bad-skill'"),
                ("skill_source", "'imported'"),
                ("user_invocable", "1"),
            ],
            Self::Tags => &[
                ("skill_name", "'good'"),
                ("tag", "'bad-tag'"),
                ("skill_id", "(SELECT id FROM skills WHERE name = 'good')"),
            ],
            Self::Settings => &[("key", "'app_settings'"), ("value", "'{}'")],
        }
    }

    /// The columns of the bad row with `column` bad: a NULL default is left out (the
    /// column may not exist in an older file).
    fn written(self, column: &str) -> Vec<&'static (&'static str, &'static str)> {
        let cols = self.columns();
        assert!(
            cols.iter().any(|(c, _)| *c == column),
            "{self:?} has no {column}"
        );
        cols.iter()
            .filter(|(c, v)| *c == column || *v != "NULL")
            .collect()
    }

    /// The statement writing the bad row, `column` holding `bad`.
    fn insert(self, column: &str, bad: Bad) -> String {
        let cols = self.written(column);
        let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        let values: Vec<&str> = cols
            .iter()
            .map(|(c, v)| if *c == column { bad.sql() } else { *v })
            .collect();
        format!(
            "INSERT OR REPLACE INTO {} ({}) VALUES ({})",
            self.table(),
            names.join(", "),
            values.join(", ")
        )
    }
}

/// One row of the table: a bad value in a column, and which classes apply.
struct Case {
    target: Target,
    column: &'static str,
    bad: &'static [Bad],
    /// The key a single-row read names (`None`: no single-row read finds the row,
    /// e.g. the bad value is its key).
    key: Option<&'static str>,
    /// A write that meets the value (see [`write`]).
    write: bool,
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { target: Target::Artifacts, column: "step_id", bad: INTEGER, key: None, write: true },
    Case { target: Target::Artifacts, column: "size_bytes", bad: INTEGER, key: Some("good/2/bad.md"), write: false },
    Case { target: Target::Artifacts, column: "relative_path", bad: TEXT, key: None, write: false },
    Case { target: Target::Steps, column: "step_id", bad: INTEGER, key: None, write: true },
    Case { target: Target::Steps, column: "status", bad: TEXT, key: None, write: false },
    Case { target: Target::Runs, column: "current_step", bad: INTEGER, key: Some("bad"), write: false },
    Case { target: Target::Runs, column: "purpose", bad: TEXT, key: Some("bad"), write: true },
    Case { target: Target::AgentRuns, column: "input_tokens", bad: INTEGER, key: None, write: false },
    Case { target: Target::AgentRuns, column: "stop_reason", bad: TEXT, key: None, write: false },
    Case { target: Target::AgentRuns, column: "status", bad: &[BlobInText, Utf8Blob], key: None, write: true },
    Case { target: Target::Locks, column: "pid", bad: INTEGER, key: Some("badlock"), write: true },
    Case { target: Target::Locks, column: "pid_started_at", bad: INTEGER, key: None, write: true },
    Case { target: Target::Locks, column: "instance_id", bad: TEXT, key: Some("badlock"), write: false },
    Case { target: Target::Locks, column: "skill_name", bad: &[NullKey], key: Some("badlock"), write: false },
    Case { target: Target::Sessions, column: "pid", bad: INTEGER, key: Some("ws-bad"), write: true },
    Case { target: Target::Sessions, column: "pid_started_at", bad: INTEGER, key: None, write: true },
    Case { target: Target::Sessions, column: "session_id", bad: &[NullKey], key: None, write: false },
    Case { target: Target::WorkspaceSkills, column: "is_active", bad: INTEGER, key: Some("ws-bad"), write: true },
    Case { target: Target::WorkspaceSkills, column: "disk_path", bad: TEXT, key: Some("ws-bad"), write: true },
    Case { target: Target::WorkspaceSkills, column: "skill_id", bad: &[NullKey], key: Some("ws-bad"), write: false },
    Case { target: Target::ImportedSkills, column: "is_active", bad: INTEGER, key: Some("imp-bad"), write: false },
    Case { target: Target::ImportedSkills, column: "disk_path", bad: TEXT, key: Some("imp-bad"), write: true },
    Case { target: Target::ImportedSkills, column: "skill_id", bad: &[NullKey], key: Some("imp-bad"), write: false },
    Case { target: Target::Skills, column: "name", bad: TEXT, key: None, write: false },
    Case { target: Target::Skills, column: "user_invocable", bad: INTEGER, key: None, write: false },
    Case { target: Target::Tags, column: "tag", bad: TEXT, key: None, write: false },
    Case { target: Target::Settings, column: "value", bad: &[BlobInText, InvalidUtf8], key: Some("app_settings"), write: false },
];

fn me() -> i64 {
    i64::from(std::process::id())
}

async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(false),
    )
    .await
    .expect("raw connection")
}

/// A fresh database holding the good rows ([`seed`]): a copy of one migrated and
/// seeded file made once per test binary (copying a file is ~50× cheaper than
/// migrating a new one, and every case needs one).
async fn seeded() -> common::TestDb {
    static TEMPLATE: tokio::sync::OnceCell<(tempfile::TempDir, std::path::PathBuf)> =
        tokio::sync::OnceCell::const_new();
    let (_, template) = TEMPLATE
        .get_or_init(|| async {
            let t = common::open_temp().await;
            seed(&t.db).await;
            let path = t.dir.path().join("skill-builder.db");
            t.db.close().await;
            (t.dir, path)
        })
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("skill-builder.db");
    std::fs::copy(template, &path).expect("copy the seeded file");
    let db = Database::open(&path).await.expect("open the copy");
    common::TestDb { dir, db }
}

/// The good rows, through the API.
async fn seed(db: &Database) {
    let mut conn = db.write().await.expect("writer");
    for name in ["good", "badlock"] {
        skills::upsert_skill(&mut conn, name, &SkillSource::SkillBuilder, Some("domain"))
            .await
            .expect("skill");
    }
    tags::set_skill_tags(&mut conn, "good", &["good-tag"])
        .await
        .expect("tags");
    workflow_runs::save_workflow_run(&mut conn, "good", 0, &WorkflowRunStatus::Pending, "domain")
        .await
        .expect("run");
    workflow_steps::save_workflow_step(&mut conn, "good", 0, &StepStatus::Completed)
        .await
        .expect("step");
    artifacts::upsert_artifact(&mut conn, "good", 0, "a.md", "# A")
        .await
        .expect("artifact");
    let ws = WorkflowSessionId::from("ws-good");
    sessions::create_workflow_session(&mut conn, &ws, "good", me())
        .await
        .expect("session");
    agent_runs::persist_agent_run(
        &mut conn,
        &agent_run("agent-good", AgentRunStatus::Completed),
    )
    .await
    .expect("agent run");
    sessions::end_workflow_session(&mut conn, &ws)
        .await
        .expect("end session");
    locks::acquire_skill_lock(&mut conn, "good", &InstanceId::from("me"), me())
        .await
        .expect("lock");
    let skill = WorkspaceSkill::new(
        WorkspaceSkillId::from("wsg"),
        "ws-good",
        "/ws/good",
        "2026-01-31 12:00:00Z",
    );
    workspace_skills::upsert_workspace_skill(&mut conn, &skill)
        .await
        .expect("workspace skill");
    let imported = ImportedSkill::new(
        ImportedSkillId::from("imp-good-id"),
        "imp-good",
        "/nonexistent/imp-good",
        "2026-01-31 12:00:00Z",
    );
    imported_skills::upsert_imported_skill(&mut conn, &imported)
        .await
        .expect("imported skill");
    settings::write_settings(&mut conn, &AppSettings::default())
        .await
        .expect("settings");
}

fn agent_run(id: &str, status: AgentRunStatus) -> NewAgentRun {
    NewAgentRun {
        agent_id: AgentId::from(id),
        skill_name: "good".into(),
        step_id: 0,
        model: "sonnet".into(),
        status,
        input_tokens: 1,
        output_tokens: 1,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        total_cost: 0.5,
        duration_ms: 1,
        num_turns: 1,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: Some(WorkflowSessionId::from("ws-good")),
        workflow_run_id: None,
    }
}

/// What the list operations of `target` that read `column` return, one line per row.
async fn list(target: Target, column: &str, db: &Database) -> Vec<String> {
    let mut r = db.read().await.expect("reader");
    match target {
        Target::Artifacts => artifacts::list_artifacts(&mut r, "good", None)
            .await
            .expect("list")
            .into_iter()
            .map(|a| format!("{}/{}/{}", a.step_id, a.relative_path, a.size_bytes))
            .collect(),
        Target::Steps => workflow_steps::get_workflow_steps(&mut r, "good")
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.step_id.to_string())
            .collect(),
        Target::Runs => workflow_runs::list_all_workflow_runs(&mut r)
            .await
            .expect("list")
            .into_iter()
            .map(|w| w.skill_name)
            .collect(),
        Target::AgentRuns => {
            let mut ids: Vec<String> =
                agent_runs::get_session_agent_runs(&mut r, &"ws-good".into())
                    .await
                    .expect("list")
                    .into_iter()
                    .map(|a| a.agent_id.into_inner())
                    .collect();
            let step = agent_runs::get_step_agent_runs(&mut r, "good", 0)
                .await
                .expect("list");
            ids.extend(step.into_iter().map(|a| format!("step {}", a.agent_id)));
            ids
        }
        Target::Locks => locks::get_all_skill_locks(&mut r)
            .await
            .expect("list")
            .into_iter()
            .map(|l| l.skill_name)
            .collect(),
        // No list of this layer's own reads sessions (the usage screen's are issue 20's).
        Target::Sessions => Vec::new(),
        Target::WorkspaceSkills => {
            let all = workspace_skills::list_workspace_skills(&mut r)
                .await
                .expect("list");
            let active = workspace_skills::list_active_workspace_skills(&mut r)
                .await
                .expect("list");
            all.into_iter()
                .map(|s| s.skill_name)
                .chain(
                    active
                        .into_iter()
                        .map(|s| format!("active {}", s.skill_name)),
                )
                .collect()
        }
        Target::ImportedSkills => imported_skills::list_active_skills(&mut r)
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.skill_name)
            .collect(),
        Target::Skills => {
            // The dashboard reads the names only.
            let names = if column == "name" {
                skills::get_dashboard_skill_names(&mut r)
                    .await
                    .expect("list")
            } else {
                Vec::new()
            };
            let all = skills::list_all_skills(&mut r).await.expect("list");
            names
                .into_iter()
                .chain(all.into_iter().map(|s| format!("catalogue {}", s.name)))
                .collect()
        }
        Target::Tags => tags::get_all_tags(&mut r).await.expect("list"),
        Target::Settings => Vec::new(),
    }
}

/// The single-row read of `target` by `key`.
async fn single(target: Target, key: &str, db: &Database) -> skill_builder_db::Result<bool> {
    let mut r = db.read().await.expect("reader");
    match target {
        Target::Artifacts => {
            let mut parts = key.splitn(3, '/');
            let (name, step, path) = (
                parts.next().expect("name"),
                parts.next().expect("step").parse().expect("step"),
                parts.next().expect("path"),
            );
            artifacts::get_artifact(&mut r, name, step, path)
                .await
                .map(|a| a.is_some())
        }
        Target::Runs => workflow_runs::get_workflow_run(&mut r, key)
            .await
            .map(|w| w.is_some()),
        Target::Locks => locks::get_skill_lock(&mut r, key)
            .await
            .map(|l| l.is_some()),
        Target::Sessions => sessions::get_workflow_session(&mut r, &key.into())
            .await
            .map(|s| s.is_some()),
        Target::WorkspaceSkills => workspace_skills::get_workspace_skill_by_name(&mut r, key)
            .await
            .map(|s| s.is_some()),
        Target::ImportedSkills => imported_skills::get_imported_skill(&mut r, key)
            .await
            .map(|s| s.is_some()),
        Target::Settings => settings::read_settings(&mut r).await.map(|_| true),
        other => panic!("no single-row read for {other:?}"),
    }
}

/// The write of the case that meets the bad value: `Err` when it refuses.
async fn write(target: Target, column: &str, db: &Database) -> skill_builder_db::Result<()> {
    let mut conn = db.write().await.expect("writer");
    match (target, column) {
        // Rewinds: SQLite ranks text above every step; the row is never deleted/reset.
        (Target::Artifacts, "step_id") => {
            artifacts::delete_artifacts_from_step(&mut conn, "good", 0)
                .await
                .map(drop)
        }
        (Target::Steps, "step_id") => {
            workflow_steps::reset_workflow_steps_from(&mut conn, "good", 0)
                .await
                .map(drop)
        }
        (Target::Runs, "purpose") => workflow_runs::get_purpose(&mut conn, "bad").await.map(drop),
        // A snapshot never overwrites a row whose status is not text.
        (Target::AgentRuns, "status") => {
            for status in [AgentRunStatus::Running, AgentRunStatus::Shutdown] {
                let mut run = agent_run("agent-bad", status);
                run.input_tokens = 99;
                agent_runs::persist_agent_run(&mut conn, &run).await?;
            }
            Ok(())
        }
        // The sweep leaves the lock; acquiring the skill refuses.
        (Target::Locks, "pid" | "pid_started_at") => {
            let reclaimed = locks::reclaim_dead_locks(&mut conn).await?;
            assert_eq!(
                reclaimed, 0,
                "only the good lock (held by this process) exists"
            );
            locks::acquire_skill_lock(&mut conn, "badlock", &InstanceId::from("me"), me()).await
        }
        // The sweep leaves the session open; it counts as live.
        (Target::Sessions, "pid" | "pid_started_at") => {
            assert_eq!(sessions::reconcile_orphaned_sessions(&mut conn).await?, 0);
            assert!(sessions::has_active_session_with_live_pid(&mut conn, "good").await);
            Ok(())
        }
        (Target::WorkspaceSkills, "is_active") => {
            workspace_skills::set_workspace_skill_purpose(&mut conn, &"wsb".into(), Some("q"))
                .await
                .map(drop)
        }
        (Target::WorkspaceSkills, "disk_path") => {
            workspace_skills::get_workspace_skill_hash_info(&mut conn, "ws-bad")
                .await
                .map(drop)
        }
        (Target::ImportedSkills, "disk_path") => {
            imported_skills::get_imported_skill_hash_info(&mut conn, "imp-bad")
                .await
                .map(drop)
        }
        other => panic!("no write for {other:?}"),
    }
}

/// The key a refusing write names; `None` for a write that leaves the row alone and
/// succeeds.
fn write_refusal_key(target: Target, column: &str) -> Option<&'static str> {
    match (target, column) {
        (Target::Artifacts | Target::Steps, "step_id")
        | (Target::AgentRuns, "status")
        | (Target::Sessions, _) => None,
        (Target::WorkspaceSkills, "is_active") => Some("wsb"),
        (Target::Runs, _) => Some("bad"),
        (Target::Locks, _) => Some("badlock"),
        (Target::WorkspaceSkills, _) => Some("ws-bad"),
        (Target::ImportedSkills, _) => Some("imp-bad"),
        other => panic!("no write for {other:?}"),
    }
}

/// The bad row as stored: every column's class and bytes.
async fn stored(
    conn: &mut SqliteConnection,
    target: Target,
    column: &str,
    rowid: i64,
) -> Option<String> {
    let cols: Vec<String> = target
        .written(column)
        .iter()
        .map(|(c, _)| format!("typeof({c}) || ':' || hex(CAST({c} AS BLOB))"))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE rowid = ?",
        cols.join(" || ' ' || "),
        target.table()
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(rowid)
        .fetch_optional(conn)
        .await
        .expect("stored row")
}

/// Write the bad row of `case` with `bad` through a raw connection; its rowid.
async fn write_bad(path: &Path, target: Target, column: &str, bad: Bad) -> i64 {
    let mut conn = raw(path).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(target.insert(column, bad)))
        .execute(&mut conn)
        .await
        .expect("bad row");
    let rowid: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
        .fetch_one(&mut conn)
        .await
        .expect("rowid");
    conn.close().await.expect("close");
    rowid
}

fn expect_malformed<T: std::fmt::Debug>(
    result: skill_builder_db::Result<T>,
    table: &str,
    key: &str,
    column: &str,
    bad: Bad,
    what: &str,
) {
    match result {
        Err(Error::Malformed(MalformedRow {
            table: t,
            key: k,
            column: c,
            problem,
        })) => {
            assert_eq!((t, k.as_str(), c.as_str()), (table, key, column), "{what}");
            assert_eq!(problem, bad.problem(), "{what}");
        }
        other => panic!("{what}: expected Error::Malformed, got {other:?}"),
    }
}

/// List, single read, write and check of every case, on a current file.
///
/// The bad values: `'1.2k'`, 2.5 and a BLOB in `INTEGER` columns; a BLOB, a valid-UTF-8
/// BLOB and invalid UTF-8 in `TEXT` columns; NULL in text keys, × the columns of eleven
/// tables (71 cases; 65 upgrades in
/// `every_bad_value_survives_an_upgrade_or_is_repaired`). sqlx's unchecked decode would
/// read `'1.2k'` as 1, `'three'` as 0, 2.5 as 2 and NULL text as `""`; here such a
/// value is never substituted. It is met at one boundary, when a row is decoded
/// (`crates/db/src/malformed.rs`): queries read columns with wildcard overrides (`name
/// AS "name: _"`), which make sqlx check each value's storage class at run time
/// (`Row::try_get`), and the text ids and enums refuse NULL; a decode error is the only
/// signal, so healthy reads and writes pay nothing.
///
/// Lists skip such a row and return the others (`list_all_skills`,
/// `get_dashboard_skill_names`, `get_all_tags`, `get_tags_for_skills`,
/// `list_artifacts`, `list_artifacts_with_content`, `list_active_skills`,
/// `get_session_agent_runs`, `get_step_agent_runs`, `get_workflow_steps`,
/// `list_all_workflow_runs`, `get_all_skill_locks`, `list_workspace_skills`,
/// `list_active_workspace_skills`): one `tracing::warn!` per bad value names table,
/// rowid, column and problem, and the operation's span records `skipped` (the scan that
/// names them, from the file's own schema, runs only when a read met one). Single-row
/// reads (`get_artifact`, `get_imported_skill`, `get_workflow_run`,
/// `get_workflow_session`, `get_skill_lock`, `get_workspace_skill`, `…_by_name`,
/// `…_by_purpose`, `read_settings`) fail with `Error::Malformed { table, key, column,
/// problem }`.
#[tokio::test]
async fn every_bad_value_in_every_operation_class() {
    let mut ran = 0;
    for case in CASES {
        for &bad in case.bad {
            let what = format!("{:?}.{} = {bad:?}", case.target, case.column);
            let t = seeded().await;
            let path = t.dir.path().join("skill-builder.db");
            let good = list(case.target, case.column, &t.db).await;
            let no_list = matches!(case.target, Target::Sessions | Target::Settings);
            assert_eq!(
                good.is_empty(),
                no_list,
                "the good rows of {what}: {good:?}"
            );
            let rowid = write_bad(&path, case.target, case.column, bad).await;

            // list: exactly the good rows (the lock list does not read
            // `pid_started_at`, so it returns that row as it is).
            let mut good = good;
            if (case.target, case.column) == (Target::Locks, "pid_started_at") {
                good.insert(0, "badlock".to_owned());
            }
            assert_eq!(
                list(case.target, case.column, &t.db).await,
                good,
                "list: {what}"
            );

            // single: Error::Malformed naming table, key and column.
            if let Some(key) = case.key {
                expect_malformed(
                    single(case.target, key, &t.db).await,
                    case.target.table(),
                    key,
                    case.column,
                    bad,
                    &format!("single: {what}"),
                );
            }

            // write: refused, or the row left as it is.
            if case.write {
                let mut conn = raw(&path).await;
                let before = stored(&mut conn, case.target, case.column, rowid).await;
                let result = write(case.target, case.column, &t.db).await;
                if let Some(key) = write_refusal_key(case.target, case.column) {
                    expect_malformed(
                        result,
                        case.target.table(),
                        key,
                        case.column,
                        bad,
                        &format!("write: {what}"),
                    );
                } else {
                    result.unwrap_or_else(|e| panic!("write: {what}: {e}"));
                }
                let after = stored(&mut conn, case.target, case.column, rowid).await;
                assert!(before.is_some(), "write: {what}: the row exists");
                assert_eq!(after, before, "write: {what}: the row is untouched");
                conn.close().await.expect("close");
            }

            // check: listed with table, rowid and column.
            let report = skill_builder_app::check(&path).await.expect("check");
            let listed: Vec<_> = report
                .malformed
                .iter()
                .map(|b| (b.table.as_str(), b.rowid, b.column.as_str(), &b.problem))
                .collect();
            assert_eq!(
                listed,
                [(case.target.table(), rowid, case.column, &bad.problem())],
                "check: {what}"
            );
            if case.target == Target::AgentRuns && case.write {
                // A final persist replaces what a snapshot left.
                let run = agent_run("agent-bad", AgentRunStatus::Error);
                agent_runs::persist_agent_run(&mut t.conn().await, &run)
                    .await
                    .expect("final persist");
                let mut r = t.reader().await;
                let runs = agent_runs::get_session_agent_runs(&mut r, &"ws-good".into())
                    .await
                    .expect("list");
                assert!(
                    runs.iter().any(|a| a.agent_id.as_str() == "agent-bad"),
                    "{what}"
                );
            }
            t.db.close().await;
            ran += 1;
        }
    }
    assert_eq!(ran, CASES.iter().map(|c| c.bad.len()).sum::<usize>());
    println!("{ran} cases × list, single, write, check");
}

/// Upgrade: a file one step behind, holding the value, upgrades and keeps it, except
/// a BLOB holding valid UTF-8 in a TEXT column, which the repair pass turns into text.
#[tokio::test]
async fn every_bad_value_survives_an_upgrade_or_is_repaired() {
    // The step formerly numbered 30: the one before the write views.
    let behind = skill_builder_migrations::RENUMBERED[1].1;
    // `pid_started_at` is added by a later step (20261130110000).
    // One file one step behind with the context rows, copied for every case.
    let template_dir = tempfile::tempdir().expect("tempdir");
    let template = template_dir.path().join("behind.db");
    let db = Database::open_with(&template, &OpenOptions::new().target(behind))
        .await
        .expect("open one step behind");
    db.close().await;
    let mut conn = raw(&template).await;
    sqlx::raw_sql(
        "INSERT INTO skills (name, skill_source)
         VALUES ('good', 'skill-builder'), ('badlock', 'skill-builder')",
    )
    .execute(&mut conn)
    .await
    .expect("context rows");
    conn.close().await.expect("close");
    for case in CASES.iter().filter(|c| c.column != "pid_started_at") {
        for &bad in case.bad {
            let what = format!("{:?}.{} = {bad:?}", case.target, case.column);
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("skill-builder.db");
            std::fs::copy(&template, &path).expect("copy the file one step behind");
            let rowid = write_bad(&path, case.target, case.column, bad).await;
            let mut conn = raw(&path).await;
            let before = stored(&mut conn, case.target, case.column, rowid).await;
            conn.close().await.expect("close");

            let db = Database::open(&path).await.expect("upgrade");
            db.close().await;

            let mut conn = raw(&path).await;
            let after = stored(&mut conn, case.target, case.column, rowid).await;
            conn.close().await.expect("close");
            let report = skill_builder_app::check(&path).await.expect("check");
            if bad == Utf8Blob {
                let after = after.unwrap_or_default();
                assert!(
                    after.contains(&format!("text:{}", hex("from-blob"))),
                    "upgrade: {what}: repaired to text, got {after}"
                );
                assert!(report.malformed.is_empty(), "upgrade: {what}: {report:?}");
            } else {
                assert_eq!(after, before, "upgrade: {what}: kept as it was");
                assert_eq!(report.malformed.len(), 1, "upgrade: {what}: still listed");
            }
        }
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

/// The runtime check the design rests on: a wildcard override (`col AS "col: _"`)
/// makes the macros decode with `Row::try_get`, which compares the value's own
/// storage class with the Rust type; NULL passes it (hence the strict key types).
#[tokio::test]
async fn the_runtime_check_catches_each_storage_class() {
    use sqlx::Row;
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let row = sqlx::query("SELECT '1.2k', 2.5, x'4142', CAST(x'67ff' AS TEXT), NULL, 7, 'ok'")
        .fetch_one(&mut *conn)
        .await
        .expect("select");
    assert!(row.try_get::<i64, _>(0).is_err(), "text in an integer");
    assert!(row.try_get::<i64, _>(1).is_err(), "real in an integer");
    assert!(row.try_get::<bool, _>(0).is_err(), "text in a flag");
    assert!(row.try_get::<String, _>(2).is_err(), "blob in a text");
    assert!(row.try_get::<String, _>(3).is_err(), "invalid UTF-8");
    assert!(
        row.try_get::<Option<i64>, _>(0).is_err(),
        "text in an optional integer"
    );
    assert_eq!(row.try_get::<Option<i64>, _>(4).ok(), Some(None));
    assert_eq!(row.try_get::<i64, _>(5).ok(), Some(7));
    // What the unchecked decode (an exact override, `"col: i64"`) would substitute.
    assert_eq!(row.try_get_unchecked::<i64, _>(0).ok(), Some(1));
    // NULL passes the class check: a plain String reads "", a key type refuses.
    assert_eq!(row.try_get::<String, _>(4).ok().as_deref(), Some(""));
    assert!(row.try_get::<WorkspaceSkillId, _>(4).is_err(), "NULL key");
    assert!(row.try_get::<WorkspaceSkillId, _>(6).is_ok());
}
