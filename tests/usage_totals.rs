#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Issue 12: the usage reports read totals kept by triggers (step 20261130130000).
//! After every operation of a random sequence — agent runs persisted and re-persisted
//! with costs across ten orders of magnitude, cancelled (zero-cost) and empty
//! sessions, usage resets, deleted runs and sessions, runs moved between sessions,
//! NULL and unreadable costs written by another tool, an `INSERT OR REPLACE` that
//! bypasses the DELETE trigger followed by a reopen — every report, with
//! `hide_cancelled` both ways, equals **exactly** (f64 `==`) the plain aggregate query
//! over `agent_runs` and `workflow_sessions` written here, and the stored totals equal
//! `usage_totals::recompute`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use skill_builder_app::Database;
use skill_builder_db::model::{
    AgentRunStatus, NewAgentRun, SessionUsage, UsageByModel, UsageByStep, UsageSummary,
    WorkflowSessionId, step_name,
};
use skill_builder_db::{agent_runs, sessions, usage, usage_totals};
use sqlx::{Row, SqlitePool};

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
    ReplaceAndReopen(usize),
    /// Fold the tail into the stored totals (the writer does it when idle).
    Fold,
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
        1 => (0..AGENTS).prop_map(Op::ReplaceAndReopen),
        3 => Just(Op::Fold),
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
        Self::open_with(&skill_builder_app::OpenOptions::default()).await
    }

    async fn open_with(options: &skill_builder_app::OpenOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("skill-builder.db");
        let db = Database::open_with(&path, options).await.expect("open");
        Self {
            db: Some(db),
            path,
            _dir: dir,
        }
    }

    fn pool(&self) -> &SqlitePool {
        self.db.as_ref().expect("open").pool()
    }

    async fn reopen(&mut self) {
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        self.db = Some(Database::open(&self.path).await.expect("reopen"));
    }
}

async fn apply(db: &mut Db, op: &Op) -> TestCaseResult {
    let fail = |e: &dyn std::fmt::Display| TestCaseError::fail(format!("{op:?}: {e}"));
    let pool = db.pool().clone();
    let agent_id = |a: &usize| format!("agent-{a}");
    match op {
        Op::Session(s) => {
            sessions::create_workflow_session(&pool, &session(*s), "alpha", DEAD_PID - 1)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::EndSession(s) => {
            sessions::end_workflow_session(&pool, &session(*s))
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
            agent_runs::persist_agent_run(&pool, &r)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Reset => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            usage::reset_usage(&mut conn).await.map_err(|e| fail(&e))?;
        }
        Op::DeleteRun(a) => {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::DeleteSession(s) => {
            sqlx::query("DELETE FROM workflow_sessions WHERE session_id = ?")
                .bind(session(*s).as_str())
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::MoveRun(a, s) => {
            sqlx::query("UPDATE agent_runs SET workflow_session_id = ? WHERE agent_id = ?")
                .bind(s.map(|s| session(s).as_str().to_owned()))
                .bind(agent_id(a))
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::NullCost(a) => {
            sqlx::query("UPDATE agent_runs SET total_cost = NULL WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::TextCost(a) => {
            // Another tool's edit: a cost the typed API cannot read.
            sqlx::query("UPDATE agent_runs SET total_cost = 'three' WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::FixCost(a) => {
            sqlx::query("UPDATE agent_runs SET total_cost = 0.125 WHERE agent_id = ?")
                .bind(agent_id(a))
                .execute(&pool)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::Reconcile => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            sessions::reconcile_orphaned_sessions(&mut conn)
                .await
                .map_err(|e| fail(&e))?;
        }
        Op::ReplaceAndReopen(a) => {
            // INSERT OR REPLACE without recursive triggers: the replaced row leaves
            // without its DELETE trigger, so the totals are wrong until the reopen
            // rebuilds them.
            sqlx::query(
                "INSERT OR REPLACE INTO agent_runs
                     (agent_id, skill_name, step_id, model, status, total_cost,
                      workflow_session_id)
                 VALUES (?, 'alpha', 2, 'sonnet', 'completed', 0.5, 'ws-0')",
            )
            .bind(agent_id(a))
            .execute(&pool)
            .await
            .map_err(|e| fail(&e))?;
            db.reopen().await;
        }
        Op::Fold => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            usage_totals::fold(&mut conn).await.map_err(|e| fail(&e))?;
        }
    }
    Ok(())
}

/// The plain aggregate queries: the reports' definitions, straight over the rows
/// (unreadable agent rows left out, as the reports document).
const READABLE: &str = "a.reset_marker IS NULL AND a.workflow_session_id IS NOT NULL
    AND typeof(a.step_id) = 'integer' AND typeof(a.model) = 'text'
    AND typeof(a.workflow_session_id) = 'text'
    AND (a.total_cost IS NULL
         OR (typeof(a.total_cost) IN ('real', 'integer') AND abs(a.total_cost) <= 9007199254740992.0))";

async fn plain_summary(pool: &SqlitePool, hide: bool) -> UsageSummary {
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
        .fetch_one(pool)
        .await
        .expect("plain summary");
    UsageSummary::new(row.get(0), row.get(1))
}

async fn plain_groups(pool: &SqlitePool, key: &str, hide: bool) -> Vec<(String, f64, i64)> {
    let sql = format!(
        "SELECT CAST(a.{key} AS TEXT), COALESCE(SUM(a.total_cost), 0.0), COUNT(*)
         FROM agent_runs a WHERE {READABLE} AND (NOT ?1 OR a.total_cost > 0)
         GROUP BY a.{key} ORDER BY COALESCE(SUM(a.total_cost), 0.0) DESC, a.{key}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hide)
        .fetch_all(pool)
        .await
        .expect("plain groups")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn plain_sessions(pool: &SqlitePool, hide: bool) -> Vec<SessionUsage> {
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
        .fetch_all(pool)
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

async fn reports_equal_plain(db: &Db, after: &Op) -> TestCaseResult {
    let pool = db.pool();
    let reader = db.db.as_ref().expect("open").reader();
    for hide in [false, true] {
        let summary = usage::get_usage_summary(reader, hide)
            .await
            .expect("summary");
        let plain = plain_summary(pool, hide).await;
        check(summary == plain, || {
            format!("after {after:?}, hide {hide}: summary {summary:?} != plain {plain:?}")
        })?;
        let by_model: Vec<(String, f64, i64)> = usage::get_usage_by_model(reader, hide)
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
        let plain = plain_groups(pool, "model", hide).await;
        check(by_model == plain, || {
            format!("after {after:?}, hide {hide}: by model {by_model:?} != plain {plain:?}")
        })?;
        let by_step: Vec<(String, f64, i64)> = usage::get_usage_by_step(reader, hide)
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
        let plain = plain_groups(pool, "step_id", hide).await;
        check(by_step == plain, || {
            format!("after {after:?}, hide {hide}: by step {by_step:?} != plain {plain:?}")
        })?;
        let listed = usage::get_recent_workflow_sessions(reader, 1000, hide)
            .await
            .expect("sessions");
        let plain = plain_sessions(pool, hide).await;
        check(listed == plain, || {
            format!("after {after:?}, hide {hide}: sessions {listed:?} != plain {plain:?}")
        })?;
        let two = usage::get_recent_workflow_sessions(reader, 2, hide)
            .await
            .expect("two sessions");
        check(two.as_slice() == &plain[..plain.len().min(2)], || {
            format!("after {after:?}: limit 2 gave {two:?}")
        })?;
    }
    let mut conn = pool.acquire().await.expect("conn");
    let stored = usage_totals::stored(&mut conn).await.expect("stored");
    let plain = usage_totals::recompute(&mut conn).await.expect("recompute");
    check(stored == plain, || {
        format!("after {after:?}: stored totals {stored:?} != recomputed {plain:?}")
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

/// A long history with wide-ranging costs, summed in an order unlike the rows' (runs
/// persisted, re-persisted with other costs, moved, deleted): the totals still equal
/// SQLite's own SUM() over the rows, bit for bit.
#[tokio::test]
async fn sums_stay_bit_identical_over_a_long_history() {
    let mut db = Db::open().await;
    let pool = db.pool().clone();
    for s in 0..SESSIONS {
        sessions::create_workflow_session(&pool, &session(s), "alpha", DEAD_PID - 1)
            .await
            .expect("session");
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..3000u64 {
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
        agent_runs::persist_agent_run(&pool, &run(agent, model, session, step, cost))
            .await
            .expect("persist");
        if i % 97 == 0 {
            sqlx::query("DELETE FROM agent_runs WHERE agent_id = ?")
                .bind(format!("agent-{}", next() % 700))
                .execute(&pool)
                .await
                .expect("delete");
        }
    }
    reports_equal_plain(&db, &Op::Reset).await.expect("equal");
    db.reopen().await;
    reports_equal_plain(&db, &Op::Reset)
        .await
        .expect("equal after reopen");
}

/// A change that bypassed the triggers (another tool's `INSERT OR REPLACE`): the
/// totals differ from the rows, `check` says so, and the next open rebuilds them.
#[tokio::test]
async fn a_replace_that_bypassed_the_triggers_is_found_by_check_and_rebuilt_at_open() {
    let mut db = Db::open().await;
    let pool = db.pool().clone();
    sessions::create_workflow_session(&pool, &session(0), "alpha", DEAD_PID - 1)
        .await
        .expect("session");
    agent_runs::persist_agent_run(&pool, &run(1, 0, Some(0), 1, 0.25))
        .await
        .expect("persist");
    // Folded into the stored totals first: a bypassing REPLACE of a row of the tail
    // (not in the stored totals yet) would change nothing they hold.
    assert_eq!(fold_now(&pool).await, 1);
    sqlx::query(
        "INSERT OR REPLACE INTO agent_runs (agent_id, skill_name, step_id, model, status,
                                            total_cost, workflow_session_id)
         VALUES ('agent-1', 'alpha', 1, 'sonnet', 'completed', 0.5, 'ws-0')",
    )
    .execute(&pool)
    .await
    .expect("replace");
    let stale = usage::get_usage_summary(&pool, false)
        .await
        .expect("summary");
    println!("after the bypassing replace: {stale:?}");
    assert_eq!(stale.total_cost, 0.75, "the replaced row was never removed");
    let mut conn = pool.acquire().await.expect("conn");
    assert!(
        !usage_totals::is_current(&mut conn)
            .await
            .expect("is_current")
    );
    drop(conn);
    if let Some(d) = db.db.take() {
        d.close().await;
    }
    let report = skill_builder_app::check(&db.path).await.expect("check");
    println!("check: {:?}", report.problems());
    assert!(!report.usage_totals.is_empty());
    assert!(
        report
            .problems()
            .iter()
            .any(|p| p.starts_with("usage totals: agent runs"))
    );
    db.reopen().await;
    let summary = usage::get_usage_summary(db.pool(), false)
        .await
        .expect("summary");
    assert_eq!(summary.total_cost, 0.5);
    assert_eq!(summary.total_runs, 1);
    let report = skill_builder_app::check(&db.path).await.expect("check");
    assert!(report.usage_totals.is_empty(), "{:?}", report.problems());
}

/// Fold the tail now (what the idle writer does); returns the agent runs folded.
async fn fold_now(pool: &SqlitePool) -> u64 {
    let mut conn = pool.acquire().await.expect("conn");
    usage_totals::fold(&mut conn).await.expect("fold")
}

/// Every row of `usage_totals` and the fold boundary, as stored.
async fn raw_totals(pool: &SqlitePool) -> (Vec<(i64, String, i64, f64, f64)>, i64) {
    let rows = sqlx::query(
        "SELECT kind, CAST(key AS TEXT), runs, cost, cost_err FROM usage_totals ORDER BY kind, key",
    )
    .fetch_all(pool)
    .await
    .expect("totals")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect();
    let through: i64 = sqlx::query_scalar("SELECT through_row_id FROM usage_totals_fold")
        .fetch_one(pool)
        .await
        .expect("boundary");
    (rows, through)
}

/// Issue 12 item 4: a new agent run costs its insert nothing in `usage_totals` (it
/// lands in the tail), the reports count it at once, and a fold moves it into the
/// stored totals without changing any report.
#[tokio::test]
async fn a_new_agent_run_lands_in_the_tail_and_the_fold_moves_it_in() {
    let db = Db::open_with(&skill_builder_app::OpenOptions {
        no_idle_fold: true,
        ..Default::default()
    })
    .await;
    let pool = db.pool().clone();
    sessions::create_workflow_session(&pool, &session(0), "alpha", DEAD_PID - 1)
        .await
        .expect("session");
    agent_runs::persist_agent_run(&pool, &run(1, 0, Some(0), 1, 0.25))
        .await
        .expect("persist");
    fold_now(&pool).await;
    let before = raw_totals(&pool).await;
    for a in 2..6 {
        agent_runs::persist_agent_run(&pool, &run(a, a % 3, Some(0), 2, 0.1 * a as f64))
            .await
            .expect("persist");
    }
    assert_eq!(
        raw_totals(&pool).await,
        before,
        "the inserts left usage_totals alone"
    );
    reports_equal_plain(&db, &Op::Reconcile)
        .await
        .expect("reports with a tail of 4");
    let mut conn = pool.acquire().await.expect("conn");
    let state = usage_totals::fold_state(&mut conn).await.expect("state");
    assert!(state.pending());
    assert_eq!(usage_totals::fold(&mut conn).await.expect("fold"), 4);
    let state = usage_totals::fold_state(&mut conn).await.expect("state");
    assert!(!state.pending());
    assert_eq!(state.through_row_id, state.max_row_id);
    drop(conn);
    assert_ne!(raw_totals(&pool).await, before);
    reports_equal_plain(&db, &Op::Fold)
        .await
        .expect("reports after the fold");
}

/// A folded row whose rowid another tool changes leaves the totals (above the
/// boundary it is tail) and comes back when folded; a tail row moved below the
/// boundary joins them: the reports stay exact either way.
#[tokio::test]
async fn a_row_moved_across_the_boundary_is_counted_once() {
    let db = Db::open().await;
    let pool = db.pool().clone();
    for a in 0..4 {
        agent_runs::persist_agent_run(&pool, &run(a, a % 3, Some(a % 2), 1, 0.5 + a as f64))
            .await
            .expect("persist");
    }
    fold_now(&pool).await;
    agent_runs::persist_agent_run(&pool, &run(4, 0, Some(0), 3, 0.125))
        .await
        .expect("persist a tail row");
    sqlx::query("UPDATE agent_runs SET rowid = rowid + 1000 WHERE agent_id = 'agent-1'")
        .execute(&pool)
        .await
        .expect("folded row above the boundary");
    reports_equal_plain(&db, &Op::Reconcile)
        .await
        .expect("after moving a folded row up");
    sqlx::query("UPDATE agent_runs SET rowid = -7 WHERE agent_id = 'agent-4'")
        .execute(&pool)
        .await
        .expect("tail row below the boundary");
    reports_equal_plain(&db, &Op::Reconcile)
        .await
        .expect("after moving a tail row down");
    let mut conn = pool.acquire().await.expect("conn");
    assert!(usage_totals::is_current(&mut conn).await.expect("current"));
    drop(conn);
    fold_now(&pool).await;
    reports_equal_plain(&db, &Op::Fold)
        .await
        .expect("after the fold");
}

/// The writer folds the tail by itself once no agent run arrived for a moment.
#[tokio::test]
async fn the_idle_writer_folds_the_tail() {
    let db = Db::open().await;
    let pool = db.pool().clone();
    for a in 0..AGENTS {
        agent_runs::persist_agent_run(&pool, &run(a, a % 3, Some(a % SESSIONS), 1, 0.01))
            .await
            .expect("persist");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut conn = pool.acquire().await.expect("conn");
        let state = usage_totals::fold_state(&mut conn).await.expect("state");
        drop(conn);
        if !state.pending() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not folded: {state:?}"
        );
        tokio::time::sleep(skill_builder_app::idle_fold::IDLE_TICK).await;
    }
    reports_equal_plain(&db, &Op::Fold)
        .await
        .expect("after the idle fold");
}

/// Without the fold boundary (another tool dropped its row) the reports refuse to
/// guess, and the next open rebuilds the totals.
#[tokio::test]
async fn a_missing_fold_boundary_is_refused_and_rebuilt_at_open() {
    let mut db = Db::open().await;
    agent_runs::persist_agent_run(db.pool(), &run(1, 0, Some(0), 1, 0.25))
        .await
        .expect("persist");
    sqlx::query("DELETE FROM usage_totals_fold")
        .execute(db.pool())
        .await
        .expect("delete");
    let e = usage::get_usage_summary(db.pool(), false)
        .await
        .expect_err("no boundary");
    assert!(
        matches!(e, skill_builder_db::Error::UsageTotalsMissing),
        "{e:?}"
    );
    assert!(usage::get_usage_by_model(db.pool(), false).await.is_err());
    assert!(matches!(
        agent_runs::get_recent_runs(db.pool(), 10).await,
        Err(skill_builder_db::Error::UsageTotalsMissing)
    ));
    db.reopen().await;
    let summary = usage::get_usage_summary(db.pool(), false)
        .await
        .expect("summary");
    assert_eq!(summary.total_cost, 0.25);
    reports_equal_plain(&db, &Op::Fold)
        .await
        .expect("after the rebuild");
}

/// A fold boundary another tool made unreadable (`'7x'`, 2.5, a BLOB) is treated as
/// missing: compared as stored, text and BLOBs rank above every rowid, which would
/// empty the tail and hide its runs. The reports and the fold refuse; the next open
/// rebuilds.
#[tokio::test]
async fn an_unreadable_fold_boundary_is_refused_and_rebuilt_at_open() {
    for value in ["'7x'", "2.5", "x'07'"] {
        let mut db = Db::open_with(&skill_builder_app::OpenOptions {
            no_idle_fold: true,
            ..Default::default()
        })
        .await;
        let pool = db.pool().clone();
        agent_runs::persist_agent_run(&pool, &run(1, 0, Some(0), 1, 0.25))
            .await
            .expect("persist");
        assert_eq!(fold_now(&pool).await, 1);
        // A run in the tail, then the boundary overwritten.
        agent_runs::persist_agent_run(&pool, &run(2, 0, Some(0), 2, 0.5))
            .await
            .expect("persist");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE usage_totals_fold SET through_row_id = {value}"
        )))
        .execute(&pool)
        .await
        .expect("raw update");
        let missing = |r: Result<_, skill_builder_db::Error>, what: &str| {
            assert!(
                matches!(r, Err(skill_builder_db::Error::UsageTotalsMissing)),
                "{value}: {what}"
            );
        };
        missing(
            usage::get_usage_summary(&pool, false).await.map(|_| ()),
            "summary",
        );
        missing(
            usage::get_usage_by_model(&pool, false).await.map(|_| ()),
            "by model",
        );
        missing(
            usage::get_usage_by_step(&pool, false).await.map(|_| ()),
            "by step",
        );
        missing(
            agent_runs::get_recent_runs(&pool, 10).await.map(|_| ()),
            "recent runs",
        );
        let mut conn = pool.acquire().await.expect("conn");
        missing(
            usage_totals::fold_state(&mut conn).await.map(|_| ()),
            "fold state",
        );
        assert!(
            !usage_totals::is_current(&mut conn)
                .await
                .expect("is_current")
        );
        drop(conn);
        drop(pool);
        db.reopen().await;
        let summary = usage::get_usage_summary(db.pool(), false)
            .await
            .expect("summary");
        assert_eq!(summary.total_cost, 0.75, "{value}: both runs counted");
        reports_equal_plain(&db, &Op::Fold)
            .await
            .expect("after the rebuild");
    }
}

/// `get_recent_runs` reads the folded runs from `recent_agent_runs` (step
/// 20261130150000): a folded run completed later moves to the front, and an entry
/// another tool deleted is reported by `check`.
#[tokio::test]
async fn recent_runs_follow_folded_rows_and_check_reports_a_missing_entry() {
    let mut db = Db::open_with(&skill_builder_app::OpenOptions {
        no_idle_fold: true,
        ..Default::default()
    })
    .await;
    let pool = db.pool().clone();
    let mut running = run(1, 0, Some(0), 1, 0.0);
    running.status = AgentRunStatus::Running;
    agent_runs::persist_agent_run(&pool, &running)
        .await
        .expect("running");
    agent_runs::persist_agent_run(&pool, &run(2, 0, Some(0), 1, 0.5))
        .await
        .expect("completed");
    assert_eq!(fold_now(&pool).await, 2);
    let ids = |runs: Vec<skill_builder_db::model::AgentRun>| {
        runs.into_iter()
            .map(|r| r.agent_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let recent = agent_runs::get_recent_runs(&pool, 10)
        .await
        .expect("recent");
    assert_eq!(ids(recent), ["agent-2", "agent-1"], "running last");
    // The folded running run completes one second later than agent-2.
    sqlx::query(
        "UPDATE agent_runs SET status = 'completed',
                completed_at = strftime('%Y-%m-%d %H:%M:%S', 'now', '+1 second') || 'Z'
         WHERE agent_id = 'agent-1'",
    )
    .execute(&pool)
    .await
    .expect("complete");
    let recent = agent_runs::get_recent_runs(&pool, 10)
        .await
        .expect("recent");
    assert_eq!(
        ids(recent),
        ["agent-1", "agent-2"],
        "latest completion first"
    );
    sqlx::query("DELETE FROM recent_agent_runs WHERE row_id = (SELECT rowid FROM agent_runs WHERE agent_id = 'agent-2')")
        .execute(&pool)
        .await
        .expect("delete entry");
    if let Some(d) = db.db.take() {
        d.close().await;
    }
    let report = skill_builder_app::check(&db.path).await.expect("check");
    assert!(
        report
            .problems()
            .iter()
            .any(|p| p.contains("recent runs: 1 entries")),
        "{:?}",
        report.problems()
    );
    db.reopen().await;
}

/// An entry left behind by a row another tool removed without its DELETE trigger is
/// never listed, and is replaced when its rowid is used again, here by a reset run
/// that must not be listed at all (the list equals the plain scan-and-sort).
#[tokio::test]
async fn a_stale_recent_entry_is_never_listed() {
    let db = Db::open_with(&skill_builder_app::OpenOptions {
        no_idle_fold: true,
        ..Default::default()
    })
    .await;
    let pool = db.pool().clone();
    for a in 1..=2 {
        agent_runs::persist_agent_run(&pool, &run(a, 0, Some(0), 1, 0.5))
            .await
            .expect("persist");
    }
    assert_eq!(fold_now(&pool).await, 2);
    for sql in [
        // Row 2 leaves without its DELETE trigger; its replacement lands in the tail.
        "INSERT OR REPLACE INTO agent_runs (agent_id, skill_name, step_id, model, status,
                                            workflow_session_id, completed_at)
         VALUES ('agent-2', 'alpha', 1, 'sonnet', 'completed', 'ws-0', '2030-01-01 00:00:00Z')",
        "DELETE FROM agent_runs WHERE agent_id = 'agent-2'",
        // A reset run takes rowid 2 again, at or below the boundary.
        "INSERT INTO agent_runs (rowid, agent_id, skill_name, step_id, model, status,
                                 completed_at, reset_marker)
         VALUES (2, 'agent-9', 'alpha', 1, 'sonnet', 'completed', '2031-01-01 00:00:00Z',
                 '2026-01-01Z')",
    ] {
        sqlx::query(sql).execute(&pool).await.expect(sql);
    }
    let listed: Vec<String> = agent_runs::get_recent_runs(&pool, 10)
        .await
        .expect("recent")
        .into_iter()
        .map(|r| r.agent_id.as_str().to_owned())
        .collect();
    let plain: Vec<String> = sqlx::query_scalar(
        "SELECT agent_id FROM agent_runs WHERE reset_marker IS NULL
         ORDER BY completed_at IS NULL, completed_at DESC, started_at DESC, rowid",
    )
    .fetch_all(&pool)
    .await
    .expect("plain");
    assert_eq!(listed, plain);
    assert_eq!(listed, ["agent-1"]);
    let mut conn = pool.acquire().await.expect("conn");
    assert_eq!(
        usage_totals::recent_entries_missing(&mut conn)
            .await
            .expect("check"),
        0
    );
}
