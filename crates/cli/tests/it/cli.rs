#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `skill-builder-db` command-line tool, run as a real process.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use skill_builder_migrations::LATEST_VERSION as LATEST;
use sqlx::Connection;

fn tool(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skill-builder-db"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("SKILL_BUILDER_DB")
        .env_remove("RUST_LOG")
        .output()
        .expect("run skill-builder-db")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: non-zero exit `code`, exactly one `error:` line, no panic or backtrace.
fn assert_refused(o: &Output, code: i32) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("error: "), "{err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err:?}"
    );
}

#[test]
fn migrate_prints_each_step_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let first = tool(&db, &["migrate", "--to", "5"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("applied")).count(),
        5,
        "{out}"
    );
    assert!(out.contains("applied 1 add skill type"), "{out}");
    assert!(out.contains("schema version 0 -> 5"), "{out}");
    let rest = tool(&db, &["migrate"]);
    let out = stdout(&rest);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("applied")).count(),
        step_count() - 5,
        "{out}"
    );
    assert!(
        out.contains(&format!("schema version 5 -> {LATEST}")),
        "{out}"
    );
    let again = tool(&db, &["migrate"]);
    assert!(stdout(&again).contains("(0 step(s) applied)"));
}

#[test]
fn status_json_reports_an_upgraded_legacy_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_fixture("v10", dir.path());
    let before = tool(&db, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&before.stdout).expect("json");
    assert_eq!(json["schema_version"], 10);
    assert_eq!(
        json["pending"].as_array().map(Vec::len),
        Some(step_count() - 10)
    );
    assert!(tool(&db, &["migrate"]).status.success());
    let after = tool(&db, &["status", "--json"]);
    assert!(after.status.success(), "{}", stderr(&after));
    let json: serde_json::Value = serde_json::from_slice(&after.stdout).expect("json");
    for key in [
        "path",
        "journal_mode",
        "busy_timeout_ms",
        "foreign_keys",
        "synchronous",
        "schema_version",
        "pending",
        "tables",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["journal_mode"], "wal");
    assert_eq!(json["busy_timeout_ms"], 5000);
    assert_eq!(json["foreign_keys"], true);
    assert_eq!(json["synchronous"], "normal");
    assert_eq!(json["schema_version"], LATEST);
    assert_eq!(json["pending"], serde_json::json!([]));
    // Rows per table, as the expected dump of v10 has them.
    let expected = expected_dump("v10");
    for table in [
        "workflow_runs",
        "skills",
        "agent_runs",
        "workflow_sessions",
        "skill_tags",
    ] {
        let rows = expected[table]["rows"].as_array().map(Vec::len);
        assert_eq!(
            json["tables"][table].as_u64(),
            rows.map(|n| n as u64),
            "{table}"
        );
    }
}

#[test]
fn status_never_creates_a_missing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("absent.db");
    let out = tool(&db, &["status", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["exists"], false);
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(step_count()));
    assert!(!db.exists());
}

#[test]
fn the_environment_variable_chooses_the_default_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("from-env.db");
    let out = Command::new(env!("CARGO_BIN_EXE_skill-builder-db"))
        .args(["migrate"])
        .env("SKILL_BUILDER_DB", &db)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.exists());
}

#[tokio::test]
async fn check_reports_dangling_references_and_deletes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("fk.db");
    assert!(tool(&db, &["migrate"]).status.success());
    assert_eq!(tool(&db, &["check"]).status.code(), Some(0));
    let mut conn = raw(&db).await;
    sqlx::raw_sql(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO workflow_steps (skill_name, step_id, workflow_run_id) VALUES ('ghost', 0, 999);",
    )
    .execute(&mut conn)
    .await
    .expect("insert dangling row");
    conn.close().await.expect("close");
    let out = tool(&db, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("foreign key: workflow_steps row 1 points to a missing workflow_runs row"),
        "{text}"
    );
    let count: i64 = {
        let mut conn = read_only(&db).await;
        sqlx::query_scalar("SELECT count(*) FROM workflow_steps")
            .fetch_one(&mut conn)
            .await
            .expect("count")
    };
    assert_eq!(count, 1, "check never deletes");
}

/// `check` (exit 1 expected) on a fresh, migrated file after `sql` changed its schema.
async fn check_after_schema_change(sql: &'static str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("drift.db");
    assert!(tool(&db, &["migrate"]).status.success());
    let mut conn = raw(&db).await;
    sqlx::raw_sql(sql).execute(&mut conn).await.expect("drift");
    conn.close().await.expect("close");
    let out = tool(&db, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    stdout(&out)
}

#[tokio::test]
async fn check_reports_schema_drift() {
    let text = check_after_schema_change(
        "ALTER TABLE skills ADD COLUMN surprise TEXT; CREATE TABLE extra (x)",
    )
    .await;
    assert!(
        text.contains("schema drift: skills.surprise: unexpected column"),
        "{text}"
    );
    assert!(
        text.contains("schema drift: table extra: unexpected"),
        "{text}"
    );
}

#[tokio::test]
async fn check_reports_missing_changed_and_unexpected_indexes_triggers_and_views() {
    let text = check_after_schema_change(
        "DROP TRIGGER agent_runs_usage_replace;
         DROP TRIGGER workflow_sessions_usage_delete;
         CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions BEGIN SELECT 1; END;
         CREATE VIEW surprise_view AS SELECT 1 AS x;
         CREATE INDEX idx_surprise ON skills (purpose);",
    )
    .await;
    for line in [
        "schema drift: trigger agent_runs_usage_replace: missing",
        "schema drift: trigger workflow_sessions_usage_delete: defined as `CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions BEGIN SELECT 1; END`",
        "schema drift: view surprise_view: unexpected",
        "schema drift: index idx_surprise: unexpected",
    ] {
        assert!(text.contains(line), "{line} not in {text}");
    }
}

#[tokio::test]
async fn backup_writes_a_consistent_copy_that_checks_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_fixture("v28", dir.path());
    assert!(tool(&db, &["migrate"]).status.success());
    let copy = dir.path().join("backup.db");
    let out = tool(&db, &["backup", copy.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tool(&copy, &["check"]).status.code(), Some(0));
    assert_eq!(dump(&copy).await, dump(&db).await);
    let again = tool(&db, &["backup", copy.to_str().expect("utf-8 path")]);
    assert_refused(&again, 1);
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().expect("tempdir");

    let text = dir.path().join("text.db");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .expect("write");
    for cmd in [&["migrate"][..], &["status"], &["check"]] {
        assert_refused(&tool(&text, cmd), 4);
    }

    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").expect("write");
    assert_refused(&tool(&blocker.join("sub/x.db"), &["migrate"]), 5);

    let newer = dir.path().join("newer.db");
    assert!(tool(&newer, &["migrate"]).status.success());
    let conn_sql = format!("sqlite:{}", newer.display());
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&conn_sql).await.expect("c");
        sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
            .bind(LATEST + 1)
            .execute(&mut c)
            .await
            .expect("newer");
        c.close().await.expect("close");
    });
    let before = bytes(&newer);
    let out = tool(&newer, &["migrate"]);
    assert_refused(&out, 3);
    assert!(
        stderr(&out).contains("a later Skill Builder release wrote it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bytes(&newer), before);
    assert_eq!(tool(&newer, &["check"]).status.code(), Some(1));

    let usage = tool(&newer, &["migrate", "--to", "not-a-number"]);
    assert_eq!(usage.status.code(), Some(2));
    assert_refused(&tool(&newer, &["migrate", "--to", "99"]), 1);
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_refused_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_fixture("v21", dir.path());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let before = bytes(&db);
    assert_refused(&tool(&db, &["migrate"]), 5);
    assert_eq!(bytes(&db), before);
}

/// A backup killed at any moment leaves nothing at its PATH (the copy goes to a
/// temporary name beside it and is moved into place only when complete), so the next
/// backup to the same PATH succeeds; a finished one checks clean.
///
/// Here `backup` of a 48 MiB file is SIGKILLed at 6 moments: PATH holds nothing or a
/// complete copy that checks clean, and the next backup to PATH succeeds and removes
/// the stale temporary. The temporary is hidden in PATH's folder (0600), synced, then
/// moved into place by a hard link (which fails if PATH appeared meanwhile), and the
/// folder synced; a failed copy removes its temporary
/// (`a_failed_backup_leaves_nothing_behind`: a full 64 KiB tmpfs, one line, nothing
/// left).
#[tokio::test]
async fn a_backup_killed_mid_copy_leaves_nothing_at_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("big.db");
    assert!(tool(&db, &["migrate"]).status.success());
    let mut conn = raw(&db).await;
    // ~48 MiB of artifacts: the copy takes long enough to be killed in the middle.
    sqlx::raw_sql(
        "INSERT INTO workflow_artifacts (skill_name, step_id, relative_path, content, size_bytes)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
         SELECT 'big', i % 6, 'f-' || i, printf('%.4096c', 'x'), 4096 FROM n",
    )
    .execute(&mut conn)
    .await
    .expect("grow");
    conn.close().await.expect("close");

    let full_dest = dir.path().join("full.bak");
    let started = std::time::Instant::now();
    assert!(
        tool(&db, &["backup", full_dest.to_str().expect("utf-8")])
            .status
            .success()
    );
    let full = started.elapsed();

    // Kill points (`STRESS_BACKUP_KILLS`, default 2; `just stress` tries 6).
    let kills: u32 = std::env::var("STRESS_BACKUP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let (mut absent, mut complete) = (0, 0);
    for k in 0..kills {
        let dest = dir.path().join(format!("killed-{k}.bak"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_skill-builder-db"))
            .arg("--db")
            .arg(&db)
            .arg("backup")
            .arg(&dest)
            .env_remove("SKILL_BUILDER_DB")
            .spawn()
            .expect("spawn");
        std::thread::sleep(full.mul_f64((f64::from(k) + 0.5) / f64::from(kills)));
        child.kill().ok();
        child.wait().expect("reap");
        if dest.exists() {
            complete += 1;
            let report = skill_builder_app::check(&dest).await.expect("check");
            assert!(report.integrity.is_empty(), "{:?}", report.integrity);
        } else {
            absent += 1;
            let out = tool(&db, &["backup", dest.to_str().expect("utf-8")]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(dest.exists());
        }
        for suffix in ["-journal", "-wal"] {
            assert!(!dir.path().join(format!("killed-{k}.bak{suffix}")).exists());
        }
        // The killed copy's temporary was removed by the next copy to that PATH.
        let prefix = format!(".killed-{k}.bak.");
        let stale: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(stale.is_empty(), "{stale:?}");
    }
    eprintln!(
        "backup kill points: {kills}, nothing at PATH {absent}, complete {complete}; full {full:?}"
    );
}

/// A backup that fails (disk full: a small tmpfs) leaves nothing at PATH and no
/// temporary file.
#[test]
fn a_failed_backup_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_fixture("v28", dir.path());
    assert!(tool(&db, &["migrate"]).status.success());
    let Some(mount) = SmallTmpfs::new(64 * 1024) else {
        return;
    };
    let dest = mount.dir.join("copy.db");
    let out = tool(&db, &["backup", dest.to_str().expect("utf-8")]);
    assert_refused(&out, 1);
    let left: Vec<_> = std::fs::read_dir(&mount.dir).expect("read dir").collect();
    assert!(left.is_empty(), "{left:?}");
}
