//! The skills master catalogue (`skills`), frontmatter updates and tags (`skill_tags`).
//!
//! ```
//! use skill_builder_model::{Skill, SkillBehaviour, SkillId, SkillSource};
//!
//! let skill = Skill {
//!     id: SkillId::new(1),
//!     name: "sales-pipeline".into(),
//!     skill_source: SkillSource::SkillBuilder,
//!     purpose: Some("domain".into()),
//!     created_at: "2026-01-31 12:00:00".into(),
//!     updated_at: "2026-01-31 12:00:00".into(),
//!     description: None,
//!     version: None,
//!     model: None,
//!     argument_hint: None,
//!     user_invocable: None,
//!     disable_model_invocation: None,
//! };
//! assert_eq!(skill.skill_source.as_str(), "skill-builder");
//!
//! let change = SkillBehaviour { version: Some("1.1.0".into()), ..SkillBehaviour::default() };
//! assert!(!change.is_empty());
//! ```

use serde::{Deserialize, Serialize};

use crate::{SkillId, SkillSource};

/// One row of the `skills` master catalogue: every skill regardless of origin, and the
/// canonical store of its SKILL.md frontmatter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skill {
    /// Row id (`skills.id`), stable across upserts and renames.
    pub id: SkillId,
    /// Unique skill name.
    pub name: String,
    /// Where the skill came from; only changed by the `_with_source` upsert.
    pub skill_source: SkillSource,
    /// Purpose (role) of the skill, e.g. `domain`.
    pub purpose: Option<String>,
    /// Creation time, plain SQLite time `YYYY-MM-DD HH:MM:SS` (no `Z`).
    pub created_at: String,
    /// Last update time, plain SQLite time `YYYY-MM-DD HH:MM:SS` (no `Z`).
    pub updated_at: String,
    /// Frontmatter `description`.
    pub description: Option<String>,
    /// Frontmatter `version`.
    pub version: Option<String>,
    /// Frontmatter `model`.
    pub model: Option<String>,
    /// Frontmatter `argument-hint`.
    pub argument_hint: Option<String>,
    /// Frontmatter `user-invocable` (INTEGER 0/1, NULL when unknown).
    pub user_invocable: Option<bool>,
    /// Frontmatter `disable-model-invocation` (INTEGER 0/1, NULL when unknown).
    pub disable_model_invocation: Option<bool>,
}

/// The optional inputs of `set_skill_behaviour` (SKILL.md frontmatter update).
///
/// A `Some` field overwrites the stored value; a `None` field leaves it unchanged, so
/// this update can never clear a field to NULL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkillBehaviour {
    /// New `description`, or keep.
    pub description: Option<String>,
    /// New `version`, or keep.
    pub version: Option<String>,
    /// New `model`, or keep.
    pub model: Option<String>,
    /// New `argument_hint`, or keep.
    pub argument_hint: Option<String>,
    /// New `user_invocable`, or keep.
    pub user_invocable: Option<bool>,
    /// New `disable_model_invocation`, or keep.
    pub disable_model_invocation: Option<bool>,
}

impl SkillBehaviour {
    /// Whether no field is supplied (the update would change only `updated_at`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One row of `skill_tags`: a lower-case tag attached to a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillTag {
    /// Name of the tagged skill.
    pub skill_name: String,
    /// The tag, already normalised (see [`normalize_tags`](crate::normalize_tags)).
    pub tag: String,
    /// When the tag was attached, `YYYY-MM-DD HH:MM:SSZ`.
    pub created_at: String,
    /// Master row of the skill; `None` when the skill was not in the master at write time.
    pub skill_id: Option<SkillId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill() -> Skill {
        Skill {
            id: SkillId::new(3),
            name: "s".into(),
            skill_source: SkillSource::Marketplace,
            purpose: None,
            created_at: "2026-01-01 00:00:00".into(),
            updated_at: "2026-01-02 00:00:00".into(),
            description: Some("d".into()),
            version: Some("1.0.0".into()),
            model: None,
            argument_hint: None,
            user_invocable: Some(true),
            disable_model_invocation: Some(false),
        }
    }

    #[test]
    fn skill_serde_round_trip_uses_plain_values() -> Result<(), Box<dyn std::error::Error>> {
        let value = serde_json::to_value(skill())?;
        assert_eq!(value["id"], 3);
        assert_eq!(value["skill_source"], "marketplace");
        assert_eq!(value["purpose"], serde_json::Value::Null);
        let back: Skill = serde_json::from_value(value)?;
        assert_eq!(back, skill());
        Ok(())
    }

    #[test]
    fn behaviour_default_is_empty() -> Result<(), Box<dyn std::error::Error>> {
        let empty = SkillBehaviour::default();
        assert!(empty.is_empty());
        assert_eq!(empty.description, None);
        assert_eq!(empty.user_invocable, None);
        let set = SkillBehaviour {
            disable_model_invocation: Some(false),
            ..SkillBehaviour::default()
        };
        assert!(!set.is_empty());
        let partial: SkillBehaviour = serde_json::from_str(r#"{"model":"opus"}"#)?;
        assert_eq!(partial.model.as_deref(), Some("opus"));
        assert_eq!(partial.version, None);
        Ok(())
    }

    #[test]
    fn tag_with_null_fk() -> Result<(), Box<dyn std::error::Error>> {
        let tag: SkillTag = serde_json::from_str(
            r#"{"skill_name":"s","tag":"analytics","created_at":"2026-01-01 00:00:00Z","skill_id":null}"#,
        )?;
        assert_eq!(tag.skill_id, None);
        assert_eq!(tag.tag, "analytics");
        Ok(())
    }
}
