//! Workflow builder state: runs (`workflow_runs`), steps (`workflow_steps`) and step
//! output files (`workflow_artifacts`).
//!
//! ```
//! use skill_builder_model::{ArtifactMeta, WorkflowArtifact, WorkflowRunId};
//!
//! let artifact = WorkflowArtifact {
//!     skill_name: "sales-pipeline".into(),
//!     step_id: 0,
//!     relative_path: "context/research.md".into(),
//!     content: "# Research".into(),
//!     size_bytes: 10,
//!     created_at: "2026-01-31 12:00:00Z".into(),
//!     updated_at: "2026-01-31 12:00:00Z".into(),
//!     workflow_run_id: Some(WorkflowRunId::new(1)),
//! };
//! let meta = ArtifactMeta::from(&artifact);
//! assert_eq!(meta.size_bytes, 10);
//! assert_eq!(meta.relative_path, artifact.relative_path);
//! ```

use serde::{Deserialize, Serialize};

use crate::{SkillId, StepStatus, WorkflowRunId, WorkflowRunStatus};

/// Purpose reported for a skill that has no workflow run (and the column default of
/// `workflow_runs.purpose`).
pub const DEFAULT_PURPOSE: &str = "domain";

/// Value of `workflow_runs.source` when the column is NULL (and its default).
pub const DEFAULT_RUN_SOURCE: &str = "created";

/// One row of `workflow_runs`: the builder state of a skill made with the in-app workflow.
///
/// Frontmatter fields here are the run's own columns, not the master's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// Row id (`workflow_runs.id`).
    pub id: WorkflowRunId,
    /// Master row of the skill; `None` on legacy rows whose master was missing.
    pub skill_id: Option<SkillId>,
    /// Unique skill name.
    pub skill_name: String,
    /// Current step (not range-checked; values outside 0–5 are accepted).
    pub current_step: i64,
    /// Run status.
    pub status: WorkflowRunStatus,
    /// Purpose of the skill. The column is nullable: the existing layer failed to read a
    /// NULL here; this type reads it as `None`.
    pub purpose: Option<String>,
    /// Creation time, `YYYY-MM-DD HH:MM:SSZ`.
    pub created_at: String,
    /// Last update time, `YYYY-MM-DD HH:MM:SSZ`.
    pub updated_at: String,
    /// GitHub login of the author.
    pub author_login: Option<String>,
    /// Avatar URL of the author.
    pub author_avatar: Option<String>,
    /// Display name (no production writer).
    pub display_name: Option<String>,
    /// Intake answers, JSON text opaque to the data layer.
    pub intake_json: Option<String>,
    /// Origin of the run; NULL is read as [`DEFAULT_RUN_SOURCE`] (`created`).
    pub source: String,
    /// Frontmatter `description`.
    pub description: Option<String>,
    /// Frontmatter `version` (column default `1.0.0`).
    pub version: Option<String>,
    /// Frontmatter `model`.
    pub model: Option<String>,
    /// Frontmatter `argument-hint`.
    pub argument_hint: Option<String>,
    /// Frontmatter `user-invocable` (column default true).
    pub user_invocable: Option<bool>,
    /// Frontmatter `disable-model-invocation` (column default false).
    pub disable_model_invocation: Option<bool>,
}

/// One row of `workflow_steps`: status and timing of one step of a skill's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStep {
    /// Skill name (part of the primary key).
    pub skill_name: String,
    /// Step id, 0–5 in practice (part of the primary key).
    pub step_id: i64,
    /// Step status.
    pub status: StepStatus,
    /// Start time, RFC 3339 with sub-second digits and `+00:00`.
    pub started_at: Option<String>,
    /// Completion time, RFC 3339 with sub-second digits and `+00:00`.
    pub completed_at: Option<String>,
    /// The run this step belongs to; `None` when saved before the run existed.
    pub workflow_run_id: Option<WorkflowRunId>,
}

/// One row of `workflow_artifacts`: a file produced by a workflow step, stored inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowArtifact {
    /// Skill name (part of the primary key).
    pub skill_name: String,
    /// Step that produced the file (part of the primary key).
    pub step_id: i64,
    /// Path of the file relative to the skill's folder (part of the primary key).
    pub relative_path: String,
    /// File content.
    pub content: String,
    /// UTF-8 byte length of `content`.
    pub size_bytes: i64,
    /// First write time, `YYYY-MM-DD HH:MM:SSZ`.
    pub created_at: String,
    /// Last write time, `YYYY-MM-DD HH:MM:SSZ`.
    pub updated_at: String,
    /// The run this artifact belongs to; `None` when written before the run existed.
    pub workflow_run_id: Option<WorkflowRunId>,
}

/// A [`WorkflowArtifact`] without its content, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// Skill name.
    pub skill_name: String,
    /// Step that produced the file.
    pub step_id: i64,
    /// Path of the file relative to the skill's folder.
    pub relative_path: String,
    /// UTF-8 byte length of the content.
    pub size_bytes: i64,
    /// First write time, `YYYY-MM-DD HH:MM:SSZ`.
    pub created_at: String,
    /// Last write time, `YYYY-MM-DD HH:MM:SSZ`.
    pub updated_at: String,
    /// The run this artifact belongs to.
    pub workflow_run_id: Option<WorkflowRunId>,
}

impl From<&WorkflowArtifact> for ArtifactMeta {
    fn from(artifact: &WorkflowArtifact) -> Self {
        Self {
            skill_name: artifact.skill_name.clone(),
            step_id: artifact.step_id,
            relative_path: artifact.relative_path.clone(),
            size_bytes: artifact.size_bytes,
            created_at: artifact.created_at.clone(),
            updated_at: artifact.updated_at.clone(),
            workflow_run_id: artifact.workflow_run_id,
        }
    }
}

impl From<WorkflowArtifact> for ArtifactMeta {
    fn from(artifact: WorkflowArtifact) -> Self {
        Self {
            skill_name: artifact.skill_name,
            step_id: artifact.step_id,
            relative_path: artifact.relative_path,
            size_bytes: artifact.size_bytes,
            created_at: artifact.created_at,
            updated_at: artifact.updated_at,
            workflow_run_id: artifact.workflow_run_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> WorkflowRun {
        WorkflowRun {
            id: WorkflowRunId::new(9),
            skill_id: Some(SkillId::new(4)),
            skill_name: "s".into(),
            current_step: 3,
            status: WorkflowRunStatus::InProgress,
            purpose: None,
            created_at: "2026-01-01 00:00:00Z".into(),
            updated_at: "2026-01-01 00:00:00Z".into(),
            author_login: Some("octocat".into()),
            author_avatar: None,
            display_name: None,
            intake_json: Some("{}".into()),
            source: DEFAULT_RUN_SOURCE.into(),
            description: None,
            version: Some("1.0.0".into()),
            model: None,
            argument_hint: None,
            user_invocable: Some(true),
            disable_model_invocation: Some(false),
        }
    }

    #[test]
    fn run_round_trips_with_null_purpose() -> Result<(), Box<dyn std::error::Error>> {
        let value = serde_json::to_value(run())?;
        assert_eq!(value["purpose"], serde_json::Value::Null);
        assert_eq!(value["status"], "in_progress");
        assert_eq!(value["skill_id"], 4);
        let back: WorkflowRun = serde_json::from_value(value)?;
        assert_eq!(back, run());
        Ok(())
    }

    #[test]
    fn constants() {
        assert_eq!(DEFAULT_PURPOSE, "domain");
        assert_eq!(DEFAULT_RUN_SOURCE, "created");
    }

    #[test]
    fn step_keeps_unknown_status() -> Result<(), Box<dyn std::error::Error>> {
        let step: WorkflowStep = serde_json::from_str(
            r#"{"skill_name":"s","step_id":2,"status":"skipped","started_at":null,
                "completed_at":null,"workflow_run_id":null}"#,
        )?;
        assert_eq!(step.status, StepStatus::Other("skipped".into()));
        assert_eq!(step.workflow_run_id, None);
        Ok(())
    }

    #[test]
    fn artifact_meta_drops_only_content() -> Result<(), Box<dyn std::error::Error>> {
        let artifact = WorkflowArtifact {
            skill_name: "s".into(),
            step_id: 1,
            relative_path: "a.md".into(),
            content: "héllo".into(),
            size_bytes: 6,
            created_at: "c".into(),
            updated_at: "u".into(),
            workflow_run_id: None,
        };
        let by_ref = ArtifactMeta::from(&artifact);
        let by_value = ArtifactMeta::from(artifact.clone());
        assert_eq!(by_ref, by_value);
        assert_eq!(by_ref.size_bytes, 6);
        assert_eq!(by_ref.created_at, "c");
        assert_eq!(by_ref.updated_at, "u");
        let json = serde_json::to_value(&by_ref)?;
        assert!(json.get("content").is_none());
        Ok(())
    }
}
