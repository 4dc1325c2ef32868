//! operations.md §1 (settings) through the database, and §15 "Settings".

use crate::common;

use common::open_temp;
use skill_builder_db::{Error, InvalidInput, settings};
use skill_builder_model::AppSettings;

async fn store_raw(conn: &mut sqlx::SqliteConnection, json: &str) {
    sqlx::query!(
        "INSERT INTO settings (key, value) VALUES ('app_settings', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        json
    )
    .execute(&mut *conn)
    .await
    .expect("store raw settings");
}

#[tokio::test]
async fn reading_settings_from_an_empty_store_yields_defaults() {
    let t = open_temp().await;
    let s = settings::read_settings(&mut *t.conn().await)
        .await
        .expect("read");
    assert_eq!(s, AppSettings::default());
    assert_eq!(s.anthropic_api_key, None);
    assert_eq!(s.workspace_path, None);
    assert_eq!(s.log_level, "info");
    assert_eq!(s.max_dimensions, 5);
    assert!(!s.extended_context && !s.extended_thinking && !s.splash_shown);
}

#[tokio::test]
async fn writing_settings_then_reading_returns_the_same_api_key_and_workspace_path() {
    let t = open_temp().await;
    let written = AppSettings {
        anthropic_api_key: Some("sk-test".into()),
        workspace_path: Some("/home/me/ws".into()),
        ..AppSettings::default()
    };
    settings::write_settings(&mut *t.conn().await, &written)
        .await
        .expect("write");
    let read = settings::read_settings(&mut *t.conn().await)
        .await
        .expect("read");
    assert_eq!(read.anthropic_api_key.as_deref(), Some("sk-test"));
    assert_eq!(read.workspace_path.as_deref(), Some("/home/me/ws"));
    assert_eq!(read, written);
}

#[tokio::test]
async fn skills_path_round_trips_through_write_and_read() {
    let t = open_temp().await;
    let written = AppSettings {
        skills_path: Some("/home/me/skills".into()),
        ..AppSettings::default()
    };
    settings::write_settings(&mut *t.conn().await, &written)
        .await
        .expect("write");
    let read = settings::read_settings_hydrated(&mut *t.conn().await)
        .await
        .expect("read");
    assert_eq!(read.skills_path.as_deref(), Some("/home/me/skills"));
}

#[tokio::test]
async fn a_second_write_replaces_the_first() {
    let t = open_temp().await;
    let first = AppSettings {
        anthropic_api_key: Some("old".into()),
        ..AppSettings::default()
    };
    let second = AppSettings {
        anthropic_api_key: Some("new".into()),
        workspace_path: Some("/ws".into()),
        ..AppSettings::default()
    };
    settings::write_settings(&mut *t.conn().await, &first)
        .await
        .expect("write 1");
    settings::write_settings(&mut *t.conn().await, &second)
        .await
        .expect("write 2");
    assert_eq!(
        settings::read_settings(&mut *t.conn().await)
            .await
            .expect("read"),
        second
    );
    let rows = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM settings"#)
        .fetch_one(&mut *t.conn().await)
        .await
        .expect("count");
    assert_eq!(rows, 1, "one row, key app_settings");
}

#[tokio::test]
async fn a_fully_populated_record_round_trips_through_the_database() {
    let t = open_temp().await;
    let full = AppSettings {
        anthropic_api_key: Some("k".into()),
        workspace_path: Some("/w".into()),
        skills_path: Some("/s".into()),
        preferred_model: Some("opus".into()),
        debug_mode: true,
        log_level: "debug".into(),
        extended_context: true,
        extended_thinking: true,
        splash_shown: true,
        github_oauth_token: Some("gho".into()),
        github_user_login: Some("octo".into()),
        github_user_avatar: Some("https://a".into()),
        github_user_email: Some("o@example.com".into()),
        marketplace_url: Some("https://m".into()),
        max_dimensions: u32::MAX,
        industry: Some("finance".into()),
        function_role: Some("analyst".into()),
        dashboard_view_mode: Some("grid".into()),
        auto_update: true,
    };
    settings::write_settings(&mut *t.conn().await, &full)
        .await
        .expect("write");
    assert_eq!(
        settings::read_settings(&mut *t.conn().await)
            .await
            .expect("read"),
        full
    );
}

#[tokio::test]
async fn json_lacking_newer_keys_decodes_with_defaults_and_verbose_logging_is_ignored() {
    let t = open_temp().await;
    store_raw(
        &mut *t.conn().await,
        r#"{"anthropic_api_key":"sk-old","workspace_path":"/w","verbose_logging":true}"#,
    )
    .await;
    let s = settings::read_settings(&mut *t.conn().await)
        .await
        .expect("read");
    assert_eq!(s.anthropic_api_key.as_deref(), Some("sk-old"));
    assert_eq!(s.skills_path, None);
    assert_eq!(s.log_level, "info");
    assert!(!s.extended_thinking);
    assert_eq!(s.github_oauth_token, None);
    assert_eq!(s.github_user_login, None);
    assert_eq!(s.marketplace_url, None);
}

#[tokio::test]
async fn unreadable_settings_are_an_invalid_input_error_and_the_stored_value_is_kept() {
    let t = open_temp().await;
    for bad in [
        r#"{"debug_mode":"yes"}"#,
        "{not json",
        r#"{"max_dimensions":-1}"#,
    ] {
        store_raw(&mut *t.conn().await, bad).await;
        let err = settings::read_settings(&mut *t.conn().await)
            .await
            .expect_err("must fail");
        assert!(
            matches!(err, Error::InvalidInput(InvalidInput::Settings(_))),
            "{err:?}"
        );
        let kept = sqlx::query_scalar!("SELECT value FROM settings WHERE key = 'app_settings'")
            .fetch_one(&mut *t.conn().await)
            .await
            .expect("stored");
        assert_eq!(kept, bad, "never overwritten by defaults");
    }
}
