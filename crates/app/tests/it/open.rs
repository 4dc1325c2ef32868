#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Opening: production settings, file creation and permissions, and every refusal
//! leaving the file byte-for-byte untouched.

use crate::common;

use common::*;
use skill_builder_app::{Database, OpenError};
use skill_builder_migrations::MigrationError;
use sqlx::Connection;

async fn pragma(db: &Database, name: &str) -> String {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(&mut *db.write().await.expect("writer"))
        .await
        .expect("pragma");
    use sqlx::Row;
    row.try_get::<String, _>(0)
        .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
        .expect("pragma value")
}

#[tokio::test]
async fn opens_one_connection_with_production_pragmas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("a.db")).await.expect("open");
    assert_eq!(pragma(&db, "journal_mode").await, "wal");
    assert_eq!(pragma(&db, "busy_timeout").await, "5000");
    assert_eq!(pragma(&db, "foreign_keys").await, "1");
    assert_eq!(pragma(&db, "synchronous").await, "1", "NORMAL");
    // One writer connection: the task holding it cannot take a second one.
    let conn = db.write().await.expect("writer");
    let again = db.write().await.expect_err("one writer");
    assert!(
        matches!(again, skill_builder_app::db::Error::WriterHeldByThisTask),
        "{again:?}"
    );
    drop(conn);
    db.close().await;
}

#[tokio::test]
async fn creates_missing_folders_and_a_private_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/deeper/skill-builder.db");
    let db = Database::open(&path).await.expect("open");
    sqlx::query("INSERT INTO settings (key, value) VALUES ('k', 'v')")
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    db.close().await;
}

/// The guarantee: the database file and its `-wal`/`-shm` companions are created with
/// (`creates_missing_folders_and_a_private_file`) or tightened to mode 0600 on Unix.
#[cfg(unix)]
#[tokio::test]
async fn tightens_a_world_readable_file_to_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v28", dir.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    Database::open(&path).await.expect("open").close().await;
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A file that records a step this build does not know is refused with a typed error
/// before anything is written: it stays byte-for-byte as it was, `-wal` and `-shm`
/// included. `refuses_an_edited_migration_and_leaves_the_file_untouched` does the same
/// for an applied step whose checksum changed.
#[tokio::test]
async fn refuses_a_newer_schema_and_leaves_it_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.db");
    Database::open(&path).await.expect("create").close().await;
    raw_execute(&path, "INSERT INTO schema_migrations (version) VALUES (99)").await;
    let before = bytes(&path);
    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(
        matches!(
            err,
            OpenError::Migration {
                source: MigrationError::NewerSchema {
                    ref versions,
                    latest: skill_builder_migrations::LATEST_VERSION
                },
                ..
            } if versions == &[99]
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 3);
    assert_eq!(bytes(&path), before);
}

#[tokio::test]
async fn refuses_an_edited_migration_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("edited.db");
    Database::open(&path).await.expect("create").close().await;
    raw_execute(
        &path,
        "UPDATE schema_migrations SET checksum = x'00' WHERE version = 5",
    )
    .await;
    let before = bytes(&path);
    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(
        matches!(
            err,
            OpenError::Migration {
                source: MigrationError::ChecksumMismatch { version: 5, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(bytes(&path), before);
    let report = skill_builder_app::check(&path).await.expect("check");
    assert_eq!(report.edited_migrations, vec![5]);
}

#[tokio::test]
async fn records_checksums_beside_legacy_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v13", dir.path());
    Database::open(&path).await.expect("open").close().await;
    let mut conn = raw(&path).await;
    let rows: Vec<(i64, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .expect("rows");
    assert_eq!(rows.len(), step_count());
    for (version, checksum) in rows {
        if version <= 13 {
            assert!(
                checksum.is_none(),
                "legacy row {version} keeps a NULL checksum"
            );
        } else {
            assert_eq!(
                checksum.map(|c| c.len()),
                Some(48),
                "SHA-384 for step {version}"
            );
        }
    }
}

/// The same holds for `refuses_a_truncated_file_untouched`,
/// `refuses_a_read_only_file_untouched`,
/// `refuses_to_create_a_file_in_a_read_only_folder` and
/// `reports_a_file_locked_past_the_busy_timeout`: a typed error, the file untouched;
/// the CLI's one-line message and exit code for each are in
/// `crates/cli/tests/it/cli.rs`.
#[tokio::test]
async fn refuses_a_file_that_is_not_sqlite_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).expect("write");
    let before = bytes(&path);
    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert_eq!(bytes(&path), before);
}

#[tokio::test]
async fn refuses_a_truncated_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.db");
    let db = Database::open(&path).await.expect("create");
    for i in 0..200 {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
            .bind(format!("k{i}"))
            .bind("x".repeat(2000))
            .execute(&mut *db.write().await.expect("writer"))
            .await
            .expect("fill");
    }
    db.close().await;
    let full = bytes(&path);
    std::fs::write(&path, &full[..full.len() / 2]).expect("truncate");
    let before = bytes(&path);
    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 4);
    assert_eq!(bytes(&path), before);
}

#[cfg(unix)]
#[tokio::test]
async fn refuses_a_read_only_file_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v17", dir.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let before = bytes(&path);
    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(matches!(err, OpenError::ReadOnly { .. }), "{err:?}");
    assert_eq!(bytes(&path), before);
}

#[cfg(unix)]
#[tokio::test]
async fn refuses_to_create_a_file_in_a_read_only_folder() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let err = Database::open(ro.join("x.db"))
        .await
        .expect_err("must refuse");
    assert!(matches!(err, OpenError::ReadOnly { .. }), "{err:?}");
    assert!(!ro.join("x.db").exists());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

#[tokio::test]
async fn reports_a_file_locked_past_the_busy_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // v02 is in rollback-journal mode: an EXCLUSIVE lock keeps even readers out.
    let path = copy_fixture("v02", dir.path());
    let before = bytes(&path);
    let mut holder = raw(&path).await;
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .expect("lock");
    let started = std::time::Instant::now();
    let err = Database::open(&path).await.expect_err("must time out");
    assert!(matches!(err, OpenError::Locked { .. }), "{err:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(4),
        "waited the busy timeout"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("unlock");
    holder.close().await.expect("close");
    assert_eq!(bytes(&path), before);
}

#[tokio::test]
async fn an_up_to_date_file_opens_without_applying_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("warm.db");
    Database::open(&path).await.expect("create").close().await;
    let db = Database::open(&path).await.expect("reopen");
    let report = db.migration_report();
    assert!(report.applied.is_empty());
    let latest = skill_builder_migrations::LATEST_VERSION;
    assert_eq!((report.from_version, report.to_version), (latest, latest));
    db.close().await;
}

#[tokio::test]
async fn an_empty_file_is_created_as_a_new_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("touch");
    let db = Database::open(&path).await.expect("open");
    assert_eq!(db.migration_report().applied.len(), step_count());
    db.close().await;
}
