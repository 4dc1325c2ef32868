//! Helpers shared by the workspace integration tests.
#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// `tests/fixtures/legacy`.
pub fn legacy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/legacy")
}

/// Every legacy fixture name (`v00`, `v02`, …).
pub fn legacy_versions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(legacy_dir())
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".db").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Copy fixture `name` (with any `-wal`/`-shm`) into `dir` as `skill-builder.db`, writable.
pub fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let dest = dir.join("skill-builder.db");
    for suffix in ["", "-wal", "-shm"] {
        let src = legacy_dir().join(format!("{name}.db{suffix}"));
        if src.exists() {
            let to = PathBuf::from(format!("{}{suffix}", dest.display()));
            std::fs::copy(&src, &to).expect("copy fixture");
            let mut perms = std::fs::metadata(&to).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&to, perms).expect("chmod");
        }
    }
    dest
}

/// The expected dump of fixture `name`, rows canonically sorted.
pub fn expected_dump(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(legacy_dir().join(format!("{name}.expected.json")))
        .expect("expected json");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("parse expected");
    skill_builder_migrations::schema::canonicalize(&mut v);
    // The existing app stops at step 28; this layer's own steps (timestamp versions)
    // add indexes, triggers and views, and two nullable columns; step 20261130100000
    // repairs rows that none of the fixtures holds (ghost running agent runs,
    // agent-run sessions without a row, two active workspace skills per purpose, NULL
    // links whose parent exists; tests/usage_history.rs covers it). So a fixture
    // differs from the oracle by those versions and columns alone.
    if let Some(versions) = v["schema_migrations"]["versions"].as_array_mut() {
        versions.extend(own_versions().into_iter().map(serde_json::Value::from));
    }
    add_own_columns(&mut v);
    v
}

/// The columns this layer's own steps add to the existing app's tables (NULL in every
/// row the existing app wrote): `pid_started_at` of `skill_locks` and
/// `workflow_sessions` (step 20261130110000).
fn add_own_columns(v: &mut serde_json::Value) {
    for table in ["skill_locks", "workflow_sessions"] {
        let Some(entry) = v.get_mut(table) else {
            continue;
        };
        if let Some(columns) = entry["columns"].as_object_mut() {
            columns.insert(
                "pid_started_at".into(),
                serde_json::json!({"default": null, "notnull": 0, "pk": 0, "type": "INTEGER"}),
            );
        }
        if let Some(rows) = entry.get_mut("rows").and_then(|r| r.as_array_mut()) {
            for row in rows {
                if let Some(row) = row.as_object_mut() {
                    row.insert("pid_started_at".into(), serde_json::Value::Null);
                }
            }
        }
    }
}

/// This layer's own step versions (after the existing app's 1..=28), ascending.
pub fn own_versions() -> Vec<i64> {
    skill_builder_migrations::steps()
        .map(|m| m.version)
        .filter(|v| *v > skill_builder_migrations::CONTRACT_VERSION)
        .collect()
}

/// How many steps this build has (the existing app's 28 plus this layer's own).
pub fn step_count() -> usize {
    skill_builder_migrations::steps().count()
}

/// Fixture `name` upgraded by this build, then with this layer's own rows renumbered
/// back to 29, 30, 31 (same SQL, same checksums): a file as the previous build of this
/// layer left it.
pub async fn previous_numbering_file(name: &str, dir: &Path) -> PathBuf {
    let path = copy_fixture(name, dir);
    renumber_back(&path).await;
    path
}

/// Upgrade the file at `path` with this build, then renumber this layer's rows back
/// to the old numbers 29, 30, 31.
pub async fn renumber_back(path: &Path) {
    skill_builder_app::Database::open(path)
        .await
        .expect("upgrade")
        .close()
        .await;
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .expect("connect");
    for (old, new) in skill_builder_migrations::RENUMBERED {
        sqlx::query("UPDATE schema_migrations SET version = ? WHERE version = ?")
            .bind(old)
            .bind(new)
            .execute(&mut conn)
            .await
            .expect("old numbering");
    }
    conn.close().await.expect("close");
}

/// A plain read-write connection to the file at `path` (it must exist), as another
/// tool opens it: no layer, no migrations, sqlx's default connect options.
pub async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .expect("raw connection")
}

/// Another tool's one statement on the file at `path`: a [`raw`] connection runs `sql`,
/// then closes cleanly.
pub async fn raw_execute(path: &Path, sql: &'static str) {
    let mut conn = raw(path).await;
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.expect("close");
}

/// A read-only connection (never writes, never checkpoints).
pub async fn read_only(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .expect("open read-only")
}

/// The canonical dump of the database at `path`.
pub async fn dump(path: &Path) -> serde_json::Value {
    let mut conn = read_only(path).await;
    let v = skill_builder_migrations::schema::dump(&mut conn)
        .await
        .expect("dump");
    conn.close().await.expect("close");
    v
}

/// The tables this layer's own steps add (steps 20261207140000 and 20261207220500: the
/// usage totals and the note of a replaced agent run): the
/// existing app's files have none, so its expected dumps do not list them. Their
/// rows follow from `agent_runs` and `workflow_sessions`; `check` compares them with
/// the plain aggregates (`usage_totals` in its report).
pub const OWN_TABLES: [&str; 4] = [
    "usage_groups",
    "usage_replaced",
    "usage_sessions",
    "usage_summary",
];

/// The dump of the database at `path` without [`OWN_TABLES`]: what the existing app's
/// expected dumps describe.
pub async fn legacy_dump(path: &Path) -> serde_json::Value {
    let mut v = dump(path).await;
    if let serde_json::Value::Object(tables) = &mut v {
        for t in OWN_TABLES {
            tables.remove(t);
        }
    }
    v
}

/// Strip rows and versions: the schema-only view of a dump.
pub fn schema_only(dump: &serde_json::Value) -> serde_json::Value {
    let mut v = dump.clone();
    if let serde_json::Value::Object(tables) = &mut v {
        for entry in tables.values_mut() {
            if let serde_json::Value::Object(e) = entry {
                e.remove("rows");
                e.remove("versions");
            }
        }
    }
    v
}

/// Bytes of a file (for "left untouched" assertions).
pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}

/// `dbdump.py`'s "now" normalisation as an SQL expression over column `c`.
fn normalized(c: &str) -> String {
    let q = format!("\"{}\"", c.replace('"', "\"\""));
    format!(
        "CASE WHEN {q} GLOB '202[6-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' \
              OR {q} GLOB '20[3-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' \
         THEN '<now>' ELSE {q} END"
    )
}

/// Whether two databases hold the same schema and the same rows (as multisets, with
/// "now" timestamps normalised like `dbdump.py`), compared inside SQLite so that
/// files of 100,000+ rows compare in well under a second. `Err` names the first
/// difference.
pub async fn same_data(a: &Path, b: &Path) -> Result<(), String> {
    let mut conn = read_only(a).await;
    let shape_a = skill_builder_migrations::schema::describe(&mut conn)
        .await
        .expect("describe a");
    let mut other = read_only(b).await;
    let shape_b = skill_builder_migrations::schema::describe(&mut other)
        .await
        .expect("describe b");
    other.close().await.expect("close");
    if shape_a != shape_b {
        return Err(format!(
            "schemas differ: {:?}",
            skill_builder_migrations::schema::diff(&shape_b, &shape_a)
        ));
    }
    sqlx::query("ATTACH DATABASE ? AS other")
        .bind(format!("file:{}?mode=ro", b.display()))
        .execute(&mut conn)
        .await
        .expect("attach");
    for (table, shape) in &shape_a {
        let cols: Vec<String> = if table == "schema_migrations" {
            vec!["\"version\"".to_owned()]
        } else {
            shape.columns.keys().map(|c| normalized(c)).collect()
        };
        let cols = cols.join(", ");
        let t = format!("\"{}\"", table.replace('"', "\"\""));
        let sql = format!(
            "SELECT (SELECT count(*) FROM main.{t}), (SELECT count(*) FROM other.{t}),
                    (SELECT count(*) FROM (SELECT {cols} FROM main.{t} EXCEPT SELECT {cols} FROM other.{t})),
                    (SELECT count(*) FROM (SELECT {cols} FROM other.{t} EXCEPT SELECT {cols} FROM main.{t}))"
        );
        let (na, nb, only_a, only_b): (i64, i64, i64, i64) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .expect("compare");
        if (na, only_a, only_b) != (nb, 0, 0) {
            return Err(format!(
                "{table}: {na} vs {nb} rows, {only_a} only in {}, {only_b} only in {}",
                a.display(),
                b.display()
            ));
        }
    }
    conn.close().await.expect("close");
    Ok(())
}

/// Free bytes of the file system holding `dir` (`df`).
pub fn free_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df output")
}

/// A tmpfs of a given size mounted on a temporary folder; unmounted on drop.
pub struct SmallTmpfs {
    /// The mount point.
    pub dir: PathBuf,
    _holder: tempfile::TempDir,
}

impl SmallTmpfs {
    /// Mount one of `bytes`; `None` (with a printed reason) where this machine cannot.
    pub fn new(bytes: u64) -> Option<Self> {
        let holder = tempfile::tempdir().expect("tempdir");
        let dir = holder.path().join("mnt");
        std::fs::create_dir(&dir).expect("mkdir");
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a small tmpfs here (needs root and mount rights); \
                 the disk-full case is not exercised"
            );
            return None;
        }
        Some(Self {
            dir,
            _holder: holder,
        })
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).output();
    }
}

/// Whether the calling test should run its body here: `false` in the test binary's
/// own process, after running `test` (its full path, e.g. `secrets::no_secret…`)
/// alone in a child process of the same binary and checking that it passed; `true`
/// in that child. For the few tests that must have the process to themselves — a
/// process-global `tracing` subscriber, or a count of every statement the process
/// runs — while the rest of the binary's tests run in parallel.
pub fn alone_in_child_process(test: &str) -> bool {
    const CHILD: &str = "SKILL_BUILDER_TEST_ALONE";
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .expect("run the test in a child process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in a child process: {}\n{stdout}\n{stderr}",
        out.status
    );
    false
}
