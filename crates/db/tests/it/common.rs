//! Shared helpers for the db integration tests: real files, production opening code.
#![allow(dead_code, missing_docs)]

use skill_builder_app::{Database, ReadConnection, WriteConnection};

/// A fresh database in its own temporary folder, opened exactly as the app opens it.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub db: Database,
}

impl TestDb {
    /// The writer, for one statement or a few: `op(&mut t.conn().await, …)`, or
    /// `.fetch_one(&mut *t.conn().await)` for a raw query. Released at the end of the
    /// statement that takes it. Never while the same test task holds a transaction
    /// (`WriterHeldByThisTask`): pass the transaction instead.
    pub async fn conn(&self) -> WriteConnection {
        self.db.write().await.expect("take the writer")
    }

    /// A connection of the read-only pool.
    pub async fn reader(&self) -> ReadConnection {
        self.db.read().await.expect("take a reader")
    }
}

/// Open a fresh, fully migrated database file in a new temporary folder.
pub async fn open_temp() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("skill-builder.db"))
        .await
        .expect("open database");
    TestDb { dir, db }
}

/// A legacy fixture (`v00` … `v28`) copied into a temp folder and opened (upgraded).
pub async fn open_legacy(name: &str) -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/legacy");
    let dest = dir.path().join("skill-builder.db");
    for suffix in ["", "-wal", "-shm"] {
        let src = fixtures.join(format!("{name}.db{suffix}"));
        if src.exists() {
            let to = std::path::PathBuf::from(format!("{}{suffix}", dest.display()));
            std::fs::copy(&src, &to).expect("copy fixture");
            let mut perms = std::fs::metadata(&to).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&to, perms).expect("chmod");
        }
    }
    let db = Database::open(&dest).await.expect("open legacy fixture");
    TestDb { dir, db }
}
