//! The standard workload (`shared/spec/workload.md`): six phases, each on a fresh file
//! in a temporary folder, through the public API with the production settings, then
//! `contention`: the writer's latency while the usage screen is read on the readers,
//! and `recent_runs`: `get_recent_runs(50)` alone on the analytics data.
//!
//! `skill-builder-db bench` prints one line per phase; the criterion benches in
//! `crates/cli/benches/` time the same operations beside a raw rusqlite baseline and
//! reuse the data generators here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), skill_builder_cli::bench::BenchError> {
//! use skill_builder_cli::bench::{Phase, run_phase};
//! let m = run_phase(Phase::AgentRuns, 1).await?;
//! println!("{} {} {}", Phase::AgentRuns, m.value, m.unit);
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use skill_builder_app::{Database, OpenError};
use skill_builder_db::{Reader, Writer};
use skill_builder_db::{agent_runs, artifacts, sessions, skills, tags, usage};
use skill_builder_db::{workflow_runs, workflow_steps};
use skill_builder_model::{
    AgentId, AgentRunStatus, NewAgentRun, SkillSource, StepStatus, WorkflowRunStatus,
    WorkflowSessionId,
};

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
    /// The usage screen ([`usage_screen`]): summary, by model, by step, 50 recent
    /// sessions (all hiding cancelled) and the 50 most recent agent runs (median ms of
    /// 20).
    Analytics,
    /// Per skill: run, 6 steps in progress then completed, 6 artifacts of 8 KiB,
    /// 3 tags; 300 skills (skills/s).
    Workflow,
    /// p99 ms of `persist_agent_run` (at least 10,000 calls, and as many as 5 screens
    /// take) while the usage screen is read in a loop on the readers, on the analytics
    /// data; also the p99 of 10,000 calls with no reader and the median screen time.
    Contention,
    /// `get_recent_runs(50)` alone ([`recent_runs_once`]) on the analytics data (same
    /// seeding as [`Phase::Analytics`]; median ms of 20).
    RecentRuns,
    /// The layer's floor: `SELECT 1` through the path every write operation takes
    /// ([`hop_once`]: take the writer, one statement, release), as many calls as the
    /// agent_runs phase (calls/s). Everything an operation costs above this is its
    /// SQL.
    Hop,
}

impl Phase {
    /// Every phase, in the order they run.
    pub const ALL: [Phase; 9] = [
        Phase::OpenCold,
        Phase::OpenWarm,
        Phase::AgentRuns,
        Phase::Catalog,
        Phase::Analytics,
        Phase::Workflow,
        Phase::Contention,
        Phase::RecentRuns,
        Phase::Hop,
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
            Phase::Contention => "contention",
            Phase::RecentRuns => "recent_runs",
            Phase::Hop => "hop",
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
    /// `contention` only: p99 ms of the same writes with no reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alone_p99_ms: Option<f64>,
    /// `contention` only: median ms of one usage screen on the readers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_ms: Option<f64>,
}

impl Measurement {
    /// A figure without the contention details.
    pub fn new(value: f64, unit: Unit) -> Self {
        Self {
            value,
            unit,
            alone_p99_ms: None,
            screen_ms: None,
        }
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// `--phase` named no phase.
    #[error(
        "unknown phase '{0}' (one of open_cold, open_warm, agent_runs, catalog, analytics, workflow, contention, recent_runs, hop)"
    )]
    UnknownPhase(String),
    /// Opening a database failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A data operation failed.
    #[error(transparent)]
    Db(#[from] skill_builder_db::Error),
    /// A database error outside the data operations (db, transaction).
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// The temporary folder (or the screen thread's runtime) could not be created.
    #[error("temporary folder: {0}")]
    Io(#[from] std::io::Error),
    /// The thread reading the usage screen in the contention phase panicked.
    #[error("the usage screen thread of the contention phase panicked")]
    ScreenThread,
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
pub async fn seed_agent_runs(db: &Database, n: u64) -> Result<(), BenchError> {
    let mut tx = db.begin().await?;
    for i in 0..n {
        agent_runs::persist_agent_run(&mut tx, &agent_run(i)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Workflow sessions `ws0..ws{n}` on skills `s{j % 200}` (setup, not timed).
///
/// # Errors
/// Any operation's error.
pub async fn seed_sessions(db: &Database, n: u64) -> Result<(), BenchError> {
    let pid = i64::from(std::process::id());
    let mut tx = db.begin().await?;
    for j in 0..n {
        let id = WorkflowSessionId::from(format!("ws{j}"));
        sessions::create_workflow_session(&mut tx, &id, &format!("s{}", j % 200), pid).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `n` skills named `skill-{i:05}`, each with 4 tags (setup, not timed).
///
/// # Errors
/// Any operation's error.
pub async fn seed_catalog(db: &Database, n: u64) -> Result<(), BenchError> {
    let mut tx = db.begin().await?;
    for i in 0..n {
        let name = format!("skill-{i:05}");
        skills::upsert_skill(&mut tx, &name, &SkillSource::Marketplace, Some("domain")).await?;
        let tag_set = [
            format!("team-{}", i % 10),
            format!("area-{}", i % 7),
            format!("tier-{}", i % 3),
            "catalog".to_owned(),
        ];
        tags::set_skill_tags(&mut tx, &name, &tag_set).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The catalogue screen: all skills, then their tags in one batch call.
///
/// # Errors
/// Any operation's error.
pub async fn catalog_once(db: &mut dyn Reader) -> Result<usize, BenchError> {
    let all = skills::list_all_skills(db).await?;
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let tagged = tags::get_tags_for_skills(db, &names).await?;
    Ok(tagged.len())
}

/// The usage screen as the app shows it: summary, by model, by step, 50 recent
/// sessions (hiding cancelled) and the 50 most recent agent runs. The app passes the
/// readers ([`Database::read`]); the analytics phase passes the writer, as the
/// baseline has one connection.
///
/// # Errors
/// Any operation's error.
pub async fn usage_screen(db: &mut dyn Reader) -> Result<usize, BenchError> {
    let summary = usage::get_usage_summary(db, true).await?;
    let by_model = usage::get_usage_by_model(db, true).await?;
    let by_step = usage::get_usage_by_step(db, true).await?;
    let recent = usage::get_recent_workflow_sessions(db, 50, true).await?;
    let runs = agent_runs::get_recent_runs(db, 50).await?;
    Ok(usize::try_from(summary.total_runs).unwrap_or(0)
        + by_model.len()
        + by_step.len()
        + recent.len()
        + runs.len())
}

/// The analytics phase's screen: [`usage_screen`] (kept under this name for the
/// benches).
///
/// # Errors
/// Any operation's error.
pub async fn analytics_once(db: &mut dyn Reader) -> Result<usize, BenchError> {
    usage_screen(db).await
}

/// The `recent_runs` phase's call: the 50 most recent agent runs, as the usage
/// screen lists them.
///
/// # Errors
/// Any operation's error.
pub async fn recent_runs_once(db: &mut dyn Reader) -> Result<usize, BenchError> {
    Ok(agent_runs::get_recent_runs(db, 50).await?.len())
}

/// One call of the `hop` phase: take the writer as an operation's caller does
/// ([`Database::write`]), run `SELECT 1` on it as an operation waits (a cached
/// prepared statement, one round trip to the connection's worker thread,
/// [`skill_builder_db::spin`]), release it.
///
/// # Errors
/// The database error.
pub async fn hop_once(db: &Database) -> Result<i64, BenchError> {
    let mut conn = db.write().await?;
    // unchecked-ok: the floor of a statement, no table involved.
    Ok(skill_builder_db::spin::spin_then_park(
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&mut *conn),
    )
    .await?)
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
pub async fn workflow_skill(conn: &mut dyn Writer, i: u64) -> Result<(), BenchError> {
    let name = format!("wf-{i:05}");
    workflow_runs::save_workflow_run(conn, &name, 0, &WorkflowRunStatus::InProgress, "domain")
        .await?;
    for step in 0..6 {
        workflow_steps::save_workflow_step(conn, &name, step, &StepStatus::InProgress).await?;
        workflow_steps::save_workflow_step(conn, &name, step, &StepStatus::Completed).await?;
    }
    for step in 0..6 {
        let path = format!("step-{step}/output.md");
        artifacts::upsert_artifact(conn, &name, step, &path, &artifact_content(i, step)).await?;
    }
    let tag_set = [
        "workflow",
        "generated",
        if i.is_multiple_of(2) { "even" } else { "odd" },
    ];
    tags::set_skill_tags(conn, &name, &tag_set).await?;
    Ok(())
}

/// `persist_agent_run` calls timed in each half of the contention phase (at least).
pub const CONTENTION_WRITES: u64 = 10_000;

/// Usage screens read, at least, while the contention phase times writes beside them.
pub const CONTENTION_SCREENS: u64 = 5;

/// Time `n` `persist_agent_run` calls on the writer, one each, numbered from `*next`.
///
/// # Errors
/// Any operation's error.
pub async fn timed_writes(
    db: &Database,
    next: &mut u64,
    n: u64,
) -> Result<Vec<Duration>, BenchError> {
    let mut samples = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for _ in 0..n {
        let run = agent_run(*next);
        *next += 1;
        let started = Instant::now();
        let mut conn = db.write().await?;
        agent_runs::persist_agent_run(&mut conn, &run).await?;
        drop(conn);
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// The usage screen ([`usage_screen`]) read in a loop on the readers, on its own
/// thread and runtime (as the app's UI would be), until stopped.
#[derive(Debug)]
pub struct ScreenLoop {
    stop: Arc<AtomicBool>,
    screens: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<Result<Vec<Duration>, BenchError>>,
}

impl ScreenLoop {
    /// Start reading the usage screen of `db` on its readers, screen after screen;
    /// returns once the first screen is in flight.
    pub async fn start(db: &Database) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let screens = Arc::new(AtomicU64::new(0));
        let thread = {
            let (db, stop, screens) = (db.clone(), Arc::clone(&stop), Arc::clone(&screens));
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        screens.fetch_add(1, Ordering::Relaxed);
                        let started = Instant::now();
                        let mut reader = db.read().await?;
                        usage_screen(&mut reader).await?;
                        samples.push(started.elapsed());
                    }
                    Ok(samples)
                })
            })
        };
        while screens.load(Ordering::Relaxed) == 0 && !thread.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Self {
            stop,
            screens,
            thread,
        }
    }

    /// Screens started so far.
    pub fn screens(&self) -> u64 {
        self.screens.load(Ordering::Relaxed)
    }

    /// Whether the loop ended by itself (a screen failed or the thread panicked).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Stop after the screen in flight; every finished screen's time.
    ///
    /// # Errors
    /// A screen's error, or [`BenchError::ScreenThread`] if the thread panicked.
    pub fn stop(self) -> Result<Vec<Duration>, BenchError> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| BenchError::ScreenThread)?
    }
}

/// The contention phase: p99 of `persist_agent_run` while the usage screen is read in
/// a loop on the readers, beside the p99 with no reader and the median screen time.
async fn contention(dir: &Path, sizes: Sizes) -> Result<Measurement, BenchError> {
    let db = fresh(dir, "contention.db").await?;
    seed_agent_runs(&db, sizes.agent_runs).await?;
    seed_sessions(&db, sizes.sessions).await?;
    let mut next = sizes.agent_runs;
    // Warm the writer's statement and page caches before either half is timed.
    timed_writes(&db, &mut next, 100).await?;
    let alone = timed_writes(&db, &mut next, CONTENTION_WRITES).await?;
    // The writes are timed once the first screen is in flight, and go on (in batches)
    // until at least CONTENTION_WRITES are timed and CONTENTION_SCREENS screens have
    // been read beside them, so that slow screens are covered start to end.
    let screens = ScreenLoop::start(&db).await;
    let mut during = Vec::new();
    let mut failed = None;
    while during.len() < CONTENTION_WRITES as usize || screens.screens() <= CONTENTION_SCREENS {
        match timed_writes(&db, &mut next, CONTENTION_WRITES / 10).await {
            Ok(batch) => during.extend(batch),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
        if screens.is_finished() {
            break;
        }
    }
    let screens = screens.stop()?;
    if let Some(e) = failed {
        return Err(e);
    }
    db.close().await;
    Ok(Measurement {
        alone_p99_ms: Some(percentile_ms(alone, 0.99)),
        screen_ms: Some(median_ms(screens)),
        ..Measurement::new(percentile_ms(during, 0.99), Unit::Ms)
    })
}

/// The `q` quantile (nearest rank) of `samples`, in ms.
fn percentile_ms(mut samples: Vec<Duration>, q: f64) -> f64 {
    samples.sort();
    if samples.is_empty() {
        return 0.0;
    }
    let rank = ((samples.len() as f64) * q).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
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
    Ok(Measurement::new(median_ms(samples), Unit::Ms))
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
    Ok(Measurement::new(median_ms(samples), Unit::Ms))
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
                let mut conn = db.write().await?;
                agent_runs::persist_agent_run(&mut conn, &agent_run(i)).await?;
            }
            let value = per_second(sizes.agent_runs, started.elapsed());
            db.close().await;
            Measurement::new(value, Unit::CallsPerSec)
        }
        Phase::Catalog => {
            let db = fresh(dir.path(), "catalog.db").await?;
            seed_catalog(&db, sizes.catalog_skills).await?;
            let m = median_of(20, async || catalog_once(&mut db.write().await?).await).await?;
            db.close().await;
            m
        }
        Phase::Analytics => {
            let db = fresh(dir.path(), "analytics.db").await?;
            seed_agent_runs(&db, sizes.agent_runs).await?;
            seed_sessions(&db, sizes.sessions).await?;
            let m = median_of(20, async || analytics_once(&mut db.write().await?).await).await?;
            db.close().await;
            m
        }
        Phase::Workflow => {
            let db = fresh(dir.path(), "workflow.db").await?;
            let started = Instant::now();
            for i in 0..sizes.workflow_skills {
                let mut conn = db.write().await?;
                workflow_skill(&mut conn, i).await?;
            }
            let value = per_second(sizes.workflow_skills, started.elapsed());
            db.close().await;
            Measurement::new(value, Unit::SkillsPerSec)
        }
        Phase::Contention => contention(dir.path(), sizes).await?,
        Phase::Hop => {
            let db = fresh(dir.path(), "hop.db").await?;
            let started = Instant::now();
            for _ in 0..sizes.agent_runs {
                hop_once(&db).await?;
            }
            let value = per_second(sizes.agent_runs, started.elapsed());
            db.close().await;
            Measurement::new(value, Unit::CallsPerSec)
        }
        Phase::RecentRuns => {
            let db = fresh(dir.path(), "recent-runs.db").await?;
            seed_agent_runs(&db, sizes.agent_runs).await?;
            seed_sessions(&db, sizes.sessions).await?;
            let m = median_of(20, async || recent_runs_once(&mut db.write().await?).await).await?;
            db.close().await;
            m
        }
    };
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contention_measurement_serializes_value_unit_then_its_details() {
        let m = Measurement {
            alone_p99_ms: Some(0.5),
            screen_ms: Some(2.25),
            ..Measurement::new(1.5, Unit::Ms)
        };
        assert_eq!(
            serde_json::to_string(&m).ok().as_deref(),
            Some(r#"{"value":1.5,"unit":"ms","alone_p99_ms":0.5,"screen_ms":2.25}"#)
        );
        assert_eq!(
            serde_json::to_string(&Measurement::new(3.0, Unit::CallsPerSec))
                .ok()
                .as_deref(),
            Some(r#"{"value":3.0,"unit":"calls/s"}"#)
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(samples.clone(), 0.99), 99.0);
        assert_eq!(percentile_ms(samples, 0.5), 50.0);
        assert_eq!(percentile_ms(Vec::new(), 0.99), 0.0);
        assert_eq!("contention".parse::<Phase>().ok(), Some(Phase::Contention));
    }

    #[test]
    fn every_phase_parses_from_its_name_and_is_listed_in_the_error() {
        let unknown = "nope"
            .parse::<Phase>()
            .expect_err("'nope' is no phase")
            .to_string();
        for phase in Phase::ALL {
            assert_eq!(phase.name().parse::<Phase>().ok(), Some(phase));
            assert!(unknown.contains(phase.name()), "{unknown} lacks {phase}");
        }
        assert_eq!("recent_runs".parse::<Phase>().ok(), Some(Phase::RecentRuns));
    }
}
