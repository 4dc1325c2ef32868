//! Newtype identifiers, so that one kind of id cannot be passed where another is expected.
//!
//! * Integer ids ([`SkillId`], [`WorkflowRunId`]) wrap the `INTEGER PRIMARY KEY` of their
//!   table. They are `Copy`, ordered, and expose the raw value through `get()`.
//! * Text ids ([`ImportedSkillId`], [`WorkspaceSkillId`], [`WorkflowSessionId`],
//!   [`AgentId`], [`InstanceId`]) wrap a `TEXT` key. New rows get a UUID v4 from
//!   `new_v4()`, but any stored text is accepted as is (older files hold values such as
//!   `imp-1`), so construction never fails.
//!
//! All ids serialise as their bare inner value (`#[serde(transparent)]`). With the crate
//! feature `sqlx` they also derive `sqlx::Type` transparently, so they can be used as
//! `query_as!` column overrides (`id AS "id: SkillId"`) and bound as parameters.
//!
//! ```
//! use skill_builder_model::{ImportedSkillId, SkillId};
//!
//! let id = SkillId::new(7);
//! assert_eq!(id.get(), 7);
//! assert_eq!(id.to_string(), "7");
//!
//! let legacy = ImportedSkillId::from("imp-1");
//! assert_eq!(legacy.as_str(), "imp-1");
//!
//! let fresh = ImportedSkillId::new_v4();
//! assert_eq!(fresh.as_str().len(), 36);
//! assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("7"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines an integer newtype id with its conversions.
macro_rules! integer_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw row id.
            #[must_use]
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// Returns the raw row id.
            #[must_use]
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

/// Defines a text newtype id with its conversions.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Encode), sqlx(transparent))]
        pub struct $name(String);

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Sqlite> for $name {
            fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
                <String as sqlx::Type<sqlx::Sqlite>>::type_info()
            }

            fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for $name {
            fn decode(
                value: sqlx::sqlite::SqliteValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                // SQLite lets a text primary key hold NULL.
                crate::text_not_null(value, stringify!($name)).map(Self::from)
            }
        }

        impl $name {
            /// Generates a fresh id: a random UUID v4 in lower-case hyphenated form.
            #[must_use]
            pub fn new_v4() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Borrows the id text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Returns the id text, consuming the id.
            #[must_use]
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

integer_id!(
    /// Id of a row in the `skills` master catalogue (`skills.id`).
    ///
    /// Also the type of every integer foreign key to that table: `skill_id` on
    /// `workflow_runs`, `skill_tags`, `skill_locks`, `workflow_sessions`, and
    /// `imported_skills.skill_master_id`.
    SkillId
);

integer_id!(
    /// Id of a row in `workflow_runs` (`workflow_runs.id`).
    ///
    /// Also the type of the `workflow_run_id` foreign key on `workflow_steps`,
    /// `workflow_artifacts` and `agent_runs`.
    WorkflowRunId
);

text_id!(
    /// Primary key of `imported_skills` (`imported_skills.skill_id`, caller-generated text).
    ImportedSkillId
);

text_id!(
    /// Primary key of `workspace_skills` (`workspace_skills.skill_id`, caller-generated text).
    WorkspaceSkillId
);

text_id!(
    /// Id of a user workflow session (`workflow_sessions.session_id`), also stored in
    /// `agent_runs.workflow_session_id` (a link without a declared foreign key).
    WorkflowSessionId
);

text_id!(
    /// Id of one agent invocation (`agent_runs.agent_id`; the row key is the pair
    /// agent id and model).
    AgentId
);

text_id!(
    /// Id of a running application instance, the owner of skill locks
    /// (`skill_locks.instance_id`).
    InstanceId
);

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn integer_ids_convert_and_order() {
        let a = SkillId::new(1);
        let b = SkillId::from(2);
        assert!(a < b);
        assert_eq!(i64::from(b), 2);
        assert_eq!(b.get(), 2);
        assert_eq!(WorkflowRunId::new(-3).to_string(), "-3");
        let copied = a;
        assert_eq!(copied, a);
    }

    #[test]
    fn integer_ids_serialise_as_bare_numbers() -> Result<(), Box<dyn std::error::Error>> {
        let json = serde_json::to_string(&WorkflowRunId::new(42))?;
        assert_eq!(json, "42");
        let back: WorkflowRunId = serde_json::from_str(&json)?;
        assert_eq!(back, WorkflowRunId::new(42));
        let opt: Option<SkillId> = serde_json::from_str("null")?;
        assert_eq!(opt, None);
        Ok(())
    }

    #[test]
    fn text_ids_accept_legacy_values() {
        let id = ImportedSkillId::from("imp-1");
        assert_eq!(id.as_str(), "imp-1");
        assert_eq!(id.to_string(), "imp-1");
        assert_eq!(id.clone().into_inner(), "imp-1".to_owned());
        assert_eq!(String::from(id.clone()), "imp-1");
        assert_eq!(id, ImportedSkillId::from(String::from("imp-1")));
        assert_eq!(AgentId::from("").as_str(), "");
    }

    #[test]
    fn new_v4_generates_distinct_uuids() -> Result<(), Box<dyn std::error::Error>> {
        let a = WorkflowSessionId::new_v4();
        let b = WorkflowSessionId::new_v4();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(a.as_str())?;
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a.as_str(), parsed.hyphenated().to_string());
        let set: HashSet<_> = [a.clone(), a, b].into_iter().collect();
        assert_eq!(set.len(), 2);
        Ok(())
    }

    #[test]
    fn text_ids_serialise_as_bare_strings() -> Result<(), Box<dyn std::error::Error>> {
        let id = InstanceId::from("inst-a");
        let json = serde_json::to_string(&id)?;
        assert_eq!(json, "\"inst-a\"");
        let back: InstanceId = serde_json::from_str(&json)?;
        assert_eq!(back, id);
        let ws: WorkspaceSkillId = serde_json::from_str("\"ws-9\"")?;
        assert_eq!(ws.as_ref(), "ws-9");
        Ok(())
    }
}
