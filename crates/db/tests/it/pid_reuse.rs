//! Locks and sessions whose pid the OS handed to an unrelated process (issue 11 item 8):
//! the holder's process start time is recorded with its pid, and a pid now held by a
//! process that started later is a dead holder's. Real files; the "unrelated process"
//! is this test process, recorded as if an earlier process with its pid had written
//! the row.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{InstanceId, WorkflowSessionId};
use skill_builder_db::{Conflict, Error, locks, pid, sessions};
use sqlx::SqliteConnection;

fn me() -> i64 {
    i64::from(std::process::id())
}

fn my_start() -> i64 {
    pid::start_time(me()).expect("own start time")
}

async fn add_skill(conn: &mut SqliteConnection, name: &str) {
    sqlx::query!(
        "INSERT INTO skills (name, skill_source) VALUES (?, 'skill-builder')",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// A lock of another instance held by `pid`, whose process started at `started`.
async fn add_lock(
    conn: &mut SqliteConnection,
    name: &str,
    instance: &str,
    pid: i64,
    started: Option<i64>,
) {
    sqlx::query!(
        "INSERT INTO skill_locks (skill_name, skill_id, instance_id, pid, pid_started_at)
         VALUES (?1, (SELECT id FROM skills WHERE name = ?1), ?2, ?3, ?4)",
        name,
        instance,
        pid,
        started
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn acquiring_records_the_start_time_of_the_holder_process() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "s").await;
    locks::acquire_skill_lock(&mut conn, "s", &InstanceId::new_v4(), me())
        .await
        .unwrap();
    let recorded =
        sqlx::query_scalar!("SELECT pid_started_at FROM skill_locks WHERE skill_name = 's'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(recorded, Some(my_start()));
}

/// A lock and a workflow session record the holder's start time (`pid_started_at`) with
/// its pid; a pid now held by a process started after that is dead, so the lock is
/// taken over (here) and the session reconciled
/// (`sessions_of_a_reused_pid_are_reconciled_and_not_active`). Rows without a start
/// time (the existing app, older rows) are checked by pid alone.
#[tokio::test]
async fn a_lock_whose_pid_now_belongs_to_a_later_process_is_taken_over() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "reused").await;
    add_skill(&mut conn, "live").await;
    add_skill(&mut conn, "legacy").await;
    // The holder had this pid but started an hour before the process that has it now.
    add_lock(&mut conn, "reused", "gone", me(), Some(my_start() - 3600)).await;
    add_lock(&mut conn, "live", "holder", me(), Some(my_start())).await;
    // A row without a start time keeps the pid-only check: this pid is alive.
    add_lock(&mut conn, "legacy", "old-app", me(), None).await;
    let other = InstanceId::new_v4();

    locks::acquire_skill_lock(&mut conn, "reused", &other, me())
        .await
        .expect("the reused pid's lock is a dead holder's");
    let lock = locks::get_skill_lock(&mut conn, "reused")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.instance_id, other);

    for name in ["live", "legacy"] {
        let err = locks::acquire_skill_lock(&mut conn, name, &other, me())
            .await
            .expect_err("held by a live process");
        assert!(
            matches!(err, Error::Conflict(Conflict::LockHeld { .. })),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test]
async fn reclaim_removes_locks_of_reused_pids_only() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for name in ["a", "b", "c"] {
        add_skill(&mut conn, name).await;
    }
    add_lock(&mut conn, "a", "gone", me(), Some(my_start() - 3600)).await;
    add_lock(&mut conn, "b", "holder", me(), Some(my_start())).await;
    add_lock(&mut conn, "c", "old-app", me(), None).await;
    assert_eq!(locks::reclaim_dead_locks(&mut conn).await.unwrap(), 1);
    let left: Vec<String> = locks::get_all_skill_locks(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.skill_name)
        .collect();
    assert_eq!(left, ["b", "c"]);
}

#[tokio::test]
async fn sessions_of_a_reused_pid_are_reconciled_and_not_active() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "s").await;
    let reused = WorkflowSessionId::new_v4();
    let live = WorkflowSessionId::new_v4();
    sessions::create_workflow_session(&mut conn, &live, "s", me())
        .await
        .unwrap();
    sessions::create_workflow_session(&mut conn, &reused, "s", me())
        .await
        .unwrap();
    let recorded = sqlx::query_scalar!(
        "SELECT pid_started_at FROM workflow_sessions WHERE session_id = ?",
        live
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(recorded, Some(my_start()), "the start time is recorded");
    assert!(sessions::has_active_session_with_live_pid(&mut conn, "s").await);

    // As if `reused` had been opened by an earlier process that had this pid.
    let earlier = my_start() - 3600;
    sqlx::query!(
        "UPDATE workflow_sessions SET pid_started_at = ? WHERE session_id = ?",
        earlier,
        reused
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        sessions::reconcile_orphaned_sessions(&mut conn)
            .await
            .unwrap(),
        1
    );
    let ended = |id: WorkflowSessionId| {
        let t = &t;
        async move {
            sessions::get_workflow_session(&mut t.reader().await, &id)
                .await
                .unwrap()
                .unwrap()
                .ended_at
        }
    };
    assert!(ended(reused.clone()).await.is_some(), "reused pid: closed");
    assert!(ended(live.clone()).await.is_none(), "live holder: open");

    // Only a reused-pid session left open: the skill has no active session.
    sessions::end_workflow_session(&mut conn, &live)
        .await
        .unwrap();
    let stale = WorkflowSessionId::new_v4();
    sessions::create_workflow_session(&mut conn, &stale, "s", me())
        .await
        .unwrap();
    sqlx::query!(
        "UPDATE workflow_sessions SET pid_started_at = ? WHERE session_id = ?",
        earlier,
        stale
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    assert!(!sessions::has_active_session_with_live_pid(&mut conn, "s").await);
}
