//! A dependent app shaped like Skill Builder's Tauri backend, without Tauri (which
//! links GTK and WebKit on Linux): the same bounds, checked by the compiler.
//!
//! - The [`Database`] is shared state (Tauri's `State<'_, Database>`; here an
//!   `Arc`-backed clone per command).
//! - Each command is an `async fn` returning `Result<T, Error>` whose future is
//!   spawned on a multi-thread runtime ([`command`] requires `Send + 'static`, as
//!   Tauri does for `#[tauri::command] async fn`).
//! - Errors cross to the front end as JSON: `{ "kind": "…", "message": "…" }`.
//!
//! Run it with `cargo run -p tauri-backend-example` (a temporary database), or pass
//! a path: `cargo run -p tauri-backend-example -- /tmp/demo.db`.

use std::future::Future;

use serde::Serialize;
use skill_builder_app::Database;
use skill_builder_app::db::model::{
    AgentId, AgentRunStatus, NewAgentRun, StepStatus, UsageSummary, WorkflowRunStatus,
    WorkflowSessionId,
};
use skill_builder_app::db::{Error, agent_runs, sessions, usage, workflow_runs, workflow_steps};

/// What the front end receives: the value, or the error's `{ kind, message }`.
fn to_json<T: Serialize>(result: &Result<T, Error>) -> serde_json::Value {
    match result {
        Ok(value) => serde_json::json!({ "ok": value }),
        Err(error) => serde_json::json!({ "error": error }),
    }
}

/// Spawn a command's future as Tauri does: on the multi-thread runtime, so it must
/// be `Send + 'static`.
async fn command<T, F>(future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(future).await {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// Command: create a skill (its master row and workflow run) in one transaction.
async fn create_skill(db: Database, name: String) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    workflow_runs::save_workflow_run(&mut tx, &name, 0, &WorkflowRunStatus::Pending, "domain")
        .await?;
    tx.commit().await
}

/// Command: finish a workflow step — the step's status, the run's current step and
/// a new session, all or nothing.
async fn complete_step(db: Database, name: String, step: i64) -> Result<WorkflowSessionId, Error> {
    let mut tx = db.begin().await?;
    workflow_steps::save_workflow_step(&mut tx, &name, step, &StepStatus::Completed).await?;
    workflow_runs::save_workflow_run(
        &mut tx,
        &name,
        step + 1,
        &WorkflowRunStatus::InProgress,
        "domain",
    )
    .await?;
    let session = WorkflowSessionId::new_v4();
    sessions::create_workflow_session(&mut tx, &session, &name, i64::from(std::process::id()))
        .await?;
    tx.commit().await?;
    Ok(session)
}

/// Command: record an agent run (one event of the agent's stream; autocommit).
async fn record_agent_run(
    db: Database,
    name: String,
    session: WorkflowSessionId,
    cost: f64,
) -> Result<(), Error> {
    let run = NewAgentRun {
        agent_id: AgentId::new_v4(),
        skill_name: name,
        step_id: 1,
        model: "sonnet".to_owned(),
        status: AgentRunStatus::Completed,
        input_tokens: 1200,
        output_tokens: 800,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        total_cost: cost,
        duration_ms: 4200,
        num_turns: 3,
        stop_reason: Some("end_turn".to_owned()),
        duration_api_ms: Some(3900),
        tool_use_count: 2,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: Some(session),
        workflow_run_id: None,
    };
    agent_runs::persist_agent_run(&mut db.write().await?, &run).await
}

/// Command: the usage screen's summary, read on the read-only connections.
async fn usage_screen(db: Database) -> Result<UsageSummary, Error> {
    usage::get_usage_summary(&mut db.read().await?, true).await
}

/// Run the commands in the order a front end would, printing what each returns
/// (as JSON) on its own line; returns those lines.
async fn run(db: &Database) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut lines = Vec::new();
    let mut show = |name: &str, json: serde_json::Value| {
        let line = format!("{name:<17} -> {json}");
        println!("{line}");
        lines.push(line);
    };
    let name = format!("example-skill-{}", std::process::id());

    let created = command(create_skill(db.clone(), name.clone())).await;
    show("create_skill", to_json(&created));
    let session = command(complete_step(db.clone(), name.clone(), 0)).await;
    show("complete_step", to_json(&session));
    let session = session?;
    // Several agent events at once, as the stream delivers them: each command
    // waits for the writer in turn.
    let recorded: Vec<_> = (1..=4)
        .map(|i| {
            let cost = f64::from(i) / 100.0;
            let run = record_agent_run(db.clone(), name.clone(), session.clone(), cost);
            tokio::spawn(command(run))
        })
        .collect();
    for handle in recorded {
        show("record_agent_run", to_json(&handle.await?));
    }
    let summary = command(usage_screen(db.clone())).await;
    show("usage_screen", to_json(&summary));
    // An error, as the front end sees it.
    let refused = command(create_skill(db.clone(), String::new())).await;
    show("create_skill(\"\")", to_json(&refused));
    Ok(lines)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| dir.path().join("skill-builder.db"), Into::into);
    let db = Database::open(&path).await?;
    let result = run(&db).await;
    db.close().await;
    result.map(drop)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_commands_run_spawned_and_answer_in_json() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::Database::open(dir.path().join("app.db"))
            .await
            .unwrap();
        let lines = super::run(&db).await.unwrap();
        db.close().await;
        assert_eq!(lines.len(), 8, "{lines:#?}");
        assert!(lines[0].ends_with(r#"{"ok":null}"#), "{}", lines[0]);
        assert!(lines[1].contains(r#"{"ok":""#), "{}", lines[1]);
        assert!(
            lines[2..6].iter().all(|l| l.ends_with(r#"{"ok":null}"#)),
            "{lines:#?}"
        );
        // One session whose four agent runs cost 0.01 + 0.02 + 0.03 + 0.04, summed in
        // the order the spawned commands reached the writer (6 of the 24 orders give
        // 0.09999999999999999).
        let (_, json) = lines[6].split_once("-> ").expect("a command line");
        let summary: serde_json::Value = serde_json::from_str(json).expect("JSON");
        assert_eq!(summary["ok"]["total_runs"], 1, "{}", lines[6]);
        let cost = summary["ok"]["total_cost"].as_f64().expect("a cost");
        assert!((cost - 0.1).abs() < 1e-12, "{}", lines[6]);
        assert!(
            lines[7].ends_with(
                r#"{"error":{"kind":"invalid_input","message":"skill_name must not be empty"}}"#
            ),
            "{}",
            lines[7]
        );
    }
}
