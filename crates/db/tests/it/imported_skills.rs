//! Imported skills (`imported_skills`): operations.md §7 and the §15 "Imported skills"
//! lines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{HashInfo, ImportedSkill, ImportedSkillId, SkillId};
use skill_builder_db::{Conflict, Entity, Error, InvalidInput, imported_skills};
use sqlx::SqliteConnection;

async fn add_skill(conn: &mut SqliteConnection, name: &str) -> SkillId {
    sqlx::query_scalar!(
        r#"INSERT INTO skills (name, skill_source, purpose, description)
           VALUES (?, 'marketplace', 'domain', 'master description')
           RETURNING id AS "id: SkillId""#,
        name
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

fn skill(id: &str, name: &str) -> ImportedSkill {
    ImportedSkill::new(
        ImportedSkillId::from(id),
        name,
        format!("/nowhere/{name}"),
        "2026-01-31T12:00:00Z",
    )
}

#[tokio::test]
async fn list_active_skills_returns_only_active_rows_sorted_by_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let mut inactive = skill("imp-3", "beta");
    inactive.is_active = false;
    for s in [skill("imp-1", "gamma"), skill("imp-2", "alpha"), inactive] {
        imported_skills::insert_imported_skill(&mut conn, &s)
            .await
            .unwrap();
    }
    let active = imported_skills::list_active_skills(&mut conn)
        .await
        .unwrap();
    let names: Vec<_> = active.iter().map(|s| s.skill_name.as_str()).collect();
    assert_eq!(names, ["alpha", "gamma"]);
    assert!(
        active
            .iter()
            .all(|s| s.skill_master_id.is_none() && s.is_active)
    );
}

#[tokio::test]
async fn delete_imported_skill_by_name_removes_the_row_and_succeeds_for_an_unknown_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", "alpha"))
        .await
        .unwrap();
    assert!(
        imported_skills::get_imported_skill(&mut conn, "alpha")
            .await
            .unwrap()
            .is_some()
    );
    imported_skills::delete_imported_skill_by_name(&mut conn, "alpha")
        .await
        .unwrap();
    assert_eq!(
        imported_skills::get_imported_skill(&mut conn, "alpha")
            .await
            .unwrap(),
        None
    );
    imported_skills::delete_imported_skill_by_name(&mut conn, "unknown")
        .await
        .unwrap();
    imported_skills::delete_imported_skill(&mut conn, "unknown")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_row_without_a_master_link_can_be_read_updated_and_deleted() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", "orphan"))
        .await
        .unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "orphan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.skill_master_id, None);
    imported_skills::update_imported_skill_active(&mut conn, "orphan", false, "/moved")
        .await
        .unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "orphan")
        .await
        .unwrap()
        .unwrap();
    assert!(!got.is_active);
    assert_eq!(got.disk_path, "/moved");
    imported_skills::delete_imported_skill(&mut conn, "orphan")
        .await
        .unwrap();
    assert_eq!(
        imported_skills::get_imported_skill(&mut conn, "orphan")
            .await
            .unwrap(),
        None
    );
    // The name is free again.
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-2", "orphan"))
        .await
        .unwrap();
}

#[tokio::test]
async fn every_field_round_trips_and_the_description_is_hydrated_from_disk() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let master = add_skill(&mut conn, "pdf-tools").await;
    let folder = t.dir.path().join("pdf-tools");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("SKILL.md"),
        "---\nname: pdf-tools\ndescription: \"Fill: PDF forms\"\n---\n# PDF\n",
    )
    .unwrap();
    let mut s = skill("imp-1", "pdf-tools");
    s.disk_path = folder.to_string_lossy().into_owned();
    s.is_bundled = true;
    s.description = Some("ignored on write".into());
    s.purpose = Some("domain".into());
    s.version = Some("2.0.0".into());
    s.model = Some("opus".into());
    s.argument_hint = Some("<file>".into());
    s.user_invocable = Some(true);
    s.disable_model_invocation = Some(false);
    s.skill_master_id = Some(SkillId::new(12345));
    s.content_hash = Some("ignored".into());
    imported_skills::insert_imported_skill(&mut conn, &s)
        .await
        .unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "pdf-tools")
        .await
        .unwrap()
        .unwrap();
    let expected = ImportedSkill {
        description: Some("Fill: PDF forms".into()),
        skill_master_id: Some(master),
        content_hash: None,
        ..s.clone()
    };
    assert_eq!(got, expected);
    let listed = imported_skills::list_active_skills(&mut conn)
        .await
        .unwrap();
    assert_eq!(listed, [expected]);
    // Unreadable file: no description.
    std::fs::remove_file(folder.join("SKILL.md")).unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "pdf-tools")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.description, None);
}

#[tokio::test]
async fn null_booleans_read_back_as_none_and_nonzero_as_true() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query!(
        "INSERT INTO imported_skills (skill_id, skill_name, is_active, disk_path, is_bundled,
                                      user_invocable, disable_model_invocation)
         VALUES ('raw', 'raw', 7, '/raw', 0, NULL, 2)"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "raw")
        .await
        .unwrap()
        .unwrap();
    assert!(got.is_active);
    assert!(!got.is_bundled);
    assert_eq!(got.user_invocable, None);
    assert_eq!(got.disable_model_invocation, Some(true));
    assert!(got.imported_at.ends_with('Z'), "{}", got.imported_at);
    assert_eq!(
        imported_skills::list_active_skills(&mut conn)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn insert_of_a_taken_name_or_id_is_already_exists() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", "alpha"))
        .await
        .unwrap();
    for dup in [skill("imp-2", "alpha"), skill("imp-1", "beta")] {
        let err = imported_skills::insert_imported_skill(&mut conn, &dup)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(Conflict::AlreadyExists { entity: Entity::ImportedSkill, key }) if *key == dup.skill_name),
            "{err:?}"
        );
        assert!(err.to_string().contains("already exists"), "{err}");
    }
    assert_eq!(
        imported_skills::get_imported_skill(&mut conn, "beta")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn invalid_imported_skill_inputs_are_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", " "))
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
    let err = imported_skills::insert_imported_skill(&mut conn, &skill("", "alpha"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty { field: "skill_id" })
        ),
        "{err:?}"
    );
    let mut s = skill("imp-1", "alpha");
    s.disk_path = "/a\0b".into();
    let err = imported_skills::upsert_imported_skill(&mut conn, &s)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::ContainsNul { field: "disk_path" })
        ),
        "{err:?}"
    );
    let err = imported_skills::update_imported_skill_active(&mut conn, "", true, "/p")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(InvalidInput::Empty { .. })),
        "{err:?}"
    );
    assert!(
        imported_skills::list_active_skills(&mut conn)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn upsert_overwrites_install_fields_keeps_flags_and_hash_and_mirrors_the_master() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let master = add_skill(&mut conn, "alpha").await;
    sqlx::query!(
        "UPDATE skills SET updated_at = '2020-01-01 00:00:00', model = 'sonnet', argument_hint = 'old'
         WHERE id = ?",
        master
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let mut first = skill("imp-1", "alpha");
    first.is_bundled = true;
    first.version = Some("1.0.0".into());
    imported_skills::upsert_imported_skill(&mut conn, &first)
        .await
        .unwrap();
    imported_skills::update_imported_skill_active(&mut conn, "alpha", false, "/inactive/alpha")
        .await
        .unwrap();
    imported_skills::set_imported_skill_content_hash(&mut conn, "alpha", "h1")
        .await
        .unwrap();

    let mut second = skill("imp-9", "alpha");
    second.disk_path = "/new/alpha".into();
    second.imported_at = "2026-02-01T00:00:00Z".into();
    second.is_active = true;
    second.is_bundled = false;
    second.purpose = Some("research".into());
    second.version = Some("2.0.0".into());
    second.user_invocable = Some(false);
    imported_skills::upsert_imported_skill(&mut conn, &second)
        .await
        .unwrap();

    let got = imported_skills::get_imported_skill(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.skill_id.as_str(), "imp-9");
    assert_eq!(got.disk_path, "/new/alpha");
    assert_eq!(got.imported_at, "2026-02-01T00:00:00Z");
    assert_eq!(got.purpose.as_deref(), Some("research"));
    assert_eq!(got.version.as_deref(), Some("2.0.0"));
    assert_eq!(got.user_invocable, Some(false));
    assert_eq!(got.skill_master_id, Some(master));
    // Kept.
    assert!(!got.is_active);
    assert!(got.is_bundled);
    assert_eq!(got.content_hash.as_deref(), Some("h1"));

    let m = sqlx::query!(
        r#"SELECT version, model, argument_hint, user_invocable AS "user_invocable: bool",
                  disable_model_invocation AS "disable_model_invocation: bool",
                  description, purpose, updated_at
           FROM skills WHERE id = ?"#,
        master
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(m.version.as_deref(), Some("2.0.0"));
    assert_eq!(
        m.model, None,
        "absent values overwrite the master with NULL"
    );
    assert_eq!(m.argument_hint, None);
    assert_eq!(m.user_invocable, Some(false));
    assert_eq!(m.disable_model_invocation, None);
    assert_eq!(m.description.as_deref(), Some("master description"));
    assert_eq!(m.purpose.as_deref(), Some("domain"));
    assert_ne!(m.updated_at, "2020-01-01 00:00:00");
    assert!(!m.updated_at.ends_with('Z'), "{}", m.updated_at);
}

#[tokio::test]
async fn upsert_without_a_master_row_only_writes_the_imported_row() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    imported_skills::upsert_imported_skill(&mut conn, &skill("imp-1", "solo"))
        .await
        .unwrap();
    let got = imported_skills::get_imported_skill(&mut conn, "solo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.skill_master_id, None);
}

#[tokio::test]
async fn upsert_with_an_id_of_another_name_is_already_exists_with_the_id() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", "alpha"))
        .await
        .unwrap();
    let err = imported_skills::upsert_imported_skill(&mut conn, &skill("imp-1", "beta"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(Conflict::AlreadyExists { entity: Entity::ImportedSkill, key }) if key == "imp-1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_master_mirror_leaves_the_imported_row_unwritten() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    sqlx::query!(
        "CREATE TEMP TRIGGER fail_master_update BEFORE UPDATE ON skills
         BEGIN SELECT RAISE(ABORT, 'mirror refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = imported_skills::upsert_imported_skill(&mut conn, &skill("imp-1", "alpha"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert_eq!(
        imported_skills::get_imported_skill(&mut conn, "alpha")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn update_active_of_an_unknown_skill_is_not_found() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_skill(&mut conn, "alpha").await;
    let err = imported_skills::update_imported_skill_active(&mut conn, "alpha", true, "/p")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::ImportedSkill, key } if key == "alpha"),
        "{err:?}"
    );
}

#[tokio::test]
async fn content_hash_is_set_and_read_by_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    imported_skills::insert_imported_skill(&mut conn, &skill("imp-1", "alpha"))
        .await
        .unwrap();
    let info = imported_skills::get_imported_skill_hash_info(&mut conn, "alpha")
        .await
        .unwrap();
    assert_eq!(
        info,
        Some(HashInfo {
            disk_path: "/nowhere/alpha".into(),
            content_hash: None
        })
    );
    imported_skills::set_imported_skill_content_hash(&mut conn, "alpha", "abc")
        .await
        .unwrap();
    let info = imported_skills::get_imported_skill_hash_info(&mut conn, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.content_hash.as_deref(), Some("abc"));
    imported_skills::set_imported_skill_content_hash(&mut conn, "unknown", "abc")
        .await
        .unwrap();
    assert_eq!(
        imported_skills::get_imported_skill_hash_info(&mut conn, "unknown")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn legacy_imported_skills_read_back() {
    for fixture in ["v00", "v17", "v21", "v28"] {
        let t = common::open_legacy(fixture).await;
        let mut conn = t.conn().await;
        // Upgrading drops unlinked non-bundled rows (step 20) and moves bundled ones to
        // the workspace table (step 21), so what is left must read back as stored.
        let all = sqlx::query_scalar!("SELECT skill_name FROM imported_skills ORDER BY skill_name")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        for name in &all {
            let got = imported_skills::get_imported_skill(&mut conn, name)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&got.skill_name, name);
        }
        // A row shaped like the old layer's: legacy id, NULL link, NULL frontmatter.
        sqlx::query!(
            "INSERT INTO imported_skills (skill_id, skill_name, disk_path, imported_at)
             VALUES ('imp-legacy', 'legacy-row', '/skills/legacy', '2025-01-05 10:00:00Z')"
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let active = imported_skills::list_active_skills(&mut conn)
            .await
            .unwrap();
        let row = active
            .iter()
            .find(|s| s.skill_name == "legacy-row")
            .unwrap();
        assert_eq!(row.skill_id.as_str(), "imp-legacy");
        assert_eq!(
            (
                row.skill_master_id,
                row.version.as_deref(),
                row.description.as_deref()
            ),
            (None, None, None)
        );
        assert_eq!(active.len(), all.len() + 1, "{fixture}");
    }
}
