#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile files, paths, media and processes (issue 11): a hot rollback journal,
//! `file:` paths, folder names that are not UTF-8, read-only mounts, read-only
//! companions, WAL growth, a second instance during a long upgrade and deferred
//! transactions of callers. Real files, real processes and real mounts; a test that
//! needs what the machine cannot give (root, `mount`, `setpriv`) says so on stderr and
//! returns.

use crate::common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use skill_builder_app::{Database, JOURNAL_SIZE_LIMIT, LATEST_VERSION, OpenError};
use sqlx::Connection;

fn tool(db: impl AsRef<OsStr>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skill-builder-db"));
    c.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("SKILL_BUILDER_DB")
        .env_remove("RUST_LOG");
    c
}

fn run(db: impl AsRef<OsStr>, args: &[&str]) -> Output {
    tool(db, args).output().expect("run skill-builder-db")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: exit `code`, exactly one `error:` line containing `words`.
fn assert_refused(o: &Output, code: i32, words: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("error: ") && err.contains(words), "{err:?}");
}

fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
}

// ---------------------------------------------------------------- 1. hot journal

/// A rollback-mode legacy file (v02) copied while a writer was mid-transaction: the
/// copy's `-journal` is hot and its main file holds the writer's uncommitted pages
/// (a table `junk`, spilled out of a tiny page cache).
fn hot_journal_file(dir: &Path) -> PathBuf {
    let original = copy_fixture("v02", dir);
    let copy = dir.join("restored.db");
    let writer = rusqlite::Connection::open(&original).expect("open writer");
    // A file in rollback-journal mode, as the existing app and other tools leave it.
    let mode: String = writer
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "delete");
    writer
        .execute_batch(
            "PRAGMA cache_size = 2;
             BEGIN;
             CREATE TABLE junk (b BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO junk SELECT randomblob(600) FROM n;",
        )
        .expect("uncommitted write");
    let journal = companion(&original, "-journal");
    assert!(journal.exists(), "the writer has a journal");
    std::fs::copy(&original, &copy).expect("copy file");
    std::fs::copy(&journal, companion(&copy, "-journal")).expect("copy journal");
    drop(writer); // rolls the original back; the copy keeps its hot journal
    copy
}

/// A rollback-mode file with a hot `-journal` (here a v02 copy taken mid-transaction;
/// in life a writer died mid-transaction, or the file was copied or restored with its
/// journal). `migrate` and `Database::open` roll it back, as SQLite does on any
/// read-write open, then check and upgrade it; its uncommitted changes are gone and
/// `check` is clean. `status`, `check` and `backup` cannot roll back: they exit 7 "an
/// interrupted transaction must be rolled back: run `migrate`" and leave file and
/// journal as they were. Trade-off: the rollback happens before the checks, so a file
/// refused afterwards is left rolled back.
#[test]
fn a_hot_rollback_journal_is_rolled_back_by_migrate_and_named_by_read_only_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = hot_journal_file(dir.path());
    let journal = companion(&path, "-journal");
    let before = (bytes(&path), bytes(&journal));

    for args in [&["status"][..], &["check"], &["backup", "copy.db"]] {
        let mut cmd = tool(&path, args);
        let out = cmd.current_dir(dir.path()).output().expect("run");
        assert_refused(
            &out,
            7,
            "an interrupted transaction must be rolled back: run `migrate`",
        );
    }
    assert!(
        !dir.path().join("copy.db").exists(),
        "no backup left behind"
    );
    assert_eq!(
        (bytes(&path), bytes(&journal)),
        before,
        "read-only: untouched"
    );

    let out = run(&path, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("schema version 2 -> {LATEST_VERSION}")),
        "{}",
        stdout(&out)
    );
    assert!(!journal.exists(), "journal rolled back and gone");
    let check = run(&path, &["check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    let status = run(&path, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert!(
        json["tables"].get("junk").is_none(),
        "uncommitted table gone"
    );
}

// ---------------------------------------------------------------- 4. `file:` paths

/// Every path is a file path, never a URI: `file:rel.db` is the file `./file:rel.db`
/// (created 0600) for `migrate`, `status`, `check` and `backup`'s destination alike
/// (`database_open_takes_a_relative_file_colon_path_as_a_file`: the same for
/// `Database::open`). A path that is not valid UTF-8 is refused (`OpenError::NotUtf8`,
/// exit 2) before any folder or file is created
/// (`a_folder_name_that_is_not_utf8_is_refused_before_anything_is_created`).
#[test]
fn a_path_beginning_with_file_colon_is_that_file_never_a_uri() {
    let dir = tempfile::tempdir().expect("tempdir");
    let here = |args: &[&str], db: &str| {
        tool(db, args)
            .current_dir(dir.path())
            .output()
            .expect("run")
    };
    let out = here(&["migrate"], "file:rel.db");
    assert!(out.status.success(), "{}", stderr(&out));
    let named = dir.path().join("file:rel.db");
    assert!(!dir.path().join("rel.db").exists(), "not read as a URI");
    assert!(std::fs::metadata(&named).expect("the named file").len() > 0);
    assert_eq!(mode(&named), 0o600);

    let status = here(&["status", "--json"], "file:rel.db");
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(json["schema_version"], LATEST_VERSION);
    assert!(here(&["check"], "file:rel.db").status.success());

    let out = here(&["backup", "file:bk.db"], "file:rel.db");
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = dir.path().join("file:bk.db");
    assert!(!dir.path().join("bk.db").exists(), "not read as a URI");
    assert!(std::fs::metadata(&copy).expect("the named copy").len() > 0);
    assert_eq!(mode(&copy), 0o600);
    assert!(run(&copy, &["check"]).status.success());
}

#[tokio::test]
async fn database_open_takes_a_relative_file_colon_path_as_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Absolute and under a folder named `file:`: neither may become a URI.
    let path = dir.path().join("file:sub").join("file:app.db");
    let db = Database::open(&path).await.expect("open");
    db.close().await;
    assert_eq!(mode(&path), 0o600);
    assert!(!dir.path().join("sub").exists() && !dir.path().join("app.db").exists());
}

// ---------------------------------------------------------------- 5. not UTF-8

#[tokio::test]
async fn a_folder_name_that_is_not_utf8_is_refused_before_anything_is_created() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join(OsStr::from_bytes(b"caf\xe9"));
    let path = folder.join("sub").join("x.db");
    let err = Database::open(&path).await.expect_err("refused");
    assert!(matches!(err, OpenError::NotUtf8 { .. }), "{err:?}");
    assert!(!folder.exists(), "no folder created");

    let out = run(&path, &["migrate"]);
    assert_refused(&out, 2, "is not valid UTF-8");
    assert!(!folder.exists(), "no folder created");
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

// ---------------------------------------------------------------- 6. read-only media

/// A tmpfs mounted on a fresh folder; unmounted (lazily) when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount failed: {}", stderr(&out).trim()));
        }
        Ok(Self(at.to_path_buf()))
    }

    fn read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .output()
            .expect("remount");
        assert!(out.status.success(), "remount ro: {}", stderr(&out));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A real read-only tmpfs mount (root only; skipped with a printed reason otherwise):
/// `status`, `check` and `backup` read the file (an `immutable` open when no `-wal`
/// holds frames and no `-journal` is left); `migrate` and `Database::open` refuse with
/// `OpenError::ReadOnly` (exit 5), the file untouched.
#[tokio::test]
async fn a_database_on_a_read_only_mount_is_read_by_status_check_backup_and_refused_by_migrate() {
    let test = "a_database_on_a_read_only_mount";
    if !is_root() {
        return skip(test, "needs root to mount a file system");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mount = match Mount::tmpfs(&dir.path().join("media")) {
        Ok(m) => m,
        Err(reason) => return skip(test, &reason),
    };
    let path = mount.0.join("skill-builder.db");
    let db = Database::open(&path).await.expect("create");
    skill_builder_app::db::settings::write_settings(
        &mut db.write().await.expect("writer"),
        &skill_builder_app::model::AppSettings {
            skills_path: Some("/skills".into()),
            ..Default::default()
        },
    )
    .await
    .expect("write");
    db.close().await;
    assert!(!companion(&path, "-wal").exists(), "closed cleanly");
    mount.read_only();
    let before = bytes(&path);

    let status = run(&path, &["status", "--json"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(json["schema_version"], LATEST_VERSION);
    assert_eq!(json["tables"]["settings"], 1);

    let check = run(&path, &["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    assert!(stdout(&check).contains(": ok"), "{}", stdout(&check));

    let copy = dir.path().join("copy.db");
    let backup = run(&path, &["backup", copy.to_str().expect("utf8")]);
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(run(&copy, &["check"]).status.success());

    let migrate = run(&path, &["migrate"]);
    assert_refused(&migrate, 5, "is read-only");
    let err = Database::open(&path).await.expect_err("read-only media");
    assert!(matches!(err, OpenError::ReadOnly { .. }), "{err:?}");
    assert_eq!(bytes(&path), before);
}

// ---------------------------------------------------------------- 7. companions

#[tokio::test]
async fn status_on_a_0400_file_leaves_no_companion_its_owner_cannot_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    Database::open(&path).await.expect("create").close().await;
    chmod(&path, 0o400);
    for args in [&["status"][..], &["check"]] {
        let out = run(&path, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        for suffix in ["-wal", "-shm"] {
            let c = companion(&path, suffix);
            if c.exists() {
                assert_eq!(
                    mode(&c) & 0o600,
                    0o600,
                    "{args:?} left {suffix} {:o}",
                    mode(&c)
                );
            }
        }
    }
}

/// `status`/`check`/`backup` of a 0400 file leave any `-wal`/`-shm` SQLite created
/// writable by the owner, 0600
/// (`status_on_a_0400_file_leaves_no_companion_its_owner_cannot_write`), so a later
/// write does not fail "attempt to write a readonly database"; `Database::open` makes a
/// companion its owner cannot write 0600 before the first write, or refuses with
/// `ReadOnly` naming it (here).
/// `as_a_normal_user_a_write_after_status_on_a_0400_file_succeeds` runs the write after
/// `status` + `chmod 600` as user `nobody` via `setpriv` (root ignores permission
/// bits).
#[tokio::test]
async fn open_repairs_companions_left_read_only_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    Database::open(&path).await.expect("create").close().await;
    // What an older build's `status` left: a read-only open of the 0400 file creates
    // `-wal` and `-shm` with the file's mode, and nothing gives it back.
    chmod(&path, 0o400);
    let mut old_status = read_only(&path).await;
    sqlx::raw_sql("SELECT count(*) FROM sqlite_master")
        .execute(&mut old_status)
        .await
        .expect("read");
    old_status.close().await.expect("close");
    assert_eq!(mode(&companion(&path, "-shm")), 0o400, "the old state");
    chmod(&path, 0o600);
    let db = Database::open(&path).await.expect("open");
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&companion(&path, suffix)), 0o600, "{suffix} repaired");
    }
    skill_builder_app::db::settings::write_settings(
        &mut db.write().await.expect("writer"),
        &Default::default(),
    )
    .await
    .expect("first write");
    db.close().await;
}

/// The user-level story, as an unprivileged user (root ignores permission bits):
/// `status` on a 0400 file, `chmod 600`, then a write (`migrate` applying steps).
#[test]
fn as_a_normal_user_a_write_after_status_on_a_0400_file_succeeds() {
    let test = "as_a_normal_user_a_write_after_status";
    if !is_root() {
        return skip(test, "needs root to run the tool as another user (setpriv)");
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip(test, "setpriv is not installed");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("home");
    std::fs::create_dir(&work).expect("mkdir");
    chmod(dir.path(), 0o755);
    let bin = dir.path().join("skill-builder-db");
    std::fs::copy(env!("CARGO_BIN_EXE_skill-builder-db"), &bin).expect("copy tool");
    chmod(&bin, 0o755);
    let chown = Command::new("chown")
        .args(["65534:65534"])
        .arg(&work)
        .status()
        .expect("chown");
    assert!(chown.success());
    let path = work.join("x.db");
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("--db")
            .arg(&path)
            .args(args)
            .env_remove("SKILL_BUILDER_DB")
            .env_remove("RUST_LOG")
            .output()
            .expect("setpriv")
    };
    let out = as_nobody(&["migrate", "--to", "5"]);
    if out.status.code() != Some(0) && stderr(&out).contains("setpriv") {
        return skip(
            test,
            &format!("setpriv cannot switch user: {}", stderr(&out)),
        );
    }
    assert!(out.status.success(), "{}", stderr(&out));
    chmod(&path, 0o400);
    let out = as_nobody(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    chmod(&path, 0o600);
    let out = as_nobody(&["migrate"]);
    assert!(out.status.success(), "write after status: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("schema version 5 -> {LATEST_VERSION}")),
        "{}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------- 9. WAL size

async fn wal_len(path: &Path) -> u64 {
    std::fs::metadata(companion(path, "-wal")).map_or(0, |m| m.len())
}

/// `journal_size_limit` is 8 MiB: after a 24 MiB burst of writes made while another
/// process held a read snapshot, the next checkpoint that resets the WAL truncates it
/// to the limit. After applying steps, open runs `wal_checkpoint(TRUNCATE)`
/// (`migrating_leaves_an_empty_wal_while_the_database_stays_open`).
#[tokio::test]
async fn the_wal_shrinks_back_under_the_limit_after_a_burst_during_a_reader_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    let db = Database::open(&path).await.expect("open");
    sqlx::raw_sql("CREATE TABLE burst (b BLOB)")
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("table");
    let mut reader = read_only(&path).await;
    sqlx::raw_sql("BEGIN; SELECT count(*) FROM burst;")
        .execute(&mut reader)
        .await
        .expect("snapshot");
    // 24 MiB in 48 commits while the reader's snapshot keeps the WAL from resetting.
    for _ in 0..48 {
        sqlx::raw_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 128)
             INSERT INTO burst SELECT randomblob(4096) FROM n",
        )
        .execute(&mut *db.write().await.expect("writer"))
        .await
        .expect("burst");
    }
    let grown = wal_len(&path).await;
    assert!(
        grown > 2 * JOURNAL_SIZE_LIMIT,
        "the burst grew the WAL: {grown}"
    );
    sqlx::raw_sql("COMMIT")
        .execute(&mut reader)
        .await
        .expect("end");
    reader.close().await.expect("close");
    for i in 0..3 {
        sqlx::query("INSERT INTO burst VALUES (?)")
            .bind(vec![i as u8; 10])
            .execute(&mut *db.write().await.expect("writer"))
            .await
            .expect("small write");
    }
    let after = wal_len(&path).await;
    eprintln!(
        "WAL after the burst: {grown} bytes; after the reader ended and 3 small writes: {after} bytes (limit {JOURNAL_SIZE_LIMIT})"
    );
    assert!(
        after <= JOURNAL_SIZE_LIMIT,
        "WAL {after} bytes, limit {JOURNAL_SIZE_LIMIT} (was {grown})"
    );
    db.close().await;
}

#[tokio::test]
async fn migrating_leaves_an_empty_wal_while_the_database_stays_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v10", dir.path());
    let db = Database::open(&path).await.expect("upgrade");
    assert!(!db.migration_report().applied.is_empty());
    assert_eq!(wal_len(&path).await, 0, "checkpointed and truncated");
    db.close().await;
}

// ---------------------------------------------------------------- 10. long upgrade

/// Another process holds the write lock of a file that needs upgrading for longer
/// than the busy timeout, and writes (its `-wal` grows) as a long migration step
/// does: `migrate` keeps waiting, says so, and upgrades the file once the lock is
/// free. The holder moves on only when the tool's progress lines show it has seen
/// each phase, so nothing depends on timing.
///
/// The guarantee: a second instance that finds the write lock held while the file needs
/// upgrading keeps waiting past the busy timeout as long as the other process visibly
/// migrates (between two retries `schema_migrations` changed or the `-wal` grew),
/// printing a progress line (`WARN`, on the CLI's stderr), up to 30 min
/// (`UPGRADE_WAIT_LIMIT`), then opens the upgraded file. A lock held without progress
/// ends in `Locked` (exit 6) after two busy timeouts
/// (`a_lock_held_without_progress_still_ends_in_exit_6`).
#[test]
#[ignore = "waits two busy timeouts (10 s): run by `just stress`"]
fn a_second_instance_waits_for_an_upgrade_that_holds_the_lock_past_the_busy_timeout() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v10", dir.path());
    let holder = rusqlite::Connection::open(&path).expect("open");
    let mode: String = holder
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    holder
        .execute_batch("PRAGMA cache_size = 10; BEGIN IMMEDIATE; CREATE TABLE big (b BLOB);")
        .expect("take the write lock");
    let mut second = tool(&path, &["migrate"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let err = std::io::BufReader::new(second.stderr.take().expect("stderr"));
    let reader = std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |words: &str| {
        for line in lines.iter() {
            let hit = line.contains(words);
            seen.push(line);
            if hit {
                return;
            }
        }
        panic!("the tool ended without printing {words:?}: {seen:#?}");
    };
    // One busy timeout passed: without waiting, the tool would exit 6 now.
    wait_for("waiting for it");
    // The "migration" writes: uncommitted pages spill into the WAL.
    holder
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO big SELECT randomblob(4000) FROM n;",
        )
        .expect("write");
    wait_for("still waiting");
    holder.execute_batch("ROLLBACK").expect("release");
    drop(holder);
    let out = second.wait_with_output().expect("wait");
    reader.join().expect("reader");
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(
        stdout(&out).contains(&format!("schema version 10 -> {LATEST_VERSION}")),
        "{}",
        stdout(&out)
    );
}

/// A lock held by a process that shows no progress still ends in `Locked` (exit 6),
/// after two busy timeouts.
#[test]
#[ignore = "waits two busy timeouts (10 s): run by `just stress`"]
fn a_lock_held_without_progress_still_ends_in_exit_6() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy_fixture("v10", dir.path());
    let holder = rusqlite::Connection::open(&path).expect("open");
    holder
        .execute_batch("PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;")
        .expect("lock");
    let out = run(&path, &["migrate"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("waiting for it"), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .lines()
            .last()
            .unwrap_or_default()
            .contains("locked by another process"),
        "{}",
        stderr(&out)
    );
    holder.execute_batch("ROLLBACK").expect("release");
}

// ---------------------------------------------------------------- 11. begin()

/// The write error's extended SQLite code, if any.
fn sqlite_code(e: &skill_builder_app::db::Error) -> Option<String> {
    match e {
        skill_builder_app::db::Error::Database(e) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// `Database::begin()` starts `BEGIN IMMEDIATE`, so a caller's read-then-write
/// transaction waits for another instance's write instead of failing with
/// `SQLITE_BUSY_SNAPSHOT` (517), which a deferred transaction (sqlx's `pool.begin()`)
/// gets.
#[tokio::test]
async fn a_deferred_transaction_gets_busy_snapshot_where_db_begin_does_not() {
    use skill_builder_app::db::settings::{read_settings, write_settings};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    let app = Database::open(&path).await.expect("open");
    let other = Database::open(&path).await.expect("second instance");
    let other_write = |other: Database, n: u32| async move {
        let mut s = read_settings(&mut other.write().await.expect("writer")).await?;
        s.max_dimensions = n;
        write_settings(&mut other.write().await.expect("writer"), &s).await
    };

    // sqlx's plain begin(): DEFERRED. Read, another instance writes, then write.
    let mut conn = app.write().await.expect("writer");
    let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("begin");
    let mut mine = read_settings(&mut *tx).await.expect("read");
    other_write(other.clone(), 7).await.expect("other writes");
    mine.max_dimensions = 3;
    let err = write_settings(&mut tx, &mine)
        .await
        .expect_err("a deferred read-then-write fails");
    assert_eq!(sqlite_code(&err).as_deref(), Some("517"), "{err:?}");
    eprintln!("deferred begin on the writer: {err}");
    tx.rollback().await.expect("rollback");
    drop(conn);

    // db.begin(): BEGIN IMMEDIATE. Same steps; the other instance waits for the lock.
    let mut tx = app.begin().await.expect("begin immediate");
    let mut mine = read_settings(&mut *tx).await.expect("read");
    let waiting = tokio::spawn(other_write(other.clone(), 9));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    mine.max_dimensions = 3;
    write_settings(&mut tx, &mine).await.expect("write");
    tx.commit().await.expect("commit");
    waiting
        .await
        .expect("join")
        .expect("the other instance wrote after");
    let last = read_settings(&mut app.write().await.expect("writer"))
        .await
        .expect("read");
    assert_eq!(last.max_dimensions, 9);
    app.close().await;
    other.close().await;
}
