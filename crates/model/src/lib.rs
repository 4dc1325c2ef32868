//! Domain types of the Skill Builder data layer.
//!
//! This crate describes what the SQLite store holds — ids, status enums, the settings
//! record, one plain struct per table row, analytics results — and a few pure naming
//! rules. It performs no I/O: no database, file-system or network access. The database
//! crate reads rows into these types and writes them back.
//!
//! * [`ids`]: newtype ids, so a [`SkillId`] cannot be passed where a [`WorkflowRunId`]
//!   is expected.
//! * [`enums`]: text-backed enums with an `Other(String)` fallback for legacy values.
//! * [`settings`]: [`AppSettings`], stored as JSON.
//! * [`skill`], [`workflow`], [`imported`], [`workspace`], [`lock`], [`session`],
//!   [`agent_run`], [`usage`]: row and result structs.
//! * [`names`]: step names, tag normalisation, skill-name validation.
//!
//! With the cargo feature `sqlx`, ids and enums also implement `sqlx::Type`,
//! `sqlx::Encode` and `sqlx::Decode` for SQLite, so they can be used as column type
//! overrides in `query_as!` and bound as query parameters.
//!
//! ```
//! use skill_builder_model::{SkillId, SkillSource, step_name};
//!
//! assert_eq!(SkillSource::from("marketplace"), SkillSource::Marketplace);
//! assert_eq!(SkillId::new(1).get(), 1);
//! assert_eq!(step_name(0), "Research");
//! ```

pub mod agent_run;
pub mod enums;
mod error;
pub mod ids;
pub mod imported;
pub mod lock;
pub mod names;
pub mod session;
pub mod settings;
pub mod skill;
pub mod usage;
pub mod workflow;
pub mod workspace;

pub use agent_run::{AgentRun, NewAgentRun};
pub use enums::{AgentRunStatus, SkillSource, StepStatus, WorkflowRunStatus};
pub use ids::{
    AgentId, ImportedSkillId, InstanceId, SkillId, WorkflowRunId, WorkflowSessionId,
    WorkspaceSkillId,
};
pub use imported::{HashInfo, ImportedSkill};
pub use lock::SkillLock;
pub use names::{ModelError, SkillName, is_kebab_case, normalize_tags, step_name};
pub use session::WorkflowSession;
pub use settings::{APP_SETTINGS_KEY, AppSettings, DEFAULT_LOG_LEVEL, DEFAULT_MAX_DIMENSIONS};
pub use skill::{Skill, SkillBehaviour, SkillTag};
pub use usage::{SessionUsage, UsageByModel, UsageByStep, UsageSummary};
pub use workflow::{
    ArtifactMeta, DEFAULT_PURPOSE, DEFAULT_RUN_SOURCE, WorkflowArtifact, WorkflowRun, WorkflowStep,
};
pub use workspace::WorkspaceSkill;

/// The text of a value decoded into a text id or enum: SQLite hands NULL to a plain
/// `&str`/`String` as `""`, so NULL fails here instead (an `Option<_>` target never
/// gets here; see `skill_builder_db::malformed`).
#[cfg(feature = "sqlx")]
fn text_not_null<'r>(
    value: sqlx::sqlite::SqliteValueRef<'r>,
    type_name: &'static str,
) -> Result<&'r str, sqlx::error::BoxDynError> {
    if sqlx::ValueRef::is_null(&value) {
        return Err(format!("unexpected NULL for {type_name}").into());
    }
    <&str as sqlx::Decode<'r, sqlx::Sqlite>>::decode(value)
}
