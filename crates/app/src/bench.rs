//! The standard workload (`shared/spec/workload.md`): six phases, each on a fresh file
//! in a temporary folder, through the public API with the production settings.
//!
//! `skill-builder-db bench` prints one line per phase; the criterion benches in
//! `crates/app/benches/` time the same operations beside a raw rusqlite baseline and
//! reuse the data generators here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), skill_builder_app::bench::BenchError> {
//! use skill_builder_app::bench::{Phase, run_phase};
//! let m = run_phase(Phase::AgentRuns, 1).await?;
//! println!("{} {} {}", Phase::AgentRuns, m.value, m.unit);
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use skill_builder_db::{agent_runs, artifacts, sessions, skills, tags, usage};
use skill_builder_db::{workflow_runs, workflow_steps};
use skill_builder_model::{
    AgentId, AgentRunStatus, NewAgentRun, SkillSource, StepStatus, WorkflowRunStatus,
    WorkflowSessionId,
};
use sqlx::SqlitePool;

use crate::{Database, OpenError};

/// One phase of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Create a new file: baseline + 28 steps + repair, ready for queries (median ms of 20).
    OpenCold,
    /// Open an up-to-date file (median ms of 50).
    OpenWarm,
    /// 20,000 `persist_agent_run` calls, autocommit (calls/s).
    AgentRuns,
    /// List all skills, then their tags in one batch call; 2,000 skills × 4 tags (median ms of 20).
    Catalog,
    /// Usage summary, by model, by step, 50 recent sessions, all hiding cancelled
    /// (median ms of 20).
    Analytics,
    /// Per skill: run, 6 steps in progress then completed, 6 artifacts of 8 KiB,
    /// 3 tags; 300 skills (skills/s).
    Workflow,
}

impl Phase {
    /// Every phase, in the order they run.
    pub const ALL: [Phase; 6] = [
        Phase::OpenCold,
        Phase::OpenWarm,
        Phase::AgentRuns,
        Phase::Catalog,
        Phase::Analytics,
        Phase::Workflow,
    ];

    /// The phase's name in workload.md (`open_cold`, …).
    pub fn name(self) -> &'static str {
        match self {
            Phase::OpenCold => "open_cold",
            Phase::OpenWarm => "open_warm",
            Phase::AgentRuns => "agent_runs",
            Phase::Catalog => "catalog",
            Phase::Analytics => "analytics",
            Phase::Workflow => "workflow",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Phase {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| BenchError::UnknownPhase(s.to_owned()))
    }
}

/// The unit of a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Milliseconds (median), lower is better.
    #[serde(rename = "ms")]
    Ms,
    /// Calls per second, higher is better.
    #[serde(rename = "calls/s")]
    CallsPerSec,
    /// Skills per second, higher is better.
    #[serde(rename = "skills/s")]
    SkillsPerSec,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Ms => "ms",
            Unit::CallsPerSec => "calls/s",
            Unit::SkillsPerSec => "skills/s",
        })
    }
}

/// One phase's result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// `--phase` named no phase.
    #[error(
        "unknown phase '{0}' (one of open_cold, open_warm, agent_runs, catalog, analytics, workflow)"
    )]
    UnknownPhase(String),
    /// Opening a database failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A data operation failed.
    #[error(transparent)]
    Db(#[from] skill_builder_db::Error),
    /// A database error outside the data operations (pool, transaction).
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// The temporary folder could not be created.
    #[error("temporary folder: {0}")]
    Io(#[from] std::io::Error),
}

/// Sizes of the standard workload, multiplied by `scale` (1 = workload.md).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `persist_agent_run` calls.
    pub agent_runs: u64,
    /// Skills in the catalogue.
    pub catalog_skills: u64,
    /// Workflow sessions for the analytics.
    pub sessions: u64,
    /// Skills built in the workflow phase.
    pub workflow_skills: u64,
}

impl Sizes {
    /// The standard sizes times `scale`.
    pub fn scaled(scale: u32) -> Self {
        let s = u64::from(scale.max(1));
        Self {
            agent_runs: 20_000 * s,
            catalog_skills: 2_000 * s,
            sessions: 1_000 * s,
            workflow_skills: 300 * s,
        }
    }
}

const MODELS: [&str; 3] = ["sonnet", "opus", "haiku"];

/// Agent run number `i` of the workload.
pub fn agent_run(i: u64) -> NewAgentRun {
    let tokens = i64::try_from(i % 5000).unwrap_or(0);
    NewAgentRun {
        agent_id: AgentId::from(format!("a{i}")),
        skill_name: format!("s{}", i % 200),
        step_id: i64::try_from(i % 6).unwrap_or(0),
        model: MODELS[usize::try_from(i % 3).unwrap_or(0)].to_owned(),
        status: AgentRunStatus::Completed,
        input_tokens: tokens,
        output_tokens: tokens,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        total_cost: (i % 100) as f64 / 100.0,
        duration_ms: 1000,
        num_turns: 3,
        stop_reason: Some("end_turn".to_owned()),
        duration_api_ms: Some(900),
        tool_use_count: 2,
        compaction_count: 0,
        session_id: Some(format!("sdk-{i}")),
        workflow_session_id: Some(WorkflowSessionId::from(format!("ws{}", i % 1000))),
        workflow_run_id: None,
    }
}

/// Insert agent runs `0..n` in one transaction (setup, not timed).
///
/// # Errors
/// Any operation's error.
pub async fn seed_agent_runs(pool: &SqlitePool, n: u64) -> Result<(), BenchError> {
    let mut tx = pool.begin().await?;
    for i in 0..n {
        agent_runs::persist_agent_run(&mut *tx, &agent_run(i)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Workflow sessions `ws0..ws{n}` on skills `s{j % 200}` (setup, not timed).
///
/// # Errors
/// Any operation's error.
pub async fn seed_sessions(pool: &SqlitePool, n: u64) -> Result<(), BenchError> {
    let pid = i64::from(std::process::id());
    let mut tx = pool.begin().await?;
    for j in 0..n {
        let id = WorkflowSessionId::from(format!("ws{j}"));
        sessions::create_workflow_session(&mut *tx, &id, &format!("s{}", j % 200), pid).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `n` skills named `skill-{i:05}`, each with 4 tags (setup, not timed).
///
/// # Errors
/// Any operation's error.
pub async fn seed_catalog(pool: &SqlitePool, n: u64) -> Result<(), BenchError> {
    let mut tx = pool.begin().await?;
    for i in 0..n {
        let name = format!("skill-{i:05}");
        skills::upsert_skill(&mut tx, &name, &SkillSource::Marketplace, Some("domain")).await?;
        let tag_set = [
            format!("team-{}", i % 10),
            format!("area-{}", i % 7),
            format!("tier-{}", i % 3),
            "catalog".to_owned(),
        ];
        tags::set_skill_tags(&mut *tx, &name, &tag_set).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The catalogue screen: all skills, then their tags in one batch call.
///
/// # Errors
/// Any operation's error.
pub async fn catalog_once(pool: &SqlitePool) -> Result<usize, BenchError> {
    let all = skills::list_all_skills(pool).await?;
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let tagged = tags::get_tags_for_skills(pool, &names).await?;
    Ok(tagged.len())
}

/// The usage screen: summary, by model, by step, 50 recent sessions (hiding cancelled).
///
/// # Errors
/// Any operation's error.
pub async fn analytics_once(pool: &SqlitePool) -> Result<usize, BenchError> {
    let summary = usage::get_usage_summary(pool, true).await?;
    let by_model = usage::get_usage_by_model(pool, true).await?;
    let by_step = usage::get_usage_by_step(pool, true).await?;
    let recent = usage::get_recent_workflow_sessions(pool, 50, true).await?;
    Ok(usize::try_from(summary.total_runs).unwrap_or(0)
        + by_model.len()
        + by_step.len()
        + recent.len())
}

/// The 8 KiB artifact content of the workflow phase.
pub fn artifact_content(i: u64, step: i64) -> String {
    let mut s = format!("# skill {i} step {step}\n");
    while s.len() < 8192 {
        s.push_str("Research notes line, repeated to fill eight kibibytes of markdown.\n");
    }
    s.truncate(8192);
    s
}

/// Build skill `i` the way the workflow screen does.
///
/// # Errors
/// Any operation's error.
pub async fn workflow_skill(pool: &SqlitePool, i: u64) -> Result<(), BenchError> {
    let name = format!("wf-{i:05}");
    let mut conn = pool.acquire().await?;
    workflow_runs::save_workflow_run(
        &mut *conn,
        &name,
        0,
        &WorkflowRunStatus::InProgress,
        "domain",
    )
    .await?;
    for step in 0..6 {
        workflow_steps::save_workflow_step(&mut *conn, &name, step, &StepStatus::InProgress)
            .await?;
        workflow_steps::save_workflow_step(&mut *conn, &name, step, &StepStatus::Completed).await?;
    }
    for step in 0..6 {
        let path = format!("step-{step}/output.md");
        artifacts::upsert_artifact(&mut *conn, &name, step, &path, &artifact_content(i, step))
            .await?;
    }
    let tag_set = [
        "workflow",
        "generated",
        if i.is_multiple_of(2) { "even" } else { "odd" },
    ];
    tags::set_skill_tags(&mut *conn, &name, &tag_set).await?;
    Ok(())
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let n = samples.len();
    if n == 0 {
        return 0.0;
    }
    let mid = if n % 2 == 1 {
        samples[n / 2].as_secs_f64()
    } else {
        (samples[n / 2 - 1].as_secs_f64() + samples[n / 2].as_secs_f64()) / 2.0
    };
    mid * 1000.0
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// The median time, in ms, of `n` runs of `screen`.
async fn median_of(
    n: usize,
    mut screen: impl AsyncFnMut() -> Result<usize, BenchError>,
) -> Result<Measurement, BenchError> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        screen().await?;
        samples.push(started.elapsed());
    }
    Ok(Measurement {
        value: median_ms(samples),
        unit: Unit::Ms,
    })
}

/// The median time, in ms, of `n` opens of `path(i)`, `i` in `0..n` (closing each
/// database again is not timed).
async fn median_open(n: usize, path: impl Fn(usize) -> PathBuf) -> Result<Measurement, BenchError> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let db = Database::open(path(i)).await?;
        samples.push(started.elapsed());
        db.close().await;
    }
    Ok(Measurement {
        value: median_ms(samples),
        unit: Unit::Ms,
    })
}

async fn fresh(dir: &Path, name: &str) -> Result<Database, BenchError> {
    Ok(Database::open(dir.join(name)).await?)
}

/// Run one phase at `scale` × the standard sizes, on fresh files in a temporary folder.
///
/// # Errors
/// Any error of opening or of the operations.
#[tracing::instrument(name = "bench_phase", skip_all, fields(phase = phase.name(), scale), err)]
pub async fn run_phase(phase: Phase, scale: u32) -> Result<Measurement, BenchError> {
    let dir = tempfile::tempdir()?;
    let sizes = Sizes::scaled(scale);
    let m = match phase {
        Phase::OpenCold => median_open(20, |i| dir.path().join(format!("cold-{i}.db"))).await?,
        Phase::OpenWarm => {
            let path = dir.path().join("warm.db");
            Database::open(&path).await?.close().await;
            median_open(50, |_| path.clone()).await?
        }
        Phase::AgentRuns => {
            let db = fresh(dir.path(), "agent-runs.db").await?;
            let started = Instant::now();
            for i in 0..sizes.agent_runs {
                agent_runs::persist_agent_run(db.pool(), &agent_run(i)).await?;
            }
            let value = per_second(sizes.agent_runs, started.elapsed());
            db.close().await;
            Measurement {
                value,
                unit: Unit::CallsPerSec,
            }
        }
        Phase::Catalog => {
            let db = fresh(dir.path(), "catalog.db").await?;
            seed_catalog(db.pool(), sizes.catalog_skills).await?;
            let m = median_of(20, async || catalog_once(db.pool()).await).await?;
            db.close().await;
            m
        }
        Phase::Analytics => {
            let db = fresh(dir.path(), "analytics.db").await?;
            seed_agent_runs(db.pool(), sizes.agent_runs).await?;
            seed_sessions(db.pool(), sizes.sessions).await?;
            let m = median_of(20, async || analytics_once(db.pool()).await).await?;
            db.close().await;
            m
        }
        Phase::Workflow => {
            let db = fresh(dir.path(), "workflow.db").await?;
            let started = Instant::now();
            for i in 0..sizes.workflow_skills {
                workflow_skill(db.pool(), i).await?;
            }
            let value = per_second(sizes.workflow_skills, started.elapsed());
            db.close().await;
            Measurement {
                value,
                unit: Unit::SkillsPerSec,
            }
        }
    };
    Ok(m)
}
