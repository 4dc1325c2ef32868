//! The benchmarks' raw baseline (`crates/cli/benches/baseline.rs`: the existing app's
//! SQL on its own step-28 schema) runs on a step-28 file and reads the same screens as
//! this layer from the same workload, so the ratios compare like with like.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../benches/baseline.rs"]
mod baseline;

use skill_builder_app::db::{agent_runs, usage};
use skill_builder_app::{Database, OpenOptions};
use skill_builder_cli::bench::{
    analytics_once, catalog_once, seed_agent_runs, seed_catalog, seed_sessions, workflow_skill,
};

#[tokio::test]
async fn the_baseline_and_this_layer_read_the_same_screens_from_the_same_workload() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.db");
    let options = OpenOptions::new().target(baseline::STEP);
    Database::open_with(&theirs, &options)
        .await
        .unwrap()
        .close()
        .await;
    let ours = Database::open(dir.path().join("ours.db")).await.unwrap();
    let raw = baseline::open_warm(&theirs);

    // Catalogue: 30 skills with 4 tags each → 30 tagged skills on both sides.
    seed_catalog(&ours, 30).await.unwrap();
    baseline::seed_catalog(&raw, 30);
    assert_eq!(
        catalog_once(&mut ours.read().await.unwrap()).await.unwrap(),
        30
    );
    assert_eq!(baseline::catalog_once(&raw), 30);

    // Workflow: two skills end to end.
    for i in 0..2 {
        workflow_skill(&mut ours.write().await.unwrap(), i)
            .await
            .unwrap();
        baseline::workflow_skill(&raw, i);
    }
    let steps: i64 = raw
        .query_row(
            "SELECT count(*) FROM workflow_steps WHERE status = 'completed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(steps, 12);

    // Usage screen on 300 agent runs and 50 sessions: the summary row, 3 models,
    // 6 steps, 49 sessions (ws0's one agent run cost 0: hidden as cancelled), 50
    // recent runs. This layer also keeps a session row for every session an agent
    // run names (ws0..ws299), so its recent-sessions list is full (50).
    seed_agent_runs(&ours, 300).await.unwrap();
    seed_sessions(&ours, 50).await.unwrap();
    baseline::seed_analytics(&raw, 300, 50);
    assert_eq!(baseline::analytics_once(&raw), 1 + 3 + 6 + 49 + 50);
    let mut reader = ours.read().await.unwrap();
    assert_eq!(
        usage::get_usage_by_model(&mut reader, true)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        usage::get_usage_by_step(&mut reader, true)
            .await
            .unwrap()
            .len(),
        6
    );
    let sessions = usage::get_recent_workflow_sessions(&mut reader, 50, true)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 50);
    assert!(
        sessions.iter().all(|s| s.session_id.as_str() != "ws0"),
        "ws0 is hidden"
    );
    assert_eq!(
        agent_runs::get_recent_runs(&mut reader, 50)
            .await
            .unwrap()
            .len(),
        50
    );
    assert!(analytics_once(&mut reader).await.unwrap() > 0);
    drop(reader);
    assert_eq!(baseline::hop(&raw), 1);
    ours.close().await;
}
