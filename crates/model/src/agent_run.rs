//! Agent invocations recorded for usage analytics (`agent_runs`).
//!
//! ```
//! use skill_builder_model::{AgentId, AgentRunStatus, NewAgentRun};
//!
//! let run = NewAgentRun {
//!     agent_id: AgentId::new_v4(),
//!     skill_name: "sales-pipeline".into(),
//!     step_id: 0,
//!     model: "sonnet".into(),
//!     status: AgentRunStatus::Completed,
//!     input_tokens: 1200,
//!     output_tokens: 300,
//!     cache_read_tokens: 0,
//!     cache_write_tokens: 0,
//!     total_cost: 0.05,
//!     duration_ms: 4000,
//!     num_turns: 3,
//!     stop_reason: Some("end_turn".into()),
//!     duration_api_ms: None,
//!     tool_use_count: 2,
//!     compaction_count: 0,
//!     session_id: None,
//!     workflow_session_id: None,
//!     workflow_run_id: None,
//! };
//! assert!(run.status.is_final());
//! ```

use serde::{Deserialize, Serialize};

use crate::{AgentId, AgentRunStatus, WorkflowRunId, WorkflowSessionId};

/// One row of `agent_runs` (key: `agent_id` + `model`).
///
/// Reads return 0 for NULL token counts, cost, duration, turns, tool-use and compaction
/// counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRun {
    /// Agent invocation id (key, with `model`).
    pub agent_id: AgentId,
    /// Skill the agent worked on.
    pub skill_name: String,
    /// Workflow step the agent ran in.
    pub step_id: i64,
    /// Model used (key, with `agent_id`): a sub-agent on another model has its own row.
    pub model: String,
    /// Run status.
    pub status: AgentRunStatus,
    /// Input tokens (NULL read as 0).
    pub input_tokens: i64,
    /// Output tokens (NULL read as 0).
    pub output_tokens: i64,
    /// Cache-read tokens (NULL read as 0).
    pub cache_read_tokens: i64,
    /// Cache-write tokens (NULL read as 0).
    pub cache_write_tokens: i64,
    /// Cost in US dollars (NULL read as 0.0).
    pub total_cost: f64,
    /// Wall-clock duration in milliseconds (NULL read as 0).
    pub duration_ms: i64,
    /// Number of conversation turns (NULL read as 0).
    pub num_turns: i64,
    /// Why the agent stopped, as reported by the SDK.
    pub stop_reason: Option<String>,
    /// Time spent in API calls, in milliseconds.
    pub duration_api_ms: Option<i64>,
    /// Number of tool uses (NULL read as 0).
    pub tool_use_count: i64,
    /// Number of context compactions (NULL read as 0).
    pub compaction_count: i64,
    /// The agent SDK's conversation id (not a workflow session id).
    pub session_id: Option<String>,
    /// The workflow session the agent ran in (no declared foreign key).
    pub workflow_session_id: Option<WorkflowSessionId>,
    /// First persist time, `YYYY-MM-DD HH:MM:SSZ`.
    pub started_at: String,
    /// Last persist time, `YYYY-MM-DD HH:MM:SSZ`.
    pub completed_at: Option<String>,
    /// Set by a usage reset; marked rows are left out of analytics.
    pub reset_marker: Option<String>,
    /// The workflow run the agent belongs to.
    pub workflow_run_id: Option<WorkflowRunId>,
}

/// The inputs of `persist_agent_run`: an [`AgentRun`] without timestamps or reset marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAgentRun {
    /// Agent invocation id (key, with `model`).
    pub agent_id: AgentId,
    /// Skill the agent worked on (not validated).
    pub skill_name: String,
    /// Workflow step the agent ran in.
    pub step_id: i64,
    /// Model used (key, with `agent_id`).
    pub model: String,
    /// Run status; a `shutdown` snapshot does not replace a row already in a final
    /// state (see [`AgentRunStatus::is_final`]).
    pub status: AgentRunStatus,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache-read tokens.
    pub cache_read_tokens: i64,
    /// Cache-write tokens.
    pub cache_write_tokens: i64,
    /// Cost in US dollars.
    pub total_cost: f64,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: i64,
    /// Number of conversation turns.
    pub num_turns: i64,
    /// Why the agent stopped, as reported by the SDK.
    pub stop_reason: Option<String>,
    /// Time spent in API calls, in milliseconds.
    pub duration_api_ms: Option<i64>,
    /// Number of tool uses.
    pub tool_use_count: i64,
    /// Number of context compactions.
    pub compaction_count: i64,
    /// The agent SDK's conversation id.
    pub session_id: Option<String>,
    /// The workflow session the agent ran in (not validated).
    pub workflow_session_id: Option<WorkflowSessionId>,
    /// The workflow run the agent belongs to. The existing layer never filled this
    /// column; `None` leaves the choice (NULL, or resolving it from `skill_name`) to the
    /// data layer.
    #[serde(default)]
    pub workflow_run_id: Option<WorkflowRunId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_run() -> NewAgentRun {
        NewAgentRun {
            agent_id: "agent-1".into(),
            skill_name: "s".into(),
            step_id: 5,
            model: "opus".into(),
            status: AgentRunStatus::Shutdown,
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 30,
            cache_write_tokens: 40,
            total_cost: 0.25,
            duration_ms: 1000,
            num_turns: 2,
            stop_reason: None,
            duration_api_ms: Some(900),
            tool_use_count: 1,
            compaction_count: 0,
            session_id: Some("sdk-1".into()),
            workflow_session_id: Some("sess-1".into()),
            workflow_run_id: None,
        }
    }

    #[test]
    fn new_run_serde_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let run = new_run();
        let value = serde_json::to_value(&run)?;
        assert_eq!(value["status"], "shutdown");
        assert_eq!(value["workflow_session_id"], "sess-1");
        let back: NewAgentRun = serde_json::from_value(value)?;
        assert_eq!(back, run);
        Ok(())
    }

    #[test]
    fn new_run_without_workflow_run_id_key_decodes() -> Result<(), Box<dyn std::error::Error>> {
        let mut value = serde_json::to_value(new_run())?;
        value
            .as_object_mut()
            .ok_or("serialised NewAgentRun is not a JSON object")?
            .remove("workflow_run_id");
        let back: NewAgentRun = serde_json::from_value(value)?;
        assert_eq!(back.workflow_run_id, None);
        Ok(())
    }

    #[test]
    fn agent_run_serde_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let run = AgentRun {
            agent_id: "agent-1".into(),
            skill_name: "s".into(),
            step_id: 1,
            model: "sonnet".into(),
            status: AgentRunStatus::from("running"),
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            total_cost: 0.0,
            duration_ms: 0,
            num_turns: 0,
            stop_reason: None,
            duration_api_ms: None,
            tool_use_count: 0,
            compaction_count: 0,
            session_id: None,
            workflow_session_id: None,
            started_at: "2026-01-31 12:00:00Z".into(),
            completed_at: Some("2026-01-31 12:01:00Z".into()),
            reset_marker: None,
            workflow_run_id: Some(WorkflowRunId::new(3)),
        };
        assert_eq!(run.status, AgentRunStatus::Running);
        let back: AgentRun = serde_json::from_str(&serde_json::to_string(&run)?)?;
        assert_eq!(back, run);
        Ok(())
    }
}
