//! The benchmark baseline reads its SQL from `.sqlx/`: every statement it runs must
//! still be there (exactly once) after the queries change, or `cargo bench` breaks.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../crates/app/benches/baseline.rs"]
mod baseline;

#[test]
fn the_baseline_finds_every_statement_it_runs_in_the_query_cache() {
    let sql = baseline::Sql::load();
    assert!(sql.persist.contains("INSERT INTO agent_runs"));
    assert!(sql.recent.contains("LIMIT"));
    assert!(sql.recent_runs.contains("ORDER BY completed_at IS NULL"));
    assert!(sql.list_skills.contains("json_group_array"));
}
