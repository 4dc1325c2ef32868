//! The skills master catalogue: upserts, listing, the delete cascade (keeping usage
//! history), no NULL-link adoption.

use crate::common;

use skill_builder_db::model::{
    SkillBehaviour, SkillId, SkillSource, StepStatus, WorkflowRunStatus,
};
use skill_builder_db::{
    Error, InvalidInput, artifacts, skills, tags, workflow_runs, workflow_steps,
};
use sqlx::SqliteConnection;

async fn count_rows(conn: &mut SqliteConnection, name: &str) -> [i64; 9] {
    let r = sqlx::query!(
        r#"SELECT
            (SELECT COUNT(*) FROM skills WHERE name = ?1) AS "skills!: i64",
            (SELECT COUNT(*) FROM workflow_runs WHERE skill_name = ?1) AS "runs!: i64",
            (SELECT COUNT(*) FROM workflow_steps WHERE skill_name = ?1) AS "steps!: i64",
            (SELECT COUNT(*) FROM workflow_artifacts WHERE skill_name = ?1) AS "artifacts!: i64",
            (SELECT COUNT(*) FROM agent_runs WHERE skill_name = ?1) AS "agent_runs!: i64",
            (SELECT COUNT(*) FROM skill_tags WHERE skill_name = ?1) AS "tags!: i64",
            (SELECT COUNT(*) FROM skill_locks WHERE skill_name = ?1) AS "locks!: i64",
            (SELECT COUNT(*) FROM workflow_sessions WHERE skill_name = ?1) AS "sessions!: i64",
            (SELECT COUNT(*) FROM imported_skills WHERE skill_name = ?1) AS "imported!: i64""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    [
        r.skills,
        r.runs,
        r.steps,
        r.artifacts,
        r.agent_runs,
        r.tags,
        r.locks,
        r.sessions,
        r.imported,
    ]
}

/// Rows in the tables of the other modules, written by hand (lock, session, imported
/// row, agent run), with their links resolved from the name as those modules do.
async fn add_foreign_rows(conn: &mut SqliteConnection, name: &str) {
    sqlx::query!(
        "INSERT INTO skill_locks (skill_name, instance_id, pid, skill_id)
         VALUES (?1, 'inst', 1, (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
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
        "INSERT INTO imported_skills (skill_id, skill_name, disk_path, skill_master_id)
         VALUES ('imp-' || ?1, ?1, '/p', (SELECT id FROM skills WHERE name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, workflow_run_id)
         VALUES ('agent-' || ?1, ?1, 0, 'sonnet',
                 (SELECT id FROM workflow_runs WHERE skill_name = ?1))",
        name
    )
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// What [`count_rows`] shows after a delete: only the usage history (one agent run,
/// one workflow session) stays.
const HISTORY_ONLY: [i64; 9] = [0, 0, 0, 0, 1, 0, 0, 1, 0];

/// (agent runs, workflow sessions) carrying the name with a NULL link.
async fn detached_history(conn: &mut SqliteConnection, name: &str) -> (i64, i64) {
    let r = sqlx::query!(
        r#"SELECT
            (SELECT COUNT(*) FROM agent_runs
             WHERE skill_name = ?1 AND workflow_run_id IS NULL) AS "runs!: i64",
            (SELECT COUNT(*) FROM workflow_sessions
             WHERE skill_name = ?1 AND skill_id IS NULL) AS "sessions!: i64""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    (r.runs, r.sessions)
}

async fn upsert(conn: &mut SqliteConnection, name: &str, source: SkillSource) -> SkillId {
    skills::upsert_skill(conn, name, &source, Some("domain"))
        .await
        .unwrap()
}

// ---- operations.md §15 "Skills master" ----

#[tokio::test]
async fn upsert_skill_on_a_new_name_returns_a_positive_id_and_the_row_lists_with_source_skill_builder()
 {
    let t = common::open_temp().await;
    let id = upsert(&mut *t.conn().await, "new-skill", SkillSource::SkillBuilder).await;
    assert!(id.get() > 0);
    let all = skills::list_all_skills(&mut *t.conn().await).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].name, "new-skill");
    assert_eq!(all[0].skill_source, SkillSource::SkillBuilder);
}

#[tokio::test]
async fn upserting_the_same_name_twice_returns_the_same_id() {
    let t = common::open_temp().await;
    let a = upsert(&mut *t.conn().await, "twice", SkillSource::SkillBuilder).await;
    let b = upsert(&mut *t.conn().await, "twice", SkillSource::SkillBuilder).await;
    assert_eq!(a, b);
    assert_eq!(
        skills::list_all_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn list_all_skills_on_an_empty_store_is_empty() {
    let t = common::open_temp().await;
    assert!(
        skills::list_all_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn list_all_skills_is_ordered_by_name_and_reports_each_rows_own_source() {
    let t = common::open_temp().await;
    upsert(&mut *t.conn().await, "zeta", SkillSource::Marketplace).await;
    upsert(&mut *t.conn().await, "alpha", SkillSource::SkillBuilder).await;
    upsert(&mut *t.conn().await, "mid", SkillSource::Imported).await;
    let all = skills::list_all_skills(&mut *t.conn().await).await.unwrap();
    let got: Vec<_> = all
        .iter()
        .map(|s| (s.name.as_str(), s.skill_source.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("alpha", SkillSource::SkillBuilder),
            ("mid", SkillSource::Imported),
            ("zeta", SkillSource::Marketplace),
        ]
    );
}

#[tokio::test]
async fn delete_skill_removes_the_row() {
    let t = common::open_temp().await;
    upsert(&mut *t.conn().await, "doomed", SkillSource::SkillBuilder).await;
    let mut conn = t.conn().await;
    skills::delete_skill(&mut conn, "doomed").await.unwrap();
    assert_eq!(
        skills::get_skill_master_id(&mut *conn, "doomed")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_skill_of_an_unknown_name_succeeds() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    skills::delete_skill(&mut conn, "never-existed")
        .await
        .unwrap();
}

#[tokio::test]
async fn save_marketplace_skill_creates_a_master_row_with_source_marketplace_and_no_workflow_run() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_marketplace_skill(&mut conn, "from-market", "domain")
        .await
        .unwrap();
    let all = skills::list_all_skills(&mut *conn).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].skill_source, SkillSource::Marketplace);
    assert_eq!(all[0].purpose.as_deref(), Some("domain"));
    assert_eq!(
        workflow_runs::get_workflow_run(&mut *conn, "from-market")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        skills::get_workflow_run_id(&mut *conn, "from-market")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn save_workflow_run_creates_a_master_row_with_source_skill_builder() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_workflow_run(&mut conn, "built", 0, &WorkflowRunStatus::Pending, "domain")
        .await
        .unwrap();
    let all = skills::list_all_skills(&mut *conn).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "built");
    assert_eq!(all[0].skill_source, SkillSource::SkillBuilder);
}

// ---- upsert semantics ----

#[tokio::test]
async fn skill_round_trips_every_field_through_list_all_skills() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = skills::upsert_skill(&mut conn, "full", &SkillSource::Imported, Some("research"))
        .await
        .unwrap();
    let behaviour = SkillBehaviour {
        description: Some("Does things".into()),
        version: Some("2.0.0".into()),
        model: Some("opus".into()),
        argument_hint: Some("[file]".into()),
        user_invocable: Some(false),
        disable_model_invocation: Some(true),
    };
    workflow_runs::set_skill_behaviour(&mut conn, "full", &behaviour)
        .await
        .unwrap();
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.id, id);
    assert_eq!(s.name, "full");
    assert_eq!(s.skill_source, SkillSource::Imported);
    assert_eq!(s.purpose.as_deref(), Some("research"));
    assert_eq!(s.description.as_deref(), Some("Does things"));
    assert_eq!(s.version.as_deref(), Some("2.0.0"));
    assert_eq!(s.model.as_deref(), Some("opus"));
    assert_eq!(s.argument_hint.as_deref(), Some("[file]"));
    assert_eq!(s.user_invocable, Some(false));
    assert_eq!(s.disable_model_invocation, Some(true));
    // Plain SQLite time, no `Z`: `YYYY-MM-DD HH:MM:SS`.
    for stamp in [&s.created_at, &s.updated_at] {
        assert_eq!(stamp.len(), 19, "{stamp}");
        assert_eq!(&stamp[10..11], " ", "{stamp}");
        assert!(!stamp.ends_with('Z'), "{stamp}");
    }
}

#[tokio::test]
async fn null_and_non_zero_booleans_read_through_the_bool_overrides() {
    let t = common::open_temp().await;
    let id = upsert(&mut *t.conn().await, "flags", SkillSource::SkillBuilder).await;
    let s = skills::list_all_skills(&mut *t.conn().await)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((s.user_invocable, s.disable_model_invocation), (None, None));
    assert_eq!(s.description, None);
    sqlx::query!(
        "UPDATE skills SET user_invocable = 2, disable_model_invocation = 0 WHERE id = ?",
        id
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let s = skills::list_all_skills(&mut *t.conn().await)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s.user_invocable, Some(true));
    assert_eq!(s.disable_model_invocation, Some(false));
}

#[tokio::test]
async fn upsert_skill_keeps_source_frontmatter_and_created_at_but_updates_purpose() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = skills::upsert_skill(&mut conn, "kept", &SkillSource::Marketplace, Some("domain"))
        .await
        .unwrap();
    sqlx::query!(
        "UPDATE skills SET created_at = '2020-01-01 00:00:00', updated_at = '2020-01-01 00:00:00',
                           version = '9.9.9' WHERE id = ?",
        id
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let again = skills::upsert_skill(
        &mut conn,
        "kept",
        &SkillSource::SkillBuilder,
        Some("platform"),
    )
    .await
    .unwrap();
    assert_eq!(again, id);
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.skill_source, SkillSource::Marketplace);
    assert_eq!(s.purpose.as_deref(), Some("platform"));
    assert_eq!(s.version.as_deref(), Some("9.9.9"));
    assert_eq!(s.created_at, "2020-01-01 00:00:00");
    assert_ne!(s.updated_at, "2020-01-01 00:00:00");
    // A `None` purpose clears it.
    skills::upsert_skill(&mut conn, "kept", &SkillSource::Marketplace, None)
        .await
        .unwrap();
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.purpose, None);
}

#[tokio::test]
async fn upsert_skill_with_source_overwrites_the_source() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = skills::upsert_skill(&mut conn, "reclass", &SkillSource::Marketplace, None)
        .await
        .unwrap();
    let again =
        skills::upsert_skill_with_source(&mut conn, "reclass", &SkillSource::Imported, Some("x"))
            .await
            .unwrap();
    assert_eq!(again, id);
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.skill_source, SkillSource::Imported);
    assert_eq!(s.purpose.as_deref(), Some("x"));
    // And it creates like the plain upsert.
    let new = skills::upsert_skill_with_source(&mut conn, "fresh", &SkillSource::Imported, None)
        .await
        .unwrap();
    assert_ne!(new, id);
}

#[tokio::test]
async fn a_source_outside_the_allowed_values_is_refused_even_for_an_existing_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let bogus = SkillSource::from("bogus");
    let err = skills::upsert_skill(&mut conn, "new-one", &bogus, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::NotAllowed { field: "skill_source", allowed })
                if allowed == ["skill-builder", "marketplace", "imported"]
        ),
        "{err:?}"
    );
    assert!(
        skills::list_all_skills(&mut *conn)
            .await
            .unwrap()
            .is_empty()
    );

    skills::upsert_skill(&mut conn, "existing", &SkillSource::Marketplace, Some("a"))
        .await
        .unwrap();
    for result in [
        skills::upsert_skill(&mut conn, "existing", &bogus, Some("b")).await,
        skills::upsert_skill_with_source(&mut conn, "existing", &bogus, Some("b")).await,
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(InvalidInput::NotAllowed { .. })),
            "{err:?}"
        );
    }
    let s = skills::list_all_skills(&mut *conn).await.unwrap().remove(0);
    assert_eq!(s.purpose.as_deref(), Some("a"));
    assert_eq!(s.skill_source, SkillSource::Marketplace);
}

#[tokio::test]
async fn invalid_names_are_refused_before_anything_is_written() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let src = SkillSource::SkillBuilder;
    for name in ["", "   \t"] {
        let err = skills::upsert_skill(&mut conn, name, &src, None)
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
        let err = skills::delete_skill(&mut conn, name).await.unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty { .. })
        ));
    }
    let err = skills::upsert_skill_with_source(&mut conn, "a\0b", &src, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::ContainsNul {
                field: "skill_name"
            })
        ),
        "{err:?}"
    );
    let err = skills::upsert_skill(&mut conn, "ok", &src, Some("p\0"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "purpose" })
    ));
    assert!(
        skills::list_all_skills(&mut *conn)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn id_lookups_return_none_for_unknown_names_and_the_ids_otherwise() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    assert_eq!(
        skills::get_skill_master_id(&mut conn, "x").await.unwrap(),
        None
    );
    assert_eq!(
        skills::get_workflow_run_id(&mut conn, "x").await.unwrap(),
        None
    );
    workflow_runs::save_workflow_run(&mut conn, "x", 1, &WorkflowRunStatus::Pending, "domain")
        .await
        .unwrap();
    let master = skills::get_skill_master_id(&mut conn, "x")
        .await
        .unwrap()
        .unwrap();
    let run = skills::get_workflow_run_id(&mut conn, "x")
        .await
        .unwrap()
        .unwrap();
    let stored = workflow_runs::get_workflow_run(&mut conn, "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, run);
    assert_eq!(stored.skill_id, Some(master));
}

#[tokio::test]
async fn get_dashboard_skill_names_lists_every_master_name() {
    let t = common::open_temp().await;
    assert!(
        skills::get_dashboard_skill_names(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
    upsert(&mut *t.conn().await, "b", SkillSource::Marketplace).await;
    upsert(&mut *t.conn().await, "a", SkillSource::Imported).await;
    assert_eq!(
        skills::get_dashboard_skill_names(&mut *t.conn().await)
            .await
            .unwrap(),
        ["a", "b"]
    );
}

#[tokio::test]
async fn upsert_skill_composes_inside_a_callers_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let mut tx = skill_builder_db::tx::begin_immediate(&mut conn)
        .await
        .unwrap();
    skills::upsert_skill(&mut tx, "inside", &SkillSource::SkillBuilder, None)
        .await
        .unwrap();
    assert!(
        skills::get_skill_master_id(&mut *tx, "inside")
            .await
            .unwrap()
            .is_some()
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        skills::get_skill_master_id(&mut *conn, "inside")
            .await
            .unwrap(),
        None
    );
}

// ---- issue 10: a created master row adopts nothing (was §14.6 adoption) ----

#[tokio::test]
async fn creating_a_master_row_adopts_no_rows_that_carry_its_name_with_a_null_link() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // Written while "late" has no master row: every link resolves to NULL.
    add_foreign_rows(&mut conn, "late").await;
    sqlx::query!("INSERT INTO skill_tags (skill_name, tag) VALUES ('late', 'x')")
        .execute(&mut *conn)
        .await
        .unwrap();
    upsert(&mut conn, "late", SkillSource::Imported).await;
    let links = sqlx::query!(
        r#"SELECT
            (SELECT skill_id FROM skill_tags WHERE skill_name = ?1) AS "tag: SkillId",
            (SELECT skill_id FROM skill_locks WHERE skill_name = ?1) AS "lock: SkillId",
            (SELECT skill_id FROM workflow_sessions WHERE skill_name = ?1) AS "session: SkillId",
            (SELECT skill_master_id FROM imported_skills WHERE skill_name = ?1) AS "imported: SkillId""#,
        "late"
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        (links.tag, links.lock, links.session, links.imported),
        (None, None, None, None),
        "rows that carried the name stay unlinked"
    );
}

#[tokio::test]
async fn a_run_row_without_master_link_stays_unlinked_when_the_master_row_is_created() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query!("INSERT INTO workflow_runs (skill_name) VALUES ('orphan-run')")
        .execute(&mut *conn)
        .await
        .unwrap();
    upsert(&mut conn, "orphan-run", SkillSource::SkillBuilder).await;
    let run = workflow_runs::get_workflow_run(&mut conn, "orphan-run")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.skill_id, None);
}

// ---- §14.7: delete_skill is a full cascade ----

#[tokio::test]
async fn delete_skill_removes_a_catalogue_skill_with_tags_lock_session_and_imported_row() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_marketplace_skill(&mut conn, "market", "domain")
        .await
        .unwrap();
    tags::set_skill_tags(&mut conn, "market", &["a", "b"])
        .await
        .unwrap();
    add_foreign_rows(&mut conn, "market").await;
    assert_eq!(
        count_rows(&mut conn, "market").await,
        [1, 0, 0, 0, 1, 2, 1, 1, 1]
    );
    skills::delete_skill(&mut conn, "market").await.unwrap();
    // Usage history (agent run, workflow session) stays, detached (issue 10).
    assert_eq!(count_rows(&mut conn, "market").await, HISTORY_ONLY);
    assert_eq!(detached_history(&mut conn, "market").await, (1, 1));
}

#[tokio::test]
async fn delete_skill_removes_the_workflow_run_steps_and_artifacts_and_detaches_agent_runs() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query!(
        "INSERT INTO workspace_skills (skill_id, skill_name, disk_path) VALUES ('ws-1', 'built', '/w')"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    for name in ["built", "neighbour"] {
        workflow_runs::save_workflow_run(
            &mut conn,
            name,
            2,
            &WorkflowRunStatus::InProgress,
            "domain",
        )
        .await
        .unwrap();
        tags::set_skill_tags(&mut conn, name, &["t"]).await.unwrap();
        workflow_steps::save_workflow_step(&mut conn, name, 0, &StepStatus::Completed)
            .await
            .unwrap();
        artifacts::upsert_artifact(&mut conn, name, 0, "a.md", "body")
            .await
            .unwrap();
        add_foreign_rows(&mut conn, name).await;
    }
    // A stray step carrying the name with a NULL link goes too.
    sqlx::query!("INSERT INTO workflow_steps (skill_name, step_id) VALUES ('built', 4)")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        count_rows(&mut conn, "built").await,
        [1, 1, 2, 1, 1, 1, 1, 1, 1]
    );
    skills::delete_skill(&mut conn, "built").await.unwrap();
    assert_eq!(count_rows(&mut conn, "built").await, HISTORY_ONLY);
    assert_eq!(detached_history(&mut conn, "built").await, (1, 1));
    assert_eq!(
        count_rows(&mut conn, "neighbour").await,
        [1, 1, 1, 1, 1, 1, 1, 1, 1]
    );
    let ws = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM workspace_skills"#)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(ws, 1, "workspace_skills is never touched");
}

#[tokio::test]
async fn delete_skill_of_an_unknown_name_removes_stray_rows_carrying_it() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_foreign_rows(&mut conn, "ghost").await;
    skills::delete_skill(&mut conn, "ghost").await.unwrap();
    assert_eq!(count_rows(&mut conn, "ghost").await, HISTORY_ONLY);
}

#[tokio::test]
async fn delete_skill_is_one_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    workflow_runs::save_workflow_run(&mut conn, "keep", 1, &WorkflowRunStatus::Pending, "domain")
        .await
        .unwrap();
    tags::set_skill_tags(&mut conn, "keep", &["t"])
        .await
        .unwrap();
    workflow_steps::save_workflow_step(&mut conn, "keep", 0, &StepStatus::Pending)
        .await
        .unwrap();
    add_foreign_rows(&mut conn, "keep").await;
    let before = count_rows(&mut conn, "keep").await;
    sqlx::query!(
        "CREATE TRIGGER fail_master_delete BEFORE DELETE ON skills
         BEGIN SELECT RAISE(ABORT, 'master delete refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = skills::delete_skill(&mut conn, "keep").await.unwrap_err();
    assert!(err.to_string().contains("master delete refused"), "{err}");
    assert_eq!(count_rows(&mut conn, "keep").await, before);
}

// ---- legacy files ----

#[tokio::test]
async fn legacy_skills_read_back_as_stored() {
    for fixture in common_fixtures() {
        let t = common::open_legacy(fixture).await;
        let expected = expected_rows(fixture, "skills");
        let got = skills::list_all_skills(&mut *t.conn().await).await.unwrap();
        assert_eq!(got.len(), expected.len(), "{fixture}");
        let mut expected = expected;
        expected.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        for (s, e) in got.iter().zip(&expected) {
            assert_eq!(s.id.get(), e["id"].as_i64().unwrap(), "{fixture}");
            assert_eq!(Some(s.name.as_str()), e["name"].as_str(), "{fixture}");
            assert_eq!(Some(s.skill_source.as_str()), e["skill_source"].as_str());
            assert_eq!(s.purpose.as_deref(), e["purpose"].as_str(), "{fixture}");
            assert_eq!(s.version.as_deref(), e["version"].as_str(), "{fixture}");
            assert_eq!(s.description.as_deref(), e["description"].as_str());
            assert_eq!(
                s.user_invocable,
                e["user_invocable"].as_i64().map(|v| v != 0),
                "{fixture}"
            );
            if e["created_at"] != "<now>" {
                assert_eq!(Some(s.created_at.as_str()), e["created_at"].as_str());
            }
        }
        let names = skills::get_dashboard_skill_names(&mut *t.conn().await)
            .await
            .unwrap();
        assert_eq!(names.len(), got.len(), "{fixture}");
        for s in &got {
            assert_eq!(
                skills::get_skill_master_id(&mut *t.conn().await, &s.name)
                    .await
                    .unwrap(),
                Some(s.id)
            );
        }
    }
}

fn common_fixtures() -> [&'static str; 12] {
    [
        "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
    ]
}

fn expected_rows(fixture: &str, table: &str) -> Vec<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../tests/fixtures/legacy/{fixture}.expected.json"
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json[table]["rows"].as_array().unwrap().clone()
}
