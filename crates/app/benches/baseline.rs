//! The raw-SQLite baseline: rusqlite with cached prepared statements, running the SAME
//! SQL as the data layer on the same schema.
//!
//! The SQL is not copied: it is read from the committed offline cache `.sqlx/`, which
//! holds the exact text of every query macro, so the baseline can never drift from the
//! layer it is compared with. Each lookup must match exactly one cached query.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, params};
use skill_builder_app::bench::{agent_run, artifact_content};

/// Every query text of `.sqlx/`, whitespace-normalised.
pub struct QueryCache(Vec<String>);

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl QueryCache {
    pub fn load() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.sqlx");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("read .sqlx") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read query file");
            let json: serde_json::Value = serde_json::from_str(&text).expect("parse query file");
            if let Some(q) = json["query"].as_str() {
                out.push(q.to_owned());
            }
        }
        Self(out)
    }

    /// The one cached query whose normalised text starts with `prefix` and contains
    /// every string of `also`.
    pub fn find(&self, prefix: &str, also: &[&str]) -> String {
        let prefix = normalise(prefix);
        let hits: Vec<&String> = self
            .0
            .iter()
            .filter(|q| {
                let n = normalise(q);
                n.starts_with(&prefix) && also.iter().all(|a| n.contains(&normalise(a)))
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "query starting {prefix:?} {also:?}: {hits:#?}"
        );
        hits[0].clone()
    }
}

/// The statements of the hot operations.
pub struct Sql {
    pub persist: String,
    pub save_step: String,
    pub upsert_artifact: String,
    /// save_workflow_run: the master row, then the run row (one transaction).
    pub run_save_skill: String,
    pub run_save: String,
    /// set_skill_tags: the master id, the delete, the insert (one transaction).
    pub tags_skill: String,
    pub tags_delete: String,
    pub tags_set: String,
    pub list_skills: String,
    pub tags_batch: String,
    pub summary: String,
    /// By model and by step (`?1` = hide_cancelled).
    pub by_model: String,
    pub by_step: String,
    pub recent: String,
    pub recent_runs: String,
}

impl Sql {
    pub fn load() -> Self {
        let c = QueryCache::load();
        Self {
            persist: c.find("INSERT OR REPLACE INTO agent_runs ( rowid, agent_id, skill_name,", &["VALUES ((SELECT rowid"]),
            save_step: c.find("INSERT INTO workflow_steps (skill_name, step_id, status, started_at, completed_at, workflow_run_id) SELECT", &[]),
            upsert_artifact: c.find("INSERT INTO workflow_artifacts (skill_name, step_id, relative_path, content, size_bytes, workflow_run_id)", &[]),
            run_save_skill: c.find("INSERT INTO skills (name, skill_source, purpose) VALUES (?1, 'skill-builder', ?2)", &[]),
            run_save: c.find("INSERT INTO workflow_runs (skill_name, current_step, status, purpose, skill_id)", &[]),
            tags_skill: c.find(r#"SELECT id AS "id!: i64" FROM skills WHERE name = ?"#, &[]),
            tags_delete: c.find("DELETE FROM skill_tags WHERE skill_id = ?1 OR skill_name = ?2", &[]),
            tags_set: c.find("INSERT OR IGNORE INTO skill_tags (skill_name, tag, skill_id)", &[]),
            list_skills: c.find("SELECT json_group_array(json_array( id, name, skill_source,", &["FROM skills"]),
            tags_batch: c.find("SELECT json_group_array(json_array(t.skill_name, t.tag))", &[]),
            summary: c.find(r#"SELECT s.sessions AS "sessions!: i64""#, &["FROM usage_summary"]),
            by_model: c.find(r#"SELECT CAST(model AS BLOB) AS "model!: Vec<u8>", SUM("#, &["GROUP BY model"]),
            by_step: c.find(r#"SELECT step_id AS "step_id!: i64", SUM("#, &["GROUP BY step_id"]),
            recent: c.find("WITH picked AS MATERIALIZED (", &["FROM workflow_sessions ws"]),
            recent_runs: c.find(r#"SELECT agent_id AS "agent_id: AgentId""#, &["ORDER BY (completed_at IS NULL)"]),
        }
    }
}

/// A connection with the production pragmas and a statement cache.
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;",
    )
    .expect("pragmas");
    conn.set_prepared_statement_cache_capacity(128);
    conn
}

/// Warm open: the connection plus the reads our startup does on an up-to-date file.
pub fn open_warm(path: &Path) -> Connection {
    let conn = open(path);
    let _: Vec<String> = first_column(
        &conn,
        "SELECT name FROM pragma_table_info('schema_migrations')",
    );
    let _: Vec<i64> = first_column(&conn, "SELECT count(*) FROM sqlite_master");
    let _: Vec<i64> = first_column(
        &conn,
        "SELECT version, applied_at, checksum FROM schema_migrations",
    );
    let _: Vec<bool> = first_column(
        &conn,
        "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 24)",
    );
    let _: Vec<String> = first_column(&conn, "SELECT name FROM pragma_table_info('skills')");
    conn
}

/// The first column of every row of `sql` (a cached statement).
fn first_column<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> Vec<T> {
    conn.prepare_cached(sql)
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

/// Cold open: a new file, then the same baseline and steps with their records, all in
/// one `BEGIN IMMEDIATE` transaction (as the layer does for a brand-new file),
/// foreign keys off during the steps.
pub fn open_cold(path: &Path) -> Connection {
    let conn = open(path);
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("fk off");
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
             checksum BLOB);",
    )
    .expect("tracking");
    let baseline = skill_builder_migrations::baseline().expect("baseline");
    conn.execute_batch(baseline.sql.as_str()).expect("baseline");
    for step in skill_builder_migrations::steps() {
        conn.execute_batch(step.sql.as_str()).expect("step");
        conn.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES (?, ?)",
            params![step.version, &*step.checksum],
        )
        .expect("record");
    }
    conn.execute_batch("COMMIT").expect("commit");
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .expect("fk on");
    conn
}

pub fn persist_agent_run(conn: &Connection, sql: &Sql, i: u64) {
    let r = agent_run(i);
    conn.prepare_cached(&sql.persist)
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
            r.workflow_run_id.map(|w| w.get()),
        ])
        .expect("persist");
}

pub fn save_step(conn: &Connection, sql: &Sql, name: &str, step: i64, status: &str) {
    conn.prepare_cached(&sql.save_step)
        .expect("prepare")
        .execute(params![name, step, status])
        .expect("save step");
}

pub fn set_tags(conn: &Connection, sql: &Sql, name: &str, tags: &[&str]) {
    let json = serde_json::to_string(&skill_builder_model::normalize_tags(tags)).expect("json");
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    let id: i64 = conn
        .prepare_cached(&sql.tags_skill)
        .expect("prepare")
        .query_row(params![name], |r| r.get(0))
        .expect("skill id");
    conn.prepare_cached(&sql.tags_delete)
        .expect("prepare")
        .execute(params![id, name])
        .expect("delete tags");
    conn.prepare_cached(&sql.tags_set)
        .expect("prepare")
        .execute(params![name, id, json])
        .expect("set tags");
    conn.execute_batch("COMMIT").expect("commit");
}

pub fn save_workflow_run(conn: &Connection, sql: &Sql, name: &str) {
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    conn.prepare_cached(&sql.run_save_skill)
        .expect("prepare")
        .execute(params![name, "domain"])
        .expect("save skill");
    conn.prepare_cached(&sql.run_save)
        .expect("prepare")
        .execute(params![name, 0, "in_progress", "domain"])
        .expect("save run");
    conn.execute_batch("COMMIT").expect("commit");
}

/// The workflow phase's unit: one skill built end to end.
pub fn workflow_skill(conn: &Connection, sql: &Sql, i: u64) {
    let name = format!("wf-{i:05}");
    save_workflow_run(conn, sql, &name);
    for step in 0..6 {
        save_step(conn, sql, &name, step, "in_progress");
        save_step(conn, sql, &name, step, "completed");
    }
    for step in 0..6 {
        let content = artifact_content(i, step);
        let path = format!("step-{step}/output.md");
        conn.prepare_cached(&sql.upsert_artifact)
            .expect("prepare")
            .execute(params![name, step, path, content, content.len() as i64])
            .expect("artifact");
    }
    let tags = [
        "workflow",
        "generated",
        if i.is_multiple_of(2) { "even" } else { "odd" },
    ];
    set_tags(conn, sql, &name, &tags);
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
    Option<i64>,
    Option<i64>,
);

/// The catalogue screen: every skill, then the tags of all of them, decoded and
/// ordered as the layer does.
pub fn catalog_once(conn: &Connection, sql: &Sql) -> usize {
    let json: String = conn
        .prepare_cached(&sql.list_skills)
        .expect("prepare")
        .query_row([], |r| r.get(0))
        .expect("list");
    let mut skills: Vec<SkillRow> = serde_json::from_str(&json).expect("decode");
    skills.sort_by(|a, b| a.1.cmp(&b.1));
    let names = serde_json::to_string(&skills.iter().map(|s| s.1.as_str()).collect::<Vec<_>>())
        .expect("json");
    let json: String = conn
        .prepare_cached(&sql.tags_batch)
        .expect("prepare")
        .query_row(params![names], |r| r.get(0))
        .expect("tags");
    let pairs: Vec<(String, String)> = serde_json::from_str(&json).expect("decode");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (skill, tag) in pairs {
        map.entry(skill).or_default().push(tag);
    }
    for tags in map.values_mut() {
        tags.sort();
        tags.dedup();
    }
    map.len()
}

fn count_rows(conn: &Connection, q: &str, args: impl rusqlite::Params) -> usize {
    let mut stmt = conn.prepare_cached(q).expect("prepare");
    let n = stmt.column_count();
    let rows = stmt
        .query_map(args, |r| {
            // Decode every column, as the layer does.
            for i in 0..n {
                let _: rusqlite::types::Value = r.get(i)?;
            }
            Ok(())
        })
        .expect("query");
    rows.count()
}

/// One analytics query, every column of every row decoded.
pub fn one_query(conn: &Connection, q: &str, args: &[&dyn rusqlite::ToSql]) -> usize {
    count_rows(conn, q, args)
}

/// The usage screen: the same queries (by model, by step and recent sessions each
/// read the summary row first, for its skipped-row count, as the layer does).
pub fn analytics_once(conn: &Connection, sql: &Sql) -> usize {
    count_rows(conn, &sql.summary, params![])
        + count_rows(conn, &sql.summary, params![])
        + count_rows(conn, &sql.by_model, params![true])
        + count_rows(conn, &sql.summary, params![])
        + count_rows(conn, &sql.by_step, params![true])
        + count_rows(conn, &sql.summary, params![])
        + count_rows(conn, &sql.recent, params![true, 50])
        + count_rows(conn, &sql.recent_runs, params!["[]", 50])
}
