//! The file system under a database: read-only media, and the `-wal`/`-shm`
//! companions a read-only open may create.

use std::path::{Path, PathBuf};

/// Whether `path` (an existing file) is on a read-only file system (a read-only
/// mount, a CD, a locked disk image). Probed by opening the file for writing, which
/// changes nothing (no truncation, no data written); only `EROFS` counts — a file the
/// user merely may not write is reported by its permissions instead.
pub(crate) fn on_read_only_file_system(path: &Path) -> bool {
    matches!(
        std::fs::OpenOptions::new().write(true).open(path),
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
    )
}

fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// After a read-only command: give the owner write permission (0600) back on the
/// file's `-wal`/`-shm`.
///
/// SQLite creates a WAL file's companions with the database file's mode, and resets
/// an empty `-wal` to that mode on every open; after a read-only open of a 0400 file
/// they are 0400 and outlive the command, and once the file itself is writable again
/// the next read-write open fails on its first write ("attempt to write a readonly
/// database", the `-shm` cannot be opened for writing). They are not deleted: another
/// process may have the file open and use them. Failures (another user's companion)
/// are logged, never fatal: the command itself succeeded, and `Database::open`
/// reports a companion it cannot write.
pub(crate) fn leave_companions_writable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["-wal", "-shm"] {
            let file = companion(path, suffix);
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o600 != 0o600
                && let Err(error) =
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(file = %file.display(), %error, "cannot make the companion writable");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
