//! Where the database lives.

use std::path::{Path, PathBuf};

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

/// The name to hand SQLite for a user's `path`: always a plain file path, never a URI.
///
/// Every connection is opened with `SQLITE_OPEN_URI` (sqlx sets it), so a name that
/// begins with `file:` would be parsed as a URI (`file:rel.db` opens `./rel.db`).
/// A relative path is made absolute (joined to the current directory, or prefixed
/// with `./` when that is unavailable), which no URI starts with; `VACUUM INTO`
/// destinations go through here too.
///
/// # Errors
/// [`OpenError::NotUtf8`] when the path is not valid UTF-8: SQLite is handed a
/// C string built from UTF-8, so such a file could not be opened (checked before
/// anything is created).
pub(crate) fn sqlite_path(path: &Path) -> Result<PathBuf, OpenError> {
    if path.to_str().is_none() {
        return Err(OpenError::NotUtf8 { path: path.into() });
    }
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()
        .ok()
        .filter(|cwd| cwd.to_str().is_some() && cwd.is_absolute())
        .map_or_else(|| Path::new(".").join(path), |cwd| cwd.join(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_colon_name_never_reaches_sqlite_as_a_uri() {
        let p = sqlite_path(Path::new("file:rel.db")).unwrap_or_default();
        assert!(p.is_absolute(), "{}", p.display());
        assert!(p.ends_with("file:rel.db"));
        assert!(!p.to_string_lossy().starts_with("file:"));
        assert_eq!(
            sqlite_path(Path::new("/a/file:b.db")).unwrap_or_default(),
            Path::new("/a/file:b.db")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStrExt;
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfe/x.db"));
        assert!(matches!(sqlite_path(bad), Err(OpenError::NotUtf8 { .. })));
    }
}
