#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The usage reports read totals kept by triggers (step 20261207140000, see the
//! rustdoc of `skill_builder_db::usage`). After every operation of a random sequence —
//! agent runs persisted and re-persisted with costs across ten orders of magnitude,
//! cancelled (zero-cost) and empty sessions, usage resets, deleted runs and sessions,
//! runs moved between sessions, NULL and unreadable costs written by another tool, the
//! existing app's `INSERT OR REPLACE` (which bypasses the DELETE trigger), another
//! tool's `INSERT … ON CONFLICT DO NOTHING` and `DO UPDATE` on a stored row and its
//! `INSERT OR REPLACE` of a session row, reopens —
//! every report, with `hide_cancelled` both ways, equals the plain aggregate query over
//! `agent_runs` and `workflow_sessions` written here (counts exactly, costs within
//! rounding; the session list exactly), and the stored totals agree with
//! `usage::totals_differences`. Also: a file at the fold steps upgrades with every number.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use skill_builder_app::{Database, OpenOptions, ReadConnection, WriteConnection};
use skill_builder_db::model::{
    AgentRunStatus, NewAgentRun, SessionUsage, UsageByModel, UsageByStep, UsageSummary,
    WorkflowSessionId, step_name,
};
use skill_builder_db::{agent_runs, sessions, usage};
use sqlx::{Row, SqliteConnection};

const DEFAULT_CASES: u32 = 16;
const MODELS: [&str; 3] = ["sonnet", "opus", "haiku"];
const SESSIONS: usize = 5;
const AGENTS: usize = 8;
const DEAD_PID: i64 = 4_000_000_000;

fn session(i: usize) -> WorkflowSessionId {
    WorkflowSessionId::from(format!("ws-{i}").as_str())
}

#[derive(Debug, Clone)]
enum Cost {
    Cents(u32),
    Any(f64),
    Tiny(u32),
    Zero,
}

impl Cost {
    fn value(&self) -> f64 {
        match self {
            Self::Cents(c) => f64::from(*c) / 100.0,
            Self::Any(x) => *x,
            Self::Tiny(n) => f64::from(*n) * 1e-7,
            Self::Zero => 0.0,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Session(usize),
    EndSession(usize),
    Persist {
        agent: usize,
        model: usize,
        session: Option<usize>,
        step: i64,
        cost: Cost,
        status: usize,
    },
    Reset,
    DeleteRun(usize),
    DeleteSession(usize),
    MoveRun(usize, Option<usize>),
    NullCost(usize),
    TextCost(usize),
    FixCost(usize),
    Reconcile,
    /// The existing app's agent-run write: `INSERT OR REPLACE` (no DELETE trigger
    /// for the row it replaces).
    /// With `PRAGMA recursive_triggers = ON` when `true` (the REPLACE then runs the
    /// DELETE triggers of the row it deletes).
    Replace(usize, bool),
    /// Another tool's write that keeps an existing row: `INSERT OR IGNORE` (the
    /// BEFORE INSERT trigger runs, the row stays).
    Ignore(usize),
    /// Another tool's upsert: `INSERT … ON CONFLICT DO UPDATE` (the BEFORE INSERT
    /// trigger runs, then the row is updated instead).
    Upsert(usize),
    /// Another tool's `INSERT OR REPLACE` of a session row (the stored row of that id
    /// is deleted without its DELETE trigger); with a reset marker when the first
    /// flag is set, with `PRAGMA recursive_triggers = ON` when the second is.
    ReplaceSession(usize, bool, bool),
    Reopen,
}

fn cost() -> impl Strategy<Value = Cost> {
    prop_oneof![
        3 => (0..500u32).prop_map(Cost::Cents),
        3 => (0.0..7.0f64).prop_map(Cost::Any),
        1 => (1..2000u32).prop_map(Cost::Tiny),
        1 => Just(Cost::Zero),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..SESSIONS).prop_map(Op::Session),
        1 => (0..SESSIONS).prop_map(Op::EndSession),
        8 => (0..AGENTS, 0..MODELS.len(), prop::option::weighted(0.85, 0..SESSIONS), 0..6i64,
              cost(), 0..4usize)
            .prop_map(|(agent, model, session, step, cost, status)| Op::Persist {
                agent, model, session, step, cost, status
            }),
        1 => Just(Op::Reset),
        1 => (0..AGENTS).prop_map(Op::DeleteRun),
        1 => (0..SESSIONS).prop_map(Op::DeleteSession),
        1 => (0..AGENTS, prop::option::of(0..SESSIONS)).prop_map(|(a, s)| Op::MoveRun(a, s)),
        1 => (0..AGENTS).prop_map(Op::NullCost),
        1 => (0..AGENTS).prop_map(Op::TextCost),
        1 => (0..AGENTS).prop_map(Op::FixCost),
        1 => Just(Op::Reconcile),
        2 => (0..AGENTS, prop::bool::weighted(0.3)).prop_map(|(a, r)| Op::Replace(a, r)),
        1 => (0..AGENTS).prop_map(Op::Ignore),
        1 => (0..AGENTS).prop_map(Op::Upsert),
        1 => (0..SESSIONS, prop::bool::weighted(0.3), prop::bool::weighted(0.3))
            .prop_map(|(s, reset, recursive)| Op::ReplaceSession(s, reset, recursive)),
        1 => Just(Op::Reopen),
    ]
}

const STATUSES: [AgentRunStatus; 4] = [
    AgentRunStatus::Running,
    AgentRunStatus::Completed,
    AgentRunStatus::Error,
    AgentRunStatus::Shutdown,
];

fn run(agent: usize, model: usize, session: Option<usize>, step: i64, cost: f64) -> NewAgentRun {
    NewAgentRun {
        agent_id: format!("agent-{agent}").as_str().into(),
        skill_name: "alpha".into(),
        step_id: step,
        model: MODELS[model].into(),
        status: AgentRunStatus::Completed,
        input_tokens: 100 + step,
        output_tokens: 10,
        cache_read_tokens: 3,
        cache_write_tokens: 1,
        total_cost: cost,
        duration_ms: 1000,
        num_turns: 1,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: session.map(self::session),
        workflow_run_id: None,
    }
}

struct Db {
    db: Option<Database>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn open() -> Self {
        Self::open_at(None).await
    }

    /// A new file, opened at `target` (`None`: the latest version).
    async fn open_at(target: Option<i64>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = Self {
            db: None,
            path: dir.path().join("skill-builder.db"),
            _dir: dir,
        };
        db.reopen_at(target).await;
        db
    }

    /// The writer, held until dropped (drop it before [`Db::reopen`]).
    async fn conn(&self) -> WriteConnection {
        self.db
            .as_ref()
            .expect("open")
            .write()
            .await
            .expect("take the writer")
    }

    /// A connection of the read-only pool, as the screens read.
    async fn reader(&self) -> ReadConnection {
        self.db
            .as_ref()
            .expect("open")
            .read()
            .await
            .expect("take a reader")
    }

    async fn reopen(&mut self) {
        self.reopen_at(None).await;
    }

    /// Close, then open the same file at `target` (`None`: the latest version, which
    /// upgrades a file opened at an earlier one).
    async fn reopen_at(&mut self, target: Option<i64>) {
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        let options = match target {
            Some(v) => OpenOptions::new().target(v),
            None => OpenOptions::new(),
        };
        let db = Database::open_with(&self.path, &options)
            .await
            .expect("open");
        assert_eq!(
            db.migration_report().to_version,
            target.unwrap_or(skill_builder_migrations::LATEST_VERSION)
        );
        self.db = Some(db);
    }
}

/// The workflow sessions `ws-0` … `ws-4`, live.
async fn create_sessions(conn: &mut SqliteConnection) {
    for s in 0..SESSIONS {
        sessions::create_workflow_session(conn, &session(s), "alpha", DEAD_PID - 1)
            .await
            .expect("session");
    }
}

async fn apply(db: &mut Db, op: &Op) -> TestCaseResult {
    let fail = |e: &dyn std::fmt::Display| TestCaseError::fail(format!("{op:?}: {e}"));
    if matches!(op, Op::Reopen) {
        db.reopen().await;
        return Ok(());
    }
    let mut writer = db.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    let agent_id = |a: &usize| format!("agent-{a}");
    match op {
        Op::Session(s) => {
            sessions::create_workflow_session(conn, &session(*s), "alpha", DEAD_PID - 1)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::EndSession(s) => {
            sessions::end_workflow_session(conn, &session(*s))
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Persist {
            agent,
            model,
            session,
            step,
            cost,
            status,
        } => {
            let mut r = run(*agent, *model, *session, *step, cost.value());
            r.status = STATUSES[*status].clone();
            agent_runs::persist_agent_run(conn, &r)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Reset => {
            usage::reset_usage(conn).await.map_err(|e| fail(&e))?;
        }
        Op::DeleteRun(a) => {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::DeleteSession(s) => {
            sqlx::query("DELETE FROM workflow_sessions WHERE session_id = ?")
                .bind(session(*s).as_str())
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::MoveRun(a, s) => {
            sqlx::query("UPDATE agent_runs SET workflow_session_id = ? WHERE agent_id = ?")
                .bind(s.map(|s| session(s).as_str().to_owned()))
                .bind(agent_id(a))
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::NullCost(a) => {
            sqlx::query("UPDATE agent_runs SET total_cost = NULL WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::TextCost(a) => {
            // Another tool's edit: a cost the typed API cannot read.
            sqlx::query("UPDATE agent_runs SET total_cost = 'three' WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::FixCost(a) => {
            sqlx::query("UPDATE agent_runs SET total_cost = 0.125 WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Reconcile => {
            sessions::reconcile_orphaned_sessions(conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Replace(a, recursive) => {
            let replace = sqlx::query(
                "INSERT OR REPLACE INTO agent_runs
                     (agent_id, skill_name, step_id, model, status, total_cost,
                      workflow_session_id)
                 VALUES (?, 'alpha', 2, 'sonnet', 'completed', 0.5, 'ws-0')",
            )
            .bind(agent_id(a));
            with_recursive_triggers(conn, *recursive, replace)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Ignore(a) | Op::Upsert(a) => {
            let resolution = if matches!(op, Op::Ignore(_)) {
                "DO NOTHING"
            } else {
                "DO UPDATE SET total_cost = excluded.total_cost,
                               workflow_session_id = excluded.workflow_session_id"
            };
            // The same row key as `Replace` (agent, 'sonnet').
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO agent_runs
                     (agent_id, skill_name, step_id, model, status, total_cost,
                      workflow_session_id)
                 VALUES (?, 'alpha', 3, 'sonnet', 'completed', 0.75, 'ws-1')
                 ON CONFLICT (agent_id, model) {resolution}"
            )))
            .bind(agent_id(a))
            .execute(&mut *conn)
            .await
            .map_err(|e| fail(&e))?;
        }
        Op::ReplaceSession(s, reset, recursive) => {
            let replace = sqlx::query(
                "INSERT OR REPLACE INTO workflow_sessions
                     (session_id, skill_name, pid, started_at, reset_marker)
                 VALUES (?, 'alpha', 1, '2026-01-02T00:00:00Z',
                         CASE WHEN ? THEN '2026-01-03T00:00:00Z' END)",
            )
            .bind(session(*s).as_str())
            .bind(*reset);
            with_recursive_triggers(conn, *recursive, replace)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Reopen => unreachable!("reopened above"),
    }
    Ok(())
}

/// Run `write` with `PRAGMA recursive_triggers` set to `on` (on, a REPLACE runs the
/// DELETE triggers of the row it deletes), then set it back to SQLite's default, off,
/// whether or not `write` succeeded (an error of either pragma is returned before
/// `write`'s).
async fn with_recursive_triggers(
    conn: &mut SqliteConnection,
    on: bool,
    write: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
) -> sqlx::Result<()> {
    let pragma = if on {
        "PRAGMA recursive_triggers = ON"
    } else {
        "PRAGMA recursive_triggers = OFF"
    };
    sqlx::query(pragma).execute(&mut *conn).await?;
    let written = write.execute(&mut *conn).await;
    sqlx::query("PRAGMA recursive_triggers = OFF")
        .execute(&mut *conn)
        .await?;
    written.map(drop)
}

/// The plain aggregate queries: the reports' definitions, straight over the rows
/// (unreadable agent rows left out, as the reports document).
const READABLE: &str = "a.reset_marker IS NULL AND a.workflow_session_id IS NOT NULL
    AND typeof(a.step_id) = 'integer' AND typeof(a.model) = 'text'
    AND typeof(a.workflow_session_id) = 'text'
    AND (a.total_cost IS NULL
         OR (typeof(a.total_cost) IN ('real', 'integer') AND abs(a.total_cost) <= 9007199254740992.0))";

async fn plain_summary(conn: &mut SqliteConnection, hide: bool) -> UsageSummary {
    let sql = format!(
        "WITH per_session AS (
             SELECT a.workflow_session_id AS sid, SUM(a.total_cost) AS cost, COUNT(*) AS n
             FROM agent_runs a WHERE {READABLE} GROUP BY a.workflow_session_id),
         counted AS (
             SELECT COALESCE(p.cost, 0.0) AS cost
             FROM workflow_sessions ws LEFT JOIN per_session p ON p.sid = ws.session_id
             WHERE ws.reset_marker IS NULL
               AND (NOT ?1 OR COALESCE(p.cost, 0.0) > 0 OR p.n IS NULL))
         SELECT COALESCE(SUM(cost), 0.0), COUNT(*) FROM counted"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hide)
        .fetch_one(conn)
        .await
        .expect("plain summary");
    UsageSummary::new(row.get(0), row.get(1))
}

async fn plain_groups(
    conn: &mut SqliteConnection,
    key: &str,
    hide: bool,
) -> Vec<(String, f64, i64)> {
    let sql = format!(
        "SELECT CAST(a.{key} AS TEXT), COALESCE(SUM(a.total_cost), 0.0), COUNT(*)
         FROM agent_runs a WHERE {READABLE} AND (NOT ?1 OR a.total_cost > 0)
         GROUP BY a.{key} ORDER BY COALESCE(SUM(a.total_cost), 0.0) DESC, a.{key}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hide)
        .fetch_all(&mut *conn)
        .await
        .expect("plain groups")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn plain_sessions(conn: &mut SqliteConnection, hide: bool) -> Vec<SessionUsage> {
    let sql = format!(
        "WITH per_session AS (
             SELECT a.workflow_session_id AS sid, MIN(a.step_id) AS min_step,
                    MAX(a.step_id) AS max_step,
                    GROUP_CONCAT(DISTINCT a.step_id ORDER BY a.step_id) AS steps,
                    COUNT(DISTINCT a.agent_id) AS agents, SUM(a.total_cost) AS cost,
                    CAST(TOTAL(a.input_tokens) AS INTEGER) AS input,
                    CAST(TOTAL(a.output_tokens) AS INTEGER) AS output,
                    CAST(TOTAL(a.cache_read_tokens) AS INTEGER) AS cache_read,
                    CAST(TOTAL(a.cache_write_tokens) AS INTEGER) AS cache_write,
                    CAST(TOTAL(a.duration_ms) AS INTEGER) AS duration, COUNT(*) AS n
             FROM agent_runs a WHERE {READABLE} GROUP BY a.workflow_session_id)
         SELECT ws.session_id, ws.skill_name, COALESCE(p.min_step, 0),
                COALESCE(p.max_step, 0), COALESCE(p.steps, ''), COALESCE(p.agents, 0),
                COALESCE(p.cost, 0.0), COALESCE(p.input, 0), COALESCE(p.output, 0),
                COALESCE(p.cache_read, 0), COALESCE(p.cache_write, 0),
                COALESCE(p.duration, 0), ws.started_at, ws.ended_at
         FROM workflow_sessions ws LEFT JOIN per_session p ON p.sid = ws.session_id
         WHERE ws.reset_marker IS NULL
           AND (NOT ?1 OR COALESCE(p.cost, 0.0) > 0 OR p.n IS NULL)
         ORDER BY ws.started_at DESC, ws.session_id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hide)
        .fetch_all(&mut *conn)
        .await
        .expect("plain sessions")
        .into_iter()
        .map(|r| SessionUsage {
            session_id: WorkflowSessionId::from(r.get::<String, _>(0).as_str()),
            skill_name: r.get(1),
            min_step: r.get(2),
            max_step: r.get(3),
            steps_csv: r.get(4),
            agent_count: r.get(5),
            total_cost: r.get(6),
            total_input_tokens: r.get(7),
            total_output_tokens: r.get(8),
            total_cache_read: r.get(9),
            total_cache_write: r.get(10),
            total_duration_ms: r.get(11),
            started_at: r.get(12),
            completed_at: r.get(13),
        })
        .collect()
}

fn check(same: bool, what: impl FnOnce() -> String) -> TestCaseResult {
    if same {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// Costs agree: the totals are running sums, the plain queries `SUM()`s.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Same groups (key, count) and costs within rounding, the report ordered by cost.
fn same_groups(report: &[(String, f64, i64)], plain: &[(String, f64, i64)]) -> bool {
    let ordered = report.windows(2).all(|w| w[0].1 >= w[1].1 - 1e-9);
    let mut r = report.to_vec();
    let mut p = plain.to_vec();
    r.sort_by(|a, b| a.0.cmp(&b.0));
    p.sort_by(|a, b| a.0.cmp(&b.0));
    ordered
        && r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(a, b)| a.0 == b.0 && a.2 == b.2 && close(a.1, b.1))
}

async fn reports_equal_plain(db: &Db, after: &Op) -> TestCaseResult {
    let mut writer = db.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    let mut reader = db.reader().await;
    for hide in [false, true] {
        let summary = usage::get_usage_summary(&mut reader, hide)
            .await
            .expect("summary");
        let plain = plain_summary(conn, hide).await;
        check(
            summary.total_runs == plain.total_runs
                && close(summary.total_cost, plain.total_cost)
                && close(summary.avg_cost_per_run, plain.avg_cost_per_run),
            || format!("after {after:?}, hide {hide}: summary {summary:?} != plain {plain:?}"),
        )?;
        let by_model: Vec<(String, f64, i64)> = usage::get_usage_by_model(&mut reader, hide)
            .await
            .expect("by model")
            .into_iter()
            .map(
                |UsageByModel {
                     model,
                     total_cost,
                     run_count,
                 }| (model, total_cost, run_count),
            )
            .collect();
        let plain = plain_groups(conn, "model", hide).await;
        check(same_groups(&by_model, &plain), || {
            format!("after {after:?}, hide {hide}: by model {by_model:?} != plain {plain:?}")
        })?;
        let by_step: Vec<(String, f64, i64)> = usage::get_usage_by_step(&mut reader, hide)
            .await
            .expect("by step")
            .into_iter()
            .map(
                |UsageByStep {
                     step_id,
                     step_name: name,
                     total_cost,
                     run_count,
                 }| {
                    assert_eq!(name, step_name(step_id));
                    (step_id.to_string(), total_cost, run_count)
                },
            )
            .collect();
        let plain = plain_groups(conn, "step_id", hide).await;
        check(same_groups(&by_step, &plain), || {
            format!("after {after:?}, hide {hide}: by step {by_step:?} != plain {plain:?}")
        })?;
        // The session list sums each session's rows itself: exactly the plain query.
        let listed = usage::get_recent_workflow_sessions(&mut reader, 1000, hide)
            .await
            .expect("sessions");
        let plain = plain_sessions(conn, hide).await;
        check(listed == plain, || {
            format!("after {after:?}, hide {hide}: sessions {listed:?} != plain {plain:?}")
        })?;
        let two = usage::get_recent_workflow_sessions(&mut reader, 2, hide)
            .await
            .expect("two sessions");
        check(two.as_slice() == &plain[..plain.len().min(2)], || {
            format!("after {after:?}: limit 2 gave {two:?}")
        })?;
    }
    let differences = usage::totals_differences(conn).await.expect("differences");
    check(differences.is_empty(), || {
        format!("after {after:?}: stored totals differ: {differences:?}")
    })
}

#[test]
fn every_report_equals_the_plain_aggregates_after_every_operation() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runner.run(&prop::collection::vec(op(), 1..60), |ops| {
        rt.block_on(async {
            let mut db = Db::open().await;
            for op in &ops {
                apply(&mut db, op).await?;
                reports_equal_plain(&db, op).await?;
            }
            if let Some(d) = db.db.take() {
                d.close().await;
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A long history with wide-ranging costs (runs persisted, re-persisted with other
/// costs, deleted): the totals still agree with SQLite's own `SUM()`s.
#[tokio::test]
async fn the_totals_agree_over_a_long_history() {
    let mut db = Db::open().await;
    let mut writer = db.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    create_sessions(conn).await;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..2000u64 {
        let r = next();
        #[allow(clippy::cast_precision_loss)]
        let cost = match r % 4 {
            0 => (r >> 20) as f64 / (1u64 << 44) as f64,
            1 => ((r >> 40) % 100_000) as f64 / 100.0,
            2 => ((r >> 30) % 1000) as f64 * 1e-9,
            _ => ((r >> 12) % 1_000_000) as f64 / 3.0,
        };
        let agent = usize::try_from(r % 700).expect("small");
        let session = Some(usize::try_from((r >> 8) % 5).expect("small"));
        let step = i64::try_from((r >> 16) % 6).expect("small");
        let model = usize::try_from((r >> 24) % 3).expect("small");
        agent_runs::persist_agent_run(conn, &run(agent, model, session, step, cost))
            .await
            .expect("persist");
        if i % 97 == 0 {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = ?")
                .bind(format!("agent-{}", next() % 700))
                .execute(&mut *conn)
                .await
                .expect("delete");
        }
    }
    drop(writer);
    reports_equal_plain(&db, &Op::Reset).await.expect("equal");
    db.reopen().await;
    reports_equal_plain(&db, &Op::Reset)
        .await
        .expect("equal after reopen");
}

/// A file at the fold steps (totals kept by triggers for the older runs, the fold
/// boundary, recent-runs entries, a tail of runs never folded, a reset, a deleted run
/// and an existing-app `INSERT OR REPLACE`) upgrades to step 20261207140000 with every
/// number: the reports equal the plain aggregates.
#[tokio::test]
async fn a_file_at_the_fold_steps_upgrades_and_keeps_every_number() {
    const FIRST: i64 = 20_261_130_130_000;
    let mut db = Db::open_at(Some(FIRST)).await;
    let mut cost = 0.0;
    for (target, agents) in [(FIRST, 0..30), (20_261_130_150_000, 20..60)] {
        if target != FIRST {
            db.reopen_at(Some(target)).await;
        }
        let mut writer = db.conn().await;
        let conn: &mut SqliteConnection = &mut writer;
        create_sessions(conn).await;
        for a in agents {
            cost += 0.37;
            let r = run(
                a,
                a % 3,
                Some(a % SESSIONS),
                i64::try_from(a % 6).expect("small"),
                cost % 2.0,
            );
            agent_runs::persist_agent_run(conn, &r)
                .await
                .expect("persist");
        }
        if target == FIRST {
            usage::reset_usage(conn).await.expect("reset");
        } else {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = 'agent-25'")
                .execute(&mut *conn)
                .await
                .expect("delete");
            sqlx::query(
                "INSERT OR REPLACE INTO agent_runs
                     (agent_id, skill_name, step_id, model, status, total_cost,
                      workflow_session_id)
                 VALUES ('agent-21', 'alpha', 2, 'opus', 'completed', 0.5, 'ws-4')",
            )
            .execute(&mut *conn)
            .await
            .expect("replace");
        }
        drop(writer);
    }
    db.reopen().await;
    reports_equal_plain(&db, &Op::Reopen)
        .await
        .expect("equal after the upgrade");
    // The sessions were reset with the first runs: the later runs count by model only:
    // agents 30..59, and agent-21 rewritten by the existing app's REPLACE (which drops
    // its reset marker); 20..29 persisted again keep theirs.
    let summary = usage::get_usage_summary(&mut db.reader().await, false)
        .await
        .expect("summary");
    assert_eq!(summary.total_runs, 0);
    let by_model = usage::get_usage_by_model(&mut db.reader().await, false)
        .await
        .expect("by model");
    assert_eq!(
        by_model.iter().map(|m| m.run_count).sum::<i64>(),
        31,
        "{by_model:?}"
    );
}

/// A file at step 20261207140000 whose totals another tool's writes left short
/// (`INSERT OR IGNORE` of a stored agent run, `INSERT OR REPLACE` of a stored session)
/// and whose summary row was deleted: the upgrade computes the totals again from the
/// rows.
#[tokio::test]
async fn an_upgrade_recomputes_totals_the_old_triggers_left_short() {
    let mut db = Db::open_at(Some(usage::STEP)).await;
    let mut writer = db.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    create_sessions(conn).await;
    for a in 0..AGENTS {
        let r = run(a, a % 3, Some(a % SESSIONS), 1, 0.25);
        agent_runs::persist_agent_run(conn, &r)
            .await
            .expect("persist");
    }
    for sql in [
        "INSERT OR IGNORE INTO agent_runs (agent_id, skill_name, step_id, model, status)
         SELECT agent_id, skill_name, step_id, model, status FROM agent_runs",
        "INSERT OR REPLACE INTO workflow_sessions (session_id, skill_name, pid)
         VALUES ('ws-1', 'alpha', 1)",
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .expect("a tool's write");
    }
    let short = usage::totals_differences(conn).await.expect("differences");
    assert!(!short.is_empty(), "the old triggers kept them right?");
    sqlx::query("DELETE FROM usage_summary")
        .execute(&mut *conn)
        .await
        .expect("delete the summary row");
    drop(writer);
    db.reopen().await;
    assert!(
        usage::totals_differences(&mut db.conn().await)
            .await
            .expect("differences")
            .is_empty()
    );
    reports_equal_plain(&db, &Op::Reopen)
        .await
        .expect("equal after the upgrade");
    let summary = usage::get_usage_summary(&mut db.reader().await, false)
        .await
        .expect("summary");
    assert_eq!(summary.total_runs, i64::try_from(SESSIONS).expect("small"));
    assert!(
        (summary.total_cost - 0.25 * f64::from(u8::try_from(AGENTS).expect("small"))).abs() < 1e-9
    );
}

/// Another tool deleted the summary row: the reports refuse with a typed error and
/// `check` says what is wrong.
#[tokio::test]
async fn a_missing_summary_row_is_refused_and_reported_by_check() {
    let db = Db::open().await;
    sqlx::query("DELETE FROM usage_summary")
        .execute(&mut *db.conn().await)
        .await
        .expect("delete");
    let err = usage::get_usage_summary(&mut db.reader().await, false)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, skill_builder_db::Error::UsageTotalsMissing),
        "{err:?}"
    );
    let report = skill_builder_app::check(&db.path).await.expect("check");
    assert_eq!(report.usage_totals, ["the row of usage_summary is missing"]);
}

/// Another tool edited the derived tables by hand: `check` names the summary, the
/// group and the session whose stored totals no longer equal the plain aggregates.
#[tokio::test]
async fn hand_edited_totals_are_reported_by_check() {
    let db = Db::open().await;
    {
        let mut writer = db.conn().await;
        let conn: &mut SqliteConnection = &mut writer;
        sessions::create_workflow_session(conn, &session(0), "alpha", DEAD_PID - 1)
            .await
            .expect("session");
        agent_runs::persist_agent_run(conn, &run(0, 0, Some(0), 2, 0.5))
            .await
            .expect("run");
        let report = skill_builder_app::check(&db.path).await.expect("check");
        assert!(report.usage_totals.is_empty(), "{:?}", report.usage_totals);
        for edit in [
            "UPDATE usage_summary SET sessions = sessions + 1",
            "UPDATE usage_groups SET runs = runs + 2",
            "UPDATE usage_sessions SET cost = cost + 1.0",
        ] {
            sqlx::raw_sql(edit).execute(&mut *conn).await.expect("edit");
        }
    }
    let report = skill_builder_app::check(&db.path).await.expect("check");
    let lines = &report.usage_totals;
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("summary: stored"), "{lines:?}");
    assert!(
        lines[1].starts_with("model 'sonnet', step 2: stored 3 runs"),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("session "), "{lines:?}");
}
