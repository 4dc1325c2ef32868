//! Usage analytics and reset: operations.md §12 and the §15 "Agent runs and usage"
//! lines about reports.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;

use skill_builder_db::model::{AgentRunStatus, NewAgentRun, step_name};
use skill_builder_db::{Error, agent_runs, sessions, usage};
use sqlx::SqliteConnection;

const EPS: f64 = 1e-9;

fn me() -> i64 {
    i64::from(std::process::id())
}

async fn session(conn: &mut SqliteConnection, id: &str, skill: &str) {
    sessions::create_workflow_session(conn, &id.into(), skill, me())
        .await
        .unwrap();
}

/// Persist an agent row: (agent, model, step, status, cost, workflow session).
async fn agent(
    conn: &mut SqliteConnection,
    agent: &str,
    model: &str,
    step: i64,
    status: AgentRunStatus,
    cost: f64,
    ws: Option<&str>,
) {
    let run = NewAgentRun {
        agent_id: agent.into(),
        skill_name: "alpha".into(),
        step_id: step,
        model: model.into(),
        status,
        input_tokens: 100,
        output_tokens: 10,
        cache_read_tokens: 1,
        cache_write_tokens: 2,
        total_cost: cost,
        duration_ms: 1000,
        num_turns: 1,
        stop_reason: None,
        duration_api_ms: None,
        tool_use_count: 0,
        compaction_count: 0,
        session_id: None,
        workflow_session_id: ws.map(Into::into),
        workflow_run_id: None,
    };
    agent_runs::persist_agent_run(conn, &run).await.unwrap();
}

async fn done(
    conn: &mut SqliteConnection,
    name: &str,
    model: &str,
    step: i64,
    cost: f64,
    ws: &str,
) {
    agent(
        conn,
        name,
        model,
        step,
        AgentRunStatus::Completed,
        cost,
        Some(ws),
    )
    .await;
}

async fn reset(conn: &mut SqliteConnection) {
    usage::reset_usage(conn).await.unwrap();
}

#[tokio::test]
async fn summary_over_three_agent_rows_in_one_session_including_a_running_one() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 1, 0.20, "ws-1").await;
    agent(
        &mut *t.conn().await,
        "c",
        "opus",
        2,
        AgentRunStatus::Running,
        0.11,
        Some("ws-1"),
    )
    .await;
    let s = usage::get_usage_summary(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(s.total_runs, 1);
    assert!((s.total_cost - 0.41).abs() < EPS, "{s:?}");
    assert!((s.avg_cost_per_run - 0.41).abs() < EPS, "{s:?}");
}

#[tokio::test]
async fn summary_on_an_empty_store_is_zero() {
    let t = common::open_temp().await;
    for hide in [false, true] {
        let s = usage::get_usage_summary(&mut *t.conn().await, hide)
            .await
            .unwrap();
        assert_eq!(s.total_runs, 0);
        assert_eq!(s.total_cost, 0.0);
        assert_eq!(s.avg_cost_per_run, 0.0);
    }
}

#[tokio::test]
async fn summary_over_three_sessions_with_five_agent_rows() {
    let t = common::open_temp().await;
    for ws in ["ws-1", "ws-2", "ws-3"] {
        session(&mut *t.conn().await, ws, "alpha").await;
    }
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 1, 0.20, "ws-1").await;
    done(&mut *t.conn().await, "c", "sonnet", 0, 0.30, "ws-2").await;
    done(&mut *t.conn().await, "d", "opus", 1, 0.13, "ws-2").await;
    done(&mut *t.conn().await, "e", "opus", 0, 0.30, "ws-3").await;
    // A row without a workflow session never counts.
    agent(
        &mut *t.conn().await,
        "f",
        "opus",
        0,
        AgentRunStatus::Completed,
        5.0,
        None,
    )
    .await;
    let s = usage::get_usage_summary(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(s.total_runs, 3);
    assert!((s.total_cost - 1.03).abs() < EPS, "{s:?}");
    assert!((s.avg_cost_per_run - 1.03 / 3.0).abs() < EPS, "{s:?}");
}

#[tokio::test]
async fn summary_with_hide_cancelled_excludes_a_session_whose_only_agent_row_cost_zero() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-paid", "alpha").await;
    session(&mut *t.conn().await, "ws-cancelled", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.20, "ws-paid").await;
    agent(
        &mut *t.conn().await,
        "b",
        "sonnet",
        0,
        AgentRunStatus::Shutdown,
        0.0,
        Some("ws-cancelled"),
    )
    .await;
    let all = usage::get_usage_summary(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(all.total_runs, 2);
    assert!((all.avg_cost_per_run - 0.10).abs() < EPS);
    let shown = usage::get_usage_summary(&mut *t.conn().await, true)
        .await
        .unwrap();
    assert_eq!(shown.total_runs, 1);
    assert!((shown.total_cost - 0.20).abs() < EPS);
}

#[tokio::test]
async fn hide_cancelled_keeps_sessions_without_agent_rows() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-empty", "alpha").await;
    session(&mut *t.conn().await, "ws-null-cost", "alpha").await;
    // A row whose cost is NULL counts as zero cost: the session is hidden.
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, workflow_session_id)
         VALUES ('n', 'alpha', 0, 'sonnet', 'ws-null-cost')"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let s = usage::get_usage_summary(&mut *t.conn().await, true)
        .await
        .unwrap();
    assert_eq!(s.total_runs, 1);
    assert_eq!(s.total_cost, 0.0);
    let listed = usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, true)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let empty = &listed[0];
    assert_eq!(empty.session_id.as_str(), "ws-empty");
    assert_eq!(
        (empty.min_step, empty.max_step, empty.agent_count),
        (0, 0, 0)
    );
    assert_eq!(empty.steps_csv, "");
    assert_eq!(empty.total_cost, 0.0);
    assert_eq!(
        (
            empty.total_input_tokens,
            empty.total_output_tokens,
            empty.total_cache_read,
            empty.total_cache_write,
            empty.total_duration_ms
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(empty.completed_at, None);
    assert_eq!(
        usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, false)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn reset_usage_zeroes_the_summary_and_later_records_count_again() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.40, "ws-1").await;
    agent(
        &mut *t.conn().await,
        "b",
        "sonnet",
        0,
        AgentRunStatus::Completed,
        0.1,
        None,
    )
    .await;
    reset(&mut *t.conn().await).await;
    let s = usage::get_usage_summary(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(
        (s.total_runs, s.total_cost, s.avg_cost_per_run),
        (0, 0.0, 0.0)
    );
    assert!(
        agent_runs::get_recent_runs(&mut *t.conn().await, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    session(&mut *t.conn().await, "ws-2", "alpha").await;
    done(&mut *t.conn().await, "c", "sonnet", 0, 0.05, "ws-2").await;
    let s = usage::get_usage_summary(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(s.total_runs, 1);
    assert!((s.total_cost - 0.05).abs() < EPS);
    assert_eq!(
        agent_runs::get_recent_runs(&mut *t.conn().await, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn after_reset_usage_by_step_and_by_model_are_empty() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.40, "ws-1").await;
    assert_eq!(
        usage::get_usage_by_step(&mut *t.conn().await, false)
            .await
            .unwrap()
            .len(),
        1
    );
    reset(&mut *t.conn().await).await;
    assert!(
        usage::get_usage_by_step(&mut *t.conn().await, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        usage::get_usage_by_model(&mut *t.conn().await, false)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn reset_usage_keeps_earlier_markers_and_stamps_runs_and_sessions_alike() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    session(&mut *t.conn().await, "ws-old", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.40, "ws-1").await;
    sqlx::query!(
        "UPDATE workflow_sessions SET reset_marker = 'earlier' WHERE session_id = 'ws-old'"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    reset(&mut *t.conn().await).await;
    let old = sessions::get_workflow_session(&mut *t.conn().await, &"ws-old".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.reset_marker.as_deref(), Some("earlier"));
    let new = sessions::get_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap()
        .unwrap();
    let run = agent_runs::get_session_agent_runs(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    let stamp = new.reset_marker.unwrap();
    assert!(stamp.ends_with('Z') && stamp.len() == 20, "{stamp}");
    assert_eq!(run[0].reset_marker.as_deref(), Some(stamp.as_str()));
}

#[tokio::test]
async fn a_failed_reset_stamps_nothing() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.40, "ws-1").await;
    sqlx::query!(
        "CREATE TEMP TRIGGER fail_session_reset BEFORE UPDATE ON workflow_sessions
         BEGIN SELECT RAISE(ABORT, 'reset refused'); END"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let err = usage::reset_usage(&mut *t.conn().await).await.unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert_eq!(
        agent_runs::get_recent_runs(&mut *t.conn().await, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        usage::get_usage_summary(&mut *t.conn().await, false)
            .await
            .unwrap()
            .total_runs,
        1
    );
}

#[tokio::test]
async fn by_step_usage_groups_by_step_orders_by_cost_and_names_steps() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "opus", 5, 0.25, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 1, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "c", "sonnet", 1, 0.08, "ws-1").await;
    agent(
        &mut *t.conn().await,
        "d",
        "sonnet",
        3,
        AgentRunStatus::Completed,
        9.0,
        None,
    )
    .await;
    let steps = usage::get_usage_by_step(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (
            steps[0].step_id,
            steps[0].step_name.as_str(),
            steps[0].run_count
        ),
        (5, "Generate Skill", 1)
    );
    assert!((steps[0].total_cost - 0.25).abs() < EPS);
    assert_eq!(
        (
            steps[1].step_id,
            steps[1].step_name.as_str(),
            steps[1].run_count
        ),
        (1, "Review", 2)
    );
    assert!((steps[1].total_cost - 0.18).abs() < EPS);
}

#[tokio::test]
async fn by_model_usage_groups_by_model_ordered_by_cost() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "opus", 0, 0.50, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 1, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "c", "sonnet", 2, 0.05, "ws-1").await;
    let models = usage::get_usage_by_model(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!((models[0].model.as_str(), models[0].run_count), ("opus", 1));
    assert!((models[0].total_cost - 0.50).abs() < EPS);
    assert_eq!(
        (models[1].model.as_str(), models[1].run_count),
        ("sonnet", 2)
    );
    assert!((models[1].total_cost - 0.15).abs() < EPS);
}

#[tokio::test]
async fn the_same_agent_id_with_two_models_is_attributed_to_each_model() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.20, "ws-1").await;
    done(&mut *t.conn().await, "a", "opus", 0, 0.30, "ws-1").await;
    assert_eq!(
        agent_runs::get_session_agent_runs(&mut *t.conn().await, &"ws-1".into())
            .await
            .unwrap()
            .len(),
        2
    );
    let models = usage::get_usage_by_model(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].model, "opus");
    assert!((models[0].total_cost - 0.30).abs() < EPS);
    assert_eq!(models[1].model, "sonnet");
    assert!((models[1].total_cost - 0.20).abs() < EPS);
}

#[tokio::test]
async fn by_step_and_by_model_hide_cancelled_filters_rows() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 1, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 1, 0.0, "ws-1").await;
    done(&mut *t.conn().await, "c", "haiku", 2, 0.0, "ws-1").await;
    sqlx::query!(
        "INSERT INTO agent_runs (agent_id, skill_name, step_id, model, workflow_session_id)
         VALUES ('n', 'alpha', 4, 'haiku', 'ws-1')"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    let all = usage::get_usage_by_step(&mut *t.conn().await, false)
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|s| (s.step_id, s.run_count))
            .collect::<Vec<_>>(),
        [(1, 2), (2, 1), (4, 1)]
    );
    // NULL costs sum to 0.0 through the override.
    assert_eq!(all[2].total_cost, 0.0);
    let shown = usage::get_usage_by_step(&mut *t.conn().await, true)
        .await
        .unwrap();
    assert_eq!(
        shown
            .iter()
            .map(|s| (s.step_id, s.run_count))
            .collect::<Vec<_>>(),
        [(1, 1)]
    );
    let models = usage::get_usage_by_model(&mut *t.conn().await, true)
        .await
        .unwrap();
    assert_eq!(
        models
            .iter()
            .map(|m| (m.model.as_str(), m.run_count))
            .collect::<Vec<_>>(),
        [("sonnet", 1)]
    );
    // The session's own reset state is not consulted.
    sqlx::query!("UPDATE workflow_sessions SET reset_marker = 'r'")
        .execute(&mut *t.conn().await)
        .await
        .unwrap();
    assert_eq!(
        usage::get_usage_by_step(&mut *t.conn().await, true)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn recent_sessions_report_per_session_skill_cost_and_tokens() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    session(&mut *t.conn().await, "ws-2", "beta").await;
    sqlx::query!(
        "UPDATE workflow_sessions SET started_at = '2026-01-01 00:00:00Z' WHERE session_id = 'ws-1'"
    )
    .execute(&mut *t.conn().await)
    .await
    .unwrap();
    done(&mut *t.conn().await, "a", "sonnet", 2, 0.10, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 0, 0.20, "ws-1").await;
    done(&mut *t.conn().await, "c", "opus", 4, 0.70, "ws-2").await;
    sessions::end_workflow_session(&mut *t.conn().await, &"ws-1".into())
        .await
        .unwrap();
    let list = usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, false)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    // Newest first.
    let (second, first) = (&list[0], &list[1]);
    assert_eq!(
        (second.session_id.as_str(), second.skill_name.as_str()),
        ("ws-2", "beta")
    );
    assert!((second.total_cost - 0.70).abs() < EPS);
    assert_eq!(second.completed_at, None);
    assert_eq!(
        (first.session_id.as_str(), first.skill_name.as_str()),
        ("ws-1", "alpha")
    );
    assert!((first.total_cost - 0.30).abs() < EPS);
    assert_eq!(
        (first.total_input_tokens, first.total_output_tokens),
        (200, 20)
    );
    assert_eq!(
        (
            first.total_cache_read,
            first.total_cache_write,
            first.total_duration_ms
        ),
        (2, 4, 2000)
    );
    assert_eq!(
        (first.min_step, first.max_step, first.steps_csv.as_str()),
        (0, 2, "0,2")
    );
    assert_eq!(first.started_at, "2026-01-01 00:00:00Z");
    assert!(first.completed_at.is_some());
    let limited = usage::get_recent_workflow_sessions(&mut *t.conn().await, 1, false)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].session_id.as_str(), "ws-2");
}

#[tokio::test]
async fn recent_sessions_with_hide_cancelled_omit_a_zero_cost_session() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-paid", "alpha").await;
    session(&mut *t.conn().await, "ws-zero", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 0, 0.20, "ws-paid").await;
    done(&mut *t.conn().await, "b", "sonnet", 0, 0.0, "ws-zero").await;
    let shown = usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, true)
        .await
        .unwrap();
    assert_eq!(
        shown
            .iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["ws-paid"]
    );
    assert_eq!(
        usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, false)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn session_agent_count_counts_distinct_agent_ids_while_cost_sums_every_row() {
    let t = common::open_temp().await;
    session(&mut *t.conn().await, "ws-1", "alpha").await;
    done(&mut *t.conn().await, "a", "sonnet", 1, 0.20, "ws-1").await;
    done(&mut *t.conn().await, "a", "opus", 1, 0.30, "ws-1").await;
    done(&mut *t.conn().await, "b", "sonnet", 3, 0.13, "ws-1").await;
    let list = usage::get_recent_workflow_sessions(&mut *t.conn().await, 10, false)
        .await
        .unwrap();
    assert_eq!(list[0].agent_count, 2);
    assert!((list[0].total_cost - 0.63).abs() < EPS);
    assert_eq!(list[0].steps_csv, "1,3");
}

#[tokio::test]
async fn the_step_name_table_maps_zero_to_five_and_anything_else_to_step_n() {
    let names: Vec<_> = (0..=5).map(step_name).collect();
    assert_eq!(
        names,
        [
            "Research",
            "Review",
            "Detailed Research",
            "Review",
            "Confirm Decisions",
            "Generate Skill"
        ]
    );
    assert_eq!(step_name(6), "Step 6");
    assert_eq!(step_name(-1), "Step -1");
    assert_eq!(step_name(99), "Step 99");
}

#[tokio::test]
async fn legacy_usage_reads_back() {
    for fixture in ["v00", "v17", "v28"] {
        let t = common::open_legacy(fixture).await;
        let s = usage::get_usage_summary(&mut *t.conn().await, false)
            .await
            .unwrap();
        usage::get_usage_by_step(&mut *t.conn().await, true)
            .await
            .unwrap();
        usage::get_usage_by_model(&mut *t.conn().await, true)
            .await
            .unwrap();
        let list = usage::get_recent_workflow_sessions(&mut *t.conn().await, 50, false)
            .await
            .unwrap();
        assert_eq!(list.len() as i64, s.total_runs, "{fixture}");
        if fixture != "v00" {
            let ws1 = list
                .iter()
                .find(|x| x.session_id.as_str() == "ws-1")
                .unwrap();
            assert_eq!(ws1.agent_count, 3);
            assert!((ws1.total_cost - 1.76).abs() < EPS, "{ws1:?}");
        }
        reset(&mut *t.conn().await).await;
        assert_eq!(
            usage::get_usage_summary(&mut *t.conn().await, false)
                .await
                .unwrap()
                .total_runs,
            0
        );
    }
}
