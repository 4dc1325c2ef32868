#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `skill-builder-db demo` (the README's first Quick start command), run as a real
//! process: it creates or upgrades the database, leaves real rows, and is safe to run
//! again — each run adds one new demo skill and never writes to a skill of the user's.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::{OWN_TABLES, copy_fixture};
use skill_builder_app::Database;
use skill_builder_app::db::{artifacts, locks, skills, tags, usage, workflow_runs, workflow_steps};
use skill_builder_app::model::{StepStatus, WorkflowRunStatus};
use skill_builder_migrations::LATEST_VERSION as LATEST;

/// Where the tool is told the database is.
#[derive(Clone, Copy)]
enum Via {
    /// `SKILL_BUILDER_DB`, as the README's command runs.
    Env,
    /// `--db PATH`.
    Flag,
}

/// `skill-builder-db ARGS` on the database `db`.
fn tool(db: &Path, via: Via, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skill-builder-db"));
    match via {
        Via::Flag => cmd.arg("--db").arg(db).env_remove("SKILL_BUILDER_DB"),
        Via::Env => cmd.env("SKILL_BUILDER_DB", db),
    };
    cmd.args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run skill-builder-db")
}

/// `skill-builder-db demo`, which must succeed; its stdout.
fn demo(db: &Path, via: Via) -> String {
    let out = tool(db, via, &["demo"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Each of `wanted` is in `stdout`.
fn assert_lines(stdout: &str, wanted: &[&str]) {
    for want in wanted {
        assert!(stdout.contains(want), "{want:?} not in:\n{stdout}");
    }
}

/// The `name  N rows` lines of the printed status.
fn rows(stdout: &str) -> BTreeMap<String, i64> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (table, n, unit) = (words.next()?, words.next()?, words.next()?);
            if unit != "rows" || words.next().is_some() {
                return None;
            }
            Some((table.to_owned(), n.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn demo_twice_on_a_new_file_leaves_two_skills_with_real_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested").join("skill-builder.db");

    let first = demo(&db, Via::Env);
    assert_lines(
        &first,
        &[
            &format!("schema version 0 -> {LATEST}"),
            "created skill demo-skill-1",
            "6 steps completed, 6 artifacts, 6 agent runs",
            "tags: crm, sales",
            "usage (every skill): 1 session(s), $1.05 in total",
        ],
    );
    let after_one = rows(&first);
    for table in ["skills", "workflow_runs", "workflow_sessions"] {
        assert_eq!(after_one.get(table), Some(&1), "{table}: {first}");
    }
    for table in ["workflow_steps", "workflow_artifacts", "agent_runs"] {
        assert_eq!(after_one.get(table), Some(&6), "{table}: {first}");
    }
    assert_eq!(after_one.get("skill_locks"), Some(&0), "{first}");

    let second = demo(&db, Via::Flag);
    assert_lines(
        &second,
        &[
            &format!("schema version {LATEST} -> {LATEST} (0 step(s) applied)"),
            "created skill demo-skill-2",
            "usage (every skill): 2 session(s), $2.10 in total",
        ],
    );
    let after_two = rows(&second);
    for (table, n) in &after_one {
        if OWN_TABLES.contains(&table.as_str()) {
            // Derived totals (updated, not added to): `check` compares them.
            continue;
        }
        let doubled = if table == "skill_locks" { 0 } else { 2 * n };
        assert!(
            after_two.get(table) == Some(&doubled) || table == "schema_migrations",
            "{table}: {n} then {:?}",
            after_two.get(table)
        );
    }

    // What the printed counts stand for, read back through the data layer.
    let database = Database::open(&db).await.expect("open");
    let mut conn = database.write().await.expect("writer");
    let names: Vec<String> = skills::list_all_skills(&mut *conn)
        .await
        .expect("skills")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["demo-skill-1", "demo-skill-2"]);
    for name in &names {
        let run = workflow_runs::get_workflow_run(&mut *conn, name)
            .await
            .expect("run")
            .expect("a run row");
        assert_eq!(run.status, WorkflowRunStatus::Completed);
        let steps = workflow_steps::get_workflow_steps(&mut *conn, name)
            .await
            .expect("steps");
        assert_eq!(steps.len(), 6);
        assert!(steps.iter().all(|s| s.status == StepStatus::Completed));
        let notes = artifacts::get_artifact(&mut *conn, name, 2, "step-2/notes.md")
            .await
            .expect("artifact")
            .expect("stored");
        assert!(notes.content.contains("Findings of step 2."), "{notes:?}");
    }
    let tagged = tags::get_tags_for_skills(&mut *conn, &names)
        .await
        .expect("tags");
    assert_eq!(
        tagged.get("demo-skill-2").map(Vec::as_slice),
        Some(&["crm".to_owned(), "sales".to_owned()][..])
    );
    assert!(
        locks::get_all_skill_locks(&mut *conn)
            .await
            .expect("locks")
            .is_empty()
    );
    let summary = usage::get_usage_summary(&mut *conn, true)
        .await
        .expect("usage");
    assert_eq!(summary.total_runs, 2);
    drop(conn);
    database.close().await;
}

/// Rows per table, read by `status --json`.
fn table_rows(db: &Path) -> BTreeMap<String, i64> {
    let out = tool(db, Via::Flag, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    serde_json::from_value(json["tables"].clone()).expect("tables")
}

#[test]
fn demo_upgrades_a_legacy_file_and_only_adds_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).expect("mkdir");
    std::fs::create_dir_all(&b).expect("mkdir");
    let migrated = copy_fixture("v10", &a);
    let demoed = copy_fixture("v10", &b);
    assert!(tool(&migrated, Via::Flag, &["migrate"]).status.success());
    let out = demo(&demoed, Via::Flag);
    assert!(
        out.contains(&format!("schema version 10 -> {LATEST}")),
        "{out}"
    );
    assert!(out.contains("created skill demo-skill-1"), "{out}");
    let (plain, with_demo) = (table_rows(&migrated), table_rows(&demoed));
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        with_demo.keys().collect::<Vec<_>>()
    );
    assert!(plain["skills"] > 0, "the fixture has skills: {plain:?}");
    for (table, n) in &plain {
        let added = match table.as_str() {
            "skills" | "workflow_runs" | "workflow_sessions" => 1,
            "workflow_steps" | "workflow_artifacts" | "agent_runs" => 6,
            "skill_tags" => 2,
            _ => 0,
        };
        if table != "skill_locks" && !OWN_TABLES.contains(&table.as_str()) {
            assert_eq!(with_demo[table], n + added, "{table}");
        }
    }
}

#[tokio::test]
async fn demo_never_writes_to_a_skill_of_the_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = copy_fixture("v10", dir.path());
    // A skill of the user's with the first demo name.
    {
        let database = Database::open(&db).await.expect("open");
        let mut conn = database.write().await.expect("writer");
        workflow_runs::save_workflow_run(
            &mut conn,
            "demo-skill-1",
            2,
            &WorkflowRunStatus::InProgress,
            "domain",
        )
        .await
        .expect("save");
        artifacts::upsert_artifact(&mut conn, "demo-skill-1", 0, "step-0/notes.md", "mine")
            .await
            .expect("artifact");
        drop(conn);
        database.close().await;
    }
    let before = common::dump(&db).await;
    let out = demo(&db, Via::Flag);
    assert!(out.contains("created skill demo-skill-2"), "{out}");
    let after = common::dump(&db).await;
    // Every row of the skill tables that was there is still there, unchanged.
    for table in [
        "skills",
        "workflow_runs",
        "workflow_steps",
        "workflow_artifacts",
        "agent_runs",
        "skill_tags",
        "imported_skills",
    ] {
        let kept = before[table]["rows"].as_array().expect("rows");
        let now = after[table]["rows"].as_array().expect("rows");
        assert!(now.len() >= kept.len(), "{table}");
        for row in kept {
            assert!(now.contains(row), "{table}: {row} changed or lost");
        }
    }
    let database = Database::open(&db).await.expect("open");
    let mut conn = database.write().await.expect("writer");
    let mine = artifacts::get_artifact(&mut *conn, "demo-skill-1", 0, "step-0/notes.md")
        .await
        .expect("artifact")
        .expect("kept");
    assert_eq!(mine.content, "mine");
    assert!(
        workflow_steps::get_workflow_steps(&mut *conn, "demo-skill-1")
            .await
            .expect("steps")
            .is_empty()
    );
    drop(conn);
    database.close().await;
}

#[test]
fn demo_on_a_file_that_is_not_a_database_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("notes.txt");
    std::fs::write(&db, b"not sqlite at all, just text that is long enough").expect("write");
    let out = tool(&db, Via::Flag, &["demo"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(&db).expect("read"),
        b"not sqlite at all, just text that is long enough"
    );
}
