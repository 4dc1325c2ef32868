//! Every legacy fixture, once upgraded, reads back in full through the typed API:
//! every list and lookup returns every stored row without a decode error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use skill_builder_db::{
    agent_runs, artifacts, imported_skills, installed, locks, sessions, settings, skills, tags,
    usage, workflow_runs, workflow_steps, workspace_skills,
};

const FIXTURES: [&str; 12] = [
    "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
];

async fn count(pool: &sqlx::SqlitePool, table: &str) -> usize {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count");
    usize::try_from(n).expect("count fits")
}

#[tokio::test]
async fn every_upgraded_legacy_fixture_reads_back_in_full_through_the_typed_api() {
    for name in FIXTURES {
        let t = common::open_legacy(name).await;
        let pool = t.pool();

        settings::read_settings(pool)
            .await
            .unwrap_or_else(|e| panic!("{name}: settings {e}"));

        let all = skills::list_all_skills(pool).await.expect("skills");
        assert_eq!(all.len(), count(pool, "skills").await, "{name}: skills");
        assert_eq!(
            skills::get_dashboard_skill_names(pool)
                .await
                .expect("names")
                .len(),
            all.len()
        );

        let runs = workflow_runs::list_all_workflow_runs(pool)
            .await
            .expect("runs");
        assert_eq!(
            runs.len(),
            count(pool, "workflow_runs").await,
            "{name}: runs"
        );
        let (mut steps, mut files) = (0, 0);
        for run in &runs {
            let got = workflow_runs::get_workflow_run(pool, &run.skill_name)
                .await
                .expect("run");
            assert_eq!(got.as_ref(), Some(run), "{name}: get_workflow_run");
            workflow_runs::get_purpose(pool, &run.skill_name)
                .await
                .expect("purpose");
            steps += workflow_steps::get_workflow_steps(pool, &run.skill_name)
                .await
                .expect("steps")
                .len();
            files += artifacts::list_artifacts_with_content(pool, &run.skill_name, None)
                .await
                .expect("artifacts")
                .len();
            agent_runs::get_step_agent_runs(pool, &run.skill_name, 0)
                .await
                .expect("step runs");
        }
        assert_eq!(
            steps,
            count(pool, "workflow_steps").await,
            "{name}: every step row belongs to a run"
        );
        assert_eq!(
            files,
            count(pool, "workflow_artifacts").await,
            "{name}: every artifact belongs to a run"
        );

        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        let tagged = tags::get_tags_for_skills(pool, &names).await.expect("tags");
        assert_eq!(
            tagged.values().map(Vec::len).sum::<usize>(),
            count(pool, "skill_tags").await,
            "{name}: tags"
        );
        tags::get_all_tags(pool).await.expect("all tags");

        imported_skills::list_active_skills(pool)
            .await
            .expect("imported");
        assert_eq!(
            workspace_skills::list_workspace_skills(pool)
                .await
                .expect("workspace")
                .len(),
            count(pool, "workspace_skills").await,
            "{name}: workspace skills"
        );
        installed::get_all_installed_skill_names(pool)
            .await
            .expect("installed");
        assert_eq!(
            locks::get_all_skill_locks(pool).await.expect("locks").len(),
            count(pool, "skill_locks").await,
            "{name}: locks"
        );

        let recent = agent_runs::get_recent_runs(pool, 1_000_000)
            .await
            .expect("recent runs");
        let unreset: i64 =
            sqlx::query_scalar("SELECT count(*) FROM agent_runs WHERE reset_marker IS NULL")
                .fetch_one(pool)
                .await
                .expect("count");
        assert_eq!(recent.len() as i64, unreset, "{name}: agent runs");
        let session_ids: Vec<String> =
            sqlx::query_scalar("SELECT session_id FROM workflow_sessions")
                .fetch_all(pool)
                .await
                .expect("ids");
        for id in session_ids {
            let id = id.into();
            sessions::get_workflow_session(pool, &id)
                .await
                .expect("session")
                .expect("exists");
            agent_runs::get_session_agent_runs(pool, &id)
                .await
                .expect("session runs");
        }
        for hide in [false, true] {
            usage::get_usage_summary(pool, hide).await.expect("summary");
            usage::get_usage_by_step(pool, hide).await.expect("by step");
            usage::get_usage_by_model(pool, hide)
                .await
                .expect("by model");
            usage::get_recent_workflow_sessions(pool, 1000, hide)
                .await
                .expect("sessions");
        }
    }
}
