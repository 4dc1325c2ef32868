#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety of startup: `skill-builder-db migrate` is killed with SIGKILL at many
//! moments while it upgrades a large legacy file; after every kill the file is at a
//! consistent recorded version, and running it again gives exactly the result of an
//! uninterrupted upgrade.
//!
//! `STRESS_KILL_POINTS` sets how many kill points are tried (default 2; `just stress`
//! runs 40).

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;
use sqlx::Connection;

/// Agent runs added to the v00 fixture (`STRESS_GROWN_RUNS`, default 10,000;
/// `just stress` grows it to 100,000), and a tenth as many artifacts.
fn agent_runs() -> i64 {
    std::env::var("STRESS_GROWN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skill-builder-db"));
    c.env_remove("SKILL_BUILDER_DB").env_remove("RUST_LOG");
    c
}

fn migrate(path: &Path, to: Option<i64>) {
    let mut cmd = tool();
    cmd.arg("--db").arg(path).arg("migrate");
    if let Some(to) = to {
        cmd.args(["--to", &to.to_string()]);
    }
    let out = cmd.output().expect("run migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_db(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{suffix}", from.display()));
        let dst = PathBuf::from(format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&dst);
        if src.exists() {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Remove the file at `path` with its `-wal`/`-shm` files and the pre-upgrade snapshots
/// `migrate` wrote beside it (every file of its folder whose name starts with its name).
/// Each kill point's copy is removed once checked: 40 kill points of two tests would
/// otherwise keep ~6 GB in the temporary folder at once (CI's filled up).
fn remove_with_snapshots(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(name.as_ref())
        {
            std::fs::remove_file(entry.path()).expect("remove a checked copy");
        }
    }
}

/// The v00 fixture grown to [`agent_runs`] agent runs (a tenth of them still `running`,
/// which step 17 rewrites) and a tenth as many artifacts of 1 KiB.
async fn grown_fixture(dir: &Path) -> PathBuf {
    let (agent_runs, artifacts) = (agent_runs(), agent_runs() / 10);
    let path = copy_fixture("v00", dir);
    let mut conn = raw(&path).await;
    let sql = format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {agent_runs})
         INSERT INTO agent_runs (agent_id, skill_name, step_id, model, status, input_tokens,
                                 output_tokens, total_cost, session_id, started_at, completed_at)
         SELECT 'g-' || i, CASE i % 3 WHEN 0 THEN 'alpha' WHEN 1 THEN 'beta' ELSE 'gamma' END,
                i % 6, 'sonnet', CASE WHEN i % 10 = 0 THEN 'running' ELSE 'completed' END,
                i, 2 * i, i / 1000.0, 'sess-' || (i % 50),
                '2025-02-01 10:00:00Z', CASE WHEN i % 10 = 0 THEN NULL ELSE '2025-02-01 10:05:00Z' END
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {artifacts})
         INSERT INTO workflow_artifacts (skill_name, step_id, relative_path, content, size_bytes,
                                         created_at, updated_at)
         SELECT CASE i % 3 WHEN 0 THEN 'alpha' WHEN 1 THEN 'beta' ELSE 'gamma' END, i % 6,
                'out/file-' || i || '.md', printf('%.1020c', 'x') || printf('%04d', i % 10000), 1024,
                '2025-02-01 10:00:00Z', '2025-02-01 10:00:00Z'
         FROM n;
         COMMIT;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("grow");
    conn.close().await.expect("close");
    path
}

/// Start `migrate` on `path`, SIGKILL it after `delay`; whether it had already exited.
fn kill_migrate_after(path: &Path, delay: std::time::Duration) -> bool {
    let mut child = tool()
        .arg("--db")
        .arg(path)
        .arg("migrate")
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    let finished_before_kill = child.try_wait().expect("try_wait").is_some();
    child.kill().ok();
    child.wait().expect("reap");
    finished_before_kill
}

async fn recorded_version(path: &Path) -> i64 {
    let mut conn = read_only(path).await;
    let state = skill_builder_migrations::inspect(&mut conn)
        .await
        .expect("inspect");
    conn.close().await.expect("close");
    state.version()
}

async fn schema(path: &Path) -> serde_json::Value {
    let mut conn = read_only(path).await;
    let shape = skill_builder_migrations::schema::describe(&mut conn)
        .await
        .expect("describe");
    conn.close().await.expect("close");
    serde_json::to_value(shape).expect("json")
}

/// `migrate` is SIGKILLed at spread-out moments while it upgrades the v00 fixture grown
/// to 100,000 agent runs and 10,000 artifacts. Each migration step and its
/// `schema_migrations` record commit in one transaction, so after each kill every step
/// is either applied and recorded or neither: the schema is exactly that of the
/// recorded version, and a rerun equals an uninterrupted upgrade row for row.
#[tokio::test]
async fn killed_migrate_resumes_to_the_uninterrupted_result() {
    let kill_points: u32 = std::env::var("STRESS_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let grown = grown_fixture(dir.path()).await;

    // The oracle: one uninterrupted upgrade, timed.
    let reference = dir.path().join("reference.db");
    copy_db(&grown, &reference);
    let started = Instant::now();
    migrate(&reference, None);
    let full = started.elapsed();
    let status = skill_builder_app::status(&reference).await.expect("status");
    assert_eq!(status.tables["agent_runs"], agent_runs() + 2);
    assert_eq!(status.tables["workflow_artifacts"], agent_runs() / 10 + 2);

    // The comparison can tell files apart.
    assert!(same_data(&grown, &reference).await.is_err());
    let twin = dir.path().join("twin.db");
    copy_db(&grown, &twin);
    migrate(&twin, None);
    same_data(&twin, &reference)
        .await
        .expect("two uninterrupted upgrades agree");

    // Schema at each recorded version, from the small fixture.
    let mut schema_at: HashMap<i64, serde_json::Value> = HashMap::new();

    let mut killed_mid_upgrade = 0;
    let mut versions_seen = Vec::new();
    for k in 0..kill_points {
        let work = dir.path().join(format!("kill-{k}.db"));
        copy_db(&grown, &work);
        // Spread the kill points over the whole upgrade, plus process start-up.
        let delay = full.mul_f64((f64::from(k) + 0.5) / f64::from(kill_points));
        let finished_before_kill = kill_migrate_after(&work, delay);

        let version = recorded_version(&work).await;
        versions_seen.push(version);
        if version < skill_builder_migrations::LATEST_VERSION && !finished_before_kill {
            killed_mid_upgrade += 1;
        }
        // Recorded version v means exactly steps 1..=v applied: the schema is the one
        // `migrate --to v` gives.
        if let std::collections::hash_map::Entry::Vacant(slot) = schema_at.entry(version) {
            let small_dir = dir.path().join(format!("small-{version}"));
            std::fs::create_dir_all(&small_dir).expect("mkdir");
            let small = copy_fixture("v00", &small_dir);
            migrate(&small, Some(version));
            slot.insert(schema(&small).await);
        }
        assert_eq!(
            schema(&work).await,
            schema_at[&version],
            "kill point {k} ({delay:?}): schema at recorded version {version}"
        );

        migrate(&work, None);
        if let Err(diff) = same_data(&work, &reference).await {
            panic!(
                "kill point {k} ({delay:?}, version {version}): differs from the uninterrupted upgrade: {diff}"
            );
        }
        remove_with_snapshots(&work);
    }
    eprintln!(
        "kill points: {kill_points}, killed mid-upgrade: {killed_mid_upgrade}, recorded versions at kill: {versions_seen:?}, full upgrade {full:?}"
    );
    assert!(
        killed_mid_upgrade * 2 >= kill_points,
        "most kills must land mid-upgrade: {versions_seen:?}"
    );
}

/// The recorded versions of the file at `path`, ascending.
async fn recorded_versions(path: &Path) -> Vec<i64> {
    let mut conn = read_only(path).await;
    let versions = sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("versions");
    conn.close().await.expect("close");
    versions
}

/// Converting a file recorded by this layer's previous numbering (29..31) is one
/// transaction: `migrate` killed at any moment leaves either the old numbering or the
/// new one, never a mix, and the next run finishes the conversion with every row kept.
#[tokio::test]
async fn killed_renumbering_leaves_either_numbering_never_a_mix() {
    let kill_points: u32 = std::env::var("STRESS_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let old = grown_fixture(dir.path()).await;
    renumber_back(&old).await;
    let old_versions = recorded_versions(&old).await;
    let renumbered = skill_builder_migrations::RENUMBERED;
    assert!(renumbered.iter().all(|(o, _)| old_versions.contains(o)));
    // The old numbers replaced by the new ones: every other version stays.
    let mut new_versions: Vec<i64> = old_versions
        .iter()
        .copied()
        .filter(|v| renumbered.iter().all(|(o, _)| o != v))
        .chain(renumbered.iter().map(|(_, n)| *n))
        .collect();
    new_versions.sort_unstable();

    // The oracle, timed: an uninterrupted conversion.
    let reference = dir.path().join("reference.db");
    copy_db(&old, &reference);
    let started = Instant::now();
    migrate(&reference, None);
    let full = started.elapsed();
    assert_eq!(recorded_versions(&reference).await, new_versions);

    let (mut seen_old, mut seen_new) = (0, 0);
    for k in 0..kill_points {
        let work = dir.path().join(format!("renumber-{k}.db"));
        copy_db(&old, &work);
        let delay = full.mul_f64((f64::from(k) + 0.5) / f64::from(kill_points));
        kill_migrate_after(&work, delay);
        let versions = recorded_versions(&work).await;
        if versions == old_versions {
            seen_old += 1;
        } else if versions == new_versions {
            seen_new += 1;
        } else {
            panic!("kill point {k} ({delay:?}): mixed numbering {versions:?}");
        }
        migrate(&work, None);
        assert_eq!(recorded_versions(&work).await, new_versions);
        if let Err(diff) = same_data(&work, &reference).await {
            panic!("kill point {k} ({delay:?}): differs from the uninterrupted conversion: {diff}");
        }
        remove_with_snapshots(&work);
    }
    eprintln!(
        "renumbering kill points: {kill_points}: old numbering left {seen_old}, new {seen_new}, mixed 0; full run {full:?}"
    );
}
