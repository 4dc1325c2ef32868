//! User workflow sessions (`workflow_sessions`), the unit counted as a "run" in usage.
//!
//! ```
//! use skill_builder_model::{WorkflowSession, WorkflowSessionId};
//!
//! let session = WorkflowSession {
//!     session_id: WorkflowSessionId::new_v4(),
//!     skill_name: "sales-pipeline".into(),
//!     pid: 4242,
//!     started_at: "2026-01-31 12:00:00Z".into(),
//!     ended_at: None,
//!     reset_marker: None,
//!     skill_id: None,
//! };
//! assert!(session.is_open());
//! ```

use serde::{Deserialize, Serialize};

use crate::{SkillId, WorkflowSessionId};

/// One row of `workflow_sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSession {
    /// Primary key, caller-generated.
    pub session_id: WorkflowSessionId,
    /// Skill the session works on.
    pub skill_name: String,
    /// Process id of the app instance that owns the session.
    pub pid: i64,
    /// Start time, `YYYY-MM-DD HH:MM:SSZ`.
    pub started_at: String,
    /// End time; `None` while the session is open.
    pub ended_at: Option<String>,
    /// Set by a usage reset; marked sessions are left out of analytics.
    pub reset_marker: Option<String>,
    /// Master row of the skill; `None` when the skill was not in the master at creation.
    pub skill_id: Option<SkillId>,
}

impl WorkflowSession {
    /// Whether the session has not ended.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.ended_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_serde() -> Result<(), Box<dyn std::error::Error>> {
        let mut s = WorkflowSession {
            session_id: "sess-1".into(),
            skill_name: "s".into(),
            pid: 1,
            started_at: "t".into(),
            ended_at: None,
            reset_marker: None,
            skill_id: None,
        };
        assert!(s.is_open());
        s.ended_at = Some("t2".into());
        assert!(!s.is_open());
        let value = serde_json::to_value(&s)?;
        assert_eq!(value["session_id"], "sess-1");
        let back: WorkflowSession = serde_json::from_value(value)?;
        assert_eq!(back, s);
        Ok(())
    }
}
