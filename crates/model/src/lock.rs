//! Per-skill editor locks between app instances (`skill_locks`).
//!
//! ```
//! use skill_builder_model::{InstanceId, SkillLock};
//!
//! let lock = SkillLock {
//!     skill_name: "sales-pipeline".into(),
//!     instance_id: InstanceId::from("instance-a"),
//!     pid: 4242,
//!     acquired_at: "2026-01-31 12:00:00Z".into(),
//!     skill_id: None,
//! };
//! assert_eq!(lock.instance_id.as_str(), "instance-a");
//! ```

use serde::{Deserialize, Serialize};

use crate::{InstanceId, SkillId};

/// One row of `skill_locks`: which app instance is editing a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillLock {
    /// Locked skill (primary key).
    pub skill_name: String,
    /// App instance holding the lock.
    pub instance_id: InstanceId,
    /// Process id of the holder, checked for liveness.
    pub pid: i64,
    /// When the lock was taken, `YYYY-MM-DD HH:MM:SSZ`.
    pub acquired_at: String,
    /// Master row of the skill; `None` on leftover rows written without one.
    pub skill_id: Option<SkillId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let lock = SkillLock {
            skill_name: "s".into(),
            instance_id: InstanceId::new_v4(),
            pid: 99_999_999,
            acquired_at: "t".into(),
            skill_id: Some(SkillId::new(1)),
        };
        let value = serde_json::to_value(&lock)?;
        assert_eq!(value["pid"], 99_999_999);
        assert_eq!(value["instance_id"], lock.instance_id.as_str());
        let back: SkillLock = serde_json::from_value(value)?;
        assert_eq!(back, lock);
        Ok(())
    }
}
