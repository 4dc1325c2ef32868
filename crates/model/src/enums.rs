//! Closed sets of strings stored in `TEXT` columns.
//!
//! Each enum has one variant per documented value plus `Other(String)`, which keeps any
//! value outside the documented set verbatim, so a legacy or hand-edited row always reads
//! (the existing layer never validated statuses). Parsing therefore cannot fail:
//! `FromStr` has `Err = Infallible`, and `From<&str>`/`From<String>` do the same job.
//! Parsing is exact (case-sensitive) and always maps a documented value to its named
//! variant; constructing `Other("completed")` by hand produces a value that is *not* equal
//! to the named variant, so build values through `From`/`parse`.
//!
//! Serde and (with the `sqlx` feature) SQLite encoding both go through the plain string
//! returned by `as_str()`. Decoding SQL NULL into a non-`Option` enum is an error
//! (sqlx would otherwise hand it over as an empty string); decode nullable columns into
//! `Option<_>`.
//!
//! ```
//! use skill_builder_model::{StepStatus, WorkflowRunStatus};
//!
//! let status: StepStatus = "waiting_for_user".parse().unwrap_or_default();
//! assert_eq!(status, StepStatus::WaitingForUser);
//! assert_eq!(status.to_string(), "waiting_for_user");
//!
//! let legacy = WorkflowRunStatus::from("archived");
//! assert_eq!(legacy, WorkflowRunStatus::Other("archived".to_owned()));
//! assert_eq!(legacy.as_str(), "archived");
//! ```

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines a string-backed enum with an `Other(String)` fallback and all its conversions.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value outside the documented set, kept verbatim so legacy rows still read.
            Other(String),
        }

        impl $name {
            /// The stored texts of the documented values, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$( $text, )+];

            /// The stored text of this value.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Other(text) => text,
                }
            }

            /// Whether this is one of the documented values (not `Other`).
            #[must_use]
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $( $text => Self::$variant, )+
                    _ => Self::Other(text),
                }
            }
        }

        impl FromStr for $name {
            type Err = Infallible;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }

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
        impl sqlx::Encode<'_, sqlx::Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::sqlite::SqliteArgumentsBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'_, sqlx::Sqlite>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for $name {
            fn decode(
                value: sqlx::sqlite::SqliteValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                // NULL would read as `Other("")`.
                crate::text_not_null(value, stringify!($name)).map(Self::from)
            }
        }
    };
}

text_enum!(
    /// Where a skill in the master catalogue came from (`skills.skill_source`).
    ///
    /// The column has a CHECK constraint allowing only the three documented values
    /// ([`SkillSource::KNOWN`]); the data layer refuses to write `Other` before any SQL
    /// runs. Reading never fails.
    SkillSource {
        /// Built with the in-app workflow (`skill-builder`).
        SkillBuilder => "skill-builder",
        /// Installed from the marketplace (`marketplace`).
        Marketplace => "marketplace",
        /// Discovered on disk or imported by hand (`imported`).
        Imported => "imported",
    }
);

text_enum!(
    /// State of a skill's workflow run (`workflow_runs.status`; free text, not validated).
    WorkflowRunStatus {
        /// Not started yet (`pending`, the column default).
        Pending => "pending",
        /// In progress (`in_progress`).
        InProgress => "in_progress",
        /// Every step done (`completed`).
        Completed => "completed",
    }
);

text_enum!(
    /// State of one workflow step (`workflow_steps.status`).
    StepStatus {
        /// Not started, or rewound by a reset (`pending`, the column default).
        Pending => "pending",
        /// Running (`in_progress`); saving it restarts the step's clock.
        InProgress => "in_progress",
        /// Paused until the user answers (`waiting_for_user`).
        WaitingForUser => "waiting_for_user",
        /// Finished (`completed`); saving it stamps `completed_at`.
        Completed => "completed",
        /// Failed (`error`).
        Error => "error",
    }
);

text_enum!(
    /// State of an agent invocation (`agent_runs.status`).
    AgentRunStatus {
        /// Still running (`running`, the column default).
        Running => "running",
        /// Finished normally (`completed`).
        Completed => "completed",
        /// Finished with an error (`error`).
        Error => "error",
        /// Stopped by application shutdown or cancel (`shutdown`).
        Shutdown => "shutdown",
    }
);

impl AgentRunStatus {
    /// Whether the run reached a final result (`completed` or `error`).
    ///
    /// A stored row in a final state is not overwritten by a later `shutdown` snapshot
    /// of the same agent and model.
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Completed | Self::Error)
    }
}

impl Default for WorkflowRunStatus {
    /// `pending`, the column default.
    fn default() -> Self {
        Self::Pending
    }
}

impl Default for StepStatus {
    /// `pending`, the column default.
    fn default() -> Self {
        Self::Pending
    }
}

impl Default for AgentRunStatus {
    /// `running`, the column default.
    fn default() -> Self {
        Self::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_lists_every_documented_value_once() {
        assert_eq!(
            SkillSource::KNOWN,
            ["skill-builder", "marketplace", "imported"]
        );
        assert!(
            SkillSource::KNOWN
                .iter()
                .all(|t| SkillSource::from(*t).is_known())
        );
        assert!(
            WorkflowRunStatus::KNOWN
                .iter()
                .all(|t| WorkflowRunStatus::from(*t).is_known())
        );
        assert!(
            StepStatus::KNOWN
                .iter()
                .all(|t| StepStatus::from(*t).is_known())
        );
        assert!(
            AgentRunStatus::KNOWN
                .iter()
                .all(|t| AgentRunStatus::from(*t).is_known())
        );
        for known in [
            SkillSource::KNOWN,
            WorkflowRunStatus::KNOWN,
            StepStatus::KNOWN,
            AgentRunStatus::KNOWN,
        ] {
            let mut sorted = known.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), known.len(), "{known:?}");
        }
    }

    #[test]
    fn skill_source_round_trips_every_value() {
        for (text, value) in [
            ("skill-builder", SkillSource::SkillBuilder),
            ("marketplace", SkillSource::Marketplace),
            ("imported", SkillSource::Imported),
        ] {
            assert_eq!(SkillSource::from(text), value);
            assert_eq!(SkillSource::from(text.to_owned()), value);
            assert_eq!(text.parse::<SkillSource>(), Ok(value.clone()));
            assert_eq!(value.as_str(), text);
            assert_eq!(value.to_string(), text);
            assert!(value.is_known());
        }
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let value = SkillSource::from("Marketplace");
        assert_eq!(value, SkillSource::Other("Marketplace".to_owned()));
        assert_eq!(value.as_str(), "Marketplace");
        assert!(!value.is_known());
        let empty = StepStatus::from("");
        assert_eq!(empty, StepStatus::Other(String::new()));
        assert_eq!(empty.as_str(), "");
    }

    #[test]
    fn statuses_parse_documented_values() {
        assert_eq!(
            WorkflowRunStatus::from("in_progress"),
            WorkflowRunStatus::InProgress
        );
        assert_eq!(
            WorkflowRunStatus::from("completed"),
            WorkflowRunStatus::Completed
        );
        assert_eq!(
            StepStatus::from("waiting_for_user"),
            StepStatus::WaitingForUser
        );
        assert_eq!(StepStatus::from("error"), StepStatus::Error);
        assert_eq!(AgentRunStatus::from("shutdown"), AgentRunStatus::Shutdown);
        assert_eq!(AgentRunStatus::Running.as_str(), "running");
    }

    #[test]
    fn defaults_match_column_defaults() {
        assert_eq!(WorkflowRunStatus::default().as_str(), "pending");
        assert_eq!(StepStatus::default().as_str(), "pending");
        assert_eq!(AgentRunStatus::default().as_str(), "running");
    }

    #[test]
    fn final_agent_statuses() {
        assert!(AgentRunStatus::Completed.is_final());
        assert!(AgentRunStatus::Error.is_final());
        assert!(!AgentRunStatus::Running.is_final());
        assert!(!AgentRunStatus::Shutdown.is_final());
        assert!(!AgentRunStatus::from("cancelled").is_final());
    }

    #[test]
    fn serde_uses_the_plain_string() -> Result<(), Box<dyn std::error::Error>> {
        let json = serde_json::to_string(&StepStatus::InProgress)?;
        assert_eq!(json, "\"in_progress\"");
        let other = serde_json::to_string(&AgentRunStatus::from("paused"))?;
        assert_eq!(other, "\"paused\"");
        let back: SkillSource = serde_json::from_str("\"skill-builder\"")?;
        assert_eq!(back, SkillSource::SkillBuilder);
        let legacy: WorkflowRunStatus = serde_json::from_str("\"archived\"")?;
        assert_eq!(legacy, WorkflowRunStatus::Other("archived".to_owned()));
        assert!(serde_json::from_str::<StepStatus>("3").is_err());
        Ok(())
    }
}
