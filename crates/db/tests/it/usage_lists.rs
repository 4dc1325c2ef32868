#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The list indexes change no result: on random histories (re-persisted runs, running
//! rows, resets, deletes, cancelled and empty sessions, timestamps rewritten to force
//! ties and reorderings) every usage report and both "most recent" lists return
//! exactly — including every f64 bit and the order of ties — what they return with the
//! indexes dropped (`workflow_sessions_recent` of step `20261130120000`,
//! `agent_runs_recent` of step `20261207140000`), the recent runs equal the plain
//! scan-and-sort of `agent_runs`, and the lists are read from the indexes. `PROPTEST_CASES` sets the number of histories (default 24).

use crate::common;

use proptest::prelude::*;
use proptest::sample::select;
use skill_builder_db::model::{AgentId, AgentRunStatus, NewAgentRun, WorkflowSessionId};
use skill_builder_db::{agent_runs, sessions, usage};
use sqlx::SqliteConnection;

#[derive(Debug, Clone)]
enum Op {
    Persist {
        agent: u8,
        model: u8,
        status: AgentRunStatus,
        cost_cents: u16,
        session: Option<u8>,
        step: u8,
    },
    Session(u8),
    EndSession(u8),
    Reset,
    DeleteRun(u8),
    DeleteSession(u8),
    StampRun {
        agent: u8,
        completed: Option<u8>,
        started: u8,
    },
    StampSession {
        session: u8,
        started: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let status = select(vec![
        AgentRunStatus::Completed,
        AgentRunStatus::Running,
        AgentRunStatus::Error,
        AgentRunStatus::Shutdown,
    ]);
    prop_oneof![
        6 => (0u8..16, 0u8..3, status, 0u16..400, proptest::option::of(0u8..6), 0u8..6)
            .prop_map(|(agent, model, status, cost_cents, session, step)| Op::Persist {
                agent, model, status, cost_cents, session, step
            }),
        2 => (0u8..6).prop_map(Op::Session),
        1 => (0u8..6).prop_map(Op::EndSession),
        1 => Just(Op::Reset),
        1 => (0u8..16).prop_map(Op::DeleteRun),
        1 => (0u8..6).prop_map(Op::DeleteSession),
        2 => (0u8..16, proptest::option::of(0u8..3), 0u8..3)
            .prop_map(|(agent, completed, started)| Op::StampRun { agent, completed, started }),
        1 => (0u8..6, 0u8..3).prop_map(|(session, started)| Op::StampSession { session, started }),
    ]
}

fn stamp(k: u8) -> String {
    format!("2026-11-0{}T10:00:00Z", k + 1)
}

async fn apply(conn: &mut SqliteConnection, op: &Op) {
    match op {
        Op::Persist {
            agent,
            model,
            status,
            cost_cents,
            session,
            step,
        } => {
            // Cents plus a third: sums that round differently in another order.
            let run = NewAgentRun {
                agent_id: AgentId::from(format!("a{agent}")),
                skill_name: format!("s{}", agent % 3),
                step_id: i64::from(*step),
                model: ["sonnet", "opus", "haiku"][usize::from(*model)].to_owned(),
                status: status.clone(),
                input_tokens: i64::from(*cost_cents) * 7,
                output_tokens: 3,
                cache_read_tokens: 0,
                cache_write_tokens: 1,
                total_cost: f64::from(*cost_cents) / 100.0 + f64::from(*cost_cents % 7) / 3.0,
                duration_ms: 10,
                num_turns: 1,
                stop_reason: None,
                duration_api_ms: None,
                tool_use_count: 0,
                compaction_count: 0,
                session_id: None,
                workflow_session_id: session.map(|s| WorkflowSessionId::from(format!("ws{s}"))),
                workflow_run_id: None,
            };
            agent_runs::persist_agent_run(&mut *conn, &run)
                .await
                .expect("persist");
        }
        Op::Session(s) => {
            sessions::create_workflow_session(
                &mut *conn,
                &WorkflowSessionId::from(format!("ws{s}")),
                &format!("s{}", s % 3),
                1,
            )
            .await
            .expect("session");
        }
        Op::EndSession(s) => {
            sessions::end_workflow_session(&mut *conn, &WorkflowSessionId::from(format!("ws{s}")))
                .await
                .expect("end");
        }
        Op::Reset => usage::reset_usage(conn).await.expect("reset"),
        Op::DeleteRun(a) => {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = ?")
                .bind(format!("a{a}"))
                .execute(&mut *conn)
                .await
                .expect("delete run");
        }
        Op::DeleteSession(s) => {
            sqlx::query("DELETE FROM workflow_sessions WHERE session_id = ?")
                .bind(format!("ws{s}"))
                .execute(&mut *conn)
                .await
                .expect("delete session");
        }
        Op::StampRun {
            agent,
            completed,
            started,
        } => {
            sqlx::query(
                "UPDATE agent_runs SET completed_at = ?, started_at = ? WHERE agent_id = ?",
            )
            .bind(completed.map(stamp))
            .bind(stamp(*started))
            .bind(format!("a{agent}"))
            .execute(&mut *conn)
            .await
            .expect("stamp run");
        }
        Op::StampSession { session, started } => {
            sqlx::query("UPDATE workflow_sessions SET started_at = ? WHERE session_id = ?")
                .bind(stamp(*started))
                .bind(format!("ws{session}"))
                .execute(&mut *conn)
                .await
                .expect("stamp session");
        }
    }
}

/// Every report and list, as the screens read them.
async fn reports(conn: &mut SqliteConnection) -> String {
    let mut out = String::new();
    for hide in [false, true] {
        out += &format!(
            "{:?}\n{:?}\n{:?}\n",
            usage::get_usage_summary(&mut *conn, hide)
                .await
                .expect("summary"),
            usage::get_usage_by_model(&mut *conn, hide)
                .await
                .expect("model"),
            usage::get_usage_by_step(&mut *conn, hide)
                .await
                .expect("step"),
        );
        for limit in [2, 50] {
            let recent = usage::get_recent_workflow_sessions(&mut *conn, limit, hide)
                .await
                .expect("recent sessions");
            // Debug of f64 prints the shortest string that reads back to the same
            // bits: equal strings are equal values.
            out += &format!("{recent:?}\n");
        }
    }
    for limit in [1, 3, 50] {
        out += &format!(
            "{:?}\n",
            agent_runs::get_recent_runs(&mut *conn, limit)
                .await
                .expect("recent runs")
        );
    }
    out
}

async fn raw(t: &common::TestDb) -> SqliteConnection {
    let path = t.dir.path().join("skill-builder.db");
    <SqliteConnection as sqlx::Connection>::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("raw connection")
}

async fn plan(conn: &mut SqliteConnection, sql: &str) -> String {
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(&mut *conn)
            .await
            .expect("plan");
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
}

async fn check(ops: Vec<Op>) {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for op in &ops {
        apply(&mut conn, op).await;
    }
    let with = reports(&mut conn).await;
    drop(conn);
    // A second connection, without the pool's cached statements, planned afresh.
    let mut plain = raw(&t).await;
    let mut tx = sqlx::Connection::begin(&mut plain).await.expect("begin");
    sqlx::query("DROP INDEX agent_runs_recent")
        .execute(&mut *tx)
        .await
        .expect("drop");
    sqlx::query("DROP INDEX workflow_sessions_recent")
        .execute(&mut *tx)
        .await
        .expect("drop");
    let without = reports(&mut tx).await;
    // The recent runs straight from agent_runs, scanned and sorted.
    for limit in [1, 3, 50] {
        let listed: Vec<String> = agent_runs::get_recent_runs(&mut *tx, limit)
            .await
            .expect("recent runs")
            .into_iter()
            .map(|r| r.agent_id.as_str().to_owned())
            .collect();
        let plain: Vec<String> = sqlx::query_scalar(
            "SELECT agent_id FROM agent_runs WHERE reset_marker IS NULL
             ORDER BY completed_at IS NULL, completed_at DESC, started_at DESC, rowid
             LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .expect("plain recent runs");
        assert_eq!(listed, plain, "limit {limit}, ops: {ops:?}");
    }
    tx.rollback().await.expect("rollback");
    assert_eq!(with, without, "ops: {ops:?}");
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn reports_and_lists_are_the_same_with_and_without_the_list_indexes(
        ops in proptest::collection::vec(op(), 0..60)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(check(ops));
    }
}

#[tokio::test]
async fn the_lists_read_their_first_rows_from_the_indexes() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // get_recent_runs: the first entries of the partial index, no sort.
    let recent = cached_statements(&[r#"SELECT agent_id AS "agent_id: _""#])
        .into_iter()
        .filter(|q| q.contains("ORDER BY (completed_at IS NULL)"))
        .collect::<Vec<_>>();
    assert_eq!(recent.len(), 1);
    let runs = plan(&mut conn, &recent[0]).await;
    assert!(runs.contains("USING INDEX agent_runs_recent"), "{runs}");
    assert!(!runs.contains("TEMP B-TREE"), "{runs}");
    let sessions = plan(
        &mut conn,
        "SELECT session_id FROM workflow_sessions ws WHERE ws.reset_marker IS NULL
         ORDER BY ws.started_at DESC, ws.session_id LIMIT 50",
    )
    .await;
    assert!(
        sessions.contains("USING INDEX workflow_sessions_recent")
            || sessions.contains("USING COVERING INDEX workflow_sessions_recent"),
        "{sessions}"
    );
    assert!(!sessions.contains("TEMP B-TREE"), "{sessions}");
}

/// The cached statements (`.sqlx/`) whose text, whitespace folded, starts with one of
/// `prefixes`.
fn cached_statements(prefixes: &[&str]) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.sqlx");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect(".sqlx") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let q = json["query"].as_str().unwrap_or_default().to_owned();
        let flat = q.split_whitespace().collect::<Vec<_>>().join(" ");
        if prefixes.iter().any(|p| flat.starts_with(p)) {
            out.push(q);
        }
    }
    out
}

/// The cached statements of the usage reports: summary, by model, by step, recent
/// sessions.
fn report_statements() -> Vec<String> {
    cached_statements(&[
        r#"SELECT s.sessions AS "sessions!: i64""#,
        r#"SELECT CAST(model AS BLOB) AS "model!: Vec<u8>", SUM("#,
        r#"SELECT step_id AS "step_id!: i64", SUM("#,
        "WITH picked AS MATERIALIZED",
    ])
}

/// The reports read totals (a few rows), and the session list reads its sessions from
/// an index and their agent rows by session id: none of them scans the history
/// (`SCAN agent_runs`, `SCAN workflow_sessions` without an index) or sorts it.
#[tokio::test]
async fn the_usage_reports_read_totals_not_the_history() {
    let t = common::open_temp().await;
    let statements = report_statements();
    assert_eq!(
        statements.len(),
        4,
        "summary, by model, by step, recent sessions"
    );
    let mut conn = raw(&t).await;
    for q in &statements {
        let p = plan(&mut conn, q).await;
        println!("{p}");
        for line in p.split("; ") {
            let scans_history = (line.starts_with("SCAN ") && !line.contains("USING"))
                && (line.contains("agent_runs") || line.contains(" a") || line.contains(" ws"));
            assert!(!scans_history, "{line} in {p}\n{q}");
        }
        if q.contains("picked AS MATERIALIZED") {
            assert!(p.contains("workflow_sessions_recent"), "{p}");
            assert!(p.contains("(workflow_session_id=?"), "{p}");
            assert!(!p.contains("(workflow_session_id>?)"), "{p}");
            assert!(
                p.contains("SEARCH u USING PRIMARY KEY (session_id=?)"),
                "{p}"
            );
        } else if q.contains("FROM usage_summary") {
            // The unreadable rows through their partial index (normally empty).
            assert!(p.contains("INDEX agent_runs_unreadable"), "{p}");
        } else {
            assert!(!p.contains("agent_runs"), "{p}");
        }
    }
}
