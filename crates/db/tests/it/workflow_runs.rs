//! Workflow runs: save/get/list, author/intake/display name/behaviour/purpose updates,
//! and the delete cascade.

use crate::common;

use skill_builder_db::model::{
    SkillBehaviour, SkillSource, StepStatus, WorkflowRun, WorkflowRunStatus,
};
use skill_builder_db::{
    Entity, Error, InvalidInput, artifacts, skills, tags, workflow_runs, workflow_steps,
};
use sqlx::SqliteConnection;

async fn save(
    conn: &mut SqliteConnection,
    name: &str,
    step: i64,
    status: WorkflowRunStatus,
    purpose: &str,
) {
    workflow_runs::save_workflow_run(conn, name, step, &status, purpose)
        .await
        .unwrap();
}

async fn get(conn: &mut SqliteConnection, name: &str) -> WorkflowRun {
    workflow_runs::get_workflow_run(conn, name)
        .await
        .unwrap()
        .expect("run row")
}

async fn delete(conn: &mut SqliteConnection, name: &str) -> skill_builder_db::Result<()> {
    workflow_runs::delete_workflow_run(conn, name).await
}

async fn add_session(conn: &mut SqliteConnection, session_id: &str, name: &str) {
    sqlx::query!(
        "INSERT INTO workflow_sessions (session_id, skill_name, pid, skill_id)
         VALUES (?1, ?2, 1, (SELECT id FROM skills WHERE name = ?2))",
        session_id,
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

async fn count(conn: &mut SqliteConnection, name: &str) -> i64 {
    sqlx::query_scalar!(
        r#"SELECT
            (SELECT COUNT(*) FROM skills WHERE name = ?1)
          + (SELECT COUNT(*) FROM workflow_runs WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM workflow_steps WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM workflow_artifacts WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM agent_runs WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM skill_tags WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM skill_locks WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM workflow_sessions WHERE skill_name = ?1)
          + (SELECT COUNT(*) FROM imported_skills WHERE skill_name = ?1) AS "n!: i64""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

// ---- operations.md §15 "Workflow runs" ----

#[tokio::test]
async fn save_then_get_returns_the_name_step_3_and_status_in_progress() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "my-skill",
        3,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    let run = get(&mut *t.conn().await, "my-skill").await;
    assert_eq!(run.skill_name, "my-skill");
    assert_eq!(run.current_step, 3);
    assert_eq!(run.status, WorkflowRunStatus::InProgress);
}

#[tokio::test]
async fn get_of_an_unknown_name_returns_none() {
    let t = common::open_temp().await;
    assert_eq!(
        workflow_runs::get_workflow_run(&mut *t.conn().await, "unknown")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn saving_the_same_name_again_updates_step_and_status_in_place() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        3,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    let first = get(&mut *t.conn().await, "s").await;
    save(
        &mut *t.conn().await,
        "s",
        5,
        WorkflowRunStatus::Completed,
        "domain",
    )
    .await;
    let run = get(&mut *t.conn().await, "s").await;
    assert_eq!(run.id, first.id);
    assert_eq!(run.current_step, 5);
    assert_eq!(run.status, WorkflowRunStatus::Completed);
    assert_eq!(
        workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn set_skill_author_stores_login_and_avatar() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    workflow_runs::set_skill_author(
        &mut *t.conn().await,
        "s",
        "octocat",
        Some("https://a/1.png"),
    )
    .await
    .unwrap();
    let run = get(&mut *t.conn().await, "s").await;
    assert_eq!(run.author_login.as_deref(), Some("octocat"));
    assert_eq!(run.author_avatar.as_deref(), Some("https://a/1.png"));
}

#[tokio::test]
async fn set_skill_author_with_no_avatar_stores_the_login_and_leaves_the_avatar_none() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    workflow_runs::set_skill_author(&mut *t.conn().await, "s", "octocat", None)
        .await
        .unwrap();
    let run = get(&mut *t.conn().await, "s").await;
    assert_eq!(run.author_login.as_deref(), Some("octocat"));
    assert_eq!(run.author_avatar, None);
}

#[tokio::test]
async fn a_freshly_saved_run_has_no_author_login_or_avatar() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    let run = get(&mut *t.conn().await, "s").await;
    assert_eq!((run.author_login, run.author_avatar), (None, None));
}

#[tokio::test]
async fn purpose_platform_given_to_save_is_returned_by_get() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "platform",
    )
    .await;
    assert_eq!(
        get(&mut *t.conn().await, "s").await.purpose.as_deref(),
        Some("platform")
    );
}

#[tokio::test]
async fn get_purpose_returns_domain_for_a_skill_without_a_run() {
    let t = common::open_temp().await;
    assert_eq!(
        workflow_runs::get_purpose(&mut *t.conn().await, "no-run")
            .await
            .unwrap(),
        "domain"
    );
}

#[tokio::test]
async fn get_purpose_returns_the_saved_purpose() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "source",
    )
    .await;
    assert_eq!(
        workflow_runs::get_purpose(&mut *t.conn().await, "s")
            .await
            .unwrap(),
        "source"
    );
}

#[tokio::test]
async fn list_all_workflow_runs_on_an_empty_store_is_empty() {
    let t = common::open_temp().await;
    assert!(
        workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn list_all_workflow_runs_returns_all_runs_ordered_by_name_with_their_step_purpose_and_status()
 {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "zulu",
        7,
        WorkflowRunStatus::Completed,
        "platform",
    )
    .await;
    save(
        &mut *t.conn().await,
        "alpha",
        3,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    let runs = workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
        .await
        .unwrap();
    let got: Vec<_> = runs
        .iter()
        .map(|r| {
            (
                r.skill_name.as_str(),
                r.current_step,
                r.purpose.as_deref(),
                r.status.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("alpha", 3, Some("domain"), WorkflowRunStatus::InProgress),
            ("zulu", 7, Some("platform"), WorkflowRunStatus::Completed),
        ]
    );
}

#[tokio::test]
async fn after_deleting_one_of_two_runs_the_list_holds_only_the_other() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "one",
        1,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    save(
        &mut *t.conn().await,
        "two",
        2,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    delete(&mut *t.conn().await, "one").await.unwrap();
    let runs = workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].skill_name, "two");
}

#[tokio::test]
async fn purpose_data_engineering_is_kept_when_the_run_is_resaved_with_a_new_step() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        1,
        WorkflowRunStatus::InProgress,
        "data-engineering",
    )
    .await;
    save(
        &mut *t.conn().await,
        "s",
        2,
        WorkflowRunStatus::InProgress,
        "data-engineering",
    )
    .await;
    let run = get(&mut *t.conn().await, "s").await;
    assert_eq!(run.current_step, 2);
    assert_eq!(run.purpose.as_deref(), Some("data-engineering"));
}

#[tokio::test]
async fn delete_workflow_run_removes_the_run_and_its_steps() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        1,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    workflow_steps::save_workflow_step(&mut *t.conn().await, "s", 0, &StepStatus::Completed)
        .await
        .unwrap();
    workflow_steps::save_workflow_step(&mut *t.conn().await, "s", 1, &StepStatus::InProgress)
        .await
        .unwrap();
    delete(&mut *t.conn().await, "s").await.unwrap();
    assert_eq!(
        workflow_runs::get_workflow_run(&mut *t.conn().await, "s")
            .await
            .unwrap(),
        None
    );
    let steps = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM workflow_steps WHERE skill_name = 's'"#
    )
    .fetch_one(&mut *t.conn().await)
    .await
    .unwrap();
    assert_eq!(steps, 0);
}

#[tokio::test]
async fn delete_workflow_run_also_removes_the_master_row() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    delete(&mut *t.conn().await, "s").await.unwrap();
    assert_eq!(
        skills::get_skill_master_id(&mut *t.conn().await, "s")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_workflow_run_removes_the_skills_tags() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    save(
        &mut *t.conn().await,
        "other",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    let mut conn = t.conn().await;
    tags::set_skill_tags(&mut conn, "s", &["a", "b"])
        .await
        .unwrap();
    tags::set_skill_tags(&mut conn, "other", &["c"])
        .await
        .unwrap();
    drop(conn);
    delete(&mut *t.conn().await, "s").await.unwrap();
    assert_eq!(
        tags::get_all_tags(&mut *t.conn().await).await.unwrap(),
        ["c"]
    );
}

#[tokio::test]
async fn delete_workflow_run_keeps_the_skills_workflow_sessions_detached() {
    // Issue 10 (was §15 "delete_workflow_run removes the skill's workflow sessions"):
    // sessions are usage history; they stay with their name and lose their link.
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    save(
        &mut *t.conn().await,
        "other",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    add_session(&mut *t.conn().await, "sess-1", "s").await;
    add_session(&mut *t.conn().await, "sess-2", "s").await;
    add_session(&mut *t.conn().await, "sess-3", "other").await;
    delete(&mut *t.conn().await, "s").await.unwrap();
    let left = sqlx::query!(
        r#"SELECT session_id AS "session_id!", skill_name, skill_id IS NOT NULL AS "linked!: bool"
           FROM workflow_sessions ORDER BY session_id"#
    )
    .fetch_all(&mut *t.conn().await)
    .await
    .unwrap();
    let left: Vec<_> = left
        .iter()
        .map(|r| (r.session_id.as_str(), r.skill_name.as_str(), r.linked))
        .collect();
    assert_eq!(
        left,
        [
            ("sess-1", "s", false),
            ("sess-2", "s", false),
            ("sess-3", "other", true)
        ]
    );
}

// ---- round trip, defaults, preservation ----

#[tokio::test]
async fn workflow_run_round_trips_every_field() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(
        &mut conn,
        "full",
        4,
        WorkflowRunStatus::from("archived"),
        "platform",
    )
    .await;
    let fresh = get(&mut conn, "full").await;
    // Column defaults on insert.
    assert_eq!(fresh.source, "created");
    assert_eq!(fresh.version.as_deref(), Some("1.0.0"));
    assert_eq!(fresh.user_invocable, Some(true));
    assert_eq!(fresh.disable_model_invocation, Some(false));
    assert_eq!(
        (fresh.description.as_deref(), fresh.model.as_deref()),
        (None, None)
    );
    assert_eq!(
        (fresh.display_name.as_deref(), fresh.intake_json.as_deref()),
        (None, None)
    );
    // `Z`-stamped SQLite time.
    for stamp in [&fresh.created_at, &fresh.updated_at] {
        assert_eq!(stamp.len(), 20, "{stamp}");
        assert!(stamp.ends_with('Z') && &stamp[10..11] == " ", "{stamp}");
    }

    workflow_runs::set_skill_author(&mut conn, "full", "octocat", Some("https://a/1"))
        .await
        .unwrap();
    workflow_runs::set_skill_display_name(&mut conn, "full", Some("Full Skill"))
        .await
        .unwrap();
    workflow_runs::set_skill_intake(&mut conn, "full", Some(r#"{"audience":"analysts"}"#))
        .await
        .unwrap();
    let behaviour = SkillBehaviour {
        description: Some("desc".into()),
        version: Some("2.1.0".into()),
        model: Some("opus".into()),
        argument_hint: Some("[topic]".into()),
        user_invocable: Some(false),
        disable_model_invocation: Some(true),
    };
    workflow_runs::set_skill_behaviour(&mut conn, "full", &behaviour)
        .await
        .unwrap();
    let run = get(&mut conn, "full").await;
    let expected = WorkflowRun {
        id: fresh.id,
        skill_id: skills::get_skill_master_id(&mut conn, "full")
            .await
            .unwrap(),
        skill_name: "full".into(),
        current_step: 4,
        status: WorkflowRunStatus::Other("archived".into()),
        purpose: Some("platform".into()),
        created_at: fresh.created_at.clone(),
        updated_at: run.updated_at.clone(),
        author_login: Some("octocat".into()),
        author_avatar: Some("https://a/1".into()),
        display_name: Some("Full Skill".into()),
        intake_json: Some(r#"{"audience":"analysts"}"#.into()),
        source: "created".into(),
        description: Some("desc".into()),
        version: Some("2.1.0".into()),
        model: Some("opus".into()),
        argument_hint: Some("[topic]".into()),
        user_invocable: Some(false),
        disable_model_invocation: Some(true),
    };
    assert_eq!(run, expected);
    assert!(expected.skill_id.is_some());
    let listed = workflow_runs::list_all_workflow_runs(&mut conn)
        .await
        .unwrap();
    assert_eq!(listed, std::slice::from_ref(&expected));

    // Re-saving keeps created_at, author, display name, intake and frontmatter.
    save(&mut conn, "full", 5, WorkflowRunStatus::Completed, "domain").await;
    let resaved = get(&mut conn, "full").await;
    assert_eq!(
        resaved,
        WorkflowRun {
            current_step: 5,
            status: WorkflowRunStatus::Completed,
            purpose: Some("domain".into()),
            updated_at: resaved.updated_at.clone(),
            ..expected
        }
    );
}

#[tokio::test]
async fn null_purpose_reads_as_none_and_get_purpose_falls_back_to_domain() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    sqlx::query!("UPDATE workflow_runs SET purpose = NULL, author_login = NULL")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(get(&mut *t.conn().await, "s").await.purpose, None);
    assert_eq!(
        workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
            .await
            .unwrap()[0]
            .purpose,
        None
    );
    assert_eq!(
        workflow_runs::get_purpose(&mut *t.conn().await, "s")
            .await
            .unwrap(),
        "domain"
    );
}

#[tokio::test]
async fn null_master_link_and_frontmatter_read_as_none() {
    let t = common::open_temp().await;
    sqlx::query!(
        "INSERT INTO workflow_runs (skill_name, user_invocable, disable_model_invocation, version)
         VALUES ('bare', NULL, 5, NULL)"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let run = get(&mut *t.conn().await, "bare").await;
    assert_eq!(run.skill_id, None);
    assert_eq!(run.user_invocable, None);
    assert_eq!(run.disable_model_invocation, Some(true));
    assert_eq!(run.version, None);
    assert_eq!(run.status, WorkflowRunStatus::Pending);
    assert_eq!(run.purpose.as_deref(), Some("domain"));
}

#[tokio::test]
async fn save_workflow_run_keeps_the_source_of_an_existing_marketplace_skill() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_marketplace_skill(&mut conn, "m", "domain")
        .await
        .unwrap();
    workflow_runs::save_workflow_run(&mut conn, "m", 0, &WorkflowRunStatus::Pending, "platform")
        .await
        .unwrap();
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.skill_source, SkillSource::Marketplace);
    assert_eq!(s.purpose.as_deref(), Some("platform"));
    // The marketplace re-save keeps its source too.
    workflow_runs::save_marketplace_skill(&mut conn, "m", "domain")
        .await
        .unwrap();
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.skill_source, SkillSource::Marketplace);
}

#[tokio::test]
async fn setters_without_a_run_row_are_no_ops() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::set_skill_author(&mut conn, "none", "x", None)
        .await
        .unwrap();
    workflow_runs::set_skill_display_name(&mut conn, "none", Some("x"))
        .await
        .unwrap();
    workflow_runs::set_skill_intake(&mut conn, "none", Some("{}"))
        .await
        .unwrap();
    workflow_runs::set_skill_behaviour(&mut conn, "none", &SkillBehaviour::default())
        .await
        .unwrap();
    workflow_runs::set_skill_purpose(&mut conn, "none", "x")
        .await
        .unwrap();
    assert_eq!(count(&mut conn, "none").await, 0);
}

#[tokio::test]
async fn display_name_and_intake_can_be_cleared_and_bump_updated_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 0, WorkflowRunStatus::Pending, "domain").await;
    workflow_runs::set_skill_display_name(&mut conn, "s", Some("Name"))
        .await
        .unwrap();
    workflow_runs::set_skill_intake(&mut conn, "s", Some("{}"))
        .await
        .unwrap();
    sqlx::query!("UPDATE workflow_runs SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    workflow_runs::set_skill_display_name(&mut conn, "s", None)
        .await
        .unwrap();
    let run = get(&mut conn, "s").await;
    assert_eq!(run.display_name, None);
    assert_eq!(run.intake_json.as_deref(), Some("{}"));
    assert_ne!(run.updated_at, "old");
    sqlx::query!("UPDATE workflow_runs SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    workflow_runs::set_skill_intake(&mut conn, "s", None)
        .await
        .unwrap();
    let run = get(&mut conn, "s").await;
    assert_eq!(run.intake_json, None);
    assert_ne!(run.updated_at, "old");
    // set_skill_author leaves updated_at alone.
    sqlx::query!("UPDATE workflow_runs SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    workflow_runs::set_skill_author(&mut conn, "s", "me", None)
        .await
        .unwrap();
    assert_eq!(get(&mut conn, "s").await.updated_at, "old");
}

#[tokio::test]
async fn set_skill_behaviour_overwrites_given_fields_keeps_absent_ones_on_master_and_run() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 0, WorkflowRunStatus::Pending, "domain").await;
    let first = SkillBehaviour {
        description: Some("d1".into()),
        model: Some("sonnet".into()),
        user_invocable: Some(false),
        ..SkillBehaviour::default()
    };
    workflow_runs::set_skill_behaviour(&mut conn, "s", &first)
        .await
        .unwrap();
    sqlx::query!("UPDATE workflow_runs SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query!("UPDATE skills SET updated_at = 'old'")
        .execute(&mut *conn)
        .await
        .unwrap();
    // Every field absent: nothing changes but both updated_at are bumped.
    workflow_runs::set_skill_behaviour(&mut conn, "s", &SkillBehaviour::default())
        .await
        .unwrap();
    let second = SkillBehaviour {
        version: Some("3.0.0".into()),
        ..SkillBehaviour::default()
    };
    workflow_runs::set_skill_behaviour(&mut conn, "s", &second)
        .await
        .unwrap();
    let master = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    let run = get(&mut conn, "s").await;
    assert_eq!(master.description.as_deref(), Some("d1"));
    assert_eq!(master.model.as_deref(), Some("sonnet"));
    assert_eq!(master.version.as_deref(), Some("3.0.0"));
    assert_eq!(master.user_invocable, Some(false));
    assert_eq!(master.disable_model_invocation, None);
    assert_eq!(run.description.as_deref(), Some("d1"));
    assert_eq!(run.model.as_deref(), Some("sonnet"));
    assert_eq!(run.version.as_deref(), Some("3.0.0"));
    assert_eq!(run.user_invocable, Some(false));
    assert_eq!(
        run.disable_model_invocation,
        Some(false),
        "run column default kept"
    );
    assert_ne!(master.updated_at, "old");
    assert!(!master.updated_at.ends_with('Z'));
    assert!(run.updated_at.ends_with('Z'));
}

#[tokio::test]
async fn set_skill_behaviour_reaches_a_catalogue_only_skill() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_marketplace_skill(&mut conn, "m", "domain")
        .await
        .unwrap();
    let b = SkillBehaviour {
        argument_hint: Some("[x]".into()),
        disable_model_invocation: Some(true),
        ..SkillBehaviour::default()
    };
    workflow_runs::set_skill_behaviour(&mut conn, "m", &b)
        .await
        .unwrap();
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.argument_hint.as_deref(), Some("[x]"));
    assert_eq!(s.disable_model_invocation, Some(true));
}

#[tokio::test]
async fn set_skill_purpose_updates_run_and_master() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 0, WorkflowRunStatus::Pending, "domain").await;
    workflow_runs::set_skill_purpose(&mut conn, "s", "platform")
        .await
        .unwrap();
    assert_eq!(
        workflow_runs::get_purpose(&mut conn, "s").await.unwrap(),
        "platform"
    );
    let s = skills::list_all_skills(&mut conn).await.unwrap().remove(0);
    assert_eq!(s.purpose.as_deref(), Some("platform"));
}

// ---- errors ----

#[tokio::test]
async fn delete_workflow_run_of_an_unknown_skill_is_not_found_workflow_run() {
    let t = common::open_temp().await;
    let err = delete(&mut *t.conn().await, "nope").await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::WorkflowRun, key } if key == "nope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn delete_workflow_run_is_not_idempotent() {
    let t = common::open_temp().await;
    save(
        &mut *t.conn().await,
        "s",
        0,
        WorkflowRunStatus::Pending,
        "domain",
    )
    .await;
    delete(&mut *t.conn().await, "s").await.unwrap();
    let err = delete(&mut *t.conn().await, "s").await.unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            entity: Entity::WorkflowRun,
            ..
        }
    ));
}

#[tokio::test]
async fn delete_workflow_run_without_a_master_row_is_not_found_skill_and_deletes_nothing() {
    let t = common::open_temp().await;
    sqlx::query!("INSERT INTO workflow_runs (skill_name) VALUES ('masterless')")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    // Written by hand: save_workflow_step refuses a name without a master row.
    sqlx::query!("INSERT INTO workflow_steps (skill_name, step_id) VALUES ('masterless', 0)")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    let err = delete(&mut *t.conn().await, "masterless")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "masterless"),
        "{err:?}"
    );
    assert_eq!(count(&mut *t.conn().await, "masterless").await, 2);
}

#[tokio::test]
async fn a_catalogue_only_skill_cannot_be_deleted_through_delete_workflow_run() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_marketplace_skill(&mut conn, "m", "domain")
        .await
        .unwrap();
    drop(conn);
    let err = delete(&mut *t.conn().await, "m").await.unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            entity: Entity::WorkflowRun,
            ..
        }
    ));
    assert!(
        skills::get_skill_master_id(&mut *t.conn().await, "m")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn invalid_inputs_are_refused_before_anything_is_written() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let pending = WorkflowRunStatus::Pending;
    let err = workflow_runs::save_workflow_run(&mut conn, " ", 0, &pending, "domain")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty {
            field: "skill_name"
        })
    ));
    let err = workflow_runs::save_workflow_run(&mut conn, "s", 0, &pending, "do\0main")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "purpose" })
    ));
    let err = workflow_runs::save_workflow_run(&mut conn, "s", 0, &"a\0".into(), "domain")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "status" })
    ));
    let err = workflow_runs::save_marketplace_skill(&mut conn, "", "domain")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
    let err = workflow_runs::delete_workflow_run(&mut conn, "")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
    let err = workflow_runs::set_skill_purpose(&mut conn, "s", "\0")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { .. })
    ));
    let bad = SkillBehaviour {
        model: Some("op\0us".into()),
        ..SkillBehaviour::default()
    };
    let err = workflow_runs::set_skill_behaviour(&mut conn, "s", &bad)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "model" })
    ));
    let err = workflow_runs::set_skill_author(&mut conn, "s", "me", Some("\0"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul {
            field: "author_avatar"
        })
    ));
    assert!(skills::list_all_skills(&mut conn).await.unwrap().is_empty());
}

// ---- §14.1 / §14.6: the cascade also removes NULL-linked rows (usage history stays) ----

#[tokio::test]
async fn delete_workflow_run_removes_rows_carrying_the_name_with_a_null_link() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 2, WorkflowRunStatus::InProgress, "domain").await;
    save(
        &mut conn,
        "keep",
        2,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    sqlx::query!(
        "INSERT INTO workspace_skills (skill_id, skill_name, disk_path) VALUES ('w', 's', '/w')"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    for name in ["s", "keep"] {
        // NULL links, as the existing layer left them: steps saved before the run,
        // agent runs (never linked), sessions/locks/imported rows before the master.
        sqlx::query!(
            "INSERT INTO workflow_steps (skill_name, step_id, status) VALUES (?1, 0, 'completed')",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query!(
            "INSERT INTO workflow_artifacts (skill_name, step_id, relative_path, content)
             VALUES (?1, 0, 'a.md', 'x')",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query!(
            "INSERT INTO agent_runs (agent_id, skill_name, step_id, model)
             VALUES ('agent-' || ?1, ?1, 0, 'opus')",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query!(
            "INSERT INTO skill_locks (skill_name, instance_id, pid) VALUES (?1, 'i', 1)",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query!(
            "INSERT INTO imported_skills (skill_id, skill_name, disk_path)
             VALUES ('imp-' || ?1, ?1, '/p')",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query!(
            "INSERT INTO skill_tags (skill_name, tag) VALUES (?1, 'orphan')",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        add_session(&mut conn, &format!("sess-{name}"), name).await;
        sqlx::query!(
            "UPDATE workflow_sessions SET skill_id = NULL WHERE skill_name = ?1",
            name
        )
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let before_keep = count(&mut conn, "keep").await;
    assert_eq!(before_keep, 9);
    delete(&mut conn, "s").await.unwrap();
    // Only the usage history stays: the agent run and the workflow session (issue 10).
    assert_eq!(count(&mut conn, "s").await, 2);
    assert_eq!(count(&mut conn, "keep").await, before_keep);
    let ws = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM workspace_skills"#)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(ws, 1, "workspace_skills untouched");
}

#[tokio::test]
async fn delete_workflow_run_is_one_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 1, WorkflowRunStatus::InProgress, "domain").await;
    workflow_steps::save_workflow_step(&mut conn, "s", 0, &StepStatus::Completed)
        .await
        .unwrap();
    artifacts::upsert_artifact(&mut conn, "s", 0, "a.md", "x")
        .await
        .unwrap();
    tags::set_skill_tags(&mut conn, "s", &["t"]).await.unwrap();
    add_session(&mut conn, "sess", "s").await;
    let before = count(&mut conn, "s").await;
    sqlx::query!(
        "CREATE TRIGGER refuse_run_delete BEFORE DELETE ON workflow_runs
         BEGIN SELECT RAISE(ABORT, 'run delete refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = delete(&mut conn, "s").await.unwrap_err();
    assert!(err.to_string().contains("run delete refused"), "{err}");
    assert_eq!(count(&mut conn, "s").await, before);
    assert_eq!(
        workflow_steps::get_workflow_steps(&mut conn, "s")
            .await
            .unwrap()
            .len(),
        1
    );
}

// ---- atomicity of the other multi-statement writes ----

#[tokio::test]
async fn save_workflow_run_is_one_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query!(
        "CREATE TRIGGER refuse_run_insert BEFORE INSERT ON workflow_runs
         BEGIN SELECT RAISE(ABORT, 'run insert refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = workflow_runs::save_workflow_run(&mut conn, "s", 0, &WorkflowRunStatus::Pending, "d")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("run insert refused"), "{err}");
    assert_eq!(
        skills::get_skill_master_id(&mut conn, "s").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn save_workflow_run_takes_part_in_the_callers_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // One statement: the writer connection will do, outside any transaction.
    workflow_runs::save_workflow_run(&mut conn, "kept", 1, &WorkflowRunStatus::Pending, "d")
        .await
        .unwrap();
    drop(conn);
    let mut tx = t.db.begin().await.unwrap();
    workflow_runs::save_workflow_run(&mut tx, "s", 2, &WorkflowRunStatus::InProgress, "d")
        .await
        .unwrap();
    workflow_runs::save_workflow_run(&mut tx, "kept", 4, &WorkflowRunStatus::InProgress, "e")
        .await
        .unwrap();
    let inside = workflow_runs::get_workflow_run(&mut tx, "s").await.unwrap();
    assert_eq!(inside.map(|r| r.current_step), Some(2));
    tx.rollback().await.unwrap();
    assert_eq!(
        skills::get_skill_master_id(&mut *t.conn().await, "s")
            .await
            .unwrap(),
        None
    );
    assert!(
        workflow_runs::get_workflow_run(&mut *t.conn().await, "s")
            .await
            .unwrap()
            .is_none()
    );
    let kept = workflow_runs::get_workflow_run(&mut *t.conn().await, "kept")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kept.current_step, kept.purpose.as_deref()), (1, Some("d")));
}

#[tokio::test]
async fn set_skill_behaviour_and_set_skill_purpose_are_one_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save(&mut conn, "s", 0, WorkflowRunStatus::Pending, "domain").await;
    sqlx::query!(
        "CREATE TRIGGER refuse_run_update BEFORE UPDATE ON workflow_runs
         BEGIN SELECT RAISE(ABORT, 'run update refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let b = SkillBehaviour {
        description: Some("new".into()),
        ..SkillBehaviour::default()
    };
    let err = workflow_runs::set_skill_behaviour(&mut conn, "s", &b)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("run update refused"), "{err}");
    // set_skill_purpose updates the run first, so make the master update fail instead.
    sqlx::query!("DROP TRIGGER IF EXISTS refuse_run_update")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query!(
        "CREATE TRIGGER refuse_master_update BEFORE UPDATE ON skills
         BEGIN SELECT RAISE(ABORT, 'master update refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = workflow_runs::set_skill_purpose(&mut conn, "s", "platform")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("master update refused"), "{err}");
    let master = skills::list_all_skills(&mut conn).await.unwrap().remove(0);
    assert_eq!(
        master.description, None,
        "master update of behaviour rolled back"
    );
    assert_eq!(master.purpose.as_deref(), Some("domain"));
    assert_eq!(
        workflow_runs::get_purpose(&mut conn, "s").await.unwrap(),
        "domain"
    );
}

// ---- issue 10: a created run adopts nothing (was §14.6 adoption) ----

#[tokio::test]
async fn save_workflow_run_adopts_no_rows_written_before_it() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // Steps and artifacts cannot be written for a name without a master row.
    let err = workflow_steps::save_workflow_step(&mut conn, "early", 0, &StepStatus::Completed)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Skill,
                ..
            }
        ),
        "{err:?}"
    );
    let err = artifacts::upsert_artifact(&mut conn, "early", 0, "a.md", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Skill,
                ..
            }
        ),
        "{err:?}"
    );
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model) VALUES ('a1', 'early', 0, 'opus'),
                ('a2', 'other', 0, 'opus')"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    save(
        &mut conn,
        "early",
        1,
        WorkflowRunStatus::InProgress,
        "domain",
    )
    .await;
    assert!(
        workflow_steps::get_workflow_steps(&mut conn, "early")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        artifacts::list_artifacts(&mut conn, "early", None)
            .await
            .unwrap()
            .is_empty()
    );
    let agent_links = sqlx::query!(
        r#"SELECT agent_id, workflow_run_id AS "run: skill_builder_db::model::WorkflowRunId"
           FROM agent_runs ORDER BY agent_id"#
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        agent_links[0].run, None,
        "the early agent run stays detached"
    );
    assert_eq!(agent_links[1].run, None);
}

// ---- legacy files ----

#[tokio::test]
async fn legacy_workflow_runs_read_back_as_stored() {
    for fixture in [
        "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
    ] {
        let t = common::open_legacy(fixture).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../tests/fixtures/legacy/{fixture}.expected.json"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut expected = json["workflow_runs"]["rows"].as_array().unwrap().clone();
        expected.sort_by(|a, b| a["skill_name"].as_str().cmp(&b["skill_name"].as_str()));
        let runs = workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
            .await
            .unwrap();
        assert_eq!(runs.len(), expected.len(), "{fixture}");
        for (r, e) in runs.iter().zip(&expected) {
            assert_eq!(r.id.get(), e["id"].as_i64().unwrap(), "{fixture}");
            assert_eq!(
                r.skill_id.map(|i| i.get()),
                e["skill_id"].as_i64(),
                "{fixture}"
            );
            assert_eq!(Some(r.skill_name.as_str()), e["skill_name"].as_str());
            assert_eq!(
                Some(r.current_step),
                e["current_step"].as_i64(),
                "{fixture}"
            );
            assert_eq!(Some(r.status.as_str()), e["status"].as_str(), "{fixture}");
            assert_eq!(r.purpose.as_deref(), e["purpose"].as_str(), "{fixture}");
            assert_eq!(r.author_login.as_deref(), e["author_login"].as_str());
            assert_eq!(r.intake_json.as_deref(), e["intake_json"].as_str());
            assert_eq!(r.version.as_deref(), e["version"].as_str(), "{fixture}");
            assert_eq!(Some(r.source.as_str()), e["source"].as_str(), "{fixture}");
            assert_eq!(
                r.user_invocable,
                e["user_invocable"].as_i64().map(|v| v != 0),
                "{fixture}"
            );
            if e["created_at"] != "<now>" {
                assert_eq!(Some(r.created_at.as_str()), e["created_at"].as_str());
            }
            let one = get(&mut *t.conn().await, &r.skill_name).await;
            assert_eq!(&one, r);
            let purpose = workflow_runs::get_purpose(&mut *t.conn().await, &r.skill_name)
                .await
                .unwrap();
            assert_eq!(
                Some(purpose.as_str()),
                r.purpose.as_deref().or(Some("domain"))
            );
        }
    }
}
