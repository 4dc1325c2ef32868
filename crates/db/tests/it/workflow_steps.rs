//! Workflow steps: save with timing rules, list, reset, step-id validation.

use crate::common;

use skill_builder_db::model::{StepStatus, WorkflowRunStatus, WorkflowStep};
use skill_builder_db::{Entity, Error, InvalidInput, skills, workflow_runs, workflow_steps};
use sqlx::SqliteConnection;

async fn save_run(conn: &mut SqliteConnection, name: &str) {
    workflow_runs::save_workflow_run(conn, name, 0, &WorkflowRunStatus::InProgress, "domain")
        .await
        .unwrap();
}

async fn step(conn: &mut SqliteConnection, name: &str, id: i64, status: StepStatus) {
    workflow_steps::save_workflow_step(conn, name, id, &status)
        .await
        .unwrap();
}

async fn steps(conn: &mut SqliteConnection, name: &str) -> Vec<WorkflowStep> {
    workflow_steps::get_workflow_steps(conn, name)
        .await
        .unwrap()
}

async fn raw_step(conn: &mut SqliteConnection, name: &str, id: i64) -> WorkflowStep {
    sqlx::query_as!(
        WorkflowStep,
        r#"SELECT skill_name, step_id, status AS "status: StepStatus", started_at, completed_at,
                  workflow_run_id AS "workflow_run_id: skill_builder_db::model::WorkflowRunId"
           FROM workflow_steps WHERE skill_name = ? AND step_id = ?"#,
        name,
        id
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// RFC 3339 UTC with sub-second digits and `+00:00`, e.g. `2026-01-31T12:00:00.123+00:00`.
fn assert_rfc3339(stamp: &str) {
    let b = stamp.as_bytes();
    assert_eq!(stamp.len(), 29, "{stamp}");
    assert_eq!(b[10], b'T', "{stamp}");
    assert_eq!(b[19], b'.', "{stamp}");
    assert!(stamp.ends_with("+00:00"), "{stamp}");
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22] {
        assert!(b[i].is_ascii_digit(), "{stamp}");
    }
}

// ---- operations.md §15 "Workflow steps" ----

#[tokio::test]
async fn saving_steps_0_completed_1_in_progress_2_pending_for_an_existing_run_returns_three_rows_in_step_order()
 {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 2, StepStatus::Pending).await;
    step(&mut conn, "s", 0, StepStatus::Completed).await;
    step(&mut conn, "s", 1, StepStatus::InProgress).await;
    let got: Vec<_> = steps(&mut conn, "s")
        .await
        .into_iter()
        .map(|s| (s.step_id, s.status))
        .collect();
    assert_eq!(
        got,
        [
            (0, StepStatus::Completed),
            (1, StepStatus::InProgress),
            (2, StepStatus::Pending),
        ]
    );
}

#[tokio::test]
async fn resetting_from_step_2_leaves_steps_0_1_completed_and_sets_steps_2_3_to_pending() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    for id in 0..=3 {
        step(&mut conn, "s", id, StepStatus::InProgress).await;
        step(&mut conn, "s", id, StepStatus::Completed).await;
    }
    let reset = workflow_steps::reset_workflow_steps_from(&mut conn, "s", 2)
        .await
        .unwrap();
    assert_eq!(reset, 2);
    let all = steps(&mut conn, "s").await;
    assert_eq!(all.len(), 4);
    for s in &all[..2] {
        assert_eq!(s.status, StepStatus::Completed);
        assert!(s.started_at.is_some() && s.completed_at.is_some());
    }
    for s in &all[2..] {
        assert_eq!(s.status, StepStatus::Pending);
        assert_eq!(
            (s.started_at.as_deref(), s.completed_at.as_deref()),
            (None, None)
        );
    }
}

#[tokio::test]
async fn save_workflow_step_stores_a_workflow_run_id_equal_to_the_runs_id() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 0, StepStatus::InProgress).await;
    let run_id = skills::get_workflow_run_id(&mut conn, "s").await.unwrap();
    assert!(run_id.is_some());
    assert_eq!(raw_step(&mut conn, "s", 0).await.workflow_run_id, run_id);
}

// ---- timing rules ----

#[tokio::test]
async fn in_progress_stamps_started_at_and_clears_completed_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 0, StepStatus::InProgress).await;
    let s = raw_step(&mut conn, "s", 0).await;
    assert_rfc3339(s.started_at.as_deref().unwrap());
    assert_eq!(s.completed_at, None);

    step(&mut conn, "s", 0, StepStatus::Completed).await;
    let done = raw_step(&mut conn, "s", 0).await;
    assert_eq!(done.started_at, s.started_at, "completed keeps started_at");
    assert_rfc3339(done.completed_at.as_deref().unwrap());

    // Re-entering in_progress restarts the clock and clears completed_at.
    sqlx::query!("UPDATE workflow_steps SET started_at = 'earlier'")
        .execute(&mut *conn)
        .await
        .unwrap();
    step(&mut conn, "s", 0, StepStatus::InProgress).await;
    let again = raw_step(&mut conn, "s", 0).await;
    assert_ne!(again.started_at.as_deref(), Some("earlier"));
    assert_rfc3339(again.started_at.as_deref().unwrap());
    assert_eq!(again.completed_at, None);
}

#[tokio::test]
async fn completed_on_a_fresh_row_has_no_started_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 3, StepStatus::Completed).await;
    let s = raw_step(&mut conn, "s", 3).await;
    assert_eq!(s.started_at, None);
    assert_rfc3339(s.completed_at.as_deref().unwrap());
}

#[tokio::test]
async fn other_statuses_keep_started_at_and_clear_completed_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 1, StepStatus::InProgress).await;
    step(&mut conn, "s", 1, StepStatus::Completed).await;
    let before = raw_step(&mut conn, "s", 1).await;
    for status in [
        StepStatus::WaitingForUser,
        StepStatus::Error,
        StepStatus::Pending,
        StepStatus::from("skipped"),
    ] {
        step(&mut conn, "s", 1, status.clone()).await;
        let s = raw_step(&mut conn, "s", 1).await;
        assert_eq!(s.status, status);
        assert_eq!(s.started_at, before.started_at);
        assert_eq!(s.completed_at, None);
    }
}

// ---- NULL links ----

#[tokio::test]
async fn a_step_saved_before_its_run_is_hidden_until_the_run_is_saved() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // Issue 10: no master row (never created, or deleted) → refused, nothing stored.
    let err = workflow_steps::save_workflow_step(&mut conn, "early", 0, &StepStatus::Completed)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "early"),
        "{err:?}"
    );
    // A catalogue skill without a run: stored with a NULL link.
    workflow_runs::save_marketplace_skill(&mut conn, "early", "domain")
        .await
        .unwrap();
    step(&mut conn, "early", 0, StepStatus::Completed).await;
    assert_eq!(raw_step(&mut conn, "early", 0).await.workflow_run_id, None);
    assert!(
        steps(&mut conn, "early").await.is_empty(),
        "no run → empty list"
    );
    assert_eq!(
        workflow_steps::reset_workflow_steps_from(&mut conn, "early", 0)
            .await
            .unwrap(),
        0,
        "no run → nothing reset"
    );
    assert_eq!(
        raw_step(&mut conn, "early", 0).await.status,
        StepStatus::Completed
    );
    save_run(&mut conn, "early").await;
    let got = steps(&mut conn, "early").await;
    assert_eq!(got.len(), 1);
    // Listed by name (the skill never stopped existing); the link stays NULL: no
    // runtime adoption since issue 10.
    assert_eq!(got[0].workflow_run_id, None);
    assert!(
        skills::get_workflow_run_id(&mut conn, "early")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn legacy_null_linked_steps_of_an_existing_run_are_listed_and_reset() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    sqlx::query!(
        "INSERT INTO workflow_steps (skill_name, step_id, status, started_at)
         VALUES ('s', 4, 'completed', '2025-01-01T10:00:00Z')"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let got = steps(&mut conn, "s").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].workflow_run_id, None);
    assert_eq!(got[0].started_at.as_deref(), Some("2025-01-01T10:00:00Z"));
    workflow_steps::reset_workflow_steps_from(&mut conn, "s", 0)
        .await
        .unwrap();
    assert_eq!(steps(&mut conn, "s").await[0].status, StepStatus::Pending);
}

#[tokio::test]
async fn saving_a_step_keeps_an_existing_link_when_none_resolves() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    step(&mut conn, "s", 0, StepStatus::Pending).await;
    let linked = raw_step(&mut conn, "s", 0).await.workflow_run_id;
    // Rename the run away: the name no longer resolves, the stored link stays.
    sqlx::query!("UPDATE workflow_runs SET skill_name = 'moved'")
        .execute(&mut *conn)
        .await
        .unwrap();
    step(&mut conn, "s", 0, StepStatus::InProgress).await;
    assert_eq!(raw_step(&mut conn, "s", 0).await.workflow_run_id, linked);
}

// ---- reset details ----

#[tokio::test]
async fn reset_is_idempotent_and_leaves_the_run_and_other_skills_alone() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    save_run(&mut conn, "other").await;
    for name in ["s", "other"] {
        step(&mut conn, name, 0, StepStatus::Completed).await;
        step(&mut conn, name, 1, StepStatus::Completed).await;
    }
    workflow_runs::save_workflow_run(&mut conn, "s", 2, &WorkflowRunStatus::InProgress, "domain")
        .await
        .unwrap();
    assert_eq!(
        workflow_steps::reset_workflow_steps_from(&mut conn, "s", -1)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        workflow_steps::reset_workflow_steps_from(&mut conn, "s", -1)
            .await
            .unwrap(),
        2
    );
    assert!(
        steps(&mut conn, "s")
            .await
            .iter()
            .all(|s| s.status == StepStatus::Pending)
    );
    assert!(
        steps(&mut conn, "other")
            .await
            .iter()
            .all(|s| s.status == StepStatus::Completed)
    );
    let run = workflow_runs::get_workflow_run(&mut conn, "s")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.current_step, run.status),
        (2, WorkflowRunStatus::InProgress)
    );
    assert_eq!(
        workflow_steps::reset_workflow_steps_from(&mut conn, "s", 6)
            .await
            .unwrap(),
        0
    );
}

// ---- validation ----

#[tokio::test]
async fn step_ids_outside_0_to_5_are_refused_on_write() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    for id in [-1, 6, 99, i64::MIN] {
        let err = workflow_steps::save_workflow_step(&mut conn, "s", id, &StepStatus::Pending)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(InvalidInput::StepOutOfRange(v)) if v == id),
            "{err:?}"
        );
    }
    assert!(steps(&mut conn, "s").await.is_empty());
    assert_eq!(workflow_steps::STEP_IDS, 0..=5);
}

#[tokio::test]
async fn bad_names_and_statuses_are_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = workflow_steps::save_workflow_step(&mut conn, "", 0, &StepStatus::Pending)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
    let err = workflow_steps::save_workflow_step(&mut conn, "s", 0, &StepStatus::from("x\0"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "status" })
    ));
    let err = workflow_steps::reset_workflow_steps_from(&mut conn, " ", 0)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
}

#[tokio::test]
async fn out_of_range_step_ids_and_unknown_statuses_in_stored_rows_still_read() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    sqlx::query!(
        "INSERT INTO workflow_steps (skill_name, step_id, status, workflow_run_id)
         VALUES ('s', 9, 'validating', (SELECT id FROM workflow_runs WHERE skill_name = 's')),
                ('s', -1, 'pending', NULL)"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let got = steps(&mut conn, "s").await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].step_id, -1);
    assert_eq!(got[1].step_id, 9);
    assert_eq!(got[1].status, StepStatus::Other("validating".into()));
}

// ---- legacy files ----

#[tokio::test]
async fn legacy_steps_read_back_as_stored() {
    for fixture in [
        "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
    ] {
        let t = common::open_legacy(fixture).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../tests/fixtures/legacy/{fixture}.expected.json"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let expected = json["workflow_steps"]["rows"].as_array().unwrap();
        let mut total = 0;
        let runs = workflow_runs::list_all_workflow_runs(&mut *t.conn().await)
            .await
            .unwrap();
        for run in runs {
            let got = steps(&mut *t.conn().await, &run.skill_name).await;
            total += got.len();
            for s in got {
                let e = expected
                    .iter()
                    .find(|e| e["skill_name"] == s.skill_name.as_str() && e["step_id"] == s.step_id)
                    .unwrap();
                assert_eq!(Some(s.status.as_str()), e["status"].as_str(), "{fixture}");
                assert_eq!(
                    s.started_at.as_deref(),
                    e["started_at"].as_str(),
                    "{fixture}"
                );
                assert_eq!(s.completed_at.as_deref(), e["completed_at"].as_str());
                assert_eq!(s.workflow_run_id, Some(run.id), "{fixture}");
            }
        }
        assert_eq!(total, expected.len(), "{fixture}");
    }
}
