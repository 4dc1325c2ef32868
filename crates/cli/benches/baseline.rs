//! The raw baseline: the existing app's own SQL on its own schema, run with rusqlite.
//!
//! "Raw" in BENCHMARKS.md is what the app this layer replaces does: a file at step 28
//! (the existing app's last schema, built here by this layer's migrations with
//! `OpenOptions::target(28)`, which are byte-compatible with it), one rusqlite
//! connection with the production pragmas and cached prepared statements, and the
//! straightforward SQL that `shared/spec/operations.md` describes for each operation
//! (autocommit statements, as the existing layer ran them). What this layer adds on
//! top — its schema's indexes and triggers, the usage totals, the connection's worker
//! thread — is what the ratios measure. The `hop` rows (`SELECT 1`) give the floor of
//! one call on each side.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use skill_builder_cli::bench::{agent_run, artifact_content};

/// The schema version of the existing app's files.
pub const STEP: i64 = 28;

/// A connection with the production pragmas and a statement cache.
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )
    .expect("pragmas");
    conn.set_prepared_statement_cache_capacity(128);
    conn
}

/// Warm open: the connection plus the existing app's startup read of an up-to-date
/// file (which steps are recorded).
pub fn open_warm(path: &Path) -> Connection {
    let conn = open(path);
    let versions: Vec<i64> = conn
        .prepare_cached("SELECT version FROM schema_migrations ORDER BY version")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert!(versions.contains(&STEP), "a file at step {STEP}");
    conn
}

/// The floor of one call: `SELECT 1` on a held connection.
pub fn hop(conn: &Connection) -> i64 {
    conn.prepare_cached("SELECT 1")
        .expect("prepare")
        .query_row([], |r| r.get(0))
        .expect("select 1")
}

/// `persist_agent_run` of agent run `i`: one `INSERT OR REPLACE` keeping the row's
/// `started_at` (no shutdown guard: the workload's runs are `completed`).
pub fn persist_agent_run(conn: &Connection, i: u64) {
    let r = agent_run(i);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO agent_runs (
             agent_id, skill_name, step_id, model, status, input_tokens, output_tokens,
             cache_read_tokens, cache_write_tokens, total_cost, duration_ms, num_turns,
             stop_reason, duration_api_ms, tool_use_count, compaction_count, session_id,
             workflow_session_id, started_at, completed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             COALESCE((SELECT started_at FROM agent_runs WHERE agent_id = ?1 AND model = ?4),
                      datetime('now') || 'Z'),
             datetime('now') || 'Z')",
    )
    .expect("prepare")
    .execute(params![
        r.agent_id.as_str(),
        r.skill_name,
        r.step_id,
        r.model,
        r.status.as_str(),
        r.input_tokens,
        r.output_tokens,
        r.cache_read_tokens,
        r.cache_write_tokens,
        r.total_cost,
        r.duration_ms,
        r.num_turns,
        r.stop_reason,
        r.duration_api_ms,
        r.tool_use_count,
        r.compaction_count,
        r.session_id,
        r.workflow_session_id
            .as_ref()
            .map(|w| w.as_str().to_owned()),
    ])
    .expect("persist");
}

/// `upsert_skill`: insert, or update the purpose of an existing name.
pub fn upsert_skill(conn: &Connection, name: &str, source: &str, purpose: &str) {
    conn.prepare_cached(
        "INSERT INTO skills (name, skill_source, purpose) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET purpose = excluded.purpose, updated_at = datetime('now')",
    )
    .expect("prepare")
    .execute(params![name, source, purpose])
    .expect("upsert skill");
}

/// `save_workflow_run`: the master row, then the run row (two autocommit statements).
pub fn save_workflow_run(conn: &Connection, name: &str) {
    upsert_skill(conn, name, "skill-builder", "domain");
    conn.prepare_cached(
        "INSERT INTO workflow_runs (skill_name, current_step, status, purpose, skill_id)
         VALUES (?1, ?2, ?3, ?4, (SELECT id FROM skills WHERE name = ?1))
         ON CONFLICT (skill_name) DO UPDATE SET current_step = excluded.current_step,
             status = excluded.status, purpose = excluded.purpose, skill_id = excluded.skill_id,
             updated_at = datetime('now') || 'Z'",
    )
    .expect("prepare")
    .execute(params![name, 0, "in_progress", "domain"])
    .expect("save run");
}

/// `save_workflow_step`: the run's id, then one upsert with the status's timestamps.
pub fn save_step(conn: &Connection, name: &str, step: i64, status: &str) {
    let run: Option<i64> = conn
        .prepare_cached("SELECT id FROM workflow_runs WHERE skill_name = ?1")
        .expect("prepare")
        .query_row(params![name], |r| r.get(0))
        .optional()
        .expect("run id");
    conn.prepare_cached(
        "INSERT INTO workflow_steps (skill_name, step_id, status, started_at, completed_at, workflow_run_id)
         VALUES (?1, ?2, ?3,
                 CASE WHEN ?3 = 'in_progress' THEN strftime('%Y-%m-%dT%H:%M:%fZ') END,
                 CASE WHEN ?3 = 'completed' THEN strftime('%Y-%m-%dT%H:%M:%fZ') END, ?4)
         ON CONFLICT (skill_name, step_id) DO UPDATE SET status = excluded.status,
             started_at = CASE WHEN excluded.status = 'in_progress' THEN excluded.started_at
                               ELSE workflow_steps.started_at END,
             completed_at = excluded.completed_at,
             workflow_run_id = COALESCE(excluded.workflow_run_id, workflow_steps.workflow_run_id)",
    )
    .expect("prepare")
    .execute(params![name, step, status, run])
    .expect("save step");
}

/// `upsert_artifact`: one upsert resolving the run id.
pub fn upsert_artifact(conn: &Connection, name: &str, step: i64, path: &str, content: &str) {
    conn.prepare_cached(
        "INSERT INTO workflow_artifacts (skill_name, step_id, relative_path, content, size_bytes, workflow_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT id FROM workflow_runs WHERE skill_name = ?1))
         ON CONFLICT (skill_name, step_id, relative_path) DO UPDATE SET content = excluded.content,
             size_bytes = excluded.size_bytes, updated_at = datetime('now') || 'Z'",
    )
    .expect("prepare")
    .execute(params![name, step, path, content, content.len() as i64])
    .expect("artifact");
}

/// `set_skill_tags`: the skill's id, delete its tags, one insert per normalised tag.
pub fn set_tags(conn: &Connection, name: &str, tags: &[&str]) {
    let id: i64 = conn
        .prepare_cached("SELECT id FROM skills WHERE name = ?1")
        .expect("prepare")
        .query_row(params![name], |r| r.get(0))
        .expect("skill id");
    conn.prepare_cached("DELETE FROM skill_tags WHERE skill_id = ?1")
        .expect("prepare")
        .execute(params![id])
        .expect("delete tags");
    for tag in skill_builder_model::normalize_tags(tags) {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO skill_tags (skill_name, skill_id, tag) VALUES (?1, ?2, ?3)",
        )
        .expect("prepare")
        .execute(params![name, id, tag])
        .expect("insert tag");
    }
}

/// The workflow phase's unit: one skill built end to end.
pub fn workflow_skill(conn: &Connection, i: u64) {
    let name = format!("wf-{i:05}");
    save_workflow_run(conn, &name);
    for step in 0..6 {
        save_step(conn, &name, step, "in_progress");
        save_step(conn, &name, step, "completed");
    }
    for step in 0..6 {
        let path = format!("step-{step}/output.md");
        upsert_artifact(conn, &name, step, &path, &artifact_content(i, step));
    }
    let tags = [
        "workflow",
        "generated",
        if i.is_multiple_of(2) { "even" } else { "odd" },
    ];
    set_tags(conn, &name, &tags);
}

/// The catalogue of the workload: `n` skills `skill-{i:05}` with 4 tags each.
pub fn seed_catalog(conn: &Connection, n: u64) {
    conn.execute_batch("BEGIN").expect("begin");
    for i in 0..n {
        let name = format!("skill-{i:05}");
        upsert_skill(conn, &name, "marketplace", "domain");
        let tags = [
            format!("team-{}", i % 10),
            format!("area-{}", i % 7),
            format!("tier-{}", i % 3),
            "catalog".to_owned(),
        ];
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        set_tags(conn, &name, &tags);
    }
    conn.execute_batch("COMMIT").expect("commit");
}

type SkillRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<bool>,
);

/// The catalogue screen: every skill by name, then the tags of all of them (chunks of
/// 900 names). Returns the number of tagged skills.
pub fn catalog_once(conn: &Connection) -> usize {
    let skills: Vec<SkillRow> = conn
        .prepare_cached(
            "SELECT id, name, skill_source, purpose, created_at, updated_at, description,
                    version, model, argument_hint, user_invocable, disable_model_invocation
             FROM skills ORDER BY name",
        )
        .expect("prepare")
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
            ))
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for chunk in skills.chunks(900) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT t.skill_name, t.tag FROM skill_tags t JOIN skills s ON s.id = t.skill_id
             WHERE s.name IN ({marks}) ORDER BY t.skill_name, t.tag"
        );
        let mut stmt = conn.prepare_cached(&sql).expect("prepare");
        let rows = stmt
            .query_map(params_from_iter(chunk.iter().map(|s| s.1.as_str())), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .expect("query");
        for row in rows {
            let (skill, tag) = row.expect("row");
            map.entry(skill).or_default().push(tag);
        }
    }
    map.len()
}

/// The analytics data of the workload: agent runs `0..runs` and sessions
/// `ws0..ws{sessions}` on skills `s{j % 200}`.
pub fn seed_analytics(conn: &Connection, runs: u64, sessions: u64) {
    conn.execute_batch("BEGIN").expect("begin");
    for i in 0..runs {
        persist_agent_run(conn, i);
    }
    for j in 0..sessions {
        conn.prepare_cached(
            "INSERT INTO workflow_sessions (session_id, skill_name, pid) VALUES (?1, ?2, ?3)",
        )
        .expect("prepare")
        .execute(params![format!("ws{j}"), format!("s{}", j % 200), 1])
        .expect("session");
    }
    conn.execute_batch("COMMIT").expect("commit");
}

/// Every column of every row of `sql` read, as the existing layer decodes them.
fn count_rows(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> usize {
    let mut stmt = conn.prepare_cached(sql).expect("prepare");
    let n = stmt.column_count();
    stmt.query_map(args, |r| {
        for i in 0..n {
            let _: rusqlite::types::Value = r.get(i)?;
        }
        Ok(())
    })
    .expect("query")
    .count()
}

/// The usage screen (hiding cancelled): summary, by model, by step, 50 recent
/// sessions and the 50 most recent agent runs, each as one aggregate over the rows.
pub fn analytics_once(conn: &Connection) -> usize {
    let sessions = "SELECT ws.session_id, ws.skill_name, ws.started_at, ws.ended_at,
                COALESCE(MIN(ar.step_id), 0) AS min_step, COALESCE(MAX(ar.step_id), 0) AS max_step,
                COALESCE(GROUP_CONCAT(DISTINCT ar.step_id), '') AS steps,
                COUNT(DISTINCT ar.agent_id) AS agents, COUNT(ar.agent_id) AS rows_,
                COALESCE(SUM(ar.total_cost), 0) AS cost,
                COALESCE(SUM(ar.input_tokens), 0), COALESCE(SUM(ar.output_tokens), 0),
                COALESCE(SUM(ar.cache_read_tokens), 0), COALESCE(SUM(ar.cache_write_tokens), 0),
                COALESCE(SUM(ar.duration_ms), 0)
         FROM workflow_sessions ws
         LEFT JOIN agent_runs ar ON ar.workflow_session_id = ws.session_id AND ar.reset_marker IS NULL
         WHERE ws.reset_marker IS NULL
         GROUP BY ws.session_id";
    count_rows(
        conn,
        &format!(
            "SELECT COALESCE(SUM(cost), 0), COUNT(*) FROM ({sessions}) WHERE cost > 0 OR rows_ = 0"
        ),
        [],
    ) + count_rows(
        conn,
        "SELECT model, COALESCE(SUM(total_cost), 0) AS cost, COUNT(*) FROM agent_runs
         WHERE reset_marker IS NULL AND workflow_session_id IS NOT NULL AND total_cost > 0
         GROUP BY model ORDER BY cost DESC",
        [],
    ) + count_rows(
        conn,
        "SELECT step_id, COALESCE(SUM(total_cost), 0) AS cost, COUNT(*) FROM agent_runs
         WHERE reset_marker IS NULL AND workflow_session_id IS NOT NULL AND total_cost > 0
         GROUP BY step_id ORDER BY cost DESC",
        [],
    ) + count_rows(
        conn,
        &format!(
            "SELECT * FROM ({sessions}) WHERE cost > 0 OR rows_ = 0 ORDER BY started_at DESC LIMIT 50"
        ),
        [],
    ) + count_rows(
        conn,
        "SELECT agent_id, skill_name, step_id, model, status, input_tokens, output_tokens,
                cache_read_tokens, cache_write_tokens, total_cost, duration_ms, num_turns,
                stop_reason, duration_api_ms, tool_use_count, compaction_count, session_id,
                started_at, completed_at
         FROM agent_runs WHERE reset_marker IS NULL ORDER BY completed_at DESC LIMIT 50",
        [],
    )
}
