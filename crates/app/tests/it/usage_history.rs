#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Issue 10: usage history and skill identity. One test per fault, using the issue's
//! sequences (run with `--nocapture` to see what the API returns), the upgrade repair
//! of step 20261130100000, and a property test over random sequences of operations.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use skill_builder_app::WriteConnection;
use skill_builder_app::{Database, OpenOptions};
use skill_builder_db::model::{
    AgentRunStatus, NewAgentRun, WorkflowRunId, WorkflowRunStatus, WorkflowSessionId,
    WorkspaceSkill, WorkspaceSkillId,
};
use skill_builder_db::{
    Conflict, Entity, Error, agent_runs, sessions, skills, usage, workflow_runs, workflow_steps,
    workspace_skills,
};
use sqlx::{Row, SqliteConnection};

/// A database in a temporary folder, opened (migrated) like the app opens it.
struct TempDb {
    db: Database,
    _dir: tempfile::TempDir,
}

impl TempDb {
    async fn open() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(dir.path().join("skill-builder.db"))
            .await
            .expect("open database");
        Self { db, _dir: dir }
    }

    /// The writer, held by the test for every statement it runs.
    async fn conn(&self) -> WriteConnection {
        self.db.write().await.expect("take the writer")
    }

    async fn close(self) {
        self.db.close().await;
    }
}

/// A pid no process has (`pid::is_alive` says dead).
const DEAD_PID: i64 = 4_000_000_000;
/// Cases of the property test unless `PROPTEST_CASES` says otherwise (kept small so
/// `just test` stays fast).
const DEFAULT_CASES: u32 = 12;
/// The step before this issue's: files upgraded from it get the repair.
const PREVIOUS_STEP: i64 = 20_261_126_130_009;

fn own_pid() -> i64 {
    i64::from(std::process::id())
}

fn agent(id: &str, skill: &str, step: i64, status: AgentRunStatus, cost: f64) -> NewAgentRun {
    NewAgentRun {
        agent_id: id.into(),
        skill_name: skill.into(),
        step_id: step,
        model: "sonnet".into(),
        status,
        input_tokens: 100,
        output_tokens: 10,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        total_cost: cost,
        duration_ms: 1000,
        num_turns: 1,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: None,
        workflow_run_id: None,
    }
}

fn in_session(mut run: NewAgentRun, ws: &str) -> NewAgentRun {
    run.workflow_session_id = Some(WorkflowSessionId::from(ws));
    run
}

/// What every usage screen shows: (summary runs, summary cost, by-model, by-step,
/// recent sessions, recent runs), costs rounded to cents.
#[derive(Debug, PartialEq)]
struct Screens {
    summary: (i64, String),
    by_model: Vec<(String, String, i64)>,
    by_step: Vec<(i64, String, i64)>,
    sessions: Vec<(String, String, String, i64)>,
    runs: Vec<(String, String, String, String)>,
}

fn usd(x: f64) -> String {
    format!("${x:.2}")
}

async fn screens(conn: &mut SqliteConnection) -> Screens {
    let s = usage::get_usage_summary(conn, false).await.unwrap();
    Screens {
        summary: (s.total_runs, usd(s.total_cost)),
        by_model: usage::get_usage_by_model(conn, false)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.model, usd(m.total_cost), m.run_count))
            .collect(),
        by_step: usage::get_usage_by_step(conn, false)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.step_id, usd(m.total_cost), m.run_count))
            .collect(),
        sessions: usage::get_recent_workflow_sessions(conn, 50, false)
            .await
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    s.session_id.as_str().to_owned(),
                    s.skill_name,
                    usd(s.total_cost),
                    s.agent_count,
                )
            })
            .collect(),
        runs: agent_runs::get_recent_runs(conn, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.agent_id.as_str().to_owned(),
                    r.skill_name,
                    r.status.as_str().to_owned(),
                    usd(r.total_cost),
                )
            })
            .collect(),
    }
}

// ---- 1. deleting a skill keeps its usage history ------------------------------------

#[tokio::test]
async fn deleting_a_skill_keeps_its_usage_history_in_every_usage_view() {
    let t = TempDb::open().await;
    let mut writer = t.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    workflow_runs::save_workflow_run(conn, "s1", 0, &WorkflowRunStatus::InProgress, "domain")
        .await
        .unwrap();
    sessions::create_workflow_session(conn, &"ws1".into(), "s1", own_pid())
        .await
        .unwrap();
    let run = in_session(agent("a1", "s1", 0, AgentRunStatus::Completed, 0.40), "ws1");
    agent_runs::persist_agent_run(conn, &run).await.unwrap();
    let before = screens(conn).await;
    assert_eq!(before.summary, (1, "$0.40".to_owned()));
    workflow_runs::delete_workflow_run(conn, "s1")
        .await
        .unwrap();
    let after = screens(conn).await;
    println!("sequence 1, after delete_workflow_run(\"s1\"): {after:#?}");
    assert_eq!(after, before, "every usage screen shows the same totals");
    assert!(
        workflow_runs::get_workflow_run(conn, "s1")
            .await
            .unwrap()
            .is_none()
    );
    let detached = sqlx::query(
        "SELECT (SELECT workflow_run_id FROM agent_runs WHERE agent_id = 'a1') AS run,
                (SELECT skill_id FROM workflow_sessions WHERE session_id = 'ws1') AS skill",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(detached.get::<Option<i64>, _>("run"), None);
    assert_eq!(detached.get::<Option<i64>, _>("skill"), None);

    // The same through delete_skill of a marketplace skill with the same history.
    workflow_runs::save_marketplace_skill(conn, "m1", "domain")
        .await
        .unwrap();
    sessions::create_workflow_session(conn, &"ws2".into(), "m1", own_pid())
        .await
        .unwrap();
    let run = in_session(agent("a2", "m1", 0, AgentRunStatus::Completed, 0.40), "ws2");
    agent_runs::persist_agent_run(conn, &run).await.unwrap();
    let before = screens(conn).await;
    assert_eq!(before.summary, (2, "$0.80".to_owned()));
    skills::delete_skill(conn, "m1").await.unwrap();
    let after = screens(conn).await;
    println!(
        "sequence 1, after delete_skill(\"m1\"): {:?}",
        after.summary
    );
    assert_eq!(after, before);
}

// ---- 2. ghost running agent runs ------------------------------------------------------

#[tokio::test]
async fn reconciling_a_dead_process_session_ends_its_running_agent_runs() {
    let t = TempDb::open().await;
    let mut writer = t.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    workflow_runs::save_workflow_run(conn, "s2", 1, &WorkflowRunStatus::InProgress, "domain")
        .await
        .unwrap();
    sessions::create_workflow_session(conn, &"dead".into(), "s2", DEAD_PID)
        .await
        .unwrap();
    sessions::create_workflow_session(conn, &"live".into(), "s2", own_pid())
        .await
        .unwrap();
    for (id, ws) in [("ghost", "dead"), ("busy", "live")] {
        let run = in_session(agent(id, "s2", 1, AgentRunStatus::Running, 0.10), ws);
        agent_runs::persist_agent_run(conn, &run).await.unwrap();
    }
    let closed = sessions::reconcile_orphaned_sessions(conn).await.unwrap();
    assert_eq!(closed, 1);
    let runs = agent_runs::get_recent_runs(conn, 10).await.unwrap();
    let shown: Vec<_> = runs
        .iter()
        .map(|r| {
            (
                r.agent_id.as_str(),
                r.status.as_str(),
                r.completed_at.is_some(),
            )
        })
        .collect();
    println!("sequence 2, recent runs after reconcile: {shown:?}");
    assert_eq!(
        shown,
        [("ghost", "shutdown", true), ("busy", "running", false)]
    );
    let dead = sessions::get_workflow_session(conn, &"dead".into())
        .await
        .unwrap()
        .unwrap();
    assert!(dead.ended_at.is_some());
}

// ---- 3. one active workspace skill per purpose ----------------------------------------

fn ws_skill(id: &str, purpose: &str) -> WorkspaceSkill {
    let mut s = WorkspaceSkill::new(
        WorkspaceSkillId::from(id),
        id,
        format!("/ws/{id}"),
        "2026-01-31 12:00:00Z",
    );
    s.purpose = Some(purpose.into());
    s
}

#[tokio::test]
async fn two_active_workspace_skills_never_share_a_purpose() {
    let t = TempDb::open().await;
    let mut writer = t.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    let first = workspace_skills::insert_workspace_skill(conn, &ws_skill("r1", "research"))
        .await
        .unwrap();
    let second = workspace_skills::insert_workspace_skill(conn, &ws_skill("r2", "research"))
        .await
        .unwrap();
    let third = workspace_skills::insert_workspace_skill(conn, &ws_skill("r3", "validate"))
        .await
        .unwrap();
    println!("sequence 3, inserts stored active: r1 {first}, r2 {second}, r3 {third}");
    assert_eq!((first, second, third), (true, false, true));
    // An upsert whose purpose is taken stores (or turns) the row inactive too.
    assert!(
        !workspace_skills::upsert_workspace_skill(conn, &ws_skill("r3", "research"))
            .await
            .unwrap()
    );
    workspace_skills::update_workspace_skill_active(conn, &"r3".into(), true, "/ws/r3")
        .await
        .unwrap_err();
    workspace_skills::set_workspace_skill_purpose(conn, &"r3".into(), Some("validate"))
        .await
        .unwrap();
    workspace_skills::update_workspace_skill_active(conn, &"r3".into(), true, "/ws/r3")
        .await
        .unwrap();
    // set-purpose of an active skill deactivates the holder.
    let moved = workspace_skills::set_workspace_skill_purpose(conn, &"r3".into(), Some("research"))
        .await
        .unwrap();
    let moved: Vec<_> = moved
        .iter()
        .map(|s| (s.skill_name.as_str(), s.is_active))
        .collect();
    assert_eq!(moved, [("r1", false)]);
    let active = workspace_skills::get_workspace_skill_by_purpose(conn, "research")
        .await
        .unwrap()
        .map(|s| s.skill_name);
    println!("sequence 3, set-purpose deactivated {moved:?}; by purpose: {active:?}");
    assert_eq!(active.as_deref(), Some("r3"));
    // Activating r1 again: refused while r3 holds the purpose…
    let err = workspace_skills::update_workspace_skill_active(conn, &"r1".into(), true, "/ws/r1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(Conflict::PurposeTaken { skill_id }) if skill_id == "r1"),
        "{err:?}"
    );
    // …and the database itself refuses a second active row for the purpose.
    let raw = sqlx::query("UPDATE workspace_skills SET is_active = 1 WHERE skill_id = 'r2'")
        .execute(&mut *conn)
        .await;
    assert!(raw.is_err(), "the partial unique index refuses it");
    assert_eq!(two_active_per_purpose(conn).await, 0);
}

async fn two_active_per_purpose(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT purpose FROM workspace_skills
                               WHERE is_active <> 0 AND trim(purpose) <> ''
                               GROUP BY purpose HAVING count(*) > 1)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

// ---- 4. a re-created skill starts empty -------------------------------------------------

#[tokio::test]
async fn a_recreated_skill_does_not_adopt_a_deleted_skills_late_writes() {
    let t = TempDb::open().await;
    let mut writer = t.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    workflow_runs::save_workflow_run(
        conn,
        "late-skill",
        3,
        &WorkflowRunStatus::InProgress,
        "domain",
    )
    .await
    .unwrap();
    sessions::create_workflow_session(conn, &"ws-late".into(), "late-skill", own_pid())
        .await
        .unwrap();
    workflow_runs::delete_workflow_run(conn, "late-skill")
        .await
        .unwrap();
    // A process still running for the deleted skill writes late.
    let late = in_session(
        agent(
            "late-agent",
            "late-skill",
            3,
            AgentRunStatus::Completed,
            0.70,
        ),
        "ws-late",
    );
    agent_runs::persist_agent_run(conn, &late).await.unwrap();
    let err = workflow_steps::save_workflow_step(
        conn,
        "late-skill",
        3,
        &skill_builder_db::model::StepStatus::Completed,
    )
    .await
    .unwrap_err();
    println!("sequence 4, late save_workflow_step: {err}");
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::Skill, key } if key == "late-skill"),
        "{err:?}"
    );
    workflow_runs::save_workflow_run(conn, "late-skill", 0, &WorkflowRunStatus::Pending, "domain")
        .await
        .unwrap();
    // Even a late write after the re-creation, in the deleted skill's session, stays out.
    let later = in_session(
        agent(
            "later-agent",
            "late-skill",
            3,
            AgentRunStatus::Completed,
            0.20,
        ),
        "ws-late",
    );
    agent_runs::persist_agent_run(conn, &later).await.unwrap();
    let steps = workflow_steps::get_workflow_steps(conn, "late-skill")
        .await
        .unwrap();
    let step_runs = agent_runs::get_step_agent_runs(conn, "late-skill", 3)
        .await
        .unwrap();
    println!(
        "sequence 4, re-created skill: steps {:?}, step-3 agent runs {:?}",
        steps
            .iter()
            .map(|s| (s.step_id, s.status.as_str()))
            .collect::<Vec<_>>(),
        step_runs
            .iter()
            .map(|r| r.agent_id.as_str())
            .collect::<Vec<_>>()
    );
    assert!(steps.is_empty());
    assert!(step_runs.is_empty());
    // The late runs are history: counted in usage, linked to no run.
    let s = screens(conn).await;
    assert_eq!(s.summary, (1, "$0.90".to_owned()));
    let linked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM agent_runs WHERE workflow_run_id IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(linked, 0);
}

// ---- 5. usage views agree -------------------------------------------------------------

#[tokio::test]
async fn every_usage_view_counts_a_run_whose_workflow_session_had_no_row() {
    let t = TempDb::open().await;
    let mut writer = t.conn().await;
    let conn: &mut SqliteConnection = &mut writer;
    workflow_runs::save_workflow_run(conn, "refined", 5, &WorkflowRunStatus::Completed, "domain")
        .await
        .unwrap();
    let run = in_session(
        agent("refiner", "refined", 5, AgentRunStatus::Completed, 0.50),
        "synthetic:refine:refined:1",
    );
    agent_runs::persist_agent_run(conn, &run).await.unwrap();
    let s = screens(conn).await;
    println!("sequence 5: {s:#?}");
    assert_eq!(s.summary, (1, "$0.50".to_owned()));
    assert_eq!(s.by_model, [("sonnet".to_owned(), "$0.50".to_owned(), 1)]);
    assert_eq!(s.by_step, [(5, "$0.50".to_owned(), 1)]);
    assert_eq!(
        s.sessions,
        [(
            "synthetic:refine:refined:1".to_owned(),
            "refined".to_owned(),
            "$0.50".to_owned(),
            1
        )]
    );
    let session = sessions::get_workflow_session(conn, &"synthetic:refine:refined:1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.pid, 0);
    assert!(session.skill_id.is_some());
}

// ---- upgrade repair (step 20261130100000) -----------------------------------------------

#[tokio::test]
async fn upgrading_repairs_ghost_runs_missing_sessions_purposes_and_null_links() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skill-builder.db");
    let options = OpenOptions::new().target(PREVIOUS_STEP);
    let db = Database::open_with(&path, &options).await.unwrap();
    let mut writer = db.write().await.unwrap();
    // Rows as the existing app (or this layer before the step) left them.
    for sql in [
        "INSERT INTO skills (id, name, skill_source) VALUES (1, 'kept', 'skill-builder')",
        "INSERT INTO workflow_runs (id, skill_name) VALUES (7, 'kept')",
        "INSERT INTO workflow_steps (skill_name, step_id, status) VALUES ('kept', 0, 'completed')",
        "INSERT INTO workflow_sessions (session_id, skill_name, pid, ended_at)
         VALUES ('ended', 'kept', 1, '2026-01-01 10:00:00Z')",
        "INSERT INTO agent_runs (agent_id, model, skill_name, step_id, status, total_cost,
                                 workflow_session_id, started_at, completed_at)
         VALUES ('g1', 'm', 'kept', 0, 'running', 0.1, 'ended', '2026-01-01 09:00:00Z', NULL),
                ('g2', 'm', 'gone', 0, 'running', 0.2, 'synthetic:refine:gone:1',
                 '2026-01-02 09:00:00Z', NULL),
                ('ok', 'm', 'gone', 1, 'completed', 0.3, 'synthetic:refine:gone:1',
                 '2026-01-02 09:00:00Z', '2026-01-02 09:30:00Z'),
                ('alive', 'm', 'kept', 0, 'running', 0.4, 'open', '2026-01-03 09:00:00Z', NULL)",
        "INSERT INTO workspace_skills (skill_id, skill_name, disk_path, purpose, is_active)
         VALUES ('w1', 'w1', '/w1', 'research', 1), ('w2', 'w2', '/w2', 'research', 1),
                ('w3', 'w3', '/w3', 'validate', 1)",
    ] {
        sqlx::query(sql).execute(&mut *writer).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO workflow_sessions (session_id, skill_name, pid) VALUES ('open', 'kept', ?)",
    )
    .bind(own_pid())
    .execute(&mut *writer)
    .await
    .unwrap();
    drop(writer);
    db.close().await;
    let db = Database::open(&path).await.unwrap();
    let mut writer = db.write().await.unwrap();
    let conn: &mut SqliteConnection = &mut writer;
    let status: Vec<(String, String, bool)> = sqlx::query(
        "SELECT agent_id, status, completed_at IS NOT NULL AS done FROM agent_runs ORDER BY agent_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("agent_id"), r.get("status"), r.get("done")))
    .collect();
    assert_eq!(
        status,
        [
            ("alive".into(), "running".into(), false),
            ("g1".into(), "shutdown".into(), true),
            ("g2".into(), "shutdown".into(), true),
            ("ok".into(), "completed".into(), true),
        ]
    );
    let backfilled = sessions::get_workflow_session(conn, &"synthetic:refine:gone:1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            backfilled.skill_name.as_str(),
            backfilled.pid,
            backfilled.started_at.as_str()
        ),
        ("gone", 0, "2026-01-02 09:00:00Z")
    );
    assert!(backfilled.ended_at.is_some());
    let active: Vec<String> = workspace_skills::list_active_workspace_skills(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.skill_name)
        .collect();
    assert_eq!(
        active,
        ["w2", "w3"],
        "the newest active row per purpose stays"
    );
    let links = sqlx::query(
        "SELECT (SELECT workflow_run_id FROM workflow_steps WHERE skill_name = 'kept') AS step,
                (SELECT workflow_run_id FROM agent_runs WHERE agent_id = 'g1') AS agent,
                (SELECT skill_id FROM workflow_sessions WHERE session_id = 'ended') AS session,
                (SELECT skill_id FROM workflow_runs WHERE id = 7) AS run",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(links.get::<Option<i64>, _>("step"), Some(7));
    assert_eq!(links.get::<Option<i64>, _>("agent"), Some(7));
    assert_eq!(links.get::<Option<i64>, _>("session"), Some(1));
    assert_eq!(links.get::<Option<i64>, _>("run"), Some(1));
    let s = screens(conn).await;
    assert_eq!(
        s.summary,
        (3, "$1.00".to_owned()),
        "views agree after the backfill"
    );
    drop(writer);
    db.close().await;
}

// ---- property test ----------------------------------------------------------------------

const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];
const PURPOSES: [&str; 3] = ["research", "validate", " "];

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Marketplace(usize),
    Session(usize, usize, bool),
    Persist {
        agent: usize,
        name: usize,
        session: Option<usize>,
        step: i64,
        cents: u32,
        status: usize,
    },
    SaveStep(usize, i64),
    DeleteRun(usize),
    DeleteSkill(usize),
    Reconcile,
    WsInsert(usize, usize, bool),
    WsUpsert(usize, usize, bool),
    WsSetPurpose(usize, Option<usize>),
    WsActivate(usize, bool),
    WsExclusive(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    let p = 0..PURPOSES.len();
    prop_oneof![
        2 => n.clone().prop_map(Op::Create),
        1 => n.clone().prop_map(Op::Marketplace),
        2 => (n.clone(), 0..4usize, any::<bool>()).prop_map(|(a, b, c)| Op::Session(a, b, c)),
        5 => (0..6usize, n.clone(), prop::option::weighted(0.85, 0..4usize), 0..6i64, 0..120u32, 0..4usize)
            .prop_map(|(agent, name, session, step, cents, status)| Op::Persist {
                agent, name, session, step, cents, status
            }),
        2 => (n.clone(), 0..6i64).prop_map(|(a, b)| Op::SaveStep(a, b)),
        1 => n.clone().prop_map(Op::DeleteRun),
        1 => n.clone().prop_map(Op::DeleteSkill),
        1 => Just(Op::Reconcile),
        2 => (0..4usize, p.clone(), any::<bool>()).prop_map(|(a, b, c)| Op::WsInsert(a, b, c)),
        1 => (0..4usize, p.clone(), any::<bool>()).prop_map(|(a, b, c)| Op::WsUpsert(a, b, c)),
        1 => (0..4usize, prop::option::of(p)).prop_map(|(a, b)| Op::WsSetPurpose(a, b)),
        1 => (0..4usize, any::<bool>()).prop_map(|(a, b)| Op::WsActivate(a, b)),
        1 => (0..4usize).prop_map(Op::WsExclusive),
    ]
}

const STATUSES: [AgentRunStatus; 4] = [
    AgentRunStatus::Running,
    AgentRunStatus::Completed,
    AgentRunStatus::Error,
    AgentRunStatus::Shutdown,
];

/// What the test knows independently of the layer: per (agent, model) row, the
/// workflow-run link it got when first written (never changed later except to NULL).
#[derive(Default)]
struct Model {
    first_link: HashMap<String, Option<WorkflowRunId>>,
    /// Step ids saved per skill name since its master row was last created.
    steps: HashMap<String, Vec<i64>>,
}

fn check(cond: bool, what: impl FnOnce() -> String) -> TestCaseResult {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

async fn apply(
    conn: &mut SqliteConnection,
    model: &mut Model,
    op: &Op,
) -> Result<(), TestCaseError> {
    let fail = |e: Error| TestCaseError::fail(format!("{op:?}: {e}"));
    match op {
        Op::Create(n) => {
            let name = NAMES[*n];
            if skills::get_skill_master_id(conn, name)
                .await
                .map_err(fail)?
                .is_none()
            {
                model.steps.insert(name.to_owned(), Vec::new());
            }
            workflow_runs::save_workflow_run(
                conn,
                name,
                0,
                &WorkflowRunStatus::InProgress,
                "domain",
            )
            .await
            .map_err(fail)?;
        }
        Op::Marketplace(n) => {
            let name = NAMES[*n];
            if skills::get_skill_master_id(conn, name)
                .await
                .map_err(fail)?
                .is_none()
            {
                model.steps.insert(name.to_owned(), Vec::new());
            }
            workflow_runs::save_marketplace_skill(conn, name, "domain")
                .await
                .map_err(fail)?;
        }
        Op::Session(n, s, dead) => {
            let pid = if *dead { DEAD_PID } else { own_pid() };
            sessions::create_workflow_session(conn, &format!("ws{s}").into(), NAMES[*n], pid)
                .await
                .map_err(fail)?;
        }
        Op::Persist {
            agent: a,
            name,
            session,
            step,
            cents,
            status,
        } => {
            let name = NAMES[*name];
            let mut run = agent(
                &format!("agent{a}"),
                name,
                *step,
                STATUSES[*status].clone(),
                f64::from(*cents) / 100.0,
            );
            run.workflow_session_id = session.map(|s| WorkflowSessionId::from(format!("ws{s}")));
            agent_runs::persist_agent_run(conn, &run)
                .await
                .map_err(fail)?;
            let key = run.agent_id.as_str().to_owned();
            if let std::collections::hash_map::Entry::Vacant(slot) =
                model.first_link.entry(key.clone())
            {
                let link: Option<WorkflowRunId> = sqlx::query_scalar(
                    "SELECT workflow_run_id FROM agent_runs WHERE agent_id = ? AND model = 'sonnet'",
                )
                .bind(&key)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| fail(e.into()))?;
                // A first write links only to the skill's current run.
                let current = skills::get_workflow_run_id(conn, name)
                    .await
                    .map_err(fail)?;
                check(link.is_none() || link == current, || {
                    format!("{key} linked to {link:?}, current run {current:?}")
                })?;
                slot.insert(link);
            }
        }
        Op::SaveStep(n, step) => {
            let name = NAMES[*n];
            let exists = skills::get_skill_master_id(conn, name)
                .await
                .map_err(fail)?
                .is_some();
            let got = workflow_steps::save_workflow_step(
                conn,
                name,
                *step,
                &skill_builder_db::model::StepStatus::Completed,
            )
            .await;
            match got {
                Ok(()) => {
                    check(exists, || {
                        format!("step saved for {name} without a master row")
                    })?;
                    model.steps.entry(name.to_owned()).or_default().push(*step);
                }
                Err(Error::NotFound {
                    entity: Entity::Skill,
                    ..
                }) => check(!exists, || format!("step refused for existing {name}"))?,
                Err(e) => return Err(fail(e)),
            }
        }
        Op::DeleteRun(n) => match workflow_runs::delete_workflow_run(conn, NAMES[*n]).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(fail(e)),
        },
        Op::DeleteSkill(n) => {
            skills::delete_skill(conn, NAMES[*n]).await.map_err(fail)?;
        }
        Op::Reconcile => {
            sessions::reconcile_orphaned_sessions(conn)
                .await
                .map_err(fail)?;
        }
        Op::WsInsert(w, p, active) | Op::WsUpsert(w, p, active) => {
            let mut s = ws_skill(&format!("w{w}"), PURPOSES[*p]);
            s.is_active = *active;
            let got = if matches!(op, Op::WsInsert(..)) {
                workspace_skills::insert_workspace_skill(conn, &s).await
            } else {
                workspace_skills::upsert_workspace_skill(conn, &s).await
            };
            match got {
                // Never refused because of the purpose: at most stored inactive.
                Ok(_)
                | Err(Error::Conflict(Conflict::AlreadyExists {
                    entity: Entity::WorkspaceSkill,
                    ..
                })) => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Op::WsSetPurpose(w, p) => {
            let id = WorkspaceSkillId::from(format!("w{w}"));
            match workspace_skills::set_workspace_skill_purpose(conn, &id, p.map(|p| PURPOSES[p]))
                .await
            {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Op::WsActivate(w, active) => {
            let id = WorkspaceSkillId::from(format!("w{w}"));
            match workspace_skills::update_workspace_skill_active(conn, &id, *active, "/p").await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(Error::Conflict(Conflict::PurposeTaken { .. })) if *active => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Op::WsExclusive(w) => {
            let id = WorkspaceSkillId::from(format!("w{w}"));
            match workspace_skills::activate_workspace_skill_exclusive(conn, &id, "/p", |o| {
                format!("/off/{}", o.skill_name)
            })
            .await
            {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(fail(e)),
            }
        }
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The invariants of the issue, checked after every operation.
async fn invariants(conn: &mut SqliteConnection, model: &Model) -> TestCaseResult {
    let e = |e: Error| TestCaseError::fail(e.to_string());
    let s = |e: sqlx::Error| TestCaseError::fail(e.to_string());
    // From scratch: the agent rows of a workflow session (no reset happens here).
    let scratch: f64 = sqlx::query_scalar(
        "SELECT TOTAL(total_cost) FROM agent_runs WHERE workflow_session_id IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(s)?;
    let positive: f64 = sqlx::query_scalar(
        "SELECT TOTAL(total_cost) FROM agent_runs
         WHERE workflow_session_id IS NOT NULL AND total_cost > 0",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(s)?;
    for (hide, want) in [(false, scratch), (true, positive)] {
        let summary = usage::get_usage_summary(conn, hide)
            .await
            .map_err(e)?
            .total_cost;
        let by_model: f64 = usage::get_usage_by_model(conn, hide)
            .await
            .map_err(e)?
            .iter()
            .map(|m| m.total_cost)
            .sum();
        let by_step: f64 = usage::get_usage_by_step(conn, hide)
            .await
            .map_err(e)?
            .iter()
            .map(|m| m.total_cost)
            .sum();
        let sessions: f64 = usage::get_recent_workflow_sessions(conn, u32::MAX, hide)
            .await
            .map_err(e)?
            .iter()
            .map(|m| m.total_cost)
            .sum();
        check(
            [summary, by_model, by_step, sessions]
                .iter()
                .all(|v| close(*v, want)),
            || {
                format!(
                    "hide_cancelled {hide}: from scratch {want}, summary {summary}, \
                     by model {by_model}, by step {by_step}, sessions {sessions}"
                )
            },
        )?;
    }
    let summary = usage::get_usage_summary(conn, false).await.map_err(e)?;
    let listed = usage::get_recent_workflow_sessions(conn, u32::MAX, false)
        .await
        .map_err(e)?;
    check(
        usize::try_from(summary.total_runs).ok() == Some(listed.len()),
        || {
            format!(
                "{} runs, {} sessions listed",
                summary.total_runs,
                listed.len()
            )
        },
    )?;
    let no_session: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agent_runs a WHERE a.workflow_session_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM workflow_sessions ws
                           WHERE ws.session_id = a.workflow_session_id)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(s)?;
    check(no_session == 0, || {
        format!("{no_session} agent rows without a session row")
    })?;
    let doubled = two_active_per_purpose(conn).await;
    check(doubled == 0, || {
        format!("{doubled} purposes with two active skills")
    })?;
    // Never adopted: a row keeps the link of its first write, or loses it on delete.
    let links: Vec<(String, Option<WorkflowRunId>)> =
        sqlx::query_as("SELECT agent_id, workflow_run_id FROM agent_runs")
            .fetch_all(&mut *conn)
            .await
            .map_err(s)?;
    for (agent_id, link) in links {
        let first = model.first_link.get(&agent_id).copied().flatten();
        check(link.is_none() || link == first, || {
            format!("{agent_id} linked to {link:?}, first written with {first:?}")
        })?;
    }
    // A (re-)created skill shows only the steps saved since its master row was created.
    for name in NAMES {
        let shown = workflow_steps::get_workflow_steps(conn, name)
            .await
            .map_err(e)?;
        let saved = model.steps.get(name).cloned().unwrap_or_default();
        for step in shown {
            check(saved.contains(&step.step_id), || {
                format!(
                    "{name} shows step {} it never saved since created",
                    step.step_id
                )
            })?;
        }
    }
    Ok(())
}

#[test]
fn random_sequences_keep_usage_views_equal_identity_and_one_active_purpose() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 128,
        ..Config::default()
    });
    let outcome = runner.run(&prop::collection::vec(op(), 1..30), |ops| {
        rt.block_on(async {
            let t = TempDb::open().await;
            let mut writer = t.conn().await;
            let conn: &mut SqliteConnection = &mut writer;
            let mut model = Model::default();
            for op in &ops {
                apply(conn, &mut model, op).await?;
                invariants(conn, &model).await?;
            }
            drop(writer);
            t.close().await;
            Ok(())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
