//! The benchmark baseline reads its SQL from `.sqlx/`: every statement it runs must
//! still be there (exactly once) after the queries change, or `cargo bench` breaks.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../crates/app/benches/baseline.rs"]
mod baseline;

#[test]
fn the_baseline_finds_every_statement_it_runs_in_the_query_cache() {
    let sql = baseline::Sql::load();
    assert!(sql.persist.contains("INSERT OR REPLACE INTO agent_runs"));
    assert!(sql.recent.contains("LIMIT"));
    assert!(sql.recent_runs.contains("ORDER BY (completed_at IS NULL)"));
    assert!(sql.list_skills.contains("json_group_array"));
}

/// The baseline's statements run on a file this layer created, with the parameters
/// the baseline passes (a statement found but called with the wrong parameter count
/// would only fail inside `cargo bench`).
#[tokio::test]
async fn the_baseline_runs_its_statements_on_a_current_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("baseline.db");
    skill_builder_app::Database::open(&path)
        .await
        .expect("open")
        .close()
        .await;
    let sql = baseline::Sql::load();
    let conn = baseline::open(&path);
    for i in 0..3 {
        baseline::persist_agent_run(&conn, &sql, i);
    }
    // Summary, by model, by step, 50 recent sessions, recent runs: at least the
    // summary row and the two group reports' rows.
    assert!(baseline::analytics_once(&conn, &sql) >= 3);
}
