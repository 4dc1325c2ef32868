//! A skill's life through the data layer, start to finish:
//! open → create → steps → artifacts → agent runs → tags → lock → usage report → delete.
//!
//! The same life, kept instead of deleted, is what `skill-builder-db demo` runs
//! (`skill_builder_cli::demo::skill_life`); this example walks it with
//! `skill-builder-app` alone, in one transaction, then deletes the skill.
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

    // Open: creates the file (0600), applies the migrations, one WAL writer.
    let db = Database::open(&path).await?;
    println!(
        "opened {} at schema version {}",
        path.display(),
        db.migration_report().to_version
    );
    let skill = "sales-pipeline";
    let pid = i64::from(std::process::id());

    // The whole life in one transaction: all of it happens or none.
    let mut tx = db.begin().await?;

    // Create the skill (a master row and its workflow run), take the editor lock,
    // start a workflow session (the unit the usage report counts).
    workflow_runs::save_workflow_run(&mut tx, skill, 0, &WorkflowRunStatus::InProgress, "domain")
        .await?;
    let me = InstanceId::new_v4();
    locks::acquire_skill_lock(&mut tx, skill, &me, pid).await?;
    let session = WorkflowSessionId::new_v4();
    sessions::create_workflow_session(&mut tx, &session, skill, pid).await?;
    println!("created {skill}: workflow run in progress, lock taken, session started");

    // Six steps, each with an artifact and an agent run.
    for step in 0..6 {
        workflow_steps::save_workflow_step(&mut tx, skill, step, &StepStatus::InProgress).await?;
        let content = format!("# {}\n\nFindings of step {step}.\n", step_name(step));
        artifacts::upsert_artifact(
            &mut tx,
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
        agent_runs::persist_agent_run(&mut tx, &run).await?;
        workflow_steps::save_workflow_step(&mut tx, skill, step, &StepStatus::Completed).await?;
        println!(
            "  step {step} {:<18} {} ${:.2}",
            step_name(step),
            run.model,
            run.total_cost
        );
    }
    workflow_runs::save_workflow_run(&mut tx, skill, 5, &WorkflowRunStatus::Completed, "domain")
        .await?;
    sessions::end_workflow_session(&mut tx, &session).await?;

    // Tags are trimmed, lower-cased and de-duplicated.
    tags::set_skill_tags(&mut tx, skill, &["  Sales ", "CRM", "sales"]).await?;
    let tagged = tags::get_tags_for_skills(&mut tx, &[skill]).await?;
    println!(
        "tags: {}",
        tagged.get(skill).cloned().unwrap_or_default().join(", ")
    );
    locks::release_skill_lock(&mut tx, skill, &me).await?;
    tx.commit().await?;

    // The usage screen, on a read-only connection (every skill of the database).
    let summary = usage::get_usage_summary(&mut db.read().await?, true).await?;
    println!(
        "usage: {} session(s), ${:.2} in total",
        summary.total_runs, summary.total_cost
    );

    // Delete the skill with everything attached to it.
    let mut conn = db.write().await?;
    workflow_runs::delete_workflow_run(&mut conn, skill).await?;
    let left = skills::list_all_skills(&mut conn).await?;
    println!("deleted; {} skill(s) left", left.len());

    drop(conn);
    db.close().await;
    Ok(())
}
