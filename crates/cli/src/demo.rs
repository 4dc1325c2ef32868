//! A skill's life through the data layer, into a real database: what
//! `skill-builder-db demo` runs, and what `examples/skill_lifecycle.rs` builds on.
//!
//! [`run`] opens (creating or upgrading) the database, walks one new skill named
//! `demo-skill-N` through [`skill_life`] — its workflow run, the editor lock, a workflow
//! session, six steps each with an artifact and an agent run, tags, the usage screen —
//! and then prints the database's [`status`](skill_builder_app::status): schema version and rows
//! per table. Every write goes through the public `skill_builder_db` operations.
//!
//! Running it again adds one more demo skill: `N` is the first number whose name no
//! skill and no workflow run has, so a skill of the user's is never written to, and
//! nothing is deleted. The lock is released and the session ended before it returns,
//! so the demo skill can be opened (or deleted) in the app like any other.
//!
//! ```no_run
//! # async fn demo() -> Result<(), skill_builder_cli::demo::DemoError> {
//! let skill = skill_builder_cli::demo::run("demo.db".as_ref(), &mut std::io::stdout()).await?;
//! println!("walked {skill}");
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use skill_builder_db::{
    agent_runs, artifacts, locks, sessions, skills, tags, usage, workflow_runs, workflow_steps,
};
use skill_builder_model::{
    AgentId, AgentRunStatus, InstanceId, NewAgentRun, StepStatus, WorkflowRunStatus,
    WorkflowSessionId, step_name,
};
use sqlx::SqliteConnection;
use tracing::Instrument;

use skill_builder_app::{Database, OpenError};

/// The names of demo skills: this prefix and a number from 1.
pub const DEMO_SKILL_PREFIX: &str = "demo-skill-";

/// Why the demo stopped. Writes already made stay (each operation commits on its own).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The database could not be opened, upgraded or inspected.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A data operation failed.
    #[error(transparent)]
    Db(#[from] skill_builder_db::Error),
    /// The report could not be written.
    #[error("cannot write the demo's output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<sqlx::Error> for DemoError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Opens (creating or upgrading) the database at `path`, walks a new demo skill through
/// [`skill_life`], and writes what it did and then the database's status to `out`.
/// Returns the demo skill's name.
///
/// # Errors
/// [`DemoError::Open`] when the file is refused (nothing written) or cannot be read
/// back; [`DemoError::Db`] when an operation fails; [`DemoError::Output`] when `out`
/// cannot be written.
pub async fn run(path: &Path, out: &mut impl Write) -> Result<String, DemoError> {
    let span = tracing::info_span!("demo", path = %path.display(), skill = tracing::field::Empty);
    async {
        let db = Database::open(path).await?;
        let report = db.migration_report();
        writeln!(
            out,
            "opened {}: schema version {} -> {} ({} step(s) applied)",
            path.display(),
            report.from_version,
            report.to_version,
            report.applied.len()
        )?;
        let walked = async {
            let mut conn = db.write().await?;
            let skill = free_demo_name(&mut conn).await?;
            tracing::Span::current().record("skill", skill.as_str());
            skill_life(&mut conn, &skill, out).await?;
            Ok::<_, DemoError>(skill)
        }
        .await;
        db.close().await;
        let skill = walked?;

        let status = skill_builder_app::status(path).await?;
        writeln!(out)?;
        writeln!(
            out,
            "status of {}: schema version {}, {} pending step(s)",
            status.path.display(),
            status
                .schema_version
                .map_or_else(|| "-".to_owned(), |v| v.to_string()),
            status.pending.len()
        )?;
        for (table, rows) in &status.tables {
            writeln!(out, "  {table:<24} {rows:>8} rows")?;
        }
        Ok(skill)
    }
    .instrument(span)
    .await
}

/// The first `demo-skill-N` (N from 1) that no skill and no workflow run is named.
async fn free_demo_name(conn: &mut SqliteConnection) -> Result<String, DemoError> {
    let mut taken: BTreeSet<String> = skills::list_all_skills(&mut *conn)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    taken.extend(
        workflow_runs::list_all_workflow_runs(&mut *conn)
            .await?
            .into_iter()
            .map(|r| r.skill_name),
    );
    // `taken` is finite, so one of the first `taken.len() + 1` numbers is free.
    let mut n = 1_usize;
    loop {
        let name = format!("{DEMO_SKILL_PREFIX}{n}");
        if !taken.contains(&name) {
            return Ok(name);
        }
        n += 1;
    }
}

/// A skill's life, as the app lives it: creates `skill` (master row and workflow run),
/// takes the editor lock, opens a workflow session, walks the six steps (each stores an
/// artifact and an agent run), completes the run, ends the session, tags the skill,
/// reads the usage screen, and releases the lock. Writes one line per stage to `out`.
///
/// `skill` should be a name no skill has: the steps, artifacts and run of an existing
/// skill of that name would be overwritten.
///
/// # Errors
/// [`DemoError::Db`] when an operation fails (e.g. another instance holds the lock);
/// [`DemoError::Output`] when `out` cannot be written.
pub async fn skill_life(
    conn: &mut SqliteConnection,
    skill: &str,
    out: &mut impl Write,
) -> Result<(), DemoError> {
    let span = tracing::info_span!("skill_life", skill);
    async {
        let pid = i64::from(std::process::id());

        // Create the skill: a master row and its workflow run.
        workflow_runs::save_workflow_run(
            &mut *conn,
            skill,
            0,
            &WorkflowRunStatus::InProgress,
            "domain",
        )
        .await?;

        // Take the editor lock, as an app instance does before editing.
        let me = InstanceId::new_v4();
        locks::acquire_skill_lock(conn, skill, &me, pid).await?;

        // A workflow session: the unit the usage report counts.
        let session = WorkflowSessionId::new_v4();
        sessions::create_workflow_session(&mut *conn, &session, skill, pid).await?;
        writeln!(
            out,
            "created skill {skill}: workflow run in progress, editor lock taken, session started"
        )?;

        // Walk the six steps; each produces an artifact and an agent run.
        for step in 0..6 {
            workflow_steps::save_workflow_step(&mut *conn, skill, step, &StepStatus::InProgress)
                .await?;
            let content = format!("# {}\n\nFindings of step {step}.\n", step_name(step));
            artifacts::upsert_artifact(
                &mut *conn,
                skill,
                step,
                &format!("step-{step}/notes.md"),
                &content,
            )
            .await?;
            let run = NewAgentRun {
                agent_id: AgentId::new_v4(),
                skill_name: skill.to_owned(),
                step_id: step,
                model: if step == 5 { "opus" } else { "sonnet" }.to_owned(),
                status: AgentRunStatus::Completed,
                input_tokens: 1_000 * (step + 1),
                output_tokens: 300,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
                total_cost: 0.05 * (step + 1) as f64,
                duration_ms: 12_000,
                num_turns: 4,
                stop_reason: Some("end_turn".to_owned()),
                duration_api_ms: Some(11_000),
                tool_use_count: 3,
                compaction_count: 0,
                session_id: None,
                workflow_session_id: Some(session.clone()),
                workflow_run_id: None,
            };
            agent_runs::persist_agent_run(&mut *conn, &run).await?;
            workflow_steps::save_workflow_step(&mut *conn, skill, step, &StepStatus::Completed)
                .await?;
            writeln!(
                out,
                "  step {step} {:<18} artifact step-{step}/notes.md, agent run {} ${:.2}",
                step_name(step),
                run.model,
                run.total_cost
            )?;
        }
        workflow_runs::save_workflow_run(
            &mut *conn,
            skill,
            5,
            &WorkflowRunStatus::Completed,
            "domain",
        )
        .await?;
        sessions::end_workflow_session(&mut *conn, &session).await?;

        let steps = workflow_steps::get_workflow_steps(&mut *conn, skill).await?;
        let files = artifacts::list_artifacts(&mut *conn, skill, None).await?;
        let agents = agent_runs::get_session_agent_runs(&mut *conn, &session).await?;
        writeln!(
            out,
            "run completed, session ended: {} steps completed, {} artifacts, {} agent runs",
            steps.len(),
            files.len(),
            agents.len()
        )?;

        // Tags are trimmed, lower-cased and de-duplicated.
        tags::set_skill_tags(&mut *conn, skill, &["  Sales ", "CRM", "sales"]).await?;
        let tagged = tags::get_tags_for_skills(&mut *conn, &[skill]).await?;
        let tag_list = tagged.get(skill).cloned().unwrap_or_default();
        writeln!(out, "tags: {}", tag_list.join(", "))?;

        // The usage screen (every skill of the database, not only this one).
        let summary = usage::get_usage_summary(&mut *conn, true).await?;
        writeln!(
            out,
            "usage (every skill): {} session(s), ${:.2} in total",
            summary.total_runs, summary.total_cost
        )?;
        let by_model = usage::get_usage_by_model(&mut *conn, true).await?;
        let by_step = usage::get_usage_by_step(&mut *conn, true).await?;
        let lines = (by_model.into_iter())
            .map(|m| ("model", m.model, m.run_count, m.total_cost))
            .chain(
                by_step
                    .into_iter()
                    .map(|s| ("step", s.step_name, s.run_count, s.total_cost)),
            );
        for (by, name, runs, cost) in lines {
            writeln!(out, "  {by:<5} {name:<18} {runs} run(s) ${cost:.2}")?;
        }

        locks::release_skill_lock(&mut *conn, skill, &me).await?;
        writeln!(out, "lock released")?;
        Ok(())
    }
    .instrument(span)
    .await
}
