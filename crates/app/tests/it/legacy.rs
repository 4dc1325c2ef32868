#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every file the existing app wrote upgrades to exactly what the existing app's
//! startup made of it (`tests/fixtures/legacy/vNN.expected.json`).

use crate::common;

use common::*;
use skill_builder_app::Database;

async fn upgrade(name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let path = copy_fixture(name, dir);
    let db = Database::open(&path)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    db.close().await;
    path
}

#[tokio::test]
async fn every_legacy_file_upgrades_to_its_expected_dump() {
    let versions = legacy_versions();
    assert!(versions.len() >= 12, "fixtures missing: {versions:?}");
    for name in versions {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = upgrade(&name, dir.path()).await;
        let actual = legacy_dump(&path).await;
        let expected = expected_dump(&name);
        assert_eq!(
            actual, expected,
            "{name}: upgraded dump differs from {name}.expected.json"
        );
    }
}

#[tokio::test]
async fn upgrading_twice_changes_nothing_and_checks_clean() {
    for name in legacy_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = upgrade(&name, dir.path()).await;
        let first = dump(&path).await;
        let db = Database::open(&path).await.expect("reopen");
        assert!(
            db.migration_report().applied.is_empty(),
            "{name}: steps re-applied"
        );
        db.close().await;
        assert_eq!(
            dump(&path).await,
            first,
            "{name}: second startup changed data"
        );
        let report = skill_builder_app::check(&path).await.expect("check");
        assert!(report.is_healthy(), "{name}: {:?}", report.problems());
    }
}

#[tokio::test]
async fn fresh_file_has_the_v28_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh.db");
    let db = Database::open(&path).await.expect("open");
    assert_eq!(db.migration_report().applied.len(), step_count());
    db.close().await;
    let actual = legacy_dump(&path).await;
    let expected = expected_dump("v28");
    assert_eq!(schema_only(&actual), schema_only(&expected));
    assert_eq!(
        actual["schema_migrations"]["versions"],
        expected["schema_migrations"]["versions"]
    );
}

#[tokio::test]
async fn step_24_recorded_but_not_applied_upgrades_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v23", dir.path());
    raw_execute(&path, "INSERT INTO schema_migrations (version) VALUES (24)").await;
    let db = Database::open(&path)
        .await
        .expect("open repairs and upgrades");
    let report = db.migration_report().clone();
    db.close().await;
    assert_eq!(report.repair_before.added_columns.len(), 6);
    assert!(report.repair_before.filled);
    assert_eq!(
        report.applied.iter().map(|s| s.version).collect::<Vec<_>>(),
        skill_builder_migrations::steps()
            .map(|m| m.version)
            .filter(|v| *v >= 25)
            .collect::<Vec<_>>()
    );
    assert!(report.repair_after.is_empty());
    assert_eq!(legacy_dump(&path).await, expected_dump("v23"));
}

/// An up-to-date file whose `skills` lost a frontmatter column (another tool dropped
/// it): the open's one-statement check fails, so the exact check runs and the repair
/// adds the column back.
#[tokio::test]
async fn a_current_file_missing_a_frontmatter_column_is_repaired_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("current.db");
    Database::open(&path).await.expect("create").close().await;
    raw_execute(&path, "ALTER TABLE skills DROP COLUMN argument_hint").await;
    let db = Database::open(&path).await.expect("open repairs");
    let report = db.migration_report().clone();
    db.close().await;
    assert_eq!(report.repair_before.added_columns, ["argument_hint"]);
    assert!(report.repair_before.filled);
    assert!(report.applied.is_empty());
    let db = Database::open(&path).await.expect("reopen");
    assert!(db.migration_report().repair_before.is_empty());
    db.close().await;
}

#[tokio::test]
async fn migrating_in_stages_matches_migrating_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v02", dir.path());
    for target in [5, 13, 22, 28, skill_builder_migrations::LATEST_VERSION] {
        let db = Database::open_with(&path, &skill_builder_app::OpenOptions::new().target(target))
            .await
            .expect("open");
        assert_eq!(db.migration_report().to_version, target);
        db.close().await;
    }
    assert_eq!(legacy_dump(&path).await, expected_dump("v02"));
}
