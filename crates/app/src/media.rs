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

/// The companions that existed before a read-only command opened the file.
///
/// SQLite creates a WAL file's `-wal` and `-shm` with the database file's mode; after
/// a read-only open of a 0400 file they are 0400 and outlive the command, and the next
/// read-write open fails on its first write ("attempt to write a readonly database")
/// once the file itself is writable again. [`Companions::restore`] gives the owner
/// write permission (0600) back on any companion the command created without it.
/// They are not deleted: another process may have opened the file meanwhile and use
/// them.
#[derive(Debug)]
pub(crate) struct Companions {
    path: PathBuf,
    existed: [bool; 2],
}

const SUFFIXES: [&str; 2] = ["-wal", "-shm"];

impl Companions {
    /// Note which companions of `path` exist now.
    pub(crate) fn before(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            existed: SUFFIXES.map(|s| companion(path, s).exists()),
        }
    }

    /// Make every companion created since [`Companions::before`] writable by its owner
    /// (0600). Failures are logged, never fatal: the command itself succeeded.
    pub(crate) fn restore(&self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for (suffix, existed) in SUFFIXES.iter().zip(self.existed) {
                if existed {
                    continue;
                }
                let file = companion(&self.path, suffix);
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
    }
}
