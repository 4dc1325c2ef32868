//! Agent runs (`agent_runs`): persist and the record reads of operations.md §12, the
//! §15 "Agent runs" lines, and the §14.1/§14.2 fixes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{AgentRunStatus, NewAgentRun, WorkflowRunId, WorkflowSessionId};
use skill_builder_db::{Entity, Error, InvalidInput, agent_runs};
use sqlx::SqliteConnection;

fn run(agent: &str, model: &str, status: AgentRunStatus) -> NewAgentRun {
    NewAgentRun {
        agent_id: agent.into(),
        skill_name: "alpha".into(),
        step_id: 1,
        model: model.into(),
        status,
        input_tokens: 100,
        output_tokens: 50,
        cache_read_tokens: 10,
        cache_write_tokens: 5,
        total_cost: 0.25,
        duration_ms: 1234,
        num_turns: 0,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: Some("sdk-1".into()),
        workflow_session_id: Some("ws-1".into()),
        workflow_run_id: None,
    }
}

async fn persist(conn: &mut SqliteConnection, r: &NewAgentRun) {
    agent_runs::persist_agent_run(conn, r).await.unwrap();
}

async fn add_run(conn: &mut SqliteConnection, skill: &str) -> WorkflowRunId {
    sqlx::query!(
        "INSERT INTO skills (name, skill_source) VALUES (?, 'skill-builder')",
        skill
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query_scalar!(
        r#"INSERT INTO workflow_runs (skill_name, skill_id)
           VALUES (?1, (SELECT id FROM skills WHERE name = ?1))
           RETURNING id AS "id: WorkflowRunId""#,
        skill
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn stored(
    conn: &mut SqliteConnection,
    agent: &str,
    model: &str,
) -> skill_builder_db::model::AgentRun {
    let session = sqlx::query_scalar!(
        r#"SELECT workflow_session_id AS "s!" FROM agent_runs WHERE agent_id = ? AND model = ?"#,
        agent,
        model
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    agent_runs::get_session_agent_runs(conn, &session.into())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.agent_id.as_str() == agent && r.model == model)
        .unwrap()
}

#[tokio::test]
async fn persist_agent_run_stores_every_field() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let mut r = run("agent-1", "sonnet", AgentRunStatus::Completed);
    r.session_id = Some("sdk-42".into());
    persist(&mut conn, &r).await;
    let recent = agent_runs::get_recent_runs(&mut conn, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    let got = &recent[0];
    assert_eq!(got.agent_id.as_str(), "agent-1");
    assert_eq!(got.skill_name, "alpha");
    assert_eq!(got.step_id, 1);
    assert_eq!(got.model, "sonnet");
    assert_eq!(got.status, AgentRunStatus::Completed);
    assert_eq!((got.input_tokens, got.output_tokens), (100, 50));
    assert_eq!((got.cache_read_tokens, got.cache_write_tokens), (10, 5));
    assert!((got.total_cost - 0.25).abs() < 1e-12);
    assert_eq!(got.duration_ms, 1234);
    assert!(!got.started_at.is_empty());
    assert!(got.completed_at.is_some());
    assert_eq!(
        (got.num_turns, got.tool_use_count, got.compaction_count),
        (0, 0, 0)
    );
    assert_eq!(got.stop_reason, None);
    assert_eq!(got.duration_api_ms, None);
    assert_eq!(got.session_id.as_deref(), Some("sdk-42"));
    assert_eq!(
        got.workflow_session_id,
        Some(WorkflowSessionId::from("ws-1"))
    );
    assert_eq!(got.reset_marker, None);
    assert_eq!(got.workflow_run_id, None);
}

#[tokio::test]
async fn every_optional_field_round_trips() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = add_run(&mut conn, "alpha").await;
    let mut r = run("agent-1", "opus", AgentRunStatus::Error);
    r.num_turns = 7;
    r.stop_reason = Some("max_tokens".into());
    r.duration_api_ms = Some(999);
    r.tool_use_count = 3;
    r.compaction_count = 2;
    r.workflow_run_id = Some(id);
    persist(&mut conn, &r).await;
    let got = stored(&mut conn, "agent-1", "opus").await;
    assert_eq!(got.status, AgentRunStatus::Error);
    assert_eq!(got.num_turns, 7);
    assert_eq!(got.stop_reason.as_deref(), Some("max_tokens"));
    assert_eq!(got.duration_api_ms, Some(999));
    assert_eq!((got.tool_use_count, got.compaction_count), (3, 2));
    assert_eq!(got.workflow_run_id, Some(id));
    let ts = got.completed_at.unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
}

#[tokio::test]
async fn a_run_persisted_without_an_sdk_session_id_reads_back_with_none() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let mut r = run("agent-1", "sonnet", AgentRunStatus::Completed);
    r.session_id = None;
    persist(&mut conn, &r).await;
    let got = agent_runs::get_recent_runs(&mut conn, 10).await.unwrap();
    assert_eq!(got[0].session_id, None);
}

#[tokio::test]
async fn a_shutdown_persist_does_not_overwrite_an_earlier_completed_row() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    let mut snap = run("agent-1", "sonnet", AgentRunStatus::Shutdown);
    snap.input_tokens = 1;
    snap.output_tokens = 2;
    snap.total_cost = 0.01;
    persist(&mut conn, &snap).await;
    let got = stored(&mut conn, "agent-1", "sonnet").await;
    assert_eq!(got.status, AgentRunStatus::Completed);
    assert_eq!((got.input_tokens, got.output_tokens), (100, 50));
    assert!((got.total_cost - 0.25).abs() < 1e-12);
}

#[tokio::test]
async fn a_shutdown_persist_does_overwrite_a_running_row() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Running),
    )
    .await;
    let mut snap = run("agent-1", "sonnet", AgentRunStatus::Shutdown);
    snap.total_cost = 0.07;
    persist(&mut conn, &snap).await;
    let got = stored(&mut conn, "agent-1", "sonnet").await;
    assert_eq!(got.status, AgentRunStatus::Shutdown);
    assert!((got.total_cost - 0.07).abs() < 1e-12);
    assert!(got.completed_at.is_some());
}

#[tokio::test]
async fn persisting_the_same_agent_id_and_model_twice_leaves_one_row_with_the_latest_values() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Running),
    )
    .await;
    sqlx::query!("UPDATE agent_runs SET started_at = '2020-01-01 00:00:00Z'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let mut latest = run("agent-1", "sonnet", AgentRunStatus::Completed);
    latest.input_tokens = 999;
    latest.step_id = 4;
    latest.session_id = None;
    persist(&mut conn, &latest).await;
    let count = sqlx::query_scalar!("SELECT COUNT(*) FROM agent_runs")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let got = stored(&mut conn, "agent-1", "sonnet").await;
    assert_eq!(got.input_tokens, 999);
    assert_eq!(got.step_id, 4);
    assert_eq!(got.status, AgentRunStatus::Completed);
    assert_eq!(got.session_id, None);
    // The first persist time is kept.
    assert_eq!(got.started_at, "2020-01-01 00:00:00Z");
}

#[tokio::test]
async fn the_same_agent_id_with_two_models_yields_two_rows_in_the_session_list() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    persist(
        &mut conn,
        &run("agent-1", "opus", AgentRunStatus::Completed),
    )
    .await;
    let rows = agent_runs::get_session_agent_runs(&mut conn, &"ws-1".into())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let mut models: Vec<_> = rows.iter().map(|r| r.model.as_str()).collect();
    models.sort_unstable();
    assert_eq!(models, ["opus", "sonnet"]);
}

#[tokio::test]
async fn get_step_agent_runs_returns_a_completed_run_of_that_step_once_linked() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let id = add_run(&mut conn, "alpha").await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    // The old layer never set the link; the test of the old layer set it by hand.
    sqlx::query!("UPDATE agent_runs SET workflow_run_id = ?", id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let rows = agent_runs::get_step_agent_runs(&mut conn, "alpha", 1)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].agent_id.as_str(), "agent-1");
    assert!(
        agent_runs::get_step_agent_runs(&mut conn, "alpha", 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        agent_runs::get_step_agent_runs(&mut conn, "unknown", 1)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn persist_fills_workflow_run_id_from_the_skill_name() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    // No run yet: NULL link. (Its own workflow session: that session's row, created
    // with the run, is detached too, and runs of a detached session are never linked.)
    let early = NewAgentRun {
        workflow_session_id: Some("ws-early".into()),
        ..run("early", "sonnet", AgentRunStatus::Completed)
    };
    persist(&mut conn, &early).await;
    assert_eq!(
        stored(&mut conn, "early", "sonnet").await.workflow_run_id,
        None
    );
    let id = add_run(&mut conn, "alpha").await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    assert_eq!(
        stored(&mut conn, "agent-1", "sonnet").await.workflow_run_id,
        Some(id)
    );
    // Issue 10: a row first written while the skill had no run is detached history;
    // persisting it again does not adopt it into the run created since.
    persist(&mut conn, &early).await;
    assert_eq!(
        stored(&mut conn, "early", "sonnet").await.workflow_run_id,
        None
    );
    // Without any fix-up by hand, the step read sees the linked rows, error rows too.
    persist(&mut conn, &run("agent-2", "opus", AgentRunStatus::Error)).await;
    persist(&mut conn, &run("agent-3", "opus", AgentRunStatus::Running)).await;
    let rows = agent_runs::get_step_agent_runs(&mut conn, "alpha", 1)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status.is_final()));
}

#[tokio::test]
async fn an_explicit_workflow_run_id_is_kept_and_a_dangling_one_fails() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let other = add_run(&mut conn, "other").await;
    add_run(&mut conn, "alpha").await;
    let mut r = run("agent-1", "sonnet", AgentRunStatus::Completed);
    r.workflow_run_id = Some(other);
    persist(&mut conn, &r).await;
    assert_eq!(
        stored(&mut conn, "agent-1", "sonnet").await.workflow_run_id,
        Some(other)
    );
    r.agent_id = "agent-2".into();
    r.workflow_run_id = Some(WorkflowRunId::new(9999));
    let err = agent_runs::persist_agent_run(&mut conn, &r)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { entity: Entity::WorkflowRun, key } if key == "9999"),
        "{err:?}"
    );
    let count = sqlx::query_scalar!("SELECT count(*) FROM agent_runs WHERE agent_id = 'agent-2'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing written");
}

#[tokio::test]
async fn an_update_keeps_the_reset_marker() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Running),
    )
    .await;
    sqlx::query!("UPDATE agent_runs SET reset_marker = '2026-01-01 00:00:00Z'")
        .execute(&mut *conn)
        .await
        .unwrap();
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    let got = stored(&mut conn, "agent-1", "sonnet").await;
    assert_eq!(got.reset_marker.as_deref(), Some("2026-01-01 00:00:00Z"));
    assert_eq!(got.status, AgentRunStatus::Completed);
    assert!(
        agent_runs::get_recent_runs(&mut conn, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_running_row_has_no_completed_at() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Running),
    )
    .await;
    assert_eq!(
        stored(&mut conn, "agent-1", "sonnet").await.completed_at,
        None
    );
    persist(
        &mut conn,
        &run("agent-1", "sonnet", AgentRunStatus::Completed),
    )
    .await;
    assert!(
        stored(&mut conn, "agent-1", "sonnet")
            .await
            .completed_at
            .is_some()
    );
}

#[tokio::test]
async fn a_running_snapshot_does_not_overwrite_a_finished_row() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for status in [AgentRunStatus::Completed, AgentRunStatus::Error] {
        let agent = format!("agent-{status}");
        let mut done = run(&agent, "sonnet", status.clone());
        done.total_cost = 0.5;
        persist(&mut conn, &done).await;
        let mut late = run(&agent, "sonnet", AgentRunStatus::Running);
        late.total_cost = 0.1;
        persist(&mut conn, &late).await;
        let got = stored(&mut conn, &agent, "sonnet").await;
        assert_eq!(got.status, status);
        assert!((got.total_cost - 0.5).abs() < 1e-12);
        assert!(got.completed_at.is_some());
    }
    // A final status may still replace another final status.
    persist(
        &mut conn,
        &run("agent-completed", "sonnet", AgentRunStatus::Error),
    )
    .await;
    assert_eq!(
        stored(&mut conn, "agent-completed", "sonnet").await.status,
        AgentRunStatus::Error
    );
    // Unknown statuses are stored as they are.
    persist(
        &mut conn,
        &run("agent-x", "sonnet", AgentRunStatus::from("paused")),
    )
    .await;
    assert_eq!(
        stored(&mut conn, "agent-x", "sonnet").await.status,
        AgentRunStatus::from("paused")
    );
}

#[tokio::test]
async fn null_counts_read_back_as_zero() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, status, workflow_session_id,
                                 cache_read_tokens, cache_write_tokens, num_turns, tool_use_count,
                                 compaction_count)
         VALUES ('bare', 'alpha', 2, 'haiku', 'completed', 'ws-1', NULL, NULL, NULL, NULL, NULL)"
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let got = stored(&mut conn, "bare", "haiku").await;
    assert_eq!(
        (
            got.input_tokens,
            got.output_tokens,
            got.cache_read_tokens,
            got.cache_write_tokens
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(got.total_cost, 0.0);
    assert_eq!(
        (
            got.duration_ms,
            got.num_turns,
            got.tool_use_count,
            got.compaction_count
        ),
        (0, 0, 0, 0)
    );
    assert_eq!((got.duration_api_ms, got.completed_at), (None, None));
}

#[tokio::test]
async fn recent_runs_are_newest_first_limited_and_skip_reset_rows() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for (agent, completed) in [
        ("old", "2026-01-01 00:00:00Z"),
        ("new", "2026-03-01 00:00:00Z"),
        ("mid", "2026-02-01 00:00:00Z"),
    ] {
        persist(&mut conn, &run(agent, "sonnet", AgentRunStatus::Completed)).await;
        sqlx::query!(
            "UPDATE agent_runs SET completed_at = ? WHERE agent_id = ?",
            completed,
            agent
        )
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let mut no_session = run("running", "sonnet", AgentRunStatus::Running);
    no_session.workflow_session_id = None;
    persist(&mut conn, &no_session).await;
    let names = |rows: Vec<skill_builder_db::model::AgentRun>| {
        rows.into_iter()
            .map(|r| r.agent_id.into_inner())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(agent_runs::get_recent_runs(&mut conn, 10).await.unwrap()),
        ["new", "mid", "old", "running"]
    );
    assert_eq!(
        names(agent_runs::get_recent_runs(&mut conn, 2).await.unwrap()),
        ["new", "mid"]
    );
    assert!(
        agent_runs::get_recent_runs(&mut conn, 0)
            .await
            .unwrap()
            .is_empty()
    );
    sqlx::query!("UPDATE agent_runs SET reset_marker = 'r' WHERE agent_id = 'new'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        names(agent_runs::get_recent_runs(&mut conn, 10).await.unwrap()),
        ["mid", "old", "running"]
    );
}

#[tokio::test]
async fn session_runs_are_in_start_order_and_include_reset_rows() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    for (agent, started) in [("b", "2026-01-02 00:00:00Z"), ("a", "2026-01-01 00:00:00Z")] {
        persist(&mut conn, &run(agent, "sonnet", AgentRunStatus::Completed)).await;
        sqlx::query!(
            "UPDATE agent_runs SET started_at = ? WHERE agent_id = ?",
            started,
            agent
        )
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let mut elsewhere = run("c", "sonnet", AgentRunStatus::Completed);
    elsewhere.workflow_session_id = Some("ws-2".into());
    persist(&mut conn, &elsewhere).await;
    sqlx::query!("UPDATE agent_runs SET reset_marker = 'r'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let rows = agent_runs::get_session_agent_runs(&mut conn, &"ws-1".into())
        .await
        .unwrap();
    let agents: Vec<_> = rows.iter().map(|r| r.agent_id.as_str()).collect();
    assert_eq!(agents, ["a", "b"]);
    assert!(rows.iter().all(|r| r.reset_marker.as_deref() == Some("r")));
    assert!(
        agent_runs::get_session_agent_runs(&mut conn, &"none".into())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn step_runs_skip_reset_rows_and_are_newest_first() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    add_run(&mut conn, "alpha").await;
    for (agent, completed) in [
        ("a", "2026-01-01 00:00:00Z"),
        ("b", "2026-02-01 00:00:00Z"),
        ("c", "2026-03-01 00:00:00Z"),
    ] {
        persist(&mut conn, &run(agent, "sonnet", AgentRunStatus::Completed)).await;
        sqlx::query!(
            "UPDATE agent_runs SET completed_at = ? WHERE agent_id = ?",
            completed,
            agent
        )
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query!("UPDATE agent_runs SET reset_marker = 'r' WHERE agent_id = 'c'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let rows = agent_runs::get_step_agent_runs(&mut conn, "alpha", 1)
        .await
        .unwrap();
    let agents: Vec<_> = rows.iter().map(|r| r.agent_id.as_str()).collect();
    assert_eq!(agents, ["b", "a"]);
}

#[tokio::test]
async fn invalid_agent_run_inputs_are_refused() {
    let t = common::open_temp().await;
    let mut conn = t.conn().await;
    let mut r = run("agent-1", "sonnet", AgentRunStatus::Completed);
    r.skill_name = "  ".into();
    let err = agent_runs::persist_agent_run(&mut conn, &r)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Empty {
                field: "skill_name"
            })
        ),
        "{err:?}"
    );
    let mut r = run("agent\0", "sonnet", AgentRunStatus::Completed);
    let err = agent_runs::persist_agent_run(&mut conn, &r)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::ContainsNul { field: "agent_id" })
        ),
        "{err:?}"
    );
    r.agent_id = "agent-1".into();
    r.model = "son\0net".into();
    let err = agent_runs::persist_agent_run(&mut conn, &r)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::ContainsNul { field: "model" })
        ),
        "{err:?}"
    );
    assert!(
        agent_runs::get_recent_runs(&mut conn, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn legacy_agent_runs_read_back() {
    for fixture in ["v00", "v17", "v28"] {
        let t = common::open_legacy(fixture).await;
        let mut conn = t.conn().await;
        let recent = agent_runs::get_recent_runs(&mut conn, 100).await.unwrap();
        assert!(recent.len() >= 2, "{fixture}");
        let ag1 = recent
            .iter()
            .find(|r| r.agent_id.as_str() == "ag-1")
            .unwrap();
        assert_eq!(ag1.status, AgentRunStatus::Completed);
        assert_eq!(ag1.input_tokens, 1000);
        assert!((ag1.total_cost - 0.25).abs() < 1e-12);
        assert_eq!(ag1.cache_read_tokens, 0);
        if fixture != "v00" {
            let session = agent_runs::get_session_agent_runs(&mut conn, &"ws-1".into())
                .await
                .unwrap();
            assert_eq!(session.len(), 3, "{fixture}");
            let step = agent_runs::get_step_agent_runs(&mut conn, "alpha", 0)
                .await
                .unwrap();
            assert_eq!(step.len(), 1, "{fixture}");
        }
    }
}
