#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Secrets (API key, OAuth token) never appear in `Debug` output, error messages or
//! `tracing` events: every event of a settings round-trip, at TRACE level and from
//! every crate (sqlx included), is captured and searched.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use skill_builder_app::Database;
use skill_builder_db::settings;
use skill_builder_model::AppSettings;

const API_KEY: &str = "sk-ant-api03-SECRET-KEY-0123456789";
const OAUTH_TOKEN: &str = "gho_SECRET_OAUTH_TOKEN_abcdef";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        capture
    })
}

fn captured() -> String {
    String::from_utf8_lossy(&capture().0.lock().unwrap()).into_owned()
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(API_KEY), "{what} leaks the API key:\n{text}");
    assert!(
        !text.contains(OAUTH_TOKEN),
        "{what} leaks the OAuth token:\n{text}"
    );
    assert!(
        !text.contains("SECRET"),
        "{what} leaks part of a secret:\n{text}"
    );
}

#[tokio::test]
async fn no_secret_reaches_debug_errors_or_tracing() {
    // The capture is a process-global subscriber: alone in a child process.
    if !crate::common::alone_in_child_process("secrets::no_secret_reaches_debug_errors_or_tracing")
    {
        return;
    }
    capture();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("skill-builder.db"))
        .await
        .unwrap();

    let written = AppSettings {
        anthropic_api_key: Some(API_KEY.into()),
        github_oauth_token: Some(OAUTH_TOKEN.into()),
        github_user_login: Some("octocat".into()),
        workspace_path: Some("/home/me/ws".into()),
        ..AppSettings::default()
    };
    settings::write_settings(&mut db.write().await.expect("writer"), &written)
        .await
        .unwrap();
    let read = settings::read_settings(&mut db.write().await.expect("writer"))
        .await
        .unwrap();
    assert_eq!(read, written, "round-trip");
    assert_eq!(read.anthropic_api_key.as_deref(), Some(API_KEY));

    assert_no_secret("Debug of AppSettings", &format!("{read:?} {read:#?}"));

    // A stored value that no longer parses: the error names the problem, not the value.
    sqlx::query("UPDATE settings SET value = ? WHERE key = 'app_settings'")
        .bind(format!(r#"{{"anthropic_api_key":"{API_KEY}","github_oauth_token":"{OAUTH_TOKEN}","debug_mode":"yes"}}"#))
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .unwrap();
    let err = settings::read_settings(&mut db.write().await.expect("writer"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            skill_builder_db::Error::InvalidInput(skill_builder_db::InvalidInput::Settings(_))
        ),
        "{err:?}"
    );
    assert_no_secret("settings error", &format!("{err} {err:?}"));
    let kept: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'app_settings'")
        .fetch_one(&mut *db.write().await.expect("writer"))
        .await
        .unwrap();
    assert!(
        kept.contains(API_KEY),
        "the unreadable value is kept, not replaced by defaults"
    );

    db.close().await;
    let log = captured();
    assert!(
        log.contains("write_settings"),
        "the operations were traced:\n{log}"
    );
    assert!(
        log.contains("read_settings"),
        "the operations were traced:\n{log}"
    );
    assert!(
        log.contains("sqlx::query"),
        "sqlx statement events were captured too:\n{log}"
    );
    assert_no_secret("tracing output", &log);
}
