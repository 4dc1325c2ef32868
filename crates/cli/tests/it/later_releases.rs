#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Files of the existing app's later releases (its steps 29, 30, … 61 recorded in the
//! same `schema_migrations` table) are refused untouched; this layer's own steps live
//! in the timestamp space and files written under its old numbering (29..31) are
//! converted at open; a snapshot is written before every upgrade of an existing file.
//!
//! The later-release files are built from the v28 fixture by applying what those
//! releases did to this layer's tables (`shared/spec/later-releases.md`) and recording
//! their steps the way the existing app does (no checksum).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use skill_builder_app::{Database, OpenError, snapshot};
use skill_builder_migrations::{MigrationError, RENUMBERED};
use sqlx::Connection;

fn tool(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skill-builder-db"))
        .env_remove("SKILL_BUILDER_DB")
        .env_remove("RUST_LOG")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run skill-builder-db")
}

/// What the existing app's step `version` did to this layer's tables.
fn later_step_sql(version: i64) -> &'static str {
    match version {
        29 => {
            "ALTER TABLE imported_skills ADD COLUMN marketplace_source_url TEXT;
             ALTER TABLE workspace_skills ADD COLUMN marketplace_source_url TEXT;"
        }
        30 => "ALTER TABLE skills ADD COLUMN deleted_at TEXT;",
        31 => {
            "INSERT INTO workflow_sessions (session_id, skill_name, pid)
             SELECT DISTINCT workflow_session_id, skill_name, 0 FROM agent_runs
             WHERE workflow_session_id LIKE 'synthetic:%'
               AND workflow_session_id NOT IN (SELECT session_id FROM workflow_sessions);"
        }
        33 => {
            "CREATE TABLE reconciliation_events (id INTEGER PRIMARY KEY, event_type TEXT NOT NULL,
                 details TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')));"
        }
        34 => {
            "UPDATE agent_runs SET status = 'shutdown', completed_at = datetime('now')
             WHERE status = 'running';"
        }
        _ => "",
    }
}

/// A copy of the v28 fixture as the existing app's later release leaves it after
/// applying and recording `steps`; with `soft_delete`, one skill soft-deleted (step 30).
async fn later_release_file(dir: &Path, steps: &[i64], soft_delete: bool) -> PathBuf {
    let path = copy_fixture("v28", dir);
    let mut conn = raw(&path).await;
    // A synthetic session id without a session row, as step 31 of the app backfills.
    sqlx::query(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, status, total_cost,
                                 session_id, workflow_session_id, started_at)
         VALUES ('late-1', 'synthetic-skill', 0, 'sonnet', 'completed', 0.5, 's',
                 'synthetic:refine:synthetic-skill:1', '2026-05-01 10:00:00Z')",
    )
    .execute(&mut conn)
    .await
    .expect("synthetic run");
    for &version in steps {
        sqlx::raw_sql(later_step_sql(version))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("step {version}: {e}"));
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, '2026-05-01 10:00:00Z')")
            .bind(version)
            .execute(&mut conn)
            .await
            .expect("record");
    }
    if soft_delete {
        sqlx::query("UPDATE skills SET deleted_at = '2026-05-02 09:00:00Z' WHERE id = (SELECT min(id) FROM skills)")
            .execute(&mut conn)
            .await
            .expect("soft delete");
    }
    conn.close().await.expect("close");
    path
}

/// `(suffix, length and hash of the bytes)` of the file and each companion (`None`
/// when absent): compared before and after, printed readably when they differ.
fn companions(path: &Path) -> Vec<(String, Option<(usize, u64)>)> {
    use std::hash::{Hash, Hasher};
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| {
            let p = PathBuf::from(format!("{}{s}", path.display()));
            let digest = std::fs::read(p).ok().map(|bytes| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut h);
                (bytes.len(), h.finish())
            });
            ((*s).to_owned(), digest)
        })
        .collect()
}

fn folder_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

fn later_cases() -> Vec<(&'static str, Vec<i64>, bool)> {
    vec![
        ("29", vec![29], false),
        ("29+30 soft delete", vec![29, 30], true),
        ("29..31", vec![29, 30, 31], false),
        (
            "29..61 without 41",
            (29..=61).filter(|v| *v != 41).collect(),
            false,
        ),
    ]
}

/// Every later-release file is refused by `Database::open` and by `migrate` (exit 3, one
/// line naming the versions), its bytes and its folder unchanged; `status` reads it
/// and says why it would be refused; `check` reports it.
///
/// The files: step 29; 29 + 30 with a soft-deleted skill; 29..31; 29..61 without 41.
/// Any recorded step this build does not know is refused this way before anything is
/// written (also a newer build of this layer's later timestamp versions); `-wal` and
/// `-shm` keep their bytes too.
#[tokio::test]
async fn files_of_the_existing_apps_later_releases_are_refused_untouched() {
    for (name, steps, soft_delete) in later_cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = later_release_file(dir.path(), &steps, soft_delete).await;
        let before = companions(&path);
        let listing = folder_listing(dir.path());

        let err = Database::open(&path).await.expect_err(name);
        match &err {
            OpenError::Migration {
                source: MigrationError::NewerSchema { versions, .. },
                ..
            } => assert_eq!(versions, &steps, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.to_string()
                .contains("a later Skill Builder release wrote it"),
            "{err}"
        );

        let out = tool(&path, &["migrate"]);
        assert_eq!(out.status.code(), Some(3), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("step(s) 29"), "{stderr}");
        if steps.len() > 3 {
            assert!(stderr.contains("29..=40, 42..=61"), "{stderr}");
        }
        assert!(out.stdout.is_empty());

        assert_eq!(companions(&path), before, "{name}: bytes changed");
        assert_eq!(
            folder_listing(dir.path()),
            listing,
            "{name}: no snapshot, no companions"
        );

        // The read-only commands still read it.
        let status = tool(&path, &["status", "--json"]);
        assert!(status.status.success(), "{name}");
        let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
        let refusal = json["refusal"].as_str().unwrap_or_default();
        assert!(refusal.contains("a later Skill Builder release"), "{json}");
        assert!(json["tables"]["skills"].as_i64().is_some());

        let check = tool(&path, &["check"]);
        assert_eq!(check.status.code(), Some(1), "{name}");
        assert!(
            String::from_utf8_lossy(&check.stdout).contains("that this build does not know"),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );

        assert_eq!(companions(&path)[0], before[0], "{name}: main file changed");
    }
}

/// A later-release file whose last transaction is still in its `-wal` (the app was
/// killed): refused, and the file, `-wal` and `-shm` keep their bytes.
///
/// Such a file is checked through a private hard-linked view, so SQLite's wal-index in
/// `-shm` is not touched.
#[tokio::test]
async fn a_later_release_file_with_frames_in_its_wal_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let built = later_release_file(dir.path(), &[29, 30], true).await;
    // Write one more transaction and copy the three files while the writer is still
    // connected (no checkpoint): what a killed app leaves on disk.
    let mut conn = raw(&built).await;
    sqlx::raw_sql(
        "PRAGMA wal_autocheckpoint = 0; INSERT INTO schema_migrations (version) VALUES (31);",
    )
    .execute(&mut conn)
    .await
    .expect("write");
    let crashed_dir = tempfile::tempdir().expect("tempdir");
    let path = crashed_dir.path().join("skill-builder.db");
    for suffix in ["", "-wal", "-shm"] {
        std::fs::copy(
            format!("{}{suffix}", built.display()),
            format!("{}{suffix}", path.display()),
        )
        .expect("copy");
    }
    conn.close().await.expect("close");
    let before = companions(&path);
    assert!(
        before[1].1.is_some_and(|(len, _)| len > 0),
        "WAL has frames"
    );

    let out = tool(&path, &["migrate"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("29..=31"));
    let err = Database::open(&path).await.expect_err("refused");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(companions(&path), before);
}

/// After this layer creates or upgrades a file, nothing in 29..=9999 is recorded.
#[tokio::test]
async fn fresh_and_upgraded_files_record_nothing_in_the_existing_apps_later_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("fresh.db");
    Database::open(&fresh).await.expect("fresh").close().await;
    let upgraded = copy_fixture("v28", dir.path());
    Database::open(&upgraded)
        .await
        .expect("upgrade")
        .close()
        .await;
    for path in [&fresh, &upgraded] {
        let mut conn = read_only(path).await;
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .expect("versions");
        conn.close().await.expect("close");
        assert!(
            versions.iter().all(|v| !(29..=9999).contains(v)),
            "{versions:?}"
        );
        let mut expected: Vec<i64> = (1..=28).collect();
        expected.extend(own_versions());
        assert_eq!(versions, expected);
    }
}

/// `(version, applied_at, checksum)` of every tracking row.
async fn tracking_rows(path: &Path) -> Vec<(i64, Option<String>, Option<Vec<u8>>)> {
    let mut conn = read_only(path).await;
    let rows = sqlx::query_as(
        "SELECT version, applied_at, checksum FROM schema_migrations ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    conn.close().await.expect("close");
    rows
}

/// A file recorded by the old numbering is converted at open: the three rows get the
/// timestamp versions (applied_at and checksum kept), nothing else changes, a second
/// open changes nothing, `check` is clean.
///
/// The old numbering (29..31) is renumbered in one transaction
/// (`killed_renumbering_leaves_either_numbering_never_a_mix` kills it midway).
#[tokio::test]
async fn files_recorded_by_the_previous_numbering_are_converted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = previous_numbering_file("v13", dir.path()).await;
    let rows_before = tracking_rows(&path).await;
    // The old numbers, below any later step of this layer (e.g. 20261130100000).
    assert_eq!(
        rows_before
            .iter()
            .map(|r| r.0)
            .filter(|v| (29..=9999).contains(v))
            .collect::<Vec<_>>(),
        vec![29, 30, 31]
    );
    let data_before = dump(&path).await;

    // Read-only views do not refuse it and do not convert it.
    let status = skill_builder_app::status(&path).await.expect("status");
    assert_eq!(status.refusal, None);
    assert!(status.pending.is_empty(), "{:?}", status.pending);
    assert_eq!(
        status.schema_version,
        Some(skill_builder_app::LATEST_VERSION)
    );
    assert_eq!(tracking_rows(&path).await, rows_before);

    let out = tool(&path, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (old, new) in RENUMBERED {
        assert!(
            stdout.contains(&format!("renumbered: migration record {old} -> {new}")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("(0 step(s) applied)"), "{stdout}");
    assert!(!stdout.contains("snapshot"), "no steps ran: {stdout}");

    let rows_after = tracking_rows(&path).await;
    let mut expected = rows_before.clone();
    for row in &mut expected {
        if let Some((_, new)) = RENUMBERED.iter().find(|(old, _)| *old == row.0) {
            row.0 = *new;
        }
    }
    expected.sort_by_key(|r| r.0);
    assert_eq!(rows_after, expected, "same rows, new numbers");
    assert!(rows_after.iter().all(|r| !(29..=9999).contains(&r.0)));

    // Every table but the tracking table is as it was.
    let mut data_after = dump(&path).await;
    let mut data_before = data_before;
    for d in [&mut data_after, &mut data_before] {
        d.as_object_mut()
            .expect("object")
            .remove("schema_migrations");
    }
    assert_eq!(data_after, data_before);

    let check = skill_builder_app::check(&path).await.expect("check");
    assert!(check.is_healthy(), "{:?}", check.problems());

    // Idempotent: a second open converts nothing and writes nothing.
    let db = Database::open(&path).await.expect("reopen");
    assert!(db.migration_report().renumbered.is_empty());
    assert!(db.migration_report().applied.is_empty());
    db.close().await;
    assert_eq!(tracking_rows(&path).await, rows_after);
}

/// The existing app's row at 29 (no checksum) is never taken for this layer's old
/// step 29, even beside this layer's own rows.
#[tokio::test]
async fn a_row_at_an_old_number_without_our_checksum_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = previous_numbering_file("v13", dir.path()).await;
    raw_execute(
        &path,
        "UPDATE schema_migrations SET checksum = NULL WHERE version = 30",
    )
    .await;
    let before = companions(&path);
    let err = Database::open(&path).await.expect_err("refused");
    match &err {
        OpenError::Migration {
            source: MigrationError::NewerSchema { versions, .. },
            ..
        } => assert_eq!(versions, &[30]),
        other => panic!("{other:?}"),
    }
    assert_eq!(companions(&path), before);
}

/// The snapshot before an upgrade: its canonical dump equals the file before the
/// upgrade, 0600, named `<file>.v13-<UTC time>.bak`, in the report and the CLI output.
#[tokio::test]
async fn an_upgrade_of_an_existing_file_first_writes_a_snapshot_of_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v13", dir.path());
    let pristine = dump(&path).await;
    let db = Database::open(&path).await.expect("upgrade");
    let report = db.migration_report().clone();
    db.close().await;
    let snap = report.snapshot.expect("snapshot written");
    let name = snap.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with("skill-builder.db.v13-2"), "{name}");
    assert!(name.ends_with("Z.bak"), "{name}");
    assert_eq!(snap.parent(), path.parent());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&snap).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(dump(&snap).await, pristine);
    assert_eq!(snapshot::snapshots(&path), vec![snap.clone()]);
    // Nothing else was left beside it (no temporary, no journal of the copy).
    let listing = folder_listing(dir.path());
    assert!(
        listing.iter().all(|n| n.starts_with("skill-builder.db")),
        "{listing:?}"
    );
    assert_eq!(listing.iter().filter(|n| n.ends_with(".bak")).count(), 1);

    // The CLI says where it is.
    let other = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v13", other.path());
    let out = tool(&path, &["migrate"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("snapshot: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let shown = PathBuf::from(line.trim_start_matches("snapshot: "));
    assert!(shown.exists(), "{line}");
    assert_eq!(snapshot::snapshots(&path), vec![shown]);
}

/// No snapshot for a brand-new file, nor for an up-to-date one.
#[tokio::test]
async fn no_snapshot_for_a_new_or_an_up_to_date_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("skill-builder.db");
    let db = Database::open(&path).await.expect("create");
    assert_eq!(db.migration_report().snapshot, None);
    db.close().await;
    let db = Database::open(&path).await.expect("reopen");
    assert_eq!(db.migration_report().snapshot, None);
    db.close().await;
    std::fs::write(dir.path().join("empty.db"), b"").expect("empty file");
    let db = Database::open(dir.path().join("empty.db"))
        .await
        .expect("empty");
    assert_eq!(db.migration_report().snapshot, None);
    db.close().await;
    assert!(
        folder_listing(dir.path())
            .iter()
            .all(|n| !n.ends_with(".bak")),
        "{:?}",
        folder_listing(dir.path())
    );
}

/// Only the newest three snapshots are kept (five upgrades of the same path, some in
/// the same second).
#[tokio::test]
async fn snapshots_rotate_keeping_the_newest_three() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut written = Vec::new();
    for _ in 0..5 {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("skill-builder.db{suffix}")));
        }
        let path = copy_fixture("v13", dir.path());
        let db = Database::open(&path).await.expect("upgrade");
        written.push(db.migration_report().snapshot.clone().expect("snapshot"));
        db.close().await;
    }
    let path = dir.path().join("skill-builder.db");
    let kept = snapshot::snapshots(&path);
    let newest: Vec<PathBuf> = written.iter().rev().take(3).cloned().collect();
    assert_eq!(kept, newest);
    let on_disk = folder_listing(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".bak"))
        .count();
    assert_eq!(on_disk, snapshot::SNAPSHOTS_KEPT);
    for old in &written[..2] {
        assert!(!old.exists(), "{} was rotated out", old.display());
    }
}

/// A snapshot that cannot be written (disk full: a small tmpfs) refuses the upgrade
/// and leaves the file, its companions and its folder as they were.
///
/// Before pending steps run on an existing file, a consistent snapshot is written
/// beside it (`VACUUM INTO` a temporary, synced, renamed; the newest 3 kept); here the
/// disk is a 256 KiB tmpfs.
#[tokio::test]
async fn a_snapshot_that_cannot_be_written_refuses_the_upgrade_untouched() {
    let Some(mount) = SmallTmpfs::new(256 * 1024) else {
        return;
    };
    let path = mount.dir.join("skill-builder.db");
    let fixture = legacy_dir().join("v13.db");
    std::fs::copy(&fixture, &path).expect("copy fixture onto the tmpfs");
    // Fill the rest, so that the copy cannot fit.
    let filler = mount.dir.join("filler");
    let free = free_bytes(&mount.dir);
    let keep = 80 * 1024;
    std::fs::write(&filler, vec![0u8; free.saturating_sub(keep) as usize]).expect("fill");
    let before = companions(&path);
    let listing = folder_listing(&mount.dir);

    let err = Database::open(&path).await.expect_err("must refuse");
    assert!(matches!(err, OpenError::Snapshot { .. }), "{err:?}");
    assert!(err.to_string().contains("the upgrade did not run"), "{err}");
    assert_eq!(companions(&path), before);
    assert_eq!(
        folder_listing(&mount.dir),
        listing,
        "no partial snapshot left"
    );

    let out = tool(&path, &["migrate"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(companions(&path), before);
    assert_eq!(folder_listing(&mount.dir), listing);
}
