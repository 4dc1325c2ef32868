//! Tags: replace a skill's set, batch lookup, distinct listing.

use crate::common;

use std::collections::BTreeMap;

use skill_builder_db::model::{SkillId, SkillSource, SkillTag};
use skill_builder_db::{Entity, Error, InvalidInput, skills, tags};
use sqlx::SqliteConnection;

async fn master(conn: &mut SqliteConnection, name: &str) -> SkillId {
    skills::upsert_skill(conn, name, &SkillSource::SkillBuilder, None)
        .await
        .unwrap()
}

async fn set(conn: &mut SqliteConnection, name: &str, list: &[&str]) {
    tags::set_skill_tags(conn, name, list).await.unwrap();
}

async fn tags_of(conn: &mut SqliteConnection, name: &str) -> Vec<String> {
    tags::get_tags_for_skills(conn, &[name])
        .await
        .unwrap()
        .remove(name)
        .unwrap_or_default()
}

// ---- operations.md §15 "Tags" ----

#[tokio::test]
async fn tags_set_on_a_skill_come_back_sorted() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(&mut *t.conn().await, "s", &["salesforce", "analytics"]).await;
    assert_eq!(
        tags_of(&mut *t.conn().await, "s").await,
        ["analytics", "salesforce"]
    );
}

#[tokio::test]
async fn tags_are_trimmed_and_lower_cased_and_blank_tags_dropped() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(
        &mut *t.conn().await,
        "s",
        &["  Analytics ", "", "   ", "SALESFORCE"],
    )
    .await;
    assert_eq!(
        tags_of(&mut *t.conn().await, "s").await,
        ["analytics", "salesforce"]
    );
}

#[tokio::test]
async fn case_and_whitespace_duplicates_collapse_to_one_tag() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(
        &mut *t.conn().await,
        "s",
        &["  Analytics ", "analytics", "ANALYTICS"],
    )
    .await;
    assert_eq!(tags_of(&mut *t.conn().await, "s").await, ["analytics"]);
}

#[tokio::test]
async fn setting_tags_replaces_the_previous_set() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(&mut *t.conn().await, "s", &["old", "kept"]).await;
    set(&mut *t.conn().await, "s", &["kept", "new"]).await;
    assert_eq!(tags_of(&mut *t.conn().await, "s").await, ["kept", "new"]);
}

#[tokio::test]
async fn batch_lookup_for_three_skills_returns_each_skills_own_sorted_tags() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for (name, list) in [
        ("one", &["b", "a"][..]),
        ("two", &["z"][..]),
        ("three", &["m", "c", "x"][..]),
    ] {
        master(&mut conn, name).await;
        set(&mut conn, name, list).await;
    }
    let map = tags::get_tags_for_skills(&mut conn, &["one", "two", "three"])
        .await
        .unwrap();
    let expected: BTreeMap<String, Vec<String>> = [
        ("one", vec!["a", "b"]),
        ("three", vec!["c", "m", "x"]),
        ("two", vec!["z"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(map, expected);
}

#[tokio::test]
async fn get_all_tags_returns_the_distinct_tags_of_all_skills_sorted() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    master(&mut conn, "one").await;
    master(&mut conn, "two").await;
    set(&mut conn, "one", &["shared", "beta"]).await;
    set(&mut conn, "two", &["shared", "alpha"]).await;
    assert_eq!(
        tags::get_all_tags(&mut conn).await.unwrap(),
        ["alpha", "beta", "shared"]
    );
}

// ---- more ----

#[tokio::test]
async fn tag_rows_round_trip_with_their_master_link() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = master(&mut conn, "s").await;
    set(&mut conn, "s", &["Ärger", "tag"]).await;
    let rows = sqlx::query_as!(
        SkillTag,
        r#"SELECT skill_name, tag, created_at, skill_id AS "skill_id: SkillId"
           FROM skill_tags ORDER BY tag"#
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].tag, "tag");
    assert_eq!(rows[1].tag, "ärger", "full Unicode lower-casing");
    for r in &rows {
        assert_eq!(r.skill_name, "s");
        assert_eq!(r.skill_id, Some(id));
        assert_eq!(r.created_at.len(), 20);
        assert!(r.created_at.ends_with('Z'));
    }
}

#[tokio::test]
async fn an_empty_list_clears_every_tag() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(&mut *t.conn().await, "s", &["a"]).await;
    set(&mut *t.conn().await, "s", &[]).await;
    assert!(
        tags::get_tags_for_skills(&mut *t.conn().await, &["s"])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tags::get_all_tags(&mut *t.conn().await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn setting_tags_of_a_skill_not_in_the_master_is_not_found() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let err = tags::set_skill_tags(&mut conn, "ghost", &["a"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "ghost"),
        "{err:?}"
    );
    assert!(tags::get_all_tags(&mut *conn).await.unwrap().is_empty());
}

/// `set_skill_tags` sends its lookup, delete and insert as one query text: for a name
/// with no master row the delete has already matched the name's orphan tag rows when
/// the lookup's empty result is seen, and the rollback must keep them — on the writer
/// and inside a caller's transaction.
#[tokio::test]
async fn setting_tags_of_a_missing_skill_keeps_the_orphan_tag_rows_of_its_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query("INSERT INTO skill_tags (skill_name, tag, skill_id) VALUES ('ghost', 'old', NULL)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let orphans = "SELECT count(*) FROM skill_tags WHERE skill_name = 'ghost'";
    let err = tags::set_skill_tags(&mut conn, "ghost", &["new"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Skill,
                ..
            }
        ),
        "{err:?}"
    );
    let count: i64 = sqlx::query_scalar(orphans)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 1);

    let mut tx = skill_builder_db::tx::begin_immediate(&mut conn)
        .await
        .unwrap();
    let err = tags::set_skill_tags(&mut tx, "ghost", &["new"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    master(&mut tx, "kept").await;
    tx.commit().await.unwrap();
    let count: i64 = sqlx::query_scalar(orphans)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        count, 1,
        "the caller's transaction goes on without the failed call's delete"
    );
    assert_eq!(skills::list_all_skills(&mut *conn).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_names_and_tags_are_refused_before_anything_changes() {
    let t = common::open_temp().await;
    master(&mut *t.conn().await, "s").await;
    set(&mut *t.conn().await, "s", &["keep"]).await;
    let mut conn = t.conn().await;
    let err = tags::set_skill_tags(&mut conn, "s", &["ok", "bad\0"])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::ContainsNul { field: "tag" })
    ));
    let err = tags::set_skill_tags(&mut conn, " ", &["x"])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(InvalidInput::Empty { .. })
    ));
    drop(conn);
    assert_eq!(tags_of(&mut *t.conn().await, "s").await, ["keep"]);
}

#[tokio::test]
async fn batch_lookup_of_no_names_is_empty_and_unknown_or_untagged_skills_are_absent() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    master(&mut conn, "tagged").await;
    master(&mut conn, "untagged").await;
    set(&mut conn, "tagged", &["a"]).await;
    let none: [&str; 0] = [];
    assert!(
        tags::get_tags_for_skills(&mut conn, &none)
            .await
            .unwrap()
            .is_empty()
    );
    let map = tags::get_tags_for_skills(&mut conn, &["untagged", "unknown", "tagged", "tagged"])
        .await
        .unwrap();
    assert_eq!(map.len(), 1);
    assert_eq!(map["tagged"], ["a"]);
}

#[tokio::test]
async fn batch_lookup_handles_more_names_than_sqlites_bound_parameter_limit() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let names: Vec<String> = (0..2500).map(|i| format!("skill-{i:04}")).collect();
    let json = serde_json::to_string(&names).unwrap();
    sqlx::query!(
        "INSERT INTO skills (name, skill_source) SELECT value, 'imported' FROM json_each(?)",
        json
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query!(
        "INSERT INTO skill_tags (skill_name, tag, skill_id)
         SELECT name, 't' || (id % 3), id FROM skills"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let map = tags::get_tags_for_skills(&mut conn, &names).await.unwrap();
    assert_eq!(map.len(), 2500);
    assert_eq!(map["skill-2499"].len(), 1);
    // Names with quotes or JSON metacharacters are plain values.
    master(&mut conn, r#"we"ird\name"#).await;
    set(&mut conn, r#"we"ird\name"#, &["q"]).await;
    let map = tags::get_tags_for_skills(&mut conn, &[r#"we"ird\name"#])
        .await
        .unwrap();
    assert_eq!(map[r#"we"ird\name"#], ["q"]);
}

#[tokio::test]
async fn null_linked_tag_rows_of_the_skill_are_seen_and_replaced() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = master(&mut conn, "s").await;
    // A legacy row carrying the name with no link.
    sqlx::query!("INSERT INTO skill_tags (skill_name, tag) VALUES ('s', 'legacy')")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(tags_of(&mut conn, "s").await, ["legacy"]);
    set(&mut conn, "s", &["legacy", "new"]).await;
    let links =
        sqlx::query_scalar!(r#"SELECT skill_id AS "id: SkillId" FROM skill_tags ORDER BY tag"#)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        links,
        [Some(id), Some(id)],
        "no NULL-linked row left behind"
    );
}

#[tokio::test]
async fn get_all_tags_includes_rows_whose_skill_no_longer_exists() {
    let t = common::open_temp().await;
    sqlx::query!("INSERT INTO skill_tags (skill_name, tag) VALUES ('gone', 'orphan')")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(
        tags::get_all_tags(&mut *t.conn().await).await.unwrap(),
        ["orphan"]
    );
    assert!(
        tags::get_tags_for_skills(&mut *t.conn().await, &["gone"])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn set_skill_tags_is_one_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    master(&mut conn, "s").await;
    set(&mut conn, "s", &["before"]).await;
    sqlx::query!(
        "CREATE TRIGGER refuse_tag_insert BEFORE INSERT ON skill_tags
         BEGIN SELECT RAISE(ABORT, 'tag insert refused'); END"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let err = tags::set_skill_tags(&mut conn, "s", &["after"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tag insert refused"), "{err}");
    assert_eq!(
        tags_of(&mut conn, "s").await,
        ["before"],
        "the delete was rolled back"
    );
}

#[tokio::test]
async fn legacy_tags_read_back_as_stored() {
    for fixture in [
        "v00", "v02", "v06", "v10", "v13", "v17", "v19", "v21", "v22", "v23", "v27", "v28",
    ] {
        let t = common::open_legacy(fixture).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../tests/fixtures/legacy/{fixture}.expected.json"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rows = json["skill_tags"]["rows"].as_array().unwrap();
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows {
            expected
                .entry(r["skill_name"].as_str().unwrap().to_owned())
                .or_default()
                .push(r["tag"].as_str().unwrap().to_owned());
        }
        expected.values_mut().for_each(|v| v.sort());
        let mut all: Vec<String> = expected.values().flatten().cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(
            tags::get_all_tags(&mut *t.conn().await).await.unwrap(),
            all,
            "{fixture}"
        );
        let names = skills::get_dashboard_skill_names(&mut *t.conn().await)
            .await
            .unwrap();
        let map = tags::get_tags_for_skills(&mut *t.conn().await, &names)
            .await
            .unwrap();
        assert_eq!(map, expected, "{fixture}");
    }
}

#[tokio::test]
async fn set_skill_tags_takes_part_in_the_callers_transaction() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    master(&mut conn, "s").await;
    // One statement: the writer connection will do, outside any transaction.
    tags::set_skill_tags(&mut conn, "s", &["before"])
        .await
        .unwrap();
    drop(conn);
    let mut tx = t.db.begin().await.unwrap();
    tags::set_skill_tags(&mut tx, "s", &["inside"])
        .await
        .unwrap();
    let seen = tags::get_tags_for_skills(&mut tx, &["s"]).await.unwrap();
    assert_eq!(seen["s"], ["inside"]);
    tx.rollback().await.unwrap();
    assert_eq!(tags_of(&mut *t.conn().await, "s").await, ["before"]);
}
