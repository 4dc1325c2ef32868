//! Marketplace skills installed into the skills library (`imported_skills`), and the
//! content-hash lookup shared with workspace skills.
//!
//! ```
//! use skill_builder_model::{HashInfo, ImportedSkill, ImportedSkillId};
//!
//! let skill = ImportedSkill::new(ImportedSkillId::new_v4(), "pdf-tools", "/lib/pdf-tools", "2026-01-31T12:00:00Z");
//! assert!(skill.is_active);
//! assert!(!skill.is_bundled);
//! assert_eq!(skill.skill_master_id, None);
//!
//! let info = HashInfo { disk_path: skill.disk_path.clone(), content_hash: None };
//! assert!(info.content_hash.is_none()); // baseline unknown
//! ```

use serde::{Deserialize, Serialize};

use crate::{ImportedSkillId, SkillId};

/// One row of `imported_skills` (plus the hydrated `description`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedSkill {
    /// Primary key, caller-generated (UUID for new rows; legacy values accepted).
    pub skill_id: ImportedSkillId,
    /// Unique skill name.
    pub skill_name: String,
    /// Whether the skill is active (INTEGER 0/1, default 1).
    pub is_active: bool,
    /// Folder of the installed skill.
    pub disk_path: String,
    /// Install time; caller-supplied text stored verbatim (column default
    /// `YYYY-MM-DD HH:MM:SSZ`).
    pub imported_at: String,
    /// Whether the skill ships with the app (INTEGER 0/1, default 0).
    pub is_bundled: bool,
    /// Frontmatter `description`. Never stored: callers fill it from
    /// `<disk_path>/SKILL.md` after reading (hydration); `None` when unreadable.
    pub description: Option<String>,
    /// Purpose (role) of the skill.
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
    /// Master row of the skill (`skill_master_id`); `None` when the master row was
    /// missing at write time. Resolved by the data layer on insert, ignored as input.
    pub skill_master_id: Option<SkillId>,
    /// Fingerprint of the installed files; `None` means "baseline unknown".
    pub content_hash: Option<String>,
}

impl ImportedSkill {
    /// A row with the given key fields, active, not bundled, every optional field `None`.
    #[must_use]
    pub fn new(
        skill_id: ImportedSkillId,
        skill_name: impl Into<String>,
        disk_path: impl Into<String>,
        imported_at: impl Into<String>,
    ) -> Self {
        Self {
            skill_id,
            skill_name: skill_name.into(),
            is_active: true,
            disk_path: disk_path.into(),
            imported_at: imported_at.into(),
            is_bundled: false,
            description: None,
            purpose: None,
            version: None,
            model: None,
            argument_hint: None,
            user_invocable: None,
            disable_model_invocation: None,
            skill_master_id: None,
            content_hash: None,
        }
    }
}

/// Result of the `*_hash_info` lookups on imported and workspace skills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashInfo {
    /// Folder of the installed skill.
    pub disk_path: String,
    /// Stored fingerprint; `None` means "baseline unknown".
    pub content_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sets_column_defaults() {
        let s = ImportedSkill::new("imp-1".into(), "n", "/p", "t");
        assert_eq!(s.skill_id.as_str(), "imp-1");
        assert_eq!(s.skill_name, "n");
        assert_eq!(s.disk_path, "/p");
        assert_eq!(s.imported_at, "t");
        assert!(s.is_active);
        assert!(!s.is_bundled);
        assert_eq!(s.description, None);
        assert_eq!(s.content_hash, None);
    }

    #[test]
    fn serde_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let mut s = ImportedSkill::new("imp-1".into(), "n", "/p", "t");
        s.skill_master_id = Some(SkillId::new(2));
        s.user_invocable = Some(false);
        let value = serde_json::to_value(&s)?;
        assert_eq!(value["skill_id"], "imp-1");
        assert_eq!(value["skill_master_id"], 2);
        let back: ImportedSkill = serde_json::from_value(value)?;
        assert_eq!(back, s);
        Ok(())
    }

    #[test]
    fn hash_info_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let info = HashInfo {
            disk_path: "/p".into(),
            content_hash: Some("abc".into()),
        };
        let back: HashInfo = serde_json::from_str(&serde_json::to_string(&info)?)?;
        assert_eq!(back, info);
        Ok(())
    }
}
