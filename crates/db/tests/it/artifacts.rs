//! Workflow artifacts: upsert, get, list (with and without content), delete from a step.

use crate::common;

use skill_builder_db::model::{ArtifactMeta, WorkflowArtifact, WorkflowRunStatus};
use skill_builder_db::{Entity, Error, InvalidInput, artifacts, skills, workflow_runs};
use sqlx::SqliteConnection;

async fn save_run(conn: &mut SqliteConnection, name: &str) {
    workflow_runs::save_workflow_run(conn, name, 0, &WorkflowRunStatus::Pending, "domain")
        .await
        .unwrap();
}

async fn put(conn: &mut SqliteConnection, name: &str, step: i64, path: &str, content: &str) {
    artifacts::upsert_artifact(conn, name, step, path, content)
        .await
        .unwrap();
}

fn assert_z_stamp(stamp: &str) {
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert_eq!(&stamp[10..11], " ", "{stamp}");
    assert!(stamp.ends_with('Z'), "{stamp}");
}

#[tokio::test]
async fn artifact_round_trips_with_utf8_size_and_run_link() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    put(&mut conn, "s", 2, "context/notes.md", "héllo ✓").await;
    let a = artifacts::get_artifact(&mut conn, "s", 2, "context/notes.md")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a,
        WorkflowArtifact {
            skill_name: "s".into(),
            step_id: 2,
            relative_path: "context/notes.md".into(),
            content: "héllo ✓".into(),
            size_bytes: 10,
            created_at: a.created_at.clone(),
            updated_at: a.updated_at.clone(),
            workflow_run_id: skills::get_workflow_run_id(&mut conn, "s").await.unwrap(),
        }
    );
    assert!(a.workflow_run_id.is_some());
    assert_z_stamp(&a.created_at);
    assert_z_stamp(&a.updated_at);
    let listed = artifacts::list_artifacts(&mut conn, "s", None)
        .await
        .unwrap();
    assert_eq!(listed, [ArtifactMeta::from(&a)]);
    let full = artifacts::list_artifacts_with_content(&mut conn, "s", None)
        .await
        .unwrap();
    assert_eq!(full, [a]);
}

#[tokio::test]
async fn get_artifact_of_an_unknown_key_is_none() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    assert_eq!(
        artifacts::get_artifact(&mut conn, "s", 0, "x.md")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn upsert_replaces_content_size_and_updated_at_and_keeps_created_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    put(&mut conn, "s", 0, "a.md", "first").await;
    sqlx::query!("UPDATE workflow_artifacts SET created_at = 'c0', updated_at = 'u0'")
        .execute(&mut *conn)
        .await
        .unwrap();
    put(&mut conn, "s", 0, "a.md", "second version").await;
    let a = artifacts::get_artifact(&mut conn, "s", 0, "a.md")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.content, "second version");
    assert_eq!(a.size_bytes, 14);
    assert_eq!(a.created_at, "c0");
    assert_z_stamp(&a.updated_at);
    assert_eq!(
        artifacts::list_artifacts(&mut conn, "s", None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn list_artifacts_is_ordered_by_step_then_path_and_filters_by_step() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    save_run(&mut conn, "other").await;
    put(&mut conn, "s", 3, "b.md", "x").await;
    put(&mut conn, "s", 1, "z.md", "x").await;
    put(&mut conn, "s", 3, "a.md", "x").await;
    put(&mut conn, "s", 1, "a.md", "x").await;
    put(&mut conn, "other", 1, "a.md", "x").await;
    let keys = |v: Vec<ArtifactMeta>| -> Vec<(i64, String)> {
        v.into_iter()
            .map(|m| (m.step_id, m.relative_path))
            .collect()
    };
    assert_eq!(
        keys(
            artifacts::list_artifacts(&mut conn, "s", None)
                .await
                .unwrap()
        ),
        [
            (1, "a.md".into()),
            (1, "z.md".into()),
            (3, "a.md".into()),
            (3, "b.md".into())
        ]
    );
    assert_eq!(
        keys(
            artifacts::list_artifacts(&mut conn, "s", Some(3))
                .await
                .unwrap()
        ),
        [(3, "a.md".into()), (3, "b.md".into())]
    );
    assert!(
        artifacts::list_artifacts(&mut conn, "s", Some(5))
            .await
            .unwrap()
            .is_empty()
    );
    let with_content = artifacts::list_artifacts_with_content(&mut conn, "s", Some(1))
        .await
        .unwrap();
    assert_eq!(with_content.len(), 2);
    assert!(with_content.iter().all(|a| a.content == "x"));
}

#[tokio::test]
async fn list_artifacts_of_an_unknown_run_is_empty() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    assert!(
        artifacts::list_artifacts(&mut conn, "nope", None)
            .await
            .unwrap()
            .is_empty()
    );
    // Issue 10: no master row (never created, or deleted) → refused, nothing stored.
    let err = artifacts::upsert_artifact(&mut conn, "early", 0, "a.md", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "early"),
        "{err:?}"
    );
    assert!(
        artifacts::get_artifact(&mut conn, "early", 0, "a.md")
            .await
            .unwrap()
            .is_none()
    );
    // A catalogue skill without a run: stored with a NULL link, listed once the run
    // exists.
    workflow_runs::save_marketplace_skill(&mut conn, "early", "domain")
        .await
        .unwrap();
    put(&mut conn, "early", 0, "a.md", "x").await;
    let a = artifacts::get_artifact(&mut conn, "early", 0, "a.md")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.workflow_run_id, None);
    assert!(
        artifacts::list_artifacts(&mut conn, "early", None)
            .await
            .unwrap()
            .is_empty()
    );
    save_run(&mut conn, "early").await;
    let listed = artifacts::list_artifacts(&mut conn, "early", None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    // Listed by name (the skill never stopped existing); the link stays NULL: no
    // runtime adoption since issue 10.
    assert_eq!(listed[0].workflow_run_id, None);
    assert!(
        skills::get_workflow_run_id(&mut conn, "early")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn delete_artifacts_from_step_removes_that_step_and_later_ones_only() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    save_run(&mut conn, "other").await;
    for step in 0..=5 {
        put(&mut conn, "s", step, "a.md", "x").await;
        put(&mut conn, "other", step, "a.md", "x").await;
    }
    assert_eq!(
        artifacts::delete_artifacts_from_step(&mut conn, "s", 3)
            .await
            .unwrap(),
        3
    );
    let left: Vec<i64> = artifacts::list_artifacts(&mut conn, "s", None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.step_id)
        .collect();
    assert_eq!(left, [0, 1, 2]);
    assert_eq!(
        artifacts::list_artifacts(&mut conn, "other", None)
            .await
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        artifacts::delete_artifacts_from_step(&mut conn, "s", 3)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        artifacts::delete_artifacts_from_step(&mut conn, "nope", 0)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn invalid_artifact_inputs_are_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    save_run(&mut conn, "s").await;
    let err = artifacts::upsert_artifact(&mut conn, "s", 6, "a.md", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(InvalidInput::StepOutOfRange(6))),
        "{err:?}"
    );
    let err = artifacts::upsert_artifact(&mut conn, "s", -1, "a.md", "x")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::StepOutOfRange(-1))
    ));
    let err = artifacts::upsert_artifact(&mut conn, "s", 0, " ", "x")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty {
            field: "relative_path"
        })
    ));
    let err = artifacts::upsert_artifact(&mut conn, "", 0, "a.md", "x")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty {
            field: "skill_name"
        })
    ));
    let err = artifacts::upsert_artifact(&mut conn, "s", 0, "a.md", "nul\0inside")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "content" })
    ));
    assert!(
        artifacts::list_artifacts(&mut conn, "s", None)
            .await
            .unwrap()
            .is_empty()
    );
    let err = artifacts::delete_artifacts_from_step(&mut conn, "", 0)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
}

#[tokio::test]
async fn legacy_artifacts_read_back_as_stored() {
    for fixture in [
        "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
    ] {
        let t = common::open_legacy(fixture).await;
        let mut conn = t.conn().await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../tests/fixtures/legacy/{fixture}.expected.json"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let expected = json["workflow_artifacts"]["rows"].as_array().unwrap();
        let mut total = 0;
        for run in workflow_runs::list_all_workflow_runs(&mut conn)
            .await
            .unwrap()
        {
            let full = artifacts::list_artifacts_with_content(&mut conn, &run.skill_name, None)
                .await
                .unwrap();
            let metas = artifacts::list_artifacts(&mut conn, &run.skill_name, None)
                .await
                .unwrap();
            assert_eq!(
                metas,
                full.iter().map(ArtifactMeta::from).collect::<Vec<_>>()
            );
            total += full.len();
            for a in full {
                let e = expected
                    .iter()
                    .find(|e| {
                        e["skill_name"] == a.skill_name.as_str()
                            && e["step_id"] == a.step_id
                            && e["relative_path"] == a.relative_path.as_str()
                    })
                    .unwrap();
                assert_eq!(Some(a.content.as_str()), e["content"].as_str(), "{fixture}");
                assert_eq!(Some(a.size_bytes), e["size_bytes"].as_i64(), "{fixture}");
                let got =
                    artifacts::get_artifact(&mut conn, &a.skill_name, a.step_id, &a.relative_path)
                        .await
                        .unwrap();
                assert_eq!(got.as_ref(), Some(&a));
            }
        }
        assert_eq!(total, expected.len(), "{fixture}");
    }
}
