//! Skill locks (`skill_locks`): operations.md §10 and the §15 "Skill locks" lines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{InstanceId, SkillId};
use skill_builder_db::{Conflict, Entity, Error, InvalidInput, locks};
use sqlx::SqliteConnection;

fn me() -> i64 {
    i64::from(std::process::id())
}

/// The pid of a child process that has exited and been reaped.
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

/// A lock row written directly, with a NULL `skill_id` (a leftover of the old layer).
async fn add_null_fk_lock(conn: &mut SqliteConnection, name: &str, instance: &str, pid: i64) {
    sqlx::query!(
        "INSERT INTO skill_locks (skill_name, instance_id, pid) VALUES (?, ?, ?)",
        name,
        instance,
        pid
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

async fn acquire(
    conn: &mut SqliteConnection,
    name: &str,
    instance: &InstanceId,
    pid: i64,
) -> skill_builder_db::Result<()> {
    locks::acquire_skill_lock(conn, name, instance, pid).await
}

#[tokio::test]
async fn acquire_then_get_returns_the_lock_and_release_then_get_returns_none() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = add_skill(&mut conn, "alpha").await;
    let a = InstanceId::from("inst-a");
    acquire(&mut conn, "alpha", &a, me()).await.unwrap();
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.skill_name, "alpha");
    assert_eq!(lock.instance_id, a);
    assert_eq!(lock.pid, me());
    assert_eq!(lock.skill_id, Some(id));
    assert!(
        lock.acquired_at.ends_with('Z') && lock.acquired_at.len() == 20,
        "{}",
        lock.acquired_at
    );
    locks::release_skill_lock(&mut conn, "alpha", &a)
        .await
        .unwrap();
    assert_eq!(
        locks::get_skill_lock(&mut conn, "alpha").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn second_instance_cannot_acquire_lock_held_by_live_pid() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    acquire(&mut conn, "alpha", &"inst-a".into(), me())
        .await
        .unwrap();
    let err = acquire(&mut conn, "alpha", &"inst-b".into(), me())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("being edited"), "{err}");
    match err {
        Error::Conflict(Conflict::LockHeld {
            skill_name,
            instance_id,
            pid,
        }) => {
            assert_eq!(skill_name, "alpha");
            assert_eq!(instance_id, "inst-a");
            assert_eq!(pid, me());
        }
        other => panic!("unexpected {other:?}"),
    }
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.instance_id.as_str(), "inst-a");
}

#[tokio::test]
async fn reacquiring_by_the_same_instance_succeeds() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    let a = InstanceId::from("inst-a");
    acquire(&mut conn, "alpha", &a, me()).await.unwrap();
    sqlx::query!("UPDATE skill_locks SET acquired_at = '2020-01-01 00:00:00Z'")
        .execute(&mut *conn)
        .await
        .unwrap();
    // Even with another pid: nothing is refreshed.
    acquire(&mut conn, "alpha", &a, me() + 1).await.unwrap();
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.pid, me());
    assert_eq!(lock.acquired_at, "2020-01-01 00:00:00Z");
    assert_eq!(
        locks::get_all_skill_locks(&mut conn).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn release_all_instance_locks_returns_the_count_and_leaves_other_instances_locks() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for name in ["a1", "a2", "b1"] {
        add_skill(&mut conn, name).await;
    }
    let a = InstanceId::from("inst-a");
    let b = InstanceId::from("inst-b");
    acquire(&mut conn, "a1", &a, me()).await.unwrap();
    acquire(&mut conn, "a2", &a, me()).await.unwrap();
    acquire(&mut conn, "b1", &b, me()).await.unwrap();
    assert_eq!(
        locks::release_all_instance_locks(&mut conn, &a)
            .await
            .unwrap(),
        2
    );
    let left = locks::get_all_skill_locks(&mut conn).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].skill_name, "b1");
    assert_eq!(
        locks::release_all_instance_locks(&mut conn, &a)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn release_all_instance_locks_includes_null_fk_rows() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_null_fk_lock(&mut conn, "ghost", "inst-a", me()).await;
    let released = locks::release_all_instance_locks(&mut conn, &"inst-a".into())
        .await
        .unwrap();
    assert_eq!(released, 1);
}

#[tokio::test]
async fn get_all_skill_locks_returns_every_lock() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "beta").await;
    add_skill(&mut conn, "alpha").await;
    acquire(&mut conn, "beta", &"inst-a".into(), me())
        .await
        .unwrap();
    acquire(&mut conn, "alpha", &"inst-b".into(), me())
        .await
        .unwrap();
    let all = locks::get_all_skill_locks(&mut conn).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].skill_name, "alpha");
    assert_eq!(all[1].skill_name, "beta");
}

#[tokio::test]
async fn the_current_process_pid_is_reported_alive() {
    assert!(locks::check_pid_alive(me()));
}

#[tokio::test]
async fn pid_99999999_is_reported_dead() {
    assert!(!locks::check_pid_alive(99_999_999));
    assert!(!locks::check_pid_alive(dead_pid()));
}

#[tokio::test]
async fn acquire_for_a_skill_not_in_the_master_is_not_found() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = acquire(&mut conn, "nope", &"inst-a".into(), me())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: Entity::Skill, ref key } if key == "nope"),
        "{err:?}"
    );
    assert!(
        locks::get_all_skill_locks(&mut conn)
            .await
            .unwrap()
            .is_empty()
    );
    // The transaction was rolled back: the connection can write again at once.
    add_skill(&mut conn, "nope").await;
    acquire(&mut conn, "nope", &"inst-a".into(), me())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lock_of_a_dead_process_is_taken_over() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    add_skill(&mut conn, "beta").await;
    acquire(&mut conn, "alpha", &"inst-dead".into(), dead_pid())
        .await
        .unwrap();
    acquire(&mut conn, "beta", &"inst-dead".into(), 99_999_999)
        .await
        .unwrap();
    for name in ["alpha", "beta"] {
        acquire(&mut conn, name, &"inst-b".into(), me())
            .await
            .unwrap();
        let lock = locks::get_skill_lock(&mut conn, name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(lock.instance_id.as_str(), "inst-b");
        assert_eq!(lock.pid, me());
    }
}

#[tokio::test]
async fn a_leftover_null_fk_lock_with_a_live_holder_is_a_conflict() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    add_null_fk_lock(&mut conn, "alpha", "inst-old", me()).await;
    let err = acquire(&mut conn, "alpha", &"inst-b".into(), me())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(Conflict::LockHeld { ref instance_id, .. }) if instance_id == "inst-old"),
        "{err:?}"
    );
    // Visible through get by name even without a master link.
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (lock.instance_id.as_str(), lock.skill_id),
        ("inst-old", None)
    );
}

#[tokio::test]
async fn a_leftover_null_fk_lock_with_a_dead_holder_is_reclaimed_on_acquire() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = add_skill(&mut conn, "alpha").await;
    add_null_fk_lock(&mut conn, "alpha", "inst-old", dead_pid()).await;
    acquire(&mut conn, "alpha", &"inst-b".into(), me())
        .await
        .unwrap();
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.instance_id.as_str(), "inst-b");
    assert_eq!(lock.skill_id, Some(id));
    assert_eq!(
        locks::get_all_skill_locks(&mut conn).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn release_by_another_instance_or_of_an_unknown_skill_changes_nothing() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    acquire(&mut conn, "alpha", &"inst-a".into(), me())
        .await
        .unwrap();
    locks::release_skill_lock(&mut conn, "alpha", &"inst-b".into())
        .await
        .unwrap();
    locks::release_skill_lock(&mut conn, "unknown", &"inst-a".into())
        .await
        .unwrap();
    assert!(
        locks::get_skill_lock(&mut conn, "alpha")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        locks::get_skill_lock(&mut conn, "unknown").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn reclaim_dead_locks_removes_only_locks_of_dead_processes() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for name in ["live", "dead1", "dead2"] {
        add_skill(&mut conn, name).await;
    }
    acquire(&mut conn, "live", &"inst-a".into(), me())
        .await
        .unwrap();
    acquire(&mut conn, "dead1", &"inst-x".into(), dead_pid())
        .await
        .unwrap();
    acquire(&mut conn, "dead2", &"inst-y".into(), 99_999_999)
        .await
        .unwrap();
    add_null_fk_lock(&mut conn, "ghost", "inst-z", 99_999_999).await;
    assert_eq!(locks::reclaim_dead_locks(&mut conn).await.unwrap(), 3);
    assert_eq!(locks::reclaim_dead_locks(&mut conn).await.unwrap(), 0);
    let left = locks::get_all_skill_locks(&mut conn).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].skill_name, "live");
}

#[tokio::test]
async fn invalid_lock_inputs_are_refused_before_writing() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    let a = InstanceId::from("inst-a");
    let err = acquire(&mut conn, "  ", &a, me()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty {
                field: "skill_name"
            })
        ),
        "{err:?}"
    );
    let err = acquire(&mut conn, "al\0pha", &a, me()).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(InvalidInput::ContainsNul { .. })),
        "{err:?}"
    );
    let err = acquire(&mut conn, "alpha", &"".into(), me())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty {
                field: "instance_id"
            })
        ),
        "{err:?}"
    );
    for pid in [0, -5, i64::from(u32::MAX) + 1] {
        let err = acquire(&mut conn, "alpha", &a, pid).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(InvalidInput::OutOfRange { field: "pid", value }) if value == pid),
            "{err:?}"
        );
    }
    assert!(
        locks::get_all_skill_locks(&mut conn)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_insert_leaves_the_dead_lock_in_place() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    acquire(&mut conn, "alpha", &"inst-dead".into(), 99_999_999)
        .await
        .unwrap();
    sqlx::query!(
        "CREATE TEMP TRIGGER fail_lock_insert BEFORE INSERT ON skill_locks
         BEGIN SELECT RAISE(ABORT, 'insert refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = acquire(&mut conn, "alpha", &"inst-b".into(), me())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    let lock = locks::get_skill_lock(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.instance_id.as_str(), "inst-dead");
}

#[tokio::test]
async fn acquire_inside_a_caller_transaction_rolls_back_with_it() {
    let t = common::open_temp().await;
    add_skill(&mut *t.conn().await, "alpha").await;
    let mut tx = t.db.begin().await.unwrap();
    locks::acquire_skill_lock(&mut tx, "alpha", &"inst-a".into(), me())
        .await
        .unwrap();
    assert!(
        locks::get_skill_lock(&mut tx, "alpha")
            .await
            .unwrap()
            .is_some()
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        locks::get_skill_lock(&mut t.conn().await, "alpha")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn legacy_locks_read_back_and_dead_ones_are_reclaimable() {
    for fixture in ["v17", "v28"] {
        let t = common::open_legacy(fixture).await;
        let mut conn = t.conn().await;
        let all = locks::get_all_skill_locks(&mut conn).await.unwrap();
        assert_eq!(all.len(), 1, "{fixture}");
        assert_eq!(all[0].skill_name, "alpha");
        assert_eq!(all[0].instance_id.as_str(), "inst-dead");
        let lock = locks::get_skill_lock(&mut conn, "alpha")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(lock.pid, 999_999);
        if !locks::check_pid_alive(999_999) {
            assert_eq!(locks::reclaim_dead_locks(&mut conn).await.unwrap(), 1);
        }
    }
}

/// A lock row whose `instance_id` another tool wrote as a BLOB with this instance's
/// bytes is not this instance's lock: the dead holder is taken over and a real lock
/// row written (before, the BLOB read as equal and nothing was written).
#[tokio::test]
async fn a_blob_instance_id_equal_to_ours_is_not_our_lock() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    sqlx::query(
        "INSERT INTO skill_locks (skill_name, skill_id, instance_id, pid)
         SELECT 'alpha', id, CAST('inst-a' AS BLOB), ? FROM skills WHERE name = 'alpha'",
    )
    .bind(dead_pid())
    .execute(&mut *conn)
    .await
    .unwrap();
    acquire(&mut conn, "alpha", &InstanceId::from("inst-a"), me())
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT typeof(instance_id), pid FROM skill_locks WHERE skill_name = 'alpha'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows, [("text".to_owned(), me())]);
}
