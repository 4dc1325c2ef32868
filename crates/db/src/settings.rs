//! The `settings` table: one row, key `app_settings`, holding the [`AppSettings`] JSON.
//!
//! ```no_run
//! # async fn demo(db: &skill_builder_app::Database) -> skill_builder_db::Result<()> {
//! let mut conn = db.write().await?;
//! use skill_builder_db::settings;
//! let mut s = settings::read_settings(&mut conn).await?;
//! s.workspace_path = Some("/home/me/skills".into());
//! settings::write_settings(&mut conn, &s).await?;
//! # Ok(()) }
//! ```

use crate::spin::spin_then_park;
use crate::{Reader, Writer};
use skill_builder_model::{APP_SETTINGS_KEY, AppSettings};
use tracing::instrument;

use crate::malformed::Checked;
use crate::{InvalidInput, Result};

/// Load the application settings.
///
/// No row → [`AppSettings::default`]. Missing keys take their defaults, unknown keys
/// (e.g. the retired `verbose_logging`) are ignored.
///
/// # Errors
/// [`InvalidInput::Settings`] when the stored JSON is malformed or has a wrong value
/// type; [`Error::Malformed`](crate::Error::Malformed) naming `settings`, the key and
/// `value` when the stored value is not text (a BLOB, a number) or not valid UTF-8
/// (see [`crate::malformed`]). The stored value is left as it is.
#[instrument(skip_all, err)]
pub async fn read_settings(db: &mut dyn Reader) -> Result<AppSettings> {
    spin_then_park(async move {
        let stored = sqlx::query_scalar!(
            r#"SELECT value AS "value: Checked<String>" FROM settings WHERE key = ?"#,
            APP_SETTINGS_KEY
        )
        .fetch_optional(db.connection())
        .await?;
        let Some(stored) = stored else {
            return Ok(AppSettings::default());
        };
        let json = stored.of_row("settings", APP_SETTINGS_KEY, "value")?;
        serde_json::from_str(&json).map_err(|e| InvalidInput::Settings(e.into()).into())
    })
    .await
}

/// Same as [`read_settings`]; kept as a second name for existing callers.
///
/// # Errors
/// As [`read_settings`].
pub async fn read_settings_hydrated(db: &mut dyn Reader) -> Result<AppSettings> {
    spin_then_park(async move { read_settings(db.connection()).await }).await
}

/// Persist the whole settings record (insert or replace the `app_settings` row).
/// Absent optionals are written as JSON `null`. Idempotent.
///
/// # Errors
/// The database error.
#[instrument(skip_all, err)]
pub async fn write_settings(conn: &mut dyn Writer, settings: &AppSettings) -> Result<()> {
    spin_then_park(async move {
        let conn = conn.connection();
        // Serialising a struct of strings, bools and integers cannot fail.
        let json = serde_json::to_string(settings).map_err(|e| InvalidInput::Settings(e.into()))?;
        sqlx::query!(
            "INSERT INTO settings (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            APP_SETTINGS_KEY,
            json
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}
