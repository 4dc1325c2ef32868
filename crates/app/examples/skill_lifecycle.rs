//! A skill's life through the data layer, start to finish:
//! open → create → steps → artifacts → agent runs → tags → lock → usage report → delete.
//!
//! ```sh
//! cargo run -p skill-builder-app --example skill_lifecycle            # temporary database
//! cargo run -p skill-builder-app --example skill_lifecycle -- my.db   # or a file of yours
//! ```

use skill_builder_app::Database;
use skill_builder_app::db::{
    agent_runs, artifacts, locks, sessions, skills, tags, usage, workflow_runs, workflow_steps,
};
use skill_builder_app::model::{
    AgentId, AgentRunStatus, InstanceId, NewAgentRun, StepStatus, WorkflowRunStatus,
    WorkflowSessionId, step_name,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| dir.path().join("skill-builder.db"), Into::into);

    // Open: creates the file (0600), applies the migrations, one WAL connection.
    let db = Database::open(&path).await?;
    println!(
        "opened {} at schema version {}",
        path.display(),
        db.migration_report().to_version
    );
    let pool = db.pool();
    let mut conn = pool.acquire().await?;
    let skill = "sales-pipeline";
    let pid = i64::from(std::process::id());

    // Create the skill: a master row and its workflow run, in one transaction.
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
    locks::acquire_skill_lock(&mut conn, skill, &me, pid).await?;

    // A workflow session: the unit the usage report counts.
    let session = WorkflowSessionId::new_v4();
    sessions::create_workflow_session(&mut *conn, &session, skill, pid).await?;

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
        workflow_steps::save_workflow_step(&mut *conn, skill, step, &StepStatus::Completed).await?;
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
    println!(
        "{} steps completed, {} artifacts stored",
        steps.len(),
        files.len()
    );

    // Tags are trimmed, lower-cased and de-duplicated.
    tags::set_skill_tags(&mut *conn, skill, &["  Sales ", "CRM", "sales"]).await?;
    let tagged = tags::get_tags_for_skills(&mut *conn, &[skill]).await?;
    println!("tags: {:?}", tagged.get(skill));

    // The usage screen.
    let summary = usage::get_usage_summary(&mut *conn, true).await?;
    println!(
        "usage: {} session(s), ${:.2} in total",
        summary.total_runs, summary.total_cost
    );
    for m in usage::get_usage_by_model(&mut *conn, true).await? {
        println!(
            "  {:<7} {} run(s) ${:.2}",
            m.model, m.run_count, m.total_cost
        );
    }
    for s in usage::get_usage_by_step(&mut *conn, true).await? {
        println!(
            "  {:<18} {} run(s) ${:.2}",
            s.step_name, s.run_count, s.total_cost
        );
    }

    // Release the lock and delete the skill with everything attached to it.
    locks::release_skill_lock(&mut *conn, skill, &me).await?;
    workflow_runs::delete_workflow_run(&mut conn, skill).await?;
    let left = skills::list_all_skills(&mut *conn).await?;
    println!("deleted; {} skill(s) left", left.len());

    drop(conn);
    db.close().await;
    Ok(())
}
