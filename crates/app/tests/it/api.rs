//! The API a dependent app calls, used the way a Tauri backend uses it: every
//! operation awaited inside `tokio::spawn` (a `Send + 'static` future) on a
//! multi-thread runtime, on the writer, inside a transaction and (reads) on the
//! readers; the writer held twice by one task fails at once; errors serialize as
//! `{ kind, message }`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use skill_builder_app::db::model::{
    AgentId, AgentRunStatus, AppSettings, ImportedSkill, ImportedSkillId, InstanceId, NewAgentRun,
    SkillBehaviour, SkillSource, StepStatus, WorkflowRunStatus, WorkflowSessionId, WorkspaceSkill,
    WorkspaceSkillId,
};
use skill_builder_app::db::{
    Error, agent_runs, artifacts, imported_skills, installed, locks, rename, sessions, settings,
    skills, tags, usage, workflow_runs, workflow_steps, workspace_skills,
};
use skill_builder_app::{Database, OpenError, OpenOptions};

async fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("skill-builder.db"))
        .await
        .unwrap();
    (dir, db)
}

fn agent_run(skill: &str, session: &WorkflowSessionId) -> NewAgentRun {
    NewAgentRun {
        agent_id: AgentId::new_v4(),
        skill_name: skill.to_owned(),
        step_id: 1,
        model: "sonnet".to_owned(),
        status: AgentRunStatus::Completed,
        input_tokens: 10,
        output_tokens: 20,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        total_cost: 0.25,
        duration_ms: 1000,
        num_turns: 2,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: Some(session.clone()),
        workflow_run_id: None,
    }
}

/// Every write operation, then every read, on `$h` (an expression giving a handle:
/// `&mut conn`, `&mut *tx`), with names ending in `$sfx`. Each call must succeed.
macro_rules! every_operation {
    ($h:expr, $sfx:expr) => {{
        let sfx: &str = $sfx;
        let skill = format!("skill-{sfx}");
        let pid = i64::from(std::process::id());
        let me = InstanceId::new_v4();
        let session = WorkflowSessionId::new_v4();
        // skills, workflow runs and steps
        skills::upsert_skill($h, &skill, &SkillSource::SkillBuilder, Some("domain")).await?;
        skills::upsert_skill_with_source($h, &skill, &SkillSource::SkillBuilder, None).await?;
        workflow_runs::save_workflow_run($h, &skill, 0, &WorkflowRunStatus::InProgress, "domain")
            .await?;
        workflow_runs::save_marketplace_skill($h, &format!("market-{sfx}"), "domain").await?;
        workflow_runs::set_skill_author($h, &skill, "octocat", None).await?;
        workflow_runs::set_skill_display_name($h, &skill, Some("Skill")).await?;
        workflow_runs::set_skill_intake($h, &skill, Some("{}")).await?;
        workflow_runs::set_skill_behaviour($h, &skill, &SkillBehaviour::default()).await?;
        workflow_runs::set_skill_purpose($h, &skill, "domain").await?;
        workflow_steps::save_workflow_step($h, &skill, 0, &StepStatus::Completed).await?;
        artifacts::upsert_artifact($h, &skill, 0, "out.md", "# out").await?;
        tags::set_skill_tags($h, &skill, &["a", "b"]).await?;
        // locks and sessions
        locks::acquire_skill_lock($h, &skill, &me, pid).await?;
        sessions::create_workflow_session($h, &session, &skill, pid).await?;
        agent_runs::persist_agent_run($h, &agent_run(&skill, &session)).await?;
        // imported and workspace skills
        let imported = ImportedSkill::new(
            ImportedSkillId::new_v4(),
            format!("imported-{sfx}"),
            format!("/skills/imported-{sfx}"),
            "2026-01-01 00:00:00",
        );
        imported_skills::insert_imported_skill($h, &imported).await?;
        imported_skills::upsert_imported_skill($h, &imported).await?;
        imported_skills::update_imported_skill_active($h, &imported.skill_name, true, "/x").await?;
        imported_skills::set_imported_skill_content_hash($h, &imported.skill_name, "h").await?;
        let ws_id = WorkspaceSkillId::new_v4();
        let mut ws = WorkspaceSkill::new(
            ws_id.clone(),
            format!("ws-{sfx}"),
            format!("/ws/{sfx}"),
            "2026-01-01 00:00:00",
        );
        ws.purpose = Some(format!("purpose-{sfx}"));
        workspace_skills::insert_workspace_skill($h, &ws).await?;
        workspace_skills::upsert_workspace_skill($h, &ws).await?;
        workspace_skills::upsert_bundled_workspace_skill($h, &ws).await?;
        workspace_skills::update_workspace_skill_active($h, &ws_id, true, "/ws/new").await?;
        workspace_skills::activate_workspace_skill_exclusive($h, &ws_id, "/ws/new", |s| {
            s.disk_path.clone()
        })
        .await?;
        workspace_skills::set_workspace_skill_purpose($h, &ws_id, Some(&format!("p-{sfx}")))
            .await?;
        workspace_skills::set_workspace_skill_content_hash($h, &ws.skill_name, "h").await?;
        let app = AppSettings {
            max_dimensions: 7,
            ..AppSettings::default()
        };
        settings::write_settings($h, &app).await?;

        // every read, on the same handle
        every_read!($h, sfx);
        assert!(
            workspace_skills::get_workspace_skill($h, &ws_id)
                .await?
                .is_some()
        );

        // the writes that end or remove things
        sessions::end_workflow_session($h, &session).await?;
        sessions::end_all_sessions_for_pid($h, -1).await?;
        sessions::reconcile_orphaned_sessions($h).await?;
        locks::release_skill_lock($h, &skill, &me).await?;
        locks::release_all_instance_locks($h, &me).await?;
        locks::reclaim_dead_locks($h).await?;
        workflow_steps::reset_workflow_steps_from($h, &skill, 0).await?;
        artifacts::delete_artifacts_from_step($h, &skill, 0).await?;
        rename::rename_skill($h, &skill, &format!("renamed-{sfx}")).await?;
        workflow_runs::delete_workflow_run($h, &format!("renamed-{sfx}")).await?;
        skills::delete_skill($h, &format!("renamed-{sfx}")).await?;
        skills::delete_skill($h, &format!("market-{sfx}")).await?;
        imported_skills::delete_imported_skill($h, &imported.skill_name).await?;
        imported_skills::delete_imported_skill_by_name($h, "never-there").await?;
        workspace_skills::delete_workspace_skill($h, &ws_id).await?;
        usage::reset_usage($h).await?;
    }};
}

/// Every read operation on `$h`, for the rows [`every_operation!`] wrote with `$sfx`.
macro_rules! every_read {
    ($h:expr, $sfx:expr) => {{
        let sfx: &str = $sfx;
        let skill = format!("skill-{sfx}");
        assert!(
            skills::list_all_skills($h)
                .await?
                .iter()
                .any(|s| s.name == skill)
        );
        assert!(skills::get_skill_master_id($h, &skill).await?.is_some());
        assert!(skills::get_workflow_run_id($h, &skill).await?.is_some());
        skills::get_dashboard_skill_names($h).await?;
        assert!(workflow_runs::get_workflow_run($h, &skill).await?.is_some());
        assert_eq!(workflow_runs::get_purpose($h, &skill).await?, "domain");
        assert!(!workflow_runs::list_all_workflow_runs($h).await?.is_empty());
        assert!(
            !workflow_steps::get_workflow_steps($h, &skill)
                .await?
                .is_empty()
        );
        assert!(
            artifacts::get_artifact($h, &skill, 0, "out.md")
                .await?
                .is_some()
        );
        assert_eq!(artifacts::list_artifacts($h, &skill, None).await?.len(), 1);
        assert_eq!(
            artifacts::list_artifacts_with_content($h, &skill, Some(0))
                .await?
                .len(),
            1
        );
        assert_eq!(
            tags::get_tags_for_skills($h, &[skill.as_str()]).await?[&skill],
            ["a", "b"]
        );
        assert!(tags::get_all_tags($h).await?.contains(&"a".to_owned()));
        assert!(locks::get_skill_lock($h, &skill).await?.is_some());
        assert!(!locks::get_all_skill_locks($h).await?.is_empty());
        let runs = agent_runs::get_recent_runs($h, 10).await?;
        let session = runs
            .iter()
            .find(|r| r.skill_name == skill)
            .and_then(|r| r.workflow_session_id.clone())
            .expect("the agent run is listed");
        assert!(
            sessions::get_workflow_session($h, &session)
                .await?
                .is_some()
        );
        assert!(sessions::has_active_session_with_live_pid($h, &skill).await);
        assert_eq!(
            agent_runs::get_session_agent_runs($h, &session)
                .await?
                .len(),
            1
        );
        assert_eq!(
            agent_runs::get_step_agent_runs($h, &skill, 1).await?.len(),
            1
        );
        assert!(usage::get_usage_summary($h, true).await?.total_runs >= 1);
        assert!(
            !usage::get_recent_workflow_sessions($h, 10, true)
                .await?
                .is_empty()
        );
        assert!(!usage::get_usage_by_step($h, true).await?.is_empty());
        assert!(!usage::get_usage_by_model($h, true).await?.is_empty());
        let imported = format!("imported-{sfx}");
        assert!(
            imported_skills::get_imported_skill($h, &imported)
                .await?
                .is_some()
        );
        imported_skills::list_active_skills($h).await?;
        assert!(
            imported_skills::get_imported_skill_hash_info($h, &imported)
                .await?
                .is_some()
        );
        assert!(
            installed::get_all_installed_skill_names($h)
                .await?
                .contains(&imported)
        );
        let ws = format!("ws-{sfx}");
        assert!(
            !workspace_skills::list_workspace_skills($h)
                .await?
                .is_empty()
        );
        workspace_skills::list_active_workspace_skills($h).await?;
        assert!(
            workspace_skills::get_workspace_skill_by_name($h, &ws)
                .await?
                .is_some()
        );
        assert!(
            workspace_skills::get_workspace_skill_by_purpose($h, &format!("p-{sfx}"))
                .await?
                .is_some()
        );
        assert!(
            workspace_skills::get_workspace_skill_hash_info($h, &ws)
                .await?
                .is_some()
        );
        assert_eq!(settings::read_settings($h).await?.max_dimensions, 7);
        settings::read_settings_hydrated($h).await?;
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_runs_in_a_spawned_task_on_the_writer_and_in_a_transaction() {
    let (_dir, db) = open().await;

    // Outside a transaction: the writer connection, `&mut conn`.
    let task = tokio::spawn({
        let db = db.clone();
        async move {
            let mut conn = db.write().await?;
            every_operation!(&mut conn, "conn");
            Ok::<_, Error>(())
        }
    });
    task.await.unwrap().unwrap();

    // Inside one: `db.begin()`, then `&mut *tx` and `&mut tx`, committed.
    let task = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await?;
            every_operation!(&mut *tx, "tx");
            tx.commit().await?;
            Ok::<_, Error>(())
        }
    });
    task.await.unwrap().unwrap();

    // And `&mut tx` itself.
    let task = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await?;
            every_operation!(&mut tx, "tx2");
            tx.commit().await?;
            Ok::<_, Error>(())
        }
    });
    task.await.unwrap().unwrap();
    assert_eq!(
        settings::read_settings(&mut db.read().await.unwrap())
            .await
            .unwrap()
            .max_dimensions,
        7,
        "the transaction committed"
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_runs_in_a_spawned_task_on_a_reader() {
    let (_dir, db) = open().await;
    // Rows to read, committed by a spawned transaction...
    tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await?;
            let skill = "skill-r";
            let pid = i64::from(std::process::id());
            let session = WorkflowSessionId::new_v4();
            skills::upsert_skill(&mut tx, skill, &SkillSource::SkillBuilder, None).await?;
            workflow_runs::save_workflow_run(
                &mut tx,
                skill,
                0,
                &WorkflowRunStatus::Pending,
                "domain",
            )
            .await?;
            workflow_steps::save_workflow_step(&mut tx, skill, 0, &StepStatus::Completed).await?;
            artifacts::upsert_artifact(&mut tx, skill, 0, "out.md", "# out").await?;
            tags::set_skill_tags(&mut tx, skill, &["a", "b"]).await?;
            locks::acquire_skill_lock(&mut tx, skill, &InstanceId::new_v4(), pid).await?;
            sessions::create_workflow_session(&mut tx, &session, skill, pid).await?;
            agent_runs::persist_agent_run(&mut tx, &agent_run(skill, &session)).await?;
            let imported = ImportedSkill::new(ImportedSkillId::new_v4(), "imported-r", "/i", "t");
            imported_skills::insert_imported_skill(&mut tx, &imported).await?;
            imported_skills::set_imported_skill_content_hash(&mut tx, "imported-r", "h").await?;
            let mut ws = WorkspaceSkill::new(WorkspaceSkillId::new_v4(), "ws-r", "/w", "t");
            ws.purpose = Some("p-r".to_owned());
            workspace_skills::insert_workspace_skill(&mut tx, &ws).await?;
            workspace_skills::set_workspace_skill_content_hash(&mut tx, "ws-r", "h").await?;
            let app = AppSettings {
                max_dimensions: 7,
                ..AppSettings::default()
            };
            settings::write_settings(&mut tx, &app).await?;
            tx.commit().await
        }
    })
    .await
    .unwrap()
    .unwrap();
    // ...then every read on the read-only pool, in another spawned task.
    tokio::spawn({
        let db = db.clone();
        async move {
            let mut reader = db.read().await?;
            every_read!(&mut reader, "r");
            Ok::<_, Error>(())
        }
    })
    .await
    .unwrap()
    .unwrap();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_holding_the_writer_is_refused_at_once_and_another_task_waits() {
    let (_dir, db) = open().await;
    let mut tx = db.begin().await.unwrap();
    skills::upsert_skill(&mut tx, "held", &SkillSource::SkillBuilder, None)
        .await
        .unwrap();

    // The same task asking again: an immediate, typed error (no 30 s pool wait).
    let started = Instant::now();
    let again = db.write().await.map(drop);
    assert!(
        matches!(again, Err(Error::WriterHeldByThisTask)),
        "{again:?}"
    );
    let nested = db.begin().await.map(drop);
    assert!(
        matches!(nested, Err(Error::WriterHeldByThisTask)),
        "{nested:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        serde_json::to_value(Error::WriterHeldByThisTask).unwrap()["kind"],
        "writer_held_by_this_task"
    );

    // Another task waits for the writer, and gets it once the transaction ends.
    let waiter = tokio::spawn({
        let db = db.clone();
        async move {
            let mut conn = db.write().await?;
            skills::get_skill_master_id(&mut conn, "held").await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the other task waits for the writer");
    tx.commit().await.unwrap();
    let id = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(id.is_some(), "it sees the committed row");

    // Once released, this task takes the writer again.
    let mut conn = db.write().await.unwrap();
    assert!(
        skills::get_skill_master_id(&mut conn, "held")
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);
    db.close().await;
}

#[tokio::test]
async fn a_dropped_transaction_rolls_back_and_frees_the_writer() {
    let (_dir, db) = open().await;
    {
        let mut tx = db.begin().await.unwrap();
        skills::upsert_skill(&mut tx, "gone", &SkillSource::SkillBuilder, None)
            .await
            .unwrap();
    }
    let mut conn = db.write().await.unwrap();
    assert_eq!(
        skills::get_skill_master_id(&mut conn, "gone")
            .await
            .unwrap(),
        None
    );
    drop(conn);
    let tx = db.begin().await.unwrap();
    tx.rollback().await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn handles_taken_after_close_fail_with_a_typed_error() {
    let (_dir, db) = open().await;
    let clone = db.clone();
    db.close().await;
    let write = clone.write().await.map(drop);
    assert!(
        matches!(write, Err(Error::Database(sqlx::Error::PoolClosed))),
        "{write:?}"
    );
    assert!(clone.read().await.is_err());
}

#[test]
fn handles_futures_and_errors_are_send_sync_static() {
    fn send_static<T: Send + 'static>() {}
    fn error<T: std::error::Error + serde::Serialize + Send + Sync + 'static>() {}
    send_static::<Database>();
    send_static::<skill_builder_app::WriteConnection>();
    send_static::<skill_builder_app::Transaction>();
    send_static::<skill_builder_app::ReadConnection>();
    error::<Error>();
    error::<OpenError>();
    error::<skill_builder_app::db::InvalidInput>();
    error::<skill_builder_app::db::Conflict>();
    error::<skill_builder_app::db::malformed::MalformedRow>();
    error::<skill_builder_migrations::MigrationError>();
}

#[tokio::test]
async fn errors_serialize_as_kind_and_message() {
    let (dir, db) = open().await;
    let mut conn = db.write().await.unwrap();
    let e = skills::upsert_skill(&mut conn, "", &SkillSource::SkillBuilder, None)
        .await
        .unwrap_err();
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::json!({ "kind": "invalid_input", "message": "skill_name must not be empty" })
    );
    drop(conn);
    db.close().await;

    let not_a_db = dir.path().join("notes.txt");
    std::fs::write(&not_a_db, "hello, this is not SQLite at all").unwrap();
    let e = Database::open(&not_a_db).await.unwrap_err();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["kind"], "not_a_database");
    assert_eq!(v["message"], e.to_string());

    let e = Database::open_with(dir.path().join("x.db"), &OpenOptions::new().target(9999))
        .await
        .unwrap_err();
    assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "migration");
}

#[tokio::test]
async fn a_settings_error_never_quotes_the_stored_value() {
    let (_dir, db) = open().await;
    let secret = "sk-ant-api03-SECRET-KEY-0123456789";
    let mut conn = db.write().await.unwrap();
    // A settings document whose shape is wrong around a secret value.
    sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES ('app_settings', ?)")
        .bind(format!(
            r#"{{"anthropic_api_key": "{secret}", "max_dimensions": "{secret}"}}"#
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
    let e = settings::read_settings(&mut conn).await.unwrap_err();
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("SECRET"), "{json}");
    assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert!(json.contains("\"kind\":\"invalid_input\""), "{json}");
    drop(conn);
    db.close().await;
}
