//! Every legacy fixture, once upgraded, reads back in full through the typed API:
//! every list and lookup returns every stored row without a decode error.

use crate::common;

use skill_builder_db::{
    agent_runs, artifacts, imported_skills, installed, locks, sessions, settings, skills, tags,
    usage, workflow_runs, workflow_steps, workspace_skills,
};

const FIXTURES: [&str; 12] = [
    "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
];

async fn count(conn: &mut sqlx::SqliteConnection, table: &str) -> usize {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(conn)
        .await
        .expect("count");
    usize::try_from(n).expect("count fits")
}

#[tokio::test]
async fn every_upgraded_legacy_fixture_reads_back_in_full_through_the_typed_api() {
    for name in FIXTURES {
        let t = common::open_legacy(name).await;
        let mut conn = t.conn().await;

        settings::read_settings(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{name}: settings {e}"));

        let all = skills::list_all_skills(&mut conn).await.expect("skills");
        assert_eq!(
            all.len(),
            count(&mut conn, "skills").await,
            "{name}: skills"
        );
        assert_eq!(
            skills::get_dashboard_skill_names(&mut conn)
                .await
                .expect("names")
                .len(),
            all.len()
        );

        let runs = workflow_runs::list_all_workflow_runs(&mut conn)
            .await
            .expect("runs");
        assert_eq!(
            runs.len(),
            count(&mut conn, "workflow_runs").await,
            "{name}: runs"
        );
        let (mut steps, mut files) = (0, 0);
        for run in &runs {
            let got = workflow_runs::get_workflow_run(&mut conn, &run.skill_name)
                .await
                .expect("run");
            assert_eq!(got.as_ref(), Some(run), "{name}: get_workflow_run");
            workflow_runs::get_purpose(&mut conn, &run.skill_name)
                .await
                .expect("purpose");
            steps += workflow_steps::get_workflow_steps(&mut conn, &run.skill_name)
                .await
                .expect("steps")
                .len();
            files += artifacts::list_artifacts_with_content(&mut conn, &run.skill_name, None)
                .await
                .expect("artifacts")
                .len();
            agent_runs::get_step_agent_runs(&mut conn, &run.skill_name, 0)
                .await
                .expect("step runs");
        }
        assert_eq!(
            steps,
            count(&mut conn, "workflow_steps").await,
            "{name}: every step row belongs to a run"
        );
        assert_eq!(
            files,
            count(&mut conn, "workflow_artifacts").await,
            "{name}: every artifact belongs to a run"
        );

        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        let tagged = tags::get_tags_for_skills(&mut conn, &names)
            .await
            .expect("tags");
        assert_eq!(
            tagged.values().map(Vec::len).sum::<usize>(),
            count(&mut conn, "skill_tags").await,
            "{name}: tags"
        );
        tags::get_all_tags(&mut conn).await.expect("all tags");

        imported_skills::list_active_skills(&mut conn)
            .await
            .expect("imported");
        assert_eq!(
            workspace_skills::list_workspace_skills(&mut conn)
                .await
                .expect("workspace")
                .len(),
            count(&mut conn, "workspace_skills").await,
            "{name}: workspace skills"
        );
        installed::get_all_installed_skill_names(&mut conn)
            .await
            .expect("installed");
        assert_eq!(
            locks::get_all_skill_locks(&mut conn)
                .await
                .expect("locks")
                .len(),
            count(&mut conn, "skill_locks").await,
            "{name}: locks"
        );

        let recent = agent_runs::get_recent_runs(&mut conn, 1_000_000)
            .await
            .expect("recent runs");
        let unreset: i64 =
            sqlx::query_scalar("SELECT count(*) FROM agent_runs WHERE reset_marker IS NULL")
                .fetch_one(&mut *conn)
                .await
                .expect("count");
        assert_eq!(recent.len() as i64, unreset, "{name}: agent runs");
        let session_ids: Vec<String> =
            sqlx::query_scalar("SELECT session_id FROM workflow_sessions")
                .fetch_all(&mut *conn)
                .await
                .expect("ids");
        for id in session_ids {
            let id = id.into();
            sessions::get_workflow_session(&mut conn, &id)
                .await
                .expect("session")
                .expect("exists");
            agent_runs::get_session_agent_runs(&mut conn, &id)
                .await
                .expect("session runs");
        }
        for hide in [false, true] {
            usage::get_usage_summary(&mut conn, hide)
                .await
                .expect("summary");
            usage::get_usage_by_step(&mut conn, hide)
                .await
                .expect("by step");
            usage::get_usage_by_model(&mut conn, hide)
                .await
                .expect("by model");
            usage::get_recent_workflow_sessions(&mut conn, 1000, hide)
                .await
                .expect("sessions");
        }
    }
}
