//! Workspace skills (`workspace_skills`): operations.md §8 and the §15 "Workspace
//! skills" lines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{HashInfo, WorkspaceSkill, WorkspaceSkillId};
use skill_builder_db::{Conflict, Entity, Error, InvalidInput, workspace_skills as ws};
use sqlx::SqliteConnection;

fn skill(id: &str, name: &str) -> WorkspaceSkill {
    WorkspaceSkill::new(
        id.into(),
        name,
        format!("/ws/{name}"),
        "2026-01-31 12:00:00Z",
    )
}

fn with_purpose(id: &str, name: &str, purpose: &str, active: bool) -> WorkspaceSkill {
    let mut s = skill(id, name);
    s.purpose = Some(purpose.into());
    s.is_active = active;
    s
}

async fn insert(conn: &mut SqliteConnection, s: &WorkspaceSkill) {
    ws::insert_workspace_skill(conn, s).await.unwrap();
}

async fn get(conn: &mut SqliteConnection, id: &str) -> WorkspaceSkill {
    ws::get_workspace_skill(conn, &id.into())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn insert_list_deactivate_and_delete_work_by_skill_id() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    let list = ws::list_workspace_skills(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].skill_name, "research");
    assert!(list[0].is_active);
    let id = WorkspaceSkillId::from("ws-1");
    ws::update_workspace_skill_active(&mut *t.conn().await, &id, false, "/ws/.inactive/research")
        .await
        .unwrap();
    let list = ws::list_workspace_skills(&mut *t.conn().await)
        .await
        .unwrap();
    assert!(!list[0].is_active);
    assert_eq!(list[0].disk_path, "/ws/.inactive/research");
    ws::delete_workspace_skill(&mut *t.conn().await, &id)
        .await
        .unwrap();
    assert!(
        ws::list_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
    ws::delete_workspace_skill(&mut *t.conn().await, &id)
        .await
        .unwrap();
}

#[tokio::test]
async fn purpose_lookup_finds_an_active_skill_with_that_purpose() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-1", "other", "validate", true),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-2", "research", "research", true),
    )
    .await;
    let found = ws::get_workspace_skill_by_purpose(&mut *t.conn().await, "research")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.skill_name, "research");
}

#[tokio::test]
async fn purpose_lookup_with_no_match_returns_none() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-1", "research", "research", true),
    )
    .await;
    assert_eq!(
        ws::get_workspace_skill_by_purpose(&mut *t.conn().await, "test-context")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn purpose_lookup_ignores_an_inactive_skill_with_that_purpose() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-1", "research", "research", false),
    )
    .await;
    assert_eq!(
        ws::get_workspace_skill_by_purpose(&mut *t.conn().await, "research")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn purpose_lookup_returns_the_first_inserted_of_several_active_rows() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-z", "zeta", "research", true),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("ws-a", "alpha", "research", true),
    )
    .await;
    let found = ws::get_workspace_skill_by_purpose(&mut *t.conn().await, "research")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.skill_name, "zeta");
}

#[tokio::test]
async fn every_field_round_trips() {
    let t = common::open_temp().await;
    let s = WorkspaceSkill {
        skill_id: "ws-1".into(),
        skill_name: "research".into(),
        description: Some("Finds things".into()),
        is_active: false,
        is_bundled: true,
        disk_path: "/ws/research".into(),
        imported_at: "2026-01-31T12:00:00.123+00:00".into(),
        purpose: Some("research".into()),
        version: Some("1.2.3".into()),
        model: Some("haiku".into()),
        argument_hint: Some("<topic>".into()),
        user_invocable: Some(false),
        disable_model_invocation: Some(true),
        content_hash: Some("ignored on insert".into()),
    };
    insert(&mut *t.conn().await, &s).await;
    let expected = WorkspaceSkill {
        content_hash: None,
        ..s
    };
    assert_eq!(get(&mut *t.conn().await, "ws-1").await, expected);
    assert_eq!(
        ws::get_workspace_skill_by_name(&mut *t.conn().await, "research")
            .await
            .unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        ws::get_workspace_skill_by_name(&mut *t.conn().await, "nope")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ws::get_workspace_skill(&mut *t.conn().await, &"nope".into())
            .await
            .unwrap(),
        None
    );
    // Optional booleans: NULL reads back as None.
    insert(&mut *t.conn().await, &skill("ws-2", "bare")).await;
    let bare = get(&mut *t.conn().await, "ws-2").await;
    assert_eq!(
        (
            bare.user_invocable,
            bare.disable_model_invocation,
            bare.description
        ),
        (None, None, None)
    );
}

#[tokio::test]
async fn insert_of_a_taken_name_or_id_is_already_exists() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    for dup in [skill("ws-2", "research"), skill("ws-1", "other")] {
        let err = ws::insert_workspace_skill(&mut *t.conn().await, &dup)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(Conflict::AlreadyExists { entity: Entity::WorkspaceSkill, key }) if *key == dup.skill_name),
            "{err:?}"
        );
    }
    assert_eq!(
        ws::list_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn invalid_workspace_skill_inputs_are_refused() {
    let t = common::open_temp().await;
    let err = ws::insert_workspace_skill(&mut *t.conn().await, &skill("ws-1", ""))
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
    let err = ws::upsert_workspace_skill(&mut *t.conn().await, &skill(" ", "research"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty { field: "skill_id" })
        ),
        "{err:?}"
    );
    let err =
        ws::upsert_bundled_workspace_skill(&mut *t.conn().await, &skill("ws-1", "re\0search"))
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
    assert!(
        ws::list_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn upsert_overwrites_content_fields_and_keeps_id_activity_install_time_and_hash() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    ws::update_workspace_skill_active(
        &mut *t.conn().await,
        &"ws-1".into(),
        false,
        "/ws/.inactive/research",
    )
    .await
    .unwrap();
    ws::set_workspace_skill_content_hash(&mut *t.conn().await, "research", "h1")
        .await
        .unwrap();
    let mut next = with_purpose("ws-new", "research", "research", true);
    next.description = Some("new".into());
    next.is_bundled = true;
    next.disk_path = "/ws/research-2".into();
    next.imported_at = "2030-01-01 00:00:00Z".into();
    next.version = Some("2.0.0".into());
    next.model = Some("opus".into());
    next.argument_hint = Some("h".into());
    next.user_invocable = Some(true);
    next.disable_model_invocation = Some(false);
    ws::upsert_workspace_skill(&mut *t.conn().await, &next)
        .await
        .unwrap();
    let got = get(&mut *t.conn().await, "ws-1").await;
    assert_eq!(got.description.as_deref(), Some("new"));
    assert!(got.is_bundled);
    assert_eq!(got.disk_path, "/ws/research-2");
    assert_eq!(got.purpose.as_deref(), Some("research"));
    assert_eq!(
        (
            got.version.as_deref(),
            got.model.as_deref(),
            got.argument_hint.as_deref()
        ),
        (Some("2.0.0"), Some("opus"), Some("h"))
    );
    assert_eq!(
        (got.user_invocable, got.disable_model_invocation),
        (Some(true), Some(false))
    );
    assert!(!got.is_active);
    assert_eq!(got.imported_at, "2026-01-31 12:00:00Z");
    assert_eq!(got.content_hash.as_deref(), Some("h1"));
    assert_eq!(
        ws::get_workspace_skill(&mut *t.conn().await, &"ws-new".into())
            .await
            .unwrap(),
        None
    );
    // A fresh name inserts.
    ws::upsert_workspace_skill(&mut *t.conn().await, &skill("ws-2", "validate"))
        .await
        .unwrap();
    assert_eq!(
        ws::list_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn upsert_with_an_id_of_another_name_is_already_exists_with_the_id() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    for bundled in [false, true] {
        let dup = skill("ws-1", "other");
        let err = if bundled {
            ws::upsert_bundled_workspace_skill(&mut *t.conn().await, &dup).await
        } else {
            ws::upsert_workspace_skill(&mut *t.conn().await, &dup).await
        }
        .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(Conflict::AlreadyExists { entity: Entity::WorkspaceSkill, key }) if key == "ws-1"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn upsert_bundled_forces_the_bundled_flag_and_keeps_a_users_deactivation() {
    let t = common::open_temp().await;
    // Fresh insert: the values as given.
    let mut fresh = skill("ws-1", "bundled-research");
    fresh.is_bundled = false;
    fresh.is_active = false;
    ws::upsert_bundled_workspace_skill(&mut *t.conn().await, &fresh)
        .await
        .unwrap();
    let got = get(&mut *t.conn().await, "ws-1").await;
    assert!(!got.is_bundled && !got.is_active);
    // Re-seed: bundled forced, activity kept.
    let mut reseed = skill("ws-other", "bundled-research");
    reseed.is_active = true;
    reseed.version = Some("9.9.9".into());
    ws::upsert_bundled_workspace_skill(&mut *t.conn().await, &reseed)
        .await
        .unwrap();
    let got = get(&mut *t.conn().await, "ws-1").await;
    assert!(got.is_bundled);
    assert!(!got.is_active);
    assert_eq!(got.version.as_deref(), Some("9.9.9"));
}

#[tokio::test]
async fn lists_are_ordered_newest_first_and_active_by_name() {
    let t = common::open_temp().await;
    for (id, name, at, active) in [
        ("1", "beta", "2026-01-02 00:00:00Z", true),
        ("2", "alpha", "2026-01-01 00:00:00Z", true),
        ("3", "gamma", "2026-01-03 00:00:00Z", false),
    ] {
        let mut s = skill(id, name);
        s.imported_at = at.into();
        s.is_active = active;
        insert(&mut *t.conn().await, &s).await;
    }
    let all: Vec<_> = ws::list_workspace_skills(&mut *t.conn().await)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.skill_name)
        .collect();
    assert_eq!(all, ["gamma", "beta", "alpha"]);
    let active: Vec<_> = ws::list_active_workspace_skills(&mut *t.conn().await)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.skill_name)
        .collect();
    assert_eq!(active, ["alpha", "beta"]);
}

#[tokio::test]
async fn updating_or_setting_the_purpose_of_an_unknown_id_is_not_found() {
    let t = common::open_temp().await;
    let id = WorkspaceSkillId::from("ghost");
    let err = ws::update_workspace_skill_active(&mut *t.conn().await, &id, true, "/p")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::WorkspaceSkill, key } if key == "ghost"),
        "{err:?}"
    );
    let mut conn = t.conn().await;
    let err = ws::set_workspace_skill_purpose(&mut conn, &id, Some("research"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NotFound {
                entity: Entity::WorkspaceSkill,
                ..
            }
        ),
        "{err:?}"
    );
    let err = ws::activate_workspace_skill_exclusive(&mut conn, &id, "/p", |_| unreachable!())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NotFound {
                entity: Entity::WorkspaceSkill,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn purpose_is_set_and_cleared_by_skill_id() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    let mut conn = t.conn().await;
    let moved = ws::set_workspace_skill_purpose(&mut conn, &"ws-1".into(), Some("research"))
        .await
        .unwrap();
    assert!(moved.is_empty(), "no other skill held the purpose");
    drop(conn);
    assert_eq!(
        get(&mut *t.conn().await, "ws-1").await.purpose.as_deref(),
        Some("research")
    );
    let mut conn = t.conn().await;
    ws::set_workspace_skill_purpose(&mut conn, &"ws-1".into(), None)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(get(&mut *t.conn().await, "ws-1").await.purpose, None);
}

#[tokio::test]
async fn activating_a_skill_deactivates_the_other_active_skills_with_its_purpose() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("new", "research-v2", "research", false),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("old-1", "research-v1", "research", true),
    )
    .await;
    // Issue 10: the purpose is held by research-v1, so research-v0 is stored inactive.
    assert!(
        !ws::insert_workspace_skill(
            &mut *t.conn().await,
            &with_purpose("old-2", "research-v0", "research", true)
        )
        .await
        .unwrap()
    );
    insert(
        &mut *t.conn().await,
        &with_purpose("asleep", "research-old", "research", false),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("validator", "validate", "validate", true),
    )
    .await;
    let mut conn = t.conn().await;
    let moved = ws::activate_workspace_skill_exclusive(
        &mut conn,
        &"new".into(),
        "/ws/research-v2",
        |other| format!("/ws/.inactive/{}", other.skill_name),
    )
    .await
    .unwrap();
    drop(conn);
    let moved_names: Vec<_> = moved
        .iter()
        .map(|s| (s.skill_name.as_str(), s.disk_path.as_str(), s.is_active))
        .collect();
    assert_eq!(
        moved_names,
        [("research-v1", "/ws/.inactive/research-v1", false)]
    );
    let new = get(&mut *t.conn().await, "new").await;
    assert!(new.is_active);
    assert_eq!(new.disk_path, "/ws/research-v2");
    assert_eq!(get(&mut *t.conn().await, "old-1").await, moved[0]);
    // Stored inactive at insert, so neither deactivated nor moved now.
    let old_2 = get(&mut *t.conn().await, "old-2").await;
    assert!(!old_2.is_active);
    assert_eq!(old_2.disk_path, "/ws/research-v0");
    assert_eq!(
        get(&mut *t.conn().await, "asleep").await.disk_path,
        "/ws/research-old"
    );
    assert!(get(&mut *t.conn().await, "validator").await.is_active);
    assert_eq!(
        ws::get_workspace_skill_by_purpose(&mut *t.conn().await, "research")
            .await
            .unwrap()
            .unwrap()
            .skill_name,
        "research-v2"
    );
}

#[tokio::test]
async fn activating_a_skill_without_a_purpose_touches_no_other_row() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("a", "alpha")).await;
    insert(&mut *t.conn().await, &skill("b", "beta")).await;
    ws::update_workspace_skill_active(
        &mut *t.conn().await,
        &"a".into(),
        false,
        "/ws/.inactive/alpha",
    )
    .await
    .unwrap();
    let mut conn = t.conn().await;
    let moved = ws::activate_workspace_skill_exclusive(
        &mut conn,
        &"a".into(),
        "/ws/alpha",
        |_| unreachable!(),
    )
    .await
    .unwrap();
    drop(conn);
    assert!(moved.is_empty());
    assert!(get(&mut *t.conn().await, "a").await.is_active);
    assert!(get(&mut *t.conn().await, "b").await.is_active);
}

#[tokio::test]
async fn a_failed_exclusive_activation_writes_nothing() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("new", "research-v2", "research", false),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("old", "research-v1", "research", true),
    )
    .await;
    sqlx::query!(
        "CREATE TEMP TRIGGER fail_deactivation BEFORE UPDATE OF is_active ON workspace_skills
         WHEN NEW.is_active = 0
         BEGIN SELECT RAISE(ABORT, 'deactivation refused'); END"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let mut conn = t.conn().await;
    let err =
        ws::activate_workspace_skill_exclusive(&mut conn, &"new".into(), "/ws/research-v2", |o| {
            format!("/ws/.inactive/{}", o.skill_name)
        })
        .await
        .unwrap_err();
    drop(conn);
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    let new = get(&mut *t.conn().await, "new").await;
    assert!(!new.is_active);
    assert_eq!(new.disk_path, "/ws/research-v2"); // the original path of the fixture row
    let old = get(&mut *t.conn().await, "old").await;
    assert!(old.is_active);
    assert_eq!(old.disk_path, "/ws/research-v1");
}

#[tokio::test]
async fn a_nul_in_a_computed_path_refuses_the_activation() {
    let t = common::open_temp().await;
    insert(
        &mut *t.conn().await,
        &with_purpose("new", "research-v2", "research", false),
    )
    .await;
    insert(
        &mut *t.conn().await,
        &with_purpose("old", "research-v1", "research", true),
    )
    .await;
    let mut conn = t.conn().await;
    let err = ws::activate_workspace_skill_exclusive(&mut conn, &"new".into(), "/ws/x", |_| {
        "bad\0".into()
    })
    .await
    .unwrap_err();
    drop(conn);
    assert!(
        matches!(err, Error::InvalidInput(InvalidInput::ContainsNul { .. })),
        "{err:?}"
    );
    assert!(!get(&mut *t.conn().await, "new").await.is_active);
    assert!(get(&mut *t.conn().await, "old").await.is_active);
}

#[tokio::test]
async fn exclusive_activation_among_many_rows_of_a_purpose_moves_the_one_holder() {
    let t = common::open_temp().await;
    for i in 0..1200 {
        // Only the first is stored active: the purpose is taken after it (issue 10).
        let active = ws::insert_workspace_skill(
            &mut *t.conn().await,
            &with_purpose(&format!("id-{i}"), &format!("s-{i}"), "research", true),
        )
        .await
        .unwrap();
        assert_eq!(active, i == 0, "{i}");
    }
    let mut conn = t.conn().await;
    let moved =
        ws::activate_workspace_skill_exclusive(&mut conn, &"id-777".into(), "/ws/s-777", |o| {
            format!("/off/{}", o.skill_name)
        })
        .await
        .unwrap();
    drop(conn);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].skill_name, "s-0");
    let active = ws::list_active_workspace_skills(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].skill_name, "s-777");
    assert_eq!(
        get(&mut *t.conn().await, "id-0").await.disk_path,
        "/off/s-0"
    );
}

#[tokio::test]
async fn content_hash_is_set_and_read_by_name() {
    let t = common::open_temp().await;
    insert(&mut *t.conn().await, &skill("ws-1", "research")).await;
    assert_eq!(
        ws::get_workspace_skill_hash_info(&mut *t.conn().await, "research")
            .await
            .unwrap(),
        Some(HashInfo {
            disk_path: "/ws/research".into(),
            content_hash: None
        })
    );
    ws::set_workspace_skill_content_hash(&mut *t.conn().await, "research", "abc")
        .await
        .unwrap();
    let info = ws::get_workspace_skill_hash_info(&mut *t.conn().await, "research")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.content_hash.as_deref(), Some("abc"));
    ws::set_workspace_skill_content_hash(&mut *t.conn().await, "unknown", "abc")
        .await
        .unwrap();
    assert_eq!(
        ws::get_workspace_skill_hash_info(&mut *t.conn().await, "unknown")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn legacy_workspace_skills_read_back() {
    for fixture in ["v17", "v21", "v28"] {
        let t = common::open_legacy(fixture).await;
        let all = ws::list_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap();
        let active = ws::list_active_workspace_skills(&mut *t.conn().await)
            .await
            .unwrap();
        assert!(active.len() <= all.len());
        for s in &all {
            assert_eq!(
                ws::get_workspace_skill(&mut *t.conn().await, &s.skill_id)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(s)
            );
        }
        if fixture == "v28" {
            let b = ws::get_workspace_skill_by_name(&mut *t.conn().await, "bundled-research")
                .await
                .unwrap()
                .unwrap();
            assert!(b.is_bundled && b.is_active);
            assert_eq!(b.version.as_deref(), Some("1.0.0"));
        }
    }
}

/// Every stored column of the row named `name`, as SQLite holds it (`quote()`: values
/// and storage classes).
async fn raw_row(conn: &mut SqliteConnection, name: &str) -> String {
    sqlx::query_scalar(
        "SELECT quote(skill_id) || '|' || quote(description) || '|' || quote(is_active)
                || '|' || quote(is_bundled) || '|' || quote(disk_path) || '|' || quote(imported_at)
                || '|' || quote(purpose) || '|' || quote(version) || '|' || quote(model)
                || '|' || quote(argument_hint) || '|' || quote(user_invocable) || '|' || quote(disable_model_invocation)
                || '|' || quote(content_hash)
         FROM workspace_skills WHERE skill_name = ?",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// How an upsert is called: which function, and through what.
#[derive(Debug, Clone, Copy)]
enum Via {
    Writer,
    Connection,
    Transaction,
}

async fn upsert_via(
    db: &skill_builder_app::Database,
    bundled: bool,
    via: Via,
    s: &WorkspaceSkill,
) -> skill_builder_db::Result<bool> {
    async fn call(
        conn: &mut sqlx::SqliteConnection,
        bundled: bool,
        s: &WorkspaceSkill,
    ) -> skill_builder_db::Result<bool> {
        if bundled {
            ws::upsert_bundled_workspace_skill(conn, s).await
        } else {
            ws::upsert_workspace_skill(conn, s).await
        }
    }
    match via {
        Via::Writer => {
            let mut conn = db.write().await.unwrap();
            if bundled {
                ws::upsert_bundled_workspace_skill(&mut conn, s).await
            } else {
                ws::upsert_workspace_skill(&mut conn, s).await
            }
        }
        Via::Connection => call(&mut db.write().await.unwrap(), bundled, s).await,
        Via::Transaction => {
            let mut tx = db.begin().await.unwrap();
            let result = call(&mut tx, bundled, s).await;
            tx.commit().await.unwrap();
            result
        }
    }
}

#[tokio::test]
async fn upserting_a_row_whose_kept_active_flag_is_not_an_integer_is_malformed_and_writes_nothing()
{
    let t = common::open_temp().await;
    let mut first = with_purpose("ws-1", "research", "research", true);
    first.version = Some("1".into());
    insert(&mut *t.conn().await, &first).await;
    ws::set_workspace_skill_content_hash(&mut *t.conn().await, "research", "h1")
        .await
        .unwrap();
    // Every overwritable field differs from the stored row.
    let mut next = with_purpose("ws-9", "research", "other", true);
    next.description = Some("changed".into());
    next.disk_path = "/ws/elsewhere".into();
    next.is_bundled = true;
    next.version = Some("2".into());
    next.model = Some("opus".into());
    next.argument_hint = Some("[x]".into());
    next.user_invocable = Some(false);
    next.disable_model_invocation = Some(true);
    for (value, found) in [("'yes'", "text"), ("2.5", "real"), ("x'01'", "blob")] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE workspace_skills SET is_active = {value} WHERE skill_name = 'research'"
        )))
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
        let before = raw_row(&mut *t.conn().await, "research").await;
        for bundled in [false, true] {
            for via in [Via::Writer, Via::Connection, Via::Transaction] {
                match upsert_via(&t.db, bundled, via, &next).await {
                    Err(Error::Malformed(m)) => {
                        assert_eq!(
                            (m.table, m.key.as_str(), m.column.as_str()),
                            ("workspace_skills", "research", "is_active")
                        );
                        assert_eq!(
                            m.problem,
                            skill_builder_db::malformed::ValueProblem::StorageClass {
                                found: found.to_owned(),
                                declared: "INTEGER".to_owned(),
                            },
                            "{value}"
                        );
                    }
                    other => panic!("{value}, bundled {bundled}, {via:?}: {other:?}"),
                }
                assert_eq!(
                    raw_row(&mut *t.conn().await, "research").await,
                    before,
                    "{value}, bundled {bundled}, {via:?}: nothing written"
                );
            }
        }
    }
    // Once the flag is an integer again, the upsert goes through and reports it.
    sqlx::query("UPDATE workspace_skills SET is_active = 0 WHERE skill_name = 'research'")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    for via in [Via::Writer, Via::Connection, Via::Transaction] {
        assert!(!upsert_via(&t.db, false, via, &next).await.unwrap());
    }
    let stored = get(&mut *t.conn().await, "ws-1").await;
    assert_eq!(
        (stored.purpose.as_deref(), stored.model.as_deref()),
        (Some("other"), Some("opus"))
    );
}
