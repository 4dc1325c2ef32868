//! Naming rules: step names, tag normalisation, skill-name validation.
//!
//! ```
//! use skill_builder_model::{is_kebab_case, normalize_tags, step_name, SkillName};
//!
//! assert_eq!(step_name(5), "Generate Skill");
//! assert_eq!(step_name(6), "Step 6");
//! assert_eq!(normalize_tags([" Analytics ", "analytics", ""]), ["analytics"]);
//! assert!(is_kebab_case("sales-pipeline-2"));
//! assert!(SkillName::parse("   ").is_err());
//! assert_eq!(SkillName::parse_kebab("my-skill")?.as_str(), "my-skill");
//! # Ok::<(), skill_builder_model::ModelError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Invalid input detected by the domain types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A skill name was empty or only whitespace.
    #[error("Skill name must not be empty")]
    EmptyName,
    /// A skill name contained a NUL character.
    #[error("Skill name must not contain NUL characters")]
    NameContainsNul,
    /// A new skill name was not kebab-case (message as shown by the app on rename).
    #[error("Skill name must be kebab-case (lowercase letters, numbers, hyphens)")]
    NotKebabCase,
}

/// The display name of a workflow step, as used by the usage-by-step report.
///
/// Steps 0–5 are `Research`, `Review`, `Detailed Research`, `Review`,
/// `Confirm Decisions`, `Generate Skill` (ids 1 and 3 share a name); any other id
/// is `Step <id>`.
#[must_use]
pub fn step_name(step_id: i64) -> String {
    match step_id {
        0 => "Research".to_owned(),
        1 | 3 => "Review".to_owned(),
        2 => "Detailed Research".to_owned(),
        4 => "Confirm Decisions".to_owned(),
        5 => "Generate Skill".to_owned(),
        other => format!("Step {other}"),
    }
}

/// Normalises a list of tags the way they are stored.
///
/// Each tag is trimmed and lower-cased (full Unicode lower-casing); empty results are
/// dropped and duplicates removed, keeping the first occurrence's position.
#[must_use]
pub fn normalize_tags<I, S>(tags: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.as_ref().trim().to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// Whether `name` is kebab-case: non-empty, only lower-case ASCII letters, digits and
/// hyphens, no leading, trailing or doubled hyphen.
#[must_use]
pub fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A validated skill name: not empty or whitespace-only, no NUL character.
///
/// Stored names are not required to be kebab-case (older skills may not be), so
/// [`parse`](Self::parse) accepts any such text verbatim, without trimming;
/// [`parse_kebab`](Self::parse_kebab) adds the kebab-case rule required of new names
/// (for instance the target of a rename).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SkillName(String);

impl SkillName {
    /// Validates a skill name (see the type docs).
    ///
    /// # Errors
    /// [`ModelError::EmptyName`] for empty or whitespace-only text,
    /// [`ModelError::NameContainsNul`] when it contains `\0`.
    pub fn parse(name: impl Into<String>) -> Result<Self, ModelError> {
        let name = name.into();
        if name.trim().is_empty() {
            Err(ModelError::EmptyName)
        } else if name.contains('\0') {
            Err(ModelError::NameContainsNul)
        } else {
            Ok(Self(name))
        }
    }

    /// Validates a new skill name, which must also be kebab-case.
    ///
    /// # Errors
    /// [`ModelError::EmptyName`] for empty text, otherwise [`ModelError::NotKebabCase`]
    /// when [`is_kebab_case`] rejects it.
    pub fn parse_kebab(name: impl Into<String>) -> Result<Self, ModelError> {
        let name = Self::parse(name)?;
        if is_kebab_case(&name.0) {
            Ok(name)
        } else {
            Err(ModelError::NotKebabCase)
        }
    }

    /// Borrows the name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the name, consuming the value.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for SkillName {
    type Error = ModelError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(name)
    }
}

impl TryFrom<&str> for SkillName {
    type Error = ModelError;

    fn try_from(name: &str) -> Result<Self, Self::Error> {
        Self::parse(name)
    }
}

impl From<SkillName> for String {
    fn from(name: SkillName) -> Self {
        name.0
    }
}

impl AsRef<str> for SkillName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SkillName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names() {
        let expected = [
            (0, "Research"),
            (1, "Review"),
            (2, "Detailed Research"),
            (3, "Review"),
            (4, "Confirm Decisions"),
            (5, "Generate Skill"),
            (6, "Step 6"),
            (-1, "Step -1"),
            (99, "Step 99"),
        ];
        for (id, name) in expected {
            assert_eq!(step_name(id), name, "step {id}");
        }
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_blank_dropped() {
        let tags = normalize_tags(["  Salesforce ", "", "   ", "Analytics"]);
        assert_eq!(tags, ["salesforce", "analytics"]);
    }

    #[test]
    fn tag_duplicates_collapse_keeping_first_order() {
        let tags = normalize_tags(vec![
            "  Analytics ".to_owned(),
            "b".to_owned(),
            "analytics".to_owned(),
            "ANALYTICS".to_owned(),
            "B".to_owned(),
        ]);
        assert_eq!(tags, ["analytics", "b"]);
    }

    #[test]
    fn tags_use_full_unicode_lowercasing() {
        assert_eq!(
            normalize_tags(["ÄRGER", "Straße", "ΣΊΣΥΦΟΣ"]),
            ["ärger", "straße", "σίσυφος"]
        );
        assert_eq!(normalize_tags(["\u{3000}Tag\t"]), ["tag"]);
        assert!(normalize_tags(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn kebab_case_rules() {
        for ok in ["a", "my-skill", "skill-2", "3d-models", "a-b-c"] {
            assert!(is_kebab_case(ok), "{ok}");
        }
        for bad in [
            "", "-a", "a-", "a--b", "My-skill", "my_skill", "my skill", "café", "-", "a.b",
        ] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }

    #[test]
    fn skill_name_parse() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(SkillName::parse(""), Err(ModelError::EmptyName));
        assert_eq!(SkillName::parse(" \t\n"), Err(ModelError::EmptyName));
        assert_eq!(SkillName::parse("a\0b"), Err(ModelError::NameContainsNul));
        let legacy = SkillName::parse("My Old Skill")?;
        assert_eq!(legacy.as_str(), "My Old Skill");
        assert_eq!(legacy.to_string(), "My Old Skill");
        assert_eq!(SkillName::try_from(" padded ")?.into_inner(), " padded ");
        Ok(())
    }

    #[test]
    fn skill_name_parse_kebab() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(SkillName::parse_kebab(""), Err(ModelError::EmptyName));
        assert_eq!(
            SkillName::parse_kebab("My Skill"),
            Err(ModelError::NotKebabCase)
        );
        assert_eq!(
            ModelError::NotKebabCase.to_string(),
            "Skill name must be kebab-case (lowercase letters, numbers, hyphens)"
        );
        assert_eq!(SkillName::parse_kebab("ok-name")?.as_ref(), "ok-name");
        Ok(())
    }

    #[test]
    fn skill_name_serde_validates() -> Result<(), Box<dyn std::error::Error>> {
        let name: SkillName = serde_json::from_str("\"x\"")?;
        assert_eq!(serde_json::to_string(&name)?, "\"x\"");
        assert!(serde_json::from_str::<SkillName>("\"  \"").is_err());
        Ok(())
    }
}

impl ModelError {
    /// The stable code of the serialized form: `empty_name`, `name_contains_nul`,
    /// `not_kebab_case`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EmptyName => "empty_name",
            Self::NameContainsNul => "name_contains_nul",
            Self::NotKebabCase => "not_kebab_case",
        }
    }
}

crate::serialize_error!(ModelError);
