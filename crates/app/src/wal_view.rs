//! A private, read-only view of a database whose `-wal` holds frames, so that the
//! checks before opening it touch none of its files.
//!
//! Reading a WAL database through SQLite, even read-only, rebuilds or updates the
//! wal-index in its `-shm` file (and may create `-wal`/`-shm`). A file left with WAL
//! frames (its writer was killed, or a later release left it so) must be refused with
//! its `-wal` and `-shm` byte-for-byte as they were. The view is a hidden scratch
//! folder beside the file holding a hard link to the main file (the same bytes, opened
//! read-only, so nothing can write to it) and a copy of the `-wal`; SQLite builds a
//! fresh wal-index there. The folder is removed when the view is dropped.
//!
//! Where a view cannot be made (the folder is read-only, the file system has no hard
//! links), callers fall back to reading the file itself.

use std::path::{Path, PathBuf};

/// A scratch folder with a hard link to a database and a copy of its `-wal`.
#[derive(Debug)]
pub(crate) struct WalView {
    dir: PathBuf,
}

impl Drop for WalView {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Create a new, empty, owner-only folder in `parent`, named
/// `.skill-builder-check-<pid>-<n>`: `create_dir` fails on a name that exists, so a
/// few attempts find a free one and never reuse another's folder.
fn private_dir(parent: &Path) -> Option<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let pid = std::process::id();
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!(".skill-builder-check-{pid}-{n}"));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Some(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
    }
    None
}

impl WalView {
    /// Make a view of `path`; `None` when it cannot be made here.
    pub(crate) fn new(path: &Path) -> Option<Self> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let view = Self {
            dir: private_dir(&parent)?,
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::hard_link(path, view.path()).ok()?;
        std::fs::copy(PathBuf::from(wal), view.wal_path()).ok()?;
        Some(view)
    }

    /// The view's database file (a hard link to the original).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("view.db")
    }

    fn wal_path(&self) -> PathBuf {
        self.dir.join("view.db-wal")
    }
}
