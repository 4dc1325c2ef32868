//! Cross-table name listing: operations.md §9.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::installed::get_all_installed_skill_names;
use skill_builder_db::model::{ImportedSkill, WorkspaceSkill};
use skill_builder_db::{imported_skills, workspace_skills};

#[tokio::test]
async fn an_empty_store_has_no_installed_names() {
    let t = common::open_temp().await;
    assert!(
        get_all_installed_skill_names(&mut t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn installed_names_are_the_union_of_runs_imported_and_workspace_skills() {
    let t = common::open_temp().await;
    for name in ["built", "shared"] {
        sqlx::query!("INSERT INTO workflow_runs (skill_name) VALUES (?)", name)
            .execute(&mut *t.conn().await)
            .await
            .unwrap();
    }
    // Only in the master: not installed.
    sqlx::query!(
        "INSERT INTO skills (name, skill_source) VALUES ('catalogue-only', 'marketplace')"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    for (id, name) in [("i1", "imported"), ("i2", "shared")] {
        imported_skills::insert_imported_skill(
            &mut *t.conn().await,
            &ImportedSkill::new(id.into(), name, "/p", "t"),
        )
        .await
        .unwrap();
    }
    for (id, name) in [("w1", "workspace"), ("w2", "shared")] {
        workspace_skills::insert_workspace_skill(
            &mut *t.conn().await,
            &WorkspaceSkill::new(id.into(), name, "/p", "t"),
        )
        .await
        .unwrap();
    }
    let names = get_all_installed_skill_names(&mut t.conn().await)
        .await
        .unwrap();
    assert_eq!(names, ["built", "imported", "shared", "workspace"]);
}

#[tokio::test]
async fn legacy_installed_names_read_back() {
    for fixture in ["v00", "v17", "v28"] {
        let t = common::open_legacy(fixture).await;
        let names = get_all_installed_skill_names(&mut t.conn().await)
            .await
            .unwrap();
        for expected in ["alpha", "beta", "gamma"] {
            assert!(names.iter().any(|n| n == expected), "{fixture}: {names:?}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, names);
    }
}
