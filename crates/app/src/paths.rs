//! Where the database lives.

use std::path::PathBuf;

use crate::OpenError;

/// The app identifier: the folder name under the platform's data directory.
pub const APP_IDENTIFIER: &str = "com.skillbuilder.app";
/// The database file name.
pub const DB_FILE_NAME: &str = "skill-builder.db";
/// Environment variable that overrides the default path.
pub const DB_PATH_ENV: &str = "SKILL_BUILDER_DB";

/// The default database path: `$SKILL_BUILDER_DB` when set and non-empty, else
/// `{data_dir}/com.skillbuilder.app/skill-builder.db` (macOS
/// `~/Library/Application Support`, Linux `$XDG_DATA_HOME` or `~/.local/share`,
/// Windows `%APPDATA%`).
///
/// # Errors
/// [`OpenError::NoDataDir`] when neither is available.
///
/// ```
/// let path = skill_builder_app::default_path().unwrap_or_default();
/// assert!(path.ends_with("skill-builder.db") || std::env::var_os("SKILL_BUILDER_DB").is_some());
/// ```
pub fn default_path() -> Result<PathBuf, OpenError> {
    if let Some(p) = std::env::var_os(DB_PATH_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::data_dir()
        .map(|d| d.join(APP_IDENTIFIER).join(DB_FILE_NAME))
        .ok_or(OpenError::NoDataDir)
}
