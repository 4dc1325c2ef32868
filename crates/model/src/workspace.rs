//! Skills deployed into the workspace for agents to use (`workspace_skills`).
//!
//! ```
//! use skill_builder_model::{WorkspaceSkill, WorkspaceSkillId};
//!
//! let mut skill = WorkspaceSkill::new(WorkspaceSkillId::new_v4(), "research", "/ws/.claude/skills/research", "2026-01-31 12:00:00Z");
//! skill.purpose = Some("research".into());
//! assert!(skill.is_active);
//! ```

use serde::{Deserialize, Serialize};

use crate::WorkspaceSkillId;

/// One row of `workspace_skills`. Independent of the master catalogue (no foreign key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSkill {
    /// Primary key, caller-generated (UUID for new rows; legacy values accepted).
    pub skill_id: WorkspaceSkillId,
    /// Unique skill name.
    pub skill_name: String,
    /// Frontmatter `description` (stored in this table).
    pub description: Option<String>,
    /// Whether the skill is active (INTEGER 0/1, default 1).
    pub is_active: bool,
    /// Whether the skill ships with the app (INTEGER 0/1, default 0).
    pub is_bundled: bool,
    /// Folder of the deployed skill (moves with activation).
    pub disk_path: String,
    /// Install time; caller-supplied text stored verbatim (column default
    /// `YYYY-MM-DD HH:MM:SSZ`).
    pub imported_at: String,
    /// Role of the skill (e.g. `research`, `validate`, `test-context`, `skill-building`).
    pub purpose: Option<String>,
    /// Frontmatter `version`.
    pub version: Option<String>,
    /// Frontmatter `model`.
    pub model: Option<String>,
    /// Frontmatter `argument-hint`.
    pub argument_hint: Option<String>,
    /// Frontmatter `user-invocable`.
    pub user_invocable: Option<bool>,
    /// Frontmatter `disable-model-invocation`.
    pub disable_model_invocation: Option<bool>,
    /// Fingerprint of the deployed files; `None` means "baseline unknown". Not written by
    /// inserts or upserts (it has its own setter).
    pub content_hash: Option<String>,
}

impl WorkspaceSkill {
    /// A row with the given key fields, active, not bundled, every optional field `None`.
    #[must_use]
    pub fn new(
        skill_id: WorkspaceSkillId,
        skill_name: impl Into<String>,
        disk_path: impl Into<String>,
        imported_at: impl Into<String>,
    ) -> Self {
        Self {
            skill_id,
            skill_name: skill_name.into(),
            description: None,
            is_active: true,
            is_bundled: false,
            disk_path: disk_path.into(),
            imported_at: imported_at.into(),
            purpose: None,
            version: None,
            model: None,
            argument_hint: None,
            user_invocable: None,
            disable_model_invocation: None,
            content_hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sets_column_defaults() {
        let s = WorkspaceSkill::new("ws-1".into(), "n", "/p", "t");
        assert_eq!(s.skill_id.as_str(), "ws-1");
        assert!(s.is_active);
        assert!(!s.is_bundled);
        assert_eq!(s.purpose, None);
        assert_eq!(s.content_hash, None);
    }

    #[test]
    fn serde_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let mut s = WorkspaceSkill::new("ws-1".into(), "n", "/p", "t");
        s.description = Some("does things".into());
        s.is_bundled = true;
        let value = serde_json::to_value(&s)?;
        assert_eq!(value["skill_id"], "ws-1");
        assert_eq!(value["is_bundled"], true);
        let back: WorkspaceSkill = serde_json::from_value(value)?;
        assert_eq!(back, s);
        Ok(())
    }
}
