//! Workflow sessions (`workflow_sessions`): operations.md §11 and the §15 "Workflow
//! sessions" lines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{SkillId, WorkflowSession, WorkflowSessionId};
use skill_builder_db::{Error, InvalidInput, sessions};
use sqlx::SqliteConnection;

fn me() -> i64 {
    i64::from(std::process::id())
}

fn dead_pid() -> i64 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    i64::from(pid)
}

async fn add_skill(conn: &mut SqliteConnection, name: &str) -> SkillId {
    sqlx::query_scalar!(
        r#"INSERT INTO skills (name, skill_source) VALUES (?, 'skill-builder')
           RETURNING id AS "id: SkillId""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn get(conn: &mut SqliteConnection, id: &str) -> WorkflowSession {
    sessions::get_workflow_session(conn, &id.into())
        .await
        .unwrap()
        .unwrap()
}

async fn create(conn: &mut SqliteConnection, id: &str, skill: &str, pid: i64) {
    sessions::create_workflow_session(conn, &id.into(), skill, pid)
        .await
        .unwrap();
}

async fn reconcile(conn: &mut SqliteConnection) -> u64 {
    sessions::reconcile_orphaned_sessions(conn).await.unwrap()
}

#[tokio::test]
async fn a_new_session_has_no_ended_at() {
    let t = common::open_temp().await;
    let skill = add_skill(&mut *t.conn().await, "alpha").await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    let s = get(&mut *t.conn().await, "ws-1").await;
    assert_eq!(s.session_id.as_str(), "ws-1");
    assert_eq!(s.skill_name, "alpha");
    assert_eq!(s.pid, me());
    assert_eq!(s.ended_at, None);
    assert_eq!(s.reset_marker, None);
    assert_eq!(s.skill_id, Some(skill));
    assert!(
        s.started_at.ends_with('Z') && s.started_at.len() == 20,
        "{}",
        s.started_at
    );
    assert!(s.is_open());
}

#[tokio::test]
async fn a_session_for_a_skill_not_in_the_master_has_no_skill_id() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-1", "nowhere", me()).await;
    assert_eq!(get(&mut *t.conn().await, "ws-1").await.skill_id, None);
    assert_eq!(
        sessions::get_workflow_session(&mut *t.conn().await, &"unknown".into())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn creating_the_same_session_id_twice_leaves_exactly_one_row() {
    let t = common::open_temp().await;
    add_skill(&mut *t.conn().await, "alpha").await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    create(&mut *t.conn().await, "ws-1", "beta", me() + 1).await;
    let count = sqlx::query_scalar!("SELECT COUNT(*) FROM workflow_sessions")
        .fetch_one(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let s = get(&mut *t.conn().await, "ws-1").await;
    assert_eq!((s.skill_name.as_str(), s.pid), ("alpha", me()));
}

#[tokio::test]
async fn ending_a_session_sets_ended_at() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    let ended = get(&mut *t.conn().await, "ws-1").await.ended_at.unwrap();
    assert!(ended.ends_with('Z') && ended.len() == 20, "{ended}");
    // Unknown id: success.
    sessions::end_workflow_session(&mut *t.conn().await, &"unknown".into())
        .await
        .unwrap();
}

#[tokio::test]
async fn ending_it_again_leaves_ended_at_unchanged() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    sqlx::query!("UPDATE workflow_sessions SET ended_at = '2020-01-01 00:00:00Z'")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.ended_at.as_deref(),
        Some("2020-01-01 00:00:00Z")
    );
}

#[tokio::test]
async fn end_all_sessions_for_pid_ends_only_that_pids_open_sessions() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-1", "alpha", 1111).await;
    create(&mut *t.conn().await, "ws-2", "beta", 1111).await;
    create(&mut *t.conn().await, "ws-3", "gamma", 2222).await;
    create(&mut *t.conn().await, "ws-4", "delta", 1111).await;
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-4".into())
        .await
        .unwrap();
    sqlx::query!("UPDATE workflow_sessions SET ended_at = 'earlier' WHERE session_id = 'ws-4'")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(
        sessions::end_all_sessions_for_pid(&mut *t.conn().await, 1111)
            .await
            .unwrap(),
        2
    );
    assert!(get(&mut *t.conn().await, "ws-1").await.ended_at.is_some());
    assert!(get(&mut *t.conn().await, "ws-2").await.ended_at.is_some());
    assert_eq!(get(&mut *t.conn().await, "ws-3").await.ended_at, None);
    assert_eq!(
        get(&mut *t.conn().await, "ws-4").await.ended_at.as_deref(),
        Some("earlier")
    );
    assert_eq!(
        sessions::end_all_sessions_for_pid(&mut *t.conn().await, 1111)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn reconciliation_closes_a_session_whose_pid_is_dead() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-dead", "alpha", 99_999_999).await;
    assert_eq!(reconcile(&mut *t.conn().await).await, 1);
    let s = get(&mut *t.conn().await, "ws-dead").await;
    // No agent runs: falls back to the session's own start.
    assert_eq!(s.ended_at.as_deref(), Some(s.started_at.as_str()));
    assert_eq!(reconcile(&mut *t.conn().await).await, 0);
}

#[tokio::test]
async fn reconciliation_leaves_a_live_pid_session_open() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-live", "alpha", me()).await;
    assert_eq!(reconcile(&mut *t.conn().await).await, 0);
    assert_eq!(get(&mut *t.conn().await, "ws-live").await.ended_at, None);
}

#[tokio::test]
async fn reconciliation_ends_at_the_last_agent_run_of_the_workflow_session() {
    let t = common::open_temp().await;
    let dead = dead_pid();
    create(&mut *t.conn().await, "ws-1", "alpha", dead).await;
    create(&mut *t.conn().await, "ws-2", "alpha", dead).await;
    create(&mut *t.conn().await, "ws-live", "alpha", me()).await;
    // Runs of ws-1; the SDK session id deliberately differs from the workflow session id.
    for (agent, model, completed) in [
        ("a1", "sonnet", Some("2026-01-01 10:00:00Z")),
        ("a1", "opus", Some("2026-01-01 11:30:00Z")),
        ("a2", "sonnet", None),
    ] {
        sqlx::query!(
            "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, session_id,
                                     workflow_session_id, completed_at)
             VALUES (?, 'alpha', 0, ?, 'sdk-conv', 'ws-1', ?)",
            agent,
            model,
            completed
        )
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    }
    // A run whose *SDK* session id equals ws-2 must not count (the old defect).
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, session_id, completed_at)
         VALUES ('a3', 'alpha', 0, 'sonnet', 'ws-2', '2030-01-01 00:00:00Z')"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    sqlx::query!("UPDATE workflow_sessions SET started_at = '2026-01-01 09:00:00Z'")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(reconcile(&mut *t.conn().await).await, 2);
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.ended_at.as_deref(),
        Some("2026-01-01 11:30:00Z")
    );
    assert_eq!(
        get(&mut *t.conn().await, "ws-2").await.ended_at.as_deref(),
        Some("2026-01-01 09:00:00Z")
    );
    assert_eq!(get(&mut *t.conn().await, "ws-live").await.ended_at, None);
}

#[tokio::test]
async fn reconciliation_is_one_update_for_many_sessions() {
    let t = common::open_temp().await;
    for i in 0..1500 {
        create(
            &mut *t.conn().await,
            &format!("ws-{i}"),
            "alpha",
            99_999_999,
        )
        .await;
    }
    assert_eq!(reconcile(&mut *t.conn().await).await, 1500);
    let open = sqlx::query_scalar!("SELECT COUNT(*) FROM workflow_sessions WHERE ended_at IS NULL")
        .fetch_one(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(open, 0);
}

#[tokio::test]
async fn has_active_session_with_live_pid_follows_the_sessions_of_the_skill() {
    let t = common::open_temp().await;
    add_skill(&mut *t.conn().await, "alpha").await;
    assert!(!sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    assert!(sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    assert!(!sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
    create(&mut *t.conn().await, "ws-2", "not-in-master", me()).await;
    assert!(
        !sessions::has_active_session_with_live_pid(&mut *t.conn().await, "not-in-master").await
    );
    // An open session of a dead process does not count.
    create(&mut *t.conn().await, "ws-3", "alpha", 99_999_999).await;
    assert!(!sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
}

/// Issue 10: a session without a master link belongs to no skill, and a master row
/// created later under its name does not adopt it.
#[tokio::test]
async fn has_active_session_ignores_a_session_created_before_the_master_row() {
    let t = common::open_temp().await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    assert_eq!(get(&mut *t.conn().await, "ws-1").await.skill_id, None);
    add_skill(&mut *t.conn().await, "alpha").await;
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.skill_id,
        None,
        "not adopted"
    );
    assert!(!sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
}

/// Issue 10: deleting a skill detaches its sessions (`skill_id` NULL); a skill
/// re-created under the name is another skill, without the deleted one's sessions.
#[tokio::test]
async fn has_active_session_ignores_the_sessions_of_a_deleted_skill_of_the_same_name() {
    let t = common::open_temp().await;
    add_skill(&mut *t.conn().await, "alpha").await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    assert!(sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
    {
        let mut conn = t.conn().await;
        skill_builder_db::skills::delete_skill(&mut conn, "alpha")
            .await
            .unwrap();
    }
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.skill_id,
        None,
        "detached"
    );
    assert!(
        get(&mut *t.conn().await, "ws-1").await.ended_at.is_none(),
        "still open"
    );
    let recreated = add_skill(&mut *t.conn().await, "alpha").await;
    assert!(
        !sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await,
        "the open session of the deleted alpha is not the new alpha's"
    );
    // A session of the new skill counts.
    create(&mut *t.conn().await, "ws-2", "alpha", me()).await;
    assert_eq!(
        get(&mut *t.conn().await, "ws-2").await.skill_id,
        Some(recreated)
    );
    assert!(sessions::has_active_session_with_live_pid(&mut *t.conn().await, "alpha").await);
}

#[tokio::test]
async fn has_active_session_reports_false_on_a_database_error() {
    let t = common::open_temp().await;
    add_skill(&mut *t.conn().await, "alpha").await;
    create(&mut *t.conn().await, "ws-1", "alpha", me()).await;
    // A query that fails: the table it reads is gone (inside a transaction rolled
    // back afterwards).
    let mut tx = t.db.begin().await.unwrap();
    sqlx::query("DROP TABLE workflow_sessions")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(!sessions::has_active_session_with_live_pid(&mut tx, "alpha").await);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn invalid_session_inputs_are_refused() {
    let t = common::open_temp().await;
    let id = WorkflowSessionId::from("ws-1");
    let err = sessions::create_workflow_session(&mut *t.conn().await, &id, " ", me())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty {
                field: "skill_name"
            })
        ),
        "{err:?}"
    );
    let err = sessions::create_workflow_session(&mut *t.conn().await, &"".into(), "alpha", me())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty {
                field: "session_id"
            })
        ),
        "{err:?}"
    );
    let err = sessions::create_workflow_session(&mut *t.conn().await, &id, "alpha", 0)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::OutOfRange {
                field: "pid",
                value: 0
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        sessions::get_workflow_session(&mut *t.conn().await, &id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn legacy_sessions_read_back_and_reconcile() {
    for fixture in ["v17", "v28"] {
        let t = common::open_legacy(fixture).await;
        let s = get(&mut *t.conn().await, "ws-1").await;
        assert_eq!(s.skill_name, "alpha");
        assert_eq!(s.ended_at, None);
        let ended = get(&mut *t.conn().await, "ws-2").await;
        assert_eq!(ended.ended_at.as_deref(), Some("2025-01-04 10:30:00Z"));
        if !skill_builder_db::pid::is_alive(s.pid) {
            assert_eq!(reconcile(&mut *t.conn().await).await, 1, "{fixture}");
            // ws-1's agent runs are linked by workflow_session_id: the last completion wins.
            let closed = get(&mut *t.conn().await, "ws-1").await.ended_at.unwrap();
            let last = sqlx::query_scalar!(
                "SELECT MAX(completed_at) FROM agent_runs WHERE workflow_session_id = 'ws-1'"
            )
            .fetch_one(&mut *t.conn().await)
            .await
            .unwrap();
            assert_eq!(Some(closed), last, "{fixture}");
        }
    }
}

/// A `completed_at` or `started_at` another tool wrote as a BLOB (which SQLite ranks
/// above every text) is never taken as a reconciled session's end.
#[tokio::test]
async fn reconciliation_never_ends_a_session_at_a_blob_time() {
    let t = common::open_temp().await;
    let dead = dead_pid();
    create(&mut *t.conn().await, "ws-1", "alpha", dead).await;
    create(&mut *t.conn().await, "ws-2", "alpha", dead).await;
    for (agent, completed) in [
        ("a1", "'2026-01-01 10:00:00Z'"),
        ("a2", "CAST('2026-12-31 23:59:59Z' AS BLOB)"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, workflow_session_id,
                                     completed_at)
             VALUES ('{agent}', 'alpha', 0, 'sonnet', 'ws-1', {completed})"
        )))
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE workflow_sessions SET started_at = CAST('2026-01-01 09:00:00Z' AS BLOB)
         WHERE session_id = 'ws-2'",
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    assert_eq!(reconcile(&mut *t.conn().await).await, 2);
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.ended_at.as_deref(),
        Some("2026-01-01 10:00:00Z")
    );
    let ws2: (String, String) = sqlx::query_as(
        "SELECT typeof(ended_at), ended_at FROM workflow_sessions WHERE session_id = 'ws-2'",
    )
    .fetch_one(&mut *t.conn().await)
    .await
    .unwrap();
    assert_eq!(ws2.0, "text", "now, not the BLOB start");
    assert!(ws2.1.ends_with('Z'), "{}", ws2.1);
}
