//! Skill rename across every table carrying a skill name.

use crate::common;

use skill_builder_db::model::{SkillSource, StepStatus, WorkflowRunStatus};
use skill_builder_db::{
    Conflict, Entity, Error, InvalidInput, artifacts, rename, skills, tags, workflow_runs,
    workflow_steps,
};
use sqlx::SqliteConnection;

/// Rows carrying `name` per table: skills, runs, sessions, steps, artifacts, agent runs,
/// tags, imported, locks, workspace.
async fn counts(conn: &mut SqliteConnection, name: &str) -> [i64; 10] {
    let r = sqlx::query!(
        r#"SELECT
            (SELECT COUNT(*) FROM skills WHERE name = ?1) AS "a!: i64",
            (SELECT COUNT(*) FROM workflow_runs WHERE skill_name = ?1) AS "b!: i64",
            (SELECT COUNT(*) FROM workflow_sessions WHERE skill_name = ?1) AS "c!: i64",
            (SELECT COUNT(*) FROM workflow_steps WHERE skill_name = ?1) AS "d!: i64",
            (SELECT COUNT(*) FROM workflow_artifacts WHERE skill_name = ?1) AS "e!: i64",
            (SELECT COUNT(*) FROM agent_runs WHERE skill_name = ?1) AS "f!: i64",
            (SELECT COUNT(*) FROM skill_tags WHERE skill_name = ?1) AS "g!: i64",
            (SELECT COUNT(*) FROM imported_skills WHERE skill_name = ?1) AS "h!: i64",
            (SELECT COUNT(*) FROM skill_locks WHERE skill_name = ?1) AS "i!: i64",
            (SELECT COUNT(*) FROM workspace_skills WHERE skill_name = ?1) AS "j!: i64""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    [r.a, r.b, r.c, r.d, r.e, r.f, r.g, r.h, r.i, r.j]
}

/// A workflow skill with a row in every table.
async fn populate(conn: &mut SqliteConnection, name: &str) {
    workflow_runs::save_workflow_run(conn, name, 2, &WorkflowRunStatus::InProgress, "domain")
        .await
        .unwrap();
    tags::set_skill_tags(conn, name, &["a", "b"]).await.unwrap();
    workflow_steps::save_workflow_step(conn, name, 0, &StepStatus::Completed)
        .await
        .unwrap();
    workflow_steps::save_workflow_step(conn, name, 1, &StepStatus::InProgress)
        .await
        .unwrap();
    artifacts::upsert_artifact(conn, name, 0, "a.md", "x")
        .await
        .unwrap();
    sqlx::query!(
        "INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id)
         VALUES ('sess-' || ?1, ?1, 1, (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, workflow_run_id)
         VALUES ('agent-' || ?1, ?1, 0, 'opus', (SELECT id FROM workflow_runs WHERE skill_name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO imported_skills (skill_id, skill_name, disk_path, skill_master_id)
         VALUES ('imp-' || ?1, ?1, '/p', (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO skill_locks (skill_name, instance_id, pid, skill_id)
         VALUES (?1, 'inst', 1, (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO workspace_skills (skill_id, skill_name, disk_path) VALUES ('ws-' || ?1, ?1, '/w')",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

async fn rename(conn: &mut SqliteConnection, old: &str, new: &str) -> skill_builder_db::Result<()> {
    rename::rename_skill(conn, old, new).await
}

#[tokio::test]
async fn rename_moves_every_tables_rows_and_leaves_workspace_skills_alone() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "Old Skill").await;
    populate(&mut conn, "bystander").await;
    let master_id = skills::get_skill_master_id(&mut conn, "Old Skill")
        .await
        .unwrap();
    let run_id = skills::get_workflow_run_id(&mut conn, "Old Skill")
        .await
        .unwrap();
    sqlx::query!("UPDATE skills SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query!("UPDATE workflow_runs SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        counts(&mut conn, "Old Skill").await,
        [1, 1, 1, 2, 1, 1, 2, 1, 1, 1]
    );
    rename(&mut conn, "Old Skill", "new-skill").await.unwrap();
    assert_eq!(
        counts(&mut conn, "Old Skill").await,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        counts(&mut conn, "new-skill").await,
        [1, 1, 1, 2, 1, 1, 2, 1, 1, 0]
    );
    assert_eq!(
        counts(&mut conn, "bystander").await,
        [1, 1, 1, 2, 1, 1, 2, 1, 1, 1]
    );
    // Ids are stable and the FK-keyed reads follow the new name.
    assert_eq!(
        skills::get_skill_master_id(&mut conn, "new-skill")
            .await
            .unwrap(),
        master_id
    );
    assert_eq!(
        skills::get_workflow_run_id(&mut conn, "new-skill")
            .await
            .unwrap(),
        run_id
    );
    assert_eq!(
        workflow_steps::get_workflow_steps(&mut conn, "new-skill")
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        tags::get_tags_for_skills(&mut conn, &["new-skill"])
            .await
            .unwrap()["new-skill"],
        ["a", "b"]
    );
    let run = workflow_runs::get_workflow_run(&mut conn, "new-skill")
        .await
        .unwrap()
        .unwrap();
    assert!(run.updated_at.ends_with('Z') && run.updated_at != "old");
    let master = skills::list_all_skills(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == "new-skill")
        .unwrap();
    assert!(!master.updated_at.ends_with('Z') && master.updated_at != "old");
}

#[tokio::test]
async fn a_new_name_that_is_not_kebab_case_is_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "s").await;
    for bad in [
        "New Skill",
        "UPPER",
        "under_score",
        "-lead",
        "double--hyphen",
        "trail-",
    ] {
        let err = rename(&mut conn, "s", bad).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(InvalidInput::NotKebabCase(n)) if n == bad),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().starts_with("Skill name must be kebab-case"));
    }
    assert_eq!(counts(&mut conn, "s").await[0], 1);
}

#[tokio::test]
async fn empty_or_nul_names_are_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = rename(&mut conn, "", "x").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { field: "old_name" })
    ));
    let err = rename(&mut conn, "x", "  ").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { field: "new_name" })
    ));
    let err = rename(&mut conn, "x\0", "y").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "old_name" })
    ));
}

#[tokio::test]
async fn renaming_to_the_same_name_is_a_no_op() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "same").await;
    let before = counts(&mut conn, "same").await;
    rename(&mut conn, "same", "same").await.unwrap();
    assert_eq!(counts(&mut conn, "same").await, before);
}

#[tokio::test]
async fn renaming_onto_an_existing_skill_is_a_conflict() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "one").await;
    populate(&mut conn, "two").await;
    let err = rename(&mut conn, "one", "two").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict(Conflict::AlreadyExists { entity: Entity::Skill, key }) if key == "two"
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "skill 'two' already exists");
    assert_eq!(
        counts(&mut conn, "one").await[..9],
        [1, 1, 1, 2, 1, 1, 2, 1, 1]
    );
}

#[tokio::test]
async fn renaming_an_unknown_skill_is_not_found() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = rename(&mut conn, "ghost", "new-ghost").await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "ghost"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_key_clash_with_stray_rows_rolls_back_everything() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "s").await;
    // A stray step already carrying the new name at a step id the skill also has.
    sqlx::query!("INSERT INTO workflow_steps (skill_name, step_id) VALUES ('target', 1)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let before = counts(&mut conn, "s").await;
    let err = rename(&mut conn, "s", "target").await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(Conflict::AlreadyExists { key, .. }) if key == "target"),
        "{err:?}"
    );
    assert_eq!(
        counts(&mut conn, "s").await,
        before,
        "master and run renames rolled back"
    );
    assert_eq!(
        counts(&mut conn, "target").await,
        [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    );
}

#[tokio::test]
async fn other_failures_roll_back_and_surface_as_database_errors() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    populate(&mut conn, "s").await;
    sqlx::query!(
        "CREATE TRIGGER refuse_lock_rename BEFORE UPDATE ON skill_locks
         BEGIN SELECT RAISE(ABORT, 'lock rename refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let before = counts(&mut conn, "s").await;
    let err = rename(&mut conn, "s", "renamed").await.unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert!(err.to_string().contains("lock rename refused"));
    assert_eq!(counts(&mut conn, "s").await, before);
}

#[tokio::test]
async fn a_catalogue_only_skill_can_be_renamed() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    skills::upsert_skill(&mut conn, "market", &SkillSource::Marketplace, None)
        .await
        .unwrap();
    rename::rename_skill(&mut conn, "market", "market-2")
        .await
        .unwrap();
    assert_eq!(
        skills::get_dashboard_skill_names(&mut conn).await.unwrap(),
        ["market-2"]
    );
}
